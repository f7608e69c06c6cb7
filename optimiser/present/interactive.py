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

from optimiser.inputs.domain import BarrierKind
from optimiser.present.buys import item_names, item_saving, per_unit_text
from optimiser.present.formatting import fmt_m, fmt_money, fmt_num, nice_type
from optimiser.present.layers import (
    Extent,
    Feature,
    RunData,
    barrier_band,
    barrier_kind,
    barrier_legend_label,
    default_extent,
    firm_numbers,
    is_active,
    is_no_build,
    lines,
    placement_tags,
    point,
    polygon_rings,
)
from optimiser.present.map_style import (
    LegendItem,
    diamond_points,
    hatch_defs,
    hexagon_points,
    legend_items,
    plus_points,
    square_points,
    star_points,
)
from optimiser.present.style import PARCEL_STYLE

logger = logging.getLogger(__name__)

__all__ = ["MapView", "map_view", "map_views", "place_labels", "LabelSpot", "TOGGLES"]

TOGGLES = (("route_before", "Routes before"), ("route_after", "Routes after"), ("coverage", "Coverage"),
           ("candidates", "Candidate crossings"), ("labels", "Numbers"))
"""The layer toggles: (data-layer, label); a map offers those of the layers it draws."""
_TOGGLE_KINDS = {"candidates": "xing_candidate"}
"""The drawn kind (``_Svg.kinds``) a toggle's layer shows, where its name differs."""


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
    legend: tuple[LegendItem, ...] = ()
    """The symbols the map draws, as the static plan's legend names them."""


def _f(v: float) -> str:
    return f"{v:.1f}"


class _Svg:
    """SVG markup in site coordinates with y flipped (SVG y = -northing)."""

    def __init__(self, extent: Extent, map_id: str = "map") -> None:
        self.parts: list[str] = []
        self.extent = extent
        self.map_id = map_id
        self.kinds: set[str] = set()
        """What was drawn (the legend's entries)."""
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

    def polygon(self, points: str, cls: str, title: str = "", **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
        self.parts.append(f'<polygon class="{cls}" points="{points}"{extra}>'
                          + (f"<title>{escape(title)}</title>" if title else "") + "</polygon>")

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
                 size: float, beside: Sequence[bool] | None = None) -> list[LabelSpot]:
    """Label positions without overlaps: each label on its anchor when it is clear there, else the
    first clear spot on rings around it (then drawn with a leader line). Greedy, in the order given;
    the map scales labels with the plan, so no overlap at one zoom means none at any zoom.

    Args:
        anchors: the labelled symbols' centres (map units); radii: their radii (a symbol's circle
            is an obstacle for every other label).
        texts: the labels; size: their font size (map units).
        beside: per label, whether it goes beside its symbol (a placement's tag, as on the static
            plan: its own symbol is an obstacle too; a leader only from the second ring out)
            rather than on it (a firm's number); None: none beside.
    """
    circles = [(x - r, y - r, x + r, y + r) for (x, y), r in zip(anchors, radii, strict=True)]
    placed: list[Box] = []
    out = []
    for k, ((x, y), r, text) in enumerate(zip(anchors, radii, texts, strict=True)):
        best: tuple[float, float, float, bool] | None = None
        side = bool(beside[k]) if beside is not None else False
        half_w = _text_box(0.0, 0.0, text, size)[2]
        rings = [r + 0.9 * size, r + 1.9 * size, r + 3.2 * size, r + 5 * size]
        spots = [] if side else [(x, y, False)]
        order = (0, 4, 2, 6, 1, 3, 5, 7) if side else (0, 2, 4, 6, 1, 3, 5, 7)
        for n, d in enumerate(rings):
            for a in (math.pi * j / 4 for j in order):
                dx = d * math.cos(a)
                if side and abs(math.cos(a)) > 0.9:  # right or left: the box's near edge, not its centre, at ~d
                    dx = math.copysign(d - 0.6 * size + half_w, dx)
                spots.append((x + dx, y + d * math.sin(a), not side or n > 0))
        for sx, sy, moved in spots:
            box = _text_box(sx, sy, text, size)
            cost = sum(_overlap(box, b) for b in placed) + sum(
                _overlap(box, c) for i, c in enumerate(circles) if i != k or side)
            if best is None or cost < best[0] - 1e-9:
                best = (cost, sx, sy, moved)
            if cost <= 0:
                break
        assert best is not None
        placed.append(_text_box(best[1], best[2], text, size))
        out.append(LabelSpot(best[1], best[2], best[3]))
    return out


def _firm_title(n: int, f: Feature) -> str:
    acc, staff = f.props.get("accuracy_m"), f.props.get("employees")
    word = "employee" if isinstance(staff, (int, float)) and staff == 1 else "employees"
    return (f"{n}. {f.text('name', f.id)}\n{fmt_num(staff)} {word} · {f.text('sector', '?')}"
            + (f"\nposition accurate to ±{fmt_num(acc)} m" if acc is not None else ""))


def _cost_text(run: RunData, f: Feature) -> str:
    """A placement's or candidate's cost in the run's currency (``cost_gbp`` in layouts from before currencies)."""
    return fmt_money(f.props.get("cost", f.props.get("cost_gbp")), run.metrics.currency)


def _attribution_text(run: RunData, item_id: str) -> str:
    """What an item saves, in its run's units as the report's table says it (:func:`item_saving`:
    metres of weighted mean walk, or staff for a transit coverage run)."""
    m = run.metrics
    for a in m.attribution:
        if a.id == item_id:
            value, digits, unit = item_saving(a, m)
            per = f", {per_unit_text(a.cost, value, m.currency, unit)}" if value > 0 else ""
            what = "m of weighted mean walk" if unit == "m" else "staff within a catchment"
            return f"\nsaves {fmt_num(value, digits)} {what}{per}"
    return ""


def _names(run: RunData) -> dict[str, str]:
    return item_names(run.metrics)


def _barriers(svg: _Svg, run: RunData) -> None:
    """Each barrier as the static plan draws it: its band (width_m; a dashed, fainter outline when
    switched off; hatched when no-build), a road's white dashed centre line."""
    for f in run.layout.layer("barrier"):
        kind = barrier_kind(f)
        road = kind is not None and kind.is_road
        band = "road" if road else "water" if kind == BarrierKind.WATER else "corridor"
        active, no_build = is_active(f), is_no_build(f)
        cls = f"barrier {band}" + ("" if active else " inactive") + (" nobuild" if no_build else "")
        attrs = {"style": f"fill:url(#{svg.map_id}-hatch-nobuild)"} if band == "corridor" and no_build and active else {}
        svg.path(barrier_band(f), cls, barrier_legend_label(f), **attrs)
        if road:
            svg.path(f.geometry, "centreline")


def _site_layers(svg: _Svg, run: RunData) -> None:
    lay = run.layout
    svg.open("site")
    for f in lay.layer("parcel"):
        status = f.text("status")
        st = PARCEL_STYLE.get(status)
        attrs = {"style": f"fill:url(#{svg.map_id}-hatch-{status})"} if st is not None and st.hatch else {}
        svg.path(f.geometry, f"parcel {status}", f"{f.text('name', f.id)} ({nice_type(status)})", **attrs)
    _barriers(svg, run)
    for f in lay.layer("path"):
        svg.path(f.geometry, "footpath", f.text("name", f.id))
    for f in lay.layer("existing_crossing"):
        svg.path(f.geometry, "halo xing-existing-halo")
        svg.path(f.geometry, "xing-existing", f"Existing crossing: {f.text('name', f.id)}")
        svg.kinds.add("xing_existing")
    svg.close()
    svg.open("candidates", "off")
    for f in lay.layer("candidate_crossing"):
        if not f.props.get("chosen"):
            svg.path(f.geometry, "xing-candidate", f"Candidate {nice_type(f.text('type'))} crossing {f.id} "
                     f"({_cost_text(run, f)}, not built)")
            svg.kinds.add("xing_candidate")
    svg.close()


def _coverage(svg: _Svg, run: RunData) -> None:
    svg.open("coverage")
    for f in run.layout.layer("social_space"):
        r = float(f.props.get("coverage_radius_m") or 0)
        if r > 0:
            svg.circle(point(f.geometry), r, "coverage", f"Within {fmt_m(r)} of {_names(run).get(f.id, f.id)}")
            svg.kinds.add("coverage")
    svg.close()


def _routes(svg: _Svg, run: RunData) -> None:
    """Routes after (blue) under routes before (near-black dashes over a white outline), as on the
    static plan."""
    names = {f.id: f.text("name", f.id) for f in run.layout.layer("firm")}
    for layer, what, cls in (("route_after", "after", "route-after"), ("route_before", "before", "route-before")):
        svg.open(layer)
        feats = run.layout.layer(layer)
        if layer == "route_before":
            for f in feats:
                svg.path(f.geometry, "halo route-halo")
        for f in feats:
            a, b = f.text("a"), f.text("b")
            svg.path(f.geometry, cls, f"Route {what}: {names.get(a, a)} – {names.get(b, b)}, {fmt_m(f.props.get('walk_m'))}",
                     data_pair=f.text("pair", f"{a}|{b}"))
            svg.kinds.add(layer)
        svg.close()


_SYMBOL_R = {"crossing": 1.7, "facility": 2.8, "social_space": 2.3, "transit_stop": 2.0}
"""Radius of a placement's symbol in map units of ``size / 160`` (diamond, star, hexagon)."""


def _placements(svg: _Svg, run: RunData) -> None:
    tags = placement_tags(run.metrics, run.layout)  # for the tooltips
    names = _names(run)
    svg.open("placements")
    u = svg.size / 160
    for f in run.layout.layer("crossing"):
        title = (f"{tags.get(f.id, '')} {names.get(f.id, f.text('name', f.id))}\n"
                 f"{_cost_text(run, f)}, +{fmt_num(f.props.get('penalty_m'))} m penalty" + _attribution_text(run, f.id))
        svg.path(f.geometry, "halo xing-new-halo")
        svg.path(f.geometry, "xing-new", title, data_id=f.id)
        x, y = point(f.geometry)
        svg.polygon(diamond_points(x, y, _SYMBOL_R["crossing"] * u), "xing-mark", title)
        svg.kinds.add("xing_new")
    shapes = {"facility": ("facility", "Shared facility", star_points), "social_space": ("social", "Social space",
                                                                                        hexagon_points)}
    for layer in ("social_space", "facility"):
        cls, what, shape = shapes[layer]
        for f in run.layout.layer(layer):
            title = (f"{tags.get(f.id, '')} {names.get(f.id, what + ' ' + nice_type(f.text('type')))}\n"
                     f"{_cost_text(run, f)}" + _attribution_text(run, f.id))
            x, y = point(f.geometry)
            svg.polygon(shape(x, y, _SYMBOL_R[layer] * u), cls, title, data_id=f.id)
            svg.kinds.add(cls)
    for f in run.layout.layer("existing_facility", "existing_social_space"):
        x, y = point(f.geometry)
        svg.polygon(plus_points(x, y, 1.6 * u), "existing", f"Existing {nice_type(f.text('type', 'social space'))}")
        svg.kinds.add("existing")
    svg.close()


def _transit(svg: _Svg, run: RunData) -> None:
    """Transit alignments (dashed) and stops (a filled square new, a white one existing), as on
    the static plan."""
    svg.open("transit")
    u = svg.size / 160
    used = {f.text("line") for f in _new_stops(run)}
    for f in run.layout.layer("transit_line"):
        if used and f.id not in used:  # an alternative the plan did not take: grey, as on the static plan
            svg.path(f.geometry, "transit-line unused", f"Alternative alignment, no new stop on it: {f.text('name', f.id)}")
            svg.kinds.add("transit_line_unused")
        else:
            svg.path(f.geometry, "transit-line", f"Transit alignment: {f.text('name', f.id)}")
            svg.kinds.add("transit_line")
    tags, names = placement_tags(run.metrics, run.layout), _names(run)
    for f in run.layout.layer("transit_stop"):
        new = f.text("status") == "new"
        title = (f"New stop {tags.get(f.id, '')}: {names.get(f.id) or f.text('name', f.id)}\n{_cost_text(run, f)}" if new
                 else f"Existing stop: {f.text('name', f.id)}")
        x, y = point(f.geometry)
        svg.polygon(square_points(x, y, (2.0 if new else 1.5) * u), "stop" if new else "stop existing-stop", title, data_id=f.id)
        svg.kinds.add("stop_new" if new else "stop_existing")
    svg.close()


def _new_stops(run: RunData) -> list[Feature]:
    return [f for f in run.layout.layer("transit_stop") if f.text("status") == "new"]


def _labels(svg: _Svg, run: RunData) -> None:
    """Firm numbers on their circles and placement tags (F1, S1, X1, T1) beside their symbols, in
    the static plan's colours, placed without overlaps (leader lines when moved off)."""
    tags = placement_tags(run.metrics, run.layout)
    u = svg.size / 160
    firms = run.layout.layer("firm")
    emp_max = max([f.number("employees") for f in firms] or [1.0]) or 1.0
    placed = run.layout.layer("crossing", "facility", "social_space") + _new_stops(run)
    anchors = [point(f.geometry) for f in placed] + [point(f.geometry) for f in firms]
    radii = [_SYMBOL_R.get(f.layer, 2.2) * u for f in placed] + [_firm_radius(f, emp_max, u) for f in firms]
    numbers = firm_numbers(run.layout)
    texts = [tags.get(f.id, "") for f in placed] + [str(numbers[f.id]) for f in firms]
    # a firm's number on its circle where the circle holds it (white), else beside it (dark)
    holds = [radii[k] >= max(0.5, 0.33 * len(texts[k])) * 3.0 * u for k in range(len(texts))]
    spots = place_labels(anchors, radii, texts, 3.0 * u,
                         beside=[True] * len(placed) + [not holds[len(placed) + i] for i in range(len(firms))])
    kind = {"crossing": "t-crossing", "facility": "t-facility", "social_space": "t-social", "transit_stop": "t-stop"}
    svg.open("labels")
    for k, (spot, text) in enumerate(zip(spots, texts, strict=True)):
        if spot.moved:
            ax, ay = anchors[k]
            svg.parts.append(f'<line class="leader" x1="{_f(ax)}" y1="{_f(-ay)}" x2="{_f(spot.x)}" y2="{_f(-spot.y)}"/>')
        on = k >= len(placed) and holds[k] and not spot.moved
        cls = f"tag {kind.get(placed[k].layer, '')}" if k < len(placed) else "num on" if on else "num"
        svg.text((spot.x, spot.y), text, cls, 3.0 * u)
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
        fixed = bool(f.props.get("fixed"))
        svg.circle(point(f.geometry), r, "firm fixed" if fixed else "firm", title, data_firm=f.id)
        svg.kinds.update(("firm", "fixed") if fixed else ("firm",))
        key.append(KeyEntry(n, f.text("name", f.id), title))
    svg.close()
    return key


def map_view(run: RunData, map_id: str = "map", extent: Extent | None = None) -> MapView:
    """The interactive map of one run (its default extent unless ``extent`` is given)."""
    ex = extent or default_extent(run.layout)
    svg = _Svg(ex, map_id)
    _site_layers(svg, run)
    _coverage(svg, run)
    _routes(svg, run)
    _transit(svg, run)
    _placements(svg, run)
    key = _firms(svg, run)
    _labels(svg, run)
    x0, y0, x1, y1 = ex
    vb = f"{_f(x0)} {_f(-y1)} {_f(x1 - x0)} {_f(y1 - y0)}"
    body = "".join(svg.parts)
    markup = (f'<svg id="{map_id}-svg" class="map-svg" viewBox="{vb}" data-home="{vb}" '
              f'xmlns="http://www.w3.org/2000/svg" role="img" preserveAspectRatio="xMidYMid meet" '
              f'style="--u:{_f(svg.size / 160)}"><title>Plan of {escape(run.name)} (site CRS {escape(run.crs)}, metres)'
              f"</title>{hatch_defs(map_id)}{body}</svg>")
    logger.debug("interactive map %s: %d characters", map_id, len(markup))
    radii = [float(f.props.get("coverage_radius_m") or 0) for f in run.layout.layer("social_space")]
    toggles = tuple((layer, label) for layer, label in TOGGLES if _TOGGLE_KINDS.get(layer, layer) in svg.kinds or layer == "labels")
    return MapView(map_id, markup, key, toggles=toggles, legend=tuple(legend_items(svg.kinds, max(radii, default=0.0) or None)))


def map_views(runs: Sequence[RunData], extents: Iterable[Extent | None] | None = None) -> list[MapView]:
    """One map per run (compare.html), ids ``map-0``, ``map-1`` ..."""
    exts = list(extents) if extents is not None else [None] * len(runs)
    return [map_view(r, f"map-{i}", e) for i, (r, e) in enumerate(zip(runs, exts, strict=True))]
