"""Barrier cover cuts (optimiser.model.cover_cuts): the rows of a hand-made pair across two
barriers, every feasible layout keeps its exact objective with the rows in the model (CP-SAT with
the decisions fixed), and the brute-force optimum with and without them (CP-SAT, and the zoo's
site with cuts through both backends)."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model.cover_cuts import WEAK_LP_STAKE, CoverCut, barrier_cover_cuts, two_crossing_stake, weak_lp
from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.solve import cbc, cpsat
from optimiser.solve.count_split import maximal_count_vectors
from tests.random_problems import feasible_layouts, fixed_objective
from tests.zoo_cases import prepared_case


def _across_two_barriers() -> Problem:
    """Crossings a0, a1 (barrier A: ids 0, 1) and b0, b1 (barrier B: ids 2, 3). Firm pair p walks
    100 through (a0, b0), 120 through (a0, b1), 130 through (a1, b0), 150 through a1 alone (an
    existing crossing of B), 900 with nothing new; pair q walks 200 through a0 alone, 210 through
    a1 alone (one route per crossing: nothing to cut)."""
    dec = [Decision(f"crossing:{n}", "crossing", g, 1e6, n) for n, g in (("a0", "A"), ("a1", "A"), ("b0", "B"), ("b1", "B"))]
    p = Problem(dec, [(i,) for i in range(4)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2e6)
    r00, r01, r10 = p.option_id((0, 2)), p.option_id((0, 3)), p.option_id((1, 2))
    p.clients.append(Client("pair:p|r", "pair", 5, 900, (100, 120, 130, 150), ((r00,), (r01,), (r10,), (1,))))
    p.clients.append(Client("pair:q|r", "pair", 2, 900, (200, 210), ((0,), (1,))))
    p.constraints.append(Constraint("budget", tuple((i, 1_000_000) for i in range(4)), None, 2_000_000, "budget"))
    return p


def test_the_cuts_of_a_pair_across_two_barriers():
    # level 1: a0 is on both routes so far (A: {a0} used twice); level 2: A {a0, a1} on three
    # routes, B {b0, b1} on three (b0 twice); level 3 uses no B crossing: only A stays
    assert barrier_cover_cuts(_across_two_barriers()) == [
        CoverCut(0, 1, (0,)), CoverCut(0, 2, (0, 1)), CoverCut(0, 2, (2, 3)), CoverCut(0, 3, (0, 1))]
    assert barrier_cover_cuts(_across_two_barriers(), skip={0}) == []


def test_the_stake_of_pairs_only_two_new_crossings_serve():
    p = _across_two_barriers()
    assert two_crossing_stake(p) == 0.0  # p has a route over a1 alone, q over one crossing
    # pair s (weight 4, base 600) only by (a0, b0) at 300: stake 4 x 300 of 5 x 800 + 2 x 700 + 1,200
    p.clients.append(Client("pair:s|r", "pair", 4, 600, (300,), ((p.option_id((0, 2)),),)))
    assert two_crossing_stake(p) == pytest.approx(1200 / 6600)
    assert weak_lp(p) and 1200 / 6600 >= WEAK_LP_STAKE


def _two_barrier_problem(seed: int) -> Problem:
    """Random firm pairs whose routes cross barrier A (crossings 0-3), barrier B (4-7) or both,
    and a lab (sites 8, 9, count 1) none of them needs; a budget of a few crossings."""
    rng = np.random.default_rng(seed)
    dec = [Decision(f"crossing:a{i}", "crossing", "A", float(rng.choice([0.6, 3.0, 6.0])) * 1e6, f"a{i}") for i in range(4)]
    dec += [Decision(f"crossing:b{i}", "crossing", "B", float(rng.choice([0.6, 3.0, 6.0])) * 1e6, f"b{i}") for i in range(4)]
    dec += [Decision(f"facility:lab:{i}", "facility", "lab", 2e6, f"lab{i}") for i in range(2)]
    budget = int(rng.choice([6, 9, 12])) * 1_000_000
    p = Problem(dec, [(i,) for i in range(10)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, float(budget))
    for k in range(int(rng.integers(3, 7))):
        entries: dict[int, set[int]] = {}
        both = rng.random() < 0.7
        for _ in range(int(rng.integers(2, 8))):
            a, b = int(rng.integers(0, 4)), int(rng.integers(4, 8))
            req = (a, b) if both or rng.random() < 0.3 else ((a,) if rng.random() < 0.5 else (b,))
            entries.setdefault(int(rng.integers(10, 400)), set()).add(p.option_id(req))
        levels = tuple(sorted(entries))
        p.clients.append(Client(f"pair:f{k}|g", "pair", int(rng.integers(1, 40)), int(rng.integers(400, 900)), levels,
                                tuple(tuple(sorted(entries[lev])) for lev in levels)))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, budget, "budget"))
    p.constraints.append(Constraint("count_min:lab", ((8, 1), (9, 1)), 1, None, "count_min:lab"))
    p.constraints.append(Constraint("count_max:lab", ((8, 1), (9, 1)), None, 1, "count_max:lab"))
    return p


def _fixed_objective(problem: Problem, chosen: set[int]) -> int:
    """CP-SAT's optimum of the model with the cover cuts and the decisions fixed to ``chosen``."""
    return fixed_objective(problem, chosen, site_chains=True, cover_cuts=True)


@pytest.mark.parametrize("seed", range(6))
def test_every_layout_keeps_its_exact_objective_with_the_cuts(seed):
    p = _two_barrier_problem(seed)
    assert barrier_cover_cuts(p), "the random problem should have routes sharing a crossing"
    layouts = list(feasible_layouts(p))
    assert layouts
    for chosen in layouts[:: max(1, len(layouts) // 15)]:
        assert _fixed_objective(p, chosen) == p.objective_of(chosen), chosen


@pytest.mark.parametrize("cover_cuts", [True, False, None])
@pytest.mark.parametrize("seed", range(0, 20, 2))
def test_cpsat_finds_the_brute_force_optimum(seed, cover_cuts):
    p = _two_barrier_problem(seed)
    best = min(p.objective_of(s) for s in feasible_layouts(p))
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, cover_cuts=cover_cuts))
    assert res.status == "optimal" and res.objective == best
    if cover_cuts is None and weak_lp(p) and maximal_count_vectors(p) is not None:
        assert "count_vectors" in res.stats  # a weak LP: split by count vector whatever its size


def test_the_random_problems_have_a_weak_lp():  # so the default (None) above runs the split
    assert all(weak_lp(_two_barrier_problem(seed)) for seed in range(0, 20, 2))


@pytest.mark.slow  # the zoo's brute force: about 7 s
@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_a_zoo_site_with_cuts_gives_the_brute_force_optimum(backend):
    prep, (best_obj, _) = prepared_case("facility_count_spacing")
    assert len(barrier_cover_cuts(prep.problem)) == 10
    mod = cpsat if backend == "cpsat" else cbc
    res = mod.solve(prep.problem, SolveOptions(backend=backend, time_limit_s=10, seed=0, workers=1))
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best_obj, abs=len(prep.problem.clients) + 1)
