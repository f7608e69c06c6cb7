"""Coordinates that validate but cannot be a walkable site: outside the declared CRS's area of
use (a parcel shifted 5,000 km, a firm at 1e308), or a site far wider than anyone walks.

:func:`implausible_positions` returns one problem per feature, naming it, so the user can find
the stray coordinate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from functools import lru_cache

from pyproj import CRS, Transformer

from optimiser.errors import Problem
from optimiser.inputs.messages import format_coord, format_xy

logger = logging.getLogger(__name__)

__all__ = ["MAX_SITE_SPAN_M", "area_of_use_bounds", "implausible_positions"]

MAX_SITE_SPAN_M = 50_000.0
"""Widest site accepted (50 km): a walking network of firms is a few kilometres across."""
_MARGIN = 0.05
"""Share of the area of use's width and height accepted beyond its edges."""


@lru_cache(maxsize=32)
def _bounds_for(wkt: str, in_wkt: str) -> tuple[float, float, float, float] | None:
    area = CRS.from_wkt(wkt).area_of_use
    if area is None:
        return None
    target = CRS.from_wkt(in_wkt)
    if target.is_geographic:
        x0, y0, x1, y1 = area.west, area.south, area.east, area.north
    else:
        tr = Transformer.from_crs(CRS.from_epsg(4326), target, always_xy=True)
        x0, y0, x1, y1 = tr.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return None
    mx, my = _MARGIN * (x1 - x0), _MARGIN * (y1 - y0)
    return x0 - mx, y0 - my, x1 + mx, y1 + my


def area_of_use_bounds(crs: CRS, in_crs: CRS | None = None) -> tuple[float, float, float, float] | None:
    """The CRS's area of use in the coordinates of ``in_crs`` (default: its own) ``(minx, miny,
    maxx, maxy)``, widened by 5 %; ``None`` when the CRS declares none (or it cannot be expressed
    in ``in_crs``)."""
    return _bounds_for(crs.to_wkt(), (in_crs or crs).to_wkt())


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
        One problem per feature outside the CRS's area of use (with the first offending
        position), and, when every feature is inside, one for a site wider than
        :data:`MAX_SITE_SPAN_M` naming the feature farthest from the others.
    """
    bounds = area_of_use_bounds(area_of[0], crs) if area_of else area_of_use_bounds(crs)
    label = area_of[1] if area_of else f"crs {crs_text}"
    problems: list[Problem] = []
    centres: list[tuple[str, float, float]] = []
    deg = crs.is_geographic
    unit = "degrees" if deg else "m"
    for where, pos in features:
        pos = [p for p in pos if all(math.isfinite(float(v)) for v in p[:2])]  # nan / inf: the schema says so already
        if not pos:
            continue
        if bounds is not None:
            bad = next((p for p in pos if not (bounds[0] <= p[0] <= bounds[2] and bounds[1] <= p[1] <= bounds[3])), None)
            if bad is not None:
                x0, y0, x1, y1 = (format_coord(v, degrees=deg, decimals=2) for v in bounds)
                problems.append(Problem(file, where, f"coordinates {format_xy(bad[0], bad[1], degrees=deg)} lie outside the "
                                        f"area of use of {label} (x {x0}..{x1}, y {y0}..{y1} {unit})",
                                        f"check the coordinates (a shifted or mistyped value?) and the declared "
                                        f"{label.split()[0]}"))
                continue
        centres.append((where, sum(p[0] for p in pos) / len(pos), sum(p[1] for p in pos) / len(pos)))
    if problems or not check_span or crs.is_geographic or len(centres) < 2:
        return problems
    xs = sorted(c[1] for c in centres)
    ys = sorted(c[2] for c in centres)
    span = max(xs[-1] - xs[0], ys[-1] - ys[0])
    if span > MAX_SITE_SPAN_M:
        mx, my = xs[len(xs) // 2], ys[len(ys) // 2]
        where, x, y = max(centres, key=lambda c: math.hypot(c[1] - mx, c[2] - my))
        problems.append(Problem(file, where, f"lies {math.hypot(x - mx, y - my) / 1000:,.1f} km from the middle of the site; "
                                f"the site spans {span / 1000:,.1f} km, more than the {MAX_SITE_SPAN_M / 1000:g} km a walkable "
                                "site can", "check this feature's coordinates (shifted or mistyped?)"))
    return problems
