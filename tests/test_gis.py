"""QGIS in and out (issue 14): GeoPackage sites and results, QGIS exports, GeoDataFrames.

The GeoPackages are opened with pyogrio (layers, CRS, geometry validity, styles); the QGIS-style
export under tests/qgis/ is read; a site goes YAML -> GeoPackage -> YAML and stays equal.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
import shapely.geometry
import yaml
from click.testing import CliRunner

from optimiser.cli import cli
from optimiser.errors import InputError, ValidationError
from optimiser.inputs import load_mapping, read_site, validate_files
from optimiser.inputs.convert import convert_site, write_site
from optimiser.inputs.site import site_from_gdfs
from optimiser.present import style
from optimiser.present.frames import run_to_gdfs, site_to_gdfs
from tests.sitefiles import E0, N0, scenario_dict, site_dict, xy

QGIS_EXPORT = Path(__file__).parent / "qgis" / "merged_export.geojson"
SITE_LAYERS = ["parcels", "firms", "firm_entrances", "firm_footprints", "barriers", "paths", "existing_crossings",
               "exclusion_zones", "crossing_rules", "transit_lines", "site"]


def rich_site() -> dict:
    """The tiny site with everything the site model holds: provenance, a footprint, two
    entrances, an exclusion zone, a switchable no-build corridor, a fixed firm."""
    d = site_dict()
    d["description"] = "tiny, with every kind of field"
    d["firms"][0]["provenance"] = {"source": "OS MasterMap", "accuracy_m": 2.5, "status": "surveyed"}
    d["firms"][0]["entrances"] = [xy(200, 100), xy(150, 100)]
    d["firms"][0]["footprint"] = {"type": "Polygon", "coordinates": [[xy(170, 60), xy(230, 60), xy(230, 95), xy(170, 95),
                                                                     xy(170, 60)]]}
    d["firms"][0]["parcel"] = "west"
    d["parcels"][0]["name"] = "West plot"
    d["barriers"].append({"id": "rail", "name": "Rail corridor", "kind": "rail_corridor", "width_m": 20,
                          "scenario_layer": "hs2", "default_on": False, "no_build": True,
                          "geometry": {"type": "LineString", "coordinates": [xy(-50, 450), xy(1050, 450)]}})
    d["exclusion_zones"] = [{"id": "sub", "name": "Substation", "reason": "electrical substation",
                             "geometry": {"type": "Polygon", "coordinates": [[xy(800, 150), xy(900, 150), xy(900, 250),
                                                                              xy(800, 250), xy(800, 150)]]}}]
    return d


def _write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def same_site(a, b, **ignore):
    return dataclasses.replace(a, path=None, **ignore) == dataclasses.replace(b, path=None, **ignore)


# ------------------------------------------------------------------ 1. convert, lossless


def test_yaml_to_gpkg_to_yaml_gives_an_equal_site(tmp_path):
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    runner = CliRunner()
    r = runner.invoke(cli, ["convert", str(src), str(tmp_path / "site.gpkg")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["format"] == "gpkg"
    r = runner.invoke(cli, ["convert", str(tmp_path / "site.gpkg"), str(tmp_path / "back.yaml")])
    assert r.exit_code == 0, r.output
    a, g, b = read_site(src), read_site(tmp_path / "site.gpkg"), read_site(tmp_path / "back.yaml")
    assert same_site(a, g) and same_site(a, b)
    assert a.firms[0].footprint is not None and len(a.firms[0].entrances) == 2
    assert a.barrier("rail").layer == "hs2" and a.barrier("rail").no_build and not a.barrier("rail").default_on
    assert a.firms[0].provenance.accuracy_m == 2.5 and a.exclusion_zones[0].reason == "electrical substation"


@pytest.mark.parametrize("suffix", [".json", ".toml", ".yml"])
def test_text_formats_round_trip_exactly(tmp_path, suffix):
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    out = convert_site(src, tmp_path / f"site{suffix}")
    assert same_site(read_site(src), read_site(out))


def test_geojson_round_trip_is_within_a_millimetre_and_keeps_the_working_crs(tmp_path):
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    out = convert_site(src, tmp_path / "site.geojson")
    fc = json.loads(out.read_text())
    assert "crs" not in fc and fc["site"]["working_crs"] == "EPSG:27700" and fc["site"]["crs"] == "OGC:CRS84"
    assert -2 < fc["features"][0]["geometry"]["coordinates"][0][0][0] < 0  # degrees, not metres
    polygons = [p for f in fc["features"] if f["geometry"] for p in shapely.get_parts(shapely.geometry.shape(f["geometry"]))
                if p.geom_type == "Polygon"]
    assert polygons and all(p.exterior.is_ccw for p in polygons)  # RFC 7946's right-hand rule
    a, b = read_site(src), read_site(out)
    assert b.crs == "EPSG:27700" and same_site(a, b, source_crs=a.source_crs) is False  # float noise, not equality
    for x, y in zip(a.parcels, b.parcels):
        assert shapely.hausdorff_distance(x.polygon, y.polygon) < 1e-3
    for x, y in zip(a.firms, b.firms):
        assert max(p.distance(q) for p, q in zip(x.entrances, y.entrances)) < 1e-3 and len(x.entrances) == len(y.entrances)
    assert b.barrier("rail").layer == "hs2" and b.firms[0].provenance == a.firms[0].provenance


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml", ".geojson"])
def test_convert_replaces_a_symlinked_target_and_never_writes_through_it(tmp_path, suffix):
    """A DST symlink was written through to the file it named (a dangling one even without
    --overwrite, as if free); now it counts as existing and --overwrite replaces the link itself."""
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("original\n")
    dst = tmp_path / f"out{suffix}"
    dst.symlink_to(victim)
    r = CliRunner().invoke(cli, ["convert", str(src), str(dst), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "original\n" and not dst.is_symlink()
    assert same_site(read_site(src), read_site(dst)) or suffix == ".geojson"
    assert read_site(dst).id == read_site(src).id
    dangling = tmp_path / f"dangling{suffix}"
    dangling.symlink_to(tmp_path / "nowhere.yaml")
    r = CliRunner().invoke(cli, ["convert", str(src), str(dangling)])
    assert r.exit_code == 2 and "exists already" in r.output and not (tmp_path / "nowhere.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []  # no temporary file left


def test_convert_refuses_an_invalid_source_and_an_existing_target(tmp_path):
    bad = rich_site()
    bad["firms"][1]["employees"] = 0
    src = _write_yaml(tmp_path / "bad.yaml", bad)
    r = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "bad.gpkg")])
    assert r.exit_code == 2 and "firms[1].employees" in r.output and not (tmp_path / "bad.gpkg").exists()
    good = _write_yaml(tmp_path / "good.yaml", rich_site())
    (tmp_path / "taken.gpkg").write_bytes(b"x")
    with pytest.raises(InputError, match="exists already"):
        convert_site(good, tmp_path / "taken.gpkg")
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "site.kml")])
    assert r.exit_code == 2 and "cannot write a site" in r.output
    # --crs on a file that declares another crs would relabel its coordinates: refused; the same crs is fine
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "relabelled.gpkg"), "--crs", "EPSG:4326"])
    assert r.exit_code == 2 and "would relabel its coordinates" in r.output and not (tmp_path / "relabelled.gpkg").exists()
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "same.gpkg"), "--crs", "EPSG:27700"])
    assert r.exit_code == 0, r.output
    for suffix in (".gpkg", ".yaml"):  # into a folder that is not there: exit 2 naming it (had been an internal error)
        r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "no" / "such" / f"site{suffix}")])
        assert r.exit_code == 2 and "does not exist" in r.output and "create the folder" in r.output, r.output
        assert "Traceback" not in r.output and not (tmp_path / "no").exists()


def test_convert_working_crs_does_what_the_relabel_hint_says(tmp_path):
    good = _write_yaml(tmp_path / "good.yaml", rich_site())
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "utm.gpkg"), "--crs", "EPSG:32630"])
    assert r.exit_code == 2 and "to work the site in EPSG:32630, keep its crs and set working_crs (siteopt convert SRC " \
        "DST --working-crs EPSG:32630)" in r.output
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "utm.gpkg"), "--working-crs", "EPSG:32630"])
    assert r.exit_code == 0, r.output
    site = read_site(tmp_path / "utm.gpkg")
    assert (site.crs, site.source_crs) == ("EPSG:32630", "EPSG:27700")
    r = CliRunner().invoke(cli, ["convert", str(good), str(tmp_path / "far.gpkg"), "--working-crs", "EPSG:2056"])
    assert r.exit_code == 2 and "working_crs: the site lies outside the area of use of working_crs EPSG:2056" in r.output


# ------------------------------------------------------------------ 2. GeoPackage sites


def test_site_gpkg_layers_crs_and_validity(tmp_path):
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    layers = {str(n): g for n, g in pyogrio.list_layers(out)}
    assert sorted(layers) == sorted([*SITE_LAYERS, "layer_styles"])  # the README: each layer opens with its own style
    styles = pyogrio.read_dataframe(out, layer="layer_styles", read_geometry=False)
    assert {"parcels", "firms", "barriers", "paths", "existing_crossings", "exclusion_zones"} <= set(styles["f_table_name"])
    assert styles["useAsDefault"].all() and (styles["f_geometry_column"] == "geom").all()
    assert layers["site"] is None and layers["crossing_rules"] is None and layers["firms"] == "Point"
    counts = {"parcels": 6, "firms": 4, "firm_entrances": 5, "firm_footprints": 1, "barriers": 2, "paths": 18,
              "existing_crossings": 1, "exclusion_zones": 1, "crossing_rules": 1, "transit_lines": 0, "site": 1}
    for name, n in counts.items():
        info = pyogrio.read_info(out, layer=name)
        assert info["features"] == n, name
        if layers[name] is not None:
            assert info["crs"] == "EPSG:27700"
            assert pyogrio.read_dataframe(out, layer=name).geometry.is_valid.all()
    meta = pyogrio.read_dataframe(out, layer="site", read_geometry=False)
    assert meta.loc[0, "id"] == "tiny" and meta.loc[0, "crs"] == "EPSG:27700" and bool(meta.loc[0, "illustrative"])
    firms = pyogrio.read_dataframe(out, layer="firms")
    assert {"provenance_source", "provenance_accuracy_m", "employees", "fixed"} <= set(firms.columns)
    assert "scenario_layer" in pyogrio.read_dataframe(out, layer="barriers").columns


def _rewrite_layer(path: Path, layer: str, frame) -> None:
    """Replace one layer of a GeoPackage (as a QGIS edit would)."""
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", layer_options={"OVERWRITE": "YES"})


def test_gpkg_problems_name_the_layer_and_feature(tmp_path):
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms", fid_as_index=True)
    firms.loc[2, "employees"] = 0
    firms.loc[3, "sector"] = None  # a null attribute is an absent one: no problem
    _rewrite_layer(out, "firms", firms)
    parcels = pyogrio.read_dataframe(out, layer="parcels")
    parcels.loc[0, "geometry"] = shapely.MultiPolygon([parcels.geometry[0], shapely.box(E0 + 10, N0 - 50, E0 + 20, N0 - 40)])
    _rewrite_layer(out, "parcels", parcels)
    ents = pyogrio.read_dataframe(out, layer="firm_entrances")
    ents.loc[0, "firm"] = "nobody"
    _rewrite_layer(out, "firm_entrances", ents)
    pyogrio.write_dataframe(pyogrio.read_dataframe(out, layer="paths"), out, layer="footpaths", driver="GPKG")
    problems = [str(p) for p in validate_files([out])]
    assert any("layer firms, feature 2 (b): employees" in p and "> 0" in p for p in problems), problems
    assert any("layer parcels, feature 1 (west): geometry" in p and "MultiPolygon of 2 parts" in p for p in problems), problems
    assert any("layer firm_entrances, feature 1" in p and "'nobody' is not in layer firms" in p for p in problems)
    # a copy of a layer the file has (footpaths beside paths) is ignored with a warning, not a problem
    assert not any("footpaths" in p for p in problems)
    assert not any("sector" in p for p in problems) and len(problems) == 3


def test_gpkg_required_field_renamed_is_one_problem_for_the_layer(tmp_path):
    """A required field renamed in QGIS (employees -> Employes) gave the unknown attribute and
    then 'required field is missing' once per feature (24 lines for AMP-SBP): now two lines."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms")
    _rewrite_layer(out, "firms", firms.rename(columns={"employees": "Employes"}))
    problems = [(p.field, p.reason, p.hint) for p in validate_files([out])]
    assert problems == [
        ("layer firms: Employes", "unknown attribute 'Employes' on 4 features (a, b, c, d)",
         "did you mean 'employees'? (rename the field)"),
        ("layer firms: employees",
         "required field is missing on all 4 features (the layer has no field 'employees', or it is empty on each)",
         "add the field 'employees' to layer firms (or rename the field that holds it) and fill it in")]
    firms.loc[1, "employees"] = None  # missing on one feature only: named as before
    _rewrite_layer(out, "firms", firms)
    assert [(p.field, p.reason) for p in validate_files([out])] == [
        ("layer firms, feature 2 (b): employees", "required field is missing (firm 'b')")]


def test_gpkg_edited_as_qgis_saves_it_reads_as_the_same_site(tmp_path):
    """One-part MultiPolygon / MultiLineString, Z coordinates, layers reprojected to EPSG:4326,
    fields in another order, NULL optional fields and an empty layer: the same site (within a
    millimetre where reprojected)."""
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    out = convert_site(src, tmp_path / "site.gpkg")
    for layer in ("parcels", "barriers", "paths", "firm_footprints"):
        frame = pyogrio.read_dataframe(out, layer=layer)
        multi = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else shapely.MultiLineString([g]) for g in frame.geometry]
        frame = frame.set_geometry(shapely.force_3d(gpd.GeoSeries(multi, crs=frame.crs), 55.0)).to_crs("EPSG:4326")
        _rewrite_layer(out, layer, frame[list(frame.columns[::-1])])
    firms = pyogrio.read_dataframe(out, layer="firms")
    _rewrite_layer(out, "firms", firms.assign(sector=None, name=None))
    zones = pyogrio.read_dataframe(out, layer="exclusion_zones")
    _rewrite_layer(out, "exclusion_zones", zones.iloc[0:0])
    a, b = read_site(src), read_site(out)
    assert [p.id for p in b.parcels] == [p.id for p in a.parcels] and b.exclusion_zones == ()
    assert max(p.polygon.hausdorff_distance(q.polygon) for p, q in zip(a.parcels, b.parcels, strict=True)) < 1e-3
    assert max(p.centreline.hausdorff_distance(q.centreline) for p, q in zip(a.barriers, b.barriers, strict=True)) < 1e-3
    assert not any(p.polygon.has_z for p in b.parcels) and {p.polygon.geom_type for p in b.parcels} == {"Polygon"}
    assert {x.centreline.geom_type for x in b.barriers} == {"LineString"} and not any(x.centreline.has_z for x in b.barriers)
    plain = read_site(_write_yaml(tmp_path / "plain.yaml", {**rich_site(), "firms": [
        {k: v for k, v in f.items() if k not in ("sector", "name")} for f in rich_site()["firms"]]}))
    assert [(f.employees, f.sector, f.name) for f in b.firms] == [(f.employees, f.sector, f.name) for f in plain.firms]


def test_gpkg_site_is_accepted_by_validate_run_network_and_batch(tmp_path):
    site_yaml = _write_yaml(tmp_path / "site.yaml", site_dict())
    convert_site(site_yaml, tmp_path / "site.gpkg")
    scen = _write_yaml(tmp_path / "scenario.yaml", scenario_dict(site="site.gpkg"))
    runner = CliRunner()
    r = runner.invoke(cli, ["validate", str(tmp_path / "site.gpkg"), str(scen)])
    assert r.exit_code == 0 and "site 'tiny': 4 firms" in r.output and "scenario 'tiny-baseline'" in r.output
    r = runner.invoke(cli, ["network", str(scen), "--out", str(tmp_path / "net")])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    gpkg = tmp_path / "net" / "network.gpkg"
    layers = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    assert layers[:5] == ["network_edges", "network_nodes", "connectors", "candidate_crossings", "existing_crossings"]
    types = {str(n): g for n, g in pyogrio.list_layers(gpkg)}  # every entrance on a path: no connector, yet a line layer
    assert pyogrio.read_info(gpkg, layer="connectors")["features"] == 0 and types["connectors"] == "LineString"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    row = next(ln for ln in readme.splitlines() if ln.startswith("| `siteopt network"))
    assert all(f"`{name}`" in row for name in layers[:5]), row  # the README names the layers QGIS shows
    edges = pyogrio.read_dataframe(gpkg, layer="network_edges")
    nodes = pyogrio.read_dataframe(gpkg, layer="network_nodes")
    assert len(nodes) == summary["nodes"] and len(edges) == summary["edges"] - summary["zero_length_edges"]
    assert (edges.geometry.length > 0).all() and edges.geometry.is_valid.all() and edges.crs == "EPSG:27700"
    assert {"path", "existing_crossing"} <= set(edges["kind"]) <= {"path", "connector", "existing_crossing"}
    assert len(pyogrio.read_dataframe(gpkg, layer="candidate_crossings")) == summary["candidate_crossings"]
    assert set(pyogrio.read_dataframe(gpkg, layer="layer_styles", read_geometry=False)["f_table_name"]) >= {"network_edges",
                                                                                                            "network_nodes"}
    net_geojson = json.loads((tmp_path / "net" / "network.geojson").read_text())
    assert all(shapely.geometry.shape(f["geometry"]).length > 0 for f in net_geojson["features"])
    from optimiser.batch import load_batch

    batch = _write_yaml(tmp_path / "batch.yaml", {"format": "placemaking-batch/1", "id": "b", "base": "scenario.yaml",
                                                  "sweep": {"budget_gbp": [1_000_000, 1_500_000]}})
    spec = load_batch(batch)
    assert len(spec.items) == 2 and all(it.site_sha256 for it in spec.items)


# ------------------------------------------------------------------ 3. GeoJSON as QGIS writes it


def test_qgis_merged_export_is_read_with_its_sidecar():
    fc = json.loads(QGIS_EXPORT.read_text())
    assert fc["crs"]["properties"]["name"].endswith("CRS84") and "site" not in fc
    assert {f["properties"]["layer"] for f in fc["features"]} >= {"tiny — firms", "tiny — firm_entrances"}
    assert any(v is None for v in fc["features"][0]["properties"].values())
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    site = read_site(QGIS_EXPORT)
    assert site.id == "tiny" and site.crs == "EPSG:27700" and site.illustrative
    assert [f.id for f in site.firms] == ["a", "b", "c", "d"] and len(site.paths) == 18
    assert site.firms[0].provenance.source == "OS MasterMap" and site.firms[0].provenance.accuracy_m == 2.0
    assert site.firms[0].entrances[0].distance(shapely.Point(*xy(200, 100))) < 1e-3
    assert site.firms[3].fixed and not site.firms[0].fixed
    assert site.crossing_rules[0].types == ("footbridge", "signalised") and site.exclusion_zones[0].id == "substation"


def test_qgis_export_without_sidecar_takes_its_id_from_the_file_name(tmp_path):
    copy_path = tmp_path / "my-site export.geojson"
    copy_path.write_text(QGIS_EXPORT.read_text())
    site = read_site(copy_path)
    assert site.id == "my-site_export" and site.crossing_rules == () and len(site.firms) == 4


def test_a_sidecar_key_that_is_no_site_field_or_relabels_the_crs_is_a_problem_of_the_sidecar(tmp_path):
    """A sidecar's crs: EPSG:27700 beside a GeoJSON in lon/lat relabelled every coordinate (a
    page of "look like longitude/latitude degrees" problems); a misspelt key was reported against
    the GeoJSON file. Both are now one problem each, against the sidecar; crs: EPSG:4326 (the
    same lon/lat) is read."""
    geo = tmp_path / "site.geojson"
    geo.write_text(QGIS_EXPORT.read_text())
    side = tmp_path / "site.site.yaml"
    side.write_text("id: tiny\ncrs: EPSG:27700\nnmae: x\n")
    problems = validate_files([geo])
    assert [(p.file, p.field) for p in problems] == [(str(side), "crs"), (str(side), "nmae")], problems
    assert problems[0].hint == "drop crs from the sidecar; to work the site in EPSG:27700, set working_crs: EPSG:27700"
    assert problems[1].hint == "did you mean 'name'?"
    side.write_text("id: tiny\ncrs: EPSG:4326\n")
    assert validate_files([geo]) == []


def test_sites_readme_names_every_key_a_sidecar_may_hold():
    """sites/README.md's sidecar paragraph lists the keys SIDECAR_KEYS allows (it left out format,
    which a sidecar may hold and its 'unknown key' problem lists)."""
    from optimiser.inputs.formats import SIDECAR_KEYS

    readme = (Path(__file__).resolve().parents[1] / "sites" / "README.md").read_text(encoding="utf-8")
    para = " ".join(readme.split("**Sidecar.**", 1)[1].split("\n\n", 1)[0].split())
    assert [k for k in SIDECAR_KEYS if f"`{k}`" not in para] == [], para


def test_geojson_site_member_crs_other_than_wgs84_is_one_problem(tmp_path):
    """``"site": {"crs": "EPSG:27700"}`` relabelled the lon/lat coordinates of every feature (a
    page of "look like longitude/latitude degrees" problems): it is one problem naming working_crs."""
    fc = json.loads(QGIS_EXPORT.read_text())
    fc["site"] = {"id": "tiny", "crs": "EPSG:27700"}
    p = tmp_path / "s.geojson"
    p.write_text(json.dumps(fc))
    (problem,) = validate_files([p])
    assert problem.field == "site.crs" and "set working_crs: EPSG:27700 in site" in problem.hint, problem
    for wgs84 in ("EPSG:4326", "WGS84", "urn:ogc:def:crs:OGC:1.3:CRS84"):  # "WGS84" read before ab4ab3c: still
        fc["site"]["crs"] = wgs84
        p.write_text(json.dumps(fc))
        assert validate_files([p]) == [], wgs84


def test_geojson_site_member_unknown_key_is_named_under_site(tmp_path):
    """A slip in the site member ("nmae") was reported as the file's top-level key 'nmae', which
    the GeoJSON file does not have; it is site.nmae."""
    fc = json.loads(QGIS_EXPORT.read_text())
    fc["site"] = {"id": "tiny", "nmae": "x"}
    p = tmp_path / "s.geojson"
    p.write_text(json.dumps(fc))
    (problem,) = validate_files([p])
    assert (problem.field, problem.reason, problem.hint) == ("site.nmae", "unknown key 'nmae'", "did you mean 'name'?")


def test_geojson_crs_member_other_than_wgs84_is_refused_with_a_hint(tmp_path):
    fc = json.loads(QGIS_EXPORT.read_text())
    fc["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::27700"
    p = tmp_path / "bng.geojson"
    p.write_text(json.dumps(fc))
    problems = validate_files([p])
    assert len(problems) == 1 and problems[0].field == "crs"
    assert "WGS84" in problems[0].reason and "EPSG:4326" in (problems[0].hint or "")
    fc["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::4326"
    p.write_text(json.dumps(fc))
    assert validate_files([p]) == []


def test_a_geojson_site_in_british_national_grid_is_one_problem(tmp_path):
    """QGIS's GeoJSON export of the tiny site in EPSG:27700 was told as the crs problem, then once
    per feature 'coordinates [440200.0, 387080.0] are not longitude/latitude degrees ... (declare the
    projected CRS ...)', a hint a GeoJSON site cannot follow; now the crs problem alone."""
    fc = _wgs84_tiny(tmp_path)
    bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def project(c):
        return list(bng.transform(*c[:2])) if c and isinstance(c[0], float) else [project(x) for x in c]

    for f in fc["features"]:
        if f.get("geometry"):
            f["geometry"]["coordinates"] = project(f["geometry"]["coordinates"])
    fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    p = tmp_path / "bng.geojson"
    p.write_text(json.dumps(fc))
    assert [(q.field, q.reason) for q in validate_files([p])] == [
        ("crs", "coordinates are in 'urn:ogc:def:crs:EPSG::27700'; a GeoJSON site must be WGS84 longitude/latitude")]


def _fc(features: list[dict], site: dict | None = None) -> dict:
    out: dict = {"type": "FeatureCollection", "features": features}
    if site is not None:
        out["site"] = site
    return out


def _wgs84_tiny(tmp_path) -> dict:
    return json.loads(convert_site(_write_yaml(tmp_path / "t.yaml", site_dict()), tmp_path / "t.geojson").read_text())


def test_barrier_scenario_layer_has_a_name_that_does_not_clash(tmp_path):
    fc = _wgs84_tiny(tmp_path)
    barrier = next(f for f in fc["features"] if f["properties"]["layer"] == "barrier")
    barrier["properties"].update({"scenario_layer": "hs2", "default_on": False, "name": None})
    p = tmp_path / "s.geojson"
    p.write_text(json.dumps(fc))
    site = read_site(p)
    assert site.barrier("parkway").layer == "hs2" and site.layers == ("hs2",) and site.barrier("parkway").name == "parkway"
    d = site_dict()
    d["barriers"][0]["layer"] = "hs2"  # the older spelling, in a YAML file, still works
    assert read_site(_write_yaml(tmp_path / "old.yaml", d)).barrier("parkway").layer == "hs2"
    d["barriers"][0]["scenario_layer"] = "other"
    with pytest.raises(ValidationError, match="disagree"):
        read_site(_write_yaml(tmp_path / "both.yaml", d))


def test_geojson_nulls_are_absent_and_unknown_layers_named(tmp_path):
    fc = _wgs84_tiny(tmp_path)
    for f in fc["features"]:
        f["properties"].update({"status": f["properties"].get("status"), "width_m": f["properties"].get("width_m"),
                                "employees": f["properties"].get("employees")})
    fc["features"].append({"type": "Feature", "properties": {"layer": "firmz", "id": "x"}, "geometry": None})
    p = tmp_path / "n.geojson"
    p.write_text(json.dumps(fc))
    problems = validate_files([p])
    assert len(problems) == 1 and "unknown layer 'firmz'" in problems[0].reason and "did you mean 'firm'" in problems[0].hint


def test_geojson_unknown_layer_is_matched_to_plural_names_and_lists_transit_lines(tmp_path):
    """'frims' is a slip of 'firms' (a plural, accepted as much as 'firm'): the hint names it
    instead of repeating the list, and the list names transit_line, which is read too."""
    fc = _wgs84_tiny(tmp_path)
    fc["features"].append({"type": "Feature", "properties": {"layer": "frims", "id": "x"}, "geometry": None})
    p = tmp_path / "n.geojson"
    p.write_text(json.dumps(fc))
    (problem,) = validate_files([p])
    assert problem.hint == "did you mean 'firms'?", problem
    assert problem.reason.endswith(", transit_line"), problem


# ------------------------------------------------------------------ Shapefile and FlatGeobuf


def _merged_frame(data: dict) -> gpd.GeoDataFrame:
    from optimiser.inputs.gis import site_to_frames

    parts = []
    for name, f in site_to_frames(data).items():
        if isinstance(f, gpd.GeoDataFrame) and len(f):
            parts.append(f.assign(layer=name))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:27700")


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.parametrize("suffix", [".fgb", ".shp"])
def test_single_layer_gis_files_with_a_layer_field_and_a_sidecar(tmp_path, suffix):
    data = rich_site()
    merged = _merged_frame(data)
    keep = ["layer", "id", "name", "status", "employees", "sector", "fixed", "firm", "order", "kind", "width_m", "barrier",
            "type", "penalty_m", "reason", "default_on", "no_build", "scenario_layer", "geometry"]
    merged = merged[[c for c in keep if c in merged.columns]]
    if suffix == ".shp":  # one geometry type per Shapefile: the points
        merged = merged[merged.geom_type == "Point"]
    path = tmp_path / f"site{suffix}"
    # FlatGeobuf's spatial index stores features in its own order; without it they keep the file's
    pyogrio.write_dataframe(merged, path, **({"layer_options": {"SPATIAL_INDEX": "NO"}} if suffix == ".fgb" else {}))
    _write_yaml(tmp_path / "site.site.yaml", {"id": "tiny", "name": "from GIS"})
    data, problems = load_mapping(path)
    assert problems == [] and data["id"] == "tiny" and data["crs"] == "EPSG:27700"
    assert [f["id"] for f in data["firms"]] == ["a", "b", "c", "d"] and data["firms"][0]["employees"] == 120
    assert len(data["firms"][0]["entrances"]) == 2
    if suffix == ".fgb":
        site = read_site(path)
        ref = read_site(_write_yaml(tmp_path / "ref.yaml", _without_provenance(rich_site())))
        for part in ("parcels", "firms", "barriers", "paths", "crossings", "exclusion_zones"):
            assert getattr(site, part) == getattr(ref, part), part


@pytest.mark.parametrize("ldid", [0, 0x57])
@pytest.mark.parametrize(("encoding", "name"), [("UTF-8", "Café Zürich Ltd"), ("CP1252", "Smith’s Yard – Café")])
def test_shapefile_without_cpg_keeps_its_accents(tmp_path, encoding, name, ldid):
    # the .cpg lost on the way (only .shp, .shx, .dbf, .prj sent): GDAL alone reads ISO-8859-1, for
    # an LDID of 0 and for ArcGIS's 0x57 ("ANSI"), which read 'Smith\x92s Yard \x96 Café'
    firms = gpd.GeoDataFrame({"id": ["a", "b"], "name": [name, "Plain"], "employees": [10, 20], "sector": ["office"] * 2},
                             geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(200, 100))], crs="EPSG:27700")
    path = tmp_path / "firms.shp"
    pyogrio.write_dataframe(firms, path, encoding=encoding)
    (tmp_path / "firms.cpg").unlink()
    dbf = bytearray((tmp_path / "firms.dbf").read_bytes())
    dbf[29] = ldid
    (tmp_path / "firms.dbf").write_bytes(bytes(dbf))
    data, problems = load_mapping(path)
    assert problems == [] and [f["name"] for f in data["firms"]] == [name, "Plain"]
    (tmp_path / "firms.cpg").write_text("UTF-8" if encoding == "UTF-8" else "1252")  # declared: GDAL's reading
    assert [f["name"] for f in load_mapping(path)[0]["firms"]] == [name, "Plain"]


def test_zipped_shapefile_and_shapefile_parts_are_named_as_such(tmp_path):
    import zipfile

    firms = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"]},
                             geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    pyogrio.write_dataframe(firms, tmp_path / "firms.shp")
    with zipfile.ZipFile(tmp_path / "firms.zip", "w") as zf:
        for part in sorted(tmp_path.glob("firms.*")):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    (tmp_path / "site.kmz").write_bytes((tmp_path / "firms.zip").read_bytes())  # Google Earth's zipped KML
    pyogrio.write_dataframe(pd.DataFrame({"barrier": ["parkway"], "spacing_m": [200.0]}), tmp_path / "crossing_rules.dbf",
                            driver="ESRI Shapefile")  # QGIS: a table without geometry saved as a Shapefile
    (tmp_path / "site.qgz").write_bytes((tmp_path / "firms.zip").read_bytes())  # a QGIS project: zipped .qgs
    found = {Path(p.file).name: (p.field, p.reason, p.hint) for p in
             validate_files([tmp_path / "firms.zip", tmp_path / "firms.dbf", tmp_path / "site.kmz",
                             tmp_path / "crossing_rules.dbf", tmp_path / "site.qgz"])}
    assert found == {
        "firms.zip": ("", "is a ZIP archive: siteopt does not read files inside archives",
                      "unzip it and give the site file it holds ('firms.shp')"),
        "firms.dbf": ("", "is the .dbf part of a Shapefile, not the Shapefile itself",
                      f"give {str(tmp_path / 'firms.shp')!r}, which is read with its .dbf, .shx, .prj and .cpg"),
        "crossing_rules.dbf": ("", "is a dBASE table (a .dbf without a .shp), which siteopt does not read",
                               "give a table such as crossing_rules in the site's sidecar (<name>.site.yaml) or as a "
                               "table of the site's GeoPackage"),
        "site.qgz": ("", "is a QGIS project, which names its layers' files but does not hold their features",
                     "give the GeoPackage the site's layers are in (QGIS: Layer Properties > Source shows each layer's "
                     "file; Processing Toolbox > Database > Package layers puts them in one)"),
        "site.kmz": ("", "is a Google Earth file (KML), which siteopt does not read",
                     "open it in QGIS and save its layers into one GeoPackage, each under its site layer name "
                     "(Processing Toolbox > Database > Package layers)")}


def test_transit_layers_and_a_firms_parts_open_styled_in_qgis():
    # a transit run's layout.gpkg has transit_line, transit_stop and transit_catchment; a site
    # GeoPackage firm_entrances, firm_footprints and transit_lines: each opened with QGIS's random style
    from optimiser.present.gpkg import styles_frame

    names = ["transit_line", "transit_stop", "transit_catchment", "firm_entrances", "firm_footprints", "transit_lines"]
    styles = styles_frame(names).set_index("f_table_name")
    assert sorted(styles.index) == sorted(names)
    renderers = {n: ET.fromstring(styles.loc[n, "styleQML"].split("\n", 1)[1]).find("renderer-v2") for n in names}
    for n in names:
        ET.fromstring(styles.loc[n, "styleSLD"].split("\n", 1)[1])  # well-formed
    assert renderers["transit_stop"].get("attr") == "status"
    assert [c.get("value") for c in renderers["transit_stop"].iter("category")][:2] == ["existing", "new"]
    assert renderers["transit_catchment"].get("attr") == "phase"
    assert [c.get("value") for c in renderers["transit_catchment"].iter("category")][:2] == ["before", "after"]
    r, g, b = (int(style.TRANSIT_C[i:i + 2], 16) for i in (1, 3, 5))
    assert f"{r},{g},{b},255" in styles.loc["transit_line", "styleQML"]


def test_a_folder_of_layer_shapefiles_and_one_of_them_say_the_others_are_not_read(tmp_path):
    points = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"]},
                              geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    lines = gpd.GeoDataFrame({"id": ["p"]}, geometry=[shapely.LineString([xy(0, 0), xy(500, 0)])], crs="EPSG:27700")
    pyogrio.write_dataframe(points, tmp_path / "firms.shp")
    pyogrio.write_dataframe(lines, tmp_path / "paths.shp")
    pyogrio.write_dataframe(lines, tmp_path / "roads_2019.shp")  # no site layer's name: not named
    (tmp_path / "site.gdb").mkdir()  # ArcGIS Pro's File Geodatabase: a folder of .gdbtable files
    (tmp_path / "site.gdb" / "a00000001.gdbtable").write_bytes(b"\x03\x00\x00\x00")
    found = {Path(p.file).name: p.reason for p in validate_files([tmp_path, tmp_path / "firms.shp", tmp_path / "site.gdb"])}
    assert found == {
        tmp_path.name: "is a folder, not a file: its firms.shp, paths.shp are a site's layers, but a site is one file "
                       "(each of these holds one layer)",
        # before: 'ok (site 'firms': 1 firms ... 0 paths)', the paths silently left out
        "firms.shp": "holds one layer, firms; the other site layers beside it (paths.shp) are not read: a site is one "
                     "file (their features would be lost)",
        "site.gdb": "is an Esri File Geodatabase (a .gdb folder), which siteopt does not read"}


@pytest.mark.parametrize("suffix", [".shp", ".geojson"])
def test_one_layer_file_beside_the_others_is_one_problem_not_its_knock_ons(tmp_path, suffix):
    """firm_entrances.shp beside firms.shp was told as the layers not read, then once per entrance
    'firm 'a' is not in layer firms' and 'the site is empty'; a scenario on firms.shp added
    'layers.parkway: layer 'parkway' is referenced but not defined'. All of it follows from the one
    mistake (a site saved as a file per layer), now the one problem said."""
    crs = "EPSG:27700" if suffix == ".shp" else "EPSG:4326"
    layers = {
        "firms": gpd.GeoDataFrame({"id": ["a", "b"], "employees": [10, 20], "sector": ["office"] * 2},
                                  geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(300, 100))], crs="EPSG:27700"),
        "firm_entrances": gpd.GeoDataFrame({"firm": ["a", "b"]}, geometry=[shapely.Point(xy(100, 90)), shapely.Point(xy(300, 90))],
                                           crs="EPSG:27700"),
        "barriers": gpd.GeoDataFrame({"id": ["parkway"], "kind": ["carriageway"], "width_m": [30.0]},
                                     geometry=[shapely.LineString([xy(0, 200), xy(500, 200)])], crs="EPSG:27700"),
        "existing_crossings": gpd.GeoDataFrame({"id": ["j"], "barrier": ["parkway"], "type": ["junction"]},
                                               geometry=[shapely.LineString([xy(250, 180), xy(250, 220)])], crs="EPSG:27700"),
    }
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame.to_crs(crs), tmp_path / f"{name}{suffix}")
    for name in layers:
        others = ", ".join(f"{n}{suffix}" for n in sorted(layers) if n != name)
        got = [(p.field, p.reason) for p in validate_files([tmp_path / f"{name}{suffix}"])]
        assert got == [("", f"holds one layer, {name}; the other site layers beside it ({others}) are not read: a site "
                            "is one file (their features would be lost)")], name
    scenario = scenario_dict(site=f"firms{suffix}", layers={"parkway": True})
    got = [(Path(p.file).name, p.field, p.reason) for p in validate_files([_write_yaml(tmp_path / "scenario.yaml", scenario)])]
    others = ", ".join(f"{n}{suffix}" for n in sorted(layers) if n != "firms")
    assert got == [("scenario.yaml", "site", f"its site file {str(tmp_path / f'firms{suffix}')!r}: holds one layer, firms; "
                    f"the other site layers beside it ({others}) are not read: a site is one file (their features "
                    "would be lost)")], got  # one line: the scenario's site field, the file named


def test_a_site_folder_with_a_layer_exported_beside_its_site_file_names_the_site_file(tmp_path):
    """sites/<id>/ holding site.yaml and a firms.shp exported beside it, given to siteopt validate
    or as a scenario's site, was said to be 'a site's layers (firms.shp), but a site is one file';
    and a folder with only site.yaml got 'name the site or scenario file'. Both name site.yaml."""
    folder, plain = tmp_path / "tiny", tmp_path / "plain"
    folder.mkdir()
    plain.mkdir()
    _write_yaml(folder / "site.yaml", site_dict())
    points = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"]},
                              geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    _write_yaml(plain / "site.yaml", site_dict())
    for where in (folder, plain):
        if where is folder:
            pyogrio.write_dataframe(points, folder / "firms.shp")
        got = [(p.field, p.reason, p.hint) for p in validate_files([where])]
        assert got == [("", "is a folder, not a file", f"name the site file in it: {where / 'site.yaml'}")], got
    scenario = _write_yaml(tmp_path / "scenario.yaml", scenario_dict(site="tiny"))
    got = [(p.field, p.reason, p.hint) for p in validate_files([scenario])]
    assert got == [("site", f"site 'tiny' is a folder ({folder}), not a site file", "write site: tiny/site.yaml")], got
    # a site.geojson beside site.yaml: the file a site id and 'site: tiny/' take is site.yaml, so the folder's
    # hint names it too (it named site.geojson, the first by name)
    (folder / "site.geojson").write_text("{}")
    got = [(p.field, p.reason, p.hint) for p in validate_files([folder])]
    assert got == [("", "is a folder, not a file", f"name the site file in it: {folder / 'site.yaml'}")], got
    got = [(p.field, p.reason, p.hint) for p in validate_files([scenario])]
    assert got == [("site", f"site 'tiny' is a folder ({folder}), not a site file", "write site: tiny/site.yaml")], got


@pytest.mark.parametrize("ref", ["layers", "./layers", "layers/", "site.gdb", "plain", "plain/"])
def test_a_scenarios_site_naming_a_folder_says_what_the_folder_is(tmp_path, ref):
    """A scenario's ``site:`` naming a folder of layer Shapefiles was told 'name the site file
    inside it, e.g. site: <folder>/site.yaml' (there is none; each Shapefile is one layer), a bare
    folder name 'does not exist (known site ids: ...)' although it is beside the scenario; they
    now get what siteopt validate says of the folder, or the site file inside it."""
    points = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"]},
                              geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    (tmp_path / "layers").mkdir()
    pyogrio.write_dataframe(points, tmp_path / "layers" / "firms.shp")
    (tmp_path / "site.gdb").mkdir()
    (tmp_path / "plain").mkdir()
    _write_yaml(tmp_path / "plain" / "site.yaml", site_dict())
    scenario = _write_yaml(tmp_path / "scenario.yaml", scenario_dict(site=ref))
    problems = [(p.field, p.reason, p.hint) for p in validate_files([scenario])]
    if ref.startswith(("layers", "./layers")):
        assert problems == [("site", f"site {ref!r} is a folder, not a file: its firms.shp are a site's layers, but a "
                             "site is one file (each of these holds one layer)",
                             "put the layers in one GeoPackage, each under its layer name (QGIS: Processing Toolbox > "
                             "Database > Package layers), and give that")]
    elif ref == "site.gdb":
        assert [p[:2] for p in problems] == [
            ("site", "site 'site.gdb' is an Esri File Geodatabase (a .gdb folder), which siteopt does not read")]
    else:
        assert problems == [("site", f"site {ref!r} is a folder ({tmp_path / 'plain'}), not a site file",
                             "write site: plain/site.yaml")]


def test_a_scenarios_site_naming_a_file_of_another_type_beside_it_reads_that_file(tmp_path):
    """``site: firms.csv`` (no site suffix, no folder separator: looked up as a site id) said 'does
    not exist (known site ids: ...)' though the file is beside the scenario; an Excel workbook
    (a ZIP inside) given as a site was told to be unzipped. Each is now named as the file type
    siteopt does not read."""
    (tmp_path / "firms.csv").write_text("id,employees,x,y\na,10,440000,387000\n")
    with zipfile.ZipFile(tmp_path / "firms.xlsx", "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    scenario = _write_yaml(tmp_path / "scenario.yaml", scenario_dict(site="firms.csv"))
    got = [(Path(p.file).name, p.field, p.reason) for p in validate_files([scenario, tmp_path / "firms.xlsx"])]
    assert got == [
        ("scenario.yaml", "site", f"its site file {str(tmp_path / 'firms.csv')!r}: unsupported file type '.csv'"),
        ("firms.xlsx", "", "unsupported file type '.xlsx': an office document (a spreadsheet, text or slides), which "
                           "siteopt does not read")], got


def test_a_nan_vertex_is_a_problem_not_a_python_warning_on_screen(tmp_path):
    import warnings

    gpkg = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    layers = {str(n): pyogrio.read_dataframe(gpkg, layer=str(n), read_geometry=g is not None)
              for n, g in pyogrio.list_layers(gpkg) if n != "layer_styles"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # shapely's, making the NaN vertex here
        layers["paths"].loc[0, "geometry"] = shapely.LineString([xy(0, 0), (float("nan"), N0), xy(1000, 0)])
    nan = tmp_path / "nan.gpkg"
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, nan, layer=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems = validate_files([nan])
    assert [str(w.message) for w in caught] == []  # was shapely's "invalid value encountered in from_wkb"
    assert [(p.field, p.reason) for p in problems] == [
        ("layer paths, feature 1 (h0): geometry.coordinates[1][0]", "must be a number, got null (path 'h0')")]


@pytest.mark.parametrize(("part", "what"), [(".shx", "index"), (".dbf", "attribute table")])
def test_a_shapefile_sent_without_its_shx_or_dbf_says_which_is_missing(tmp_path, part, what):
    firms = gpd.GeoDataFrame({"id": ["a"], "employees": [10], "sector": ["office"]},
                             geometry=[shapely.Point(xy(100, 100))], crs="EPSG:27700")
    pyogrio.write_dataframe(firms, tmp_path / "firms.shp")
    (tmp_path / f"firms{part}").unlink()
    # before: GDAL's 'Set SHAPE_RESTORE_SHX config option to YES', or (no .dbf) 'id: required field is
    # missing on all 1 features (the layer has no field 'id' ...)'
    assert [(p.field, p.reason) for p in validate_files([tmp_path / "firms.shp"])] == [
        ("", f"its {what} firms{part} is missing: a Shapefile is its .shp, .shx, .dbf and .prj (and .cpg) together")]


def test_geojson_ids_given_as_the_features_id_member_are_the_ids(tmp_path):
    from optimiser.inputs.geojson import site_to_geojson

    fc = site_to_geojson(site_dict())
    for f in fc["features"]:  # RFC 7946's "id" member, as geojson.io, Mapbox and Turf write it
        if "id" in f["properties"]:
            f["id"] = f["properties"].pop("id")
    fc["features"][0]["id"] = 7  # a number: its digits
    path = tmp_path / "site.geojson"
    path.write_text(json.dumps(fc))
    site = read_site(path)  # before: 'id: required field is missing on all N features'
    assert [p.id for p in site.parcels][:2] == ["7", "west_n"] and [f.id for f in site.firms] == ["a", "b", "c", "d"]
    assert [b.id for b in site.barriers] == ["parkway"] and site.crossings[0].barrier_id == "parkway"


def test_a_geojson_of_one_layer_is_the_layer_its_file_or_name_member_names(tmp_path):
    # QGIS's Save Features As... GeoJSON of the firms layer: no 'layer' property, "name": "firms"
    firms = gpd.GeoDataFrame({"id": ["a", "b"], "employees": [10, 20], "sector": ["office"] * 2},
                             geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(200, 100))], crs="EPSG:27700")
    pyogrio.write_dataframe(firms.to_crs("EPSG:4326"), tmp_path / "firms.geojson", driver="GeoJSON")
    (tmp_path / "export.geojson").write_text((tmp_path / "firms.geojson").read_text())
    for path in (tmp_path / "firms.geojson", tmp_path / "export.geojson"):
        data, problems = load_mapping(path)  # before: 'features[i].properties.layer: the feature names no layer' for each
        assert problems == [] and [f["id"] for f in data["firms"]] == ["a", "b"], path.name
    lines = gpd.GeoDataFrame({"id": ["p"]}, geometry=[shapely.LineString([xy(0, 0), xy(500, 0)])], crs="EPSG:27700")
    pyogrio.write_dataframe(lines.to_crs("EPSG:4326"), tmp_path / "paths.geojson", driver="GeoJSON")
    assert [p.reason for p in load_mapping(tmp_path / "firms.geojson")[1]] == [
        "holds one layer, firms; the other site layers beside it (paths.geojson) are not read: a site is one file "
        "(their features would be lost)"]
    pyogrio.write_dataframe(firms, tmp_path / "firms.gpkg", layer="firms")  # a GeoPackage saved for each layer
    assert [p.reason for p in load_mapping(tmp_path / "firms.gpkg")[1]] == [
        "holds one layer, firms; the other site layers beside it (paths.geojson) are not read: a site is one file "
        "(their features would be lost)"]


def test_a_merges_layer_field_kept_on_each_layer_after_a_split_is_ignored(tmp_path):
    # Merge Vector Layers, then Split Vector Layer and Package layers: each layer keeps the merge's
    # 'layer' field naming it ('site — barriers'); a barrier's 'layer' was read as its scenario layer
    gpkg = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    split = tmp_path / "split.gpkg"
    for name, geom in pyogrio.list_layers(gpkg):
        if name in ("layer_styles", "site"):
            continue
        frame = pyogrio.read_dataframe(gpkg, layer=name, read_geometry=geom is not None)
        pyogrio.write_dataframe(frame.assign(layer=f"site — {name}"), split, layer=f"layer_site — {name}")
    pyogrio.write_dataframe(pyogrio.read_dataframe(gpkg, layer="site", read_geometry=False), split, layer="site")
    assert validate_files([split]) == []  # before: 'unknown attribute 'layer'' per layer, 'not a valid id' per barrier
    assert same_site(read_site(split), read_site(gpkg))


def _without_provenance(d: dict) -> dict:
    d = copy.deepcopy(d)
    for f in d["firms"]:
        f.pop("provenance", None)
        f.pop("parcel", None)
    return d


# ------------------------------------------------------------------ 5. GeoDataFrames in the API


def test_site_from_and_to_gdfs(tmp_path):
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    layers = site_to_gdfs(src)
    assert set(layers) == set(SITE_LAYERS) and layers["firms"].crs == "EPSG:27700"
    site = site_from_gdfs(layers)
    assert same_site(site, read_site(src))
    wgs = {k: (v.to_crs("EPSG:4326") if isinstance(v, gpd.GeoDataFrame) else v) for k, v in layers.items()}
    site2 = site_from_gdfs(wgs)  # layers in another CRS are reprojected to the site's
    assert max(a.location.distance(b.location) for a, b in zip(site.firms, site2.firms)) < 1e-3
    less = dict(layers)
    less["firms"] = layers["firms"][layers["firms"]["id"] != "c"]
    with pytest.raises(ValidationError, match="firm 'c' is not in layer firms"):  # its entrance is left
        site_from_gdfs(less)
    less["firm_entrances"] = layers["firm_entrances"][layers["firm_entrances"]["firm"] != "c"]
    assert [f.id for f in site_from_gdfs(less, id="edited").firms] == ["a", "b", "d"]
    bad = dict(layers)
    bad["firms"] = layers["firms"].assign(employees=[120, -1, 40, 200])
    with pytest.raises(ValidationError, match="layer firms, feature 1 \\(b\\): employees"):
        site_from_gdfs(bad)
    domain = site_to_gdfs(site)
    assert domain["firms"]["employees"].tolist() == [120, 60, 40, 200] and domain["barriers"].crs == "EPSG:27700"
    html = site._repr_html_()
    assert "data:image/png;base64," in html and "Tiny test site" in html and "existing crossings" in html


def test_write_site_refuses_an_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="cannot write a site"):
        write_site(site_dict(), tmp_path / "x.csv")


# ------------------------------------------------------------------ 4. a run's layout.gpkg


RUN_LAYERS = ["parcels", "firms", "barriers", "paths", "existing_crossings", "new_crossings", "candidates_not_chosen",
              "candidate_sites_not_chosen", "facilities", "facility_footprints", "social_spaces", "coverage_areas",
              "facility_walks", "routes_before", "routes_after", "exclusion_zones"]


@pytest.fixture(scope="module")
def gpkg_run(tmp_path_factory):
    from optimiser import run_scenario

    folder = tmp_path_factory.mktemp("gpkg_run")
    d = rich_site()
    _write_yaml(folder / "site.yaml", d)
    convert_site(folder / "site.yaml", folder / "site.gpkg")
    scen = _write_yaml(folder / "scenario.yaml", scenario_dict(site="site.gpkg"))
    return run_scenario(scen, folder / "run", render=False, seed=0, workers=1)


@pytest.mark.slow
def test_run_dir_holds_a_styled_layout_gpkg(gpkg_run):
    path = gpkg_run.out_dir / "layout.gpkg"
    layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    assert [n for n in layers if n != "layer_styles"] == RUN_LAYERS and layers[-1] == "layer_styles"
    for name in RUN_LAYERS:
        frame = pyogrio.read_dataframe(path, layer=name)
        assert frame.crs == "EPSG:27700" and frame.geometry.is_valid.all() and len(frame) > 0, name
        assert not frame.geometry.is_empty.any()
    new = pyogrio.read_dataframe(path, layer="new_crossings")
    placed = {p.id for p in gpkg_run.metrics.placements.crossings}
    assert set(new["id"]) == placed and placed
    not_chosen = pyogrio.read_dataframe(path, layer="candidates_not_chosen")
    assert not set(not_chosen["id"]) & placed
    cov = pyogrio.read_dataframe(path, layer="coverage_areas")
    assert abs(cov.geometry.area.iloc[0] - 3.14159 * 300**2) / (3.14159 * 300**2) < 0.01
    styles = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
    assert set(styles["f_table_name"]) == set(RUN_LAYERS) and styles["useAsDefault"].all()
    qml = styles.set_index("f_table_name")["styleQML"]
    for name in RUN_LAYERS:
        ET.fromstring(qml[name].split("\n", 1)[1])  # well-formed after the doctype line
        ET.fromstring(styles.set_index("f_table_name")["styleSLD"][name].split("\n", 1)[1])
    r, g, b = (int(style.CROSSING_C[i:i + 2], 16) for i in (1, 3, 5))
    assert f'value="{r},{g},{b},255"' in qml["new_crossings"]
    assert 'attr="status"' in qml["parcels"] and "Buildable plot" in qml["parcels"]


@pytest.mark.slow
def test_run_api_names_chosen_items_and_gives_gdfs(gpkg_run):
    res = gpkg_run
    assert len(res.solve.chosen) == len(res.chosen_ids) > 0
    assert set(res.chosen_ids) >= {p.id for p in res.metrics.placements.crossings}
    assert {i["id"] for i in res.chosen_items} == set(res.chosen_ids)
    decisions = res.solve.chosen_items(res.prepared.problem)
    assert [d.key for d in decisions] == list(res.solve.chosen_keys)
    gdfs = run_to_gdfs(res.out_dir)
    assert list(gdfs) == RUN_LAYERS and gdfs["firms"].crs == "EPSG:27700"
    again = res.to_gdfs()
    assert set(again["facilities"]["id"]) == {p.id for p in res.metrics.placements.shared_facilities}
    html = res._repr_html_()
    assert "data:image/png;base64," in html and "walk reduction" in html
    (res.out_dir / "layout.gpkg").rename(res.out_dir / "layout.gpkg.bak")
    try:
        rebuilt = run_to_gdfs(res.out_dir)  # a run written before layout.gpkg existed
        assert set(rebuilt["new_crossings"]["id"]) == set(gdfs["new_crossings"]["id"])
    finally:
        (res.out_dir / "layout.gpkg.bak").rename(res.out_dir / "layout.gpkg")


@pytest.mark.slow
def test_gpkg_site_gives_the_same_optimum_as_its_yaml(gpkg_run, tmp_path):
    from optimiser import run_scenario

    convert_site(gpkg_run.out_dir.parent / "site.gpkg", tmp_path / "site.yaml")
    scen = _write_yaml(tmp_path / "scenario.yaml", scenario_dict(site="site.yaml"))
    res = run_scenario(scen, None, seed=0, workers=1)
    assert res.solve.objective == gpkg_run.solve.objective and res.chosen_ids == gpkg_run.chosen_ids
    assert res.status == gpkg_run.status == "optimal"


def test_an_empty_or_junk_gis_file_gets_our_words_not_gdals(tmp_path):
    (tmp_path / "empty.gpkg").write_bytes(b"")
    (tmp_path / "junk.gpkg").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "junk.shp").write_bytes(b"not a shapefile at all" * 10)
    whole = tmp_path / "site.gpkg"
    convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), whole)
    (tmp_path / "cut.gpkg").write_bytes(whole.read_bytes()[:1000])
    got = {Path(p.file).name: (p.field, p.reason, p.hint) for p in validate_files(
        [tmp_path / n for n in ("empty.gpkg", "junk.gpkg", "junk.shp", "cut.gpkg")])}
    fix = ("save the layers from QGIS again with Export > Save Features As...; siteopt convert SITE.yaml SITE.gpkg "
           "writes a GeoPackage from a site file")
    assert got == {
        "empty.gpkg": ("", "the file is empty", fix),
        "junk.gpkg": ("", "not a GeoPackage: it is not an SQLite database (a GeoPackage starts with 'SQLite format 3'); "
                      "was another file renamed to .gpkg?", fix),
        "junk.shp": ("", "not a Shapefile: GDAL does not recognise its contents", fix),
        "cut.gpkg": ("", "not a GeoPackage: its SQLite database is damaged (cut short or partly overwritten?)", fix),
    }
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "empty.gpkg"), str(tmp_path / "junk.gpkg")])
    assert r.exit_code == 2 and "DRIVER" not in r.output and "It might help" not in r.output


def test_gpkg_firms_unknown_field_lists_the_layers_fields_and_a_duplicate_names_both_features(tmp_path):
    """A firms layer's unknown field lists the columns that layer takes (entrances and footprints
    are layers of their own, provenance is its provenance_* columns); a duplicate id names the
    other feature by layer and fid, as every GeoPackage message does, not ``firms[0]``."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms", fid_as_index=True)
    firms["notes"] = "x"
    first, second = firms.index[0], firms.index[1]
    firms.loc[second, "id"] = firms.loc[first, "id"]
    _rewrite_layer(out, "firms", firms)
    problems = {p.field: p for p in validate_files([out])}
    notes = problems["layer firms: notes"]
    assert notes.hint == ("delete the field or rename it to one of the layer's: id, name, employees, sector, fixed, parcel, "
                          "provenance_source, provenance_accuracy_m, provenance_status")
    dup_id = firms.loc[first, "id"]
    dup = problems[f"layer firms, feature {second} ({dup_id}): id"]
    assert dup.reason == f"duplicate id {dup_id!r} (also layer firms, feature {first} ({dup_id}))"
    assert dup.hint == "ids must be unique within a layer"


# ---------------------------------------------------------------- s22: a QGIS user's GeoPackage


def test_gpkg_extra_layers_are_ignored_with_a_warning_naming_them(tmp_path, caplog):
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    notes = gpd.GeoDataFrame({"note": ["ask the council"]}, geometry=[shapely.Point(E0 + 5, N0 + 5)], crs="EPSG:27700")
    pyogrio.write_dataframe(notes, out, layer="notes", driver="GPKG")
    pyogrio.write_dataframe(pyogrio.read_dataframe(out, layer="firms"), out, layer="firms_2019", driver="GPKG")
    with caplog.at_level("WARNING", logger="optimiser.inputs.gis_files"):
        site = read_site(out)
    assert len(site.firms) == len(rich_site()["firms"])  # firms_2019 is not added to firms
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "2 layer(s) not read" in text and "'notes'" in text and "'firms_2019' (like 'firms', which is read)" in text


def test_gpkg_near_miss_of_a_missing_layer_is_a_problem_naming_the_layer_meant(tmp_path):
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    paths = pyogrio.read_dataframe(out, layer="paths")
    pyogrio.write_dataframe(paths, out, layer="footpaths", driver="GPKG")
    _rewrite_layer(out, "paths", paths.iloc[0:0])  # the paths were drawn in 'footpaths' only
    firms = pyogrio.read_dataframe(out, layer="firms")
    pyogrio.write_dataframe(firms, out, layer="Frims", driver="GPKG")
    problems = [str(p) for p in validate_files([out])]
    assert any("layer footpaths: is not a site layer" in p and "did you mean 'paths'" in p
               and "rename layer 'footpaths' to 'paths'" in p for p in problems), problems
    assert not any("Frims" in p for p in problems)  # 'firms' has its features: Frims is an ignored copy


def test_convert_site_without_crossing_rules_to_gpkg_and_back(tmp_path):
    data = rich_site()
    data.pop("crossing_rules", None)
    data["exclusion_zones"] = []
    out = convert_site(_write_yaml(tmp_path / "site.yaml", data), tmp_path / "site.gpkg")
    assert pyogrio.read_dataframe(out, layer="crossing_rules", read_geometry=False).empty
    assert read_site(out).crossing_rules == ()


def test_convert_writes_numbers_given_in_quotes_as_numbers(tmp_path):
    """A number in quotes (as GIS exports write text columns) is read as that number, and
    converted as it: the written file says 50, and a GeoPackage's employees column is an integer
    column (it was TEXT, every firm's head count a string in QGIS)."""
    data = site_dict()
    data["firms"][0]["employees"] = "120"
    data["barriers"][0]["width_m"] = "30.5"
    src = _write_yaml(tmp_path / "site.yaml", data)
    back = yaml.safe_load(convert_site(src, tmp_path / "out.yaml").read_text())
    assert back["firms"][0]["employees"] == 120 and back["barriers"][0]["width_m"] == 30.5
    assert [f["employees"] for f in back["firms"]] == [120, 60, 40, 200]
    gpkg = convert_site(src, tmp_path / "out.gpkg")
    info = pyogrio.read_info(gpkg, layer="firms")
    assert dict(zip(info["fields"], info["dtypes"]))["employees"] == "int64"
    assert read_site(gpkg).firms[0].employees == 120


def test_gpkg_write_failure_leaves_the_old_file_whole(tmp_path, monkeypatch):
    from optimiser.inputs import gis_files

    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    before = out.read_bytes()
    calls = {"n": 0}
    real = gis_files.pyogrio.write_dataframe

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(gis_files.pyogrio, "write_dataframe", failing)
    with pytest.raises(OSError):
        gis_files.write_gpkg_site(rich_site(), out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.gpkg")] == []


def test_missing_per_layer_is_told_by_the_features_not_by_the_message_text():
    """The grouping of per-feature problems into one per layer looks at the features (the field
    is not there on any of them), not at how the reason is worded."""
    from optimiser.errors import Problem
    from optimiser.inputs.gis import LocatedItem
    from optimiser.inputs.gis_messages import name_features

    def item(i: int, **fields) -> LocatedItem:
        it = LocatedItem(id=f"f{i}", location=[0, 0], **fields)
        it.where, it.layer, it.unknown = f"layer firms, feature {i + 1} (f{i})", "firms", {}
        return it

    data = {"firms": [item(0), item(1), item(2)]}
    reworded = [Problem("s.gpkg", f"firms[{i}].employees", "a head count is needed") for i in range(3)]
    out = name_features(reworded, data)
    assert [(p.field, p.reason.split(" (")[0]) for p in out] == [("layer firms: employees", "required field is missing on all 3 features")]
    data["firms"][2]["employees"] = 0  # there on one feature: its problem is that feature's, none is grouped
    out = name_features(reworded, data)
    assert [p.field for p in out] == [f"layer firms, feature {i + 1} (f{i}): employees" for i in range(3)]


def test_gpkg_copy_named_like_an_export_is_not_merged_into_the_layer(tmp_path, caplog):
    """``old_firms`` ends like a QGIS export's name (``site — firms``) but the file has ``firms``:
    the copy is not read (it gave a duplicate id per feature, or, with other ids, silently more firms)."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms")
    firms["id"] = firms["id"] + "-old"
    pyogrio.write_dataframe(firms, out, layer="old_firms", driver="GPKG")
    with caplog.at_level("WARNING", logger="optimiser.inputs.gis_files"):
        site = read_site(out)
    assert sorted(f.id for f in site.firms) == sorted(f["id"] for f in rich_site()["firms"])
    assert "'old_firms' (like 'firms', which is read)" in " ".join(r.getMessage() for r in caplog.records)


def test_gpkg_two_layers_that_could_each_be_one_kind_is_a_problem(tmp_path):
    src = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    out = tmp_path / "two.gpkg"
    for name, _ in pyogrio.list_layers(src):  # the same site with its firms in two layers, none named 'firms'
        frame = pyogrio.read_dataframe(src, layer=name)
        for layer in (["north — firms", "south — firms"] if name == "firms" else [name]):
            pyogrio.write_dataframe(frame, out, layer=layer, driver="GPKG")
    problems = [str(p) for p in validate_files([out])]
    assert any("layers 'north — firms', 'south — firms' could each be the site's 'firms' layer" in p for p in problems), problems


def test_gpkg_feature_without_geometry_in_a_layer_of_text_fields_is_a_problem_not_a_crash(tmp_path):
    """A path (id, kind: text only) whose line was deleted in QGIS: pandas 3 gives its row's
    geometry as NaN, which was an internal error ('float' object has no attribute 'is_empty')."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    paths = pyogrio.read_dataframe(out, layer="paths", fid_as_index=True)
    paths.loc[2, "geometry"] = None
    _rewrite_layer(out, "paths", paths)
    problems = validate_files([out])
    assert [p.field for p in problems] == [f"layer paths, feature 2 ({paths.loc[2, 'id']}): geometry"], problems


def test_a_feature_without_geometry_is_told_to_draw_it_not_to_add_a_field(tmp_path):
    """A firm whose point was deleted in QGIS said 'location: required field is missing (add
    location; ...)', as if the geometry were an attribute to add."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms", fid_as_index=True)
    firms.loc[2, "geometry"] = None
    _rewrite_layer(out, "firms", firms)
    assert [(p.field, p.reason, p.hint) for p in validate_files([out])] == [
        ("layer firms, feature 2 (b): location", "has no geometry (firm 'b')",
         "draw the feature's location in QGIS, or delete the feature")]


def test_gpkg_layer_with_m_values_is_read_without_pyogrios_warning(tmp_path, recwarn):
    """A layer with M values (QGIS keeps them from GPS tracks) printed pyogrio's 'Measured (M)
    geometry types are not supported' UserWarning twice, with pyogrio's source lines, on every
    validate and run; the M values are dropped as Z values are."""
    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    out = convert_site(src, tmp_path / "site.gpkg")
    paths = pyogrio.read_dataframe(out, layer="paths")
    wkb = [shapely.to_wkb(shapely.from_wkt("MULTILINESTRING M ((" + ", ".join(f"{x} {y} 0" for x, y in g.coords) + "))"),
                          flavor="iso") for g in paths.geometry]
    cols = [c for c in paths.columns if c != "geometry"]
    pyogrio.raw.write(out, np.array(wkb, dtype=object), [paths[c].to_numpy(dtype=object) for c in cols], cols, layer="paths",
                      driver="GPKG", geometry_type="Measured MultiLineString", crs=paths.crs.to_wkt(),
                      layer_options={"OVERWRITE": "YES"})
    recwarn.clear()
    assert same_site(read_site(out), read_site(src))
    assert not [str(w.message) for w in recwarn if "Measured" in str(w.message)]


def test_gpkg_holding_a_qgis_merge_is_read_by_its_layer_field(tmp_path):
    """Merge Vector Layers saved as a GeoPackage (QGIS's default format): one layer 'Merged' with
    the merge's 'layer' and 'path' fields. It was left unread ('1 layer(s) not read ... Merged')
    and the site said 'the site is empty: no firms and no parcels' and 'crs: required field is
    missing'; it is read as the same merge saved as GeoJSON is."""
    src = _write_yaml(tmp_path / "site.yaml", site_dict())
    gpkg = convert_site(src, tmp_path / "site.gpkg")
    parts = []
    for name, geom_type in pyogrio.list_layers(gpkg):
        frame = pyogrio.read_dataframe(gpkg, layer=name)
        if geom_type is not None and len(frame):
            parts.append(frame.assign(layer=f"tiny — {name}", path=f"{gpkg}|layername={name}"))
    merged = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    out = tmp_path / "merged.gpkg"
    pyogrio.write_dataframe(merged, out, layer="Merged", driver="GPKG", geometry_type="Unknown")
    _write_yaml(tmp_path / "merged.site.yaml", {k: site_dict()[k] for k in ("id", "name", "illustrative", "crossing_rules")})
    assert validate_files([out]) == []
    assert same_site(read_site(out), read_site(src))


def test_gpkg_layer_without_a_crs_or_a_site_crs_that_is_no_crs(tmp_path):
    """A layer QGIS saved without a CRS (srs_id -1 or 0: GDAL's 'Undefined Cartesian/geographic
    SRS') was an internal error (ProjError: Error creating Transformer from CRS), and with no crs
    in the site table one problem per feature quoting the undefined SRS's WKT; a site table crs
    as QGIS labels it ('EPSG:27700 - OSGB36 / British National Grid') was an internal error
    (CRSError). The layer is in the site's crs; no crs at all, or a wrong one, is one problem."""
    import sqlite3

    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")

    def edited(name: str, *sql: str) -> Path:
        path = tmp_path / name
        path.write_bytes(out.read_bytes())
        with sqlite3.connect(path) as con:
            for statement in sql:
                con.execute(statement)
        con.close()
        return path

    firms_no_crs = edited("a.gpkg", "UPDATE gpkg_geometry_columns SET srs_id = -1 WHERE table_name = 'firms'")
    assert same_site(read_site(firms_no_crs), read_site(out))
    none = edited("b.gpkg", "UPDATE gpkg_geometry_columns SET srs_id = 0", "UPDATE site SET crs = NULL")
    [problem] = validate_files([none])  # said where a CRS goes (it was 'required field is missing (add crs; ...)')
    assert problem.field == "crs" and problem.reason.startswith("no layer has a coordinate reference system and the site's")
    assert "the crs field of layer site in a GeoPackage" in problem.hint
    label = edited("c.gpkg", "UPDATE site SET crs = 'EPSG:27700 - OSGB36 / British National Grid'")
    assert [(p.field, p.reason) for p in validate_files([label])] == [  # named where it is written
        ("layer site: crs", "unknown CRS 'EPSG:27700 - OSGB36 / British National Grid'")]


def test_gpkg_two_layers_for_one_kind_is_one_problem_not_three(tmp_path):
    """Zones drawn in a new layer 'exclusion zones' beside the empty 'exclusion_zones' that
    siteopt convert wrote: besides the problem that either could be the layer, each was said to
    be 'not a site layer', one with the hint "rename layer 'exclusion_zones' to 'exclusion_zones'"."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    zones = gpd.GeoDataFrame({"id": ["sub"], "reason": ["substation"]}, crs="EPSG:27700",
                             geometry=[shapely.box(E0 + 800, N0 + 150, E0 + 900, N0 + 250)])
    pyogrio.write_dataframe(zones, out, layer="exclusion zones", driver="GPKG")
    assert [(p.field, p.reason) for p in validate_files([out])] == [
        ("layer exclusion_zones", "layers 'exclusion_zones', 'exclusion zones' could each be the site's 'exclusion_zones' "
         "layer; they are not merged")]


def test_gpkg_unknown_attribute_on_features_without_an_id_names_them_once(tmp_path):
    """The id column itself renamed ('plot'): the features were named with their layer again,
    '(layer parcels, feature 1, layer parcels, feature 2, ...)' after 'layer parcels: plot:'."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    _rewrite_layer(out, "parcels", pyogrio.read_dataframe(out, layer="parcels").rename(columns={"id": "plot"}))
    assert ("layer parcels: plot", "unknown attribute 'plot' on 6 features (feature 1, feature 2, feature 3, feature 4, "
            "feature 5 and 1 more)") in [(p.field, p.reason) for p in validate_files([out])]


def test_gpkg_entrance_with_a_null_firm_is_missing_not_firm_none(tmp_path):
    """An entrance whose 'firm' was left empty in QGIS said "firm None is not in layer firms"."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    entrances = pyogrio.read_dataframe(out, layer="firm_entrances", fid_as_index=True)
    entrances.loc[1, "firm"] = None
    _rewrite_layer(out, "firm_entrances", entrances)
    assert [(p.field, p.reason, p.hint) for p in validate_files([out])] == [
        ("layer firm_entrances, feature 1: firm", "required field is missing",
         "set 'firm' to the id of a feature of layer firms, or delete the feature")]


def test_gpkg_layer_of_the_wrong_geometry_type_is_one_problem(tmp_path):
    """Firms kept as building polygons (one per firm) gave one 'a MultiPolygon where a Point is
    needed (draw it as a Point)' per firm, 51 lines for a site of 51 parcels drawn as lines."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms")
    buildings = gpd.GeoSeries([shapely.MultiPolygon([g.buffer(10)]) for g in firms.geometry], crs=firms.crs)
    pyogrio.write_dataframe(firms.set_geometry(buildings), out, layer="firms", driver="GPKG", geometry_type="MultiPolygon",
                            layer_options={"OVERWRITE": "YES"})
    assert [(p.field, p.reason) for p in validate_files([out])] == [
        ("layer firms", "all its 4 features are MultiPolygons where Points are needed")]
    firms.loc[0, "geometry"] = buildings[0]  # one firm only: named as before
    _rewrite_layer(out, "firms", firms)
    assert [(p.field, p.reason) for p in validate_files([out])] == [
        ("layer firms, feature 1 (a): location", "a MultiPolygon where a Point is needed (firm 'a')")]


def test_site_table_unknown_field_and_rows_are_named_as_the_tables(tmp_path):
    """A column added to the site table in QGIS ('notes') was 'notes: unknown key' with the site
    file's top-level keys as the allowed ones (parcels, firms ...: no columns of the table); the
    site frame of site_from_gdfs with two rows lost both silently (the problem was dropped)."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    table = pyogrio.read_dataframe(out, layer="site", read_geometry=False)
    pyogrio.write_dataframe(table.assign(notes="drawn by JS"), out, layer="site", driver="GPKG",
                            layer_options={"OVERWRITE": "YES"})
    assert [(p.field, p.reason, p.hint) for p in validate_files([out])] == [
        ("layer site: notes", "unknown field 'notes'",
         "delete the field or rename it to one of the table's: format, id, name, description, crs, working_crs, illustrative")]
    layers = site_to_gdfs(_write_yaml(tmp_path / "site.yaml", site_dict()))
    layers["site"] = pd.concat([table, table], ignore_index=True)
    with pytest.raises(ValidationError, match="layer site: must hold exactly one row"):
        site_from_gdfs(layers)


def test_qgis_styles_draw_features_of_any_category_value(tmp_path):
    """QGIS draws no feature whose value has no category: a barrier of kind 'other' in
    layout.gpkg, and every barrier of a site GeoPackage written from a file that says
    'carriageway' or 'rail_corridor' (the AMP-SBP site), were invisible. The categorized
    renderers end with QGIS's 'all other values' category (value ''); the SLD with an ElseFilter."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    assert pyogrio.read_dataframe(out, layer="barriers")["kind"].tolist() == ["carriageway"]
    styles = pyogrio.read_dataframe(out, layer="layer_styles", read_geometry=False).set_index("f_table_name")
    for layer in ("barriers", "parcels"):
        renderer = ET.fromstring(styles.loc[layer, "styleQML"].split("\n", 1)[1]).find("renderer-v2")
        values = [c.get("value") for c in renderer.iter("category")]
        symbols = {s.get("name") for s in renderer.find("symbols").iter("symbol")}
        assert values[-1] == "" and {c.get("symbol") for c in renderer.iter("category")} <= symbols, layer
        sld = ET.fromstring(styles.loc[layer, "styleSLD"].split("\n", 1)[1])
        assert sld.find(".//{http://www.opengis.net/se}ElseFilter") is not None, layer


def test_gpkg_integer_id_columns_as_qgis_makes_them_are_read_as_text(tmp_path):
    """QGIS gives a new layer an integer ``id`` (and a reference typed in a number field is a
    number): each feature was 'id: must be text, got 1'; the digits are the id."""
    data = rich_site()
    out = convert_site(_write_yaml(tmp_path / "site.yaml", data), tmp_path / "site.gpkg")
    parcels = pyogrio.read_dataframe(out, layer="parcels")
    numbers = {old: i for i, old in enumerate(parcels["id"], start=101)}
    parcels["id"] = [numbers[i] for i in parcels["id"]]  # an integer column
    _rewrite_layer(out, "parcels", parcels)
    firms = pyogrio.read_dataframe(out, layer="firms")
    if "parcel" in firms.columns:  # a firm's parcel reference: the same numbers, as reals (a widened column)
        firms["parcel"] = [float(numbers[p]) if isinstance(p, str) else None for p in firms["parcel"]]
        _rewrite_layer(out, "firms", firms)
    assert validate_files([out]) == []
    site = read_site(out)
    assert sorted(p.id for p in site.parcels) == sorted(str(n) for n in numbers.values())
    assert all(f.parcel_id is None or f.parcel_id in {str(n) for n in numbers.values()} for f in site.firms)


def test_convert_onto_its_own_source_is_refused_even_with_overwrite(tmp_path):
    """`siteopt convert site.yaml site.yaml --overwrite` rewrote the hand-written source in place
    (its comments, order and quoting lost); through a link or another spelling of the path too."""
    from click.testing import CliRunner

    from optimiser.cli import cli
    from optimiser.errors import FileReadError

    src = _write_yaml(tmp_path / "site.yaml", rich_site())
    src.write_text("# surveyed 2026\n" + src.read_text())
    before = src.read_bytes()
    (tmp_path / "link.yaml").symlink_to(src)
    for dst in (src, tmp_path / "." / "site.yaml", tmp_path / "link.yaml"):
        with pytest.raises(FileReadError, match="is the file being converted"):
            convert_site(src, dst, overwrite=True)
    for more in ([], ["--overwrite"]):  # without --overwrite too: not 'exists already (... pass --overwrite)'
        res = CliRunner().invoke(cli, ["convert", str(src), str(src), *more])
        assert res.exit_code == 2 and "is the file being converted" in res.output and "--overwrite" not in res.output, res.output
    assert src.read_bytes() == before
    convert_site(src, tmp_path / "copy.yaml")  # another name: converted as before



def test_gis_fields_named_in_another_case_are_the_fields(tmp_path):
    """ArcGIS and some exports write field names in upper case (ID, EMPLOYEES, PROVENANCE_SOURCE);
    each was an unknown attribute plus a missing required field on every feature. A column of
    the exact name wins over a case variant beside it (possible in GeoJSON; a GeoPackage's
    columns are one name whatever the case)."""
    data = rich_site()
    out = convert_site(_write_yaml(tmp_path / "site.yaml", data), tmp_path / "site.gpkg")
    firms = pyogrio.read_dataframe(out, layer="firms")
    upper = firms.rename(columns={c: c.upper() for c in firms.columns if c != "geometry"})
    _rewrite_layer(out, "firms", upper)
    parcels = pyogrio.read_dataframe(out, layer="parcels")
    _rewrite_layer(out, "parcels", parcels.rename(columns={"id": "Id", "status": "Status"}))
    assert validate_files([out]) == []
    assert same_site(read_site(out), read_site(tmp_path / "site.yaml"))


def test_the_site_tables_fields_named_in_another_case_are_the_fields(tmp_path):
    """The site table's columns from the same ArcGIS export (ID, NAME, CRS, OBJECTID) were each
    'layer site: ID: unknown field' while the layers' ID, EMPLOYEES were read as their fields
    (496d852) and their OBJECTID ignored: the table folds the case as the layers do."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", site_dict()), tmp_path / "site.gpkg")
    table = pyogrio.read_dataframe(out, layer="site", read_geometry=False)
    _rewrite_layer(out, "site", table.rename(columns={c: c.upper() for c in table.columns}).assign(OBJECTID=1))
    assert validate_files([out]) == []  # ArcGIS's OBJECTID ignored, as in the layers
    assert same_site(read_site(out), read_site(tmp_path / "site.yaml"))
    _rewrite_layer(out, "site", table.assign(NOTES="x"))
    assert [(p.field, p.reason) for p in validate_files([out])] == [("layer site: NOTES", "unknown field 'NOTES'")]


def test_a_case_variant_beside_the_exact_field_stays_an_attribute_of_its_own():
    from optimiser.inputs.gis import item_from_props, layer_for

    item = item_from_props({"id": "a", "employees": 5, "EMPLOYEES": 7, "Sector": "office"}, layer_for("firms"), "f1")
    assert item["employees"] == 5 and item["sector"] == "office" and item.unknown == {"EMPLOYEES": 7}


def test_two_case_variants_of_one_field_are_not_merged_silently():
    """{'ID': 'a', 'Id': 'b'} (possible in GeoJSON) read as id 'b', the 'a' lost without a word;
    the first is the field, the second stays an attribute of its own (an unknown-attribute problem)."""
    from optimiser.inputs.gis import item_from_props, layer_for

    item = item_from_props({"ID": "a", "Id": "b", "employees": 5, "PROVENANCE_SOURCE": "x", "Provenance_Source": "y"},
                           layer_for("firms"), "f1")
    assert item["id"] == "a" and item["provenance"] == {"source": "x"}
    assert item.unknown == {"Id": "b", "Provenance_Source": "y"}


def test_a_converted_site_styles_the_first_formats_barrier_kinds_as_the_kinds_they_name(tmp_path):
    """AMP-SBP's barriers say 'carriageway' and 'rail_corridor' (the first format's names, kept as
    given): the site GeoPackage's style drew them with the catch-all (a path-coloured line)."""
    out = convert_site(Path(__file__).resolve().parents[1] / "sites" / "amp_sbp" / "site.yaml", tmp_path / "amp.gpkg")
    styles = pyogrio.read_dataframe(out, layer="layer_styles", read_geometry=False)
    qml = styles.loc[styles["f_table_name"] == "barriers", "styleQML"].iloc[0]
    assert 'value="carriageway" label="Dual carriageway (carriageway)"' in qml
    assert 'value="rail_corridor" label="Rail (rail_corridor)"' in qml
    assert 'value="watercourse"' not in qml  # only the old names the layer holds
    from optimiser.present.gpkg import styles_frame

    plain = styles_frame(["barriers"])  # layout.gpkg's kinds are the current names: no extra entries
    assert plain is not None and "carriageway)" not in plain.loc[0, "styleQML"]


def test_a_yaml_or_json_site_without_crs_is_not_told_about_qgis_layers(tmp_path):
    """The no-CRS-anywhere problem of a GIS site (dd7f072: 'no layer has a coordinate reference
    system ... assign the layers' CRS in QGIS') was given to every site file without crs, a
    hand-written YAML or JSON one too, which has no layers; it keeps 'required field is missing
    (add crs ...)' there."""
    data = site_dict()
    del data["crs"]
    for name in ("site.yaml", "site.json"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data) if name.endswith("yaml") else json.dumps(data))
        assert [(p.field, p.reason, p.hint) for p in validate_files([path]) if p.field == "crs"] == [
            ("crs", "required field is missing", "add crs; sites/README.md and constraints/README.md list every key")]

def test_site_layers_named_in_another_language_are_named_with_what_they_likely_are(tmp_path):
    """A German planner's GeoPackage with layers 'Firmen', 'Flurstücke' and 'Wege' was only 'the site
    is empty: no firms and no parcels', the layers named in a warning as not read. Now each layer
    with geometry is a problem saying which site layer it likely is (by its geometry), when the
    site would be empty; a notes layer beside real firms still only warns."""
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site_dict()))
    src = tmp_path / "site.gpkg"
    convert_site(tmp_path / "site.yaml", src)
    dst = tmp_path / "de.gpkg"
    for layer, name in (("firms", "Firmen"), ("parcels", "Flurstücke"), ("paths", "Wege"), ("barriers", "barriers")):
        pyogrio.write_dataframe(pyogrio.read_dataframe(src, layer=layer), dst, layer=name)
    got = [(p.field, p.reason.split(":")[0], p.hint.split(";")[0]) for p in validate_files([dst])]
    assert got == [
        ("layer Firmen", "is not a site layer, so its point features are not read, and the file has no firms or parcels",
         "if they are the site's firms, rename layer 'Firmen' to 'firms' in QGIS (Layer Properties > Source)"),
        ("layer Flurstücke", "is not a site layer, so its polygon features are not read, and the file has no firms or "
         "parcels", "if they are the site's parcels, rename layer 'Flurstücke' to 'parcels' in QGIS (Layer Properties > "
         "Source)"),
        ("layer Wege", "is not a site layer, so its line features are not read, and the file has no firms or parcels",
         "if they are the site's paths or barriers, rename layer 'Wege' to 'paths' in QGIS (Layer Properties > Source)"),
        ("", "the site is empty", "see sites/README.md for the format")], got
    pyogrio.write_dataframe(pyogrio.read_dataframe(src, layer="firms"), src, layer="Notizen", append=False)
    assert validate_files([src]) == []


def test_the_sites_own_fields_are_named_where_the_file_gives_them(tmp_path):
    """A GeoPackage's site table with illustrative 'ja' said 'illustrative: must be true or
    false', and a GeoJSON's site member with id 5 'id: must be text': neither said where in the
    file. They name the site table's field and the site member's key now."""
    out = convert_site(_write_yaml(tmp_path / "site.yaml", rich_site()), tmp_path / "site.gpkg")
    table = pyogrio.read_dataframe(out, layer="site", read_geometry=False)
    table["illustrative"] = "ja"
    _rewrite_layer(out, "site", table)
    assert [(p.field, p.reason) for p in validate_files([out])] == [("layer site: illustrative", 'must be true or false, got "ja"')]
    gj = convert_site(_write_yaml(tmp_path / "site2.yaml", rich_site()), tmp_path / "site.geojson")
    fc = json.loads(gj.read_text())
    fc["site"]["id"] = 5
    gj.write_text(json.dumps(fc))
    assert [p.field for p in validate_files([gj])] == ["site.id"]
    # a field given beside the file (its sidecar) is not named as the file's
    (tmp_path / "site.site.yaml").write_text("id: 7\n")
    assert [p.field for p in validate_files([gj])] == ["id"]


def test_an_entrance_order_written_as_text_is_the_number_or_a_problem(tmp_path):
    """A firm's entrances were sorted by their 'order' as given: in a text column '10' came
    before '9', 'first' was accepted, and a GeoJSON mixing 1 and "0" raised TypeError (an
    internal error). The order is the number written; anything else is a problem."""
    site_yaml = _write_yaml(tmp_path / "site.yaml", rich_site())
    want = [e for f in read_site(site_yaml).firms if f.id == "a" for e in f.entrances]
    gj = convert_site(site_yaml, tmp_path / "site.geojson")
    fc = json.loads(gj.read_text())
    ents = [f for f in fc["features"] if f["properties"].get("layer") == "firm_entrance" and f["properties"]["firm"] == "a"]
    ents[0]["properties"]["order"], ents[1]["properties"]["order"] = "10", 9  # the second first now
    gj.write_text(json.dumps(fc))
    got = [e for f in read_site(gj).firms if f.id == "a" for e in f.entrances]
    assert [round(e.distance(w), 2) for e, w in zip(got, [want[1], want[0]], strict=True)] == [0, 0]
    ents[0]["properties"]["order"] = "first"
    gj.write_text(json.dumps(fc))
    assert [(p.field, p.reason) for p in validate_files([gj])] == [
        ("features[10] (firm_entrances): order", "must be a number, got 'first'")]


def test_a_shapefile_without_its_prj_is_told_so(tmp_path):
    """A Shapefile sent without its .prj got the GeoPackage-minded 'no layer has a coordinate
    reference system'; the problem names the missing firms.prj (with it, no such problem)."""
    firms = gpd.GeoDataFrame({"id": ["a", "b"], "employees": [10, 20], "sector": ["office"] * 2},
                             geometry=[shapely.Point(xy(100, 100)), shapely.Point(xy(200, 100))], crs="EPSG:27700")
    path = tmp_path / "firms.shp"
    pyogrio.write_dataframe(firms, path)
    assert not [p for p in validate_files([path]) if p.field == "crs"]
    (tmp_path / "firms.prj").unlink()
    (crs,) = [p for p in validate_files([path]) if p.field == "crs"]
    assert crs.reason.startswith("no layer has a coordinate reference system (firms.prj, which holds a Shapefile's CRS, "
                                 "is missing) and the site's crs field is empty")
