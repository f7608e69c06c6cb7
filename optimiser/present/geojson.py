"""Writing RFC 7946 GeoJSON (WGS84 lon/lat) from features in a site's working CRS.

The site model works in a projected CRS in metres (EPSG:27700 for the AMP-SBP default);
GeoJSON written for users must be RFC 7946: WGS84 longitude/latitude, no ``crs`` member. The
reprojection itself lives with every other CRS question in :mod:`optimiser.inputs.crs`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from optimiser.errors import ModelError
from optimiser.inputs.crs import COORD_DECIMALS, WGS84, reproject_to_wgs84, rfc7946_oriented
from optimiser.present.antimeridian import cut_antimeridian

logger = logging.getLogger(__name__)

__all__ = ["COORD_DECIMALS", "WGS84", "reproject_to_wgs84", "to_wgs84_geojson", "write_geojson"]


def _finite_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """JSON has no inf/nan: write them as ``None``."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if isinstance(v, (float, np.floating)):
            v = float(v)
            out[k] = v if np.isfinite(v) else None
        elif isinstance(v, np.integer):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def to_wgs84_geojson(features: Iterable[Mapping[str, Any]], crs: str) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection from features whose geometry is in ``crs`` (metres):
    lon/lat, polygons by the right-hand rule (exteriors counter-clockwise), a line or polygon
    crossing the antimeridian cut there into a MultiLineString / MultiPolygon (section 3.1.9).

    Each feature is a GeoJSON-like mapping ``{"type": "Feature", "geometry": ..., "properties":
    ...}``; ``geometry`` may be a shapely geometry or a GeoJSON geometry mapping.
    """
    out = []
    for f in features:
        g = f["geometry"]
        if g is None:
            geom_json = None
        else:
            geom = g if isinstance(g, BaseGeometry) else shape(g)
            wgs = rfc7946_oriented(cut_antimeridian(reproject_to_wgs84(geom, crs)))
            if not np.isfinite(shapely.get_coordinates(wgs)).all():  # RFC 7946 has no null coordinates
                props = f.get("properties") or {}
                raise ModelError(f"{props.get('layer', 'feature')} {props.get('id', '')!s}: its coordinates cannot be "
                                 f"written as WGS84 longitude/latitude from {crs} (not finite)")
            geom_json = mapping(wgs)
        feat: dict[str, Any] = {
            "type": "Feature",
            "geometry": geom_json,
            "properties": _finite_props(f.get("properties") or {}),
        }
        if "id" in f:
            feat["id"] = f["id"]
        out.append(feat)
    return {"type": "FeatureCollection", "features": out}


def write_geojson(path: str | Path, features: Iterable[Mapping[str, Any]], crs: str) -> Path:
    """Write ``features`` (geometry in ``crs``) as an RFC 7946 GeoJSON file; returns the path."""
    path = Path(path)
    fc = to_wgs84_geojson(features, crs)
    path.write_text(json.dumps(fc, separators=(",", ":")) + "\n", encoding="utf-8")
    return path
