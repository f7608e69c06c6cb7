"""optimiser.solve.lagrangian's packing rows (session 31): constraints among the decisions outside
the knapsack (overlapping sites, spacing) dualised. The bound stays at most the brute-force optimum
and the reduction tests stay valid with several such rows, and a row the knapsack alone ignores
lifts the bound to the optimum."""

from __future__ import annotations

import numpy as np
import pytest

import optimiser.solve.lagrangian as lag_mod
from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.solve.lagrangian import lagrangian_bound
from tests.random_problems import random_problem
from tests.test_lagrangian import _check, _layouts


def _with_rows(seed: int) -> Problem:
    """A random problem with random packing rows: pairs at most 1, a triple at most 1 or 2, one
    with a coefficient 2."""
    p = random_problem(seed)
    rng = np.random.default_rng(1000 + seed)
    n_d = len(p.decisions)
    for k in range(int(rng.integers(1, 4))):
        a, b = (int(i) for i in rng.choice(n_d, size=2, replace=False))
        p.constraints.append(Constraint(f"overlap:{k}", ((a, 1), (b, 1)), None, 1, "footprints"))
    ids = [int(i) for i in rng.choice(n_d, size=3, replace=False)]
    p.constraints.append(Constraint("spacing:t", tuple((i, 1) for i in ids), None, int(rng.integers(1, 3)), "spacing:t"))
    a, b = (int(i) for i in rng.choice(n_d, size=2, replace=False))
    p.constraints.append(Constraint("weighted", ((a, 2), (b, 1)), None, 2, "weighted"))
    return p


@pytest.mark.parametrize("seed", range(30))
def test_bound_and_reductions_are_valid_with_packing_rows(seed, monkeypatch):
    monkeypatch.setattr(lag_mod, "PACKING_ACROSS_GROUPS", False)  # every row (random_problem's decisions share a group)
    p = _with_rows(seed)
    layouts = list(_layouts(p))
    if not layouts:
        pytest.skip("no feasible layout")
    opt = min(o for _, o in layouts)
    above = sorted({o for _, o in layouts if o > opt})
    if not above:
        pytest.skip("every layout at the optimum")
    # upper bounds above the optimum (at it the bound is capped there and the test cannot fail)
    for ub in (above[0], above[-1]):
        res, _ = _check(p, ub, max_iterations=2000, test_every=3)
        assert res.bound <= opt


def _two_sites() -> Problem:
    """Two facilities on one site (at most one of them, the budget allows both), each the near
    option of its own client: the optimum opens one and leaves the other client at its base."""
    dec = [Decision(f"d{i}", "facility", g, 1e5, f"d{i}") for i, g in enumerate(("cafe_hub", "prototyping_lab"))]
    p = Problem(dec, [(0,), (1,)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 1e6)
    p.clients.append(Client("c0", "pair", 10, 500, (10,), ((0,),)))
    p.clients.append(Client("c1", "pair", 10, 400, (10,), ((1,),)))
    p.constraints.append(Constraint("budget", ((0, 100_000), (1, 100_000)), None, 1_000_000, "budget"))
    p.constraints.append(Constraint("overlap:0|1", ((0, 1), (1, 1)), None, 1, "footprints"))
    return p


def test_a_packing_row_lifts_the_bound(monkeypatch):
    p = _two_sites()
    opt = min(o for _, o in _layouts(p))
    assert opt == 10 * 10 + 10 * 400
    with_rows = lagrangian_bound(p, opt + 1000, max_iterations=500)
    monkeypatch.setattr(lag_mod, "PACKING_ROWS", False)
    without = lagrangian_bound(p, opt + 1000, max_iterations=500)
    assert without.bound <= 10 * 10 + 10 * 10 + 1  # both open: the row ignored
    assert opt - 1 <= with_rows.bound <= opt


def test_rows_within_one_group_are_left_out(monkeypatch):
    """Two sites of one type (a spacing row): left to the relaxation unless every row is dualised."""
    p = _two_sites()
    p.decisions[1] = Decision("d1", "facility", "cafe_hub", 1e5, "d1")
    opt = min(o for _, o in _layouts(p))
    assert lagrangian_bound(p, opt + 1000, max_iterations=500).bound <= 10 * 10 + 10 * 10 + 1
    monkeypatch.setattr(lag_mod, "PACKING_ACROSS_GROUPS", False)
    assert opt - 1 <= lagrangian_bound(p, opt + 1000, max_iterations=500).bound <= opt


def test_multipliers_carry_the_packing_rows():
    """A call from an earlier call's multipliers starts at its bound (the packing rows' part kept)."""
    p = _two_sites()
    first = lagrangian_bound(p, 5000, max_iterations=300)
    again = lagrangian_bound(p, 5000, max_iterations=1, multipliers=first.multipliers, initial_step=first.step)
    assert again.bound >= first.bound - 1


def test_packing_multipliers_are_read_whatever_the_conjunctions():
    """The packing rows' multipliers travel apart from ``mu``: a call from multipliers whose
    conjunction part has another size (a relaxation with other conjunctions hands its multipliers
    to a tighter one) still starts from them. They were the tail of ``mu``, found by its length,
    and were dropped (or read as star rows) when the sizes differed."""
    p = _two_sites()
    opt = min(o for _, o in _layouts(p))
    lam, mu, pi = lagrangian_bound(p, opt + 1000, max_iterations=300).multipliers
    assert pi.size == 1 and pi[0] > 0
    kw = dict(max_iterations=1, initial_step=1e-12)
    kept = lagrangian_bound(p, opt + 1000, multipliers=(lam, np.zeros(mu.size + 3), pi), **kw).bound
    assert kept == lagrangian_bound(p, opt + 1000, multipliers=(lam, np.zeros(mu.size), pi), **kw).bound
    assert kept >= opt - 1
    assert lagrangian_bound(p, opt + 1000, multipliers=(lam, mu), **kw).bound < opt - 1  # pi at 0: the row ignored


def test_a_count_row_the_knapsack_drops_is_a_packing_row():
    """The packing rows are the rows the knapsack does not meet (``Knapsack.enforced``), not the
    rows named like the ones it may meet: a count cap overlapping another group is dropped by the
    knapsack (a relaxation) and was left out of the packing rows too, by its name."""
    from optimiser.solve.lagrangian_knapsack import Knapsack

    dec = [Decision(f"d{i}", "facility", g, 1e5, f"d{i}") for i, g in enumerate(("cafe_hub", "prototyping_lab", "prototyping_lab"))]
    p = Problem(dec, [(0,), (1,), (2,)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 1e6)
    p.clients.append(Client("c0", "pair", 10, 500, (10,), ((0,),)))
    p.clients.append(Client("c1", "pair", 10, 400, (10,), ((1,),)))
    p.constraints.append(Constraint("budget", ((0, 100_000), (1, 100_000), (2, 100_000)), None, 1_000_000, "budget"))
    p.constraints.append(Constraint("labs", ((1, 1), (2, 1)), None, 2, "count_max:prototyping_lab"))
    p.constraints.append(Constraint("one of two", ((0, 1), (1, 1)), None, 1, "count_max:either"))
    assert Knapsack(p).enforced == {0, 1}
    opt = min(o for _, o in _layouts(p))
    assert opt == 10 * 10 + 10 * 400
    assert opt - 1 <= lagrangian_bound(p, opt + 1000, max_iterations=500).bound <= opt
