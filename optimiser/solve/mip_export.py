"""The problem as a plain MIP file, solved by a general MIP solver (HiGHS) in another process.

The model written is the one the CBC backend solves (:func:`optimiser.solve.cbc.build_model`):
binary decisions and options, continuous level variables in [0, 1], the same integer-scaled
objective. It is written once as free MPS without its constant (kept in :class:`MpsModel` and
added back), so any MIP solver reads the same model; the greedy warm start every backend gets is
written beside it (variable name -> value, JSON).

HiGHS (``highspy``, the ``bench`` extra) must never be loaded in a process that has loaded
OR-Tools: the two clash (an undefined HiGHS symbol in libortools). :func:`solve_mps_highs`
therefore runs :mod:`optimiser.solve.highs_worker` as a subprocess, which imports highspy and
nothing of OR-Tools, and reads its answer back as JSON.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimiser.errors import SolverError
from optimiser.model.problem import Problem
from optimiser.solve.cbc import _set_warm_start, build_model
from optimiser.solve.result import Status, relative_gap
from optimiser.solve.warmstart import warm_start

logger = logging.getLogger(__name__)

__all__ = ["MpsModel", "MipResult", "write_mps", "solve_mps_highs", "highs_available"]

WORKER_MODULE = "optimiser.solve.highs_worker"
KILL_GRACE_S = 60.0
"""The subprocess is killed this long after twice its own time limit (reading a large file and
a loaded machine can keep HiGHS well past its limit: 90 s for a 60 s limit at load 12)."""


@dataclass(frozen=True)
class MpsModel:
    """A problem written as MPS.

    Attributes:
        path: the MPS file.
        constant: the objective's constant (integer model units), not in the file.
        n_decisions: decision variables ``x0 .. x{n-1}`` (in the problem's decision order).
        n_columns, n_rows: the model's size.
        start_path: the warm start (JSON: variable name -> value), or ``None``.
        start_objective: the warm start's exact objective, or ``None``.
        seconds: wall seconds to build and write it (warm start included).
    """

    path: Path
    constant: float
    n_decisions: int
    n_columns: int
    n_rows: int
    start_path: Path | None = None
    start_objective: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class MipResult:
    """What the MIP solver reported, in the problem's integer units (constant added back).

    Attributes:
        status: ``optimal`` (proven within an absolute gap below one unit of the integer
            objective), ``feasible``, ``infeasible`` or ``unknown``.
        objective, bound, gap: incumbent, best bound and relative gap (``None`` when absent).
        chosen: decision ids set to 1.
        solver_seconds: the solver's own run time; ``wall_seconds``: the subprocess, reading
            the file included.
        raw: the worker's whole JSON answer (status string, node count ...).
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    chosen: tuple[int, ...]
    solver_seconds: float
    wall_seconds: float
    raw: dict[str, Any] = field(default_factory=dict)


def write_mps(problem: Problem, path: str | os.PathLike[str], *, with_start: bool = True,
              start_time_limit_s: float = 60.0) -> MpsModel:
    """Write ``problem`` (the CBC backend's model) as free MPS, and its warm start beside it.

    Args:
        problem: the problem.
        path: the MPS file to write (its folder must exist).
        with_start: also compute the greedy warm start (:func:`~optimiser.solve.warmstart.warm_start`)
            and write it to ``<path>.start.json``.
        start_time_limit_s: the warm start's time limit (it is work-limited well before).
    """
    t0 = time.perf_counter()
    out = Path(path)
    lp, x = build_model(problem)
    constant = float(problem.constant)
    lp.objective.constant = 0.0  # added back on reading: MPS readers differ on an objective's RHS
    start_path = None
    start_obj = None
    if with_start:
        start = warm_start(problem, start_time_limit_s)
        if start.hint is not None:
            _set_warm_start(problem, lp, start.hint)
            values = {v.name: float(v.varValue) for v in lp.variables() if v.varValue is not None}
            start_path = out.with_suffix(out.suffix + ".start.json")
            start_path.write_text(json.dumps(values), encoding="utf-8")
            start_obj = None if start.objective is None else float(start.objective)
    lp.writeMPS(str(out), rename=0)
    logger.info("wrote %s: %d columns, %d rows", out, lp.numVariables(), lp.numConstraints())
    return MpsModel(out, constant, len(x), lp.numVariables(), lp.numConstraints(), start_path, start_obj,
                    time.perf_counter() - t0)


def highs_available() -> bool:
    """Whether highspy is installed (checked without importing it here)."""
    import importlib.util

    return importlib.util.find_spec("highspy") is not None


_STATUS = {"Optimal": Status.OPTIMAL, "Infeasible": Status.INFEASIBLE}


def _result(model: MpsModel, raw: dict[str, Any], wall_s: float) -> MipResult:
    c = model.constant
    obj = raw.get("objective")
    bound = raw.get("bound")
    objective = None if obj is None or not math.isfinite(obj) else float(obj) + c
    best = None if bound is None or not math.isfinite(bound) else float(bound) + c
    status = _STATUS.get(raw.get("status", ""), Status.FEASIBLE if objective is not None else Status.UNKNOWN)
    if status is Status.OPTIMAL and objective is not None:
        objective = float(round(objective))  # the objective is integer-valued at integer points
        best = objective if best is None or objective - best < 1.0 else best
    gap = relative_gap(objective, best) if objective is not None and best is not None else None
    chosen = tuple(sorted(int(n[1:]) for n in raw.get("ones", []) if n.startswith("x") and n[1:].isdigit()
                          and int(n[1:]) < model.n_decisions))
    return MipResult(status, objective, best, gap, chosen, float(raw.get("seconds", 0.0)), wall_s, raw)


def _worker_env() -> dict[str, str]:
    """This process's environment, with the folder this ``optimiser`` package was loaded from
    first on PYTHONPATH (so the worker is this checkout's, whatever is installed)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def solve_mps_highs(model: MpsModel, time_limit_s: float, *, seed: int = 0, threads: int = 1,
                    use_start: bool = True) -> MipResult:
    """Solve an MPS model with HiGHS in a subprocess (:mod:`optimiser.solve.highs_worker`).

    Args:
        model: from :func:`write_mps`.
        time_limit_s: HiGHS's time limit (wall clock: HiGHS has no deterministic limit).
        seed: HiGHS ``random_seed``.
        threads: HiGHS ``threads``.
        use_start: give HiGHS the warm start written with the model.

    Raises:
        SolverError: highspy is missing, or the worker failed or did not answer.
    """
    if not highs_available():
        raise SolverError("highspy is not installed (pip install -e '.[bench]')")
    cmd = [sys.executable, "-m", WORKER_MODULE, str(model.path), "--time-limit", f"{float(time_limit_s):g}",
           "--seed", str(int(seed)), "--threads", str(int(threads))]
    if use_start and model.start_path is not None:
        cmd += ["--start", str(model.start_path)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=2 * time_limit_s + KILL_GRACE_S, check=False,
                              env=_worker_env())
    except subprocess.TimeoutExpired as exc:
        raise SolverError(f"HiGHS did not stop within {2 * time_limit_s + KILL_GRACE_S:g} s") from exc
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SolverError(f"HiGHS worker failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SolverError(f"HiGHS worker gave no answer: {proc.stdout.strip()[-300:]} {proc.stderr.strip()[-300:]}")
    res = _result(model, json.loads(lines[-1]), wall)
    logger.info("HiGHS: %s, objective %s, bound %s, %.2f s", res.status, res.objective, res.bound, res.solver_seconds)
    return res
