"""optimiser.solve.access_routes with optimiser.solve.lagrangian: the bound whose walks to
facilities pay for their crossings is never above the brute-force optimum (any multipliers, any
caps), equals the access relaxation's at its first iteration, and goes above the relaxation's own
optimum where the relaxation lets a walk use a crossing the budget cannot also give the pairs."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve.access_routes import access_routes
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.lagrangian import lagrangian_bound
from tests.random_problems import feasible_layouts
from tests.zoo_cases import CASES, prepared_case


def access_problem(seed: int) -> Problem:
    """Sites 0..n_s-1 (1-2 open, 200k each), crossings after them (100k-600k); access clients
    whose routes are "site", "site AND crossing" or "site AND two crossings"; pair clients over
    one or two crossings; a budget."""
    rng = np.random.default_rng(seed)
    n_s, n_k = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    dec = [Decision(f"facility:hub:{i}", "facility", "hub", 2e5, f"hub {i}") for i in range(n_s)]
    dec += [Decision(f"crossing:{k}", "crossing", "road", float(rng.integers(1, 7)) * 1e5, f"x{k}") for k in range(n_k)]
    n_d = len(dec)
    p = Problem(dec, [(i,) for i in range(n_d)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 9e5)
    ks = list(range(n_s, n_d))
    for c in range(int(rng.integers(2, 6))):
        routes: dict[int, set[int]] = {}
        for s in range(n_s):
            for _ in range(int(rng.integers(1, 4))):
                n_cross = int(rng.integers(0, 3))
                req = tuple(sorted([s] + [int(k) for k in rng.choice(ks, size=n_cross, replace=False)]))
                routes.setdefault(int(rng.integers(50, 600)), set()).add(p.option_id(req))
        lv = sorted(routes)
        p.clients.append(Client(f"a{c}", "access", int(rng.integers(1, 30)), 2000, tuple(lv),
                                tuple(tuple(sorted(routes[v])) for v in lv)))
    for c in range(int(rng.integers(1, 5))):
        opts: dict[int, set[int]] = {}
        for _ in range(int(rng.integers(1, 4))):
            req = tuple(sorted(int(k) for k in rng.choice(ks, size=int(rng.integers(1, 3)), replace=False)))
            opts.setdefault(int(rng.integers(50, 400)), set()).add(p.option_id(req))
        lv = sorted(opts)
        p.clients.append(Client(f"p{c}", "pair", int(rng.integers(1, 30)), 800, tuple(lv),
                                tuple(tuple(sorted(opts[v])) for v in lv)))
    grp = tuple((i, 1) for i in range(n_s))
    p.constraints += [Constraint("count_min:hub", grp, 1, None, "count_min:hub"),
                      Constraint("count_max:hub", grp, None, 2, "count_max:hub"),
                      Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 900_000, "budget")]
    return p


def _optimum(problem: Problem) -> tuple[int, list[tuple[set[int], int]]]:
    layouts = [(s, problem.objective_of(s)) for s in feasible_layouts(problem)]
    return min(o for _, o in layouts), layouts


def _routes(problem: Problem, cap_factor: float | None):
    ev = Evaluator(problem)
    big = np.array([c.weight * max([c.base or 0, *c.levels]) for c in problem.clients], dtype=float) * 10 + 1
    cap = big if cap_factor is None else np.array([c.weight * c.levels[0] if c.levels else 0 for c in problem.clients],
                                                  dtype=float) * cap_factor
    return access_routes(ev, cap)


@pytest.mark.parametrize("seed", range(24))
def test_the_bound_with_routes_is_never_above_the_optimum(seed):
    p = access_problem(seed)
    opt, layouts = _optimum(p)
    q = relax_access_crossings(p)
    assert q is not None
    for cap_factor in (None, 1.5):
        routes = _routes(p, cap_factor)
        if routes is None:
            continue
        for ub in (opt, int(opt * 1.05) + 1):
            res = lagrangian_bound(q, ub, max_iterations=150, test_every=3, routes=routes)
            assert res.bound <= opt
            assert res.access_multipliers is not None and (res.access_multipliers >= 0).all()
            for d in res.fixed_zero:  # the reduction tests stay valid
                assert all(o >= ub for s, o in layouts if d in s), f"decision {d} closed but in a better layout"


@pytest.mark.parametrize("seed", range(10))
def test_routes_at_zero_multipliers_give_the_relaxations_bound(seed):
    """At M = 0 the walks cost their relaxed lengths: the first iteration is the relaxation's."""
    p = access_problem(seed)
    q = relax_access_crossings(p)
    routes = _routes(p, None)
    assert q is not None and routes is not None
    plain = lagrangian_bound(q, None, max_iterations=1)
    with_routes = lagrangian_bound(q, None, max_iterations=1, routes=routes)
    assert with_routes.bound == plain.bound
    assert with_routes.layout == plain.layout


def crossing_contest() -> Problem:
    """One hub (0, must open) across a road from a firm; two crossings (1, 2), the budget
    builds one. The firm walks 100 over crossing 1, else 1,000; a firm pair walks 100 over
    crossing 2, else 1,000. The relaxation lets the walk to the hub use crossing 1 for free and
    gives crossing 2 to the pair: 10 x 100 + 10 x 100 = 2,000. Exactly: 10 x 100 + 10 x 1,000."""
    dec = [Decision("facility:hub:0", "facility", "hub", 1e5, "hub"),
           Decision("crossing:1", "crossing", "road", 5e5, "x1"), Decision("crossing:2", "crossing", "road", 5e5, "x2")]
    p = Problem(dec, [(0,), (1,), (2,)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 6e5)
    walk = p.option_id((0, 1))
    p.clients.append(Client("a", "access", 10, 2000, (100, 1000), ((walk,), (0,))))
    p.clients.append(Client("p", "pair", 10, 1000, (100,), ((2,),)))
    p.constraints += [Constraint("count_min:hub", ((0, 1),), 1, None, "count_min:hub"),
                      Constraint("budget", ((0, 100_000), (1, 500_000), (2, 500_000)), None, 600_000, "budget")]
    return p


def test_routes_close_the_gap_the_relaxation_cannot():
    p = crossing_contest()
    opt, _ = _optimum(p)
    assert opt == 11_000
    q = relax_access_crossings(p)
    assert q is not None
    relaxed_opt, _ = _optimum(q)
    assert relaxed_opt == 2_000  # the relaxation's optimum: no bound on it can say more
    plain = lagrangian_bound(q, opt, max_iterations=500)
    assert plain.bound <= relaxed_opt
    res = lagrangian_bound(q, opt, max_iterations=500, routes=_routes(p, None))
    assert res.bound > relaxed_opt
    assert res.bound >= 0.9 * opt


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_bound_with_routes_is_valid_on_the_zoo(name):
    prep, (best, _) = prepared_case(name)
    p = prep.problem
    q = relax_access_crossings(p)
    if best is None or q is None:
        pytest.skip("infeasible, or no walk to a facility over a crossing")
    routes = _routes(p, None)
    if routes is None:
        pytest.skip("no access route")
    res = lagrangian_bound(q, best, max_iterations=500, test_every=5, routes=routes)
    assert res.bound <= best


def test_routes_keep_every_undominated_route_and_the_relaxed_length():
    """Each walk's cheapest route is its relaxed length; routes over a superset of a cheaper
    route's crossings are dropped."""
    for seed in range(10):
        p = access_problem(seed)
        routes = _routes(p, None)
        q = relax_access_crossings(p)
        assert routes is not None and q is not None
        cheapest: dict[tuple[int, int], float] = {}
        for c, s, v in zip(routes.client.tolist(), routes.site.tolist(), routes.cost.tolist()):
            cheapest.setdefault((c, s), v)
        for k, c in enumerate(q.clients):
            if c.kind != "access":
                continue
            for lev, opts in zip(c.levels, c.level_options):
                for o in opts:
                    (s,) = q.options[o]
                    assert cheapest[(k, s)] == c.weight * lev
        n_k = routes.crossings.size
        sets = [(c, s, {k for k in (a, b) if k < n_k}, v)
                for c, s, a, b, v in zip(routes.client.tolist(), routes.site.tolist(), routes.k1.tolist(),
                                         routes.k2.tolist(), routes.cost.tolist())]
        for c, s, ks, v in sets:
            assert not any(c2 == c and s2 == s and ks2 < ks and v2 <= v for c2, s2, ks2, v2 in sets)


@pytest.mark.parametrize("seed", range(6))
def test_routes_over_closed_crossings_are_dropped(seed):
    """With every crossing closed, no route over one is left: the bound is at most the best
    layout without crossings (the routes' part must not fail when nothing is left of it)."""
    p = access_problem(seed)
    q = relax_access_crossings(p)
    routes = _routes(p, None)
    assert q is not None and routes is not None
    crossings = [i for i, d in enumerate(p.decisions) if d.kind == "crossing"]
    _, layouts = _optimum(p)
    best = min(o for s, o in layouts if not s & set(crossings))
    res = lagrangian_bound(q, None, max_iterations=150, routes=routes, closed=crossings)
    assert res.bound <= best
    assert not set(res.layout) & set(crossings)


def test_routes_with_no_active_incidence_do_not_crash():
    """Client multipliers at 0 leave no incidence active: numpy's bincount of nothing is int64,
    and the crossings' float credits must still be subtracted (this raised UFuncTypeError)."""
    p = access_problem(1)
    q = relax_access_crossings(p)
    routes = _routes(p, None)
    assert q is not None and routes is not None
    opt, _ = _optimum(p)
    lam, mu, _ = lagrangian_bound(q, None, max_iterations=1).multipliers
    res = lagrangian_bound(q, None, max_iterations=1, routes=routes, multipliers=(0 * lam, mu))
    assert res.bound == 0
    res = lagrangian_bound(q, None, max_iterations=200, routes=routes, multipliers=(0 * lam, mu))
    assert 0 < res.bound <= opt
