"""Route options: the walking length of each way between two places with new crossings.

With non-negative lengths and a min-sum objective, walkers take shortest paths, so the
length between an origin and a target given a set Z of built crossings is the shortest
path in the base graph plus Z. A *route option* is a set R of new crossings (|R| <= k) with
the shortest length using them; it is kept only when it is shorter than the base length
and than every option over a proper subset of R (otherwise it is dominated). All functions
here are pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    return np.minimum(via[:, :, 0::2], via[:, :, 1::2])


def route_options(
    el: EndLengths,
    max_crossings: int = 2,
    *,
    block_work: float = 4e7,
) -> tuple[list[list[list[tuple[float, tuple[int, ...]]]]], int]:
    """Non-dominated route options for every (origin, target); exact for routes using at most
    ``max_crossings`` (1 or 2) new crossings.

    Two-crossing routes are only evaluated for targets where a lower bound says one could
    beat the base length: any route through k1 then k2 is at least
    ``min enter[o, k1] + min (crossing k2 + leave[k2, t])``. Work is done in blocks of at most
    ``block_work`` floats, so memory stays bounded at any size.

    Returns:
        (options, max_crossings): ``options[o][t]`` is a list of (length_m, crossing
        indices) sorted by length, each shorter than the base length and than every option
        over a subset of its crossings.
    """
    o_n, t_n = el.base.shape
    c_n = el.crossing_m.size
    single = single_crossing_lengths(el)
    use_two = max_crossings >= 2 and c_n >= 2
    enter, leave, hop = _directed(el)
    out: list[list[list[tuple[float, tuple[int, ...]]]]] = []
    iu = np.triu_indices(c_n, k=1) if use_two else None
    if use_two:
        c2 = el.crossing_m.repeat(2)
        tail_lb = (leave + c2[:, None]).min(axis=0)  # (T,) best "cross k2 then walk to t"
        block = max(1, int(block_work // max(1, (2 * c_n) ** 2)))
    for o in range(o_n):
        rows: list[list[tuple[float, tuple[int, ...]]]] = []
        base = el.base[o]
        s = single[o]  # (T, C)
        two: dict[int, np.ndarray] = {}
        if use_two:
            # an option over {c1, c2} must beat the base (and its own two singles, checked
            # below), so only targets whose lower bound is under the base need the work
            lb = enter[o].min() + tail_lb
            todo = np.nonzero(lb < base - 1e-9)[0]
            if todo.size:
                first = enter[o][:, None] + hop  # (2C, 2C): enter k1, walk, cross k2
                for b0 in range(0, todo.size, block):
                    ts = todo[b0 : b0 + block]
                    val = first[None, :, :] + leave.T[ts, None, :]  # (b, 2C, 2C)
                    val = val.reshape(ts.size, c_n, 2, c_n, 2).min(axis=(2, 4))  # (b, C, C)
                    val = np.minimum(val, val.transpose(0, 2, 1))
                    for j, t in enumerate(ts.tolist()):
                        two[t] = val[j][iu]
        for t in range(t_n):
            opts: list[tuple[float, tuple[int, ...]]] = []
            b = base[t]
            good = np.nonzero(s[t] < b - 1e-9)[0]
            for c in good:
                opts.append((float(s[t, c]), (int(c),)))
            if t in two:
                vals = two[t]
                lim = np.minimum(np.minimum(s[t][iu[0]], s[t][iu[1]]), b) - 1e-9
                keep = np.nonzero(vals < lim)[0]
                for q in keep:
                    opts.append((float(vals[q]), (int(iu[0][q]), int(iu[1][q]))))
            opts.sort()
            rows.append(opts)
        out.append(rows)
    return out, (2 if use_two else min(max_crossings, 1))
