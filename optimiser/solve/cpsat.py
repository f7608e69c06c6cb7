"""OR-Tools CP-SAT backend (the default).

Reproducible with a fixed ``seed`` and ``workers=1``: the search stops on CP-SAT's
deterministic time limit (derived from the time limit, :mod:`optimiser.solve.cpsat_model`),
the wall-clock limit is the safety net. The model is built by
:func:`optimiser.solve.cpsat_model.build_model`; the warm start and the explanation of an
infeasible problem are backend-neutral (:mod:`optimiser.solve.warmstart`,
:mod:`optimiser.solve.explain`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from optimiser import progress
from optimiser.errors import SolverError, TimeLimitError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.cover_cuts import weak_lp
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.count_split import maximal_count_vectors, solve_by_count_vectors
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import (
    build_model,
    set_params,
    set_search_params,
    stopped_by_safety_net,
    wall_clock_net_s,
)
from optimiser.solve.explain import explain_infeasible
from optimiser.solve.result import SolveResult, Status, interrupted_result, relative_gap
from optimiser.solve.warmstart import WarmStart, warm_start

logger = logging.getLogger(__name__)

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
    cp_model.MODEL_INVALID: Status.UNKNOWN,
}

SPLIT_MIN_LEVELS = 50_000
"""With ``count_split``, models with at least this many radius levels are split by count vector
(:mod:`optimiser.solve.count_split`). Measured on realsites, CPU seconds of the solve call with a
10 s limit (load 5): rs004 (72,669 levels, 4 vectors) 21-25 s direct, 10.9 s split, both proven;
rs001 (45,522 levels, 7 vectors) 8.5 s direct, 12.3 s split."""

PRESOLVE_OFF_LEVELS = 2_000
"""With ``cpsat_search="cpsat"``, models with at least this many radius levels are solved
without CP-SAT presolve ("lp", the default, never presolves)."""


def _ended(stopped_by: str | None) -> str:
    """What ended an unfinished search, for its message."""
    return "the wall-clock safety net ended the search" if stopped_by == "wall_clock" else "the time limit's work was spent"


def _with_solution(problem: Problem, solver: cp_model.CpSolver, x: list[cp_model.IntVar], status: Status,
                   start: WarmStart, secs: float, seed: int, stats: dict[str, Any], stopped_by: str | None) -> SolveResult:
    """The result when CP-SAT found a layout: never worse than the warm start; the message says
    what ended an unfinished search (``stopped_by``)."""
    obj = float(round(solver.objective_value))
    bound = obj if status is Status.OPTIMAL else float(solver.best_objective_bound)
    chosen = tuple(i for i, v in enumerate(x) if solver.value(v))
    if (status is Status.FEASIBLE and start.layout is not None and start.objective is not None
            and start.objective < problem.objective_of(set(chosen))):
        # the hint was better than what CP-SAT kept (it should not be, but never report worse)
        obj, chosen = float(start.objective), start.layout
        stats["incumbent"] = "greedy"
    elif start.layout is not None and tuple(chosen) == tuple(start.layout):
        stats["incumbent"] = "greedy"  # CP-SAT kept the hinted layout
    else:
        stats["incumbent"] = "cpsat"
    gap = relative_gap(obj, bound)
    msg = "proven optimal" if status is Status.OPTIMAL else f"{_ended(stopped_by)}; gap {100 * (gap or 0):.2f}%"
    return SolveResult(status, obj, bound, gap, secs, "cpsat", seed, chosen, (), msg, stats,
                       stopped_by=None if status is Status.OPTIMAL else stopped_by)


def _without_solution(problem: Problem, solver: cp_model.CpSolver, start: WarmStart, secs: float, seed: int,
                      stats: dict[str, Any], stopped_by: str | None) -> SolveResult:
    """The result when CP-SAT found nothing in time: the warm start if there is one. The message
    says what ended the search (``stopped_by``): the time limit's deterministic work, or the
    wall-clock safety net."""
    bound = float(solver.best_objective_bound)
    ended = _ended(stopped_by)
    if start.layout is None or start.objective is None:
        return SolveResult(Status.UNKNOWN, None, bound, None, secs, "cpsat", seed, (), (),
                           f"no solution found: {ended}", stats, stopped_by=stopped_by)
    # the objective is the constant plus non-negative terms, so the constant is a valid bound
    obj = float(start.objective)
    bound = min(obj, max(bound if math.isfinite(bound) else -math.inf, float(problem.constant)))
    gap = relative_gap(obj, bound)
    stats["incumbent"] = "greedy"
    return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cpsat", seed, start.layout, (),
                       f"{ended} before CP-SAT found a better layout; greedy layout, gap {100 * (gap or 0):.2f}%",
                       stats, stopped_by=stopped_by)


MIN_SEARCH_S = 0.05
"""The least wall-clock limit a search is given, even when the caller's net has passed."""

LOAD_SHARE_OF_BUILD = 0.3
"""A search starts only with at least this share of the model's build time left of the
wall-clock net: 613k radius levels (13.2 s to build) took 0.8 s to copy into a sub-problem and
1.7 s in CP-SAT with a 0.25 s limit, ending 2.9 s past a 15 s net."""


def _build_stopped(problem: Problem, start: WarmStart, secs: float, seed: int) -> SolveResult:
    """The result when the wall-clock net passed while building the model: the warm start (its
    bound the problem's constant), stopped by the wall clock."""
    stats: dict[str, Any] = {**_greedy_stats(start), "model_build": "stopped by the wall-clock net"}
    if start.layout is None or start.objective is None:
        return SolveResult(Status.UNKNOWN, None, None, None, secs, "cpsat", seed, (), (),
                           "the wall-clock limit ran out while building the model", stats, stopped_by="wall_clock")
    obj = float(start.objective)
    bound = min(obj, float(problem.constant))
    gap = relative_gap(obj, bound)
    stats["incumbent"] = "greedy"
    return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cpsat", seed, start.layout, (),
                       f"the wall-clock limit ran out while building the model; greedy layout, gap {100 * (gap or 0):.2f}%",
                       stats, stopped_by="wall_clock")


class _ProgressCallback(cp_model.CpSolverSolutionCallback):
    """Passes each new CP-SAT incumbent and its bound to :mod:`optimiser.progress`."""

    def on_solution_callback(self) -> None:
        progress.incumbent(self.objective_value, self.best_objective_bound, "cpsat")


def _solve_with_progress(solver: cp_model.CpSolver, model: cp_model.CpModel) -> Any:
    """``solver.solve(model)``, reporting incumbents and bounds when progress is shown (the
    callbacks only read values: the search is the same with or without them)."""
    if not progress.enabled():
        return solver.solve(model)
    solver.best_bound_callback = lambda bound: progress.incumbent(None, bound, "cpsat")
    return solver.solve(model, _ProgressCallback())


def solve(problem: Problem, options: SolveOptions, *, use_hint: bool = True,
          starts: Iterable[Iterable[int]] = ()) -> SolveResult:
    """Solve with CP-SAT; a time limit returns the incumbent with its gap.

    A greedy layout (:mod:`optimiser.solve.warmstart`), or the best feasible layout of
    ``starts``, is given to CP-SAT as a full solution hint; if CP-SAT finds nothing better
    within the limit, that layout is returned as "feasible" with CP-SAT's best bound (never
    as "optimal").

    Args:
        problem: the problem.
        options: ``time_limit_s`` (the work budget: CP-SAT's deterministic limit is
            ``DETERMINISTIC_PER_SECOND`` units per second of it; the wall-clock safety net is
            ``WALL_CLOCK_SAFETY_FACTOR`` times it, less the warm start's seconds, at least half),
            ``seed``, ``workers``.
        use_hint: start from the warm start.
        starts: candidate start layouts (decision ids).

    Returns:
        A complete :class:`SolveResult`; ``stopped_by`` is "wall_clock" when the wall clock,
        not the deterministic limit, ended the search (or the greedy start), "work_limit" when
        the deterministic limit did, "interrupted" (status ``interrupted``) after SIGINT /
        SIGTERM (:mod:`optimiser.solve.interrupt`).

    Raises:
        SolverError: CP-SAT rejected the model (a bug).
    """
    t0 = time.perf_counter()
    limit, seed = options.time_limit_s, options.seed
    start = warm_start(problem, limit, starts) if use_hint else WarmStart()
    progress.incumbent(start.objective, None, "greedy warm start")
    if interrupt.requested():
        return interrupted_result("cpsat", seed, time.perf_counter() - t0, None, start.objective)
    # the caller's wall-clock net (the run's, relax-first's) bounds the model's build too (613k
    # radius levels: 13 s of CPU, 18 s at load 3, past a 15 s net): past it, the warm start is
    # the answer (without a caller's net, the search's own net counts from after the build)
    # (at least the 0.05 s a search is always given, as below)
    build_deadline = (math.inf if options.wall_limit_s is None
                      else max(t0 + options.wall_limit_s, time.perf_counter() + MIN_SEARCH_S))
    # a weak LP (firm pairs only routes over two new crossings serve: optimiser.model.cover_cuts)
    # gets the cover cuts and the count split whatever the model's size
    weak = weak_lp(problem)
    try:
        parts = build_model(problem, hint=start.hint, budget_cuts=options.budget_cuts, site_chains=options.site_chains,
                            cover_cuts=weak if options.cover_cuts is None else options.cover_cuts,
                            deadline=None if options.wall_limit_s is None else build_deadline)
    except TimeLimitError as exc:
        logger.warning("CP-SAT: %s: the greedy start is the answer", exc)
        return _build_stopped(problem, start, time.perf_counter() - t0, seed)
    built = time.perf_counter()
    net = wall_clock_net_s(limit)
    if build_deadline - built < LOAD_SHARE_OF_BUILD * (built - t0 - start.seconds):
        # too little left for CP-SAT even to load the model (measured: its copy and load take
        # about a fifth of the build, whatever its own time limit)
        logger.warning("CP-SAT: %.1f s of the wall-clock net left after building the model: the greedy start is the "
                       "answer", max(0.0, build_deadline - built))
        return _build_stopped(problem, start, built - t0, seed)
    solver = cp_model.CpSolver()
    # the deterministic limit comes from the whole time limit (the greedy start is work-limited
    # too), never from the seconds the start took, which depend on the machine's load; the
    # wall-clock net counts the start against it, but CP-SAT keeps at least half of it
    set_params(solver, limit, seed, options.workers, safety_net_s=max(net - start.seconds, 0.5 * net))
    if options.wall_limit_s is not None:  # the caller's net (what is left of the run's or relax-first's)
        solver.parameters.max_time_in_seconds = max(MIN_SEARCH_S, options.wall_limit_s - (time.perf_counter() - t0))
    set_search_params(solver, options.cpsat_search, options.sat_inprocessing)
    split = (maximal_count_vectors(problem) if options.count_split and start.layout is not None and start.objective is not None
             and (problem.n_levels() >= SPLIT_MIN_LEVELS or weak) else None)
    if split is not None and start.layout is not None and start.objective is not None:
        res = solve_by_count_vectors(problem, parts, options, start.layout, start.objective, split, t0,
                                     solver.parameters.max_time_in_seconds + (time.perf_counter() - t0), own_cut_off=weak)
        return replace(res, stats={**res.stats, **_greedy_stats(start)},
                       stopped_by=_stopped_by(res.stopped_by, start, solver.parameters.max_time_in_seconds))
    if options.cpsat_search == "cpsat" and problem.n_levels() >= PRESOLVE_OFF_LEVELS:
        # measured on benchmarks/joint: presolve (probing, clause-to-exactly-one, dual rules)
        # takes most of a minute at 100 firms and gives nothing back; without it the LP
        # bound starts at once (50 firms: optimal in 5 s instead of 26 s; 100 firms: 8% gap
        # at 40 s instead of 14%)
        solver.parameters.cp_model_presolve = False
    with interrupt.stopper(solver.stop_search):
        code = interrupt.call_interruptibly(lambda: _solve_with_progress(solver, parts.model))
    secs = time.perf_counter() - t0
    if code == cp_model.MODEL_INVALID:
        raise SolverError(f"CP-SAT rejected the model: {parts.model.validate()}")
    status = _STATUS.get(code, Status.UNKNOWN)
    stats: dict[str, Any] = {"branches": solver.num_branches, "conflicts": solver.num_conflicts,
                             "wall_seconds": solver.wall_time, **_greedy_stats(start),
                             "deterministic_time": solver.response_proto.deterministic_time}
    logger.info("CP-SAT: %s, objective %s, bound %s, %.2f s", status, solver.objective_value if status.has_solution
                else None, solver.best_objective_bound, secs)
    if interrupt.requested() and status is not Status.OPTIMAL:  # not even explaining an infeasible one
        incumbent = float(round(solver.objective_value)) if status.has_solution else start.objective
        return interrupted_result("cpsat", seed, secs, float(solver.best_objective_bound), incumbent, stats)
    search_stopped_by = (None if status in (Status.OPTIMAL, Status.INFEASIBLE)
                         else "wall_clock" if stopped_by_safety_net(solver) else "work_limit")
    stopped_by = _stopped_by(search_stopped_by, start, solver.parameters.max_time_in_seconds)
    if status.has_solution:
        return _with_solution(problem, solver, parts.x, status, start, secs, seed, stats, stopped_by)
    if status is Status.INFEASIBLE:
        conflicts = explain_infeasible(problem, time_limit_s=max(5.0, limit / 2), seed=seed)
        return SolveResult(Status.INFEASIBLE, None, None, None, time.perf_counter() - t0, "cpsat", seed, (), conflicts,
                           "no layout meets every requirement", stats)
    return _without_solution(problem, solver, start, secs, seed, stats, stopped_by)


def _greedy_stats(start: WarmStart) -> dict[str, Any]:
    """The greedy start's seconds and objective (and what ended it, when something did)."""
    stats: dict[str, Any] = {"greedy_seconds": round(start.seconds, 3), "greedy_objective": start.objective}
    if start.greedy_stopped_by is not None:
        stats["greedy_stopped_by"] = start.greedy_stopped_by
    return stats


def _stopped_by(search_stopped_by: str | None, start: WarmStart, safety_net_s: float) -> str | None:
    """What ended a search that did not finish (``None`` when it did): the wall clock (CP-SAT's
    safety net, ``search_stopped_by`` "wall_clock", or the greedy start's, whose incumbent the
    search began from) or CP-SAT's deterministic work limit. Logged at info only: ``siteopt run``
    warns once for the whole run when a net bound (``stopped_by``)."""
    if search_stopped_by is None:
        return None
    if search_stopped_by == "wall_clock" or start.greedy_stopped_by == "safety net":
        logger.info("CP-SAT: the wall-clock limit (%.1f s), not the deterministic one, ended the search: the "
                    "answer may differ on a faster or slower machine", safety_net_s)
        return "wall_clock"
    return "work_limit"
