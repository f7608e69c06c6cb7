"""Bounds on the solve options that the command line checks before anything heavy is loaded
(the file formats in :mod:`optimiser.inputs.schema` use the same), and the checks of options
given from Python (:class:`~optimiser.inputs.domain.SolveOptions`, ``solve_pmedian``, ``run_batch``)."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["MAX_SEED", "MAX_TIME_LIMIT_S", "MAX_WORKERS", "plain_number", "time_limit_problem", "whole_number_problem"]

MAX_SEED = 2**31 - 1
"""Largest random seed (CP-SAT's seed is a 32-bit integer)."""
MAX_TIME_LIMIT_S = 7 * 24 * 3600.0
"""Longest time limit, seconds (a week)."""
MAX_WORKERS = 64
"""Most solver threads."""


def plain_number(value: float) -> str:
    """A bound or limit as a reader writes it: thousands separated, no exponent and no float
    noise (``1,000,000``, ``1,234,567.5``, ``99,999.95``, ``0.1``); below 0.001, ``g`` format."""
    x = float(value)
    if not math.isfinite(x):
        return str(value)
    if x.is_integer():
        return f"{x:,.0f}"
    if abs(x) < 1e-3:
        return f"{x:g}"
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def time_limit_problem(value: Any) -> str | None:
    """Why ``value`` is not a time limit (a real number of seconds, > 0, at most
    :data:`MAX_TIME_LIMIT_S`), or ``None`` when it is one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 0 < float(value) <= MAX_TIME_LIMIT_S:
        return f"must be a number of seconds > 0 and at most {MAX_TIME_LIMIT_S:,.0f}, got {value!r}"
    return None


def whole_number_problem(value: Any, low: int, high: int | None = None) -> str | None:
    """Why ``value`` is not a whole number from ``low`` to ``high`` (no upper bound: ``None``),
    or ``None`` when it is one (a bool is not a number)."""
    whole = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if not whole or int(value) < low or (high is not None and int(value) > high):
        return (f"must be a whole number from {low} to {high:,}, got {value!r}" if high is not None
                else f"must be a whole number >= {low}, got {value!r}")
    return None
