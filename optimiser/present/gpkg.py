"""A run's layers as GeoDataFrames and as ``layout.gpkg``: every layer in the site's CRS, with QGIS
styles in the GeoPackage's ``layer_styles`` table (:mod:`optimiser.present.qgis_style`).

Layers (:data:`LAYOUT_LAYERS` maps the layout's feature kinds to them): ``firms``, ``parcels``,
``barriers``, ``paths``, ``existing_crossings``, ``new_crossings``, ``candidates_not_chosen``
(candidate crossings), ``candidate_sites_not_chosen`` (facility and social-space sites),
``facilities``, ``facility_footprints``, ``existing_facilities``, ``social_spaces``,
``existing_social_spaces``, ``coverage_areas`` (each social space's coverage radius),
``facility_walks``, ``routes_before`` and ``routes_after``. Lines of zero length and empty
geometries are left out (QGIS reports them as invalid); the count is logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from optimiser.errors import FileReadError, Problem
from optimiser.inputs.domain import BARRIER_KIND_ALIASES
from optimiser.inputs.gis import typed_column
from optimiser.inputs.safefile import write_renamed
from optimiser.lazy import lazy_module
from optimiser.present.gpkg_sqlite import Row, write_layers_sqlite
from optimiser.present.qgis_style import LayerStyle, layer_styles, qml, sld

if TYPE_CHECKING:  # pragma: no cover; the real modules for mypy, loaded on first use at run time (optimiser.lazy)
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    from optimiser.inputs.domain import Site
    from optimiser.network.graph import WalkNetwork
    from optimiser.pipeline import Prepared
else:
    gpd = lazy_module("geopandas")
    pd = lazy_module("pandas")
    pyogrio = lazy_module("pyogrio")

logger = logging.getLogger(__name__)

__all__ = ["LAYOUT_GPKG", "LAYOUT_LAYERS", "frames_from_features", "write_gpkg", "read_gpkg", "candidate_site_features",
           "STYLES_TABLE", "styles_frame", "write_run_gpkg", "network_frames", "layer_rows"]

LAYOUT_GPKG = "layout.gpkg"
STYLES_TABLE = "layer_styles"
LAYOUT_LAYERS: dict[str, str] = {
    "parcel": "parcels",
    "firm": "firms",
    "barrier": "barriers",
    "path": "paths",
    "existing_crossing": "existing_crossings",
    "crossing": "new_crossings",
    "new_crossing": "new_crossings",
    "candidate_crossing": "candidates_not_chosen",
    "candidate_site": "candidate_sites_not_chosen",
    "facility": "facilities",
    "facility_footprint": "facility_footprints",
    "existing_facility": "existing_facilities",
    "social_space": "social_spaces",
    "existing_social_space": "existing_social_spaces",
    "coverage_area": "coverage_areas",
    "facility_walk": "facility_walks",
    "route_before": "routes_before",
    "route_after": "routes_after",
    "exclusion_zone": "exclusion_zones",
}
"""The layout's feature kind (``layout.geojson``'s ``layer`` property) -> GeoPackage layer."""
_ORDER = list(dict.fromkeys(LAYOUT_LAYERS.values()))


def _valid(geom: BaseGeometry | None) -> bool:
    """Worth a feature: not empty, lines of non-zero length, polygons of non-zero area."""
    if geom is None or geom.is_empty:
        return False
    if geom.geom_type in ("LineString", "MultiLineString"):
        return bool(geom.length > 0)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return bool(geom.area > 0)
    return True


_RENAMED = {"layer_name": "scenario_layer"}
"""Layout properties renamed in GIS layers (a barrier's scenario layer is not the GIS layer)."""


def _table_rows(rows: Sequence[tuple[BaseGeometry, Mapping[str, Any]]]) -> list[Row]:
    """A layer's features with their attributes as GIS columns: the ``layer`` property left
    out, properties renamed (:data:`_RENAMED`), lists and mappings as text."""
    return [(g, {_RENAMED.get(c, c): _scalar(v) for c, v in props.items() if c != "layer"}) for g, props in rows]


def _frame(rows: Sequence[tuple[BaseGeometry, Mapping[str, Any]]], crs: str) -> gpd.GeoDataFrame:
    table = _table_rows(rows)
    columns: list[str] = []
    for _, props in table:
        columns += [c for c in props if c not in columns]
    data = {c: typed_column([props.get(c) for _, props in table]) for c in columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([g for g, _ in rows], crs=crs), index=pd.RangeIndex(len(rows)))


def _scalar(value: Any) -> Any:
    """A property as a GIS attribute: lists and mappings as text, the rest as they are."""
    if isinstance(value, (list, tuple, dict)):
        return ";".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    return value


def frames_from_features(features: Iterable[tuple[str, BaseGeometry | None, Mapping[str, Any]]], crs: str,
                         *, coverage: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """Layers (:data:`LAYOUT_LAYERS`) from ``(kind, geometry in crs, properties)`` triples.

    Args:
        features: the layout's features; a candidate crossing that was chosen is a new
            crossing and stays out of ``candidates_not_chosen``; kinds not in
            :data:`LAYOUT_LAYERS` keep their own name.
        crs: the site's CRS.
        coverage: add ``coverage_areas``: each social space buffered by its
            ``coverage_radius_m`` (the circle the plan draws).

    Returns:
        ``{layer: GeoDataFrame}`` in :data:`LAYOUT_LAYERS` order, only layers with features.
    """
    return {n: _frame(rows, crs) for n, rows in layer_rows(features, coverage=coverage).items()}


def layer_rows(features: Iterable[tuple[str, BaseGeometry | None, Mapping[str, Any]]], *, coverage: bool = True
               ) -> dict[str, list[tuple[BaseGeometry, Mapping[str, Any]]]]:
    """The features of each layer, as :func:`frames_from_features` makes its frames (same
    arguments; ``(geometry, properties)`` pairs)."""
    rows: dict[str, list[tuple[BaseGeometry, Mapping[str, Any]]]] = {}
    dropped = 0
    for kind, geom, props in features:
        if kind == "candidate_crossing" and props.get("chosen"):
            continue
        if not _valid(geom):
            dropped += 1
            continue
        assert geom is not None
        layer = LAYOUT_LAYERS.get(kind, kind)
        rows.setdefault(layer, []).append((geom, props))
        radius = props.get("coverage_radius_m")
        if coverage and kind == "social_space" and isinstance(radius, (int, float)) and radius > 0:
            rows.setdefault("coverage_areas", []).append(
                (geom.buffer(float(radius), 64), {"id": props.get("id"), "coverage_radius_m": float(radius)}))
    if dropped:
        logger.debug("%d empty or zero-length geometries left out of the layers", dropped)
    names = [n for n in _ORDER if n in rows] + sorted(n for n in rows if n not in _ORDER)
    return {n: rows[n] for n in names}


def _style_rows(layers: Iterable[str] | Mapping[str, Any]) -> list[dict[str, Any]]:
    """QGIS's ``layer_styles`` rows (its column names) for the layers that have a style; given
    the frames, a categorised style also draws the old names its layer holds as their category
    (:func:`_with_aliases`)."""
    styles = layer_styles()
    frames = layers if isinstance(layers, Mapping) else {}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for name in layers:
        if name not in styles:
            continue
        style = _with_aliases(styles[name], frames.get(name))
        rows.append({"f_table_catalog": "", "f_table_schema": "", "f_table_name": name, "f_geometry_column": "geom",
                     "styleName": name, "styleQML": qml(style), "styleSLD": sld(name, style), "useAsDefault": True,
                     "description": f"placemaking-optimiser style for {name}", "owner": "", "ui": "", "update_time": now})
    return rows


def _with_aliases(style: LayerStyle, frame: Any) -> LayerStyle:
    """``style`` with a category for each first-format name the frame's attribute holds
    (``carriageway``, ``rail_corridor``, ``watercourse``: a site file keeps what it was given),
    drawn as the kind it names, so a converted site's barriers are not left to the catch-all."""
    columns = getattr(frame, "columns", None)  # a run's layers come as rows (lists), not frames: current names only
    if frame is None or columns is None or not style.attribute or style.attribute not in columns:
        return style
    by_value = {v: (label, sym) for v, label, sym in style.categories}
    extra = tuple((old, f"{by_value[new][0]} ({old})", by_value[new][1])
                  for old, new in BARRIER_KIND_ALIASES.items()
                  if new in by_value and old not in by_value and (frame[style.attribute] == old).any())
    return replace(style, categories=style.categories + extra) if extra else style


def styles_frame(layers: Iterable[str] | Mapping[str, Any]) -> pd.DataFrame | None:
    """QGIS's ``layer_styles`` table for the layers that have a style (``None``: none has); given
    the frames (name -> frame), the old kind names they hold are styled too."""
    rows = _style_rows(layers)
    return pd.DataFrame(rows) if rows else None


_EMPTY_LAYER_TYPES = {"network_edges": "LineString", "network_nodes": "Point", "connectors": "LineString",
                      "candidate_crossings": "LineString", "existing_crossings": "LineString"}
"""The geometry type of ``siteopt network``'s layers, for one written without features (a site with
no existing crossings, every entrance on a path: no connectors): QGIS opens a layer of unknown
geometry type as a table, without its style."""


def write_gpkg(path: str | os.PathLike[str], frames: Mapping[str, gpd.GeoDataFrame], *, styles: bool = True,
               run_id: str | None = None) -> Path:
    """Write layers to a GeoPackage (via a temporary file renamed into place), with their QGIS styles.

    Each layer's geometry type is its frames'; a layer mixing single and multi parts is written
    as multi. ``run_id`` goes into the GDAL metadata (``gpkg_metadata``) of every layer, not the
    dataset's, which GDAL copies into a ``.aux.xml`` sidecar whenever the file is opened
    read-only (read back by :func:`optimiser.present.runid.gpkg_run_id`). Returns ``path``.
    """
    tag = {"run_id": run_id} if run_id else None

    def write(tmp: Path) -> None:
        for name, frame in frames.items():
            types = set(frame.geom_type.dropna()) if len(frame) else set()
            mixed = len({t.removeprefix("Multi") for t in types}) == 1 and len(types) > 1
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", promote_to_multi=mixed or None,
                                    geometry_type=None if len(frame) else _EMPTY_LAYER_TYPES.get(name, "Unknown"),
                                    layer_metadata=tag)
        table = styles_frame(frames) if styles else None
        if table is not None:
            pyogrio.write_dataframe(table, tmp, layer=STYLES_TABLE, driver="GPKG", layer_options={"FID": "id"})

    return _write_renamed(Path(path), write, len(frames))


def _write_renamed(path: Path, write: Callable[[Path], object], n_layers: int) -> Path:
    """Call ``write`` on a temporary GeoPackage beside ``path``, then rename it into place
    (:func:`~optimiser.inputs.safefile.write_renamed`: a half-written file never takes ``path``'s name)."""
    write_renamed(path, write, ".gpkg")
    logger.debug("wrote %s: %d layers", path, n_layers)
    return path


def read_gpkg(path: str | os.PathLike[str]) -> dict[str, gpd.GeoDataFrame]:
    """Every spatial layer of a GeoPackage as a GeoDataFrame, by layer name (styles table aside).

    Raises:
        FileReadError: the file is missing or not a readable GeoPackage.
    """
    try:
        listed = pyogrio.list_layers(path)
        return {str(n): pyogrio.read_dataframe(path, layer=str(n)) for n, g in listed if g is not None}
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise FileReadError([Problem(str(path), "", f"not a readable GeoPackage: {exc}")]) from exc


def write_run_gpkg(path: Path, prep: Prepared, chosen: Iterable[int], features: Iterable[Mapping[str, Any]], crs: str,
                   run_id: str | None = None) -> Path:
    """A run's ``layout.gpkg``: the layout's features (GeoJSON-like, shapely geometry in ``crs``)
    and the candidate sites not chosen, as styled layers, carrying ``run_id``."""
    triples = [(str(f["properties"].get("layer", "")), f["geometry"], f["properties"]) for f in features]
    triples += candidate_site_features(prep, chosen)
    triples += [("exclusion_zone", z.polygon, {"id": z.id, "name": z.name, "reason": z.reason})
                for z in prep.scenario.site.exclusion_zones]
    layers = {name: _table_rows(rows) for name, rows in layer_rows(triples).items()}
    return _write_renamed(path, lambda tmp: write_layers_sqlite(
        tmp, layers, crs, styles_table=STYLES_TABLE, styles=_style_rows(layers),
        metadata={"run_id": run_id} if run_id else None), len(layers))


def candidate_site_features(prep: Prepared, chosen: Iterable[int]) -> list[tuple[str, BaseGeometry, dict[str, Any]]]:
    """Facility and social-space candidate sites that were not chosen, as ``candidate_site`` features."""
    keys = {prep.problem.decisions[i].key for i in chosen}
    out = []
    for kind, sites in (("facility", prep.facility_sites), ("social_space", prep.social_sites)):
        for s in sites:
            if s.key not in keys:
                out.append(("candidate_site", s.point, {"id": s.key, "kind": kind, "type": s.type, "cost": s.cost,
                                                        "currency": prep.scenario.currency,
                                                        "parcel": s.parcel_id}))
    return out


_EDGE_KIND = {"crossing": "existing_crossing"}


def _nodes_frame(net: WalkNetwork, crs: str) -> gpd.GeoDataFrame:
    """The network's nodes: id, degree and the entrances / points (access keys) they serve."""
    degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes) if net.n_edges else \
        np.zeros(net.n_nodes, dtype=int)
    serves: dict[int, list[str]] = {}
    for key, nodes in net.access.items():
        for n in nodes:
            serves.setdefault(int(n), []).append(str(key))
    data = {"node": typed_column(list(range(net.n_nodes))), "degree": typed_column([int(d) for d in degree]),
            "serves": typed_column([";".join(serves[i]) if i in serves else None for i in range(net.n_nodes)])}
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(net.coords[:, 0], net.coords[:, 1]), crs=crs)


def network_frames(net: WalkNetwork, edges: Iterable[Mapping[str, Any]], site: Site) -> dict[str, gpd.GeoDataFrame]:
    """``siteopt network``'s layers: edges (given, e.g. without zero-length ones), nodes,
    connectors, candidate crossings and the site's existing crossings."""
    # an existing crossing's edge is an "existing_crossing" here, as in every other output layer
    edge_rows = [(f["geometry"], {**f["properties"], "kind": _EDGE_KIND.get(f["properties"].get("kind"), f["properties"].get("kind"))})
                 for f in edges if _valid(f["geometry"])]
    frames = {"network_edges": _frame(edge_rows, site.crs),
              "network_nodes": _nodes_frame(net, site.crs),
              "connectors": _frame([r for r in edge_rows if r[1].get("kind") == "connector"], site.crs)}
    cand = [(c.line, {"id": c.id, "name": c.name, "barrier": c.barrier_id, "type": c.type, "cost": float(c.cost),
                      "penalty_m": float(c.penalty_m), "length_m": round(c.length_m, 3)}) for c in net.candidates]
    frames["candidate_crossings"] = _frame(cand, site.crs)
    existing = [(c.line, {"id": c.id, "name": c.name, "barrier": c.barrier_id, "type": c.type, "penalty_m": c.penalty_m})
                for c in site.crossings]
    frames["existing_crossings"] = _frame(existing, site.crs)
    return frames
