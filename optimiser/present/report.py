"""The run's self-contained browser report (``report.html``), rendered from the Jinja2 template
``templates/report.html.j2``.

One HTML file with inline CSS, a few lines of inline JavaScript (table sorting) and the plans
as base64 PNG ``data:`` images: it makes no network request at all, so it can be mailed,
archived or opened offline. The templates are autoescaped: every text from the run is escaped.

This module builds the template's view model (cards, tables of :class:`Cell`) from a
:class:`~optimiser.present.layers.RunData` and its typed
:class:`~optimiser.present.metrics.RunMetrics`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pyproj import CRS, Transformer

from optimiser import __version__
from optimiser.inputs.currency import currency_unit
from optimiser.present.buys import buys_table, buys_unit_note, item_names
from optimiser.present.formatting import (
    as_float,
    compared_pairs_text,
    fmt_m,
    fmt_money,
    fmt_money_column,
    fmt_num,
    fmt_pct,
    nice_type,
)
from optimiser.present.futures import futures_view
from optimiser.present.interactive import map_view
from optimiser.present.layers import RunData, placement_tags
from optimiser.present.map_style import map_css
from optimiser.present.metrics import RunMetrics
from optimiser.present.staging import write_new_file
from optimiser.present.tables import Cell, Header, Table, num_cell
from optimiser.present.titles import plan_alt, site_name_beside

logger = logging.getLogger(__name__)

__all__ = ["Cell", "Header", "Table", "write_report", "render_report", "report_awaiting_plan", "render_page", "data_uri_png",
           "template_env"]


@dataclass(frozen=True)
class Card:
    """A summary card: a key, its value large, and a line of context."""

    key: str
    value: str
    sub: str


@functools.cache
def template_env() -> Environment:
    """The Jinja2 environment of the report templates (autoescaped: ``*.html.j2`` templates
    escape every value); one per process, so each template is compiled once (the render process
    of ``siteopt run`` compiles them before the run is sent: about 0.07 s of CPU)."""
    env = Environment(loader=PackageLoader("optimiser.present", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2")),
                      keep_trailing_newline=True)
    env.globals["map_css"] = Markup(map_css())  # the interactive plan's colours, from the static plan's style
    return env


def data_uri_png(png: bytes) -> str:
    """A ``data:`` URI of PNG bytes (images inline: the page loads nothing)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_page(template: str, title: str, **context: Any) -> str:
    """Render one of the package's page templates with the common header and footer values."""
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return template_env().get_template(template).render(title=title, version=__version__, generated=now, **context)


def _delta_cls(before: Any, after: Any, lower_better: bool = True) -> str:
    b, a = as_float(before), as_float(after)
    if b is None or a is None or abs(a - b) < 1e-9:
        return ""
    return "better" if (a < b) == lower_better else "worse"


def _transit_card(m: RunMetrics) -> Card | None:
    """A transit run's own result, first among the cards when it is the whole objective
    (``max_coverage``: staff within the catchment; ``min_mean_walk``: the mean walk to a stop)."""
    tr = m.transit
    if tr is None or not tr.exclusive:
        return None
    if tr.objective == "max_coverage":
        share = tr.covered_employees / tr.total_employees if tr.covered_employees is not None and tr.total_employees else None
        return Card(f"Staff within {fmt_num(tr.catchment_m)} m of a stop",
                    f"{fmt_num(tr.covered_employees)} of {fmt_num(tr.total_employees)}",
                    f"{fmt_pct(share, share=True)} of staff; today {fmt_num(tr.covered_employees_today)} "
                    "(this run's objective)")
    return Card("Mean walk to a stop", fmt_m(tr.mean_walk_m),
                f"today {fmt_m(tr.mean_walk_today_m)}, staff-weighted (this run's objective)")


def summary_cards(m: RunMetrics) -> list[Card]:
    """The summary cards: a transit run's own result first (:func:`_transit_card`), then walk,
    reduction, detour, coverage, cost and gap."""
    transit = _transit_card(m)
    if transit is None:
        return _walk_cards(m)
    # the walk between firms is not what such a run minimises: said so; no empty coverage card
    walks = [replace(c, sub=f"{c.sub} (between firms; not this run's objective)") if c.key == "Weighted mean walk" else c
             for c in _walk_cards(m) if not (c.key == "Coverage" and m.coverage is None)]
    return [transit, *walks]


def _walk_cards(m: RunMetrics) -> list[Card]:
    walk, cost, cov = m.walk, m.cost, m.coverage
    red = walk.reduction_pct
    n_new = walk.pairs_newly_connected
    over = (f"over the {fmt_num(walk.pairs_compared)} of {fmt_num(walk.pairs)} firm pairs connected before" if n_new
            else f"{fmt_num(walk.pairs)} firm pairs")
    cards = [
        Card("Weighted mean walk", fmt_m(walk.optimised_weighted_mean_m), f"before {fmt_m(walk.baseline_weighted_mean_m)}"),
        Card("Reduction", fmt_pct(red) if red is not None else "–", over),
    ]
    if n_new:  # pairs with no walk before: in no mean above, counted here
        cards.append(Card("Newly connected", f"{fmt_num(n_new)} of {fmt_num(walk.pairs)} pairs",
                          f"no walk before; mean walk after {fmt_m(walk.newly_connected_weighted_mean_m)}"))
    return cards + [
        Card("Mean detour ratio", fmt_num(walk.optimised_mean_detour, 2),
             f"before {fmt_num(walk.baseline_mean_detour, 2)} (1.00 = straight line)"),
        Card("Coverage", fmt_pct(cov.optimised_share, share=True) if cov else "–",
             (f"employees within {fmt_num(cov.radius_m)} m of a social space; before "
              f"{fmt_pct(cov.baseline_share, share=True)}") if cov else "no coverage target"),
        Card("Capital cost", fmt_money(cost.capital, m.currency), f"budget {fmt_money(cost.budget, m.currency)}"),
        Card("Optimality gap", fmt_pct(m.gap, 2, share=True) if as_float(m.gap) is not None else "–",
             f"{m.status}, {fmt_num(m.solve_seconds, 1)} s ({m.backend or '?'})"),
    ]


def metrics_table(m: RunMetrics) -> Table:
    """Before / after of the walk, detour, cross-barrier walk and coverage."""
    walk, cb, cov = m.walk, m.walk.cross_barrier, m.coverage
    first = "Weighted mean walk between firms" + compared_pairs_text(walk)
    rows: list[tuple[str, str, str, str]] = [
        (first, fmt_m(walk.baseline_weighted_mean_m), fmt_m(walk.optimised_weighted_mean_m),
         _delta_cls(walk.baseline_weighted_mean_m, walk.optimised_weighted_mean_m)),
        ("Mean detour ratio (walk ÷ straight line)", fmt_num(walk.baseline_mean_detour, 3),
         fmt_num(walk.optimised_mean_detour, 3), _delta_cls(walk.baseline_mean_detour, walk.optimised_mean_detour)),
    ]
    if cb.pairs:
        cb_new = cb.pairs_newly_connected or 0
        rows.insert(1, (f"Weighted mean walk across a barrier ({fmt_num(cb.pairs)} pairs"
                        + (f"; {fmt_num(cb_new)} newly connected, not in this mean" if cb_new else "") + ")",
                        fmt_m(cb.baseline_weighted_mean_m), fmt_m(cb.optimised_weighted_mean_m),
                        _delta_cls(cb.baseline_weighted_mean_m, cb.optimised_weighted_mean_m)))
    if walk.pairs_newly_connected:  # no walk before: not in the means above
        rows.insert(1, (f"Weighted mean walk of the firm pairs newly connected ({fmt_num(walk.pairs_newly_connected)}"
                        f" of {fmt_num(walk.pairs)})", "no walk", fmt_m(walk.newly_connected_weighted_mean_m), "better"))
    if cov:
        rows.append((f"Employees within {fmt_num(cov.radius_m)} m of a social space",
                     fmt_pct(cov.baseline_share, share=True), fmt_pct(cov.optimised_share, share=True),
                     _delta_cls(cov.baseline_share, cov.optimised_share, lower_better=False)))
    return Table([Header("Metric"), Header("Before", True), Header("After", True)],
                 [[Cell(a), Cell(b, numeric=True), Cell(c, numeric=True, cls=cls)] for a, b, c, cls in rows])


def cost_table(m: RunMetrics) -> Table:
    """Capital cost by kind, the budget and what is left of it (in the run's currency)."""
    cost = m.cost
    items: list[tuple[str, float | None]] = [
        ("Crossings", cost.crossings), ("Shared facilities", cost.facilities), ("Social spaces", cost.social_spaces)]
    if m.transit is not None:
        items.append(("Transit stops", m.transit.capital))
    items += [("Total capital cost", cost.capital), ("Budget", cost.budget)]
    if cost.budget is not None:
        items.append(("Budget unspent", cost.budget - cost.capital))
    return Table([Header("Cost"), Header(currency_unit(m.currency), True)],
                 [[Cell(k), num_cell(text, v)] for (k, v), text in zip(items, fmt_money_column([v for _, v in items], m.currency))])


@functools.lru_cache(maxsize=8)
def _crs_facts(working: str, source: str) -> tuple[bool, bool]:
    """(whether the working CRS is the site file's, whether the site file's is geographic)."""
    src = CRS.from_user_input(source)
    return CRS.from_user_input(working).equals(src), src.is_geographic


@functools.lru_cache(maxsize=8)
def _to_input_crs(working: str, source: str) -> Transformer | None:
    """working CRS -> the site file's CRS (None when they are the same)."""
    if _crs_facts(working, source)[0]:
        return None
    return Transformer.from_crs(working, source, always_xy=True)


def look_up_crs(m: RunMetrics) -> None:
    """Look up (and cache) what :func:`location_text` needs to know of the run's CRSs. A process
    forked after it (the plan's, :mod:`optimiser.present.render`) then never opens PROJ's
    database itself: its first look-up there costs about 0.05 s of CPU (PROJ reopens the
    database in a forked process)."""
    if m.site.crs:
        _crs_facts(m.site.crs, m.site.source_crs or m.site.crs)


def location_text(m: RunMetrics, x: float, y: float) -> str:
    """A position in the site file's own CRS: 'lat 37.4912, lon -121.9401' for a geographic CRS,
    'E 441,075, N 387,825' for a projected one."""
    src = m.site.source_crs or m.site.crs
    tr = _to_input_crs(m.site.crs, src) if m.site.crs and src else None
    if tr is not None:
        x, y = tr.transform(x, y)
    geographic = _crs_facts(m.site.crs, src)[1] if m.site.crs and src else CRS.from_user_input(src).is_geographic
    if geographic:
        return f"lat {y:.5f}, lon {x:.5f}"
    return f"E {fmt_num(x)}, N {fmt_num(y)}"


def placements_table(m: RunMetrics) -> Table:
    """Everything built, with its plan tag (F1, S1, X1 ..., T for a transit stop), human name, location and cost."""
    tags = placement_tags(m)
    names = item_names(m)
    pl = m.placements
    rows: list[tuple[str, str, str, str, float, str]] = []
    rows += [("Shared facility", f.id, nice_type(f.type), location_text(m, f.x, f.y), f.cost, "")
             for f in pl.shared_facilities]
    rows += [("Social space", s.id, "social space", location_text(m, s.x, s.y), s.cost, "")
             for s in pl.social_spaces]
    rows += [("Crossing", c.id, nice_type(c.type), f"over {c.barrier or '?'}, {location_text(m, c.x, c.y)}", c.cost,
              f"+{fmt_num(c.penalty_m)} m walk penalty") for c in pl.crossings]
    stops = [t for t in (m.transit.stops if m.transit is not None else []) if not t.existing]
    rows += [("Transit stop", t.id, f"stop on {t.line}", location_text(m, t.x, t.y), t.cost, "") for t in stops]
    headers = [Header("On plan"), Header("Placement"), Header("Name"), Header("Type"),
               Header(f"Location ({m.site.source_crs or m.site.crs})"),
               Header("Cost", True), Header("Note"), Header("Id")]
    return Table(headers, [[Cell(tags.get(i, ""), wrap="strong"), Cell(k), Cell(names.get(i, i)), Cell(t), Cell(loc),
                            num_cell(fmt_money(cost, m.currency), cost), Cell(note), Cell(i, wrap="code")]
                           for k, i, t, loc, cost, note in rows])


def _pair_change_m(r: Mapping[str, Any]) -> float | None:
    ch = as_float(r.get("change_m"))
    b, a = as_float(r.get("before_m")), as_float(r.get("after_m"))
    if ch is None and a is not None and b is not None:
        ch = a - b
    return ch


def pairs_table(run: RunData) -> Table | None:
    """Every firm pair, most improved first (None when the run has no ``pairs.csv``)."""
    if not run.pairs:
        return None
    tags = placement_tags(run.metrics, run.layout)
    rows = sorted(run.pairs, key=lambda r: as_float(r.get("change_m")) or 0.0)
    table = Table([Header("Firm A"), Header("Firm B"), Header("Weight", True), Header("Straight (m)", True),
                   Header("Before (m)", True), Header("After (m)", True), Header("Change (m)", True),
                   Header("Detour before", True), Header("Detour after", True), Header("New crossings used")])
    for r in rows:
        ch = _pair_change_m(r)
        cls = "" if ch is None or abs(ch) < 0.05 else ("better" if ch < 0 else "worse")
        used = ", ".join(f"{tags[c]} ({c})" if c in tags else c for c in str(r.get("crossings_used") or "").split(";") if c)
        table.row_pairs.append(f"{r.get('a')}|{r.get('b')}")
        table.rows.append([
            Cell(str(r.get("a_name") or r.get("a"))), Cell(str(r.get("b_name") or r.get("b"))),
            num_cell(fmt_num(r.get("weight"), 2), r.get("weight")),
            *(num_cell(fmt_num(r.get(k)), r.get(k)) for k in ("straight_m", "before_m", "after_m")),
            num_cell(f"{ch:+,.0f}" if ch is not None else "–", ch, cls=cls),
            *(num_cell(fmt_num(r.get(k), 2), r.get(k)) for k in ("detour_before", "detour_after")),
            Cell(used or "–"),
        ])
    return table


def firms_table(run: RunData) -> Table | None:
    """Every firm's walk to the nearest facility before and after and to a social space (None
    when the run has no ``firms.csv``)."""
    if not run.firms:
        return None
    table = Table([Header("Firm"), Header("Sector"), Header("Employees", True), Header("To facility before (m)", True),
                   Header("To facility after (m)", True), Header("To social space (m)", True), Header("Covered"),
                   Header("Position accuracy (m)", True)])
    accuracy = {f.id: f.props.get("accuracy_m") for f in run.layout.layer("firm")}
    for r in run.firms:
        b, a = as_float(r.get("facility_walk_before_m")), as_float(r.get("facility_walk_after_m"))
        cov = r.get("covered")
        table.rows.append([
            Cell(str(r.get("name") or r.get("firm"))), Cell(str(r.get("sector") or "")),
            num_cell(fmt_num(r.get("employees")), r.get("employees")),
            num_cell(fmt_num(b), b), num_cell(fmt_num(a), a, cls=_delta_cls(b, a)),
            num_cell(fmt_num(r.get("social_walk_m")), r.get("social_walk_m")),
            Cell("yes" if cov is True else ("no" if cov is False else str(cov or "–"))),
            num_cell(f"±{fmt_num(acc)}" if (acc := accuracy.get(str(r.get("firm")))) is not None else "–", acc),
        ])
    return table


def certificate_table(m: RunMetrics) -> Table:
    """Solver status, objective, bound, gap, backend, seed, time and the verification result."""
    ver = m.verification
    rows = [("Status", str(m.status)),
            ("Objective (weighted walk)", fmt_num(m.objective, 3)),
            ("Best bound", fmt_num(m.bound, 3)),
            ("Gap", fmt_pct(m.gap, 3, share=True) if as_float(m.gap) is not None else "–"),
            ("Backend", m.backend or "?"),
            ("Seed", str(m.seed)),
            ("Solve time", f"{fmt_num(m.solve_seconds, 2)} s"),
            ("Verification", "passed" if ver.passed is True else ("FAILED" if ver.passed is False else "not run")),
            ("Verified objective", fmt_num(ver.objective, 3))]
    return Table([Header("Certificate"), Header("Value")], [[Cell(k), Cell(v)] for k, v in rows])


def checks_table(m: RunMetrics) -> Table:
    """One row per verification check: its name, passed or failed, and the figures."""
    return Table([Header("Check"), Header("Result"), Header("Detail")],
                 [[Cell(c.name), Cell("✔ passed", span="ok") if c.passed else Cell("✘ failed", span="fail"), Cell(c.detail)]
                  for c in m.verification.checks])


def transit_view(m: RunMetrics) -> dict[str, Any] | None:
    """The transit section's tables: the stops and the staff they reach (None without transit)."""
    t = m.transit
    if t is None:
        return None
    total = t.total_employees or 0

    def staff(v: int | None) -> str:
        return "–" if v is None else f"{fmt_num(v)} ({fmt_pct(v / total if total else None, share=True)})"

    rows = [(f"Staff within {fmt_num(t.catchment_m)} m walk of a stop", staff(t.covered_employees_today),
             staff(t.covered_employees_existing_crossings_only), staff(t.covered_employees)),
            ("Staff-weighted mean walk to the nearest stop", fmt_m(t.mean_walk_today_m), fmt_m(t.mean_walk_existing_crossings_only_m),
             fmt_m(t.mean_walk_m))]
    figures = Table([Header("Metric"), Header("Today", True), Header("New stops, today's crossings", True),
                     Header("New stops and crossings", True)],
                    [[Cell(a), Cell(b, numeric=True), Cell(c, numeric=True), Cell(d, numeric=True)] for a, b, c, d in rows])
    stop_rows = [[Cell("new" if not s.existing else "existing"), Cell(s.id, wrap="code"), Cell(s.name), Cell(s.line),
                  Cell(f"E {fmt_num(s.x)}, N {fmt_num(s.y)}"), num_cell(fmt_money(s.cost, m.currency), s.cost)]
                 for s in t.stops + t.existing_stops]
    stops = Table([Header("Stop"), Header("Id"), Header("Name"), Header("Alignment"), Header("Location"), Header("Cost", True)],
                  stop_rows)
    tags, names = placement_tags(m), item_names(m)

    def named(i: str, name: str = "") -> str:  # 'T1 Supertram stop 47', as the plan and the tables name it
        return " ".join(x for x in (tags.get(i, ""), names.get(i) or name or i) if x)

    today = "; ".join(named(s.id, s.name) for s in t.stops_existing_crossings_only) or "none"  # names hold commas
    return {"figures": figures, "stops": stops, "objective": t.objective,
            "crossings": "; ".join(named(c) for c in t.crossings) or "none",
            "today_stops": today, "catchment_m": fmt_num(t.catchment_m)}


def _kv(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = []
    for k, v in d.items():
        if isinstance(v, float):
            v = f"{v:,.4g}"
        elif isinstance(v, dict | list):
            v = json.dumps(v, default=str)
        items.append((str(k), str(v)))
    return items


def render_report(run: RunData, plan_png: bytes, distance_png: bytes, transit_png: bytes | None = None) -> str:
    """The report page of ``run`` with the plan and distance-map PNGs inline (and the transit
    catchments, with ``transit_png``)."""
    return _report_page(run, data_uri_png(plan_png), distance_png, transit_png)


def report_awaiting_plan(run: RunData, distance_png: bytes, transit_png: bytes | None = None) -> Callable[[bytes], str]:
    """The report page of ``run`` rendered now, all but the plan's image: returns the function
    that gives the finished page from the plan's PNG, the same text as :func:`render_report`
    (the render process renders the page while the plan is still being drawn).

    The plan's ``data:`` URI is the one value put in afterwards: it is base64 text, which the
    template's escaping leaves as it is, so putting it in the rendered page or rendering it
    gives the same page."""
    token = f"siteopt-plan-image-{uuid.uuid4().hex}"
    parts = _report_page(run, token, distance_png, transit_png).split(token)

    def finish(plan_png: bytes) -> str:
        return data_uri_png(plan_png).join(parts)

    return finish


def _report_page(run: RunData, plan_src: str, distance_png: bytes, transit_png: bytes | None) -> str:
    m = run.metrics
    status_class = "ok" if m.status == "optimal" else ("warn" if m.status == "feasible" else "fail")
    checks = checks_table(m)
    return render_page(
        "report.html.j2", f"{run.name} — site layout report",
        site_name=site_name_beside(m) if m.site.name else (m.site.id or "site"), crs=m.site.crs or "?", status=str(m.status),
        status_class=status_class,
        verified=m.verification.passed, illustrative=m.site.illustrative, description=m.scenario.description,
        solved=m.solved, message=m.message, conflicts=list(m.conflicts),
        scenario_path=m.scenario.path, scenario_id=m.scenario.id,
        cards=summary_cards(m), plan_src=plan_src, plan_alt=plan_alt(m), distance_src=data_uri_png(distance_png),
        has_routes=bool(run.layout.layer("route_after")), has_routes_before=bool(run.layout.layer("route_before")),
        metrics_table=metrics_table(m), cost_table=cost_table(m), placements_table=placements_table(m),
        map_view=map_view(run), buys_table=buys_table(run), buys_unit_note=buys_unit_note(run.metrics),
        pairs_table=pairs_table(run), firms_table=firms_table(run), certificate_table=certificate_table(m),
        checks_table=checks, checks_passed=sum(1 for c in m.verification.checks if c.passed),
        futures=futures_view(m.futures, m.alternatives, m.robust, m.status.value == "optimal"),
        timings=_kv(m.timings), model=_kv(m.model), missing=list(run.missing), warnings=m.warnings, run_id=m.run_id,
        transit=transit_view(m), transit_src=data_uri_png(transit_png) if transit_png else None,
    )


def write_report(run: RunData, plan_png: bytes, distance_png: bytes, out: str | Path | None = None, *,
                 transit_png: bytes | None = None) -> Path:
    """Write the self-contained ``report.html`` of ``run`` and return its path.

    Args:
        run: the run to report.
        plan_png, distance_png: the plan and distance map as PNG bytes (shown inline).
        out: where to write (a file that does not exist yet: it is created, never followed
            through a symlink); default ``report.html`` in the run directory.
        transit_png: the transit catchments (before / after the new crossings) as PNG bytes.
    """
    path = Path(out) if out else run.run_dir / "report.html"
    write_new_file(path, render_report(run, plan_png, distance_png, transit_png).encode("utf-8"))
    logger.debug("wrote %s", path)
    return path
