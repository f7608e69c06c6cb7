"""What each built item buys: ``metrics.json``'s ``attribution``, one entry per built item.

For every chosen decision (a crossing, a shared facility or a social space) the layout is
re-evaluated by the independent verifier (:func:`optimiser.verify.verify`) with that item alone
removed and everything else kept. Its ``saving_m`` is how much the objective's weighted mean walk
rises without it:

    saving_m = (objective without the item - objective of the layout) / (length scale x W)

where both objectives are the verifier's integer objective and ``W`` is the objective's total
weight in the same integer units (:func:`objective_weight`: every firm pair's weight, and every
firm's employees for each facility-access and social-access term, as the verifier counts them).
For an objective of firm-to-firm walking alone this is exactly the rise of
``walk.optimised_weighted_mean_m`` when the item is removed. A soft coverage penalty counts as
the verifier counts it (metres per uncovered employee). Removing an item never shortens a walk,
so ``saving_m`` is never negative.

``saving_m`` therefore mixes every walk term: a facility's saving is mostly its staff's walk to
it, and where none of its type is left each firm's walk counts at the unreachable penalty. Each
entry also says what the saving is made of: ``pair_walk_m`` (the rise of the firm-pair weighted
mean walk alone, the headline's measure), ``access`` (the staff-weighted mean walk to each
facility type with and without it) and ``staff_uncovered`` (staff leaving the social spaces'
coverage radius).

Besides the saving, each entry says which firm pairs (crossings) or firms (facilities, social
spaces, stops; for a crossing, firms whose walk to any of them it carries) rely on the item:
those whose walk rises without it, most weighted rise first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.demand import pair_weights
from optimiser.present.formatting import nice_type
from optimiser.present.metrics import AccessChange, ItemAttribution, PairServed
from optimiser.present.transit_record import stop_name
from optimiser.verify import Verification, verifier_base, verify
from optimiser.verify_graph import GraphBase

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.pipeline import Prepared

logger = logging.getLogger(__name__)

__all__ = ["attribute_items", "objective_weight", "item_names", "plan_item_names", "TOP_PAIRS"]

TOP_PAIRS = 5
"""How many of the pairs relying on a crossing each entry lists."""
_RISE_M = 1e-6
"""A walk that rises by more than this (m) relies on the removed item."""


def _w_int(weight: float, weight_scale: float) -> int:
    """A weight in the verifier's integer units (as :func:`optimiser.verify._term` rounds it)."""
    return max(1, int(round(weight * weight_scale)))


def objective_weight(prep: Prepared) -> int:
    """The objective's total weight in integer weight units: the sum of the weights of every
    walk term the verifier adds (firm pairs, facility access, social access)."""
    sc, ctx, problem = prep.scenario, prep.context, prep.problem
    ws = problem.weight_scale["all"]
    total = 0
    firms = list(sc.site.firms)
    if sc.objective.firm_pairs > 0:
        w = pair_weights(firms, sc.demand)
        total += sum(_w_int(w[a, b] * sc.objective.firm_pairs, ws) for a, b in ctx.pair_index if w[a, b] > 0)
    for spec in sc.facilities:
        total += sum(_w_int(f.employees * spec.access_weight * sc.objective.facility_access, ws) for f in firms
                     if f.employees * spec.access_weight * sc.objective.facility_access > 0)
    if sc.social_spaces is not None and sc.objective.social_access > 0:
        total += sum(_w_int(f.employees * sc.objective.social_access, ws) for f in firms
                     if f.employees * sc.objective.social_access > 0)
    tr = sc.transit
    if tr is not None and tr.objective != "max_coverage":  # the walk to the nearest transit stop
        k = 1.0 if tr.objective == "min_mean_walk" else tr.weight
        total += sum(_w_int(f.employees * k, ws) for f in firms if f.employees * k > 0)
    return total


def item_names(prep: Prepared, keys: Sequence[str] | None = None) -> dict[str, str]:
    """A human name for every decision key: 'Shared workshop on AMP final parcel',
    'Social space on Poplar Way verge', 'Signalised crossing across A630 Sheffield Parkway at 411 m'.
    Two of ``keys`` (default: all) with one name are numbered '(2)', '(3)'."""
    sc, ctx = prep.scenario, prep.context
    parcels = {p.id: p.name for p in sc.site.parcels}
    names: dict[str, str] = {}
    for s in prep.facility_sites + prep.social_sites:
        what = "Social space" if s.kind == "social" else nice_type(s.type).capitalize()
        where = parcels.get(s.parcel_id or "", s.parcel_id or "")
        names[s.key] = f"{what} on {where}" if where else what
    lines = {t.id: t.name for t in sc.site.transit}
    for s in prep.context.stop_sites:  # as metrics.json's transit section names it
        names[s.key] = stop_name(lines.get(s.type) or s.type, s.key)
    for ci, c in enumerate(ctx.network.candidates):
        if ci in ctx.crossing_decision:
            named = c.name and c.name != c.id  # a crossing the site file names only by its id: its type too
            text = c.name.replace(" across ", " crossing across ", 1) if named else f"{nice_type(c.type)} crossing {c.id}"
            names[prep.problem.decisions[ctx.crossing_decision[ci]].key] = text[:1].upper() + text[1:]
    # the same name twice (two workshops on one parcel) gets a number
    seen: dict[str, int] = {}
    for key in sorted(names if keys is None else [k for k in keys if k in names]):
        n = seen.get(names[key], 0) + 1
        seen[names[key]] = n
        if n > 1:
            names[key] = f"{names[key]} ({n})"
    return names


def plan_item_names(preps: Sequence[Prepared], decision_in: Sequence[dict[int, int]], labels: Sequence[str],
                    plan_decisions: Sequence[int]) -> dict[str, str]:
    """A futures run's plan decisions by their joint label ('a cafe_hub at candidate site 15 on
    parcel sbp-south-e (facility:cafe_hub:15)') -> the human name the rest of the report uses
    ('Cafe hub on SBP south plot E (vacant)', :func:`item_names`), from the first future whose
    problem has the decision."""
    out: dict[str, str] = {}
    for prep, where in zip(preps, decision_in):
        mine = [k for k in plan_decisions if k in where and labels[k] not in out]
        names = item_names(prep, [prep.problem.decisions[where[k]].key for k in mine])
        for k in mine:
            out[labels[k]] = names.get(prep.problem.decisions[where[k]].key, labels[k])
    return out


def _item_id(prep: Prepared, decision: int) -> str:
    """The id metrics.json's placements use: the crossing id, or the candidate site key."""
    d = prep.problem.decisions[decision]
    return d.key.split(":", 1)[1] if d.kind == "crossing" else d.key


def _pairs_relying(prep: Prepared, with_m: np.ndarray, without_m: np.ndarray) -> list[PairServed]:
    """Firm pairs whose walk rises without the item, largest weighted rise first."""
    ctx = prep.context
    firms = list(prep.scenario.site.firms)
    out = []
    for k, (a, b) in enumerate(ctx.pair_index):
        before, after = float(without_m[a, b]), float(with_m[a, b])
        if not math.isfinite(after):
            continue
        rise = before - after if math.isfinite(before) else math.inf
        if rise > _RISE_M:
            out.append(PairServed(a=firms[a].id, b=firms[b].id, a_name=firms[a].name, b_name=firms[b].name,
                                  weight=round(float(ctx.pair_w[k]), 4),
                                  rise_m=round(rise, 1) if math.isfinite(rise) else None))
    out.sort(key=lambda p: -(p.weight * (p.rise_m if p.rise_m is not None else 1e9)))
    return out


def _rises(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Per firm: whether its walk ``b`` without the item is longer than ``a`` with it."""
    if a is None or b is None:
        return None
    with np.errstate(invalid="ignore"):
        return np.asarray((b > a + _RISE_M) | (np.isinf(b) & np.isfinite(a)), dtype=bool)


@dataclass(frozen=True)
class _PairArrays:
    """The firm pairs as index arrays and their weights (``ctx.pair_index``, ``ctx.pair_w``), built
    once per report and read by every item's :func:`_pair_walk_rise`."""

    a: np.ndarray
    b: np.ndarray
    w: np.ndarray


def _pair_arrays(prep: Prepared) -> _PairArrays | None:
    """The pairs' index arrays (``None``: the site has no firm pairs)."""
    ctx = prep.context
    if not ctx.pair_index:
        return None
    return _PairArrays(np.array([a for a, _ in ctx.pair_index], dtype=int),
                       np.array([b for _, b in ctx.pair_index], dtype=int), np.asarray(ctx.pair_w, dtype=float))


def _pair_walk_rise(pairs: _PairArrays | None, with_m: np.ndarray, without_m: np.ndarray) -> float | None:
    """The rise of the firm-pair weighted mean walk (``walk.optimised_weighted_mean_m``'s measure:
    pair weights, pairs with a walk both with and without the item) when the item is removed."""
    if pairs is None:
        return None
    w = pairs.w
    after, before = with_m[pairs.a, pairs.b], without_m[pairs.a, pairs.b]
    both = np.isfinite(after) & np.isfinite(before)
    if not both.any() or w[both].sum() <= 0:
        return None
    return float(np.sum(w[both] * (before[both] - after[both])) / np.sum(w[both]))


def _access_changes(prep: Prepared, ver: Verification, without: Verification) -> list[AccessChange]:
    """Per facility type (and 'transit stop' where the walk to a stop is an objective term) whose
    walks change without the item: the staff-weighted mean walk to the nearest one with and
    without it, each walk capped at the unreachable penalty (as counted)."""
    penalty = prep.scenario.demand.unreachable_penalty_m
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    out = []
    walks = list(ver.facility_walk_m.items())
    tr = prep.scenario.transit
    if tr is not None and tr.objective != "max_coverage" and ver.transit_walk_m is not None:
        walks.append(("transit stop", ver.transit_walk_m))  # the walk to the nearest stop is a term too
    for ftype, a in walks:
        b = without.transit_walk_m if ftype == "transit stop" else without.facility_walk_m.get(ftype)
        if b is None or emp.sum() <= 0:
            continue
        ca, cb = np.minimum(a, penalty), np.minimum(b, penalty)
        if np.allclose(ca, cb, atol=_RISE_M):
            continue
        out.append(AccessChange(type=ftype, with_m=round(float(np.sum(emp * ca) / emp.sum()), 1),
                                without_m=round(float(np.sum(emp * cb) / emp.sum()), 1),
                                staff_unreached=int(emp[~(b < penalty)].sum()), penalty_m=penalty))
    return out


def _staff_uncovered(prep: Prepared, ver: Verification, without: Verification) -> int:
    """Staff within the social spaces' coverage radius with the item and outside it without."""
    soc = prep.scenario.social_spaces
    if soc is None or soc.coverage == "off" or ver.social_walk_m is None or without.social_walk_m is None:
        return 0
    r = soc.coverage_radius_m + 1e-6
    lost = (ver.social_walk_m <= r) & ~(without.social_walk_m <= r)
    return int(sum(f.employees for f, x in zip(prep.scenario.site.firms, lost, strict=True) if x))


def _firms_relying(prep: Prepared, kind: str, ftype: str, ver: Verification, without: Verification) -> int:
    """Firms whose walk to the item's kind (facility type, social space or transit stop) rises
    without it; for a crossing, whose walk to any of them does."""
    if kind == "crossing":
        walks = [(ver.social_walk_m, without.social_walk_m), (ver.transit_walk_m, without.transit_walk_m)]
        walks += [(a, without.facility_walk_m.get(t)) for t, a in ver.facility_walk_m.items()]
        found = [r for a, b in walks if (r := _rises(a, b)) is not None]
        return int(np.logical_or.reduce(found).sum()) if found else 0
    if kind == "social":
        r = _rises(ver.social_walk_m, without.social_walk_m)
    elif kind == "stop":
        r = _rises(ver.transit_walk_m, without.transit_walk_m)
    else:
        r = _rises(ver.facility_walk_m.get(ftype), without.facility_walk_m.get(ftype))
    return 0 if r is None else int(r.sum())


def attribute_items(prep: Prepared, chosen: Sequence[int], ver: Verification,
                    base: GraphBase | None = None) -> tuple[list[ItemAttribution], int]:
    """One :class:`ItemAttribution` per chosen decision, by re-verifying the layout without it.

    Args:
        prep: the prepared scenario.
        chosen: the chosen decision ids.
        ver: the verification of the whole layout (its objective is the reference).
        base: the verifier's graph before new crossings (:func:`optimiser.verify.verifier_base`),
            shared by every re-verification (``None``: built here, once).

    Returns:
        The entries (in decision order) and the objective's total weight ``W`` (integer units).
    """
    problem, ctx = prep.problem, prep.context
    total_w = objective_weight(prep)
    per_m = problem.length_scale_per_m * total_w
    chosen_set = tuple(sorted(set(chosen)))
    names = item_names(prep, [problem.decisions[i].key for i in chosen_set])
    base = base if base is not None else verifier_base(ctx)
    pair_arrays = _pair_arrays(prep)  # once for every item
    out: dict[int, ItemAttribution] = {}
    # every item but a crossing leaves the layout's graph as it was: those first, while the
    # verifier's memo (``base.walk_memo``) still holds the layout's walks
    for i in sorted(chosen_set, key=lambda j: problem.decisions[j].kind == "crossing"):
        d = problem.decisions[i]
        rest = tuple(j for j in chosen_set if j != i)
        without = verify(problem, ctx, rest, None, raise_on_failure=False, base=base)
        rise = max(0.0, without.objective - ver.objective)
        if without.objective < ver.objective:
            logger.warning("removing %s shortened the objective (%s < %s); saving reported as 0", d.key,
                           without.objective, ver.objective)
        pairs = _pairs_relying(prep, ver.pair_lengths_m, without.pair_lengths_m)
        ftype = d.group if d.kind == "facility" else ("transit stop" if d.kind == "stop" else "social")
        out[i] = ItemAttribution(
            id=_item_id(prep, i), name=names.get(d.key, d.label), kind=d.kind, type=ftype if d.kind != "crossing" else
            _crossing_type(prep, i), cost=d.cost, pairs_using=len(pairs),
            firms_relying=_firms_relying(prep, d.kind, ftype, ver, without),
            saving_m=round(rise / per_m, 3) if per_m > 0 else 0.0,
            saving_weighted_m=round(rise / problem.units_per_weighted_m, 1),
            feasible_without=without.passed, top_pairs=pairs[:TOP_PAIRS],
            pair_walk_m=_round_or_none(_pair_walk_rise(pair_arrays, ver.pair_lengths_m, without.pair_lengths_m)),
            pairs_disconnected=sum(1 for p in pairs if p.rise_m is None),
            access=_access_changes(prep, ver, without), staff_uncovered=_staff_uncovered(prep, ver, without))
    logger.debug("attribution of %d items (total weight %d)", len(out), total_w)
    return [out[i] for i in chosen_set], total_w


def _round_or_none(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _crossing_type(prep: Prepared, decision: int) -> str:
    for ci, d in prep.context.crossing_decision.items():
        if d == decision:
            return prep.context.network.candidates[ci].type
    return "crossing"
