"""Rendered layouts: plans, distance maps and the run's report, drawn from a run directory only.

Everything here reads the files a run writes (``metrics.json``, ``layout.geojson``,
``pairs.csv``, ``firms.csv``), so ``siteopt render RUN`` re-renders without solving.

The drawing functions are pure: they take a matplotlib ``Axes`` and return its ``Figure``;
they never touch pyplot state (figures are built with :class:`matplotlib.figure.Figure` and
the Agg canvas), so they are safe in worker processes and tests.

Placement artists carry SVG ids (``facility-<id>``, ``social-<id>``, ``crossing-<id>``,
``existing-crossing-<id>``, ``firm-<id>``), so a designer can pick them out in the SVG and
tests can check where they were drawn.
"""

from __future__ import annotations

import csv
import json
import math
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from optimiser.errors import FileReadError, Problem

__all__ = [
    "Feature",
    "Layout",
    "RunData",
    "PlanStyle",
    "RUN_FILES",
    "load_run",
    "draw_plan",
    "draw_distance_map",
    "plan_figure",
    "distance_figure",
    "render_run",
    "fmt_m",
    "fmt_gbp",
    "fmt_pct",
    "fmt_num",
]

RUN_FILES = ("metrics.json", "layout.geojson", "pairs.csv", "firms.csv")
"""Files a run directory holds; the first two are required to render."""
REQUIRED_FILES = ("metrics.json", "layout.geojson")

PLAN_DPI = 150
PLAN_SIZE = (13.0, 9.0)  # inches
MAP_RECT = (0.035, 0.035, 0.70, 0.855)  # axes rect of the map in a single-plan figure

# --------------------------------------------------------------------------- colours
PARCEL_STYLE = {
    "occupied": {"fc": "#dcd6cc", "ec": "#a89f91", "label": "Occupied plot", "hatch": None},
    "buildable": {"fc": "#f7eec4", "ec": "#c9b46a", "label": "Buildable plot", "hatch": None},
    "reserved": {"fc": "#ebe3f2", "ec": "#a18fb5", "label": "Reserved plot", "hatch": ".."},
    "open_space": {"fc": "#d6ecce", "ec": "#8fbf83", "label": "Open space", "hatch": None},
}
PARCEL_OTHER = {"fc": "#eeeeee", "ec": "#aaaaaa", "label": "Other plot", "hatch": None}
CARRIAGEWAY_FC = "#5f6b78"
RAIL_EC = "#9c5b2e"
PATH_C = "#8c8c8c"
FIRM_C = "#27384a"
FACILITY_C = "#f39c12"
EXISTING_FACILITY_C = "#95a5a6"
SOCIAL_C = "#8e44ad"
CROSSING_C = "#d62728"
EXISTING_CROSSING_C = "#111111"
ROUTE_BEFORE_C = "#555555"
ROUTE_AFTER_C = "#1f6fb4"
BACKGROUND = "#ffffff"

HALO = [patheffects.withStroke(linewidth=2.6, foreground="white")]


@dataclass(frozen=True)
class PlanStyle:
    """Scales shared between panels (compare uses one style for every run)."""

    employees_max: float | None = None
    """Employees of the largest firm drawn at the largest marker; None: this run's largest."""
    min_radius_pt: float = 3.5
    max_radius_pt: float = 13.0
    label_fontsize: float = 7.5
    placement_fontsize: float = 8.0
    show_candidates: bool = True
    max_routes: int = 3
    firm_labels: bool = True
    """Name the firms (compare panels of a dense site turn this off; the legend keeps sizes)."""
    distance_names: bool = True
    """Distance map labels: name + value (True) or the value only, and no 'no change' labels."""

    def firm_radius_pt(self, employees: float, emp_max: float) -> float:
        emp_max = max(float(self.employees_max or emp_max or 1.0), 1.0)
        frac = math.sqrt(max(float(employees or 0.0), 0.0) / emp_max)
        return self.min_radius_pt + (self.max_radius_pt - self.min_radius_pt) * min(frac, 1.0)


# --------------------------------------------------------------------------- data
@dataclass
class Feature:
    """One layout feature: geometry in the site CRS (metres) and its properties."""

    layer: str
    geometry: BaseGeometry
    props: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.props.get("id", self.props.get("firm", "")))


@dataclass
class Layout:
    """The features of ``layout.geojson``, projected to the site CRS."""

    features: list[Feature]
    crs: str = "EPSG:27700"

    def layer(self, *names: str) -> list[Feature]:
        return [f for f in self.features if f.layer in names]

    def bounds(self, layers: Iterable[str] | None = None) -> tuple[float, float, float, float] | None:
        feats = self.features if layers is None else self.layer(*layers)
        geoms = [f.geometry for f in feats if f.geometry is not None and not f.geometry.is_empty]
        if not geoms:
            return None
        b = shapely.total_bounds(np.array(geoms, dtype=object))
        return tuple(float(v) for v in b)  # type: ignore[return-value]


EXTENT_LAYERS = ("parcel", "firm", "facility", "social_space", "crossing")
"""Layers that define the default map extent (the site itself)."""
NEARBY_LAYERS = ("existing_crossing", "existing_facility", "candidate_crossing")
"""Included in the default extent when close to the site (a far junction would shrink the map)."""


@dataclass
class RunData:
    """Everything a run directory says, ready to draw."""

    run_dir: Path
    metrics: dict[str, Any]
    layout: Layout
    pairs: list[dict[str, Any]] = field(default_factory=list)
    firms: list[dict[str, Any]] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    """Optional files that were not there (pairs.csv / firms.csv)."""

    @property
    def crs(self) -> str:
        return self.layout.crs

    @property
    def name(self) -> str:
        sc = self.metrics.get("scenario") or {}
        return str(sc.get("name") or sc.get("id") or self.run_dir.name)

    def extent(self) -> tuple[float, float, float, float]:
        return default_extent(self.layout)


def _num(v: Any) -> Any:
    """CSV cell -> int / float / bool / None / str."""
    if v is None:
        return None
    s = str(v).strip()
    if s == "":
        return None
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("nan", "none", "null", "inf", "-inf"):
        return None if low != "inf" and low != "-inf" else float(low)
    try:
        if s.lstrip("-").isdigit():
            return int(s)
        return float(s)
    except ValueError:
        return s


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: (_num(v) if k not in ("a", "b", "firm", "id", "name", "a_name", "b_name",
                                            "crossings_used", "sector") else (v or ""))
                 for k, v in row.items()} for row in csv.DictReader(fh)]


def _projector(crs: str):
    if CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
        return None
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def project_geojson(fc: Mapping[str, Any], crs: str) -> Layout:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat) -> :class:`Layout` in ``crs`` metres."""
    tr = _projector(crs)

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
        g = shapely.transform(shape(geom), fn)
        feats.append(Feature(str(props.get("layer", "")), g, props))
    return Layout(feats, crs)


def _missing(run_dir: Path, name: str, reason: str = "missing") -> FileReadError:
    return FileReadError([Problem(str(run_dir / name), "",
                                  f"{reason}: {run_dir} is not a run directory",
                                  "run `siteopt run --out DIR` first, or pass a run directory")])


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory. Raises :class:`FileReadError` naming any missing required file."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileReadError([Problem(str(run_dir), "", "not a directory (expected a run directory)")])
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise _missing(run_dir, name, "missing file")
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileReadError([Problem(str(run_dir / "metrics.json"), "", f"not readable JSON: {exc}")]) from exc
    try:
        fc = json.loads((run_dir / "layout.geojson").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileReadError([Problem(str(run_dir / "layout.geojson"), "", f"not readable JSON: {exc}")]) from exc
    if not isinstance(metrics, dict):
        raise FileReadError([Problem(str(run_dir / "metrics.json"), "", "expected a JSON object")])
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        raise FileReadError([Problem(str(run_dir / "layout.geojson"), "type", "expected a FeatureCollection")])
    crs = str(((metrics.get("site") or {}).get("crs")) or "EPSG:27700")
    layout = project_geojson(fc, crs)
    missing = []
    pairs: list[dict[str, Any]] = []
    firms: list[dict[str, Any]] = []
    if (run_dir / "pairs.csv").is_file():
        pairs = _read_csv(run_dir / "pairs.csv")
    else:
        missing.append("pairs.csv")
    if (run_dir / "firms.csv").is_file():
        firms = _read_csv(run_dir / "firms.csv")
    else:
        missing.append("firms.csv")
    return RunData(run_dir, metrics, layout, pairs, firms, tuple(missing))


def _as_layout(layout: Any, metrics: Mapping[str, Any]) -> Layout:
    if isinstance(layout, RunData):
        return layout.layout
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, Mapping) and layout.get("type") == "FeatureCollection":
        crs = str(((metrics.get("site") or {}).get("crs")) or "EPSG:27700")
        return project_geojson(layout, crs)
    raise TypeError(f"expected RunData, Layout or a GeoJSON FeatureCollection, got {type(layout).__name__}")


# --------------------------------------------------------------------------- formatting
def fmt_num(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def fmt_m(v: Any) -> str:
    return "–" if v is None else f"{fmt_num(v)} m"


def fmt_pct(v: Any, digits: int = 1, *, share: bool = False) -> str:
    """Percent; ``share=True`` means ``v`` is a 0-1 share."""
    if v is None:
        return "–"
    try:
        x = float(v) * (100.0 if share else 1.0)
    except (TypeError, ValueError):
        return str(v)
    return f"{x:.{digits}f}%"


def fmt_gbp(v: Any) -> str:
    if v is None:
        return "–"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if abs(x) >= 1e6:
        return f"£{x / 1e6:.2f}m"
    if abs(x) >= 1e3:
        return f"£{x / 1e3:.0f}k"
    return f"£{x:.0f}"


def short_name(name: str, width: int = 18) -> str:
    """Two lines at most, so labels stay short on the plan."""
    name = _strip_parens(name)
    if len(name) <= width + 2:
        return name
    lines = textwrap.wrap(name, width)
    if len(lines) <= 2:
        return "\n".join(lines)
    return lines[0] + "\n" + textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")


def _strip_parens(name: Any) -> str:
    """'AMRC with Boeing (original building, Wallis Way)' -> 'AMRC with Boeing' (labels only)."""
    full = " ".join(str(name).split())
    short = re.sub(r"\s*\([^)]*\)", "", full).strip(" ,;-")
    return short if len(short) >= 4 else full


def _one_line(name: Any, width: int = 22) -> str:
    return textwrap.shorten(_strip_parens(name), width, placeholder="…")


def _nice_type(t: Any) -> str:
    return str(t or "").replace("_", " ")


def placement_tags(metrics: Mapping[str, Any], layout: Layout | None = None) -> dict[str, str]:
    """Short plan labels for placements, by id: F1, F2… (shared facilities), S1… (social
    spaces), X1… (new crossings), numbered in ``metrics.json`` order so the report's tables and
    the plan agree."""
    tags: dict[str, str] = {}
    pl = metrics.get("placements") or {}
    for key, prefix, layer in (("shared_facilities", "F", "facility"), ("social_spaces", "S", "social_space"),
                               ("crossings", "X", "crossing")):
        ids = [str(p.get("id")) for p in (pl.get(key) or []) if isinstance(p, Mapping)]
        if layout is not None:
            ids += [f.id for f in layout.layer(layer) if f.id not in ids]
        for i, pid in enumerate(ids, 1):
            tags.setdefault(pid, f"{prefix}{i}")
    return tags


# --------------------------------------------------------------------------- figure helpers
def _renderer(fig: Figure):
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(fig)
    return canvas.get_renderer()


def new_figure(figsize: tuple[float, float] = PLAN_SIZE, dpi: float = PLAN_DPI) -> Figure:
    fig = Figure(figsize=figsize, dpi=dpi, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    return fig


def default_extent(layout: Layout, pad: float = 0.06) -> tuple[float, float, float, float]:
    """The site's extent (parcels, firms, placements, candidate crossings) plus nearby existing
    crossings and facilities, padded; paths and barriers are clipped to it."""
    b = layout.bounds(EXTENT_LAYERS) or layout.bounds() or (0.0, 0.0, 1000.0, 1000.0)
    x0, y0, x1, y1 = b
    reach = 0.15 * math.hypot(x1 - x0, y1 - y0)
    core = shapely.box(x0, y0, x1, y1)
    for f in layout.layer(*NEARBY_LAYERS):
        if f.geometry.is_empty or f.geometry.distance(core) > reach:
            continue
        gx0, gy0, gx1, gy1 = f.geometry.bounds
        x0, y0, x1, y1 = min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1)
    w, h = max(x1 - x0, 50.0), max(y1 - y0, 50.0)
    return (x0 - pad * w, y0 - pad * h, x1 + pad * w, y1 + pad * h)


def union_extent(extents: Iterable[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    ex = list(extents)
    return (min(e[0] for e in ex), min(e[1] for e in ex), max(e[2] for e in ex), max(e[3] for e in ex))


def _fit_extent(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """Set equal-aspect limits covering ``extent`` and freeze the data->display transform."""
    x0, y0, x1, y1 = extent
    bb = ax.get_position()
    fw, fh = ax.figure.get_size_inches()
    box_ratio = (bb.height * fh) / max(bb.width * fw, 1e-9)
    w, h = x1 - x0, y1 - y0
    if h / w < box_ratio:  # too wide: grow height
        nh = w * box_ratio
        y0, y1 = y0 - (nh - h) / 2, y1 + (nh - h) / 2
    else:
        nw = h / box_ratio
        x0, x1 = x0 - (nw - w) / 2, x1 + (nw - w) / 2
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.apply_aspect()
    ax.set_autoscale_on(False)


def _poly_path(geom: BaseGeometry) -> MplPath | None:
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    verts, codes = [], []
    for p in polys:
        if p.geom_type != "Polygon" or p.is_empty:
            continue
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _lines(geom: BaseGeometry) -> list[np.ndarray]:
    if geom.geom_type == "LineString":
        return [np.asarray(geom.coords)]
    if geom.geom_type in ("MultiLineString", "GeometryCollection"):
        return [np.asarray(g.coords) for g in geom.geoms if g.geom_type == "LineString"]
    return []


def _point(geom: BaseGeometry) -> tuple[float, float]:
    if geom.geom_type == "Point":
        return float(geom.x), float(geom.y)
    c = geom.centroid if geom.geom_type != "LineString" else geom.interpolate(0.5, normalized=True)
    return float(c.x), float(c.y)


# --------------------------------------------------------------------------- label placement
_DIRS = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]


def _ha_va(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
    va = "bottom" if dy > 0 else ("top" if dy < 0 else "center")
    return ha, va


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


@dataclass
class _LabelRequest:
    text: str
    xy: tuple[float, float]
    radius_pt: float
    kwargs: dict[str, Any]
    gid: str | None
    priority: int = 2


class Labeler:
    """Greedy label placement: try 8 directions (then farther rings) around each anchor and
    keep the first position whose text box overlaps no placement symbol, no other label and
    stays inside the axes; otherwise the least-overlapping one (with a leader line).

    Obstacles are display-space boxes; *hard* ones (placement symbols, scale bar, north arrow,
    placed labels) must not be covered, *soft* ones (firm circles) are avoided where possible.
    """

    def __init__(self, ax: Axes):
        self.ax = ax
        self.hard: list[Bbox] = []
        self.soft: list[Bbox] = []
        self.requests: list[_LabelRequest] = []
        self.placed: list[Any] = []
        self.symbol_boxes: dict[str, Bbox] = {}

    def marker_box(self, xy: tuple[float, float], radius_pt: float) -> Bbox:
        fig = self.ax.figure
        px = radius_pt * fig.dpi / 72.0
        x, y = self.ax.transData.transform(xy)
        return Bbox.from_extents(x - px, y - px, x + px, y + px)

    def add_symbol(self, xy: tuple[float, float], radius_pt: float, *, hard: bool = True,
                   name: str | None = None) -> None:
        box = self.marker_box(xy, radius_pt)
        (self.hard if hard else self.soft).append(box)
        if name:
            self.symbol_boxes[name] = box

    def add_box(self, box: Bbox, *, hard: bool = True) -> None:
        (self.hard if hard else self.soft).append(box)

    def request(self, text: str, xy: tuple[float, float], radius_pt: float, gid: str | None = None,
                priority: int = 2, **kwargs: Any) -> None:
        """Queue a label; lower ``priority`` is placed first (gets the best spot)."""
        self.requests.append(_LabelRequest(text, xy, radius_pt, kwargs, gid, priority))

    def place(self) -> list[Any]:
        ax = self.ax
        fig = ax.figure
        renderer = _renderer(fig)
        axbox = ax.get_window_extent(renderer)
        pad = 2.0 * fig.dpi / 72.0
        for req in sorted(self.requests, key=lambda r: r.priority):
            ax_px, ay_px = ax.transData.transform(req.xy)
            if not axbox.contains(ax_px, ay_px):  # anchor off the map: no label
                continue
            best = None
            own = self.marker_box(req.xy, req.radius_pt)
            for ring in (1.0, 1.9, 3.0, 4.4):
                for dx, dy in _DIRS:
                    norm = math.hypot(dx, dy)
                    off = (req.radius_pt * ring + 2.5 * ring)
                    ox, oy = dx / norm * off, dy / norm * off
                    ha, va = _ha_va(dx, dy)
                    ann = ax.annotate(req.text, xy=req.xy, xytext=(ox, oy), textcoords="offset points",
                                      ha=ha, va=va, annotation_clip=False, **req.kwargs)
                    bb = ann.get_window_extent(renderer).expanded(1.0, 1.0)
                    bb = Bbox.from_extents(bb.x0 - pad, bb.y0 - pad, bb.x1 + pad, bb.y1 + pad)
                    out = 0.0
                    if bb.x0 < axbox.x0 or bb.x1 > axbox.x1 or bb.y0 < axbox.y0 or bb.y1 > axbox.y1:
                        out = bb.width * bb.height
                    hard = sum(_overlap(bb, o) for o in self.hard) + _overlap(bb, own) + out * 10
                    soft = sum(_overlap(bb, o) for o in self.soft)
                    score = (hard > 0, hard, ring, soft)
                    if best is None or score < best[0]:
                        if best is not None:
                            best[1].remove()
                        best = (score, ann, bb, ring, (ox, oy))
                    else:
                        ann.remove()
                    if hard == 0 and soft == 0:
                        break
                if best is not None and best[0][0] is False and (best[0][3] == 0 or ring >= 1.9):
                    break
            assert best is not None
            _, ann, bb, ring, _ = best
            if ring > 1.5:
                ann.arrow_patch = None
                ann.remove()
                kw = dict(req.kwargs)
                ann = ax.annotate(req.text, xy=req.xy, xytext=best[4], textcoords="offset points",
                                  ha=ann.get_ha(), va=ann.get_va(), annotation_clip=False,
                                  arrowprops=dict(arrowstyle="-", color="#666666", lw=0.6,
                                                  shrinkA=0, shrinkB=req.radius_pt * 0.9), **kw)
            if req.gid:
                ann.set_gid(req.gid)
            self.hard.append(bb)
            self.placed.append(ann)
        return self.placed


# --------------------------------------------------------------------------- map furniture
def _nice_length(span: float) -> float:
    target = span / 5.0
    for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if v >= target * 0.8:
            return float(v)
    return 10000.0


def draw_scale_bar(ax: Axes, labeler: Labeler | None = None) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    L = _nice_length(x1 - x0)
    bx = x0 + 0.03 * (x1 - x0)
    by = y0 + 0.04 * (y1 - y0)
    h = 0.010 * (y1 - y0)
    ax.add_patch(Rectangle((bx - 0.012 * (x1 - x0), by - 0.022 * (y1 - y0)), L + 0.045 * (x1 - x0),
                           0.07 * (y1 - y0), fc="white", ec="#bbbbbb", lw=0.6, alpha=0.9, zorder=30))
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * L / 4, by), L / 4, h, fc="black" if i % 2 == 0 else "white",
                               ec="black", lw=0.6, zorder=31))
    kw = dict(fontsize=7, zorder=32, va="bottom")
    ax.text(bx, by + 1.4 * h, "0", ha="center", **kw)
    ax.text(bx + L / 2, by + 1.4 * h, f"{L / 2:g}", ha="center", **kw)
    ax.text(bx + L, by + 1.4 * h, f"{L:g} m", ha="center", **kw)
    if labeler is not None:
        a = ax.transData.transform((bx - 0.012 * (x1 - x0), by - 0.022 * (y1 - y0)))
        b = ax.transData.transform((bx + L + 0.033 * (x1 - x0), by + 0.048 * (y1 - y0)))
        labeler.add_box(Bbox.from_extents(a[0], a[1], b[0], b[1]))


def draw_north_arrow(ax: Axes, labeler: Labeler | None = None) -> None:
    ax.annotate("N", xy=(0.965, 0.955), xytext=(0.965, 0.875), xycoords="axes fraction",
                textcoords="axes fraction", ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", fc="black", lw=1.2, mutation_scale=14), zorder=32,
                bbox=dict(boxstyle="circle,pad=0.25", fc="white", ec="#bbbbbb", lw=0.6))
    if labeler is not None:
        t = ax.transAxes
        a, b = t.transform((0.94, 0.84)), t.transform((0.99, 0.99))
        labeler.add_box(Bbox.from_extents(a[0], a[1], b[0], b[1]))


def _note_illustrative(ax: Axes, metrics: Mapping[str, Any], labeler: Labeler | None = None) -> None:
    site = metrics.get("site") or {}
    if not site.get("illustrative"):
        return
    t = ax.text(0.99, 0.012, "Illustrative layout, not surveyed: positions are approximate",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, style="italic",
                color="#444444", zorder=32, bbox=dict(fc="white", ec="none", alpha=0.85, pad=1.5))
    t.set_gid("illustrative-note")
    if labeler is not None:
        labeler.add_box(t.get_window_extent(_renderer(ax.figure)))


def plan_title(metrics: Mapping[str, Any]) -> tuple[str, str]:
    sc = metrics.get("scenario") or {}
    site = metrics.get("site") or {}
    walk = metrics.get("walk") or {}
    cost = metrics.get("cost") or {}
    name = str(sc.get("name") or sc.get("id") or "Scenario")
    site_name = site.get("name")
    head = f"{name}" + (f" — {site_name}" if site_name else "")
    if len(head) > 100:
        head = textwrap.shorten(f"{name} — {_strip_parens(site_name)}", 100, placeholder="…")
    red = walk.get("reduction_pct")
    gap = metrics.get("gap")
    bits = [f"Weighted mean walk {fmt_m(walk.get('baseline_weighted_mean_m'))} → "
            f"{fmt_m(walk.get('optimised_weighted_mean_m'))}"
            + _reduction_text(red),
            f"capital {fmt_gbp(cost.get('capital'))}"
            + (f" of {fmt_gbp(cost.get('budget'))}" if cost.get("budget") is not None else ""),
            f"gap {fmt_pct(gap, 1, share=True) if isinstance(gap, (int, float)) else '–'}"
            f" ({metrics.get('status', '?')})"]
    if (metrics.get("verification") or {}).get("passed") is False:
        bits.append("VERIFICATION FAILED")
    return head, " · ".join(bits)


# --------------------------------------------------------------------------- plan
def _draw_base(ax: Axes, layout: Layout, *, faint: bool = False) -> list[Any]:
    """Parcels, barriers and paths. Returns legend handles."""
    handles: list[Any] = []
    seen: set[str] = set()
    alpha = 0.55 if faint else 1.0
    for f in layout.layer("parcel"):
        st = PARCEL_STYLE.get(str(f.props.get("status")), PARCEL_OTHER)
        path = _poly_path(f.geometry)
        if path is None:
            continue
        patch = PathPatch(path, fc=st["fc"], ec=st["ec"], lw=0.7, hatch=st["hatch"], alpha=alpha, zorder=1)
        if st["hatch"]:
            patch.set_hatch_linewidth(0.4) if hasattr(patch, "set_hatch_linewidth") else None
        ax.add_patch(patch)
        if st["label"] not in seen:
            seen.add(st["label"])
            handles.append(Patch(fc=st["fc"], ec=st["ec"], hatch=st["hatch"], label=st["label"]))

    for f in layout.layer("barrier"):
        kind = str(f.props.get("kind", ""))
        width = float(f.props.get("width_m") or (30.0 if kind == "carriageway" else 20.0))
        active = f.props.get("active", True) not in (False, "false", 0)
        band = f.geometry.buffer(width / 2.0, cap_style="flat")
        path = _poly_path(band)
        name = str(f.props.get("name") or f.props.get("id") or kind)
        if path is None:
            continue
        if kind == "carriageway":
            ax.add_patch(PathPatch(path, fc=CARRIAGEWAY_FC, ec="#3d4650", lw=0.6,
                                   alpha=(0.85 if active else 0.25) * alpha, zorder=3,
                                   ls="-" if active else "--"))
            for xy in _lines(f.geometry):
                ax.plot(xy[:, 0], xy[:, 1], color="white", lw=0.7, ls=(0, (6, 6)), zorder=3.1, alpha=0.9)
            lab = "Dual carriageway (barrier)" if active else "Carriageway (inactive)"
            if lab not in seen:
                seen.add(lab)
                handles.append(Patch(fc=CARRIAGEWAY_FC, ec="#3d4650", alpha=0.85 if active else 0.25, label=lab))
        else:
            if active:
                ax.add_patch(PathPatch(path, fc="#f3dfcf", ec=RAIL_EC, lw=0.9, hatch="///", alpha=0.55 * alpha,
                                       zorder=2.5))
                for xy in _lines(f.geometry):
                    ax.plot(xy[:, 0], xy[:, 1], color=RAIL_EC, lw=1.2, ls="-.", zorder=2.6, alpha=0.9)
                lab = "Rail corridor (no-build)"
                if lab not in seen:
                    seen.add(lab)
                    handles.append(Patch(fc="#f3dfcf", ec=RAIL_EC, hatch="///", alpha=0.7, label=lab))
            else:
                ax.add_patch(PathPatch(path, fc="none", ec=RAIL_EC, lw=0.7, ls=(0, (4, 4)), alpha=0.35, zorder=2.5))
                lab = "Rail corridor (inactive)"
                if lab not in seen:
                    seen.add(lab)
                    handles.append(Patch(fc="none", ec=RAIL_EC, ls="--", alpha=0.5, label=lab))
        f.props.setdefault("_label", _one_line(name, 44) + ("" if active else " (inactive)"))

    xs: list[np.ndarray] = []
    for f in layout.layer("path"):
        for xy in _lines(f.geometry):
            xs.append(xy)
    if xs:
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(xs, colors=PATH_C, linewidths=0.8, alpha=0.8 * alpha, zorder=4,
                                         capstyle="round"))
        handles.append(Line2D([], [], color=PATH_C, lw=0.8, label="Footpath / footway"))
    return handles


def _barrier_labels(ax: Axes, layout: Layout, labeler: Labeler) -> None:
    """Name each barrier along its line, at a spot clear of placement symbols."""
    renderer = _renderer(ax.figure)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = shapely.box(x0, y0, x1, y1)
    for f in layout.layer("barrier"):
        name = f.props.get("_label")
        vis = f.geometry.intersection(view.buffer(-0.04 * (x1 - x0)))
        lines = [ln for ln in _lines(vis)] if not vis.is_empty else []
        if not name or not lines:
            continue
        geom = shapely.LineString(max(lines, key=lambda a: len(a)))
        kind = f.props.get("kind")
        best = None
        for frac in (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6):
            p = geom.interpolate(frac, normalized=True)
            q = geom.interpolate(min(frac + 0.01, 1.0), normalized=True)
            a, b = ax.transData.transform([(p.x, p.y), (q.x, q.y)])
            ang = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
            if ang > 90:
                ang -= 180
            elif ang < -90:
                ang += 180
            t = ax.text(p.x, p.y, name, rotation=ang, rotation_mode="anchor", ha="center", va="center",
                        fontsize=7.5, color="white" if kind == "carriageway" else RAIL_EC,
                        fontweight="bold", zorder=20, style="italic")
            if kind != "carriageway":
                t.set_path_effects(HALO)
            bb = t.get_window_extent(renderer)
            axbox = ax.get_window_extent(renderer)
            inside = Bbox.intersection(bb, axbox)
            outside = bb.width * bb.height - (inside.width * inside.height if inside is not None else 0.0)
            score = sum(_overlap(bb, o) for o in labeler.hard) + 10 * max(outside, 0.0)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, t, bb, outside)
            else:
                t.remove()
            if score == 0:
                break
        if best is not None and best[3] > 1.0:  # does not fit inside the map: the legend names it
            best[1].remove()
        elif best is not None:
            best[1].set_gid(f"barrier-label-{f.id}")
            labeler.add_box(best[2])


def _haloed_line(ax, xy: np.ndarray, color: str, lw: float, halo_lw: float, zorder: float, gid: str) -> None:
    """A line drawn over a white halo (so it reads on any background), with an SVG id."""
    ax.plot(xy[:, 0], xy[:, 1], color="white", lw=halo_lw, zorder=zorder, solid_capstyle="butt")
    ax.plot(xy[:, 0], xy[:, 1], color=color, lw=lw, zorder=zorder + 0.1, solid_capstyle="butt")[0].set_gid(gid)


def _map_axes(ax, layout, metrics: dict, extent) -> tuple[Layout, Labeler, dict]:
    """Common set-up of a map panel: background, extent, no ticks, light frame; returns the
    layout in metres, a label placer and the placement tags (F1, S1, X1 ...)."""
    lay = _as_layout(layout, metrics)
    ax.set_facecolor("#fbfbf8")
    _fit_extent(ax, extent or default_extent(lay))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#999999")
        spine.set_linewidth(0.6)
    return lay, Labeler(ax), placement_tags(metrics, lay)


def draw_plan(ax: Axes, layout: Any, metrics: Mapping[str, Any], *,
              extent: tuple[float, float, float, float] | None = None, title: bool = True,
              legend: bool = True, style: PlanStyle | None = None, routes: bool = True,
              gid_prefix: str = "") -> Figure:
    """Draw the optimised plan on ``ax`` and return its figure.

    ``layout`` is a :class:`RunData`, a :class:`Layout` or the raw GeoJSON FeatureCollection
    (WGS84, reprojected to ``metrics["site"]["crs"]``). ``extent`` is (xmin, ymin, xmax, ymax)
    in metres; ``style`` fixes scales shared between panels. Placement artists get SVG ids
    ``{gid_prefix}facility-<id>``, ``social-<id>``, ``crossing-<id>``.
    """
    style = style or PlanStyle()
    lay, labeler, tags = _map_axes(ax, layout, metrics, extent)
    fig = ax.figure
    handles = _draw_base(ax, lay)

    # candidate crossings (not chosen): faint options
    if style.show_candidates:
        cands = [f for f in lay.layer("candidate_crossing") if not f.props.get("chosen")]
        for f in cands:
            for xy in _lines(f.geometry):
                ax.plot(xy[:, 0], xy[:, 1], color=CROSSING_C, lw=1.2, ls=(0, (1.5, 1.5)), alpha=0.45, zorder=5)
        if cands:
            handles.append(Line2D([], [], color=CROSSING_C, lw=1.2, ls=(0, (1.5, 1.5)), alpha=0.6,
                                  label="Candidate crossing (not chosen)"))

    # routes before/after for the most improved pairs
    route_notes: list[str] = []
    if routes:
        after = lay.layer("route_after")
        before = {f.props.get("pair"): f for f in lay.layer("route_before")}
        after.sort(key=lambda f: (float((before.get(f.props.get("pair")) or f).props.get("walk_m") or 0)
                                  - float(f.props.get("walk_m") or 0)) * float(f.props.get("weight") or 1),
                   reverse=True)
        after = after[: style.max_routes]
        firm_names = {f.id: str(f.props.get("name") or f.id) for f in lay.layer("firm")}
        tag_boxes: list[Bbox] = []
        for i, fa in enumerate(after, 1):
            fb = before.get(fa.props.get("pair"))
            if fb is not None:
                for xy in _lines(fb.geometry):
                    ax.plot(xy[:, 0], xy[:, 1], color=ROUTE_BEFORE_C, lw=1.5, ls=(0, (5, 3)), alpha=0.85,
                            zorder=7, solid_capstyle="round")[0].set_gid(f"{gid_prefix}route-before-{i}")
            for xy in _lines(fa.geometry):
                ax.plot(xy[:, 0], xy[:, 1], color=ROUTE_AFTER_C, lw=2.2, alpha=0.85, zorder=8,
                        solid_capstyle="round")[0].set_gid(f"{gid_prefix}route-after-{i}")
            a, b = fa.props.get("a"), fa.props.get("b")
            wb = fb.props.get("walk_m") if fb is not None else None
            route_notes.append(f"{i}  {_one_line(firm_names.get(a, a))} ↔ {_one_line(firm_names.get(b, b))}\n"
                               f"    {fmt_m(wb)} → {fmt_m(fa.props.get('walk_m'))}")
            # route number tag on the after-route, at a spot clear of the other tags
            mid = None
            for frac in (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85, 0.42, 0.58):
                cand = fa.geometry.interpolate(frac, normalized=True)
                box = labeler.marker_box((cand.x, cand.y), 5.5)
                if not any(_overlap(box, t) > 0 for t in tag_boxes):
                    mid = cand
                    break
            mid = mid or fa.geometry.interpolate(0.5, normalized=True)
            ax.text(mid.x, mid.y, str(i), ha="center", va="center", fontsize=6.5, color="white",
                    fontweight="bold", zorder=9,
                    bbox=dict(boxstyle="circle,pad=0.2", fc=ROUTE_AFTER_C, ec="white", lw=0.6))
            tag_boxes.append(labeler.marker_box((mid.x, mid.y), 5.5))
            labeler.add_symbol((mid.x, mid.y), 5.5, hard=True)
        if after:
            handles.append(Line2D([], [], color=ROUTE_BEFORE_C, lw=1.5, ls=(0, (5, 3)), label="Route before"))
            handles.append(Line2D([], [], color=ROUTE_AFTER_C, lw=2.2, label="Route after (most improved)"))

    # facility footprints (when the run writes them)
    for f in lay.layer("facility_footprint"):
        path = _poly_path(f.geometry)
        if path is not None:
            ax.add_patch(PathPatch(path, fc=FACILITY_C, ec="#a0522d", lw=0.8, alpha=0.35, zorder=6))

    # social-space coverage circles (faint, under everything else)
    socials = lay.layer("social_space")
    for f in socials:
        r = f.props.get("coverage_radius_m")
        if r:
            x, y = _point(f.geometry)
            c = Circle((x, y), float(r), fc=SOCIAL_C, ec=SOCIAL_C, alpha=0.07, lw=0, zorder=2)
            ax.add_patch(c)
            ax.add_patch(Circle((x, y), float(r), fc="none", ec=SOCIAL_C, alpha=0.5, lw=0.8,
                                ls=(0, (4, 3)), zorder=2))
    if any(f.props.get("coverage_radius_m") for f in socials):
        r0 = next(float(f.props["coverage_radius_m"]) for f in socials if f.props.get("coverage_radius_m"))
        handles.append(Patch(fc=(0.56, 0.27, 0.68, 0.10), ec=SOCIAL_C, ls="--", label=f"{r0:g} m coverage"))

    # firms
    firms = lay.layer("firm")
    emp_max = max([float(f.props.get("employees") or 0) for f in firms] or [1.0])
    for f in firms:
        x, y = _point(f.geometry)
        r = style.firm_radius_pt(float(f.props.get("employees") or 0), emp_max)
        fixed = bool(f.props.get("fixed"))
        ln = ax.plot([x], [y], marker="o", ms=2 * r, mfc=FIRM_C, mec="#f2c14e" if fixed else "white",
                     mew=1.6 if fixed else 0.8, alpha=0.9, ls="none", zorder=10)[0]
        ln.set_gid(f"{gid_prefix}firm-{f.id}")
        labeler.add_symbol((x, y), r, hard=False)
    # existing facilities and crossings
    for f in lay.layer("existing_facility"):
        x, y = _point(f.geometry)
        ax.plot([x], [y], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", mew=0.7, ls="none", zorder=11)
        labeler.add_symbol((x, y), 4.5, hard=False)
        labeler.request(short_name(_nice_type(f.props.get("type") or f.props.get("name") or "facility"), 16)
                        + " (existing)", (x, y), 4.5, priority=3, fontsize=style.label_fontsize - 0.5, color="#5d6d6e",
                        zorder=23, path_effects=HALO, style="italic")
    if lay.layer("existing_facility"):
        handles.append(Line2D([], [], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", ls="none",
                              label="Existing facility"))
    ex_cross = lay.layer("existing_crossing")
    for f in ex_cross:
        for xy in _lines(f.geometry):
            _haloed_line(ax, xy, EXISTING_CROSSING_C, 3.0, 4.8, 12, f"{gid_prefix}existing-crossing-{f.id}")
        x, y = _point(f.geometry)
        labeler.add_symbol((x, y), 5.0, hard=True)
        labeler.request(short_name(str(f.props.get("name") or f.id), 16), (x, y), 5.0, priority=1,
                        fontsize=style.label_fontsize - 0.5, color="#111111", zorder=25, path_effects=HALO,
                        style="italic")
    if ex_cross:
        handles.append(Line2D([], [], color=EXISTING_CROSSING_C, lw=3.0, label="Existing crossing / junction"))

    # chosen crossings
    crossings = lay.layer("crossing")
    for f in crossings:
        for xy in _lines(f.geometry):
            _haloed_line(ax, xy, CROSSING_C, 4.0, 6.0, 13, f"{gid_prefix}crossing-{f.id}-line")
        x, y = _point(f.geometry)
        ln = ax.plot([x], [y], marker="D", ms=9, mfc=CROSSING_C, mec="white", mew=1.2, ls="none", zorder=14)[0]
        ln.set_gid(f"{gid_prefix}crossing-{f.id}")
        labeler.add_symbol((x, y), 6.0, hard=True, name=f"crossing-{f.id}")
        labeler.request(f"{tags.get(f.id, f.id)} {_nice_type(f.props.get('type'))} crossing\n"
                        f"{fmt_gbp(f.props.get('cost_gbp'))}",
                        (x, y), 6.0, gid=f"{gid_prefix}label-crossing-{f.id}", priority=0,
                        fontsize=style.placement_fontsize, color=CROSSING_C, fontweight="bold", zorder=26,
                        path_effects=HALO)
    if crossings:
        handles.append(Line2D([], [], color=CROSSING_C, lw=4.0, marker="D", ms=7, mfc=CROSSING_C, mec="white",
                              label="New crossing (chosen)"))

    # chosen social spaces and facilities
    for f in socials:
        x, y = _point(f.geometry)
        ln = ax.plot([x], [y], marker="h", ms=15, mfc=SOCIAL_C, mec="white", mew=1.3, ls="none", zorder=15)[0]
        ln.set_gid(f"{gid_prefix}social-{f.id}")
        labeler.add_symbol((x, y), 8.0, hard=True, name=f"social-{f.id}")
        labeler.request(f"{tags.get(f.id, f.id)} social space\n{fmt_gbp(f.props.get('cost_gbp'))}", (x, y), 8.0,
                        gid=f"{gid_prefix}label-social-{f.id}", priority=0, fontsize=style.placement_fontsize,
                        color=SOCIAL_C, fontweight="bold", zorder=26, path_effects=HALO)
    if socials:
        handles.append(Line2D([], [], marker="h", ms=12, mfc=SOCIAL_C, mec="white", ls="none",
                              label="New social space"))
    facilities = lay.layer("facility")
    for f in facilities:
        x, y = _point(f.geometry)
        ln = ax.plot([x], [y], marker="*", ms=21, mfc=FACILITY_C, mec="#5a3a00", mew=0.9, ls="none", zorder=16)[0]
        ln.set_gid(f"{gid_prefix}facility-{f.id}")
        labeler.add_symbol((x, y), 9.5, hard=True, name=f"facility-{f.id}")
        labeler.request(f"{tags.get(f.id, f.id)} {_nice_type(f.props.get('type')) or 'facility'}\n"
                        f"{fmt_gbp(f.props.get('cost_gbp'))}", (x, y), 9.5,
                        gid=f"{gid_prefix}label-facility-{f.id}", priority=0, fontsize=style.placement_fontsize,
                        color="#a0522d", fontweight="bold", zorder=26, path_effects=HALO)
    if facilities:
        handles.append(Line2D([], [], marker="*", ms=15, mfc=FACILITY_C, mec="#5a3a00", ls="none",
                              label="New shared facility"))

    # firm labels after placements, biggest first
    for f in sorted(firms, key=lambda f: -float(f.props.get("employees") or 0)) if style.firm_labels else []:
        x, y = _point(f.geometry)
        r = style.firm_radius_pt(float(f.props.get("employees") or 0), emp_max)
        labeler.request(short_name(str(f.props.get("name") or f.id)), (x, y), r,
                        gid=f"{gid_prefix}label-firm-{f.id}", fontsize=style.label_fontsize, color="#1b2631",
                        zorder=24, path_effects=HALO, linespacing=0.95)
    if firms:
        for emp in _size_keys(style.employees_max or emp_max):
            r = style.firm_radius_pt(emp, emp_max)
            handles.append(Line2D([], [], marker="o", ms=2 * r, mfc=FIRM_C, mec="white", ls="none",
                                  alpha=0.9, label=f"Firm, {emp:,.0f} employees"))
        if any(f.props.get("fixed") for f in firms):
            handles.append(Line2D([], [], marker="o", ms=9, mfc=FIRM_C, mec="#f2c14e", mew=1.6, ls="none",
                                  label="Fixed building"))

    draw_scale_bar(ax, labeler)
    draw_north_arrow(ax, labeler)
    _note_illustrative(ax, metrics, labeler)
    _barrier_labels(ax, lay, labeler)
    labeler.place()
    ax._siteopt_labeler = labeler  # type: ignore[attr-defined]  # kept for tests / callers
    ax._siteopt_handles = handles  # type: ignore[attr-defined]  # compare builds one shared legend

    if title:
        head, sub = plan_title(metrics)
        ax.set_title(f"{head}\n{sub}", loc="left", fontsize=11, pad=8, linespacing=1.5)
    if legend:
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.015, 1.0), fontsize=8,
                        frameon=False, borderaxespad=0.0, labelspacing=0.9, handlelength=2.2)
        leg.set_gid("legend")
        if route_notes:
            ax.text(1.015, 0.0, "Most improved pairs\n" + "\n".join(route_notes), transform=ax.transAxes,
                    ha="left", va="bottom", fontsize=7.5, linespacing=1.45, color="#222222",
                    wrap=False).set_gid("route-notes")
    return fig


def _reduction_text(red: Any) -> str:
    """' (−5.0%)' for a 5% reduction, ' (+2.0%)' for an increase, ' (no change)' near 0."""
    if not isinstance(red, (int, float)) or not math.isfinite(red):
        return ""
    if abs(red) < 0.05:
        return " (no change)"
    return f" (−{red:.1f}%)" if red > 0 else f" (+{-red:.1f}%)"


def _size_keys(emp_max: float) -> list[float]:
    emp_max = max(float(emp_max), 1.0)
    mag = 10 ** math.floor(math.log10(emp_max))
    top = math.floor(emp_max / mag) * mag
    keys = sorted({max(round(top / 10 / mag * 10) * mag / 10, 1.0), top / 2, top}) if top >= 10 else [top]
    keys = [k for k in keys if k > 0]
    return sorted(set(float(round(k)) for k in keys))


# --------------------------------------------------------------------------- distance map
def firm_change_values(run: Any, metrics: Mapping[str, Any], kind: str = "change") -> dict[str, float]:
    """Per-firm values for the distance map.

    ``change``: after - before walk to the nearest shared facility (m, from ``facility_walk``);
    ``after``: walk to the nearest shared facility after; ``pairs``: change in the firm's
    weighted mean walk to the other firms (needs ``pairs.csv``).
    """
    lay = _as_layout(run, metrics)
    vals: dict[str, float] = {}
    if kind in ("change", "after", "before"):
        # several facility types per firm: the nearest shared facility of any type
        before: dict[str, float] = {}
        after: dict[str, float] = {}
        for f in lay.layer("facility_walk"):
            key = str(f.props.get("firm", f.props.get("id", "")))
            for src, dst in (("before_m", before), ("after_m", after)):
                v = f.props.get(src)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    dst[key] = min(dst.get(key, math.inf), float(v))
        if kind == "change":
            vals = {k: after[k] - before[k] for k in after if k in before}
        else:
            vals = dict(after if kind == "after" else before)
        if not vals and isinstance(run, RunData):
            col = {"change": None, "after": "facility_walk_after_m", "before": "facility_walk_before_m"}[kind]
            for r in run.firms:
                b, a = r.get("facility_walk_before_m"), r.get("facility_walk_after_m")
                if col is None and isinstance(a, (int, float)) and isinstance(b, (int, float)):
                    vals[str(r["firm"])] = float(a) - float(b)
                elif col and isinstance(r.get(col), (int, float)):
                    vals[str(r["firm"])] = float(r[col])
    elif kind == "pairs":
        if not isinstance(run, RunData):
            raise ValueError("kind='pairs' needs a RunData (pairs.csv)")
        num: dict[str, float] = {}
        den: dict[str, float] = {}
        for r in run.pairs:
            w = float(r.get("weight") or 0.0)
            ch = r.get("change_m")
            if ch is None and isinstance(r.get("after_m"), (int, float)) and isinstance(r.get("before_m"), (int, float)):
                ch = float(r["after_m"]) - float(r["before_m"])
            if not isinstance(ch, (int, float)) or w <= 0:
                continue
            for k in (str(r["a"]), str(r["b"])):
                num[k] = num.get(k, 0.0) + w * float(ch)
                den[k] = den.get(k, 0.0) + w
        vals = {k: num[k] / den[k] for k in num if den[k] > 0}
    else:
        raise ValueError(f"unknown distance-map kind {kind!r}: use change, after, before or pairs")
    return vals


DISTANCE_LABELS = {
    "change": "Change in walk to the nearest shared facility (m)",
    "after": "Walk to the nearest shared facility after (m)",
    "before": "Walk to the nearest shared facility before (m)",
    "pairs": "Change in weighted mean walk to the other firms (m)",
}
DISTANCE_SUBTITLES = {
    "change": "Each firm coloured by after − before: blue is shorter, red longer.",
    "pairs": "Each firm coloured by after − before, weighted by interaction: blue is shorter, red longer.",
    "after": "Each firm coloured by its walk after optimisation.",
    "before": "Each firm coloured by its walk before optimisation.",
}


def distance_limits(values: Iterable[float], kind: str = "change") -> tuple[float, float]:
    v = [x for x in values if x is not None and math.isfinite(x)]
    if kind in ("change", "pairs"):
        m = max([abs(x) for x in v] or [1.0])
        m = max(m, 1.0)
        return (-m, m)
    return (0.0, max(v or [1.0]))


def draw_distance_map(ax: Axes, layout: Any, metrics: Mapping[str, Any], *, kind: str = "change",
                      extent: tuple[float, float, float, float] | None = None,
                      vlim: tuple[float, float] | None = None, style: PlanStyle | None = None,
                      title: bool = True, colorbar: bool = True, gid_prefix: str = "") -> Figure:
    """A second plan: each firm coloured by its change in walking distance.

    ``kind`` is ``change`` (walk to the nearest shared facility, after - before), ``after``,
    ``before`` or ``pairs`` (weighted mean walk to the other firms; needs a :class:`RunData`).
    Diverging colormap centred on 0 for changes; ``vlim`` fixes the colour limits (compare).
    """
    style = style or PlanStyle()
    lay, labeler, tags = _map_axes(ax, layout, metrics, extent)
    fig = ax.figure
    _draw_base(ax, lay, faint=True)
    vals = firm_change_values(layout, metrics, kind)
    diverging = kind in ("change", "pairs")
    lo, hi = vlim or distance_limits(vals.values(), kind)
    if diverging:
        lo, hi = min(lo, -1e-6), max(hi, 1e-6)
        norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)
        cmap = matplotlib.colormaps["RdBu_r"]
    else:
        norm = Normalize(vmin=lo, vmax=max(hi, lo + 1e-6))
        cmap = matplotlib.colormaps["viridis_r"]

    for f in lay.layer("crossing"):
        for xy in _lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=CROSSING_C, lw=3.5, zorder=13, solid_capstyle="butt")
        labeler.add_symbol(_point(f.geometry), 4.0)
    for f in lay.layer("existing_crossing"):
        for xy in _lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=EXISTING_CROSSING_C, lw=2.5, zorder=12, solid_capstyle="butt")
    handles: list[Any] = []
    for f in lay.layer("facility"):
        x, y = _point(f.geometry)
        ax.plot([x], [y], marker="*", ms=17, mfc=FACILITY_C, mec="#5a3a00", mew=0.8, ls="none",
                zorder=16)[0].set_gid(f"{gid_prefix}dist-facility-{f.id}")
        labeler.add_symbol((x, y), 8.0)
        labeler.request(f"{tags.get(f.id, f.id)} {_nice_type(f.props.get('type')) or 'facility'}", (x, y), 8.0,
                        priority=0,
                        fontsize=style.label_fontsize, color="#a0522d", fontweight="bold", zorder=26,
                        path_effects=HALO)
    if lay.layer("facility"):
        handles.append(Line2D([], [], marker="*", ms=12, mfc=FACILITY_C, mec="#5a3a00", ls="none",
                              label="New shared facility"))
    for f in lay.layer("existing_facility"):
        x, y = _point(f.geometry)
        ax.plot([x], [y], marker="P", ms=7, mfc=EXISTING_FACILITY_C, mec="white", ls="none", zorder=11)
        labeler.add_symbol((x, y), 4.0)
        labeler.request(_one_line(_nice_type(f.props.get("type") or "facility"), 14) + " (existing)", (x, y), 4.0,
                        priority=1, fontsize=style.label_fontsize - 0.5, color="#5d6d6e", zorder=23,
                        path_effects=HALO, style="italic")
    if lay.layer("existing_facility"):
        handles.append(Line2D([], [], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", ls="none",
                              label="Existing facility"))
    if lay.layer("crossing"):
        handles.append(Line2D([], [], color=CROSSING_C, lw=3.5, label="New crossing"))
    if lay.layer("existing_crossing"):
        handles.append(Line2D([], [], color=EXISTING_CROSSING_C, lw=2.5, label="Existing crossing"))
    handles.append(Line2D([], [], marker="o", ms=9, mfc="#cccccc", mec="#333333", ls="none",
                          label="Firm (no value)"))

    firms = lay.layer("firm")
    emp_max = max([float(f.props.get("employees") or 0) for f in firms] or [1.0])
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    for f in firms:
        x, y = _point(f.geometry)
        r = style.firm_radius_pt(float(f.props.get("employees") or 0), emp_max) + 1.5
        v = vals.get(f.id)
        colour = "#cccccc" if v is None else cmap(norm(v))
        ax.plot([x], [y], marker="o", ms=2 * r, mfc=colour, mec="#333333", mew=0.7, ls="none",
                zorder=14)[0].set_gid(f"{gid_prefix}dist-firm-{f.id}")
        labeler.add_symbol((x, y), r, hard=False)
    for f in sorted(firms, key=lambda f: -float(f.props.get("employees") or 0)):
        v = vals.get(f.id)
        x, y = _point(f.geometry)
        r = style.firm_radius_pt(float(f.props.get("employees") or 0), emp_max) + 1.5
        if v is None:
            val = "n/a"
        elif diverging:
            val = "no change" if abs(v) < 0.5 else f"{v:+,.0f} m".replace("-", "−")
        else:
            val = f"{v:,.0f} m"
        name = _one_line(str(f.props.get("name") or f.id), 18)
        if not style.distance_names and (v is None or (diverging and abs(v) < 0.5)):
            continue
        labeler.request(f"{name}\n{val}" if style.distance_names else val, (x, y), r, fontsize=style.label_fontsize - 0.5, color="#1b2631",
                        zorder=24, path_effects=HALO, linespacing=0.95)
    draw_scale_bar(ax, labeler)
    draw_north_arrow(ax, labeler)
    _note_illustrative(ax, metrics, labeler)
    labeler.place()
    if colorbar:
        cax = ax.inset_axes((1.02, 0.36, 0.025, 0.62))  # inset: does not steal space from ``ax``
        cb = fig.colorbar(sm, cax=cax)
        cb.set_label(DISTANCE_LABELS[kind], fontsize=8)
        cb.ax.tick_params(labelsize=7)
    if colorbar and handles:
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.02, 0.0), fontsize=7.5, frameon=False,
                  borderaxespad=0.0, labelspacing=0.8)
    ax._siteopt_norm = norm  # type: ignore[attr-defined]
    if title:
        sc = metrics.get("scenario") or {}
        name = str(sc.get("name") or sc.get("id") or "Scenario")
        ax.set_title(f"{name}: {DISTANCE_LABELS[kind][0].lower()}{DISTANCE_LABELS[kind][1:]}\n"
                     f"{DISTANCE_SUBTITLES[kind]}", loc="left", fontsize=11, pad=8, linespacing=1.5)
    return fig


# --------------------------------------------------------------------------- run rendering
def plan_figure(run: RunData, **kwargs: Any) -> Figure:
    """The single-plan figure written as ``plan.png`` / ``plan.svg``."""
    fig = new_figure(PLAN_SIZE, PLAN_DPI)
    ax = fig.add_axes(MAP_RECT)
    ax.set_gid("plan")
    draw_plan(ax, run, run.metrics, **kwargs)
    return fig


def distance_figure(run: RunData, kind: str = "change", **kwargs: Any) -> Figure:
    if kind == "change" and not firm_change_values(run, run.metrics, "change") and run.pairs:
        kind = "pairs"
    fig = new_figure((11.0, 8.6), PLAN_DPI)
    ax = fig.add_axes((0.03, 0.035, 0.76, 0.86))
    ax.set_gid("distance")
    draw_distance_map(ax, run, run.metrics, kind=kind, **kwargs)
    return fig


def save_figure(fig: Figure, path: Path, dpi: float = PLAN_DPI) -> Path:
    """PNG at ``dpi`` or SVG with text kept as text and stable ids; no tight bbox (keeps the
    layout the labels were placed for)."""
    path = Path(path)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "siteopt"}):
        if path.suffix.lower() == ".svg":
            fig.savefig(path, format="svg", metadata={"Date": None})
        else:
            fig.savefig(path, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png",
                        facecolor=fig.get_facecolor(), metadata={"Software": "placemaking-optimiser"})
    return path


def render_run(run_dir: str | Path) -> list[Path]:
    """Re-render a run directory from its files: ``plan.png``, ``plan.svg``, ``distance.png``,
    ``distance.svg`` and ``report.html``. Returns the paths written."""
    run = load_run(run_dir)
    out: list[Path] = []
    fig = plan_figure(run)
    out.append(save_figure(fig, run.run_dir / "plan.png"))
    out.append(save_figure(fig, run.run_dir / "plan.svg"))
    fig = distance_figure(run)
    out.append(save_figure(fig, run.run_dir / "distance.png"))
    out.append(save_figure(fig, run.run_dir / "distance.svg"))
    from optimiser.present.report import write_report

    out.append(write_report(run.run_dir, run=run))
    return out
