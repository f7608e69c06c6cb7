"""Stage 1, inputs: read and validate site and scenario files into typed objects.

Modules, by concern:

- :mod:`~optimiser.inputs.domain`: the validated types (``Site``, ``Scenario``, ``SolveOptions`` ...)
  and every default;
- :mod:`~optimiser.inputs.schema`: the file formats as pydantic models (shape only; the JSON Schema);
- :mod:`~optimiser.inputs.formats`: loading YAML/JSON/TOML/GeoJSON into a mapping (duplicate keys,
  encoding and syntax errors);
- :mod:`~optimiser.inputs.geojson`: an RFC 7946 GeoJSON site as a site mapping;
- :mod:`~optimiser.inputs.crs`: every CRS question (parsing, working CRS, degrees vs metres,
  reprojection to WGS84);
- :mod:`~optimiser.inputs.geometry`: raw coordinates to shapely geometry in the working CRS;
- :mod:`~optimiser.inputs.messages`: pydantic errors, unknown references and duplicate ids as
  ``Problem(file, field, reason, hint)``;
- :mod:`~optimiser.inputs.site`: ``read_site`` (checks by section: parcels, firms, barriers, paths,
  crossings, exclusion zones, crossing rules);
- :mod:`~optimiser.inputs.scenario`: ``read_scenario``, ``scenario_from_mapping`` (references by
  section: layers, demand, directness, crossings, facilities);
- :mod:`~optimiser.inputs.validate`: ``validate_files`` for any mix of files (batches too: it is
  :func:`optimiser.checkfiles.validate_files`);
- :mod:`~optimiser.inputs.locate`: data folders, the embedded baseline, the site a scenario names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimiser.inputs.formats import load_mapping
    from optimiser.inputs.locate import default_scenario_path
    from optimiser.inputs.scenario import read_scenario, scenario_from_mapping
    from optimiser.inputs.site import read_site
    from optimiser.inputs.validate import validate_files

__all__ = ["default_scenario_path", "load_mapping", "read_scenario", "read_site", "scenario_from_mapping", "validate_files"]

_EXPORTS = {
    "load_mapping": "optimiser.inputs.formats",
    "default_scenario_path": "optimiser.inputs.locate",
    "read_scenario": "optimiser.inputs.scenario",
    "scenario_from_mapping": "optimiser.inputs.scenario",
    "read_site": "optimiser.inputs.site",
    "validate_files": "optimiser.inputs.validate",
}
"""The public functions, imported on first use: importing one light module of the package
(e.g. :mod:`optimiser.inputs.limits` for ``siteopt --help``) does not load pydantic, shapely
and pyproj."""


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'optimiser.inputs' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
