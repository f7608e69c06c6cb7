"""Options over the budget: left out by :func:`add_clients` for the clients with a base while the
problem is built (a tight budget: most options of two crossings), and dropped by
:func:`reduce_clients` from whatever is left; the same problem as building every option and
reducing afterwards. Those of the pair and access walks are never created (the route options'
:class:`~optimiser.network.routes.CostCap`): the options left keep their order. Also
:meth:`Problem.open_options`."""

from __future__ import annotations

import numpy as np
import pytest

import optimiser.model.build as build
from optimiser.inputs.scenario import read_scenario
from optimiser.model.clients import add_clients
from optimiser.model.problem import ClientKey, Constraint, Decision, Problem
from optimiser.model.transforms import reduce_clients
from optimiser.pipeline import prepare


def _problem(costs: list[float]) -> Problem:
    dec = [Decision(f"d{i}", "crossing", "g", c, f"d{i}") for i, c in enumerate(costs)]
    return Problem(dec, [(i,) for i in range(len(costs))], [], [], [], {}, 10, {"all": 1.0}, 10.0)


def _entries():
    """Three clients: 0 and 2 with a base, 1 must be served (no base). Rows: decisions, -1 none."""
    e_client = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    e_len_m = np.array([1.0, 2.0, 2.0, 3.0, 1.0, 4.0, 1.0, 5.0])
    e_req = np.array([[0, 1], [2, -1], [0, 2], [1, -1], [0, 1], [2, -1], [1, 2], [1, 2]], dtype=np.int32)
    return e_client, e_len_m, e_req


def test_a_client_with_a_base_leaves_out_the_options_over_the_budget() -> None:
    # costs 6 + 5 = 11 and 6 + 4 = 10 are over a budget of 9; 5 + 4 = 9 fits; each alone fits
    keys = [ClientKey.pair("a", "b"), ClientKey.pair("a", "c"), ClientKey.pair("b", "c")]
    budget = Constraint("budget", ((0, 6), (1, 5), (2, 4)), None, 9, "budget")
    p = _problem([6, 5, 4])
    add_clients(p, keys, "pair", np.array([1, 1, 1]), [100, None, 100], *_entries(), 10, budget=budget)
    o01, o02, o12 = p.options.index((0, 1)), p.options.index((0, 2)), p.options.index((1, 2))
    by_key = {c.key: c for c in p.clients}
    # client 0: (0, 1) at 10 and (0, 2) at 20 are over; 2 at 20 and 1 at 30 stay
    assert by_key[keys[0]].levels == (20, 30) and by_key[keys[0]].level_options == ((2,), (1,))
    # client 1 has no base: it keeps its option over the budget (its reach constraint names it)
    assert by_key[keys[1]].levels == (10, 40) and by_key[keys[1]].level_options == ((o01,), (2,))
    assert any(c.group.startswith("reach:") and (o01, 1) in c.terms for c in p.constraints)
    # client 2: (1, 2) costs 9, within the budget
    assert by_key[keys[2]].levels == (10, 50) and by_key[keys[2]].level_options == ((o12,), (o12,))
    assert o02 < len(p.options)  # created all the same: the options are numbered as without the budget

    plain = _problem([6, 5, 4])  # every option built, the budget's options dropped afterwards
    add_clients(plain, keys, "pair", np.array([1, 1, 1]), [100, None, 100], *_entries(), 10)
    plain.constraints.append(budget)
    p.constraints.append(budget)
    assert reduce_clients(plain) == {"options_over_budget": 2, "merged_clients": 0}
    assert reduce_clients(p) == {"options_over_budget": 2, "merged_clients": 0}
    assert plain.options == p.options and plain.clients == p.clients and plain.constraints == p.constraints


@pytest.mark.parametrize("name", ["constraints/amp_sbp/tight_budget.yaml", "constraints/amp_sbp/baseline.yaml"])
def test_the_build_is_the_one_that_reduces_afterwards(name: str, monkeypatch) -> None:
    seen: list[int] = []
    real = build.reduce_clients

    def check(problem: Problem) -> dict[str, int]:  # what add_clients left for reduce_clients
        row = next((c for c in problem.constraints if c.key == "budget"), None)
        cost = dict(row.terms) if row is not None else {}
        seen.append(sum(1 for c in problem.clients if c.base is not None for opts in c.level_options for o in opts
                        if row is not None and sum(cost.get(d, 0) for d in problem.options[o]) > row.hi))
        return real(problem)

    monkeypatch.setattr(build, "reduce_clients", check)
    sc = read_scenario(name)
    fast = prepare(sc).problem
    monkeypatch.setattr(build, "budget_row", lambda problem, budget: None)  # add_clients keeps them all
    slow = prepare(sc).problem
    assert seen[0] == 0 and (seen[1] > 0) == ("tight" in name)
    # counted among the options created: the capped route options are not
    assert fast.info["options_over_budget"] <= slow.info["options_over_budget"]
    assert ("tight" in name) == (slow.info["options_over_budget"] > 0)
    assert _by_decisions(fast) == _by_decisions(slow)
    assert fast.n_levels() == slow.n_levels() > 0
    # the options over the budget of the clients with a base are not even created (route options
    # capped: routes.CostCap); the ones created keep their order
    assert (len(fast.options) < len(slow.options)) == ("tight" in name)
    if "tight" in name:
        row = next(c for c in fast.constraints if c.key == "budget")
        cost = dict(row.terms)
        over = [o for o in fast.options[len(fast.decisions):] if sum(cost.get(d, 0) for d in o) > row.hi]
        must = {fast.options[o] for c in fast.clients if c.base is None for lv in c.level_options for o in lv}
        assert set(over) <= must | {o for c in fast.constraints if c.key != "budget" for o in
                                    (fast.options[i] for i, _ in c.terms)}


def _by_decisions(p: Problem) -> tuple:
    """The problem with each option id replaced by its decisions, and the referenced options in id
    order (equal for two builds that number the same options in the same order, gaps aside)."""
    o = p.options
    ref = sorted({i for c in p.clients for lv in c.level_options for i in lv}
                 | {i for c in p.constraints for i, _ in c.terms} | {i for q in p.penalties for i in q.options})
    return ([(c.key, c.kind, c.weight, c.base, c.levels, [[o[i] for i in lv] for lv in c.level_options]) for c in p.clients],
            [(c.key, [(o[i], v) for i, v in c.terms], c.lo, c.hi, c.group) for c in p.constraints],
            [(q.key, q.weight, [o[i] for i in q.options]) for q in p.penalties], [o[i] for i in ref], p.decisions)


@pytest.mark.parametrize("seed", range(5))
def test_open_options_are_those_with_every_decision_chosen(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = _problem([1.0] * 9)
    for _ in range(40):
        p.option_id(tuple(sorted(set(rng.integers(0, 9, int(rng.integers(2, 4))).tolist()))))
    for _ in range(20):
        chosen = set(rng.integers(-2, 11, int(rng.integers(0, 8))).tolist())  # ids outside the problem too
        want = {i for i, req in enumerate(p.options) if all(d in chosen for d in req)}
        assert p.open_options(chosen) == want
    assert p.open_options(set()) == set() and p.open_options(set(range(9))) == set(range(len(p.options)))
