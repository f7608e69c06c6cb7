"""Dominated crossings (optimiser.model.dominance): fixing them at 0 keeps the optimum, checked
by brute force on small problems with twin crossings (a cheaper crossing whose routes are no
longer, sometimes made longer on one walk so that it no longer dominates), and through
``solve`` on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model import dominance as dom
from optimiser.model.dominance import dominated_crossings
from optimiser.model.problem import Client, Constraint, Decision, Penalty, Problem
from optimiser.model.transforms import fix_decisions
from optimiser.solve.strategy import solve
from tests.random_problems import feasible_layouts

N_SITES, N_CROSS = 3, 5
TWINS = {3: 8, 4: 9}  # crossing -> its twin (ids: sites 0-2, crossings 3-9)


def twin_problem(seed: int) -> tuple[Problem, bool]:
    """A random problem whose crossings 3 and 4 have twins 8 and 9 (cheaper or as dear, each route
    over the original also listed over the twin, as short or shorter); with ``broken`` one twin's
    route is longer than the original's on one walk. Returns (problem, broken)."""
    rng = np.random.default_rng(seed)
    n_d = N_SITES + N_CROSS + len(TWINS)
    costs = [float(rng.integers(1, 6)) * 1e5 for _ in range(n_d)]
    for orig, twin in TWINS.items():
        costs[twin] = costs[orig] - float(rng.integers(0, 2)) * 1e5 if costs[orig] > 1e5 else costs[orig]
    dec = [Decision(f"d{i}", "facility" if i < N_SITES else "crossing", "g", costs[i], f"d{i}") for i in range(n_d)]
    p = Problem(dec, [(i,) for i in range(n_d)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 8e5)
    broken = bool(rng.random() < 0.35)
    broken_done = False
    originals = list(range(N_SITES, N_SITES + N_CROSS))
    for k in range(int(rng.integers(4, 9))):
        routes: dict[tuple[int, ...], int] = {}
        for _ in range(int(rng.integers(1, 5))):
            site = [int(rng.integers(0, N_SITES))] if rng.random() < 0.5 else []
            cross = [int(c) for c in rng.choice(originals, size=int(rng.integers(1, 3)), replace=False)]
            req = tuple(sorted(site + cross))
            length = int(rng.integers(50, 400))
            routes[req] = min(length, routes.get(req, length))
            swaps = [o for o in TWINS if o in req]
            for k in range(1, 1 << len(swaps)):  # every original of the route, or both, in its twin's place
                out = {o for j, o in enumerate(swaps) if k >> j & 1}
                treq = tuple(sorted((set(req) - out) | {TWINS[o] for o in out}))
                tlen = length - int(rng.integers(0, 20))
                if broken and not broken_done:
                    tlen, broken_done = length + 7, True
                routes[treq] = min(tlen, routes.get(treq, tlen))
        by_len: dict[int, list[int]] = {}
        for req, length in routes.items():
            by_len.setdefault(length, []).append(p.option_id(req))
        levels = tuple(sorted(by_len))
        base = None if rng.random() < 0.1 else 500
        p.clients.append(Client(f"c{k}", "pair", int(rng.integers(1, 30)), base,
                                levels, tuple(tuple(sorted(set(by_len[v]))) for v in levels)))
        if base is None:
            allo = tuple(sorted({o for ls in p.clients[-1].level_options for o in ls}))
            p.constraints.append(Constraint(f"reach:c{k}", tuple((o, 1) for o in allo), 1, None, f"reach:c{k}"))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 800_000, "budget"))
    if rng.random() < 0.4:
        p.penalties.append(Penalty("pen", int(rng.integers(100, 3000)), (p.option_id((0, 3)), p.option_id((0, 8)), 4, 9)))
    return p, broken and broken_done


def brute_optimum(p: Problem) -> float | None:
    values = [p.objective_of(s) for s in feasible_layouts(p)]
    return min(values) if values else None


@pytest.mark.parametrize("seed", range(40))
def test_fixing_the_dominated_crossings_keeps_the_optimum(seed):
    p, _ = twin_problem(seed)
    d = dominated_crossings(p)
    assert d.skipped is None
    for removed, by in d.removed.items():
        assert p.decisions[removed].kind == "crossing"
        if by >= 0:
            assert (p.decisions[by].cost, by) < (p.decisions[removed].cost, removed)
    q = fix_decisions(p, dict.fromkeys(d.removed, 0))
    assert brute_optimum(q) == brute_optimum(p)


def test_the_twins_are_found_and_a_longer_twin_is_not_taken():
    found = broken_kept = broken_seen = 0
    for seed in range(40):
        p, broken = twin_problem(seed)
        removed = dominated_crossings(p).removed
        found += sum(removed.get(orig) == twin for orig, twin in TWINS.items())
        if broken:
            broken_seen += 1
            # the broken twin is longer on one walk: at least one original is not removed by its twin
            broken_kept += any(removed.get(orig) != twin for orig, twin in TWINS.items())
    assert found >= 10 and broken_seen >= 5 and broken_kept == broken_seen


def _two_crossings(cost_a: float, cost_b: float, len_a: int, len_b: int) -> Problem:
    dec = [Decision("crossing:a", "crossing", "road", cost_a, "a"), Decision("crossing:b", "crossing", "road", cost_b, "b")]
    p = Problem(dec, [(0,), (1,)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 1e7)
    levels = sorted({len_a, len_b})
    opts = tuple(tuple(o for o, v in ((0, len_a), (1, len_b)) if v == lev) for lev in levels)
    p.clients.append(Client("walk", "pair", 5, 900, tuple(levels), opts))
    p.constraints.append(Constraint("budget", ((0, int(cost_a)), (1, int(cost_b))), None, 10_000_000, "budget"))
    return p


def test_a_dearer_longer_crossing_is_removed_by_the_cheaper_one():
    assert dominated_crossings(_two_crossings(1e6, 2e6, 100, 150)).removed == {1: 0}
    assert dominated_crossings(_two_crossings(1e6, 2e6, 150, 100)).removed == {}  # dearer but shorter: kept
    assert dominated_crossings(_two_crossings(1e6, 1e6, 100, 100)).removed == {1: 0}  # twins: the first id stays


def test_a_crossing_under_a_lower_bound_is_kept():
    p = _two_crossings(1e6, 2e6, 100, 150)
    p.constraints.append(Constraint("count_min:road", ((0, 1), (1, 1)), 2, None, "count_min:road"))
    assert dominated_crossings(p).removed == {}


def test_a_crossing_that_shortens_no_walk_is_removed_alone():
    p = _two_crossings(1e6, 2e6, 100, 150)
    both = p.option_id((0, 1))
    p.clients.append(Client("walk2", "pair", 3, 900, (120, 200), ((0,), (both,))))
    assert dominated_crossings(p).removed == {1: 0}
    p2 = _two_crossings(3e6, 2e6, 100, 150)  # b (cheaper) is only ever reached with a as well
    p2.clients[0] = Client("walk", "pair", 5, 900, (100, 150), ((0,), (p2.option_id((0, 1)),)))
    assert dominated_crossings(p2).removed == {1: -1}
    p3 = _two_crossings(3e6, 2e6, 100, 150)  # b shortens the walk with a: kept
    p3.clients[0] = Client("walk", "pair", 5, 900, (80, 100), ((p3.option_id((0, 1)),), (0,)))
    assert dominated_crossings(p3).removed == {}


def test_over_the_cap_nothing_is_examined(monkeypatch):
    p, _ = twin_problem(1)
    monkeypatch.setattr(dom, "MAX_USES", 0)
    d = dominated_crossings(p)
    assert d.removed == {} and d.skipped is not None and "uses" in d.skipped


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_solve_with_and_without_the_test_agree(backend):
    removed = 0
    for seed in range(12):
        p, _ = twin_problem(seed)
        on = solve(p, SolveOptions(backend=backend, time_limit_s=20.0, seed=0, workers=1, dominated_crossings=True))
        off = solve(p, SolveOptions(backend=backend, time_limit_s=20.0, seed=0, workers=1))
        assert on.status.name == off.status.name == "OPTIMAL"
        assert on.objective == off.objective == brute_optimum(p)
        assert "dominated_crossings" not in off.stats
        removed += on.stats["dominated_crossings"]
        assert p.is_feasible(set(on.chosen))
    assert removed > 0
