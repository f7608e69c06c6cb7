"""Why a problem is infeasible, in the planner's words (backend-neutral).

Every backend that finds a problem infeasible calls :func:`explain_infeasible`. It uses CP-SAT
internally (through :mod:`optimiser.solve.cpsat_model`, not the CP-SAT backend): every
constraint group gets an enforcement literal, CP-SAT's ``SufficientAssumptionsForInfeasibility``
gives a conflicting set of groups, and a deletion filter shrinks it to a minimal one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from fractions import Fraction

from optimiser.inputs.currency import exact_total, money_apart, money_text
from optimiser.model.constraints import money_scale, money_units
from optimiser.model.problem import Problem
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import CpModelParts, build_model, set_params

logger = logging.getLogger(__name__)


def _model_keeping(problem: Problem, keep: Collection[str]) -> CpModelParts:
    """The model with only the constraint groups in ``keep`` enforced (no objective)."""
    parts = build_model(problem, enforce_groups=True, objective=False)
    for g, lit in parts.group_literals.items():
        parts.model.add(lit == (1 if g in keep else 0))
    return parts


def _feasible_keeping(problem: Problem, keep: set[str], time_limit_s: float, seed: int) -> bool | None:
    """Whether the groups in ``keep`` can hold together (``None``: not decided in time)."""
    parts = _model_keeping(problem, keep)
    solver = cp_model.CpSolver()
    set_params(solver, time_limit_s, seed, 1)
    code = solver.solve(parts.model)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    if code == cp_model.INFEASIBLE:
        return False
    return None


def infeasible_core(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0) -> list[str]:
    """A minimal set of constraint groups that cannot all hold.

    Args:
        problem: an infeasible problem.
        time_limit_s: time limit of each CP-SAT call (wall seconds; deterministic limit derived
            from it).
        seed: CP-SAT's random seed.

    Returns:
        Group keys (``Problem.groups``); empty when CP-SAT does not prove infeasibility in time.
    """
    parts = build_model(problem, enforce_groups=True, objective=False)
    lits = parts.group_literals
    parts.model.add_assumptions(list(lits.values()))
    solver = cp_model.CpSolver()
    set_params(solver, time_limit_s, seed, 1)
    code = solver.solve(parts.model)
    if code != cp_model.INFEASIBLE:
        return []
    by_index = {v.index: g for g, v in lits.items()}
    core = [by_index[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in by_index]
    return _shrink(problem, core or list(lits), time_limit_s, seed)


def _shrink(problem: Problem, core: list[str], time_limit_s: float, seed: int) -> list[str]:
    """A minimal conflicting subset of the groups ``core``, which cannot all hold (deletion filter)."""
    i = 0
    while i < len(core) and len(core) > 1:
        trial = core[:i] + core[i + 1 :]
        if _feasible_keeping(problem, set(trial), time_limit_s, seed) is False:
            core = trial
        else:
            i += 1
    logger.debug("infeasible core: %s", core)
    return core


def limiting_groups(problem: Problem) -> set[str]:
    """The groups other than the budget that only limit what is built (at most so many, no two
    overlapping or too close, one alignment): building nothing meets them, so any requirement
    can be priced with them kept, and a priced layout is a real one."""
    asks = {c.group for c in problem.constraints
            if (c.lo is not None and c.lo > 0) or c.hi is None or c.hi < 0 or any(v < 0 for _, v in c.terms)}
    return {c.group for c in problem.constraints} - asks - {"budget"}


def min_cost_for(problem: Problem, groups: list[str], *, time_limit_s: float = 10.0,
                 seed: int = 0) -> tuple[Fraction, list[str]] | None:
    """Cheapest capital cost (in the problem's currency, the amounts as written added exactly) meeting ``groups`` and every limiting group
    (:func:`limiting_groups`: without them two facilities were priced on one site), and what it
    builds (decision labels); ``None`` when none is found in time or none exists."""
    parts = _model_keeping(problem, set(groups) | limiting_groups(problem))
    x = parts.x
    unit = money_scale([d.cost for d in problem.decisions])
    parts.model.minimize(sum(money_units(d.cost, unit) * x[i] for i, d in enumerate(problem.decisions)))
    solver = cp_model.CpSolver()
    set_params(solver, time_limit_s, seed, 1)
    code = solver.solve(parts.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    ids = [i for i, v in enumerate(x) if solver.value(v)]
    # the amounts as written, added exactly: the objective's units may be rounded up (money_units)
    cost = exact_total(problem.decisions[i].cost for i in ids)
    return cost, [problem.decisions[i].label for i in ids]


def explain_infeasible(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0) -> tuple[str, ...]:
    """Planner-facing sentences naming the requirements that conflict.

    Args:
        problem: an infeasible problem.
        time_limit_s: time limit of each CP-SAT call, wall seconds.
        seed: CP-SAT's random seed.

    Returns:
        One or more sentences, each requirement named once: one that cannot be met at all, the
        budget against the cheapest way to meet the others, or a sentence followed by one line
        per conflicting requirement.
    """
    core = infeasible_core(problem, time_limit_s=time_limit_s, seed=seed)
    if not core:
        return ("the requirements conflict, but no smaller conflicting set was found in time",)
    lines = []
    names = [problem.groups.get(g, g) for g in core]
    if len(core) == 1:
        lines.append(f"{names[0]} cannot be met on this site, whatever is built")
    elif "budget" in core:
        others = [g for g in core if g != "budget"]
        need = min_cost_for(problem, others, time_limit_s=time_limit_s, seed=seed)
        req = "; ".join(problem.groups.get(g, g) for g in others)
        if need is not None:
            cost, built = need
            budget_text, cost_text = money_apart(problem.budget, cost, problem.currency)
            lines.append(
                f"the budget ({budget_text}) is below "
                f"{cost_text}, the cheapest way to meet: {req}"
                + (f" (it needs {', '.join(built)})" if built else "")
            )
        elif _feasible_keeping(problem, set(others) | limiting_groups(problem), time_limit_s, seed) is False:
            # no real layout meets the others at any price: name that conflict, not a budget shortfall
            apart = _shrink(problem, sorted(set(others) | limiting_groups(problem)), time_limit_s, seed)
            lines.append(f"these {len(apart)} requirements cannot all hold together, whatever the budget:")
            lines.extend(f"conflicting requirement: {problem.groups.get(g, g)}" for g in apart)
        else:
            lines.append(f"the budget ({money_text(problem.budget, problem.currency)}) cannot pay for: {req}")
    else:  # the requirements one per line after the sentence (each said once)
        lines.append(f"these {len(names)} requirements cannot all hold together:")
        lines.extend(f"conflicting requirement: {n}" for n in names)
    logger.info("infeasible: %d conflicting requirement(s)", len(core))
    return tuple(lines)
