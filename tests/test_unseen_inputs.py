"""Site and scenario files as other people write them (wave 6, helper HR): Windows byte-order
marks, empty files, MultiPolygons, GIS exports with extra attributes, crossings that do not
reach across their barrier, ``yes`` where a number belongs, and garbage too large to parse.
Each test fails without its fix."""

from __future__ import annotations

import codecs
import copy
import json
import random
import subprocess
import sys

import pytest
import tomli_w
import yaml
from click.testing import CliRunner

from optimiser.cli import cli
from optimiser.inputs import formats, messages, validate_files
from optimiser.inputs.safefile import json_depth
from tests.sitefiles import site_dict, write_files


def _problems(path):
    return [(p.field, p.reason, p.hint) for p in validate_files([path])]


@pytest.mark.parametrize("suffix", [".json", ".toml", ".geojson"])
def test_byte_order_mark_is_not_text(tmp_path, suffix):
    """Notepad and PowerShell start UTF-8 files with a BOM: JSON and TOML refused it (YAML did not)."""
    if suffix == ".geojson":
        text = json.dumps({"type": "FeatureCollection", "site": {"id": "g"}, "features": [
            {"type": "Feature", "properties": {"layer": "firm", "id": "a", "employees": 5},
             "geometry": {"type": "Point", "coordinates": [-1.38, 53.39]}}]})
    elif suffix == ".json":
        text = json.dumps(site_dict())
    else:
        text = tomli_w.dumps(site_dict())
    path = tmp_path / f"site{suffix}"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    assert _problems(path) == []


def test_utf16_file_says_so(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_bytes(yaml.safe_dump(site_dict()).encode("utf-16"))
    [(field, reason, hint)] = _problems(path)
    assert "UTF-16" in reason and "UTF-8" in hint


def test_latin1_file_names_the_line_and_the_character_meant(tmp_path):
    """A file saved in Windows-1252 / Latin-1 (a German firm's name) was 'not UTF-8 text (byte
    612)': no line, and no word of which encoding it is in."""
    d = site_dict()
    d["firms"][1]["name"] = "Bösch & Söhne"
    path = tmp_path / "site.yaml"
    text = yaml.safe_dump(d, allow_unicode=True, sort_keys=False)
    path.write_bytes(text.encode("cp1252"))
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "Bösch" in t)
    col = text.splitlines()[line - 1].index("ö") + 1
    assert _problems(path) == [("", f"not UTF-8 text: line {line}, column {col} holds byte 0xF6, 'ö' in Windows-1252 / "
                                "Latin-1, the encoding the file seems to be in",
                                "save the file as UTF-8 (e.g. Notepad: Save As..., Encoding 'UTF-8'; iconv -f cp1252 "
                                "-t utf-8 FILE > NEW)")]
    path.write_bytes(b"format: placemaking-site/1\nid: \x81\xfe\n")  # no Windows-1252 either
    assert _problems(path) == [("", "not UTF-8 text: line 2, column 5 holds byte 0x81", "save the file as UTF-8")]


@pytest.mark.parametrize("name", ["site.json", "site.toml", "site.geojson", "scenario.json"])
def test_empty_file_of_any_format_is_empty(tmp_path, name):
    path = tmp_path / name
    path.write_text(" \r\n")
    assert _problems(path) == [("", "the file is empty", formats._EMPTY_FIX)]


def _multi(geom: dict, parts: int) -> dict:
    return {"type": "Multi" + geom["type"], "coordinates": [geom["coordinates"]] * parts}


@pytest.mark.parametrize("parts, words", [(1, "of one part; a Polygon is needed"), (2, "of 2 parts; one Polygon per parcel")])
def test_multipolygon_is_one_problem(tmp_path, parts, words):
    """A MultiPolygon gave one problem for its type and one per ring ('allows at most 3 items')."""
    site = site_dict()
    site["parcels"][0]["geometry"] = _multi(site["parcels"][0]["geometry"], parts)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    [(field, reason, hint)] = _problems(path)
    assert field == "parcels[0].geometry" and words in reason and hint


def test_multilinestring_barrier_is_one_problem(tmp_path):
    site = site_dict()
    site["barriers"][0]["geometry"] = _multi(site["barriers"][0]["geometry"], 1)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    [(field, reason, _)] = _problems(path)
    assert field == "barriers[0].geometry" and "MultiLineString of one part; a LineString is needed" in reason


def _geojson_site() -> dict:
    feats = [
        {"type": "Feature", "properties": {"layer": "site — firms", "id": f"f{i}", "employees": 10 + i, "notes": "x",
                                           "OBJECTID": i, "Shape_Area": 1.0},
         "geometry": {"type": "Point", "coordinates": [-1.38 + 0.001 * i, 53.39]}} for i in range(8)]
    feats.append({"type": "Feature", "properties": {"layer": "site — firm_entrances", "firm": "f0", "door": "north"},
                  "geometry": {"type": "Point", "coordinates": [-1.3801, 53.3901]}})
    return {"type": "FeatureCollection", "site": {"id": "g"}, "features": feats}


def test_extra_gis_attribute_reported_once_per_layer(tmp_path):
    """An attribute column of a QGIS layer is on every feature: it gave one line per feature (and
    none at all on an entrance feature, whose extra attributes were dropped silently); ArcGIS's
    OBJECTID / Shape_Area are the GIS's own and ignored."""
    path = tmp_path / "site.geojson"
    path.write_text(json.dumps(_geojson_site()))
    probs = _problems(path)
    assert [(f, r.split(" (")[0]) for f, r, _ in probs] == [
        ("layer site — firms: notes", "unknown attribute 'notes' on 8 features"),
        ("layer site — firm_entrances: door", "unknown attribute 'door' on 1 feature"),
    ]
    assert "f0, f1, f2, f3, f4 and 3 more" in probs[0][1]
    assert "delete the field or rename it" in probs[0][2] and "employees" in probs[0][2]


def test_misspelt_gis_attribute_gets_did_you_mean(tmp_path):
    fc = _geojson_site()
    for f in fc["features"]:
        f["properties"].pop("notes", None)
        f["properties"].pop("door", None)
    fc["features"][0]["properties"]["secter"] = "research"
    path = tmp_path / "site.geojson"
    path.write_text(json.dumps(fc))
    [(field, reason, hint)] = _problems(path)
    assert field == "layer site — firms: secter" and hint == "did you mean 'sector'? (rename the field)"


E0, N0 = 440000.0, 387000.0  # tests.sitefiles' origin; the parkway runs along y = 300 (30 m band)


def _with_crossing(tmp_path, coords):
    site = site_dict()
    site["crossings"][0]["geometry"]["coordinates"] = [[E0 + x, N0 + y] for x, y in coords]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    return _problems(path)


@pytest.mark.parametrize("coords, words", [
    ([(400, 300), (600, 300)], "lies inside the band from end to end"),              # drawn along the road
    ([(500, 270), (500, 305)], "does not reach the other side"),                      # 10 m short of the far edge
    ([(500, 270), (500, 310), (520, 270)], "does not reach the other side"),         # over the centre line and back
])
def test_existing_crossing_that_does_not_cross_is_refused(tmp_path, coords, words):
    """Such a crossing passed validation (it touches the band) and the network then dropped it
    without a word, cutting the site in two."""
    [(field, reason, hint)] = _with_crossing(tmp_path, coords)
    assert field == "crossings[0].geometry" and words in reason and "30 m wide" in reason
    assert "each end outside its band" in hint


def test_existing_crossing_from_edge_to_edge_is_fine(tmp_path):
    """Ends exactly on the band's edges attach to the network: not a problem."""
    assert _with_crossing(tmp_path, [(500, 285), (500, 315)]) == []


def test_explicit_candidate_short_of_the_far_side_is_refused(tmp_path):
    _, scen = write_files(tmp_path)
    sc = yaml.safe_load(scen.read_text())
    sc["crossings"]["explicit"] = [{"id": "e1", "barrier": "parkway", "type": "signalised", "geometry": {
        "type": "LineString", "coordinates": [[E0 + 250, N0 + 250], [E0 + 250, N0 + 310]]}}]
    scen.write_text(yaml.safe_dump(sc))
    [(field, reason, _)] = _problems(scen)
    assert field == "crossings.explicit[0].geometry" and "does not reach the other side" in reason


@pytest.mark.parametrize("where, value", [("employees", True), ("employees", "yes"), ("width_m", True)])
def test_yes_is_not_a_number(tmp_path, where, value):
    """YAML 1.1 reads yes/no/on/off as booleans and pydantic took true as 1: ``employees: yes``
    was one employee, ``width_m: on`` a 1 m barrier."""
    site = site_dict()
    item = site["firms"][0] if where == "employees" else site["barriers"][0]
    path = tmp_path / "site.yaml"
    item[where] = True
    text = yaml.safe_dump(site)
    path.write_text(text.replace(f"{where}: true", f"{where}: {value}") if value == "yes" else text)
    [(field, reason, hint)] = _problems(path)
    assert value in (True, "yes") and field.endswith(where) and "must be a number, got true" in reason and "yes, no, on and off" in hint


def test_no_bool_check_leaves_true_flags_alone(tmp_path):
    site, _ = write_files(tmp_path)
    data = yaml.safe_load(site.read_text())
    assert data["firms"][3]["fixed"] is True and _problems(site) == []


def _reference_depth(text: str) -> int:
    """The bracket depth of JSON text, one character at a time (a backslash escapes the next
    character's quoting only; JSON has no backslash outside strings)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        was_escaped, escaped = escaped, ch == "\\" and not escaped
        if ch == '"' and not was_escaped:
            in_string = not in_string
        elif not in_string and ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif not in_string and ch in "]}":
            depth -= 1
    return deepest


def test_json_depth_in_pieces_equals_one_pass(monkeypatch):
    """json_depth took 1.1 GB for 50 MB of text (int64 arrays of the whole file); it now
    measures 4 MiB at a time, carrying strings, escapes and depth across the pieces."""
    import optimiser.inputs.safefile as safefile

    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice('[]{}"\\ab') for _ in range(rng.randint(1, 50)))
        monkeypatch.setattr(safefile, "DEPTH_CHUNK_BYTES", rng.randint(1, 7))
        assert json_depth(text) == _reference_depth(text), text


def test_json_depth_memory_is_bounded():
    code = ("import resource; from optimiser.inputs.safefile import json_depth; t = '[' * 40 + 'ab' * 12_000_000; "
            "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; d = json_depth(t); "
            "print(d, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) == 40
    assert int(out[1]) < 150_000, f"json_depth of 24 MB grew the process by {int(out[1]) // 1000} MB"


def test_yaml_with_too_many_values_is_refused_before_it_is_built(tmp_path, monkeypatch):
    """A 60 MB YAML file of keys took 6.8 GB and more than 10 minutes (PyYAML builds a node for
    every value first); the parse events are counted and the file refused past the limit."""
    monkeypatch.setattr(formats, "MAX_YAML_EVENTS", 500)
    path = tmp_path / "site.yaml"
    path.write_text("format: placemaking-site/1\n" + "\n".join(f"k{i}: {i}" for i in range(300)))
    [(field, reason, hint)] = _problems(path)
    assert "more than 500 YAML values" in reason and "GeoPackage" in hint


def test_thousands_of_unknown_keys_are_counted_not_listed(tmp_path, monkeypatch):
    """50,000 unknown keys took 24 s (a did-you-mean each) and printed 50,000 lines."""
    monkeypatch.setattr(messages, "MAX_FIELD_ERRORS", 20)
    data = copy.deepcopy(site_dict()) | {f"k{i}": i for i in range(100)}
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    probs = _problems(path)
    assert len(probs) == 21
    assert probs[-1][1] == "80 more problems not listed (the first 20 of 100 are above)"


def test_cli_validate_bom_and_multipolygon_together(tmp_path):
    """One run lists every file's problems, exit 2, no traceback."""
    site = site_dict()
    site["parcels"][1]["geometry"] = _multi(site["parcels"][1]["geometry"], 2)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(site))
    (tmp_path / "b.json").write_bytes(codecs.BOM_UTF8 + json.dumps(site_dict()).encode())
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "a.yaml"), str(tmp_path / "b.json")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "a.yaml: parcels[1].geometry: a MultiPolygon of 2 parts" in res.output
    assert "b.json: ok" in res.output


@pytest.mark.parametrize("override, words", [
    ({"time_limit_s": -1}, "time_limit_s: must be a number of seconds > 0"),     # was ModelTooLargeError '... -1 s'
    ({"time_limit_s": float("nan")}, "time_limit_s: must be"),                   # was SolverError 'CP-SAT rejected'
    ({"workers": 0}, "workers: must be a whole number from 1 to 64"),            # was run on every core
    ({"seed": "1"}, "seed: must be a whole number"),
])
def test_python_overrides_are_checked_like_the_file(tmp_path, override, words):
    """A developer's run_scenario(..., time_limit_s=-1) failed deep in the pipeline, or ran."""
    from optimiser import run_scenario

    _, scen = write_files(tmp_path)
    with pytest.raises(ValueError, match=words):
        run_scenario(scen, **override)


def test_numpy_integers_are_whole_numbers():
    import numpy as np

    from optimiser.inputs.domain import SolveOptions

    assert SolveOptions(seed=np.int64(3), workers=np.int32(1), time_limit_s=np.float64(2.5)).seed == 3


def _reprojected_site(epsg: int) -> dict:
    """tests.sitefiles' site with every position moved from EPSG:27700 into ``epsg``."""
    from pyproj import Transformer

    to = Transformer.from_crs(27700, epsg, always_xy=True)

    def move(v):
        if isinstance(v, list) and len(v) == 2 and all(isinstance(c, float | int) for c in v):
            return list(to.transform(*v))
        if isinstance(v, list):
            return [move(x) for x in v]
        if isinstance(v, dict):
            return {k: move(x) for k, x in v.items()}
        return v

    site = move(site_dict())
    site["crs"] = f"EPSG:{epsg}"
    return site


def test_web_mercator_site_is_worked_in_true_metres(tmp_path):
    """A QGIS project on a web base map is in EPSG:3857, whose 'metres' are 1.68 m on the ground
    at 53 N: the site was worked in it as it was, every walk 68 % too long against barrier widths
    and budgets in true metres. It is now reprojected into British National Grid."""
    from optimiser.inputs import read_site

    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(_reprojected_site(3857)))
    site = read_site(path)
    assert site.crs == "EPSG:27700" and site.source_crs == "EPSG:3857"
    loc = site.firm("a").location
    assert abs(loc.x - 440200) < 1e-3 and abs(loc.y - 387080) < 1e-3


def test_utm_site_is_worked_in_as_given(tmp_path):
    """UTM (0.04 % off at the site) is not reprojected."""
    from optimiser.inputs import read_site

    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(_reprojected_site(32630)))
    assert read_site(path).crs == "EPSG:32630"


def test_validate_checks_each_batch_item(tmp_path):
    """`siteopt validate batch.yaml` said ok for a sweep with `yes` in it; the batch run then
    recorded that item as invalid (exit 2)."""
    _, scen = write_files(tmp_path)
    batch = tmp_path / "batch.yaml"
    batch.write_text("format: placemaking-batch/1\nid: b\nbase: scenario.yaml\nmode: grid\n"
                     "sweep:\n  budget_gbp: [1500000, yes]\ntime_limit_s: 5\n")
    res = CliRunner().invoke(cli, ["validate", str(batch)])
    assert res.exit_code == 2, res.output
    assert f"{batch}: item 1 (budget=on): budget_gbp: must be a number, got true" in res.output


def test_hostile_values_in_a_site_or_scenario_are_problems_never_internal_errors(tmp_path):
    """Found by mutating a German site's values one at a time: each of these was an internal error
    (exit 1, 'This is a bug'): an id written as a list (TypeError: unhashable), an explicit
    crossing's barrier or type as a list, a crossing type's ``cost: null`` (ValueError), a
    barrier, an added firm or an explicit crossing at 1e308 (GEOS 'EdgeEnd with coordinate -nan',
    OverflowError on the site's extent)."""
    site, scen = write_files(tmp_path)
    sd, sc = yaml.safe_load(site.read_text()), yaml.safe_load(scen.read_text())
    sd["parcels"][1]["id"] = ["west", "n"]
    sd["barriers"][0]["geometry"]["coordinates"][0][1] = 1e308
    site.write_text(yaml.safe_dump(sd))
    assert [(p.field, p.reason.split(":")[0]) for p in validate_files([site])] == [
        ("parcels[1].id", "must be text, got list"),
        ("barriers[0].geometry", "coordinates (439950, 1e+308) lie outside the area of use of crs EPSG")]
    assert validate_files([site])[1].reason.endswith(": not a place on Earth")
    write_files(tmp_path)  # the site valid again
    sc["crossings"]["types"]["signalised"]["cost_gbp"] = None
    sc["crossings"]["explicit"] = [{"id": "x", "barrier": ["parkway"], "type": ["footbridge"], "geometry": {
        "type": "LineString", "coordinates": [[440400, 387250], [1e308, 387350]]}}]
    sc["firm_changes"] = {"added": [{"id": "far", "employees": 5, "location": [1e308, 387100]},
                                    {"id": "abroad", "employees": 5, "location": [4400000, 387100]}]}
    scen.write_text(yaml.safe_dump(sc))
    got = [(p.field, p.reason[:60]) for p in validate_files([scen])]
    assert got == [
        ("crossings.explicit[0].barrier", "must be text, got list (explicit 'x')"),
        ("crossings.explicit[0].type", "must be text, got list (explicit 'x')"),
        ("crossings.types.signalised.cost", "cost is missing"),
        ("firm_changes.added[0].location", "coordinates (1e+308, 387100) lie outside the area of use of "),
        ("firm_changes.added[1].location", "coordinates (4400000, 387100) lie outside the area of use of")], got
    sc["crossings"]["explicit"][0].update(barrier="parkway", type="footbridge")
    sc["crossings"]["types"]["signalised"]["cost_gbp"] = 250_000
    sc.pop("firm_changes")
    sc["social_spaces"]["existing"] = [[440500, -1e308]]
    scen.write_text(yaml.safe_dump(sc))
    got = [(p.field, p.reason[-20:]) for p in validate_files([scen])]
    assert got == [("social_spaces.existing[0]", "not a place on Earth"),
                   ("crossings.explicit[0].geometry", "not a place on Earth")], got
    from optimiser.inputs.locate import resolve_input  # a transit no-platform area at 1e308 too

    tram = yaml.safe_load(open(resolve_input("amp_sbp/tram")))
    tram["site"] = str(resolve_input("amp_sbp/tram").parent / tram["site"])
    tram["transit"]["no_platform"] = [{"type": "Polygon", "coordinates": [[[441620, 388420], [1e308, 388420],
                                                                            [441780, 388580], [441620, 388420]]]}]
    (tmp_path / "tram.yaml").write_text(yaml.safe_dump(tram))
    got = [(p.field, p.reason[-20:]) for p in validate_files([tmp_path / "tram.yaml"])]
    assert got == [("transit.no_platform[0]", "not a place on Earth")], got
