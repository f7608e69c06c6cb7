"""Dispatch a :class:`~optimiser.problem.Problem` to a backend."""

from __future__ import annotations

import importlib

from optimiser.backends import BACKENDS
from optimiser.problem import Problem
from optimiser.result import SolveResult


def solve(problem: Problem, backend: str = "cpsat", *, time_limit_s: float = 60.0, seed: int = 0, workers: int = 1) -> SolveResult:
    """Solve a problem with the named backend ("cpsat" default, or "cbc").

    Never raises on a non-optimal outcome: infeasible and time-limited runs come back as a
    complete :class:`SolveResult` with their status, bound and gap.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    mod = importlib.import_module(f"optimiser.backends.{backend}")
    return mod.solve(problem, time_limit_s=time_limit_s, seed=seed, workers=workers)
