"""PuLP / CBC backend (the second backend; CBC runs as a subprocess).

Same integer problem as CP-SAT: binary decisions and options, continuous level variables
u in [0, 1] (integral at any integer point of the decisions), the same objective.

The budget that shapes a CBC answer is a work limit, as for CP-SAT: CBC's node limit
(``maxNodes``, :data:`NODES_PER_SECOND` nodes per second of ``time_limit_s``), with one thread
and a fixed seed, so the same inputs give the same layout on an idle and on a loaded machine.
CBC's own time limit is only the wall-clock safety net (``WALL_CLOCK_SAFETY_FACTOR`` times the
time limit, the same as CP-SAT's); the result's ``stopped_by`` says which one ended the search
(read from CBC's log: "Stopped on node limit" or "Stopped on time"). The root node (presolve,
cuts, heuristics) is bounded by counts of passes, not by a clock; a root that takes longer than
the safety net is ended by the wall clock, and the result says so.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable
from typing import Any

import pulp

from optimiser import progress
from optimiser.errors import SolverError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.cpsat_model import wall_clock_net_s
from optimiser.solve.explain import explain_infeasible
from optimiser.solve.heuristic import HintValues
from optimiser.solve.result import SolveResult, Status, interrupted_result, relative_gap
from optimiser.solve.warmstart import WarmStart, warm_start

logger = logging.getLogger(__name__)

NODES_PER_SECOND = 20
"""CBC's node limit per second of the time limit (the work limit of a CBC search; at least 1
node). Measured on a loaded 2-core machine: CBC enumerates from a few nodes per second on
12,000-variable district models (most of a search is then the root) to hundreds on the zoo's
sites; 20 per second lets a 60 s AMP-SBP run branch 1,200 nodes."""


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


def run_cbc(lp: pulp.LpProblem, safety_net_s: float, seed: int, workers: int, warm: bool, max_nodes: int | None = None) -> str:
    """Run CBC on ``lp`` with at most ``max_nodes`` nodes (the work limit) and ``safety_net_s``
    wall seconds (the safety net); returns its log ("" when interrupted: it was terminated).

    CBC 2.10 (PuLP's bundled binary) may crash when its time limit ends its preprocessing (a
    MIP start and a net of a fraction of a second on AMP-SBP): a crash once the safety net has
    run out is a stop on the wall clock, and what it logged is returned (no solution).

    Raises:
        SolverError: the CBC binary is missing, or crashed before the safety net ran out.
    """
    fd, log_path = tempfile.mkstemp(prefix="siteopt-cbc-", suffix=".log")
    os.close(fd)
    t0 = time.perf_counter()
    try:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(safety_net_s), threads=int(workers), warmStart=warm,
                                maxNodes=None if max_nodes is None else max(1, int(max_nodes)),
                                options=[f"randomSeed {int(seed) + 1}", "randomCbcSeed 1"], logPath=log_path)
        try:
            with interrupt.stopper(_terminate_cbc):
                interrupt.call_interruptibly(lambda: lp.solve(cmd))
        except pulp.PulpSolverError as exc:
            if interrupt.requested():
                return ""
            if time.perf_counter() - t0 < safety_net_s:
                raise SolverError(f"CBC failed: {exc}") from exc
            logger.info("CBC: crashed when its wall-clock safety net (%.2f s) ran out; no CBC solution", safety_net_s)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    finally:
        os.unlink(log_path)


def solve(problem: Problem, options: SolveOptions, *, use_hint: bool = True,
          starts: Iterable[Iterable[int]] = ()) -> SolveResult:
    """Solve with CBC; a limit returns the incumbent with the bound CBC reports.

    Among layouts with the same walking objective, the cheapest is returned. A greedy layout
    (or the best feasible one of ``starts``, :mod:`optimiser.solve.warmstart`) is passed as a
    MIP start, and returned ("feasible") if CBC finds nothing.

    Args:
        problem: the problem.
        options: ``time_limit_s`` (the work budget: CBC's node limit is ``NODES_PER_SECOND``
            nodes per second of it; the wall-clock safety net is ``WALL_CLOCK_SAFETY_FACTOR``
            times it, less the warm start's seconds, at least half; never more than
            ``wall_limit_s``), ``seed``, ``workers`` (1 for a reproducible search).
        use_hint: start from the warm start.
        starts: candidate start layouts (decision ids).

    Returns:
        A complete :class:`SolveResult`; ``stopped_by`` is "work_limit" when the node limit
        ended the search, "wall_clock" when the safety net did (or the greedy start's), None
        when CBC finished; ``stats`` holds CBC's ``nodes`` and ``iterations`` and the
        ``max_nodes`` asked for.

    Raises:
        SolverError: the CBC binary is missing, or crashed before its safety net ran out (a crash
            after it is a stop on the wall clock: :func:`run_cbc`).
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
    max_nodes = max(1, round(limit * NODES_PER_SECOND))
    net = wall_clock_net_s(limit)
    net = max(net - (time.perf_counter() - t0), 0.5 * net)
    if options.wall_limit_s is not None:  # the caller's net (what is left of the run's limit)
        net = max(0.05, options.wall_limit_s - (time.perf_counter() - t0))
    t_cbc = time.perf_counter()
    log = run_cbc(lp, net, seed, options.workers, start.hint is not None, max_nodes)
    secs = time.perf_counter() - t0
    # CBC says "infeasible" (no "Result" line) when the safety net ends its preprocessing: trusted
    # only when it finished before the net and no feasible layout is known
    trust_infeasible = start.layout is None and time.perf_counter() - t_cbc < net
    stats: dict[str, Any] = {**log_stats(log), "max_nodes": max_nodes, "safety_net_s": round(net, 3),
             "greedy_seconds": round(start.seconds, 3), "greedy_objective": start.objective}
    if start.greedy_stopped_by is not None:
        stats["greedy_stopped_by"] = start.greedy_stopped_by
    if interrupt.requested():
        return interrupted_result("cbc", seed, secs, _bound(lp, log), start.objective, stats)
    outcome = cbc_outcome(log)
    if outcome == "other" and lp.sol_status == pulp.LpSolutionOptimal:  # no log to read: PuLP's word
        outcome = "optimal"
    logger.info("CBC: %s, %s nodes, %s iterations, %.2f s", outcome, stats.get("nodes"), stats.get("iterations"), secs)
    if outcome == "infeasible" or (outcome == "other" and pulp.LpStatus[lp.status] == "Infeasible" and trust_infeasible):
        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, limit / 2), seed=seed)
        return SolveResult(Status.INFEASIBLE, None, None, None, secs, "cbc", seed, (), conflicts,
                           "no layout meets every requirement", stats)
    has_incumbent = has_incumbent_in(lp, log)
    if outcome == "optimal" and has_incumbent:
        obj, chosen = _incumbent(problem, lp, x)
        return SolveResult(Status.OPTIMAL, obj, obj, 0.0, secs, "cbc", seed, chosen, (), "proven optimal", stats)
    stopped_by = stopped_by_of_log(log, start.greedy_stopped_by)
    what = "node limit (work limit)" if stopped_by == "work_limit" else "wall-clock safety net"
    bound = _bound(lp, log)
    if has_incumbent:
        obj, chosen = _incumbent(problem, lp, x)
        if start.layout is not None and start.objective is not None and start.objective < obj:
            obj, chosen = float(start.objective), start.layout  # never report worse than the MIP start
            stats["incumbent"] = "greedy"
        gap = relative_gap(obj, bound)
        return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cbc", seed, chosen, (),
                           f"CBC stopped on its {what}" + (f"; gap {100 * gap:.2f}%" if gap is not None else "; no bound reported"),
                           stats, stopped_by=stopped_by)
    if start.layout is not None and start.objective is not None:
        obj = float(start.objective)
        bound = min(obj, max(bound if bound is not None else float(problem.constant), float(problem.constant)))
        gap = relative_gap(obj, bound)
        stats["incumbent"] = "greedy"
        return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cbc", seed, start.layout, (),
                           f"CBC found no solution before its {what}; greedy layout, gap {100 * (gap or 0):.2f}%",
                           stats, stopped_by=stopped_by)
    return SolveResult(Status.UNKNOWN, None, bound, None, secs, "cbc", seed, (), (),
                       f"CBC stopped on its {what} without a solution", stats, stopped_by=stopped_by)


def _bound(lp: pulp.LpProblem, log: str) -> float | None:
    """CBC's lower bound on the model's objective: its log's bound plus the objective's constant
    (PuLP leaves the constant out of the file CBC reads, so CBC's figures lack it)."""
    bound = bound_from_log(log)
    return None if bound is None else bound + float(lp.objective.constant)


def _incumbent(problem: Problem, lp: pulp.LpProblem, x: list[pulp.LpVariable]) -> tuple[float, tuple[int, ...]]:
    """CBC's layout and its objective (rounded: the objective is integral at an integer point)."""
    val = pulp.value(lp.objective)
    obj = float(round(val)) if val is not None else float(problem.objective_of(set()))  # constant objective
    return obj, tuple(i for i, v in enumerate(x) if (v.value() or 0) > 0.5)


def has_incumbent_in(lp: pulp.LpProblem, log: str) -> bool:
    """Whether CBC returned an integer solution: PuLP says so, or (PuLP reads "Stopped on node
    limit - objective value ..." as "not solved") CBC's log reports its objective value."""
    if lp.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return True
    return re.search(r"^Objective value:\s*[-0-9.eE+]+", log, re.MULTILINE) is not None


def cbc_outcome(log: str) -> str:
    """How CBC's search ended, from its log: "optimal", "infeasible", "stopped" (a limit) or "other"."""
    m = re.search(r"^Result - (.*)$", log, re.MULTILINE)
    if m is None:
        return "other"
    text = m.group(1).lower()
    if text.startswith("optimal"):
        return "optimal"
    if "infeasible" in text:
        return "infeasible"
    return "stopped" if text.startswith("stopped") else "other"


def log_stats(log: str) -> dict[str, int]:
    """CBC's work counts from its log: ``nodes`` enumerated and LP ``iterations``."""
    out: dict[str, int] = {}
    for key, pat in (("nodes", r"Enumerated nodes:\s*(\d+)"), ("iterations", r"Total iterations:\s*(\d+)")):
        m = re.search(pat, log)
        if m:
            out[key] = int(m.group(1))
    return out


def stopped_by_of_log(log: str, greedy_stopped_by: str | None = None) -> str:
    """What ended an unfinished CBC search, from its log: the node limit is a work limit
    ("work_limit": the same answer on any machine); its time limit is the wall-clock safety
    net ("wall_clock": the answer may differ on a faster or slower machine), as is a greedy
    start ended by its own safety net. Logged at info only: ``siteopt run`` warns once for the
    whole run when a net bound (``stopped_by``), not once per phase as well."""
    m = re.search(r"Stopped on (\w+)", log)
    by_clock = m is None or m.group(1).lower().startswith("time") or greedy_stopped_by == "safety net"
    if by_clock:
        logger.info("CBC: the wall-clock safety net, not the node limit, ended the search: the answer may "
                    "differ on a faster or slower machine")
    return "wall_clock" if by_clock else "work_limit"
