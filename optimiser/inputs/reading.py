"""Transitional: the names of the old ``reading`` module, now in the modules of :mod:`optimiser.inputs`.

Deleted once every importer uses the new modules.
"""

from optimiser.inputs.formats import load_mapping
from optimiser.inputs.locate import SCENARIO_SUFFIXES, SITE_SUFFIXES, data_roots, default_scenario_path, resolve_site_ref
from optimiser.inputs.messages import format_path, pydantic_problems
from optimiser.inputs.scenario import apply_overrides, read_scenario, scenario_from_mapping
from optimiser.inputs.site import read_site
from optimiser.inputs.validate import detect_kind, validate_files

__all__ = [
    "SCENARIO_SUFFIXES", "SITE_SUFFIXES", "apply_overrides", "data_roots", "default_scenario_path", "detect_kind", "format_path",
    "load_mapping", "pydantic_problems", "read_scenario", "read_site", "resolve_site_ref", "scenario_from_mapping", "validate_files",
]
