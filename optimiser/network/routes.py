"""Route options: the walking length of each way between two places with new crossings.

With non-negative lengths and a min-sum objective, walkers take shortest paths, so the
length between an origin and a target given a set Z of built crossings is the shortest
path in the base graph plus Z. A *route option* is a set R of new crossings (|R| <= k) with
the shortest length using them; it is kept only when it is shorter than the base length
and than every option over a proper subset of R (otherwise it is dominated). All functions
here are pure numpy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from optimiser.runclock import checkpoint

__all__ = ["CostCap", "EndLengths", "route_options", "route_option_arrays"]

logger = logging.getLogger(__name__)

_SEEN_MAX = 1 << 24
"""Most entries (int32, 64 MB) of the scratch that finds duplicate crossing pairs without a sort."""


@dataclass(frozen=True)
class EndLengths:
    """Base-graph lengths (m) needed to combine routes through candidate crossings.

    Attributes:
        base: (O, T) origin -> target lengths with no new crossing (inf: no route).
        origin_end: (O, 2C) origin -> crossing end (end ``2c + e`` is end ``e`` of ``c``).
        end_target: (2C, T) crossing end -> target.
        end_end: (2C, 2C) crossing end -> crossing end.
        crossing_m: (C,) walking length of each crossing (line + penalty).
    """

    base: np.ndarray
    origin_end: np.ndarray
    end_target: np.ndarray
    end_end: np.ndarray
    crossing_m: np.ndarray


@dataclass(frozen=True)
class CostCap:
    """Route options that cost more than a budget, left out (:func:`route_option_arrays`).

    An option's cost is its crossings' costs plus its target's (a new site); when it is over
    ``max_cost`` no layout within the budget can use it. Costs are non-negative, so an option's
    subsets cost no more: which options dominate which is decided before the cap, and the options
    kept are those without the cap less the ones over it.

    Attributes:
        crossing_cost: (C,) each candidate crossing's cost, in the budget's units.
        target_cost: (T,) each target's cost (0 for a place that exists).
        max_cost: the budget, in the same units.
        origins: (O,) bool: the origins whose options may be left out (a walk that must be
            served keeps every option, for the explanation of an infeasible budget).
    """

    crossing_cost: np.ndarray
    target_cost: np.ndarray
    max_cost: float
    origins: np.ndarray

    def pair_over(self) -> np.ndarray:
        """(C, 2C): crossing c1 and directed crossing k2 together, with the cheapest target, over
        the cap (the two-crossing routes :func:`_two_crossing_options` then never enumerates)."""
        cc = np.asarray(self.crossing_cost, dtype=float)
        least = float(np.min(self.target_cost)) if np.size(self.target_cost) else 0.0
        return (cc[:, None] + cc.repeat(2)[None, :]) + least > self.max_cost

    def within(self, target: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """Whether each option (target, crossing, crossing or -1) costs at most the cap."""
        cc = np.append(np.asarray(self.crossing_cost, dtype=float), 0.0)  # index -1: no crossing
        return (np.asarray(self.target_cost, dtype=float)[target] + cc[c1] + cc[c2]) <= self.max_cost


def _directed(el: EndLengths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed crossings k = 2c + d: enter at end k, leave at end k ^ 1.

    Returns (enter_cost (O, 2C), leave_cost (2C, T), hop (2C, 2C)) where enter_cost
    includes the crossing's own length and hop[k1, k2] = leave k1, walk, cross k2.
    """
    c2 = el.crossing_m.repeat(2)
    enter = el.origin_end + c2[None, :]
    out_end = np.arange(c2.size) ^ 1
    leave = el.end_target[out_end, :]
    hop = el.end_end[out_end][:, :] + c2[None, :]
    return enter, leave, hop


def _two_crossing_options(enter_o: np.ndarray, hop: np.ndarray, leave: np.ndarray, single_o: np.ndarray,
                          base_o: np.ndarray, same: np.ndarray, block_work: float) -> list[tuple[np.ndarray, ...]]:
    """Two-crossing options of one origin: ``(target, length_m, c1, c2)`` parts, ``c1 < c2``,
    in no particular order.

    A route entering directed crossing k1, walking, crossing k2 and walking to t has length
    ``head[k1, k2] + leave[k2, t]`` (``head = enter + hop``); it is kept only when shorter
    than the base (and than each of its crossings alone). For each (k2, t) the first
    crossings that beat the base are a prefix of k1 sorted by ``head[:, k2]``, found by one
    binary search, so only routes shorter than the base are evaluated (exactly: the same
    sums as a full enumeration) and the work follows the number of options, not targets x
    crossings². Each crossing pair keeps its shortest direction and order
    (:func:`_shortest_per_pair`). ``same`` (C, 2C) marks the (c1, k2) never to take: the same
    crossing twice, and (with a :class:`CostCap`) pairs over the budget.
    """
    t_n, c_n = single_o.shape
    first = enter_o[:, None] + hop  # (2C, 2C): enter k1, walk, cross k2
    head = np.minimum(first[0::2], first[1::2])  # (C, 2C): the best direction through c1
    head[same] = np.inf  # twice the same crossing (or over the budget): never an option
    order = np.argsort(head, axis=0, kind="stable")  # per k2: first crossings by head length
    head_s = np.take_along_axis(head, order, axis=0)
    with np.errstate(invalid="ignore"):  # inf - inf: no route either way
        # (2C, T): a route through k2 to t is kept only if shorter than the base and than k2's
        # crossing alone, so only with head < slack (a margin for rounding: the kept routes
        # are decided by their exact sums below)
        slack = np.minimum(base_o[None, :], single_o.T.repeat(2, axis=0)) - leave + 1e-6
    k2s, ts = np.nonzero(head_s[0][:, None] < slack)
    if not k2s.size:
        return []
    sl = slack[k2s, ts]
    cnt = np.empty(k2s.size, dtype=np.int64)
    bounds = np.searchsorted(k2s, np.arange(hop.shape[1] + 1))
    for k2 in np.unique(k2s).tolist():
        a, b = bounds[k2], bounds[k2 + 1]
        cnt[a:b] = np.searchsorted(head_s[:, k2], sl[a:b], side="left")
    # per k2 a row of c1 by head length, so the routes of one (k2, t) are a contiguous run
    order_k, head_k = order.T.ravel(), head_s.T.ravel()
    single_eps = single_o.ravel() - 1e-9  # x - 1e-9 is monotone: min(a, b) - e = min(a - e, b - e)
    out: list[tuple[np.ndarray, ...]] = []
    ends = np.cumsum(cnt)
    cuts = np.searchsorted(ends, np.arange(block_work, ends[-1], block_work), side="right").tolist()
    for a, b in zip([0] + cuts, cuts + [k2s.size]):
        nc = cnt[a:b]
        total = int(nc.sum())
        if not total:
            continue
        k2, t = k2s[a:b], ts[a:b]
        cum = np.cumsum(nc)
        # per (k2, t): what every route of its run shares, repeated over the run
        flat = np.repeat(k2 * c_n - (cum - nc), nc)
        flat += np.arange(total)  # k2 * c_n + position in the run
        c1 = order_k.take(flat)
        val = head_k.take(flat)
        del flat
        val += np.repeat(leave.take(k2 * t_n + t), nc)
        ok = val < np.repeat(np.minimum(single_o.take(t * c_n + (k2 >> 1)), base_o.take(t)) - 1e-9, nc)
        tc = np.repeat(t * c_n, nc)
        tc += c1
        ok &= val < single_eps.take(tc)
        del tc
        idx = np.flatnonzero(ok)
        if idx.size:
            run = np.searchsorted(cum, idx, side="right")
            c1, c2 = c1[idx], k2[run] >> 1
            out.append((t[run], val[idx], np.minimum(c1, c2), np.maximum(c1, c2)))
    return out


def _shortest_per_pair(t: np.ndarray, val: np.ndarray, lo: np.ndarray, hi: np.ndarray, c_n: int,
                       seen: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Of the two-crossing options of one origin, each (target, crossing pair)'s shortest.

    ``seen``: a scratch int32 array of at least targets x crossings² entries, or ``None``.
    With it, a pair met once per target (nearly always) is found by one scatter and gather
    instead of a sort.
    """
    key = (t.astype(np.int64) * c_n + lo) * c_n + hi
    if seen is not None:
        pos = np.arange(key.size, dtype=np.int32)
        seen[key] = pos
        if np.array_equal(seen[key], pos):  # every key once: nothing to choose
            return t, val, lo, hi
    srt = np.lexsort((val, key))
    key = key[srt]
    first_of = np.ones(srt.size, dtype=bool)
    first_of[1:] = key[1:] != key[:-1]
    sel = srt[first_of]  # each crossing pair's shortest way
    return t[sel], val[sel], lo[sel], hi[sel]


def _option_order(tt: np.ndarray, ll: np.ndarray, a1: np.ndarray, a2: np.ndarray, c_n: int) -> np.ndarray:
    """``np.lexsort((a2, a1, ll, tt))`` for distinct rows: by target, length, then crossings.

    Lengths often tie (a regular street grid), so they are replaced by their dense rank and
    the four keys packed into one int64 sorted once (five times faster than the lexsort).
    """
    n = tt.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    by_len = np.argsort(ll)
    ls = ll[by_len]
    rank = np.empty(n, dtype=np.int64)
    rank[by_len] = np.concatenate([[0], np.cumsum(ls[1:] != ls[:-1])])
    n_r, kc = int(rank[by_len[-1]]) + 1, (c_n + 1) * (c_n + 1)
    if (int(tt.max()) + 1) * n_r * kc >= 2**62:
        return np.lexsort((a2, a1, ll, tt))
    key = tt.astype(np.int64) * n_r
    key += rank
    key *= kc
    key += a1.astype(np.int64) * (c_n + 1) + (a2 + 1)
    return np.argsort(key)  # distinct keys: any sort gives the same order


def route_option_arrays(
    el: EndLengths,
    max_crossings: int = 2,
    *,
    block_work: float = 4e7,
    cap: CostCap | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], int]:
    """:func:`route_options` as flat arrays: ``(origin, target, length_m, c1, c2)`` with
    ``c2 = -1`` for single-crossing options (``c1 < c2`` otherwise), sorted by origin,
    target, length, then crossings (the order of :func:`route_options`). Indices are int32
    (half the memory: 200 firms have 12.5M options), lengths float64.

    One origin at a time: its single-crossing lengths (targets x crossings), then only the
    two-crossing routes shorter than the base (:func:`_two_crossing_options`), so the work
    follows the number of options rather than origins x targets x crossings².
    ``block_work`` bounds the floats of one step (memory stays bounded at any size).
    With ``cap``, the options of its origins that cost more than its budget are left out
    (:class:`CostCap`): the same arrays as without it, less those rows. Measured on
    benchmarks/realsites' independent seed 19 (a tight budget: 434,144 of its 435,726 options
    over it; 1,924 options are created now): ``prepare`` 7.0 -> 1.8 s.
    """
    t0 = time.perf_counter()
    o_n, t_n = el.base.shape
    c_n = el.crossing_m.size
    empty = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32))
    use_two = max_crossings >= 2 and c_n >= 2
    eff = 2 if use_two else min(max_crossings, 1)
    if c_n == 0 or o_n == 0 or t_n == 0:
        return empty, eff
    enter, leave, hop = _directed(el)
    base = el.base
    kc = np.arange(2 * c_n) >> 1
    same = np.arange(c_n)[:, None] == kc[None, :]  # (C, 2C): crossing c1 is k2 itself
    capped = same | cap.pair_over() if cap is not None and use_two else same
    leave_t = leave.T
    # scratch for _shortest_per_pair; left out when it would be large (it then sorts)
    seen = np.empty(t_n * c_n * c_n, dtype=np.int32) if use_two and t_n * c_n * c_n <= _SEEN_MAX else None
    parts: list[tuple[np.ndarray, ...]] = []
    for o in range(o_n):
        checkpoint()  # the run's time limit
        via = enter[o][None, :] + leave_t  # (T, 2C)
        single_o = np.minimum(via[:, 0::2], via[:, 1::2])  # (T, C): elementwise, faster than a size-2 reduce
        st, sc = np.nonzero(single_o < base[o][:, None] - 1e-9)
        cap_o = cap if cap is not None and bool(cap.origins[o]) else None  # this origin's options capped
        if cap_o is not None:
            keep = cap_o.within(st, sc, np.full(st.size, -1))
            st, sc = st[keep], sc[keep]
        cand: list[tuple[np.ndarray, ...]] = [(st, single_o[st, sc], sc, np.full(st.size, -1, dtype=np.int64))]
        if use_two:
            two = _two_crossing_options(enter[o], hop, leave, single_o, base[o], capped if cap_o is not None else same, block_work)
            if two:
                t2, v2, lo2, hi2 = (np.concatenate([x[j] for x in two]) for j in range(4))
                if cap_o is not None:
                    keep = cap_o.within(t2, lo2, hi2)
                    t2, v2, lo2, hi2 = t2[keep], v2[keep], lo2[keep], hi2[keep]
                cand.append(_shortest_per_pair(t2, v2, lo2, hi2, c_n, seen))
        tt = np.concatenate([c[0] for c in cand]).astype(np.int32)
        ll = np.concatenate([c[1] for c in cand])
        a1 = np.concatenate([c[2] for c in cand]).astype(np.int32)
        a2 = np.concatenate([c[3] for c in cand]).astype(np.int32)
        order = _option_order(tt, ll, a1, a2, c_n)
        parts.append((np.full(tt.size, o, dtype=np.int32), tt[order], ll[order], a1[order], a2[order]))
    del seen
    oo, tt, ll, a1, a2 = (np.concatenate([p[j] for p in parts]) for j in range(5))
    logger.debug("%d route options (%d origins x %d targets, %d candidate crossings, up to %d per route) in %.3f s",
                 oo.size, o_n, t_n, c_n, eff, time.perf_counter() - t0)
    return (oo, tt, ll.astype(float), a1, a2), eff


def route_options(
    el: EndLengths,
    max_crossings: int = 2,
    *,
    block_work: float = 4e7,
) -> tuple[list[list[list[tuple[float, tuple[int, ...]]]]], int]:
    """Non-dominated route options for every (origin, target); exact for routes using at most
    ``max_crossings`` (1 or 2) new crossings.

    Returns:
        (options, max_crossings): ``options[o][t]`` is a list of (length_m, crossing
        indices) sorted by length, each shorter than the base length and than every option
        over a subset of its crossings. (:func:`route_option_arrays` gives the same as arrays.)
    """
    o_n, t_n = el.base.shape
    (oo, tt, ll, a1, a2), eff = route_option_arrays(el, max_crossings, block_work=block_work)
    out: list[list[list[tuple[float, tuple[int, ...]]]]] = [[[] for _ in range(t_n)] for _ in range(o_n)]
    for o, t, L, c1, c2 in zip(oo.tolist(), tt.tolist(), ll.tolist(), a1.tolist(), a2.tolist()):
        out[o][t].append((L, (c1,) if c2 < 0 else (c1, c2)))
    return out, eff
