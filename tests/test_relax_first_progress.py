"""Relax-first reports its incumbents and bounds to the progress heartbeat (:mod:`optimiser.progress`):
before wave 29 ``siteopt run -v`` showed "no layout yet, no bound yet" through its Lagrangian rounds."""

from __future__ import annotations

import pytest

from optimiser import progress
from optimiser.solve.result import Status
from tests.relax_district import relax_district, run_relax_first


@pytest.fixture(scope="module")
def district():
    return relax_district()


def test_every_better_incumbent_and_bound_reaches_the_heartbeat(district, monkeypatch):
    seen: list[tuple[float | None, float | None, str]] = []
    monkeypatch.setattr(progress, "incumbent", lambda obj, bound=None, source="": seen.append((obj, bound, source)))
    r, res = run_relax_first(district, 2.0)
    assert res.status is Status.OPTIMAL
    mine = [(o, s) for o, _, s in seen if o is not None and s.startswith("relax-first: ")]
    assert mine and mine[0][1] == "relax-first: greedy"
    objectives = [o for o, _ in mine]
    assert objectives == sorted(objectives, reverse=True) and len(set(objectives)) == len(objectives)  # each better
    assert min(o for o, _, _ in seen if o is not None) == res.objective
    bounds = [b for _, b, s in seen if b is not None and s == ""]
    assert bounds and bounds == sorted(bounds) and bounds[-1] == r.bound == res.bound


def test_the_heartbeat_line_shows_relax_first_s_incumbent_and_gap(district):
    level = progress._log.level
    progress.enable(True)
    try:
        with progress.solving(1.0, "solve: test"):
            run_relax_first(district, 0.2)  # stopped by its work: a gap
            assert progress._state is not None
            line = progress._solve_line(progress._state)
    finally:
        progress._log.setLevel(level)
    assert "relax-first: " in line and "gap" in line and "no layout yet" not in line


def test_sub_models_show_no_incumbent_below_and_no_bound_above_the_optimum(district, monkeypatch):
    """The alternating phase's model (sites fixed) bounds only its own layouts and the reduced
    relaxation's objectives are below their layouts': CP-SAT's callbacks and warm start report them
    while relax-first runs them, so the heartbeat must drop those (the district with phases 3-4 forced:
    the alternating model's bound 724,027,594 was shown above the optimum 723,342,239, gap 0.00 %)."""
    from optimiser.solve import relax_first as rf

    monkeypatch.setattr(rf.RelaxFirst, "exact_first", lambda self: False)
    monkeypatch.setattr(rf, "MORE_ROUNDS", False)
    level = progress._log.level
    progress.enable(True)
    try:
        with progress.solving(1.0, "solve: test"):
            r, res = run_relax_first(district, 2.0)
            st = progress._state
            assert st is not None
            shown = (st.objective, st.bound)
    finally:
        progress._log.setLevel(level)
    assert "alternating" in r.info and "reduced_relaxation" in r.info  # the phases ran
    optimum = district[3]
    assert res.status is Status.OPTIMAL and res.objective == optimum
    assert shown[0] == optimum and shown[1] is not None and shown[1] <= optimum
