"""Loaders: formats, reprojection, typed objects, overrides."""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml
from pyproj import Transformer

from optimiser.errors import InputError, ValidationError
from optimiser.inputs import read_scenario, read_site, scenario_from_mapping, validate_files
from optimiser.inputs.domain import ParcelStatus
from optimiser.inputs.overrides import apply_overrides
from tests.sitefiles import scenario_dict, site_dict, write_files


def test_yaml_and_json_give_the_same_site(tmp_path):
    d = site_dict()
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    (tmp_path / "s.json").write_text(json.dumps(d))
    a = read_site(tmp_path / "s.yaml")
    b = read_site(tmp_path / "s.json")
    assert [f.id for f in a.firms] == [f.id for f in b.firms]
    assert a.parcels[0].polygon.equals(b.parcels[0].polygon)
    assert a.crs == "EPSG:27700" and a.illustrative


def test_toml_scenario(tmp_path):
    write_files(tmp_path)
    (tmp_path / "scen.toml").write_text(
        'format = "placemaking-scenario/1"\nid = "t"\nsite = "site.yaml"\nbudget_gbp = 500000.0\n'
        '[crossings.types.signalised]\ncost_gbp = 250000.0\npenalty_m = 45.0\n'
    )
    sc = read_scenario(tmp_path / "scen.toml")
    assert sc.budget == 500000.0 and sc.crossings.types[0].type == "signalised"
    assert tomllib.loads((tmp_path / "scen.toml").read_text())["id"] == "t"


def test_wgs84_site_is_reprojected_to_bng(tmp_path):
    d = site_dict()
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def conv(obj):
        if isinstance(obj, list) and obj and isinstance(obj[0], (int, float)):
            return list(tr.transform(obj[0], obj[1]))
        if isinstance(obj, list):
            return [conv(o) for o in obj]
        if isinstance(obj, dict):
            return {k: (conv(v) if k in ("coordinates", "location", "entrances") else conv(v) if isinstance(v, (dict, list)) else v)
                    for k, v in obj.items()}
        return obj

    d2 = conv(d)
    d2["crs"] = "EPSG:4326"
    (tmp_path / "wgs.yaml").write_text(yaml.safe_dump(d2))
    site = read_site(tmp_path / "wgs.yaml")
    ref = read_site(_write(tmp_path / "bng.yaml", d))
    assert site.crs == "EPSG:27700" and site.source_crs == "EPSG:4326"
    for f, g in zip(site.firms, ref.firms):
        assert f.location.distance(g.location) < 0.01


def test_geojson_site(tmp_path):
    d = site_dict()
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def pt(p):
        return list(tr.transform(*p))

    def geom(g):
        if g["type"] == "LineString":
            return {"type": "LineString", "coordinates": [pt(p) for p in g["coordinates"]]}
        return {"type": "Polygon", "coordinates": [[pt(p) for p in ring] for ring in g["coordinates"]]}

    feats = []
    for p in d["parcels"]:
        feats.append({"type": "Feature", "geometry": geom(p["geometry"]),
                      "properties": {"layer": "parcel", "id": p["id"], "status": p["status"]}})
    for f in d["firms"]:
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": pt(f["location"])},
                      "properties": {"layer": "firm", "id": f["id"], "employees": f["employees"], "sector": f["sector"]}})
    for b in d["barriers"]:
        feats.append({"type": "Feature", "geometry": geom(b["geometry"]),
                      "properties": {"layer": "barrier", "id": b["id"], "kind": b["kind"], "width_m": b["width_m"]}})
    fc = {"type": "FeatureCollection", "site": {"id": "tiny-geojson", "name": "From QGIS"}, "features": feats}
    (tmp_path / "site.geojson").write_text(json.dumps(fc))
    site = read_site(tmp_path / "site.geojson")
    assert site.id == "tiny-geojson" and len(site.firms) == 4 and site.crs == "EPSG:27700"
    assert site.parcels[0].status == ParcelStatus.BUILDABLE
    # a bad layer names the feature
    feats[0]["properties"]["layer"] = "parcle"
    (tmp_path / "bad.geojson").write_text(json.dumps(fc))
    probs = validate_files([tmp_path / "bad.geojson"])
    assert any(p.field == "features[0].properties.layer" and "parcel" in (p.hint or "") for p in probs)


def _write(path, d):
    path.write_text(yaml.safe_dump(d))
    return path


def test_scenario_typed_objects(tmp_path):
    _, scen = write_files(tmp_path)
    sc = read_scenario(scen)
    assert sc.site.id == "tiny"
    assert sc.facilities[0].count.min == 1 and sc.facilities[0].count.max == 1
    assert sc.social_spaces is not None and sc.social_spaces.coverage == "weighted"
    assert {t.type for t in sc.crossings.types} == {"signalised", "footbridge"}
    assert sc.solver.backend == "cpsat" and sc.solver.seed == 0
    assert [b.id for b in sc.active_barriers] == ["parkway"]


def test_overrides_and_in_memory_scenarios(tmp_path):
    _, scen = write_files(tmp_path)
    sc = read_scenario(scen, budget_gbp=2e6, **{"solver.seed": 7})
    assert sc.budget == 2e6 and sc.solver.seed == 7
    # list items by index, as batch sweeps write them; a bad key is a ValidationError naming it
    first = read_scenario(scen).facilities[0]
    sc = read_scenario(scen, **{"facilities.0.candidate_spacing_m": first.candidate_spacing_m * 2, "facilities[0].count": 1})
    count = sc.facilities[0].count
    assert sc.facilities[0].candidate_spacing_m == first.candidate_spacing_m * 2 and (count.min, count.max) == (1, 1)
    with pytest.raises(ValidationError) as bad:
        read_scenario(scen, **{"facilities.9.count": 1, "facilitiez.0.count": 1})
    assert [p.field for p in bad.value.problems] == ["facilitiez.0.count"]  # the unknown field first, before applying
    assert "did you mean" in bad.value.problems[0].reason
    with pytest.raises(ValidationError, match="index 9 is out of range") as oob:
        read_scenario(scen, **{"facilities.9.count": 1})
    assert oob.value.problems[0].field == "facilities.9.count"  # the override's key, not the file
    no_list = tmp_path / "no_list.yaml"  # a scenario without facilities: item 0 of them cannot be set
    no_list.write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(scen.read_text()).items() if k != "facilities"}))
    with pytest.raises(ValidationError, match="facilities is not a list in the file") as missing:
        read_scenario(no_list, **{"facilities.0.count": 2})
    assert missing.value.problems[0].field == "facilities.0.count"
    data = apply_overrides(scenario_dict(), {"demand.rule": "employees_product"})
    sc2 = scenario_from_mapping(data, base_path=tmp_path / "x.yaml")
    assert sc2.demand.rule == "employees_product"
    with pytest.raises(ValidationError) as exc:
        scenario_from_mapping(apply_overrides(data, {"budget_gbp": 0}), base_path=tmp_path / "x.yaml")
    assert exc.value.problems[0].field == "budget_gbp"


def test_errors_are_value_errors_and_collect_everything(tmp_path):
    _, scen = write_files(tmp_path, budget_gbp=0, layers={"hs3": True})
    with pytest.raises(ValueError) as exc:
        read_scenario(scen)
    assert isinstance(exc.value, InputError)
    fields = {p.field for p in exc.value.problems}
    assert "budget_gbp" in fields


def test_embedded_default_is_found():
    from optimiser.inputs import default_scenario_path

    p = default_scenario_path()
    assert p.name == "baseline.yaml" and p.parent.name == "amp_sbp"


def test_malformed_geojson_sites_are_listed_not_crashed(tmp_path):
    cases = {
        "g1": ({"type": "FeatureCollection", "site": {"id": "x"}, "features": ["oops"]}, "features[0]"),
        "g2": ({"type": "FeatureCollection", "site": {"id": "x"}, "features": "abc"}, "features"),
        "g3": ({"type": "FeatureCollection", "site": {"id": "x"},
                "features": [{"type": "Feature", "geometry": None, "properties": [1, 2]}]}, "features[0].properties"),
        "g4": ({"type": "FeatureCollection", "site": {"id": "x"},
                "features": [{"type": "Feature", "geometry": None, "properties": {"layer": ["firm"]}}]}, "features[0].properties.layer"),
        "g5": ({"type": "FeatureCollection", "features": []}, ""),  # no site member: the id is the file name
    }
    for name, (fc, field) in cases.items():
        path = tmp_path / f"{name}.geojson"
        path.write_text(json.dumps(fc))
        probs = validate_files([path])
        assert any(p.field == field for p in probs), (name, [str(p) for p in probs])


def test_lat_lon_swapped_is_reported(tmp_path):
    d = site_dict()
    d["crs"] = "EPSG:4326"
    d["firms"][0]["location"] = [53.39, -1.38]
    path = tmp_path / "swapped.yaml"
    path.write_text(yaml.safe_dump(d))
    probs = validate_files([path])
    assert any(p.field == "firms[0].location" and "latitude" in p.reason for p in probs)


def test_duplicate_demand_pairs_and_clashing_crossing_ids(tmp_path):
    _, scen = write_files(
        tmp_path,
        demand={"rule": "explicit", "pairs": [{"a": "a", "b": "b", "weight": 5}, {"a": "b", "b": "a", "weight": 7}]},
        crossings={"spacing_m": 300, "types": {"signalised": {"cost_gbp": 250000, "penalty_m": 45}},
                   "explicit": [{"id": "parkway-sig-001", "barrier": "parkway", "type": "signalised",
                                 "geometry": {"type": "LineString", "coordinates": [[440200, 387280], [440200, 387320]]}}]},
    )
    probs = validate_files([scen])
    fields = {p.field for p in probs}
    assert "demand.pairs[1]" in fields
    assert "crossings.explicit[0].id" in fields


def test_a_geojson_that_is_no_feature_collection_is_one_problem_with_what_to_do(tmp_path):
    """A lone Feature saved as ``.geojson`` gave 'a GeoJSON site must be a FeatureCollection' with no
    fix, then two problems that followed from it (no crs, the site is empty); a site in the site
    format saved as ``.geojson`` the same three."""
    feature = {"type": "Feature", "properties": {"layer": "firm", "id": "a", "employees": 5},
               "geometry": {"type": "Point", "coordinates": [-1.38, 53.39]}}
    (tmp_path / "one.geojson").write_text(json.dumps(feature))
    (tmp_path / "site.geojson").write_text(json.dumps(site_dict()))
    got = [(p.file.rsplit("/", 1)[-1], p.field, p.reason, p.hint)
           for p in validate_files([tmp_path / "one.geojson", tmp_path / "site.geojson"])]
    assert got == [
        ("one.geojson", "type", "a GeoJSON site must be a FeatureCollection; this is a Feature",
         'put every feature of the site in one {"type": "FeatureCollection", "features": [...]}, each with its '
         "properties.layer (sites/README.md, GeoJSON variant)"),
        ("site.geojson", "type", "a GeoJSON site must be a FeatureCollection; this file is in the placemaking-site/1 "
         "format", "rename it to .json (or .yaml), the suffix of that format")]


def test_a_name_that_turns_text_right_to_left_is_closed_at_its_end(tmp_path):
    """A firm named '\u202eشركة الأمل' (starting with RIGHT-TO-LEFT OVERRIDE, as pasted from some
    editors) reversed the rest of its line in report.html: 'X – Zeiß Optik AG (+180 m)' showed as
    'X – (m 081+) GA kitpO ßieZ'. Its override is closed where the name ends; nothing is removed,
    and a name whose controls are closed already is left as it is."""
    d = site_dict()
    d["name"] = "\u05e4\u05d0\u05e8\u05e7 \u202e"
    d["firms"][0]["name"] = "\u202eشركة \u2067الأمل"
    d["firms"][1]["name"] = "\u202eBeta\u202c Lab"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d, allow_unicode=True))
    site = read_site(tmp_path / "site.yaml")
    assert site.name == "\u05e4\u05d0\u05e8\u05e7 \u202e\u202c"
    assert [f.name for f in site.firms[:2]] == ["\u202eشركة \u2067الأمل\u202c\u2069", "\u202eBeta\u202c Lab"]

def test_a_geojson_saved_as_json_is_read_as_geojson(tmp_path):
    from optimiser.inputs.geojson import site_to_geojson

    path = tmp_path / "site.json"  # many tools (and QGIS users) name a GeoJSON file .json
    path.write_text(json.dumps(site_to_geojson(site_dict())))
    site = read_site(path)  # before: read as a scenario: 'features: unknown key (did you mean 'futures'?)'
    assert site.id == "tiny" and [f.id for f in site.firms] == ["a", "b", "c", "d"] and site.crs == "EPSG:27700"
    assert validate_files([path]) == []


def test_a_lone_geojson_feature_saved_as_json_is_told_what_a_geojson_site_is(tmp_path):
    """A Feature (or a bare geometry) saved as .json was read as a site or scenario: 'id: required
    field is missing', 'type: unknown key', 'geometry: unknown key', 'properties: unknown key'
    ...; it now gets what the same object saved as .geojson gets (c1eb5b2 read only a
    FeatureCollection so)."""
    from optimiser.inputs.geojson import site_to_geojson

    feature = site_to_geojson(site_dict())["features"][0]
    for name, doc in (("one.json", feature), ("point.json", feature["geometry"])):
        (tmp_path / name).write_text(json.dumps(doc))
    found = validate_files([tmp_path / "one.json", tmp_path / "point.json"])
    assert [(p.file.rsplit("/", 1)[-1], p.field, p.reason) for p in found] == [
        ("one.json", "type", "a GeoJSON site must be a FeatureCollection; this is a Feature"),
        ("point.json", "type", f"a GeoJSON site must be a FeatureCollection; this is a {feature['geometry']['type']}")]
