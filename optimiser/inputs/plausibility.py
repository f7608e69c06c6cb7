"""Coordinates that validate but cannot be a walkable site: outside the declared CRS's area of
use (a parcel shifted 5,000 km, a firm at 1e308), or a site far wider than anyone walks.

:func:`implausible_positions` returns one problem per feature, naming it, so the user can find
the stray coordinate.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterable
from functools import lru_cache

from pyproj import CRS, Transformer

from optimiser.errors import Problem
from optimiser.inputs.messages import format_coord, format_xy

logger = logging.getLogger(__name__)

__all__ = ["AREA_TOLERANCE_DEG", "MAX_COORDINATE", "MAX_SITE_SPAN_M", "area_of_use_lonlat", "degrees_outside", "implausible_positions",
           "lonlat_transform"]

MAX_SITE_SPAN_M = 50_000.0
"""Widest site accepted (50 km): a walking network of firms is a few kilometres across."""
MAX_COORDINATE = 1e9
"""Largest coordinate (metres, or degrees) geometry is built of: a million kilometres, beyond
any CRS's range; a larger one (a mistyped exponent) is not a place on Earth, reported and never
buffered or measured (GEOS fails on the NaN it becomes; pyproj may give a lon/lat for 1e308)."""
AREA_TOLERANCE_DEG = 1.0
"""How far (degrees of longitude or latitude, about 111 km and less in longitude away from the
equator) a position may lie beyond its CRS's area of use, compared in lon/lat. A CRS used a
little outside its nominal area is common practice (a UTM zone a few km past its edge, British
National Grid in the Irish Sea) and does no harm while its scale there is true (see
``optimiser.inputs.crs.MAX_SCALE_ERROR``, checked separately); beyond the tolerance the site is
clearly elsewhere. The area of use is not widened in the CRS's own projected coordinates (5 % of a
UTM zone's box is about 2 degrees of longitude and 4 of latitude)."""


@lru_cache(maxsize=32)
def _area_for(wkt: str) -> tuple[float, float, float, float] | None:
    area = CRS.from_wkt(wkt).area_of_use
    if area is None:
        return None
    bounds = (area.west, area.south, area.east, area.north)
    return bounds if all(math.isfinite(v) for v in bounds) else None


def area_of_use_lonlat(crs: CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use ``(west, south, east, north)`` in degrees, as declared (west >
    east when it crosses the antimeridian); ``None`` when the CRS declares none."""
    return _area_for(crs.to_wkt())


@lru_cache(maxsize=32)
def _to_lonlat(wkt: str) -> Transformer | None:
    src = CRS.from_wkt(wkt)
    wgs84 = CRS.from_epsg(4326)
    return None if src.equals(wgs84, ignore_axis_order=True) else Transformer.from_crs(src, wgs84, always_xy=True)


def _same(x: float, y: float) -> tuple[float, float]:
    return x, y


def metres_per_unit(crs: CRS) -> float:
    """Metres in one unit of a projected ``crs``'s first axis (1 for metres, 0.3048006 for the US
    survey foot); 1 when pyproj does not say."""
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return float(factor) if factor and math.isfinite(factor) and factor > 0 else 1.0


def lonlat_transform(crs: CRS) -> Callable[[float, float], tuple[float, float]]:
    """Positions in ``crs`` to WGS84 lon/lat (x first), the transformer cached per CRS; the
    identity for WGS84 itself."""
    tr = _to_lonlat(crs.to_wkt())
    return tr.transform if tr is not None else _same


def degrees_outside(lon: float, lat: float, area: tuple[float, float, float, float]) -> float:
    """How many degrees (the larger of longitude and latitude) ``(lon, lat)`` lies beyond
    ``area`` ``(west, south, east, north)``: 0 inside; longitude measured round the globe (an
    area crossing the antimeridian, a position at 179.5 next to one starting at -180); infinite
    for a position that is not finite."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return math.inf
    west, south, east, north = area
    lat_out = max(south - lat, lat - north, 0.0)
    span = east - west if east >= west else east - west + 360.0
    if span >= 360.0:
        return lat_out
    d = (lon - west) % 360.0
    lon_out = 0.0 if d <= span else min(d - span, 360.0 - d)
    return max(lat_out, lon_out)


def _km(metres: float) -> str:
    """A distance in km as the span message writes it: ``59.7``, ``9,486.9``; ``1e+302`` for one
    far beyond the Earth (a mistyped exponent in a CRS without an area of use), not 300 digits."""
    return f"{metres / 1000:,.1f}" if metres < 1e9 else f"{metres / 1000:.3g}"


def implausible_positions(file: str, features: Iterable[tuple[str, list[list[float]]]], crs: CRS,
                          crs_text: str, *, check_span: bool = True, area_of: tuple[CRS, str] | None = None
                          ) -> list[Problem]:
    """Problems for features whose coordinates cannot belong to a walkable site in ``crs``.

    Args:
        file: the file problems are reported against.
        features: ``(field path, positions)`` per coordinate-holding field, in ``crs``.
        crs: the declared CRS; crs_text: as the file names it.
        check_span: also check the site's width (off for a scenario's few positions).
        area_of: ``(CRS, how the file names it)`` whose area of use is checked instead of
            ``crs``'s (a site's ``working_crs``: ``("EPSG:2056" CRS, "working_crs EPSG:2056")``);
            positions stay in ``crs``.

    Returns:
        One problem per feature with a position more than :data:`AREA_TOLERANCE_DEG` beyond
        the CRS's area of use, compared in lon/lat (naming the first such position, and for a
        projected ``crs`` its lon/lat), and, when every feature is inside, one for a site wider
        than :data:`MAX_SITE_SPAN_M` naming the feature farthest from the others.
    """
    area = area_of_use_lonlat(area_of[0] if area_of else crs)
    label = area_of[1] if area_of else f"crs {crs_text}"
    to_lonlat = _to_lonlat(crs.to_wkt())
    problems: list[Problem] = []
    centres: list[tuple[str, float, float]] = []
    deg = crs.is_geographic
    for where, pos in features:
        pos = [p for p in pos if all(math.isfinite(float(v)) for v in p[:2])]  # nan / inf: the schema says so already
        if not pos:
            continue
        if area is not None:
            xs = [float(p[0]) for p in pos]
            ys = [float(p[1]) for p in pos]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # 1e308 projected: inf, reported below
                lons, lats = to_lonlat.transform(xs, ys) if to_lonlat is not None else (xs, ys)
            lons, lats = zip(*((lon, lat) if max(abs(x), abs(y)) <= MAX_COORDINATE else (math.inf, math.inf)
                               for lon, lat, x, y in zip(lons, lats, xs, ys)))
            bad = next((i for i, (lon, lat) in enumerate(zip(lons, lats))
                        if degrees_outside(float(lon), float(lat), area) > AREA_TOLERANCE_DEG), None)
            if bad is not None:
                w, s_, e, n = (format_coord(v, degrees=True, decimals=2) for v in area)
                at = ""
                if not deg:
                    lon, lat = float(lons[bad]), float(lats[bad])
                    at = (f": lon/lat {format_xy(lon, lat, degrees=True)}" if math.isfinite(lon) and math.isfinite(lat)
                          else ": not a place on Earth")
                problems.append(Problem(file, where, f"coordinates {format_xy(xs[bad], ys[bad], degrees=deg)} lie outside "
                                        f"the area of use of {label} (lon {w}..{e}, lat {s_}..{n}, give or take "
                                        f"{AREA_TOLERANCE_DEG:g}°){at}",
                                        f"check the coordinates (a shifted or mistyped value?) and the declared "
                                        f"{label.split()[0]}"))
                continue
        centres.append((where, sum(p[0] for p in pos) / len(pos), sum(p[1] for p in pos) / len(pos)))
    if problems or not check_span or crs.is_geographic or len(centres) < 2:
        return problems
    unit = metres_per_unit(crs)  # a CRS in feet: its spans in metres
    xs = sorted(c[1] * unit for c in centres)
    ys = sorted(c[2] * unit for c in centres)
    span = max(xs[-1] - xs[0], ys[-1] - ys[0])
    if span > MAX_SITE_SPAN_M:
        mx, my = xs[len(xs) // 2], ys[len(ys) // 2]
        where, x, y = max(((w, cx * unit, cy * unit) for w, cx, cy in centres),
                          key=lambda c: math.hypot(c[1] - mx, c[2] - my))
        problems.append(Problem(file, where, f"lies {_km(math.hypot(x - mx, y - my))} km from the middle of the site; "
                                f"the site spans {_km(span)} km, more than the {MAX_SITE_SPAN_M / 1000:g} km a walkable "
                                "site can", "check this feature's coordinates (shifted or mistyped?)"))
    return problems
