"""The optimised plan: the site, what was built and the most improved routes, drawn from a
:class:`~optimiser.present.layers.RunData` (or a layout and the run's metrics).

:func:`draw_plan` is a short sequence of per-layer drawing functions on a
:class:`~optimiser.present.figure.MapPanel`. The drawing functions are pure: they take a
matplotlib ``Axes`` and return its ``Figure``; they never touch pyplot state, so they are safe
in worker processes and tests.

Placement artists carry SVG ids (``facility-<id>``, ``social-<id>``, ``crossing-<id>``,
``existing-crossing-<id>``, ``firm-<id>``), so a designer can pick them out in the SVG and
tests can check where they were drawn.
"""

from __future__ import annotations

import logging
import textwrap
from typing import Any

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.patheffects import withStroke

from optimiser.present.basemap import draw_barrier_labels, draw_base
from optimiser.present.figure import (
    MapPanel,
    draw_north_arrow,
    draw_scale_bar,
    new_figure,
    note_illustrative,
    poly_path,
    setup_map,
)
from optimiser.present.formatting import (
    fmt_money,
    mpl_text,
    nice_type,
    strip_parens,
)
from optimiser.present.labels import overlaps_any, root_figure
from optimiser.present.layers import Extent, Feature, LayoutLike, RunData, firm_numbers, lines, point, site_tags
from optimiser.present.metrics import RunMetrics
from optimiser.present.plan_key import draw_side_panel, key_sections, make_room_for_side_panel, route_section
from optimiser.present.style import (
    CROSSING_C,
    EXISTING_CROSSING_C,
    EXISTING_FACILITY_C,
    EXISTING_TEXT_C,
    FACILITY_C,
    FACILITY_EC,
    FACILITY_TEXT_C,
    FIRM_C,
    HALO,
    LABEL_C,
    MAP_RECT,
    PLAN_DPI,
    PLAN_SIZE,
    ROUTE_AFTER,
    ROUTE_AFTER_C,
    ROUTE_BEFORE,
    SOCIAL_C,
    PlanStyle,
    RouteStyle,
    size_keys,
    under_text_rc,
)
from optimiser.present.titles import plan_title
from optimiser.present.transit_plan import draw_transit

logger = logging.getLogger(__name__)

__all__ = ["draw_plan", "plan_figure", "plan_title"]


def draw_plan(ax: Axes, layout: LayoutLike, metrics: RunMetrics, *, extent: Extent | None = None, title: bool = True,
              legend: bool = True, style: PlanStyle | None = None, routes: bool = True, gid_prefix: str = "") -> Figure:
    """Draw the optimised plan on ``ax`` and return its figure.

    Labels are placed in two stages: first what belongs to the SITE (firm numbers, tags of
    existing crossings and facilities), around the site's symbols and the map furniture only, so
    they sit in the same place in every scenario of the site; then what the scenario adds (its
    placements, route numbers, barrier names) around all of that.

    Args:
        ax: the axes to draw on (its figure is returned).
        layout: a :class:`RunData`, the ``RunResult`` of ``run_scenario`` (with or without a run
            directory), a :class:`Layout` or the raw GeoJSON FeatureCollection (WGS84,
            reprojected to ``metrics.site.crs``).
        metrics: the run's metrics (title, placement tags and names, illustrative note).
        extent: (xmin, ymin, xmax, ymax) in metres; None: the site's default extent.
        title: draw the title above the map.
        legend: draw the legend and the numbered key to the right of the map (firms then carry
            their key number; without it, their key number when ``style.firm_numbers``, else their
            full names when ``style.firm_labels``). They use the figure right of ``ax`` up to the
            next axes beside it (or the figure's edge); where that is too narrow (``plt.subplots(1,
            2)``), ``ax`` is narrowed so the map and its key share its own box
            (:func:`~optimiser.present.plan_key.make_room_for_side_panel`), and the title wraps
            to the box's width.
        style: scales shared between panels (compare); default :class:`PlanStyle`.
        routes: draw the before/after routes of the most improved pairs.
        gid_prefix: prefix of every SVG id (``{gid_prefix}facility-<id>`` ...).
    """
    style = style or PlanStyle()
    box_w = ax.get_position(original=True).width
    right_in = make_room_for_side_panel(ax) if legend else None  # before drawing: labels are placed for the final size
    panel = setup_map(ax, layout, metrics, extent, gid_prefix)
    panel.handles.extend(draw_base(ax, panel.layout))
    if style.show_candidates:
        _draw_candidates(panel)
    pairs = _draw_routes(panel, style) if routes else []
    _draw_footprints(panel)
    _draw_coverage(panel)
    emp_max = _draw_firms(panel, style)
    _draw_existing_facilities(panel, style, legend or style.site_tags)
    _draw_existing_crossings(panel, style, legend or style.site_tags)
    draw_scale_bar(ax, panel.labeler)
    draw_north_arrow(ax, panel.labeler)
    note_illustrative(ax, metrics, panel.labeler)
    _label_firms(panel, style, emp_max, numbered=legend or style.firm_numbers)
    panel.labeler.place()  # the site's labels: the same spots in every scenario
    draw_transit(panel)
    _draw_crossings(panel, style)
    _draw_social_spaces(panel, style)
    _draw_facilities(panel, style)
    for i, fa, _fb in pairs:
        _route_number(panel, fa, i)
    panel.labeler.place()  # the scenario's labels
    draw_barrier_labels(ax, panel.layout, panel.labeler)
    ax._siteopt_labeler = panel.labeler  # type: ignore[attr-defined]  # kept for tests / callers
    ax._siteopt_handles = panel.handles  # type: ignore[attr-defined]  # compare builds one shared legend
    if title:
        head, sub = plan_title(metrics)
        fig_w = root_figure(ax).get_size_inches()[0]
        size = 11.0 if f"{head}\n{sub}".count("\n") < 4 else 9.0  # five lines and more: smaller, to stay on the figure
        if ax.get_position(original=True).width < box_w - 1e-9:  # sharing its box with the key: wrap to the box
            size = 9.0  # a plan in a grid of subplots: its title must not reach the plan above
            sub = "\n".join(textwrap.wrap(sub, max(40, int(box_w * fig_w * 72 / (size * 0.55))), break_on_hyphens=False))
        ax.set_title(mpl_text(f"{head}\n{sub}"), loc="left", fontsize=size, pad=8, linespacing=1.5 if size > 10 else 1.3)
    if legend:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        draw_side_panel(ax, panel.handles, key_sections(panel.layout, metrics, panel.tags, (x0, y0, x1, y1)),
                        route_section(panel.layout, pairs), right_in)
    fig = ax.figure
    assert isinstance(fig, Figure)
    return fig


@under_text_rc
def plan_figure(run: RunData, **kwargs: Any) -> Figure:
    """The single-plan figure written as ``plan.png`` / ``plan.svg`` (``kwargs`` go to :func:`draw_plan`)."""
    fig = new_figure(PLAN_SIZE, PLAN_DPI)
    ax = fig.add_axes(MAP_RECT)
    ax.set_gid("plan")
    draw_plan(ax, run, run.metrics, **kwargs)  # measured as it will be drawn (figure.figure_png)
    return fig


def _draw_candidates(panel: MapPanel) -> None:
    """Candidate crossings that were not chosen: faint options (one line collection)."""
    segs = [xy for f in panel.layout.layer("candidate_crossing") if not f.props.get("chosen") for xy in lines(f.geometry)]
    if segs:
        panel.ax.add_collection(LineCollection(segs, colors=CROSSING_C, linewidths=1.2, linestyles=[(0, (1.5, 1.5))],
                                               alpha=0.45, zorder=5), autolim=False)
        panel.handles.append(Line2D([], [], color=CROSSING_C, lw=1.2, ls=(0, (1.5, 1.5)), alpha=0.6,
                                    label="Candidate crossing (not chosen)"))


def _most_improved(panel: MapPanel, max_routes: int) -> list[tuple[Feature, Feature | None]]:
    """(after, before) route features of the most improved pairs, biggest weighted gain first
    (ties in pair order, so the numbering is reproducible)."""
    after = panel.layout.layer("route_after")
    before = {f.props.get("pair"): f for f in panel.layout.layer("route_before")}

    def gain(f: Feature) -> float:
        b = before.get(f.props.get("pair")) or f
        return (b.number("walk_m") - f.number("walk_m")) * f.number("weight", 1.0)

    after.sort(key=lambda f: (-gain(f), str(f.props.get("pair"))))
    return [(fa, before.get(fa.props.get("pair"))) for fa in after[:max_routes]]


def _route_line(panel: MapPanel, f: Feature, rs: RouteStyle, gid: str) -> None:
    for xy in lines(f.geometry):
        effects = [withStroke(linewidth=rs.halo_lw, foreground="white")] if rs.halo_lw else None
        ln = panel.ax.plot(xy[:, 0], xy[:, 1], color=rs.color, lw=rs.lw, ls=rs.ls, zorder=rs.zorder,
                           solid_capstyle="round", path_effects=effects)[0]
        ln.set_gid(gid)


def _draw_routes(panel: MapPanel, style: PlanStyle) -> list[tuple[int, Feature, Feature | None]]:
    """The most improved pairs' routes: after (wide blue) under before (dashed, on top, so both
    read where they share a street); returns (number, after, before) of each."""
    pairs = _most_improved(panel, style.max_routes)
    for i, (fa, fb) in enumerate(pairs, 1):
        _route_line(panel, fa, ROUTE_AFTER, panel.gid(f"route-after-{i}"))
        if fb is not None:
            _route_line(panel, fb, ROUTE_BEFORE, panel.gid(f"route-before-{i}"))
    if any(fb is not None for _, fb in pairs):  # pairs newly connected have no route before
        panel.handles.append(Line2D([], [], color=ROUTE_BEFORE.color, lw=ROUTE_BEFORE.lw, ls=ROUTE_BEFORE.ls,
                                    path_effects=[withStroke(linewidth=ROUTE_BEFORE.halo_lw, foreground="white")],
                                    label="Route before (most improved pairs)"))
    if pairs:
        panel.handles.append(Line2D([], [], color=ROUTE_AFTER.color, lw=ROUTE_AFTER.lw, label="Route after"))
    return [(i, fa, fb) for i, (fa, fb) in enumerate(pairs, 1)]


def _route_number(panel: MapPanel, route: Feature, number: int) -> None:
    """The route's number in a circle on the after-route, at a spot clear of every symbol and
    label placed so far (the middle when there is none)."""
    mid = None
    for frac in (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85, 0.42, 0.58):
        cand = route.geometry.interpolate(frac, normalized=True)
        if overlaps_any(panel.labeler.marker_box((cand.x, cand.y), 6.0), panel.labeler.hard) == 0:
            mid = cand
            break
    mid = mid or route.geometry.interpolate(0.5, normalized=True)
    t = panel.ax.text(mid.x, mid.y, str(number), ha="center", va="center", fontsize=6.5, color="white",
                      fontweight="bold", zorder=9, bbox=dict(boxstyle="circle,pad=0.2", fc=ROUTE_AFTER_C, ec="white", lw=0.6))
    t.set_gid(panel.gid(f"route-number-{number}"))
    panel.labeler.add_symbol((mid.x, mid.y), 6.0, hard=True)


def _draw_footprints(panel: MapPanel) -> None:
    """Facility footprints (when the run writes them)."""
    for f in panel.layout.layer("facility_footprint"):
        path = poly_path(f.geometry)
        if path is not None:
            panel.ax.add_patch(PathPatch(path, fc=FACILITY_C, ec=FACILITY_TEXT_C, lw=0.8, alpha=0.35, zorder=6))


def _draw_coverage(panel: MapPanel) -> None:
    """Social-space coverage circles (faint, under everything else)."""
    radii = []
    for f in panel.layout.layer("social_space"):
        r = f.props.get("coverage_radius_m")
        if not r:
            continue
        radii.append(float(r))
        x, y = point(f.geometry)
        panel.ax.add_patch(Circle((x, y), float(r), fc=SOCIAL_C, ec=SOCIAL_C, alpha=0.07, lw=0, zorder=2))
        panel.ax.add_patch(Circle((x, y), float(r), fc="none", ec=SOCIAL_C, alpha=0.5, lw=0.8, ls=(0, (4, 3)), zorder=2))
    if radii:
        panel.handles.append(Patch(fc=(0.56, 0.27, 0.68, 0.10), ec=SOCIAL_C, ls="--", label=f"{radii[0]:g} m coverage"))


def _draw_firms(panel: MapPanel, style: PlanStyle) -> float:
    """Firm circles sized by employees (fixed buildings ringed); returns the largest firm's employees."""
    firms = panel.layout.layer("firm")
    emp_max = max([f.number("employees") for f in firms] or [1.0])
    for f in firms:
        x, y = point(f.geometry)
        r = style.firm_radius_pt(f.number("employees"), emp_max)
        fixed = bool(f.props.get("fixed"))
        ln = panel.ax.plot([x], [y], marker="o", ms=2 * r, mfc=FIRM_C, mec="#f2c14e" if fixed else "white",
                           mew=1.6 if fixed else 0.8, alpha=0.9, ls="none", zorder=10)[0]
        ln.set_gid(panel.gid(f"firm-{f.id}"))
        panel.labeler.add_symbol((x, y), r, hard=False)
    return emp_max


def _label_firms(panel: MapPanel, style: PlanStyle, emp_max: float, *, numbered: bool) -> None:
    """Each firm's key number on its circle (``numbered``; beside it, with a leader, where the
    circle is crowded), or its full name beside it (``style.firm_labels``); and the firm-size
    legend entries."""
    firms = panel.layout.layer("firm")
    numbers = firm_numbers(panel.layout)
    for f in sorted(firms, key=lambda f: numbers[f.id]):
        x, y = point(f.geometry)
        r = style.firm_radius_pt(f.number("employees"), emp_max)
        gid = panel.gid(f"label-firm-{f.id}")
        if numbered:
            text = str(numbers[f.id])
            size = min(7.0, max(5.0, 1.7 * r / (0.64 * len(text))))
            panel.labeler.request(text, (x, y), r, gid=gid, priority=0, centre_first=True, fontsize=size,
                                  color="white", fontweight="bold", zorder=24,
                                  outside=dict(color=LABEL_C, path_effects=HALO))
        elif style.firm_labels:
            panel.labeler.request("\n".join(textwrap.wrap(f.text("name", f.id), 22)), (x, y), r, gid=gid,
                                  fontsize=style.label_fontsize, color=LABEL_C, zorder=24, path_effects=HALO,
                                  linespacing=0.95)
    if not firms:
        return
    for emp in size_keys(style.employees_max or emp_max):
        r = style.firm_radius_pt(emp, emp_max)
        panel.handles.append(Line2D([], [], marker="o", ms=2 * r, mfc=FIRM_C, mec="white", ls="none",
                                    alpha=0.9, label=f"Firm, {emp:,.0f} employee{'' if round(emp) == 1 else 's'}"))
    if any(f.props.get("fixed") for f in firms):
        panel.handles.append(Line2D([], [], marker="o", ms=9, mfc=FIRM_C, mec="#f2c14e", mew=1.6, ls="none",
                                    label="Fixed building"))


def _draw_existing_facilities(panel: MapPanel, style: PlanStyle, tagged: bool) -> None:
    """Existing facilities: a grey plus, tagged E1, E2... (the key names them) or named."""
    feats = panel.layout.layer("existing_facility")
    tags = site_tags(panel.layout)
    for f in feats:
        x, y = point(f.geometry)
        panel.ax.plot([x], [y], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", mew=0.7, ls="none", zorder=11)
        panel.labeler.add_symbol((x, y), 4.5, hard=False)
        name = tags[f.id] if tagged else nice_type(f.props.get("type") or f.props.get("name") or "facility") + " (existing)"
        panel.labeler.request(name, (x, y), 4.5, gid=panel.gid(f"label-existing-facility-{f.id}"), priority=3,
                              fontsize=style.label_fontsize - 0.5, color=EXISTING_TEXT_C, zorder=23,
                              path_effects=HALO, style="italic")
    if feats:
        panel.handles.append(Line2D([], [], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", ls="none",
                                    label="Existing facility" + (_tag_span(feats, tags) if tagged else "")))


def _tag_span(feats: list[Feature], tags: dict[str, str]) -> str:
    """' (J1 in the key)', ' (J1–J3 in the key)': the tags the legend entry stands for."""
    mine = [tags[f.id] for f in feats if f.id in tags]
    if not mine:
        return ""
    return f" ({mine[0]} in the key)" if len(mine) == 1 else f" ({mine[0]}–{mine[-1]} in the key)"


def _haloed_line(ax: Axes, f: Feature, color: str, lw: float, halo_lw: float, zorder: float, gid: str) -> None:
    """A feature's line(s) drawn over a white halo (so they read on any background), with an SVG id."""
    for xy in lines(f.geometry):
        ax.plot(xy[:, 0], xy[:, 1], color="white", lw=halo_lw, zorder=zorder, solid_capstyle="butt")
        ax.plot(xy[:, 0], xy[:, 1], color=color, lw=lw, zorder=zorder + 0.1, solid_capstyle="butt")[0].set_gid(gid)


def _draw_existing_crossings(panel: MapPanel, style: PlanStyle, tagged: bool) -> None:
    """Existing crossings and junctions: a black bar, tagged J1, J2... (the key names them) or named."""
    feats = panel.layout.layer("existing_crossing")
    tags = site_tags(panel.layout)
    for f in feats:
        _haloed_line(panel.ax, f, EXISTING_CROSSING_C, 3.0, 4.8, 12, panel.gid(f"existing-crossing-{f.id}"))
        x, y = point(f.geometry)
        panel.labeler.add_symbol((x, y), 5.0, hard=True)
        name = tags[f.id] if tagged else "\n".join(textwrap.wrap(strip_parens(f.text("name", f.id)), 20))
        panel.labeler.request(name, (x, y), 5.0, gid=panel.gid(f"label-existing-crossing-{f.id}"), priority=1,
                              fontsize=style.label_fontsize - 0.5, color=EXISTING_CROSSING_C, zorder=25,
                              path_effects=HALO, style="italic", fontweight="bold" if tagged else "normal")
    if feats:
        panel.handles.append(Line2D([], [], color=EXISTING_CROSSING_C, lw=3.0,
                                    label="Existing crossing / junction" + (_tag_span(feats, tags) if tagged else "")))


def _placement_label(panel: MapPanel, f: Feature, kind: str, text: str, radius_pt: float, color: str,
                     style: PlanStyle) -> None:
    """Register a placement symbol and queue its bold label (placed first)."""
    x, y = point(f.geometry)
    panel.labeler.add_symbol((x, y), radius_pt, hard=True, name=f"{kind}-{f.id}")
    # a layout written before currencies has cost_gbp (pounds) instead of cost and currency
    cost = fmt_money(f.props.get("cost", f.props.get("cost_gbp")), str(f.props.get("currency") or panel.metrics.currency))
    panel.labeler.request(mpl_text(f"{panel.tags.get(f.id, f.id)} {text}\n{cost}"), (x, y), radius_pt,
                          gid=panel.gid(f"label-{kind}-{f.id}"), priority=0, fontsize=style.placement_fontsize,
                          color=color, fontweight="bold", zorder=26, path_effects=HALO)


def _draw_crossings(panel: MapPanel, style: PlanStyle) -> None:
    """The new crossings the optimiser chose: a red line and a diamond at its middle."""
    feats = panel.layout.layer("crossing")
    for f in feats:
        _haloed_line(panel.ax, f, CROSSING_C, 4.0, 6.0, 13, panel.gid(f"crossing-{f.id}-line"))
        x, y = point(f.geometry)
        ln = panel.ax.plot([x], [y], marker="D", ms=9, mfc=CROSSING_C, mec="white", mew=1.2, ls="none", zorder=14)[0]
        ln.set_gid(panel.gid(f"crossing-{f.id}"))
        _placement_label(panel, f, "crossing", f"{nice_type(f.props.get('type'))} crossing", 6.0, CROSSING_C, style)
    if feats:
        panel.handles.append(Line2D([], [], color=CROSSING_C, lw=4.0, marker="D", ms=7, mfc=CROSSING_C, mec="white",
                                    label="New crossing (chosen)"))


def _draw_social_spaces(panel: MapPanel, style: PlanStyle) -> None:
    feats = panel.layout.layer("social_space")
    for f in feats:
        x, y = point(f.geometry)
        ln = panel.ax.plot([x], [y], marker="h", ms=15, mfc=SOCIAL_C, mec="white", mew=1.3, ls="none", zorder=15)[0]
        ln.set_gid(panel.gid(f"social-{f.id}"))
        _placement_label(panel, f, "social", "social space", 8.0, SOCIAL_C, style)
    if feats:
        panel.handles.append(Line2D([], [], marker="h", ms=12, mfc=SOCIAL_C, mec="white", ls="none",
                                    label="New social space"))


def _draw_facilities(panel: MapPanel, style: PlanStyle) -> None:
    feats = panel.layout.layer("facility")
    for f in feats:
        x, y = point(f.geometry)
        ln = panel.ax.plot([x], [y], marker="*", ms=21, mfc=FACILITY_C, mec=FACILITY_EC, mew=0.9, ls="none", zorder=16)[0]
        ln.set_gid(panel.gid(f"facility-{f.id}"))
        _placement_label(panel, f, "facility", nice_type(f.props.get("type")) or "facility", 9.5, FACILITY_TEXT_C, style)
    if feats:
        panel.handles.append(Line2D([], [], marker="*", ms=15, mfc=FACILITY_C, mec=FACILITY_EC, ls="none",
                                    label="New shared facility"))
