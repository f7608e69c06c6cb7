"""The backend registry: a backend's name to its module, imported when first used.

``cpsat`` (OR-Tools CP-SAT, the default) and ``cbc`` (PuLP with its bundled CBC, run as a
subprocess). Each module exposes
``solve(problem, options, *, use_hint=True, starts=()) -> SolveResult`` (:class:`Backend`);
backends do not import each other (the warm start and the infeasibility explanation they
share live in :mod:`optimiser.solve.warmstart` and :mod:`optimiser.solve.explain`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Protocol, cast

from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.solve.result import SolveResult

logger = logging.getLogger(__name__)

_MODULES = {"cpsat": "optimiser.solve.cpsat", "cbc": "optimiser.solve.cbc"}

BACKENDS = tuple(_MODULES)
"""The backend names, the default first."""


class Backend(Protocol):
    """What a backend module provides."""

    def solve(self, problem: Problem, options: SolveOptions, *, use_hint: bool = True,
              starts: Iterable[Iterable[int]] = ()) -> SolveResult:
        """Solve ``problem`` within ``options.time_limit_s``; never raises on a non-optimal outcome."""
        ...


def check_backend(name: str) -> str:
    """``name`` if it is a known backend.

    Raises:
        ValueError: an unknown backend (the message lists the known ones).
    """
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


def backend(name: str) -> Backend:
    """The backend module called ``name`` (imported on first use: each needs its solver library).

    Raises:
        ValueError: an unknown backend.
    """
    module = importlib.import_module(_MODULES[check_backend(name)])
    return cast(Backend, module)
