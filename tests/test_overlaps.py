"""merge_overlaps: collinear overlapping stretches of paths become one line each."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString

from optimiser.inputs.overlaps import merge_overlaps


def test_lines_without_overlap_are_returned_as_they_are():
    lines = [LineString([(0, 0), (5, 0), (10, 0)]), LineString([(10, 0), (20, 0)]),  # end to end
             LineString([(5, -5), (5, 5)]), LineString([(0, 1), (10, 1)])]  # crossing, parallel
    out, src = merge_overlaps(lines)
    assert all(a is b for a, b in zip(out, lines, strict=True)) and src == [0, 1, 2, 3]


def test_an_overlapping_stretch_is_one_line_through_the_vertices_where_others_meet_it():
    lines = [LineString([(0, 0), (10, 0)]), LineString([(5, 0), (12, 0), (12, 5)]),
             LineString([(3, -1), (3, 0), (3, 4)]), LineString([(20, 0), (25, 0)]),
             LineString([(10, 0), (0, 0)]), LineString([(5, 0), (5, -3)])]
    out, src = merge_overlaps(lines)
    assert [(g.wkt, i) for g, i in zip(out, src, strict=True)] == [
        ("LINESTRING (12 0, 12 5)", 1),  # the rest of path 1, as drawn
        ("LINESTRING (3 -1, 3 0, 3 4)", 2), ("LINESTRING (20 0, 25 0)", 3), ("LINESTRING (5 0, 5 -3)", 5),
        # 0..12 drawn by paths 0, 1, 4: once, through (5, 0) where path 5 starts (path 1's end there
        # too); (10, 0), an end of paths 0 and 4 only, is dropped; (3, 0) is path 2's, noded later
        ("LINESTRING (0 0, 5 0, 12 0)", 0)]


@pytest.mark.parametrize("n", [3, 200])
def test_sub_lengths_of_a_diagonal_far_from_the_origin_are_one_line(n):
    """Points interpolated along a line in national-grid coordinates are off it by rounding: the
    rounded direction and offset still find them on it, and the network's length is the line's."""
    (x0, y0), (x1, y1) = (440650.25, 387835.5), (441437.75, 388123.125)
    lines = [LineString([(x0, y0), (x1, y1)])] + [
        LineString([(x0 + (x1 - x0) * i / 2000, y0 + (y1 - y0) * i / 2000), (x1, y1)]) for i in range(1, n + 1)]
    out, src = merge_overlaps(lines)
    assert len(out) == 1 and src == [0] and list(out[0].coords) == [(x0, y0), (x1, y1)]
    assert shapely.node(MultiLineString([list(g.coords) for g in out])).length == pytest.approx(
        lines[0].length, abs=1e-6)


def test_the_merged_length_is_the_covered_length():
    """Random sub-lengths of a few lines (some reversed, some with a bend off the line): the lines
    returned cover what the input covers, each stretch once (the union of the intervals along each
    line, plus the bends; ``shapely.union_all`` is no oracle: it keeps interpolated diagonals that
    differ by rounding apart)."""
    rng = np.random.default_rng(7)
    lines, expected = [], 0.0
    for (ax, ay), (bx, by) in [((0, 0), (100, 37)), ((5, 90), (80, 10)), ((0, 50), (100, 50))]:
        intervals = []
        for _ in range(15):
            s, e = np.sort(rng.uniform(0, 1, 2))
            intervals.append((s, e))
            pts = [(ax + (bx - ax) * s, ay + (by - ay) * s), (ax + (bx - ax) * e, ay + (by - ay) * e)]
            if rng.uniform() < 0.3:
                pts = pts[::-1]
            if rng.uniform() < 0.3:
                pts.append((pts[-1][0] + 3, pts[-1][1] + 7))
                expected += float(np.hypot(3, 7))
            lines.append(LineString(pts))
        covered, reach = 0.0, -1.0
        for s, e in sorted(intervals):
            covered += max(0.0, e - max(s, reach))
            reach = max(reach, e)
        expected += covered * float(np.hypot(bx - ax, by - ay))
    out, _ = merge_overlaps(lines)
    assert len(out) < len(lines)
    assert sum(g.length for g in out) == pytest.approx(expected, abs=1e-6)
    assert shapely.node(MultiLineString([list(g.coords) for g in out])).length == pytest.approx(expected, abs=1e-6)
