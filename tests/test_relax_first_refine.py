"""optimiser.solve.relax_first_refine: phase 4's relaxation refined where its layout walks too
short. On small districts with two barriers whose access relaxation is below the optimum (the
optimum proven by the direct solve): every refined relaxation is a relaxation (its optimum at
most the exact one, never below the last), the loop ends at the exact optimum, on both backends;
and relax-first, its exact model made "too large", proves the optimum by refining."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import interrupt
from optimiser.solve import relax_first as rf
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend
from optimiser.solve.relax_first_refine import under_estimated_sites
from optimiser.solve.result import Status
from tests.relax_district import run_relax_first

# (firms, candidate sites, crossings, barriers), seed; the access relaxation's optimum and the
# exact optimum, both proven by the direct CP-SAT solve (30 s, seed 0, one worker)
CASES = {
    "two-barriers-0": ((14, 30, 12, 2), 0, 498_753_577, 500_513_677),
    "two-barriers-5": ((14, 30, 12, 2), 5, 476_878_859, 480_229_136),
    "one-barrier-20": ((20, 40, 10, 1), 1, 437_430_832, 440_176_232),
}


def _problem(name: str):
    args, seed, _, _ = CASES[name]
    return prepare(make_district(*args, seed=seed)).problem


def test_under_estimated_sites_lists_the_sites_below_each_short_walks_true_length():
    """The pairs returned are exactly the (walk, site) pairs of the walks the relaxation's
    layout under-estimates, over the options listed below the walk's true length."""
    p = _problem("two-barriers-5")
    q = relax_access_crossings(p)
    assert q is not None
    r = backend("cpsat").solve(q, SolveOptions(time_limit_s=30.0, seed=0, workers=1))
    chosen = tuple(r.chosen)
    true_len, relaxed_len = Evaluator(p).layout_lengths(chosen), Evaluator(q).layout_lengths(chosen)
    short = [k for k, c in enumerate(p.clients) if c.kind != "pair" and relaxed_len[k] < true_len[k]]
    assert short  # the relaxation's optimum walks too short somewhere
    assert np.all(relaxed_len <= true_len)
    want = set()
    crossing = p.crossing_mask
    for k in short:
        for lev, opts in zip(p.clients[k].levels, p.clients[k].level_options):
            if lev < true_len[k]:
                for o in opts:
                    sites = [d for d in p.options[o] if not crossing[d]]
                    if len(sites) <= 1:
                        want.add((k, sites[0] if sites else -1))
    assert under_estimated_sites(p, true_len, relaxed_len) == want
    assert under_estimated_sites(p, true_len, true_len) == set()


@pytest.mark.parametrize("backend_name", ["cpsat", "cbc"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_refining_until_no_walk_is_short_ends_at_the_exact_optimum(name, backend_name):
    """Solve, refine the short walks' sites, solve again: each optimum at least the last and at
    most the exact one; when no walk is short the layout's true objective is that optimum."""
    _, _, relaxed_opt, optimum = CASES[name]
    p = _problem(name)
    solver, opts = backend(backend_name), SolveOptions(backend=backend_name, time_limit_s=60.0, seed=0, workers=1)
    ev, q, exact = Evaluator(p), relax_access_crossings(p), set()
    last = None
    for _ in range(10):
        assert q is not None
        r = solver.solve(q, opts)
        assert r.status is Status.OPTIMAL
        assert r.objective <= optimum and (last is None or r.objective >= last)
        last = r.objective
        new = under_estimated_sites(p, ev.layout_lengths(r.chosen), Evaluator(q).layout_lengths(r.chosen))
        if not new:
            assert p.objective_of(set(r.chosen)) == r.objective == optimum
            break
        exact |= new
        q = relax_access_crossings(p, exact_sites=exact)
    else:
        pytest.fail("still refining after 10 rounds")
    assert relaxed_opt < optimum


@pytest.mark.parametrize("name", sorted(CASES))
def test_relax_first_proves_the_optimum_by_refining_when_the_exact_model_cannot_run(name, monkeypatch):
    """Relax-first with its exact model "too large": phase 4's bound is the relaxation's
    optimum, below the optimum; the refinement proves the optimum with the work left."""
    _, _, relaxed_opt, optimum = CASES[name]
    monkeypatch.setattr(rf, "EXACT_MAX_LEVELS", 0)
    p = _problem(name)
    q = relax_access_crossings(p)
    assert q is not None
    run, res = run_relax_first((p, q, Evaluator(p), optimum), 5.0)
    info = res.stats["relaxation"]
    assert info["reduced_relaxation"]["objective"] == relaxed_opt < optimum
    assert res.status is Status.OPTIMAL and res.objective == res.bound == optimum
    assert res.stats["bound_from"] == "refined relaxation"
    steps = info["refined_relaxation"]
    assert steps and steps[-1]["status"] is Status.OPTIMAL and steps[-1]["bound"] == optimum
    assert info["work_s"]["refined relaxation"] > 0
    assert "exact model" not in info["work_s"]


def test_no_refinement_when_the_exact_model_ran(monkeypatch):
    """With the exact model run (the default on these sizes), the phase leaves the run as it was."""
    p = _problem("two-barriers-0")
    q = relax_access_crossings(p)
    assert q is not None
    _, res = run_relax_first((p, q, Evaluator(p), 0), 5.0)
    info = res.stats["relaxation"]
    assert res.status is Status.OPTIMAL and res.objective == CASES["two-barriers-0"][3]
    assert "exact model" in info["work_s"]
    assert "refined relaxation" not in info["work_s"] and not info.get("refined_relaxation")


def test_a_stop_requested_during_the_refinement_gives_interrupted(monkeypatch):
    """SIGINT / SIGTERM after the first refined relaxation (the case needs two): no second one
    starts and the result is "interrupted", not the refinement's bound."""
    name = "two-barriers-5"
    monkeypatch.setattr(rf, "EXACT_MAX_LEVELS", 0)
    p = _problem(name)
    q = relax_access_crossings(p)
    assert q is not None
    stops = {"now": False}
    real_solve = rf.RelaxFirst.backend_solve

    def solve_then_stop(self, problem, budget_s, what, *args, **kw):
        out = real_solve(self, problem, budget_s, what, *args, **kw)
        stops["now"] = stops["now"] or what == "refined relaxation"
        return out

    monkeypatch.setattr(rf.RelaxFirst, "backend_solve", solve_then_stop)
    monkeypatch.setattr(interrupt, "requested", lambda: stops["now"])
    run, res = run_relax_first((p, q, Evaluator(p), CASES[name][3]), 5.0)
    assert res.status is Status.INTERRUPTED
    assert len(run.info["refined_relaxation"]) == 1
