"""The problem's constraints other than the objective terms' own: counts of new facilities and
social spaces, spacing, footprints that may not overlap, directness targets and the budget.

Each adds :class:`~optimiser.model.problem.Constraint` rows to a problem and a planner-facing
description of their group to ``problem.groups``.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction

import numpy as np
import shapely
from scipy.spatial import cKDTree

from optimiser.inputs.currency import exact_amount, money_text, total_within
from optimiser.model.clients import TermBuilder, end_lengths
from optimiser.model.problem import Constraint, Problem
from optimiser.network.candidates import CandidateSite
from optimiser.network.routes import route_options

logger = logging.getLogger(__name__)


def add_site_shortfall(problem: Problem, kind: str, ids: list[int], count_min: int) -> None:
    """When fewer candidate sites fit than the minimum count of a facility type, say so: the
    count constraint's group names the shortfall (the constraint makes the problem infeasible).

    Args:
        problem: the problem.
        kind: the facility type.
        ids: decision ids of its placeable sites.
        count_min: the minimum number of new facilities.
    """
    if count_min > len(ids):
        g = f"count_min:{kind}"
        problem.groups[g] = (f"at least {counted(count_min, f'new {kind} facility', f'new {kind} facilities')} "
                             f"({sites_fit(len(ids))})")
        problem.constraints.append(Constraint(g, tuple((i, 1) for i in ids), count_min, None, g))


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` and its noun, singular for 1: '1 new lab facility', '2 candidate sites'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def sites_fit(n: int) -> str:
    """'only 1 candidate site fits', 'only 3 candidate sites fit' (a count group's shortfall)."""
    return f"only {counted(n, 'candidate site')} fit{'s' if n == 1 else ''}"


def add_count_constraints(problem: Problem, kind: str, ids: list[int], lo: int, hi: int) -> None:
    """At least ``lo`` (when positive) and at most ``hi`` of decisions ``ids``.

    Args:
        problem: the problem.
        kind: a facility type, or "social".
        ids: decision ids of the placeable sites.
        lo, hi: the count range.
    """
    one, many = ("social space", "social spaces") if kind == "social" else (f"new {kind} facility", f"new {kind} facilities")
    if lo > 0:
        g = f"count_min:{kind}"
        problem.groups.setdefault(g, f"at least {counted(lo, one, many)}")
        problem.constraints.append(Constraint(g, tuple((i, 1) for i in ids), lo, None, g))
    g = f"count_max:{kind}"
    problem.groups.setdefault(g, f"at most {counted(hi, one, many)}")
    problem.constraints.append(Constraint(g, tuple((i, 1) for i in ids), None, hi, g))


def add_spacing_constraints(problem: Problem, kind: str, sites: list[CandidateSite], site_decision: dict[str, int],
                            spacing_m: float) -> None:
    """No two sites of a kind closer than ``spacing_m`` (centre to centre, m) both open.

    Args:
        problem: the problem.
        kind: a facility type, or "social".
        sites: the placeable sites of that kind.
        site_decision: site key -> decision id.
        spacing_m: the minimum spacing; 0 for none.
    """
    if spacing_m <= 0 or len(sites) < 2:
        return
    xy = np.array([[s.point.x, s.point.y] for s in sites])
    pairs = cKDTree(xy).query_pairs(spacing_m - 1e-9, output_type="ndarray")
    g = f"spacing:{kind}"
    problem.groups.setdefault(g, f"{'social spaces' if kind == 'social' else kind + ' facilities'} at least {spacing_m:g} m apart")
    for a, b in pairs.tolist():
        problem.constraints.append(
            Constraint(f"{g}:{a}|{b}", ((site_decision[sites[a].key], 1), (site_decision[sites[b].key], 1)), None, 1, g)
        )


def add_overlap_constraints(problem: Problem, placed: list[CandidateSite], site_decision: dict[str, int]) -> None:
    """Footprints may touch but not overlap: any two placements, same type or not, whose
    footprints share area are not both open.

    Args:
        problem: the problem.
        placed: every placeable site (facilities and social spaces).
        site_decision: site key -> decision id.
    """
    if len(placed) <= 1:
        return
    geoms = np.array([s.footprint for s in placed], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    g = "footprints"
    for a, b in zip(left.tolist(), right.tolist()):
        if a < b and placed[a].footprint.intersection(placed[b].footprint).area > 1e-6:
            problem.groups[g] = "placements may not overlap one another"
            terms = ((site_decision[placed[a].key], 1), (site_decision[placed[b].key], 1))
            problem.constraints.append(Constraint(f"overlap:{placed[a].key}|{placed[b].key}", terms, None, 1, g))


def add_directness_constraints(tb: TermBuilder) -> None:
    """Each directness target (walk from a to b at most ``max_ratio`` times the straight line)
    not met today needs one of the routes over new crossings that meets it.

    Args:
        tb: the term builder (its scenario's ``directness`` targets).
    """
    sc, problem, network, firms = tb.scenario, tb.problem, tb.network, tb.firms
    if not sc.directness:
        return
    index = {f.id: i for i, f in enumerate(firms)}
    keys = tb.firm_keys
    cand_idx, cross_dec = tb.cand_idx, tb.cross_dec
    base_ff = network.lengths(keys, keys)
    opts, _ = route_options(end_lengths(network, keys, keys, base_ff, cand_idx), tb.max_k)
    straight = network.straight_lengths(keys, keys)
    for tgt in sc.directness:
        a, b = index[tgt.a], index[tgt.b]
        limit = tgt.max_ratio * float(straight[a, b])
        if straight[a, b] <= 0 or base_ff[a, b] <= limit + 1e-9:
            continue  # no straight line to compare with, or already direct enough
        within = sorted({problem.option_id(tuple(int(cross_dec[c]) for c in R)) for L, R in opts[a][b] if L <= limit + 1e-9})
        g = f"directness:{tgt.a}|{tgt.b}"
        now = f"now {base_ff[a, b]:.0f} m" if math.isfinite(float(base_ff[a, b])) else "no walk today"
        problem.groups[g] = (f"walk from {firms[a].name} to {firms[b].name} at most {tgt.max_ratio:g} x the straight line "
                             f"({limit:.0f} m; {now})")
        problem.constraints.append(Constraint(g, tuple((o, 1) for o in within), 1, None, g))


MAX_MONEY_DECIMALS = 6
"""Decimals of a budget-row unit used whenever they make every amount whole: a millionth."""
MAX_FINE_DECIMALS = 9
"""Finer units (down to a billionth) are used only within :data:`MAX_MONEY_UNITS`."""
MAX_MONEY_UNITS = 10**12
"""Largest amount in integer units a finer-than-a-millionth unit, or a rounded one, may give."""
MAX_ROW_UNITS = 2**53
"""Largest sum of every amount in integer units an exact unit may give: CP-SAT refuses a row whose
terms could overflow 64 bits (a 10**12 budget with a cost of 0.000001, in millionths), and CBC and
HiGHS read the row as doubles, whole only up to 2**53 (2 * 10**11 + 0.000001 fit a 2 * 10**11
budget there, and verification failed)."""


def money_scale(amounts: list[float]) -> int:
    """Integer units per unit of currency of the budget row: the least power of ten that makes
    every amount (as written, :func:`~optimiser.inputs.currency.exact_amount`) whole: 1 for whole
    amounts, as most are; 100 for ``cost: 0.45``; 10**7 for ``cost: 0.4000004`` while the largest
    amount stays within :data:`MAX_MONEY_UNITS`, and only while every amount together stays
    within :data:`MAX_ROW_UNITS`. Else the finest within :data:`MAX_MONEY_UNITS`, at most a millionth:
    :func:`money_units` then rounds costs up and the budget down. Amounts written in millions
    (``budget: 4``, ``cost: 0.45``) were rounded to whole units: a 0.45 crossing cost nothing."""
    exact = [exact_amount(a) for a in amounts]
    top = max((abs(a) for a in exact), default=Fraction(0))
    total = sum((abs(a) for a in exact), Fraction(0))
    for k in range(MAX_FINE_DECIMALS + 1):
        if (all((a * 10**k).denominator == 1 for a in exact) and total * 10**k <= MAX_ROW_UNITS
                and (k <= MAX_MONEY_DECIMALS or top * 10**k <= MAX_MONEY_UNITS)):
            return 10**k
    return next((10**k for k in range(MAX_MONEY_DECIMALS, 0, -1)
                 if top * 10**k <= MAX_MONEY_UNITS and total * 10**k <= MAX_ROW_UNITS), 1)


def money_units(amount: float, unit: int, *, up: bool = True) -> int:
    """``amount`` in whole units of ``unit`` (:func:`money_scale`), exactly when the unit makes it
    whole; else a cost rounds up (``up``) and a budget down (``up=False``), so a layout within the
    budget row is within the budget as written (the verifier's exact check) and never a few
    millionths over it (it was: costs rounded to the nearest unit)."""
    v = exact_amount(amount) * unit
    return math.ceil(v) if up else math.floor(v)


def add_budget_constraint(problem: Problem, budget: float) -> None:
    """The capital budget over every decision's cost, in whole units of :func:`money_scale`;
    omitted when it could never bind (every cost together fits, exactly), which keeps
    coefficients small (its group is described either way).

    Args:
        problem: the problem (all decisions in place).
        budget: the capital budget, in ``problem.currency``.
    """
    problem.groups["budget"] = f"the capital budget of {money_text(budget, problem.currency)}"
    row = budget_row(problem, budget)
    if row is not None:
        problem.constraints.append(row)
    else:
        logger.debug("budget %s cannot bind: no budget constraint", money_text(budget, problem.currency))


def budget_row(problem: Problem, budget: float) -> Constraint | None:
    """The budget constraint :func:`add_budget_constraint` adds (``None``: it could never bind),
    from ``problem``'s decisions (all in place): known before the terms are built, whose options
    over it :func:`~optimiser.model.clients.add_clients` leaves out."""
    decisions = problem.decisions
    if total_within([d.cost for d in decisions], budget):
        return None
    unit = money_scale([budget] + [d.cost for d in decisions])
    terms = tuple((i, money_units(d.cost, unit)) for i, d in enumerate(decisions) if d.cost > 0)
    return Constraint("budget", terms, None, money_units(budget, unit, up=False), "budget")
