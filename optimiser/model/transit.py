"""The transit term: new stops along an alignment, chosen jointly with crossings.

A candidate stop is a decision (kind ``"stop"``, group ``"transit"``) like a facility site; a
firm reaches it on foot directly or over new crossings, with the same route options as any
facility (:func:`~optimiser.model.clients.firm_target_entries`). By ``transit.objective``:

- ``max_coverage``: per firm not covered today (no existing stop within the catchment walk), a
  penalty of its employees unless an option within ``catchment_m`` is open (a stop, or a stop
  and the crossings on the route). The objective is the staff left uncovered: the integer
  weight scale is ``1 / length_scale_per_m`` per weighted metre, so one uncovered employee is
  one unit.
- ``min_mean_walk``: per firm, its walk to the nearest stop (new or existing) weighted by its
  employees (scale 1 per weighted metre: exact integer weights); the staff-weighted mean walk is
  the objective over the total staff.
- ``weighted``: the same walk clients with ``weight`` x employees, beside the scenario's other
  terms (the weight joins their shared :class:`~optimiser.model.clients.WeightScale`).

Constraints: the count of new stops, their minimum spacing and, when the alignments are
alternatives, no two new stops on different alignments.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from optimiser.inputs.domain import Scenario, TransitSpec
from optimiser.model.clients import TermBuilder, WeightScale, firm_target_entries, option_ids
from optimiser.model.constraints import add_count_constraints, add_spacing_constraints, counted
from optimiser.model.problem import Constraint, Penalty, Problem
from optimiser.model.terms import add_nearest_walk_terms
from optimiser.network.candidates import CandidateSite

logger = logging.getLogger(__name__)

TRANSIT_TYPE = "transit:stop"
"""Facility type of the walk-to-stop clients (``access:transit:stop:<firm>``); ':' cannot
occur in a facility type, so it never clashes with one."""
TRANSIT_GROUP = "transit"
"""Decision group and constraint kind of new stops."""


def transit_weight_scale(scenario: Scenario, shared: WeightScale) -> WeightScale:
    """The objective's weight scale: ``shared`` unless the transit term is the whole objective
    (then exact: 1 / length scale per weighted metre for coverage, 1 for the mean walk)."""
    tr = scenario.transit
    if tr is None or not tr.exclusive:
        return shared
    return WeightScale(1.0 / scenario.solver.length_scale_per_m) if tr.objective == "max_coverage" else WeightScale(1.0)


def transit_walk_weights(scenario: Scenario) -> np.ndarray:
    """Per firm, the scenario weight of its walk to the nearest stop (0 for ``max_coverage``)."""
    tr = scenario.transit
    emp = np.array([f.employees for f in scenario.site.firms], dtype=float)
    if tr is None or tr.objective == "max_coverage":
        return np.zeros(emp.size)
    return emp * (1.0 if tr.objective == "min_mean_walk" else tr.weight)


def coverage_penalty(employees: int, problem: Problem) -> int:
    """The integer penalty of a firm left outside every stop's catchment (the verifier's rule)."""
    return int(round(employees * problem.length_scale_per_m * problem.weight_scale["all"]))


def add_transit_terms(tb: TermBuilder, stops: list[CandidateSite], existing: list[str], unreachable: int = 0) -> None:
    """Add the transit term and its constraints (module docstring).

    Args:
        tb: the term builder (its scenario has ``transit``).
        stops: placeable candidate stops.
        existing: network keys of existing stops.
        unreachable: candidate stops left out because no walk reaches them (named when too
            few stops remain).
    """
    spec = tb.scenario.transit
    assert spec is not None
    _add_stop_constraints(tb, spec, stops, unreachable)
    if spec.objective == "max_coverage":
        _add_coverage(tb, spec, stops, existing)
    else:
        add_nearest_walk_terms(tb, TRANSIT_TYPE, tb.weights.to_int(transit_walk_weights(tb.scenario)), stops, existing)


def _few_stops_why(tb: TermBuilder, spec: TransitSpec, n_stops: int, unreachable: int) -> str:
    """Why there are fewer candidate stops than ``count.min``: stops no walk reaches, points
    skipped (bands, zones, buildings, no_platform), or alignments too short for the spacing."""
    if unreachable:
        return (f"; {unreachable} more on the alignments reach no walkable path without crossing a barrier: add a path or "
                "an existing crossing to them")
    lines = tb.scenario.transit_lines
    laid = sum(max(1, math.floor(t.line.length / spec.candidate_spacing_m)) for t in lines)  # as stop_candidates lays them
    if laid > n_stops:
        return (f"; {laid - n_stops} of the {laid} points along the alignments fall in barrier bands, exclusion zones, "
                "buildings or no_platform zones and are skipped")
    length = sum(t.line.length for t in lines)
    return (f"; the alignments' {length:,.0f} m hold only {laid} at candidate_spacing_m {spec.candidate_spacing_m:g} m: "
            "lower candidate_spacing_m")


def _add_stop_constraints(tb: TermBuilder, spec: TransitSpec, stops: list[CandidateSite], unreachable: int) -> None:
    problem = tb.problem
    ids = [tb.site_decision[s.key] for s in stops]
    fit = (f" (only {counted(len(ids), 'candidate stop')}{_few_stops_why(tb, spec, len(ids), unreachable)})"
           if spec.count.min > len(ids) else "")
    problem.groups[f"count_min:{TRANSIT_GROUP}"] = f"at least {counted(spec.count.min, 'new stop')}{fit}"
    problem.groups[f"count_max:{TRANSIT_GROUP}"] = f"at most {counted(spec.count.max, 'new stop')}"
    problem.groups[f"spacing:{TRANSIT_GROUP}"] = f"new stops at least {spec.min_spacing_m:g} m apart"
    add_count_constraints(problem, TRANSIT_GROUP, ids, spec.count.min, spec.count.max)
    add_spacing_constraints(problem, TRANSIT_GROUP, stops, tb.site_decision, spec.min_spacing_m)
    if not spec.alternatives:
        return
    g = "transit:one_line"
    for a, sa in enumerate(stops):
        for sb in stops[a + 1:]:
            if sa.type != sb.type:
                problem.groups[g] = "new stops on one alignment (the alignments are alternatives)"
                problem.constraints.append(Constraint(f"{g}:{sa.key}|{sb.key}", ((tb.site_decision[sa.key], 1),
                                                                                 (tb.site_decision[sb.key], 1)), None, 1, g))


def _add_coverage(tb: TermBuilder, spec: TransitSpec, stops: list[CandidateSite], existing: list[str]) -> None:
    """A penalty per firm outside every catchment today, lifted by any covering option."""
    problem, firms = tb.problem, tb.firms
    site_dec = np.array([tb.site_decision[s.key] for s in stops] + [-1] * len(existing), dtype=np.int64)
    ent = firm_target_entries(tb, [s.key for s in stops] + list(existing), site_dec, direct_targets=len(stops) + len(existing))
    tb.info.setdefault("access_route_max_crossings", {})[TRANSIT_TYPE] = ent.max_crossings
    needs = np.asarray((ent.req >= 0).any(axis=1), dtype=bool)
    within = ent.length_m <= spec.catchment_m + 1e-9
    covered_now = np.zeros(len(firms), dtype=bool)
    covered_now[ent.firm[within & ~needs]] = True
    cov = np.nonzero(within & needs)[0]
    cov = cov[np.lexsort((ent.target[cov], ent.firm[cov]))]
    opts = option_ids(problem, ent.req[cov])
    per_firm: list[set[int]] = [set() for _ in firms]
    for i, o in zip(ent.firm[cov].tolist(), opts.tolist()):
        per_firm[i].add(o)
    for i, f in enumerate(firms):
        if not covered_now[i]:
            problem.penalties.append(Penalty(f"uncovered_by_stop:{f.id}", coverage_penalty(f.employees, problem),
                                             tuple(sorted(per_firm[i]))))
    logger.debug("transit coverage: %d firms covered today, %d covering options", int(covered_now.sum()), cov.size)
