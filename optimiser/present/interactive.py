"""The interactive map of report.html and compare.html: an inline SVG drawn from the run's layout
(site CRS metres, y up), with a small inline script (``templates/map.js``) for pan and zoom (mouse
wheel, drag, pinch, buttons), layer toggles and the firm-pair table's highlighting.

Everything is in the page: no library, no tile, no request. Every firm, placement, crossing and
route carries an SVG ``<title>`` (the browser's tooltip). Firms are numbered on the map and named
in full in a key beside it (numbers are in file order of the site's firms, so they are the same in
every scenario of one site). Groups carry ``data-layer`` so the toggles can hide them:
``route_before``, ``route_after``, ``coverage``, ``candidates`` (and the always-shown site layers).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from shapely.geometry.base import BaseGeometry

from optimiser.present.formatting import fmt_m, fmt_money, fmt_num, nice_type
from optimiser.present.layers import (
    Extent,
    Feature,
    RunData,
    barrier_legend_label,
    default_extent,
    firm_numbers,
    lines,
    placement_tags,
    point,
    polygon_rings,
)

logger = logging.getLogger(__name__)

__all__ = ["MapView", "map_view", "map_views", "place_labels", "LabelSpot", "TOGGLES"]

TOGGLES = (("route_before", "Routes before"), ("route_after", "Routes after"), ("coverage", "Coverage"),
           ("candidates", "Candidate crossings"), ("labels", "Numbers"))
"""The layer toggles: (data-layer, label)."""


@dataclass(frozen=True)
class KeyEntry:
    """One numbered firm of the key: its number, full name and what its tooltip says."""

    number: int
    name: str
    detail: str


@dataclass(frozen=True)
class MapView:
    """What the template needs: the SVG markup (already escaped), the key and an id."""

    id: str
    svg: str
    key: list[KeyEntry]
    toggles: tuple[tuple[str, str], ...] = TOGGLES


def _f(v: float) -> str:
    return f"{v:.1f}"


class _Svg:
    """SVG markup in site coordinates with y flipped (SVG y = -northing)."""

    def __init__(self, extent: Extent) -> None:
        self.parts: list[str] = []
        self.extent = extent
        w, h = extent[2] - extent[0], extent[3] - extent[1]
        self.size = max(w, h)

    def path_d(self, geom: BaseGeometry) -> str:
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            return "".join("M" + "L".join(f"{_f(x)},{_f(-y)}" for x, y in xy) + "Z" for xy in polygon_rings(geom))
        return "".join("M" + "L".join(f"{_f(x)},{_f(-y)}" for x, y in xy) for xy in lines(geom))

    def open(self, layer: str, cls: str = "") -> None:
        self.parts.append(f'<g data-layer="{layer}"' + (f' class="{cls}"' if cls else "") + ">")

    def close(self) -> None:
        self.parts.append("</g>")

    def path(self, geom: BaseGeometry, cls: str, title: str = "", **attrs: str) -> None:
        d = self.path_d(geom)
        if not d:
            return
        extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
        self.parts.append(f'<path class="{cls}" d="{d}"{extra}>' + (f"<title>{escape(title)}</title>" if title else "")
                          + "</path>")

    def circle(self, xy: tuple[float, float], r: float, cls: str, title: str = "", **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
        self.parts.append(f'<circle class="{cls}" cx="{_f(xy[0])}" cy="{_f(-xy[1])}" r="{_f(r)}"{extra}>'
                          + (f"<title>{escape(title)}</title>" if title else "") + "</circle>")

    def text(self, xy: tuple[float, float], text: str, cls: str, size: float) -> None:
        self.parts.append(f'<text class="{cls}" x="{_f(xy[0])}" y="{_f(-xy[1])}" font-size="{_f(size)}">'
                          f"{escape(text)}</text>")


Box = tuple[float, float, float, float]
"""(xmin, ymin, xmax, ymax) in map units."""


@dataclass(frozen=True)
class LabelSpot:
    """Where a label goes: its centre, and whether it left its anchor (then a leader line joins them)."""

    x: float
    y: float
    moved: bool


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _text_box(x: float, y: float, text: str, size: float) -> Box:
    half_w, half_h = 0.33 * size * max(len(text), 1), 0.5 * size
    return (x - half_w, y - half_h, x + half_w, y + half_h)


def place_labels(anchors: Sequence[tuple[float, float]], radii: Sequence[float], texts: Sequence[str],
                 size: float) -> list[LabelSpot]:
    """Label positions without overlaps: each label on its anchor when it is clear there, else the
    first clear spot on rings around it (then drawn with a leader line). Greedy, in the order given;
    the map scales labels with the plan, so no overlap at one zoom means none at any zoom.

    Args:
        anchors: the labelled symbols' centres (map units); radii: their radii (a symbol's circle
            is an obstacle for every other label).
        texts: the labels; size: their font size (map units).
    """
    circles = [(x - r, y - r, x + r, y + r) for (x, y), r in zip(anchors, radii, strict=True)]
    placed: list[Box] = []
    out = []
    for k, ((x, y), r, text) in enumerate(zip(anchors, radii, texts, strict=True)):
        best: tuple[float, float, float, bool] | None = None
        spots = [(x, y, False)] + [(x + d * math.cos(a), y + d * math.sin(a), True)
                                   for d in (r + 0.9 * size, r + 1.9 * size, r + 3.2 * size, r + 5 * size)
                                   for a in (math.pi * j / 4 for j in (0, 2, 4, 6, 1, 3, 5, 7))]
        for sx, sy, moved in spots:
            box = _text_box(sx, sy, text, size)
            cost = sum(_overlap(box, b) for b in placed) + sum(
                _overlap(box, c) for i, c in enumerate(circles) if i != k)
            if best is None or cost < best[0] - 1e-9:
                best = (cost, sx, sy, moved)
            if cost <= 0:
                break
        assert best is not None
        placed.append(_text_box(best[1], best[2], text, size))
        out.append(LabelSpot(best[1], best[2], best[3]))
    return out


def _firm_title(n: int, f: Feature) -> str:
    acc = f.props.get("accuracy_m")
    return (f"{n}. {f.text('name', f.id)}\n{fmt_num(f.props.get('employees'))} employees · {f.text('sector', '?')}"
            + (f"\nposition accurate to ±{fmt_num(acc)} m" if acc is not None else ""))


def _cost_text(run: RunData, f: Feature) -> str:
    """A placement's or candidate's cost in the run's currency (``cost_gbp`` in layouts from before currencies)."""
    return fmt_money(f.props.get("cost", f.props.get("cost_gbp")), run.metrics.currency)


def _attribution_text(run: RunData, item_id: str) -> str:
    for a in run.metrics.attribution:
        if a.id == item_id:
            per = f", {fmt_money(a.cost_per_m_saved, run.metrics.currency)} per m" if a.cost_per_m_saved is not None else ""
            return f"\nsaves {fmt_num(a.saving_m, 1)} m of weighted mean walk{per}"
    return ""


def _names(run: RunData) -> dict[str, str]:
    return {a.id: a.name for a in run.metrics.attribution}


def _site_layers(svg: _Svg, run: RunData) -> None:
    lay = run.layout
    svg.open("site")
    for f in lay.layer("parcel"):
        svg.path(f.geometry, f"parcel {f.text('status')}", f"{f.text('name', f.id)} ({nice_type(f.text('status'))})")
    for f in lay.layer("barrier"):
        svg.path(f.geometry, "barrier" + ("" if f.props.get("active", True) else " inactive"),
                 barrier_legend_label(f), stroke_width=_f(float(f.props.get("width_m") or 20)))
    for f in lay.layer("path"):
        svg.path(f.geometry, "footpath", f.text("name", f.id))
    for f in lay.layer("existing_crossing"):
        svg.path(f.geometry, "xing-existing", f"Existing crossing: {f.text('name', f.id)}")
    svg.close()
    svg.open("candidates", "off")
    for f in lay.layer("candidate_crossing"):
        if not f.props.get("chosen"):
            svg.path(f.geometry, "xing-candidate", f"Candidate {nice_type(f.text('type'))} crossing {f.id} "
                     f"({_cost_text(run, f)}, not built)")
    svg.close()


def _coverage(svg: _Svg, run: RunData) -> None:
    svg.open("coverage")
    for f in run.layout.layer("social_space"):
        r = float(f.props.get("coverage_radius_m") or 0)
        if r > 0:
            svg.circle(point(f.geometry), r, "coverage", f"Within {fmt_m(r)} of {_names(run).get(f.id, f.id)}")
    svg.close()


def _routes(svg: _Svg, run: RunData) -> None:
    names = {f.id: f.text("name", f.id) for f in run.layout.layer("firm")}
    for layer, what, cls in (("route_before", "before", "route-before"), ("route_after", "after", "route-after")):
        svg.open(layer)
        for f in run.layout.layer(layer):
            a, b = f.text("a"), f.text("b")
            svg.path(f.geometry, cls, f"Route {what}: {names.get(a, a)} – {names.get(b, b)}, {fmt_m(f.props.get('walk_m'))}",
                     data_pair=f.text("pair", f"{a}|{b}"))
        svg.close()


def _placements(svg: _Svg, run: RunData) -> None:
    tags = placement_tags(run.metrics, run.layout)  # for the tooltips
    names = _names(run)
    svg.open("placements")
    u = svg.size / 160
    for f in run.layout.layer("crossing"):
        svg.path(f.geometry, "xing-new", f"{tags.get(f.id, '')} {names.get(f.id, f.text('name', f.id))}\n"
                 f"{_cost_text(run, f)}, +{fmt_num(f.props.get('penalty_m'))} m penalty"
                 + _attribution_text(run, f.id), data_id=f.id)
    for layer, cls, what in (("facility", "facility", "Shared facility"), ("social_space", "social", "Social space")):
        for f in run.layout.layer(layer):
            title = (f"{tags.get(f.id, '')} {names.get(f.id, what + ' ' + nice_type(f.text('type')))}\n"
                     f"{_cost_text(run, f)}" + _attribution_text(run, f.id))
            svg.circle(point(f.geometry), 2.2 * u, cls, title, data_id=f.id)
    for f in run.layout.layer("existing_facility", "existing_social_space"):
        svg.circle(point(f.geometry), 1.6 * u, "existing", f"Existing {nice_type(f.text('type', 'social space'))}")
    svg.close()


def _labels(svg: _Svg, run: RunData) -> None:
    """Firm numbers and placement tags (F1, S1, X1), placed without overlaps (leader lines when
    moved off their symbol)."""
    tags = placement_tags(run.metrics, run.layout)
    u = svg.size / 160
    firms = run.layout.layer("firm")
    emp_max = max([f.number("employees") for f in firms] or [1.0]) or 1.0
    placed = run.layout.layer("crossing", "facility", "social_space")
    anchors = [point(f.geometry) for f in placed] + [point(f.geometry) for f in firms]
    radii = [2.2 * u] * len(placed) + [_firm_radius(f, emp_max, u) for f in firms]
    numbers = firm_numbers(run.layout)
    texts = [tags.get(f.id, "") for f in placed] + [str(numbers[f.id]) for f in firms]
    spots = place_labels(anchors, radii, texts, 3.0 * u)
    svg.open("labels")
    for k, (spot, text) in enumerate(zip(spots, texts, strict=True)):
        if spot.moved:
            ax, ay = anchors[k]
            svg.parts.append(f'<line class="leader" x1="{_f(ax)}" y1="{_f(-ay)}" x2="{_f(spot.x)}" y2="{_f(-spot.y)}"/>')
        svg.text((spot.x, spot.y), text, "tag" if k < len(placed) else "num", 3.0 * u)
    svg.close()


def _firm_radius(f: Feature, emp_max: float, u: float) -> float:
    return u * (1.0 + 2.6 * math.sqrt(f.number("employees") / emp_max))


def _firms(svg: _Svg, run: RunData) -> list[KeyEntry]:
    firms = run.layout.layer("firm")
    emp_max = max([f.number("employees") for f in firms] or [1.0]) or 1.0
    u = svg.size / 160
    numbers = firm_numbers(run.layout)
    key = []
    svg.open("firms")
    for f in firms:
        n = numbers[f.id]
        r = _firm_radius(f, emp_max, u)
        title = _firm_title(n, f)
        svg.circle(point(f.geometry), r, "firm", title, data_firm=f.id)
        key.append(KeyEntry(n, f.text("name", f.id), title))
    svg.close()
    return key


def map_view(run: RunData, map_id: str = "map", extent: Extent | None = None) -> MapView:
    """The interactive map of one run (its default extent unless ``extent`` is given)."""
    ex = extent or default_extent(run.layout)
    svg = _Svg(ex)
    _site_layers(svg, run)
    _coverage(svg, run)
    _routes(svg, run)
    _placements(svg, run)
    key = _firms(svg, run)
    _labels(svg, run)
    x0, y0, x1, y1 = ex
    vb = f"{_f(x0)} {_f(-y1)} {_f(x1 - x0)} {_f(y1 - y0)}"
    body = "".join(svg.parts)
    markup = (f'<svg id="{map_id}-svg" class="map-svg" viewBox="{vb}" data-home="{vb}" '
              f'xmlns="http://www.w3.org/2000/svg" role="img" preserveAspectRatio="xMidYMid meet" '
              f'style="--u:{_f(svg.size / 160)}"><title>Plan of {escape(run.name)} (site CRS {escape(run.crs)}, metres)'
              f"</title>{body}</svg>")
    logger.debug("interactive map %s: %d characters", map_id, len(markup))
    return MapView(map_id, markup, key)


def map_views(runs: Sequence[RunData], extents: Iterable[Extent | None] | None = None) -> list[MapView]:
    """One map per run (compare.html), ids ``map-0``, ``map-1`` ..."""
    exts = list(extents) if extents is not None else [None] * len(runs)
    return [map_view(r, f"map-{i}", e) for i, (r, e) in enumerate(zip(runs, exts, strict=True))]
