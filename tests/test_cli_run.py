"""``siteopt run`` and ``siteopt schema``: exit codes, the run-directory contract."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sitefiles import write_files

ROOT = Path(__file__).resolve().parents[1]


def siteopt(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimiser", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    _, scen = write_files(d / "in")
    out = d / "out"
    r = siteopt("-v", "run", str(scen), "--out", str(out), "--no-render")
    return r, out, scen


def test_run_exit_0_and_json_summary(solved):
    r, out, _ = solved
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "optimal"
    assert summary["verification"]["passed"] is True
    assert summary["walk"]["optimised_weighted_mean_m"] <= summary["walk"]["baseline_weighted_mean_m"]
    m = json.loads((out / "metrics.json").read_text())  # a script finds the run and its figures from stdout alone
    assert summary["run_id"] == m["run_id"] and summary["site"] == m["site"]["id"] and summary["scenario"] == m["scenario"]["id"]
    assert summary["verification"] == {"passed": True, "objective": m["verification"]["objective"]} and m["verification"]["objective"]


def test_json_summary_says_what_the_objective_is(solved):
    """stdout's ``objective`` is the solver's scaled integer (design brief section 7 keeps the key);
    beside it the same in weighted metres, as the log's "objective N weighted m" says, the scale
    between the two and the objective as one weighted mean walk."""
    r, out, _ = solved
    summary = json.loads(r.stdout)
    m = json.loads((out / "metrics.json").read_text())
    scale = m["model"]["length_scale_per_m"] * m["model"]["weight_scale"]
    assert summary["objective"] == m["objective"] and summary["bound"] == m["bound"]
    assert summary["objective_weighted_m"] == m["objective_weighted_m"] == pytest.approx(m["objective"] / scale, abs=1e-3)
    assert summary["bound_weighted_m"] == pytest.approx(m["bound"] / scale, abs=1e-3)
    assert summary["objective_scale"] == pytest.approx(scale) and summary["objective_mean_m"] == m["objective_mean_m"]
    logged = next(line for line in r.stderr.splitlines() if "solve: optimal" in line and "weighted m" in line)
    assert f"objective {summary['objective_weighted_m']:,.0f} weighted m" in logged, logged


def test_metrics_json_has_the_contract_keys(solved):
    _, out, _ = solved
    m = json.loads((out / "metrics.json").read_text())
    for key in ("status", "objective", "bound", "gap", "solve_seconds", "backend", "seed", "scenario", "site",
                "walk.baseline_weighted_mean_m", "walk.optimised_weighted_mean_m", "walk.reduction_pct",
                "walk.baseline_mean_detour", "walk.optimised_mean_detour", "cost.capital", "cost.budget",
                "placements.shared_facilities", "placements.social_spaces", "placements.crossings",
                "verification.passed", "verification.objective"):
        cur = m
        for part in key.split("."):
            assert part in cur, f"metrics.json lacks {key}"
            cur = cur[part]
    assert m["gap"] == 0.0 and m["bound"] == m["objective"]
    assert m["verification"]["objective"] == pytest.approx(m["objective"], abs=10_000)
    assert m["cost"]["capital"] <= m["cost"]["budget"]
    assert len(m["placements"]["shared_facilities"]) == 1  # count {min 1, max 1}


def test_layout_geojson_is_rfc7946_wgs84(solved):
    _, out, _ = solved
    fc = json.loads((out / "layout.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    layers = {f["properties"]["layer"] for f in fc["features"]}
    assert {"parcel", "firm", "barrier", "path", "existing_crossing", "facility"} <= layers
    for f in fc["features"]:
        if f["geometry"]["type"] == "Point":
            lon, lat = f["geometry"]["coordinates"]
            assert -2 < lon < 0 and 53 < lat < 54  # Sheffield-Rotherham


def test_pairs_csv_one_row_per_pair(solved):
    _, out, _ = solved
    rows = list(csv.DictReader((out / "pairs.csv").open()))
    assert len(rows) == 6  # 4 firms
    for r in rows:
        assert float(r["after_m"]) <= float(r["before_m"]) + 1e-6
        assert float(r["detour_before"]) >= 1.0 - 1e-9
        assert float(r["straight_m"]) > 0


def test_refuses_non_empty_out_without_overwrite(solved):
    _, out, scen = solved
    r = siteopt("run", str(scen), "--out", str(out), "--no-render")
    assert r.returncode == 2
    assert "--overwrite" in r.stderr and "Traceback" not in r.stderr
    r = siteopt("run", str(scen), "--out", str(out), "--no-render", "--overwrite", "--backend", "cbc")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["backend"] == "cbc"


def test_infeasible_exits_3_with_explanation(tmp_path):
    _, scen = write_files(tmp_path / "in", budget_gbp=100_000)  # a workshop costs £400,000
    out = tmp_path / "out"
    r = siteopt("run", str(scen), "--out", str(out))
    assert r.returncode == 3
    assert "budget" in r.stderr and "workshop" in r.stderr
    assert json.loads(r.stdout)["status"] == "infeasible"
    m = json.loads((out / "metrics.json").read_text())
    assert m["status"] == "infeasible" and m["conflicts"]
    assert re.search(r"it needs a workshop at candidate site \d+ on parcel \w", m["conflicts"][0]), m["conflicts"]
    # no layout: nothing after (not the baseline's figures as if solved), the baseline still there
    walk = m["walk"]
    assert walk["baseline_weighted_mean_m"] > 0
    assert walk["optimised_weighted_mean_m"] is walk["reduction_pct"] is walk["optimised_mean_detour"] is None
    assert walk["cross_barrier"]["optimised_weighted_mean_m"] is None
    assert walk["pairs_newly_connected"] is walk["cross_barrier"]["pairs_newly_connected"] is None
    assert all(a["optimised_mean_m"] is None for a in walk["facility_access"].values())
    assert m["coverage"] is None or m["coverage"]["optimised_share"] is None
    # the report says why, in the planner's terms
    html = (out / "report.html").read_text()
    section = html[html.index('<section id="no-layout">'):html.index('<section id="summary">')]
    assert "No layout: infeasible" in section and "budget" in section and "candidate site" in section


def test_invalid_scenario_exits_2_and_writes_nothing(tmp_path):
    _, scen = write_files(tmp_path / "in", budget_gbp=-5, facilitiez=[])
    out = tmp_path / "out"
    r = siteopt("run", str(scen), "--out", str(out))
    assert r.returncode == 2
    assert "budget_gbp" in r.stderr and "facilitiez" in r.stderr and "did you mean 'facilities'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_no_solution_in_time_exits_4(tmp_path, monkeypatch, tiny_files):
    from click.testing import CliRunner

    import optimiser.pipeline as pipeline
    from optimiser.cli import cli
    from optimiser.solve.result import SolveResult

    def fake_solve(problem, options, **kw):  # the pipeline passes its SolveOptions whole
        return SolveResult("unknown", None, None, None, 0.01, options.backend, 0, (), (), "no solution found within the time limit")

    monkeypatch.setattr(pipeline, "solve", fake_solve)
    _, scen = tiny_files
    res = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "out"), "--no-render"])
    assert res.exit_code == 4


def test_schema_is_current():
    r = siteopt("schema", "--check", str(ROOT / "constraints" / "schema.json"))
    assert r.returncode == 0, r.stderr + " (regenerate with: siteopt schema > constraints/schema.json)"


def test_a_schema_copy_that_is_not_utf8_is_stale_not_a_bug(tmp_path):
    from click.testing import CliRunner

    from optimiser.cli import cli

    copy = tmp_path / "schema.json"
    copy.write_bytes(b"\xff\xfe{}")  # e.g. saved as UTF-16 by an editor: it said "internal error ... a bug"
    res = CliRunner().invoke(cli, ["schema", "--check", str(copy)])
    assert res.exit_code == 1 and "is stale" in res.output and "bug" not in res.output


def test_a_schema_copy_that_is_missing_or_a_folder_says_so(tmp_path):
    from click.testing import CliRunner

    from optimiser.cli import cli

    res = CliRunner().invoke(cli, ["schema", "--check", str(tmp_path / "nonexist.json")])
    assert res.exit_code == 1 and "nonexist.json does not exist; write it with: siteopt schema >" in res.output
    (tmp_path / "dir.json").mkdir()
    res = CliRunner().invoke(cli, ["schema", "--check", str(tmp_path / "dir.json")])
    assert res.exit_code == 2 and "is a directory" in res.output and "bug" not in res.output  # click's usage check
    (tmp_path / "file").write_text("x")  # a path through a file: NotADirectoryError, said
    res = CliRunner().invoke(cli, ["schema", "--check", str(tmp_path / "file" / "schema.json")])
    assert res.exit_code == 1 and "schema.json cannot be read (Not a directory); regenerate with" in res.output, res.output


def test_schema_check_of_a_file_that_is_no_schema_never_advises_writing_over_it(tmp_path):
    """``siteopt schema --check site.yaml`` said "is stale; regenerate with: siteopt schema >
    site.yaml" (which would write over the site)."""
    from click.testing import CliRunner

    from optimiser.cli import cli

    site = tmp_path / "site.yaml"
    site.write_text("format: placemaking-site/1\nid: x\n")
    r = CliRunner().invoke(cli, ["schema", "--check", str(site)])
    assert r.exit_code == 2 and "is not a copy of the JSON Schema" in r.output and "siteopt schema >" not in r.output, r.output
    stale = json.loads((ROOT / "constraints" / "schema.json").read_text())
    stale["title"] = "old"
    (tmp_path / "stale.json").write_text(json.dumps(stale))
    r = CliRunner().invoke(cli, ["schema", "--check", str(tmp_path / "stale.json")])
    assert r.exit_code == 1 and "stale.json is stale; regenerate with" in r.output, r.output


def test_schema_check_of_a_damaged_copy_says_it_is_stale(tmp_path):
    """A committed schema with git's conflict markers, or left empty by a failed ``siteopt schema
    >``, is no JSON but is a stale copy: exit 1 with the command to regenerate it, not exit 2 'is
    not a copy of the JSON Schema (its $schema member is missing)'."""
    from click.testing import CliRunner

    from optimiser.cli import cli

    lines = (ROOT / "constraints" / "schema.json").read_text().splitlines(keepends=True)
    (tmp_path / "conflict.json").write_text("".join(lines[:5] + ["<<<<<<< HEAD\n"] + lines[5:]))
    (tmp_path / "empty.json").write_text("")
    for name in ("conflict.json", "empty.json"):
        r = CliRunner().invoke(cli, ["schema", "--check", str(tmp_path / name)])
        assert r.exit_code == 1 and f"{name} is stale; regenerate with" in r.output, r.output


def test_schema_validates_the_shipped_scenarios():
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "constraints" / "schema.json").read_text())
    files = sorted((ROOT / "constraints").glob("amp_sbp/*.yaml")) + [ROOT / "sites" / "amp_sbp" / "site.yaml"]
    checked = 0
    formats = set()
    for f in files:
        data = yaml.safe_load(f.read_text())
        jsonschema.validate(data, schema)
        formats.add(data["format"])
        checked += 1
    assert checked >= 1
    assert formats == {"placemaking-site/1", "placemaking-scenario/1", "placemaking-batch/1"}


def test_schema_rejects_what_siteopt_validate_rejects_in_a_batch(tmp_path):
    import jsonschema

    schema = json.loads((ROOT / "constraints" / "schema.json").read_text())
    good = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6, 2e6]}, "repeat_seeds": [0, 1]}
    jsonschema.validate(good, schema)
    for bad in ({**good, "sweeps": {}},                  # unknown key
                {**good, "repeat_seeds": [2**31]},        # seed above CP-SAT's
                {**good, "time_limit_s": 1e7},            # above a week
                {**good, "mode": "product"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        f = tmp_path / "batch.json"
        f.write_text(json.dumps(bad))
        assert siteopt("validate", str(f)).returncode == 2


def test_cross_barrier_walks_are_reported(solved):
    _, out, _ = solved
    m = json.loads((out / "metrics.json").read_text())
    cb = m["walk"]["cross_barrier"]
    assert cb["pairs"] == 4  # a, c south of the carriageway; b, d north
    assert cb["optimised_weighted_mean_m"] <= cb["baseline_weighted_mean_m"]
    assert cb["baseline_weighted_mean_m"] > m["walk"]["baseline_weighted_mean_m"]  # split pairs walk further


def _split_site_files(folder: Path) -> Path:
    """Firms a (0, 100) and b (200, 100) south of a road along y = 300, n (200, 500) north of it,
    no crossing: a footpath a - b - (200, 280), another (200, 320) - n, and one candidate
    footbridge (200, 280) - (200, 320), penalty 30 m. Built, it gives a - n 200 + 180 + 40 + 30 +
    180 = 630 m and b - n 430 m; a - b stays 200 m. Weights a-b 1, a-n 2, b-n 1."""
    import yaml

    def xy(x: float, y: float) -> list[float]:
        return [440000.0 + x, 387000.0 + y]

    def line(*pts: tuple[float, float]) -> dict:
        return {"type": "LineString", "coordinates": [xy(*p) for p in pts]}

    site = {"format": "placemaking-site/1", "id": "split", "name": "Split test site", "crs": "EPSG:27700",
            "parcels": [{"id": "s", "status": "buildable", "geometry": {
                "type": "Polygon", "coordinates": [[xy(-20, 0), xy(260, 0), xy(260, 200), xy(-20, 200), xy(-20, 0)]]}}],
            "firms": [{"id": "a", "name": "A", "employees": 10, "location": xy(0, 100)},
                      {"id": "b", "name": "B", "employees": 10, "location": xy(200, 100)},
                      {"id": "n", "name": "N", "employees": 10, "location": xy(200, 500)}],
            "barriers": [{"id": "road", "name": "Road", "kind": "carriageway", "width_m": 30,
                          "geometry": line((-50, 300), (450, 300))}],
            "paths": [{"id": "south", "geometry": line((0, 100), (200, 100), (200, 280))},
                      {"id": "north", "geometry": line((200, 320), (200, 500))}]}
    scen = {"format": "placemaking-scenario/1", "id": "bridge", "site": "site.yaml", "budget": 2_000_000,
            "crossings": {"spacing_m": 0, "types": {"footbridge": {"cost": 1_000_000, "penalty_m": 30}},
                          "explicit": [{"id": "fb", "barrier": "road", "type": "footbridge",
                                        "geometry": line((200, 280), (200, 320))}]},
            "demand": {"rule": "explicit", "pairs": [{"a": "a", "b": "b", "weight": 1}, {"a": "a", "b": "n", "weight": 2},
                                                     {"a": "b", "b": "n", "weight": 1}]},
            "solver": {"time_limit_s": 5}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    (folder / "scen.yaml").write_text(yaml.safe_dump(scen, sort_keys=False))
    return folder / "scen.yaml"


def test_pairs_the_plan_newly_connects_are_counted_with_their_walk(tmp_path):
    """Two of three pairs have no walk until the footbridge is built: the like-for-like figures
    stay over the one pair with a walk before (200 m -> 200 m, 0 %), and the two newly connected
    pairs are counted with their weighted mean after, (2 x 630 + 1 x 430) / 3 = 563.3 m."""
    out = tmp_path / "out"
    r = siteopt("run", str(_split_site_files(tmp_path / "in")), "--out", str(out), "--no-render")
    assert r.returncode == 0, r.stderr
    walk = json.loads((out / "metrics.json").read_text())["walk"]
    assert (walk["pairs"], walk["pairs_compared"], walk["pairs_unreachable_before"], walk["pairs_unreachable_after"]) \
        == (3, 1, 2, 0)
    assert walk["baseline_weighted_mean_m"] == walk["optimised_weighted_mean_m"] == 200.0 and walk["reduction_pct"] == 0.0
    assert walk["pairs_newly_connected"] == 2 and walk["newly_connected_weighted_mean_m"] == 563.3
    cb = walk["cross_barrier"]
    assert cb["pairs"] == 2 and cb["optimised_weighted_mean_m"] is None  # none of them had a walk before
    assert cb["pairs_newly_connected"] == 2 and cb["newly_connected_weighted_mean_m"] == 563.3
    rows = {(p["a"], p["b"]): p for p in csv.DictReader((out / "pairs.csv").open())}
    assert rows[("a", "n")]["before_m"] == "" and float(rows[("a", "n")]["after_m"]) == 630.0
    assert float(rows[("b", "n")]["after_m"]) == 430.0


# ---------------------------------------------------------------- logging: -v, -q, --debug

INFO_LINE = re.compile(r"^\S+ info +optimiser\.")


def info_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if INFO_LINE.match(ln)]


def test_verbose_run_logs_info_on_stderr_and_stdout_stays_json(solved):
    r, _, _ = solved  # the fixture ran `siteopt -v run`
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "optimal"  # one JSON document, no log lines in it
    assert info_lines(r.stderr), r.stderr
    assert not info_lines(r.stdout)


def test_verbose_and_quiet_in_process(tmp_path, tiny_files):
    from click.testing import CliRunner

    from optimiser.cli import cli

    site, scen = tiny_files
    r = CliRunner().invoke(cli, ["-v", "validate", "--json", str(site), str(scen)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []
    assert len(info_lines(r.stderr)) >= 2, r.stderr  # one per file
    for args in (["-q"], ["-q", "-v"], []):
        r = CliRunner().invoke(cli, [*args, "validate", "--json", str(site), str(scen)])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout) == []
        assert not info_lines(r.stderr), (args, r.stderr)


def boom(*args, **kwargs):
    raise RuntimeError("boom: a simulated internal error")


def test_internal_error_is_one_line_or_a_traceback_with_debug(tmp_path, monkeypatch, tiny_files):
    from click.testing import CliRunner

    import optimiser.cli.run_cmd as run_cmd
    from optimiser.cli import cli

    monkeypatch.setattr(run_cmd, "run_scenario", boom)
    _, scen = tiny_files
    r = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert "internal error: RuntimeError: boom" in r.stderr and "This is a bug" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    r = CliRunner().invoke(cli, ["--debug", "run", str(scen), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert "Traceback (most recent call last)" in r.stderr and "RuntimeError: boom" in r.stderr
    assert "in boom" in r.stderr  # the frame that raised
    assert r.stdout == ""


def test_schema_check_of_a_fifo_says_it_is_no_copy_instead_of_hanging(tmp_path):
    """``siteopt schema --check`` read the path with read_bytes() since fe6eaf5: a FIFO given by
    mistake hung the command for ever (before, is_file() said 'stale'). It is read as every input
    is (safefile.read_regular_bytes): a FIFO is said to be one, at once, exit 2."""
    import os

    fifo = tmp_path / "schema.json"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "optimiser", "schema", "--check", str(fifo)], capture_output=True,
                       text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    assert f"siteopt: {fifo} is a FIFO (named pipe), not a regular file: not a copy of the JSON Schema" in r.stderr, r.stderr
