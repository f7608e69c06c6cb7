"""The time limit of a whole run: candidates, walking network, model build, solve and
verification share one wall-clock budget (``--time-limit``); the solver gets what is left.

:class:`RunClock` is passed through the pipeline, which names the phase it enters
(:meth:`RunClock.enter`). The stages check it in their long loops through :func:`checkpoint`
(the clock of the run in progress, kept in a context variable, so the stages' signatures do
not change). When the limit has passed before the solve starts, :class:`TimeLimitError` says
which phase it stopped in; a solve cut short by the limit is reported by its status and
``stopped_in: solve`` in ``metrics.json``.

The limit is a safety net, widened on a busy machine: by the load average when the run starts
(the caller's :func:`optimiser.solve.cpsat_model.wall_clock_net_s`), and again when the solve
starts by how slowly the run's own work went (:meth:`RunClock.slowdown`): the load average is a
one-minute mean and misses a machine that became busy just before the run (two CPU hogs started
3 s earlier: the candidates, network and model took 4x as long, the net left for the solve was
half an idle run's, and it ended a solve that finishes on an idle machine).
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from optimiser.errors import TimeLimitError

logger = logging.getLogger(__name__)

__all__ = ["PHASES", "RunClock", "checkpoint", "active", "load_per_cpu", "usable_cpus"]

PHASES = {
    "read": "reading the inputs",
    "candidates": "laying out candidate sites and crossings",
    "network": "building the walking network",
    "build": "building the optimisation model",
    "solve": "solving",
    "verify": "verifying the layout",
}
"""The pipeline's phases, in order, and how a message names them."""

MAX_WIDENING = 10.0
"""The most a net is widened for a busy machine, in all (the load average's factor at the start
times the slowdown's; :data:`optimiser.solve.cpsat_model.LOAD_FACTOR_MAX` is this)."""
SLOWDOWN_MARGIN = 1.25
"""A slowdown beyond the start's load factor by less than this is noise (garbage collection,
page faults, the render process warming up): the net is left as it is."""
SLOWDOWN_MIN_WINDOW_S = 0.5
"""The least wall-clock time of work (candidates to the solve) a slowdown is measured over."""
_WORK_PHASES = ("candidates", "network", "build")
"""The phases the run computes in, on one thread of its own (reading waits for the file and
for the render process's read-ahead, and is not counted)."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; the machine's count where the platform
    has none), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_per_cpu() -> float:
    """The 1-minute load average per usable CPU, at least 1, at most :data:`MAX_WIDENING` (1.0
    where the platform has none): the factor :func:`optimiser.solve.cpsat_model.load_factor`
    widens a net by when the run starts."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 1.0
    return min(MAX_WIDENING, max(1.0, load / usable_cpus()))


_ACTIVE: contextvars.ContextVar[RunClock | None] = contextvars.ContextVar("siteopt_run_clock", default=None)


@dataclass
class RunClock:
    """One run's time limit and the phase it is in.

    Attributes:
        limit_s: the whole run's limit, seconds (``--time-limit``).
        start: ``time.perf_counter()`` when the run started.
        phase: the phase in progress (a key of :data:`PHASES`).
        entered: seconds since ``start`` at which each phase was entered.
        cpu_entered: the process's CPU time (``time.process_time()``) when each phase was entered.
        load_at_start: :func:`load_per_cpu` when the clock was made (the factor the caller's
            ``limit_s`` is taken to hold already).
        widened_by: the factor :meth:`solver_limit_s` widened the limit by for a slow run (1.0: not).
    """

    limit_s: float
    start: float = field(default_factory=time.perf_counter)
    phase: str = "read"
    entered: dict[str, float] = field(default_factory=dict)
    cpu_entered: dict[str, float] = field(default_factory=dict)
    load_at_start: float = field(default_factory=load_per_cpu)
    widened_by: float = 1.0

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start

    def remaining_s(self) -> float:
        return self.limit_s - self.elapsed_s()

    def check(self) -> None:
        """Raise :class:`TimeLimitError` naming the phase when the limit has passed (first widened
        for a slow run, :meth:`widen_for_slowdown`: a machine that became busy just before the run
        must not end it in the candidates, network or build where an idle one would solve)."""
        if self.remaining_s() <= 0.0:
            self.widen_for_slowdown()
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
        self.cpu_entered[phase] = time.process_time()
        logger.debug("phase %s at %.2f s of %.1f s", phase, self.elapsed_s(), self.limit_s)

    def slowdown(self) -> float | None:
        """Wall-clock seconds per CPU second of this process since it began computing (the
        first of the candidates, network and build phases it entered): about 1 on a core of its
        own, 4 beside two CPU hogs on 2 cores. ``None`` before :data:`SLOWDOWN_MIN_WINDOW_S` of
        such work, or where no CPU time was counted."""
        first = next((p for p in _WORK_PHASES if p in self.cpu_entered), None)
        if first is None:
            return None
        wall = self.elapsed_s() - self.entered[first]
        cpu = time.process_time() - self.cpu_entered[first]
        if wall < SLOWDOWN_MIN_WINDOW_S or cpu <= 0.0:
            return None
        return wall / cpu

    def widen_for_slowdown(self) -> float:
        """Widen the limit (once) when the run's work went more slowly than the load average at
        the start allowed for: by the slowdown over that load factor, the two together at most
        :data:`MAX_WIDENING`. Returns the factor (1.0: left as it was)."""
        if self.widened_by != 1.0 or not math.isfinite(self.limit_s):
            return self.widened_by
        slow = self.slowdown()
        if slow is None:
            return 1.0
        factor = min(slow, MAX_WIDENING) / max(1.0, self.load_at_start)
        if factor < SLOWDOWN_MARGIN:
            logger.debug("the run's work took %.2f s of wall clock per CPU second (load factor %.2f): net left at %.1f s",
                         slow, self.load_at_start, self.limit_s)
            return 1.0
        before = self.limit_s
        self.limit_s *= factor
        self.widened_by = factor
        logger.info("the machine is busy: the run's work took %.1f s of wall clock per CPU second (the load average "
                    "allowed for %.1f); its wall-clock safety net is widened from %.1f s to %.1f s", slow,
                    self.load_at_start, before, self.limit_s)
        return factor

    def solver_limit_s(self, reserve_s: float) -> float:
        """Seconds the solver may use: what is left (of the limit, first widened for a slow run:
        :meth:`widen_for_slowdown`), less ``reserve_s`` for verification (at most a quarter of
        what is left), never below 0.05 s."""
        self.widen_for_slowdown()
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
