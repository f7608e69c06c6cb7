"""Upper bounds by decomposition: POPMUSIC for the p-median (Taillard 2003).

A *part* is an open facility with the clients it serves.  Taking a seed part and the ``r - 1``
parts nearest to it, the sub-problem "open ``r`` facilities for these parts' clients" is solved
exactly (by a caller-supplied solver: the p-median solver itself on a small matrix); a better
sub-solution replaces the ``r`` facilities.  Each part is a seed once, and again after it changed;
the search ends when no seed is left (a local optimum for every window of ``r`` parts) or after
``max_subproblems`` sub-problems (the work limit).

Where it helps: many facilities to open.  After the iterated local search (fl1400, p = 200: 8,821
and p = 300: 6,146) windows of ``r = 10`` parts reach 8,813 and 6,122 in about 9 and 22 s of CPU
(the published optima: 8,806, 6,109); the interchange's local optima there differ from better
solutions by moves of several facilities inside one region, which a window solves exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimiser.pmedian.problem import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)

SubSolver = Callable[[FloatArray, int, IntArray, float], "IntArray | None"]
"""``(cost, r, fixed_positions, time_limit_s) -> positions of the r chosen columns`` (``None`` when
the sub-problem was not solved); ``cost`` is the sub-problem's clients x candidate columns."""


@dataclass(frozen=True)
class PopmusicResult:
    """The best solution, its cost, the sub-problems solved and how many of them improved."""

    S: IntArray
    cost: float
    subproblems: int
    improvements: int


def _part_distance(C: FloatArray, assign: IntArray, S: IntArray, seed_fac: int) -> FloatArray:
    """Per open facility ``S[t]``: the smallest cost of serving one of its clients from ``seed_fac``
    (how near part ``t`` lies to the seed; the seed's own part is at its nearest client's cost)."""
    dist = np.full(S.size, np.inf)
    np.minimum.at(dist, assign, C[:, seed_fac])
    return dist


def _window(C: FloatArray, S: IntArray, allowed: BoolArray, fixed: BoolArray, r: int,
            seed_fac: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The sub-problem around ``seed_fac``: its ``r`` nearest parts (positions into ``S``), their
    clients, the candidate columns (the parts' facilities and each client's nearest allowed column)
    and the positions of the fixed facilities among the candidates."""
    assign = np.argmin(C[:, S], axis=1)
    dist = _part_distance(C, assign, S, seed_fac)
    dist[np.searchsorted(S, seed_fac)] = -1.0  # the seed's own part first
    parts = np.argsort(dist, kind="stable")[:r]
    clients = np.flatnonzero(np.isin(assign, parts))
    # facilities open outside the window are no candidates (a fixed one would count against the
    # window's r twice, an open one would be opened twice)
    cols = np.setdiff1d(np.flatnonzero(allowed), np.delete(S, parts), assume_unique=True)
    nearest = cols[np.argmin(C[np.ix_(clients, cols)], axis=1)] if clients.size and cols.size else cols[:0]
    cand = np.union1d(S[parts], nearest)
    fixed_pos = np.flatnonzero(fixed[cand])
    return parts, clients, cand, fixed_pos


def popmusic(C: FloatArray, S: IntArray, fixed: BoolArray, allowed: BoolArray, r: int, solve_sub: SubSolver,
             max_subproblems: int, deadline: float, seed: int, tol: float) -> PopmusicResult:
    """Improve ``S`` by exact re-optimisation of windows of ``r`` neighbouring parts.

    Args:
        C: Weighted costs (clients x facilities).
        S: Start solution (facility indices; every ``fixed`` facility among them).
        fixed: Facilities that must stay open.
        allowed: Facilities that may be opened.
        r: Parts per window (sub-problem's ``p``).
        solve_sub: Exact solver of a sub-problem (see :data:`SubSolver`).
        max_subproblems: Work limit.
        deadline: ``time.perf_counter()`` safety net.
        seed: Order in which the seeds are taken (deterministic for a given seed).
        tol: Smallest improvement that counts.

    Returns:
        A :class:`PopmusicResult` (the input solution when nothing improves).
    """
    rng = np.random.default_rng(seed)
    S = np.array(sorted(int(j) for j in S), dtype=np.int64)
    best = float(C[:, S].min(axis=1).sum())
    r = min(r, S.size)
    queue = [int(j) for j in S]
    subproblems = improvements = 0
    while queue and subproblems < max_subproblems:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        seed_fac = queue.pop(int(rng.integers(len(queue))))
        if seed_fac not in set(S.tolist()):
            continue
        parts, clients, cand, fixed_pos = _window(C, S, allowed, fixed, r, seed_fac)
        if clients.size == 0 or fixed_pos.size > r:
            # the window's parts serve no client, or it holds more facilities fixed open (by the
            # fixing tests, which need not hold in the incumbent) than it may open: no sub-problem
            continue
        sub = C[np.ix_(clients, cand)]
        subproblems += 1
        chosen = solve_sub(sub, r, fixed_pos, left)
        if chosen is None:
            continue
        new_cols = cand[chosen]
        if sub[:, chosen].min(axis=1).sum() >= C[np.ix_(clients, S[parts])].min(axis=1).sum() - tol:
            continue
        S_new = np.sort(np.concatenate([np.delete(S, parts), new_cols]))
        cost = float(C[:, S_new].min(axis=1).sum())
        if cost < best - tol:
            S, best = S_new, cost
            improvements += 1
            queue = sorted(set(queue) | {int(j) for j in new_cols})
            logger.debug("popmusic sub-problem %d: %.6g", subproblems, cost)
    return PopmusicResult(S, best, subproblems, improvements)


def part_gaps(C: FloatArray, S: IntArray, lam: FloatArray) -> FloatArray:
    """Per open facility ``S[t]``, its share of the incumbent's gap to the Lagrangian bound at ``lam``.

    ``cost(S) - L(lam) = sum_t g_t + (sum_t rho_{S[t]} - the p smallest rho)`` with ``g_t = sum over
    part t's clients of (c_ij - lam_i) - rho_{S[t]} >= 0`` and ``rho_j = sum_i min(0, c_ij - lam_i)``:
    ``g_t`` grows with the part's clients that pay more than their multiplier and with the clients of
    other parts that ``S[t]`` would serve below theirs (where the incumbent departs from the
    relaxation's solution)."""
    diff = C[:, S] - lam[:, None]
    assign = np.argmin(C[:, S], axis=1)
    own = np.zeros(S.size)
    np.add.at(own, assign, diff[np.arange(C.shape[0]), assign])
    return own - np.minimum(diff, 0.0).sum(axis=0)


FixedSolver = Callable[[IntArray, float], "IntArray | None"]
"""``(facilities kept open, time_limit_s) -> the best solution found that keeps them open`` (all its
facilities; ``None`` when the sub-problem was not solved)."""


def gap_windows(C: FloatArray, S: IntArray, fixed: BoolArray, lam: FloatArray, r: int, solve_fixed: FixedSolver,
                max_subproblems: int, deadline: float, tol: float) -> PopmusicResult:
    """Free the ``r`` open facilities nearest to a seed and re-solve the whole instance with the other
    open facilities kept open, the windows with the largest share of the gap to the Lagrangian bound
    first (:func:`part_gaps` summed over the window's parts).

    Unlike :func:`popmusic`, the freed facilities may reopen anywhere (every allowed column is a
    candidate, every client may move): a window can move facilities from one region to another,
    which re-solving neighbouring parts on their own clients cannot.  After an improvement the
    windows are scored again.  Deterministic; ``max_subproblems`` is the work limit, ``deadline`` a
    safety net.

    Returns:
        A :class:`PopmusicResult` (the input solution when nothing improves).
    """
    S = np.array(sorted(int(j) for j in S), dtype=np.int64)
    best = float(C[:, S].min(axis=1).sum())
    r = min(r, S.size)
    tried: set[bytes] = set()
    subproblems = improvements = 0
    while subproblems < max_subproblems:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        near = np.argsort(C[np.ix_(S, S)], axis=1, kind="stable")[:, :r]
        score = part_gaps(C, S, lam)[near].sum(axis=1)
        windows = [np.sort(w[~fixed[S[w]]]) for w in near[np.argsort(-score, kind="stable")]]  # fixed stay open
        todo = [w for w in windows if w.size and w.tobytes() not in tried]
        if not todo:
            break
        free_pos = todo[0]
        tried.add(free_pos.tobytes())
        subproblems += 1
        S_new = solve_fixed(np.delete(S, free_pos), left)
        if S_new is None:
            continue
        S_new = np.sort(S_new)
        cost = float(C[:, S_new].min(axis=1).sum())
        if cost < best - tol:
            S, best = S_new, cost
            improvements += 1
            tried = set()
            logger.debug("gap window %d: %.6g", subproblems, cost)
    return PopmusicResult(S, best, subproblems, improvements)
