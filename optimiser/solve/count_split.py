"""CP-SAT over the budget's maximal count vectors, one sub-problem each (``SolveOptions.count_split``).

Real sites have few prices (one per crossing type and facility type: the classes of
:mod:`optimiser.model.budget_cuts`), so the budget allows a short list of *maximal* count
vectors: how many decisions of each class at most (rs004: (signals, labs, footbridges,
underpasses) in (3, 2, 1, 0), (8, 1, 1, 0), (13, 2, 0, 0), (18, 1, 0, 0)). Every feasible
layout's counts lie below one of them, so the problem is the union of the sub-problems "class j
at most v_j", and in each the budget row is implied: its LP is far tighter (rs004 with the
site chains: 0.26 % below the optimum for the whole problem, 0.012 % for (3, 2, 1, 0)).

Every sub-problem but the warm start's is solved first with the objective cut off at the
incumbent less one (the objective is an integer), so it is either infeasible (nothing better in
it: pruned, usually at its root LP) or gives a better layout; the warm start's own sub-problem
comes last, from the start, with the rest of the budget. Each is a copy of the same
CP-SAT model with the class caps added; all share one deterministic work budget. The answer is
optimal when every sub-problem is finished; otherwise the bound is the least bound of the
unfinished ones (the objective's constant for those not reached).

For a weak LP (:func:`~optimiser.model.cover_cuts.weak_lp`, ``own_cut_off``) the warm start's own
sub-problem is cut off at the incumbent less one too, unhinted: CP-SAT proves it empty (the warm
start optimal) or finds a better layout. Measured on held-out realsites rs014 (45 firms, weak
LP, the greedy layout optimal; with the cover cuts), deterministic units of the own vector
(4, 1, 2, 0): hinted 4.97 to its proof, cut off 1.72 (the whole split 6.49 -> 3.24 units: proven
within a 10 s limit's 5, 8.5 s of CPU at load 3.7). Not for the tuned rows: on rs004 (greedy
not optimal) the cut-off own vector is not proven in 4.74 units where the hinted one takes 4.03.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from optimiser.errors import SolverError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.budget_cuts import CountClasses, count_classes, feasible_counts
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import DETERMINISTIC_PER_SECOND, CpModelParts, set_params, set_search_params, stopped_by_safety_net
from optimiser.solve.result import SolveResult, Status, interrupted_result, relative_gap

logger = logging.getLogger(__name__)

SPLIT_DETERMINISTIC_PER_SECOND = 0.5
"""The sub-problems' deterministic units per second of time limit (``DETERMINISTIC_PER_SECOND``
is 0.25). With every constraint in the LP from the start CP-SAT counts its work faster: measured
on rs004, 0.4-0.5 units per CPU second against 0.13-0.2 for the whole problem's lazily built LP
(4.30 units in 10.6 s of CPU against 3.35 units in 21-25 s), so the same units per second would
give the split less than half the CPU the direct solve gets."""

MAX_VECTORS = 64
"""No split with more maximal count vectors than this."""

MAX_FEASIBLE_COUNTS = 5_000
"""No split when more count vectors than this are feasible (the dominance check is quadratic)."""


def maximal_count_vectors(problem: Problem) -> tuple[CountClasses, list[tuple[int, ...]]] | None:
    """The count classes and the maximal feasible count vectors (no other feasible vector is at
    least as large in every class), or ``None`` when there are fewer than two or too many."""
    cc = count_classes(problem)
    if cc is None:
        return None
    counts = feasible_counts(cc, MAX_FEASIBLE_COUNTS)
    if counts is None or counts.shape[0] < 2:
        return None
    maximal = []
    for v in counts:
        ge = np.all(counts >= v, axis=1) & np.any(counts > v, axis=1)
        if not ge.any():
            maximal.append(tuple(int(a) for a in v))
    if not 2 <= len(maximal) <= MAX_VECTORS:
        return None
    return cc, maximal


@dataclass
class _Best:
    """The incumbent: objective and decision ids."""

    objective: int
    chosen: tuple[int, ...]


def restrict_to_vector(m: cp_model.CpModel, x: list[cp_model.IntVar], cc: CountClasses, vec: tuple[int, ...],
                       cutoff: int | None) -> None:
    """Add the class caps of ``vec`` to ``m`` (``x``: its decision Booleans), and the objective at
    most ``cutoff`` when given (an integer in the objective's units, its offset included)."""
    for members, cap in zip(cc.members, vec):
        if cap == 0:
            for i in members:
                m.proto.variables[x[i].index].domain[1] = 0
        elif cap < len(members):
            m.add(cp_model.LinearExpr.sum([x[i] for i in members]) <= cap)
    if cutoff is not None:
        # written into the proto directly: the row m.add(weighted_sum(...) <= ...) would write,
        # without a Python object per objective term (73k on rs004: 0.28 s a sub-problem)
        obj = m.proto.objective
        row = m.proto.constraints.add().linear
        row.vars.extend(obj.vars)
        row.coeffs.extend(obj.coeffs)
        row.domain.extend([cp_model.INT_MIN, cutoff - int(round(obj.offset))])


def _sub_model(parts: CpModelParts, cc: CountClasses, vec: tuple[int, ...], cutoff: int | None,
               keep_hint: bool) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """A copy of the model with the class caps of ``vec`` (and the objective at most ``cutoff``)."""
    m = parts.model.clone()
    x = [m.get_bool_var_from_proto_index(v.index) for v in parts.x]
    restrict_to_vector(m, x, cc, vec, cutoff)
    if not keep_hint:
        m.clear_hints()
    return m, x


def solve_by_count_vectors(problem: Problem, parts: CpModelParts, options: SolveOptions, start_layout: tuple[int, ...],
                           start_objective: int, split: tuple[CountClasses, list[tuple[int, ...]]],
                           t0: float, wall_net_s: float, own_cut_off: bool = False) -> SolveResult:
    """Solve ``parts`` (the whole problem's CP-SAT model, hinted at the start) sub-problem by
    sub-problem (module docstring) within the deterministic budget of ``options.time_limit_s``.

    Args:
        problem: the problem.
        parts: its CP-SAT model.
        options: time limit, seed, workers, search settings.
        start_layout, start_objective: the feasible warm start (hinted in ``parts``).
        split: :func:`maximal_count_vectors` of the problem.
        t0: when the solve call started (``time.perf_counter``).
        wall_net_s: the wall-clock safety net of the whole solve call.
        own_cut_off: cut the warm start's own sub-problem off at the incumbent too, without the
            hint (module docstring: for a weak LP).

    Returns:
        A :class:`SolveResult` (``stats["count_vectors"]`` says what each sub-problem gave).
    """
    cc, vectors = split
    budget = options.time_limit_s * SPLIT_DETERMINISTIC_PER_SECOND
    best = _Best(start_objective, start_layout)
    start_counts = tuple(sum(1 for i in m if i in start_layout) for m in cc.members)
    own = [v for v in vectors if all(a <= b for a, b in zip(start_counts, v))][:1]
    # the others first, cut off at the start (usually pruned at their root LP), the start's own
    # last with what is left: a search stopped early then still has that sub-problem's bound
    order = [v for v in vectors if v not in own] + own
    used, branches, stopped = 0.0, 0, None
    bounds: list[float] = []  # of unfinished sub-problems
    report: list[str] = []
    for n, vec in enumerate(order):
        left_det, left_wall = budget - used, wall_net_s - (time.perf_counter() - t0)
        if left_det <= 1e-3 or left_wall <= 0.05:
            stopped = stopped or ("work_limit" if left_det <= 1e-3 else "wall_clock")
            bounds += [float(problem.constant)] * (len(order) - n)
            report += [f"{v}: not reached" for v in order[n:]]
            break
        hinted = vec in own and best.objective == start_objective and not own_cut_off
        m, x = _sub_model(parts, cc, vec, None if hinted else best.objective - 1, hinted)
        solver = cp_model.CpSolver()
        set_params(solver, left_det / DETERMINISTIC_PER_SECOND, options.seed, options.workers, safety_net_s=left_wall)
        set_search_params(solver, options.cpsat_search, options.sat_inprocessing)
        # measured on rs004's sub-problems: every constraint in the LP from the start proves the
        # (3, 2, 1, 0) one in 5.5 s of CPU instead of 14.3 s (the whole problem gets slower so: 30
        # s instead of 21 s)
        solver.parameters.add_lp_constraints_lazily = False
        with interrupt.stopper(solver.stop_search):
            code = interrupt.call_interruptibly(partial(solver.solve, m))
        if code == cp_model.MODEL_INVALID:  # a bug, as in the direct solve: never a "feasible" answer
            raise SolverError(f"CP-SAT rejected the sub-problem {vec}: {m.validate()}")
        det = solver.response_proto.deterministic_time
        used += det
        branches += solver.num_branches
        if interrupt.requested():
            return interrupted_result("cpsat", options.seed, time.perf_counter() - t0, None, float(best.objective),
                                      {"deterministic_time": used, "branches": branches, "count_vectors": report})
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            obj = int(round(solver.objective_value))
            if obj < best.objective:
                best = _Best(obj, tuple(i for i, v in enumerate(x) if solver.value(v)))
        if code in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            report.append(f"{vec}: {'optimal' if code == cp_model.OPTIMAL else 'pruned'} ({det:.2f} units)")
            continue
        stopped = "wall_clock" if stopped_by_safety_net(solver) else "work_limit"
        bound = solver.best_objective_bound
        bounds.append(float(bound) if math.isfinite(bound) else float(problem.constant))
        report.append(f"{vec}: {solver.status_name(code).lower()} ({det:.2f} units)")
    return _result(problem, options, best, bounds, stopped, t0, {"deterministic_time": used, "branches": branches,
                                                                 "count_vectors": report})


def _result(problem: Problem, options: SolveOptions, best: _Best, bounds: list[float], stopped: str | None, t0: float,
            stats: dict[str, Any]) -> SolveResult:
    """The split solve's result."""
    secs = time.perf_counter() - t0
    logger.info("count split: %s", "; ".join(stats["count_vectors"]))
    obj = float(best.objective)
    if not bounds:
        return SolveResult(Status.OPTIMAL, obj, obj, 0.0, secs, "cpsat", options.seed, best.chosen, (), "proven optimal", stats)
    bound = min(obj, min(bounds))
    gap = relative_gap(obj, bound)
    return SolveResult(Status.FEASIBLE, obj, bound, gap, secs, "cpsat", options.seed, best.chosen, (),
                       f"time limit reached; gap {100 * (gap or 0):.2f}%", stats, stopped_by=stopped)
