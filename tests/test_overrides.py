"""Overrides of a scenario's values (optimiser.inputs.overrides): a money amount given in one
spelling replaces the file's amount in the other (``budget`` / ``budget_gbp``, ``cost`` /
``cost_gbp``), so ``read_scenario(None, budget=2e6)`` (its own docstring's example) works on a
file that gives ``budget_gbp``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from optimiser import read_scenario
from optimiser.errors import ValidationError
from optimiser.inputs.overrides import apply_overrides

ROOT = Path(__file__).resolve().parents[1]


def test_a_money_override_replaces_the_other_spelling():
    data = {"budget_gbp": 4e6, "facilities": [{"cost_gbp": 1.2e6, "count": 1}], "crossings": {"types": {"x": {"cost": 5}}}}
    out = apply_overrides(data, {"budget": 2e6, "facilities.0.cost": 9e5, "crossings.types.x.cost_gbp": 7})
    assert out == {"budget": 2e6, "facilities": [{"cost": 9e5, "count": 1}], "crossings": {"types": {"x": {"cost_gbp": 7}}}}
    assert data["budget_gbp"] == 4e6 and data["facilities"][0] == {"cost_gbp": 1.2e6, "count": 1}  # not changed


def test_read_scenario_budget_override_on_a_file_giving_budget_gbp():
    assert "budget_gbp" in yaml.safe_load((ROOT / "constraints/amp_sbp/baseline.yaml").read_text(encoding="utf-8"))
    assert read_scenario(None, budget=2e6).budget == 2_000_000.0
    assert read_scenario(None, budget_gbp=3e6).budget == 3_000_000.0
    assert read_scenario(None, **{"facilities.0.cost": 123_456}).facilities[0].cost == 123_456.0


def test_read_scenario_budget_gbp_override_on_a_file_giving_budget(tmp_path):
    data = yaml.safe_load((ROOT / "constraints/amp_sbp/baseline.yaml").read_text(encoding="utf-8"))
    data["budget"] = data.pop("budget_gbp")
    data["site"] = str(ROOT / "sites/amp_sbp/site.yaml")
    f = tmp_path / "budget.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert read_scenario(f, budget_gbp=2.5e6).budget == 2_500_000.0
    # pounds over a euro scenario's budget: the pounds field is refused as in a file, not silently mixed
    data["currency"] = "EUR"
    for key in [k for k in data if k != "budget"]:
        data[key] = _strip_gbp(data[key])
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert read_scenario(f, budget=5e6).budget == 5_000_000.0
    with pytest.raises(ValidationError) as exc:
        read_scenario(f, budget_gbp=5e6)
    assert [(p.field, p.reason) for p in exc.value.problems] == [
        ("budget_gbp", "budget_gbp is in pounds but the scenario's currency is EUR")]


def _strip_gbp(value):
    if isinstance(value, dict):
        return {k.removesuffix("_gbp"): _strip_gbp(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_gbp(v) for v in value]
    return value


def test_both_spellings_of_one_amount_are_refused_not_last_wins():
    from optimiser.inputs.overrides import money_twins
    with pytest.raises(ValidationError) as info:
        read_scenario(None, budget=1e6, budget_gbp=2e6)
    (problem,) = info.value.problems
    assert problem.field == "budget_gbp" and problem.reason == "override: budget and budget_gbp both set the same amount"
    assert problem.hint == "give only one of budget and budget_gbp"
    assert money_twins(["transit.0.cost", "transit.0.cost_gbp", "budget", "facilities.1.cost"]) == [
        ("transit.0.cost", "transit.0.cost_gbp")]
    assert money_twins(["facilities.0.cost", "facilities.1.cost_gbp"]) == []  # different amounts
