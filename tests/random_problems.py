"""Small problems for the model, heuristic and Lagrangian tests: random ones with conjunctions,
must-serve clients, penalties, counts and spacing; a hand-made budget knapsack; every feasible
layout of a problem by brute force; and CP-SAT's objective of a model with a layout fixed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from optimiser.model.problem import Client, Constraint, Decision, Penalty, Problem
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import build_model


def random_problem(seed: int, n_dec: int = 8) -> Problem:
    rng = np.random.default_rng(seed)
    dec = [Decision(f"d{i}", "crossing" if i % 2 else "facility", "g", float(rng.integers(1, 10)) * 1e5, f"d{i}")
           for i in range(n_dec)]
    p = Problem(dec, [(i,) for i in range(n_dec)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2.5e6)
    for k in range(int(rng.integers(4, 12))):
        n_lev = int(rng.integers(0, 4))
        levels = sorted(set(int(v) for v in rng.integers(10, 500, size=n_lev)))
        lopts = []
        for _ in levels:
            opts = set()
            for _ in range(int(rng.integers(1, 3))):
                req = tuple(int(d) for d in rng.choice(n_dec, size=int(rng.integers(1, 3)), replace=False))
                opts.add(p.option_id(req))
            lopts.append(tuple(sorted(opts)))
        must = levels and rng.random() < 0.15
        base = None if must else int(rng.integers(500, 900))
        p.clients.append(Client(f"c{k}", "pair", int(rng.integers(1, 50)), base, tuple(levels), tuple(lopts)))
        if must:
            allo = tuple(sorted({o for ls in lopts for o in ls}))
            p.constraints.append(Constraint(f"reach:c{k}", tuple((o, 1) for o in allo), 1, None, f"reach:c{k}"))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, int(2.5e6), "budget"))
    if rng.random() < 0.5:
        ids = list(range(0, n_dec, 2))
        p.constraints.append(Constraint("count_min:f", tuple((i, 1) for i in ids), 1, None, "count_min:f"))
        p.constraints.append(Constraint("count_max:f", tuple((i, 1) for i in ids), None, 2, "count_max:f"))
    if rng.random() < 0.5:
        p.constraints.append(Constraint("spacing", ((0, 1), (2, 1)), None, 1, "spacing"))
    if rng.random() < 0.5:
        o = p.option_id((1, int(rng.integers(2, n_dec))))
        p.penalties.append(Penalty("pen", int(rng.integers(100, 5000)), (o, 3)))
    return p


def knapsack_problem() -> Problem:
    """Three 5m footbridges (ids 0-2) and two 3m signals (ids 3-4), budget 10m, one walk per
    crossing. Feasible counts (footbridges, signals): (0, 0-2), (1, 0-1), (2, 0); the maximal ones
    (2, 0), (1, 1), (0, 2); their hull's one non-bound facet is footbridges + signals <= 2, which cuts
    the LP point 1.4 footbridges + 1 signal (10m)."""
    dec = [Decision(f"crossing:fb{i}", "crossing", "road", 5e6, f"fb{i}") for i in range(3)]
    dec += [Decision(f"crossing:sig{i}", "crossing", "road", 3e6, f"sig{i}") for i in range(2)]
    p = Problem(dec, [(i,) for i in range(5)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 10e6)
    for i in range(5):
        p.clients.append(Client(f"walk{i}", "pair", 10 + i, 900, (100 + 10 * i,), ((i,),)))
    p.constraints.append(Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, 10_000_000, "budget"))
    return p


def exact_objective(p: Problem, chosen: set[int], weights: list[float], penalty_weights: list[float]) -> float:
    """The objective of ``chosen`` with real-valued client and penalty weights in place of the
    problem's integer ones (the rounding tests' exact answer)."""
    open_opts = p.open_options(chosen)
    total = 0.0
    for c, wc in zip(p.clients, weights):
        length = c.length(open_opts)
        total += wc * (length if length is not None else (c.levels[-1] if c.levels else 0))
    return total + sum(wq for q, wq in zip(p.penalties, penalty_weights) if not any(o in open_opts for o in q.options))


def feasible_layouts(problem: Problem) -> Iterator[set[int]]:
    """Every feasible layout (the set of chosen decision ids) of a small problem, by brute force."""
    n = len(problem.decisions)
    for r in range(n + 1):
        for s in itertools.combinations(range(n), r):
            if problem.is_feasible(set(s)):
                yield set(s)


def fixed_objective(problem: Problem, chosen: set[int], **model_options: bool) -> int:
    """CP-SAT's optimum of ``build_model(problem, **model_options)`` with the decisions fixed to
    ``chosen`` (one worker): a model's formulation must give every layout its exact objective."""
    parts = build_model(problem, **model_options)
    for i, v in enumerate(parts.x):
        parts.model.add(v == int(i in chosen))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(parts.model) == cp_model.OPTIMAL
    return int(round(solver.objective_value))
