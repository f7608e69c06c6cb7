"""The sqlite3 GeoPackage writer (optimiser.present.gpkg_sqlite) against what GDAL reads back."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from optimiser.present.gpkg_sqlite import column_type, write_layers_sqlite

SQUARE = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])


def test_column_types_follow_the_values():
    assert column_type([True, None, False]) == "BOOLEAN"
    assert column_type([1, None, 3]) == "INTEGER"
    assert column_type([1, 2.5, None]) == "REAL"
    assert column_type(["a", 1]) == "TEXT"
    assert column_type([None, None]) == "TEXT"


def test_layers_read_back_by_gdal(tmp_path):
    path = tmp_path / "t.gpkg"
    layers = {
        "firms": [(Point(440000, 388000), {"id": "f1", "employees": 120, "fixed": True, "share": 0.5, "note": None}),
                  (Point(440100, 388050), {"id": "f2", "employees": None, "fixed": False, "share": float("nan"),
                                           "note": "x"})],
        "areas": [(SQUARE, {"id": "a"}), (MultiPolygon([SQUARE, shapely.affinity.translate(SQUARE, 20, 0)]), {"id": "b"})],
        "lines": [(LineString([(0, 0), (3, 4)]), {})],
    }
    styles = [{"f_table_name": "firms", "styleName": "firms", "styleQML": "<qgis/>", "useAsDefault": True,
               "update_time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).replace(tzinfo=None)}]
    write_layers_sqlite(path, layers, "EPSG:27700", styles_table="layer_styles", styles=styles)

    assert [tuple(x) for x in pyogrio.list_layers(path)] == [("firms", "Point"), ("areas", "MultiPolygon"),
                                                            ("lines", "LineString"), ("layer_styles", None)]
    info = pyogrio.read_info(path, layer="firms")
    assert info["crs"] == "EPSG:27700" and info["features"] == 2
    assert dict(zip(info["fields"], info["ogr_types"])) == {"id": "OFTString", "employees": "OFTInteger64",
                                                            "fixed": "OFTInteger", "share": "OFTReal", "note": "OFTString"}
    assert info["ogr_subtypes"][list(info["fields"]).index("fixed")] == "OFSTBoolean"
    firms = pyogrio.read_dataframe(path, layer="firms")
    assert list(firms["id"]) == ["f1", "f2"] and list(firms["fixed"]) == [True, False]
    assert firms["employees"].iloc[0] == 120 and math.isnan(firms["share"].iloc[1]) and firms["note"].iloc[1] == "x"
    assert firms.geometry.iloc[1].equals(Point(440100, 388050))
    areas = pyogrio.read_dataframe(path, layer="areas")  # a single polygon among multis is promoted
    assert all(g.geom_type == "MultiPolygon" for g in areas.geometry)
    assert areas.geometry.iloc[0].equals(MultiPolygon([SQUARE]))
    assert pyogrio.read_dataframe(path, layer="lines").geometry.iloc[0].length == pytest.approx(5.0)
    st = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
    assert list(st["styleQML"]) == ["<qgis/>"] and bool(st["useAsDefault"].iloc[0])
    assert str(st["update_time"].iloc[0]).startswith("2026-01-02 03:04:05")


def test_run_id_is_layer_metadata_and_a_read_only_open_leaves_no_sidecar(tmp_path):
    """GDAL opening a GeoPackage read-only (pyogrio, QGIS) writes ``<file>.aux.xml`` beside it
    when the file holds dataset-level metadata; the run id is every layer's metadata instead."""
    from optimiser.present.runid import gpkg_run_id

    path = tmp_path / "layout.gpkg"
    layers = {"firms": [(Point(440000, 388000), {"id": "f1"})], "lines": [(LineString([(0, 0), (3, 4)]), {})]}
    write_layers_sqlite(path, layers, "EPSG:27700", metadata={"run_id": "20261205T100000Z-0badf00d"})
    before = sorted(p.name for p in tmp_path.iterdir())
    pyogrio.read_dataframe(path, layer="firms")
    for name in ("firms", "lines"):
        info = pyogrio.read_info(path, layer=name)
        assert info["layer_metadata"] == {"run_id": "20261205T100000Z-0badf00d"}
        assert info["dataset_metadata"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["layout.gpkg"]
    assert gpkg_run_id(path) == "20261205T100000Z-0badf00d"
