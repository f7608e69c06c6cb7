"""The budget's count-hull cuts (optimiser.model.budget_cuts): a hand-derived facet, every
feasible layout of random problems and of the zoo satisfies every cut (brute force), and CP-SAT
with the cuts finds the brute-force optimum."""

from __future__ import annotations

import itertools

import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model.budget_cuts import budget_count_cuts, count_classes, feasible_counts
from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.pipeline import prepare
from optimiser.solve import cpsat
from tests.random_problems import random_problem
from tests.zoo_cases import CASES


def _knapsack() -> Problem:
    """Three 5m footbridges (ids 0-2) and two 3m signals (ids 3-4), budget 10m. Feasible counts
    (footbridges, signals): (0, 0-2), (1, 0-1), (2, 0): their hull's one non-bound facet is
    footbridges + signals <= 2, which cuts the LP point 1.4 footbridges + 1 signal (10m)."""
    dec = [Decision(f"crossing:fb{i}", "crossing", "road", 5e6, f"fb{i}") for i in range(3)]
    dec += [Decision(f"crossing:sig{i}", "crossing", "road", 3e6, f"sig{i}") for i in range(2)]
    p = Problem(dec, [(i,) for i in range(5)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 10e6)
    for i in range(5):
        p.clients.append(Client(f"walk{i}", "pair", 10 + i, 900, (100 + 10 * i,), ((i,),)))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 10_000_000, "budget"))
    return p


def _layouts(problem: Problem):
    n = len(problem.decisions)
    for r in range(n + 1):
        for s in itertools.combinations(range(n), r):
            if problem.is_feasible(set(s)):
                yield set(s)


def _satisfies(cut: Constraint, chosen: set[int]) -> bool:
    return cut.hi is not None and sum(c for i, c in cut.terms if i in chosen) <= cut.hi


def test_the_hand_derived_facet():
    p = _knapsack()
    cc = count_classes(p)
    assert cc is not None and cc.cost == (3_000_000, 5_000_000) and cc.members == ((3, 4), (0, 1, 2))
    counts = feasible_counts(cc)
    assert counts is not None
    assert sorted(map(tuple, counts.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]
    cuts = budget_count_cuts(p)
    assert [(sorted(c.terms), c.hi) for c in cuts] == [([(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)], 2)]
    assert all(_satisfies(cuts[0], s) for s in _layouts(p))


def test_no_budget_row_no_cuts():
    p = _knapsack()
    p.constraints = []
    assert budget_count_cuts(p) == []


@pytest.mark.parametrize("seed", range(25))
def test_every_feasible_layout_satisfies_every_cut_on_random_problems(seed):
    p = random_problem(seed)
    cuts = budget_count_cuts(p)
    for s in _layouts(p):
        assert all(_satisfies(c, s) for c in cuts), s


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_feasible_layout_satisfies_every_cut_on_the_zoo(name):
    p = prepare(CASES[name]()).problem
    cuts = budget_count_cuts(p)
    if len(p.decisions) > 14:
        pytest.skip("too many decisions for brute force")
    for s in _layouts(p):
        assert all(_satisfies(c, s) for c in cuts), s


@pytest.mark.parametrize("seed", range(0, 25, 3))
def test_cpsat_with_the_cuts_finds_the_brute_force_optimum(seed):
    p = random_problem(seed)
    best = min((p.objective_of(s) for s in _layouts(p)), default=None)
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, budget_cuts=True))
    if best is None:
        assert not res.status.has_solution
    else:
        assert res.objective == best
