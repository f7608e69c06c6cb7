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

INCREMENTAL_MIN_FACILITIES = 24
"""The iterated search keeps one interchange state across its rounds above this many open
facilities: a swap recomputes about 3n/p rows twice, a new state all n rows once, so a kick of
up to 4 swaps pays when p > 24 (fl1400, p = 200: 2.4 times faster; rl1304, p = 10: twice slower
with it, so a new state per round there)."""


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
    if k > 1 and np.isfinite(C).all() and np.array_equal(C, np.floor(C)) and float(C.max(initial=0.0)) * n < 2.0**52:
        return _greedy_integral(C, k, S, cur, cand)
    for _ in range(k):
        idx = np.flatnonzero(cand)
        tot = np.minimum(cur[:, None], C[:, idx]).sum(axis=0)
        j = int(idx[int(np.argmin(tot))])
        S.append(j)
        cand[j] = False
        cur = np.minimum(cur, C[:, j])
    return np.array(sorted(S), dtype=np.int64)


def _greedy_integral(C: FloatArray, k: int, S: list[int], cur: FloatArray, cand: BoolArray) -> IntArray:
    """:func:`greedy` on integral costs (exact sums in any order) with the saving of every column kept
    up to date: an added facility changes only the rows it now serves (the same choices as the
    from-scratch sums, ties to the lowest index; fl1400, p = 200: 1.4 s to about 0.2 s)."""
    if not np.isfinite(cur).all():  # nothing open yet: the first facility is the cheapest column
        idx = np.flatnonzero(cand)
        j = int(idx[int(np.argmin(C[:, idx].sum(axis=0)))])
        S.append(j)
        cand[j] = False
        cur = C[:, j].copy()
        k -= 1
    saving = np.maximum(cur[:, None] - C, 0.0).sum(axis=0)
    for _ in range(k):
        idx = np.flatnonzero(cand)
        j = int(idx[int(np.argmax(saving[idx]))])
        S.append(j)
        cand[j] = False
        rows = np.flatnonzero(C[:, j] < cur)
        Cr = C[rows]
        saving -= np.maximum(cur[rows, None] - Cr, 0.0).sum(axis=0)
        cur[rows] = C[rows, j]
        saving += np.maximum(cur[rows, None] - Cr, 0.0).sum(axis=0)
    return np.array(sorted(S), dtype=np.int64)


def _group_rows_add(target: FloatArray, rows: IntArray, values: FloatArray) -> None:
    """``target[rows[t]] += values[t]`` for every ``t`` (rows may repeat), by grouped sums."""
    if rows.size == 0:
        return
    order = np.argsort(rows, kind="stable")
    r_sorted = rows[order]
    starts = np.flatnonzero(np.r_[True, r_sorted[1:] != r_sorted[:-1]])
    target[r_sorted[starts]] += np.add.reduceat(values[order], starts, axis=0)


class _Interchange:
    """Fast interchange (Resende and Werneck 2007): ``gain``, ``loss`` and ``extra`` kept up to date
    across moves, so that a move only recomputes the clients whose two nearest open facilities it
    changes.  ``delta[r, j] = loss[r] - gain[j] - extra[r, j]`` is the cost change of closing
    ``S[r]`` and opening ``j``.  ``S`` stays sorted (ties break as in a from-scratch evaluation)."""

    def __init__(self, C: FloatArray, S: IntArray, far: FloatArray) -> None:
        self.C, self.far = C, far
        n, m = C.shape
        self.integral: bool | None = None  # see _integral
        self.S = np.array(sorted(int(j) for j in S), dtype=np.int64)
        self.gain = np.zeros(m)
        self.loss = np.zeros(self.S.size)
        self.extra = np.zeros((self.S.size, m))
        self.n1 = np.zeros(n, dtype=np.int64)
        self.n2 = np.zeros(n, dtype=np.int64)
        self.d1 = np.zeros(n)
        self.d2 = np.zeros(n)
        rows = np.arange(n)
        self._set_nearest(rows)
        self._contribute(rows, 1.0)

    def _set_nearest(self, rows: IntArray) -> None:
        S = self.S
        sub = self.C[np.ix_(rows, S)]
        if S.size == 1:
            self.n1[rows], self.d1[rows] = S[0], sub[:, 0]
            self.n2[rows], self.d2[rows] = -1, self.far[rows]
            return
        two = np.argpartition(sub, 1, axis=1)[:, :2]
        r = np.arange(rows.size)
        a, b = two[:, 0], two[:, 1]
        first_is_a = (sub[r, a] < sub[r, b]) | ((sub[r, a] == sub[r, b]) & (a < b))
        lo = np.where(first_is_a, a, b)
        hi = np.where(first_is_a, b, a)
        self.n1[rows], self.d1[rows] = S[lo], sub[r, lo]
        self.n2[rows], self.d2[rows] = S[hi], sub[r, hi]

    def _contribute(self, rows: IntArray, sign: float) -> None:
        Crows = self.C[rows]
        d1, d2 = self.d1[rows], self.d2[rows]
        pos = np.searchsorted(self.S, self.n1[rows])
        np.add.at(self.loss, pos, sign * (d2 - d1))
        # only the pairs with c_ij < d2 add to gain and extra: sparse updates when they are few (p = 200:
        # about 2 % of rows x columns; at p = 10 about 25 %, where sorting them costs more than the
        # dense sums: rl1304 twice slower; about 2/p of a row lies below d2, hence p > 32)
        if self.S.size > 32 and self._integral():
            near = Crows < d2[:, None]
            if 16 * np.count_nonzero(near) < near.size:
                ri, cj = np.nonzero(near)
                self._contribute_sparse(ri, cj, Crows[ri, cj], d1, d2, pos, sign)
                return
        self.gain += sign * np.maximum(d1[:, None] - Crows, 0.0).sum(axis=0)
        M = d2[:, None] - np.maximum(Crows, d1[:, None])
        np.maximum(M, 0.0, out=M)
        if sign < 0:
            np.negative(M, out=M)
        _group_rows_add(self.extra, pos, M)

    def _integral(self) -> bool:
        """Integral finite costs: sums are exact in any order, so the sparse updates may be used (on
        other costs the dense ones keep the floating-point results of earlier versions, bit for bit).
        Checked once, when a sparse update is first possible."""
        if self.integral is None:
            C = self.C
            self.integral = bool(np.isfinite(C).all() and np.array_equal(C, np.floor(C)))
        return self.integral

    def _contribute_sparse(self, ri: IntArray, cj: IntArray, c: FloatArray, d1: FloatArray, d2: FloatArray,
                           pos: IntArray, sign: float) -> None:
        """:meth:`_contribute` from the pairs ``(ri, cj)`` (row-major order) with ``c < d2`` only: the
        same sums, each added in the same row order as the dense one (the same floating-point
        result), at a cost of the pairs instead of rows x columns (p = 200: about 20 of 1,400 per row)."""
        m = self.gain.size
        g = d1[ri] - c
        keep = g > 0
        self.gain += sign * np.bincount(cj[keep], weights=g[keep], minlength=m)
        e = d2[ri] - np.maximum(c, d1[ri])
        keep = e > 0
        if sign < 0:
            np.negative(e, out=e)
        key = pos[ri[keep]] * m + cj[keep]
        order = np.argsort(key, kind="stable")
        key, e = key[order], e[keep][order]
        if key.size:
            first = np.r_[True, key[1:] != key[:-1]]
            # bincount adds in element order (reduceat may sum long runs pairwise)
            self.extra.reshape(-1)[key[first]] += np.bincount(np.cumsum(first) - 1, weights=e)

    def best_move(self, fixed: BoolArray, closed_ok: BoolArray) -> tuple[int, int, float]:
        """The best swap ``(r, j, delta)``; ``closed_ok`` marks the facilities that may be opened."""
        delta = self.loss[:, None] - self.gain[None, :] - self.extra
        delta[:, ~closed_ok] = np.inf
        delta[fixed[self.S], :] = np.inf
        r, j = divmod(int(np.argmin(delta)), delta.shape[1])
        return r, j, float(delta[r, j])

    def snapshot(self) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, IntArray, IntArray, FloatArray, FloatArray]:
        """A copy of the state, for :meth:`restore`."""
        return (self.S.copy(), self.gain.copy(), self.loss.copy(), self.extra.copy(), self.n1.copy(), self.n2.copy(),
                self.d1.copy(), self.d2.copy())

    def restore(self, snap: tuple[IntArray, FloatArray, FloatArray, FloatArray, IntArray, IntArray, FloatArray,
                                  FloatArray]) -> None:
        """Go back to a :meth:`snapshot` (which is not copied again: take a new one before the next restore)."""
        self.S, self.gain, self.loss, self.extra, self.n1, self.n2, self.d1, self.d2 = snap

    def replace(self, out: int, j: int) -> None:
        """Close the open facility ``out`` and open ``j``."""
        self.swap(int(np.searchsorted(self.S, out)), j)

    def descend(self, fixed: BoolArray, allowed: BoolArray, deadline: float, tol: float) -> int:
        """Best-improvement swaps until none improves by more than ``tol`` (or the deadline); returns the
        number of moves."""
        moves = 0
        while time.perf_counter() <= deadline:
            closed_ok = allowed.copy()
            closed_ok[self.S] = False
            if not closed_ok.any():
                break
            r, j, delta = self.best_move(fixed, closed_ok)
            if not delta < -tol:
                break
            self.swap(r, j)
            moves += 1
        return moves

    def swap(self, r: int, j: int) -> None:
        out = int(self.S[r])
        C = self.C
        rows = np.flatnonzero((self.n1 == out) | (self.n2 == out) | (C[:, j] < self.d2))
        self._contribute(rows, -1.0)
        S = self.S.copy()
        S[r] = j
        order = np.argsort(S, kind="stable")
        self.S = S[order]
        self.loss = self.loss[order]
        self.extra = self.extra[order]
        self._set_nearest(rows)
        self._contribute(rows, 1.0)


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
    state = _Interchange(C, S, far)
    moves = state.descend(fixed, allowed, deadline, tol)
    S_out = state.S
    cost = float(C[:, S_out].min(axis=1).sum())
    logger.debug("local search: %d moves, cost %.6g", moves, cost)
    return S_out, cost


def _local_kick(C: FloatArray, best: IntArray, movable: IntArray, closed: IntArray, q: int,
                rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Close the ``q`` movable open facilities nearest to a random client and open ``q`` random
    closed ones among that client's nearest (a kick that the interchange does not undo at once when
    ``p`` is large; with few facilities open the neighbourhood is most of the closed ones).
    Returns ``(facilities closed, facilities opened)``."""
    i = int(rng.integers(C.shape[0]))
    out = movable[np.argsort(C[i, best[movable]], kind="stable")[:q]]
    near = closed[np.argsort(C[i, closed], kind="stable")[: max(3 * q, 4 * q * C.shape[1] // best.size)]]
    return best[out], rng.choice(near, q, replace=False)


def perturbed_search(
    C: FloatArray,
    S: IntArray,
    fixed: BoolArray,
    allowed: BoolArray,
    far: FloatArray,
    rounds: int,
    seed: int,
    deadline: float,
    tol: float,
    patience: int = 40,
) -> tuple[IntArray, float]:
    """Iterated local search: at most ``rounds`` times (and until ``patience`` rounds in a row bring
    nothing), a local kick (:func:`_local_kick`, ``q`` = 2, 3, 4 in turn) then a descent with
    :func:`local_search`; keep the best.

    The interchange's local optima differ from the optimum by multi-facility moves that no single
    swap improves (rl1304, p = 10: the descent stops 0.06 % above the optimum; fl1400, p = 200:
    0.5 % above it, and kicks of random far-apart facilities are undone by the descent, whereas
    kicks near one client reach 0.14 % above in 150 rounds).  Deterministic for a given ``seed``;
    ``rounds`` and ``patience`` are the work limits and ``deadline`` a safety net.

    Returns:
        ``(S, cost)``: the best solution found (the input when nothing improves) and its cost.
    """
    rng = np.random.default_rng(seed)
    best = np.array(sorted(S), dtype=np.int64)
    best_cost = float(C[:, best].min(axis=1).sum())
    movable = np.flatnonzero(~fixed[best])
    since_improved = 0
    # with many facilities (INCREMENTAL_MIN_FACILITIES), one interchange state across the rounds: a
    # kick is q swaps of it and a round that brings nothing goes back to a copy (the state of
    # ``best``), instead of building the state anew for every descent (the same moves)
    incremental = best.size > INCREMENTAL_MIN_FACILITIES
    state: _Interchange | None = None
    for r in range(rounds):
        if movable.size == 0 or since_improved >= patience or time.perf_counter() > deadline:
            break
        since_improved += 1
        closed = np.flatnonzero(allowed & ~np.isin(np.arange(C.shape[1]), best))
        q = min(2 + r % 3, movable.size, closed.size)
        if q == 0:
            break
        outs, ins = _local_kick(C, best, movable, closed, q, rng)
        if incremental:
            if state is None:
                state = _Interchange(C, best, far)
            snap = state.snapshot()
            for out, j in zip(outs.tolist(), ins.tolist()):
                state.replace(out, j)
            work = state
        else:
            work = _Interchange(C, np.concatenate([best[~np.isin(best, outs)], ins]), far)
        work.descend(fixed, allowed, deadline, tol)
        cur = work.S
        cost = float(C[:, cur].min(axis=1).sum())
        if cost < best_cost - tol:
            best, best_cost = cur.copy(), cost
            since_improved = 0
            movable = np.flatnonzero(~fixed[best])
            state = None  # rebuilt from ``best`` at the next round: no rounding drift across rounds
            logger.debug("perturbed search round %d: %.6g", r, cost)
        elif state is not None:
            state.restore(snap)
    return best, best_cost
