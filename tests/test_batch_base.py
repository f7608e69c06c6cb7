"""A batch's base scenario judged as the batch runs it (optimiser.batch.spec.check_base), by
``siteopt validate`` and ``siteopt batch`` alike, and a swept site's problems naming the items
that use the site.

Before: a base invalid on its own (a placeholder budget of -5) that every item's budget replaced
ran in ``siteopt batch`` (exit 0) while ``siteopt validate`` refused it (exit 2, the base's
line); a base problem only some items kept was the base's line, not the items'; and a swept
site's problem, listed once, no longer said which items run on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.batch import load_batch
from optimiser.checkfiles import check_file
from optimiser.cli import cli
from optimiser.errors import ValidationError
from tests.test_batch import SCENARIO, SITE, write_batch

HINT = "set budget_gbp to a number > 0"


@pytest.fixture()
def bad_base(tmp_path: Path) -> Path:
    """The tiny site, and its scenario with a placeholder budget of -5 (invalid on its own)."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO.replace("budget_gbp: 2000000", "budget_gbp: -5"), encoding="utf-8")
    return d


def _lines(problems) -> list[tuple[str, str, str, str | None]]:
    return [(Path(p.file).name, p.field, p.reason, p.hint) for p in problems]


def test_a_base_every_item_mends_is_valid_with_a_note_in_validate_and_batch(bad_base: Path, tmp_path: Path) -> None:
    b = write_batch(bad_base, "mended.yaml", sweep={"budget_gbp": [1e6, 2e6]})
    note = (f"the base scenario {bad_base / 'scen.yaml'} is invalid on its own (budget_gbp: must be > 0, got -5), but "
            "every item's values mend it (all 2 items are checked with their values applied, as they run)")
    report = check_file(b)
    assert report.problems == [] and report.notes == [note]
    assert load_batch(b).notes == [note]  # the one judgement both commands make

    r = CliRunner().invoke(cli, ["validate", str(b)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == f"{b}: base: note: {note}"
    assert r.output.splitlines()[1].startswith(f"{b}: ok (batch 'mended': 2 items over ")
    r = CliRunner().invoke(cli, ["validate", "--json", "--strict", str(b)])  # a note is no warning
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == []  # valid: the list stays empty, the note goes to stderr
    assert r.stderr.splitlines() == [f"{b}: base: note: {note}"]

    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out"), "--time-limit", "10"])
    assert r.exit_code == 0, r.output
    assert f"siteopt batch: {b}: base: note: {note}" in r.stderr.splitlines()
    assert json.loads(r.stdout)["counts"] == {"optimal": 2}
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out"), "--quiet"])  # resumed, no note
    assert r.exit_code == 0 and "note" not in r.stderr, r.output


def test_a_base_problem_some_items_keep_is_each_of_those_items_problem(bad_base: Path, tmp_path: Path) -> None:
    """validate lists it for the item by name (exit 2); batch runs the item that mends it and
    records the other invalid (exit 5), as for any item with a bad value."""
    b = write_batch(bad_base, "partly.yaml", scenarios=[{"name": "keep"}, {"name": "fix", "budget_gbp": 1e6}])
    want = [("partly.yaml", "item 0 (keep): budget_gbp", "must be > 0, got -5",
             f"{HINT}; the base scenario {bad_base / 'scen.yaml'} has it too: fix it there, or override it in this item")]
    report = check_file(b)
    assert _lines(report.problems) == want and report.notes == []
    r = CliRunner().invoke(cli, ["validate", str(b)])
    assert r.exit_code == 2 and r.output.splitlines() == [str(p) for p in report.problems], r.output

    assert load_batch(b).notes == []
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out"), "--time-limit", "10"])
    assert r.exit_code == 5, r.output
    assert json.loads(r.stdout)["counts"] == {"invalid": 1, "optimal": 1}


def test_a_base_no_item_mends_is_refused_with_the_items_own_values(bad_base: Path, tmp_path: Path) -> None:
    """Every item replaces the bad budget with another bad one: the problems are the items' (the
    base's -5 runs nowhere), and batch refuses it with validate's lines (exit 2, nothing written)."""
    b = write_batch(bad_base, "worse.yaml", sweep={"budget_gbp": [-1, -2]})
    want = [("worse.yaml", "item 0 (budget=−£1): budget_gbp", "must be > 0, got -1", HINT),
            ("worse.yaml", "item 1 (budget=−£2): budget_gbp", "must be > 0, got -2", HINT)]
    assert _lines(check_file(b).problems) == want
    with pytest.raises(ValidationError) as err:
        load_batch(b)
    assert _lines(err.value.problems) == want
    r = CliRunner().invoke(cli, ["validate", str(b)])
    assert r.exit_code == 2 and r.output.splitlines() == [str(p) for p in err.value.problems], r.output
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and r.stderr.splitlines()[:2] == [str(p) for p in err.value.problems], r.output
    assert not (tmp_path / "out").exists()


def test_a_swept_site_problem_names_the_items_that_use_the_site(bad_base: Path, tmp_path: Path) -> None:
    """Listed once (the site file's line), naming its items: in validate (text and JSON) and in a
    batch refused for a base no item mends."""
    (bad_base / "bad.yaml").write_text(SITE.replace("employees: 50", "employees: -50"), encoding="utf-8")
    b = write_batch(bad_base, "sites.yaml", sweep={"site": ["site.yaml", "bad.yaml"], "facilities.0.count": [1, 2]})
    reason = (f"must be > 0, got -50 (firm 'a'); used by 2 items of {b}: item 2 (site=bad.yaml, facilities[0].count=1), "
              "item 3 (site=bad.yaml, facilities[0].count=2)")
    want = [("scen.yaml", "budget_gbp", "must be > 0, got -5", HINT),  # every item's: once, the base's line
            ("bad.yaml", "firms[0].employees", reason, "set employees to a number > 0")]
    assert _lines(check_file(b).problems) == want
    r = CliRunner().invoke(cli, ["validate", "--json", str(b)])
    assert r.exit_code == 2 and [e["reason"] for e in json.loads(r.output)] == [w[2] for w in want], r.output
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines() == [str(p) for p in check_file(b).problems] + ["2 problems found; nothing was written."]


def test_a_swept_site_problem_names_its_items_in_validate_and_a_refused_batch(bad_base: Path, tmp_path: Path) -> None:
    """A batch refused for a key of its own lists its items' values too: the site's problem once,
    naming the items on it, as validate (text and JSON) lists it."""
    (bad_base / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    (bad_base / "bad.yaml").write_text(SITE.replace("employees: 50", "employees: -50"), encoding="utf-8")
    b = write_batch(bad_base, "key.yaml", sweep={"site": ["site.yaml", "bad.yaml"], "budget_gbp": [1e6, 2e6], "nosuch.key": [1]})
    reason = (f"must be > 0, got -50 (firm 'a'); used by 2 items of {b}: item 2 (site=bad.yaml, budget=£1m), "
              "item 3 (site=bad.yaml, budget=£2m)")
    problems = check_file(b).problems
    assert [(p.field, p.reason) for p in problems][1:] == [("firms[0].employees", reason)]
    r = CliRunner().invoke(cli, ["validate", "--json", str(b)])
    assert r.exit_code == 2 and [e["reason"] for e in json.loads(r.output)][1:] == [reason], r.output
    r = CliRunner().invoke(cli, ["batch", str(b), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines() == [str(p) for p in problems] + ["2 problems found; nothing was written."]
    assert not (tmp_path / "out").exists()


def test_a_site_many_items_use_is_named_by_count_and_the_first_few(bad_base: Path) -> None:
    (bad_base / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    (bad_base / "bad.yaml").write_text(SITE.replace("employees: 50", "employees: -50"), encoding="utf-8")
    many = write_batch(bad_base, "many.yaml", sweep={"site": ["bad.yaml"], "budget_gbp": [1e6, 2e6, 3e6, 4e6, 5e6]},
                       repeat_seeds=[0, 1])
    [p] = check_file(many).problems
    assert p.reason == f"must be > 0, got -50 (firm 'a'); used by all 10 items of {many}"
    some = write_batch(bad_base, "some.yaml", sweep={"budget_gbp": [1e6, 2e6, 3e6, 4e6, 5e6], "site": ["site.yaml", "bad.yaml"]})
    [p] = check_file(some).problems
    assert p.reason == (f"must be > 0, got -50 (firm 'a'); used by 5 items of {some}: item 1 (budget=£1m, site=bad.yaml), "
                        "item 3 (budget=£2m, site=bad.yaml), item 5 (budget=£3m, site=bad.yaml) ... and 2 more")
    one = write_batch(bad_base, "one.yaml", scenarios=[{"name": "here"}, {"name": "there", "site": "bad.yaml"}])
    [p] = check_file(one).problems
    assert p.reason == f"must be > 0, got -50 (firm 'a'); used by {one}'s item 1 (there, site=bad.yaml)"
