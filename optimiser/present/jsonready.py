"""JSON-ready copies of Python values (numpy numbers, inf/nan, paths): a module of its own, so
that the command line can print JSON without importing the run directory's writers (and with
them SciPy, pyproj and pydantic)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_ready"]


def json_ready(obj: Any) -> Any:
    """A JSON-ready copy of ``obj``: numpy numbers as Python numbers, inf/nan as None, paths as
    strings, tuples as lists, keys as strings."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj
