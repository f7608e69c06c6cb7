"""The eager or the lazy LP for relax-first's exact models (wave 28): an experiment, not part of the solver.

Runs one scenario file through the public pipeline (CP-SAT, seed 0, one worker, ``--limit``),
keeps every CP-SAT model relax-first solves (the whole reduced exact model, each count vector's
model, any other backend call) with the parameters it was given, then solves each kept model of
at least ``--min-vars`` variables alone twice: with every constraint in CP-SAT's LP from the start
(``add_lp_constraints_lazily=False``, "lp-eager") and with the LP built lazily ("lp"), every other
parameter as relax-first set it. Reported per model: status, objective, deterministic units and
CPU seconds (``time.process_time``, the model's load included) of both. ``WHOLE_EXACT_LP_EAGER``
and ``EXACT_LP_EAGER`` in ``optimiser/solve/relax_first_settings.py`` cite these figures.

    python benchmarks/realsites/generate.py 12 25 90 /tmp/rs012
    python benchmarks/realsites/lp_probe.py /tmp/rs012/scenario.yaml --out benchmarks/realsites/probes/lp_rs012.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model


def _kept_solves(scenario: str, limit_s: float) -> tuple[list[tuple[str, str, dict[str, Any]]], Any]:
    """Run ``scenario`` keeping each CP-SAT model (as proto text), its parameters and its own outcome."""
    from optimiser.pipeline import run_scenario

    kept: list[tuple[str, str, dict[str, Any]]] = []
    real = cp_model.CpSolver.solve

    def keep(self: cp_model.CpSolver, model: cp_model.CpModel, *a: Any, **k: Any) -> Any:
        t = time.process_time()
        code = real(self, model, *a, **k)
        seen = {"status": self.status_name(code), "units": self.response_proto.deterministic_time,
                "cpu_s": round(time.process_time() - t, 3), "variables": len(model.proto.variables),
                "eager": not self.parameters.add_lp_constraints_lazily}
        kept.append((str(model.proto), str(self.parameters), seen))
        return code

    cp_model.CpSolver.solve = keep  # type: ignore[method-assign]
    try:
        res = run_scenario(scenario, None, render=False, time_limit_s=limit_s, seed=0, workers=1).solve
    finally:
        cp_model.CpSolver.solve = real  # type: ignore[method-assign]
    return kept, res


def _solve_alone(proto_text: str, params_text: str, lazily: bool) -> dict[str, Any]:
    """One kept model solved alone with its parameters, the LP lazy or eager."""
    m = cp_model.CpModel()
    m.proto.parse_text_format(proto_text)
    s = cp_model.CpSolver()
    s.parameters.parse_text_format(params_text)
    s.parameters.add_lp_constraints_lazily = lazily
    t = time.process_time()
    code = s.solve(m)
    return {"status": s.status_name(code), "objective": s.objective_value if code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            else None, "units": round(s.response_proto.deterministic_time, 3), "cpu_s": round(time.process_time() - t, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--limit", type=float, default=60.0, help="the run's time limit (s)")
    ap.add_argument("--min-vars", type=int, default=5000, help="re-solve only models at least this large")
    ap.add_argument("--out", default=None, help="JSON file for the figures")
    a = ap.parse_args(argv)
    kept, res = _kept_solves(a.scenario, a.limit)
    rows = []
    for i, (proto, params, seen) in enumerate(kept, 1):
        row: dict[str, Any] = {"model": i, "in_run": seen}
        if seen["variables"] >= a.min_vars:
            row["eager"] = _solve_alone(proto, params, lazily=False)
            row["lazy"] = _solve_alone(proto, params, lazily=True)
            print(f"model {i}: {seen['variables']} vars, in the run {seen['status']} ({'eager' if seen['eager'] else 'lazy'}); "
                  f"eager {row['eager']['units']} units {row['eager']['cpu_s']} s, "
                  f"lazy {row['lazy']['units']} units {row['lazy']['cpu_s']} s", flush=True)
        rows.append(row)
    out = {"scenario": a.scenario, "limit_s": a.limit, "status": str(res.status), "objective": res.objective,
           "load_end": os.getloadavg(), "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "models": rows}
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
