"""The wall-clock safety net bounds the whole solve, the CP-SAT model's build included (issue
17: a 613k-level model took 18 s to build past a 15 s net, then CP-SAT ran on regardless)."""

from __future__ import annotations

import time

import pytest

from benchmarks.joint.generate import make_district
from optimiser.errors import TimeLimitError
from optimiser.inputs.domain import SolveOptions
from optimiser.pipeline import prepare
from optimiser.solve import cpsat, cpsat_model
from optimiser.solve.strategy import solve


@pytest.fixture(scope="module")
def problem():
    return prepare(make_district(20, 40, 10, 1, seed=0)).problem


@pytest.fixture
def slow_build(monkeypatch):
    """A slow build (as on a loaded machine): every check of its deadline, one per level, sleeps."""
    check = cpsat_model._check_build

    def slow(*a):
        time.sleep(0.05)
        check(*a)

    monkeypatch.setattr(cpsat_model, "BUILD_CHECK_LEVELS", 1)
    monkeypatch.setattr(cpsat_model, "_check_build", slow)


def _opts(**kw):
    return SolveOptions(backend="cpsat", time_limit_s=10.0, seed=0, workers=1).replace(**kw)


def _valid(p, res):
    assert res.status.has_solution
    assert p.is_feasible(set(res.chosen))
    assert res.objective == p.objective_of(set(res.chosen))
    assert res.bound is not None and res.bound <= res.objective


def test_build_check_projects_the_finish():
    now = time.perf_counter()
    # 10 of 100 levels in 1 s: 9 s (x1.2) more cannot finish within 1 s
    with pytest.raises(TimeLimitError, match="would pass"):
        cpsat_model._check_build(now + 1.0, now - 1.0, 10, 100)
    # 90 of 100 in 1 s: about 0.13 s more, within the deadline
    cpsat_model._check_build(now + 1.0, now - 1.0, 90, 100)
    with pytest.raises(TimeLimitError, match="passed"):
        cpsat_model._check_build(now - 0.1, now - 1.0, 0, 100)


def test_direct_solve_past_its_net_returns_the_greedy_start(problem, slow_build):
    t = time.perf_counter()
    res = cpsat.solve(problem, _opts(wall_limit_s=0.3))
    assert time.perf_counter() - t < 5.0
    _valid(problem, res)
    assert res.stopped_by == "wall_clock"
    assert res.stats["model_build"] == "stopped by the wall-clock net"
    assert res.bound == problem.constant


def test_a_search_gets_its_least_limit_when_the_net_has_passed(problem, monkeypatch):
    # a build inside the least limit: the search still runs with MIN_SEARCH_S, as before the build
    # checked the net (the least limit widened: beside a CPU hog this 0.03 s build took over 0.05 s)
    monkeypatch.setattr(cpsat, "MIN_SEARCH_S", 10.0)
    res = cpsat.solve(problem, _opts(wall_limit_s=1e-3))
    _valid(problem, res)
    assert "model_build" not in res.stats


def test_a_wide_net_changes_nothing(problem):
    a = cpsat.solve(problem, _opts(time_limit_s=2.0, wall_limit_s=600.0))
    b = cpsat.solve(problem, _opts(time_limit_s=2.0, wall_limit_s=None))
    assert (a.status, a.objective, a.bound, a.chosen) == (b.status, b.objective, b.bound, b.chosen)
    assert "model_build" not in a.stats


def test_relax_first_with_a_tiny_net_returns_quickly(problem, slow_build):
    t = time.perf_counter()
    res = solve(problem, _opts(strategy="relax-first", wall_limit_s=0.5))
    assert time.perf_counter() - t < 5.0
    _valid(problem, res)
    assert res.stopped_by == "wall_clock"
