"""OR-Tools CP-SAT backend (the default).

Reproducible with a fixed ``seed`` and ``workers=1``. Infeasible problems are explained
with assumption literals: every constraint group gets an enforcement literal, and CP-SAT's
``SufficientAssumptionsForInfeasibility`` gives a conflicting set, shrunk to a minimal one.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from optimiser.errors import SolverError
from optimiser.problem import Problem
from optimiser.result import SolveResult, relative_gap

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
    cp_model.MODEL_INVALID: "unknown",
}


def build_model(problem: Problem, *, enforce_groups: bool = False, skip_groups: frozenset[str] = frozenset(),
                objective: bool = True, cap: int | None = None):
    """The CP-SAT model of a problem.

    With ``cap``, the walking objective is constrained to at most ``cap`` and the capital
    cost is minimised instead.

    Returns (model, x decision vars, option vars, {group: literal} when ``enforce_groups``).
    """
    m = cp_model.CpModel()
    x = [m.NewBoolVar(f"x{i}") for i in range(len(problem.decisions))]
    opt = list(x)
    for j in range(len(x), len(problem.options)):
        w = m.NewBoolVar(f"w{j}")
        for d in problem.options[j]:
            m.AddImplication(w, x[d])
        opt.append(w)
    lits: dict[str, cp_model.IntVar] = {}

    def lit(group: str):
        if group not in lits:
            lits[group] = m.NewBoolVar(f"g[{group}]")
        return lits[group]

    for con in problem.constraints:
        if con.group in skip_groups:
            continue
        expr = sum(c * opt[o] for o, c in con.terms) if con.terms else 0
        if con.lo is not None:
            ct = m.Add(expr >= con.lo)
            if enforce_groups:
                ct.OnlyEnforceIf(lit(con.group))
        if con.hi is not None:
            ct = m.Add(expr <= con.hi)
            if enforce_groups:
                ct.OnlyEnforceIf(lit(con.group))
    terms = []
    const = problem.constant
    prev = None
    for k, lev, step, opts in problem.level_terms():
        u = m.NewBoolVar(f"u{k}_{lev}")
        m.Add(u + sum(opt[o] for o in opts) >= (1 if lev == 0 else prev))
        if step > 0:
            terms.append(step * u)
        prev = u
    for p in problem.penalties:
        unc = m.NewBoolVar(f"p[{p.key}]")
        m.Add(unc + sum(opt[o] for o in p.options) >= 1)
        terms.append(p.weight * unc)
    if cap is not None:
        m.Add(sum(terms) + const <= cap)
        m.Minimize(sum(int(round(d.cost_gbp)) * x[i] for i, d in enumerate(problem.decisions)))
    elif objective:
        m.Minimize(sum(terms) + const)
    return m, x, opt, lits


def _params(solver: cp_model.CpSolver, time_limit_s: float, seed: int, workers: int) -> None:
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)


def solve(problem: Problem, *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1) -> SolveResult:
    """Solve with CP-SAT; a time limit returns the incumbent with its gap."""
    t0 = time.perf_counter()
    m, x, _, _ = build_model(problem)
    solver = cp_model.CpSolver()
    _params(solver, time_limit_s, seed, workers)
    code = solver.Solve(m)
    secs = time.perf_counter() - t0
    if code == cp_model.MODEL_INVALID:
        raise SolverError(f"CP-SAT rejected the model: {m.Validate()}")
    status = _STATUS.get(code, "unknown")
    stats = {"branches": solver.NumBranches(), "conflicts": solver.NumConflicts(), "wall_seconds": solver.WallTime()}
    if status in ("optimal", "feasible"):
        obj = float(round(solver.ObjectiveValue()))
        bound = float(solver.BestObjectiveBound())
        if status == "optimal":
            bound = obj
        chosen = tuple(i for i, v in enumerate(x) if solver.Value(v))
        gap = relative_gap(obj, bound)
        msg = "proven optimal" if status == "optimal" else f"time limit reached; gap {100 * (gap or 0):.2f}%"
        return SolveResult(status, obj, bound, gap, secs, "cpsat", seed, chosen, (), msg, stats)
    if status == "infeasible":
        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, time_limit_s / 2), seed=seed)
        return SolveResult("infeasible", None, None, None, time.perf_counter() - t0, "cpsat", seed, (), conflicts,
                           "no layout meets every requirement", stats)
    return SolveResult("unknown", None, float(solver.BestObjectiveBound()) if code != cp_model.MODEL_INVALID else None,
                       None, secs, "cpsat", seed, (), (), "no solution found within the time limit", stats)


def _feasible_without(problem: Problem, groups: list[str], keep: set[str], time_limit_s: float, seed: int) -> bool | None:
    m, _, _, lits = build_model(problem, enforce_groups=True, objective=False)
    for g, lit in lits.items():
        m.Add(lit == (1 if g in keep else 0))
    solver = cp_model.CpSolver()
    _params(solver, time_limit_s, seed, 1)
    code = solver.Solve(m)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    if code == cp_model.INFEASIBLE:
        return False
    return None


def infeasible_core(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0) -> list[str]:
    """A minimal set of constraint groups that cannot all hold (deletion filter on the
    assumption core CP-SAT reports)."""
    m, _, _, lits = build_model(problem, enforce_groups=True, objective=False)
    m.AddAssumptions(list(lits.values()))
    solver = cp_model.CpSolver()
    _params(solver, time_limit_s, seed, 1)
    code = solver.Solve(m)
    if code != cp_model.INFEASIBLE:
        return []
    by_index = {v.Index(): g for g, v in lits.items()}
    core = [by_index[i] for i in solver.SufficientAssumptionsForInfeasibility() if i in by_index]
    if not core:
        core = list(lits)
    # shrink to a minimal conflicting set
    groups = list(lits)
    i = 0
    while i < len(core) and len(core) > 1:
        trial = core[:i] + core[i + 1 :]
        res = _feasible_without(problem, groups, set(trial), time_limit_s, seed)
        if res is False:
            core = trial
        else:
            i += 1
    return core


def min_cost_for(problem: Problem, groups: list[str], *, time_limit_s: float = 10.0, seed: int = 0) -> tuple[float, list[str]] | None:
    """Cheapest capital cost (GBP) meeting ``groups`` alone, and what it builds."""
    m, x, _, lits = build_model(problem, enforce_groups=True, objective=False)
    for g, lit in lits.items():
        m.Add(lit == (1 if g in groups else 0))
    m.Minimize(sum(int(round(d.cost_gbp)) * x[i] for i, d in enumerate(problem.decisions)))
    solver = cp_model.CpSolver()
    _params(solver, time_limit_s, seed, 1)
    code = solver.Solve(m)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = [problem.decisions[i].label for i, v in enumerate(x) if solver.Value(v)]
    return float(solver.ObjectiveValue()), chosen


def explain_infeasible(problem: Problem, *, time_limit_s: float = 10.0, seed: int = 0) -> tuple[str, ...]:
    """Planner-facing sentences naming the requirements that conflict."""
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
            lines.append(
                f"the budget (£{problem.budget_gbp:,.0f}) is below £{cost:,.0f}, the cheapest way to meet: {req}"
                + (f" (it needs {', '.join(built)})" if built else "")
            )
        else:
            lines.append(f"the budget (£{problem.budget_gbp:,.0f}) cannot pay for: {req}")
    else:
        lines.append("these requirements cannot all hold together: " + "; ".join(names))
    for g, n in zip(core, names):
        lines.append(f"conflicting requirement: {n}")
    return tuple(lines)
