"""Bounds on the solve options that the command line checks before anything heavy is loaded
(the file formats in :mod:`optimiser.inputs.schema` use the same)."""

from __future__ import annotations

__all__ = ["MAX_SEED", "MAX_TIME_LIMIT_S", "MAX_WORKERS"]

MAX_SEED = 2**31 - 1
"""Largest random seed (CP-SAT's seed is a 32-bit integer)."""
MAX_TIME_LIMIT_S = 7 * 24 * 3600.0
"""Longest time limit, seconds (a week)."""
MAX_WORKERS = 64
"""Most solver threads."""
