"""Batches (optimiser.batch, ``siteopt batch``): expansion, keys, resilience, resume after
SIGKILL, determinism across jobs and Dask, and the Pareto front."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from optimiser.batch import BatchItem, expand_batch, load_batch, run_batch
from optimiser.batch.keys import item_key
from optimiser.batch.overrides import apply_overrides
from optimiser.batch.records import RESULT_FORMAT, read_result
from optimiser.batch.results import pareto_front, pareto_table, results_header
from optimiser.errors import OutputExistsError, ValidationError

SITE = """\
format: placemaking-site/1
id: tiny
name: Tiny batch test site
crs: EPSG:27700
illustrative: true
parcels:
  - id: north
    status: buildable
    geometry: {type: Polygon, coordinates: [[[0, 320], [1000, 320], [1000, 600], [0, 600], [0, 320]]]}
  - id: south
    status: buildable
    geometry: {type: Polygon, coordinates: [[[0, 0], [1000, 0], [1000, 280], [0, 280], [0, 0]]]}
firms:
  - {id: a, employees: 50, location: [200, 100]}
  - {id: b, employees: 60, location: [200, 500]}
  - {id: c, employees: 40, location: [850, 100]}
  - {id: d, employees: 200, location: [850, 500]}
barriers:
  - id: parkway
    kind: carriageway
    width_m: 30
    geometry: {type: LineString, coordinates: [[-50, 300], [1050, 300]]}
paths:
  - {id: h100, kind: footpath, geometry: {type: LineString, coordinates: [[0, 100], [1000, 100]]}}
  - {id: h500, kind: footpath, geometry: {type: LineString, coordinates: [[0, 500], [1000, 500]]}}
  - {id: v0, kind: footpath, geometry: {type: LineString, coordinates: [[0, 0], [0, 600]]}}
  - {id: v500, kind: footpath, geometry: {type: LineString, coordinates: [[500, 0], [500, 600]]}}
  - {id: v1000, kind: footpath, geometry: {type: LineString, coordinates: [[1000, 0], [1000, 600]]}}
crossings:
  - id: j1
    barrier: parkway
    type: junction
    penalty_m: 20
    geometry: {type: LineString, coordinates: [[0, 280], [0, 320]]}
"""

SCENARIO = """\
format: placemaking-scenario/1
id: tiny-base
site: site.yaml
budget_gbp: 2000000
facilities:
  - type: lab
    count: 1
    footprint_m2: 400
    cost_gbp: 500000
    candidate_spacing_m: 200
crossings:
  spacing_m: 200
  types:
    signalised: {cost_gbp: 250000, penalty_m: 45}
    footbridge: {cost_gbp: 1500000, penalty_m: 30}
solver: {time_limit_s: 20, seed: 0, workers: 1}
"""


def write_batch(d: Path, name: str = "batch.yaml", **body) -> Path:
    data = {"format": "placemaking-batch/1", "base": "scen.yaml", **body}
    p = d / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def write_budget_sweep(tmp_path: Path, budgets_gbp: list[int]) -> Path:
    """The tiny site and its scenario in ``tmp_path/in`` and a batch sweeping ``budget_gbp``."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    return write_batch(d, sweep={"budget_gbp": budgets_gbp})


def rows(path: Path, drop=("seconds",)) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(fh)]


# ---------------------------------------------------------------- expansion and keys


def test_grid_zip_and_seed_counts(site_dir: Path) -> None:
    grid = write_batch(site_dir, "grid.yaml", sweep={"budget_gbp": [1e6, 2e6, 3e6], "layers.hs2": [False, True]},
                       repeat_seeds=[0, 1])
    items = expand_batch(grid)
    assert len(items) == 3 * 2 * 2
    assert len({i.key for i in items}) == len(items)
    assert [i.index for i in items] == list(range(12))
    assert items[0].overrides == {"budget_gbp": 1e6, "layers.hs2": False, "solver.seed": 0}
    assert items[0].scenario["solver"]["workers"] == 1  # reproducible: one CP-SAT worker per item
    assert "budget=£1m" in items[0].name and "seed=0" in items[0].name

    z = write_batch(site_dir, "zip.yaml", mode="zip", sweep={"budget_gbp": [1e6, 2e6, 3e6], "facilities.0.count": [1, 2, 3]})
    zi = expand_batch(z)
    assert [(i.overrides["budget_gbp"], i.overrides["facilities.0.count"]) for i in zi] == [(1e6, 1), (2e6, 2), (3e6, 3)]
    assert [i.scenario["facilities"][0]["count"] for i in zi] == [1, 2, 3]

    ex = write_batch(site_dir, "ex.yaml", scenarios=[{"budget_gbp": 1e6}, {"name": "two", "budget_gbp": 2e6}],
                     sweep={"facilities[0].count": [1, 2]}, time_limit_s=3, backend="cbc")
    ei = expand_batch(ex)
    assert len(ei) == 4
    assert ei[0].scenario["solver"]["time_limit_s"] == 3 and ei[0].scenario["solver"]["backend"] == "cbc"
    assert ei[2].name.startswith("two")

    bad = write_batch(site_dir, "badzip.yaml", mode="zip", sweep={"budget_gbp": [1e6, 2e6], "solver.seed": [1]})
    with pytest.raises(ValidationError) as err:
        expand_batch(bad)
    assert [p.field for p in err.value.problems] == ["sweep"]


def test_keys_are_stable_and_follow_the_site_file(site_dir: Path) -> None:
    b = write_batch(site_dir, sweep={"budget_gbp": [1000000, 2000000]})
    k1 = [i.key for i in expand_batch(b)]
    assert k1 == [i.key for i in expand_batch(b)]
    # an integral float is the same scenario as the int
    b2 = write_batch(site_dir, "b2.yaml", sweep={"budget_gbp": [1000000.0, 2000000.0]})
    assert [i.key for i in expand_batch(b2)] == k1
    # the key is a hash of the resolved scenario + site content + version
    it = expand_batch(b)[0]
    assert it.key == item_key(it.scenario, it.site_sha256)
    assert it.key != item_key(it.scenario, it.site_sha256, version="999")
    # editing the site file changes every key
    (site_dir / "site.yaml").write_text(SITE.replace("employees: 200", "employees: 201"), encoding="utf-8")
    k2 = [i.key for i in expand_batch(b)]
    assert not set(k1) & set(k2)


def test_solver_overrides_apply_to_every_item(site_dir: Path) -> None:
    b = write_batch(site_dir, sweep={"budget_gbp": [1e6, 2e6]}, time_limit_s=3)
    plain = expand_batch(b)
    items = expand_batch(b, solver={"time_limit_s": 5, "backend": "cbc", "workers": 2})
    assert [i.scenario["solver"]["time_limit_s"] for i in items] == [5, 5]  # the caller's over the batch file's
    assert {i.scenario["solver"]["backend"] for i in items} == {"cbc"}
    assert {i.scenario["solver"]["workers"] for i in items} == {2}
    assert not {i.key for i in items} & {i.key for i in plain}
    seeded = write_batch(site_dir, "seeded.yaml", sweep={"budget_gbp": [1e6]}, repeat_seeds=[0, 1])
    with pytest.raises(ValidationError) as err:
        expand_batch(seeded, solver={"seed": 4})
    assert [p.field for p in err.value.problems] == ["repeat_seeds"]


def test_a_field_set_twice_in_an_item_is_refused_not_silently_replaced(site_dir: Path) -> None:
    """A swept value that another key, repeat_seeds or a setting of every item would replace is a
    problem naming both: before, the items ran with the other value under their swept names (or were
    dropped as duplicates), e.g. ``solver.seed: [0, 1]`` with ``repeat_seeds: [3]`` ran seed 3 once."""
    cases = [
        ({"sweep": {"solver.seed": [0, 1]}, "repeat_seeds": [3]}, None,
         {"sweep.solver.seed": "repeat_seeds sets every item's solver.seed"}),
        ({"sweep": {"solver.time_limit_s": [1, 5]}, "time_limit_s": 10}, None,
         {"sweep.solver.time_limit_s": "the batch's time_limit_s sets every item's solver.time_limit_s"}),
        ({"sweep": {"solver.backend": ["cpsat", "cbc"]}}, {"backend": "cbc"},
         {"sweep.solver.backend": "--backend sets every item's solver.backend"}),
        ({"sweep": {"solver.workers": [1, 2]}}, None,
         {"sweep.solver.workers": "one solver worker per item"}),
        ({"sweep": {"budget": [1e6, 2e6], "budget_gbp": [3e6]}}, None,
         {"sweep.budget_gbp": "sets the same field as sweep.budget"}),
        ({"sweep": {"facilities.0.count": [1, 2], "facilities[0].count": [2]}}, None,
         {"sweep.facilities[0].count": "sets the same field as sweep.facilities.0.count"}),
        ({"sweep": {"budget_gbp": [1e6, 2e6]}, "scenarios": [{"name": "low", "budget_gbp": 5e5}]}, None,
         {"scenarios[0].budget_gbp": "sets the same field as sweep.budget_gbp"}),
        ({"sweep": {"solver": [{"seed": 1}, {"seed": 2}]}, "repeat_seeds": [0]}, None,
         {"sweep.solver": "repeat_seeds sets every item's solver.seed"}),
    ]
    for i, (body, solver, expected) in enumerate(cases):
        b = write_batch(site_dir, f"twice{i}.yaml", **body)
        with pytest.raises(ValidationError) as err:
            expand_batch(b, solver=solver)
        got = {p.field: p.reason for p in err.value.problems}
        assert set(got) == set(expected), (body, got)
        for field, reason in expected.items():
            assert reason in got[field], (body, got[field])
    # the same keys where nothing replaces them are fine: seeds swept without repeat_seeds, a
    # budget in either spelling in each explicit scenario
    ok = write_batch(site_dir, "ok.yaml", sweep={"solver.backend": ["cbc", "cpsat"], "solver.seed": [0, 1]},
                     scenarios=[{"budget_gbp": 1e6}, {"budget": 2e6}], time_limit_s=3)
    items = expand_batch(ok)
    assert len(items) == 8
    assert {(i.scenario["solver"]["backend"], i.scenario["solver"]["seed"]) for i in items} == {
        ("cbc", 0), ("cbc", 1), ("cpsat", 0), ("cpsat", 1)}


def test_invalid_batch_files_report_every_problem(site_dir: Path) -> None:
    b = write_batch(site_dir, sweep={"budgett": [1e6], "facilities.3.count": [1], "layers.hs2": [True]}, extra_key=1)
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    fields = {p.field for p in err.value.problems}
    assert "extra_key" in fields  # extra="forbid"
    b = write_batch(site_dir, sweep={"budgett": [1e6], "facilities.3.count": [1], "layers.hs2": [True]})
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    by_field = {p.field: p.reason for p in err.value.problems}
    assert "'budget'" in by_field["sweep.budgett"]  # did you mean
    b = write_batch(site_dir, sweep={"facilities.3.count": [1]})
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    assert "out of range" in str(err.value) and err.value.problems[0].field == "sweep.facilities.3.count"
    b = write_batch(site_dir, base="nope.yaml", sweep={"budget_gbp": [1e6]})
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    assert err.value.problems[0].field == "base"
    b = write_batch(site_dir, sweep={"budget_gbp": []})
    with pytest.raises(ValidationError):
        expand_batch(b)


def test_validate_checks_the_items_of_a_batch_with_an_invalid_setting(site_dir: Path) -> None:
    """A batch whose own settings are invalid (time_limit_s, repeat_seeds) still has its items'
    values checked in the same pass: before, siteopt validate told the time limit alone, and the
    swept budgets only once it was fixed. A field that decides the items (mode) still stops there."""
    from optimiser.checkfiles import check_file  # what siteopt validate runs on each file

    b = write_batch(site_dir, "bad_limit.yaml", sweep={"budget_gbp": [-5, 1e6]}, time_limit_s=-1, repeat_seeds=[-1])
    got = [(p.field, p.reason) for p in check_file(b).problems]
    assert got == [("repeat_seeds[0]", "must be >= 0, got -1"), ("time_limit_s", "must be > 0, got -1"),
                   ("item 0 (budget=−£5): budget_gbp", "must be > 0, got -5")]
    with pytest.raises(ValidationError) as err:  # siteopt batch refuses the batch: every problem, items' too
        expand_batch(b)
    assert [(p.field, p.reason) for p in err.value.problems] == got
    moded = write_batch(site_dir, "bad_mode.yaml", mode="gird", sweep={"budget_gbp": [-5]})
    assert [p.field for p in check_file(moded).problems] == ["mode"]


@pytest.mark.parametrize(("body", "key_field"), [
    ({"colour": "red"}, "colour"),
    ({"sweep": {"budget_gbp": [-5, 1e6], "no_such.key": [1, 2]}}, "sweep.no_such.key"),
    ({"sweep": {"budget_gbp": [-5, 1e6], "facilities.7.count": [1, 2]}}, "sweep.facilities.7.count"),
])
def test_a_bad_key_does_not_hide_the_bad_sweep_values(site_dir: Path, body: dict, key_field: str) -> None:
    """siteopt batch (load_batch) refused a batch with one bad key naming the key alone; once it
    was fixed, the swept budget of -5 came out as an invalid item after the batch had begun.
    Every problem is raised at once, as siteopt validate lists them."""
    from click.testing import CliRunner

    from optimiser.checkfiles import check_file
    from optimiser.cli import cli

    b = write_batch(site_dir, **{"sweep": {"budget_gbp": [-5, 1e6]}, **body})
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    got = [(p.field, p.reason) for p in err.value.problems]
    assert got[0][0] == key_field and got[1:] == [("item 0 (budget=−£5): budget_gbp", "must be > 0, got -5")]
    assert got == [(p.field, p.reason) for p in check_file(b).problems]
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(site_dir / "out")])
    assert r.exit_code == 2 and "budget_gbp: must be > 0, got -5" in r.output and "2 problems found" in r.output, r.output
    assert not (site_dir / "out").exists()


def test_a_base_that_is_no_scenario_is_refused_before_anything_runs(site_dir: Path, tmp_path: Path) -> None:
    """base: naming the site file (or a batch file) ran the batch and recorded every item invalid
    (exit 5, an output folder written); like a missing base it is now a problem of the batch's
    base field, found before anything is made."""
    for base in ("site.yaml", "batch.yaml"):
        b = write_batch(site_dir, "batch.yaml", base=base, sweep={"budget_gbp": [1e6, 2e6]})
        with pytest.raises(ValidationError) as err:
            run_batch(b, tmp_path / "out", progress=False)
        kind = "site" if base == "site.yaml" else "batch"
        assert [(p.field, p.reason) for p in err.value.problems] == [
            ("base", f"{site_dir / base}: this is a {kind} file (format placemaking-{kind}/1), given as the batch's base; "
                     "a scenario file is needed")]
        assert not (tmp_path / "out").exists()


def test_an_invalid_base_is_refused_with_its_problems_unless_an_item_mends_them(site_dir: Path, tmp_path: Path) -> None:
    """A base scenario with a budget of -5 swept over layers.hs2 was loaded, every item recorded
    invalid and the batch exited 5 with an output folder written; it is now refused up front with
    the base's problems as siteopt validate lists them. A sweep that replaces the bad value (a
    placeholder budget) still runs: its items are valid. (The sweep is over facilities.0.count:
    the tiny site has no hs2 layer, a problem of each item that is now listed too.)"""
    from click.testing import CliRunner

    from optimiser.checkfiles import check_file
    from optimiser.cli import cli

    (site_dir / "scen.yaml").write_text(SCENARIO.replace("budget_gbp: 2000000", "budget_gbp: -5"), encoding="utf-8")
    b = write_batch(site_dir, "counts.yaml", sweep={"facilities.0.count": [1, 2]})
    with pytest.raises(ValidationError) as err:
        load_batch(b)
    got = [(p.file, p.field, p.reason) for p in err.value.problems]
    assert got == [(str(site_dir / "scen.yaml"), "budget_gbp", "must be > 0, got -5")]
    assert got == [(p.file, p.field, p.reason) for p in check_file(b).problems]
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and f"{site_dir / 'scen.yaml'}: budget_gbp: must be > 0, got -5" in r.output, r.output
    assert not (tmp_path / "out").exists()
    mended = write_batch(site_dir, "budgets.yaml", sweep={"budget_gbp": [1e6, 2e6]})
    assert [i.scenario["budget_gbp"] for i in load_batch(mended).items] == [1e6, 2e6]


def test_a_swept_site_with_a_problem_is_one_line_per_problem_not_per_item(site_dir: Path) -> None:
    """A sweep over site: [site.yaml, bad.yaml] listed, for each item on bad.yaml, a line 'its site
    file ... is invalid' and each of the site's problems again under the batch file's name (2
    problems: 6 lines); each problem is now the site file's own line, once."""
    from optimiser.checkfiles import check_file

    (site_dir / "bad.yaml").write_text(SITE.replace("employees: 50", "employees: -50"), encoding="utf-8")
    b = write_batch(site_dir, "sites.yaml", sweep={"site": ["site.yaml", "bad.yaml"], "budget_gbp": [1e6, 2e6]})
    got = [(p.file, p.field, p.reason) for p in check_file(b).problems]
    assert got == [(str(site_dir / "bad.yaml"), "firms[0].employees", "must be > 0, got -50 (firm 'a'); used by 2 items of "
                    f"{b}: item 2 (site=bad.yaml, budget=£1m), item 3 (site=bad.yaml, budget=£2m)")], got


def test_base_may_name_an_embedded_scenario(site_dir: Path) -> None:
    """siteopt run, validate and batch take an embedded scenario's name (fremont/baseline) from any
    folder, but a batch's base: fremont/baseline was 'file not found'; it is now that scenario, a
    file of that name beside the batch first, and a misspelt name lists the embedded ones."""
    items = expand_batch(write_batch(site_dir, "emb.yaml", base="fremont/baseline", sweep={"budget": [5e7, 6e7]}))
    assert [i.scenario["id"] for i in items] == ["fremont_baseline"] * 2
    assert Path(items[0].base_path).parts[-3:] == ("constraints", "fremont", "baseline.yaml")
    own = site_dir / "fremont"
    own.mkdir()
    (own / "baseline").write_text(SCENARIO, encoding="utf-8")  # a file of that name beside the batch wins
    with pytest.raises(ValidationError) as err:
        expand_batch(write_batch(site_dir, "own.yaml", base="fremont/baseline", sweep={"budget_gbp": [1e6]}))
    assert err.value.problems[0].reason.startswith(f"{own / 'baseline'}: unsupported file type")
    with pytest.raises(ValidationError) as err:
        expand_batch(write_batch(site_dir, "typo.yaml", base="fremont/baselin", sweep={"budget": [5e7]}))
    (problem,) = err.value.problems
    assert (problem.field, problem.reason) == ("base", f"{site_dir / 'fremont/baselin'}: file not found")
    assert problem.hint is not None and "fremont/baseline" in problem.hint and "siteopt list" in problem.hint


def test_overrides_index_lists_and_create_mappings() -> None:
    base = {"facilities": [{"count": 1}, {"count": 2}], "solver": {"seed": 0}}
    out = apply_overrides(base, {"facilities.1.count": 5, "facilities[0].count": {"min": 0, "max": 2},
                                 "layers.hs2": True, "solver.seed": 3})
    assert out == {"facilities": [{"count": {"min": 0, "max": 2}}, {"count": 5}], "solver": {"seed": 3}, "layers": {"hs2": True}}
    assert base["facilities"][0]["count"] == 1  # a copy
    with pytest.raises(KeyError):
        apply_overrides(base, {"facilities.2.count": 1})
    with pytest.raises(KeyError):
        apply_overrides(base, {"solver.seed.x": 1})


# ---------------------------------------------------------------- resilience


def test_failures_are_recorded_and_the_batch_goes_on(site_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("_SITEOPT_BATCH_FAULTS", json.dumps({"crash": "boom"}))
    b = write_batch(site_dir, scenarios=[
        {"budget_gbp": -5},                                        # invalid
        {"facilities.0.count": 3, "budget_gbp": 600000},          # infeasible: 3 labs cost 1.5m
        {},                                                        # good
        {"name": "boom"},                                          # the worker process dies
        {"facilities.0.count": {"min": 1, "max": 1}},              # good (runs after the crash)
    ])
    s = run_batch(b, tmp_path / "out", jobs=2, progress=False)
    status = [r["status"] for r in s.records]
    assert status == ["invalid", "infeasible", "optimal", "crashed", "optimal"]
    assert s.counts == {"crashed": 1, "infeasible": 1, "invalid": 1, "optimal": 2}
    assert "budget_gbp" in s.records[0]["error"]
    assert "budget" in s.records[1]["error"]
    assert "died" in s.records[3]["error"]
    assert s.records[2]["error"] is None and s.records[2]["metrics"]["walk.reduction_pct"] > 0
    table = rows(s.results_csv)
    assert [r["status"] for r in table] == status
    for r, rec in zip(table, s.records):
        assert read_result(tmp_path / "out" / r["run_dir"] / "result.json", rec["key"])["status"] == rec["status"]
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["optimal"] == 2


def test_out_dir_must_be_a_batch_folder(site_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "precious.txt").write_text("x")
    with pytest.raises(OutputExistsError):
        run_batch(write_batch(site_dir, sweep={"budget_gbp": [1e6]}), out, progress=False)


def test_out_dir_of_another_batch_is_refused_unless_overwrite(site_dir: Path, tmp_path: Path) -> None:
    """Reusing --out for another batch (another id) would mix its runs and results with the
    earlier batch's: refused, naming batch.json, both ids and the way out; overwrite replaces."""
    from click.testing import CliRunner

    from optimiser.cli.batch_cmd import command

    first = write_batch(site_dir, "first.yaml", id="first", sweep={"budget_gbp": [-1]})
    other = write_batch(site_dir, "other.yaml", id="other", sweep={"budget_gbp": [-2]})
    out = tmp_path / "out"
    a = run_batch(first, out, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (old_run,) = [p.name for p in (out / "runs").iterdir()]
    with pytest.raises(OutputExistsError) as exc:
        run_batch(other, out, progress=False)
    msg = str(exc.value)
    assert msg.startswith(f"{out / 'batch.json'} holds the batch 'first' (1 item, from {first}), not this batch 'other'")
    assert msg.endswith("choose a new out_dir for this batch, or pass overwrite=True to replace the earlier batch's "
                        "results and runs")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # nothing touched
    r = CliRunner().invoke(command, [str(other), "--out", str(out), "-q"])
    assert r.exit_code == 2 and "choose a new --out for this batch, or pass --overwrite" in r.stderr
    assert run_batch(first, out, progress=False).skipped == 1  # the same batch still resumes
    b = run_batch(other, out, progress=False, overwrite=True)
    assert json.loads((out / "batch.json").read_text())["id"] == "other" and b.ran == 1
    assert [p.name for p in (out / "runs").iterdir()] == [b.records[0]["run_dir"].rsplit("/", 1)[1]] != [old_run]
    assert [r["name"] for r in rows(out / "results.csv")] == [b.records[0]["name"]] != [a.records[0]["name"]]



def test_a_second_batch_on_a_busy_out_dir_is_refused_naming_the_holder(site_dir: Path, tmp_path: Path) -> None:
    """Two batches on one --out at once ran every item twice, collided on the items' run
    directories and recorded the collisions as errors (exit 5 for both): the second is now
    refused (OutputBusyError, exit 2), naming the holder, before it touches the folder."""
    from click.testing import CliRunner

    from optimiser.cli.batch_cmd import command
    from optimiser.errors import OutputBusyError
    from optimiser.present.staging import OutputLock

    batch = write_batch(site_dir, id="busy", sweep={"budget_gbp": [-1]})
    out = tmp_path / "out"
    with OutputLock(out.absolute(), "batch busy"):  # what a running batch holds
        with pytest.raises(OutputBusyError) as exc:
            run_batch(batch, out, progress=False)
        assert isinstance(exc.value, OutputExistsError)
        assert "is being written by another run: pid " in str(exc.value) and "(run batch busy)" in str(exc.value)
        assert not out.exists()  # nothing created or removed
        r = CliRunner().invoke(command, [str(batch), "--out", str(out), "-q"])
        assert r.exit_code == 2 and f"lock file {out.absolute()}.lock" in r.stderr and r.stdout == ""
    s = run_batch(batch, out, progress=False)  # free again: runs, and leaves no lock behind
    assert s.ran == 1 and not Path(f"{out}.lock").exists()


# ---------------------------------------------------------------- resume after SIGKILL


def test_resume_after_sigkill_skips_finished_items(site_dir: Path, tmp_path: Path) -> None:
    b = write_batch(site_dir, sweep={"budget_gbp": [700000, 1000000, 2000000, 3000000, 4000000, 5000000]})
    out = tmp_path / "out"
    env = {**os.environ, "_SITEOPT_BATCH_FAULTS": json.dumps({"sleep": 0.6})}
    code = f"from optimiser.batch import run_batch; run_batch({str(b)!r}, {str(out)!r}, jobs=1, progress=False)"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((out / "runs").glob("*/result.json")):
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes
        proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/result.json")}
    items = expand_batch(b)
    assert 1 <= len(finished) < len(items)
    unfinished = [it for it in items if it.run_id not in finished]
    # a leftover temp file with a complete record and a truncated result.json never count
    fake = {"format": RESULT_FORMAT, "key": unfinished[0].key, "status": "optimal"}
    (out / "runs" / unfinished[0].run_id).mkdir(parents=True, exist_ok=True)
    (out / "runs" / unfinished[0].run_id / ".result.json.xyz.tmp").write_text(json.dumps(fake))
    if len(unfinished) > 1:
        (out / "runs" / unfinished[1].run_id).mkdir(parents=True, exist_ok=True)
        (out / "runs" / unfinished[1].run_id / "result.json").write_text(json.dumps(fake)[:25])
    time.sleep(0.05)
    s = run_batch(b, out, jobs=1, progress=False)
    assert s.skipped == len(finished) and s.ran == len(items) - len(finished)
    assert all(r["status"] == "optimal" or r["status"] == "infeasible" for r in s.records)
    for run_id, mtime in finished.items():
        assert (out / "runs" / run_id / "result.json").stat().st_mtime_ns == mtime
    assert len(rows(s.results_csv)) == len(items)
    assert all(r["status"] != "pending" for r in rows(s.results_csv))
    # a third run does nothing
    again = run_batch(b, out, jobs=1, progress=False)
    assert again.ran == 0 and again.skipped == len(items)


# ---------------------------------------------------------------- determinism, jobs and Dask

DET_SWEEP = {"budget_gbp": [1000000, 2000000, 3000000], "facilities.0.count": [1, 2]}


def test_same_inputs_and_seed_give_the_same_rows_with_1_or_2_jobs(site_dir: Path, tmp_path: Path) -> None:
    b = write_batch(site_dir, sweep=DET_SWEEP, repeat_seeds=[3])
    one = run_batch(b, tmp_path / "j1", jobs=1, progress=False)
    two = run_batch(b, tmp_path / "j2", jobs=2, progress=False)
    r1, r2 = rows(one.results_csv), rows(two.results_csv)
    assert len(r1) == 6 and r1 == r2
    assert {r["status"] for r in r1} == {"optimal"}
    assert rows(one.pareto_csv, drop=()) == rows(two.pareto_csv, drop=())
    again = run_batch(b, tmp_path / "j1", jobs=1, progress=False, resume=False)
    assert again.ran == 6 and rows(again.results_csv) == r1


def test_dask_local_cluster_gives_the_same_results(site_dir: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    b = write_batch(site_dir, sweep=DET_SWEEP, repeat_seeds=[3])
    local = run_batch(b, tmp_path / "local", jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_batch(b, tmp_path / "dask", scheduler=cluster, progress=False)
    assert dask.ran == 6
    assert rows(dask.results_csv) == rows(local.results_csv)


# ---------------------------------------------------------------- Pareto front


def brute_dominated(points):
    return [any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points) for p in points]


def test_pareto_front_matches_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 12)
        pts = [(float(rng.choice([0.5, 1, 1.5, 2, 3])), float(rng.choice([700, 800, 900, 1000]))) for _ in range(n)]
        assert pareto_front(pts) == brute_dominated(pts), pts


def test_results_rows_round_facility_access_and_add_newly_connected_columns_when_recorded() -> None:
    from optimiser.batch.results import results_rows

    items = [BatchItem(i, f"{i:064d}", f"budget=£{i}m", {"budget_gbp": i * 1e6}, {}, "", None) for i in (1, 2, 3)]
    old = {"status": "optimal", "metrics": {"walk.reduction_pct": 3.13, "facility_access.optimised_mean_m": 1215.195329,
                                            "objective_mean_m": 1245.11}}
    new = {"status": "optimal", "metrics": {**old["metrics"], "facility_access.baseline_mean_m": 1300.04999,
                                            "walk.pairs_newly_connected": 2,
                                            "walk.newly_connected_weighted_mean_m": 563.3333333}}
    only_old = {items[0].key: old}
    header = results_header(["budget_gbp"], only_old)
    assert "walk.pairs_newly_connected" not in header and "walk.newly_connected_weighted_mean_m" not in header
    (row,) = [r for r in results_rows(items, only_old, ["budget_gbp"]) if r[3] == "optimal"]
    assert row[header.index("facility_access.optimised_mean_m")] == 1215.2  # was 1215.195329
    assert row[header.index("objective_mean_m")] == 1245.11
    both = {items[0].key: old, items[1].key: new}
    header = results_header(["budget_gbp"], both)
    k = header.index("walk.reduction_pct")
    assert header[k + 1:k + 3] == ["walk.pairs_newly_connected", "walk.newly_connected_weighted_mean_m"]
    got = {r[1]: dict(zip(header, r)) for r in results_rows(items, both, ["budget_gbp"])}
    assert got["budget=£2m"]["walk.pairs_newly_connected"] == 2
    assert got["budget=£2m"]["walk.newly_connected_weighted_mean_m"] == 563.3
    assert got["budget=£2m"]["facility_access.baseline_mean_m"] == 1300.0
    assert got["budget=£1m"]["walk.pairs_newly_connected"] is None and got["budget=£3m"]["status"] == "pending"
    assert all(len(r) == len(header) for r in results_rows(items, both, ["budget_gbp"]))


def test_pareto_table_on_a_handmade_batch() -> None:
    table = [  # name, status, cost, walk
        ("a", "optimal", 500_000, 1200.0),
        ("b", "optimal", 1_000_000, 1000.0),
        ("c", "feasible", 1_500_000, 1050.0),   # dominated by b
        ("d", "optimal", 2_000_000, 900.0),
        ("e", "infeasible", None, None),        # not solved: not in the table
        ("f", "optimal", 2_000_000, 950.0),     # dominated by d (same cost)
        ("g", "optimal", 3_000_000, 900.0),     # dominated by d (same walk, dearer)
    ]
    items, records = [], {}
    for i, (name, status, cost, walk) in enumerate(table):
        it = BatchItem(i, f"{i:064d}", name, {"budget_gbp": cost}, {}, "", None)
        items.append(it)
        records[it.key] = {"status": status, "metrics": {"cost.capital": cost, "walk.optimised_weighted_mean_m": walk}}
    header, out, front = pareto_table(items, records, ["budget_gbp"])
    got = {r[header.index("name")]: r for r in out}
    assert set(got) == {"a", "b", "c", "d", "f", "g"}
    dom = {n: r[header.index("dominated")] for n, r in got.items()}
    assert dom == {"a": False, "b": False, "c": True, "d": False, "f": True, "g": True}
    assert [p.name for p in front] == ["a", "b", "d"]
    rate = {n: r[header.index("objective_saved_per_million")] for n, r in got.items()}
    assert {r[header.index("currency")] for r in out} == {"GBP"}  # items' scenarios name none
    assert rate["a"] is None and rate["b"] == pytest.approx(400.0) and rate["d"] == pytest.approx(100.0)
    assert rate["c"] is None
    assert [r[header.index("name")] for r in out] == ["a", "b", "c", "d", "f", "g"]  # cheapest first


def test_pareto_front_is_over_the_objective_optimised_with_the_other_figures_beside_it() -> None:
    # "dear" walks no less between firms than "cheap" but bought a facility: its objective (every
    # term) is lower, so it is on the front although firm-to-firm walking alone says dominated
    table = [("cheap", 1_000_000, 1000.0, 900.0, 1204.0, 0.159), ("dear", 3_250_000, 1000.0, 700.0, 784.0, 0.377)]
    items, records = [], {}
    for i, (name, cost, walk, obj, fac, cov) in enumerate(table):
        it = BatchItem(i, f"{i:064d}", name, {"budget_gbp": cost}, {}, "", None)
        items.append(it)
        records[it.key] = {"status": "optimal", "metrics": {
            "cost.capital": cost, "walk.optimised_weighted_mean_m": walk, "objective_mean_m": obj,
            "facility_access.optimised_mean_m": fac, "coverage.optimised_share": cov}}
    header, out, front = pareto_table(items, records, [])
    assert [p.name for p in front] == ["cheap", "dear"]
    got = {r[header.index("name")]: r for r in out}
    assert got["dear"][header.index("facility_access.optimised_mean_m")] == 784.0
    assert got["dear"][header.index("coverage.optimised_share")] == 0.377
    assert got["dear"][header.index("objective_saved_per_million")] == pytest.approx(200 / 2.25, abs=1e-3)
    assert pareto_front([(c, w) for _, c, w, *_ in table]) == [False, True]  # by walk alone: dominated
    for col in ("objective_mean_m", "facility_access.optimised_mean_m", "coverage.optimised_share"):
        assert col in results_header([])


def test_items_are_ranked_only_against_items_sharing_their_baseline(tmp_path: Path) -> None:
    """A sweep that switches a barrier on and off has two baselines: each gets its own front, and
    an item of one never dominates an item of the other (design brief section 9)."""
    from optimiser.batch.results import plot_pareto

    table = [  # name, baseline, cost, objective
        ("off-1", 7638.11, 1_000_000, 7000.0),
        ("off-2", 7638.11, 2_000_000, 6500.0),
        ("on-1", 7638.25, 1_000_000, 7100.0),   # worse than off-1 at the same cost, but another baseline
        ("on-2", 7638.25, 2_000_000, 7200.0),   # dominated by on-1 (its own front)
        ("on-3", 7638.25, 3_000_000, 6900.0),
    ]
    items, records = [], {}
    for i, (name, base, cost, obj) in enumerate(table):
        it = BatchItem(i, f"{i:064d}", name, {"budget_gbp": cost}, {}, "", None)
        items.append(it)
        records[it.key] = {"status": "optimal", "metrics": {"cost.capital": cost, "objective_mean_m": obj,
                                                            "baseline_objective_mean_m": base}}
    header, out, front = pareto_table(items, records, [])
    got = {r[header.index("name")]: r for r in out}
    dom = {n: r[header.index("dominated")] for n, r in got.items()}
    assert dom == {"off-1": False, "off-2": False, "on-1": False, "on-2": True, "on-3": False}
    assert {n: r[header.index("front")] for n, r in got.items()} == {"off-1": 1, "off-2": 1, "on-1": 2, "on-2": 2, "on-3": 2}
    assert [(p.name, p.front) for p in front] == [("off-1", 1), ("on-1", 2), ("off-2", 1), ("on-3", 2)]
    rate = {p.name: p.rate for p in front}  # each against the previous point of its own front
    assert rate["off-1"] is None and rate["on-1"] is None
    assert rate["off-2"] == pytest.approx(500.0) and rate["on-3"] == pytest.approx(100.0)
    png = plot_pareto(tmp_path / "pareto.png", items, records, "two baselines")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _sweep_records(costs_objectives, baseline: float, currency: str = "GBP"):
    items, records = [], {}
    for i, (cost, obj) in enumerate(costs_objectives):
        it = BatchItem(i, f"{i:064d}", f"item {i}", {"budget_gbp": cost}, {"currency": currency}, "", None)
        items.append(it)
        records[it.key] = {"status": "optimal", "metrics": {
            "cost.capital": cost, "objective_mean_m": obj, "baseline_objective_mean_m": baseline,
            "walk.optimised_weighted_mean_m": obj + 100, "facility_access.optimised_mean_m": obj - 50,
            "coverage.optimised_share": 0.3}}
    return items, records


def test_pareto_figure_spans_the_front_and_points_to_a_far_baseline(tmp_path: Path) -> None:
    """The no-intervention objective (6,500 m) far above the front (1,055-1,245 m) no longer
    flattens it: the axis spans the items, an arrow at the top says where the baseline is; the
    side panels' labels do not overlap; costs are ticked as money (£2.25m)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from optimiser.batch.results import pareto_figure

    items, records = _sweep_records([(2_200_000, 1245.11), (3_250_000, 1080.9), (4_000_000, 1054.6)], 6499.66)
    fig = pareto_figure(items, records, "H2 small sweep")
    FigureCanvasAgg(fig).draw()
    main, *side = fig.axes
    lo, hi = main.get_ylim()
    assert 1000 < lo < 1054.6 and 1245.11 < hi < 1300
    notes = [t.get_text() for t in main.texts]
    assert "no intervention: 6,500 m (above the scale)" in notes
    assert not main.lines or all(max(ln.get_ydata()) < hi for ln in main.lines)  # no dashed line at 6,500 m
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_tightbbox(renderer) for a in side]
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper.y0 >= lower.y1, "side panels overlap"
    assert [a.get_title(loc="left") for a in side] == ["Firm-to-firm weighted mean walk",
                                                      "Walk to the nearest facility (employee-weighted)",
                                                      "Employees within reach of a social space"]
    assert [a.get_ylabel() for a in side] == ["m", "m", "%"]
    ticks = [t.get_text() for t in main.get_xticklabels() if t.get_text()]
    assert "£2.50m" in ticks and "£4.00m" in ticks and main.get_xlabel() == "Capital cost (GBP)"
    # a baseline within the items' range stays a dashed line
    items, records = _sweep_records([(1_000_000, 900.0), (2_000_000, 800.0)], 905.0)
    fig = pareto_figure(items, records, "near")
    assert any(ln.get_ydata()[0] == 905.0 for ln in fig.axes[0].lines)
    assert not [t for t in fig.axes[0].texts if "no intervention" in t.get_text()]


def test_pareto_figure_ticks_yen_costs_in_the_projects_money_formatting() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from optimiser.batch.results import pareto_figure

    items, records = _sweep_records([(330_000_000, 1200.0), (1_400_000_000, 1100.0), (2_600_000_000, 1050.0)],
                                    5000.0, currency="JPY")
    fig = pareto_figure(items, records, "yen")
    FigureCanvasAgg(fig).draw()
    main = fig.axes[0]
    fmt = main.xaxis.get_major_formatter()
    assert [fmt(v, 0) for v in (330e6, 1.4e9, 2.6e9)] == ["JPY 330m", "JPY 1.40bn", "JPY 2.60bn"]
    ticks = [t.get_text() for t in main.get_xticklabels() if t.get_text()]
    assert ticks[:6] == ["JPY 0", "JPY 500m", "JPY 1.00bn", "JPY 1.50bn", "JPY 2.00bn", "JPY 2.50bn"], ticks
    assert main.get_xlabel() == "Capital cost (JPY)" and "yen: what each extra JPY buys" in main.get_title()


# ---------------------------------------------------------------- CLI


def test_cli_batch(site_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from optimiser.cli.batch_cmd import command

    bad = write_batch(site_dir, "bad.yaml", sweep={"budgt_gbp": [1e6]}, mode="zigzag")
    r = CliRunner().invoke(command, [str(bad), "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()] if hasattr(r, "stderr") else r.output.splitlines()
    problems = [ln for ln in lines if not ln.endswith("nothing was written.")]
    assert lines[-1].endswith("nothing was written.")  # the closing count line
    assert any("mode" in ln for ln in problems) and all(str(bad) in ln for ln in problems)

    good = write_batch(site_dir, "good.yaml", scenarios=[{}, {"facilities.0.count": 9, "budget_gbp": 600000}])
    r = CliRunner().invoke(command, [str(good), "--out", str(tmp_path / "good"), "--quiet"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["counts"] == {"infeasible": 1, "optimal": 1} and summary["items"] == 2
    assert Path(summary["paths"]["results_csv"]).is_file()
    assert summary["failed"] == 0 and summary["exit_code"] == 0



def test_cli_batch_quiet_is_siteopt_q_for_the_batch_and_its_workers(site_dir: Path, tmp_path: Path,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """``siteopt -v batch --quiet`` printed every info line of the batch and of its workers
    (only the progress bar went): --quiet is documented as siteopt -q, warnings and errors only."""
    from click.testing import CliRunner

    from optimiser.cli import cli

    batch = write_batch(site_dir, sweep={"budget_gbp": [1_000_000]})
    loud = CliRunner().invoke(cli, ["-v", "batch", str(batch), "--out", str(tmp_path / "loud")])
    assert loud.exit_code == 0 and " info " in loud.stderr
    assert "siteopt batch worker" in capfd.readouterr().err  # the workers' lines (their own stderr)
    quiet = CliRunner().invoke(cli, ["-v", "batch", str(batch), "--out", str(tmp_path / "quiet"), "--quiet"])
    assert quiet.exit_code == 0 and json.loads(quiet.stdout)["counts"] == {"optimal": 1}
    assert quiet.stderr == ""
    assert "info" not in capfd.readouterr().err


def test_cli_batch_exits_5_when_an_item_is_invalid_and_keeps_every_result(site_dir: Path, tmp_path: Path) -> None:
    """A sweep with an invalid value runs the rest, prints the summary, then exits 5 (as
    siteopt validate exits 2 on it); a resume of the same batch says the same."""
    from click.testing import CliRunner

    from optimiser.cli.batch_cmd import command

    b = write_batch(site_dir, "neg.yaml", sweep={"budget_gbp": [-1, 2000000]})
    out = tmp_path / "neg"
    for ran in (2, 0):  # the run, then a resume that skips both finished items
        r = CliRunner().invoke(command, [str(b), "--out", str(out), "--quiet"])
        assert r.exit_code == 5, r.output
        summary = json.loads(r.stdout)
        assert summary["counts"] == {"invalid": 1, "optimal": 1} and summary["failed"] == 1
        assert summary["exit_code"] == 5 and summary["ran"] == ran and summary["skipped"] == 2 - ran
        assert f"1 invalid of 2 items (reasons in {out / 'results.csv'}); exit 5" in r.stderr
        table = rows(out / "results.csv")
        assert [t["status"] for t in table] == ["invalid", "optimal"]
        assert [t["name"] for t in table] == ["budget=\u2212£1", "budget=£2m"]  # was budget=£-1
        assert table[1]["walk.pairs_newly_connected"] == "0" and table[1]["walk.newly_connected_weighted_mean_m"] == ""
        fa = table[1]["facility_access.optimised_mean_m"]
        assert float(fa) > 0 and len(fa.partition(".")[2]) <= 1, fa  # rounded to 0.1 m like the walk means
        assert "budget_gbp: must be > 0, got -1" in table[0]["error"]
        assert (out / "pareto.png").is_file() and json.loads((out / "summary.json").read_text())["exit_code"] == 5


def test_validate_says_which_duplicate_items_a_batch_drops(site_dir: Path) -> None:
    """A sweep listing one value twice runs it once; validate says so (it had said only the count)."""
    from click.testing import CliRunner

    from optimiser.cli import cli

    b = write_batch(site_dir, "dups.yaml", sweep={"budget_gbp": [1e6, 1e6, 2e6]})
    r = CliRunner().invoke(cli, ["validate", str(b)])
    assert r.exit_code == 0, r.output
    assert "2 items over" in r.output and "1 duplicate item dropped" in r.output and "is the same run as" in r.output


def test_a_batch_file_with_problems_of_every_stage_is_told_them_all_at_once(site_dir: Path) -> None:
    """Unequal zip lengths, a sweep index out of range and the items' own values (a negative cost,
    a count of 0) in one pass (they took three fix-and-rerun rounds): the items are expanded as far
    as they can be (zip item by item, the key out of range left out) and each is checked."""
    from click.testing import CliRunner

    from optimiser.cli import cli

    b = write_batch(site_dir, "stages.yaml", mode="zip",
                    sweep={"budget_gbp": [1e6, 2e6, 3e6], "facilities.0.count": [1, 0], "facilities.3.cost_gbp": [1],
                           "crossings.types.footbridge.cost_gbp": [-5, 100]})
    with pytest.raises(ValidationError) as err:
        expand_batch(b)
    fields = [p.field for p in err.value.problems]  # siteopt batch (expand_batch) tells the items' values too
    assert fields[:2] == ["sweep", "sweep.facilities.3.cost_gbp"] and len(fields) == 4, fields
    assert fields[2].startswith("item 0 (") and fields[2].endswith(": crossings.types.footbridge.cost_gbp"), fields
    assert fields[3].startswith("item 1 (") and fields[3].endswith(": facilities[0].count"), fields
    assert "facilities has 1 item; index 3 is out of range" in err.value.problems[1].reason
    r = CliRunner().invoke(cli, ["validate", str(b)])
    assert r.exit_code == 2, r.output
    lines = r.output.splitlines()
    assert any(": sweep: mode zip needs lists of equal length, got budget_gbp: 3, facilities.0.count: 2" in x for x in lines), lines
    assert any(": sweep.facilities.3.cost_gbp: facilities has 1 item; index 3 is out of range" in x for x in lines), lines
    assert any(": item 0 (" in x and "crossings.types.footbridge.cost_gbp: must be >= 0, got -5" in x for x in lines), lines
    assert any(": item 1 (" in x and "facilities[0].count: must be a positive whole number" in x for x in lines), lines


def test_run_batch_checks_the_scheduler_before_creating_anything(tmp_path, capsys):
    """As siteopt batch checks --scheduler: a malformed address, a tls:// one without
    certificates or certificates without one is the project's ArgumentError, a scheduler of
    the wrong kind a TypeError, before the batch is read, the folder created or a bar shown."""
    from optimiser.errors import ArgumentError

    batch = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6]}}
    out = tmp_path / "out"
    cases = [
        ({"scheduler": "localhost:1"}, "scheduler", "'localhost:1' has no scheme; give it as tls://HOST:PORT (or "
         "tcp://HOST:PORT on a trusted network), e.g. tls://10.0.0.5:8786"),
        ({"scheduler": "tls://sched:8786"}, "scheduler", "tls://sched:8786: a tls:// scheduler needs certificates"),
        ({"security": object()}, "security", "is given without a scheduler"),
        ({"scheduler": "tcp://sched:8786", "security": object()}, "security",
         "is given for a plain tcp:// scheduler (tcp://sched:8786)"),
    ]
    for kw, field, reason in cases:
        with pytest.raises(ArgumentError) as exc:
            run_batch(batch, out, **kw)
        assert [(p.file, p.field, p.reason) for p in exc.value.problems] == [("run_batch", field, reason)]
    with pytest.raises(TypeError) as info:
        run_batch(batch, out, scheduler=5)
    assert str(info.value) == ("run_batch() takes a Dask scheduler address (e.g. 'tls://host:8786'), a distributed.Client "
                               "or a cluster as scheduler, got int 5")
    assert not out.exists() and capsys.readouterr().err == ""


def test_results_csv_matches_the_disk_after_a_keyboard_interrupt(tmp_path, monkeypatch):
    """A KeyboardInterrupt without siteopt's signal handlers (the API in a script or notebook):
    an item whose worker wrote result.json before the batch stopped is listed with its status in
    results.csv, not as pending."""
    from optimiser.batch import runner
    from optimiser.batch.worker import run_item

    def first_then_interrupt(todo, runs, jobs, render, on_done):
        it = todo[0]  # its worker finishes (result.json written) but the parent never records it
        run_item(runner._payload(it), str(runs / it.run_id), render)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_run_local", first_then_interrupt)
    batch = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6, 2.25e6]}, "time_limit_s": 10}
    with pytest.raises(KeyboardInterrupt):
        run_batch(batch, tmp_path / "b", progress=False)
    rows = list(csv.DictReader((tmp_path / "b" / "results.csv").open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["infeasible", "pending"]
    first = json.loads(next((tmp_path / "b" / "runs").glob("*/result.json")).read_text(encoding="utf-8"))
    assert first["status"] == "infeasible"


def test_pareto_png_has_the_permissions_of_every_other_output(tmp_path):
    """pareto.png is written with mode 0o666 less the umask, as results.csv is (it was 0o600)."""
    import stat

    from optimiser.batch.results import plot_pareto
    from optimiser.present.rundir import atomic_write_text

    it = BatchItem(0, "0" * 64, "one", {"budget_gbp": 1e6}, {}, "", None)
    records = {it.key: {"status": "optimal", "metrics": {"cost.capital": 1e6, "objective_mean_m": 300.0,
                                                          "baseline_objective_mean_m": 400.0}}}
    old = os.umask(0o022)
    try:
        for mask, mode in ((0o022, 0o644), (0o027, 0o640)):
            os.umask(mask)
            png = plot_pareto(tmp_path / f"pareto_{mask:o}.png", [it], records, "one")
            csv_file = atomic_write_text(tmp_path / f"results_{mask:o}.csv", "a\n")
            assert stat.S_IMODE(png.stat().st_mode) == stat.S_IMODE(csv_file.stat().st_mode) == mode
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pareto_22.png", "pareto_27.png", "results_22.csv", "results_27.csv"]


def test_batch_says_once_which_items_a_wall_clock_net_bound(capsys):
    """The solver's phases say a binding net only at -v; the batch names the items once."""
    from optimiser.cli.batch_cmd import _warn_wall_clock

    recs = [{"name": f"item{i}", "metrics": {"stopped_by": by}}
            for i, by in enumerate(["wall_clock", "work_limit", None, *["wall_clock"] * 6])]
    recs.append({"name": "invalid", "metrics": None})
    _warn_wall_clock(recs)
    err = capsys.readouterr().err
    assert err.count("wall-clock safety net") == 1
    assert "of 7 item(s) (item0, item3, item4, item5, item6 and 2 more)" in err
    _warn_wall_clock(recs[1:3])
    assert capsys.readouterr().err == ""
