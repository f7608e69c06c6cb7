"""A wall-clock deadline shared by the phases of one solve.

The deadline is the safety net that keeps the caller's time limit; the phases themselves stop
on deterministic work limits (iterations, moves, CP-SAT's deterministic time) wherever a limit
shapes the answer, so that the same input gives the same answer on an idle and a loaded machine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deadline:
    """The time limit of a solve, counted from ``start`` (``time.perf_counter()`` seconds).

    Attributes:
        limit_s: the whole time limit, seconds.
        start: when it started counting (``time.perf_counter()``).
    """

    limit_s: float
    start: float = field(default_factory=time.perf_counter)

    def elapsed_s(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.start

    def remaining_s(self) -> float:
        """Seconds left (negative once passed)."""
        return self.limit_s - self.elapsed_s()

    def share_left(self, share: float) -> float:
        """Seconds left until ``share`` of the limit has passed (at least 0)."""
        return max(0.0, share * self.limit_s - self.elapsed_s())

    def passed(self) -> bool:
        """Whether the limit has passed."""
        return self.remaining_s() <= 0.0
