"""Benchmark: TSPLIB rl1304 and fl1400 p-median instances against their published optima.

Usage (from the repository root)::

    python benchmarks/pmed_large/run.py                       # every (instance, p) of published_optima.csv
    python benchmarks/pmed_large/run.py --only rl1304:10,fl1400:5 --time-limit 60

Data: ``/work/shared/benchmarks/tsplib-pmed/`` (override with ``PMED_LARGE_DATA``): the ``.tsp``
files and ``published_optima.csv`` (Duran-Mateluna, Ales and Elloumi, EJOR 2023, Table 2).  Costs are
floor-Euclidean distances (``read_tsplib_pmed``), every point a client and a site, unit weights.

Each (instance, p) runs in its own child process through the public API
(``optimiser.pmedian.read_tsplib_pmed`` + ``solve_pmedian``) so that its peak memory (``ru_maxrss``
of the child: reading, distance matrix, solve) is its own.  ``seconds`` is the solver's wall clock
(``PMedianResult.solve_seconds``, not the file reading); ``cpu_seconds`` the child's CPU time
(``ru_utime + ru_stime``: imports, reading and solve; on a shared machine the wall clock is inflated
by the other jobs, the CPU time much less); ``load1`` the 1-minute load average when the row started;
``stopped_by`` what ended an unproven solve (``work_limit`` or ``wall_clock``).  The objective of the returned facilities is
recomputed in the child from the coordinates (nearest open facility, floor distance) and must equal
the solver's value.

Output: ``benchmarks/pmed_large/results.csv`` with columns
``instance,n,p,published,published_status,paper_seconds,ours,status,bound,gap,seconds,cpu_seconds,load1,peak_mb,stopped_by,method``;
``status`` is ``WRONG`` if a proven value differs from a published optimum (it never should).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time

from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)

RESULTS = os.path.join(HERE, "results.csv")
FIELDS = ["instance", "n", "p", "published", "published_status", "paper_seconds", "ours", "status", "bound", "gap",
          "seconds", "cpu_seconds", "load1", "peak_mb", "stopped_by", "method"]


def worker(instance: str, p: int, time_limit: float, seed: int) -> dict:
    """Child process: read, solve, recompute the objective from the coordinates."""
    import numpy as np

    from optimiser.pmedian import read_tsplib_pmed, solve_pmedian

    cost, coords = read_tsplib_pmed(os.path.join(DATA, f"{instance}.tsp"))
    res = solve_pmedian(cost, p, time_limit_s=time_limit, seed=seed, num_workers=1)
    check = None
    if res.objective is not None:
        S = np.array(res.open_facilities)
        dist = np.sqrt(((coords[:, None, :] - coords[None, S, :]) ** 2).sum(axis=2))
        check = int(np.floor(dist).min(axis=1).sum())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"n": int(cost.shape[0]), "objective": res.objective, "recomputed": check, "status": res.status,
            "bound": res.bound, "gap": res.gap, "seconds": res.solve_seconds, "peak_mb": usage.ru_maxrss / 1024.0,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "stopped_by": res.stopped_by, "method": res.method}


def run_child(instance: str, p: int, time_limit: float, seed: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", f"{instance}:{p}", "--time-limit", str(time_limit),
           "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=time_limit + 300, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{instance} p={p}: child failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    result: dict = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma list of instance:p (default: every row of published_optima.csv)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="solver limit per (instance, p) [s]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=RESULTS)
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        inst, p = args.worker.split(":")
        print(json.dumps(worker(inst, int(p), args.time_limit, args.seed)))
        return 0

    with open(os.path.join(DATA, "published_optima.csv")) as fh:
        published = list(csv.DictReader(fh))
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    todo = [r for r in published if not only or f"{r['instance']}:{r['p']}" in only]
    rows = []
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} cores", flush=True)
    print(",".join(FIELDS), flush=True)
    for r in todo:
        load1 = os.getloadavg()[0]
        out = run_child(r["instance"], int(r["p"]), args.time_limit, args.seed)
        value = int(r["value"])
        ours = int(round(out["objective"])) if out["objective"] is not None else ""
        status = out["status"]
        if out["objective"] is not None and out["recomputed"] != ours:
            status = "WRONG"  # the returned facilities do not give the reported objective
        if status == "optimal" and r["status"] == "optimal" and ours != value:
            status = "WRONG"  # a proven value differing from a published optimum
        row = {"instance": r["instance"], "n": out["n"], "p": r["p"], "published": value,
               "published_status": r["status"], "paper_seconds": r["paper_Ttot_s"], "ours": ours, "status": status,
               "bound": f"{out['bound']:.1f}", "gap": f"{out['gap']:.6f}", "seconds": f"{out['seconds']:.2f}",
               "cpu_seconds": f"{out['cpu_seconds']:.2f}", "load1": f"{load1:.1f}", "peak_mb": f"{out['peak_mb']:.0f}",
               "stopped_by": out["stopped_by"] or "", "method": out["method"]}
        rows.append(row)
        print(",".join(str(row[f]) for f in FIELDS), flush=True)
        with open(args.output, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
    proven = [r for r in rows if r["status"] == "optimal"]
    wrong = [r for r in rows if r["status"] == "WRONG"]
    load = os.getloadavg()
    print(f"# proven optimal {len(proven)}/{len(rows)}, wrong {len(wrong)}, max peak {max(float(r['peak_mb']) for r in rows):.0f} MB; "
          f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
