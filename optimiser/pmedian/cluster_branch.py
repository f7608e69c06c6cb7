"""Best-first Lagrangian branch and bound on cluster counts (see :mod:`optimiser.pmedian.clusters`).

A node is a set of count constraints ``lo <= (open facilities in cluster h) <= hi`` over the
clusters of one hierarchy of the free facilities.  Its bound is the Lagrangian relaxation of the
assignment constraints with these counts kept in the subproblem, improved by a warm-started
subgradient (a fixed number of iterations: the work limit).  The subgradient's chosen sets are
averaged (exponentially) into an estimate ``Y`` of the node's LP facility values; the node branches on
the cluster whose ``Y`` sum ``s`` is farthest from an integer: ``count <= floor(s)`` /
``count >= ceil(s)``.  Singleton clusters make this a refinement of branching on ``y_j``.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.pmedian.branch import BranchResult
from optimiser.pmedian.clusters import CountProblem, Counts, FacilityTree, facility_tree
from optimiser.pmedian.lagrangian import SortedCosts
from optimiser.pmedian.problem import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)

SPARSE_FRACTION = 0.25  # the node sums run over the sorted cost prefixes below this share of used cells


@dataclass(frozen=True)
class CountSettings:
    """Subgradient and branching settings of a cluster-count node."""

    max_iter: int = 80
    patience: int = 20
    pi0: float = 2.0
    decay: float = 0.9  # weight of the earlier chosen sets in the averaged facility values Y
    min_fraction: float = 0.05  # a cluster sum closer than this to an integer is not branched on


@dataclass
class CountNodeResult:
    """``pruned``: no solution of value at most the target below the node; ``L`` its bound at the
    multipliers ``lam``; ``Y`` the averaged chosen sets (``None`` when pruned); ``sols`` chosen sets
    (leaf-order positions) worth evaluating; ``chosen``/``rho`` the last subproblem's solution."""

    pruned: bool
    L: float
    lam: FloatArray
    Y: FloatArray | None
    sols: list[IntArray] = field(default_factory=list)
    chosen: IntArray | None = None
    rho: FloatArray | None = None


class CountRelaxation:
    """The free facilities' cost columns in leaf order (``Cf``), the clients' cheapest open cost
    (``Co_min``, the multiplier cap) and reused work buffers."""

    def __init__(self, C: FloatArray, cols: IntArray, Co_min: FloatArray | None, tree: FacilityTree, k: int) -> None:
        self.cols, self.Co_min, self.tree, self.k = cols, Co_min, tree, k
        self.sorted = SortedCosts(C, cols, dense_fraction=SPARSE_FRACTION)
        self._counter: Callable[[BoolArray], FloatArray] | None = None
        self._mask = np.zeros(C.shape[1], dtype=bool)

    def eff(self, lam: FloatArray) -> FloatArray:
        return lam if self.Co_min is None else np.minimum(lam, self.Co_min)

    def relax(self, lam_eff: FloatArray, counts: CountProblem) -> tuple[float, IntArray | None, FloatArray]:
        """``(L, chosen positions, rho)``; ``L = inf`` when the counts admit no choice."""
        rho_all, self._counter = self.sorted.rho(lam_eff)
        rho = rho_all[self.cols]
        val, chosen = counts.solve(rho)
        if chosen is None:
            return math.inf, None, rho
        return float(lam_eff.sum()) + val, chosen, rho

    def subgradient(self, lam_eff: FloatArray, chosen: IntArray) -> FloatArray:
        assert self._counter is not None
        self._mask[:] = False
        self._mask[self.cols[chosen]] = True
        g = 1.0 - self._counter(self._mask)
        if self.Co_min is not None:
            g = g - (self.Co_min < lam_eff)
        return np.asarray(g, dtype=np.float64)


def count_node(rel: CountRelaxation, counts: CountProblem, lam: FloatArray, target: float, ub: float,
               settings: CountSettings, pi: float, scale: float, deadline: float) -> CountNodeResult:
    """Subgradient optimisation at one node (at most ``settings.max_iter`` iterations)."""
    eps = 1e-9 * scale
    best_L, best_lam = -math.inf, lam
    Y = np.zeros(rel.tree.size)
    wy = 0.0
    sols: list[IntArray] = []
    no_imp = 0
    chosen: IntArray | None = None
    for it in range(settings.max_iter):
        lam_eff = rel.eff(lam)
        L, ch, _ = rel.relax(lam_eff, counts)
        if ch is None:
            return CountNodeResult(True, math.inf, lam_eff, None)
        chosen = ch
        if L > best_L + eps:
            no_imp = 0 if L > best_L + 1e-7 * scale else no_imp + 1
            best_L, best_lam = L, lam_eff.copy()
            if it % 5 == 0:
                sols.append(ch)
        else:
            no_imp += 1
        if L > target + eps:
            return CountNodeResult(True, L, best_lam, None, sols)
        Y *= settings.decay
        Y[ch] += 1.0
        wy = wy * settings.decay + 1.0
        g = rel.subgradient(lam_eff, ch)
        gg = float(g @ g)
        if gg == 0.0:  # the subproblem's solution serves every client once: it is the node's optimum
            sols.append(ch)
            return CountNodeResult(True, L, lam_eff, None, sols)
        if time.perf_counter() > deadline:
            break
        if no_imp >= settings.patience:
            pi *= 0.5
            no_imp = 0
            lam = best_lam.copy()
            if pi < 1e-4:
                break
            continue
        lam = lam_eff + pi * max(ub - L, eps) / gg * g
    L, ch, rho = rel.relax(best_lam, counts)  # consistent bound and solution at the best multipliers
    if ch is None:
        return CountNodeResult(True, math.inf, best_lam, None, sols)
    sols.append(ch)
    if chosen is None:
        Y[ch] = 1.0
        wy = 1.0
    return CountNodeResult(L > target + eps, L, best_lam, Y / wy, sols, ch, rho)


def branch_cluster(tree: FacilityTree, Y: FloatArray, counts: Counts, chosen: IntArray, rho: FloatArray,
                   min_fraction: float) -> tuple[int, int, int] | None:
    """The branching cluster and the two children's ranges: ``(h, floor, ceil)`` for the cluster whose
    ``Y`` sum is farthest from an integer (the larger cluster on a tie); without one, the single
    chosen facility with the largest ``rho`` that is not yet forced open (``floor = 0``, ``ceil =
    1``); ``None`` when every chosen facility is forced open (the node is a single solution)."""
    cs = np.concatenate([[0.0], np.cumsum(Y)])
    s = cs[tree.end] - cs[tree.start]
    frac = np.minimum(s - np.floor(s), np.ceil(s) - s)
    if frac.max() >= min_fraction:
        size = tree.end - tree.start
        h = int(np.lexsort((-size, -np.round(frac, 6)))[0])
        return h, int(math.floor(s[h])), int(math.ceil(s[h]))
    free = [int(q) for q in chosen if counts.get(int(q), (0, 1))[0] < 1]
    if not free:
        return None
    q = max(free, key=lambda j: (float(rho[j]), j))
    return q, 0, 1


@dataclass(order=True)
class _Open:
    """An unexplored node, ordered by its bound (then deeper first, then creation order)."""

    bound: float
    neg_depth: int
    seq: int
    counts: Any = field(compare=False)
    lam: Any = field(compare=False)


def _children(nd: _Open, h: int, fl: int, ce: int, k: int, bound: float, lam32: Any, seq: int) -> list[_Open]:
    """The two children of ``nd`` branching on cluster ``h``: at most ``fl`` / at least ``ce`` open."""
    lo, hi = nd.counts.get(h, (0, k))
    left = dict(nd.counts)
    left[h] = (lo, fl)
    right = dict(nd.counts)
    right[h] = (ce, hi)
    return [_Open(bound, nd.neg_depth - 1, seq + 1, left, lam32), _Open(bound, nd.neg_depth - 1, seq + 2, right, lam32)]


def cluster_bb(
    C: FloatArray, free_idx: IntArray, open_idx: IntArray, p: int, lam: FloatArray, S: IntArray, UB: float,
    target_of: Callable[[float], float], scale: float, deadline: float, max_nodes: int = 100_000,
    settings: CountSettings = CountSettings(),
) -> BranchResult:
    """Best-first branch and bound on cluster counts with a global bound (the smallest open bound,
    ``lb_open``, when the work limit ``max_nodes`` or the safety-net ``deadline`` stops it)."""
    k = p - open_idx.size
    if k <= 0 or k >= free_idx.size:  # nothing left to choose (the fixing tests normally leave a choice)
        if k == 0 or k == free_idx.size:
            sol = open_idx if k == 0 else np.concatenate([open_idx, free_idx])
            v = float(C[:, sol].min(axis=1).sum())
            if v < UB:
                S, UB = np.sort(sol), v
        return BranchResult(True, S, UB, math.inf, 0)
    tree = facility_tree(C, free_idx)
    cols = free_idx[tree.order]
    Co_min = C[:, open_idx].min(axis=1) if open_idx.size else None
    rel = CountRelaxation(C, cols, Co_min, tree, k)
    heap = [_Open(-math.inf, 0, 0, {tree.root: (k, k)}, lam.astype(np.float32))]
    nodes = seq = 0
    while heap:
        target = target_of(UB)
        if heap[0].bound > target:
            heap.clear()
            break
        if nodes >= max_nodes or time.perf_counter() > deadline:
            logger.info("cluster branch and bound stopped after %d nodes: %d open, bound %.6g, incumbent %.6g",
                        nodes, len(heap), heap[0].bound, UB)
            return BranchResult(False, S, UB, heap[0].bound, nodes)
        nd = heapq.heappop(heap)
        nodes += 1
        nr = count_node(rel, CountProblem(tree, nd.counts, k), nd.lam.astype(np.float64), target, UB, settings,
                        settings.pi0 if nodes > 1 else 0.5, scale, deadline)
        for sol in nr.sols:
            full = np.concatenate([open_idx, cols[sol]])
            v = float(C[:, full].min(axis=1).sum())
            if v < UB - 1e-9 * scale:
                S, UB = np.sort(full), v
        if nr.pruned or nr.Y is None or nr.chosen is None or nr.rho is None or nr.L > target_of(UB):
            continue
        br = branch_cluster(tree, nr.Y, nd.counts, nr.chosen, nr.rho, settings.min_fraction)
        if br is None:
            continue
        kids = _children(nd, br[0], br[1], br[2], k, max(nd.bound, nr.L), nr.lam.astype(np.float32), seq)
        seq += 2
        for kid in kids:
            heapq.heappush(heap, kid)
    logger.debug("cluster branch and bound complete: %d nodes, incumbent %.6g", nodes, UB)
    return BranchResult(True, S, UB, math.inf, nodes)
