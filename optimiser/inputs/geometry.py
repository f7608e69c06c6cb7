"""Raw file coordinates to shapely geometry in the working CRS, with geometry problems collected."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from optimiser.errors import Problem
from optimiser.inputs.crs import transformer
from optimiser.inputs.messages import format_xy
from optimiser.inputs.plausibility import MAX_COORDINATE

logger = logging.getLogger(__name__)

_INVALID_AT = re.compile(r"([A-Za-z \-]+)\[([-0-9.e+]+) ([-0-9.e+]+)\]")
"""shapely's validity reason, e.g. ``Self-intersection[440650 387835]``."""


_POLYGON_FIXES = {
    "hole lies outside shell": "draw each hole inside the outer ring (or make the area its own parcel)",
    "nested holes": "a hole may not lie inside another hole: draw the inner area as its own polygon",
    "nested shells": "draw the inner area as its own polygon",
    "interior is disconnected": "holes may not cut the polygon in two: draw each piece as its own polygon",
    "too few points": "a ring needs at least three distinct corners",
}
"""What to do about a shapely validity reason other than a self-intersection."""


BAND_EDGE_M = 1e-3
"""An end on a band's edge (within a millimetre) is outside it, as the walking network takes it
(``optimiser.network.crossings.SIDE_EPS_M``)."""


def crossing_gap(line: LineString, centreline: LineString, band: Polygon) -> str | None:
    """Why ``line`` does not take walkers from one side of a barrier (``centreline``, ``band``)
    to the other, or ``None`` when it does.

    The network attaches a crossing where it leaves the band nearest each end (an end drawn
    inside the band is moved out along the line), so the line must have a part outside the band
    on each side: between those two points it crosses the centre line an odd number of times.
    """
    inner = band.buffer(-BAND_EDGE_M)
    outside = line.difference(inner) if not inner.is_empty else line
    if outside.is_empty:
        return "lies inside the band from end to end"
    along = [line.project(Point(xy)) for part in shapely.get_parts(outside) for xy in (part.coords[0], part.coords[-1])]
    first, last = min(along), max(along)
    hits = substring(line, first, last).intersection(centreline) if last > first else None
    n = sum(1 for g in shapely.get_parts(hits) if g.geom_type == "Point") if hits is not None else 0
    if n % 2 == 0:
        return "leaves the band on the side it starts from: it does not reach the other side"
    return None


def measurable(geom: BaseGeometry) -> bool:
    """Whether GEOS can measure ``geom``: every coordinate finite and within
    :data:`~optimiser.inputs.plausibility.MAX_COORDINATE` (a line to 1e308 is refused as outside
    its CRS's area; projecting onto it fails on the NaN it becomes)."""
    xy = shapely.get_coordinates(geom)
    return bool(np.all(np.isfinite(xy)) and np.all(np.abs(xy) <= MAX_COORDINATE))


def enters_area(line: LineString, area: BaseGeometry) -> bool:
    """Whether ``line`` has a part inside ``area`` (an exclusion zone: nothing may be placed
    there); running along its edge or touching it does not count."""
    return bool(line.intersects(area)) and not line.touches(area)


class GeometryReader:
    """Turns raw coordinates (point lists, GeoJSON dicts) into shapely geometry in the working CRS.

    Zero-length lines, zero-area and invalid polygons are not returned (``None``); each is
    recorded in :attr:`problems` with its field path.

    Args:
        file: the file name problems are reported against.
        src: the CRS of the file's coordinates.
        dst: the working CRS (projected, metres).
    """

    def __init__(self, file: str, src: CRS | None, dst: CRS | None):
        self.file = file
        self.problems: list[Problem] = []
        self.transform = transformer(src, dst)
        self.degrees = bool(src is not None and src.is_geographic)

    def _xy(self, pos: Sequence[float]) -> tuple[float, float]:
        x, y = float(pos[0]), float(pos[1])
        if self.transform is not None:
            x, y = self.transform(x, y)
        return (x, y)

    def point(self, raw: Any) -> Point:
        """A point from ``[x, y]`` or ``{"type": "Point", "coordinates": [x, y]}``."""
        coords: Sequence[float] = raw["coordinates"] if isinstance(raw, dict) else raw
        return Point(self._xy(coords))

    def points(self, raw: Sequence[Any]) -> tuple[Point, ...]:
        """Points from a list of point values (lists, dicts or pydantic point models)."""
        return tuple(self.point(p if isinstance(p, (list, dict)) else p.model_dump()) for p in raw)

    def line(self, raw: dict[str, Any], field: str) -> LineString | None:
        """A line from a GeoJSON LineString mapping; ``None`` (and a problem) if it has zero length."""
        line = LineString([self._xy(c) for c in raw["coordinates"]])
        if line.length <= 0:
            self.problems.append(Problem(self.file, field, "line has zero length (all its points coincide)",
                                         "move one end: a line needs two distinct points"))
            return None
        return line

    def polygon(self, raw: dict[str, Any], field: str) -> Polygon | None:
        """A polygon from a GeoJSON Polygon mapping; ``None`` (and a problem) if invalid or empty.

        Validity is judged in the file's own coordinates, so the message points at them.
        """
        rings_raw = raw["coordinates"]
        for k, ring in enumerate(rings_raw):
            if len(ring) >= 2 and list(ring[0])[:2] != list(ring[-1])[:2]:
                where = "its outer ring" if k == 0 else f"hole {k}"
                self.problems.append(Problem(self.file, field, f"{where} is not closed: it ends at {list(ring[-1])[:2]}, "
                                             f"not at its first position {list(ring[0])[:2]}",
                                             "repeat the first position at the end of the ring (GeoJSON rings are closed)"))
                return None
        flat = next((k for k, ring in enumerate(rings_raw) if MultiPoint([list(c)[:2] for c in ring]).convex_hull.area <= 0), None)
        if flat is not None:  # shapely calls a ring on one line a self-intersection, or too few points
            where = "its outer ring" if flat == 0 else f"hole {flat}"
            corners = len({tuple(list(c)[:2]) for c in rings_raw[flat]})
            shape = ("all its positions are one point" if corners == 1 else "it has only 2 distinct corners" if corners == 2
                     else f"its {corners} distinct corners lie on one line")
            self.problems.append(Problem(self.file, field, f"polygon has zero area: {where} encloses nothing ({shape})",
                                         "give the ring at least three corners that do not lie on one line (a typo in "
                                         "a coordinate?)"))
            return None
        file_poly = Polygon(rings_raw[0], rings_raw[1:])
        if not file_poly.is_valid:
            reason = shapely.is_valid_reason(file_poly)
            m = _INVALID_AT.match(reason)
            if m:
                what = m.group(1).strip().lower()
                x, y = float(m.group(2)), float(m.group(3))
                text = f"invalid polygon: {what} at {format_xy(x, y, degrees=self.degrees)}"
            else:
                text = f"invalid polygon: {reason}"
            self.problems.append(Problem(self.file, field, text, _POLYGON_FIXES.get(
                m.group(1).strip().lower() if m else "", "fix the ring so its edges do not cross (check the vertex order)")))
            return None
        if file_poly.area <= 0:
            self.problems.append(Problem(self.file, field, "polygon has zero area"))
            return None
        rings = [[self._xy(c) for c in ring] for ring in rings_raw]
        return Polygon(rings[0], rings[1:])


def distinct_lines(lines: Sequence[LineString]) -> list[int]:
    """The index of the first of each distinct line (the same points, in either direction), in
    order: a path layer imported many times adds nothing to the walking network, but noding its
    copies (``shapely.node``) took memory growing with the square of their number (6,000 copies
    of one path: 4 GB; 180,000, a 24 MB file: killed at 23 GB)."""
    keys = shapely.to_wkb(shapely.normalize(np.asarray(lines, dtype=object))) if len(lines) else []
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    return sorted(first.values())
