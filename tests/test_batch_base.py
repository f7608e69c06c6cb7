"""A swept site's problems, listed once, name the items that use the site (optimiser.batch.spec
item_problems), in ``siteopt validate`` and in a refused ``siteopt batch`` alike; before, the line
no longer said which items run on the site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.checkfiles import check_file
from optimiser.cli import cli
from tests.test_batch import SCENARIO, SITE, write_batch


@pytest.fixture()
def bad_base(tmp_path: Path) -> Path:
    """The tiny site, and its scenario with a placeholder budget of -5 (invalid on its own)."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO.replace("budget_gbp: 2000000", "budget_gbp: -5"), encoding="utf-8")
    return d


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
