"""Lower bounds: the Lagrangian relaxation of the assignment constraints and its reduction tests.

Relaxing ``sum_j x_ij = 1`` with multipliers ``lambda_i`` leaves, for fixed ``lambda``, the problem
"open the ``p`` facilities with the smallest ``rho_j = sum_i min(0, c_ij - lambda_i)``", solved
exactly by a partial sort; ``L(lambda) = sum_i lambda_i + sum of the p smallest rho_j`` is a lower
bound.  The multipliers are improved by subgradient optimisation (Beasley 1993).

Reduction tests with the best improving value ``target``: a facility whose forced closing (opening)
raises the bound above ``target`` is fixed open (closed); a client-facility pair whose forced
assignment does the same is eliminated (the client's radius levels are truncated).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.pmedian.heuristics import local_search, nearest_two
from optimiser.pmedian.problem import BoolArray, FloatArray, Instance, IntArray

logger = logging.getLogger(__name__)


@dataclass
class Relaxation:
    """The Lagrangian subproblem's solution at one multiplier vector.

    ``rho``: per free facility; ``chosen``/``rest``: positions (into the free facilities) of the
    ``k`` opened ones and of the others; ``rho_k``/``rho_k1``: the largest chosen and the smallest
    unchosen ``rho`` (``-inf``/``inf`` when empty); ``L``: the bound.
    """

    L: float
    rho: FloatArray
    chosen: IntArray
    rest: IntArray
    rho_k: float
    rho_k1: float


def split_rho(rho: FloatArray, k: int) -> tuple[IntArray, IntArray, float, float]:
    """The ``k`` smallest entries of ``rho`` and the others, with ``rho_k`` and ``rho_k1``."""
    nf = rho.size
    if 0 < k < nf:
        part = np.argpartition(rho, k)
        chosen, rest = part[:k], part[k:]
        return chosen, rest, float(rho[chosen].max()), float(rho[rest].min())
    if k == nf:
        return np.arange(nf), np.zeros(0, dtype=np.int64), float(rho.max()) if nf else 0.0, math.inf
    return np.zeros(0, dtype=np.int64), np.arange(nf), -math.inf, float(rho.min()) if nf else math.inf


def fixing_masks(rel: Relaxation, k: int, target: float, eps: float) -> tuple[BoolArray, BoolArray]:
    """Facilities (positions into the free ones) proven closed / open in every solution of value at
    most ``target``."""
    nf = rel.rho.size
    close_mask = np.zeros(nf, dtype=bool)
    open_mask = np.zeros(nf, dtype=bool)
    if rel.rest.size and k > 0:
        close_mask[rel.rest] = (rel.L + rel.rho[rel.rest] - rel.rho_k) > target + eps
    elif rel.rest.size and k == 0:
        close_mask[rel.rest] = True
    if rel.chosen.size and rel.rho_k1 < math.inf:
        open_mask[rel.chosen] = (rel.L - rel.rho[rel.chosen] + rel.rho_k1) > target + eps
    return close_mask, open_mask


DENSE_CELLS = 400_000  # up to this many cells (about 630 x 630) the dense sums are the faster ones


class SortedCosts:
    """Each client's allowed facilities sorted by cost, so that the pairs with ``c_ij < lambda_i`` (the
    only ones the Lagrangian subproblem uses) are a prefix of each row: with ``p`` facilities open a
    client's multiplier is near its assignment cost, and the prefixes hold about ``n / p`` of the
    ``m`` columns.  Memory: one ``int32`` and two ``float64`` ``n x m`` arrays (two more as work
    buffers when the dense sums are used)."""

    def __init__(self, C: FloatArray, cols: IntArray, dense_fraction: float = 0.04) -> None:
        sub = C[:, cols]
        self.dense_fraction = dense_fraction  # dense sums when more than this share of the cells is used
        order = np.argsort(sub, axis=1, kind="stable")
        self.m = C.shape[1]
        self.C = sub
        self.cols = cols
        self._calls = 0
        self._dense = False
        self._diff: FloatArray | None = None
        self._neg: FloatArray | None = None
        self.cost = np.take_along_axis(sub, order, axis=1)
        self.fac = cols[order].astype(np.int32)
        self.rows = np.arange(C.shape[0])

    def counts_below(self, lam: FloatArray) -> IntArray:
        """Per client, the number of its facilities with cost strictly below ``lam_i`` (a row-wise
        binary search)."""
        n, m = self.cost.shape
        lo = np.zeros(n, dtype=np.int64)
        hi = np.full(n, m, dtype=np.int64)
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) // 2
            less = self.cost[self.rows, np.minimum(mid, m - 1)] < lam
            lo = np.where(active & less, mid + 1, lo)
            hi = np.where(active & ~less, mid, hi)

    def rho(self, lam: FloatArray) -> tuple[FloatArray, Callable[[BoolArray], FloatArray]]:
        """``rho_j = sum_i min(0, c_ij - lam_i)`` for every column (0 where unused), and a function
        that counts, per client, the facilities of a set (boolean mask) with ``c_ij < lam_i``.  Long
        prefixes (few facilities open) are summed densely, which is faster there."""
        n, m = self.cost.shape
        self._calls += 1
        # the prefix lengths change slowly with the multipliers: re-decide dense/sparse every 50 calls
        t = self.counts_below(lam) if n * m > DENSE_CELLS and (not self._dense or self._calls % 50 == 1) else None
        self._dense = t is None or t.sum() > self.dense_fraction * n * m
        if t is None or self._dense:
            if self._diff is None:  # work buffers, reused: fresh n x m temporaries cost page faults
                self._diff, self._neg = np.empty_like(self.C), np.empty_like(self.C)
            diff = np.subtract(self.C, lam[:, None], out=self._diff)
            rho_d = np.minimum(diff, 0.0, out=self._neg).sum(axis=0)
            rho_all = np.zeros(self.m)
            rho_all[self.cols] = rho_d

            def count_dense(mask: BoolArray) -> FloatArray:
                return (diff[:, mask[self.cols]] < 0).sum(axis=1).astype(np.float64)

            return rho_all, count_dense
        row_ids = np.repeat(self.rows, t)
        pos = np.arange(row_ids.size) - np.repeat(np.cumsum(t) - t, t)
        flat = row_ids * m + pos
        vals = np.minimum(self.cost.ravel()[flat] - lam[row_ids], 0.0)
        facs = self.fac.ravel()[flat]

        def count_sparse(mask: BoolArray) -> FloatArray:
            return np.asarray(np.bincount(row_ids, weights=mask[facs], minlength=n), dtype=np.float64)

        return np.asarray(np.bincount(facs, weights=vals, minlength=self.m), dtype=np.float64), count_sparse


STALL_WINDOW = 200
STALL_FRACTION = 0.005
STALL_MAX_PI = 0.25


@dataclass
class RootResult:
    """What the root Lagrangian phase leaves for the exact phase."""

    S: IntArray
    UB: float
    best_L: float
    best_lam: FloatArray
    free_idx: IntArray
    open_idx: IntArray
    iterations: int
    proven: bool
    stats: dict[str, Any] = field(default_factory=dict)


class RootLagrangian:
    """Subgradient optimisation at the root with facility fixing and local search from the
    Lagrangian solutions.  ``run()`` returns a :class:`RootResult`."""

    def __init__(self, inst: Instance, S: IntArray, UB: float, deadline: float) -> None:
        C = inst.C
        # iterations without improvement before the step size is halved: more multipliers need a
        # longer window (fl1400, p = 10: 30 stalls 0.4 % below the LP bound, 100 reaches it)
        self.patience = 30 if C.shape[0] < 1000 else 100
        self.window_L = -math.inf
        self.inst = inst
        self.deadline = deadline
        self.S, self.UB = S, UB
        self.free = inst.allowed & ~inst.fixed
        self.opened = inst.fixed.copy()
        d1, _, _ = nearest_two(C, S, inst.far)
        self.lam = d1.copy()  # multipliers start at the incumbent's assignment costs
        self.lam_min = C[:, inst.allowed].min(axis=1)
        self.best_lam = self.lam.copy()
        self.best_L = -math.inf
        self.pi = 2.0
        self.no_improve = 0
        self.ls_tries = 0
        self.last_ls_set: bytes | None = None
        self.proven = False
        self.stats: dict[str, Any] = {}
        self.sorted = SortedCosts(C, np.flatnonzero(inst.allowed))
        self._reindex()

    def _reindex(self) -> None:
        self.free_idx = np.flatnonzero(self.free)
        self.open_idx = np.flatnonzero(self.opened)
        live = self.free_idx.size + self.open_idx.size
        if live < 0.5 * self.sorted.cols.size:  # fixing closed half the columns: drop them from the sums
            self.sorted = SortedCosts(self.inst.C, np.flatnonzero(self.free | self.opened))

    def _offer(self, Sc: IntArray) -> None:
        val = self.inst.evaluate(Sc)
        if val < self.UB - self.inst.tol:
            self.S, self.UB = np.sort(Sc), val

    def _relax(self, lam: FloatArray) -> tuple[Relaxation, Callable[[BoolArray], FloatArray]]:
        """The subproblem at ``lam``: ``rho`` over the free facilities (positions into ``free_idx``)
        and the per-client counter of facilities with ``c_ij < lam_i``."""
        k = self.inst.p - self.open_idx.size
        rho_all, counter = self.sorted.rho(lam)
        rho = rho_all[self.free_idx]
        chosen, rest, rho_k, rho_k1 = split_rho(rho, k)
        L = float(lam.sum() + rho[chosen].sum() + rho_all[self.open_idx].sum())
        return Relaxation(L, rho, chosen, rest, rho_k, rho_k1), counter

    def _track(self, L: float) -> None:
        scale = self.inst.scale
        if L > self.best_L + 1e-12 * scale:
            self.no_improve = 0 if L > self.best_L + 1e-7 * scale else self.no_improve + 1
            self.best_L = L
            self.best_lam = self.lam.copy()
        else:
            self.no_improve += 1

    def _fix(self, rel: Relaxation, target: float) -> str:
        """Apply the facility fixing tests: ``"none"``, ``"changed"`` or ``"proven"``."""
        if not self.free_idx.size:
            return "none"
        k = self.inst.p - self.open_idx.size
        close_mask, open_mask = fixing_masks(rel, k, target, 1e-9 * self.inst.scale)
        if not (close_mask.any() or open_mask.any()):
            return "none"
        newly_open = self.free_idx[open_mask]
        newly_closed = self.free_idx[close_mask]
        self.free[newly_open] = False
        self.free[newly_closed] = False
        self.opened[newly_open] = True
        self._reindex()
        self.stats["fixed_closed"] = self.stats.get("fixed_closed", 0) + int(newly_closed.size)
        self.stats["fixed_open"] = self.stats.get("fixed_open", 0) + int(newly_open.size)
        k = self.inst.p - self.open_idx.size
        if k < 0 or k > self.free_idx.size:
            return "proven"  # no improving solution exists
        if k == 0 or k == self.free_idx.size:
            self._offer(np.concatenate([self.open_idx, self.free_idx]) if k else self.open_idx)
            return "proven"
        return "changed"

    def _primal(self, rel: Relaxation, it: int) -> None:
        """Local search from the Lagrangian solution now and then (at most 60 times)."""
        inst = self.inst
        if not ((it % 25 == 0 or self.no_improve == 0) and self.ls_tries < 60):
            return
        Sc = np.sort(np.concatenate([self.open_idx, self.free_idx[rel.chosen]]))
        key = Sc.tobytes()
        if key == self.last_ls_set:
            return
        self.last_ls_set = key
        if inst.evaluate(Sc) < self.UB * 1.02 + inst.tol:
            self.ls_tries += 1
            Sc, val = local_search(inst.C, Sc, inst.fixed, inst.allowed, inst.far, self.deadline, inst.tol)
            if val < self.UB - inst.tol:
                self.S, self.UB = Sc, val

    def _step(self, rel: Relaxation, counter: Callable[[BoolArray], FloatArray]) -> str:
        """Subgradient step: ``"go"``, ``"proven"`` or ``"stop"``."""
        inst = self.inst
        in_solution = self.opened.copy()
        in_solution[self.free_idx[rel.chosen]] = True
        g = 1.0 - counter(in_solution)
        gg = float(g @ g)
        if gg == 0.0:
            # the relaxation's solution is feasible: L equals its cost -> optimal for the reduced problem
            self._offer(np.concatenate([self.open_idx, self.free_idx[rel.chosen]]))
            if rel.L >= inst.target_of(self.UB) - inst.tol:
                self.best_L = max(self.best_L, rel.L)
                return "proven"
            self.lam = self.lam + 1e-3 * (self.UB - rel.L) / inst.C.shape[0]
            return "go"
        if self.no_improve >= self.patience:
            self.pi *= 0.5
            self.no_improve = 0
            self.lam = self.best_lam.copy()
            return "stop" if self.pi < 1e-5 else "go"
        step = self.pi * max(self.UB - rel.L, 1e-9 * inst.scale) / gg
        self.lam = np.maximum(self.lam + step * g, self.lam_min)
        return "go"

    def _stalled(self, it: int) -> bool:
        """Every ``STALL_WINDOW`` iterations once the step size is at most ``STALL_MAX_PI``: True when
        the bound rose by less than ``STALL_FRACTION`` of the remaining gap over the window (more
        iterations would not close it)."""
        if it % STALL_WINDOW or self.pi > STALL_MAX_PI:
            return False  # judged only once the step size has been cut a few times
        gained = self.best_L - self.window_L
        self.window_L = self.best_L
        return math.isfinite(gained) and gained < STALL_FRACTION * (self.UB - self.best_L)

    def run(self, max_iterations: int) -> RootResult:
        """At most ``max_iterations`` subgradient iterations (the deadline is a safety net)."""
        inst = self.inst
        eps = 1e-9 * inst.scale
        it = 0
        while it < max_iterations:
            it += 1
            if time.perf_counter() > self.deadline:
                break
            target = inst.target_of(self.UB)
            rel, pairs = self._relax(self.lam)
            self._track(rel.L)
            if rel.L > target + eps:
                self.proven = True
                break
            fix = self._fix(rel, target)
            if fix == "proven":
                self.proven = True
                self.best_L = max(self.best_L, target + 1.0)
                break
            if fix == "changed":
                continue  # recompute with the reduced sets
            self._primal(rel, it)
            if self._stalled(it):
                break
            step = self._step(rel, pairs)
            if step == "proven":
                self.proven = True
            if step != "go":
                break
        if not self.proven:
            self._final_primal()
        logger.debug("root Lagrangian: %d iterations, bound %.6g, incumbent %.6g, %d free, %d open",
                      it, self.best_L, self.UB, self.free_idx.size, self.open_idx.size)
        return RootResult(self.S, self.UB, self.best_L, self.best_lam, self.free_idx, self.open_idx, it, self.proven,
                          self.stats)

    def _final_primal(self) -> None:
        """Local search from the Lagrangian solution at the best multipliers (often optimal when the
        LP is near-integral)."""
        inst = self.inst
        if inst.proves(inst.bound_round(self.best_L), self.UB) or not self.free_idx.size \
                or time.perf_counter() >= self.deadline:
            return
        k = inst.p - self.open_idx.size
        if 0 < k < self.free_idx.size:
            rho_b = self.sorted.rho(self.best_lam)[0][self.free_idx]
            Sc = np.sort(np.concatenate([self.open_idx, self.free_idx[np.argpartition(rho_b, k)[:k]]]))
            Sc, val = local_search(inst.C, Sc, inst.fixed, inst.allowed, inst.far, self.deadline, inst.tol)
            if val < self.UB - inst.tol:
                self.S, self.UB = Sc, val
                self.stats["final_ls_improved"] = True


def eliminate_pairs(
    inst: Instance, free_idx: IntArray, open_idx: IntArray, lam: FloatArray, target: float
) -> tuple[list[IntArray], FloatArray]:
    """Client-facility pairs that can be used by a solution of value at most ``target``.

    Returns each client's allowed columns (free facilities that survive the pair test, plus the open
    ones no farther than the nearest open facility) and its radius (largest allowed cost).
    """
    C = inst.C
    nA = C.shape[0]
    k = inst.p - open_idx.size
    Cf = C[:, free_idx]
    if open_idx.size:
        lam = np.minimum(lam, C[:, open_idx].min(axis=1))
    diff = Cf - lam[:, None]
    rho = np.minimum(diff, 0.0).sum(axis=0)
    part = np.argsort(rho, kind="stable")
    chosen_mask = np.zeros(free_idx.size, dtype=bool)
    chosen_mask[part[:k]] = True
    rho_k = rho[part[k - 1]]
    Lb = float(lam.sum() + rho[part[:k]].sum())
    # bound of the relaxation when x_ij is forced to 1
    pen = np.maximum(diff, 0.0)
    pen = pen + np.where(chosen_mask, 0.0, rho - rho_k)[None, :]
    keep_free = (Lb + pen) <= target + 1e-9 * inst.scale
    allowed_pairs = []
    R = np.empty(nA)
    for i in range(nA):
        cols = free_idx[keep_free[i]]
        if open_idx.size:
            cols = np.concatenate([cols, open_idx])
        vals = C[i, cols]
        if open_idx.size:
            sel = vals <= C[i, open_idx].min()
            cols, vals = cols[sel], vals[sel]
        R[i] = vals.max() if vals.size else -math.inf
        allowed_pairs.append(cols)
    logger.debug("pair elimination: %d of %d pairs kept", sum(c.size for c in allowed_pairs), nA * (free_idx.size + open_idx.size))
    return allowed_pairs, R


def refix(inst: Instance, root: RootResult, UB: float) -> tuple[IntArray, IntArray, bool]:
    """Repeat the facility fixing tests at the root's best multipliers against a better incumbent
    ``UB``.  Returns ``(free_idx, open_idx, proven)``; ``proven`` when no improving solution is left."""
    target = inst.target_of(UB)
    eps = 1e-9 * inst.scale
    free_idx, open_idx = root.free_idx, root.open_idx
    C = inst.C
    while True:
        k = inst.p - open_idx.size
        if k < 0 or k > free_idx.size:
            return free_idx, open_idx, True
        if k == 0 or k == free_idx.size:
            return free_idx, open_idx, False
        lam = root.best_lam
        rho = np.minimum(C[:, free_idx] - lam[:, None], 0.0).sum(axis=0)
        chosen, rest, rho_k, rho_k1 = split_rho(rho, k)
        L = float(lam.sum() + rho[chosen].sum() + np.minimum(C[:, open_idx] - lam[:, None], 0.0).sum())
        if L > target + eps:
            return free_idx, open_idx, True
        close_mask, open_mask = fixing_masks(Relaxation(L, rho, chosen, rest, rho_k, rho_k1), k, target, eps)
        if not (close_mask.any() or open_mask.any()):
            logger.debug("refixing against %.6g: %d free, %d open", UB, free_idx.size, open_idx.size)
            return free_idx, open_idx, False
        open_idx = np.sort(np.concatenate([open_idx, free_idx[open_mask]]))
        free_idx = free_idx[~(close_mask | open_mask)]
