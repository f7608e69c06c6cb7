"""PuLP / CBC backend (the second backend; CBC runs as a subprocess).

Same integer problem as CP-SAT: binary decisions and options, continuous level variables
u in [0, 1] (integral at any integer point of the decisions), the same objective.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import pulp

from optimiser.errors import SolverError
from optimiser.model.problem import Problem
from optimiser.solve.result import SolveResult, relative_gap


def build_model(problem: Problem) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The PuLP model of a problem; returns (model, decision variables)."""
    lp = pulp.LpProblem("siteopt", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{i}", cat=pulp.LpBinary) for i in range(len(problem.decisions))]
    opt = list(x)
    for j in range(len(x), len(problem.options)):
        w = pulp.LpVariable(f"w{j}", lowBound=0, upBound=1)
        for d in problem.options[j]:
            lp += w <= x[d], f"conj{j}_{d}"
        opt.append(w)
    for k, con in enumerate(problem.constraints):
        expr = pulp.lpSum(c * opt[o] for o, c in con.terms)
        if con.lo is not None:
            lp += expr >= con.lo, f"c{k}lo"
        if con.hi is not None:
            lp += expr <= con.hi, f"c{k}hi"
    terms = []
    const = problem.constant
    prev = None
    for k, lev, step, opts in problem.level_terms():
        u = pulp.LpVariable(f"u{k}_{lev}", lowBound=0, upBound=1)
        lp += (u + pulp.lpSum(opt[o] for o in opts) >= (1 if lev == 0 else prev)), f"lv{k}_{lev}"
        if step > 0:
            terms.append(step * u)
        prev = u
    for k, p in enumerate(problem.penalties):
        unc = pulp.LpVariable(f"p{k}", lowBound=0, upBound=1)
        lp += unc + pulp.lpSum(opt[o] for o in p.options) >= 1, f"pen{k}"
        terms.append(p.weight * unc)
    lp += pulp.lpSum(terms) + const
    return lp, x


def _bound_from_log(text: str) -> float | None:
    for pat in (r"Lower bound:\s*([-0-9.eE+]+)", r"Best possible:\s*([-0-9.eE+]+)"):
        m = re.search(pat, text)
        if m:
            return float(m.group(1))
    return None


def _set_warm_start(problem: Problem, lp: pulp.LpProblem, hint) -> None:
    """Initial values for every variable (names as in :func:`build_model`)."""
    hx, hov, hu, hunc = hint
    v = lp.variablesDict()
    for j, val in enumerate(hov.tolist()):
        name = f"x{j}" if j < len(problem.decisions) else f"w{j}"
        if name in v:
            v[name].setInitialValue(int(val))
    for j, (k, lev, _, _) in enumerate(problem.level_terms()):
        name = f"u{k}_{lev}"
        if name in v:
            v[name].setInitialValue(int(hu[j]))
    for k, val in enumerate(hunc.tolist()):
        if f"p{k}" in v:
            v[f"p{k}"].setInitialValue(int(val))


def solve(problem: Problem, *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1,
          use_hint: bool = True, starts=()) -> SolveResult:
    """Solve with CBC; a time limit returns the incumbent with the bound CBC reports.
    Among layouts with the same walking objective, the cheapest is returned. A greedy
    layout (or the best feasible one of ``starts``) is passed as a MIP start, and returned
    ("feasible") if CBC finds nothing."""
    t0 = time.perf_counter()
    greedy, greedy_obj, hint, greedy_s = (None, None, None, 0.0)
    if use_hint:
        from optimiser.solve.cpsat import warm_start

        greedy, greedy_obj, hint, greedy_s = warm_start(problem, time_limit_s, starts)
    lp, x = build_model(problem)
    if hint is not None:
        _set_warm_start(problem, lp, hint)
    fd, log_path = tempfile.mkstemp(prefix="siteopt-cbc-", suffix=".log")
    os.close(fd)
    try:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(max(time_limit_s - greedy_s, 0.5 * time_limit_s)),
                                threads=int(workers), warmStart=hint is not None,
                                options=[f"randomSeed {int(seed) + 1}", "randomCbcSeed 1"], logPath=log_path)
        try:
            lp.solve(cmd)
        except pulp.PulpSolverError as exc:  # pragma: no cover - binary missing / crashed
            raise SolverError(f"CBC failed: {exc}") from exc
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
    finally:
        os.unlink(log_path)
    secs = time.perf_counter() - t0
    st = pulp.LpStatus[lp.status]
    sol = lp.sol_status
    if st == "Infeasible":
        from optimiser.solve.cpsat import explain_infeasible

        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, time_limit_s / 2), seed=seed)
        return SolveResult("infeasible", None, None, None, secs, "cbc", seed, (), conflicts, "no layout meets every requirement")
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and st == "Optimal":
        val = pulp.value(lp.objective)
        obj = float(round(val)) if val is not None else float(problem.objective_of(set()))  # constant objective
        chosen = tuple(i for i, v in enumerate(x) if (v.value() or 0) > 0.5)
        if sol == pulp.LpSolutionOptimal and "Stopped on time" not in log:
            return SolveResult("optimal", obj, obj, 0.0, secs, "cbc", seed, chosen, (), "proven optimal")
        bound = _bound_from_log(log)
        if greedy is not None and greedy_obj < problem.objective_of(set(chosen)):
            obj, chosen = float(greedy_obj), greedy  # never report worse than the MIP start
        gap = relative_gap(obj, bound)
        return SolveResult("feasible", obj, bound, gap, secs, "cbc", seed, chosen, (),
                           "time limit reached" + (f"; gap {100 * gap:.2f}%" if gap is not None else "; no bound reported"))
    bound = _bound_from_log(log)
    if greedy is not None:
        bound = min(float(greedy_obj), max(bound if bound is not None else float(problem.constant), float(problem.constant)))
        gap = relative_gap(float(greedy_obj), bound)
        return SolveResult("feasible", float(greedy_obj), bound, gap, secs, "cbc", seed, greedy, (),
                           f"CBC found no solution in time; greedy layout, gap {100 * (gap or 0):.2f}%",
                           {"incumbent": "greedy"})
    return SolveResult("unknown", None, bound, None, secs, "cbc", seed, (), (), f"CBC status {st}: no solution")
