"""Dispatch a :class:`~optimiser.problem.Problem` to a backend."""

from __future__ import annotations

import importlib
from dataclasses import replace

from optimiser.backends import BACKENDS
from optimiser.problem import Problem
from optimiser.result import SolveResult, relative_gap


def solve(problem: Problem, backend: str = "cpsat", *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1) -> SolveResult:
    """Solve a problem with the named backend ("cpsat" default, or "cbc").

    Never raises on a non-optimal outcome: infeasible and time-limited runs come back as a
    complete :class:`SolveResult` with their status, bound and gap.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    mod = importlib.import_module(f"optimiser.backends.{backend}")
    res = mod.solve(problem, time_limit_s=time_limit_s, seed=seed, workers=workers)
    return drop_redundant(problem, res)


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
