"""Relax-first with the exact access routes from round 2 on (optimiser.solve.access_routes): the
routes are collected, the answer is the same twice under a work limit, and its bound is a bound."""

from __future__ import annotations

import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import relax_first as rf
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.lagrangian import lagrangian_bound
from optimiser.solve.registry import backend as backend_module


@pytest.fixture(scope="module")
def district():
    p = prepare(make_district(20, 40, 10, 1, seed=0)).problem
    return p, relax_access_crossings(p), Evaluator(p)


def _run(p, q, ev, limit_s: float):
    opts = SolveOptions(backend="cpsat", strategy="relax-first", time_limit_s=limit_s, seed=0, workers=1,
                        wall_limit_s=600.0)
    runner = rf.RelaxFirst(p, q, backend_module("cpsat"), opts, Deadline(limit_s), ev)
    runner.incumbent_phase()
    lag = runner.lagrangian_phase()
    return runner, lag


@pytest.mark.slow
def test_the_rounds_after_the_first_use_the_routes_and_repeat_exactly(district, monkeypatch):
    p, q, ev = district
    monkeypatch.setattr(rf, "LAGRANGIAN_SHARE", 0.9)  # the rounds, not the backend, get the budget
    first, lag1 = _run(p, q, ev, 2.0)
    second, lag2 = _run(p, q, ev, 2.0)
    assert first.routes is not None and first.info["access_routes"] == first.routes.size > 0
    assert len(first.info["lagrangian_rounds"]) >= 2
    assert lag1.access_multipliers is not None and (lag1.access_multipliers >= 0).all()
    assert (lag1.bound, lag1.fixed_zero, lag1.layout) == (lag2.bound, lag2.fixed_zero, lag2.layout)
    assert first.info["work_s"] == second.info["work_s"]
    assert first.best == second.best and first.layout == second.layout
    assert lag1.bound <= first.best


@pytest.mark.slow
def test_the_routes_bound_stays_below_a_long_runs_incumbent(district):
    """The routes' bound (from round 1's multipliers, the routes' own iterations) is never above
    a good layout's objective, and the routes leave it at least round 1's."""
    p, q, ev = district
    runner, lag = _run(p, q, ev, 2.0)
    assert runner.best is not None and runner.routes is not None
    res = lagrangian_bound(q, runner.best, max_iterations=300, multipliers=lag.multipliers,
                           access_multipliers=lag.access_multipliers, routes=runner.routes)
    assert res.bound <= runner.best
