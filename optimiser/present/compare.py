"""Side-by-side comparison of several runs: ``compare.png`` (+ ``compare.svg``) and a
self-contained ``compare.html`` (template ``templates/compare.html.j2``).

Runs of one site share one extent (the union of their extents); runs of different sites get one
panel each with its own extent and scale bar. Every panel uses the same firm marker-size scale
(largest firm over all runs) and the same colour limits on the distance maps.

A table of key metrics marks the best run per row only where a comparison is fair
(:func:`comparability`): never for a run without a layout (infeasible, no solution), and not at
all when the runs are on different sites or start from different baselines (the page says why).
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from optimiser.errors import FileReadError, InputError, Problem, ValidationError
from optimiser.present.basemap import LEGEND_WRAP
from optimiser.present.buys import compare_buys_table, item_names
from optimiser.present.distance import DISTANCE_LABELS, distance_limits, distance_norm, draw_distance_map, firm_change_values
from optimiser.present.figure import new_figure, save_figure
from optimiser.present.formatting import as_float, fmt_m, fmt_money, fmt_num, fmt_pct, mpl_text, reduction_text
from optimiser.present.futures import futures_view
from optimiser.present.interactive import map_views
from optimiser.present.labels import renderer
from optimiser.present.layers import Extent, RunData, default_extent, union_extent
from optimiser.present.map_style import shared_legend
from optimiser.present.metrics import RunMetrics
from optimiser.present.plan import draw_plan
from optimiser.present.plan_key import (
    ACCURACY_NOTE,
    KeyColumn,
    KeySection,
    draw_key,
    firm_section,
    one_size_row,
    site_sections,
    spaced_handles,
    wrap_width,
)
from optimiser.present.report import Cell, Header, Table, data_uri_png, render_page
from optimiser.present.rundir import load_run
from optimiser.present.staging import (
    created_parents,
    is_disk_full,
    move_into,
    output_write_errors,
    parents_error,
    remove_stage,
    stage_for_render,
    write_new_file,
)
from optimiser.present.style import PLAN_DPI, PlanStyle, under_text_rc
from optimiser.present.titles import wrap_title

logger = logging.getLogger(__name__)

__all__ = ["compare_runs", "compare_figure", "METRIC_ROWS", "MetricRow", "best_indices", "metric_rows", "firm_keys"]


@dataclass(frozen=True)
class MetricRow:
    """One row of the key-metrics table: how to read it from a run and which way is better."""

    label: str
    value: Callable[[RunMetrics], Any]
    lower_is_better: bool | None  # None: informational, no best marked
    fmt: Callable[[Any], str]
    optional: bool = False
    """Left out when no run has a value (coverage without a coverage target)."""
    money: bool = False
    """An amount in the run's currency: written with it, never starred across currencies."""
    shown_if: Callable[[Sequence[RunMetrics]], bool] | None = None
    """Left out unless this holds of the runs' metrics (the rows about pairs newly connected:
    only when a run has any)."""

    def text(self, value: Any, m: RunMetrics) -> str:
        """The value as the table writes it for run ``m`` (money in ``m``'s currency)."""
        return fmt_money(value, m.currency) if self.money else self.fmt(value)


def _any_newly_connected(runs: Sequence[RunMetrics]) -> bool:
    """Some run has firm pairs with no walk before and one after (``walk.pairs_newly_connected``)."""
    return any((m.walk.pairs_newly_connected or 0) > 0 for m in runs)


METRIC_ROWS: tuple[MetricRow, ...] = (
    MetricRow("Weighted mean walk after", lambda m: m.walk.optimised_weighted_mean_m, True, fmt_m),
    MetricRow("Weighted mean walk before", lambda m: m.walk.baseline_weighted_mean_m, None, fmt_m),
    MetricRow("Firm pairs newly connected (no walk before)", lambda m: m.walk.pairs_newly_connected, False,
              lambda v: fmt_num(v) if as_float(v) is not None else "–", shown_if=_any_newly_connected),
    MetricRow("Weighted mean walk of the pairs newly connected", lambda m: m.walk.newly_connected_weighted_mean_m, None,
              fmt_m, shown_if=_any_newly_connected),
    MetricRow("Reduction", lambda m: m.walk.reduction_pct, False, lambda v: fmt_pct(v)),
    MetricRow("Mean detour ratio after", lambda m: m.walk.optimised_mean_detour, True, lambda v: fmt_num(v, 3)),
    MetricRow("Coverage share after", lambda m: m.coverage.optimised_share if m.coverage else None, False,
              lambda v: fmt_pct(v, share=True), optional=True),
    MetricRow("Capital cost", lambda m: m.cost.capital, True, fmt_money, money=True),
    MetricRow("Budget", lambda m: m.cost.budget, None, fmt_money, money=True),
    MetricRow("Optimality gap", lambda m: m.gap, True, lambda v: fmt_pct(v, 2, share=True) if as_float(v) is not None else "–"),
    MetricRow("Status", lambda m: str(m.status), None, lambda v: str(v or "–")),
    MetricRow("Verified", lambda m: m.verification.passed, None, lambda v: "yes" if v is True else ("NO" if v is False else "–")),
)


def best_indices(values: Sequence[Any], lower_is_better: bool | None) -> set[int]:
    """Indices holding the best value (ties all marked); empty for informational rows."""
    if lower_is_better is None:
        return set()
    nums = [(i, x) for i, x in ((i, as_float(v)) for i, v in enumerate(values)) if x is not None]
    if not nums:
        return set()
    best = min(v for _, v in nums) if lower_is_better else max(v for _, v in nums)
    tol = 1e-9 * max(1.0, abs(best))
    return {i for i, v in nums if abs(v - best) <= tol}


BASELINE_TOLERANCE_M = 0.05
"""Runs whose walks before differ by more than this (metres) start from different baselines."""


@dataclass(frozen=True)
class Comparability:
    """Whether the runs may be ranked against each other, and why not.

    Attributes:
        same_site: every run is on one site (one id, one CRS): one shared extent.
        same_baseline: every run starts from the same walk before (same site, same barriers).
        ranked: which runs may get a best mark (those with a layout), when any may.
        notes: why marks are withheld, for the page.
    """

    same_site: bool
    same_baseline: bool
    ranked: frozenset[int]
    notes: tuple[str, ...]

    @property
    def marks(self) -> bool:
        """Best marks are shown at all."""
        return self.same_site and self.same_baseline and len(self.ranked) > 1


def comparability(runs: Sequence[RunData]) -> Comparability:
    """Can ``runs`` be ranked: same site, same baseline, and which have a layout."""
    notes: list[str] = []
    sites = {(r.metrics.site.id, r.metrics.site.crs) for r in runs}
    same_site = len(sites) == 1
    if not same_site:
        names = ", ".join(sorted({r.metrics.site.name or r.metrics.site.id for r in runs}))
        notes.append(f"No ★ marks: these runs are on different sites ({names}); each panel has its own extent and "
                     "scale bar, and their figures describe different places.")
    before = [as_float(r.metrics.walk.baseline_weighted_mean_m) for r in runs]
    known = [b for b in before if b is not None]
    same_baseline = not known or max(known) - min(known) <= BASELINE_TOLERANCE_M
    if same_site and not same_baseline:
        notes.append("No ★ marks: these runs start from different baselines (walk before "
                     + ", ".join(f"{r.name}: {fmt_m(b)}" for r, b in zip(runs, before, strict=True))
                     + "), e.g. a different set of barriers, so a smaller walk or a larger reduction is not a better layout.")
    currencies = sorted({r.metrics.currency for r in runs})
    if len(currencies) > 1:
        notes.append(f"Money is not ranked: these runs are in different currencies ({', '.join(currencies)}).")
    ranked = frozenset(i for i, r in enumerate(runs) if r.metrics.solved)
    unsolved = [r.name for i, r in enumerate(runs) if i not in ranked]
    if unsolved:
        notes.append(f"Without a layout (never marked best): {', '.join(unsolved)}.")
    return Comparability(same_site, same_baseline, ranked, tuple(notes))


def metric_rows(runs: Sequence[RunData]) -> list[tuple[MetricRow, list[Any], set[int]]]:
    """The key-metrics rows of ``runs``: each row, its value per run and the best runs (only where
    the runs are comparable, and only among runs with a layout)."""
    comp = comparability(runs)
    currencies = {r.metrics.currency for r in runs}
    out = []
    for row in METRIC_ROWS:
        vals = [row.value(r.metrics) for r in runs]
        if row.optional and all(v is None for v in vals):
            continue
        if row.shown_if is not None and not row.shown_if([r.metrics for r in runs]):
            continue
        best: set[int] = set()
        if comp.marks and not (row.money and len(currencies) > 1):
            ranked = sorted(comp.ranked)
            best = {ranked[j] for j in best_indices([vals[i] for i in ranked], row.lower_is_better)}
        out.append((row, vals, best))
    return out


def run_title(run: RunData) -> str:
    """A run's title: its name, prefixed when it has no layout (INFEASIBLE, NO SOLUTION)."""
    m = run.metrics
    if m.solved:
        return run.name
    return f"{'INFEASIBLE' if str(m.status) == 'infeasible' else 'NO SOLUTION'} · {run.name}"


def built_text(m: RunMetrics) -> str:
    """What a run built, by the names the report gives it (:func:`item_names`; ids for runs
    without attribution)."""
    names = item_names(m)
    pl = m.placements
    ids = [p.id for p in pl.shared_facilities] + [p.id for p in pl.social_spaces] + [p.id for p in pl.crossings]
    if m.transit is not None:  # a transit run builds stops (and crossings) outside ``placements``
        ids += [s.id for s in m.transit.stops if not s.existing and s.id not in ids]
        ids += [c for c in m.transit.crossings if c not in ids]
    return "; ".join(names.get(i, i) for i in ids) or "nothing"


PANEL_TITLE_WIDTH = 80
"""Characters in a line of a panel's title (9.5 pt across a 6.4 in panel): a longer name ran into
the next panel's title."""


def _panel_title(run: RunData) -> str:
    m = run.metrics
    gap = as_float(m.gap)
    name = wrap_title(run_title(run), PANEL_TITLE_WIDTH)
    if not m.solved:
        return f"{name}\nwalk before {fmt_m(m.walk.baseline_weighted_mean_m)}; nothing built"
    walk, bits = m.walk, []
    if walk.pairs_compared or not walk.pairs_newly_connected:  # as the plan's title: no before, no "– → –"
        bits.append(f"walk {fmt_num(walk.baseline_weighted_mean_m)} → {fmt_m(walk.optimised_weighted_mean_m)}"
                    + reduction_text(as_float(walk.reduction_pct)))
    if walk.pairs_newly_connected:
        n = walk.pairs_newly_connected
        bits.append(f"{fmt_num(n)} pair{'s' if n != 1 else ''} newly connected (mean "
                    f"{fmt_m(walk.newly_connected_weighted_mean_m)})")
    bits.append(fmt_money(m.cost.capital, m.currency))
    return f"{name}\n" + " · ".join(bits + ([f"gap {gap * 100:.1f}%"] if gap is not None else []))


_KEY_SPAN = re.compile(r" \(([A-Z]+)\d+(?:–[A-Z]+\d+)? in the key\)$")
"""The tags a legend entry stands for on one site's plan (' (J1–J8 in the key)', plan._tag_span)."""


def _merge_handles(axes: Iterable[Axes], one_scale: bool = True) -> list[Any]:
    """The panels' legend entries, each symbol once, wrapped to the legend's column. Without
    ``one_scale`` (runs on different sites, each with its own firm-size scale) the firm sizes
    become one entry saying so; one symbol tagged differently on each site ('J1–J8', 'J1–J5')
    is one entry ('J1, J2, … in the key')."""
    seen: dict[str, tuple[str, Any]] = {}
    for ax in axes:
        for h in getattr(ax, "_siteopt_handles", []):
            label = " ".join(str(h.get_label()).split())
            span = _KEY_SPAN.search(label)
            base = label[:span.start()] if span else label
            if base in seen and seen[base][0] != label:  # the first entry's label unless both are tagged
                label = f"{base} ({span.group(1)}1, {span.group(1)}2, … in the key)" if span else seen[base][0]
            seen[base] = (label, seen[base][1] if base in seen else h)
    handles = []
    for label, h in seen.values():
        h = copy.copy(h)
        h.set_label(label)
        handles.append(h)
    if not one_scale:
        handles = one_size_row(handles, "Firm (circle area by staff; each site on its own scale)")
    for h in handles:
        h.set_label("\n".join(wrap_width(str(h.get_label()), LEGEND_WRAP)))
    return handles


def _shared_style(runs: Sequence[RunData]) -> PlanStyle:
    """One marker scale for every panel (smaller markers on a dense site); firms carry their site
    numbers, named in full in the one key of the figure (:func:`firm_keys`)."""
    emp_max = max([f.number("employees") for r in runs for f in r.layout.layer("firm")] or [1.0])
    dense = max([len(r.layout.layer("firm")) for r in runs] or [0]) > 10
    return PlanStyle(employees_max=emp_max, min_radius_pt=2.5 if dense else 3.5, max_radius_pt=8.5 if dense else 13.0,
                     label_fontsize=6.3 if dense else 7.5, placement_fontsize=7.0 if dense else 8.0,
                     firm_labels=not dense, firm_numbers=True, site_tags=True, distance_names=not dense)


def _panel_styles(runs: Sequence[RunData], same_site: bool) -> list[PlanStyle]:
    """One style for every panel of one site; on different sites each site its own firm-size
    scale (a site of 300-staff firms beside one of 20,000 drew its firms as dots too small for
    their numbers)."""
    if same_site:
        return [_shared_style(runs)] * len(runs)
    by_site: dict[tuple[str, str], list[RunData]] = {}
    for r in runs:
        by_site.setdefault((r.metrics.site.id, r.metrics.site.crs), []).append(r)
    styles = {k: _shared_style(v) for k, v in by_site.items()}
    return [styles[(r.metrics.site.id, r.metrics.site.crs)] for r in runs]


def _distance_kind(runs: Sequence[RunData], distance: bool) -> str:
    """``change`` when the runs have facility walks, ``pairs`` when they all have pairs, else ''."""
    if not distance:
        return ""
    if any(firm_change_values(r, r.metrics, "change") for r in runs):
        return "change"
    return "pairs" if all(r.pairs for r in runs) else ""


@dataclass(frozen=True)
class _Grid:
    """Sizes (inches) of the comparison figure: panels in blocks of up to three columns (four runs
    in two blocks of two: three and one left two empty panels beside the fourth)."""

    n: int
    extent: Extent
    n_rows_table: int
    rows_per_block: int
    key_w: float = 0.0
    """Width of the key of firms, right of the legend (0: no key)."""

    @property
    def ncols(self) -> int:
        return 2 if self.n == 4 else min(self.n, 3)

    @property
    def panel_w(self) -> float:
        return 6.4 if self.ncols > 1 else 8.0

    @property
    def panel_h(self) -> float:
        ex_w, ex_h = self.extent[2] - self.extent[0], self.extent[3] - self.extent[1]
        return min(max(self.panel_w * ex_h / ex_w, 3.0), self.panel_w * 1.3)

    title_h = 0.75
    head_h = 0.45
    legend_w = 2.6

    @property
    def table_h(self) -> float:
        return 0.28 * (self.n_rows_table + 1) + 0.3

    @property
    def size(self) -> tuple[float, float]:
        nblocks = math.ceil(self.n / self.ncols)
        return (self.ncols * self.panel_w + self.legend_w + self.key_w + 0.4,
                self.head_h + nblocks * self.rows_per_block * (self.panel_h + self.title_h) + self.table_h + 0.3)

    def rect(self, i: int, r: int) -> tuple[float, float, float, float]:
        """Figure-fraction rect of run ``i``'s panel ``r`` (0 plan, 1 distance map)."""
        fig_w, fig_h = self.size
        block, col = divmod(i, self.ncols)
        top = self.head_h + (block * self.rows_per_block + r) * (self.panel_h + self.title_h) + self.title_h
        return (0.2 / fig_w + col * self.panel_w / fig_w, 1 - (top + self.panel_h) / fig_h,
                (self.panel_w - 0.25) / fig_w, self.panel_h / fig_h)


@under_text_rc
def compare_figure(runs: Sequence[RunData], *, distance: bool = True) -> tuple[Figure, list[Axes], list[Axes]]:
    """The comparison figure: one plan panel per run (shared extent and scales), distance maps
    below with shared colour limits, and the key-metrics table.

    Returns:
        The figure, the plan axes and the distance-map axes (one per run each).
    """
    comp = comparability(runs)
    shared = union_extent(default_extent(r.layout) for r in runs) if comp.same_site else None
    extents = [shared if shared is not None else default_extent(r.layout) for r in runs]
    extent = shared if shared is not None else _tallest(extents)
    styles = _panel_styles(runs, comp.same_site)
    kind = _distance_kind(runs, distance)
    vals = [v for r in runs for v in (firm_change_values(r, r.metrics, kind).values() if kind else [])]
    vlim = distance_limits(vals, kind) if kind else None
    rows = metric_rows(runs)
    keys = firm_keys(runs)
    grid = _Grid(len(runs), extent, len(rows), 2 if kind else 1, COMPARE_KEY_W_IN if keys else 0.0)
    fig_w, fig_h = grid.size
    fig = new_figure((fig_w, fig_h), PLAN_DPI)
    fig.suptitle("Scenario comparison: same extent, same scales" if comp.same_site else
                 "Scenario comparison: different sites, each panel on its own extent and scale bar", x=0.01, ha="left", y=1 - 0.18 / fig_h,
                 va="top", fontsize=13, fontweight="bold")
    plan_axes, dist_axes = [], []
    for i, run in enumerate(runs):
        ax = fig.add_axes(grid.rect(i, 0))
        ax.set_gid(f"compare-plan-{i}")
        draw_plan(ax, run, run.metrics, extent=extents[i], title=False, legend=False, style=styles[i], gid_prefix=f"run{i}-")
        ax.set_title(mpl_text(_panel_title(run)), loc="left", fontsize=9.5, pad=5, linespacing=1.4)
        plan_axes.append(ax)
        if kind:
            ax = fig.add_axes(grid.rect(i, 1))
            ax.set_gid(f"compare-distance-{i}")
            draw_distance_map(ax, run, run.metrics, kind=kind, extent=extents[i], vlim=vlim, style=styles[i],
                              title=False, colorbar=False, gid_prefix=f"run{i}-", fallback=False)
            ax.set_title(wrap_title(f"{run.name}: change in walk per firm", PANEL_TITLE_WIDTH), loc="left", fontsize=9.5, pad=5)
            dist_axes.append(ax)
    _figure_legend(fig, grid, plan_axes, kind if dist_axes else "", vlim, one_scale=comp.same_site)
    _figure_table(fig, grid, rows, runs)
    _figure_key(fig, grid, keys)
    logger.debug("comparison of %d runs, distance kind %r", len(runs), kind)
    return fig, plan_axes, dist_axes


COMPARE_KEY_W_IN = 3.6
"""Width (inches) of the comparison figure's key of firms."""


def firm_keys(runs: Sequence[RunData]) -> list[KeySection]:
    """The firms of each site compared, by their site numbers (the plans' numbers) and full
    names: one section per site, from its first run (numbers are the site's, so every run of a
    site agrees)."""
    sites: dict[tuple[str, str], RunData] = {}
    for r in runs:
        sites.setdefault((r.metrics.site.id, r.metrics.site.crs), r)
    many = len(sites) > 1
    out = []
    for k, r in enumerate(sites.values()):
        title = f"Firms (number on the plans · staff{ACCURACY_NOTE})"
        if many:
            title = f"Firms of {r.metrics.site.name or r.metrics.site.id} (number on its plans · staff{ACCURACY_NOTE})"
        sec = firm_section(r.layout, title, gid_prefix=f"compare-site{k}-")
        # the panels tag existing crossings and facilities as the plan does (J1, E1): named here
        extra = site_sections(r.layout, title_suffix=f" of {r.metrics.site.name or r.metrics.site.id}" if many else "",
                              gid_prefix=f"compare-site{k}-")
        out += [s_ for s_ in (sec, *extra) if s_.entries]
    return out


def _figure_key(fig: Figure, grid: _Grid, keys: list[KeySection]) -> None:
    """The key of firms in its column right of the legend, from the panels' top to the table."""
    if not keys:
        return
    fig_w, fig_h = grid.size
    col = KeyColumn(grid.ncols * grid.panel_w + grid.legend_w + 0.25, grid.key_w - 0.15,
                    fig_h - grid.head_h - grid.title_h, grid.table_h + 0.25)
    draw_key(fig, [(sec, [col]) for sec in keys])


def _tallest(extents: Sequence[Extent]) -> Extent:
    """The extent with the largest height-to-width ratio (panel sizes for runs of several sites)."""
    return max(extents, key=lambda e: (e[3] - e[1]) / max(e[2] - e[0], 1e-9))


def _figure_legend(fig: Figure, grid: _Grid, plan_axes: list[Axes], kind: str, vlim: tuple[float, float] | None,
                   one_scale: bool = True) -> None:
    """One legend for every plan panel and one colour bar for every distance map."""
    fig_w, fig_h = grid.size
    handles = _merge_handles(plan_axes, one_scale)
    x_leg = (grid.ncols * grid.panel_w + 0.15) / fig_w
    legend_end = 0.0  # inches from the figure's top to the legend's foot
    if handles:
        leg = fig.legend(handles=spaced_handles(handles, 7.5, 1.25), loc="upper left",
                         bbox_to_anchor=(x_leg, 1 - (grid.head_h + grid.title_h) / fig_h),
                         fontsize=7.5, frameon=False, labelspacing=1.25, borderpad=0.2)
        legend_end = fig_h - leg.get_window_extent(renderer(fig)).y0 / fig.dpi
    if not kind or vlim is None:
        return
    norm, cmap = distance_norm(kind, vlim)
    # beside the first distance maps, or below a legend that reaches them (many symbols: transit,
    # several barriers), down to the table at most
    top = max(grid.head_h + (grid.panel_h + grid.title_h) + grid.title_h + grid.panel_h * 0.1, legend_end + 0.35)
    height = max(min(grid.panel_h * 0.8, fig_h - grid.table_h - 0.6 - top), 1.2)
    cax = fig.add_axes((x_leg + 0.1 / fig_w, 1 - (top + height) / fig_h, 0.18 / fig_w, height / fig_h))
    cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    cb.set_label(DISTANCE_LABELS[kind] + "\n(blue shorter, red longer; same scale in every panel)", fontsize=7.5)
    cb.ax.tick_params(labelsize=7)


def _figure_table(fig: Figure, grid: _Grid, rows: list[tuple[MetricRow, list[Any], set[int]]],
                  runs: Sequence[RunData]) -> None:
    """The key-metrics table under the panels, the best run per row starred and bold."""
    fig_w, fig_h = grid.size
    tab_ax = fig.add_axes((0.2 / fig_w, 0.15 / fig_h, (fig_w - 0.4) / fig_w, (grid.table_h - 0.1) / fig_h))
    tab_ax.set_axis_off()
    tab_ax.set_gid("compare-table")
    cell_text: list[list[str]] = []
    bold: list[tuple[int, int]] = []
    for ri, (row, vals, best) in enumerate(rows):
        cell_text.append([row.label] + [mpl_text(("★ " if j in best else "") + row.text(v, runs[j].metrics)) for j, v in enumerate(vals)])
        bold.extend((ri + 1, j + 1) for j in best)
    head = "Metric (★ best)" if bold else "Metric"  # the ★ note only where a ★ is drawn
    fits = max(int((fig_w - 0.4) / (len(runs) + 1) * 72 / 5.5), 12)  # 8 pt bold characters in a column
    titles = [textwrap.shorten(run_title(r), fits, placeholder="…") for r in runs]  # in full over the panels
    tab = tab_ax.table(cellText=cell_text, colLabels=[head] + titles, loc="upper left",
                       cellLoc="left", colLoc="left", bbox=Bbox.from_bounds(0, 0, 1, 1))
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    for (r, c), cell in tab.get_celld().items():
        cell.set_edgecolor("#cccccc")
        cell.set_linewidth(0.5)
        if r == 0:
            cell.set_facecolor("#eef1f4")
            cell.get_text().set_fontweight("bold")
        if (r, c) in bold:
            cell.get_text().set_fontweight("bold")
            cell.set_facecolor("#e6f4e6")


def _refuse_the_same_run_twice(runs: Sequence[RunData]) -> None:
    """A run given twice (the same folder, or a copy: the same ``run_id``) would tie with itself
    and be marked best on every row under two identical titles: refused, naming both."""
    seen: dict[str, RunData] = {}
    problems: list[Problem] = []
    for run in runs:
        key = run.metrics.run_id or str(run.run_dir.resolve())
        if (first := seen.get(key)) is not None:
            same = "the same folder" if run.run_dir.resolve() == first.run_dir.resolve() else "a copy"
            problems.append(Problem(str(run.run_dir), "run_id",
                                    f"is the same run as {first.run_dir} ({same}, run {run.metrics.run_id or 'without an id'})",
                                    "give each run once: compare different runs"))
        else:
            seen[key] = run
    if problems:
        raise ValidationError(problems)


def label_same_named_runs(runs: Sequence[RunData]) -> None:
    """Runs of one scenario (two seeds, a budget changed in a copy) would share one column title:
    each is labelled with its folder too, ``AMP-SBP baseline (no HS2) (runs/seed1)``."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    dirs = [r.run_dir.name for r in runs]
    for run in runs:
        if counts[run.name] > 1:
            where = run.run_dir.name if dirs.count(run.run_dir.name) == 1 else str(run.run_dir)
            run.label = f"{run.name} ({where})"


def compare_runs(run_dirs: Sequence[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """Compare runs side by side; writes ``compare.png``, ``compare.svg`` and ``compare.html``
    in ``out_dir`` (created if needed).

    Returns:
        The paths of ``compare.png`` and ``compare.html``.

    Raises:
        ValueError: no run directory given.
        FileReadError / ValidationError: a directory is not a readable run directory (every
            directory's problems at once; ValidationError when one is readable but inconsistent),
            or a run is given twice (ValidationError: the same folder, or a copy with its ``run_id``).
        OutputWriteError: the disk is full (or a quota reached, the file system read-only):
            ``out_dir`` is as it was (a folder made for it removed again).
        OutputExistsError: ``out_dir`` cannot be made (a file on its path, no permission).
    """
    if not run_dirs:
        raise ValueError("compare needs at least one run directory")
    runs = []
    problems: list[Problem] = []
    unreadable = True  # every problem a file that cannot be read: FileReadError
    for d in run_dirs:  # every run directory's problem at once, not the first one's
        try:
            runs.append(load_run(d))
        except InputError as exc:
            problems.extend(exc.problems)
            unreadable = unreadable and isinstance(exc, FileReadError)
    if problems:
        raise FileReadError(problems) if unreadable else ValidationError(problems)
    _refuse_the_same_run_twice(runs)
    label_same_named_runs(runs)
    out = Path(out_dir)
    fig, _, _ = compare_figure(runs)
    with output_write_errors("the comparison", out):  # a full disk: said, and a folder made here removed again
        try:
            created_parents(out)
        except OSError as exc:  # a file on the path (was an internal error), no permission: said; a full disk above
            if is_disk_full(exc):
                raise
            raise parents_error(exc, out, out) from exc
        stage = stage_for_render(out)  # written new in a private folder, then renamed in: no symlink is followed
        try:
            png = save_figure(fig, stage / "compare.png")
            save_figure(fig, stage / "compare.svg")
            write_new_file(stage / "compare.html", compare_html(runs, png.read_bytes(), out).encode("utf-8"))
            move_into(stage, out)
        finally:
            remove_stage(stage)
    logger.info("compared %d runs in %s", len(runs), out)
    return out / "compare.png", out / "compare.html"


def _metrics_table(runs: Sequence[RunData]) -> Table:
    table = Table([Header("Metric")] + [Header(run_title(r), True) for r in runs])
    for row, vals, best in metric_rows(runs):
        cells = [Cell(row.label, header=True)]
        for j, v in enumerate(vals):
            sort = as_float(v)
            if j in best:
                cells.append(Cell(f"★ {row.text(v, runs[j].metrics)}", numeric=True, sort=sort, cls="best", wrap="strong"))
            else:
                cells.append(Cell(row.text(v, runs[j].metrics), numeric=True, sort=sort))
        table.rows.append(cells)
    table.rows.append([Cell("Site", header=True)] + [Cell(r.metrics.site.name or r.metrics.site.id) for r in runs])
    table.rows.append([Cell("Built", header=True)] + [Cell(built_text(r.metrics)) for r in runs])
    return table


def _map_extents(runs: Sequence[RunData], comp: Comparability) -> list[Extent]:
    """The interactive maps' extents: one shared extent for one site, each its own otherwise."""
    own = [default_extent(r.layout) for r in runs]
    return [union_extent(own)] * len(runs) if comp.same_site else own


def _report_href(run: RunData, out: Path) -> str | None:
    """A link from ``out`` to the run's report (relative when possible); None when it has none."""
    report = run.run_dir / "report.html"
    if not report.is_file():
        return None
    try:
        return Path(os.path.relpath(report, out)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(report).as_posix()


def compare_html(runs: Sequence[RunData], png: bytes, out: Path) -> str:
    """The ``compare.html`` page: key metrics (best starred), the comparison figure and the runs."""
    hint = {True: "lower is better", False: "higher is better"}
    comp = comparability(runs)
    rows = metric_rows(runs)
    views = map_views(runs, _map_extents(runs, comp))
    return render_page(
        "compare.html.j2", "Scenario comparison",
        metrics_table=_metrics_table(runs), compare_src=data_uri_png(png), same_site=comp.same_site,
        marks=any(best for _, _, best in rows),  # the ★ note only where a ★ is drawn
        comparability_notes=list(comp.notes), buys_table=compare_buys_table(runs),
        maps=list(zip([run_title(r) for r in runs], views, strict=True)),
        map_legend=shared_legend(v.legend for v in views),  # one legend for every map, as the figure has
        best_hints=[f"{r.label}: {hint[r.lower_is_better]}" for r, _, best in rows
                    if best and r.lower_is_better is not None],
        illustrative=any(r.metrics.site.illustrative for r in runs),
        firm_keys=[{"title": sec.title, "entries": [(e.tag, e.text) for e in sec.entries]} for sec in firm_keys(runs)],
        runs=[{"name": run_title(r), "run_dir": r.run_dir.name, "scenario_path": r.metrics.scenario.path or "–",
               "status": str(r.metrics.status), "report_href": _report_href(r, out),
               "futures": futures_view(r.metrics.futures, r.metrics.alternatives, r.metrics.robust,
                                       r.metrics.status.value == "optimal")} for r in runs],
    )
