"""The LP relaxation's bound by Benders cuts on the radius formulation, with in-out stabilisation.

Benders reformulation (Duran-Mateluna, Ales and Elloumi, EJOR 308, 2023): with ``theta_i`` the cost
of client ``i``, every level ``D`` gives the valid cut ``theta_i >= D - sum_j (D - c_ij)^+ y_j``
(if no facility closer than ``D`` is open, client ``i`` pays at least ``D``).  The master LP
``min sum_i theta_i`` over ``sum_j y_j = p``, ``0 <= y <= 1`` and the cuts has the value of the LP
relaxation once no cut is violated.  A cut is separated per client in one pass over its facilities
sorted by cost (the level where the cumulative ``y`` reaches 1).  Separation points are taken
between the LP solution and a core point (Ben-Ameur and Neto's in-out method), which needs far
fewer rounds than plain Kelley.

The LP duals of a client's cuts weight its levels; their weighted mean is an optimal Lagrangian
multiplier ``lambda_i`` (the Lagrangian of the assignment constraints has the LP's value), which
the reduction tests and the branch and bound then use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from optimiser.pmedian.problem import FloatArray, Instance, IntArray

logger = logging.getLogger(__name__)


@dataclass
class LPBound:
    """``lp``: the master LP value (a valid bound once ``converged``; a bound on the improving
    solutions either way is ``lagrangian``); ``lam``: multipliers from the duals; ``lagrangian``: the
    Lagrangian bound at ``lam`` (always valid); ``y``: the LP's facility values (by column)."""

    lp: float
    lagrangian: float
    lam: FloatArray
    y: FloatArray
    rounds: int
    converged: bool
    stats: dict[str, Any] = field(default_factory=dict)


class _Master:
    """The master LP in GLOP with its cuts; ``cols`` are the facility columns it may open."""

    def __init__(self, inst: Instance, cols: IntArray, open_cols: IntArray) -> None:
        self.C = inst.C
        self.n = self.C.shape[0]
        self.cols = cols
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        s = self.solver
        opened = set(int(j) for j in open_cols)
        self.y = [s.NumVar(1.0 if int(j) in opened else 0.0, 1.0, "") for j in cols]
        self.theta = [s.NumVar(0.0, s.infinity(), "") for _ in range(self.n)]
        card = s.Constraint(float(inst.p), float(inst.p))
        for v in self.y:
            card.SetCoefficient(v, 1.0)
        obj = s.Objective()
        for v in self.theta:
            obj.SetCoefficient(v, 1.0)
        obj.SetMinimization()
        # each client's facilities sorted by cost (positions into cols)
        sub = self.C[:, cols]
        self.order = np.argsort(sub, axis=1, kind="stable").astype(np.int32)
        self.sorted_cost = np.take_along_axis(sub, self.order, axis=1)
        self.cuts: list[tuple[int, float, Any]] = []  # (client, level, constraint)
        self.nnz = 0

    def add_cut(self, i: int, level: float) -> None:
        s = self.solver
        t = int(np.searchsorted(self.sorted_cost[i], level, side="left"))
        ct = s.Constraint(float(level), s.infinity())
        ct.SetCoefficient(self.theta[i], 1.0)
        y = self.y
        for pos, c in zip(self.order[i, :t].tolist(), (level - self.sorted_cost[i, :t]).tolist()):
            ct.SetCoefficient(y[pos], c)
        self.cuts.append((i, float(level), ct))
        self.nnz += t + 1

    def separate(self, y: FloatArray) -> FloatArray:
        """Each client's critical level at ``y``: the cost where its cumulative ``y`` reaches 1."""
        cum = np.cumsum(y[self.order], axis=1)
        k = np.argmax(cum >= 1.0 - 1e-9, axis=1)
        levels: FloatArray = self.sorted_cost[np.arange(self.n), k]
        return levels

    def cut_values(self, levels: FloatArray, y: FloatArray) -> FloatArray:
        """``D_i - sum_j (D_i - c_ij)^+ y_j`` for every client."""
        vals: FloatArray = levels - (np.maximum(levels[:, None] - self.C[:, self.cols], 0.0) * y[None, :]).sum(axis=1)
        return vals

    def solve(self) -> tuple[int, FloatArray, FloatArray, float]:
        st = self.solver.Solve()
        y = np.array([v.solution_value() for v in self.y])
        th = np.array([v.solution_value() for v in self.theta])
        return st, y, th, self.solver.Objective().Value()

    def multipliers(self) -> FloatArray:
        """``lambda_i = sum_k mu_k D_k`` over client ``i``'s cuts (duals ``mu_k``, summing to at most 1;
        the remainder is the level 0 of a client that may be served at no cost)."""
        num = np.zeros(self.n)
        den = np.zeros(self.n)
        for i, level, ct in self.cuts:
            dv = ct.dual_value()
            if dv > 0:
                num[i] += dv * level
                den[i] += dv
        lam: FloatArray = np.where(den > 1.0, num / np.maximum(den, 1.0), num)
        return lam


def lagrangian_value(inst: Instance, lam: FloatArray, free_idx: IntArray, open_idx: IntArray) -> float:
    """The Lagrangian bound ``L(lambda)`` with the facilities of ``open_idx`` open and ``p - |open|``
    of ``free_idx`` chosen."""
    C = inst.C
    k = inst.p - open_idx.size
    if open_idx.size:
        lam = np.minimum(lam, C[:, open_idx].min(axis=1))
    rho = np.minimum(C[:, free_idx] - lam[:, None], 0.0).sum(axis=0)
    return float(lam.sum() + np.partition(rho, k - 1)[:k].sum()) if k > 0 else float(lam.sum())


def benders_lp(
    inst: Instance, free_idx: IntArray, open_idx: IntArray, start_levels: list[FloatArray], target: float,
    max_rounds: int, deadline: float, incumbent: IntArray | None = None,
) -> LPBound:
    """Solve the LP relaxation restricted to ``free_idx`` (may open) and ``open_idx`` (open).

    Args:
        inst: The instance.
        free_idx: Facilities still undecided.
        open_idx: Facilities fixed open.
        start_levels: Per-client levels to start the cut pool with (e.g. subgradient multipliers,
            the incumbent's assignment costs).
        target: Stop as soon as the bound exceeds this value (no improving solution exists).
        max_rounds: Work limit: separation rounds.
        deadline: ``time.perf_counter()`` safety net.
        incumbent: The best known solution; the first core point lies between it and the uniform point.

    Returns:
        An :class:`LPBound`.
    """
    t0 = time.perf_counter()
    cols = np.sort(np.concatenate([free_idx, open_idx]))
    master = _Master(inst, cols, open_idx)
    n = master.n
    for levels in start_levels:
        for i in range(n):
            master.add_cut(i, float(levels[i]))
    core = np.isin(cols, open_idx).astype(np.float64)
    core[np.isin(cols, free_idx)] = (inst.p - open_idx.size) / max(1, free_idx.size)
    if incumbent is not None:
        core = 0.5 * core + 0.5 * np.isin(cols, incumbent)
    lp, y, rounds, converged = -np.inf, core, 0, False
    eps = 1e-6 * max(1.0, inst.scale / max(1, n))
    while rounds < max_rounds and time.perf_counter() < deadline:
        rounds += 1
        st, y, th, lp = master.solve()
        if st != pywraplp.Solver.OPTIMAL:
            logger.warning("GLOP stopped with status %d in round %d; keeping the Lagrangian bound", st, rounds)
            break
        if lp > target:
            converged = True
            break
        # Kelley cuts at the LP solution and in-out cuts at a point towards the core
        kelley = master.separate(y)
        viol_k = np.flatnonzero(master.cut_values(kelley, y) > th + eps)
        if not viol_k.size:
            converged = True
            break
        inout = master.separate(0.5 * y + 0.5 * core)
        viol_io = np.flatnonzero((master.cut_values(inout, y) > th + eps) & (inout != kelley))
        core = 0.5 * core + 0.5 * y
        for i in viol_k.tolist():
            master.add_cut(i, float(kelley[i]))
        for i in viol_io.tolist():
            master.add_cut(i, float(inout[i]))
        logger.debug("Benders round %d: LP %.6g, %d + %d cuts added (%d cuts, %d nonzeros), %.2f s",
                     rounds, lp, viol_k.size, viol_io.size, len(master.cuts), master.nnz, time.perf_counter() - t0)
    lam = master.multipliers()
    lag = lagrangian_value(inst, lam, free_idx, open_idx)
    y_full = np.zeros(inst.m)
    y_full[cols] = y
    stats = {"benders_rounds": rounds, "benders_cuts": len(master.cuts), "benders_nonzeros": master.nnz,
             "benders_lp": lp, "benders_seconds": time.perf_counter() - t0}
    logger.info("Benders LP: %.6g after %d rounds (%s), Lagrangian at its duals %.6g, %d cuts, %.2f s", lp, rounds,
                "converged" if converged else "not converged", lag, len(master.cuts), stats["benders_seconds"])
    return LPBound(lp, lag, lam, y_full, rounds, converged, stats)
