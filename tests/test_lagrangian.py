"""optimiser.solve.lagrangian: the bound never exceeds the brute-force optimum, the reduction tests
never close a decision of a layout better than the upper bound, the knapsack is exact, and
the bound is close where the relaxation is tight."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimiser.model.problem import Constraint, Decision, Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve.lagrangian import _Knapsack, lagrangian_bound
from tests.random_problems import random_problem
from tests.zoo_cases import CASES, prepared_case


def _layouts(problem: Problem):
    """(chosen set, objective) of every feasible layout."""
    n = len(problem.decisions)
    for r in range(n + 1):
        for s in itertools.combinations(range(n), r):
            if problem.is_feasible(set(s)):
                yield set(s), problem.objective_of(set(s))


def _check(problem: Problem, upper_bound: float, **kw):
    """The bound is at most the optimum, and every closed decision is only in layouts at or
    above the upper bound. Returns (result, optimum)."""
    layouts = list(_layouts(problem))
    res = lagrangian_bound(problem, upper_bound, **kw)
    if not layouts:
        return res, None
    opt = min(o for _, o in layouts)
    assert res.bound <= opt
    for d in res.fixed_zero:
        with_d = [o for s, o in layouts if d in s]
        assert not with_d or min(with_d) >= upper_bound, f"decision {d} closed but in a layout below the upper bound"
    return res, opt


@pytest.mark.parametrize("name", sorted(CASES))
def test_bound_and_reductions_are_valid_on_the_zoo(name):
    prep, (best, _) = prepared_case(name)
    p = prep.problem
    problems = [p] + [q for q in (relax_access_crossings(p),) if q is not None]
    for q in problems:
        if best is None:
            # infeasible: whatever the bound says, no layout exists to contradict it
            res = lagrangian_bound(q, None, max_iterations=200)
            assert res.iterations >= 1
            continue
        # the optimum itself as the upper bound (the tightest a solver would pass), and above it
        for ub in (best, best * 1.02 + 1):
            res, opt = _check(q, ub, max_iterations=3000, test_every=5)
            assert res.bound <= ub


@pytest.mark.parametrize("seed", range(40))
def test_bound_and_reductions_are_valid_on_random_problems(seed):
    # conjunctions, must-serve clients, penalties, counts and spacing (random_problem)
    p = random_problem(seed)
    layouts = list(_layouts(p))
    if not layouts:
        pytest.skip("no feasible layout")
    opt = min(o for _, o in layouts)
    second = sorted({o for _, o in layouts})[1:2] or [opt]
    for ub in (opt, second[0]):
        res, _ = _check(p, ub, max_iterations=2000, test_every=3)
    assert res.bound <= opt


def test_reductions_close_something_and_the_bound_is_tight_on_the_zoo():
    """Not vacuous: across the zoo the tests close decisions, and on pair-only sites (where
    the relaxed problem is a budgeted median over crossings) the bound reaches the optimum."""
    closed = 0
    for name in sorted(CASES):
        prep, (best, _) = prepared_case(name)
        if best is None:
            continue
        res = lagrangian_bound(prep.problem, best, max_iterations=3000, test_every=5)
        closed += len(res.fixed_zero)
        if name in ("one_barrier_pairs", "budget_forbids_best", "footbridge_affordable", "hs2_off"):
            assert res.bound >= 0.99 * best, name
    assert closed >= 5


def _knapsack_problem(rng, n: int) -> tuple[Problem, np.ndarray]:
    dec = [Decision(f"d{i}", "facility" if i < n // 2 else "crossing", "g", float(rng.integers(1, 6)) * 50_000, f"d{i}")
           for i in range(n)]
    budget = int(rng.integers(2, 12)) * 50_000
    cons = [Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, budget, "budget")]
    grp = tuple((i, 1) for i in range(n // 2))
    lo, hi = int(rng.integers(0, 2)), int(rng.integers(1, 4))
    if lo:
        cons.append(Constraint("count_min:f", grp, lo, None, "count_min:f"))
    cons.append(Constraint("count_max:f", grp, None, hi, "count_max:f"))
    if rng.random() < 0.3:
        cons.append(Constraint("fix:1", ((n - 1, 1),), 1, 1, "fix"))
    p = Problem(dec, [(i,) for i in range(n)], [], cons, [], {}, 10, {"all": 1.0}, float(budget))
    return p, rng.normal(0, 10, size=n).round(2)


@pytest.mark.parametrize("seed", range(60))
def test_knapsack_is_exact_and_its_tests_are_lower_bounds(seed):
    rng = np.random.default_rng(seed)
    p, v = _knapsack_problem(rng, int(rng.integers(4, 10)))
    k = _Knapsack(p)
    value, chosen, tests = k.solve(v.copy(), want_tests=True)
    n = len(p.decisions)
    feas = [s for r in range(n + 1) for s in itertools.combinations(range(n), r) if p.is_feasible(set(s))]
    if not feas:
        assert value == np.inf
        return
    best = min(v[list(s)].sum() for s in feas)
    assert value == pytest.approx(best)
    assert p.is_feasible(set(chosen.tolist()))
    assert v[chosen].sum() == pytest.approx(best)
    for i in range(n):
        with_i = [v[list(s)].sum() for s in feas if i in s]
        if with_i:
            assert tests[i] <= min(with_i) + 1e-9


def test_active_incidences_give_the_same_floats(monkeypatch):
    """Only incidences that can have a negative reduced cost take part in an iteration: with
    the narrowest margin (many rebuilds) and with every incidence always active the bound,
    multipliers, tests and layout are identical, and the work account is deterministic."""
    import optimiser.solve.lagrangian as lag_mod
    from benchmarks.joint.generate import make_district
    from optimiser.pipeline import prepare

    q = relax_access_crossings(prepare(make_district(40, 80, 16, 1, seed=3)).problem)
    assert q is not None
    runs = []
    for margin in (1e-9, 1e18):
        monkeypatch.setattr(lag_mod, "ACTIVE_MARGIN", margin)
        runs.append(lagrangian_bound(q, None, max_iterations=300, test_every=7))
    narrow, wide = runs
    assert narrow.iterations == wide.iterations > 1
    assert (narrow.bound, narrow.fixed_zero, narrow.layout) == (wide.bound, wide.fixed_zero, wide.layout)
    assert all(np.array_equal(a, b) for a, b in zip(narrow.multipliers, wide.multipliers))
    assert narrow.work > 0 and wide.work > 0
    monkeypatch.setattr(lag_mod, "ACTIVE_MARGIN", 1e-9)
    again = lagrangian_bound(q, None, max_iterations=300, test_every=7)
    assert again.work == narrow.work
    # the work limit stops it at the same iteration every time
    cut = lagrangian_bound(q, None, max_iterations=300, test_every=7, max_work=narrow.work / 3)
    assert cut.stopped_by == "work limit" and 1 <= cut.iterations < narrow.iterations
    assert lagrangian_bound(q, None, max_iterations=300, test_every=7, max_work=narrow.work / 3).iterations == cut.iterations
