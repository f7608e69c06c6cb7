""""What each item buys": the report's and the comparison's tables of ``metrics.attribution``
(:mod:`optimiser.present.attribution`): each built item's human name, cost, the weighted mean walk
it saves, the cost per metre saved and the firm pairs a crossing serves."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from optimiser.present.formatting import fmt_money, fmt_num
from optimiser.present.layers import RunData, placement_tags
from optimiser.present.metrics import ItemAttribution, RunMetrics
from optimiser.present.tables import Cell, Header, Table, num_cell

logger = logging.getLogger(__name__)

__all__ = ["buys_unit_note", "buys_table", "compare_buys_table", "item_names", "pairs_served_text", "KIND_NAMES"]

KIND_NAMES = {"crossing": "Crossing", "facility": "Shared facility", "social": "Social space"}


def item_names(m: RunMetrics) -> dict[str, str]:
    """Placement id -> its human name (from the attribution; the id when the run has none)."""
    return {a.id: a.name for a in m.attribution}


def pairs_served_text(a: ItemAttribution, n: int = 3) -> str:
    """'McLaren – SYP operations (+660 m); ...' for the first ``n`` pairs relying on ``a``."""
    parts = [f"{p.a_name or p.a} – {p.b_name or p.b} (+{fmt_num(p.rise_m)} m)" if p.rise_m is not None
             else f"{p.a_name or p.a} – {p.b_name or p.b} (no walk without it)" for p in a.top_pairs[:n]]
    return "; ".join(parts)


def _relying(a: ItemAttribution) -> str:
    if a.kind == "crossing":  # and the firms it takes to a facility, social space or stop
        return f"{fmt_num(a.pairs_using)} firm pairs" + (f", {fmt_num(a.firms_relying)} firms' walks to a facility, "
                                                         "social space or stop" if a.firms_relying else "")
    return f"{fmt_num(a.firms_relying)} firms"


def _per_m(a: ItemAttribution, currency: str) -> Cell:
    v = a.cost_per_m_saved
    return num_cell(f"{fmt_money(v, currency)} per m" if v is not None else "–", v)


def buys_unit_note(metrics: RunMetrics) -> str | None:
    """What "saves" counts when the objective is not a walk: a transit ``max_coverage`` run
    minimises the staff left outside every stop's catchment, so a saving is staff, not metres."""
    tr = metrics.transit
    if tr is not None and tr.objective == "max_coverage":
        return ("This run's objective counts the staff outside every stop's catchment walk, not metres: "
                "\"saves\" is how much that objective rises without the item (in the same units as the "
                "weighted mean walk), so cost per metre saved reads as cost per unit of coverage.")
    return None


def buys_table(run: RunData) -> Table | None:
    """One row per built item, largest saving first (None when the run has no attribution)."""
    m = run.metrics
    if not m.attribution:
        return None
    tags = placement_tags(m, run.layout)
    table = Table([Header("On plan"), Header("Item"), Header("Cost", True), Header("Saves (m of mean walk)", True),
                   Header("Cost per m saved", True), Header("Relied on by"), Header("Top pairs served"),
                   Header("Without it")])
    for a in sorted(m.attribution, key=lambda a: -a.saving_m):
        table.rows.append([
            Cell(tags.get(a.id, ""), wrap="strong"), Cell(a.name),
            num_cell(fmt_money(a.cost, m.currency), a.cost), num_cell(fmt_num(a.saving_m, 1), a.saving_m), _per_m(a, m.currency),
            Cell(_relying(a)), Cell(pairs_served_text(a) or "–"),
            Cell("still feasible" if a.feasible_without else ("breaks a requirement" if a.feasible_without is False
                                                              else "–")),
        ])
    return table


def compare_buys_table(runs: Sequence[RunData]) -> Table:
    """Every run's built items: run, item, cost, saving and cost per metre saved."""
    table = Table([Header("Run"), Header("Item"), Header("Cost", True), Header("Saves (m of mean walk)", True),
                   Header("Cost per m saved", True), Header("Top pairs served")])
    for r in runs:
        for a in sorted(r.metrics.attribution, key=lambda a: -a.saving_m):
            table.rows.append([Cell(r.name), Cell(a.name), num_cell(fmt_money(a.cost, r.metrics.currency), a.cost),
                               num_cell(fmt_num(a.saving_m, 1), a.saving_m), _per_m(a, r.metrics.currency),
                               Cell(pairs_served_text(a, 2) or "–")])
    return table
