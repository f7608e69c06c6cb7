"""Experiment (not part of the solver): HiGHS on the reduced radius model of one (instance, p).

Usage (from the repository root)::

    python benchmarks/pmed_large/highs_experiment.py rl1304 10 2134294 --time-limit 240
    python benchmarks/pmed_large/highs_experiment.py fl1400 200 8805 --time-limit 300

The parent runs ``solve_pmedian`` up to its exact phase (greedy, root Lagrangian, iterated local
search, POPMUSIC: the multipliers and fixings that phase would get), eliminates the client-facility
pairs against ``target`` (the third argument: the incumbent minus one, or the optimum minus one to
time the proof alone) and writes the pairs to a ``.npz``; a child process (HiGHS must not share a
process with OR-Tools) builds the radius model of ``optimiser/pmedian/exact.py`` (binary ``y`` and
``u``, no objective constant) with ``objective_bound = target - constant + 0.5`` and one thread, and
prints HiGHS's status, bound (plus the constant), nodes, simplex iterations, CPU seconds and peak
memory as one JSON line.  HiGHS's log goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np
from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)


def dump(instance: str, p: int, target: float, path: str) -> None:
    """Parent: the solver's state before its exact phase, pairs eliminated against ``target``."""
    import optimiser.pmedian.solver as sv
    from optimiser.pmedian import read_tsplib_pmed
    from optimiser.pmedian.lagrangian import eliminate_pairs

    cost, _ = read_tsplib_pmed(os.path.join(DATA, f"{instance}.tsp"))
    state: dict[str, Any] = {}

    exact_phases = sv._exact_phases

    def stop_before_exact(run: Any, root: Any, *args: Any, **kwargs: Any) -> None:
        if run.inst.C.shape[0] != cost.shape[0]:  # a POPMUSIC window's own solve: run it unchanged
            exact_phases(run, root, *args, **kwargs)
            return
        pairs, _ = eliminate_pairs(run.inst, root.free_idx, root.open_idx, root.best_lam, target)
        rows = np.repeat(np.arange(len(pairs)), [c.size for c in pairs])
        cols = np.concatenate(pairs)
        state.update(indptr=np.cumsum([0] + [c.size for c in pairs]), cols=cols, costs=run.inst.C[rows, cols],
                     free=root.free_idx, open=root.open_idx, k=p - root.open_idx.size, target=target)
        print(f"incumbent {run.UB:.0f}, bound {run.LB:.0f}, {root.free_idx.size} free, {root.open_idx.size} open, "
              f"{cols.size} pairs against {target:.0f}", file=sys.stderr)

    sv._exact_phases = stop_before_exact  # type: ignore[assignment]
    sv.solve_pmedian(cost, p, time_limit_s=600.0)
    np.savez(path, **state)


def radius_rows(data: Any) -> tuple[int, list[float], list[int], list[int], list[float], list[float], float]:
    """The radius model's rows (row-wise, without the cardinality row): ``(number of y, column costs,
    row starts, indices, values, row lower bounds, objective constant)``."""
    indptr, cols, costs, free = data["indptr"], data["cols"], data["costs"], data["free"]
    size = int(max(free.max(initial=0), data["open"].max(initial=0))) + 1
    ypos = np.full(size, -1, dtype=np.int64)
    ypos[free] = np.arange(free.size)
    is_open = np.zeros(size, dtype=bool)
    is_open[data["open"]] = True
    col_cost = [0.0] * free.size
    starts, index, value, lower = [0], [], [], []
    const = 0.0
    for i in range(indptr.size - 1):
        c, v = cols[indptr[i]:indptr[i + 1]], costs[indptr[i]:indptr[i + 1]]
        order = np.argsort(v, kind="stable")
        c, v = c[order], v[order]
        levels, first = np.unique(v, return_index=True)
        last = np.append(first[1:], c.size)
        const += float(levels[0])
        prev = -1
        for kk in range(levels.size):
            group = c[first[kk]:last[kk]]
            if is_open[group].any():
                break
            idx, val = [int(t) for t in ypos[group]], [1.0] * group.size
            if prev >= 0:
                idx.append(prev)
                val.append(-1.0)
            u = -1
            if kk < levels.size - 1:
                u = len(col_cost)
                col_cost.append(float(levels[kk + 1] - levels[kk]))
                idx.append(u)
                val.append(1.0)
            index += idx
            value += val
            starts.append(len(index))
            lower.append(1.0 if prev < 0 else 0.0)
            if u < 0:
                break
            prev = u
    return int(free.size), col_cost, starts, index, value, lower, const


def child(path: str, time_limit_s: float) -> dict[str, Any]:
    """Child: build the model and solve it with HiGHS (one thread)."""
    import highspy

    data = np.load(path)
    nfree, col_cost, starts, index, value, lower, const = radius_rows(data)
    nvar, k = len(col_cost), int(data["k"])
    h = highspy.Highs()
    for key, val in (("output_flag", True), ("log_to_console", True), ("threads", 1), ("mip_rel_gap", 0.0),
                     ("mip_abs_gap", 0.0), ("time_limit", time_limit_s),
                     ("objective_bound", float(data["target"]) - const + 0.5)):
        h.setOptionValue(key, val)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nvar, len(lower) + 1
    lp.col_cost_ = np.array(col_cost)
    lp.col_lower_, lp.col_upper_ = np.zeros(nvar), np.ones(nvar)
    lp.row_lower_ = np.append(lower, k)
    lp.row_upper_ = np.append(np.full(len(lower), highspy.kHighsInf), k)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.append(starts, starts[-1] + nfree)
    lp.a_matrix_.index_ = np.append(index, np.arange(nfree)).astype(np.int32)
    lp.a_matrix_.value_ = np.append(value, np.ones(nfree))
    lp.integrality_ = [highspy.HighsVarType.kInteger] * nvar
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"status": h.modelStatusToString(h.getModelStatus()), "bound": info.mip_dual_bound + const,
            "nodes": int(info.mip_node_count), "simplex_iterations": int(info.simplex_iteration_count),
            "columns": nvar, "rows": len(lower) + 1, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("p", type=int)
    ap.add_argument("target", type=float)
    ap.add_argument("--time-limit", type=float, default=240.0)
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.time_limit)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pairs.npz")
        dump(a.instance, a.p, a.target, path)
        cmd = [sys.executable, os.path.abspath(__file__), a.instance, str(a.p), str(a.target), "--time-limit",
               str(a.time_limit), "--child", path]
        return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
