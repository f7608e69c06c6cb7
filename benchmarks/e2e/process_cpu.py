"""CPU of each process of `siteopt run` (issue 17), and the critical path it implies on an idle
two-core machine, for one or more source trees run in turn (A/B), written to a results file.

`siteopt run` is three processes: the main one (read, solve, verify, write the data files), the
render process forked at its start (imports matplotlib and warms up while the main one solves;
draws the distance map and the report once it is sent the run) and the plan's process, forked
by the render process when the run arrives (draws the plan). Every 5 ms this polls
/proc/PID/stat of the whole tree, and reports per run:

* ``main_at_submit``: CPU of the main process when the plan's process appears (the run was
  just sent to be drawn): everything before drawing starts;
* ``main_post``: the main process's CPU after that (the data files, the exit);
* ``worker_pre`` / ``worker_post``: the render process's CPU before and after that moment;
* ``plan``: the plan's process;
* ``est_idle``: ``main_at_submit + max(plan, (plan + worker_post + main_post) / 2)``: the wall
  clock this CPU would take on two otherwise idle cores (after the run is sent, three processes
  share the two cores; the plan alone is the longest chain). Under load the CPU figures rise a
  little (shared caches) but hold far better than wall clock; it leaves out the Python start-up
  before the process exists (the ``siteopt`` pyenv shim is about 0.1 s).

    python benchmarks/e2e/process_cpu.py [--repeat N] [--results FILE] [NAME=SOURCE_TREE ...]

Default: 5 runs of the working tree (``PYTHONPATH`` = the repository); ``base=/path/to/old/tree
new=.`` interleaves runs of two trees (``git archive COMMIT | tar -x -C DIR`` makes one; byte
compile it first: ``python -m compileall -q DIR/optimiser``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
KEYS = ("wall_s", "main_s", "main_at_submit_s", "main_post_s", "worker_pre_s", "worker_post_s", "plan_s", "est_idle_s")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of ``pid``; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """The processes descended from ``root`` (and it): pid -> (parent pid, CPU seconds)."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) is not None:
            procs[int(name)] = st
    out = {root: procs[root]} if root in procs else {}
    grown = True
    while grown:
        grown = False
        for pid, (ppid, cpu) in procs.items():
            if ppid in out and pid not in out:
                out[pid] = (ppid, cpu)
                grown = True
    return out


def run_once(source: str, out_dir: str) -> dict[str, float]:
    """One ``siteopt run`` of the embedded baseline with ``PYTHONPATH=source``."""
    env = dict(os.environ, PYTHONPATH=source, MPLBACKEND="Agg")
    load = float(Path("/proc/loadavg").read_text().split()[0])
    t0 = time.perf_counter()
    proc = subprocess.Popen([os.environ.get("SITEOPT", "siteopt"), "run", "--out", out_dir, "--overwrite"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    drain = threading.Thread(target=proc.stderr.read, daemon=True)
    drain.start()
    seen: dict[int, list[tuple[float, float, int]]] = {}
    while proc.poll() is None:
        now = time.perf_counter() - t0
        for pid, (ppid, cpu) in _tree(proc.pid).items():
            seen.setdefault(pid, []).append((now, cpu, ppid))
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    drain.join()
    row = {"wall_s": wall, "load": load, "exit": float(proc.returncode), "main_s": seen[proc.pid][-1][1]}
    workers = [p for p in seen if p != proc.pid and seen[p][-1][2] == proc.pid]
    plans = [p for p in seen if p != proc.pid and p not in workers]
    if workers and plans:
        sent = seen[plans[0]][0][0]

        def cpu_at(pid: int, t: float) -> float:
            return max([cpu for at, cpu, _ in seen[pid] if at <= t], default=0.0)

        row.update(main_at_submit_s=cpu_at(proc.pid, sent), worker_pre_s=cpu_at(workers[0], sent),
                   plan_s=seen[plans[0]][-1][1])
        row["main_post_s"] = row["main_s"] - row["main_at_submit_s"]
        row["worker_post_s"] = seen[workers[0]][-1][1] - row["worker_pre_s"]
        row["est_idle_s"] = row["main_at_submit_s"] + max(row["plan_s"], (row["plan_s"] + row["worker_post_s"]
                                                                          + row["main_post_s"]) / 2)
    return row


def _table(results: dict[str, list[dict[str, float]]]) -> str:
    out = [f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; "
           "seconds; min / median of the runs", ""]
    for name, rows in results.items():
        out.append(f"{name}: {len(rows)} runs, load average (1 min) before each: "
                   + " ".join(f"{r['load']:.1f}" for r in rows) + f"; exit codes {sorted({int(r['exit']) for r in rows})}")
        for key in KEYS:
            vals = [r[key] for r in rows if key in r]
            if vals:
                out.append(f"  {key:18s} {min(vals):6.2f} / {statistics.median(vals):6.2f}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "process_cpu.txt")
    ap.add_argument("trees", nargs="*", help="NAME=SOURCE_TREE (default: this repository)")
    ns = ap.parse_args(argv)
    here = str(Path(__file__).resolve().parents[2])
    trees = dict(t.split("=", 1) for t in ns.trees) if ns.trees else {"this": here}
    tmp = Path(tempfile.mkdtemp(prefix="process_cpu_"))
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    try:
        for _ in range(ns.repeat):
            for name, src in trees.items():
                results[name].append(run_once(str(Path(src).resolve()), str(tmp / "run")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = _table(results)
    ns.results.parent.mkdir(parents=True, exist_ok=True)
    ns.results.write_text(text)
    ns.results.with_suffix(".json").write_text(json.dumps({"trees": trees, "runs": results}, indent=1) + "\n")
    sys.stdout.write(text)
    print(f"written: {ns.results} and {ns.results.with_suffix('.json')}")


if __name__ == "__main__":
    main(sys.argv[1:])
