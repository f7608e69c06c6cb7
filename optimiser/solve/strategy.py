"""Solve a :class:`~optimiser.model.problem.Problem`: choose the strategy, dispatch to a backend.

``strategy`` (in :class:`~optimiser.inputs.domain.SolveOptions`):

- ``"direct"``: the backend (:mod:`optimiser.solve.registry`) on the exact model for the whole
  time limit.
- ``"relax-first"``: for large models (:class:`~optimiser.solve.relax_first.RelaxFirst`). The
  bound comes from the access relaxation
  (:func:`~optimiser.model.transforms.relax_access_crossings`: walks to facilities may use
  every candidate crossing; its bounds are bounds here), the incumbent from the greedy layout,
  the Lagrangian's layouts and alternating exact re-optimisation.
- ``"auto"`` (default): with CP-SAT, ``"relax-first"`` for every model of at least
  ``CPSAT_RELAX_MIN_LEVELS`` radius levels; with another backend, for models of at least
  ``RELAX_MIN_LEVELS`` whose relaxation has at most half as many, and for every model of at least
  ``RELAX_ALWAYS_LEVELS``; else ``"direct"``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from optimiser import errors
from optimiser.errors import ArgumentError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.dominance import Dominance, dominated_crossings
from optimiser.model.problem import Problem
from optimiser.model.transforms import fix_decisions, relax_access_crossings
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.registry import check_backend
from optimiser.solve.relax_first import RelaxFirst
from optimiser.solve.result import SolveResult, relative_gap

logger = logging.getLogger(__name__)

RELAX_MIN_LEVELS = 50_000
"""``strategy="auto"`` with a backend other than CP-SAT (CBC) uses relax-first from this many radius
levels up when the access relaxation has at most half as many (CP-SAT: ``CPSAT_RELAX_MIN_LEVELS``)."""

RELAX_ALWAYS_LEVELS = 150_000
"""``strategy="auto"`` with a backend other than CP-SAT uses relax-first from this many radius levels
up whatever the relaxation saves (the rule CP-SAT had until wave 29): CP-SAT's root LP on such a
model does not finish within a 10 s limit's budget. Measured
on generated sites, ``--time-limit 10``: `benchmarks/realsites/generate.py 13 60 150` (613,470
levels, relaxation 321,982) direct 9.72 % gap (no bound beyond the objective's constant), 3.06
GB, relax-first 1.05 %, 0.33 GB; held-out rs015 (`generate.py 15 55 130`: 200,532 levels,
relaxation 106,630, just over half) direct 26.7 % (the count split's first sub-problem never
finishes its root LP: the bound is the objective's constant; 22.7 s of CPU), relax-first 12.3 %
(5.0 s of CPU). 250,000 before wave 8; no tuned row lies between the two (rs004 72,669 levels
goes direct, rs005 / rs006 relax-first by the halving rule)."""

CPSAT_RELAX_MIN_LEVELS = 25_000
"""With CP-SAT, ``strategy="auto"`` uses relax-first from this many radius levels up, whatever the
relaxation saves (the two rules above are the other backends'). The direct solve's time has a
long tail there, relax-first's does not: measured in wave 29 (seed 0, one worker, 60 s limit,
solve seconds direct / relax-first, near idle, load 0.5-1.0) on the 13 benchmarks/realsites rows
the former rule sent direct and 12 unseen seeds (``generate.py 33`` ... ``44``): from 25,000
levels relax-first was at most 0.3 s slower and up to 12 s faster: rs043 (66,706 levels, its
relaxation 40,618: over half) 14.16 / 2.19 s, rs037 (29,042) 6.82 / 2.57, rs033 (47,962) 6.25 /
2.21, rs020 (46,149) 5.01 / 1.57, rs042 (39,579) 4.85 / 2.19, rs001 (45,522) 4.10 / 2.80, rs024
(25,864) 3.26 / 2.36, rs004 (72,669) 3.18 / 2.16; rs029 (35,419) 2.47 / 2.76, rs014 (27,684) 1.47 /
1.76. Below it relax-first's phases cost more than the direct search saves: rs038 (20,676) 0.72 /
2.36, rs036 (14,452) 0.32 / 2.14, rs027 (8,747) 0.61 / 2.14; rs032 (21,257) 2.43 / 2.24. The embedded
sites (AMP-SBP 6,621 levels, Fremont 4,477) stay direct. Every optimum the same."""

STRATEGIES = ("auto", "direct", "relax-first")


def _options(options: SolveOptions | str | None, overrides: dict[str, Any]) -> SolveOptions:
    """``options`` with the overrides applied (``None`` values keep a field); a string in
    place of ``options`` is the backend (the older ``solve(problem, "cpsat", ...)`` call)."""
    if isinstance(options, str):
        overrides = {"backend": options, **overrides}
        options = None
    if options is not None and not isinstance(options, SolveOptions):
        raise TypeError(f"solve() takes a SolveOptions or a backend name as options, got {type(options).__name__} {options!r}")
    unknown = set(overrides) - {"backend", "strategy", "time_limit_s", "seed", "workers"}
    if unknown:
        raise TypeError(f"solve() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    try:
        opts = (options or SolveOptions()).replace(**overrides)
    except ArgumentError as exc:  # an argument of this call (solve: backend), not of a SolveOptions the caller built
        raise ArgumentError([errors.Problem("solve", p.field, p.reason, p.hint) if p.field in overrides else p
                             for p in exc.problems]) from None
    check_backend(opts.backend)
    if opts.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {opts.strategy!r}; choose one of {', '.join(STRATEGIES)}")
    return opts


def _relaxation_for(problem: Problem, strategy: str, backend: str = "cpsat") -> Problem | None:
    """The access relaxation when the strategy is (or ``"auto"`` chooses, for ``backend``) relax-first."""
    if strategy == "direct":
        return None
    levels = problem.n_levels()
    if strategy == "auto" and backend == "cpsat":
        return relax_access_crossings(problem) if levels >= CPSAT_RELAX_MIN_LEVELS else None
    if strategy != "relax-first" and levels < RELAX_MIN_LEVELS:
        return None
    relaxed = relax_access_crossings(problem)
    if relaxed is not None and strategy == "auto" and 2 * relaxed.info["levels"] > levels and levels < RELAX_ALWAYS_LEVELS:
        return None
    return relaxed


def solve(problem: Problem, options: SolveOptions | str | None = None, **overrides: Any) -> SolveResult:
    """Solve a problem with the backend and strategy of ``options``.

    Args:
        problem: the problem.
        options: how to solve (default :class:`SolveOptions()`); for the older call style a
            backend name (``solve(problem, "cpsat", time_limit_s=..., seed=..., workers=...)``).
        **overrides: ``backend``, ``strategy``, ``time_limit_s``, ``seed``, ``workers``:
            convenience for tests and scripts, applied with :meth:`SolveOptions.replace`
            (``None`` keeps the option).

    Returns:
        A complete :class:`SolveResult`, also for infeasible and time-limited runs (their
        status, bound and gap). Measured on ``benchmarks/joint`` (README there).

    Raises:
        ArgumentError: (a ``ValueError``) an unknown backend or strategy, or an option out of range.
        TypeError: ``problem`` is not a :class:`Problem` (build one with
            :func:`optimiser.pipeline.prepare`), ``options`` neither options nor a backend name,
            or an unknown override.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve() takes a Problem (optimiser.pipeline.prepare(scenario).problem), got "
                        f"{type(problem).__name__}; to run a scenario file, use optimiser.run_scenario")
    opts = _options(options, overrides)
    mod = backend_module(opts.backend)
    deadline = Deadline(opts.time_limit_s)
    work, dominance = _without_dominated(problem, opts)
    relaxed = _relaxation_for(work, opts.strategy, opts.backend)
    if relaxed is None:
        logger.info("solve: %s, direct, time limit %.1f s", opts.backend, opts.time_limit_s)
        res = drop_redundant(work, mod.solve(work, opts))
        return _named(problem, _with_dominance(res, dominance, deadline, whole_call=False))
    logger.info("solve: %s, relax-first (%d relaxed levels), time limit %.1f s", opts.backend,
                relaxed.info["levels"], opts.time_limit_s)
    ev = Evaluator(work)
    # relax-first's CP-SAT phases are short and on reduced problems: no count split there
    res = drop_redundant(work, RelaxFirst(work, relaxed, mod, opts.replace(count_split=False), deadline, ev).run(), ev)
    # the whole call counts: the dominance test, building the relaxation, every phase, and dropping what is unused
    return _named(problem, _with_dominance(res, dominance, deadline, whole_call=True))


def _without_dominated(problem: Problem, opts: SolveOptions) -> tuple[Problem, Dominance | None]:
    """``problem`` with its dominated crossings fixed at 0 (:mod:`optimiser.model.dominance`;
    the same decision ids, the same optimum), and the test's outcome; ``problem`` itself when
    the option is off or nothing is removed."""
    if not opts.dominated_crossings:
        return problem, None
    dominance = dominated_crossings(problem)
    if dominance.skipped:
        logger.info("dominated crossings: not tested (%s)", dominance.skipped)
    elif dominance.removed:
        logger.info("dominated crossings: %d fixed at 0 (%s uses examined)", len(dominance.removed),
                    f"{dominance.uses:,}")
        return fix_decisions(problem, dict.fromkeys(dominance.removed, 0)), dominance
    return problem, dominance


def _with_dominance(res: SolveResult, dominance: Dominance | None, deadline: Deadline, whole_call: bool) -> SolveResult:
    """``res`` with the dominance test's outcome in its stats, timed from the start of the call
    when ``whole_call`` (relax-first) or when the test ran (its cost counts), else by the backend."""
    if dominance is None and not whole_call:
        return res
    stats = dict(res.stats)
    if dominance is not None:
        stats["dominated_crossings"] = len(dominance.removed)
        if dominance.skipped:
            stats["dominated_crossings_skipped"] = dominance.skipped
    return replace(res, stats=stats, solve_seconds=time.perf_counter() - deadline.start)


def _named(problem: Problem, res: SolveResult) -> SolveResult:
    """``res`` with its chosen decisions' keys (``SolveResult.chosen_ids`` names them)."""
    return replace(res, chosen_keys=tuple(problem.decisions[i].key for i in res.chosen))


def drop_redundant(problem: Problem, res: SolveResult, evaluator: Evaluator | None = None) -> SolveResult:
    """Report the chosen layout's exact objective, and remove chosen decisions nothing needs.

    Ties in walking are common (a second crossing no route uses, a social space with no
    coverage to add), and a solver may return them. Each chosen decision, dearest first, is
    dropped when the layout stays feasible and its exact objective does not rise, so the
    reported walking optimum is unchanged and nothing is built for nothing.

    Args:
        problem: the problem ``res`` solved.
        res: a backend's result.
        evaluator: an :class:`~optimiser.solve.heuristic.Evaluator` of ``problem`` (makes the
            checks vectorised).

    Returns:
        ``res``, with its exact objective and without redundant decisions.
    """
    if not res.status.has_solution:
        return res
    if evaluator is not None:
        ev = evaluator

        def value(chosen: set[int]) -> int:
            return int(ev.objective(ev.layout(chosen)))

        def feasible(chosen: set[int]) -> bool:
            return bool(ev.feasible(ev.layout(chosen)))
    else:
        value, feasible = problem.objective_of, problem.is_feasible
    chosen = set(res.chosen)
    # a time-limited incumbent may leave level variables above what its decisions imply, so
    # its reported value can overstate the layout: report the layout's exact objective
    best = value(chosen)
    if best != res.objective:
        gap = relative_gap(float(best), res.bound)
        res = replace(res, objective=float(best), gap=gap if gap is not None else res.gap,
                      stats={**res.stats, "solver_objective": res.objective})
    for d in sorted(res.chosen, key=lambda i: -problem.decisions[i].cost):
        trial = chosen - {d}
        if feasible(trial):
            obj = value(trial)
            if obj <= best:
                chosen, best = trial, obj
    if chosen == set(res.chosen):
        return res
    gap = relative_gap(float(best), res.bound)
    logger.debug("dropped %d redundant decision(s)", len(res.chosen) - len(chosen))
    return replace(res, chosen=tuple(sorted(chosen)), objective=float(best), gap=gap if gap is not None else res.gap,
                   stats={**res.stats, "dropped_redundant": len(res.chosen) - len(chosen)})
