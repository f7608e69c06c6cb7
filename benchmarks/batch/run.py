"""Batch throughput benchmark: 200 AMP-SBP scenarios with 1 and with 2 local worker processes.

The grid is budget (10 values) x HS2 layer (off/on) x CP-SAT seed (10) over
``constraints/amp_sbp/baseline.yaml``. The full baseline takes 5-30 s per item, so the
benchmark uses a *lighter variant* (fewer candidate sites via overrides: crossings every 400 m
instead of 250 m, facility candidates every 250 m instead of 150 m, social-space candidates
every 200 m instead of 120 m) and a 10 s time limit per item.

    python benchmarks/batch/run.py                 # both runs, writes benchmarks/batch/results.json
    python benchmarks/batch/run.py --jobs 2 --n-seeds 2   # a quicker look

Each run starts from an empty output folder (no resume). The script also checks that the
two runs give identical results.csv rows apart from the timing column.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

LIGHT = {
    "crossings.spacing_m": 400,
    "facilities.0.candidate_spacing_m": 250,
    "facilities.1.candidate_spacing_m": 250,
    "social_spaces.candidate_spacing_m": 200,
}
BUDGETS = [1_750_000, 2_000_000, 2_250_000, 2_500_000, 2_750_000, 3_000_000, 3_500_000, 4_000_000, 5_000_000, 6_000_000]


def batch_spec(n_seeds: int, time_limit_s: float) -> dict:
    return {
        "format": "placemaking-batch/1",
        "id": "bench_amp_sbp_light",
        "name": "AMP-SBP light variant: budget x HS2 x seed",
        "base": str(ROOT / "constraints" / "amp_sbp" / "baseline.yaml"),
        "mode": "grid",
        "scenarios": [LIGHT],
        "sweep": {"budget_gbp": BUDGETS, "layers.hs2": [False, True]},
        "repeat_seeds": list(range(n_seeds)),
        "time_limit_s": time_limit_s,
    }


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--n-seeds", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--work", type=Path, default=None, help="Folder for the batch outputs (default: a temp folder).")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    args = ap.parse_args()

    from optimiser import __version__
    from optimiser.batch import load_batch, run_batch

    spec_map = batch_spec(args.n_seeds, args.time_limit)
    work = args.work or Path(tempfile.mkdtemp(prefix="siteopt-batch-bench-"))
    spec = load_batch(spec_map)
    runs = []
    tables = {}
    for jobs in args.jobs:
        out = work / f"jobs{jobs}"
        if out.exists():
            shutil.rmtree(out)
        print(f"running {len(spec.items)} scenarios with {jobs} worker(s) -> {out}", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        summary = run_batch(spec, out, jobs=jobs, progress=False, resume=False)
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
        secs = [r["seconds"] for r in summary.records]
        solve = [r["metrics"]["solve_seconds"] for r in summary.records
                 if r.get("metrics") and r["metrics"].get("solve_seconds") is not None]
        runs.append({
            "jobs": jobs,
            "scenarios": len(summary.records),
            "total_seconds": round(wall, 2),
            "scenarios_per_minute": round(60.0 * len(summary.records) / wall, 2),
            "statuses": summary.counts,
            "item_seconds_mean": round(statistics.mean(secs), 3),
            "item_seconds_median": round(statistics.median(secs), 3),
            "item_seconds_max": round(max(secs), 3),
            "solve_seconds_median": round(statistics.median(solve), 3) if solve else None,
            "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
            "out_dir": str(out),
        })
        tables[jobs] = _rows(summary.results_csv)
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    same = None
    if len(tables) > 1:
        first = next(iter(tables.values()))
        same = all(t == first for t in tables.values())
    result = {
        "benchmark": "batch throughput, AMP-SBP light variant",
        "version": __version__,
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "batch": spec_map,
        "variant_note": "lighter than baseline.yaml: fewer candidate sites via the LIGHT overrides; 10 s limit per item",
        "runs": runs,
        "speedup_2_over_1": (round(runs[1]["scenarios_per_minute"] / runs[0]["scenarios_per_minute"], 2)
                             if len(runs) == 2 and runs[0]["jobs"] == 1 else None),
        "results_identical_across_jobs": same,
        "command": "python benchmarks/batch/run.py " + " ".join(sys.argv[1:]),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("runs", "speedup_2_over_1", "results_identical_across_jobs")}, indent=2))


if __name__ == "__main__":
    main()
