"""Dispatch a :class:`~optimiser.model.problem.Problem` to a backend."""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import replace

from optimiser.model.problem import Problem, fix_decisions, relax_access_crossings
from optimiser.solve.registry import BACKENDS
from optimiser.solve.result import SolveResult, relative_gap

RELAX_MIN_LEVELS = 50_000
"""``strategy="auto"`` uses relax-first from this many radius levels up (when the access
relaxation has at most half as many)."""

RELAX_SHARE = 0.7
"""Share of the time left given to the reduced relaxation in the relaxation-first strategy..."""

RELAX_MAX_LEVELS = 250_000
"""...which runs only when it has at most this many radius levels: beyond that CP-SAT's bound on it
barely moves within a minute (measured on benchmarks/joint: 200 firms, 584k relaxed levels,
21% gap after 45 s), and the Lagrangian bound is the better one."""

EXACT_MAX_LEVELS = 1_000_000
"""The reduced exact model gets the time left only up to this many radius levels (building a
larger CP-SAT model takes most of a minute by itself)."""

LAGRANGIAN_SHARE = 0.25
"""Share of the time limit by which the Lagrangian bound stops (counted from the start; it
usually converges sooner) when the relaxation is small enough for the backend..."""

LAGRANGIAN_SHARE_LARGE = 0.9
"""...and when it is not: then the Lagrangian bound is the bound, and it needs the time
(500 firms: 2,000 subgradient iterations, 32 s, to come within 0.9% of the incumbent)."""

STRATEGIES = ("auto", "direct", "relax-first")


def solve(problem: Problem, backend: str = "cpsat", *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1,
          strategy: str = "auto") -> SolveResult:
    """Solve a problem with the named backend ("cpsat" default, or "cbc").

    ``strategy``:

    - ``"direct"``: the backend on the exact model for the whole time limit.
    - ``"relax-first"``: for large models (:func:`_relax_first`). The bound comes from the
      access relaxation (:func:`~optimiser.model.problem.relax_access_crossings`: walks to
      facilities may use every candidate crossing; its bounds are bounds here): first its
      Lagrangian bound (:mod:`optimiser.solve.lagrangian`), whose reduction tests close the
      decisions no better layout uses, then, when small enough, the backend on the reduced
      relaxation. The incumbent comes from the greedy layout, the Lagrangian's layouts and
      alternating exact re-optimisation (crossings by the backend, sites by interchange,
      :func:`~optimiser.solve.heuristic.improve_sites`); time left goes to the reduced exact model.
      The time limit covers every phase.
    - ``"auto"`` (default): ``"relax-first"`` for models with at least ``RELAX_MIN_LEVELS``
      radius levels whose relaxation has at most half as many, else ``"direct"``.

    Measured on ``benchmarks/joint`` (README there). Never raises on a non-optimal outcome:
    infeasible and time-limited runs come back as a complete :class:`SolveResult` with their
    status, bound and gap.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    mod = importlib.import_module(f"optimiser.solve.{backend}")
    t0 = time.perf_counter()
    relaxed = None
    if strategy != "direct":
        n_levels = sum(len(c.levels) for c in problem.clients)
        if strategy == "relax-first" or n_levels >= RELAX_MIN_LEVELS:
            relaxed = relax_access_crossings(problem)
            if relaxed is not None and strategy == "auto" and 2 * relaxed.info["levels"] > n_levels:
                relaxed = None
    if relaxed is None:
        return drop_redundant(problem, mod.solve(problem, time_limit_s=time_limit_s, seed=seed, workers=workers))
    from optimiser.solve.heuristic import Evaluator

    ev = Evaluator(problem)
    res = drop_redundant(problem, _relax_first(problem, relaxed, mod, time_limit_s, seed, workers, t0, ev), ev)
    # the whole call counts: building the relaxation, every phase, and dropping what is unused
    return replace(res, solve_seconds=time.perf_counter() - t0)


def _relax_first(problem: Problem, relaxed: Problem, mod, time_limit_s: float, seed: int, workers: int, t0: float,
                 ev) -> SolveResult:
    """The relaxation-first strategy of :func:`solve` (measured on ``benchmarks/joint``).

    The time limit counts from ``t0`` (before the relaxation was built).

    1. An incumbent: the greedy layout (:func:`~optimiser.solve.heuristic.greedy_layout`), its sites
       re-chosen by :func:`~optimiser.solve.heuristic.improve_sites`.
    2. A bound: the Lagrangian bound of the relaxation (:mod:`optimiser.solve.lagrangian`), started
       from the incumbent's walking lengths. It runs up to ``LAGRANGIAN_SHARE`` of the time
       when the relaxation is small enough for the backend (at most ``RELAX_MAX_LEVELS``
       levels), else up to ``LAGRANGIAN_SHARE_LARGE``: then it is the bound. Its reduction
       tests close every decision that cannot be part of a better layout. It runs in two
       rounds: between them the incumbent's sites are re-chosen, and when crossings were
       closed the second round works on a tighter relaxation, whose access options over
       closed decisions are dropped instead of relaxed. The layouts it meets on the way are
       offered as incumbents. The later phases work on the problem with the closed decisions
       fixed at 0 (much smaller).
    3. Alternating exact re-optimisation from the incumbent, while it improves and time is
       left: the sites fixed, the crossings re-optimised by the backend; then the sites
       re-chosen by interchange. The reduction tests run again with the better incumbent.
    4. The backend on the tightest relaxation at hand, reduced (when it has at most
       ``RELAX_MAX_LEVELS`` levels), for ``RELAX_SHARE`` of the time left: its proven bound is
       a bound here too (see below), and its layout another candidate.
    5. Any time left: the reduced exact model (at most ``EXACT_MAX_LEVELS`` levels),
       warm-started from the best layout.

    Reduced problems keep every layout better than the incumbent, so the optimum is either
    the incumbent or inside them: the reported bound is the best proven one, at most the
    incumbent's objective (equal to it: proven optimal).
    """
    from optimiser.solve.heuristic import greedy_layout, improve_sites
    from optimiser.solve.lagrangian import lagrangian_bound

    def remaining() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    def sites_time() -> float:
        """Time for one site interchange: a tenth of what is left (at least 0.2 s)."""
        return max(0.2, 0.1 * remaining())

    best: int | None = None
    layout: tuple[int, ...] = ()
    stats: dict = {}
    bound: float | None = None
    bound_from = None
    info: dict = {"levels": relaxed.info["levels"]}

    def offer(cand, where: str) -> None:
        nonlocal best, layout
        cand = tuple(sorted(int(i) for i in cand))
        x = ev.layout(cand)
        if ev.feasible(x):
            obj = int(ev.objective(x))
            if best is None or obj < best:
                best, layout = obj, cand
                info["incumbent_from"] = where

    def prove(value, where: str) -> None:
        nonlocal bound, bound_from
        if value is not None and math.isfinite(value) and (bound is None or value > bound):
            bound, bound_from = float(value), where

    # 1. incumbent: the greedy layout, its sites re-chosen
    greedy = greedy_layout(problem, time_budget_s=max(0.5, 0.1 * time_limit_s), evaluator=ev)
    if greedy is not None:
        offer(greedy, "greedy")
        offer(improve_sites(problem, greedy, evaluator=ev, time_limit_s=sites_time()), "greedy, sites re-chosen")
    info["greedy_seconds"] = round(time.perf_counter() - t0, 3)
    # 2. Lagrangian bound and reduction tests on the relaxation
    large = relaxed.info["levels"] > RELAX_MAX_LEVELS
    share = LAGRANGIAN_SHARE_LARGE if large else LAGRANGIAN_SHARE
    start = None
    if layout:
        start = ev.client_lengths(ev.open_options(ev.layout(layout)))[0]
    # in two rounds, each offering its layouts as incumbents on the way (200 firms: a
    # Lagrangian layout, 4,857M, beats the greedy's, 5,026M, and sharpens the steps and
    # tests); between them the best layout's sites are re-chosen
    seen: set = set()

    def on_layout(cand):
        if cand not in seen:
            seen.add(cand)
            offer(cand, "lagrangian")
        return best

    end = share * time_limit_s
    target = relaxed
    lag = lagrangian_bound(relaxed, best, time_limit_s=max(0.0, 0.5 * (end - (time.perf_counter() - t0))),
                           max_iterations=100_000, start_lengths=start, on_layout=on_layout)
    rounds = [lag.iterations]
    if math.isfinite(lag.bound):
        offer(lag.layout, "lagrangian")
        if layout:
            offer(improve_sites(problem, layout, evaluator=ev, time_limit_s=sites_time()), "lagrangian, sites re-chosen")
        if best is None or lag.bound < best:
            # round 2 on a tighter relaxation when crossings were closed: their access options
            # are dropped instead of relaxed (500 firms: 48 of 102 crossings closed, the bound
            # 0.88% -> 0.68% below the incumbent in the same number of iterations)
            mult = lag.multipliers
            if any(problem.decisions[i].kind == "crossing" for i in lag.fixed_zero):
                tight = relax_access_crossings(problem, closed=lag.fixed_zero)
                if tight is not None:
                    target = tight
                    info["tightened_levels"] = tight.info["levels"]
            if target is not relaxed or lag.step >= 1e-4:
                more = lagrangian_bound(target, best, time_limit_s=max(0.0, end - (time.perf_counter() - t0)),
                                        max_iterations=100_000, multipliers=mult, initial_step=lag.step,
                                        on_layout=on_layout, closed=lag.fixed_zero)
                rounds.append(more.iterations)
                lag = replace(more, bound=max(lag.bound, more.bound), fixed_zero=lag.fixed_zero | more.fixed_zero)
                offer(lag.layout, "lagrangian")
        if layout and info.get("incumbent_from") == "lagrangian" and remaining() > 0.05 * time_limit_s:
            # the last phase when the relaxation is large: half of what is left
            offer(improve_sites(problem, layout, evaluator=ev, time_limit_s=0.5 * remaining()),
                  "lagrangian, sites re-chosen")
    if lag.bound == math.inf:
        # the budget and counts alone cannot be met: the exact model explains why
        res = mod.solve(problem, time_limit_s=max(remaining(), 0.1 * time_limit_s), seed=seed, workers=workers)
        return replace(res, stats={**res.stats, "relaxation": info})
    prove(lag.bound, "lagrangian")
    fixed = set(lag.fixed_zero)
    info["lagrangian"] = {"bound": lag.bound, "iterations": rounds, "closed": len(fixed),
                          "seconds": round(time.perf_counter() - t0, 3)}
    cache: dict = {}

    def reduced() -> Problem:
        """The problem with the closed decisions fixed at 0 (built once per set of closed)."""
        if len(fixed) not in cache:
            cache[len(fixed)] = fix_decisions(problem, {i: 0 for i in fixed}) if fixed else problem
        return cache[len(fixed)]

    ub_tested = best
    # 3. alternating exact re-optimisation from the incumbent: crossings by the backend, then
    # sites by interchange, while it improves
    crossing = {i for i, d in enumerate(problem.decisions) if d.kind == "crossing"}
    others = [i for i in range(len(problem.decisions)) if i not in crossing and i not in fixed]
    steps = []
    while best is not None and remaining() > 0.4 * time_limit_s and len(steps) < 6:
        before = best
        r = mod.solve(fix_decisions(reduced(), {i: int(i in layout) for i in others}),
                      time_limit_s=0.25 * remaining(), seed=seed, workers=workers, starts=(layout,))
        if r.status in ("optimal", "feasible"):
            offer(r.chosen, "alternating")
        offer(improve_sites(problem, layout, evaluator=ev, time_limit_s=sites_time()), "alternating")
        steps.append({"status": r.status, "objective": best, "seconds": round(time.perf_counter() - t0, 3)})
        if best >= before:
            break  # neither side improves the other any more
    info["alternating"] = steps
    if best is not None and ub_tested is not None and best < ub_tested and remaining() > 0.1 * time_limit_s:
        # the tests again, against the better incumbent (a few iterations from the multipliers)
        lag2 = lagrangian_bound(target, best, time_limit_s=min(2.0, 0.05 * time_limit_s), max_iterations=50,
                                multipliers=lag.multipliers, closed=fixed)
        prove(lag2.bound, "lagrangian")
        fixed |= lag2.fixed_zero
        info["lagrangian"]["closed"] = len(fixed)
    # 4. the reduced relaxation: a proven bound and another layout (when small enough to help)
    if not large and remaining() > 0.1 * time_limit_s and (best is None or bound is None or bound < best):
        # the tightest relaxation at hand: access options over closed decisions dropped, and
        # those decisions fixed at 0
        rrel = (relax_access_crossings(problem, closed=fixed) or relaxed) if fixed else relaxed
        if fixed:
            rrel = fix_decisions(rrel, {i: 0 for i in fixed})
        info["reduced_relaxation"] = {"levels": sum(len(c.levels) for c in rrel.clients)}
        if info["reduced_relaxation"]["levels"] <= RELAX_MAX_LEVELS:
            r1 = mod.solve(rrel, time_limit_s=RELAX_SHARE * remaining(), seed=seed, workers=workers,
                           starts=(layout,) if layout else ())
            info["reduced_relaxation"].update({"status": r1.status, "objective": r1.objective, "bound": r1.bound,
                                               "seconds": round(time.perf_counter() - t0, 3)})
            if r1.status in ("optimal", "feasible"):
                prove(r1.bound, "relaxation")
                offer(r1.chosen, "relaxation")
                offer(improve_sites(problem, r1.chosen, evaluator=ev, time_limit_s=sites_time()), "relaxation")
                stats = r1.stats
    # 5. the reduced exact model with the time left
    if best is None or (remaining() >= 0.1 * time_limit_s and (bound is None or bound < best)):
        red = reduced()
        info["reduced_levels"] = sum(len(c.levels) for c in red.clients)
        if best is None or info["reduced_levels"] <= EXACT_MAX_LEVELS:
            # the backend's limit is its search: leave time for building its model and for the
            # checks after it (about 20 us per radius level, measured at 100-500 firms)
            limit = remaining() - 1.0 - 2e-5 * info["reduced_levels"]
            r3 = mod.solve(red, time_limit_s=max(limit, 0.05 * time_limit_s), seed=seed, workers=workers,
                           starts=(layout,) if layout else ())
            if r3.status in ("optimal", "feasible"):
                offer(r3.chosen, "exact model")
                prove(r3.bound, "exact model")
                stats = r3.stats
            elif best is None:
                return replace(r3, stats={**r3.stats, "relaxation": info})
    bound = min(bound, float(best)) if bound is not None else None
    gap = relative_gap(float(best), bound)
    status = "optimal" if gap == 0.0 else "feasible"
    msg = "proven optimal" if status == "optimal" else f"time limit reached; gap {100 * (gap or 0):.2f}%"
    stats = {**stats, "relaxation": info, "bound_from": bound_from, "incumbent": info.get("incumbent_from")}
    return SolveResult(status, float(best), bound, gap, time.perf_counter() - t0, mod.__name__.rsplit(".", 1)[-1], seed,
                       layout, (), msg, stats)


def drop_redundant(problem: Problem, res: SolveResult, evaluator=None) -> SolveResult:
    """Report the chosen layout's exact objective, and remove chosen decisions nothing needs.

    Ties in walking are common (a second crossing no route uses, a social space with no
    coverage to add), and a solver may return them. Each chosen decision, dearest first, is
    dropped when the layout stays feasible and its exact objective does not rise, so the
    reported walking optimum is unchanged and nothing is built for nothing. ``evaluator``
    (a :class:`~optimiser.solve.heuristic.Evaluator` of ``problem``) makes the checks vectorised.
    """
    if res.status not in ("optimal", "feasible"):
        return res
    if evaluator is not None:
        def value(chosen: set[int]) -> int:
            return int(evaluator.objective(evaluator.layout(chosen)))

        def feasible(chosen: set[int]) -> bool:
            return bool(evaluator.feasible(evaluator.layout(chosen)))
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
    for d in sorted(res.chosen, key=lambda i: -problem.decisions[i].cost_gbp):
        trial = chosen - {d}
        if feasible(trial):
            obj = value(trial)
            if obj <= best:
                chosen, best = trial, obj
    if chosen == set(res.chosen):
        return res
    gap = relative_gap(float(best), res.bound)
    return replace(res, chosen=tuple(sorted(chosen)), objective=float(best), gap=gap if gap is not None else res.gap,
                   stats={**res.stats, "dropped_redundant": len(res.chosen) - len(chosen)})
