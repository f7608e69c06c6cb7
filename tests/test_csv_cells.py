"""CSV injection (optimiser/present/csv_cells.py): text cells of every CSV the tool writes that
start like a spreadsheet formula get a single quote before them; numbers never do, and
``siteopt render`` reads the names back as given."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from optimiser.batch.results import csv_text
from optimiser.present.csv_cells import guard_cell, read_cell
from optimiser.present.rundir import load_run
from tests.sitefiles import write_files

ROOT = Path(__file__).resolve().parents[1]
NAMES = ['=HYPERLINK("http://x.example","click")', "-2+3", "'=quoted"]


@pytest.mark.parametrize("text,written", [
    ("=1+2", "'=1+2"), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'=x", "''=x"), ("Alpha Works", "Alpha Works"), ("'quoted'", "'quoted'"), ("a=b", "a=b"), ("", ""),
    ("-1500", "-1500"), ("+2.5", "+2.5"), ("-1e6", "-1e6"),  # text that is a plain number is no formula
])
def test_guard_cell_and_back(text, written):
    assert guard_cell(text) == written
    assert read_cell(written) == text


def test_batch_tables_guard_text_never_numbers():
    text = csv_text(["name", "value", "label"], [["=cmd|' /C calc'!A0", -3.5, "-x"], ["ok", -2, "@x"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [["'=cmd|' /C calc'!A0", "-3.5", "'-x"], ["ok", "-2", "'@x"]]


@pytest.fixture(scope="module")
def run_with_formula_names(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inj")
    site, scen = write_files(d / "in")
    data = yaml.safe_load(site.read_text())
    for firm, name in zip(data["firms"], NAMES):
        firm["name"] = name
    site.write_text(yaml.safe_dump(data))
    out = d / "out"
    r = subprocess.run([sys.executable, "-m", "optimiser", "run", str(scen), "--out", str(out), "--no-render"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


def test_firm_names_that_start_like_formulas_are_quoted_in_pairs_and_firms(run_with_formula_names):
    """A firm named ``=HYPERLINK(...)`` was written as given: a live formula in Excel/LibreOffice."""
    out = run_with_formula_names
    firms = list(csv.DictReader((out / "firms.csv").open(encoding="utf-8")))
    assert [f["name"] for f in firms] == ["'" + n for n in NAMES] + ["Delta Centre"]
    pairs = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    assert {p["a_name"] for p in pairs if p["a"] == "a"} == {"'" + NAMES[0]}
    assert any(p["change_m"].startswith("-") for p in pairs)  # a negative number stays a number
    assert all(not p["change_m"].startswith("'") for p in pairs)


def test_render_reads_the_names_back_as_given(run_with_formula_names):
    run = load_run(run_with_formula_names)
    assert [f["name"] for f in run.firms] == [*NAMES, "Delta Centre"]
    assert {p["a_name"] for p in run.pairs if p["a"] == "a"} == {NAMES[0]}
