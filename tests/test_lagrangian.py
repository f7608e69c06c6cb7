"""optimiser.solve.lagrangian: the bound never exceeds the brute-force optimum, the reduction tests
never close a decision of a layout better than the upper bound, the knapsack is exact, and
the bound is close where the relaxation is tight."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve.lagrangian import lagrangian_bound
from optimiser.solve.lagrangian_knapsack import Knapsack
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
    k = Knapsack(p)
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


def _reference_knapsack(k: Knapsack, v: np.ndarray, want_tests: bool):
    """The knapsack as one dense table per group, filled item by item and count by count, the
    groups combined by dense min-plus convolutions (the implementation before wave 11): the
    oracle the chains and sparse convolutions must reproduce float for float."""
    inf, X = np.inf, k.cap

    def table(g):
        ids, lo, hi = k.groups[g], k.lo[g], k.hi[g]
        ids = ids[~k.closed[ids]]
        forced = ids[k.forced_open[ids]]
        ids = ids[~k.forced_open[ids] & (k.units[ids] <= X)]
        kcap = hi if hi is not None else lo
        keep = []
        for u in np.unique(k.units[ids]):
            cls = ids[k.units[ids] == u]
            cls = cls[np.argsort(v[cls], kind="stable")]
            keep.append(cls[:min(cls.size, hi) if hi is not None else min(cls.size, int((v[cls] < 0).sum()) + lo)])
        items = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
        F = np.full((kcap + 1, X + 1), inf)
        k0, x0 = (min(forced.size, kcap) if hi is None else forced.size), int(k.units[forced].sum())
        if (hi is not None and forced.size > hi) or x0 > X:
            return F, items, [], forced
        F[k0, x0] = float(v[forced].sum())
        srcs = []
        for i in items:
            c, val = int(k.units[i]), float(v[i])
            new, src = F.copy(), np.full(F.shape, -1, dtype=np.int16)
            for kk in range(kcap + 1):
                k2 = kk + 1 if kk < kcap else (kcap if hi is None else -1)
                if k2 >= 0:
                    cand = F[kk, : X + 1 - c] + val
                    better = cand < new[k2, c:]
                    new[k2, c:] = np.where(better, cand, new[k2, c:])
                    src[k2, c:][better] = kk
            F = new
            srcs.append(src)
        return F, items, srcs, forced

    def valid_min(g, F, shift=0):
        ks = [kk for kk in range(F.shape[0]) if kk + shift >= k.lo[g] and (k.hi[g] is None or kk + shift <= k.hi[g])]
        if not ks:
            return np.full(X + 1, inf), np.zeros(X + 1, dtype=np.int64)
        arg = np.argmin(F[ks], axis=0)
        return F[ks][arg, np.arange(X + 1)], np.asarray(ks)[arg]

    def conv(a, b):
        out, arg = np.full(X + 1, inf), np.zeros(X + 1, dtype=np.int64)
        for x1 in np.nonzero(np.isfinite(a))[0]:
            cand = a[x1] + b[: X + 1 - x1]
            better = cand < out[x1:]
            out[x1:][better] = cand[better]
            arg[x1:][better] = x1
        return out, arg

    if k.closed[k.forced_open].any():
        return inf, np.zeros(0, dtype=np.int64), None
    nothing = np.where(np.arange(X + 1) == 0, 0.0, inf)
    tables = [table(g) for g in range(len(k.groups))]
    H = [valid_min(g, t[0]) for g, t in enumerate(tables)]
    acc, splits = [nothing], []
    for h, _ in H:
        nxt, arg = conv(h, acc[-1])
        acc.append(nxt)
        splits.append(arg)
    if not np.isfinite(acc[-1]).any():
        return inf, np.zeros(0, dtype=np.int64), None
    x = int(np.argmin(acc[-1]))
    value, chosen = float(acc[-1][x]), []
    for g in range(len(k.groups) - 1, -1, -1):
        xg = int(splits[g][x])
        _, items, srcs, forced = tables[g]
        kk, xx = int(H[g][1][xg]), xg
        chosen.extend(forced.tolist())
        for j in range(len(items) - 1, -1, -1):
            s = int(srcs[j][kk, xx])
            if s >= 0:
                chosen.append(int(items[j]))
                xx -= int(k.units[items[j]])
                kk = s
        x -= xg
    tests = None
    if want_tests:
        tests = np.full(k.n_d, -inf)
        for g in range(len(k.groups)):
            rest = nothing
            for j in range(len(k.groups)):
                if j != g:
                    rest = conv(H[j][0], rest)[0]
            pm = np.minimum.accumulate(conv(valid_min(g, tables[g][0], shift=1)[0], rest)[0])
            ids = k.groups[g]
            left = X - k.units[ids]
            tests[ids] = v[ids] + np.where(left >= 0, pm[np.clip(left, 0, None)], inf)
        tests[k.forced_open] = value
    return value, np.asarray(sorted(set(chosen)), dtype=np.int64), tests


def _priced_knapsack_problem(rng) -> tuple[Problem, np.ndarray]:
    """Groups with one price (the chains) or several (the tables), count minima without maxima
    (a "k or more" row), costs that round to 0 units, fixes, and values with ties."""
    n = int(rng.integers(3, 30))
    prices = [1, 7, 13, 40, 100, 2000, 5000] if rng.random() < 0.4 else [int(rng.choice([1, 7, 13, 40, 100]))]
    # a cost of 1 is 0 units (the unit is at least budget / 1,000 >= 3)
    dec = [Decision(f"d{i}", "crossing", "g", 1.0 if rng.random() < 0.1 else float(rng.choice(prices)) * 1000, f"d{i}")
           for i in range(n)]
    budget = int(rng.integers(1, 40)) * 3000 + int(rng.integers(0, 999))
    cons = [Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, budget, "budget")]
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(int(rng.integers(0, 4)), n - 1), replace=False))
    for j, part in enumerate(np.split(rng.permutation(n), cuts)):
        if part.size < 2 or rng.random() < 0.2:
            continue
        grp = tuple((int(i), 1) for i in sorted(part))
        kind = int(rng.integers(0, 3))
        if kind in (0, 2):
            cons.append(Constraint(f"count_min:{j}", grp, int(rng.integers(0, 3)), None, f"count_min:{j}"))
        if kind in (1, 2):
            cons.append(Constraint(f"count_max:{j}", grp, None, int(rng.integers(0, 5)), f"count_max:{j}"))
    if rng.random() < 0.3:
        cons.append(Constraint("fix:1", ((n - 1, 1),), 1, 1, "fix"))
    p = Problem(dec, [(i,) for i in range(n)], [], cons, [], {}, 10, {"all": 1.0}, float(budget))
    return p, rng.normal(0, 10, size=n).round(int(rng.integers(0, 3)))


@pytest.mark.parametrize(("pairs", "grid"), [(20_000, 10**9), (0, 10**9), (20_000, 0)])
def test_knapsack_reproduces_the_item_by_item_tables(pairs, grid, monkeypatch):
    """One-price groups as chains and sparse pairwise convolutions (or, with ``pairs`` 0, one
    pass per cost over dense rows; with ``grid`` 0, every convolution on one grid of costs) give
    the value, the layout and the tests of the dense tables float for float, on 400 random
    knapsacks with closed decisions too."""
    import optimiser.solve.lagrangian_knapsack as knap_mod

    monkeypatch.setattr(knap_mod, "CONV_MAX_PAIRS", pairs)
    monkeypatch.setattr(knap_mod, "CONV_GRID_MIN_PAIRS", grid)
    chains = tables = free = 0
    for seed in range(400):
        rng = np.random.default_rng(seed)
        p, v = _priced_knapsack_problem(rng)
        k = Knapsack(p)
        if seed % 2:
            k.closed |= rng.random(len(v)) < 0.2
        free += int((k.units == 0).any())
        for g in range(len(k.groups)):
            srcs = k._group_table(g, v)[2]
            chains += srcs is None
            tables += bool(srcs)
        got, want = k.solve(v.copy(), want_tests=True), _reference_knapsack(k, v.copy(), True)
        assert got[0] == want[0], seed
        assert np.array_equal(got[1], want[1]), seed
        assert (got[2] is None and want[2] is None) or np.array_equal(got[2], want[2]), seed
    assert chains > 100 and tables > 100  # both ways of building a group's states were exercised
    assert free > 50  # and decisions of 0 units


@pytest.mark.parametrize("path", ["pairs", "dense"])
def test_the_grid_convolution_gives_the_other_paths_costs_values_splits_and_operations(path, monkeypatch):
    """``Knapsack._conv`` on one grid of costs (``CONV_GRID_MIN_PAIRS``) against pair by pair and
    one pass per cost: the same reachable costs, values (float for float), splits (of equal
    values the fewest units from the first table) and operation count, on 600 random pairs of
    sparse tables with many equal values, either one the sparser, costs past the budget too."""
    import optimiser.solve.lagrangian_knapsack as knap_mod

    p, _ = _priced_knapsack_problem(np.random.default_rng(0))
    ties = grids = 0
    for seed in range(600):
        rng = np.random.default_rng(seed)
        cap = int(rng.integers(5, 1000))
        tables = []
        for _ in range(2):
            size = int(rng.integers(1, min(cap + 1, 80) + 1))
            xs = np.sort(rng.choice(cap + 1, size=size, replace=False))
            vals = rng.integers(-6, 6, size=size).astype(float) * (0.5 if seed % 3 else 1.1)
            tables.append((xs, vals))
        a, b = tables
        results = []
        for grid_min, max_pairs in ((10**9, 10**9 if path == "pairs" else 0), (1, 10**9 if path == "pairs" else 0)):
            monkeypatch.setattr(knap_mod, "CONV_GRID_MIN_PAIRS", grid_min)
            monkeypatch.setattr(knap_mod, "CONV_MAX_PAIRS", max_pairs)
            k = Knapsack(p)
            k.cap, k.ops = cap, 0
            (xs, vals), split = k._conv(a, b)
            results.append((xs, vals, split, k.ops))
        (x1, v1, s1, o1), (x2, v2, s2, o2) = results
        assert np.array_equal(x1, x2) and np.array_equal(v1, v2) and np.array_equal(s1, s2), seed
        assert o1 == o2, seed
        assert s1.dtype.kind == s2.dtype.kind == "i" and v2.dtype == float
        assert np.all(s2 <= x2) and np.all(np.isin(s2, a[0])) and np.all(np.isin(x2 - s2, b[0])), seed
        grids += 1
        pair_x = (a[0][:, None] + b[0][None, :]).ravel()
        ties += int(np.unique(pair_x[pair_x <= cap]).size < int((pair_x <= cap).sum()))
    assert grids == 600 and ties > 300  # most draws have costs reached by several splits


def test_the_knapsacks_operations_are_counted_in_the_work(monkeypatch):
    """Every evaluation charges ``WORK_PER_KNAPSACK_OP`` per vector operation of its knapsack, a
    deterministic count: the same on a second run, and 0 with the charge set to 0 changes the
    work by exactly the operations times the charge."""
    import optimiser.solve.lagrangian as lag_mod
    from benchmarks.joint.generate import make_district
    from optimiser.pipeline import prepare

    q = relax_access_crossings(prepare(make_district(30, 60, 12, 1, seed=2)).problem)
    assert q is not None
    ops = []
    original = lag_mod.Knapsack.solve

    def counting(self, v, want_tests=False):
        before = self.ops
        out = original(self, v, want_tests)
        ops.append(self.ops - before)
        return out

    monkeypatch.setattr(lag_mod.Knapsack, "solve", counting)
    per_op = lag_mod.WORK_PER_KNAPSACK_OP
    first = lagrangian_bound(q, None, max_iterations=200, test_every=7)
    n_first = list(ops)
    assert len(n_first) == first.iterations > 1 and all(n > 0 for n in n_first)  # one knapsack per iteration
    ops.clear()
    again = lagrangian_bound(q, None, max_iterations=200, test_every=7)
    assert ops == n_first and again.work == first.work
    ops.clear()
    monkeypatch.setattr(lag_mod, "WORK_PER_KNAPSACK_OP", 0.0)
    free = lagrangian_bound(q, None, max_iterations=200, test_every=7)
    assert free.iterations == first.iterations
    assert first.work - free.work == pytest.approx(per_op * sum(n_first))


def _two_barrier_problem() -> Problem:
    """A heavy firm pair that only a new crossing of barrier A *and* one of barrier B serve (three
    candidates each: nine routes), and three light pairs each served by one crossing of a third
    barrier; every crossing costs 1, the budget is 2. The optimum builds one A and one B
    crossing (objective 10 x 100 + 3 x 400 = 2,200); the conjunction links alone let a ninth
    of three A and three B crossings serve the heavy pair fully, 2/3 of the budget, and spend the
    rest on the light pairs."""
    dec = [Decision(f"crossing:{b}{i}", "crossing", b, 1.0, f"{b}{i}") for b in "abc" for i in range(3)]
    p = Problem(dec, [(i,) for i in range(9)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2.0)
    routes = tuple(sorted(p.option_id((a, 3 + b)) for a in range(3) for b in range(3)))
    p.clients.append(Client("heavy", "pair", 10, 1000, (100,), (routes,)))
    for k in range(3):
        p.clients.append(Client(f"light{k}", "pair", 1, 400, (100,), ((6 + k,),)))
    p.constraints.append(Constraint("budget", tuple((i, 1) for i in range(9)), None, 2, "budget"))
    return p


def test_star_rows_count_a_fractional_crossing_once_per_client(monkeypatch):
    """The star rows (a client's routes through a decision sum to at most that decision) close
    the gap that the conjunction links leave on a pair needing two new crossings: the bound
    reaches the brute-force optimum with them and stays at least 10 % below without."""
    import optimiser.solve.lagrangian as lag_mod

    p = _two_barrier_problem()
    opt = min(o for _, o in _layouts(p))
    assert opt == 2200
    monkeypatch.setattr(lag_mod, "STAR_ROWS", False)
    links = lagrangian_bound(p, opt + 1, max_iterations=3000).bound
    monkeypatch.setattr(lag_mod, "STAR_ROWS", True)
    stars, _ = _check(p, opt + 1, max_iterations=3000, test_every=5)
    assert links < 0.9 * opt
    assert stars.bound == opt
    # handed on (one dense part per client and decision after the links'), they start where they ended
    lam, mu, _ = stars.multipliers
    assert mu.size > 4 * 9 and (mu[-4 * 9:] > 0).any()
    assert lagrangian_bound(p, opt + 1, max_iterations=1, multipliers=(lam, mu)).bound == opt
    assert lagrangian_bound(p, opt + 1, max_iterations=1, multipliers=(lam, mu[:-4 * 9])).bound < opt
    # above the star rows' cap on clients x decisions they are left out: the links' bound again
    monkeypatch.setattr(lag_mod, "STAR_MAX_KEYS", 4 * 9 - 1)
    assert lagrangian_bound(p, opt + 1, max_iterations=3000).bound == links


def test_work_outside_the_dual_counts_against_its_limit():
    """``outside_work`` (what the caller spent meanwhile, e.g. evaluating the layouts
    ``on_layout`` gets) counts against ``max_work``: the iterations stop once the dual's work
    and it together reach the limit, and a caller that spent nothing gets the same floats as
    without it."""
    from benchmarks.joint.generate import make_district
    from optimiser.pipeline import prepare

    q = relax_access_crossings(prepare(make_district(30, 60, 12, 1, seed=2)).problem)
    assert q is not None
    probe = lagrangian_bound(q, None, max_iterations=60, test_every=7)
    limit = probe.work  # the work of 60 iterations
    alone = lagrangian_bound(q, None, max_iterations=10_000, max_work=limit, test_every=7)
    nothing = lagrangian_bound(q, None, max_iterations=10_000, max_work=limit, test_every=7, outside_work=lambda: 0.0)
    assert nothing.iterations == alone.iterations and nothing.bound == alone.bound and nothing.work == alone.work
    offered: list[tuple[int, ...]] = []

    def spend() -> float:  # each layout offered costs a tenth of the limit
        return 0.1 * limit * len(offered)

    def on_layout(layout: tuple[int, ...]) -> None:
        offered.append(layout)

    shared = lagrangian_bound(q, None, max_iterations=10_000, max_work=limit, test_every=7,
                              on_layout=on_layout, outside_work=spend)
    assert 0 < len(offered) and shared.iterations < alone.iterations
    assert shared.work + spend() >= limit  # it stopped at the shared limit ...
    per_iteration = alone.work / alone.iterations
    assert shared.work + spend() - limit < 0.1 * limit + 2 * per_iteration  # ... within one iteration and one offer
    assert shared.stopped_by == "work limit"
