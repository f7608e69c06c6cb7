"""Best-first Lagrangian branch and bound over the facility variables ``y`` (after Beasley 1993)."""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.pmedian.lagrangian import Relaxation, fixing_masks, split_rho
from optimiser.pmedian.problem import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)


@dataclass
class NodeResult:
    """Outcome of the subgradient at one node: ``pruned`` (no improving solution below it), its bound
    ``L`` at the multipliers ``lam``, the node's facilities after fixing, the relaxation there
    (``None`` when pruned by fixing) and Lagrangian solutions worth evaluating."""

    pruned: bool
    L: float
    lam: FloatArray
    free_idx: IntArray
    open_idx: IntArray
    rel: Relaxation | None
    sols: list[IntArray] = field(default_factory=list)


@dataclass(frozen=True)
class NodeSettings:
    """Subgradient settings of a branch-and-bound node."""

    max_iter: int = 60
    patience: int = 6
    pi0: float = 2.0


class _Node:
    """Mutable state of the subgradient at one node."""

    def __init__(self, C: FloatArray, free_idx: IntArray, open_idx: IntArray, k: int, lam: FloatArray) -> None:
        self.C = C
        self.free_idx, self.open_idx, self.k = free_idx, open_idx, k
        self.lam = lam
        self.best_L = -math.inf
        self.best_lam = lam
        self.Cf = C[:, free_idx]
        self.Co_min = C[:, open_idx].min(axis=1) if open_idx.size else None
        self.sols: list[IntArray] = []
        self._buffers()

    def _buffers(self) -> None:
        # reused work arrays: fresh n x m temporaries each iteration cost page faults
        self._diff = np.empty_like(self.Cf)
        self._neg = np.empty_like(self.Cf)

    def eff(self, lam: FloatArray) -> FloatArray:
        # with open facilities min(lam, c_io) is the optimal multiplier cap
        return lam if self.Co_min is None else np.minimum(lam, self.Co_min)

    def relax(self, lam_eff: FloatArray) -> tuple[Relaxation, FloatArray]:
        diff = np.subtract(self.Cf, lam_eff[:, None], out=self._diff)
        rho = np.minimum(diff, 0.0, out=self._neg).sum(axis=0)
        chosen, rest, rho_k, rho_k1 = split_rho(rho, self.k)
        return Relaxation(float(lam_eff.sum() + rho[chosen].sum()), rho, chosen, rest, rho_k, rho_k1), diff

    def apply_fixing(self, close_mask: BoolArray, open_mask: BoolArray) -> None:
        keep = ~(close_mask | open_mask)
        newly_open = self.free_idx[open_mask]
        self.free_idx = self.free_idx[keep]
        if newly_open.size:
            self.open_idx = np.concatenate([self.open_idx, newly_open])
            self.k -= int(newly_open.size)
            cm = self.C[:, newly_open].min(axis=1)
            self.Co_min = cm if self.Co_min is None else np.minimum(self.Co_min, cm)
        self.Cf = self.Cf[:, keep]
        self._buffers()
        self.best_L = -math.inf  # bounds of the reduced node are comparable anyway

    def solution(self, rel: Relaxation) -> IntArray:
        return np.concatenate([self.open_idx, self.free_idx[rel.chosen]])

    def result(self, pruned: bool, L: float, lam: FloatArray, rel: Relaxation | None) -> NodeResult:
        return NodeResult(pruned, L, lam, self.free_idx, self.open_idx, rel, self.sols)


def lagrangian_node(
    C: FloatArray, free_idx: IntArray, open_idx: IntArray, k: int, lam: FloatArray, target: float, ub: float,
    settings: NodeSettings, pi: float, scale: float, deadline: float,
) -> NodeResult:
    """Subgradient optimisation at one node: open every facility of ``open_idx`` and ``k`` of
    ``free_idx``; at most ``settings.max_iter`` iterations, with the facility fixing tests against
    ``target`` (the best improving value)."""
    eps = 1e-9 * scale
    nd = _Node(C, free_idx, open_idx, k, lam)
    no_imp = it = 0
    while True:
        nf = nd.free_idx.size
        if nd.k < 0 or nd.k > nf:
            return nd.result(True, math.inf, nd.best_lam, None)
        if nd.k == 0 or nd.k == nf:
            nd.sols.append(np.concatenate([nd.open_idx, nd.free_idx]) if nd.k else nd.open_idx.copy())
            return nd.result(True, math.inf, nd.best_lam, None)
        lam_eff = nd.eff(lam)
        rel, diff = nd.relax(lam_eff)
        if rel.L > nd.best_L + eps:
            no_imp = 0 if rel.L > nd.best_L + 1e-7 * scale else no_imp + 1
            nd.best_L, nd.best_lam = rel.L, lam_eff.copy()
        else:
            no_imp += 1
        if rel.L > target + eps:
            return nd.result(True, rel.L, nd.best_lam, rel)
        close_mask, open_mask = fixing_masks(rel, nd.k, target, eps)
        if close_mask.any() or open_mask.any():
            nd.apply_fixing(close_mask, open_mask)
            continue
        it += 1
        if it >= settings.max_iter or time.perf_counter() > deadline:
            break
        if no_imp == 0 and it % 5 == 1:
            nd.sols.append(nd.solution(rel))
        g = 1.0 - (diff[:, rel.chosen] < 0).sum(axis=1)
        if nd.Co_min is not None:
            g = g - (nd.Co_min < lam_eff)
        gg = float(g @ g)
        if gg == 0.0:
            nd.sols.append(nd.solution(rel))
            break
        if no_imp >= settings.patience:
            pi *= 0.5
            no_imp = 0
            lam = nd.best_lam.copy()
            if pi < 1e-4:
                break
            continue
        lam = lam_eff + pi * max(ub - rel.L, eps) / gg * g
    # recompute the relaxation at the best multipliers (consistent rho / L)
    lam_eff = nd.eff(nd.best_lam)
    rel, _ = nd.relax(lam_eff)
    nd.sols.append(nd.solution(rel))
    return nd.result(rel.L > target + eps, rel.L, lam_eff, rel)


@dataclass
class BranchResult:
    """``complete``: the whole tree was explored (then ``S`` is optimal); ``lb_open``: the smallest
    bound among unexplored nodes (a global lower bound together with ``UB``)."""

    complete: bool
    S: IntArray
    UB: float
    lb_open: float
    nodes: int
    stalled: bool = False  # stopped by the stall test (``stall_test`` of :func:`lagrangian_bb`)


@dataclass(order=True)
class _Open:
    """An unexplored node, ordered by its bound (then deeper first, then creation order)."""

    bound: float
    neg_depth: int
    seq: int
    free_idx: Any = field(compare=False)
    open_idx: Any = field(compare=False)
    lam: Any = field(compare=False)


def lagrangian_bb(
    C: FloatArray, free_idx: IntArray, open_idx: IntArray, p: int, lam: FloatArray, S: IntArray, UB: float,
    target_of: Callable[[float], float], scale: float, deadline: float, max_nodes: int = 100_000,
    settings: NodeSettings = NodeSettings(), stall_test: tuple[int, float, float] | None = None,
) -> BranchResult:
    """Best-first Lagrangian branch and bound over ``y`` with a global bound.

    ``stall_test = (nodes, fraction, root_bound)``: after ``nodes`` nodes, stop (``stalled``) when the
    smallest open bound has closed less than ``fraction`` of the gap between ``root_bound`` and the
    incumbent (branching on single facilities makes little progress when neighbouring sites can take
    over a closed one).

    The open node with the smallest bound is solved next, so the smallest open bound (returned as
    ``lb_open`` when the work limit ``max_nodes`` or the safety-net ``deadline`` stops the search)
    rises as the search goes.  Branching: on the Lagrangian-chosen facility with the largest closing
    penalty; the ``y_j = 1`` child inherits the node's bound, the ``y_j = 0`` child the bound with
    ``j`` forced closed.  Children store their parent's multipliers (``float32``) as a warm start.
    """
    heap: list[_Open] = [_Open(-math.inf, 0, 0, free_idx.astype(np.int32), open_idx.astype(np.int32),
                               lam.astype(np.float32))]
    nodes = seq = 0
    while heap:
        target = target_of(UB)
        if heap[0].bound > target:
            heap.clear()  # every open node is pruned by the incumbent
            break
        if nodes >= max_nodes or time.perf_counter() > deadline:
            logger.info("branch and bound stopped after %d nodes: %d open, bound %.6g, incumbent %.6g",
                        nodes, len(heap), heap[0].bound, UB)
            return BranchResult(False, S, UB, heap[0].bound, nodes)
        if stall_test is not None and nodes == stall_test[0] \
                and heap[0].bound - stall_test[2] < stall_test[1] * (UB - stall_test[2]):
            logger.info("branch and bound stalled after %d nodes: bound %.6g, root %.6g, incumbent %.6g",
                        nodes, heap[0].bound, stall_test[2], UB)
            return BranchResult(False, S, UB, heap[0].bound, nodes, stalled=True)
        nd = heapq.heappop(heap)
        nodes += 1
        o_idx = nd.open_idx.astype(np.int64)
        nr = lagrangian_node(C, nd.free_idx.astype(np.int64), o_idx, p - o_idx.size, nd.lam.astype(np.float64), target,
                             UB, settings, settings.pi0 if nodes > 1 else 0.5, scale, deadline)
        for sol in nr.sols:
            v = float(C[:, sol].min(axis=1).sum())
            if v < UB - 1e-9 * scale:
                S, UB = np.sort(sol), v
        if nr.pruned or nr.rel is None or nr.L > target_of(UB):
            continue
        rho, chosen = nr.rel.rho, nr.rel.chosen
        k = p - nr.open_idx.size
        rest_min = np.partition(rho, k)[k] if k < rho.size else math.inf
        pen = nr.L - rho[chosen] + rest_min
        jloc = int(chosen[int(np.argmax(pen))])
        j = nr.free_idx[jloc]
        f_rest = np.delete(nr.free_idx, jloc).astype(np.int32)
        lam32 = nr.lam.astype(np.float32)
        bound = max(nd.bound, nr.L)
        seq += 2
        heapq.heappush(heap, _Open(bound, nd.neg_depth - 1, seq - 1, f_rest, np.append(nr.open_idx, j).astype(np.int32),
                                   lam32))
        heapq.heappush(heap, _Open(max(bound, float(nr.L - rho[jloc] + rest_min)), nd.neg_depth - 1, seq, f_rest,
                                   nr.open_idx.astype(np.int32), lam32))
    logger.debug("branch and bound complete: %d nodes, incumbent %.6g", nodes, UB)
    return BranchResult(True, S, UB, math.inf, nodes)
