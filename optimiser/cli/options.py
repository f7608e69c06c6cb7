"""Options shared by several ``siteopt`` commands, as reusable click decorators.

- :func:`verbosity_options`: ``-v/--verbose`` (repeatable), ``-q/--quiet`` and ``--debug``,
  collected into one :class:`~optimiser.cli.logging_setup.LogSettings` parameter ``log``;
- :func:`solve_options`: ``--backend``, ``--time-limit``, ``--seed`` and ``--workers``,
  collected into one :class:`SolveOverrides` parameter ``solve``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

from optimiser.cli.logging_setup import LogSettings
from optimiser.inputs.limits import MAX_SEED, MAX_TIME_LIMIT_S, MAX_WORKERS, plain_number

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

BACKENDS = ("cpsat", "cbc")


class FiniteFloat(click.ParamType):
    """A finite number in ``[lo, hi]`` (``nan``, ``inf`` and out-of-range values are usage
    errors, exit 2, naming the option and the range)."""

    name = "seconds"

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or not self.lo <= x <= self.hi:
            self.fail(f"{value!r} is not a finite number from {plain_number(self.lo)} to {plain_number(self.hi)}", param, ctx)
        return x


@dataclass(frozen=True)
class SolveOverrides:
    """Solver settings given on the command line; ``None`` keeps the scenario's own.

    Attributes:
        backend: ``"cpsat"`` or ``"cbc"``.
        time_limit_s: solver time limit, seconds.
        seed: random seed.
        workers: solver threads (1 = reproducible).
    """

    backend: str | None = None
    time_limit_s: float | None = None
    seed: int | None = None
    workers: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`optimiser.pipeline.run_scenario` (``None`` included: it
        keeps the option as it is)."""
        return {"backend": self.backend, "time_limit_s": self.time_limit_s, "seed": self.seed, "workers": self.workers}

    def as_solver_section(self) -> dict[str, Any]:
        """The given settings as keys of a scenario's ``solver`` section (``None`` left out)."""
        return {k: v for k, v in self.as_kwargs().items() if v is not None}


def solve_options(func: F) -> F:
    """Add ``--backend``, ``--time-limit``, ``--seed`` and ``--workers``; the command receives
    them as one ``solve: SolveOverrides`` parameter."""

    @functools.wraps(func)
    def wrapper(*args: Any, backend: str | None, time_limit_s: float | None, seed: int | None, workers: int | None,
                **kwargs: Any) -> Any:
        return func(*args, solve=SolveOverrides(backend, time_limit_s, seed, workers), **kwargs)

    opts = [
        click.option("--backend", type=click.Choice(BACKENDS), default=None, help="Override the scenario's solver."),
        click.option("--time-limit", "time_limit_s", type=FiniteFloat(0.1, MAX_TIME_LIMIT_S), default=None,
                     help=f"Seconds for the whole run: network, model, solve and verification, 0.1 to {plain_number(MAX_TIME_LIMIT_S)} "
                          "(a week; overrides the scenario)."),
        click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), default=None,
                     help=f"Random seed, 0 to {MAX_SEED} (overrides the scenario)."),
        click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=None, help="Solver threads (1 = reproducible)."),
    ]
    out: Callable[..., Any] = wrapper
    for opt in reversed(opts):
        out = opt(out)
    return cast(F, out)


def verbosity_options(func: F) -> F:
    """Add ``-v/--verbose`` (repeatable), ``-q/--quiet`` and ``--debug``; the command receives
    them as one ``log: LogSettings`` parameter."""

    @functools.wraps(func)
    def wrapper(*args: Any, verbose: int, quiet: bool, debug: bool, **kwargs: Any) -> Any:
        return func(*args, log=LogSettings(verbosity=verbose, quiet=quiet, debug=debug), **kwargs)

    opts = [
        click.option("--verbose", "-v", "verbose", count=True, help="Log progress to stderr (-v info, -vv debug)."),
        click.option("--quiet", "-q", "quiet", is_flag=True, help="Warnings and errors only, no progress bar (overrides -v)."),
        click.option("--debug", is_flag=True, help="Debug logging, and the full traceback of an internal error."),
    ]
    out: Callable[..., Any] = wrapper
    for opt in reversed(opts):
        out = opt(out)
    return cast(F, out)
