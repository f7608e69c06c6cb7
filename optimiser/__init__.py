"""placemaking-optimiser: place shared facilities, social spaces and pedestrian crossings
jointly so that walking between co-located firms falls, within a budget.

Public API (lazy imports, so ``import optimiser`` stays cheap)::

    read_site, read_scenario, validate_files     # optimiser.io
    build_walk_network                           # optimiser.network
    build_problem, solve                         # optimiser.problem / optimiser.solve
    run_scenario                                 # optimiser.pipeline
    run_batch                                    # optimiser.batch
    PMedian, solve_pmedian                       # optimiser.pmedian
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "read_site": "optimiser.io",
    "read_scenario": "optimiser.io",
    "validate_files": "optimiser.io",
    "default_scenario_path": "optimiser.io",
    "build_walk_network": "optimiser.network",
    "build_problem": "optimiser.problem",
    "solve": "optimiser.solve",
    "run_scenario": "optimiser.pipeline",
    "run_batch": "optimiser.batch",
    "PMedian": "optimiser.pmedian",
    "solve_pmedian": "optimiser.pmedian",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'optimiser' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
