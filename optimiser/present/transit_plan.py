"""Drawing the transit layers of a run: alignments, stops and each stop's walking catchment
along the network (``layout.geojson`` layers ``transit_line``, ``transit_stop``,
``transit_catchment``; :mod:`optimiser.present.transit`).

:func:`draw_transit` adds them to a plan panel: the catchment with today's crossings as a
dashed outline, with the new crossings filled. :func:`catchment_figure` draws the two side by
side for the report. SVG ids: ``transit-stop-<id>``, ``catchment-<stop>-<phase>``.
"""

from __future__ import annotations

import logging
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch

from optimiser.present.basemap import draw_base
from optimiser.present.figure import (
    MapPanel,
    draw_north_arrow,
    draw_scale_bar,
    new_figure,
    note_illustrative,
    poly_path,
    setup_map,
)
from optimiser.present.formatting import fmt_num
from optimiser.present.labels import overlaps_any
from optimiser.present.layers import Extent, LayoutLike, lines, point
from optimiser.present.metrics import RunMetrics
from optimiser.present.plan_key import wrap_width
from optimiser.present.style import CROSSING_C, EXISTING_CROSSING_C, FIRM_C, TRANSIT_C, UNUSED_ALIGNMENT_C, under_text_rc
from optimiser.present.titles import wrap_title

logger = logging.getLogger(__name__)

CATCHMENT_FILL = (0.0, 0.54, 0.48, 0.16)


UNUSED_ALIGNMENT = "Alternative alignment (no new stop on it)"


def draw_transit(panel: MapPanel, phases: tuple[str, ...] = ("before", "after"), *, fill_all: bool = False) -> None:
    """Alignments, catchments of ``phases`` and stops on a map panel (legend entries added).

    The catchment with today's crossings is a dashed outline and the one with the new crossings
    filled, or (``fill_all``, one phase per panel) every catchment filled."""
    ax, lay = panel.ax, panel.layout
    aligns = lay.layer("transit_line")
    used = {f.text("line") for f in lay.layer("transit_stop") if f.text("status") == "new"}
    unused = [f for f in aligns if used and f.id not in used]  # an alternative the plan did not take
    for f in aligns:
        on = f not in unused
        for xy in lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=TRANSIT_C if on else UNUSED_ALIGNMENT_C, lw=2.2 if on else 1.3,
                    ls=(0, (6, 2)), alpha=0.85, zorder=6 if on else 5, gid=panel.gid(f"transit-line-{f.id}"))
    drawn = set()
    for f in lay.layer("transit_catchment"):
        phase = f.text("phase")
        if phase not in phases:
            continue
        path = poly_path(f.geometry)
        if path is None:
            continue
        after = phase == "after" or fill_all
        patch = PathPatch(path, fc=CATCHMENT_FILL if after else "none", ec=TRANSIT_C, lw=0.9 if after else 1.1,
                          ls="-" if after else (0, (3, 2)), zorder=3 if after else 4)
        patch.set_gid(panel.gid(f"catchment-{f.text('stop')}-{phase}"))
        ax.add_patch(patch)
        drawn.add(phase)
    stops = lay.layer("transit_stop")
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    existing_in_view = False
    for f in stops:
        x, y = point(f.geometry)
        new = f.text("status") == "new"
        existing_in_view |= not new and x0 <= x <= x1 and y0 <= y <= y1
        tag = panel.tags.get(f.id, "T") if new else ""
        beside = new and _crowded(panel, (x, y))
        ln = ax.plot([x], [y], marker="s", ms=(6 if beside else 11) if new else 8, mfc=TRANSIT_C if new else "white",
                     mec=TRANSIT_C if new else FIRM_C, mew=1.4, ls="none", zorder=17)[0]
        ln.set_gid(panel.gid(f"transit-stop-{f.id}"))
        font: dict[str, Any] = {"fontsize": 6.5 if len(tag) <= 2 else 5.5, "color": "white", "fontweight": "bold"}
        if beside:  # its tag would cover a firm's circle or a label: beside it, clear of them
            panel.labeler.request(tag, (x, y), 3.5, gid=panel.gid(f"transit-stop-tag-{f.id}"), priority=0, zorder=18,
                                  bbox={"boxstyle": "square,pad=0.3", "fc": TRANSIT_C, "ec": TRANSIT_C}, **font)
        elif new:  # its tag (T1, T2 ...) in the square, as the key and the report's tables name it
            ax.text(x, y, tag, ha="center", va="center", zorder=18, **font)
        panel.labeler.add_symbol((x, y), 3.5 if beside else 6.0, hard=True)
    catchment_m = next((f.number("catchment_m") for f in lay.layer("transit_catchment")), 0.0)
    if len(unused) < len(aligns):
        panel.handles.append(Line2D([], [], color=TRANSIT_C, lw=2.2, ls=(0, (6, 2)), label="Transit alignment"))
    if unused:
        panel.handles.append(Line2D([], [], color=UNUSED_ALIGNMENT_C, lw=1.3, ls=(0, (6, 2)), label=UNUSED_ALIGNMENT))
    if any(f.text("status") == "new" for f in stops):
        panel.handles.append(Line2D([], [], marker="s", ms=9, mfc=TRANSIT_C, mec=TRANSIT_C, ls="none", label="New stop"))
    if existing_in_view:  # one beyond the map's edge is not drawn: not in the legend either
        panel.handles.append(Line2D([], [], marker="s", ms=7, mfc="white", mec=FIRM_C, mew=1.4, ls="none",
                                    label="Existing stop"))
    if "before" in drawn:
        panel.handles.append(Patch(fc=CATCHMENT_FILL if fill_all else "none", ec=TRANSIT_C, ls="-" if fill_all else "--",
                                   label=f"{catchment_m:g} m walk, today's crossings"))
    if "after" in drawn:
        panel.handles.append(Patch(fc=CATCHMENT_FILL, ec=TRANSIT_C, label=f"{catchment_m:g} m walk, with new crossings"))


def _crowded(panel: MapPanel, xy: tuple[float, float]) -> bool:
    """Whether a new stop's tagged square (11 pt) at ``xy`` would cover a firm's circle or a label
    already placed (the labeler's obstacles)."""
    box = panel.labeler.marker_box(xy, 6.5)
    return overlaps_any(box, panel.labeler.soft + panel.labeler.hard) > 0


def _catchment_title(metrics: RunMetrics) -> str:
    """The figure's heading: the scenario, the catchment walk and the staff it covers."""
    t = metrics.transit
    head = f"{metrics.scenario.name or metrics.scenario.id or 'Scenario'}: walking catchments of the transit stops"
    head = wrap_title(head)  # a name of up to 200 characters
    if t is None:
        return head
    bits = [f"{fmt_num(t.catchment_m)} m along the walking network"]
    if t.covered_employees is not None and t.total_employees:
        bits.append(f"staff within it: {fmt_num(t.covered_employees)} of {fmt_num(t.total_employees)} "
                    f"with the new crossings")
    if t.covered_employees_existing_crossings_only is not None:
        bits.append(f"{fmt_num(t.covered_employees_existing_crossings_only)} with the best stops for today's "
                    "crossings only (a separate solve, not drawn)")
    return head + "\n" + "\n".join(wrap_width("; ".join(bits), 150))  # the figure is about 150 characters wide


def _catchment_legend(metrics: RunMetrics, drawn: set[str]) -> list[Artist]:
    """One legend for both panels: alignment, stops, catchment, firms and crossings, each when
    ``drawn`` (the labels of :func:`draw_transit`'s legend, ``existing_crossing``, ``crossing``)."""
    t = metrics.transit
    walk = f"{fmt_num(t.catchment_m)} m" if t is not None else "the catchment walk"
    out: list[Artist] = [
        Line2D([], [], color=TRANSIT_C, lw=2.2, ls=(0, (6, 2)), label="Transit alignment"),
        Line2D([], [], color=UNUSED_ALIGNMENT_C, lw=1.3, ls=(0, (6, 2)), label=UNUSED_ALIGNMENT),
        Line2D([], [], marker="s", ms=9, mfc=TRANSIT_C, mec=TRANSIT_C, ls="none", label="New stop (T1, T2 ... as on the plan)"),
        Line2D([], [], marker="s", ms=7, mfc="white", mec=FIRM_C, mew=1.4, ls="none", label="Existing stop"),
        Patch(fc=CATCHMENT_FILL, ec=TRANSIT_C, label=f"Catchment: streets within {walk} walk of a stop"),
        Line2D([], [], marker="o", ms=5, mfc=FIRM_C, mec="white", ls="none", label="Firm"),
        Line2D([], [], color=EXISTING_CROSSING_C, lw=2.0, label="Existing crossing / junction"),
        Line2D([], [], color=CROSSING_C, lw=2.0, label="New crossing (right panel)"),
    ]
    keys = ["Transit alignment", UNUSED_ALIGNMENT, "New stop", "Existing stop", "catchment", "firm", "existing_crossing", "crossing"]
    return [h for h, k in zip(out, keys, strict=True) if k in drawn]


@under_text_rc
def catchment_figure(layout: LayoutLike, metrics: RunMetrics, extent: Extent | None = None) -> Figure | None:
    """Two panels, the stops' walking catchments with today's crossings and with the new ones
    (None when the layout has no catchment), under a heading with the catchment walk and the staff
    it covers, each with a north arrow and scale bar, and one legend below them."""
    fig = new_figure((13.0, 7.0))
    axes: list[Axes] = [fig.add_axes((0.01 + 0.5 * k, 0.1, 0.47, 0.74)) for k in range(2)]
    any_drawn = False
    drawn = {"catchment"}
    for ax, phase, title in zip(axes, ("before", "after"), ("The plan's stops with today's crossings",
                                                             "The plan's stops with the new crossings")):
        panel = setup_map(ax, layout, metrics, extent, gid_prefix=f"{phase}-")
        if not panel.layout.layer("transit_catchment"):
            return None
        draw_base(ax, panel.layout, faint=True)
        for f in panel.layout.layer(*(("existing_crossing", "crossing") if phase == "after" else ("existing_crossing",))):
            for xy in lines(f.geometry):
                ax.plot(xy[:, 0], xy[:, 1], color=CROSSING_C if f.layer == "crossing" else EXISTING_CROSSING_C,
                        lw=2.0, zorder=8)
            drawn.add(f.layer)
        for f in panel.layout.layer("firm"):
            x, y = point(f.geometry)
            ax.plot([x], [y], marker="o", ms=4, mfc=FIRM_C, mec="white", ls="none", zorder=9)
            panel.labeler.add_symbol((x, y), 2.5, hard=False)  # a stop's tag keeps off it
            drawn.add("firm")
        draw_transit(panel, (phase,), fill_all=True)
        panel.labeler.place()
        drawn.update(str(h.get_label()) for h in panel.handles)
        draw_scale_bar(ax)
        draw_north_arrow(ax)
        note_illustrative(ax, metrics)
        if phase == "after" and not panel.layout.layer("crossing"):
            title += " (none built: as today)"
        ax.set_title(title, fontsize=11)
        any_drawn = True
    if not any_drawn:
        return None
    fig.legend(handles=_catchment_legend(metrics, drawn), loc="lower center", ncols=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(_catchment_title(metrics), x=0.012, y=0.985, ha="left", va="top", fontsize=11.5, linespacing=1.4)
    return fig
