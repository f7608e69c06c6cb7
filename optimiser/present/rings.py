"""Polygons as filled paths: each polygon's exterior anticlockwise and its holes clockwise, so
a hole stays a hole under the non-zero fill rule whatever way the input wound its rings. The one
way every map (plan, SVG map, notebook thumbnails) draws a polygon; imports neither the site
model nor the figures, so any drawing module can use it."""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

__all__ = ["polygon_rings", "poly_path"]


def polygon_rings(geom: BaseGeometry) -> list[np.ndarray]:
    """The rings of a (multi)polygon to draw as one filled path, each polygon's exterior
    anticlockwise and its holes clockwise, so a hole stays a hole under the non-zero fill rule
    (matplotlib's and SVG's default) whatever way the input wound its rings; rings of fewer than
    three points and anything but polygons are left out. The one way every map draws a polygon."""
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    rings: list[np.ndarray] = []
    for p in polys:
        if p.geom_type != "Polygon" or p.is_empty:
            continue
        p = orient(p, 1.0)
        rings.extend(xy for xy in (np.asarray(r.coords) for r in [p.exterior, *p.interiors]) if len(xy) >= 3)
    return rings


def poly_path(geom: BaseGeometry) -> MplPath | None:
    """A matplotlib path of a (multi)polygon with its holes (:func:`polygon_rings`: holes wound
    against their exterior); None when there is nothing to draw."""
    verts = polygon_rings(geom)
    codes = []
    for xy in verts:
        c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
        c[0] = MplPath.MOVETO
        c[-1] = MplPath.CLOSEPOLY
        codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))
