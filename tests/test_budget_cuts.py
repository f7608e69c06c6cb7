"""The budget's count-hull cuts (optimiser.model.budget_cuts): a hand-derived facet, every
feasible layout of random problems and of the zoo satisfies every cut (brute force), and CP-SAT
with the cuts finds the brute-force optimum."""

from __future__ import annotations

import itertools

import numpy as np
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


def _counts_checked_at_the_leaves(cc, limit):
    """The enumeration before wave 30: every vector within the budget and the class sizes, the
    count constraints checked on whole vectors only (the oracle of the pruned one)."""
    k, out, cur = len(cc.members), [], [0] * len(cc.members)

    def rec(j, left):
        if j == k:
            if all((lo is None or lo <= sum(cur[t] for t in js)) and (hi is None or sum(cur[t] for t in js) <= hi)
                   for js, lo, hi in cc.unions):
                out.append(tuple(cur))
            return len(out) <= limit
        for v in range(min(len(cc.members[j]), left // cc.cost[j]) + 1):
            cur[j] = v
            if not rec(j + 1, left - v * cc.cost[j]):
                return False
        cur[j] = 0
        return True

    return out if rec(0, cc.budget) else None


def _random_classes(rng, n_classes):
    from optimiser.model.budget_cuts import CountClasses

    sizes = [int(rng.integers(1, 7)) for _ in range(n_classes)]
    starts = np.cumsum([0, *sizes])
    members = tuple(tuple(range(int(starts[j]), int(starts[j + 1]))) for j in range(n_classes))
    cost = tuple(int(rng.integers(1, 9)) for _ in range(n_classes))
    unions = []
    for _ in range(int(rng.integers(0, 4))):
        js = tuple(sorted({int(j) for j in rng.choice(n_classes, size=int(rng.integers(1, n_classes + 1)))}))
        lo = int(rng.integers(0, 3)) if rng.random() < 0.6 else None
        hi = int(rng.integers(0, 6)) if rng.random() < 0.8 else None
        unions.append((js, lo, hi))
    return CountClasses(members, cost, int(rng.integers(0, 40)), tuple(unions))


@pytest.mark.parametrize("seed", range(60))
def test_the_pruned_enumeration_keeps_exactly_the_vectors_checked_at_the_leaves(seed):
    rng = np.random.default_rng(seed)
    cc = _random_classes(rng, int(rng.integers(1, 6)))
    for limit in (5, 20_000):
        want = _counts_checked_at_the_leaves(cc, limit)
        got = feasible_counts(cc, limit)
        if want is None:
            assert got is None
        else:
            assert got is not None and [tuple(r) for r in got.tolist()] == want  # the same vectors, in the same order


def test_count_ranges_over_many_candidate_sites_are_pruned_not_walked():
    """Four classes with ranges of counts over 30-50 candidate sites each, 100 cheap and 35 dear
    crossings under a loose budget (the shape of an independent real-shaped site): the count
    constraints prune as the classes are chosen. Checked on whole vectors only, the walk would
    pass the node limit (such a site visited 55 million partial vectors, 105 s, to keep 3,303)."""
    from optimiser.model.budget_cuts import CountClasses

    sizes, costs, budget = (100, 40, 30, 50, 45, 35), (714, 5833, 3729, 1400, 233, 14280), 121_806
    starts = np.cumsum([0, *sizes])
    members = tuple(tuple(range(int(starts[j]), int(starts[j + 1]))) for j in range(len(sizes)))
    cc = CountClasses(members, costs, budget, (((1,), 1, 2), ((2,), 0, 2), ((3,), 1, 3), ((4,), 1, 1)))
    want = [v for v in itertools.product(range(101), range(1, 3), range(3), range(1, 4), (1,), range(36))
            if np.dot(v, costs) <= budget]
    counts = feasible_counts(cc)
    assert counts is not None and [tuple(r) for r in counts.tolist()] == want and len(want) > 3_000


def test_no_hull_is_built_past_its_work_limit(monkeypatch):
    """17,488 count vectors in 7 varying classes took qhull 15.7 s and gave 170,206 facets to round
    (an independent 60-firm site): past MAX_HULL_WORK there are no cuts, and no hull is built."""
    from optimiser.model import budget_cuts
    from optimiser.model.budget_cuts import MAX_HULL_WORK, CountClasses, _hull_cuts

    members = tuple(tuple(range(3 * j, 3 * j + 3)) for j in range(7))
    cc = CountClasses(members, (1,) * 7, 21, ())
    assert len(feasible_counts(cc)) * 2 ** 7 > MAX_HULL_WORK  # 4^7 vectors

    def no_hull(*args, **kwargs):
        raise AssertionError("ConvexHull called past the work limit")

    monkeypatch.setattr(budget_cuts, "ConvexHull", no_hull)
    assert _hull_cuts(cc) == []
    small = CountClasses(members[:3], (1,) * 3, 4, ())  # 3 classes under a budget of 4: a hull, and its cuts
    monkeypatch.undo()
    assert len(feasible_counts(small)) * 2 ** 3 <= MAX_HULL_WORK and _hull_cuts(small)
