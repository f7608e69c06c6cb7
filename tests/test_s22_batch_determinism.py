"""A batch item gives the same answer alone and on a busy machine, and its record says what
ended its search (session 22): ``stopped_by`` in result.json and results.csv (``work_limit``:
the same answer on any machine; ``wall_clock``: the safety net bound it, it may differ)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from optimiser.batch import run_batch
from tests.test_batch import write_budget_sweep
from tests.test_determinism import _outputs, cpu_hogs


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_results_csv_says_what_ended_each_search(tmp_path: Path) -> None:
    s = run_batch(write_budget_sweep(tmp_path, [1_000_000]), tmp_path / "out", progress=False)
    (rec,) = s.records
    assert rec["status"] == "optimal" and "stopped_by" in rec["metrics"] and rec["metrics"]["stopped_by"] is None
    header = next(csv.reader(s.results_csv.open(encoding="utf-8")))
    assert header[header.index("gap") + 1] == "stopped_by"
    assert _rows(s.results_csv)[0]["stopped_by"] == ""  # proven: nothing stopped it


@pytest.mark.slow
@pytest.mark.xdist_group("cpu_hogs")  # never beside another test's hogs (--dist loadgroup)
def test_the_same_item_alone_and_beside_a_cpu_hog(tmp_path: Path) -> None:
    """A 50-firm generated district whose 4 s work limit ends the search (not proven): the same
    objective, bound and layout alone and beside a busy-looping process; results.csv says
    work_limit both times."""
    from benchmarks.realsites.generate import make_problem, write_problem

    scen = write_problem(make_problem(5, 50, 90), tmp_path / "in")
    batch = tmp_path / "in" / "batch.yaml"
    batch.write_text(json.dumps({"format": "placemaking-batch/1", "id": "det", "base": scen.name,
                                 "sweep": {"solver.seed": [0]}, "time_limit_s": 4}), encoding="utf-8")
    alone = run_batch(batch, tmp_path / "alone", progress=False)
    with cpu_hogs(1):
        busy = run_batch(batch, tmp_path / "busy", progress=False)
    (a,), (b,) = alone.records, busy.records
    assert a["status"] == "feasible" and a["metrics"]["stopped_by"] == "work_limit", "the work limit must bind"
    assert b["metrics"]["stopped_by"] == "work_limit", "the wall-clock safety net bound the answer"
    for k in ("objective", "bound", "gap", "cost.capital", "placements.crossings"):
        assert a["metrics"][k] == b["metrics"][k], k
    assert _outputs(Path(a["run_dir"])) == _outputs(Path(b["run_dir"]))
    drop = ("seconds", "run_dir")
    assert [{k: v for k, v in r.items() if k not in drop} for r in _rows(alone.results_csv)] == \
        [{k: v for k, v in r.items() if k not in drop} for r in _rows(busy.results_csv)]
    assert _rows(busy.results_csv)[0]["stopped_by"] == "work_limit"
