"""The distance map: each firm coloured by its change in walking distance (or its walk after /
before), over a faint base map, with the new crossings and facilities for reference."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optimiser.present.basemap import draw_base
from optimiser.present.figure import MapPanel, draw_north_arrow, draw_scale_bar, new_figure, note_illustrative, setup_map
from optimiser.present.formatting import nice_type
from optimiser.present.labels import renderer
from optimiser.present.layers import (
    Extent,
    Layout,
    LayoutLike,
    RunData,
    as_drawable,
    as_layout,
    firm_numbers,
    lines,
    point,
)
from optimiser.present.metrics import RunMetrics
from optimiser.present.plan_key import ACCURACY_NOTE, KeyColumn, draw_key, firm_section
from optimiser.present.style import (
    CROSSING_C,
    DISTANCE_RECT,
    DISTANCE_SIZE,
    EXISTING_CROSSING_C,
    EXISTING_FACILITY_C,
    EXISTING_TEXT_C,
    FACILITY_C,
    FACILITY_EC,
    FACILITY_TEXT_C,
    HALO,
    LABEL_C,
    PLAN_DPI,
    SIDE_GAP_IN,
    PlanStyle,
    under_text_rc,
)
from optimiser.present.titles import wrap_title

logger = logging.getLogger(__name__)

__all__ = ["draw_distance_map", "distance_figure", "firm_change_values", "distance_values", "distance_limits",
           "distance_norm", "DISTANCE_KINDS", "DISTANCE_LABELS", "DISTANCE_SUBTITLES"]

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
DISTANCE_KINDS = tuple(DISTANCE_LABELS)
DIVERGING_KINDS = ("change", "pairs")


def _facility_walks(layout: Layout) -> tuple[dict[str, float], dict[str, float]]:
    """Per firm, the walk (m) to the nearest shared facility of any type, before and after."""
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for f in layout.layer("facility_walk"):
        key = str(f.props.get("firm", f.props.get("id", "")))
        for src, dst in (("before_m", before), ("after_m", after)):
            v = f.props.get(src)
            if isinstance(v, int | float) and math.isfinite(v):
                dst[key] = min(dst.get(key, math.inf), float(v))
    return before, after


def _firm_rows_values(run: RunData, kind: str) -> dict[str, float]:
    """The facility walks of ``firms.csv`` (when the layout has no ``facility_walk`` layer)."""
    vals: dict[str, float] = {}
    col = {"change": None, "after": "facility_walk_after_m", "before": "facility_walk_before_m"}[kind]
    for r in run.firms:
        b, a = r.get("facility_walk_before_m"), r.get("facility_walk_after_m")
        if col is None and isinstance(a, int | float) and isinstance(b, int | float):
            vals[str(r["firm"])] = float(a) - float(b)
        elif col and isinstance(r.get(col), int | float):
            vals[str(r["firm"])] = float(r[col])
    return vals


def _pair_change_values(run: RunData) -> dict[str, float]:
    """Per firm, the interaction-weighted mean change (m) in its walks to the other firms."""
    num: dict[str, float] = {}
    den: dict[str, float] = {}
    for r in run.pairs:
        w = float(r.get("weight") or 0.0)
        ch = r.get("change_m")
        if ch is None and isinstance(r.get("after_m"), int | float) and isinstance(r.get("before_m"), int | float):
            ch = float(r["after_m"]) - float(r["before_m"])
        if not isinstance(ch, int | float) or w <= 0:
            continue
        for k in (str(r["a"]), str(r["b"])):
            num[k] = num.get(k, 0.0) + w * float(ch)
            den[k] = den.get(k, 0.0) + w
    return {k: num[k] / den[k] for k in num if den[k] > 0}


def firm_change_values(run: LayoutLike, metrics: RunMetrics, kind: str = "change") -> dict[str, float]:
    """Per-firm values (m) for the distance map, by firm id.

    Args:
        run: a :class:`RunData` (needed for ``pairs``), or a layout.
        metrics: the run's metrics (the site CRS of a raw layout).
        kind: ``change`` (after - before walk to the nearest shared facility), ``after``, ``before``
            or ``pairs`` (change in the firm's weighted mean walk to the other firms).

    Raises:
        ValueError: an unknown ``kind``, or ``pairs`` without a :class:`RunData`.
    """
    run = as_drawable(run)
    if kind in ("change", "after", "before"):
        before, after = _facility_walks(as_layout(run, metrics))
        if kind == "change":
            vals = {k: after[k] - before[k] for k in after if k in before}
        else:
            vals = dict(after if kind == "after" else before)
        if not vals and isinstance(run, RunData):
            vals = _firm_rows_values(run, kind)
        return vals
    if kind == "pairs":
        if not isinstance(run, RunData):
            raise ValueError("kind='pairs' needs a RunData (pairs.csv)")
        return _pair_change_values(run)
    raise ValueError(f"unknown distance-map kind {kind!r}: use change, after, before or pairs")


def distance_values(run: LayoutLike, metrics: RunMetrics, kind: str = "change",
                    fallback: bool = True) -> tuple[str, dict[str, float]]:
    """The kind a distance map of ``run`` shows and its per-firm values: ``kind``, except that
    (with ``fallback``) ``change`` falls back to ``pairs`` when no firm has a walk to a shared
    facility before and after (a site with no facilities before: every firm would be "n/a") and
    the run has pairs. Without ``fallback`` the kind is kept (a comparison draws every panel in
    the one kind its shared colour scale is for).

    The one place :func:`draw_distance_map` and :func:`distance_figure` choose the kind.

    Raises:
        ValueError: as :func:`firm_change_values`.
    """
    run = as_drawable(run)
    vals = firm_change_values(run, metrics, kind)
    if fallback and kind == "change" and not vals and isinstance(run, RunData) and run.pairs:
        pairs = _pair_change_values(run)
        if pairs:
            logger.info("no firm has a walk to a shared facility before and after: the distance map shows the change "
                        "in each firm's weighted mean walk to the other firms (kind 'pairs')")
            return "pairs", pairs
    if not vals and as_layout(run, metrics).layer("firm"):
        logger.warning("no firm has a value for the distance map (kind %r): every firm is drawn as n/a", kind)
    return kind, vals


def distance_limits(values: Iterable[float], kind: str = "change") -> tuple[float, float]:
    """Colour limits (m): symmetric about 0 for changes, 0 to the largest value otherwise."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if kind in DIVERGING_KINDS:
        m = max(max([abs(x) for x in v] or [1.0]), 1.0)
        return (-m, m)
    return (0.0, max(v or [1.0]))


def distance_norm(kind: str, vlim: tuple[float, float]) -> tuple[Normalize, Colormap]:
    """The colour normalisation and colormap of a distance map: diverging about 0 (blue shorter,
    red longer) for changes, sequential otherwise."""
    lo, hi = vlim
    if kind in DIVERGING_KINDS:
        return TwoSlopeNorm(vcenter=0.0, vmin=min(lo, -1e-6), vmax=max(hi, 1e-6)), matplotlib.colormaps["RdBu_r"]
    return Normalize(vmin=lo, vmax=max(hi, lo + 1e-6)), matplotlib.colormaps["viridis_r"]


def draw_distance_map(ax: Axes, layout: LayoutLike, metrics: RunMetrics, *, kind: str = "change",
                      extent: Extent | None = None, vlim: tuple[float, float] | None = None,
                      style: PlanStyle | None = None, title: bool = True, colorbar: bool = True,
                      gid_prefix: str = "", fallback: bool = True) -> Figure:
    """A second plan: each firm coloured by its change in walking distance; returns the figure.

    Args:
        ax: the axes to draw on.
        layout: a :class:`RunData` or the ``RunResult`` of ``run_scenario`` (needed for
            ``pairs``), a :class:`Layout` or a FeatureCollection.
        metrics: the run's metrics.
        kind: ``change`` (walk to the nearest shared facility, after - before), ``after``,
            ``before`` or ``pairs`` (weighted mean walk to the other firms). ``change`` becomes
            ``pairs`` when no firm has a facility walk before and after (no facilities before)
            and ``layout`` is a :class:`RunData` with pairs, as in :func:`distance_figure`
            (:func:`distance_values`) unless ``fallback`` is false (compare: one kind and
            scale for every panel); the colour bar and title then say ``pairs``. A map with
            no value for any firm logs a warning.
        extent: (xmin, ymin, xmax, ymax) in metres; None: the site's default extent.
        vlim: fixed colour limits (m) (compare uses one for every panel); None: from the values.
        style, title, colorbar, gid_prefix: as for :func:`optimiser.present.plan.draw_plan`.

    Raises:
        ValueError: an unknown ``kind``.
    """
    style = style or PlanStyle()
    layout = as_drawable(layout)
    panel = setup_map(ax, layout, metrics, extent, gid_prefix)
    draw_base(ax, panel.layout, faint=True)
    kind, vals = distance_values(layout, metrics, kind, fallback)
    if not metrics.solved:  # no layout: nothing changed, and 'no change' on every firm would say otherwise
        vals = {}
        ax.text(0.5, 0.5, f"No layout ({metrics.status}): no change to show", transform=ax.transAxes, ha="center",
                va="center", fontsize=11, color="#333333", zorder=30,
                bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#999999", "alpha": 0.92})
    norm, cmap = distance_norm(kind, vlim or distance_limits(vals.values(), kind))
    _draw_references(panel, style)
    unchanged = metrics.solved and kind in DIVERGING_KINDS and bool(vals) and all(abs(v) < 0.5 for v in vals.values())
    if unchanged:  # one note, not 'no change' beside every firm
        ax.text(0.5, 0.975, "No firm's walk to the others changes: nothing built shortens a walk between firms"
                + ("\n(the new stops' walking catchments are in the catchment map)" if metrics.transit is not None else ""),
                transform=ax.transAxes, ha="center", va="top", fontsize=9, color="#333333", zorder=30, linespacing=1.4,
                bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "#999999", "alpha": 0.92})
    _draw_firm_values(panel, style, vals, norm, cmap, kind in DIVERGING_KINDS, numbers_only=unchanged)
    if any(f.id not in vals for f in panel.layout.layer("firm")):  # a grey circle drawn: said what it is
        panel.handles.append(Line2D([], [], marker="o", ms=9, mfc="#cccccc", mec="#333333", ls="none",
                                    label="Firm (no value)"))
    draw_scale_bar(ax, panel.labeler)
    draw_north_arrow(ax, panel.labeler)
    note_illustrative(ax, metrics, panel.labeler)
    panel.labeler.place()
    fig = ax.figure
    assert isinstance(fig, Figure)
    if colorbar:
        if not unchanged:  # a bar of -1 m to +1 m would colour a change there is none of
            cax = ax.inset_axes((1.02, 0.36, 0.025, 0.62))  # inset: does not steal space from ``ax``
            cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
            cb.set_label(DISTANCE_LABELS[kind], fontsize=8)
            cb.ax.tick_params(labelsize=7)
        if panel.handles:
            ax.legend(handles=panel.handles, loc="lower left", bbox_to_anchor=(1.02, 0.0), fontsize=7.5,
                      frameon=False, borderaxespad=0.0, labelspacing=0.8)
    ax._siteopt_norm = norm  # type: ignore[attr-defined]
    if title:
        name = metrics.scenario.name or metrics.scenario.id or "Scenario"
        label = DISTANCE_LABELS[kind]
        sub = DISTANCE_SUBTITLES[kind]
        if kind == "pairs" and metrics.solved and metrics.walk.pairs_newly_connected:  # else 'no change' misleads
            n = metrics.walk.pairs_newly_connected
            sub += f"\n{n:,} firm pair{' is' if n == 1 else 's are'} newly connected (no walk before): in no firm's value."
        ax.set_title(wrap_title(f"{name}: {label[0].lower()}{label[1:]}\n{sub}"), loc="left", fontsize=11, pad=8,
                     linespacing=1.5)
    return fig


def _draw_references(panel: MapPanel, style: PlanStyle) -> None:
    """New and existing crossings and facilities, for orientation (no costs)."""
    ax, lay, labeler = panel.ax, panel.layout, panel.labeler
    for f in lay.layer("crossing"):  # as on the plan: a red line, a diamond at its middle, its tag
        for xy in lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=CROSSING_C, lw=3.5, zorder=13, solid_capstyle="butt")
        x, y = point(f.geometry)
        ax.plot([x], [y], marker="D", ms=7, mfc=CROSSING_C, mec="white", mew=1.0, ls="none",
                zorder=14)[0].set_gid(panel.gid(f"dist-crossing-{f.id}"))
        labeler.add_symbol((x, y), 5.0, hard=True)
        labeler.request(panel.tags.get(f.id, f.id), (x, y), 5.0, priority=0, fontsize=style.label_fontsize,
                        color=CROSSING_C, fontweight="bold", zorder=26, path_effects=HALO)
    for f in lay.layer("existing_crossing"):
        for xy in lines(f.geometry):
            ax.plot(xy[:, 0], xy[:, 1], color=EXISTING_CROSSING_C, lw=2.5, zorder=12, solid_capstyle="butt")
    for f in lay.layer("facility"):
        x, y = point(f.geometry)
        ax.plot([x], [y], marker="*", ms=17, mfc=FACILITY_C, mec=FACILITY_EC, mew=0.8, ls="none",
                zorder=16)[0].set_gid(panel.gid(f"dist-facility-{f.id}"))
        labeler.add_symbol((x, y), 8.0)
        labeler.request(f"{panel.tags.get(f.id, f.id)} {nice_type(f.props.get('type')) or 'facility'}", (x, y), 8.0,
                        priority=0, fontsize=style.label_fontsize, color=FACILITY_TEXT_C, fontweight="bold", zorder=26,
                        path_effects=HALO)
    if lay.layer("facility"):
        panel.handles.append(Line2D([], [], marker="*", ms=12, mfc=FACILITY_C, mec=FACILITY_EC, ls="none",
                                    label="New shared facility"))
    for f in lay.layer("existing_facility"):
        x, y = point(f.geometry)
        ax.plot([x], [y], marker="P", ms=7, mfc=EXISTING_FACILITY_C, mec="white", ls="none", zorder=11)
        labeler.add_symbol((x, y), 4.0)
        labeler.request(nice_type(f.props.get("type") or "facility") + " (existing)", (x, y), 4.0,
                        priority=1, fontsize=style.label_fontsize - 0.5, color=EXISTING_TEXT_C, zorder=23,
                        path_effects=HALO, style="italic")
    if lay.layer("existing_facility"):
        panel.handles.append(Line2D([], [], marker="P", ms=8, mfc=EXISTING_FACILITY_C, mec="white", ls="none",
                                    label="Existing facility"))
    if lay.layer("crossing"):
        panel.handles.append(Line2D([], [], color=CROSSING_C, lw=3.5, marker="D", ms=6, mfc=CROSSING_C, mec="white",
                                    label="New crossing (chosen)"))
    if lay.layer("existing_crossing"):
        panel.handles.append(Line2D([], [], color=EXISTING_CROSSING_C, lw=2.5, label="Existing crossing"))


def _value_text(value_m: float | None, diverging: bool) -> str:
    if value_m is None:
        return "n/a"
    if diverging:
        return "no change" if abs(value_m) < 0.5 else f"{value_m:+,.0f} m".replace("-", "−")
    return f"{value_m:,.0f} m"


def _draw_firm_values(panel: MapPanel, style: PlanStyle, vals: dict[str, float], norm: Normalize, cmap: Colormap,
                      diverging: bool, numbers_only: bool = False) -> None:
    """Firm circles in the value's colour (grey: no value), labelled with the firm's site number
    (the plan's and the key's) and its value (``numbers_only``: the number alone, when no value
    changed and one note says so)."""
    firms = panel.layout.layer("firm")
    numbers = firm_numbers(panel.layout)
    emp_max = max([f.number("employees") for f in firms] or [1.0])
    for f in firms:
        x, y = point(f.geometry)
        r = style.firm_radius_pt(f.number("employees"), emp_max) + 1.5
        v = vals.get(f.id)
        colour: Any = "#cccccc" if v is None else cmap(norm(v))
        panel.ax.plot([x], [y], marker="o", ms=2 * r, mfc=colour, mec="#333333", mew=0.7, ls="none",
                      zorder=14)[0].set_gid(panel.gid(f"dist-firm-{f.id}"))
        panel.labeler.add_symbol((x, y), r, hard=False)
    for f in sorted(firms, key=lambda f: -f.number("employees")):
        v = vals.get(f.id)
        if not style.distance_names and (v is None or (diverging and abs(v) < 0.5)):
            continue
        x, y = point(f.geometry)
        r = style.firm_radius_pt(f.number("employees"), emp_max) + 1.5
        text = str(numbers[f.id]) if numbers_only else f"{numbers[f.id]}: {_value_text(v, diverging)}"
        panel.labeler.request(text, (x, y), r, gid=panel.gid(f"dist-label-firm-{f.id}"),
                              fontsize=style.label_fontsize - 0.5, color=LABEL_C, zorder=24, path_effects=HALO)


@under_text_rc
def distance_figure(run: RunData, kind: str = "change", **kwargs: Any) -> Figure:
    """The figure written as ``distance.png`` / ``distance.svg``: ``change``, or ``pairs`` when the
    run has no facility walks (:func:`distance_values`; ``kwargs`` go to :func:`draw_distance_map`)."""
    fig = new_figure(DISTANCE_SIZE, PLAN_DPI)
    ax = fig.add_axes(DISTANCE_RECT)
    ax.set_gid("distance")
    draw_distance_map(ax, run, run.metrics, kind=kind, **kwargs)
    _draw_firm_key(fig, ax, run)
    return fig


def _draw_firm_key(fig: Figure, ax: Axes, run: RunData) -> None:
    """The firms by number and full name (the plan's key section), in a column right of the
    colour bar and the legend."""
    section = firm_section(run.layout, f"Firms (number on the map · staff{ACCURACY_NOTE})")
    if not section.entries:
        return
    w_in, h_in = fig.get_size_inches()
    pos = ax.get_position()
    drawn = ax.get_tightbbox(renderer(fig))  # the map, its colour bar and its legend
    x_in = (drawn.x1 / fig.dpi if drawn is not None else pos.x1 * w_in) + SIDE_GAP_IN
    draw_key(fig, [(section, [KeyColumn(x_in, max(w_in - x_in - 0.1, 1.0), pos.y1 * h_in, pos.y0 * h_in)])])
