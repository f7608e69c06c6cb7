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

__all__ = ["EndLengths", "route_options", "route_option_arrays", "single_crossing_lengths"]

logger = logging.getLogger(__name__)


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


def single_crossing_lengths(el: EndLengths) -> np.ndarray:
    """(O, T, C) lengths of the best route using exactly crossing c (and the base graph)."""
    enter, leave, _ = _directed(el)
    o, t = el.base.shape
    c = el.crossing_m.size
    if c == 0:
        return np.zeros((o, t, 0))
    # via directed k: enter[o, k] + leave[k, t]
    via = enter[:, None, :] + leave.T[None, :, :]  # (O, T, 2C)
    return np.minimum(via[:, :, 0::2], via[:, :, 1::2])  # elementwise: much faster than a size-2 reduce


def route_option_arrays(
    el: EndLengths,
    max_crossings: int = 2,
    *,
    block_work: float = 4e7,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], int]:
    """:func:`route_options` as flat arrays: ``(origin, target, length_m, c1, c2)`` with
    ``c2 = -1`` for single-crossing options (``c1 < c2`` otherwise), sorted by origin,
    target, length, then crossings (the order of :func:`route_options`).

    Two-crossing routes are only evaluated for targets where a lower bound says one could
    beat the base length: any route through k1 then k2 is at least
    ``min enter[o, k1] + min (crossing k2 + leave[k2, t])``. The first crossing's direction
    is minimised out once per origin (independent of the target), then blocks of at most
    ``block_work`` floats finish the targets, so memory stays bounded at any size.
    """
    t0 = time.perf_counter()
    o_n, t_n = el.base.shape
    c_n = el.crossing_m.size
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    use_two = max_crossings >= 2 and c_n >= 2
    eff = 2 if use_two else min(max_crossings, 1)
    if c_n == 0 or o_n == 0 or t_n == 0:
        return empty, eff
    single = single_crossing_lengths(el)  # (O, T, C)
    base = el.base
    # single-crossing options: every (o, t, c) shorter than the base
    so, st, sc = np.nonzero(single < base[:, :, None] - 1e-9)
    parts = [(so, st, single[so, st, sc], sc, np.full(so.size, -1, dtype=np.int64))]
    if use_two:
        enter, leave, hop = _directed(el)
        c2 = el.crossing_m.repeat(2)
        tail_lb = (leave + c2[:, None]).min(axis=0)  # (T,) best "cross k2 then walk to t"
        leave_t = leave.T  # (T, 2C)
        block = max(1, min(64, int(block_work // max(1, 2 * c_n * c_n))))
        upper = np.triu(np.ones((c_n, c_n), dtype=bool), k=1)
        leave_t32 = leave_t.astype(np.float32)
        for o in range(o_n):
            checkpoint()  # the run's time limit
            lb = enter[o].min() + tail_lb
            todo = np.nonzero(lb < base[o] - 1e-9)[0]
            if not todo.size:
                continue
            first = enter[o][:, None] + hop  # (2C, 2C): enter k1, walk, cross k2
            g = np.minimum(first[0::2], first[1::2])  # (C, 2C): best direction through c1
            g32 = g.astype(np.float32)
            e_min = np.minimum(enter[o][0::2], enter[o][1::2])  # (C,) reach and cross c first
            so_ = single[o]
            # targets in order of base length, in small blocks, so the row screen below is sharp
            todo = todo[np.argsort(base[o, todo] - tail_lb[todo], kind="stable")]
            for b0 in range(0, todo.size, block):
                ts = todo[b0 : b0 + block]
                # a route entering first through c costs at least e_min[c] + tail_lb[t]: rows of
                # first crossings that cannot beat the base for any target of the block are skipped
                rows = np.nonzero(e_min + tail_lb[ts].min() < base[o, ts].max() - 1e-9)[0]
                if not rows.size:
                    continue
                # screen in float32 with a safe margin, then recompute the survivors exactly
                full = g32[None, rows, :] + leave_t32[ts, None, :]  # (b, R, 2C)
                if rows.size == c_n:
                    val = np.minimum(full[:, :, 0::2], full[:, :, 1::2])  # (b, C, C): best direction through c2
                else:
                    val = np.full((ts.size, c_n, c_n), np.inf, dtype=np.float32)
                    val[:, rows, :] = np.minimum(full[:, :, 0::2], full[:, :, 1::2])
                val = np.minimum(val, val.transpose(0, 2, 1))  # either order
                sv = so_[ts].astype(np.float32)
                lim = np.minimum(np.minimum(sv[:, :, None], sv[:, None, :]), base[o, ts].astype(np.float32)[:, None, None])
                j, p1, p2 = np.nonzero((val < lim * np.float32(1 + 1e-5) + np.float32(1e-3)) & upper[None, :, :])
                if not j.size:
                    continue
                t = ts[j]
                k1, k2 = 2 * p1, 2 * p2
                va = np.minimum(g[p1, k2] + leave_t[t, k2], g[p1, k2 + 1] + leave_t[t, k2 + 1])
                vb = np.minimum(g[p2, k1] + leave_t[t, k1], g[p2, k1 + 1] + leave_t[t, k1 + 1])
                v = np.minimum(va, vb)
                lim64 = np.minimum(np.minimum(so_[t, p1], so_[t, p2]), base[o, t]) - 1e-9
                ok = v < lim64
                if ok.any():
                    parts.append((np.full(int(ok.sum()), o, dtype=np.int64), t[ok], v[ok], p1[ok], p2[ok]))
    oo = np.concatenate([p[0] for p in parts]).astype(np.int64)
    tt = np.concatenate([p[1] for p in parts]).astype(np.int64)
    ll = np.concatenate([p[2] for p in parts]).astype(float)
    a1 = np.concatenate([p[3] for p in parts]).astype(np.int64)
    a2 = np.concatenate([p[4] for p in parts]).astype(np.int64)
    order = np.lexsort((a2, a1, ll, tt, oo))
    logger.debug("%d route options (%d origins x %d targets, %d candidate crossings, up to %d per route) in %.3f s",
                 oo.size, o_n, t_n, c_n, eff, time.perf_counter() - t0)
    return (oo[order], tt[order], ll[order], a1[order], a2[order]), eff


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
