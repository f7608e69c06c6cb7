"""PuLP / CBC backend (the second backend; CBC runs as a subprocess).

Same integer problem as CP-SAT: binary decisions and options, continuous level variables
u in [0, 1] (integral at any integer point of the decisions), the same objective.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable

import pulp

from optimiser import progress
from optimiser.errors import SolverError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.explain import explain_infeasible
from optimiser.solve.heuristic import HintValues
from optimiser.solve.result import SolveResult, Status, interrupted_result, relative_gap
from optimiser.solve.warmstart import WarmStart, warm_start

logger = logging.getLogger(__name__)


def add_problem(lp: pulp.LpProblem, problem: Problem, x: list[pulp.LpVariable], prefix: str = "") -> pulp.LpAffineExpression:
    """Add a problem's options, constraints and level variables over the decision variables
    ``x`` (several problems may share them); returns the problem's objective expression.

    Variable and constraint names start with ``prefix`` (empty for a single problem: the warm
    start finds variables by these names).
    """
    opt = list(x)
    for j in range(len(x), len(problem.options)):
        w = pulp.LpVariable(f"{prefix}w{j}", lowBound=0, upBound=1)
        for d in problem.options[j]:
            lp += w <= x[d], f"{prefix}conj{j}_{d}"
        opt.append(w)
    for k, con in enumerate(problem.constraints):
        expr = pulp.lpSum(c * opt[o] for o, c in con.terms)
        if con.lo is not None:
            lp += expr >= con.lo, f"{prefix}c{k}lo"
        if con.hi is not None:
            lp += expr <= con.hi, f"{prefix}c{k}hi"
    terms = []
    prev = None
    for n, (k, lev, step, opts) in enumerate(problem.level_terms()):
        if n % 4096 == 0 and interrupt.requested():
            break  # the caller returns "interrupted": this partial model is never solved
        u = pulp.LpVariable(f"{prefix}u{k}_{lev}", lowBound=0, upBound=1)
        lp += (u + pulp.lpSum(opt[o] for o in opts) >= (1 if lev == 0 else prev)), f"{prefix}lv{k}_{lev}"
        if step > 0:
            terms.append(step * u)
        prev = u
    for k, p in enumerate(problem.penalties):
        unc = pulp.LpVariable(f"{prefix}p{k}", lowBound=0, upBound=1)
        lp += unc + pulp.lpSum(opt[o] for o in p.options) >= 1, f"{prefix}pen{k}"
        terms.append(p.weight * unc)
    return pulp.lpSum(terms) + problem.constant


def build_model(problem: Problem) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The PuLP model of a problem; returns (model, decision variables)."""
    lp = pulp.LpProblem("siteopt", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{i}", cat=pulp.LpBinary) for i in range(len(problem.decisions))]
    lp += add_problem(lp, problem, x)
    return lp, x


def bound_from_log(text: str) -> float | None:
    """The lower bound CBC's log reports, if any."""
    for pat in (r"Lower bound:\s*([-0-9.eE+]+)", r"Best possible:\s*([-0-9.eE+]+)"):
        m = re.search(pat, text)
        if m:
            return float(m.group(1))
    return None


def _set_warm_start(problem: Problem, lp: pulp.LpProblem, hint: HintValues) -> None:
    """Initial values for every variable (names as in :func:`build_model`)."""
    v = lp.variablesDict()
    for j, val in enumerate(hint.open_options.tolist()):
        name = f"x{j}" if j < len(problem.decisions) else f"w{j}"
        if name in v:
            v[name].setInitialValue(int(val))
    for j, (k, lev, _, _) in enumerate(problem.level_terms()):
        name = f"u{k}_{lev}"
        if name in v:
            v[name].setInitialValue(int(hint.level_u[j]))
    for k, val in enumerate(hint.uncovered.tolist()):
        if f"p{k}" in v:
            v[f"p{k}"].setInitialValue(int(val))


def _terminate_cbc() -> None:
    """Stop the CBC subprocesses of this process (an interruption): SIGTERM to each child
    running the CBC binary."""
    psutil = importlib.import_module("psutil")  # installed with dask[distributed]
    for child in psutil.Process().children(recursive=True):
        try:
            if "cbc" in child.name().lower():
                child.terminate()
        except psutil.Error:  # it ended by itself meanwhile
            continue


def run_cbc(lp: pulp.LpProblem, time_limit_s: float, seed: int, workers: int, warm: bool) -> str:
    """Run CBC on ``lp``; returns its log ("" when interrupted: it was terminated).

    Raises:
        SolverError: the CBC binary is missing or crashed.
    """
    fd, log_path = tempfile.mkstemp(prefix="siteopt-cbc-", suffix=".log")
    os.close(fd)
    try:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(time_limit_s), threads=int(workers), warmStart=warm,
                                options=[f"randomSeed {int(seed) + 1}", "randomCbcSeed 1"], logPath=log_path)
        try:
            with interrupt.stopper(_terminate_cbc):
                interrupt.call_interruptibly(lambda: lp.solve(cmd))
        except pulp.PulpSolverError as exc:  # pragma: no cover - binary missing / crashed
            if interrupt.requested():
                return ""
            raise SolverError(f"CBC failed: {exc}") from exc
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    finally:
        os.unlink(log_path)


def solve(problem: Problem, options: SolveOptions, *, use_hint: bool = True,
          starts: Iterable[Iterable[int]] = ()) -> SolveResult:
    """Solve with CBC; a time limit returns the incumbent with the bound CBC reports.

    Among layouts with the same walking objective, the cheapest is returned. A greedy layout
    (or the best feasible one of ``starts``, :mod:`optimiser.solve.warmstart`) is passed as a
    MIP start, and returned ("feasible") if CBC finds nothing. CBC has no deterministic work
    limit: a time-limited CBC run depends on the machine's speed.

    Args:
        problem: the problem.
        options: ``time_limit_s`` (wall seconds, including the warm start; CBC keeps at least
            half of it), ``seed``, ``workers``.
        use_hint: start from the warm start.
        starts: candidate start layouts (decision ids).

    Returns:
        A complete :class:`SolveResult`.

    Raises:
        SolverError: the CBC binary is missing or crashed.
    """
    t0 = time.perf_counter()
    limit, seed = options.time_limit_s, options.seed
    start = warm_start(problem, limit, starts) if use_hint else WarmStart()
    progress.incumbent(start.objective, None, "greedy warm start; CBC's own incumbents are not reported")
    if interrupt.requested():
        return interrupted_result("cbc", seed, time.perf_counter() - t0, None, start.objective)
    lp, x = build_model(problem)
    if interrupt.requested():
        return interrupted_result("cbc", seed, time.perf_counter() - t0, None, start.objective)
    if start.hint is not None:
        _set_warm_start(problem, lp, start.hint)
    log = run_cbc(lp, max(limit - start.seconds, 0.5 * limit), seed, options.workers, start.hint is not None)
    secs = time.perf_counter() - t0
    if interrupt.requested():
        return interrupted_result("cbc", seed, secs, bound_from_log(log), start.objective)
    st = pulp.LpStatus[lp.status]
    sol = lp.sol_status
    logger.info("CBC: status %s (solution %s), %.2f s", st, sol, secs)
    if st == "Infeasible":
        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, limit / 2), seed=seed)
        return SolveResult(Status.INFEASIBLE, None, None, None, secs, "cbc", seed, (), conflicts,
                           "no layout meets every requirement")
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) and st == "Optimal":
        val = pulp.value(lp.objective)
        obj = float(round(val)) if val is not None else float(problem.objective_of(set()))  # constant objective
        chosen = tuple(i for i, v in enumerate(x) if (v.value() or 0) > 0.5)
        if sol == pulp.LpSolutionOptimal and "Stopped on time" not in log:
            return SolveResult(Status.OPTIMAL, obj, obj, 0.0, secs, "cbc", seed, chosen, (), "proven optimal")
        stopped_by = _stopped_by(log)
        bound = bound_from_log(log)
        if start.layout is not None and start.objective is not None and start.objective < problem.objective_of(set(chosen)):
            obj, chosen = float(start.objective), start.layout  # never report worse than the MIP start
        gap = relative_gap(obj, bound)
        return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cbc", seed, chosen, (),
                           "time limit reached" + (f"; gap {100 * gap:.2f}%" if gap is not None else "; no bound reported"),
                           stopped_by=stopped_by)
    bound = bound_from_log(log)
    if start.layout is not None and start.objective is not None:
        obj = float(start.objective)
        bound = min(obj, max(bound if bound is not None else float(problem.constant), float(problem.constant)))
        gap = relative_gap(obj, bound)
        return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cbc", seed, start.layout, (),
                           f"CBC found no solution in time; greedy layout, gap {100 * (gap or 0):.2f}%",
                           {"incumbent": "greedy"}, stopped_by=_stopped_by(log))
    return SolveResult(Status.UNKNOWN, None, bound, None, secs, "cbc", seed, (), (), f"CBC status {st}: no solution",
                       stopped_by=_stopped_by(log))


def _stopped_by(log: str) -> str:
    """What ended an unfinished CBC search, from its log: its time limit is a wall clock
    ("wall_clock": the answer may differ on a faster or slower machine); any other stop
    (a node or iteration limit) is a work limit."""
    m = re.search(r"Stopped on (\w+)", log)
    return "wall_clock" if m is None or m.group(1).lower().startswith("time") else "work_limit"
