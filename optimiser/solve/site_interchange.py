"""The interchange of a layout's facility and social-space sites with its crossings fixed
(:func:`improve_sites`): each kind's open sites re-chosen together by an exact p-median, then
one site swapped at a time, every move confirmed on the exact objective and constraints of
:class:`~optimiser.solve.heuristic.Evaluator`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np

from optimiser.model.flat import flat_options, option_sites
from optimiser.model.problem import Problem
from optimiser.pmedian import solve_pmedian
from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator

logger = logging.getLogger(__name__)

_MAX_MATRIX = 25_000_000
"""improve_sites builds a clients x sites matrix of float64 only up to this many entries (200 MB)."""


class _SiteMatrix:
    """The p-median view of a layout with its crossings fixed: clients x sites walking lengths.

    Attributes:
        sites: decision ids of the sites (facilities and social spaces).
        D: lengths (clients x sites), each capped by the client's base.
        base: each client's length without any site (its base, or an existing facility).
        w: client weights.
        kind: each site's interchange class ("kind:group:cost": counts and budget unchanged).
    """

    def __init__(self, ev: Evaluator, x: np.ndarray, is_site: np.ndarray, clients: np.ndarray, ok: np.ndarray,
                 opt_site: np.ndarray) -> None:
        problem = ev.problem
        M = ev.M.tocoo()
        inc_client = ev.lev_client[M.row]
        inc_len = ev.lev_len[M.row].astype(float)
        inc_opt = M.col
        self.sites = np.nonzero(is_site)[0]
        row_of = np.full(ev.w.size, -1, dtype=np.int64)
        row_of[clients] = np.arange(clients.size)
        col_of = np.full(ev.n_d, -1, dtype=np.int64)
        col_of[self.sites] = np.arange(self.sites.size)
        base = ev.base[clients].astype(float)
        sel = ok & (row_of[inc_client] >= 0)
        free = sel & (opt_site[inc_opt] == -1)  # reached without any site (an existing facility)
        np.minimum.at(base, row_of[inc_client[free]], inc_len[free])
        D = np.full((clients.size, self.sites.size), np.inf)
        with_site = sel & (opt_site[inc_opt] >= 0)
        np.minimum.at(D, (row_of[inc_client[with_site]], col_of[opt_site[inc_opt[with_site]]]), inc_len[with_site])
        self.D = np.minimum(D, base[:, None])
        self.base = base
        self.w = ev.w[clients].astype(float)
        self.kind = np.array([f"{problem.decisions[s].kind}:{problem.decisions[s].group}:{problem.decisions[s].cost}"
                              for s in self.sites])


def _site_matrix(ev: Evaluator, x: np.ndarray) -> _SiteMatrix | None:
    """The clients x sites matrix of layout ``x`` (its crossings fixed); ``None`` when there
    is nothing to interchange or the matrix would exceed ``_MAX_MATRIX`` entries."""
    problem = ev.problem
    is_site = ~problem.crossing_mask
    if not is_site.any():
        return None
    # option -> its one site (-1: none, -2: several), and whether its crossings are all built
    opt_site = option_sites(flat_options(problem), is_site)
    closed_cross = (~is_site) & (x == 0)
    blocked = (ev.A @ closed_cross.astype(np.int32)) > 0
    M = ev.M.tocoo()
    inc_client = ev.lev_client[M.row]
    inc_opt = M.col
    ok = ~blocked[inc_opt] & (opt_site[inc_opt] != -2)
    clients = np.unique(inc_client[ok & (opt_site[inc_opt] >= 0)])
    if clients.size == 0:
        return None
    if clients.size * int(is_site.sum()) > _MAX_MATRIX:
        logger.debug("improve_sites: a %d x %d matrix is too large; layout left as it is", clients.size, is_site.sum())
        return None
    return _SiteMatrix(ev, x, is_site, clients, ok, opt_site)


def _rechoose_kinds(ev: Evaluator, sm: _SiteMatrix, x: np.ndarray, best: int, deadline: float) -> tuple[np.ndarray, int]:
    """Each kind's open sites re-chosen together: an exact p-median over its candidates (the
    other kinds' open sites and the base as one always-open column); kept if the exact model
    accepts it (spacing and the like are not in the p-median). Returns (x, objective)."""
    sites, D, kind = sm.sites, sm.D, sm.kind
    for k in np.unique(kind):
        cols = np.nonzero(kind == k)[0]
        p = int(x[sites[cols]].sum())
        if p == 0 or p >= cols.size:
            continue
        others = np.nonzero((x[sites] == 1) & (kind != k))[0]
        rest = np.minimum(sm.base, D[:, others].min(axis=1)) if others.size else sm.base
        C = np.column_stack([D[:, cols], rest])
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        try:
            res = solve_pmedian(C, p + 1, weights=sm.w, fixed_open=[cols.size], time_limit_s=left)
        except (ValueError, MemoryError):  # pragma: no cover - an unusual matrix: swaps only
            logger.debug("improve_sites: the p-median of %s failed; swaps only", k, exc_info=True)
            continue
        pick = [int(c) for c in res.open_facilities if c < cols.size]
        if len(pick) != p:
            continue
        y = x.copy()
        y[sites[cols]] = 0
        y[sites[cols[pick]]] = 1
        if (oy := ev.feasible_open(y)) is not None:
            obj = ev.objective(y, oy)
            if obj < best:
                x, best = y, obj
    return x, best


def _best_swap(ev: Evaluator, sm: _SiteMatrix, x: np.ndarray, best: int,
               tries_per_move: int) -> tuple[np.ndarray, int] | None:
    """The best confirmed improving interchange of one open site (estimated for every
    candidate at once, confirmed on the exact objective); ``None`` when none improves."""
    sites, D, kind = sm.sites, sm.D, sm.kind
    open_cols = np.nonzero(x[sites] == 1)[0]
    moves = []
    for out in open_cols:
        rest = open_cols[open_cols != out]
        cur = D[:, rest].min(axis=1) if rest.size else sm.base
        cand = np.nonzero((kind == kind[out]) & (x[sites] == 0))[0]
        if cand.size == 0:
            continue
        cost = sm.w @ np.minimum(cur[:, None], D[:, cand])
        order = np.argsort(cost, kind="stable")[:tries_per_move]
        moves += [(float(cost[k]), int(out), int(cand[k])) for k in order]
    for _, out_col, in_col in sorted(moves):
        y = x.copy()
        y[sites[out_col]], y[sites[in_col]] = 0, 1
        if (oy := ev.feasible_open(y)) is not None:
            obj = ev.objective(y, oy)
            if obj < best:
                return y, obj
    return None


def improve_sites(problem: Problem, chosen: Iterable[int], *, evaluator: Evaluator | None = None, max_moves: int = 50,
                  tries_per_move: int = 20, safety_net_s: float = 60.0) -> tuple[int, ...]:
    """Swap local search over the open facility and social-space sites, crossings fixed.

    With the layout's crossings fixed, every walk to a facility is a nearest-open-site
    distance, so the classic p-median interchange applies: each kind's open sites are first
    re-chosen together by an exact p-median, then each open site is swapped for the closed
    site of the same kind and cost (counts and budget unchanged) that lowers the weighted
    walk most, estimated for all candidates at once from a clients x sites matrix. Each move
    is confirmed on the exact objective and constraints (spacing, coverage...) of
    :class:`Evaluator`; the best confirmed improving swap is made, until none improves.

    Args:
        problem: the problem.
        chosen: a layout (decision ids).
        evaluator: an :class:`Evaluator` of ``problem`` (built when not given).
        max_moves: the work limit: at most this many swaps.
        tries_per_move: candidates confirmed per open site and move.
        safety_net_s: wall-clock safety net, seconds (checked between steps; also the
            p-median's time limit).

    Returns:
        The (sorted) decision ids; never a worse layout (the layout unchanged when it is
        infeasible or the clients x sites matrix would exceed ``_MAX_MATRIX`` entries).
    """
    t0 = time.perf_counter()
    deadline = t0 + safety_net_s
    ev = evaluator or Evaluator(problem)
    x = ev.layout(chosen)
    if (ox := ev.feasible_open(x)) is None:
        return tuple(sorted(int(i) for i in chosen))
    best = ev.objective(x, ox)
    sm = _site_matrix(ev, x)
    if sm is None:
        return tuple(int(i) for i in np.nonzero(x)[0])
    start = best
    x, best = _rechoose_kinds(ev, sm, x, best, deadline)
    moves = 0
    stopped_by = "done"
    while True:
        if moves >= max_moves:
            stopped_by = "work limit"
            break
        if time.perf_counter() > deadline:
            stopped_by = "safety net"
            break
        if interrupt.requested():
            stopped_by = "interrupted"
            break
        step = _best_swap(ev, sm, x, best, tries_per_move)
        if step is None:
            break
        x, best = step
        moves += 1
    if stopped_by == "safety net":
        logger.info("improve_sites: the wall-clock safety net (%.1f s) stopped it after %d moves", safety_net_s, moves)
    logger.debug("improve_sites: %s -> %s, %d moves, stopped by %s, %.2f s", start, best, moves, stopped_by,
                 time.perf_counter() - t0)
    return tuple(int(i) for i in np.nonzero(x)[0])
