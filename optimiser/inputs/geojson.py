"""An RFC 7946 GeoJSON site (a FeatureCollection, WGS84 lon/lat) as a site mapping.

Each feature carries ``properties.layer`` (parcel, firm, barrier, path, crossing,
exclusion_zone); the foreign member ``site`` holds the site's id and name. The mapping has the
shape of a YAML site file with ``crs: OGC:CRS84``; coordinates are not changed here.
"""

from __future__ import annotations

import logging
from typing import Any

from optimiser.errors import Problem
from optimiser.inputs.messages import suggest

logger = logging.getLogger(__name__)

GEOJSON_LAYERS: dict[str, tuple[str, str]] = {
    "parcel": ("parcels", "geometry"),
    "firm": ("firms", "location"),
    "barrier": ("barriers", "geometry"),
    "path": ("paths", "geometry"),
    "crossing": ("crossings", "geometry"),
    "exclusion_zone": ("exclusion_zones", "geometry"),
}
"""Feature layer -> (site list it joins, field its geometry goes into)."""


def _site_header(fc: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Problem]]:
    """The site mapping's top level from the foreign member ``site``; RFC 7946 has no ``crs``."""
    problems: list[Problem] = []
    meta = fc.get("site") or {}
    if not isinstance(meta, dict):
        problems.append(Problem(name, "site", "must be a mapping with the site's id and name"))
        meta = {}
    site: dict[str, Any] = {"crs": "OGC:CRS84", **meta}
    if "id" not in meta:
        problems.append(Problem(name, "site.id", "a GeoJSON site needs its id in the foreign member \"site\"",
                                'add "site": {"id": "my_site", "name": "..."} at the top level'))
        site["id"] = "unnamed"
    if "crs" in fc:
        problems.append(Problem(name, "crs", "RFC 7946 GeoJSON has no 'crs' member; coordinates are WGS84 lon/lat",
                                "remove 'crs' or use a YAML/JSON site file with a declared crs"))
    return site, problems


def _add_feature(site: dict[str, Any], i: int, feat: Any, name: str) -> Problem | None:
    """Add feature ``i`` to its layer's list in ``site``; the problem if it cannot be placed."""
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        return Problem(name, f"features[{i}]", 'must be a GeoJSON Feature ({"type": "Feature", ...})')
    raw_props = feat.get("properties") or {}
    if not isinstance(raw_props, dict):
        return Problem(name, f"features[{i}].properties", f"must be a mapping, got {type(raw_props).__name__}")
    props = dict(raw_props)
    layer = props.pop("layer", None)
    if not isinstance(layer, str) or layer not in GEOJSON_LAYERS:
        near = suggest(str(layer), GEOJSON_LAYERS)
        return Problem(name, f"features[{i}].properties.layer",
                       f"unknown layer {layer!r}; expected one of {', '.join(GEOJSON_LAYERS)}",
                       f"did you mean {near!r}?" if near else None)
    key, geom_field = GEOJSON_LAYERS[layer]
    props[geom_field] = feat.get("geometry")
    site.setdefault(key, []).append(props)
    return None


def geojson_to_site(fc: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Problem]]:
    """Turn an RFC 7946 FeatureCollection into a site mapping (coordinates stay WGS84).

    Args:
        fc: the parsed GeoJSON document.
        name: the file name problems are reported against.

    Returns:
        ``(site mapping, problems)``; features that cannot be placed are left out and reported.
    """
    if fc.get("type") != "FeatureCollection":
        return {}, [Problem(name, "type", "a GeoJSON site must be a FeatureCollection")]
    site, problems = _site_header(fc, name)
    feats = fc.get("features")
    if not isinstance(feats, list):
        return site, problems + [Problem(name, "features", f"must be a list of features, got {type(feats).__name__}")]
    for i, feat in enumerate(feats):
        problem = _add_feature(site, i, feat, name)
        if problem is not None:
            problems.append(problem)
    logger.debug("GeoJSON site %s: %d features, %d problems", name, len(feats), len(problems))
    return site, problems
