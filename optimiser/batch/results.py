"""A batch's tables and figure: results.csv (one row per item), pareto.csv and pareto.png
(capital cost against the objective actually optimised, as a weighted mean walk, both
minimised; firm-to-firm walking, facility access and coverage shown beside it)."""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimiser.batch.keys import canonical_json
from optimiser.batch.records import METRE_DECIMALS, is_solved
from optimiser.batch.spec import BatchItem
from optimiser.inputs.currency import currency_prefix, money_short, unit_word
from optimiser.inputs.money_fields import scenario_currency
from optimiser.present.csv_cells import guard_cell
from optimiser.present.formatting import mpl_text
from optimiser.present.style import under_text_rc

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ["objective", "gap", "objective_mean_m", "baseline_objective_mean_m", "walk.baseline_weighted_mean_m",
                  "walk.optimised_weighted_mean_m", "walk.reduction_pct", "facility_access.baseline_mean_m",
                  "facility_access.optimised_mean_m", "coverage.baseline_share", "coverage.optimised_share",
                  "cost.capital", "cost.budget", "currency"]
"""The record metrics results.csv shows, after the swept columns and the status."""

OPTIONAL_METRIC_COLUMNS = {"gap": ["stopped_by"],
                           "walk.reduction_pct": ["walk.pairs_newly_connected", "walk.newly_connected_weighted_mean_m"]}
"""Record metrics results.csv shows after the column they follow when a finished item's record
has them (records written before they existed do not: a batch of only those has no such column)."""

ROUNDED_COLUMNS = {"facility_access.baseline_mean_m": METRE_DECIMALS, "facility_access.optimised_mean_m": METRE_DECIMALS,
                   "walk.newly_connected_weighted_mean_m": METRE_DECIMALS}
"""Mean walks the tables round as the other walk means (0.1 m), whatever the record holds
(records written before they were rounded held 1215.195329)."""

PARETO_COLUMNS = ["status", "cost.capital", "objective_mean_m", "baseline_objective_mean_m", "gap", "dominated",
                  "objective_saved_per_million", "walk.optimised_weighted_mean_m", "walk.baseline_weighted_mean_m",
                  "walk.reduction_pct", "facility_access.optimised_mean_m", "coverage.optimised_share", "currency",
                  "front"]
"""pareto.csv's columns after the key, the name and the swept columns. The front is over the
objective actually optimised (``objective_mean_m``: every term as one weighted mean walk); firm-to-
firm walking, facility access and coverage are shown beside it. Money (``cost.capital``, the rate
per million) is in the item's scenario ``currency``. Items are ranked only against items that share
their baseline (the same ``baseline_objective_mean_m`` and currency: the same network, demand and
weights before anything is built): ``front`` numbers those groups (1 = the lowest baseline), each
with a front of its own, so a sweep that switches a barrier on and off is never ranked across."""


SWEPT_PREFIX = "scenario."
"""What a swept column's header is prefixed with when its override key is the name of one of the
tables' own columns (:func:`swept_headers`): ``name:`` in an item list is ``scenario.name``, a swept
``currency`` ``scenario.currency``. No override key starts with it (a scenario has no field
``scenario``), so a prefixed header never meets another swept key."""


def fixed_columns() -> frozenset[str]:
    """Every column results.csv or pareto.csv has of its own (not a swept one): the key, the
    item's name, the status and exit code, every metric (the optional ones too, whether or not
    any record has them yet), the seconds, run folder and error, and pareto.csv's columns."""
    optional = (c for cols in OPTIONAL_METRIC_COLUMNS.values() for c in cols)
    return frozenset(["key", "name", "status", "exit_code", *METRIC_COLUMNS, *optional, "seconds", "run_dir", "error",
                      *PARETO_COLUMNS])


def swept_headers(columns: Sequence[str]) -> list[str]:
    """The headers of the swept columns ``columns`` (override keys) in results.csv and pareto.csv:
    the key itself, or, for a key that is the name of a column the tables have of their own
    (:func:`fixed_columns`: ``name``, ``currency``, ``objective``), the key after
    :data:`SWEPT_PREFIX`, so that no header is written twice and no swept value is read in place of
    the item's name or a metric. The same in both files and whichever records exist.

    Args:
        columns: the batch's override keys (``BatchSpec.columns``), each once.

    Returns:
        One header per key, in order, all distinct and none a fixed column's.
    """
    taken = set(fixed_columns())
    out = []
    for c in columns:
        h = c
        while h in taken:
            h = SWEPT_PREFIX + h
        taken.add(h)
        out.append(h)
    return out


def objective_of_record(m: Mapping[str, Any]) -> float | None:
    """The figure the front minimises: the objective's weighted mean walk, or (records written
    before it existed) the firm-to-firm weighted mean walk."""
    v = m.get("objective_mean_m")
    return v if v is not None else m.get("walk.optimised_weighted_mean_m")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(round(v, 6))
    if isinstance(v, dict | list):
        return canonical_json(v)
    return guard_cell(v) if isinstance(v, str) else v


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text: floats rounded to 6 places, booleans as true/false, missing values empty, text
    that starts like a spreadsheet formula after a single quote (:mod:`~optimiser.present.csv_cells`).

    Raises:
        ValueError: ``header`` names a column twice (a program error: :func:`swept_headers` keeps
            the batch tables' headers distinct).
    """
    twice = [h for h, n in Counter(header).items() if n > 1]
    if twice:  # two columns of one name: pandas reads the second as 'name.1', DictReader keeps only one
        raise ValueError(f"CSV header has {', '.join(repr(h) for h in twice)} twice: {list(header)}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return buf.getvalue()


def _rounded(col: str, v: Any) -> Any:
    """``v`` rounded as :data:`ROUNDED_COLUMNS` says for ``col``."""
    places = ROUNDED_COLUMNS.get(col)
    return round(v, places) if places is not None and isinstance(v, float) and math.isfinite(v) else v


def metric_columns(records: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """results.csv's metric columns: :data:`METRIC_COLUMNS`, with each of
    :data:`OPTIONAL_METRIC_COLUMNS` after the column it follows when some record has it."""
    present: set[str] = set()
    for rec in (records or {}).values():
        present.update((rec.get("metrics") or {}).keys())
    cols = []
    for c in METRIC_COLUMNS:
        cols.append(c)
        cols.extend(o for o in OPTIONAL_METRIC_COLUMNS.get(c, []) if o in present)
    return cols


def results_header(columns: Sequence[str], records: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """results.csv's header for a batch whose swept columns are ``columns`` (override keys, headed
    as :func:`swept_headers` says) and, for the optional metric columns, whose finished items'
    records are ``records``."""
    return ["key", "name", *swept_headers(columns), "status", "exit_code", *metric_columns(records), "seconds", "run_dir",
            "error"]


def results_rows(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    """results.csv's rows, one per item in item order (``pending`` for items not finished).

    Args:
        items: the batch's items.
        records: item key -> result record, for the finished items.
        columns: the swept columns.
    """
    rows = []
    metrics = metric_columns(records)
    for it in items:
        rec = records.get(it.key)
        m = (rec or {}).get("metrics") or {}
        rows.append([it.key[:12], it.name, *(it.overrides.get(c) for c in columns),
                     rec["status"] if rec else "pending", rec.get("exit_code") if rec else None,
                     *(_rounded(c, m.get(c)) for c in metrics),
                     rec.get("seconds") if rec else None, f"runs/{it.run_id}", rec.get("error") if rec else None])
    return rows


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (cost, walk) point, whether it is dominated (both minimised).

    A point is dominated when another is no worse on both and better on one; equal points
    do not dominate each other.

    Args:
        points: (capital cost, weighted mean walk) per solved item.

    Returns:
        One flag per point, in the order given.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    dominated = [False] * len(points)
    best_walk = math.inf
    best_cost: float | None = None
    k = 0
    while k < len(order):
        # a group with the same cost
        j = k
        c = points[order[k]][0]
        while j < len(order) and points[order[j]][0] == c:
            j += 1
        group = order[k:j]
        gmin = min(points[i][1] for i in group)
        for i in group:
            w = points[i][1]
            if w > gmin or w > best_walk or (w == best_walk and best_cost is not None and best_cost < c):
                dominated[i] = True
        if gmin < best_walk:
            best_walk, best_cost = gmin, c
        k = j
    return dominated


@dataclass(frozen=True)
class FrontPoint:
    """A point of the Pareto front.

    Attributes:
        name, key: the item's.
        cost: capital cost (the batch's currency); walk_m: the objective as a weighted mean walk (metres).
        rate: metres of that mean saved per extra million of the currency against the previous front point
            (``None`` for the first, or at the same cost).
    """

    name: str
    key: str
    cost: float
    walk_m: float
    rate: float | None
    front: int = 1
    """Which front (items sharing one baseline; :data:`PARETO_COLUMNS`)."""


def _solved_points(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]]
                   ) -> list[tuple[BatchItem, Mapping[str, Any], float, float]]:
    """(item, record, cost, objective mean walk) of every solved item with both figures."""
    solved = []
    for it in items:
        rec = records.get(it.key)
        if not rec or not is_solved(rec.get("status")):
            continue
        m = rec.get("metrics") or {}
        cost, walk = m.get("cost.capital"), objective_of_record(m)
        if cost is None or walk is None:
            continue
        solved.append((it, rec, float(cost), float(walk)))
    return solved


def pareto_table(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], columns: Sequence[str]
                 ) -> tuple[list[str], list[list[Any]], list[FrontPoint]]:
    """Rows of pareto.csv (all solved items, cheapest first) and the front points.

    Args:
        items: the batch's items.
        records: item key -> result record.
        columns: the swept columns.

    Returns:
        The header, the rows (``dominated`` and ``objective_saved_per_million`` computed, and the
        item's ``currency``) and
        the front's points, cheapest first.
    """
    solved = _solved_points(items, records)
    groups = [_baseline_group(it, rec) for it, rec, _, _ in solved]
    number = {g: k + 1 for k, g in enumerate(sorted(set(groups), key=lambda g: (g[0] is None, g[0] or 0.0, g[1])))}
    dom = [False] * len(solved)
    for g in number:
        members = [i for i, gi in enumerate(groups) if gi == g]
        for i, d in zip(members, pareto_front([(solved[i][2], solved[i][3]) for i in members])):
            dom[i] = d
    order = sorted(range(len(solved)), key=lambda i: (solved[i][2], solved[i][3], solved[i][0].index))
    header = ["key", "name", *swept_headers(columns), *PARETO_COLUMNS]
    rows = []
    front = []
    prev: dict[int, tuple[float, float]] = {}
    for i in order:
        it, rec, c, w = solved[i]
        m = rec.get("metrics") or {}
        rate = None
        k = number[groups[i]]
        if not dom[i]:
            p = prev.get(k)
            if p is not None and c > p[0]:
                rate = (p[1] - w) / ((c - p[0]) / 1e6)
            if p is None or (c, w) != p:
                prev[k] = (c, w)
            front.append(FrontPoint(it.name, it.key, c, w, rate, k))
        rows.append([it.key[:12], it.name, *(it.overrides.get(k) for k in columns), rec["status"], c, w,
                     m.get("baseline_objective_mean_m"), m.get("gap"), dom[i], round(rate, 3) if rate is not None else None,
                     m.get("walk.optimised_weighted_mean_m"), m.get("walk.baseline_weighted_mean_m"),
                     m.get("walk.reduction_pct"), _rounded("facility_access.optimised_mean_m", m.get("facility_access.optimised_mean_m")),
                     m.get("coverage.optimised_share"), scenario_currency(it.scenario), k])
    return header, rows, front


def _baseline_group(it: BatchItem, rec: Mapping[str, Any]) -> tuple[float | None, str]:
    """What an item is ranked within: its baseline objective (to the micrometre; None in records
    from before it was kept) and currency."""
    b = (rec.get("metrics") or {}).get("baseline_objective_mean_m")
    return (round(float(b), 6) if b is not None else None), scenario_currency(it.scenario)


def _atomic_savefig(fig: Any, path: Path) -> None:
    """Save ``fig`` as ``path`` through a temporary file and a rename; the file gets mode 0o666
    less the umask, as every other output (mkstemp's 0o600 would hide it from other users)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp.png"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        fig.savefig(tmp, format="png", dpi=120)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def batch_currency(items: Sequence[BatchItem]) -> str | None:
    """The one currency of a batch's items (None when an override mixes currencies)."""
    found = {scenario_currency(it.scenario) for it in items}
    return found.pop() if len(found) == 1 else None


def _cost_label(currency: str | None) -> str:
    """The cost axis: ``Capital cost (GBP)``; mixed currencies say so (the ticks carry the units)."""
    return f"Capital cost ({currency})" if currency else "Capital cost (millions, mixed currencies)"


def _cost_ticks(currency: str | None) -> Any:
    """Tick labels of a cost axis (values in the currency's units), in the project's money
    formatting: ``£2.25m``, ``JPY 330m``, ``JPY 1.40bn``; plain millions for mixed currencies."""
    from matplotlib.ticker import FuncFormatter

    if currency:
        return FuncFormatter(lambda x, _pos: mpl_text(money_short(x, currency)))
    return FuncFormatter(lambda x, _pos: f"{x / 1e6:g}m")


def _draw_front(ax: Any, front: Sequence[FrontPoint], rows: Sequence[Sequence[Any]], currency: str | None) -> list[tuple[float, str]]:
    """Each front (items sharing a baseline) as a step line with labels (one colour per front).

    Returns:
        (no-intervention objective, colour) of each front, for :func:`_draw_baselines`.
    """
    numbers = sorted({p.front for p in front})
    baselines = []
    for n in numbers:
        pts = [p for p in front if p.front == n]
        colour, text_colour = _front_colours(n)
        base = next((r[_OBJ + 1] for r in rows if r[_FRONT] == n and r[_OBJ + 1] is not None), None)
        label = "Pareto front" if len(numbers) == 1 else f"front {n}" + (f" (no intervention {base:,.0f} m)" if base else "")
        xs = [p.cost for p in pts]
        ys = [p.walk_m for p in pts]
        ax.step(xs, ys, where="post", color=colour, lw=2, zorder=3, label=mpl_text(label))
        ax.scatter(xs, ys, s=46, color=colour, edgecolor="white", zorder=4)
        last = None
        for k, p in enumerate(pts):
            if last is not None and (p.cost, p.walk_m) == last:
                continue
            last = (p.cost, p.walk_m)
            text = p.name if len(p.name) <= 44 else p.name[:42] + "…"
            if p.rate is not None:
                text += f"\n{p.rate:,.1f} m per {currency_prefix(currency or '')}1m"
            ax.annotate(mpl_text(text), (p.cost, p.walk_m), xytext=(6, 6 if k % 2 == 0 else -18),
                        textcoords="offset points", fontsize=7.5, color=text_colour)
        if base is not None:
            baselines.append((float(base), "#c0392b" if len(numbers) == 1 else colour))
    return baselines


def _objective_limits(ys: Sequence[float]) -> tuple[float, float]:
    """The objective axis's range: the solved items' objectives with room for their labels."""
    lo, hi = min(ys), max(ys)
    pad = max(0.08 * (hi - lo), 0.01 * abs(hi), 1.0)
    return lo - pad, hi + 2.5 * pad


def _draw_baselines(ax: Any, baselines: Sequence[tuple[float, str]], ylim: tuple[float, float]) -> None:
    """The no-intervention objective of each front: a dashed line when it is within the data's
    range, else (far above the front, as usual: it would flatten the front) an arrow at the top
    edge saying how far up it is."""
    off = []
    for base, colour in baselines:
        if ylim[0] <= base <= ylim[1]:
            ax.axhline(base, color=colour, ls="--", lw=1, label=f"no intervention ({base:,.0f} m)" if len(baselines) == 1 else None)
        else:
            off.append((base, colour))
    for k, (base, colour) in enumerate(off):
        where = "above" if base > ylim[1] else "below"
        y_edge, y_text = (1.0, 0.9) if where == "above" else (0.0, 0.1)
        x = 0.5 - 0.22 * (len(off) - 1) / 2 + 0.22 * k
        ax.annotate(f"no intervention: {base:,.0f} m ({where} the scale)", xy=(x, y_edge), xycoords="axes fraction",
                    xytext=(x, y_text), textcoords="axes fraction", ha="center", va="center", fontsize=8, color=colour,
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1},
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 0.6})


_FRONT_COLOURS = (("#1f6f8b", "#12435a"), ("#d35400", "#8a3700"), ("#27ae60", "#1a7340"), ("#8e44ad", "#5b2c6f"))
"""(line, label) colours of the fronts, in turn."""


def _front_colours(n: int) -> tuple[str, str]:
    """The (line, label) colours of front ``n`` (from 1; they repeat after four)."""
    return _FRONT_COLOURS[(n - 1) % len(_FRONT_COLOURS)]


_COST, _OBJ, _DOM, _WALK, _FAC, _COV, _FRONT = 3, 4, 7, 9, 12, 13, 15
"""Indices of pareto_table's rows (with no swept columns) the figure reads."""
_SIDE_PANELS = ((_WALK, "Firm-to-firm weighted mean walk", "m", 1.0),
                (_FAC, "Walk to the nearest facility (employee-weighted)", "m", 1.0),
                (_COV, "Employees within reach of a social space", "%", 100.0))
"""(column, panel title, y-axis unit, factor) of the figures beside the objective."""


def _draw_side(ax: Any, rows: Sequence[Sequence[Any]], col: int, title: str, unit: str, factor: float) -> None:
    """One of the figures beside the objective: every solved item, the front's items joined."""
    pts = [(r[_COST], r[col] * factor, bool(r[_DOM]), r[_FRONT]) for r in rows if r[col] is not None]
    if not pts:
        ax.text(0.5, 0.5, "not in these runs", ha="center", va="center", transform=ax.transAxes, color="#777")
    dom = [(c, v) for c, v, d, _ in pts if d]
    if dom:
        ax.scatter(*zip(*dom), s=20, color="#9aa5b1", alpha=0.8, zorder=2)
    for n in sorted({f for *_, f in pts}):
        front = [(c, v) for c, v, d, f in pts if not d and f == n]
        if front:
            ax.plot(*zip(*front), "o-", color=_front_colours(n)[0], ms=5, lw=1.2, zorder=3)
    ax.set_title(title, fontsize=8, loc="left")
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, color="#e5e5e5", lw=0.6)


@under_text_rc
def pareto_figure(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], title: str) -> Any:
    """pareto.png's figure: the objective actually optimised against capital cost (every solved
    item, the front as a step line with labels; the axis spans the solved items, a
    no-intervention objective far above them is an arrow at the top edge, not a stretched
    axis), and beside it firm-to-firm walking, facility access and coverage of the same items
    (one panel each, sharing the cost axis). Costs are ticked in the project's money formatting
    of the batch's currency (``£2.25m``, ``JPY 1.40bn``).

    Args:
        items, records: the batch's items and the records of the finished ones.
        title: the batch's name, for the figure title.

    Returns:
        A ``matplotlib.figure.Figure`` (not attached to pyplot).
    """
    from matplotlib.figure import Figure  # lazy: matplotlib is slow to import
    from matplotlib.ticker import MaxNLocator

    _, rows, front = pareto_table(items, records, [])
    currency = batch_currency(items)
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    grid = fig.add_gridspec(3, 2, width_ratios=(2.2, 1))
    ax = fig.add_subplot(grid[:, 0])
    dominated = [(r[_COST], r[_OBJ]) for r in rows if r[_DOM]]
    if dominated:
        ax.scatter([c for c, _ in dominated], [w for _, w in dominated],
                   s=28, color="#9aa5b1", alpha=0.8, label="dominated scenario", zorder=2)
    if front:
        baselines = _draw_front(ax, front, rows, currency)
        ylim = _objective_limits([r[_OBJ] for r in rows])
        ax.set_ylim(*ylim)
        _draw_baselines(ax, baselines, ylim)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no solved scenarios yet", ha="center", va="center", transform=ax.transAxes, color="#777")
    side: list[Any] = []
    for k, (col, label, unit, factor) in enumerate(_SIDE_PANELS):
        sax = fig.add_subplot(grid[k, 1], sharex=side[0] if side else None)
        _draw_side(sax, rows, col, label, unit, factor)
        side.append(sax)
    for sax in side[:-1]:
        sax.tick_params(labelbottom=False)
    side[-1].set_xlabel(_cost_label(currency), fontsize=8)
    for a in (ax, *side):
        a.xaxis.set_major_formatter(_cost_ticks(currency))
    side[-1].xaxis.set_major_locator(MaxNLocator(4))  # the narrow panels: labels such as "JPY 1.40bn" apart
    ax.set_xlabel(_cost_label(currency))
    ax.set_ylabel("Objective optimised, as a weighted mean walk (m; every term)")
    distinct = len({(p.cost, p.walk_m) for p in front})
    ax.set_title(f"{title}: what each extra {unit_word(currency)} buys\n{len(rows)} solved of {len(items)} scenarios; "
                 f"{distinct} distinct point{'s' if distinct != 1 else ''} on the cost-objective Pareto front", fontsize=10)
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.margins(x=0.1)
    return fig


def plot_pareto(path: Path, items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], title: str) -> Path:
    """Draw pareto.png (:func:`pareto_figure`), atomically.

    Args:
        path: the PNG to write.
        items, records: the batch's items and the records of the finished ones.
        title: the batch's name, for the figure title.

    Returns:
        ``path``.
    """
    fig = pareto_figure(items, records, title)
    _atomic_savefig(fig, path)
    logger.debug("wrote %s", path)
    return path
