"""Shapefile field names cut to 10 characters: the three provenance_* fields (provenance,
provenan_1, provenan_2) told apart by their values (optimiser.inputs.cut_names)."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

from optimiser.errors import ValidationError
from optimiser.inputs import load_mapping
from tests.sitefiles import xy

ORDERS = [("provenance_source", "provenance_accuracy_m", "provenance_status"),
          ("provenance_status", "provenance_source", "provenance_accuracy_m")]


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.parametrize("order", ORDERS)
def test_shapefile_provenance_fields_are_read_back_whatever_their_order(tmp_path, order):
    values = {"provenance_source": ["OS MasterMap", None], "provenance_accuracy_m": [2.5, None],
              "provenance_status": ["surveyed", None]}
    firms = gpd.GeoDataFrame({"id": ["a", "b"], "employees": [10, 20], "sector": ["office"] * 2,
                              **{k: values[k] for k in order}},
                             geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(200, 100))], crs="EPSG:27700")
    path = tmp_path / "firms.shp"
    pyogrio.write_dataframe(firms, path)
    assert list(pyogrio.read_info(path)["fields"])[3:] == ["provenance", "provenan_1", "provenan_2"]
    data, problems = load_mapping(path)
    assert problems == []
    assert data["firms"][0]["provenance"] == {"source": "OS MasterMap", "accuracy_m": 2.5, "status": "surveyed"}
    assert "provenance" not in data["firms"][1]


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_shapefile_provenance_fields_that_cannot_be_told_apart_are_reported(tmp_path):
    # a source that is a number (a year) and an accuracy: both columns could be the accuracy
    firms = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"], "provenance_source": ["2019"],
                              "provenance_accuracy_m": [2.5]},
                             geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    path = tmp_path / "firms.shp"
    pyogrio.write_dataframe(firms, path)
    data, problems = load_mapping(path)
    assert [(p.field, p.reason) for p in problems] == [
        ("layer firms: provenance, provenan_1", "Shapefile field names cut to 10 characters: 'provenance' and "
         "'provenan_1' could each be provenance_accuracy_m, so which of provenance_source, provenance_accuracy_m and "
         "provenance_status each holds is not known")]
    assert "rename them provenance_source" in problems[0].hint


@pytest.mark.filterwarnings("ignore:Value .* truncated")
def test_a_transit_lines_stops_cut_at_254_characters_say_so(tmp_path):
    import json

    stops = [{"id": f"stop{i}", "name": f"Stop number {i}", "location": xy(100 + 50 * i, 200)} for i in range(6)]
    lines = gpd.GeoDataFrame({"id": ["tram"], "stops": [json.dumps(stops)]},
                             geometry=[shapely.LineString([xy(0, 200), xy(1000, 200)])], crs="EPSG:27700")
    path = tmp_path / "transit_lines.shp"
    pyogrio.write_dataframe(lines, path)  # GDAL cuts the 456 characters to 254
    data, problems = load_mapping(path)
    assert [(p.field, p.reason) for p in problems] == [
        ("layer transit_lines, feature 0 (tram): stops", "its JSON text is cut at 254 characters, the most a Shapefile's "
         "text field holds, so it no longer reads as JSON")]  # before: 'stops: must be a list, got "[{..."'
    assert "stops" not in data["transit"][0]


def test_a_provenance_column_of_mappings_or_lists_is_left_to_the_checks():
    from optimiser.inputs.site import site_from_gdfs
    from tests.sitefiles import site_dict

    layers = {"firms": gpd.GeoDataFrame(
        {"id": ["a", "b"], "employees": [10, 20], "sector": ["office"] * 2,
         "provenance": [{"source": "OS MasterMap", "accuracy_m": 2.5}, ["not", "a", "mapping"]]},
        geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(200, 100))], crs="EPSG:27700")}
    site = site_dict()
    with pytest.raises(ValidationError) as err:  # a list is no provenance: said as such, not pandas' "truth value ... ambiguous"
        site_from_gdfs(layers, id="t", crs="EPSG:27700", parcels=site["parcels"])
    assert [(p.field, p.reason) for p in err.value.problems] == [
        ("layer firms, feature 1 (b): provenance", "must be a mapping of keys, got list (firm 'b')")]
