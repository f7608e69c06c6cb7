"""The exact model of one count vector, with the decisions its Lagrangian bound closed.

Relax-first's split Lagrangian (:mod:`optimiser.solve.lagrangian_split`) proves, for each maximal
count vector of the budget, a bound and a set of decisions closed in every better layout with
those counts. Those sets differ by vector (rs021 after two rounds: 36 to 96 decisions closed), so
the one reduced exact model of the whole problem keeps only their intersection. Here a vector gets
its own: the problem with its closed decisions and its empty classes fixed at 0, its other class
caps added, and the objective cut off below the incumbent. CP-SAT then proves it empty (usually
at its root LP) or finds its optimum, a better layout.

Measured on benchmarks/realsites at a 60 s limit (README there, wave 14), nominal seconds of the
whole run to the proof, per vector / whole reduced model: rs023 17.2 / 37.2, rs028 44.9 / 58.5,
rs005 17.3 / 19.9; rs006 and rs016 proven in 32.6 and 46.2, where the whole reduced model left
0.29 % and 0.66 %.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial

from optimiser.errors import SolverError, TimeLimitError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.budget_cuts import CountClasses
from optimiser.model.cover_cuts import weak_lp
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.count_split import restrict_to_vector
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import build_model, set_params, set_search_params, stopped_by_safety_net
from optimiser.solve.result import Status


@dataclass(frozen=True)
class VectorSolve:
    """What CP-SAT proved for one count vector below a cut-off.

    Attributes:
        status: ``INFEASIBLE``: no layout of the vector is below the cut-off; ``OPTIMAL``:
            ``objective`` is the vector's optimum (below the cut-off); ``FEASIBLE``: a layout
            below the cut-off, the search stopped; ``UNKNOWN``: stopped with none.
        objective: the best layout's objective (``None`` without one).
        bound: a lower bound on every layout of the vector (the cut-off plus one when none is
            below it).
        chosen: the best layout's decision ids (empty without one).
        deterministic_time: CP-SAT's deterministic units.
        seconds: wall-clock seconds, the build included.
        stopped_by: "work_limit", "wall_clock" (the build or the search) or "interrupted" when it
            stopped unfinished, else ``None``.
    """

    status: Status
    objective: float | None
    bound: float
    chosen: tuple[int, ...]
    deterministic_time: float
    seconds: float
    stopped_by: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the vector is settled: nothing below the cut-off, or its optimum found."""
        return self.status in (Status.INFEASIBLE, Status.OPTIMAL)


def solve_count_vector(problem: Problem, classes: CountClasses, vector: tuple[int, ...], cutoff: int,
                       options: SolveOptions, safety_net_s: float) -> VectorSolve:
    """Solve ``problem`` restricted to the layouts with at most ``vector[j]`` decisions of class j
    and an objective at most ``cutoff``.

    Args:
        problem: the problem (usually with the vector's closed decisions fixed at 0).
        classes: its count classes (:func:`~optimiser.model.budget_cuts.count_classes`).
        vector: the cap of each class.
        cutoff: the largest objective wanted (the incumbent's less one: objectives are integers).
        options: ``time_limit_s`` (CP-SAT's deterministic limit at ``DETERMINISTIC_PER_SECOND``
            units per second), seed, workers, ``cpsat_search``, ``budget_cuts``,
            ``site_chains``, ``cover_cuts``.
        safety_net_s: wall-clock seconds for the whole call, the build included (past it while
            building: ``UNKNOWN`` with no bound).

    Raises:
        SolverError: CP-SAT rejected the model (a bug).
    """
    t0 = time.perf_counter()
    weak = weak_lp(problem)
    try:
        parts = build_model(problem, budget_cuts=options.budget_cuts, site_chains=options.site_chains,
                            cover_cuts=weak if options.cover_cuts is None else options.cover_cuts,
                            deadline=t0 + safety_net_s)
    except TimeLimitError:  # the net passed while building: nothing proven
        return VectorSolve(Status.UNKNOWN, None, -math.inf, (), 0.0, time.perf_counter() - t0, "wall_clock")
    restrict_to_vector(parts.model, parts.x, classes, vector, cutoff)
    solver = cp_model.CpSolver()
    set_params(solver, options.time_limit_s, options.seed, options.workers,
               safety_net_s=max(0.05, safety_net_s - (time.perf_counter() - t0)))
    set_search_params(solver, options.cpsat_search, options.sat_inprocessing)
    with interrupt.stopper(solver.stop_search):
        code = interrupt.call_interruptibly(partial(solver.solve, parts.model))
    if code == cp_model.MODEL_INVALID:
        raise SolverError(f"CP-SAT rejected the count vector {vector}'s model: {parts.model.validate()}")
    det = float(solver.response_proto.deterministic_time)
    secs = time.perf_counter() - t0
    if code == cp_model.INFEASIBLE:
        return VectorSolve(Status.INFEASIBLE, None, float(cutoff + 1), (), det, secs)
    found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    obj = float(round(solver.objective_value)) if found else None
    chosen = tuple(i for i, v in enumerate(parts.x) if solver.value(v)) if found else ()
    if code == cp_model.OPTIMAL:
        assert obj is not None
        return VectorSolve(Status.OPTIMAL, obj, obj, chosen, det, secs)
    cp_bound = float(solver.best_objective_bound)
    # a layout above the cut-off is at least cutoff + 1; CP-SAT's bound holds below it
    bound = min(cp_bound if math.isfinite(cp_bound) else -math.inf, float(cutoff + 1))
    stopped = ("interrupted" if interrupt.requested() else "wall_clock" if stopped_by_safety_net(solver)
               else "work_limit")
    return VectorSolve(Status.FEASIBLE if found else Status.UNKNOWN, obj, bound, chosen, det, secs, stopped)
