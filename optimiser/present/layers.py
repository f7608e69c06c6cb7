"""The in-memory form of a run that the renderers draw: layout features in the site CRS
(metres), the typed metrics and the per-pair and per-firm rows.

:class:`RunData` is built either from files (:func:`optimiser.present.rundir.load_run`, for
``siteopt render``) or straight from what a run has just written
(:func:`optimiser.present.rundir.write_run_dir`), so a run is never re-read from disk to draw it.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from optimiser.inputs.domain import BARRIER_KIND_ALIASES, BarrierKind
from optimiser.present.antimeridian import join_antimeridian
from optimiser.present.metrics import RunMetrics
from optimiser.present.rings import polygon_rings

logger = logging.getLogger(__name__)

__all__ = ["Extent", "LayoutLike", "HasRunData", "as_drawable",
           "Feature", "Layout", "RunData", "EXTENT_LAYERS", "NEARBY_LAYERS", "project_geojson",
           "layout_from_features", "as_layout", "default_extent", "union_extent", "placement_tags", "lines", "polygon_rings",
           "point",
           "barrier_kind", "barrier_band", "barrier_legend_label", "is_active", "is_no_build", "firm_numbers", "site_tags"]

Extent = tuple[float, float, float, float]
"""(xmin, ymin, xmax, ymax) in the site CRS, metres."""

EXTENT_LAYERS = ("parcel", "firm", "facility", "social_space", "crossing")
"""Layers that define the default map extent (the site itself)."""
NEARBY_LAYERS = ("existing_crossing", "existing_facility", "candidate_crossing")
"""Included in the default extent when close to the site (a far junction would shrink the map)."""


LAYER_ALIASES: dict[str, str] = {"new_crossing": "crossing"}
"""layout.geojson's layer names (``new_crossing``, beside the input's ``existing_crossing``) ->
the names the renderers use; run directories written before keep ``crossing``."""


def _layer_name(props: Mapping[str, Any]) -> str:
    name = str(props.get("layer", ""))
    return LAYER_ALIASES.get(name, name)


@dataclass
class Feature:
    """One layout feature: geometry in the site CRS (metres) and its properties."""

    layer: str
    geometry: BaseGeometry
    props: dict[str, Any]

    @property
    def id(self) -> str:
        """The feature's id (``firm`` for per-firm layers such as ``facility_walk``)."""
        return str(self.props.get("id", self.props.get("firm", "")))

    def number(self, key: str, default: float = 0.0) -> float:
        """A numeric property (``default`` when missing, None or zero-like)."""
        return float(self.props.get(key) or default)

    def text(self, key: str, default: str = "") -> str:
        """A text property (``default`` when missing or empty)."""
        value = self.props.get(key)
        return str(value) if value not in (None, "") else default


@dataclass
class Layout:
    """The features of ``layout.geojson``, in the site CRS."""

    features: list[Feature]
    crs: str = "EPSG:27700"

    def layer(self, *names: str) -> list[Feature]:
        """Features of the given layers, in file order."""
        return [f for f in self.features if f.layer in names]

    def bounds(self, layers: Iterable[str] | None = None) -> Extent | None:
        """Bounds of the (non-empty) geometries of ``layers`` (all layers when None)."""
        feats = self.features if layers is None else self.layer(*layers)
        geoms = [f.geometry for f in feats if f.geometry is not None and not f.geometry.is_empty]
        if not geoms:
            return None
        x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(np.array(geoms, dtype=object)))
        return (x0, y0, x1, y1)


@dataclass
class RunData:
    """Everything a run directory says, ready to draw."""

    run_dir: Path
    metrics: RunMetrics
    layout: Layout
    pairs: list[dict[str, Any]] = field(default_factory=list)
    firms: list[dict[str, Any]] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    """Optional files that were not there (pairs.csv / firms.csv)."""
    label: str = ""
    """A name given beside the runs it is shown with (``siteopt compare``: two runs of one
    scenario); empty: :attr:`name` is the scenario's."""

    @property
    def crs(self) -> str:
        """The site CRS the layout is in."""
        return self.layout.crs

    @property
    def name(self) -> str:
        """The run's :attr:`label`, else the scenario's name (its id, or the directory name, when it has none)."""
        if self.label:
            return self.label
        sc = self.metrics.scenario
        return sc.name or sc.id or self.run_dir.name

    def extent(self) -> Extent:
        """The default map extent of this run (:func:`default_extent`)."""
        return default_extent(self.layout)

    def to_gdfs(self) -> dict[str, Any]:
        """The run's layers as GeoDataFrames in the site CRS (as in ``layout.gpkg``), by layer name."""
        from optimiser.present.gpkg import frames_from_features

        return frames_from_features(((f.layer, f.geometry, f.props) for f in self.layout.features), self.crs)

    def _repr_html_(self) -> str:
        """Jupyter's view: the plan and the run's key figures."""
        from optimiser.present.notebook import draw_layout_features, run_html

        return run_html(self.metrics, self.run_dir, lambda ax: draw_layout_features(ax, self.layout.features))


def _to_site_crs(crs: str) -> Transformer | None:
    if CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
        return None
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def project_geojson(fc: Mapping[str, Any], crs: str) -> Layout:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat) as a :class:`Layout` in ``crs`` metres.

    Features without geometry are skipped; a feature's layer is its ``layer`` property; a line
    or polygon cut at the antimeridian is joined again (:func:`join_antimeridian`).
    """
    tr = _to_site_crs(crs)

    def fn(xy: np.ndarray) -> np.ndarray:
        if tr is None or len(xy) == 0:
            return xy
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    feats = []
    for f in fc.get("features", []) or []:
        props = dict(f.get("properties") or {})
        geom = f.get("geometry")
        if not geom:
            continue
        feats.append(Feature(_layer_name(props), shapely.transform(join_antimeridian(shape(geom)), fn), props))
    logger.debug("projected %d features to %s", len(feats), crs)
    return Layout(feats, crs)


def layout_from_features(features: Iterable[Mapping[str, Any]], crs: str) -> Layout:
    """A :class:`Layout` from GeoJSON-like features whose geometry is a shapely geometry already
    in ``crs`` (what :func:`optimiser.present.rundir.layout_features` builds)."""
    feats = []
    for f in features:
        geom = f.get("geometry")
        if geom is None:
            continue
        g = geom if isinstance(geom, BaseGeometry) else shape(geom)
        props = dict(f.get("properties") or {})
        feats.append(Feature(_layer_name(props), g, props))
    return Layout(feats, crs)


@runtime_checkable
class HasRunData(Protocol):
    """Something that can give its :class:`RunData`: the
    :class:`~optimiser.pipeline.RunResult` that ``run_scenario`` returns (with or without a run
    directory)."""

    def run_data(self) -> RunData: ...


LayoutLike = RunData | Layout | Mapping[str, Any] | HasRunData
"""What the drawing functions accept as a layout: a run (a :class:`RunData`, or the
``RunResult`` of ``run_scenario``), a layout, or a raw FeatureCollection."""


def as_drawable(layout: LayoutLike) -> RunData | Layout | Mapping[str, Any]:
    """``layout`` as the drawing functions read it: a ``RunResult`` (anything with
    ``run_data()``) becomes its :class:`RunData`; anything else is returned as it is. The one
    place a run result is converted (:func:`as_layout` and the drawing functions call it)."""
    if isinstance(layout, RunData | Layout | Mapping):
        return layout
    if isinstance(layout, HasRunData):
        return layout.run_data()
    return layout


def as_layout(layout: LayoutLike, metrics: RunMetrics) -> Layout:
    """The :class:`Layout` of a run (a :class:`RunData` or a ``RunResult``), a layout, or a raw
    GeoJSON FeatureCollection (WGS84, projected to the site CRS of ``metrics``).

    Raises:
        TypeError: ``layout`` is none of these.
    """
    layout = as_drawable(layout)
    if isinstance(layout, RunData):
        return layout.layout
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, Mapping) and layout.get("type") == "FeatureCollection":
        return project_geojson(layout, metrics.site.crs or "EPSG:27700")
    raise TypeError(f"expected RunData, RunResult, Layout or a GeoJSON FeatureCollection, got {type(layout).__name__}")


def default_extent(layout: Layout, pad: float = 0.06) -> Extent:
    """The site's extent (parcels, firms, placements, new transit stops, candidate crossings) plus
    nearby existing crossings and facilities, padded by ``pad`` of its size; paths and barriers are
    clipped to it."""
    b = layout.bounds(EXTENT_LAYERS) or layout.bounds() or (0.0, 0.0, 1000.0, 1000.0)
    x0, y0, x1, y1 = b
    for f in layout.layer("transit_stop"):  # a new stop is a decision of the run: on the map wherever it is
        if f.text("status") == "new" and not f.geometry.is_empty:
            gx0, gy0, gx1, gy1 = f.geometry.bounds
            x0, y0, x1, y1 = min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1)
    reach = 0.15 * math.hypot(x1 - x0, y1 - y0)
    core = shapely.box(x0, y0, x1, y1)
    for f in layout.layer(*NEARBY_LAYERS):
        if f.geometry.is_empty or f.geometry.distance(core) > reach:
            continue
        gx0, gy0, gx1, gy1 = f.geometry.bounds
        x0, y0, x1, y1 = min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1)
    w, h = max(x1 - x0, 50.0), max(y1 - y0, 50.0)
    return (x0 - pad * w, y0 - pad * h, x1 + pad * w, y1 + pad * h)


def union_extent(extents: Iterable[Extent]) -> Extent:
    """The smallest extent holding all ``extents``."""
    ex = list(extents)
    return (min(e[0] for e in ex), min(e[1] for e in ex), max(e[2] for e in ex), max(e[3] for e in ex))


def placement_tags(metrics: RunMetrics, layout: Layout | None = None) -> dict[str, str]:
    """Short plan labels for placements, by id: F1, F2… (shared facilities), S1… (social
    spaces), X1… (new crossings), T1… (new transit stops), numbered in ``metrics.json`` order so the report's tables and
    the plan agree; placements only in ``layout`` are numbered after them."""
    tags: dict[str, str] = {}
    pl = metrics.placements
    groups: tuple[tuple[list[str], str, str], ...] = (
        ([p.id for p in pl.shared_facilities], "F", "facility"),
        ([p.id for p in pl.social_spaces], "S", "social_space"),
        ([p.id for p in pl.crossings], "X", "crossing"),
    )
    for ids, prefix, layer in groups:
        if layout is not None:
            ids = ids + [f.id for f in layout.layer(layer) if f.id not in ids]
        for i, pid in enumerate(ids, 1):
            tags.setdefault(pid, f"{prefix}{i}")
    if metrics.transit is not None:  # the plans mark the new transit stops T1, T2...
        tags.update({t.id: f"T{i}" for i, t in enumerate((t for t in metrics.transit.stops if not t.existing), 1)})
    return tags


def firm_numbers(layout: Layout) -> dict[str, int]:
    """The key number of every firm, 1..n in the site file's order of firms (the order the run
    writes them): a property of the SITE, so a firm has the same number in every scenario and
    run of its site, on the static plan and on the interactive map alike."""
    ids = dict.fromkeys(f.id for f in layout.layer("firm"))
    return {fid: i for i, fid in enumerate(ids, 1)}


def site_tags(layout: Layout) -> dict[str, str]:
    """Key tags of the site's existing features, in the site file's order: J1, J2... (existing
    crossings and junctions), E1, E2... (existing facilities)."""
    tags: dict[str, str] = {}
    for layer, prefix in (("existing_crossing", "J"), ("existing_facility", "E")):
        for i, fid in enumerate(dict.fromkeys(f.id for f in layout.layer(layer)), 1):
            tags[fid] = f"{prefix}{i}"
    return tags


def lines(geom: BaseGeometry) -> list[np.ndarray]:
    """The coordinate arrays of a (multi)line geometry; empty for anything else."""
    if geom.geom_type == "LineString":
        return [np.asarray(geom.coords)]
    if geom.geom_type in ("MultiLineString", "GeometryCollection"):
        return [np.asarray(g.coords) for g in getattr(geom, "geoms", []) if g.geom_type == "LineString"]
    return []


def point(geom: BaseGeometry) -> tuple[float, float]:
    """Where a geometry's symbol goes: the point itself, a line's midpoint or a centroid."""
    if geom.geom_type == "Point":
        return float(geom.x), float(geom.y)
    c = geom.centroid if geom.geom_type != "LineString" else geom.interpolate(0.5, normalized=True)
    return float(c.x), float(c.y)


# ------------------------------------------------------------------ barriers: kind and name


def barrier_kind(f: Feature) -> BarrierKind | None:
    """A barrier feature's kind (the first format's names too); None for a name it does not know."""
    name = str(f.props.get("kind", ""))
    try:
        return BarrierKind(BARRIER_KIND_ALIASES.get(name, name))
    except ValueError:
        return None


def barrier_band(f: Feature) -> BaseGeometry:
    """The band a barrier takes on the plan: its line buffered by half its ``width_m`` (missing:
    30 m for a road, 20 m otherwise), flat at the ends."""
    kind = barrier_kind(f)
    width_m = float(f.props.get("width_m") or (30.0 if kind is not None and kind.is_road else 20.0))
    return f.geometry.buffer(width_m / 2.0, cap_style="flat")


def is_no_build(f: Feature) -> bool:
    """A barrier feature marked no-build (layouts from before the property: not)."""
    return f.props.get("no_build") in (True, "true", 1)


def is_active(f: Feature) -> bool:
    """A barrier feature switched on in the run (missing: on)."""
    return f.props.get("active", True) not in (False, "false", 0)


def barrier_legend_label(f: Feature, width: int | None = None) -> str:
    """A barrier's legend entry: its name and kind, ``no-build`` and ``inactive`` when so,
    e.g. ``"I-880 (motorway)"``, ``"Union Pacific/BART (rail, no-build)"``: the full name, on one
    line or (``width``) wrapped onto lines of about ``width`` characters; never cut."""
    kind = barrier_kind(f)
    name = " ".join(str(f.props.get("name") or f.props.get("id") or "barrier").split())
    notes = [kind.label if kind is not None else str(f.props.get("kind") or "barrier")]
    notes = [n for n in notes if f"({n.lower()})" not in name.lower()]  # "Parkway (dual carriageway)" says it already
    notes += ["no-build"] if is_no_build(f) else []
    notes += [] if is_active(f) else ["inactive"]
    text = f"{name} ({', '.join(notes)})" if notes else name
    return "\n".join(textwrap.wrap(text, width)) if width else text
