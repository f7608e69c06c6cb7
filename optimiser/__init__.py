"""placemaking-optimiser: place shared facilities, social spaces and pedestrian crossings
jointly so that walking between co-located firms falls, within a budget.

The pipeline's stages, in order (read -> validate -> network -> candidates -> route options ->
problem -> solve -> verify -> outputs), and the folders of ``optimiser/`` they live in::

    inputs/       read and validate site and scenario files into typed Site / Scenario
                    (file formats, JSON Schema, CRS, messages, SolveOptions and every default)
    network/      the barrier-aware walking graph, candidate sites and crossings, route options
    model/        the optimisation problem: clients, one builder per objective term,
                    constraints, relaxations and fixings, demand
    solve/        one backend registry (CP-SAT, CBC), warm start, heuristic, Lagrangian bound,
                    relax-first; SolveResult and Status
    verify.py     independent verification, on its own graph built from the site geometry
    present/      the run directory (metrics.json as RunMetrics), plans, distance map, report,
                    compare
    pipeline.py   the one pipeline that runs these stages for a scenario (run_scenario)

Around the pipeline::

    batch/        scenario sweeps in parallel (local processes or Dask), resumable, Pareto front
    cli/          the ``siteopt`` command line (ExitCode, -v/-q/--debug logging on stderr)
    pmedian/      a stand-alone p-median solver (OR-Library instances)
    errors.py     the error hierarchy and ExitCode

Public API (lazy imports, so ``import optimiser`` stays cheap)::

    read_site, read_scenario, validate_files     # optimiser.inputs
    build_walk_network                           # optimiser.network.builder
    build_problem, solve                         # optimiser.model.build / optimiser.solve.strategy
    run_scenario                                 # optimiser.pipeline
    convert_site                                 # optimiser.inputs.convert (siteopt convert)
    site_from_gdfs, site_to_gdfs, run_to_gdfs    # GeoDataFrames in and out (inputs.site, present.frames)
    run_batch, load_batch, expand_batch          # optimiser.batch
    PMedian, solve_pmedian                       # optimiser.pmedian
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use (__getattr__)
    from optimiser.batch import expand_batch as expand_batch
    from optimiser.batch import load_batch as load_batch
    from optimiser.batch import run_batch as run_batch
    from optimiser.inputs import default_scenario_path as default_scenario_path
    from optimiser.inputs import read_scenario as read_scenario
    from optimiser.inputs import read_site as read_site
    from optimiser.inputs import validate_files as validate_files
    from optimiser.inputs.convert import convert_site as convert_site
    from optimiser.inputs.site import site_from_gdfs as site_from_gdfs
    from optimiser.model.build import build_problem as build_problem
    from optimiser.network.builder import build_walk_network as build_walk_network
    from optimiser.pipeline import run_scenario as run_scenario
    from optimiser.pmedian import PMedian as PMedian
    from optimiser.pmedian import solve_pmedian as solve_pmedian
    from optimiser.present.frames import run_to_gdfs as run_to_gdfs
    from optimiser.present.frames import site_to_gdfs as site_to_gdfs
    from optimiser.solve.strategy import solve as solve  # at run time the callable package optimiser.solve

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
    "convert_site": "optimiser.inputs.convert",
    "site_from_gdfs": "optimiser.inputs.site",
    "site_to_gdfs": "optimiser.present.frames",
    "run_to_gdfs": "optimiser.present.frames",
    "PMedian": "optimiser.pmedian",
    "solve_pmedian": "optimiser.pmedian",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt name is an error for them, not Any

    def __getattr__(name: str) -> object:
        mod = _EXPORTS.get(name)
        if mod is None:
            raise AttributeError(f"module 'optimiser' has no attribute {name!r}")
        if name == "solve":  # the subpackage optimiser.solve, callable as the function (see its docstring):
            return importlib.import_module("optimiser.solve")  # importing any of its modules binds the name to it
        return getattr(importlib.import_module(mod), name)
