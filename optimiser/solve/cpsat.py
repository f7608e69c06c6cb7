"""OR-Tools CP-SAT backend (the default).

Reproducible with a fixed ``seed`` and ``workers=1``. Infeasible problems are explained
with assumption literals: every constraint group gets an enforcement literal, and CP-SAT's
``SufficientAssumptionsForInfeasibility`` gives a conflicting set, shrunk to a minimal one.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from optimiser.errors import SolverError
from optimiser.model.problem import Problem
from optimiser.solve.result import SolveResult, relative_gap

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
    cp_model.MODEL_INVALID: "unknown",
}


PRESOLVE_OFF_LEVELS = 2_000
"""Models with at least this many radius levels are solved without CP-SAT presolve."""

def build_model(problem: Problem, *, enforce_groups: bool = False, objective: bool = True, hint=None):
    """The CP-SAT model of a problem.

    ``hint``: :func:`optimiser.solve.heuristic.hint_values` of a feasible layout; every variable
    gets its value as a solution hint.

    Returns (model, x decision vars, option vars, {group: literal} when ``enforce_groups``).
    """
    m = cp_model.CpModel()
    LE = cp_model.LinearExpr
    x = [m.NewBoolVar(f"x{i}") for i in range(len(problem.decisions))]
    opt = list(x)
    for j in range(len(x), len(problem.options)):
        w = m.NewBoolVar(f"w{j}")
        m.AddBoolAnd([x[d] for d in problem.options[j]]).OnlyEnforceIf(w)
        opt.append(w)
    lits: dict[str, cp_model.IntVar] = {}

    def lit(group: str):
        if group not in lits:
            lits[group] = m.NewBoolVar(f"g[{group}]")
        return lits[group]

    for con in problem.constraints:
        expr = LE.weighted_sum([opt[o] for o, _ in con.terms], [c for _, c in con.terms])
        if con.lo is not None:
            ct = m.Add(expr >= con.lo)
            if enforce_groups:
                ct.OnlyEnforceIf(lit(con.group))
        if con.hi is not None:
            ct = m.Add(expr <= con.hi)
            if enforce_groups:
                ct.OnlyEnforceIf(lit(con.group))
    tvars: list = []
    tcoefs: list[int] = []
    const = problem.constant
    prev = None
    hint_vars: list[int] = []
    hint_vals: list[int] = []
    if hint is not None:
        hx, hov, hu, hunc = hint
        hint_vars += [v.Index() for v in opt]
        hint_vals += [int(v) for v in hov.tolist()]
        hu = hu.tolist()
    # u + sum(options at the level) >= previous u (1 at the first level)
    for j, (k, lev, step, opts) in enumerate(problem.level_terms()):
        u = m.NewBoolVar(f"u{k}_{lev}")
        if lev == 0:
            m.Add(LE.sum([u] + [opt[o] for o in opts]) >= 1)
        else:
            m.Add(LE.weighted_sum([u, prev] + [opt[o] for o in opts], [1, -1] + [1] * len(opts)) >= 0)
        if step > 0:
            tvars.append(u)
            tcoefs.append(step)
        if hint is not None:
            hint_vars.append(u.Index())
            hint_vals.append(int(hu[j]))
        prev = u
    for j, p in enumerate(problem.penalties):
        unc = m.NewBoolVar(f"p[{p.key}]")
        m.AddBoolOr([unc] + [opt[o] for o in p.options])
        tvars.append(unc)
        tcoefs.append(p.weight)
        if hint is not None:
            hint_vars.append(unc.Index())
            hint_vals.append(int(hunc[j]))
    if hint_vars:
        m.Proto().solution_hint.vars.extend(hint_vars)
        m.Proto().solution_hint.values.extend(hint_vals)
    if objective:
        m.Minimize(LE.weighted_sum(tvars, tcoefs) + const)
    return m, x, opt, lits


def _params(solver: cp_model.CpSolver, time_limit_s: float, seed: int, workers: int) -> None:
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)


def warm_start(problem: Problem, time_limit_s: float, starts=()):
    """(best layout or None, its exact objective or None, hint values or None, seconds).

    The best feasible layout of ``starts`` (layouts found elsewhere, e.g. by an earlier
    stage), or the greedy layout when none of them is feasible (the greedy takes seconds on
    the largest models, and an earlier stage's layout is the better start there)."""
    t = time.perf_counter()
    from optimiser.solve.heuristic import Evaluator, greedy_layout, hint_values

    try:
        ev = Evaluator(problem)
    except MemoryError:  # pragma: no cover - the solver may still manage
        return None, None, None, time.perf_counter() - t
    best, best_obj, best_hint = None, None, None

    def consider(cand) -> None:
        nonlocal best, best_obj, best_hint
        hint = hint_values(problem, cand, ev)
        if not ev.feasible(hint[0]):
            return
        obj = int(ev.objective(hint[0]))
        if best_obj is None or obj < best_obj:
            best, best_obj, best_hint = cand, obj, hint

    for cand in starts:
        consider(tuple(sorted(cand)))
    if best is None:
        try:
            layout = greedy_layout(problem, time_budget_s=max(0.5, min(10.0, 0.1 * time_limit_s)), evaluator=ev)
        except MemoryError:  # pragma: no cover - the solver may still manage
            layout = None
        if layout is not None:
            consider(layout)
    return best, best_obj, best_hint, time.perf_counter() - t


def solve(problem: Problem, *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1,
          use_hint: bool = True, starts=()) -> SolveResult:
    """Solve with CP-SAT; a time limit returns the incumbent with its gap.

    A greedy layout (:mod:`optimiser.solve.heuristic`), or the best feasible layout of ``starts``,
    is given to CP-SAT as a full solution hint; if CP-SAT finds nothing better within the
    limit, that layout is returned as "feasible" with CP-SAT's best bound (never as
    "optimal").
    """
    t0 = time.perf_counter()
    greedy, greedy_obj, hint, greedy_s = (None, None, None, 0.0)
    if use_hint:
        greedy, greedy_obj, hint, greedy_s = warm_start(problem, time_limit_s, starts)
    m, x, _, _ = build_model(problem, hint=hint)
    solver = cp_model.CpSolver()
    # the warm start counts against the limit, but CP-SAT keeps at least half of it
    _params(solver, max(time_limit_s - greedy_s, 0.5 * time_limit_s), seed, workers)
    n_levels = sum(len(c.levels) for c in problem.clients)
    if n_levels >= PRESOLVE_OFF_LEVELS:
        # measured on benchmarks/joint: presolve (probing, clause-to-exactly-one, dual rules)
        # takes most of a minute at 100 firms and gives nothing back; without it the LP
        # bound starts at once (50 firms: optimal in 5 s instead of 26 s; 100 firms: 8% gap
        # at 40 s instead of 14%)
        solver.parameters.cp_model_presolve = False
    code = solver.Solve(m)
    secs = time.perf_counter() - t0
    if code == cp_model.MODEL_INVALID:
        raise SolverError(f"CP-SAT rejected the model: {m.Validate()}")
    status = _STATUS.get(code, "unknown")
    stats = {"branches": solver.NumBranches(), "conflicts": solver.NumConflicts(), "wall_seconds": solver.WallTime(),
             "greedy_seconds": round(greedy_s, 3), "greedy_objective": greedy_obj}
    if status in ("optimal", "feasible"):
        obj = float(round(solver.ObjectiveValue()))
        bound = float(solver.BestObjectiveBound())
        if status == "optimal":
            bound = obj
        chosen = tuple(i for i, v in enumerate(x) if solver.Value(v))
        if status == "feasible" and greedy is not None and greedy_obj < problem.objective_of(set(chosen)):
            # the hint was better than what CP-SAT kept (it should not be, but never report worse)
            obj, chosen = float(greedy_obj), greedy
            stats["incumbent"] = "greedy"
        elif greedy is not None and tuple(chosen) == tuple(greedy):
            stats["incumbent"] = "greedy"  # CP-SAT kept the hinted layout
        else:
            stats["incumbent"] = "cpsat"
        gap = relative_gap(obj, bound)
        msg = "proven optimal" if status == "optimal" else f"time limit reached; gap {100 * (gap or 0):.2f}%"
        return SolveResult(status, obj, bound, gap, secs, "cpsat", seed, chosen, (), msg, stats)
    if status == "infeasible":
        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, time_limit_s / 2), seed=seed)
        return SolveResult("infeasible", None, None, None, time.perf_counter() - t0, "cpsat", seed, (), conflicts,
                           "no layout meets every requirement", stats)
    bound = float(solver.BestObjectiveBound())
    if greedy is not None:
        # the objective is the constant plus non-negative terms, so the constant is a valid bound
        bound = min(float(greedy_obj), max(bound if math.isfinite(bound) else -math.inf, float(problem.constant)))
        gap = relative_gap(float(greedy_obj), bound)
        stats["incumbent"] = "greedy"
        return SolveResult("feasible", float(greedy_obj), bound, gap, secs, "cpsat", seed, greedy, (),
                           f"time limit reached before CP-SAT found a solution; greedy layout, gap {100 * (gap or 0):.2f}%",
                           stats)
    return SolveResult("unknown", None, bound, None, secs, "cpsat", seed, (), (), "no solution found within the time limit",
                       stats)


def _model_keeping(problem: Problem, keep: set[str] | list[str]):
    """The model with only the constraint groups in ``keep`` enforced; (model, decision vars)."""
    m, x, _, lits = build_model(problem, enforce_groups=True, objective=False)
    for g, lit in lits.items():
        m.Add(lit == (1 if g in keep else 0))
    return m, x


def _feasible_keeping(problem: Problem, keep: set[str], time_limit_s: float, seed: int) -> bool | None:
    """Whether the groups in ``keep`` can hold together (None: not decided in time)."""
    m, _ = _model_keeping(problem, keep)
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
    i = 0
    while i < len(core) and len(core) > 1:
        trial = core[:i] + core[i + 1 :]
        res = _feasible_keeping(problem, set(trial), time_limit_s, seed)
        if res is False:
            core = trial
        else:
            i += 1
    return core


def min_cost_for(problem: Problem, groups: list[str], *, time_limit_s: float = 10.0, seed: int = 0) -> tuple[float, list[str]] | None:
    """Cheapest capital cost (GBP) meeting ``groups`` alone, and what it builds."""
    m, x = _model_keeping(problem, groups)
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
