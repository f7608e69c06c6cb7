""""What each item buys": the report's and the comparison's tables of ``metrics.attribution``
(:mod:`optimiser.present.attribution`): each built item's human name, cost, the weighted mean walk
it saves (the objective's mean over every walk term), the cost per metre saved, what the saving is
made of (the firm-pair mean walk, the walk to each facility type, social-space coverage) and the
firm pairs a crossing serves."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from optimiser.present.formatting import fmt_money, fmt_num
from optimiser.present.layers import RunData, placement_tags
from optimiser.present.metrics import ItemAttribution, RunMetrics
from optimiser.present.tables import Cell, Header, Table, num_cell

logger = logging.getLogger(__name__)

__all__ = ["buys_unit_note", "buys_table", "compare_buys_table", "item_saving", "item_names", "pairs_served_text", "other_walks_text",
           "KIND_NAMES"]

KIND_NAMES = {"crossing": "Crossing", "facility": "Shared facility", "social": "Social space"}


def item_names(m: RunMetrics) -> dict[str, str]:
    """Placement id -> its human name, one name wherever the item is shown (the report's tables,
    the plan's key, compare's Built row): the attribution's, a new transit stop's from the
    ``transit`` section ('Supertram extension stop 47': run directories written before the
    attribution named it so too had 'stop 47 on tram-amp' there); no entry for an id the run
    does not name."""
    names = {a.id: a.name for a in m.attribution}
    if m.transit is not None:
        names.update({s.id: s.name for s in m.transit.stops if s.name and not s.existing})
    return names


def pairs_served_text(a: ItemAttribution, n: int = 3) -> str:
    """'McLaren – SYP operations (+660 m); ...' for the first ``n`` pairs relying on ``a``."""
    parts = [f"{p.a_name or p.a} – {p.b_name or p.b} (+{fmt_num(p.rise_m)} m)" if p.rise_m is not None
             else f"{p.a_name or p.a} – {p.b_name or p.b} (no walk without it)" for p in a.top_pairs[:n]]
    return "; ".join(parts)


def _relying(a: ItemAttribution) -> str:
    one = a.firms_relying == 1
    if a.kind == "crossing":  # and the firms it takes to a facility, social space or stop
        whose = "firm's" if one else "firms'"
        return (f"{fmt_num(a.pairs_using)} firm pair{'' if a.pairs_using == 1 else 's'}"
                + (f", {fmt_num(a.firms_relying)} {whose} walks to a facility, social space or stop"
                   if a.firms_relying else ""))
    return f"{fmt_num(a.firms_relying)} firm{'' if one else 's'}"


def _counts_staff(m: RunMetrics) -> bool:
    """The run minimises the staff outside every stop's catchment (transit ``max_coverage``): its
    savings are staff (the objective's own units, ``saving_weighted_m``), not metres of walk."""
    return m.transit is not None and m.transit.objective == "max_coverage"


def item_saving(a: ItemAttribution, m: RunMetrics) -> tuple[float, int, str]:
    """What ``a`` saves in its run's units, the decimals shown and the unit: metres of weighted mean
    walk, or staff for a coverage run (:func:`_counts_staff`)."""
    return ((a.saving_weighted_m or 0.0), 0, "staff") if _counts_staff(m) else (a.saving_m, 1, "m")


def per_unit_text(cost: float, value: float, currency: str, word: str) -> str:
    """'£229 per m': an item's cost divided by its saving, in whole currency units from 10 up (a
    ratio has no pence: '£229.30 per m' stood beside '£6k per m'), as :func:`fmt_money` beyond."""
    per = cost / value
    return f"{fmt_money(round(per) if per >= 10 else per, currency)} per {word}"


def _saving_cells(a: ItemAttribution, m: RunMetrics, unit: bool = False, currency: bool = False) -> list[Cell]:
    """The saving and the cost per unit saved (:func:`item_saving`); ``unit``: the unit in the
    saving's cell too (a table mixing runs of both kinds); ``unit`` and ``currency``: the cells
    sort within their unit (and currency: a table mixing them)."""
    value, digits, word = item_saving(a, m)
    per = a.cost / value if value > 0 else None
    group = word if unit else ""
    return [num_cell(fmt_num(value, digits) + (f" {word}" if unit else ""), value, group=group),
            num_cell(per_unit_text(a.cost, value, m.currency, word) if per is not None else "–", per,
                     group=" ".join(g for g in (group, m.currency if currency else "") if g))]


def _pair_walk_cell(a: ItemAttribution) -> Cell:
    """The rise of the firm-pair weighted mean walk without ``a`` (the headline's measure, over
    pairs with a walk both with and without it): '–' where it has none or the run directory
    predates it; the pairs left with no walk at all without it are said beside it."""
    v = a.pair_walk_m
    text = fmt_num(v, 1) if v is not None and v > 0.05 else "–"
    if a.pairs_disconnected:  # not in the mean (no walk to compare): said beside it
        text += f" ({fmt_num(a.pairs_disconnected)} pair{'' if a.pairs_disconnected == 1 else 's'} cut off)"
    return num_cell(text, v if v is not None else 0.0)


def _made_of_headers(staff: bool) -> list[Header]:
    """The columns of what a saving is made of in walks: none for a coverage run, whose objective
    is staff alone (they were '–' in every row)."""
    return [] if staff else [Header("Firm-pair walk saved (m)", True), Header("Walk to facilities, coverage")]


def _made_of_cells(a: ItemAttribution, staff: bool) -> list[Cell]:
    """``a``'s cells under :func:`_made_of_headers`."""
    return [] if staff else [_pair_walk_cell(a), Cell(other_walks_text(a) or "–")]


def other_walks_text(a: ItemAttribution) -> str:
    """What besides firm-pair walks rises without ``a``: the staff-weighted mean walk to each
    facility type ('shared workshop 772 → 1,050 m'; 'N staff reach none, each counted at the
    10,000 m unreachable penalty') and the staff leaving social-space coverage."""
    parts = []
    for c in a.access:
        what = c.type.replace("_", " ")
        text = f"{what} {fmt_num(c.with_m)} → {fmt_num(c.without_m)} m"
        if c.staff_unreached:
            text += (f" ({fmt_num(c.staff_unreached)} staff reach none, each counted at the "
                     f"{fmt_num(c.penalty_m)} m unreachable penalty)")
        parts.append(text)
    if a.staff_uncovered:
        parts.append(f"{fmt_num(a.staff_uncovered)} staff leave social-space coverage")
    return "; ".join(parts)


def _saving_order(a: ItemAttribution, m: RunMetrics) -> float:
    return -item_saving(a, m)[0]


def buys_unit_note(metrics: RunMetrics) -> str | None:
    """What "saves" counts when the objective is not a walk: a transit ``max_coverage`` run
    minimises the staff left outside every stop's catchment, so a saving is staff, not metres."""
    if _counts_staff(metrics):
        return ("This run's objective counts the staff outside every stop's catchment walk, not metres: "
                "\"saves\" is how many more staff would be outside every catchment without the item, and the "
                "cost per staff is its cost divided by that.")
    return None


def buys_table(run: RunData) -> Table | None:
    """One row per built item, largest saving first (None when the run has no attribution)."""
    m = run.metrics
    if not m.attribution:
        return None
    tags = placement_tags(m, run.layout)
    staff = _counts_staff(m)
    table = Table([Header("On plan"), Header("Item"), Header("Cost", True),
                   Header("Saves (staff within a catchment)" if staff else "Saves (m of objective mean)", True),
                   Header("Cost per staff" if staff else "Cost per m saved", True), *_made_of_headers(staff),
                   Header("Relied on by"), Header("Top pairs served"), Header("Without it")])
    names = item_names(m)
    for a in sorted(m.attribution, key=lambda a: _saving_order(a, m)):
        table.rows.append([
            Cell(tags.get(a.id, ""), wrap="strong"), Cell(names.get(a.id, a.name)),
            num_cell(fmt_money(a.cost, m.currency), a.cost), *_saving_cells(a, m),
            *_made_of_cells(a, staff),
            Cell(_relying(a)), Cell(pairs_served_text(a) or "–"),
            Cell("still feasible" if a.feasible_without else ("breaks a requirement" if a.feasible_without is False
                                                              else "–")),
        ])
    return table


def compare_buys_table(runs: Sequence[RunData]) -> Table:
    """Every run's built items: run, item, cost, saving and cost per unit saved (metres of mean
    walk; staff for a transit coverage run, each cell with its unit when the runs mix both)."""
    kinds = {_counts_staff(r.metrics) for r in runs}
    mixed = len(kinds) > 1
    currencies = len({r.metrics.currency for r in runs}) > 1  # costs in £ and $ sort each by its own
    staff = kinds == {True}
    table = Table([Header("Run"), Header("Item"), Header("Cost", True),
                   Header("Saves" if mixed else ("Saves (staff within a catchment)" if staff else "Saves (m of objective mean)"),
                          True),
                   Header("Cost per unit saved" if mixed else ("Cost per staff" if staff else "Cost per m saved"), True),
                   *_made_of_headers(staff),
                   Header("Top pairs served")])
    for r in runs:
        names = item_names(r.metrics)
        for a in sorted(r.metrics.attribution, key=lambda a: _saving_order(a, r.metrics)):
            table.rows.append([Cell(r.name), Cell(names.get(a.id, a.name)), num_cell(fmt_money(a.cost, r.metrics.currency), a.cost,
                                                                    group=r.metrics.currency if currencies else ""),
                               *_saving_cells(a, r.metrics, unit=mixed, currency=currencies),
                               *_made_of_cells(a, staff),
                               Cell(pairs_served_text(a, 2) or "–")])
    return table
