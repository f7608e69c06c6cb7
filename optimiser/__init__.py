"""placemaking-optimiser: place shared facilities, social spaces and pedestrian crossings
jointly so that walking between co-located firms falls, within a budget.

Public API (lazy imports, so ``import optimiser`` stays cheap)::

    read_site, read_scenario, validate_files     # optimiser.inputs
    build_walk_network                           # optimiser.network.builder
    build_problem, solve                         # optimiser.model.build / optimiser.solve.strategy
    run_scenario                                 # optimiser.pipeline
    run_batch, load_batch, expand_batch          # optimiser.batch
    PMedian, solve_pmedian                       # optimiser.pmedian.core
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "read_site": "optimiser.inputs",
    "read_scenario": "optimiser.inputs",
    "validate_files": "optimiser.inputs",
    "default_scenario_path": "optimiser.inputs",
    "build_walk_network": "optimiser.network.builder",
    "build_problem": "optimiser.model.build",
    "solve": "optimiser.solve.strategy",
    "run_scenario": "optimiser.pipeline",
    "run_batch": "optimiser.batch",
    "load_batch": "optimiser.batch",
    "expand_batch": "optimiser.batch",
    "PMedian": "optimiser.pmedian.core",
    "solve_pmedian": "optimiser.pmedian.core",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'optimiser' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
