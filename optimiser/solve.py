"""Dispatch a :class:`~optimiser.problem.Problem` to a backend."""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import replace

from optimiser.backends import BACKENDS
from optimiser.problem import Problem, fix_decisions, relax_access_crossings
from optimiser.result import SolveResult, relative_gap

RELAX_MIN_LEVELS = 50_000
"""``strategy="auto"`` solves the access relaxation first from this many radius levels up..."""

RELAX_MAX_LEVELS = 250_000
"""...when the relaxation has at most this many (and at most half as many as the exact model):
beyond that CP-SAT's bound on the relaxation barely moves within a minute either (measured on
benchmarks/joint: 200 firms, 584k relaxed levels, 21% gap after 45 s)."""

RELAX_SHARE = 0.65
"""Share of the time limit given to the relaxation in the two-phase strategy."""

STRATEGIES = ("auto", "direct", "relax-first")


def solve(problem: Problem, backend: str = "cpsat", *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1,
          strategy: str = "auto") -> SolveResult:
    """Solve a problem with the named backend ("cpsat" default, or "cbc").

    ``strategy``:

    - ``"direct"``: the backend on the exact model for the whole time limit.
    - ``"relax-first"``: first the backend on :func:`~optimiser.problem.relax_access_crossings`
      (walks to facilities may use every candidate crossing; much smaller, and its bound is
      a valid bound here) for ``RELAX_SHARE`` of the time; if its optimum is a layout whose
      exact objective is the same, that layout is proven optimal and returned. Otherwise
      crossings and sites are re-optimised alternately on the exact model from that layout,
      then the exact model gets any time left (:func:`_relax_first`); the reported bound is
      the better proven one.
    - ``"auto"`` (default): ``"relax-first"`` for models with at least ``RELAX_MIN_LEVELS``
      radius levels whose relaxation has at most half as many and at most
      ``RELAX_MAX_LEVELS``, else ``"direct"``.

    Measured on ``benchmarks/joint`` (README there). Never raises on a non-optimal outcome:
    infeasible and time-limited runs come back as a complete :class:`SolveResult` with their
    status, bound and gap.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    mod = importlib.import_module(f"optimiser.backends.{backend}")
    relaxed = None
    if strategy != "direct":
        n_levels = sum(len(c.levels) for c in problem.clients)
        if strategy == "relax-first" or n_levels >= RELAX_MIN_LEVELS:
            relaxed = relax_access_crossings(problem)
            if relaxed is not None and strategy == "auto" and (
                    2 * relaxed.info["levels"] > n_levels or relaxed.info["levels"] > RELAX_MAX_LEVELS):
                relaxed = None
    if relaxed is None:
        res = mod.solve(problem, time_limit_s=time_limit_s, seed=seed, workers=workers)
    else:
        res = _relax_first(problem, relaxed, mod, time_limit_s, seed, workers)
    return drop_redundant(problem, res)


def _relax_first(problem: Problem, relaxed: Problem, mod, time_limit_s: float, seed: int, workers: int) -> SolveResult:
    """The two-phase strategy of :func:`solve`.

    1. The relaxation, for ``RELAX_SHARE`` of the time: a proven bound, and a layout.
    2. Alternating exact re-optimisation from that layout: its sites and social spaces fixed,
       the crossings re-optimised; then those crossings fixed, the sites re-optimised; and so
       on while it improves. Each step is small (fixing one side collapses every access option
       to the other side's decisions) and gets half of the time left.
    3. With time still left, the exact model, warm-started from the best layout so far.

    The incumbent is the best exact layout found, the bound the best proven one.
    """
    t0 = time.perf_counter()

    def remaining() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    r1 = mod.solve(relaxed, time_limit_s=RELAX_SHARE * time_limit_s, seed=seed, workers=workers)
    info: dict = {"levels": relaxed.info["levels"], "status": r1.status, "objective": r1.objective,
                  "bound": r1.bound, "seconds": round(time.perf_counter() - t0, 3)}
    if r1.status not in ("optimal", "feasible"):
        # infeasible or nothing found: the exact model decides (and explains) with what is left
        res = mod.solve(problem, time_limit_s=max(remaining(), 0.5 * time_limit_s), seed=seed, workers=workers)
        return replace(res, solve_seconds=time.perf_counter() - t0, stats={**res.stats, "relaxation": info})
    layout = tuple(sorted(r1.chosen))
    feasible = problem.is_feasible(set(layout))
    best = problem.objective_of(set(layout)) if feasible else None
    info["layout_objective"] = best
    if r1.status == "optimal" and feasible and best <= r1.objective:
        # the relaxation never walks further, so its optimum bounds this problem's optimum
        return replace(r1, objective=float(best), bound=float(best), gap=0.0, solve_seconds=time.perf_counter() - t0,
                       message="proven optimal (the access relaxation's optimum walks no further here)",
                       stats={**r1.stats, "relaxation": info, "incumbent": "relaxation"})
    crossing = {i for i, d in enumerate(problem.decisions) if d.kind == "crossing"}
    others = [i for i in range(len(problem.decisions)) if i not in crossing]
    steps = []
    last = r1.stats
    for k in range(6):
        if remaining() < 0.15 * time_limit_s:
            break
        fix_ids = others if k % 2 == 0 else sorted(crossing)
        r = mod.solve(fix_decisions(problem, {i: int(i in layout) for i in fix_ids}), time_limit_s=0.5 * remaining(),
                      seed=seed, workers=workers, starts=(layout,) if feasible else ())
        obj = problem.objective_of(set(r.chosen)) if r.status in ("optimal", "feasible") else None
        steps.append({"re-optimised": "crossings" if k % 2 == 0 else "sites", "status": r.status, "objective": obj,
                      "seconds": round(time.perf_counter() - t0, 3)})
        if obj is not None and (best is None or obj < best):
            layout, best, feasible, last = tuple(sorted(r.chosen)), obj, True, r.stats
        elif k >= 1:
            break  # neither side improves the other any more
    info["alternating"] = steps
    bound = float(r1.bound) if r1.bound is not None and math.isfinite(r1.bound) else None
    stats = {**last, "relaxation": info, "bound_from": "relaxation", "incumbent": "alternating"}
    if remaining() >= 0.15 * time_limit_s or best is None:
        r3 = mod.solve(problem, time_limit_s=max(remaining(), 0.1 * time_limit_s), seed=seed, workers=workers,
                       starts=(layout,) if feasible else ())
        if r3.status not in ("optimal", "feasible"):  # pragma: no cover - the start is feasible
            return replace(r3, solve_seconds=time.perf_counter() - t0, stats={**r3.stats, "relaxation": info})
        stats = {**r3.stats, "relaxation": info}
        layout, best = tuple(sorted(r3.chosen)), problem.objective_of(set(r3.chosen))
        if r3.bound is not None and (bound is None or r3.bound > bound):
            bound = float(r3.bound)
            stats["bound_from"] = "exact model"
        else:
            stats["bound_from"] = "relaxation"
    bound = min(bound, float(best)) if bound is not None else None
    gap = relative_gap(float(best), bound)
    status = "optimal" if gap == 0.0 else "feasible"
    msg = "proven optimal" if status == "optimal" else f"time limit reached; gap {100 * (gap or 0):.2f}%"
    return SolveResult(status, float(best), bound, gap, time.perf_counter() - t0, r1.backend, seed, layout, (), msg, stats)


def drop_redundant(problem: Problem, res: SolveResult) -> SolveResult:
    """Report the chosen layout's exact objective, and remove chosen decisions nothing needs.

    Ties in walking are common (a second crossing no route uses, a social space with no
    coverage to add), and a solver may return them. Each chosen decision, dearest first, is
    dropped when the layout stays feasible and its exact objective does not rise, so the
    reported walking optimum is unchanged and nothing is built for nothing.
    """
    if res.status not in ("optimal", "feasible"):
        return res
    chosen = set(res.chosen)
    # a time-limited incumbent may leave level variables above what its decisions imply, so
    # its reported value can overstate the layout: report the layout's exact objective
    best = problem.objective_of(chosen)
    if best != res.objective:
        gap = relative_gap(float(best), res.bound)
        res = replace(res, objective=float(best), gap=gap if gap is not None else res.gap,
                      stats={**res.stats, "solver_objective": res.objective})
    for d in sorted(res.chosen, key=lambda i: -problem.decisions[i].cost_gbp):
        trial = chosen - {d}
        if problem.is_feasible(trial) and problem.objective_of(trial) <= best:
            chosen = trial
            best = problem.objective_of(trial)
    if chosen == set(res.chosen):
        return res
    gap = relative_gap(float(best), res.bound)
    return replace(res, chosen=tuple(sorted(chosen)), objective=float(best), gap=gap if gap is not None else res.gap,
                   stats={**res.stats, "dropped_redundant": len(res.chosen) - len(chosen)})
