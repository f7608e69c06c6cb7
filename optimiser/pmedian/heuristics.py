"""Upper bounds: greedy construction and best-improvement interchange local search.

The interchange evaluates every (close ``r``, open ``j``) swap at once with the ``gain - loss +
extra`` decomposition of Whitaker and of Resende and Werneck (2007), vectorised with numpy.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from optimiser.pmedian.problem import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)


def nearest_two(C: FloatArray, S: IntArray, far: FloatArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Each client's nearest open cost ``d1``, the position in ``S`` of that facility, and its second
    nearest cost ``d2`` (``far`` when ``S`` has one facility)."""
    sub = C[:, S]
    if S.size == 1:
        return sub[:, 0].copy(), np.zeros(C.shape[0], dtype=np.int64), far.copy()
    a = np.argmin(sub, axis=1)
    d1 = sub[np.arange(sub.shape[0]), a]
    d2 = np.partition(sub, 1, axis=1)[:, 1]
    return d1, a, d2


def greedy(C: FloatArray, k: int, opened: BoolArray, allowed: BoolArray) -> IntArray:
    """Greedy add: start from the ``opened`` facilities and add ``k`` allowed ones, each time the one
    that lowers the total cost most.  Returns the sorted facility indices."""
    n = C.shape[0]
    S = [int(j) for j in np.flatnonzero(opened)]
    cur = C[:, S].min(axis=1) if S else np.full(n, np.inf)
    cand = allowed & ~opened
    for _ in range(k):
        idx = np.flatnonzero(cand)
        tot = np.minimum(cur[:, None], C[:, idx]).sum(axis=0)
        j = int(idx[int(np.argmin(tot))])
        S.append(j)
        cand[j] = False
        cur = np.minimum(cur, C[:, j])
    return np.array(sorted(S), dtype=np.int64)


def _swap_deltas(C: FloatArray, S: IntArray, cand: IntArray, d1: FloatArray, a: IntArray, d2: FloatArray) -> FloatArray:
    """``delta[r, j]``: change of the total cost when ``S[r]`` is closed and ``cand[j]`` opened."""
    Cc = C[:, cand]
    gain = np.maximum(d1[:, None] - Cc, 0.0).sum(axis=0)  # (|cand|,)
    loss = np.bincount(a, weights=d2 - d1, minlength=S.size)  # (p,)
    M = d2[:, None] - np.maximum(Cc, d1[:, None])
    np.maximum(M, 0.0, out=M)
    # extra[r, j] = sum over clients i served by r of M[i, j] (grouped row sums; no BLAS so it
    # behaves the same on a busy machine)
    order = np.argsort(a, kind="stable")
    a_sorted = a[order]
    starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
    sums = np.add.reduceat(M[order], starts, axis=0)  # (groups, |cand|)
    extra = np.zeros((S.size, cand.size))
    extra[a_sorted[starts]] = sums
    delta: FloatArray = loss[:, None] - gain[None, :] - extra
    return delta


def local_search(
    C: FloatArray,
    S: IntArray,
    fixed: BoolArray,
    allowed: BoolArray,
    far: FloatArray,
    deadline: float,
    tol: float,
) -> tuple[IntArray, float]:
    """Best-improvement interchange until no swap improves by more than ``tol``.

    Args:
        C: Weighted costs (clients x facilities).
        S: Start solution (facility indices).
        fixed: Facilities that may not be closed.
        allowed: Facilities that may be opened.
        far: Per-client cost used as "second nearest" when ``S`` has one facility.
        deadline: ``time.perf_counter()`` value after which the search stops (safety net).
        tol: Smallest improvement that counts.

    Returns:
        ``(S, cost)``: the sorted local optimum and its cost.
    """
    S = np.array(sorted(S), dtype=np.int64)
    moves = 0
    while True:
        d1, a, d2 = nearest_two(C, S, far)
        cost = float(d1.sum())
        if time.perf_counter() > deadline:
            break
        is_open = np.zeros(C.shape[1], dtype=bool)
        is_open[S] = True
        cand = np.flatnonzero(allowed & ~is_open)
        if cand.size == 0:
            break
        delta = _swap_deltas(C, S, cand, d1, a, d2)
        delta[fixed[S], :] = np.inf
        rr, jj = divmod(int(np.argmin(delta)), cand.size)
        if not delta[rr, jj] < -tol:
            break
        S = S.copy()
        S[rr] = cand[jj]
        S.sort()
        moves += 1
    logger.debug("local search: %d moves, cost %.6g", moves, cost)
    return S, cost
