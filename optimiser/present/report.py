"""The run's self-contained browser report (``report.html``).

One HTML file with inline CSS, a few lines of inline JavaScript (table sorting) and the plans
as base64 PNG ``data:`` images: it makes no network request at all, so it can be mailed,
archived or opened offline. All text from the run is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from optimiser.present.plan import (
    RunData,
    distance_figure,
    fmt_gbp,
    fmt_m,
    fmt_num,
    fmt_pct,
    load_run,
    plan_figure,
)

__all__ = ["write_report", "page", "table", "data_uri_png", "SORT_JS", "CSS"]

CSS = """
:root{--ink:#1d2733;--muted:#5b6773;--line:#d9dee3;--bg:#f6f7f9;--accent:#1f6fb4;--good:#1e7b34;--bad:#b02a2a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:18px 28px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;color:var(--muted)}
main{max-width:1320px;margin:0 auto;padding:16px 28px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:18px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
margin-left:6px;vertical-align:middle;border:1px solid currentColor}
.ok{color:var(--good)} .warn{color:#9a6700} .fail{color:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fcfcfd}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:650}
.card .s{font-size:13px;color:var(--muted)}
figure{margin:0 0 14px}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
figcaption{font-size:13px;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:4px 0 8px}
th,td{padding:5px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:#f0f2f5}
.scroll thead th{position:sticky;top:0;z-index:1}
#pairs-table td:nth-child(-n+2),#firms-table td:first-child{min-width:15em}
table.sortable thead th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable thead th::after{content:" \\2195";color:#9aa5b1;font-size:11px}
table.sortable thead th[aria-sort=ascending]::after{content:" \\25B2";color:var(--accent)}
table.sortable thead th[aria-sort=descending]::after{content:" \\25BC";color:var(--accent)}
tbody tr:hover{background:#f7fafd}
.scroll{max-height:560px;overflow:auto;border:1px solid var(--line);border-radius:4px}
.better{color:var(--good)} .worse{color:var(--bad)}
.best{font-weight:700;background:#eef7ee}
.note{font-size:13px;color:var(--muted)}
code{font-size:12.5px;background:#f0f2f5;padding:1px 4px;border-radius:3px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:0}
dl.kv dt{color:var(--muted)} dl.kv dd{margin:0}
@media print{section{break-inside:avoid} .scroll{max-height:none}}
"""

SORT_JS = """
(function(){
  function key(cell){
    var v = cell.getAttribute('data-sort');
    if (v === null) v = cell.textContent.trim();
    var n = parseFloat(v);
    return (v !== '' && !isNaN(n) && isFinite(v)) ? {n: true, v: n} : {n: false, v: v.toLowerCase()};
  }
  function sortBy(table, idx, th){
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(c){ c.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    rows.sort(function(r1, r2){
      var a = key(r1.cells[idx]), b = key(r2.cells[idx]);
      var c;
      if (a.n && b.n) c = a.v - b.v;
      else if (a.n !== b.n) c = a.n ? -1 : 1;
      else c = a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
      return asc ? c : -c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th, idx){
      th.setAttribute('tabindex', '0');
      th.setAttribute('title', 'Sort by ' + th.textContent.trim());
      th.addEventListener('click', function(){ sortBy(table, idx, th); });
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, idx, th); } });
    });
  });
})();
"""

e = html.escape


def data_uri_png(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def page(title: str, body: str, *, subtitle: str = "") -> str:
    """A complete self-contained HTML page (no external resources)."""
    from optimiser import __version__

    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        # belt and braces: the page must never load anything from the network
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1 id=\"title\">{e(title)}</h1>{subtitle}</header>\n<main>\n{body}\n"
        f"<p class=\"note\">Generated by placemaking-optimiser {e(__version__)} on {e(now)}. "
        "Self-contained: no external resources.</p>\n</main>\n"
        f"<script>{SORT_JS}</script>\n</body>\n</html>\n"
    )


def _cell(v: Any, *, num: bool = False, sort: Any = None, cls: str = "") -> str:
    classes = " ".join(c for c in ("n" if num else "", cls) if c)
    attrs = f' class="{classes}"' if classes else ""
    if sort is not None:
        attrs += f' data-sort="{e(str(sort))}"'
    return f"<td{attrs}>{v}</td>"


def table(headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, sortable: bool = False,
          table_id: str = "") -> str:
    """``headers``: (text, numeric); ``rows``: pre-rendered ``<td>`` strings."""
    tid = f' id="{e(table_id)}"' if table_id else ""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f'<th{" class=n" if n else ""} scope="col">{e(h)}</th>' for h, n in headers)
    body = "\n".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f"<table{tid}{cls}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _fig_png(fig) -> bytes:
    buf = io.BytesIO()
    from optimiser.present.plan import PLAN_DPI

    fig.savefig(buf, format="png", dpi=PLAN_DPI, facecolor=fig.get_facecolor())
    return buf.getvalue()


def _image(run: RunData, name: str, make) -> bytes:
    """The run's PNG if it exists (written by ``render_run``), else rendered in memory."""
    p = run.run_dir / name
    if p.is_file() and p.stat().st_size > 0:
        return p.read_bytes()
    return _fig_png(make(run))


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x


def _delta_cls(before: Any, after: Any, lower_better: bool = True) -> str:
    b, a = _f(before), _f(after)
    if b is None or a is None or abs(a - b) < 1e-9:
        return ""
    return "better" if (a < b) == lower_better else "worse"


def _status_badge(metrics: Mapping[str, Any]) -> str:
    st = str(metrics.get("status", "unknown"))
    cls = "ok" if st == "optimal" else ("warn" if st == "feasible" else "fail")
    return f'<span class="badge {cls}" id="status">{e(st)}</span>'


def _verification_badge(metrics: Mapping[str, Any]) -> str:
    ver = metrics.get("verification") or {}
    passed = ver.get("passed")
    if passed is True:
        return '<span class="badge ok" id="verified">verified</span>'
    if passed is False:
        return '<span class="badge fail" id="verified">VERIFICATION FAILED</span>'
    return '<span class="badge warn" id="verified">not verified</span>'


def summary_cards(m: Mapping[str, Any]) -> str:
    walk = m.get("walk") or {}
    cost = m.get("cost") or {}
    cov = m.get("coverage") or {}
    red = walk.get("reduction_pct")
    cards = [
        ("Weighted mean walk", fmt_m(walk.get("optimised_weighted_mean_m")),
         f"before {fmt_m(walk.get('baseline_weighted_mean_m'))}"),
        ("Reduction", fmt_pct(red) if red is not None else "–", f"{fmt_num(walk.get('pairs'))} firm pairs"),
        ("Mean detour ratio", fmt_num(walk.get("optimised_mean_detour"), 2),
         f"before {fmt_num(walk.get('baseline_mean_detour'), 2)} (1.00 = straight line)"),
        ("Coverage", fmt_pct(cov.get("optimised_share"), share=True) if cov else "–",
         (f"employees within {fmt_num(cov.get('radius_m'))} m of a social space; before "
          f"{fmt_pct(cov.get('baseline_share'), share=True)}") if cov else "no coverage target"),
        ("Capital cost", fmt_gbp(cost.get("capital")), f"budget {fmt_gbp(cost.get('budget'))}"),
        ("Optimality gap", fmt_pct(m.get("gap"), 2, share=True) if _f(m.get("gap")) is not None else "–",
         f"{m.get('status', '?')}, {fmt_num(m.get('solve_seconds'), 1)} s ({m.get('backend', '?')})"),
    ]
    return '<div class="cards" id="cards">' + "".join(
        f'<div class="card"><div class="k">{e(k)}</div><div class="v">{e(v)}</div><div class="s">{e(s)}</div></div>'
        for k, v, s in cards) + "</div>"


def metrics_table(m: Mapping[str, Any]) -> str:
    walk = m.get("walk") or {}
    cost = m.get("cost") or {}
    cov = m.get("coverage") or {}
    rows = [
        ("Weighted mean walk between firms", fmt_m(walk.get("baseline_weighted_mean_m")),
         fmt_m(walk.get("optimised_weighted_mean_m")),
         _delta_cls(walk.get("baseline_weighted_mean_m"), walk.get("optimised_weighted_mean_m"))),
        ("Mean detour ratio (walk ÷ straight line)", fmt_num(walk.get("baseline_mean_detour"), 3),
         fmt_num(walk.get("optimised_mean_detour"), 3),
         _delta_cls(walk.get("baseline_mean_detour"), walk.get("optimised_mean_detour"))),
    ]
    cb = walk.get("cross_barrier") or {}
    if cb.get("pairs"):
        rows.insert(1, (f"Weighted mean walk across a barrier ({fmt_num(cb.get('pairs'))} pairs)",
                        fmt_m(cb.get("baseline_weighted_mean_m")), fmt_m(cb.get("optimised_weighted_mean_m")),
                        _delta_cls(cb.get("baseline_weighted_mean_m"), cb.get("optimised_weighted_mean_m"))))
    if cov:
        rows.append((f"Employees within {fmt_num(cov.get('radius_m'))} m of a social space",
                     fmt_pct(cov.get("baseline_share"), share=True), fmt_pct(cov.get("optimised_share"), share=True),
                     _delta_cls(cov.get("baseline_share"), cov.get("optimised_share"), lower_better=False)))
    body = [(_cell(e(a)), _cell(e(b), num=True), _cell(e(c), num=True, cls=cls)) for a, b, c, cls in rows]
    t1 = table([("Metric", False), ("Before", True), ("After", True)], body, table_id="metrics-table")
    crows = [("Crossings", cost.get("crossings")), ("Shared facilities", cost.get("facilities")),
             ("Social spaces", cost.get("social_spaces")), ("Total capital cost", cost.get("capital")),
             ("Budget", cost.get("budget"))]
    budget, cap = _f(cost.get("budget")), _f(cost.get("capital"))
    if budget is not None and cap is not None:
        crows.append(("Budget unspent", budget - cap))
    t2 = table([("Cost", False), ("£", True)],
               [(_cell(e(k)), _cell(e(fmt_gbp(v)), num=True, sort=v)) for k, v in crows], table_id="cost-table")
    return t1 + "<h3>Capital cost</h3>" + t2


def placements_table(m: Mapping[str, Any]) -> str:
    from optimiser.present.plan import placement_tags

    pl = m.get("placements") or {}
    tags = placement_tags(m)
    rows = []
    for f in pl.get("shared_facilities") or []:
        rows.append(("Shared facility", f.get("id"), str(f.get("type", "")).replace("_", " "),
                     f"E {fmt_num(f.get('x'))}, N {fmt_num(f.get('y'))}", f.get("cost_gbp"), ""))
    for s in pl.get("social_spaces") or []:
        rows.append(("Social space", s.get("id"), "social space",
                     f"E {fmt_num(s.get('x'))}, N {fmt_num(s.get('y'))}", s.get("cost_gbp"), ""))
    for c in pl.get("crossings") or []:
        rows.append(("Crossing", c.get("id"), str(c.get("type", "")).replace("_", " "),
                     f"over {c.get('barrier', '?')}", c.get("cost_gbp"),
                     f"+{fmt_num(c.get('penalty_m'))} m walk penalty" if c.get("penalty_m") is not None else ""))
    if not rows:
        return '<p class="note">Nothing placed: the baseline layout is already the best within the constraints.</p>'
    body = [(_cell(f"<strong>{e(tags.get(str(i), ''))}</strong>"), _cell(e(str(k))), _cell(f"<code>{e(str(i))}</code>"),
             _cell(e(t)), _cell(e(loc)), _cell(e(fmt_gbp(cst)), num=True, sort=cst if cst is not None else ""),
             _cell(e(note)))
            for k, i, t, loc, cst, note in rows]
    return table([("On plan", False), ("Placement", False), ("Id", False), ("Type", False), ("Location", False),
                  ("Cost", True), ("Note", False)], body, sortable=True, table_id="placements-table")


def pairs_table(run: RunData) -> str:
    if not run.pairs:
        return '<p class="note">pairs.csv is not in this run directory.</p>'
    from optimiser.present.plan import placement_tags

    tags = placement_tags(run.metrics, run.layout)
    rows = sorted(run.pairs, key=lambda r: (_f(r.get("change_m")) if _f(r.get("change_m")) is not None else 0.0))
    body = []
    for r in rows:
        ch = _f(r.get("change_m"))
        if ch is None and _f(r.get("after_m")) is not None and _f(r.get("before_m")) is not None:
            ch = _f(r["after_m"]) - _f(r["before_m"])  # type: ignore[operator]
        cls = "" if ch is None or abs(ch) < 0.05 else ("better" if ch < 0 else "worse")
        used = ", ".join(f"{tags[c]} ({c})" if c in tags else c
                         for c in str(r.get("crossings_used") or "").split(";") if c)
        body.append((
            _cell(e(str(r.get("a_name") or r.get("a")))), _cell(e(str(r.get("b_name") or r.get("b")))),
            _cell(e(fmt_num(r.get("weight"), 2)), num=True, sort=r.get("weight") if r.get("weight") is not None else ""),
            _cell(e(fmt_num(r.get("straight_m"))), num=True, sort=r.get("straight_m") if r.get("straight_m") is not None else ""),
            _cell(e(fmt_num(r.get("before_m"))), num=True, sort=r.get("before_m") if r.get("before_m") is not None else ""),
            _cell(e(fmt_num(r.get("after_m"))), num=True, sort=r.get("after_m") if r.get("after_m") is not None else ""),
            _cell(e(f"{ch:+,.0f}" if ch is not None else "–"), num=True, sort=ch if ch is not None else "", cls=cls),
            _cell(e(fmt_num(r.get("detour_before"), 2)), num=True, sort=r.get("detour_before") if r.get("detour_before") is not None else ""),
            _cell(e(fmt_num(r.get("detour_after"), 2)), num=True, sort=r.get("detour_after") if r.get("detour_after") is not None else ""),
            _cell(e(used or "–")),
        ))
    t = table([("Firm A", False), ("Firm B", False), ("Weight", True), ("Straight (m)", True), ("Before (m)", True),
               ("After (m)", True), ("Change (m)", True), ("Detour before", True), ("Detour after", True),
               ("New crossings used", False)], body, sortable=True, table_id="pairs-table")
    return (f'<p class="note">{len(rows)} firm pairs, most improved first. Click a column heading to sort. '
            "Walks are shortest paths on the walking network; detour = walk ÷ straight line.</p>"
            f'<div class="scroll">{t}</div>')


def firms_table(run: RunData) -> str:
    if not run.firms:
        return '<p class="note">firms.csv is not in this run directory.</p>'
    body = []
    for r in run.firms:
        b, a = _f(r.get("facility_walk_before_m")), _f(r.get("facility_walk_after_m"))
        cov = r.get("covered")
        body.append((
            _cell(e(str(r.get("name") or r.get("firm")))), _cell(e(str(r.get("sector") or ""))),
            _cell(e(fmt_num(r.get("employees"))), num=True, sort=r.get("employees") if r.get("employees") is not None else ""),
            _cell(e(fmt_num(b)), num=True, sort=b if b is not None else ""),
            _cell(e(fmt_num(a)), num=True, sort=a if a is not None else "", cls=_delta_cls(b, a)),
            _cell(e(fmt_num(r.get("social_walk_m"))), num=True,
                  sort=r.get("social_walk_m") if r.get("social_walk_m") is not None else ""),
            _cell("yes" if cov is True else ("no" if cov is False else e(str(cov or "–")))),
        ))
    return '<div class="scroll">' + table(
        [("Firm", False), ("Sector", False), ("Employees", True), ("To facility before (m)", True),
         ("To facility after (m)", True), ("To social space (m)", True), ("Covered", False)],
        body, sortable=True, table_id="firms-table") + "</div>"


def _kv(d: Mapping[str, Any]) -> str:
    if not d:
        return '<p class="note">none recorded</p>'
    items = []
    for k, v in d.items():
        if isinstance(v, float):
            v = f"{v:,.4g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, default=str)
        items.append(f"<dt>{e(str(k))}</dt><dd>{e(str(v))}</dd>")
    return '<dl class="kv">' + "".join(items) + "</dl>"


def certificate(m: Mapping[str, Any]) -> str:
    ver = m.get("verification") or {}
    gap = _f(m.get("gap"))
    rows = [("Status", str(m.get("status", "?"))),
            ("Objective (weighted walk)", fmt_num(m.get("objective"), 3)),
            ("Best bound", fmt_num(m.get("bound"), 3)),
            ("Gap", fmt_pct(gap, 3, share=True) if gap is not None else "–"),
            ("Backend", str(m.get("backend", "?"))),
            ("Seed", str(m.get("seed", "?"))),
            ("Solve time", f"{fmt_num(m.get('solve_seconds'), 2)} s"),
            ("Verification", "passed" if ver.get("passed") is True else
             ("FAILED" if ver.get("passed") is False else "not run")),
            ("Verified objective", fmt_num(ver.get("objective"), 3))]
    t = table([("Certificate", False), ("Value", False)], [(_cell(e(k)), _cell(e(v))) for k, v in rows],
              table_id="certificate-table")
    checks = []
    for c in ver.get("checks") or []:
        if isinstance(c, Mapping):
            name = c.get("name") or c.get("check") or c.get("id") or "check"
            ok = c.get("passed", c.get("ok"))
            detail = c.get("detail") or c.get("message") or c.get("reason") or ""
            extra = {k: v for k, v in c.items() if k not in ("name", "check", "id", "passed", "ok", "detail",
                                                             "message", "reason")}
            if extra:
                detail = (str(detail) + " " if detail else "") + json.dumps(extra, default=str)
        else:
            name, ok, detail = str(c), None, ""
        mark = ('<span class="ok">✔ passed</span>' if ok is True else
                '<span class="fail">✘ failed</span>' if ok is False else '<span class="note">–</span>')
        checks.append((_cell(e(str(name))), _cell(mark), _cell(e(str(detail)))))
    tc = table([("Check", False), ("Result", False), ("Detail", False)], checks, table_id="checks-table") \
        if checks else '<p class="note">No individual checks recorded.</p>'
    note = ("The gap is (objective − bound) ÷ objective; 0 means proven optimal. Verification rebuilds the "
            "walking network with the chosen crossings and recomputes every distance and constraint "
            "independently of the solver.")
    return (f'<p class="note">{e(note)}</p>{t}<h3>Verification checks</h3>{tc}'
            f"<h3>Timings (s)</h3>{_kv(m.get('timings') or {})}<h3>Model</h3>{_kv(m.get('model') or {})}")


def write_report(run_dir: str | Path, *, run: RunData | None = None, out: str | Path | None = None) -> Path:
    """Write the self-contained ``report.html`` for a run directory and return its path."""
    run = run or load_run(run_dir)
    m = run.metrics
    sc = m.get("scenario") or {}
    site = m.get("site") or {}
    plan_png = _image(run, "plan.png", plan_figure)
    dist_png = _image(run, "distance.png", distance_figure)
    title = f"{run.name} — site layout report"
    sub = [f"<p>{e(str(site.get('name') or site.get('id') or 'site'))} · CRS {e(str(site.get('crs', '?')))}"
           f"{_status_badge(m)}{_verification_badge(m)}"
           + ('<span class="badge warn" id="illustrative">illustrative, not surveyed</span>'
              if site.get("illustrative") else "") + "</p>"]
    if sc.get("description"):
        sub.append(f'<p id="description">{e(str(sc["description"]))}</p>')
    if sc.get("path"):
        sub.append(f'<p class="note">Scenario file <code>{e(str(sc["path"]))}</code>'
                   f'{" · id " + e(str(sc["id"])) if sc.get("id") else ""}</p>')
    if (m.get("verification") or {}).get("passed") is False:
        sub.append('<p class="fail"><strong>This layout failed independent verification. Do not use it; '
                   'report it as a bug.</strong></p>')
    parts = [
        f'<section id="summary"><h2>Summary</h2>{summary_cards(m)}</section>',
        '<section id="plans"><h2>Plans</h2>'
        f'<figure><img id="plan-img" alt="Optimised plan: placements, crossings and most improved routes" '
        f'src="{data_uri_png(plan_png)}"><figcaption>Optimised layout. Dashed grey: walking route before; '
        "solid blue: after, for the most improved firm pairs. Firm circles are sized by employees.</figcaption>"
        "</figure>"
        f'<figure><img id="distance-img" alt="Change in walking distance per firm" '
        f'src="{data_uri_png(dist_png)}"><figcaption>Per-firm change in walking distance (blue shorter, red '
        "longer).</figcaption></figure></section>",
        f'<section id="metrics"><h2>Metrics</h2>{metrics_table(m)}</section>',
        f'<section id="placements"><h2>Placements</h2>{placements_table(m)}</section>',
        f'<section id="pairs"><h2>Firm pairs</h2>{pairs_table(run)}</section>',
        f'<section id="firms"><h2>Firms</h2>{firms_table(run)}</section>',
        f'<section id="certificate"><h2>Solver certificate</h2>{certificate(m)}</section>',
    ]
    if run.missing:
        parts.append(f'<p class="note">Missing from the run directory: {e(", ".join(run.missing))}.</p>')
    path = Path(out) if out else run.run_dir / "report.html"
    path.write_text(page(title, "\n".join(parts), subtitle="\n".join(sub)), encoding="utf-8")
    return path
