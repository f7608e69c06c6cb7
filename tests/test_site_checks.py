"""Site sanity warnings, file kinds and validating many files in one pass (issue 13, point 5)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optimiser.checkfiles import check_files
from optimiser.cli import cli
from optimiser.errors import InputError
from optimiser.inputs import read_scenario
from optimiser.inputs.messages import name_list, suggest, suggest_path, unknown_reference
from optimiser.network.sanity import WARNING_CODES
from optimiser.pipeline import run_scenario

HERE = Path(__file__).resolve().parent
WARN = HERE / "warn_files"
ROOT = HERE.parent
EXPECTED: dict[str, list[str]] = yaml.safe_load((WARN / "expected.yaml").read_text())


def _validate(*args: str, cwd: Path = WARN):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def test_corpus_is_listed_and_covers_every_warning_code():
    files = {p.name for p in WARN.iterdir() if p.suffix == ".yaml"} - {"expected.yaml"}
    assert files == set(EXPECTED)
    assert {c for codes in EXPECTED.values() for c in codes} == set(WARNING_CODES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_gives_its_warnings(name):
    (report,) = check_files([WARN / name])
    assert report.ok, report.problems
    assert [w.code for w in report.warnings] == EXPECTED[name]
    for w in report.warnings:
        assert w.file.endswith(".yaml") and w.field and w.message and w.fix


def test_warning_figures():
    """The figures in the messages are the geometry's (hand-derived from the files)."""
    by_file = {n: check_files([WARN / n])[0].warnings for n in ("long_connector.yaml", "firm_outside_parcel.yaml",
                                                                 "parcel_over_road.yaml", "firms_unreachable.yaml")}
    lc = by_file["long_connector.yaml"]
    # paths stop at x = 500; entrances of c and d at x = 850: 350 m connectors
    assert [w.field for w in lc] == ["firms[2].entrances[0]", "firms[3].entrances[0]"]
    # (candidates generated along the parkway at x = 900 have ends 400 m from the paths: not warned about)
    assert all("350 m straight connector" in w.message for w in lc)
    fo = by_file["firm_outside_parcel.yaml"]
    # firm a at y = 80 declares west_n (y >= 320): 240 m outside; e at x = 1100, site ends at x = 1000
    assert "240 m outside its parcel 'west_n'" in fo[0].message and "100 m from the nearest" in fo[1].message
    # the road x = 150 runs y 0..280 through 'west'; 5 m edge tolerance at each end: 270 m inside
    assert "runs 270 m through buildable parcel 'west'" in by_file["parcel_over_road.yaml"][0].message
    (ih,) = check_files([WARN / "implausible_headcount.yaml"])[0].warnings
    # b: 6,000,000 of 6,000,000 + 120 + 40 + ... staff
    assert ih.field == "firms[1].employees" and "'b' declares 6,000,000 employees" in ih.message
    (fa,) = check_files([WARN / "feature_apart.yaml"])[0].warnings
    # the footprint x 440680..440720, y 387060..387100; the location (440200, 387080): 480 m
    assert fa.field == "firms[0].footprint" and "the footprint of firm 'a' lies 480 m from its location" in fa.message
    (fu,) = by_file["firms_unreachable.yaml"]
    assert "'b', 'd' cannot reach the other 2 firm(s)" in fu.message
    (sb,) = check_files([WARN / "stop_in_band.yaml"])[0].warnings
    # stop 'median' at (441000, 387300) on the Parkway's centre line: inside its 30 m band (was silent: no walk reached it)
    assert sb.field == "transit[0].stops[1]" and "stop 'median' stands inside 'parkway' (its 30 m band)" in sb.message


def test_unreachable_penalty_follows_the_site_size():
    """Left out, demand.unreachable_penalty_m is twice the site's diagonal (at least 10 km): on a
    10 km park it is above every walk there (a fixed 10 km was below them, with no warning)."""
    import math

    from optimiser.inputs.scenario import site_extent
    from optimiser.pipeline import prepare

    sc = read_scenario(ROOT / "benchmarks" / "model_size" / "sites" / "large.yaml")
    x0, y0, x1, y1 = site_extent(sc.site).bounds
    assert sc.demand.unreachable_penalty_m == math.ceil(2 * math.hypot(x1 - x0, y1 - y0) / 100) * 100 > 30_000
    prep = prepare(sc)
    walks = prep.network.key_lengths(list(prep.context.firm_keys))
    assert walks[walks < float("inf")].max() < sc.demand.unreachable_penalty_m
    assert read_scenario(ROOT / "constraints" / "amp_sbp" / "baseline.yaml").demand.unreachable_penalty_m == 10_000  # as given
    (w,) = check_files([WARN / "penalty_below_walks.yaml"])[0].warnings
    assert w.field == "demand.unreachable_penalty_m" and "longer than the 100 m charged" in w.message
    # a site checked alone is checked as a scenario giving no penalty would be: its 23 km walks pass
    (site_report,) = check_files([ROOT / "benchmarks" / "model_size" / "sites" / "large_site.yaml"])
    assert site_report.ok and "penalty_below_walks" not in {w.code for w in site_report.warnings}  # (its connectors are long)


@pytest.mark.parametrize("scenario", ["amp_sbp/baseline", "amp_sbp/tight_budget", "fremont/baseline"])
def test_embedded_scenarios_have_no_warnings(scenario):
    # their candidates generated where no path reaches the barrier have 300-750 m connectors:
    # generated candidates are not warned about (long_crossing_connectors)
    r = _validate("--strict", scenario, cwd=ROOT)
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output


def test_validate_prints_warnings_and_strict_makes_them_errors():
    r = _validate("long_connector.yaml")
    assert r.exit_code == 0, r.output
    assert "long_connector.yaml: firms[2].entrances[0]: warning [long_connector]: firm 'c'" in r.output
    assert "2 warnings; --strict makes them errors" in r.output
    assert "long_connector.yaml: ok (" in r.output
    r = _validate("--strict", "long_connector.yaml")
    assert r.exit_code == 2
    r = _validate("--json", "long_connector.yaml")
    assert r.exit_code == 0
    assert [d["warning"] for d in json.loads(r.output)] == ["long_connector"] * 2


def test_run_writes_warnings_and_strict_refuses(tmp_path):
    scen = WARN / "candidate_over_road.yaml"
    with pytest.raises(InputError) as err:
        run_scenario(scen, tmp_path / "strict", strict=True, time_limit_s=10, workers=1)
    assert [p.field for p in err.value.problems] == ["parcels[0].geometry", "parcels[0]"]
    assert "an error under --strict" in err.value.problems[0].reason
    assert not (tmp_path / "strict").exists()
    res = run_scenario(scen, tmp_path / "run", render=False, time_limit_s=10, workers=1)
    data = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [w["code"] for w in data["warnings"]] == ["parcel_over_road", "candidate_over_road"]
    assert res.metrics.warnings[1].field == "parcels[0]"


def test_cli_run_strict_exit_code(tmp_path):
    old = os.getcwd()
    os.chdir(WARN)
    try:
        r = CliRunner().invoke(cli, ["run", "candidate_over_road.yaml", "--out", str(tmp_path / "o"), "--strict"])
    finally:
        os.chdir(old)
    assert r.exit_code == 2, r.output
    assert "warning candidate_over_road; an error under --strict" in r.output


# ------------------------------------------------------------------ kinds and one pass


def test_site_file_given_as_a_scenario(tmp_path):
    with pytest.raises(InputError) as err:
        read_scenario(WARN / "clean_site.yaml")
    (p,) = err.value.problems
    assert p.field == "format"
    assert p.reason.startswith("this is a site file (format placemaking-site/1), given as a scenario")
    assert "a scenario names its site in `site:`" in (p.hint or "")


def test_a_site_whose_format_says_scenario_is_one_problem(tmp_path):
    """A site file whose header was copied from a scenario (format: placemaking-scenario/1) is
    one problem saying what the file holds and the format to write, not one "unknown key" per
    site key and a missing site and budget; the same for a scenario labelled a site."""
    text = (WARN / "clean_site.yaml").read_text()
    assert "format: placemaking-site/1\n" in text
    (tmp_path / "site.yaml").write_text(text.replace("format: placemaking-site/1\n", "format: placemaking-scenario/1\n"))
    r = _validate("site.yaml", cwd=tmp_path)
    assert r.exit_code == 2, r.output
    (line,) = [x for x in r.output.splitlines() if x.startswith("site.yaml")]
    assert line.startswith("site.yaml: format: says placemaking-scenario/1, but the file holds a site (barriers, crossing_rules, crs, "
                           "firms ...), none of a scenario's keys (set format: placemaking-site/1)"), line
    (tmp_path / "s.yaml").write_text("format: placemaking-site/1\nid: s\nsite: site.yaml\nbudget: 1\n")
    r = _validate("s.yaml", cwd=tmp_path)
    assert r.output.startswith("s.yaml: format: says placemaking-site/1, but the file holds a scenario (budget, site), none "
                               "of a site's keys (set format: placemaking-scenario/1)\n"), r.output


def test_batch_given_to_validate_is_validated_as_a_batch(tmp_path):
    shutil.copy(WARN / "long_connector.yaml", tmp_path / "site.yaml")
    (tmp_path / "base.yaml").write_text((WARN / "long_connector_relaxed.yaml").read_text().replace("long_connector.yaml", "site.yaml"))
    (tmp_path / "sweep.yaml").write_text("format: placemaking-batch/1\nbase: base.yaml\nsweep: {budget_gbp: [1000000, 2000000]}\n")
    (tmp_path / "bad_sweep.yaml").write_text("format: placemaking-batch/1\nbase: base.yaml\nsweep: {budjet_gbp: [1]}\n")
    r = _validate("sweep.yaml", "bad_sweep.yaml", cwd=tmp_path)
    assert r.exit_code == 2, r.output
    assert "sweep.yaml: ok (batch 'sweep': 2 items over" in r.output
    assert "bad_sweep.yaml: sweep.budjet_gbp:" in r.output and "did you mean 'budget_gbp'" in r.output
    assert "site file" not in r.output


def test_every_problem_of_every_file_in_one_pass(tmp_path):
    """A broken site, a scenario on it with an unknown sector, a broken batch and a warning file,
    in one call: every problem of every file, cross-file references included."""
    site = yaml.safe_load((WARN / "clean_site.yaml").read_text())
    site["firms"][0]["employees"] = -5
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    scen = yaml.safe_load((WARN / "long_connector_relaxed.yaml").read_text())
    scen.update(site="site.yaml", demand={"rule": "sector_affinity", "sector_affinity": {"reserch": {"office": 2.0}}})
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scen))
    (tmp_path / "batch.yaml").write_text("format: placemaking-batch/1\nbase: missing.yaml\n")
    shutil.copy(WARN / "parcel_over_barrier.yaml", tmp_path / "warn.yaml")
    r = _validate("site.yaml", "scenario.yaml", "batch.yaml", "warn.yaml", cwd=tmp_path)
    assert r.exit_code == 2
    out = r.output.splitlines()
    assert any(line.startswith("site.yaml: firms[0].employees: must be > 0") for line in out), r.output
    assert any(line.startswith("scenario.yaml: demand.sector_affinity.reserch: sector 'reserch' is referenced but not defined")
               and "did you mean 'research'?" in line for line in out), r.output
    assert any(line.startswith("batch.yaml: base:") and "file not found" in line for line in out), r.output
    assert any("warn.yaml: parcels[0].geometry: warning [parcel_over_barrier]" in line for line in out), r.output
    # the site's problem is reported once, although the scenario names the site
    assert sum("firms[0].employees" in line for line in out) == 1


# ------------------------------------------------------------------ hints


def test_suggestions_only_for_close_matches():
    assert suggest("cost", ["count", "min", "max"]) is None
    assert suggest("cost", ["count", "cost_gbp"]) == "cost_gbp"
    assert suggest("hs3", ["hs2", "parkway"]) == "hs2"
    assert suggest("employes", ["employees", "sector"]) == "employees"
    assert suggest("staff", ["employees", "sector"]) == "employees"
    assert suggest("Parkway", ["parkway"]) == "parkway"


def test_a_missing_file_is_matched_by_its_stem_not_its_suffix(tmp_path):
    for name in ("wc_ignored.yaml", "nofmt.yaml", "good.yaml", "UPPER.YAML", "site.toml"):
        (tmp_path / name).write_text("x")
    assert suggest_path(tmp_path / "nothere.yaml") is None  # sharing ".yaml" is not likeness (difflib said 0.73)
    assert suggest_path(tmp_path / "goood.yaml") == tmp_path / "good.yaml"
    assert suggest_path(tmp_path / "upper.yaml") == tmp_path / "UPPER.YAML"
    assert suggest_path(tmp_path / "site.yaml") == tmp_path / "site.toml"
    assert suggest_path(tmp_path / "no" / "such.yaml") is None
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "nothere.yaml"), str(tmp_path / "wc_ignore.yaml")])
    assert f"{tmp_path / 'nothere.yaml'}: (file): file not found (check the path)" in r.output
    assert f"file not found (did you mean {str(tmp_path / 'wc_ignored.yaml')!r}?)" in r.output


def test_hint_lists_say_how_many_more():
    names = [f"firm-{i:02d}" for i in range(20)]
    assert name_list(names).endswith("firm-11 ... and 8 more")
    p = unknown_reference("s.yaml", "demand.pairs[0].a", "firm", "zzz", names)
    assert p.hint is not None and p.hint.endswith("... and 8 more")
    assert name_list(names[:12]) == ", ".join(names[:12])


@pytest.mark.slow
def test_report_lists_the_warnings(tmp_path):
    run_scenario(WARN / "candidate_over_road.yaml", tmp_path / "run", time_limit_s=10, workers=1)
    html = (tmp_path / "run" / "report.html").read_text()
    assert '<section id="warnings"><h2 class="warn">Site warnings (2)</h2>' in html
    assert "<code>candidate_over_road</code>" in html and "straddle road &#39;service-road&#39;" in html


def test_parcels_of_different_statuses_overlapping_are_warned_about_edges_are_not(tmp_path):
    """A parcel given twice with contradictory statuses, or drawn far into its neighbour, is
    warned about with both parcels and the overlap's area; edges drawn a few metres over each
    other (the 5 m edge tolerance) and parcels of one status are not."""
    from tests.sitefiles import site_dict, xy

    (w,) = check_files([WARN / "parcels_overlap.yaml"])[0].warnings
    # 'west' is 300 x 280 m = 84,000 m², all of it under 'west_copy'
    assert w.field == "parcels[6].geometry"
    assert w.message == ("parcel 'west_copy' (occupied) and parcel 'west' (parcels[0], buildable) overlap by 84,000 m² "
                         "(100 % of the smaller), so the same ground is both occupied and buildable")

    def rect(x0, y0, x1, y1):
        return {"type": "Polygon", "coordinates": [[xy(x0, y0), xy(x1, y0), xy(x1, y1), xy(x0, y1), xy(x0, y0)]]}

    site = site_dict()
    site["parcels"][0]["geometry"] = rect(0, 0, 304, 280)  # 'west' drawn 4 m over 'green_s' (open space): an edge
    site["parcels"][1]["geometry"] = rect(0, 320, 340, 600)  # 'west_n' 40 m into 'green_n': 40 x 280 m
    site["parcels"].append({"id": "east_again", "status": "occupied", "geometry": rect(700, 0, 1000, 280)})  # same status
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    (report,) = check_files([tmp_path / "site.yaml"])
    overlaps = [x for x in report.warnings if x.code == "parcels_overlap"]
    assert [x.field for x in overlaps] == ["parcels[3].geometry"], overlaps
    assert overlaps[0].message.startswith("parcel 'green_n' (open_space) and parcel 'west_n' (parcels[1], buildable) "
                                          "overlap by 11,200 m² (12 % of the smaller)"), overlaps[0].message  # of west_n, 340 x 280 m


def test_crossing_ends_get_the_long_connector_warning(tmp_path):
    """An existing crossing and an explicit candidate whose ends lie far from every path are
    warned about one by one, with the same code and threshold as a firm entrance."""
    from tests.sitefiles import scenario_dict, xy

    site = yaml.safe_load((WARN / "long_connector.yaml").read_text())  # paths stop at x = 500
    site["crossing_rules"] = []
    site["crossings"].append({"id": "east-bridge", "barrier": "parkway", "type": "bridge",
                              "geometry": {"type": "LineString", "coordinates": [xy(950, 270), xy(950, 330)]}})
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    scen = scenario_dict()
    scen["crossings"]["spacing_m"] = None
    scen["crossings"]["explicit"] = [{"id": "my-bridge", "barrier": "parkway", "type": "footbridge",
                                      "geometry": {"type": "LineString", "coordinates": [xy(800, 270), xy(800, 330)]}}]
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scen))
    (report,) = check_files([tmp_path / "scenario.yaml"])
    assert report.ok, report.problems
    found = {w.field: w for w in report.warnings if w.field.startswith("crossings")}
    # the bridge's ends (950, 270) and (950, 330): 450 m from the paths' ends at x = 500; the candidate's 300 m
    assert found["crossings[1].geometry"].file.endswith("site.yaml")
    assert found["crossings[1].geometry"].message == (
        "an end of crossing 'east-bridge' is joined to the walking network by a 450 m straight connector (more than "
        "checks.max_connector_m = 250 m), so walks over it are guessed, not routed")
    assert found["crossings.explicit[0].geometry"].file.endswith("scenario.yaml")
    assert found["crossings.explicit[0].geometry"].message.startswith(
        "an end of candidate crossing 'my-bridge' is joined to the walking network by a 300 m straight connector")
    assert {w.code for w in found.values()} == {"long_connector"}


@pytest.mark.parametrize("line, warned", [("far", True), ("tram", False)])
def test_a_transit_line_whose_candidate_stops_no_path_reaches_is_warned_about(tmp_path, line, warned):
    """A line drawn 2 km off the site: every candidate stop hangs on a 2 km straight connector, so
    walks to a new stop are guessed; a line along the paths is not warned about."""
    site = yaml.safe_load((WARN / "stop_in_band.yaml").read_text())
    site["transit"] = [site["transit"][0] | {"stops": []},
                       {"id": "far", "geometry": {"type": "LineString", "coordinates": [[440000.0, 389600.0], [441000.0, 389600.0]]}}]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump({
        "format": "placemaking-scenario/1", "id": "far_tram", "site": "site.yaml", "budget": 2_000_000,
        "transit": {"count": 1, "lines": [line], "cost": 500_000, "catchment_m": 300, "candidate_spacing_m": 400}}))
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "scenario.yaml")])
    said = [s for s in res.output.splitlines() if "[long_connector]" in s]
    if warned:
        assert len(said) == 1
        assert "site.yaml: transit[1].geometry: warning [long_connector]: every candidate stop on line 'far' (2)" in said[0]
        assert "(the shortest 2,000 m)" in " ".join(res.output.split())
    else:
        assert said == [], res.output


def test_a_far_line_is_warned_about_though_one_of_its_stops_reaches_no_path(tmp_path):
    """A candidate stop that no walk reaches (a barrier between it and every path) has no
    connector at all: it is not a short one, so the line's other stops, 2 km off, are still
    warned about (it was read as 0 m, and the line said nothing)."""
    site = yaml.safe_load((WARN / "stop_in_band.yaml").read_text())
    site["transit"] = [site["transit"][0] | {"stops": []},
                       {"id": "far", "geometry": {"type": "LineString", "coordinates": [[440000.0, 389600.0], [441000.0, 389600.0]]}}]
    site["barriers"].append({"id": "canal", "name": "Canal", "kind": "water", "width_m": 20, "geometry": {
        "type": "LineString", "coordinates": [[439000.0, 389500.0], [440400.0, 389500.0]]}})
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump({
        "format": "placemaking-scenario/1", "id": "far_tram", "site": "site.yaml", "budget": 2_000_000,
        "transit": {"count": 1, "lines": ["far"], "cost": 500_000, "catchment_m": 300, "candidate_spacing_m": 400}}))
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "scenario.yaml")])
    said = " ".join(" ".join(s for s in res.output.splitlines() if "[long_connector]" in s).split())
    assert "every candidate stop on line 'far' that a walk reaches (1 of 2)" in said, res.output
    assert "(the shortest 2,000 m)" in said


def test_warnings_about_firm_changes_name_the_scenario_file(tmp_path):
    """A firm the scenario adds (firm_changes.added) and a head count it sets
    (firm_changes.employees) are warned about where the user wrote them, in the scenario file:
    the site file has no firms[4] and still says b has 60 staff."""
    from tests.sitefiles import write_files, xy

    _, scen = write_files(tmp_path, checks={"max_connector_m": 40}, firm_changes={
        "employees": {"b": 200_000},
        "added": [{"id": "far", "employees": 10, "location": xy(250, 150)}]})  # 50 m from the nearest path (a 100 m grid)
    (report,) = check_files([scen])
    assert report.ok, report.problems
    got = {(w.code, w.file, w.field) for w in report.warnings}
    assert ("long_connector", str(scen), "firm_changes.added[0].entrances[0]") in got, got
    assert ("implausible_headcount", str(scen), "firm_changes.employees.b") in got, got
    assert not [w for w in report.warnings if w.field.startswith("firms[")], report.warnings
