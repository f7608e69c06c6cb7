"""Paths drawn over one another (collinear overlaps) merged before noding.

``shapely.node`` of many lines that overlap along one stretch takes memory growing with the
square of their number (1,000 sub-lengths of one 1 km path: past 4 GB), though they add nothing
to walk on. :func:`merge_overlaps` finds segments that lie on one supporting line (direction and
offset, rounded) and overlap along it, and replaces each such stretch by one line; a set of lines
with no overlap is returned as it is (the same objects), so its network is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString

DIRECTION_DIGITS = 7
"""Unit directions are compared rounded to this many decimals (1e-7 rad or so)."""
OFFSET_M = 1e-4
"""Supporting lines' offsets are compared rounded to this (0.1 mm)."""
OVERLAP_M = 1e-6
"""Collinear segments overlap when they share more than this length (segments meeting end to end
do not)."""


def merge_overlaps(lines: Sequence[LineString]) -> tuple[list[LineString], list[int]]:
    """(lines to node, the index in ``lines`` each came from).

    Without any collinear overlap: ``lines`` itself, each from itself. Otherwise every stretch
    covered by more than one segment is one line, from its first extreme's coordinates to its
    last, through those of its vertices where anything else meets it (a segment on another
    supporting line), and the rest of each line is kept as drawn, in runs of its own vertices.
    """
    n = len(lines)
    if n < 2:
        return list(lines), list(range(n))
    xy, li = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    start = np.flatnonzero(li[1:] == li[:-1])  # segment k: xy[start[k]] -> xy[start[k] + 1]
    group, ta, tb = _supporting_lines(xy, start)
    stretches = [s for s in _stretches(group, np.minimum(ta, tb), np.maximum(ta, tb)) if len(s) > 1]
    if not stretches:
        return list(lines), list(range(n))
    merged = np.zeros(len(start), dtype=bool)
    merged[[k for s in stretches for k in s]] = True
    seg_line = li[start]
    touched = set(np.unique(seg_line[merged]).tolist())
    bounds = np.searchsorted(seg_line, np.arange(n + 1))  # segments of line i: bounds[i]:bounds[i+1]
    out: list[LineString] = []
    src: list[int] = []
    for i in range(n):  # each line, or the runs of its segments not merged
        if i not in touched:
            out.append(lines[i])
            src.append(i)
            continue
        run: list[int] = []
        for k in [*range(bounds[i], bounds[i + 1]), -1]:
            if k >= 0 and not merged[k]:
                run.append(k)
                continue
            if run:
                out.append(LineString(xy[[*(start[j] for j in run), start[run[-1]] + 1]]))
                src.append(i)
            run = []
    # a vertex is kept inside a merged stretch where a segment on another supporting line meets it
    meets: dict[tuple[float, float], set[int]] = {}
    for k, g in enumerate(group.tolist()):
        for p in (start[k], start[k] + 1):
            meets.setdefault((xy[p, 0], xy[p, 1]), set()).add(g)
    for stretch in stretches:
        ends = sorted([(ta[k], start[k]) for k in stretch] + [(tb[k], start[k] + 1) for k in stretch])
        pts = [ends[0][1]]
        for _, p in ends[1:-1]:
            if len(meets[(xy[p, 0], xy[p, 1])]) > 1 and tuple(xy[p]) != tuple(xy[pts[-1]]):
                pts.append(p)
        if tuple(xy[ends[-1][1]]) != tuple(xy[pts[-1]]):
            pts.append(ends[-1][1])
        out.append(LineString(xy[pts]))
        src.append(int(seg_line[stretch].min()))
    return out, src


def _supporting_lines(xy: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(supporting line of each segment (-1: zero length), position of its start and of its end
    along that line), from direction and offset rounded (coordinates taken relative to the
    first, for precision)."""
    a = xy[start] - xy[0]
    b = xy[start + 1] - xy[0]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    ok = length > 0
    u = np.zeros_like(d)
    u[ok] = d[ok] / length[ok, None]
    flip = (u[:, 0] < 0) | ((u[:, 0] == 0) & (u[:, 1] < 0))
    u[flip] *= -1.0
    offset = u[:, 0] * a[:, 1] - u[:, 1] * a[:, 0]
    keys = np.column_stack([np.round(u, DIRECTION_DIGITS), np.round(offset / OFFSET_M)])
    group = np.full(len(start), -1, dtype=np.int64)
    ref = np.zeros_like(u)
    if ok.any():
        _, first, inverse = np.unique(keys[ok], axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        group[ok] = inverse
        ref[ok] = u[ok][first[inverse]]  # positions along the group's first segment's direction
    return group, np.einsum("ij,ij->i", a, ref), np.einsum("ij,ij->i", b, ref)


def _stretches(group: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> list[list[int]]:
    """Segments on one supporting line in runs whose overlaps (more than :data:`OVERLAP_M`) chain
    them together, in order along the line (zero-length segments: none)."""
    out: list[list[int]] = []
    last = -1
    reach = -np.inf
    for k in np.lexsort((t0, group)).tolist():
        g = int(group[k])
        if g < 0:
            continue
        if g == last and t0[k] < reach - OVERLAP_M:
            out[-1].append(k)
            reach = max(reach, t1[k])
        else:
            out.append([k])
            reach = t1[k]
        last = g
    return out
