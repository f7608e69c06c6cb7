"""The one-line account of a run that heads its plan and names it elsewhere (the report's plan
image, as its alternative text): the scenario and site, then what was decided and what it gives,
or why there is no layout. Free of matplotlib, so the report can use it without drawing."""

from __future__ import annotations

import textwrap

from optimiser.present.formatting import (
    compared_pairs_text,
    fmt_m,
    fmt_money,
    fmt_num,
    fmt_pct,
    newly_connected_text,
    reduction_text,
)
from optimiser.present.metrics import RunMetrics

__all__ = ["plan_title", "plan_alt", "site_name_beside", "wrap_title", "TITLE_WIDTH"]

TITLE_WIDTH = 150
"""Characters in a line of a plan's or distance map's title (11 pt across a 14.6-16 in figure)."""


def wrap_title(text: str, width: int = TITLE_WIDTH) -> str:
    """``text`` with each of its lines wrapped to ``width`` characters: a scenario or site name
    may be 200 characters long, and ran off the figure unwrapped."""
    return "\n".join(w for line in text.split("\n") for w in (textwrap.wrap(line, width, break_on_hyphens=False) or [""]))


def site_name_beside(metrics: RunMetrics) -> str:
    """The site's name to give beside the scenario's: '' when it has none or is the scenario's
    own name (every generated real-shaped problem), said once, not twice."""
    name, site = metrics.scenario.name or metrics.scenario.id or "", metrics.site.name or ""
    return "" if " ".join(site.split()).casefold() == " ".join(name.split()).casefold() else site


def plan_title(metrics: RunMetrics) -> tuple[str, str]:
    """The plan's heading (scenario and site) and its one-line summary of the results."""
    name = metrics.scenario.name or metrics.scenario.id or "Scenario"
    site_name = site_name_beside(metrics)
    head = f"{name}" + (f" — {site_name}" if site_name else "")
    if len(head) > 100:  # a long site name goes on a line of its own, in full
        head = "\n".join(n for n in (name, site_name) if n)
    head = wrap_title(head)
    walk, cost, gap, tr = metrics.walk, metrics.cost, metrics.gap, metrics.transit
    if not metrics.solved:  # no layout: say what stopped it, not a walk 'after' of '–'
        reason = "; ".join(metrics.conflicts) or metrics.message
        line = (f"No layout ({metrics.status})" + (f": {reason}" if reason else "")
                + f" · weighted mean walk today {fmt_m(walk.baseline_weighted_mean_m)}")
        return head, wrap_title(line)
    bits = []
    if tr is not None and tr.objective == "max_coverage":  # the run's own objective, not the walk between firms
        bits.append(f"{fmt_num(tr.covered_employees)} of {fmt_num(tr.total_employees)} staff within "
                    f"{fmt_num(tr.catchment_m)} m of a stop (today {fmt_num(tr.covered_employees_today)})")
    elif tr is not None and tr.objective == "min_mean_walk":
        bits.append(f"Mean walk to a stop {fmt_m(tr.mean_walk_today_m)} → {fmt_m(tr.mean_walk_m)}")
    elif walk.pairs_compared or not walk.pairs_newly_connected:  # every pair newly connected: no before to compare
        bits.append(f"Weighted mean walk{compared_pairs_text(walk)} {fmt_m(walk.baseline_weighted_mean_m)} → "
                    f"{fmt_m(walk.optimised_weighted_mean_m)}" + reduction_text(walk.reduction_pct))
    if walk.pairs_newly_connected and not (tr is not None and tr.exclusive):  # a pair with no walk before is in no mean: said on its own
        bits.append(newly_connected_text(walk))
    bits += [f"capital {fmt_money(cost.capital, metrics.currency)}"
             + (f" of {fmt_money(cost.budget, metrics.currency)}" if cost.budget is not None else ""),
             f"gap {fmt_pct(gap, 1, share=True) if gap is not None else '–'} ({metrics.status})"]
    rb = metrics.robust
    if rb is not None and metrics.futures:  # the layout is the robust plan in one future: say which
        worst = f", worst regret {fmt_pct(rb.worst_regret_pct, 2)}" if rb.worst_regret_pct is not None else ""
        head += (f"\nOne plan for {len(metrics.futures)} futures ({rb.rule}{worst}), drawn with its walks and costs in "
                 f"future {rb.reference_future}")
    if metrics.verification.passed is False:
        bits.append("VERIFICATION FAILED")
    return head, " · ".join(bits)


def plan_alt(metrics: RunMetrics) -> str:
    """The plan image's alternative text: its title in one line (what was decided and what it
    gives), for a reader who cannot see the image."""
    head, sub = plan_title(metrics)
    return "Plan of " + " ".join(f"{head}: {sub}".split())
