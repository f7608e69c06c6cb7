"""A 20-firm district of ``benchmarks/joint`` (its optimum proven by the direct CP-SAT solve) and
relax-first run on it directly, for the relax-first tests."""

from __future__ import annotations

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import relax_first as rf
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.result import SolveResult, Status

District = tuple[Problem, Problem, Evaluator, int]


def relax_district() -> District:
    """(problem, its access relaxation, its evaluator, its optimum)."""
    p = prepare(make_district(20, 40, 10, 1, seed=0)).problem
    direct = backend_module("cpsat").solve(p, SolveOptions(time_limit_s=30.0, seed=0, workers=1))
    assert direct.status is Status.OPTIMAL
    return p, relax_access_crossings(p), Evaluator(p), int(direct.objective)


def run_relax_first(district: District, limit_s: float, workers: int = 1) -> tuple[rf.RelaxFirst, SolveResult]:
    """Relax-first on the district with a ``limit_s`` work limit (seed 0, a wide net)."""
    p, q, ev, _ = district
    opts = SolveOptions(backend="cpsat", strategy="relax-first", time_limit_s=limit_s, seed=0, workers=workers,
                        wall_limit_s=600.0, count_split=False)
    r = rf.RelaxFirst(p, q, backend_module("cpsat"), opts, Deadline(limit_s), ev)
    return r, r.run()
