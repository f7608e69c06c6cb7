"""Every bad input file is reported as ``FILE: field.path: reason (hint)``, never a traceback.

The corpus lives in ``tests/bad_files/``; ``expected.yaml`` names, per file, the field path and
reason (and optionally the hint) the report must contain. Each file is checked through the
Python API (:func:`optimiser.inputs.validate.validate_files`) and through ``siteopt validate``.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optimiser.cli import cli
from optimiser.errors import FileReadError, InputError
from optimiser.inputs import read_scenario, read_site, validate_files
from optimiser.inputs.messages import fix_for

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_files"
ROOT = HERE.parent
EXPECTED: dict[str, list[dict[str, str]]] = yaml.safe_load((BAD / "expected.yaml").read_text())
NOT_BAD = {"expected.yaml", "README.md", "ok_site.yaml", "ok_scenario.yaml"}
RUN_CHECKS_ONLY = {"absurd_crossing_spacing.yaml", "absurd_candidate_spacing.yaml"}
"""Valid files whose model ``siteopt run`` would refuse (its size check, before anything is
built): ``siteopt validate`` (optimiser.checkfiles) reports them, validate_files (the files'
contents alone) does not."""


def _rel(name: str) -> str:
    """The path as a user would type it from the repository root."""
    return os.path.relpath(BAD / name, ROOT)


def _validate_cli(*args: str):
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return runner.invoke(cli, ["validate", *args], catch_exceptions=False)
    finally:
        os.chdir(cwd)


def _has_line(lines: list[str], path: str, exp: dict[str, str]) -> bool:
    field = exp["field"]
    if "file" in exp:  # the problem is in another file (a scenario's site file), on a line of its own
        path = _rel(exp["file"])
    for line in lines:
        if not line.startswith(path + ": "):
            continue
        if f"{path}: {field}: " not in line:
            continue
        if exp["reason"] not in line:
            continue
        if exp.get("hint") and exp["hint"] not in line:
            continue
        return True
    return False


def test_corpus_is_big_enough_and_listed():
    files = {p.name for p in BAD.iterdir()} - NOT_BAD
    assert len(EXPECTED) >= 30
    unlisted = sorted(files - set(EXPECTED))
    assert not unlisted, f"bad files missing from expected.yaml: {unlisted}"
    missing = sorted(set(EXPECTED) - files - {"does_not_exist.yaml"})
    assert not missing, f"expected.yaml names files that are not there: {missing}"
    assert not (BAD / "does_not_exist.yaml").exists()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_files_reports_the_problem(name):
    if name in RUN_CHECKS_ONLY:
        pytest.skip("the contents are valid; siteopt validate adds run's size check")
    path = _rel(name)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        problems = validate_files([path])
    finally:
        os.chdir(cwd)
    assert problems, f"{name}: no problem reported"
    lines = [str(p) for p in problems]
    for exp in EXPECTED[name]:
        assert _has_line(lines, path, exp), f"{name}: expected {exp} in:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_siteopt_validate_reports_the_problem(name):
    path = _rel(name)
    result = _validate_cli(path)
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    lines = out.splitlines()
    for exp in EXPECTED[name]:
        assert _has_line(lines, path, exp), f"{name}: expected {exp} in:\n{out}"
    # every line names a file: this one, or (for a scenario) the site file it names, as the
    # user would type it (relative to the working folder), never an absolute path
    for line in lines:
        named = line.split(": ", 1)[0]
        assert named == path or (named.endswith((".yaml", ".json", ".toml", ".geojson")) and Path(named).exists()), line


@pytest.mark.parametrize("name", ["unknown_key.yaml", "scenario_unknown_key.yaml", "undefined_barrier.yaml"])
def test_did_you_mean(name):
    hints = [e["hint"] for e in EXPECTED[name] if e.get("hint")]
    assert hints and all(h.startswith("did you mean") for h in hints)
    out = _validate_cli(_rel(name)).output
    assert all(h in out for h in hints)


def test_self_intersection_gives_the_location():
    out = _validate_cli(_rel("self_intersection.yaml")).output
    assert "parcels[0].geometry: invalid polygon: self-intersection at (440650, 387835)" in out


def test_a_polygon_on_one_line_is_zero_area_not_a_self_intersection(tmp_path):
    """A ring whose corners lie on one line (a typo in a coordinate) was 'invalid polygon:
    self-intersection at ...' with the hint to stop edges crossing, or 'too few points in
    geometry component' with the same hint: neither says what is wrong. A bow tie still is a
    self-intersection."""
    from tests.sitefiles import site_dict, xy

    d = site_dict()
    d["parcels"][0]["geometry"]["coordinates"] = [[xy(0, 0), xy(150, 0), xy(300, 0), xy(0, 0)]]
    d["parcels"][1]["geometry"]["coordinates"] = [[xy(0, 320), xy(300, 320), xy(0, 320), xy(0, 320)]]
    d["parcels"][2]["geometry"]["coordinates"] = [[xy(300, 0), xy(700, 280), xy(700, 0), xy(300, 280), xy(300, 0)]]
    d["exclusion_zones"] = [{"id": "z", "geometry": {"type": "Polygon", "coordinates": [[xy(9, 9)] * 4]}}]
    (tmp_path / "flat.yaml").write_text(yaml.safe_dump(d))
    got = [(p.field, p.reason, p.hint) for p in validate_files([tmp_path / "flat.yaml"])]
    fix = "give the ring at least three corners that do not lie on one line (a typo in a coordinate?)"
    assert got == [
        ("parcels[0].geometry", "polygon has zero area: its outer ring encloses nothing (its 3 distinct corners lie on one "
         "line)", fix),
        ("parcels[1].geometry", "polygon has zero area: its outer ring encloses nothing (it has only 2 distinct corners)", fix),
        ("parcels[2].geometry", "invalid polygon: self-intersection at (440500, 387140)",
         "fix the ring so its edges do not cross (check the vertex order)"),
        ("exclusion_zones[0].geometry", "polygon has zero area: its outer ring encloses nothing (all its positions are one "
         "point)", fix)]


def test_a_scenario_of_an_invalid_site_given_after_it_does_not_point_below(tmp_path):
    """``siteopt validate site.yaml scenario.yaml`` prints the site's problems once, first; the
    scenario's line then said 'the 3 problems after this line are in it' with nothing after it."""
    from tests.sitefiles import write_files

    site, scen = write_files(tmp_path)
    site.write_text(site.read_text().replace("employees: 120", "employees: 0").replace("employees: 60", "employees: -1"))
    res = _validate_cli(str(site), str(scen))
    assert res.exit_code == 2
    assert res.output.splitlines()[-1] == f"{scen}: site: invalid for the 2 problems of {site} listed above (fix {site})"
    assert [line.split(": ")[1] for line in res.output.splitlines()[:2]] == ["firms[0].employees", "firms[1].employees"]
    assert len(res.output.splitlines()) == 3


def test_a_scenario_of_an_invalid_site_prints_one_line_per_problem(tmp_path):
    """``siteopt run bad_scenario.yaml`` whose site file has one problem printed two lines and
    '2 problems found': a line of the scenario's saying its site is invalid, then the site's
    problem. Each problem is now one line naming the site file and its field; a site file that
    cannot be read at all is one line of the scenario's site field naming the file."""
    from optimiser.cli import cli
    from tests.sitefiles import write_files

    site, scen = write_files(tmp_path)
    site.write_text(site.read_text().replace("employees: 120", "employees: 0"))
    res = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    lines = res.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{site}: firms[0].employees: must be > 0, got 0"), lines
    assert lines[1] == "1 problem found; nothing was written."
    assert [str(p) for p in validate_files([scen])] == lines[:1]  # as validate lists it
    (tmp_path / "firms.csv").write_text("id,x\n")
    scen.write_text(scen.read_text().replace(f"site: {site.name}", "site: firms.csv"))
    (problem,) = validate_files([scen])
    assert (problem.file, problem.field) == (str(scen), "site")
    assert problem.reason == f"its site file {str(tmp_path / 'firms.csv')!r}: unsupported file type '.csv'"


def test_many_problems_are_all_reported():
    out = _validate_cli(_rel("many_problems.yaml")).output
    lines = [line for line in out.splitlines() if line.startswith(_rel("many_problems.yaml"))]
    assert len(lines) >= len(EXPECTED["many_problems.yaml"])


def test_json_output_lists_problems():
    result = _validate_cli("--json", _rel("many_problems.yaml"), _rel("empty.yaml"))
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert isinstance(data, list) and len(data) >= 7
    assert {"file", "field", "reason", "hint"} <= set(data[0])
    assert {d["file"] for d in data} == {_rel("many_problems.yaml"), _rel("empty.yaml")}


def test_several_files_one_run_every_problem():
    names = ["empty.yaml", "negative_employees.yaml", "scenario_negative_budget.yaml"]
    result = _validate_cli(*[_rel(n) for n in names])
    assert result.exit_code == 2
    for n in names:
        assert _has_line(result.output.splitlines(), _rel(n), EXPECTED[n][0])


def test_valid_files_pass_with_a_summary():
    files = [_rel("ok_site.yaml"), _rel("ok_scenario.yaml"), "sites/amp_sbp/site.yaml",
             "constraints/amp_sbp/baseline.yaml"]
    result = _validate_cli(*files)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{files[0]}: ok (site 'tiny': 4 firms")
    assert lines[1].startswith(f"{files[1]}: ok (scenario 'tiny-ok'")
    assert "0 facility types, social spaces no, 1 crossing type, barriers on" in lines[1]  # not 'type(s)'
    assert "illustrative" in lines[2]
    assert _validate_cli("--json", files[0]).output.strip() == "[]"


def test_validate_writes_nothing(tmp_path):
    before = sorted(p.name for p in BAD.iterdir())
    _validate_cli(_rel("many_problems.yaml"), _rel("ok_site.yaml"))
    assert sorted(p.name for p in BAD.iterdir()) == before


def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.yaml"
    p.write_text("format: placemaking-site/1\nid: x\n")
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        problems = validate_files([str(p)])
        assert problems and problems[0].field == "" and "cannot be read" in problems[0].reason
    finally:
        p.chmod(0o644)


def test_read_functions_raise_input_errors():
    with pytest.raises(FileReadError):
        read_site(BAD / "empty.yaml")
    with pytest.raises(InputError) as exc:
        read_site(BAD / "many_problems.yaml")
    assert len(exc.value.problems) >= 6
    with pytest.raises(InputError):
        read_scenario(BAD / "scenario_count_min_gt_max.yaml")


def test_real_process_never_prints_a_traceback():
    """The console entry point in a fresh interpreter: exit 2, problems on stdout."""
    names = ["malformed_yaml.yaml", "many_problems.yaml", "bad_layer.geojson", "does_not_exist.yaml"]
    proc = subprocess.run(
        [sys.executable, "-c", "from optimiser.cli import main; main()", "validate", *[_rel(n) for n in names]],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for n in names:
        assert _has_line(proc.stdout.splitlines(), _rel(n), EXPECTED[n][0])


def test_an_explicit_crossing_into_an_exclusion_zone_is_refused(tmp_path):
    """Nothing may be placed in an exclusion zone: a generated candidate entering one is skipped
    (tests/test_network.py); one the user draws into one is a problem, named with the zone."""
    from tests.sitefiles import scenario_dict, site_dict, xy

    site = site_dict()
    site["exclusion_zones"] = [{"id": "topple", "reason": "wind-turbine topple zone", "geometry": {
        "type": "Polygon", "coordinates": [[xy(220, 260), xy(280, 260), xy(280, 340), xy(220, 340), xy(220, 260)]]}}]
    bridge = {"id": "my-bridge", "barrier": "parkway", "type": "footbridge",
              "geometry": {"type": "LineString", "coordinates": [xy(250, 270), xy(250, 330)]}}
    clear = {**bridge, "id": "clear-bridge", "geometry": {"type": "LineString", "coordinates": [xy(400, 270), xy(400, 330)]}}
    scen = scenario_dict()
    scen["crossings"]["explicit"] = [clear, bridge]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scen))
    lines = [str(p) for p in validate_files([str(tmp_path / "scenario.yaml")])]
    assert len(lines) == 1, lines
    assert "crossings.explicit[1].geometry: candidate 'my-bridge' enters exclusion zone 'topple' (wind-turbine topple zone)" in lines[0]
    assert "move the crossing clear of the zone" in lines[0]
    scen["crossings"]["explicit"] = [clear]
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scen))
    assert validate_files([str(tmp_path / "scenario.yaml")]) == []


def test_an_explicit_crossing_problem_comes_with_the_files_other_problems(tmp_path):
    """One pass: a crossing drawn into an exclusion zone, one that stops short of the far side,
    one whose position lies far outside the site's CRS and an existing facility given in lon/lat
    are reported beside a misspelt barrier and an unpriced type of two other crossings, not only
    once those are fixed."""
    from tests.sitefiles import scenario_dict, site_dict, xy

    site = site_dict()
    site["exclusion_zones"] = [{"id": "topple", "geometry": {
        "type": "Polygon", "coordinates": [[xy(220, 260), xy(280, 260), xy(280, 340), xy(220, 340), xy(220, 260)]]}}]

    def crossing(cid, x, y0=270, y1=330, **more):
        return {"id": cid, "barrier": "parkway", "type": "footbridge",
                "geometry": {"type": "LineString", "coordinates": [xy(x, y0), xy(x, y1)]}, **more}

    scen = scenario_dict()
    scen["facilities"][0]["existing"] = [[-1.38, 53.39]]  # lon/lat in a site in metres
    scen["crossings"]["explicit"] = [
        crossing("into-zone", 250), crossing("short", 400, 270, 300), crossing("typo", 600, barrier="parkwy"),
        crossing("unpriced", 700, type="underpass"),
        {**crossing("far", 0), "geometry": {"type": "LineString", "coordinates": [[5e6, 387270], [5e6, 387330]]}}]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scen))
    fields = [p.field for p in validate_files([str(tmp_path / "scenario.yaml")])]
    assert sorted(set(fields)) == ["crossings.explicit[0].geometry", "crossings.explicit[1].geometry",
                              "crossings.explicit[2].barrier", "crossings.explicit[3].type",
                              "crossings.explicit[4].geometry", "facilities[0].existing[0]"], fields


def test_validate_files_takes_one_path_or_a_list_never_characters():
    site = ROOT / "sites" / "amp_sbp" / "site.yaml"
    assert validate_files(str(site)) == [] and validate_files(site) == [] and validate_files([site]) == []
    for bad in (None, 42, b"site.yaml", [None]):
        with pytest.raises(TypeError, match=r"validate_files\(\) takes"):
            validate_files(bad)


def test_a_misspelt_choice_gets_the_one_meant_not_the_list_again(tmp_path):
    from tests.sitefiles import site_dict

    site = site_dict()
    site["parcels"][0]["status"] = "ocupied"
    site["parcels"][1]["status"] = "vacant"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    lines = [str(p) for p in validate_files([str(tmp_path / "site.yaml")])]
    assert any("parcels[0].status: must be one of" in x and x.endswith("(did you mean 'occupied'?)") for x in lines), lines
    assert any("parcels[1].status: must be one of" in x and x.endswith("(set status to one of those)") for x in lines), lines


def test_range_bounds_are_written_as_a_reader_writes_them(tmp_path):
    """'must be <= 1000000000.0' read like a float's repr: bounds in whole numbers with separators,
    in the file's messages and in --time-limit's help and error."""
    from tests.sitefiles import scenario_dict, write_files

    scen = scenario_dict()
    scen["facilities"][0]["footprint_m2"] = 8e10
    scen["solver"]["time_limit_s"] = 1e10
    _, path = write_files(tmp_path)
    path.write_text(yaml.safe_dump(scen))
    lines = [str(p) for p in validate_files([str(path)])]
    assert any(x.endswith("footprint_m2: must be <= 1,000,000,000, got 80000000000.0 "
                          "(set footprint_m2 to a number <= 1,000,000,000)") for x in lines), lines
    assert any(x.endswith("solver.time_limit_s: must be <= 604,800, got 10000000000.0 "
                          "(set time_limit_s to a number <= 604,800)") for x in lines), lines
    runner = CliRunner()
    assert "0.1 to 604,800 (a week" in " ".join(runner.invoke(cli, ["run", "--help"]).output.split())
    res = runner.invoke(cli, ["run", str(path), "--time-limit", "1e9", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "'1e9' is not a finite number from 0.1 to 604,800" in res.output


def test_every_existing_point_is_reported_at_once_with_its_index(tmp_path):
    """Existing facilities and social spaces are checked point by point in one pass: one inside the
    barrier, one with x and y swapped (74 km off) and one at 1e308 (outside the CRS) are three
    problems, each with its index (the area-of-use check named the list, its first offending point
    only, and hid the other checks)."""
    from tests.sitefiles import scenario_dict, write_files, xy

    scen = scenario_dict()
    scen["facilities"][0]["existing"] = [xy(600, 300), xy(0, 0)[::-1], [1e308, xy(0, 0)[1]]]
    scen["social_spaces"]["existing"] = [xy(600, 300), xy(0, 0)[::-1]]
    _, path = write_files(tmp_path)
    path.write_text(yaml.safe_dump(scen))
    lines = [str(p) for p in validate_files([str(path)])]
    assert len(lines) == 5, lines
    for field, reason in (("facilities[0].existing[0]", "stands inside barrier 'parkway' (its band)"),
                          ("facilities[0].existing[1]", "lies 74.5 km from the site"),
                          ("facilities[0].existing[2]", "coordinates (1e+308, 387000) lie outside the area of use"),
                          ("social_spaces.existing[0]", "stands inside barrier 'parkway' (its band)"),
                          ("social_spaces.existing[1]", "lies 74.5 km from the site")):
        assert any(f": {field}: {reason}" in x for x in lines), (field, lines)


def test_a_quoted_number_is_read_a_thousands_separator_is_refused_and_an_empty_entrance_list_too(tmp_path):
    """``employees: "300"`` (a text column of a spreadsheet or GIS export) is 300, as documented;
    ``"1,500"`` says to write 1500 without the separator; ``entrances: []`` is refused, not read
    silently as the location (leaving the key out does that)."""
    from tests.sitefiles import site_dict

    site = site_dict()
    site["firms"][0]["employees"] = "300"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    assert read_site(tmp_path / "site.yaml").firms[0].employees == 300
    site["firms"][0]["employees"] = "1,500"
    site["firms"][1]["employees"] = "12 000"
    site["firms"][2]["entrances"] = []
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    lines = [str(p) for p in validate_files([str(tmp_path / "site.yaml")])]
    assert len(lines) == 3, lines
    assert lines[0].endswith("firms[0].employees: must be a whole number, got \"1,500\" (firm 'a') "
                             "(write 1500, without the thousands separator)"), lines
    assert lines[1].endswith("(write 12000, without the thousands separator)"), lines
    assert lines[2].endswith("firms[2].entrances: needs at least 1 item, got 0 (firm 'c') (give at least one entrance point, "
                             "or leave entrances out: the firm's location is then its entrance)"), lines


def test_numbers_and_currencies_written_as_in_continental_europe_get_what_to_write(tmp_path):
    """A German planner writes ``budget: 3.000.000`` (YAML: text), ``"1.500,50"``, ``"3,5"`` and
    ``currency: €``: each was 'write budget as a number' or 'use a three-letter ISO 4217 code such
    as GBP, USD or EUR', with no word of what was wrong. ``"1.500"`` alone, once read as one and a
    half, reads two ways: both are named (tests/test_number_text.py)."""
    from tests.sitefiles import write_files

    site, scen = write_files(tmp_path)
    site.write_text(site.read_text().replace("employees: 120", "employees: '1.300'").replace("employees: 60", "employees: '1,5'"))
    data = yaml.safe_load(scen.read_text())
    data.pop("budget_gbp")
    data["facilities"][0].pop("cost_gbp")
    data["social_spaces"].pop("cost_gbp")
    data["crossings"]["types"] = {"signalised": {"cost": "250.000,50"}}
    data.update(currency="€", budget="3.000.000")
    data["facilities"][0]["cost"] = "3,5"
    data["social_spaces"]["cost"] = "1.500"
    scen.write_text(yaml.safe_dump(data, allow_unicode=True))
    got = {p.field: p.hint for p in validate_files([site, scen]) if p.field != "site"}
    assert got == {
        "firms[0].employees": "write 1300, without the points between thousands",
        "firms[1].employees": "write employees as a whole number",
        "currency": "write the ISO 4217 code, not the symbol: currency: EUR",
        "budget": "write 3000000, without the points between thousands",
        "facilities[0].cost": "write 3.5: a decimal point, not a comma",
        "social_spaces.cost": "write the number meant as a plain number, without quotes or separators: cost: 1500 or cost: 1.5",
        "crossings.types.signalised.cost": "write 250000.50, without the points between thousands and with a decimal point, "
                                           "not a comma"}, got


def test_a_point_with_a_coordinate_not_finite_says_so(tmp_path):
    """``location: [1e400, 387060]`` in JSON (read as infinity) or ``[.nan, 1]`` in YAML was 'must
    be a point: [x, y] or {"type": "Point", ...}', though it is one; the GeoJSON form already
    said 'must be a finite number'."""
    from tests.sitefiles import site_dict

    d = site_dict()
    text = json.dumps(d).replace(json.dumps(d["firms"][2]["location"]), "[1e400, 387060]", 1)
    (tmp_path / "site.json").write_text(text)
    d["firms"][1]["entrances"] = [[float("nan"), 1.0]]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d))
    fix = "write the coordinates as ordinary numbers, not nan or inf (nor one too large for a number, such as 1e400)"
    assert [(p.field, p.reason, p.hint) for p in validate_files([tmp_path / "site.json", tmp_path / "site.yaml"])] == [
        ("firms[2].location", "coordinates must be finite numbers (firm 'c')", fix),
        ("firms[1].entrances[0]", "coordinates must be finite numbers (firm 'b')", fix)]


def test_a_head_count_in_exponent_notation_gets_the_number_to_write(tmp_path):
    """YAML reads ``1e6`` (no decimal point) as text, so ``employees: 1e6`` is refused: the hint
    says to write 1000000 (it said "write employees as a whole number", which 1e6 is), and a
    count too large for any whole number (``1.0e+30``) is said in words, not in pydantic's
    "Unable to parse input string as an integer, exceeded maximum size" with no hint."""
    site = yaml.safe_load((BAD / "ok_site.yaml").read_text())
    text = yaml.safe_dump(site, sort_keys=False)
    first = site["firms"][0]["employees"]
    for given, hint in (("1e6", "(write 1000000: a whole number is written out, without an exponent)"),
                        ("2.5e3", "(write 2500: a whole number is written out, without an exponent)"),
                        ("1.0e+30", "(check employees for extra zeros or a wrong exponent)")):
        (tmp_path / "site.yaml").write_text(text.replace(f"employees: {first}\n", f"employees: {given}\n", 1))
        (line,) = [str(p) for p in validate_files([str(tmp_path / "site.yaml")])]
        assert "firms[0].employees: " in line and line.endswith(hint), line
    assert "is far too large for a whole number here, got 1e+30" in line, line


@pytest.mark.skipif(os.sep != "/", reason="a backslash separates folders on Windows")
def test_a_site_path_written_with_backslashes_gets_the_forward_slash_path(tmp_path):
    """A scenario written on Windows (site: ..\\sites\\site.yaml) names a file that does not exist
    elsewhere: the hint gives the path with forward slashes, which works everywhere (it said only
    where it looked, with the backslashes in the name)."""
    from tests.sitefiles import scenario_dict, site_dict

    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "site.yaml").write_text(yaml.safe_dump(site_dict()))
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "s.yaml").write_text(yaml.safe_dump(scenario_dict(site="..\\sites\\site.yaml")))
    (problem,) = validate_files([str(tmp_path / "scen" / "s.yaml")])
    assert problem.field == "site" and problem.reason == "site '..\\\\sites\\\\site.yaml' does not exist", problem
    assert problem.hint == ("write site: ../sites/site.yaml (forward slashes separate folders on every system; a backslash "
                            "only on Windows)"), problem


def test_an_id_yaml_reads_as_a_number_or_a_date_gets_the_quotes_to_write(tmp_path):
    """Plot numbers as ids (``id: 101``) and dates as names are read by YAML as a number and a
    date: the hint says to quote them, with the value (it said "must be text, got date" and
    "write id as text"); a key of a mapping (``layers: {1: true}``) is told to quote the key."""
    from tests.sitefiles import site_dict

    site = site_dict()
    site["firms"][0]["id"] = 101
    site["firms"][1]["name"] = datetime.date(2024, 5, 1)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    lines = [str(p) for p in validate_files([str(tmp_path / "site.yaml")])]
    assert lines[0].endswith('firms[0].id: must be text, got 101 (put id in quotes: id: "101" (unquoted, it is read as a '
                             "number))"), lines
    assert lines[1].endswith("firms[1].name: must be text, got 2024-05-01 (firm 'b') (put name in quotes: name: "
                             '"2024-05-01" (unquoted, it is read as a date))'), lines
    err = {"type": "string_type", "loc": ("layers", 1, "[key]"), "msg": "", "input": 1}
    assert fix_for(err, "layers") == 'put the key in quotes: "1": ... (unquoted, it is read as a number)'


def test_coordinates_nested_one_level_off_are_one_problem_per_geometry(tmp_path):
    """A Polygon written without its ring's brackets (a list of positions) was one "must be a
    list, got 440000" per number (10 for a rectangle); it is one problem saying how to write
    it, as is a LineString with brackets too many; a ring of 3 positions says what a ring needs."""
    from tests.sitefiles import site_dict

    site = site_dict()
    site["parcels"][0]["geometry"]["coordinates"] = site["parcels"][0]["geometry"]["coordinates"][0]
    site["paths"][0]["geometry"]["coordinates"] = [site["paths"][0]["geometry"]["coordinates"]]
    site["parcels"][1]["geometry"]["coordinates"][0] = site["parcels"][1]["geometry"]["coordinates"][0][:3]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    got = {p.field: p for p in validate_files([str(tmp_path / "site.yaml")])}
    assert sorted(got) == ["parcels[0].geometry.coordinates", "parcels[1].geometry.coordinates[0]",
                           "paths[0].geometry.coordinates"], sorted(got)
    assert str(got["parcels[0].geometry.coordinates"]).endswith(
        "a Polygon's coordinates with one level of brackets too few (parcel 'west') (write them as [[[x, y], [x, y], [x, y], "
        "[x, y]]] (a list of rings, each closed))")
    assert got["paths[0].geometry.coordinates"].reason.startswith("a LineString's coordinates with one level of brackets too many")
    assert got["parcels[1].geometry.coordinates[0]"].hint == (
        "a ring needs at least 4 positions: 3 or more corners, then the first one again to close it")


def test_an_empty_crossing_rule_and_a_target_on_one_firm_say_what_to_do(tmp_path):
    """Problems that came without a hint: a site rule with no types, a directness target and a
    demand pair from a firm to itself."""
    from tests.sitefiles import scenario_dict, site_dict

    site = site_dict()
    site["crossing_rules"][0]["types"] = []
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    (problem,) = validate_files([str(tmp_path / "site.yaml")])
    assert (problem.field, problem.hint) == (
        "crossing_rules[0].types", "list the types it offers (footbridge, signalised, underpass, zebra), or drop the rule")
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site_dict()))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario_dict(directness=[{"a": "a", "b": "a", "max_ratio": 2}])))
    (problem,) = validate_files([str(tmp_path / "s.yaml")])
    assert (problem.field, problem.hint) == ("directness[0]", "name two different firms as a and b, or drop this target")
    demand = {"rule": "explicit", "pairs": [{"a": "b", "b": "b", "weight": 1}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario_dict(demand=demand)))
    (problem,) = validate_files([str(tmp_path / "s.yaml")])
    assert (problem.field, problem.hint) == ("demand.pairs[0]", "name two different firms as a and b, or drop this pair")


def test_a_site_crossing_named_like_a_generated_candidate_is_refused(tmp_path):
    """An existing crossing 'parkway-fb-003' and the third footbridge candidate generated along
    the Parkway had the same id: the plan, layout and pairs.csv named both 'parkway-fb-003'. As
    an explicit candidate's id is refused in that case, so is the site's (for a scenario that
    generates candidates of its type); 'old-fb-003' (no barrier 'old') and 'parkway-zb-001' (no
    zebra offered: none generated) are not."""
    from tests.sitefiles import scenario_dict, site_dict

    site = site_dict()
    site["crossings"][0]["id"] = "parkway-fb-003"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario_dict()))
    (problem,) = validate_files([str(tmp_path / "s.yaml")])
    assert problem.field == "site" and "existing crossing 'parkway-fb-003' has an id of the form" in problem.reason, problem
    assert problem.hint == "rename crossing 'parkway-fb-003' in the site file, e.g. to 'x-parkway-fb-003'"
    for other in ("old-fb-003", "parkway-zb-001"):  # no barrier 'old'; no zebra among the scenario's types
        site["crossings"][0]["id"] = other
        (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
        assert validate_files([str(tmp_path / "s.yaml")]) == [], other
    site["crossings"][0]["id"] = "parkway-fb-003"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    for narrowed in ({"spacing_m": 0}, {"barriers": []}):  # nothing generated along the Parkway: no clash
        sc = scenario_dict()
        sc["crossings"] = {**sc["crossings"], **narrowed}
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(sc))
        assert validate_files([str(tmp_path / "s.yaml")]) == [], narrowed


def test_a_barrier_wider_than_any_site_is_refused_with_its_bound():
    """A band of 1e9 m lost precision (2 of the 5 firms inside it were reported); the bound is the
    widest site accepted, said in the message."""
    from optimiser.inputs.plausibility import MAX_SITE_SPAN_M
    from optimiser.inputs.schema import MAX_BARRIER_WIDTH_M

    assert MAX_BARRIER_WIDTH_M == MAX_SITE_SPAN_M
    (line,) = [str(p) for p in validate_files([str(BAD / "barrier_width_1e9.yaml")])]
    assert line.endswith("barriers[0].width_m: must be <= 50,000, got 1000000000.0 (barrier 'parkway') (a barrier's band is "
                         "at most 50,000 m wide, the widest a walkable site spans: check the width for extra zeros or another unit)")


def test_a_misspelt_site_id_or_site_file_gets_a_did_you_mean(tmp_path):
    """A scenario's ``site:`` id one slip from a site under ``sites/`` is named, as other unknown
    names are; a misspelt site file path gets the file beside it; an id near nothing lists the ids."""
    from tests.sitefiles import scenario_dict, site_dict

    (tmp_path / "sites" / "isar_campus").mkdir(parents=True)
    (tmp_path / "sites" / "isar_campus" / "site.yaml").write_text(yaml.safe_dump(site_dict()))
    cons = tmp_path / "cons"
    cons.mkdir()
    for name, ref in (("typo.yaml", "isar_campuss"), ("path.yaml", "../sites/isar_campus/site.yml"), ("far.yaml", "zzz")):
        (cons / name).write_text(yaml.safe_dump(scenario_dict(site=ref)))
    problems = {Path(p.file).name: p for p in validate_files([str(cons / n) for n in ("typo.yaml", "path.yaml", "far.yaml")])}
    typo, path, far = problems["typo.yaml"], problems["path.yaml"], problems["far.yaml"]
    assert typo.field == "site" and typo.reason == "site 'isar_campuss' does not exist"
    assert typo.hint.startswith("did you mean 'isar_campus'? looked in: "), typo.hint
    assert path.hint.startswith("did you mean '../sites/isar_campus/site.yaml'? looked in: "), path.hint
    assert "did you mean" not in far.hint and "isar_campus" in far.hint.split(";")[0], far.hint


def test_fractional_bounds_keep_their_figures():
    """A bound that is not whole keeps every figure and no exponent (``,g`` had written
    1,234,567.5 as 1.23457e+06 and 99,999.95 as 99,999.9)."""
    from optimiser.inputs.limits import plain_number
    from optimiser.inputs.messages import _bound

    assert _bound({"le": 1_234_567.5}) == "1,234,567.5" and _bound({"ge": 99_999.95}) == "99,999.95"
    assert _bound({"lt": 1e6}) == "1,000,000" and _bound({"gt": 0.1}) == "0.1" and _bound({}) == "?"
    assert plain_number(2.5e-5) == "2.5e-05" and plain_number(float("inf")) == "inf"


def test_a_site_path_starting_with_a_tilde_says_it_is_not_expanded(tmp_path, monkeypatch):
    """``site: ~/sites/x.yaml`` (a Linux or Mac user's home folder) was 'does not exist (looked in:
    /scenario/folder/~/sites/x.yaml)' with no word of why; the file under the home folder is named."""
    from tests.sitefiles import write_files

    site, scen = write_files(tmp_path / "project")
    monkeypatch.setenv("HOME", str(tmp_path / "project"))
    data = yaml.safe_load(scen.read_text())
    for ref, full in (("~/site.yaml", f" (site: {site})"), ("~/other/site.yaml", "")):
        data["site"] = ref
        scen.write_text(yaml.safe_dump(data))
        (p,) = validate_files([scen])
        assert (p.field, p.reason) == ("site", f"site {ref!r} does not exist")
        assert p.hint == (f"write the path in full{full}, or relative to the scenario's folder: '~' is your home folder "
                          f"only in a shell; looked in: {scen.parent / ref}")


def test_an_id_not_in_ascii_is_pointed_to_a_name_only_where_the_item_has_one(tmp_path):
    """'(a name in any script goes in the item's name)' was said of every id-like field: of a
    future's name (which is its only name) and a facility's type, neither of which has a name
    beside it to put the text in. It is said of an ``id`` only."""
    from tests.sitefiles import scenario_dict, site_dict

    site = site_dict()
    site["firms"][0]["id"] = "Café"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True))
    scen = scenario_dict(futures=[{"name": "heute ☀"}])
    scen["facilities"][0]["type"] = "Werkstätte"
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(scen, allow_unicode=True))
    got = {p.field: p.hint for p in validate_files([tmp_path / "site.yaml", tmp_path / "sc.yaml"]) if p.field != "site"}
    assert got == {
        "firms[0].id": "e.g. 'Cafe' (a name in any script goes in the item's name)",
        "facilities[0].type": "e.g. 'Werkstatte'",
        "futures[0].name": "e.g. 'heute'"}, got


def test_the_summary_of_a_site_of_one_of_each_is_singular(tmp_path):
    """'1 firms, 1 employees, 1 parcels, 1 barriers ..., 1 paths, 1 existing crossings' (ca60489
    counted the scenario summary's types in words, not the site's items)."""
    from tests.sitefiles import site_dict

    d = site_dict()
    for key in ("firms", "parcels", "barriers", "paths", "crossings"):
        d[key] = d[key][:1]
    d["firms"][0]["employees"] = 1
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(d))
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "one.yaml")])
    assert r.exit_code == 0, r.output
    assert ("ok (site 'tiny': 1 firm, 1 employee, 1 parcel, 1 barrier (parkway on by default), 1 path, "
            "1 existing crossing;") in r.output, r.output


def test_an_amount_with_a_decimal_comma_and_a_unit_gets_the_number_to_write(tmp_path):
    """``budget: "€1,2m"`` (as written in Germany or France) was only 'write budget as a number':
    one or two digits after the comma are a decimal comma, never a thousands group; one in
    another currency ("£1,5m" in a EUR scenario) is told to be converted, as "£1.5m" is."""
    from tests.sitefiles import write_files

    site, scen = write_files(tmp_path)
    data = yaml.safe_load(scen.read_text())
    data.pop("budget_gbp")
    data["facilities"][0].pop("cost_gbp")
    data["social_spaces"].pop("cost_gbp")
    data["crossings"]["types"] = {"signalised": {"cost": "2,5k"}}
    data.update(currency="EUR", budget="€1,2m")
    data["facilities"][0]["cost"] = "£1,5m"
    data["social_spaces"]["cost"] = "1,500"  # three digits alone: 1500 or 1.5, ambiguous (tests/test_number_text.py)
    scen.write_text(yaml.safe_dump(data, allow_unicode=True))
    got = {p.field: p.hint for p in validate_files([site, scen]) if p.field != "site"}
    plain = "the amount alone, in the scenario's currency, without symbol, separators or units"
    assert got == {
        "budget": f"write 1200000: {plain}",
        "crossings.types.signalised.cost": f"write 2500: {plain}",
        "facilities[0].cost": "it is written in £ but the scenario's currency is EUR: convert it to EUR and write the "
                              "amount alone, without symbol or units (1500000 only if the figure is in EUR already)",
        "social_spaces.cost": "write the number meant as a plain number, without quotes or separators: cost: 1500 or cost: 1.5"}, got
