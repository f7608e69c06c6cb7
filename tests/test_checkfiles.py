"""optimiser.validate_files (optimiser/checkfiles.py): batch files are checked as ``siteopt
validate`` checks them; the API had refused every batch file ('this is a batch file;
validate_files checks sites and scenarios')."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

import optimiser
from optimiser import inputs
from optimiser.checkfiles import check_file
from optimiser.inputs import validate as validate_module
from tests.sitefiles import write_files

ROOT = Path(__file__).resolve().parents[1]


def _batch(folder: Path, name: str, **body) -> Path:
    p = folder / name
    p.write_text(yaml.safe_dump({"format": "placemaking-batch/1", "base": "scenario.yaml", **body}), encoding="utf-8")
    return p


def test_a_valid_batch_has_no_problems():
    assert optimiser.validate_files(ROOT / "constraints" / "amp_sbp" / "budget_sweep.yaml") == []
    assert optimiser.validate_files("amp_sbp/budget_sweep") == []  # an embedded name, as siteopt validate takes it


def test_a_batch_gets_the_problems_siteopt_validate_lists(tmp_path):
    site, scen = write_files(tmp_path)
    bad = _batch(tmp_path, "bad.yaml", sweep={"budget_gbp": [-5, 1e6]}, time_limit_s=-1)
    got = optimiser.validate_files([site, scen, bad])
    assert [(Path(p.file).name, p.field, p.reason) for p in got] == [
        ("bad.yaml", "time_limit_s", "must be > 0, got -1"),
        ("bad.yaml", "item 0 (budget=−£5): budget_gbp", "must be > 0, got -5")]
    assert got == check_file(bad, with_warnings=False).problems  # what siteopt validate runs on the file
    cli = subprocess.run([sys.executable, "-m", "optimiser", "validate", str(bad)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert cli.returncode == 2 and all(p.reason in cli.stdout + cli.stderr for p in got), cli.stdout + cli.stderr


def test_a_batch_whose_base_is_missing_names_it(tmp_path):
    write_files(tmp_path)
    lost = _batch(tmp_path, "lost.yaml", base="nowhere.yaml", sweep={"budget_gbp": [1e6]})
    got = optimiser.validate_files(lost)
    assert [p.field for p in got] == ["base"] and "nowhere.yaml" in str(got[0]), got


def test_every_public_name_is_the_one_function():
    assert optimiser.validate_files is inputs.validate_files is validate_module.validate_files


def test_a_scenario_given_alone_and_as_a_batch_base_is_listed_once_however_named(tmp_path, monkeypatch):
    """The base's problems were listed twice: once under the name given (``scenario.yaml`` or an
    absolute path) and once under the absolute path the batch resolves its base to."""
    _, scen = write_files(tmp_path, solver={"backend": "cpsat", "time_limit_s": -1, "seed": 0, "workers": 1})
    _batch(tmp_path, "sweep.yaml", sweep={"budget_gbp": [1e6, 2e6]})
    monkeypatch.chdir(tmp_path)
    for given in ("scenario.yaml", str(scen)):
        got = optimiser.validate_files([given, "sweep.yaml"])
        assert [(p.file, p.field) for p in got] == [(given, "solver.time_limit_s")], got
        cli = subprocess.run([sys.executable, "-m", "optimiser", "validate", given, "sweep.yaml"], capture_output=True,
                             text=True, cwd=tmp_path, timeout=300)
        lines = cli.stdout.splitlines()
        assert cli.returncode == 2 and sum("time_limit_s" in line for line in lines) == 1, cli.stdout + cli.stderr
        assert lines[-1] == ("sweep.yaml: base: invalid for the 1 problem of scenario.yaml listed above "
                             "(fix scenario.yaml)"), cli.stdout
    assert [p.file for p in optimiser.validate_files("sweep.yaml")] == ["scenario.yaml"]  # the base as the user types it
