"""Relax-first's crossing insertions (RelaxFirst.insert, polish(insert=True)): they reach the
brute-force optimum the greedy and exchanges miss and are charged their evaluations. They run
after the first Lagrangian round at any gap, and on a large relaxation only when the incumbent
is at least INSERT_MIN_GAP above that round's bound."""

from __future__ import annotations

import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.solve import heuristic
from optimiser.solve import relax_first as rf
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend as backend_module
from tests.random_problems import feasible_layouts
from tests.test_local_search_insert import cheap_or_dear


def _runner(p, limit_s=30.0):
    p.info["levels"] = p.n_levels()  # no walks to facilities: the problem is its own relaxation
    opts = SolveOptions(backend="cpsat", strategy="relax-first", time_limit_s=limit_s, seed=0, workers=1,
                        wall_limit_s=600.0)
    return rf.RelaxFirst(p, p, backend_module("cpsat"), opts, Deadline(limit_s), Evaluator(p))


def test_polish_with_insertions_reaches_the_optimum_and_is_charged():
    p = cheap_or_dear()
    optimum = min(p.objective_of(s) for s in feasible_layouts(p))
    r = _runner(p)
    r.offer((0, 1, 2, 3), "greedy")  # the greedy's four signals, 83,265
    r.polish("exchanged", rechoose=False)
    assert r.best == 83_265 and "crossings inserted" not in r.info["work_s"]
    r.polish("inserted", rechoose=False, insert=True)
    assert r.best == optimum == 79_629 and r.layout == (1, 3, 5)
    assert r.info["incumbent_from"] == "inserted, crossing inserted"
    assert r.info["crossings_inserted"] == [2, 1]  # one search improved, the next found nothing
    # charged per evaluation: the two searches' counts, from the same layouts
    ev = r.ev
    first = rf.insert_crossing(ev, ev.layout((0, 1, 2, 3)), 83_265)
    second = rf.insert_crossing(ev, ev.layout((1, 3, 5)), 79_629)
    want = sum(r.insert_cost(f.evaluations, f.gain_evaluations) for f in (first, second))
    assert r.info["work_s"]["crossings inserted"] == pytest.approx(want, abs=2e-3)


def test_no_insertion_without_budget():
    p = cheap_or_dear()
    r = _runner(p, limit_s=1.0)
    r.offer((0, 1, 2, 3), "greedy")
    r.charge(r.remaining(), "spent")
    assert not r.insert("inserted")
    assert r.best == 83_265 and "crossings_inserted" not in r.info


@pytest.mark.parametrize("large, min_gap, inserted", [(False, 1.0, True), (True, 0.0, True), (True, 1.0, False)])
def test_insertions_at_any_gap_unless_the_relaxation_is_large(monkeypatch, large, min_gap, inserted):
    p = cheap_or_dear()
    monkeypatch.setattr(heuristic, "GREEDY_PAIRS", False)  # with pairs the greedy finds the optimum itself
    monkeypatch.setattr(rf, "INSERT_MIN_GAP", min_gap)
    if large:  # the relaxation above RELAX_MAX_LEVELS: the Lagrangian is the bound
        monkeypatch.setattr(rf, "RELAX_MAX_LEVELS", 0)
    r = _runner(p)
    assert r.large == large
    r.incumbent_phase()
    assert r.best == 83_265  # the greedy's four signals: no exchange improves them
    r.lagrangian_phase()
    assert r.info["first_round_gap"] is not None
    assert ("crossings_inserted" in r.info) == inserted
    if inserted:
        assert r.best == 79_629
