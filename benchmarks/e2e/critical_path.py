"""Wall clock, CPU and critical path of whole `siteopt run` commands (issue 17), as a user runs
them, written to a results file.

For each repetition the command runs as a child process with its stderr read line by line:

* wall: from the start to its exit; each phase line (``siteopt: read: ... (0.15 s)``) is stamped
  with the wall-clock second it arrived, so the timeline shows what the main process waited on
  (the gap between ``outputs`` and ``render`` is the wait for the render process);
* CPU: user + system of the main process alone (read from /proc/PID/stat every 10 ms, the last
  reading before it exits; also stamped on each phase line) and of the whole tree (os.wait4: the main process and every child
  it waited for: the render process, the plan's process, a CBC subprocess);
* the load average (1 min) before and after: wall figures mean little above about 0.5 on the
  2-core machine; CPU figures hold under load (a little higher: shared caches).

    python benchmarks/e2e/critical_path.py [--repeat N] [--results FILE] [-- siteopt run arguments]

Default: 3 runs of ``siteopt run --out TMP/run`` (the embedded AMP-SBP baseline), results to
``benchmarks/e2e/results/critical_path.txt`` (and ``.json``). ``SITEOPT`` names the command
(default ``siteopt`` on the PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PHASE = re.compile(r"^siteopt: ([a-z ]+):.*?(?:\((\d+\.\d+) s\))?$")


def _proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_once(cmd: list[str]) -> dict[str, object]:
    """One command: wall, CPU of the main process and of the tree, stamped phase lines."""
    load_before = _load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    main_cpu: list[float] = [0.0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            v = _proc_cpu(proc.pid)
            if v is not None:
                main_cpu[0] = v
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    lines: list[tuple[float, float, str]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append((time.perf_counter() - t0, main_cpu[0], line.rstrip("\n")))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    phases = []
    for at, cpu, text in lines:
        m = _PHASE.match(text)
        if m:
            phases.append({"at_s": round(at, 3), "main_cpu_s": round(cpu, 2), "phase": m.group(1),
                           "own_s": float(m.group(2)) if m.group(2) else None, "line": text})
    tree = usage.ru_utime + usage.ru_stime
    return {"exit": proc.returncode, "wall_s": round(wall, 3), "cpu_main_s": round(main_cpu[0], 2),
            "cpu_tree_s": round(tree, 2), "cpu_children_s": round(tree - main_cpu[0], 2),
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_before": load_before, "load_after": _load(),
            "phases": phases}


def _table(runs: list[dict[str, object]], cmd: list[str]) -> str:
    out = [f"command: {' '.join(cmd)}", f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", "",
           "run  exit  wall_s  cpu_main_s  cpu_children_s  cpu_tree_s  load_before  load_after"]
    for i, r in enumerate(runs, 1):
        out.append(f"{i:3d}  {r['exit']:4}  {r['wall_s']:6.2f}  {r['cpu_main_s']:10.2f}  {r['cpu_children_s']:14.2f}  "
                   f"{r['cpu_tree_s']:10.2f}  {r['load_before']:11.2f}  {r['load_after']:10.2f}")
    walls = [float(r["wall_s"]) for r in runs]  # type: ignore[arg-type]
    trees = [float(r["cpu_tree_s"]) for r in runs]  # type: ignore[arg-type]
    out.append(f"median: wall {statistics.median(walls):.2f} s, CPU of the tree {statistics.median(trees):.2f} s")
    best = min(runs, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
    out += ["", "timeline of the fastest run: wall second each phase line arrived, CPU of the main process then,",
            "the phase's own (wall) time:", "  wall_s  main_cpu_s  own_s  phase"]
    for p in best["phases"]:  # type: ignore[attr-defined]
        own = f"{p['own_s']:5.2f}" if p["own_s"] is not None else "     "
        out.append(f"  {p['at_s']:6.2f}  {p['main_cpu_s']:10.2f}  {own}  {p['phase']}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "critical_path.txt")
    ap.add_argument("args", nargs="*", help="siteopt run arguments (after --); default --out TMP/run")
    ns = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="critical_path_"))
    args = ns.args or ["--out", str(tmp / "run"), "--overwrite"]
    cmd = [os.environ.get("SITEOPT", "siteopt"), "run", *args]
    try:
        runs = [run_once(cmd) for _ in range(ns.repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = [i for i, r in enumerate(runs, 1) if r["exit"] != 0]
    if failed:  # a failed command is no timing: say so, and keep the last good results
        sys.exit(f"critical_path: `{' '.join(cmd)}` exited {runs[failed[0] - 1]['exit']} in run(s) "
                 f"{', '.join(map(str, failed))}; nothing written (is siteopt installed? `pip install -e .`)")
    text = _table(runs, cmd)
    ns.results.parent.mkdir(parents=True, exist_ok=True)
    ns.results.write_text(text)
    ns.results.with_suffix(".json").write_text(json.dumps({"command": cmd, "runs": runs}, indent=1) + "\n")
    sys.stdout.write(text)
    print(f"written: {ns.results} and {ns.results.with_suffix('.json')}")


if __name__ == "__main__":
    main(sys.argv[1:])
