"""Benchmark: OR-Library pmed1..pmed40 through ``optimiser.pmedian`` vs PySAL spopt.

Usage (from the repository root)::

    python benchmarks/pmed/run.py                          # all 40, ours + spopt
    python benchmarks/pmed/run.py --instances pmed1,pmed6  # subset
    python benchmarks/pmed/run.py --no-spopt               # ours only
    python benchmarks/pmed/run.py --spopt-instances pmed1,pmed2 --spopt-time-limit 300
    python benchmarks/pmed/run.py --reuse-spopt            # spopt times from the cache

For every instance the cost matrix is the all-pairs shortest-path matrix of the
graph (last repeated edge wins, see ``read_orlib_pmed``).  Our solver runs in
this process; spopt (``PMedian.from_cost_matrix(...).solve(PULP_CBC_CMD)``)
runs afterwards in a child process (own process group, killed after
``--spopt-time-limit`` + 30 s) so it never overlaps our timing.  Timings are
wall-clock seconds for model build + solve, excluding reading the file and
the shortest paths (identical for both).

Output: ``benchmarks/pmed/results.csv`` with columns
``instance,n,p,optimum,ours,status,gap,seconds,spopt_seconds,ratio`` (ratio =
spopt_seconds / seconds; ``spopt_seconds`` is ``timeout``/``not_run`` when
spopt did not prove optimality within its limit / was not run), and every
spopt measurement is also appended to ``benchmarks/pmed/spopt_times.csv``
(the cache read by ``--reuse-spopt``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DATA = os.environ.get("PMED_DATA", "/work/shared/benchmarks/orlib-pmed")
RESULTS = os.path.join(HERE, "results.csv")
SPOPT_CACHE = os.path.join(HERE, "spopt_times.csv")


def _spopt_worker(instance: str, time_limit: float) -> None:
    """Child process: solve one instance with spopt + CBC, print JSON."""
    import numpy as np
    import pulp
    from spopt.locate import PMedian as SpoptPMedian

    from optimiser.pmedian import read_orlib_pmed

    d, p = read_orlib_pmed(os.path.join(DATA, f"{instance}.txt"))
    t = time.perf_counter()
    model = SpoptPMedian.from_cost_matrix(d.astype(float), np.ones(d.shape[0]), p_facilities=p)
    ok = True
    err = ""
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    except Exception as exc:  # noqa: BLE001 - spopt raises when CBC does not report optimal; reported as 'error'
        ok = False
        err = repr(exc)[:200]
    secs = time.perf_counter() - t
    prob = model.problem
    obj = pulp.value(prob.objective)
    # sol_status 1 = optimal solution; 2 = feasible (time limit)
    proven = ok and prob.status == 1 and getattr(prob, "sol_status", 1) == 1 and secs < time_limit
    print(json.dumps({"seconds": secs, "objective": obj, "proven": bool(proven), "error": err}))


def run_spopt(instance: str, time_limit: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--spopt-worker", instance,
           "--spopt-time-limit", str(time_limit)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=ROOT)
    try:
        out, err = proc.communicate(timeout=time_limit + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group
        proc.communicate()
        return {"seconds": None, "objective": None, "proven": False, "error": "killed"}
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):  # the worker died before printing its result
        return {"seconds": None, "objective": None, "proven": False, "error": err[-300:]}


def load_cache() -> dict:
    cache = {}
    if os.path.exists(SPOPT_CACHE):
        with open(SPOPT_CACHE) as fh:
            for row in csv.DictReader(fh):
                cache[row["instance"]] = row  # last measurement wins
    return cache


def append_cache(row: dict) -> None:
    new = not os.path.exists(SPOPT_CACHE)
    with open(SPOPT_CACHE, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["instance", "time_limit", "spopt_seconds",
                                           "spopt_objective", "proven", "date"])
        if new:
            w.writeheader()
        w.writerow(row)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", default="", help="comma list, e.g. pmed1,pmed6 (default all 40)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="our time limit per instance [s]")
    ap.add_argument("--num-workers", type=int, default=1, help="CP-SAT/MIP threads for our solver")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-spopt", action="store_true", help="do not run spopt")
    ap.add_argument("--spopt-instances", default="", help="run spopt only on these (default: all selected)")
    ap.add_argument("--spopt-time-limit", type=float, default=600.0, help="spopt/CBC limit [s]")
    ap.add_argument("--reuse-spopt", action="store_true",
                    help="take spopt times from spopt_times.csv instead of rerunning")
    ap.add_argument("--output", default=RESULTS)
    ap.add_argument("--spopt-worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.spopt_worker:
        _spopt_worker(args.spopt_worker, args.spopt_time_limit)
        return 0

    # warm-up: load OR-Tools/SCIP once so that the one-off library import is
    # not charged to the first instance that needs it (spopt's imports of
    # spopt/pulp are likewise outside its timing).
    from ortools.linear_solver import pywraplp

    from optimiser.pmedian import read_orlib_pmed, solve_pmedian

    pywraplp.Solver.CreateSolver("SCIP")

    with open(os.path.join(DATA, "optima.csv")) as fh:
        optima = {r["instance"]: r for r in csv.DictReader(fh)}
    names = [s.strip() for s in args.instances.split(",") if s.strip()] or [f"pmed{i}" for i in range(1, 41)]
    spopt_names = set(s.strip() for s in args.spopt_instances.split(",") if s.strip()) or set(names)
    cache = load_cache() if args.reuse_spopt else {}

    rows = []
    fields = ["instance", "n", "p", "optimum", "ours", "status", "gap", "seconds", "cpu_seconds", "load1", "nodes",
              "spopt_seconds", "ratio", "method"]
    for name in names:
        d, p = read_orlib_pmed(os.path.join(DATA, f"{name}.txt"))
        opt = int(optima[name]["optimum"])
        load1 = os.getloadavg()[0]
        cpu0 = time.process_time()
        res = solve_pmedian(d, p, time_limit_s=args.time_limit, seed=args.seed,
                            num_workers=args.num_workers)
        ours = int(round(res.objective)) if res.objective is not None else ""
        row = {"instance": name, "n": d.shape[0], "p": p, "optimum": opt, "ours": ours,
               "status": res.status, "gap": f"{res.gap:.6g}", "seconds": f"{res.solve_seconds:.3f}",
               "cpu_seconds": f"{time.process_time() - cpu0:.3f}", "load1": f"{load1:.1f}", "nodes": res.nodes,
               "spopt_seconds": "not_run", "ratio": "", "method": res.method}
        if res.status == "optimal" and ours != opt:
            row["status"] = "WRONG"  # would be a bug: proven value differs from OR-Library
        sp = None
        if args.reuse_spopt and name in cache:
            c = cache[name]
            sp = {"seconds": float(c["spopt_seconds"]) if c["spopt_seconds"] not in ("", "timeout") else None,
                  "proven": c["proven"] == "True", "objective": c["spopt_objective"],
                  "time_limit": c["time_limit"]}
        elif not args.no_spopt and not args.reuse_spopt and name in spopt_names:
            sp = run_spopt(name, args.spopt_time_limit)
            append_cache({"instance": name, "time_limit": args.spopt_time_limit,
                          "spopt_seconds": "timeout" if not sp["proven"] else f"{sp['seconds']:.3f}",
                          "spopt_objective": sp.get("objective"), "proven": sp["proven"],
                          "date": time.strftime("%Y-%m-%d %H:%M:%S")})
            sp["time_limit"] = args.spopt_time_limit
        if sp is not None:
            if sp["proven"] and sp["seconds"] is not None:
                row["spopt_seconds"] = f"{sp['seconds']:.3f}"
                row["ratio"] = f"{sp['seconds'] / max(res.solve_seconds, 1e-9):.1f}"
            else:
                row["spopt_seconds"] = "timeout"
                tl = float(sp.get("time_limit") or args.spopt_time_limit)
                row["ratio"] = f">{tl / max(res.solve_seconds, 1e-9):.1f}"
        rows.append(row)
        print(",".join(str(row[f]) for f in fields), flush=True)
        with open(args.output, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)

    # summary
    proven = [r for r in rows if r["status"] == "optimal"]
    within = [r for r in proven if float(r["seconds"]) <= 60.0]
    wrong = [r for r in rows if r["status"] == "WRONG"]
    worst = max(rows, key=lambda r: float(r["seconds"]))
    print(f"\nproven optimal: {len(proven)}/{len(rows)}; within 60 s: {len(within)}/{len(rows)}; "
          f"wrong: {len(wrong)}")
    print(f"worst time: {worst['instance']} {float(worst['seconds']):.2f} s; "
          f"total {sum(float(r['seconds']) for r in rows):.1f} s")
    ratios = [float(r["ratio"]) for r in rows if r["ratio"] and not r["ratio"].startswith(">")]
    if ratios:
        print(f"spopt finished on {len(ratios)} instances: ratio min {min(ratios):.1f}x, "
              f"median {sorted(ratios)[len(ratios) // 2]:.1f}x, max {max(ratios):.1f}x")
    touts = [r["instance"] for r in rows if r["spopt_seconds"] == "timeout"]
    if touts:
        print(f"spopt timeouts: {','.join(touts)}")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
