"""The radius levels grouped with numpy (:mod:`optimiser.solve.cpsat_levels`) give the model the
per-level loop (``cpsat_model._add_levels``) gives: the same proto, byte for byte (the loop is the
oracle; ``tests/test_cpsat_rows.py`` also compares both with the ``CpModel`` API's build)."""

from __future__ import annotations

import pytest

from optimiser.model.problem import Client, Decision, Problem
from optimiser.pipeline import prepare
from optimiser.solve import cpsat_model
from optimiser.solve.cpsat_model import _objective_terms, build_model
from optimiser.solve.heuristic import greedy_layout, hint_values
from tests.random_problems import random_problem
from tests.zoo_cases import CASES


def _both(problem: Problem, monkeypatch: pytest.MonkeyPatch, **kw) -> tuple[str, str]:
    """The proto built with the grouped levels (the per-level loop then must not run, cover cuts or
    not) and with the per-level loop alone."""
    loop = cpsat_model._add_levels

    def no_loop(*a):
        raise AssertionError("the grouped levels fell back to the per-level loop")

    monkeypatch.setattr(cpsat_model, "_add_levels", no_loop)
    grouped = str(build_model(problem, **kw).model.proto)
    monkeypatch.setattr(cpsat_model, "_add_levels", loop)
    monkeypatch.setattr(cpsat_model, "level_groups", lambda *a: None)
    looped = str(build_model(problem, **kw).model.proto)
    monkeypatch.undo()
    return grouped, looped


def _shared_levels_problem() -> Problem:
    """Clients whose levels share sets of options (in another order, an option met again at a later
    level or twice at one level), a must-serve client and one without levels."""
    dec = [Decision(f"d{i}", "crossing" if i % 2 else "facility", "g", 1e5, f"d{i}") for i in range(6)]
    p = Problem(dec, [(i,) for i in range(6)], [], [], [], {}, 10, {"all": 1.0}, 1e6)
    both = p.option_id((1, 2))
    p.clients += [
        Client("a", "pair", 3, 900, (10, 20, 30), ((0,), (1, both), (2,))),
        Client("b", "pair", 5, 800, (15, 25, 35), ((1, 0), (both,), (2, 0))),  # {0,1}, {0,1,both}, {0,1,2,both}
        Client("c", "pair", 7, None, (5, 40), ((0, 1), (both, 2))),
        Client("d", "pair", 2, 700, (), ()),
        Client("e", "pair", 4, 600, (50, 60), ((3, 3), (3, 4))),
    ]
    return p


@pytest.mark.parametrize("seed", range(10))
def test_random_problems_group_their_levels_as_the_loop_does(seed, monkeypatch):
    problem = random_problem(seed)
    hint = hint_values(problem, greedy_layout(problem)) if problem.is_feasible(set()) else None
    for kw in ({}, {"site_chains": True}, {"hint": hint}, {"cover_cuts": True}, {"cover_cuts": True, "hint": hint}):
        grouped, looped = _both(problem, monkeypatch, **kw)
        assert grouped == looped


def test_levels_with_shared_and_repeated_options_group_as_the_loop_does(monkeypatch):
    grouped, looped = _both(_shared_levels_problem(), monkeypatch)
    assert grouped == looped
    # a: {0}, {0,1,both}, {0,1,2,both}; b: {0,1} new, then a's two; c: b's {0,1}, a's last; e: {3}, {3,4}
    assert grouped.count('name: "u') == 6


@pytest.mark.parametrize("name", sorted(CASES)[:6])
def test_zoo_cases_group_their_levels_as_the_loop_does(name, monkeypatch):
    problem = prepare(CASES[name]()).problem
    hint = hint_values(problem, greedy_layout(problem)) if problem.is_feasible(set()) else None
    for kw in ({"site_chains": True, "budget_cuts": True, "hint": hint}, {}):
        grouped, looped = _both(problem, monkeypatch, **kw)
        assert grouped == looped


def test_the_amp_sbp_default_with_cover_cuts_on_shared_levels_groups_as_the_loop_does(monkeypatch):
    """Cover rows of levels that share another client's u (written once per u and decisions)."""
    from optimiser.inputs.scenario import read_scenario
    from optimiser.model.cover_cuts import barrier_cover_cuts
    from optimiser.solve.cpsat_levels import level_groups

    problem = prepare(read_scenario(None)).problem
    groups = level_groups(problem, set())
    assert groups is not None
    shared = set(zip(groups.client[groups.levels[~groups.new]].tolist(),
                     groups.level_in_client[groups.levels[~groups.new]].tolist()))
    assert sum((c.client, c.level) in shared for c in barrier_cover_cuts(problem)) > 100
    grouped, looped = _both(problem, monkeypatch, cover_cuts=True, hint=hint_values(problem, greedy_layout(problem)))
    assert grouped == looped


def _dict_terms(tindex, tcoefs):
    merged: dict[int, int] = {}
    for v, c in zip(tindex, tcoefs):
        merged[v] = merged.get(v, 0) + int(c)
    terms = sorted((v, c) for v, c in merged.items() if c != 0)
    return [v for v, _ in terms], [c for _, c in terms]


@pytest.mark.parametrize("tindex, tcoefs", [
    ([5, 2, 9, 0], [3, 0, -4, 7]),  # each once, a zero dropped
    ([5, 2, 5, 0], [3, 1, -3, 7]),  # a repeated variable merged (to zero: dropped)
    ([3, 1], [1 << 70, 2]),  # a coefficient past 64 bits
    ([], []),
])
def test_the_objective_terms_are_minimizes_normal_form(tindex, tcoefs):
    assert _objective_terms(tindex, tcoefs) == _dict_terms(tindex, tcoefs)
