"""Solve one MPS file with HiGHS and print the answer as one JSON line (a subprocess).

``python -m optimiser.solve.highs_worker MODEL.mps --time-limit S [--seed N] [--threads N]
[--start START.json]``. Run by :func:`optimiser.solve.mip_export.solve_mps_highs`, never
imported by the package: it loads highspy, which must not share a process with OR-Tools.
This module imports nothing of ``optimiser`` beyond itself.

The answer: ``{"status": HiGHS's model status ("Optimal", "Time limit reached" ...),
"objective", "bound" (the MIP dual bound), "gap", "seconds" (HiGHS's run time), "nodes",
"ones": [names of the columns at 1]}`` (objective without the constant the MPS file leaves out).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

ABS_GAP = 0.99
"""The objective is integer-valued at integer points: an absolute gap below 1 proves the optimum."""


def solve(path: str, time_limit_s: float, seed: int, threads: int, start: str | None) -> dict[str, Any]:
    """Run HiGHS on ``path``; the answer described in the module docstring."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", ABS_GAP)
    if h.readModel(path) == highspy.HighsStatus.kError:
        raise SystemExit(f"HiGHS could not read {path}")
    lp = h.getLp()
    names = list(lp.col_names_)
    if start:
        with open(start, encoding="utf-8") as fh:
            values = json.load(fh)
        sol = highspy.HighsSolution()
        sol.col_value = [float(values.get(n, 0.0)) for n in names]
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    col = list(h.getSolution().col_value) if has_sol else []
    integer = [t == highspy.HighsVarType.kInteger for t in lp.integrality_] if len(lp.integrality_) else [False] * len(names)

    def finite(v: float) -> float | None:
        return float(v) if math.isfinite(v) and abs(v) < 1e300 else None

    return {
        "status": status,
        "objective": finite(info.objective_function_value) if has_sol else None,
        "bound": finite(info.mip_dual_bound),
        "gap": finite(info.mip_gap),
        "seconds": round(float(h.getRunTime()), 4),
        "nodes": int(info.mip_node_count),
        "ones": [n for n, v, i in zip(names, col, integer) if i and v > 0.5],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--time-limit", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--start")
    a = ap.parse_args(argv)
    print(json.dumps(solve(a.model, a.time_limit, a.seed, a.threads, a.start)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
