"""Numbers written as text (optimiser/inputs/number_text.py): an ambiguous text amount is a problem
naming both readings, and the JSON Schema takes the same texts the reader takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from optimiser.inputs import schema as S
from optimiser.inputs.number_text import ambiguous_readings
from optimiser.inputs.validate import validate_files
from tests.sitefiles import write_files

ROOT = Path(__file__).resolve().parents[1]


def _scenario_problems(tmp_path: Path, **fields: Any) -> dict[str, str]:
    site, scen = write_files(tmp_path)
    data = yaml.safe_load(scen.read_text())
    data.update(fields)
    scen.write_text(yaml.safe_dump(data, allow_unicode=True))
    return {p.field: str(p) for p in validate_files([site, scen]) if p.field != "site"}


def test_readings_of_an_ambiguous_text():
    assert ambiguous_readings("1.500") == ("1500", "1.5")
    assert ambiguous_readings(" -2,250 ") == ("-2250", "-2.25")
    assert ambiguous_readings("1.000") == ("1000", "1")
    assert ambiguous_readings("1.000", whole=True) == ("1000", "1")
    assert ambiguous_readings("1.500", whole=True) is None  # no whole number but 1500: refused so already
    for plain in ("0.500", "1.5", "1.50", "1.5000", "1.500.000", "1500", "12345.678"):
        assert ambiguous_readings(plain) is None, plain


def test_an_ambiguous_budget_is_a_problem_naming_both_readings(tmp_path):
    """``budget_gbp: "1.500"`` was read as £1.50 without a word (1,500 in German notation)."""
    got = _scenario_problems(tmp_path, budget_gbp="1.500")
    assert got["budget_gbp"].endswith(
        'budget_gbp: "1.500" is ambiguous: 1500 with a point between thousands (as in Germany and much of Europe), '
        "or 1.5 with a decimal point (write the number meant as a plain number, without quotes or separators: "
        "budget_gbp: 1500 or budget_gbp: 1.5)"), got
    assert "scenario.yaml" in got["budget_gbp"]
    got = _scenario_problems(tmp_path, budget_gbp="1,500")
    assert "1500 with a comma between thousands (as in English), or 1.5 with a decimal comma" in got["budget_gbp"], got


def test_an_ambiguous_amount_with_a_symbol_names_both_amounts(tmp_path):
    got = _scenario_problems(tmp_path, budget_gbp="£1.500k")
    assert got["budget_gbp"].endswith("(1.500 may be 1500 or 1.5: write the amount meant alone, in the scenario's "
                                      "currency (converted first if it is in another), as a plain number: "
                                      "budget_gbp: 1500000 or budget_gbp: 1500)"), got


@pytest.mark.parametrize("value", [1.5, "1.5", "1500", " 1500 ", "1.500.000", "0.500"])
def test_numbers_that_read_one_way_are_not_called_ambiguous(tmp_path, value):
    got = _scenario_problems(tmp_path, budget_gbp=value)
    assert "ambiguous" not in got.get("budget_gbp", ""), got
    if value != "1.500.000":  # "write 1500000, without the points between thousands"
        assert "budget_gbp" not in got, got


def test_a_whole_number_written_1_000_is_ambiguous_not_one():
    with pytest.raises(PydanticValidationError) as exc:
        S.FirmIn.model_validate({"id": "a", "employees": "1.000", "sector": "x", "location": [0, 0]})
    assert exc.value.errors()[0]["type"] == "ambiguous_number"


# ------------------------------------------------------------------ the JSON Schema agrees with the reader

_FIRM = {"id": "a", "sector": "x", "location": [1.0, 2.0]}
_FACILITY = {"type": "lab", "footprint_m2": 100, "cost": 10}
CASES: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (S.FirmIn, _FIRM, "employees"),                  # an integer
    (S.FacilityIn, {**_FACILITY, "count": 1}, "footprint_m2"),  # a number
    (S.FacilityIn, {**_FACILITY, "footprint_m2": 50}, "count"),  # an integer or {min, max}
    (S.ScenarioFile, {"format": S.SCENARIO_FORMAT, "id": "s", "site": "x.yaml"}, "budget"),  # money, optional
]
VALUES = [30, 30.5, "30", " 30 ", "+30", "030", "30.0", "30.5", "1e3", "2.5e1", "1_500", ".5", "30.",
          "1.500", "1,500", "1.000", "1.500.000", "1 500", "30 staff", "", "abc", "1.5_0", "0x1f", "inf", "nan",
          True, None, [30]]
SIGNED = [-30, 0, "-30", " -5 ", "-0.5", "-1e3", "0", "0.0", "+0", "-0", "-0.0", "0e3", "-0e3", "00_0", ".0", "-.0",
          "0.001", "-0.001", "∞", "NaN", "Infinity", "-inf"]
"""Below a lower bound of zero, zero, and just above it (the schema checks a text's sign)."""
_BATCH = {"format": S.BATCH_FORMAT}
_DEMAND = {"rule": "sector_affinity"}
ITEM_CASES: list[tuple[type[BaseModel], dict[str, Any], str, Any]] = [
    (S.BatchFile, _BATCH, "repeat_seeds", lambda v: [v]),                     # a list of whole numbers >= 0
    (S.BatchFile, _BATCH, "repeat_seeds", lambda v: [1, v]),
    (S.DemandIn, _DEMAND, "sector_affinity", lambda v: {"a": {"b": v}}),      # a mapping's values, >= 0
    (S.FirmChangesIn, {}, "employees", lambda v: {"a": v}),                    # a mapping's values, > 0 (by firm id)
    (S.FirmIn, {**_FIRM, "employees": 3}, "location", lambda v: [v, "2"]),   # a coordinate (no bounds)
]
"""Numbers inside a list or mapping: read as a field's own value is (a coordinate takes "51.500")."""


def _reader_takes(model: type[BaseModel], base: dict[str, Any], field: str, value: Any) -> bool:
    try:
        model.model_validate({**base, field: value})
    except PydanticValidationError:
        return False
    return True


def _schema_takes(defs: dict[str, Any], model: type[BaseModel], base: dict[str, Any], field: str, value: Any) -> bool:
    try:
        jsonschema.validate({**base, field: value}, {"$defs": defs, "$ref": f"#/$defs/{model.__name__}"})
    except jsonschema.ValidationError:
        return False
    return True


def test_the_schema_takes_the_numbers_as_text_the_reader_takes():
    """``employees: "30"`` was refused by the schema (an editor's red line) and read by siteopt
    (spreadsheet and GIS exports write text columns: sites/README.md); now both take it, and both
    refuse ``"1.500"`` and ``"30 staff"``."""
    defs = json.loads((ROOT / "constraints" / "schema.json").read_text())["$defs"]
    seen = {True: 0, False: 0}
    for model, base, field in CASES:
        for value in VALUES:
            reader = _reader_takes(model, base, field, value)
            assert _schema_takes(defs, model, base, field, value) == reader, (model.__name__, field, value, reader)
            seen[reader] += 1
    assert seen[True] >= 20 and seen[False] >= 40, seen
    assert _reader_takes(S.FirmIn, _FIRM, "employees", "30") and not _reader_takes(S.FirmIn, _FIRM, "employees", "1.500")


def test_the_schema_checks_the_sign_of_a_number_as_text():
    """``budget: "-5"`` and ``footprint_m2: "0"`` passed the schema (only the pattern of a number
    was checked); siteopt validate refuses them. Texts below a lower bound of zero are refused by
    both now (other limits only by siteopt validate: see number_text._sign_guard)."""
    defs = json.loads((ROOT / "constraints" / "schema.json").read_text())["$defs"]
    for model, base, field in CASES:
        for value in SIGNED:
            reader = _reader_takes(model, base, field, value)
            assert _schema_takes(defs, model, base, field, value) == reader, (model.__name__, field, value, reader)
    assert not _schema_takes(defs, S.ScenarioFile, CASES[3][1], "budget", "-5")


def test_numbers_in_lists_and_mappings_are_read_as_a_fields_own_value():
    """repeat_seeds: ["2.000"] was read as seed 2 (solver.seed: "2.000" is refused as ambiguous),
    a coordinate "1.5_0" as 1.5 and "1,500" told as 'must be a point'; sector affinities took
    "1.500" as 1.5 and true as 1. Reader and schema now agree item by item, as for a field."""
    defs = json.loads((ROOT / "constraints" / "schema.json").read_text())["$defs"]
    seen = {True: 0, False: 0}
    for model, base, field, wrap in ITEM_CASES:
        for value in VALUES + SIGNED:
            reader = _reader_takes(model, base, field, wrap(value))
            assert _schema_takes(defs, model, base, field, wrap(value)) == reader, (model.__name__, field, value, reader)
            seen[reader] += 1
    assert seen[True] >= 40 and seen[False] >= 60, seen
    assert not _reader_takes(S.BatchFile, _BATCH, "repeat_seeds", ["2.000"])
    assert not _reader_takes(S.BatchFile, _BATCH, "repeat_seeds", [True])
    assert not _reader_takes(S.DemandIn, _DEMAND, "sector_affinity", {"a": {"b": "1.500"}})
    # firm_changes.employees took true as 1 and "2.000" as 2 (2,000 or 2), and its schema refused "300"
    assert not _reader_takes(S.FirmChangesIn, {}, "employees", {"a": True})
    assert not _reader_takes(S.FirmChangesIn, {}, "employees", {"a": "2.000"})
    assert _schema_takes(defs, S.FirmChangesIn, {}, "employees", {"a": "300"})
    assert not _reader_takes(S.FirmIn, {**_FIRM, "employees": 3}, "location", ["1.5_0", "2"])


def test_a_coordinate_that_is_no_number_is_told_at_the_coordinate(tmp_path):
    from tests.sitefiles import site_dict

    site = site_dict()
    site["firms"][1]["location"][1] = "1,500"
    site["firms"][2]["location"][0] = "1.5_0"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    got = {(p.field, p.reason, p.hint) for p in validate_files([path])}
    assert (("firms[1].location[1]", "must be a number, got \"1,500\" (firm 'b')", "write 1500, without the thousands separator")
            in got), got
    assert any(f == "firms[2].location[0]" and r.startswith('must be a number, got "1.5_0"') for f, r, _ in got), got
    site["firms"][2]["location"][0] = True  # the hint names the coordinate, not the point ("write location as a number")
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    hints = {p.hint for p in validate_files([path]) if p.field == "firms[2].location[0]"}
    assert hints == {"write each coordinate of location as a number (YAML reads yes, no, on and off as true or false)"}, hints


def test_coordinates_as_text_are_in_the_schema_too():
    defs = json.loads((ROOT / "constraints" / "schema.json").read_text())["$defs"]
    firm = {**_FIRM, "employees": 3}
    for location in (["440000", "387000.5"], ["-0.12", "51.500"]):  # "51.500" is a latitude, not ambiguous here
        assert _reader_takes(S.FirmIn, firm, "location", location)
        assert _schema_takes(defs, S.FirmIn, firm, "location", location)
    assert not _schema_takes(defs, S.FirmIn, firm, "location", ["1 km", "2"])
