"""What relax-first's backend calls are charged against what they cost (session 32): an experiment, not part of the solver.

Relax-first runs on a work budget (nominal seconds, ``optimiser/solve/relax_first_settings.py``):
a CP-SAT call is charged a set-up per radius level (``BACKEND_SETUP_SECONDS_PER_LEVEL``) and its
deterministic units at ``BACKEND_UNITS_PER_S``. This runs relax-first on each problem at
``--limit`` (seed 0, one worker) with every whole-model backend call recorded (the reduced
relaxation, the alternating phase, the whole reduced exact model; the exact phase's per-vector
calls are not recorded): the model's size, what the call was charged, its CPU, CP-SAT's own wall
time (the rest of the call is building the model) and its units. Where the charge is below the
CPU a 10 s run ends late; where it is far above, the call is cut short of a proof it would reach.

Problems: generated rows by name (``--only rs012-f25,...``: any of ``generate.py``'s default,
held-out or ``--seeds`` problems, as ``run.py`` names them) and the independent generator's
seeds (``--independent 6,10,114``). Results: ``--out`` (JSON, one object per problem), the table beside it (``.md``) and
on stdout. Run from the repository root:

    python benchmarks/realsites/backend_rates.py \\
        --seeds 19:40:80,20:20:120,21:50:60,22:35:100,23:60:70,24:25:40,25,26,27,28,29,30,31,32 \\
        --independent 2,6,10,11,100,107,109,110,112,114 \\
        --only rs004-f40,rs005-f50,rs012-f25,rs018-f50,rs026-f53,rs029-f57,rs031-f37 \\
        --out benchmarks/realsites/probes/backend_rates.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import independent  # noqa: E402
from generate import DEFAULT_PROBLEMS, HELDOUT_PROBLEMS, make_problem, write_problem  # noqa: E402
from run import parse_seeds  # noqa: E402

from optimiser.inputs import read_scenario  # noqa: E402
from optimiser.inputs.domain import SolveOptions  # noqa: E402
from optimiser.model.problem import Problem  # noqa: E402
from optimiser.pipeline import prepare  # noqa: E402
from optimiser.solve import relax_first as rf  # noqa: E402
from optimiser.solve.strategy import solve  # noqa: E402


@contextmanager
def recorded_calls() -> Iterator[list[dict[str, Any]]]:
    """Every whole-model backend call of relax-first while inside: its size, charge, CPU and units."""
    calls: list[dict[str, Any]] = []
    charged_search, backend_solve = rf.RelaxFirst.charged_search, rf.RelaxFirst.backend_solve

    def charged(self: rf.RelaxFirst, levels: int, budget_s: float, eager_lp: bool, what: str, call: Any,
                lane: Any = None) -> Any:
        cpu0, wall0, work0 = time.process_time(), time.perf_counter(), self.work_s

        def timed(opts: SolveOptions) -> Any:
            r, det, stopped_by = call(opts)
            calls.append({"what": what, "levels": levels, "status": r.status.value, "units": det,
                          "unit_limit": opts.time_limit_s * rf.DETERMINISTIC_PER_SECOND,
                          "setup_charged_s": round(self.backend_cost(levels), 3),
                          "cpu_s": round(time.process_time() - cpu0, 3), "wall_s": round(time.perf_counter() - wall0, 3),
                          "cpsat_wall_s": r.stats.get("wall_seconds"), "lane": lane is not None})
            return r, det, stopped_by

        r = charged_search(self, levels, budget_s, eager_lp, what, timed, lane)
        if calls and "charged_s" not in calls[-1]:
            calls[-1]["charged_s"] = round(self.work_s - work0, 3) if lane is None else None
        return r

    def backend(self: rf.RelaxFirst, problem: Problem, *a: Any, **kw: Any) -> Any:
        n = len(calls)
        r = backend_solve(self, problem, *a, **kw)
        if len(calls) > n:
            calls[-1].update({k: v for k, v in problem.sizes().items() if k in ("decisions", "options", "clients")})
        return r

    rf.RelaxFirst.charged_search, rf.RelaxFirst.backend_solve = charged, backend  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        rf.RelaxFirst.charged_search, rf.RelaxFirst.backend_solve = charged_search, backend_solve  # type: ignore[method-assign]


def generated_problem(name: str, seeds: str | None, tmp: Path) -> Problem:
    """A generated problem by its name (``rs012-f25``)."""
    table = DEFAULT_PROBLEMS + HELDOUT_PROBLEMS + (parse_seeds(seeds) if seeds else ())
    for seed, firms, crossings in table:
        gen = make_problem(seed, firms, crossings)
        if gen.id == name:
            return prepare(read_scenario(write_problem(gen, tmp / gen.id))).problem
    raise SystemExit(f"unknown generated problem {name!r}")


def independent_problem(seed: int, tmp: Path) -> Problem:
    """The independent generator's problem of ``seed``."""
    independent.write(seed, tmp / f"ind{seed:03d}")
    return prepare(read_scenario(tmp / f"ind{seed:03d}" / "scenario.yaml")).problem


def measure(name: str, problem: Problem, limit_s: float) -> dict[str, Any]:
    """Relax-first on ``problem`` at ``limit_s``, its backend calls recorded."""
    load = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    with recorded_calls() as calls:
        res = solve(problem, SolveOptions(time_limit_s=limit_s, seed=0, workers=1))
    info = res.stats.get("relaxation", {})
    return {"problem": name, "limit_s": limit_s, "status": res.status.value, "objective": res.objective,
            "gap": res.gap, "solve_cpu_s": round(time.process_time() - cpu, 3),
            "solve_wall_s": round(time.perf_counter() - wall, 3), "work_s": info.get("work_s", {}).get("total"),
            "load_before": load, "calls": calls}


def table(rows: list[dict[str, Any]]) -> str:
    """The calls, one line each: charged against CPU, and CP-SAT's units per second of its own wall time."""
    out = ["| problem | solve wall s | work s | call | levels | options | charged s | CPU s | charged / CPU"
           " | CP-SAT wall s | units | units per CP-SAT s |",
           "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        head = f"| {row['problem']} | {row['solve_wall_s']:.2f} | {row['work_s'] or 0:.2f} |"
        if not row["calls"]:
            out.append(head + " (none) | | | | | | | | |")
        for c in row["calls"]:
            units, cw = c["units"] or 0.0, c["cpsat_wall_s"] or 0.0
            out.append(f"{head} {c['what']} | {c['levels']:,} | {c.get('options', 0):,} | {c['charged_s']:.2f} | "
                       f"{c['cpu_s']:.2f} | {c['charged_s'] / max(c['cpu_s'], 1e-3):.2f} | {cw:.2f} | {units:.3f} | "
                       f"{units / max(cw, 1e-3):.3f} |")
            head = "| | | |"
    return "\n".join(out)


def _commit() -> str:
    """The checked-out commit (``+dirty`` with changes), or ``unknown``."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "optimiser"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="generated problems by name, comma list")
    ap.add_argument("--seeds", help="generate.py seeds the names may come from (run.py's --seeds syntax)")
    ap.add_argument("--independent", default="", help="independent.py seeds, comma list")
    ap.add_argument("--limit", type=float, default=10.0, help="time limit (s), default 10")
    ap.add_argument("--out", type=Path, required=True, help="results (JSON)")
    a = ap.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in filter(None, a.only.split(",")):
            rows.append(measure(name, generated_problem(name, a.seeds, Path(tmp)), a.limit))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
        for seed in filter(None, a.independent.split(",")):
            rows.append(measure(f"ind{int(seed):03d}", independent_problem(int(seed), Path(tmp)), a.limit))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
            "started": started, "cpus": os.cpu_count(), "commit": _commit()}
    a.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1), encoding="utf-8")
    a.out.with_suffix(".md").write_text(table(rows) + "\n", encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
