"""A GeoJSON site (a FeatureCollection, WGS84 lon/lat) as a site mapping, and back.

Each feature carries ``properties.layer`` naming its kind: ``firm``/``firms``, ``parcel``,
``barrier``, ``path``, ``existing_crossing`` (``crossing`` too), ``exclusion_zone``,
``crossing_rule`` (no geometry), ``firm_entrance`` and ``firm_footprint`` (a firm's entrance or
footprint, with ``firm`` naming it; entrances in ``order``), or a firm's ``entrances`` and
``footprint`` as properties; plural and QGIS-decorated names are accepted
(:func:`optimiser.inputs.gis.layer_for`), so layers merged with QGIS's "Merge vector layers"
(which writes ``layer`` and ``path`` fields) are told apart. What QGIS writes is accepted: a
``crs`` member naming CRS84 or EPSG:4326, null properties (absent: the default applies), flat
``provenance_*`` fields and JSON-text lists. A barrier's scenario layer is ``scenario_layer``.

The optional foreign member ``site`` holds the site's own fields (id, name...); missing ones come
from a sidecar file or defaults (:func:`optimiser.inputs.formats.load_mapping`). The mapping has
the shape of a YAML site file with ``crs: OGC:CRS84``; coordinates are not changed here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
import shapely.geometry
from pyproj import CRS

from optimiser.errors import Problem
from optimiser.inputs.crs import iter_positions, looks_like_degrees, rfc7946_oriented, same_crs
from optimiser.inputs.gis import (
    SITE_LAYERS,
    SiteMapping,
    attach_parts,
    item_from_props,
    layer_for,
    reproject_mapping,
    site_meta,
    site_to_frames,
    unknown_attributes,
)
from optimiser.inputs.gis_files import layers_beside
from optimiser.inputs.messages import suggest
from optimiser.inputs.schema import SiteFile
from optimiser.lazy import lazy_module

if TYPE_CHECKING:  # the real modules for mypy; loaded on first use at run time (optimiser.lazy)
    import geopandas as gpd
    import pandas as pd
else:
    gpd = lazy_module("geopandas")
    pd = lazy_module("pandas")

logger = logging.getLogger(__name__)

GEOJSON_LAYERS: dict[str, tuple[str, str | None]] = {
    "parcel": ("parcels", "geometry"),
    "firm": ("firms", "location"),
    "barrier": ("barriers", "geometry"),
    "path": ("paths", "geometry"),
    "existing_crossing": ("crossings", "geometry"),
    "exclusion_zone": ("exclusion_zones", "geometry"),
    "crossing_rule": ("crossing_rules", None),
    "firm_entrance": ("firms", "entrances"),
    "firm_footprint": ("firms", "footprint"),
    "transit_line": ("transit", "geometry"),
}
"""Feature layer (as written) -> (site list it joins, field its geometry goes into)."""

_WGS84_NAMES = ("crs84", "epsg:4326", "epsg::4326", "ogc:1.3:crs84", "ogc:crs84", "ogc::crs84")
WGS84_HINT = ("export in WGS84 (QGIS: Export > Save Features As..., CRS 'EPSG:4326 - WGS 84'), "
              "or save the layers as a GeoPackage, which keeps any CRS")


def _crs_member_problem(fc: Mapping[str, Any], name: str) -> Problem | None:
    """A ``crs`` member that does not name WGS84 lon/lat (CRS84 or EPSG:4326, as QGIS writes)."""
    if "crs" not in fc or fc["crs"] is None:
        return None
    member = fc["crs"]
    crs_name = member.get("properties", {}).get("name") if isinstance(member, Mapping) and isinstance(
        member.get("properties"), Mapping) else None
    if isinstance(crs_name, str) and any(crs_name.lower().endswith(n) for n in _WGS84_NAMES):
        return None
    return Problem(name, "crs", f"coordinates are in {crs_name or member!r}; a GeoJSON site must be WGS84 longitude/latitude",
                   WGS84_HINT)


def _site_header(fc: Mapping[str, Any], name: str) -> tuple[dict[str, Any], list[Problem]]:
    """The site mapping's top level from the optional foreign member ``site``."""
    problems: list[Problem] = []
    meta = fc.get("site") or {}
    if not isinstance(meta, dict):
        problems.append(Problem(name, "site", "must be a mapping with the site's id and name"))
        meta = {}
    given = meta.get("crs")
    if given is not None and not same_crs(given, "OGC:CRS84"):  # "EPSG:4326", "WGS84": as the file is
        problems.append(Problem(name, "site.crs", f"a GeoJSON site is in WGS84 longitude/latitude; crs: {given} would "
                                "relabel its coordinates without moving them",
                                f"drop site.crs; to work the site in {given}, set working_crs: {given} in site"))
        meta = {k: v for k, v in meta.items() if k != "crs"}
    known = list(SiteFile.model_fields)
    for key in [k for k in meta if k not in known]:  # named as the user wrote it: site.<key>, not <key>
        near = suggest(str(key), known)
        problems.append(Problem(name, f"site.{key}", f"unknown key {key!r}",
                                f"did you mean {near!r}?" if near else f"the site member holds {', '.join(known)}"))
    given_keys = [k for k, v in meta.items() if v is not None and k in known]
    site = SiteMapping({"crs": "OGC:CRS84", **{k: meta[k] for k in given_keys}},
                       {k: f"site.{k}" for k in given_keys})  # problems name site.id, as the file has it
    crs_problem = _crs_member_problem(fc, name)
    if crs_problem is not None:
        problems.append(crs_problem)
    return site, problems


def _one_layer(fc: Mapping[str, Any], feats: list[Any], name: str) -> str | None:
    """The layer a file of one layer holds when no feature names its ``layer`` (QGIS's *Save
    Features As...* of the firms layer): the one the file's name (``firms.geojson``) or, failing
    that, its ``name`` member (the layer's name in QGIS, as GDAL writes it) names; else ``None``."""
    if any(isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping) and f["properties"].get("layer") is not None
           for f in feats):
        return None
    for candidate in (Path(name).stem, fc.get("name")):
        if layer_for(candidate) is not None:
            return str(candidate)
    return None


def _add_feature(site: dict[str, Any], i: int, feat: Any, name: str, default_layer: str | None = None) -> Problem | None:
    """Add feature ``i`` to its layer's list in ``site`` (``default_layer`` for a feature that
    names none); the problem if it cannot be placed."""
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        return Problem(name, f"features[{i}]", 'must be a GeoJSON Feature ({"type": "Feature", ...})')
    raw_props = feat.get("properties") or {}
    if not isinstance(raw_props, dict):
        return Problem(name, f"features[{i}].properties", f"must be a mapping, got {type(raw_props).__name__}")
    props = dict(raw_props)
    layer = props.pop("layer", None)
    if layer is None:
        layer = default_layer
    spec = layer_for(layer)
    if spec is None and layer is None:
        return Problem(name, f"features[{i}].properties.layer",
                       f"the feature names no layer; each feature says which it is: {', '.join(GEOJSON_LAYERS)}",
                       "add a 'layer' property, e.g. \"layer\": \"firm\" (QGIS: a text field filled per layer)")
    if spec is None:
        near = suggest(str(layer), [*GEOJSON_LAYERS, *(spec.name for spec in SITE_LAYERS)])  # 'frims': 'firms' too
        return Problem(name, f"features[{i}].properties.layer",
                       f"unknown layer {layer!r}; expected one of {', '.join(GEOJSON_LAYERS)}",
                       f"did you mean {near!r}?" if near else f"use one of {', '.join(GEOJSON_LAYERS)}")
    member = feat.get("id")  # RFC 7946's feature identifier (geojson.io, Mapbox, Turf write the id there)
    if props.get("id") is None and isinstance(member, (str, int)) and not isinstance(member, bool) \
            and "id" in spec.model.model_fields:
        props["id"] = member
    ident = props.get("id")
    where = f"features[{i}] ({spec.name}" + (f" {ident})" if isinstance(ident, str) and ident else ")")
    item = item_from_props(props, spec, where, str(layer))
    geom = feat.get("geometry")
    if spec.geom_field is not None and geom is not None:
        item[spec.geom_field] = _single_part(geom, spec.geom_type)
    site.setdefault(spec.key, []).append(item)
    return None


def _single_part(geom: Any, geom_type: str | None) -> Any:
    """A one-part Multi geometry (as QGIS may write) as that part; anything else unchanged."""
    if isinstance(geom, Mapping) and geom_type and geom.get("type") == "Multi" + geom_type:
        coords = geom.get("coordinates")
        if isinstance(coords, list) and len(coords) == 1:
            return {"type": geom_type, "coordinates": coords[0]}
    return geom


def _not_a_collection(doc: dict[str, Any], name: str) -> Problem:
    """Why a ``.geojson`` document is no site, and what to do: a lone Feature or geometry goes in
    a FeatureCollection; a site file in the site format keeps that format's suffix."""
    given = doc.get("type")
    if isinstance(doc.get("format"), str) and given is None:
        return Problem(name, "type", f"a GeoJSON site must be a FeatureCollection; this file is in the {doc['format']} "
                       "format", "rename it to .json (or .yaml), the suffix of that format")
    what = f"this is a {given}" if isinstance(given, str) else "the file has no type"
    return Problem(name, "type", f"a GeoJSON site must be a FeatureCollection; {what}",
                   'put every feature of the site in one {"type": "FeatureCollection", "features": [...]}, each with '
                   "its properties.layer (sites/README.md, GeoJSON variant)")


def geojson_to_site(fc: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Problem]]:
    """Turn a GeoJSON FeatureCollection into a site mapping (coordinates stay WGS84).

    Args:
        fc: the parsed GeoJSON document.
        name: the file name problems are reported against.

    Returns:
        ``(site mapping, problems)``; features that cannot be placed are left out and reported.
    """
    if fc.get("type") != "FeatureCollection":
        return {}, [_not_a_collection(fc, name)]
    site, problems = _site_header(fc, name)
    feats = fc.get("features")
    if not isinstance(feats, list):
        return site, problems + [Problem(name, "features", f"must be a list of features, got {type(feats).__name__}")]
    default_layer = _one_layer(fc, feats, name)
    for i, feat in enumerate(feats):
        problem = _add_feature(site, i, feat, name, default_layer)
        if problem is not None:
            problems.append(problem)
    if default_layer is not None and (beside := layers_beside(Path(name), name, layer_for(default_layer).name)):  # type: ignore[union-attr]
        return {}, problems + [beside]  # parcels.geojson beside firms.geojson: not read (nor what follows from it)
    if any(p.field == "crs" for p in problems) and not _in_degrees(feats):
        # in another CRS (QGIS's export in EPSG:27700): each position was told again as 'not longitude/latitude
        # degrees ... declare the projected CRS', which a GeoJSON site cannot; export again in WGS84 (the crs hint)
        return {}, problems
    problems += unknown_attributes(site, name)
    problems += attach_parts(site, name)
    logger.debug("GeoJSON site %s: %d features, %d problems", name, len(feats), len(problems))
    return site, problems


def _in_degrees(feats: list[Any]) -> bool:
    """Whether every numeric position of the features fits longitude/latitude degrees."""
    positions = [p for f in feats if isinstance(f, Mapping) for p in iter_positions(f.get("geometry"))
                 if len(p) >= 2 and all(isinstance(v, (int, float)) for v in p[:2])]
    return not positions or looks_like_degrees(positions)


def _json_value(value: Any) -> Any:
    """A frame cell as a JSON value (missing values as None)."""
    if value is None or isinstance(value, (str, list, dict)):
        return value
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def site_to_geojson(data: Mapping[str, Any]) -> dict[str, Any]:
    """A site mapping as an RFC 7946 GeoJSON site (WGS84 lon/lat), the inverse of :func:`geojson_to_site`.

    Coordinates are reprojected to WGS84; a site in a projected CRS keeps it as ``working_crs``
    so it is worked on in the same metres. Attributes are flat (``provenance_source``...), as
    QGIS shows them; the site's own fields go in the foreign member ``site``.
    """
    meta = {k: v for k, v in site_meta(data).items() if v is not None}
    src = meta.get("crs")
    if isinstance(src, str) and CRS.from_user_input(src).is_projected and not meta.get("working_crs"):
        meta["working_crs"] = src
    frames = site_to_frames(reproject_mapping(data, "OGC:CRS84"))
    features: list[dict[str, Any]] = []
    for spec in SITE_LAYERS:
        frame = frames[spec.name]
        geo = frame.to_geo_dict(drop_id=True) if isinstance(frame, gpd.GeoDataFrame) else None
        rows = frame.drop(columns=[frame.geometry.name]) if isinstance(frame, gpd.GeoDataFrame) else frame
        for k, (_, row) in enumerate(rows.iterrows()):
            props = {"layer": spec.name[:-1] if spec.name.endswith("s") else spec.name}
            props.update({c: _json_value(v) for c, v in row.items() if _json_value(v) is not None})
            geometry = geo["features"][k]["geometry"] if geo is not None else None
            if geometry is not None and "Polygon" in str(geometry.get("type")):  # RFC 7946's right-hand rule
                geometry = shapely.geometry.mapping(rfc7946_oriented(shapely.geometry.shape(geometry)))
            features.append({"type": "Feature", "properties": props, "geometry": geometry})
    meta["crs"] = "OGC:CRS84"
    return {"type": "FeatureCollection", "site": meta, "features": features}
