"""results.csv and pareto.csv headers (:mod:`optimiser.batch.results`): every header unique, the
item's name once, whatever the items override (session 28: an explicit ``name:`` override wrote
``key,name,name,...``, which pandas reads as ``name`` and ``name.1`` and ``csv.DictReader`` as one
``name`` holding the override, the item's name lost)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from optimiser.batch import BatchItem, expand_batch, run_batch
from optimiser.batch.keys import canonical_json
from optimiser.batch.results import csv_text, pareto_table, results_header, results_rows, swept_headers
from tests.test_batch import rows, write_batch

_METRICS = {"objective": 80246000.0, "gap": 0.0, "stopped_by": "work_limit", "objective_mean_m": 414.28,
            "baseline_objective_mean_m": 9155.26, "walk.baseline_weighted_mean_m": 1249.9,
            "walk.optimised_weighted_mean_m": 823.3, "walk.reduction_pct": 34.13, "walk.pairs_newly_connected": 1,
            "walk.newly_connected_weighted_mean_m": 563.3, "facility_access.baseline_mean_m": 900.0,
            "facility_access.optimised_mean_m": 370.6, "coverage.baseline_share": 0.1,
            "coverage.optimised_share": 0.5, "cost.capital": 2000000.0, "cost.budget": 2000000.0, "currency": "GBP"}
"""A solved item's metrics, every metric column present (the optional ones too)."""


def _text(v: Any) -> str:
    """How a swept value reads back from the CSV."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return canonical_json(v)  # integral floats as ints: {"firm_pairs":1}
    return repr(round(v, 6)) if isinstance(v, float) else str(v)


def _read(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def _check_round_trip(header: list[str], rows_: list[list[Any]], items: list[BatchItem], columns: list[str]) -> list[dict[str, str]]:
    """The CSV of ``header`` and ``rows_`` read back: unique headers, every row whole, the item's name
    in ``name`` and each swept value under its column's header."""
    assert len(header) == len(set(header)), header
    read_header, got = _read(csv_text(header, rows_))
    assert read_header == header
    by_key = {it.key[:12]: it for it in items}
    named = dict(zip(columns, swept_headers(columns), strict=True))
    for row in got:
        assert None not in row and all(v is not None for v in row.values()), row  # no field short or over
        it = by_key[row["key"]]
        assert row["name"] == it.name
        for c in columns:
            assert row[named[c]] == _text(it.overrides.get(c)), (c, row)
    return got


def _records(items: list[BatchItem]) -> dict[str, dict[str, Any]]:
    return {it.key: {"status": "optimal", "exit_code": 0, "seconds": 0.5,
                     "metrics": {**_METRICS, "cost.capital": 1e6 + it.index}} for it in items}


BATCHES = {
    "explicit names": {"scenarios": [{"name": "keep"}, {"name": "fix", "budget_gbp": 1e6}]},
    "swept currency and seeds": {"sweep": {"currency": ["GBP", "EUR"]}, "repeat_seeds": [0, 1]},
    "objective weights as one mapping": {"scenarios": [{"objective": {"firm_pairs": 1.0}},
                                                       {"objective": {"firm_pairs": 0.5, "facility_access": 0.5}}]},
    "dotted and bracketed keys, id": {"scenarios": [{"id": "one", "facilities.0.count": 1}, {"id": "two"}],
                                      "sweep": {"crossings.types.signalised.cost_gbp": [200000, 300000],
                                                "layers.hs2": [False]}},
    "zip sweep with a name": {"mode": "zip", "sweep": {"name": ["a", "b"], "facilities[0].count": [1, 2],
                                                       "budget_gbp": [1e6, 2e6]}},
}


@pytest.mark.parametrize("body", BATCHES.values(), ids=list(BATCHES))
def test_every_header_is_unique_and_every_value_reads_back(site_dir: Path, body: dict[str, Any]) -> None:
    items = expand_batch(write_batch(site_dir, **body))
    columns = list(dict.fromkeys(k for it in items for k in it.overrides))
    records = _records(items)
    header = results_header(columns, records)
    got = _check_round_trip(header, results_rows(items, records, columns), items, columns)
    assert [r["currency"] for r in got] == ["GBP"] * len(items)  # the record's, not a swept value
    assert [r["status"] for r in got] == ["optimal"] * len(items)
    p_header, p_rows, _ = pareto_table(items, records, columns)
    _check_round_trip(p_header, p_rows, items, columns)


def test_a_swept_key_named_as_a_fixed_column_is_prefixed_with_scenario() -> None:
    assert swept_headers(["name", "budget_gbp", "currency", "objective", "solver.seed", "objective.firm_pairs"]) == \
        ["scenario.name", "budget_gbp", "scenario.currency", "scenario.objective", "solver.seed", "objective.firm_pairs"]
    assert results_header(["name"])[:4] == ["key", "name", "scenario.name", "status"]
    # with no record yet (a batch's first results.csv): the optional metrics' names are kept free too
    assert results_header(["stopped_by"])[2] == "scenario.stopped_by"


def test_csv_text_refuses_a_header_with_a_column_twice() -> None:
    with pytest.raises(ValueError, match="'name' twice"):
        csv_text(["key", "name", "name"], [])


def test_a_batch_overriding_name_writes_it_once_beside_the_item_name(site_dir: Path, tmp_path: Path) -> None:
    """The reviewer's batch, run: results.csv and pareto.csv have one ``name`` (the item's) and
    the override as ``scenario.name``."""
    batch = write_batch(site_dir, scenarios=[{"name": "keep"}, {"name": "fix", "budget_gbp": 1e6}], time_limit_s=5)
    s = run_batch(batch, tmp_path / "out")
    for path in (s.results_csv, s.pareto_csv):
        header = next(csv.reader(path.open(encoding="utf-8")))
        assert header[:3] == ["key", "name", "scenario.name"] and len(header) == len(set(header))
    got = {r["name"]: r for r in rows(s.results_csv)}
    assert set(got) == {"keep", "fix, budget=£1m"}
    assert got["keep"]["scenario.name"] == "keep" and got["keep"]["budget_gbp"] == ""
    assert got["fix, budget=£1m"]["scenario.name"] == "fix" and got["fix, budget=£1m"]["budget_gbp"] == "1000000.0"
    assert {r["status"] for r in got.values()} == {"optimal"}
    assert {r["scenario.name"] for r in rows(s.pareto_csv)} == {"keep", "fix"}
    # each run's title: the item's name, which its own name leads (not "fix, budget=£1m · fix")
    titles = {json.loads(p.read_text(encoding="utf-8"))["scenario"]["name"]
              for p in (tmp_path / "out" / "runs").glob("*/metrics.json")}
    assert titles == {"keep", "fix, budget=£1m"}
    # batch.json says where each key went
    meta = json.loads((tmp_path / "out" / "batch.json").read_text(encoding="utf-8"))
    assert meta["columns"] == ["name", "budget_gbp"]
    assert meta["headers"] == {"name": "scenario.name", "budget_gbp": "budget_gbp"}


def test_two_spellings_of_one_list_index_are_one_column(site_dir: Path) -> None:
    """``facilities[0].count`` in one item and ``facilities.0.count`` in another set one field: one
    column, headed by the spelling met first (before: two columns, each empty in the other's rows)."""
    items = expand_batch(write_batch(site_dir, "spelled.yaml", scenarios=[
        {"facilities[0].count": 1}, {"facilities.0.count": 2}, {"budget_gbp": 1e6}]))
    columns = list(dict.fromkeys(k for it in items for k in it.overrides))
    assert columns == ["facilities[0].count", "budget_gbp"]
    assert [it.overrides for it in items] == [{"facilities[0].count": 1}, {"facilities[0].count": 2}, {"budget_gbp": 1e6}]
    records = _records(items)
    got = _check_round_trip(results_header(columns, records), results_rows(items, records, columns), items, columns)
    assert [r["facilities[0].count"] for r in got] == ["1", "2", ""]
