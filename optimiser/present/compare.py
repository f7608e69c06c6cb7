"""Side-by-side comparison of several runs: ``compare.png`` (+ ``compare.svg``) and a
self-contained ``compare.html``.

Every panel uses the SAME extent (the union of all runs' extents), the same firm marker-size
scale (largest firm over all runs) and the same colour limits on the distance maps, so the
panels can be compared by eye. A table of key metrics marks the best run per row.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimiser.present.plan import (
    PLAN_DPI,
    PlanStyle,
    RunData,
    _reduction_text,
    default_extent,
    distance_limits,
    draw_distance_map,
    draw_plan,
    firm_change_values,
    fmt_gbp,
    fmt_m,
    fmt_num,
    fmt_pct,
    load_run,
    new_figure,
    save_figure,
    union_extent,
)
from optimiser.present.report import data_uri_png, page, table

__all__ = ["compare_runs", "METRIC_ROWS", "best_indices", "metric_rows"]

e = html.escape


def _get(m: Mapping[str, Any], path: str) -> Any:
    cur: Any = m
    for k in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(k)
    return cur


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class MetricRow:
    label: str
    path: str
    lower_is_better: bool | None  # None: informational, no best marked
    fmt: Callable[[Any], str]


METRIC_ROWS: tuple[MetricRow, ...] = (
    MetricRow("Weighted mean walk after", "walk.optimised_weighted_mean_m", True, fmt_m),
    MetricRow("Weighted mean walk before", "walk.baseline_weighted_mean_m", None, fmt_m),
    MetricRow("Reduction", "walk.reduction_pct", False, lambda v: fmt_pct(v)),
    MetricRow("Mean detour ratio after", "walk.optimised_mean_detour", True, lambda v: fmt_num(v, 3)),
    MetricRow("Coverage share after", "coverage.optimised_share", False, lambda v: fmt_pct(v, share=True)),
    MetricRow("Capital cost", "cost.capital", True, fmt_gbp),
    MetricRow("Budget", "cost.budget", None, fmt_gbp),
    MetricRow("Optimality gap", "gap", True, lambda v: fmt_pct(v, 2, share=True) if _f(v) is not None else "–"),
    MetricRow("Status", "status", None, lambda v: str(v or "–")),
    MetricRow("Verified", "verification.passed", None,
              lambda v: "yes" if v is True else ("NO" if v is False else "–")),
)


def best_indices(values: Sequence[Any], lower_is_better: bool | None) -> set[int]:
    """Indices holding the best value (ties all marked); empty for informational rows."""
    if lower_is_better is None:
        return set()
    nums = [(i, _f(v)) for i, v in enumerate(values)]
    nums = [(i, v) for i, v in nums if v is not None]
    if not nums:
        return set()
    best = min(v for _, v in nums) if lower_is_better else max(v for _, v in nums)
    tol = 1e-9 * max(1.0, abs(best))
    return {i for i, v in nums if abs(v - best) <= tol}


def metric_rows(runs: Sequence[RunData]) -> list[tuple[MetricRow, list[Any], set[int]]]:
    out = []
    for row in METRIC_ROWS:
        vals = [_get(r.metrics, row.path) for r in runs]
        if row.path.startswith("coverage") and all(v is None for v in vals):
            continue
        out.append((row, vals, best_indices(vals, row.lower_is_better)))
    return out


def _panel_title(run: RunData) -> str:
    w = run.metrics.get("walk") or {}
    red = _f(w.get("reduction_pct"))
    gap = _f(run.metrics.get("gap"))
    return (f"{run.name}\nwalk {fmt_num(w.get('baseline_weighted_mean_m'))} → "
            f"{fmt_m(w.get('optimised_weighted_mean_m'))}"
            + _reduction_text(red)
            + f" · {fmt_gbp(_get(run.metrics, 'cost.capital'))}"
            + (f" · gap {gap * 100:.1f}%" if gap is not None else ""))


def _merge_handles(axes: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h in getattr(ax, "_siteopt_handles", []):
            seen.setdefault(h.get_label(), h)
    return list(seen.values())


def compare_figure(runs: Sequence[RunData], *, distance: bool = True):
    """The comparison figure: one plan panel per run (shared extent and scales), distance maps
    below with shared colour limits, and the key-metrics table."""
    n = len(runs)
    extent = union_extent(default_extent(r.layout) for r in runs)
    emp_max = max([float(f.props.get("employees") or 0) for r in runs for f in r.layout.layer("firm")] or [1.0])
    n_firms = max([len(r.layout.layer("firm")) for r in runs] or [0])
    dense = n_firms > 10
    style = PlanStyle(employees_max=emp_max, min_radius_pt=2.5 if dense else 3.5,
                      max_radius_pt=8.5 if dense else 13.0, label_fontsize=6.3 if dense else 7.5,
                      placement_fontsize=7.0 if dense else 8.0, firm_labels=not dense,
                      distance_names=not dense)
    kind = "change"
    if distance and not any(firm_change_values(r, r.metrics, "change") for r in runs):
        kind = "pairs" if all(r.pairs for r in runs) else ""
    vals = [v for r in runs for v in (firm_change_values(r, r.metrics, kind).values() if kind else [])]
    vlim = distance_limits(vals, kind) if kind else None

    ncols = min(n, 3)
    nblocks = math.ceil(n / ncols)
    rows_per_block = 2 if kind else 1
    ex_w, ex_h = extent[2] - extent[0], extent[3] - extent[1]
    panel_w = 6.4 if ncols > 1 else 8.0
    panel_h = min(max(panel_w * ex_h / ex_w, 3.0), panel_w * 1.3)
    title_h, head_h = 0.75, 0.45
    table_h = 0.28 * (len(metric_rows(runs)) + 1) + 0.3
    legend_w = 2.6
    fig_w = ncols * panel_w + legend_w + 0.4
    fig_h = head_h + nblocks * rows_per_block * (panel_h + title_h) + table_h + 0.3
    fig = new_figure((fig_w, fig_h), PLAN_DPI)
    fig.suptitle("Scenario comparison: same extent, same scales", x=0.01, ha="left", y=1 - 0.18 / fig_h,
                 va="top", fontsize=13, fontweight="bold")
    plan_axes, dist_axes = [], []
    for i, run in enumerate(runs):
        block, col = divmod(i, ncols)
        for r in range(rows_per_block):
            top = head_h + (block * rows_per_block + r) * (panel_h + title_h) + title_h
            rect = (0.2 / fig_w + col * panel_w / fig_w, 1 - (top + panel_h) / fig_h,
                    (panel_w - 0.25) / fig_w, panel_h / fig_h)
            ax = fig.add_axes(rect)
            if r == 0:
                ax.set_gid(f"compare-plan-{i}")
                draw_plan(ax, run, run.metrics, extent=extent, title=False, legend=False, style=style,
                          gid_prefix=f"run{i}-")
                ax.set_title(_panel_title(run), loc="left", fontsize=9.5, pad=5, linespacing=1.4)
                plan_axes.append(ax)
            else:
                ax.set_gid(f"compare-distance-{i}")
                draw_distance_map(ax, run, run.metrics, kind=kind, extent=extent, vlim=vlim, style=style,
                                  title=False, colorbar=False, gid_prefix=f"run{i}-")
                ax.set_title(f"{run.name}: change in walk per firm", loc="left", fontsize=9.5, pad=5)
                dist_axes.append(ax)
    handles = _merge_handles(plan_axes)
    x_leg = (ncols * panel_w + 0.15) / fig_w
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(x_leg, 1 - (head_h + title_h) / fig_h),
                   fontsize=7.5, frameon=False, labelspacing=1.25, borderpad=0.2)
    if dist_axes and vlim is not None:
        import matplotlib
        from matplotlib.colors import Normalize, TwoSlopeNorm

        lo, hi = vlim
        norm = TwoSlopeNorm(0.0, min(lo, -1e-6), max(hi, 1e-6)) if kind in ("change", "pairs") else Normalize(lo, hi)
        cmap = matplotlib.colormaps["RdBu_r" if kind in ("change", "pairs") else "viridis_r"]
        top = head_h + rows_per_block * 0 + (panel_h + title_h) + title_h
        cax = fig.add_axes((x_leg + 0.1 / fig_w, 1 - (top + panel_h * 0.9) / fig_h, 0.18 / fig_w,
                            panel_h * 0.8 / fig_h))
        cb = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax)
        from optimiser.present.plan import DISTANCE_LABELS

        cb.set_label(DISTANCE_LABELS[kind] + "\n(blue shorter, red longer; same scale in every panel)", fontsize=7.5)
        cb.ax.tick_params(labelsize=7)
    # key-metrics table
    rows = metric_rows(runs)
    tab_ax = fig.add_axes((0.2 / fig_w, 0.15 / fig_h, (fig_w - 0.4) / fig_w, (table_h - 0.1) / fig_h))
    tab_ax.set_axis_off()
    tab_ax.set_gid("compare-table")
    cell_text, bold = [], []
    for ri, (row, vals_, best) in enumerate(rows):
        cell_text.append([row.label] + [("★ " if j in best else "") + row.fmt(v) for j, v in enumerate(vals_)])
        bold.extend((ri + 1, j + 1) for j in best)
    col_labels = ["Metric (★ best)"] + [r.name for r in runs]
    tab = tab_ax.table(cellText=cell_text, colLabels=col_labels, loc="upper left", cellLoc="left",
                       colLoc="left", bbox=(0, 0, 1, 1))
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
    return fig, plan_axes, dist_axes


def compare_runs(run_dirs: Sequence[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """Compare runs side by side; writes ``compare.png``, ``compare.svg`` and ``compare.html``
    in ``out_dir`` (created if needed). Returns (png, html)."""
    if not run_dirs:
        raise ValueError("compare needs at least one run directory")
    runs = [load_run(d) for d in run_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, _, _ = compare_figure(runs)
    png = save_figure(fig, out / "compare.png")
    save_figure(fig, out / "compare.svg")
    html_path = out / "compare.html"
    html_path.write_text(_compare_html(runs, png.read_bytes(), out), encoding="utf-8")
    return png, html_path


def _compare_html(runs: Sequence[RunData], png: bytes, out: Path) -> str:
    rows = metric_rows(runs)
    body = []
    for row, vals, best in rows:
        cells = [f'<th scope="row">{e(row.label)}</th>']
        for j, v in enumerate(vals):
            txt = e(row.fmt(v))
            sort = _f(v)
            attrs = f' data-sort="{sort}"' if sort is not None else ""
            if j in best:
                cells.append(f'<td class="n best"{attrs}><strong>★ {txt}</strong></td>')
            else:
                cells.append(f'<td class="n"{attrs}>{txt}</td>')
        body.append(cells)
    hint = {True: "lower is better", False: "higher is better", None: ""}
    metrics_t = table([("Metric", False)] + [(r.name, True) for r in runs], body, table_id="compare-table")
    legend = ("<p class=\"note\">★ marks the best run per row (" +
              "; ".join(f"{e(r.label)}: {hint[r.lower_is_better]}" for r, _, _ in rows if r.lower_is_better is not None)
              + ").</p>")
    run_rows = []
    for i, r in enumerate(runs, 1):
        sc = r.metrics.get("scenario") or {}
        try:
            rel = os.path.relpath(r.run_dir / "report.html", out)
        except ValueError:
            rel = str(r.run_dir / "report.html")
        link = (f'<a href="{e(Path(rel).as_posix())}">report</a>' if (r.run_dir / "report.html").is_file() else "–")
        run_rows.append((f"<td>{i}</td>", f"<td>{e(r.name)}</td>", f"<td><code>{e(str(r.run_dir))}</code></td>",
                         f"<td><code>{e(str(sc.get('path') or '–'))}</code></td>",
                         f"<td>{e(str(r.metrics.get('status', '?')))}</td>", f"<td>{link}</td>"))
    runs_t = table([("#", False), ("Scenario", False), ("Run directory", False), ("Scenario file", False),
                    ("Status", False), ("Report", False)], run_rows, sortable=True, table_id="runs-table")
    illustrative = any((r.metrics.get("site") or {}).get("illustrative") for r in runs)
    sub = (f"<p>{len(runs)} runs on the same extent and scales"
           + (' <span class="badge warn">illustrative, not surveyed</span>' if illustrative else "") + "</p>")
    parts = [
        f'<section id="key-metrics"><h2>Key metrics</h2>{metrics_t}{legend}</section>',
        '<section id="plans"><h2>Plans side by side</h2><figure><img id="compare-img" alt="Plans of every run '
        f'side by side" src="{data_uri_png(png)}"><figcaption>Top: optimised plans (same extent; firm circles '
        "on one employee scale). Bottom: change in walk per firm on one colour scale.</figcaption></figure>"
        "</section>",
        f'<section id="runs"><h2>Runs</h2>{runs_t}</section>',
    ]
    return page("Scenario comparison", "\n".join(parts), subtitle=sub)
