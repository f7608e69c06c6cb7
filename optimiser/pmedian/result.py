"""The outcome of a p-median solve (:class:`PMedianResult`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["PMedianResult"]


@dataclass(frozen=True)
class PMedianResult:
    """Outcome of :func:`optimiser.pmedian.solve_pmedian`.

    Attributes:
        status: ``"optimal"`` (objective proven optimal: ``bound == objective``), ``"feasible"`` (a
            solution, optimality not proven within the limits), ``"infeasible"`` (no solution exists,
            e.g. every client has an infinite cost to all allowed facilities) or ``"unknown"``.
        objective: ``sum_i w_i * d[i, assignment[i]]`` of the returned solution (cost unit x weight
            unit), ``None`` if there is no solution.
        bound: Proven lower bound on the optimal objective (same unit).
        gap: Relative gap ``(objective - bound) / max(1, |objective|)``; ``0.0`` when proven optimal,
            ``inf`` without a solution.
        open_facilities: Sorted column indices of the ``p`` open facilities.
        assignment: ``int64`` array, client ``i`` -> column index of its (nearest open) facility; empty
            when there is no solution. A client of weight 0 counts for nothing and is left out of the
            model: its entry is its nearest open facility, which may be at an infinite cost.
        solve_seconds: Wall-clock seconds of the whole solve.
        lagrangian_seconds: Wall-clock seconds spent in the root subgradient phase.
        timings: Wall-clock seconds per phase (``heuristic``, ``lagrangian``, ``exact``, ...).
        method: Short description of what proved/produced the result.
        iterations: Number of root subgradient iterations.
        nodes: Branch-and-bound / search nodes of the exact phase (0 if unused).
        stats: Extra diagnostic numbers (fixings, reduced model size, ...).
        stopped_by: What ended a solve that did not prove its answer (the convention of
            :attr:`optimiser.solve.result.SolveResult.stopped_by`): ``"work_limit"`` (a deterministic
            limit: subgradient iterations, local-search rounds, branch-and-bound or MIP nodes, model
            size; the same answer on an idle and on a loaded machine), ``"wall_clock"`` (the
            ``time_limit_s`` safety net bound the answer, which may then differ on a faster or
            slower machine); ``None`` when the answer is proven (optimal or infeasible).
    """

    status: str
    objective: float | None
    bound: float
    gap: float
    open_facilities: tuple[int, ...]
    assignment: npt.NDArray[np.int64]
    solve_seconds: float
    lagrangian_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    method: str = ""
    iterations: int = 0
    nodes: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    stopped_by: str | None = None

    @property
    def is_optimal(self) -> bool:
        """True when the objective is proven optimal."""
        return self.status == "optimal"
