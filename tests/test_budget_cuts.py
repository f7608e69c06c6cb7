"""The budget's count-hull cuts (optimiser.model.budget_cuts): a hand-derived facet, every
feasible layout of random problems and of the zoo satisfies every cut (brute force), and CP-SAT
with the cuts finds the brute-force optimum."""

from __future__ import annotations

import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model.budget_cuts import budget_count_cuts, count_classes, feasible_counts
from optimiser.model.problem import Constraint
from optimiser.pipeline import prepare
from optimiser.solve import cpsat
from tests.random_problems import feasible_layouts, knapsack_problem, random_problem
from tests.zoo_cases import CASES


def _satisfies(cut: Constraint, chosen: set[int]) -> bool:
    return cut.hi is not None and sum(c for i, c in cut.terms if i in chosen) <= cut.hi


def test_the_hand_derived_facet():
    p = knapsack_problem()
    cc = count_classes(p)
    assert cc is not None and cc.cost == (3_000_000, 5_000_000) and cc.members == ((3, 4), (0, 1, 2))
    counts = feasible_counts(cc)
    assert counts is not None
    assert sorted(map(tuple, counts.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]
    cuts = budget_count_cuts(p)
    assert [(sorted(c.terms), c.hi) for c in cuts] == [([(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)], 2)]
    assert all(_satisfies(cuts[0], s) for s in feasible_layouts(p))


def test_no_budget_row_no_cuts():
    p = knapsack_problem()
    p.constraints = []
    assert budget_count_cuts(p) == []


@pytest.mark.parametrize("seed", range(25))
def test_every_feasible_layout_satisfies_every_cut_on_random_problems(seed):
    p = random_problem(seed)
    cuts = budget_count_cuts(p)
    for s in feasible_layouts(p):
        assert all(_satisfies(c, s) for c in cuts), s


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_feasible_layout_satisfies_every_cut_on_the_zoo(name):
    p = prepare(CASES[name]()).problem
    cuts = budget_count_cuts(p)
    if len(p.decisions) > 14:
        pytest.skip("too many decisions for brute force")
    for s in feasible_layouts(p):
        assert all(_satisfies(c, s) for c in cuts), s


@pytest.mark.parametrize("seed", range(0, 25, 3))
def test_cpsat_with_the_cuts_finds_the_brute_force_optimum(seed):
    p = random_problem(seed)
    best = min((p.objective_of(s) for s in feasible_layouts(p)), default=None)
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, budget_cuts=True))
    if best is None:
        assert not res.status.has_solution
    else:
        assert res.objective == best


@pytest.mark.parametrize("seed", range(6))
def test_the_cuts_kept_per_count_classes_are_the_cuts_worked_out_afresh(seed):
    from optimiser.model import budget_cuts

    problem = random_problem(seed)
    first, again = budget_count_cuts(problem), budget_count_cuts(problem)
    cc = count_classes(problem)
    afresh = budget_cuts._hull_cuts(cc) if cc is not None else []
    assert first == again == afresh
    first.clear()  # the caller's list, not the kept one
    assert budget_count_cuts(problem) == afresh
