"""Per-site radius chains (optimiser.solve.site_chains): the split of a hand-made walk, the same
objective as the merged chain for every layout (CP-SAT with the decisions fixed), a hint that is
complete and feasible, and the brute-force optimum on random problems with walks to sites."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.solve import cpsat
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import build_model
from optimiser.solve.heuristic import hint_values
from optimiser.solve.site_chains import SiteChain, split_client, split_clients
from tests.random_problems import feasible_layouts, fixed_objective
from tests.zoo_cases import prepared_case


def _two_labs() -> Problem:
    """Labs 0 and 1 (sites), footbridges 2 and 3. The firm walks 100 to lab 0, 150 to lab 1
    through footbridge 2, 170 to lab 1 through footbridges 2 and 3, 180 to lab 1 alone, 190 to
    lab 1 through footbridge 3 (never the shortest: lab 1 alone is shorter), 300 to an existing
    lab through footbridge 3; 400 with nothing new."""
    dec = [Decision("facility:lab:0", "facility", "lab", 3e6, "lab 0"), Decision("facility:lab:1", "facility", "lab", 3e6, "lab 1"),
           Decision("crossing:fb2", "crossing", "rail", 5e6, "fb2"), Decision("crossing:fb3", "crossing", "rail", 5e6, "fb3")]
    p = Problem(dec, [(i,) for i in range(4)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 9e6)
    o12, o123, o13 = p.option_id((1, 2)), p.option_id((1, 2, 3)), p.option_id((1, 3))
    p.clients.append(Client("access:lab:f", "access", 7, 400, (100, 150, 170, 180, 190, 300),
                            ((0,), (o12,), (o123,), (1,), (o13,), (3,))))
    p.clients.append(Client("pair:a|b", "pair", 3, 500, (200,), ((2,),)))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 9_000_000, "budget"))
    return p


def test_a_hand_made_walk_is_split_by_site():
    p = _two_labs()
    sc = split_client(p, 0)
    assert sc is not None and sc.top == 400
    assert sc.chains == (SiteChain(0, (100,), (((),),)),
                         SiteChain(1, (150, 170, 180), (((2,),), ((2, 3),), ((),))),
                         SiteChain(None, (300,), (((3,),),)))
    assert split_client(p, 1) is None  # a firm pair has no site
    assert [s.index for s in split_clients(p)] == [0]


def test_a_walk_with_one_site_or_two_sites_in_an_option_is_not_split():
    p = _two_labs()
    o01 = p.option_id((0, 1))
    p.clients[0] = Client("access:lab:f", "access", 7, 400, (100, 120), ((0,), (o01,)))
    assert split_client(p, 0) is None
    p.clients[0] = Client("access:lab:f", "access", 7, 400, (100, 300), ((0,), (3,)))
    assert split_client(p, 0) is None


def _access_problem(seed: int) -> Problem:
    """Random walks to sites (ids 0-3; 0 and 1 of one type, counts 1-2) through crossings (ids
    4-7), some to an existing place through crossings only, some options needing two sites."""
    rng = np.random.default_rng(seed)
    dec = [Decision(f"facility:t:{i}", "facility", "t", float(rng.integers(2, 6)) * 1e6, f"s{i}") for i in range(4)]
    dec += [Decision(f"crossing:c{i}", "crossing", "b", float(rng.choice([0.6, 3.0, 12.0])) * 1e6, f"c{i}") for i in range(4)]
    p = Problem(dec, [(i,) for i in range(8)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 14e6)
    for k in range(int(rng.integers(3, 7))):
        entries: dict[int, set[int]] = {}
        for _ in range(int(rng.integers(2, 9))):
            r = rng.random()
            site = [int(rng.integers(0, 4))] if r < 0.85 else []
            crossings = [int(c) for c in rng.choice(range(4, 8), size=int(rng.integers(0, 3)), replace=False)]
            if r > 0.95:
                site = [0, 1]
            req = tuple(site + crossings) or (4,)
            entries.setdefault(int(rng.integers(10, 400)), set()).add(p.option_id(req))
        levels = tuple(sorted(entries))
        must = rng.random() < 0.2
        lopts = tuple(tuple(sorted(entries[lev])) for lev in levels)
        p.clients.append(Client(f"access:t:f{k}", "access", int(rng.integers(1, 40)), None if must else int(rng.integers(400, 700)),
                                levels, lopts))
        if must:
            allo = tuple(sorted({o for ls in lopts for o in ls}))
            p.constraints.append(Constraint(f"reach:{k}", tuple((o, 1) for o in allo), 1, None, f"reach:{k}"))
    p.clients.append(Client("pair:a|b", "pair", 5, 600, (250, 300), ((p.option_id((4, 5)),), (6,))))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 14_000_000, "budget"))
    p.constraints.append(Constraint("count_min:t", ((0, 1), (1, 1)), 1, None, "count_min:t"))
    p.constraints.append(Constraint("count_max:t", ((0, 1), (1, 1)), None, 2, "count_max:t"))
    return p


def _split_one_by_one(problem: Problem) -> list:
    """:func:`split_client` of every client that is not a pair, one at a time (the reference)."""
    out = [split_client(problem, k) for k, cl in enumerate(problem.clients) if cl.kind != "pair"]
    return [sc for sc in out if sc is not None]


@pytest.mark.parametrize("seed", range(40))
def test_split_clients_splits_every_client_as_split_client_does(seed):
    p = _access_problem(seed)
    got = split_clients(p)
    assert got == _split_one_by_one(p)
    if seed == 0:
        assert got, "the random problem should have walks to split"


def test_split_clients_keeps_a_sites_routes_up_to_its_first_option_alone_and_skips_two_site_walks():
    p = _two_labs()
    o01 = p.option_id((0, 1))
    late = p.option_id((1, 3))
    # lab 1 alone at 180 ends its chain; (1, 3) at the same length after it, and at 190, are never the shortest
    p.clients.append(Client("access:lab:g", "access", 2, 400, (100, 180, 190), ((0,), (1, late), (late,))))
    p.clients.append(Client("access:lab:h", "access", 2, 400, (100, 120), ((0,), (o01,))))  # two sites in an option
    got = split_clients(p)
    assert got == _split_one_by_one(p)
    assert [sc.index for sc in got] == [0, 2]
    assert got[1].chains[1] == SiteChain(1, (180,), (((),),))


def test_split_clients_of_a_client_whose_levels_and_options_differ_in_number_is_split_client_s():
    """A malformed client (two lengths, one list of options) must not shift the next client's options
    onto its levels: the flat arrays assume one list per length."""
    dec = [Decision(f"facility:t:{i}", "facility", "t", 1e6, f"s{i}") for i in range(3)]
    p = Problem(dec, [(i,) for i in range(3)], [], [], [], {}, 10, {"all": 1.0}, 14e6)
    p.clients.append(Client("a", "access", 3, 700, (10, 20), ((0,),)))
    p.clients.append(Client("b", "access", 3, 700, (30,), ((1,), (2,))))
    assert split_clients(p) == _split_one_by_one(p) == []


def _fixed_objective(problem: Problem, chosen: set[int]) -> int:
    """CP-SAT's optimum of the split model with the decisions fixed to ``chosen``."""
    return fixed_objective(problem, chosen, site_chains=True)


@pytest.mark.parametrize("seed", range(6))
def test_the_split_model_has_the_exact_objective_of_every_layout(seed):
    p = _access_problem(seed)
    assert split_clients(p), "the random problem should have walks to split"
    layouts = list(feasible_layouts(p))
    assert layouts
    for chosen in layouts[:: max(1, len(layouts) // 12)]:
        assert _fixed_objective(p, chosen) == p.objective_of(chosen), chosen


@pytest.mark.parametrize("seed", range(6))
def test_the_hint_is_complete_and_feasible(seed):
    p = _access_problem(seed)
    chosen = min(feasible_layouts(p), key=p.objective_of)
    parts = build_model(p, hint=hint_values(p, sorted(chosen)), site_chains=True)
    assert len(parts.model.proto.solution_hint.vars) == len(parts.model.proto.variables)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(parts.model) == cp_model.OPTIMAL
    assert round(solver.objective_value) == p.objective_of(chosen)


@pytest.mark.parametrize("site_chains", [True, False])
@pytest.mark.parametrize("seed", range(0, 24, 2))
def test_cpsat_finds_the_brute_force_optimum(seed, site_chains):
    p = _access_problem(seed)
    best = min((p.objective_of(s) for s in feasible_layouts(p)), default=None)
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, site_chains=site_chains))
    if best is None:
        assert not res.status.has_solution
    else:
        assert res.status == "optimal" and res.objective == best


@pytest.mark.slow  # the zoo's brute force: about 7 s a site
@pytest.mark.parametrize("name", ["corridor_facility", "facility_count_spacing", "existing_facility"])
def test_zoo_sites_with_facilities_give_the_brute_force_optimum(name):
    prep, (best_obj, _) = prepared_case(name)
    assert split_clients(prep.problem), f"{name} should have a walk to split"
    res = cpsat.solve(prep.problem, SolveOptions(time_limit_s=10, seed=0, workers=1, site_chains=True))
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best_obj, abs=len(prep.problem.clients) + 1)
