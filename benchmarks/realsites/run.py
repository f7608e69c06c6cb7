"""Benchmark: real-shaped districts and the embedded sites through CP-SAT, CBC and HiGHS.

Usage (from the repository root; HiGHS needs ``pip install -e '.[bench]'``):

    python benchmarks/realsites/run.py [--quick | --heldout | --seeds S[:F:C],...] [--limits 10,60] [--backend-limit 60]
                                       [--prove-limit 0] [--no-cbc] [--no-highs] [--out DIR]

``--heldout`` runs the held-out generated problems (``generate.HELDOUT_PROBLEMS``, seeds 11-18:
never used to tune the solver) instead of the six default ones and the embedded sites;
``--seeds 19:40:80,26`` runs any other generated problems (``SEED`` alone: firms and crossings
drawn from the seed), written to ``seeds/`` beside this file.

Each problem is a pair of real files: generated ones (:mod:`generate`: ``site.yaml`` and
``scenario.yaml`` in a temporary folder) or an embedded scenario (``constraints/amp_sbp/
baseline.yaml``, ``constraints/fremont/baseline.yaml``). Each is validated with the project's
validator and run through :func:`optimiser.run_scenario` exactly as ``siteopt run FILE`` runs
it (no run directory written), with seed 0 and one worker:

- CP-SAT with each time limit of ``--limits`` (deterministic work limits: the same answer on a
  busy machine); a run proven optimal ends the series (a larger limit proves it too). The time
  to a proven optimum is the proving run's solve seconds (wall, with the load beside it) and its
  CP-SAT deterministic time; with ``--prove-limit S`` an unproven problem gets one more run;
- CBC (``backend: cbc``) with ``--backend-limit`` seconds (wall clock: CBC has no work limit);
- HiGHS on the same model: the problem CP-SAT solved, written once as MPS from the CBC
  backend's PuLP model (:mod:`optimiser.solve.mip_export`) and solved in a separate process
  (highspy and OR-Tools clash in one process), ``--backend-limit`` seconds, 1 thread, seed 0.

Per problem: each backend's status, objective, bound, gap, seconds and CPU seconds (HiGHS and
CBC run as subprocesses: their CPU is the children's), verification, the time ratios CBC/CP-SAT
and HiGHS/CP-SAT (to a proven optimum; ``>`` when the other backend did not prove it within its
limit), and ``agree``: ``OK`` when every backend that proved an optimum found the same one and
no incumbent beats it and no bound exceeds it, ``WRONG`` otherwise (a bug), ``n/a`` with fewer
than two proofs. Writes ``results.json`` (everything, plus machine, commit and the load average
at the start and end of each problem) and ``results.csv`` after every problem.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's optimiser, whatever is installed
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    CROSSINGS_RANGE,
    DEFAULT_PROBLEMS,
    FIRMS_RANGE,
    HELDOUT_PROBLEMS,
    QUICK_PROBLEMS,
    in_range,
    make_problem,
    write_problem,
)

from optimiser.errors import ModelTooLargeError, SolverError, TimeLimitError  # noqa: E402
from optimiser.inputs import validate_files  # noqa: E402
from optimiser.pipeline import run_scenario  # noqa: E402
from optimiser.solve.mip_export import highs_available, solve_mps_highs, write_mps  # noqa: E402
from optimiser.verify import verify  # noqa: E402

EMBEDDED = (("amp_sbp-baseline", ROOT / "constraints/amp_sbp/baseline.yaml"),
            ("fremont-baseline", ROOT / "constraints/fremont/baseline.yaml"))
TOL = 0.5
"""Objectives are integers (model units): two optima agree when they differ by less than this."""


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Machine, versions and commit, for the results file."""
    import psutil

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "ortools": _version("ortools"),
            "pulp": _version("pulp"), "highspy": _version("highspy"), "commit": _commit()}


def run_backend(path: Path, backend: str, limit_s: float, workers: int = 1) -> tuple[dict[str, Any], Any]:
    """One ``run_scenario`` of a scenario file (``workers``: CP-SAT's): its figures, and the RunResult."""
    cpu0, child0, t0 = time.process_time(), _child_cpu(), time.perf_counter()
    rr = run_scenario(path, None, backend=backend, time_limit_s=limit_s, seed=0, workers=workers, render=False)
    res = rr.solve
    row = {"status": str(res.status), "objective": res.objective, "bound": res.bound,
           "gap": None if res.gap is None else round(res.gap, 6), "solve_s": round(res.solve_seconds, 3),
           "run_s": round(time.perf_counter() - t0, 3),
           "cpu_s": round(time.process_time() - cpu0 + _child_cpu() - child0, 3),
           "deterministic_time": res.stats.get("deterministic_time"), "stopped_by": res.stopped_by,
           "verified": None if rr.verification is None else bool(rr.verification.passed), "limit_s": limit_s}
    return row, rr


def run_highs(rr: Any, limit_s: float, folder: Path) -> dict[str, Any]:
    """The problem ``rr`` solved, as MPS, through HiGHS in a subprocess; its layout verified."""
    prep = rr.prepared
    model = write_mps(prep.problem, folder / "model.mps")
    child0, t0 = _child_cpu(), time.perf_counter()
    res = solve_mps_highs(model, limit_s, seed=0, threads=1)
    row: dict[str, Any] = {"status": str(res.status), "objective": res.objective, "bound": res.bound,
                           "gap": None if res.gap is None else round(res.gap, 6), "solve_s": round(res.solver_seconds, 3),
                           "run_s": round(time.perf_counter() - t0, 3), "cpu_s": round(_child_cpu() - child0, 3),
                           "highs_status": res.raw.get("status"), "nodes": res.raw.get("nodes"),
                           "mps_columns": model.n_columns, "mps_rows": model.n_rows, "export_s": round(model.seconds, 3),
                           "limit_s": limit_s}
    if res.objective is not None:
        exact = float(prep.problem.objective_of(set(res.chosen)))
        row["objective_matches_layout"] = abs(exact - res.objective) < TOL
        ver = verify(prep.problem, prep.context, res.chosen, exact, raise_on_failure=False)
        row["verified"] = bool(ver.passed)
    return row


def cbc_bound_fixed(cbc: dict[str, Any] | None, constant: float | None) -> None:
    """CBC's bound as the pipeline reports it comes from CBC's log, which leaves out the
    objective's constant (PuLP writes none into the MPS file CBC reads): a bound below the
    constant (no layout can beat the constant: every other term is >= 0) is given it back, in
    ``bound``/``gap``; the reported values stay in ``reported_bound``/``reported_gap``."""
    if not cbc or constant is None or cbc.get("bound") is None or "reported_bound" in cbc:
        return
    if cbc["bound"] < constant and cbc.get("status") != "optimal":
        cbc["reported_bound"], cbc["reported_gap"] = cbc["bound"], cbc["gap"]
        cbc["bound"] = cbc["bound"] + constant
        if cbc.get("objective"):
            cbc["gap"] = round((cbc["objective"] - cbc["bound"]) / abs(cbc["objective"]), 6)


def agreement(runs: dict[str, dict[str, Any]]) -> str:
    """``OK`` / ``WRONG`` / ``n/a``: do the proven optima, incumbents and bounds fit together?"""
    proven = {k: r["objective"] for k, r in runs.items() if r and r.get("status") == "optimal" and r.get("objective") is not None}
    if not proven:
        return "n/a"
    opt = min(proven.values())
    if max(proven.values()) - opt >= TOL:
        return "WRONG: proven optima differ " + ", ".join(f"{k} {v:.0f}" for k, v in proven.items())
    for k, r in runs.items():
        if not r:
            continue
        if r.get("objective") is not None and r["objective"] < opt - TOL:
            return f"WRONG: {k} incumbent {r['objective']:.0f} below the proven optimum {opt:.0f}"
        if r.get("bound") is not None and r["bound"] > opt + TOL:
            return f"WRONG: {k} bound {r['bound']:.0f} above the proven optimum {opt:.0f}"
        if r.get("verified") is False:
            return f"WRONG: {k} layout failed verification"
    return "OK" if len(proven) >= 2 else "n/a"


def ratio(other: dict[str, Any] | None, cpsat_s: float | None, cpsat_proved: bool) -> str | None:
    """Time to a proven optimum of another backend over CP-SAT's ('>x' / '<x' when one did not prove it)."""
    if not other or other.get("solve_s") is None or cpsat_s is None or cpsat_s <= 0:
        return None
    other_proved = other.get("status") == "optimal"
    r = other["solve_s"] / cpsat_s
    if other_proved and cpsat_proved:
        return f"{r:.2f}"
    if cpsat_proved:
        return f">{r:.1f}"
    if other_proved:
        return f"<{r:.2f}"
    return None


def run_problem(name: str, path: Path, facts: dict[str, Any], a: argparse.Namespace, folder: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"problem": name, **facts, "load_start": _load(), "started": time.strftime("%H:%M:%S")}
    row["validation_problems"] = [str(p) for p in validate_files([path])]
    series = []
    rr = None
    for lim in [float(x) for x in a.limits.split(",")] + ([a.prove_limit] if a.prove_limit else []):
        t0 = time.perf_counter()
        try:
            one, got = run_backend(path, "cpsat", lim, a.workers)
            rr = got
        except (TimeLimitError, ModelTooLargeError) as exc:  # what the user gets: recorded, and on to the next limit
            one = {"status": "refused", "error": str(exc), "objective": None, "bound": None, "gap": None, "solve_s": None,
                   "run_s": round(time.perf_counter() - t0, 3), "deterministic_time": None, "limit_s": lim}
        series.append(one)
        print(f"[{name}] cpsat {lim:g} s: {one['status']} gap={one['gap']} {one['solve_s']} s", flush=True)
        if one["status"] == "optimal":
            break
    if rr is None:  # every limit refused
        row.update(cpsat=series, cpsat_best=series[-1], load_end=_load(), agree="n/a", cbc=None, highs=None)
        return row
    info = rr.metrics.model
    row.update(decisions=info.get("decisions"), candidate_crossings=info.get("candidate_crossings"),
               facility_candidates=info.get("facility_candidates"), levels=info.get("levels"),
               options=info.get("options"), clients=info.get("clients"), warnings=len(rr.metrics.warnings or []))
    row["objective_constant"] = float(rr.prepared.problem.constant)
    row["cpsat"] = series
    for lim in [float(x) for x in a.limits.split(",")]:
        done = [s for s in series if s["limit_s"] <= lim]
        row[f"cpsat_gap_{lim:g}s"] = 0.0 if done and done[-1]["status"] == "optimal" else (
            next((s["gap"] for s in series if s["limit_s"] == lim), None))
    best = next(s for s in reversed(series) if s["status"] != "refused")
    proved = best["status"] == "optimal"
    row["cpsat_best"] = best
    row["cpsat_opt_s"] = best["solve_s"] if proved else None
    row["cpsat_opt_dettime"] = best["deterministic_time"] if proved else None
    row["cbc"] = None
    if not a.no_cbc:
        try:
            row["cbc"], _ = run_backend(path, "cbc", a.backend_limit)
        except SolverError as exc:
            row["cbc"] = {"status": "error", "error": str(exc), "solve_s": None}
        print(f"[{name}] cbc: {row['cbc']['status']} gap={row['cbc']['gap']} {row['cbc']['solve_s']} s", flush=True)
    row["highs"] = None
    if not a.no_highs:
        if highs_available():
            try:
                row["highs"] = run_highs(rr, a.backend_limit, folder)
            except SolverError as exc:  # recorded, and the benchmark goes on
                row["highs"] = {"status": "error", "error": str(exc), "solve_s": None}
            print(f"[{name}] highs: {row['highs']['status']} gap={row['highs']['gap']} {row['highs']['solve_s']} s", flush=True)
        else:
            row["highs_note"] = "highspy not installed (pip install -e '.[bench]')"
    row["load_end"] = _load()
    compare(row)
    print(f"[{name}] agree: {row['agree']}; ratios cbc {row['cbc_over_cpsat']} highs {row['highs_over_cpsat']}; "
          f"load {row['load_start']} -> {row['load_end']}", flush=True)
    return row


def compare(row: dict[str, Any]) -> None:
    """The CBC bound with its constant, the time ratios and the agreement check of one row."""
    best = row["cpsat_best"]
    proved = best["status"] == "optimal"
    cbc_bound_fixed(row.get("cbc"), row.get("objective_constant"))
    row["cbc_over_cpsat"] = ratio(row.get("cbc"), best["solve_s"], proved)
    row["highs_over_cpsat"] = ratio(row.get("highs"), best["solve_s"], proved)
    row["agree"] = agreement({"cpsat": best, "cbc": row.get("cbc"), "highs": row.get("highs")})


def parse_seeds(text: str) -> tuple[tuple[int, int | None, int | None], ...]:
    """``--seeds``: a comma list of ``SEED`` (firms and crossings drawn from the seed) or
    ``SEED:FIRMS:CROSSINGS``, as (seed, firms, target crossings) for :func:`generate.make_problem`."""
    out: list[tuple[int, int | None, int | None]] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        parts = [p.strip() for p in item.split(":")]
        if len(parts) not in (1, 3) or not all(p.isascii() and p.isdigit() for p in parts):
            raise argparse.ArgumentTypeError(f"--seeds: {item!r} is not SEED or SEED:FIRMS:CROSSINGS (whole numbers)")
        seed, *rest = (int(p) for p in parts)
        if rest and not in_range(rest[0], rest[1]):
            raise argparse.ArgumentTypeError(
                f"--seeds: {item!r}: FIRMS must be {FIRMS_RANGE[0]}-{FIRMS_RANGE[1]} and CROSSINGS "
                f"{CROSSINGS_RANGE[0]}-{CROSSINGS_RANGE[1]} (SEED:FIRMS:CROSSINGS; the benchmark's sites have 10-60 and 30-150)")
        out.append((seed, rest[0], rest[1]) if rest else (seed, None, None))
    if not out:
        raise argparse.ArgumentTypeError("--seeds: give at least one SEED or SEED:FIRMS:CROSSINGS")
    return tuple(out)


def independent_problems(seeds: tuple[int, ...], tmp: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """(name, scenario file, facts) of the problems ``independent.py`` writes for ``seeds``: a
    second generator, written from the documented formats only (``independent.md``)."""
    import independent

    out = []
    for seed in seeds:
        folder = tmp / f"ind{seed:03d}"
        summary = independent.write(seed, folder)
        out.append((f"ind{seed:03d}-f{summary['firms']}", folder / "scenario.yaml",
                    {"seed": seed, "firms": summary["firms"], "barriers": summary["barriers"].count("+") + 1,
                     "barrier_kinds": "+".join(b.split("/")[0] for b in summary["barriers"].split("+")),
                     "target_crossings": summary["crossings_target"], "anchor_staff": summary["anchor"],
                     "files": "independent.py"}))
    return out


def _seed_list(text: str) -> tuple[int, ...]:
    """``--independent``: a comma list of seeds and ranges (``1-16,100-117``)."""
    seeds: list[int] = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        lo, _, hi = item.partition("-")
        try:
            seeds.extend(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"--independent: {item!r} is not SEED or FIRST-LAST (whole numbers)") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--independent: give at least one seed")
    return tuple(seeds)


def problems(quick: bool, tmp: Path, heldout: bool = False,
             seeds: tuple[tuple[int, int | None, int | None], ...] | None = None) -> list[tuple[str, Path, dict[str, Any]]]:
    """(name, scenario file, facts) of every problem: generated files first, then the embedded sites
    (``heldout``: the held-out generated problems only, no embedded sites; ``seeds``: these
    generated problems only)."""
    out = []
    chosen = seeds if seeds else HELDOUT_PROBLEMS if heldout else QUICK_PROBLEMS if quick else DEFAULT_PROBLEMS
    for seed, firms, crossings in chosen:
        prob = make_problem(seed, firms, crossings)
        path = write_problem(prob, tmp / prob.id)
        out.append((prob.id, path, {"seed": seed, "firms": prob.n_firms, "barriers": prob.n_barriers,
                                    "barrier_kinds": "+".join(prob.barrier_kinds), "target_crossings": prob.target_crossings,
                                    "anchor_staff": prob.anchor_staff, "files": "generated"}))
    for name, path in () if heldout or seeds else EMBEDDED[:1] if quick else EMBEDDED:
        out.append((name, path, {"files": str(path.relative_to(ROOT))}))
    return out


CSV_COLS = ["problem", "firms", "barriers", "barrier_kinds", "anchor_staff", "candidate_crossings", "facility_candidates",
            "decisions", "levels", "warnings", "cpsat_opt_s", "cpsat_opt_dettime", "cpsat_gap_10s", "cpsat_gap_60s",
            "cpsat_status", "cpsat_objective", "cbc_status", "cbc_gap", "cbc_s", "highs_status", "highs_gap", "highs_s",
            "cbc_over_cpsat", "highs_over_cpsat", "agree", "load_start", "load_end"]


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    f = dict(r)
    f["cpsat_status"] = r["cpsat_best"]["status"]
    f["cpsat_objective"] = r["cpsat_best"]["objective"]
    for k in ("cbc", "highs"):
        b = r.get(k) or {}
        f[f"{k}_status"], f[f"{k}_gap"], f[f"{k}_s"] = b.get("status"), b.get("gap"), b.get("solve_s")
    f["load_start"] = " ".join(map(str, r["load_start"]))
    f["load_end"] = " ".join(map(str, r["load_end"]))
    return f


def write(out: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str) + "\n")
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(_flat(r))


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.2f}"


def _backend_cell(b: dict[str, Any] | None) -> str:
    if not b:
        return "–"
    if b.get("solve_s") is None:
        return str(b.get("status"))
    if b.get("status") == "optimal":
        return f"optimal {b['solve_s']:.1f} s"
    return f"{b.get('status')} {_pct(b.get('gap'))} % ({b['solve_s']:.0f} s)"


def _gap_cell(r: dict[str, Any], lim: float) -> str:
    run = next((s for s in r.get("cpsat", []) if s["limit_s"] == lim), None)
    if run is not None and run["status"] == "refused":
        return "refused (time limit ran out in the build)"
    return _pct(r.get(f"cpsat_gap_{lim:g}s"))


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README table of the rows."""
    head = ("| problem | firms | barriers | anchor staff | cand. crossings | facility cand. | decisions | levels "
            "| CP-SAT to proven optimum s (det. time) | CP-SAT gap % at 10 s | at 60 s | CBC 60 s | HiGHS 60 s "
            "| CBC / CP-SAT | HiGHS / CP-SAT | agree | load start → end |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        det = r.get("cpsat_opt_dettime")
        opt = ("not proven" if r.get("cpsat_opt_s") is None
               else f"{r['cpsat_opt_s']:.1f} ({det:.2f})" if det is not None else f"{r['cpsat_opt_s']:.1f} (–)")
        kinds = r.get("barrier_kinds")
        bars = f"{r.get('barriers')} ({kinds.replace('dual_carriageway', 'dc').replace('motorway', 'mw')})" if kinds else "–"
        lines.append(" | ".join([
            f"| {r['problem']}", str(r.get("firms") or "–"), bars, str(r.get("anchor_staff") or "–"),
            str(r.get("candidate_crossings")), str(r.get("facility_candidates")), str(r.get("decisions")),
            f"{r.get('levels'):,}" if r.get("levels") is not None else "–", opt,
            _gap_cell(r, 10.0), _gap_cell(r, 60.0),
            _backend_cell(r.get("cbc")), _backend_cell(r.get("highs")),
            str(r.get("cbc_over_cpsat") or "–"), str(r.get("highs_over_cpsat") or "–"), str(r.get("agree")),
            f"{r['load_start'][0]:g} → {r['load_end'][0]:g} |"]))
    return "\n".join(lines)


def refresh(out: Path) -> None:
    """Recompute the derived columns of ``out/results.json`` (the objective constant, by building
    the problem again where it is missing), rewrite it and results.csv, print the table."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import prepare

    data = json.loads((out / "results.json").read_text())
    with tempfile.TemporaryDirectory(prefix="realsites-") as tmpdir:
        for r in data["rows"]:
            if r.get("objective_constant") is None:
                if r.get("files") == "generated":
                    path = write_problem(make_problem(r["seed"], r["firms"], r["target_crossings"]), Path(tmpdir) / r["problem"])
                elif r.get("files") == "independent.py":
                    path = independent_problems((r["seed"],), Path(tmpdir))[0][1]
                else:
                    path = ROOT / r["files"]
                r["objective_constant"] = float(prepare(read_scenario(path)).problem.constant)
            compare(r)
    write(out, data["rows"], data["meta"])
    print(markdown(data["rows"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small generated problems and AMP-SBP only")
    ap.add_argument("--limits", default="10,60", help="CP-SAT time limits, increasing (comma list, seconds)")
    ap.add_argument("--prove-limit", type=float, default=0.0, help="one more CP-SAT run with this limit when none proved")
    ap.add_argument("--backend-limit", type=float, default=60.0, help="time limit of CBC and of HiGHS (seconds)")
    ap.add_argument("--no-cbc", action="store_true")
    ap.add_argument("--no-highs", action="store_true")
    ap.add_argument("--heldout", action="store_true",
                    help="the held-out generated problems (seeds 11-18, never used for tuning) instead of the default set")
    ap.add_argument("--seeds", type=parse_seeds, default=None,
                    help="other generated problems instead: comma list of SEED (firms and crossings drawn from it) or "
                         "SEED:FIRMS:CROSSINGS; results in seeds/ of this folder unless --out")
    ap.add_argument("--independent", type=_seed_list, default=None,
                    help="the problems of independent.py instead (a second generator written from the documented formats "
                         "only): comma list of seeds and ranges, e.g. 1-16,100-117; results in independent/ unless --out")
    ap.add_argument("--only", default="", help="comma list of problem names to run (default: all)")
    ap.add_argument("--out", default=None, help="results folder (default: this folder; heldout/ in it with --heldout, seeds/ with --seeds)")
    ap.add_argument("--keep-files", default="", help="write the generated problems here instead of a temporary folder")
    ap.add_argument("--append", action="store_true", help="keep the other problems' rows already in --out's results.json")
    ap.add_argument("--workers", type=int, default=1,
                    help="CP-SAT's workers (default 1, reproducible; 2 or more: its portfolio in direct solves, relax-first's "
                         "count vectors on that many lanes of one worker each)")
    ap.add_argument("--table", action="store_true", help="only recompute the derived columns of --out's results and print the table")
    a = ap.parse_args(argv)
    a.out = a.out or str(HERE / "independent" if a.independent else HERE / "seeds" if a.seeds else
                         HERE / "heldout" if a.heldout else HERE)
    if a.table:
        refresh(Path(a.out))
        return 0
    meta = {"machine": machine(), "limits_s": a.limits, "prove_limit_s": a.prove_limit, "backend_limit_s": a.backend_limit,
            "seed": 0, "workers": a.workers, "quick": a.quick, "heldout": a.heldout, "seeds": a.seeds,
            "independent": a.independent, "load_start": _load(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": " ".join(["python", "benchmarks/realsites/run.py", *(argv if argv is not None else sys.argv[1:])])}
    rows: list[dict[str, Any]] = []
    if a.append and (Path(a.out) / "results.json").exists():
        old = json.loads((Path(a.out) / "results.json").read_text())
        # every appended command's own meta kept, in order (its load and times with it)
        earlier = old["meta"].get("appended", [])
        earlier = [earlier] if isinstance(earlier, dict) else list(earlier)
        rows, this, meta = old["rows"], meta, {**old["meta"], "appended": [*earlier, meta]}
    else:
        this = meta
    with tempfile.TemporaryDirectory(prefix="realsites-") as tmpdir:
        tmp = Path(a.keep_files) if a.keep_files else Path(tmpdir)
        only = {x for x in a.only.split(",") if x}
        chosen = independent_problems(a.independent, tmp) if a.independent else problems(a.quick, tmp, a.heldout, a.seeds)
        for name, path, facts in chosen:
            if only and name not in only:
                continue
            folder = Path(tmpdir) / f"{name}-mip"
            folder.mkdir(parents=True, exist_ok=True)
            rows = [r for r in rows if r["problem"] != name] + [run_problem(name, path, facts, a, folder)]
            this["load_end"] = _load()
            this["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            write(Path(a.out), rows, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
