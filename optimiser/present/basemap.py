"""The base map under every plan: parcels by status, barriers (roads, railways, water and others,
drawn by kind, hatched when no-build, active or not), footpaths, and the barriers' names and
kinds along their lines and in the legend ("I-880 (motorway)", "Union Pacific/BART (rail, no-build)")."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from optimiser.inputs.domain import BarrierKind
from optimiser.present.figure import poly_path
from optimiser.present.labels import Labeler, overlaps_any, renderer
from optimiser.present.layers import (
    Feature,
    Layout,
    barrier_band,
    barrier_kind,
    barrier_legend_label,
    is_active,
    is_no_build,
    lines,
)
from optimiser.present.style import CARRIAGEWAY_FC, HALO, PATH_C, RAIL_EC, WATER_EC, WATER_FC, parcel_style

logger = logging.getLogger(__name__)

LEGEND_WRAP = 38
"""Characters per line of a barrier's legend entry (its full name, wrapped)."""

__all__ = ["draw_base", "draw_barrier_labels", "barrier_label"]


class _Legend:
    """Legend handles without repeats (one per label)."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.seen: set[str] = set()

    def add(self, handle: Any) -> None:
        label = handle.get_label()
        if label not in self.seen:
            self.seen.add(label)
            self.handles.append(handle)


def draw_base(ax: Axes, layout: Layout, *, faint: bool = False) -> list[Any]:
    """Parcels, barriers and paths (``faint`` for a map whose subject is drawn over them).

    Returns:
        The legend handles of what was drawn.
    """
    legend = _Legend()
    alpha = 0.55 if faint else 1.0
    _draw_parcels(ax, layout, alpha, legend)
    for f in layout.layer("barrier"):
        kind = barrier_kind(f)
        if kind is not None and kind.is_road:
            _draw_carriageway(ax, f, alpha, legend)
        elif kind == BarrierKind.WATER:
            _draw_water(ax, f, alpha, legend)
        else:
            _draw_corridor(ax, f, alpha, legend)
    paths = [xy for f in layout.layer("path") for xy in lines(f.geometry)]
    if paths:
        ax.add_collection(LineCollection(paths, colors=PATH_C, linewidths=0.8, alpha=0.8 * alpha, zorder=4,
                                         capstyle="round"))
        legend.handles.append(Line2D([], [], color=PATH_C, lw=0.8, label="Footpath / footway"))
    return legend.handles


def _draw_parcels(ax: Axes, layout: Layout, alpha: float, legend: _Legend) -> None:
    """Parcels, one path collection per status (one artist each, not one per parcel)."""
    by_status: dict[str, list[Any]] = {}
    for f in layout.layer("parcel"):
        path = poly_path(f.geometry)
        if path is not None:
            by_status.setdefault(str(f.props.get("status")), []).append(path)
    for status, paths in by_status.items():
        st = parcel_style(status)
        coll = PathCollection(paths, facecolors=st.fc, edgecolors=st.ec, linewidths=0.7, hatch=st.hatch, alpha=alpha,
                              zorder=1)
        if st.hatch and hasattr(coll, "set_hatch_linewidth"):
            coll.set_hatch_linewidth(0.4)
        ax.add_collection(coll, autolim=False)
        legend.add(Patch(fc=st.fc, ec=st.ec, hatch=st.hatch, label=st.label))


def _band(f: Feature) -> Any:
    return poly_path(barrier_band(f))


def _draw_carriageway(ax: Axes, f: Feature, alpha: float, legend: _Legend) -> None:
    path = _band(f)
    if path is None:
        return
    active = is_active(f)
    ax.add_patch(PathPatch(path, fc=CARRIAGEWAY_FC, ec="#3d4650", lw=0.6, alpha=(0.85 if active else 0.25) * alpha,
                           zorder=3, ls="-" if active else "--"))
    for xy in lines(f.geometry):
        ax.plot(xy[:, 0], xy[:, 1], color="white", lw=0.7, ls=(0, (6, 6)), zorder=3.1, alpha=0.9)
    legend.add(Patch(fc=CARRIAGEWAY_FC, ec="#3d4650", alpha=0.85 if active else 0.25, hatch="///" if is_no_build(f) else None,
                     label=barrier_legend_label(f, LEGEND_WRAP)))


def _draw_water(ax: Axes, f: Feature, alpha: float, legend: _Legend) -> None:
    path = _band(f)
    if path is None:
        return
    active = is_active(f)
    hatch = "///" if is_no_build(f) else None
    ax.add_patch(PathPatch(path, fc=WATER_FC, ec=WATER_EC, lw=0.8, hatch=hatch, alpha=(0.8 if active else 0.3) * alpha,
                           zorder=2.5, ls="-" if active else "--"))
    legend.add(Patch(fc=WATER_FC, ec=WATER_EC, hatch=hatch, alpha=0.8 if active else 0.3, label=barrier_legend_label(f, LEGEND_WRAP)))


def _draw_corridor(ax: Axes, f: Feature, alpha: float, legend: _Legend) -> None:
    path = _band(f)
    if path is None:
        return
    hatch = "///" if is_no_build(f) else None
    if is_active(f):
        ax.add_patch(PathPatch(path, fc="#f3dfcf", ec=RAIL_EC, lw=0.9, hatch=hatch, alpha=0.55 * alpha, zorder=2.5))
        for xy in lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=RAIL_EC, lw=1.2, ls="-.", zorder=2.6, alpha=0.9)
        legend.add(Patch(fc="#f3dfcf", ec=RAIL_EC, hatch=hatch, alpha=0.7, label=barrier_legend_label(f, LEGEND_WRAP)))
    else:
        ax.add_patch(PathPatch(path, fc="none", ec=RAIL_EC, lw=0.7, ls=(0, (4, 4)), alpha=0.35, zorder=2.5))
        legend.add(Patch(fc="none", ec=RAIL_EC, ls="--", alpha=0.5, label=barrier_legend_label(f, LEGEND_WRAP)))


def barrier_label(f: Feature) -> str:
    """The name and kind written along a barrier, e.g. ``"I-880 (motorway)"`` (``inactive`` added
    when the scenario switches it off): the full name, never cut."""
    kind = barrier_kind(f)
    name = " ".join(str(f.props.get("name") or f.props.get("id") or f.props.get("kind", "")).split())
    notes = [kind.label] if kind is not None and f"({kind.label.lower()})" not in name.lower() else []
    notes += [] if is_active(f) else ["inactive"]
    return name + (f" ({', '.join(notes)})" if notes else "")


def draw_barrier_labels(ax: Axes, layout: Layout, labeler: Labeler) -> None:
    """Name each barrier along its line, at a spot clear of every symbol and label already placed
    (on one line, or two when that is what fits); a name that fits nowhere is left to the legend,
    which always gives it in full."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = shapely.box(x0, y0, x1, y1).buffer(-0.04 * (x1 - x0))
    for f in layout.layer("barrier"):
        if _band(f) is None:  # nothing drawn, nothing to name
            continue
        vis = f.geometry.intersection(view)
        parts = lines(vis) if not vis.is_empty else []
        if not parts:
            continue
        geom = shapely.LineString(max(parts, key=len))
        name = barrier_label(f)
        texts = [name] + ([_two_lines(name)] if len(name) > 30 else [])
        for text in texts:
            best = _best_barrier_label(ax, f, geom, text, labeler)
            if best is not None:
                best[0].set_gid(f"barrier-label-{f.id}")
                labeler.add_box(best[1])
                break


def _two_lines(text: str) -> str:
    """``text`` broken at the space nearest its middle."""
    mid = len(text) // 2
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return text
    i = min(spaces, key=lambda k: abs(k - mid))
    return text[:i] + "\n" + text[i + 1:]


def _angle_deg(ax: Axes, geom: shapely.LineString, frac: float) -> tuple[float, float, float]:
    """Position and text angle (degrees, kept upright) along ``geom`` at ``frac`` of its length."""
    p = geom.interpolate(frac, normalized=True)
    q = geom.interpolate(min(frac + 0.01, 1.0), normalized=True)
    a, b = ax.transData.transform(np.array([(p.x, p.y), (q.x, q.y)]))
    ang = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    if ang > 90:
        ang -= 180
    elif ang < -90:
        ang += 180
    return float(p.x), float(p.y), ang


def _best_barrier_label(ax: Axes, f: Feature, geom: shapely.LineString, name: str,
                        labeler: Labeler) -> tuple[Text, Bbox] | None:
    """The label at the first spot along the line where its box is inside the map and clear of
    every hard obstacle; None (nothing drawn) when there is no such spot."""
    rend = renderer(ax.figure)
    axbox = ax.get_window_extent(rend)
    kind = barrier_kind(f)
    road = kind is not None and kind.is_road
    t = ax.text(0.0, 0.0, name, rotation_mode="anchor", ha="center", va="center", fontsize=7.5,
                color="white" if road else (WATER_EC if kind == BarrierKind.WATER else RAIL_EC),
                fontweight="bold", zorder=20, style="italic", linespacing=1.1)
    if not road:
        t.set_path_effects(HALO)
    for frac in (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6):
        x, y, ang = _angle_deg(ax, geom, frac)
        t.set_position((x, y))
        t.set_rotation(ang)
        bb = t.get_window_extent(rend)
        inside = axbox.x0 <= bb.x0 and bb.x1 <= axbox.x1 and axbox.y0 <= bb.y0 and bb.y1 <= axbox.y1
        if inside and overlaps_any(bb, labeler.hard) == 0:
            return t, bb
    t.remove()
    return None
