"""The exact routes of the walks to facilities, for a Lagrangian bound tighter than the access
relaxation (:func:`~optimiser.model.transforms.relax_access_crossings`).

The relaxation lets every walk to a facility use every candidate crossing for free: a firm's
walk to site s is its shortest route to s over *any* crossings. Measured on benchmarks/joint
(200 firms), no bound from it can come within 1 % of the best known layout (its optimum is at
most 4,746.1M against 4,809.3M). :func:`access_routes` keeps, for each walk (client c, site s),
its exact routes "site s AND crossings R" (at most two crossings), so that
:mod:`optimiser.solve.lagrangian` can dualise the aggregated link

    sum over the routes (s, R) of client c with k in R of a_{c,s,R}  <=  x_k

(a client takes at most one route, so at most one using crossing k, and only if k is built)
with one multiplier ``M[c, k] >= 0`` per access client and crossing: the walk to s then costs
``min_R (w_c d_{c,s,R} + sum_{k in R} M[c, k])`` and crossing k earns ``sum_c M[c, k]`` in the
knapsack. At ``M = 0`` that is exactly the relaxation's Lagrangian; any ``M >= 0`` gives a valid
bound, and the subgradient moves it above the relaxation's optimum.

Routes dominated within their walk (a route no shorter than another whose crossings are a subset
of its own) can never be the minimum and are dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from optimiser.solve.heuristic import Evaluator

logger = logging.getLogger(__name__)


def concat_ranges(lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``lo[i], lo[i] + 1, ..., lo[i] + n[i] - 1`` for every i, concatenated (int64): the
    positions of several slices of one flat array at once."""
    return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))


MAX_ROUTE_CROSSINGS = 2
"""Routes over more crossings than this are not kept: their walks stay relaxed."""


@dataclass(frozen=True)
class AccessRoutes:
    """The exact routes of the access walks, sorted by (client, site, weighted length).

    Attributes:
        client: the route's client (index into ``problem.clients``).
        site: the route's site (decision id).
        k1, k2: the route's crossings as positions in ``crossings`` (``len(crossings)``: none).
        cost: weight x length (objective units).
        crossings: decision ids of the candidate crossings.
        clients: the access clients with routes (sorted); ``M`` has one row per client here.
        n_d: decisions of the problem.
        cap: per client of the problem, the cap of its multiplier (objective units; ``inf``
            for clients without routes): routes at or above it were left out.
    """

    client: np.ndarray
    site: np.ndarray
    k1: np.ndarray
    k2: np.ndarray
    cost: np.ndarray
    crossings: np.ndarray
    clients: np.ndarray
    n_d: int
    cap: np.ndarray

    @property
    def size(self) -> int:
        """Routes kept."""
        return int(self.client.size)

    def keys(self) -> np.ndarray:
        """The (client, site) key of each route: ``client * n_d + site`` (non-decreasing)."""
        return self.client.astype(np.int64) * self.n_d + self.site


def _option_parts(ev: Evaluator, crossing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per option: its one non-crossing decision (-1: none or several), its first and second
    crossing positions (n_k: none) and whether it is a usable route (one site, at most
    ``MAX_ROUTE_CROSSINGS`` crossings)."""
    n_k = int(crossing.sum())
    pos = np.full(ev.n_d, n_k, dtype=np.int64)
    pos[crossing] = np.arange(n_k)
    ptr, idx = ev.A.indptr, ev.A.indices
    lens = np.diff(ptr)
    row = np.repeat(np.arange(ev.n_o), lens)
    is_c = crossing[idx]
    n_cross = np.bincount(row, is_c, minlength=ev.n_o).astype(np.int64)
    n_rest = lens - n_cross
    site = np.full(ev.n_o, -1, dtype=np.int64)
    site[row[~is_c]] = idx[~is_c]
    ok = (n_rest == 1) & (n_cross <= MAX_ROUTE_CROSSINGS)
    site[~ok] = -1
    k1 = np.full(ev.n_o, n_k, dtype=np.int64)
    k2 = np.full(ev.n_o, n_k, dtype=np.int64)
    rc, ic = row[is_c], pos[idx[is_c]]
    # the crossings of an option in column order: the first seen is k1, the last k2
    first = np.ones(rc.size, dtype=bool)
    first[1:] = rc[1:] != rc[:-1]
    k1[rc[first]] = ic[first]
    second = ~first
    k2[rc[second]] = ic[second]
    return site, k1, k2, ok


def _prune(c: np.ndarray, s: np.ndarray, k1: np.ndarray, k2: np.ndarray, cost: np.ndarray, n_k: int, n_d: int) -> np.ndarray:
    """Positions of the routes to keep: sorted by (client, site, cost), the cheapest of each
    crossing set, and none dominated by a route over a subset of its crossings."""
    order = np.lexsort((cost, k2, k1, s, c))
    c, s, k1, k2, cost = c[order], s[order], k1[order], k2[order], cost[order]
    g = c * n_d + s
    same = np.zeros(c.size, dtype=bool)
    same[1:] = (g[1:] == g[:-1]) & (k1[1:] == k1[:-1]) & (k2[1:] == k2[:-1])
    keep = ~same  # the cheapest route of each (walk, crossing set)
    # the walk's route without crossings, and its routes over one crossing
    none = keep & (k1 == n_k)
    ug, first = np.unique(g, return_index=True)
    walk = np.searchsorted(ug, g)
    free = np.full(ug.size, np.inf)
    np.minimum.at(free, walk[none], cost[none])
    keep &= (k1 == n_k) | (cost < free[walk])
    one = keep & (k1 < n_k) & (k2 == n_k)
    okey = g[one] * (n_k + 1) + k1[one]
    ocost = cost[one]
    two = np.nonzero(keep & (k2 < n_k))[0]
    if two.size and okey.size:
        for kk in (k1, k2):
            key = g[two] * (n_k + 1) + kk[two]
            at = np.clip(np.searchsorted(okey, key), 0, okey.size - 1)
            dominated = (okey[at] == key) & (ocost[at] <= cost[two])
            keep[two[dominated]] = False
    out = order[keep]
    # back in (client, site, cost) order
    return out[np.lexsort((cost[keep], s[keep], c[keep]))]


def access_routes(ev: Evaluator, cap: np.ndarray) -> AccessRoutes | None:
    """The exact routes of the access walks of ``ev``'s problem (the exact model, not a
    relaxation) whose weighted length is below their client's ``cap`` (objective units, one per
    client of the problem), from the evaluator's matrices (no Python loop over routes).

    A Lagrangian that keeps each client's multiplier at most its cap never takes a longer
    route (its reduced cost is >= 0), so the routes above it can be left out: 200 firms, caps
    1.25x the incumbent's walks, about 69k of the 7.9M access incidences. ``None`` when no
    walk to a facility below its cap needs a crossing."""
    problem = ev.problem
    crossing = problem.crossing_mask
    n_k = int(crossing.sum())
    if n_k == 0:
        return None
    site, k1o, k2o, ok = _option_parts(ev, crossing)
    access = np.array([c.kind != "pair" for c in problem.clients], dtype=bool)
    if access.size == 0:
        return None
    lc = ev.lev_client
    levs = np.nonzero(access[lc] & (ev.w[lc] * ev.lev_len < np.asarray(cap, dtype=float)[lc]))[0]
    ptr, opt = ev.M.indptr, ev.M.indices
    lo, hi = ptr[levs], ptr[levs + 1]
    n = hi - lo
    inc = concat_ranges(lo, n)
    o = opt[inc]
    lev = np.repeat(levs, n)
    c = lc[lev]
    bad = np.unique(c[~ok[o]])
    good = ok[o] & ~np.isin(c, bad)  # a client with a route this does not model keeps its relaxed walks
    o, lev, c = o[good], lev[good], c[good]
    if not (k1o[o] < n_k).any():
        return None
    cost = (ev.w[c] * ev.lev_len[lev]).astype(float)
    s, k1, k2 = site[o], k1o[o], k2o[o]
    keep = _prune(c, s, k1, k2, cost, n_k, ev.n_d)
    clients = np.unique(c[keep])
    caps = np.full(len(problem.clients), np.inf)
    caps[clients] = np.asarray(cap, dtype=float)[clients]
    out = AccessRoutes(client=c[keep].astype(np.int64), site=s[keep].astype(np.int64), k1=k1[keep].astype(np.int64),
                       k2=k2[keep].astype(np.int64), cost=cost[keep], crossings=np.nonzero(crossing)[0],
                       clients=clients, n_d=ev.n_d, cap=caps)
    logger.debug("access routes: %d kept of %d, %d clients", out.size, c.size, out.clients.size)
    return out


class RouteDual:
    """The routes' part of a Lagrangian dual (:class:`optimiser.solve.lagrangian._Dual`): which
    of its incidences are walks (client c, site s) with exact routes, the routes of the active
    ones, their costs under the multipliers ``M`` and the subgradient of ``M``.

    ``M`` has one row per ``routes.clients`` and one column per crossing, plus a last column
    that stays 0 (a route's missing second crossing)."""

    def __init__(self, routes: AccessRoutes, ic: np.ndarray, io: np.ndarray, closed: np.ndarray) -> None:
        self.routes = routes
        n_k = routes.crossings.size
        self.n_k = n_k
        shut = np.zeros(n_k + 1, dtype=bool)
        shut[:n_k] = closed[routes.crossings]
        ok = ~shut[routes.k1] & ~shut[routes.k2] & ~closed[routes.site]
        self.r_cost = routes.cost[ok]
        self.r_k1, self.r_k2 = routes.k1[ok], routes.k2[ok]
        row_of = np.full(int(routes.cap.size), -1, dtype=np.int64)
        row_of[routes.clients] = np.arange(routes.clients.size)
        self.r_row = row_of[routes.client[ok]]
        keys = routes.client[ok] * routes.n_d + routes.site[ok]
        walks, start = np.unique(keys, return_index=True)
        end = np.append(start[1:], keys.size)
        # the incidences that are walks with routes (an option that is a single site)
        ikey = ic.astype(np.int64) * routes.n_d + io
        if walks.size == 0:  # every route needs a closed decision: the relaxed walks stay
            walks, start, end = np.full(1, -1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        at = np.clip(np.searchsorted(walks, ikey), 0, walks.size - 1)
        self.routed = (io < routes.n_d) & (walks[at] == ikey)
        self.start = np.where(self.routed, start[at], 0)
        self.end = np.where(self.routed, end[at], 0)
        self.cap = routes.cap
        self.a_pos = np.zeros(0, dtype=np.int64)
        self.a_route = np.zeros(0, dtype=np.int64)
        self.a_seg = np.zeros(0, dtype=np.int64)
        self._set_active_routes()

    def activate(self, active: np.ndarray, limit_of_inc: np.ndarray) -> None:
        """The routes of the active incidences (``active``: their positions among all incidences,
        ``limit_of_inc``: their clients' limits): ``a_pos`` (positions among the active ones of
        the routed incidences), ``a_route`` (route ids below the limit, by walk) and ``a_seg``
        (the start of each walk's routes in ``a_route``)."""
        routed = self.routed[active]
        self.a_pos = np.nonzero(routed)[0]
        inc = active[self.a_pos]
        lo, hi = self.start[inc], self.end[inc]
        lim = limit_of_inc[self.a_pos]
        n = hi - lo
        ids = concat_ranges(lo, n)
        seg = np.repeat(np.arange(inc.size), n)
        below = self.r_cost[ids] < lim[seg]
        below[np.concatenate([[0], np.cumsum(n)[:-1]]) if n.size else np.zeros(0, dtype=np.int64)] = True  # the cheapest
        self.a_route = ids[below]
        counts = np.bincount(seg[below], minlength=inc.size)
        self.a_seg = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._set_active_routes()

    def _set_active_routes(self) -> None:
        """What the iterations read of the active routes, gathered once per active set: their
        costs, their two crossings' places in ``M`` (flat, row-major: ``n_k + 1`` columns), and
        each one's walk (its segment of ``a_seg``). Reassigned, never changed in place: copies
        of this dual (``_Dual.with_knapsack``) share them until they activate their own."""
        r = self.a_route
        rows = self.r_row[r]
        self._a_cost = self.r_cost[r]
        self._a_m1 = rows * (self.n_k + 1) + self.r_k1[r]
        self._a_m2 = rows * (self.n_k + 1) + self.r_k2[r]
        self._a_seg_of = np.repeat(np.arange(self.a_seg.size), np.diff(np.append(self.a_seg, r.size)))

    def route_costs(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(each active walk's cheapest route cost under ``M``, every active route's cost)."""
        if self.a_route.size == 0:
            return np.zeros(0), np.zeros(0)
        flat = M.ravel()
        adj = self._a_cost + flat.take(self._a_m1) + flat.take(self._a_m2)
        return np.minimum.reduceat(adj, self.a_seg), adj

    def credit(self, M: np.ndarray, n_d: int) -> np.ndarray:
        """Per decision: what the crossings earn in the knapsack (``sum_c M[c, k]``)."""
        out = np.zeros(n_d)
        out[self.routes.crossings] = M[:, :self.n_k].sum(axis=0)
        return out

    def subgradient(self, M: np.ndarray, took: np.ndarray, seg_min: np.ndarray, adj: np.ndarray,
                    y: np.ndarray) -> np.ndarray:
        """The subgradient of ``M`` (projected: 0 where ``M`` is 0 and it is negative): routes
        taken using crossing k, less whether k is built. ``took``: per active walk, whether it
        was taken (reduced cost < 0 and its site open)."""
        if adj.size and took.any():
            seg_of = self._a_seg_of
            best = (adj <= seg_min[seg_of]) & took[seg_of]
            cand = np.nonzero(best)[0]
            first = cand[np.concatenate([[True], seg_of[cand][1:] != seg_of[cand][:-1]])] if cand.size else cand
            # each taken walk's route: 1 at its two crossings (whole counts: the same floats as
            # np.add.at on zeros)
            g = np.bincount(np.concatenate([self._a_m1[first], self._a_m2[first]]),
                            minlength=M.size).reshape(M.shape).astype(float)
        else:
            g = np.zeros(M.shape)
        g[:, :self.n_k] -= y[self.routes.crossings][None, :]
        g[:, self.n_k] = 0.0
        g[(M <= 0) & (g < 0)] = 0.0
        return g
