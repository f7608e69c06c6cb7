"""The CP-SAT model's radius levels (:mod:`optimiser.solve.cpsat_model`): levels of any clients
with the same options up to them share one variable ``u`` (``SHARE_LEVELS``), and every layout
keeps its exact objective, hinted or not, with or without the cover cuts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.solve import cpsat_model
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import build_model
from optimiser.solve.heuristic import Evaluator, hint_values
from tests.random_problems import feasible_layouts, fixed_objective, random_problem


def _three_clients() -> Problem:
    """c0 and c1 reach option 0 then option 1; c2 option 1 then option 0: the sets up to their
    levels are {0}, {0, 1} (c0, c1), {1}, {0, 1} (c2)."""
    dec = [Decision(f"crossing:d{i}", "crossing", "road", 1e6, f"d{i}") for i in range(2)]
    p = Problem(dec, [(0,), (1,)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2e6)
    p.clients.append(Client("c0", "pair", 3, 900, (100, 200), ((0,), (1,))))
    p.clients.append(Client("c1", "pair", 5, 800, (150, 300), ((0,), (1,))))
    p.clients.append(Client("c2", "pair", 7, 700, (50, 80), ((1,), (0,))))
    p.constraints.append(Constraint("budget", ((0, 1_000_000), (1, 1_000_000)), None, 1_000_000, "budget"))
    return p


def _level_vars(parts: cpsat_model.CpModelParts) -> dict[str, int]:
    """The model's level variables (named u...) and their objective coefficients."""
    proto = parts.model.proto
    coef = dict(zip(proto.objective.vars, proto.objective.coeffs))
    return {v.name: coef.get(i, 0) for i, v in enumerate(proto.variables) if v.name.startswith("u")}


def test_levels_with_the_same_options_up_to_them_share_one_variable():
    p = _three_clients()
    shared = _level_vars(build_model(p))
    # {0}: c0's and c1's first levels; {0, 1}: the second level of all three; {1}: c2's first
    assert shared == {"u0_0": 3 * 100 + 5 * 150, "u0_1": 3 * 700 + 5 * 500 + 7 * 620, "u2_0": 7 * 30}


def test_without_sharing_every_level_has_its_own_variable(monkeypatch):
    monkeypatch.setattr(cpsat_model, "SHARE_LEVELS", False)
    assert len(_level_vars(build_model(_three_clients()))) == 6


@pytest.mark.parametrize("share", [True, False])
def test_every_layout_keeps_its_objective_on_the_hand_made_problem(share, monkeypatch):
    monkeypatch.setattr(cpsat_model, "SHARE_LEVELS", share)
    p = _three_clients()
    for chosen in ({0}, {1}, set()):
        assert fixed_objective(p, chosen) == p.objective_of(chosen)


def _with_shared_routes(seed: int) -> Problem:
    """A random problem plus clients that reach the same options as others in other orders and
    at other lengths, so that many of their levels share a set of options."""
    p = random_problem(seed)
    rng = np.random.default_rng(1000 + seed)
    for k, cl in enumerate(list(p.clients)):
        if not cl.levels:
            continue
        opts = list(cl.level_options)
        if len(opts) > 1 and rng.random() < 0.5:
            opts[0], opts[1] = opts[1], opts[0]
        levels = tuple(int(v) + 7 * (k + 1) for v in cl.levels)
        base = None if cl.base is None else cl.base + 7 * (k + 1)
        p.clients.append(Client(f"{cl.key}-twin", "pair", int(rng.integers(1, 50)), base, levels, tuple(opts)))
    return p


@pytest.mark.parametrize("seed", range(6))
def test_shared_levels_give_every_layout_its_exact_objective(seed):
    p = _with_shared_routes(seed)
    layouts = list(feasible_layouts(p))
    assert layouts
    for chosen in itertools.islice(layouts, 0, None, max(1, len(layouts) // 6)):
        want = p.objective_of(chosen)
        assert fixed_objective(p, chosen) == want
        assert fixed_objective(p, chosen, cover_cuts=True, budget_cuts=True) == want


@pytest.mark.parametrize("seed", range(6))
def test_the_model_proves_the_brute_force_optimum_and_takes_a_layout_s_hint(seed):
    p = _with_shared_routes(seed)
    layouts = list(feasible_layouts(p))
    best = min(p.objective_of(c) for c in layouts)
    parts = build_model(p, budget_cuts=True)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(parts.model) == cp_model.OPTIMAL
    assert int(round(solver.objective_value)) == best
    # a layout's hint is a complete solution of the model with its exact objective
    chosen = max(layouts, key=len)
    hinted = build_model(p, hint=hint_values(p, tuple(sorted(chosen)), Evaluator(p)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(hinted.model) == cp_model.OPTIMAL
    assert int(round(solver.objective_value)) == p.objective_of(chosen)
