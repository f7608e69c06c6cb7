"""Geometry across the antimeridian, as RFC 7946 (section 3.1.9) asks GeoJSON to write it.

A site near 180 degrees (Fiji, Kiribati, Chukotka, the Aleutians) has lines and polygons whose
longitude jumps from +179.99 to -179.99 between two vertices once reprojected to WGS84; a reader
would draw such a segment the long way round the Earth. :func:`cut_antimeridian` cuts them at
+-180 into a MultiLineString / MultiPolygon (the latitude at the cut interpolated linearly along
the segment); :func:`join_antimeridian` puts the parts back together on reading.

Only a site-sized geometry is expected here (kilometres, not a hemisphere): a segment whose
longitude changes by more than 180 degrees is taken to cross the antimeridian, never to go the
long way round.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.affinity import translate
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

__all__ = ["crosses_antimeridian", "cut_antimeridian", "join_antimeridian"]

_DECIMALS = 7
"""Decimals of an interpolated latitude (those of every written coordinate)."""


def _jumps(xy: np.ndarray) -> bool:
    return len(xy) > 1 and bool((np.abs(np.diff(xy[:, 0])) > 180.0).any())


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    return list(getattr(geom, "geoms", [geom]))


def crosses_antimeridian(geom: BaseGeometry) -> bool:
    """Whether a lon/lat geometry has a segment whose longitude jumps by more than 180 degrees."""
    for part in _parts(geom):
        if part.geom_type == "LineString" and _jumps(np.asarray(part.coords)):
            return True
        if part.geom_type == "Polygon":
            if any(_jumps(np.asarray(r.coords)) for r in [part.exterior, *part.interiors]):
                return True
    return False


def _cut_line(xy: np.ndarray) -> list[np.ndarray]:
    """A line's pieces on either side of the antimeridian, each ending (and the next starting) at
    +-180 with the latitude interpolated along the crossing segment."""
    pieces: list[list[tuple[float, float]]] = [[(float(xy[0, 0]), float(xy[0, 1]))]]
    for (x0, y0), (x1, y1) in zip(xy[:-1, :2], xy[1:, :2]):
        if abs(x1 - x0) > 180.0:
            side = 180.0 if x0 > 0 else -180.0          # the meridian as seen from the first point
            x1_cont = x1 + 360.0 if x0 > 0 else x1 - 360.0  # the second point beyond it
            lat = round(float(y0 + (y1 - y0) * (side - x0) / (x1_cont - x0)), _DECIMALS)
            pieces[-1].append((side, lat))
            pieces.append([(-side, lat)])
        pieces[-1].append((float(x1), float(y1)))
    return [np.asarray(p) for p in pieces if len(p) >= 2 and LineString(p).length > 0]


def _shift_west(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` with its western-hemisphere longitudes moved past +180 (continuous across it)."""
    return shapely.transform(geom, lambda xy: np.column_stack([np.where(xy[:, 0] < 0, xy[:, 0] + 360.0, xy[:, 0]),
                                                              xy[:, 1]]))


def _cut_polygon(poly: Polygon) -> list[Polygon]:
    """A polygon's parts east and west of the antimeridian (holes kept)."""
    whole = _shift_west(poly)
    east = whole.intersection(box(-180.0, -90.0, 180.0, 90.0))
    west = translate(whole.intersection(box(180.0, -90.0, 540.0, 90.0)), xoff=-360.0)
    out = [p for g in (east, west) for p in _parts(g) if p.geom_type == "Polygon" and not p.is_empty]
    return [shapely.transform(p, lambda xy: np.round(xy, _DECIMALS)) for p in out]


def cut_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """A lon/lat geometry cut at the antimeridian (RFC 7946 section 3.1.9): a line crossing it
    becomes a MultiLineString, a polygon a MultiPolygon; anything not crossing it is returned as is.

    >>> cut_antimeridian(LineString([(179.0, 10.0), (-179.0, 20.0)])).wkt
    'MULTILINESTRING ((179 10, 180 15), (-180 15, -179 20))'
    """
    if not crosses_antimeridian(geom):
        return geom
    kind = geom.geom_type
    if kind in ("LineString", "MultiLineString"):
        return MultiLineString([p for part in _parts(geom) for p in _cut_line(np.asarray(part.coords))])
    if kind in ("Polygon", "MultiPolygon"):
        return MultiPolygon([p for part in _parts(geom) for p in
                             (_cut_polygon(part) if crosses_antimeridian(part) else [part])])
    return geom


def join_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """Undo :func:`cut_antimeridian` on a lon/lat geometry read back: parts meeting at +-180 are
    joined into one, with longitudes past +180 where they were west of it (pyproj reprojects
    those as it would their -180..180 twins). A geometry not touching both +180 and -180 is
    returned as is."""
    if geom.geom_type not in ("MultiLineString", "MultiPolygon"):
        return geom
    lons = shapely.get_coordinates(geom)[:, 0]
    if not ((lons == 180.0).any() and (lons == -180.0).any()):
        return geom
    whole = _shift_west(geom)
    if whole.geom_type == "MultiLineString":
        merged = shapely.line_merge(whole, directed=True)
    else:
        merged = shapely.union_all(_parts(whole))
    return merged
