"""Optimisation batches: scenario sweeps run in parallel (local processes or Dask), resumable,
summarised as a results table and a cost-versus-walking Pareto front.

A batch file (``placemaking-batch/1``; YAML, JSON or TOML) names a base scenario and how to
vary it::

    format: placemaking-batch/1
    id: budget-sweep
    base: baseline.yaml           # relative to this file; omitted: the embedded AMP-SBP baseline
    mode: grid                    # grid (cartesian product, default) or zip (lists side by side)
    sweep:                        # dotted override key -> list of values
      budget_gbp: [300000, 1000000, 3000000]
      layers.hs2: [false, true]
      facilities.0.count: [1, 2]  # list items by index ("facilities[0].count" also works)
    scenarios:                    # optional explicit override mappings (crossed with the sweep)
      - {demand.rule: employees_product}
      - {demand.rule: sector_affinity}
    repeat_seeds: [0, 1, 2]       # optional: every item once per CP-SAT seed
    time_limit_s: 10              # optional: per item (else the scenario's own)
    backend: cpsat                # optional

Items are the product sweep-points x scenarios x seeds. Each item is the base scenario mapping
with its overrides applied (plus ``solver.workers: 1`` so a fixed seed reproduces the result),
validated like any scenario file and run through :func:`optimiser.pipeline.run_scenario`.
The base scenario is judged the same way, with each item's values applied
(:func:`~optimiser.batch.spec.check_base`, what ``siteopt validate`` and :func:`load_batch` both
call): a base invalid on its own runs when some item mends it, with a note when every item does.

Every item has a stable key: the SHA-256 of the canonical JSON of the fully resolved scenario
mapping, the content hash of its site file and the package version. Its run directory is
``OUT/runs/<key[:12]>/``; ``result.json`` there is written atomically as the item's very last
step and is the only thing that marks it finished, so an interrupted batch resumes where it
stopped and a changed site or scenario re-runs. Outputs: ``results.csv`` (one row per item,
rewritten atomically after each completion), ``pareto.csv`` and ``pareto.png`` (capital cost
against the objective actually optimised as one weighted mean walk, ``objective_mean_m``, both
minimised), ``summary.json`` and ``batch.json`` (the
batch's id: an ``OUT`` holding another batch is refused unless ``overwrite=True``). Item failures
are recorded, never raised; :attr:`BatchSummary.exit_code` is 5 when any item is invalid, errored,
crashed or failed verification (what ``siteopt batch`` exits with).

Modules:

- :mod:`~optimiser.batch.spec`: the batch file format, items and their expansion;
- :mod:`~optimiser.batch.overrides`: dotted-key overrides of a scenario mapping;
- :mod:`~optimiser.batch.keys`: canonical JSON and item keys;
- :mod:`~optimiser.batch.records`: an item's ``result.json`` and its :class:`ItemStatus`;
- :mod:`~optimiser.batch.worker`: running one item (in a worker process);
- :mod:`~optimiser.batch.lifeline`: a worker dies with its batch parent (the pool's initialiser);
- :mod:`~optimiser.batch.dasklog`: items on Dask log at the batch's verbosity, shown by the batch;
- :mod:`~optimiser.batch.gate`: once a batch on Dask stops, none of its items writes into ``OUT``;
- :mod:`~optimiser.batch.results`: results.csv, the Pareto front, pareto.csv and pareto.png;
- :mod:`~optimiser.batch.runner`: the local process pool, Dask, progress and resume.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use (__getattr__)
    from optimiser.batch.records import ItemStatus as ItemStatus
    from optimiser.batch.runner import BatchSummary as BatchSummary
    from optimiser.batch.runner import run_batch as run_batch
    from optimiser.batch.spec import BatchItem as BatchItem
    from optimiser.batch.spec import BatchSource as BatchSource
    from optimiser.batch.spec import BatchSpec as BatchSpec
    from optimiser.batch.spec import expand_batch as expand_batch
    from optimiser.batch.spec import load_batch as load_batch

# lazy (as in ``optimiser``): a spawned worker imports optimiser.batch.lifeline, its initialiser,
# through this package before anything else, and must not pay for the pipeline first
_EXPORTS = {
    "ItemStatus": "optimiser.batch.records",
    "BatchSummary": "optimiser.batch.runner",
    "run_batch": "optimiser.batch.runner",
    "BatchItem": "optimiser.batch.spec",
    "BatchSource": "optimiser.batch.spec",
    "BatchSpec": "optimiser.batch.spec",
    "expand_batch": "optimiser.batch.spec",
    "load_batch": "optimiser.batch.spec",
}

__all__ = sorted(_EXPORTS)


if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt name is an error for them, not Any

    def __getattr__(name: str) -> object:
        mod = _EXPORTS.get(name)
        if mod is None:
            raise AttributeError(f"module 'optimiser.batch' has no attribute {name!r}")
        return getattr(importlib.import_module(mod), name)
