"""Build the backend-neutral problem of a scenario: decisions, then one builder per objective
term (:mod:`optimiser.model.terms`), then the constraints (:mod:`optimiser.model.constraints`),
then the exact client reductions (:mod:`optimiser.model.transforms`)."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from optimiser.errors import ModelError
from optimiser.inputs.currency import money_text
from optimiser.inputs.domain import ParcelStatus, Scenario
from optimiser.inputs.schema import MAX_AMOUNT
from optimiser.model.clients import TermBuilder, WeightScale
from optimiser.model.constraints import (
    add_budget_constraint,
    add_count_constraints,
    add_directness_constraints,
    add_overlap_constraints,
    add_site_shortfall,
    add_spacing_constraints,
    budget_row,
    counted,
    sites_fit,
)
from optimiser.model.problem import Decision, Problem, ProblemContext
from optimiser.model.terms import add_access_terms, add_pair_terms, add_social_terms, firm_pairs
from optimiser.model.transforms import reduce_clients
from optimiser.model.transit import (
    TRANSIT_GROUP,
    TRANSIT_TYPE,
    add_transit_terms,
    transit_walk_weights,
    transit_weight_scale,
)
from optimiser.network.candidates import CandidateSite
from optimiser.network.graph import WalkNetwork, firm_key

logger = logging.getLogger(__name__)


def _check_costs(scenario: Scenario, network: WalkNetwork, sites: list[CandidateSite]) -> None:
    costs = [scenario.budget] + [c.cost for c in network.candidates] + [s.cost for s in sites]
    if not all(math.isfinite(c) and 0 <= c <= MAX_AMOUNT for c in costs):
        raise ModelError(f"costs and the budget must be finite amounts between {money_text(0, scenario.currency)} "
                         f"and {money_text(MAX_AMOUNT, scenario.currency)}")


def _site_label(site: CandidateSite, social: bool) -> str:
    # the candidate's number is the last part of its key ("facility:<type>:<k>", "social:<k>", "stop:<k>")
    number = site.key.split(":")[-1]
    if site.kind == "stop":
        return f"stop {number} on {site.type}"
    where = f"candidate site {number} on parcel {site.parcel_id}" if site.parcel_id else f"candidate site {number}"
    return f"a social space at {where}" if social else f"a {site.type} at {where}"


def _decisions(scenario: Scenario, network: WalkNetwork, facility_sites: list[CandidateSite],
               social_sites: list[CandidateSite], stop_sites: list[CandidateSite] | None = None
               ) -> tuple[Problem, dict[int, int], dict[str, int]]:
    """An empty problem with its decisions: every candidate crossing, then every placeable
    facility site, then every placeable social space, then every placeable transit stop.

    Returns:
        (problem, candidate crossing index -> decision id, site key -> decision id).
    """
    decisions: list[Decision] = []
    crossing_decision: dict[int, int] = {}
    # candidates dearer than the whole budget stay in: the budget constraint rules them out,
    # and infeasibility explanations can then name the budget
    for ci, c in enumerate(network.candidates):
        crossing_decision[ci] = len(decisions)
        decisions.append(Decision(f"crossing:{c.id}", "crossing", c.barrier_id, c.cost, f"{c.type} {c.id}"))
    site_decision: dict[str, int] = {}
    for sites, social in ((facility_sites, False), (social_sites, True), (stop_sites or [], False)):
        for s in sites:
            if s.key in network.access and s.key not in network.unreachable:
                site_decision[s.key] = len(decisions)
                kind, group = ("social", "social") if social else ("facility", s.type)
                if s.kind == "stop":
                    kind, group = "stop", TRANSIT_GROUP
                decisions.append(Decision(s.key, kind, group, s.cost, _site_label(s, social)))
    problem = Problem(
        decisions=decisions,
        options=[(i,) for i in range(len(decisions))],
        clients=[],
        constraints=[],
        penalties=[],
        groups={},
        length_scale_per_m=scenario.solver.length_scale_per_m,
        weight_scale={},
        budget=scenario.budget,
        currency=scenario.currency,
    )
    return problem, crossing_decision, site_decision


def term_weights(scenario: Scenario) -> tuple[list[tuple[int, int]], np.ndarray, list[tuple[str | None, np.ndarray]]]:
    """Every walking term's scenario weight before rounding, as the term builders of
    :mod:`optimiser.model.terms` and :mod:`optimiser.model.transit` compute it.

    Returns:
        the firm pairs (firm indices, :func:`~optimiser.model.terms.firm_pairs`), their
        weights, and each nearest-walk term's weight per firm by its access type (``None``:
        the social space; the transit stop's only with ``scenario.transit``).
    """
    firms = list(scenario.site.firms)
    pairs, pair_w = firm_pairs(firms, scenario.demand)
    obj = scenario.objective
    emp = np.array([f.employees for f in firms], dtype=float)
    per_firm: list[tuple[str | None, np.ndarray]] = [(spec.type, emp * spec.access_weight * obj.facility_access)
                                                     for spec in scenario.facilities]
    per_firm.append((None, emp * obj.social_access))
    if scenario.transit is not None:
        per_firm.append((TRANSIT_TYPE, transit_walk_weights(scenario)))
    return pairs, pair_w * obj.firm_pairs, per_firm


def objective_weight_scale(scenario: Scenario) -> WeightScale:
    """The integer weight scale of a scenario's objective: its largest weight
    (:func:`term_weights`) at ``scenario.solver.weight_levels`` units (default
    :data:`~optimiser.model.clients.WEIGHT_LEVELS`)."""
    _, pair_w, per_firm = term_weights(scenario)
    weights = WeightScale.for_weights([pair_w] + [w for _, w in per_firm], scenario.solver.weight_levels)
    return transit_weight_scale(scenario, weights)


def build_problem(
    scenario: Scenario,
    network: WalkNetwork,
    facility_sites: list[CandidateSite],
    social_sites: list[CandidateSite],
    *,
    existing_facility_keys: dict[str, list[str]] | None = None,
    existing_social_keys: list[str] | None = None,
    weight_scale: WeightScale | None = None,
    stop_sites: list[CandidateSite] | None = None,
    existing_stop_keys: list[str] | None = None,
) -> tuple[Problem, ProblemContext]:
    """Build the integer-scaled, backend-neutral problem for a scenario.

    Args:
        scenario: the validated scenario.
        network: the walk network with every candidate site attached (by its key) and the
            candidate crossings; ``network.candidates`` are the crossing decisions.
        facility_sites, social_sites: candidate sites (keys as attached to the network).
        existing_facility_keys: facility type -> network keys of existing facilities.
        existing_social_keys: network keys of existing social spaces.
        weight_scale: the objective's integer weight scale; default the scenario's own
            (:func:`objective_weight_scale`); a futures run's from
            :func:`optimiser.model.futures.future_weight_scales`.
        stop_sites: candidate transit stops (with ``scenario.transit``; :mod:`optimiser.model.transit`).
        existing_stop_keys: network keys of existing stops.

    Returns:
        (the problem, what it was built from).

    Raises:
        ModelError: the scenario cannot be modelled (e.g. a cost that is not a finite amount).
    """
    t0 = time.perf_counter()
    stop_sites = stop_sites or []
    existing_stop_keys = existing_stop_keys or []
    _check_costs(scenario, network, facility_sites + social_sites + stop_sites)
    existing_facility_keys = existing_facility_keys or {}
    existing_social_keys = existing_social_keys or []
    problem, crossing_decision, site_decision = _decisions(scenario, network, facility_sites, social_sites, stop_sites)
    firms = list(scenario.site.firms)
    pair_index, pair_w = firm_pairs(firms, scenario.demand)
    obj = scenario.objective
    weights = weight_scale or objective_weight_scale(scenario)
    problem.weight_scale["all"] = weights.per_unit
    tb = TermBuilder(problem, scenario, network, firms, [firm_key(f.id) for f in firms], site_decision, crossing_decision, weights,
                     {"candidate_crossings": len(network.candidates), "crossing_decisions": len(crossing_decision)},
                     budget_row(problem, scenario.budget))
    logger.debug("building: %d firms, %d pairs, %d decisions", len(firms), len(pair_index), len(problem.decisions))
    add_pair_terms(tb, pair_index, pair_w)
    _add_facilities(tb, facility_sites, existing_facility_keys)
    soc = scenario.social_spaces
    if soc is not None:
        sites = [s for s in social_sites if s.key in site_decision]
        if soc.count.min > len(sites):  # name the shortfall, and why there are so few
            problem.groups["count_min:social"] = (
                f"at least {counted(soc.count.min, 'social space')} ({sites_fit(len(sites))}"
                + ("; social spaces go on open_space parcels, and the site has none)"
                   if not any(p.status == ParcelStatus.OPEN_SPACE for p in scenario.site.parcels) else ")"))
        add_count_constraints(problem, "social", [site_decision[s.key] for s in sites], soc.count.min, soc.count.max)
        add_spacing_constraints(problem, "social", sites, site_decision, soc.min_spacing_m)
        if soc.coverage != "off" or obj.social_access > 0:
            add_social_terms(tb, soc, sites, list(existing_social_keys))
    if scenario.transit is not None:
        placeable = [s for s in stop_sites if s.key in site_decision]
        add_transit_terms(tb, placeable, list(existing_stop_keys), unreachable=len(stop_sites) - len(placeable))
    add_overlap_constraints(problem, [s for s in facility_sites + social_sites if s.key in site_decision], site_decision)
    add_directness_constraints(tb)
    add_budget_constraint(problem, scenario.budget)
    info = tb.info
    info.update(reduce_clients(problem))
    info.update(problem.sizes(), build_seconds=time.perf_counter() - t0)
    problem.info.update(info)
    logger.info("problem: %d decisions, %d options (%d conjunctions), %d clients, %d levels, %d constraints, %d penalties in %.2f s",
                info["decisions"], info["options"], info["conjunctions"], info["clients"], info["levels"], info["constraints"],
                info["penalties"], info["build_seconds"])
    ctx = ProblemContext(scenario, network, facility_sites, social_sites, existing_facility_keys,
                         existing_social_keys, tb.firm_keys, pair_index, pair_w, crossing_decision, stop_sites,
                         list(existing_stop_keys))
    return problem, ctx


def _add_facilities(tb: TermBuilder, facility_sites: list[CandidateSite], existing_facility_keys: dict[str, list[str]]) -> None:
    """Per facility type: its access terms, counts and spacing."""
    by_type: dict[str, list[CandidateSite]] = {}
    for s in facility_sites:
        if s.key in tb.site_decision:
            by_type.setdefault(s.type, []).append(s)
    for spec in tb.scenario.facilities:
        sites = by_type.get(spec.type, [])
        ids = [tb.site_decision[s.key] for s in sites]
        add_site_shortfall(tb.problem, spec.type, ids, spec.count.min)
        add_access_terms(tb, spec, sites, existing_facility_keys.get(spec.type, []))
        add_count_constraints(tb.problem, spec.type, ids, spec.count.min, spec.count.max)
        add_spacing_constraints(tb.problem, spec.type, sites, tb.site_decision, spec.min_spacing_m)
