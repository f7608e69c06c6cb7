"""The time limit of a whole run: candidates, walking network, model build, solve and
verification share one wall-clock budget (``--time-limit``); the solver gets what is left.

:class:`RunClock` is passed through the pipeline, which names the phase it enters
(:meth:`RunClock.enter`). The stages check it in their long loops through :func:`checkpoint`
(the clock of the run in progress, kept in a context variable, so the stages' signatures do
not change). When the limit has passed before the solve starts, :class:`TimeLimitError` says
which phase it stopped in; a solve cut short by the limit is reported by its status and
``stopped_in: solve`` in ``metrics.json``.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from optimiser.errors import TimeLimitError

logger = logging.getLogger(__name__)

__all__ = ["PHASES", "RunClock", "checkpoint", "active"]

PHASES = {
    "read": "reading the inputs",
    "candidates": "laying out candidate sites and crossings",
    "network": "building the walking network",
    "build": "building the optimisation model",
    "solve": "solving",
    "verify": "verifying the layout",
}
"""The pipeline's phases, in order, and how a message names them."""

_ACTIVE: contextvars.ContextVar[RunClock | None] = contextvars.ContextVar("siteopt_run_clock", default=None)


@dataclass
class RunClock:
    """One run's time limit and the phase it is in.

    Attributes:
        limit_s: the whole run's limit, seconds (``--time-limit``).
        start: ``time.perf_counter()`` when the run started.
        phase: the phase in progress (a key of :data:`PHASES`).
        entered: seconds since ``start`` at which each phase was entered.
    """

    limit_s: float
    start: float = field(default_factory=time.perf_counter)
    phase: str = "read"
    entered: dict[str, float] = field(default_factory=dict)

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start

    def remaining_s(self) -> float:
        return self.limit_s - self.elapsed_s()

    def check(self) -> None:
        """Raise :class:`TimeLimitError` naming the phase when the limit has passed."""
        if self.remaining_s() <= 0.0:
            raise TimeLimitError(
                f"the run's wall-clock limit of {self.limit_s:g} s ran out while {PHASES.get(self.phase, self.phase)} "
                f"(after {self.elapsed_s():.1f} s; phase '{self.phase}'); raise --time-limit (or solver.time_limit_s), "
                "or make the model smaller (coarser candidate_spacing_m or crossings.spacing_m)", self.phase)

    def enter(self, phase: str) -> None:
        """Start ``phase`` (checking the limit first)."""
        self.check()
        self.phase = phase
        self.entered[phase] = round(self.elapsed_s(), 3)
        logger.debug("phase %s at %.2f s of %.1f s", phase, self.elapsed_s(), self.limit_s)

    def solver_limit_s(self, reserve_s: float) -> float:
        """Seconds the solver may use: what is left, less ``reserve_s`` for verification (at
        most a quarter of what is left), never below 0.05 s."""
        left = self.remaining_s()
        return max(0.05, left - min(max(0.0, reserve_s), 0.25 * left))


def checkpoint() -> None:
    """Check the time limit of the run in progress (nothing outside a run)."""
    clock = _ACTIVE.get()
    if clock is not None:
        clock.check()


@contextmanager
def active(clock: RunClock) -> Iterator[RunClock]:
    """Make ``clock`` the one :func:`checkpoint` checks, for the duration of the block."""
    token = _ACTIVE.set(clock)
    try:
        yield clock
    finally:
        _ACTIVE.reset(token)
