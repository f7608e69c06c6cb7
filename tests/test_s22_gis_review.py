"""Review of GIS site problems: a layer whose every feature has an empty geometry is one problem
saying so, not 'add the field location to layer firms' (the geometry is no attribute field)."""

from __future__ import annotations

from pathlib import Path

import pyogrio

from optimiser.inputs import validate_files
from optimiser.inputs.convert import convert_site
from tests.test_gis import _rewrite_layer, _write_yaml, rich_site


def test_a_layer_without_geometries_is_named_as_such(tmp_path: Path) -> None:
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms")
    firms["geometry"] = None  # every firm's point deleted in QGIS, the attribute table kept
    _rewrite_layer(out, "firms", firms)
    problems = [(p.field, p.reason, p.hint) for p in validate_files([out])]
    assert ("layer firms", f"none of its {len(firms)} features has a geometry (each is empty)",
            "draw the features of layer firms (their location), or check that it is the layer meant") in problems
    assert not any("add the field 'location'" in (hint or "") for _, _, hint in problems), problems
