"""One builder per objective term, all on the vectorised path of :mod:`optimiser.model.clients`.

- :func:`add_pair_terms`: firm-to-firm walking (each pair with a positive weight).
- :func:`add_access_terms`: each firm's walk to the nearest facility of a type (and
  :func:`add_nearest_walk_terms`, its general form, also used for transit stops).
- :func:`add_social_terms`: each firm's walk to the nearest social space, and the social
  spaces' coverage (a hard constraint or a soft penalty per firm).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from optimiser.inputs.domain import DemandSpec, FacilitySpec, Firm, SocialSpaceSpec
from optimiser.model.clients import (
    TargetEntries,
    TermBuilder,
    add_clients,
    add_constraint,
    bases,
    budget_cap,
    firm_target_entries,
    has_base,
    kept_levels,
    option_ids,
    register_options,
    route_entries,
)
from optimiser.model.demand import pair_weights
from optimiser.model.problem import ClientKey, Constraint, Penalty
from optimiser.network.candidates import CandidateSite

logger = logging.getLogger(__name__)


def firm_pairs(firms: list[Firm], demand: DemandSpec) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The firm pairs (a < b, firm indices) with a positive interaction weight, and the weights."""
    w = pair_weights(firms, demand)
    iu, ju = np.triu_indices(len(firms), k=1)
    mask = w[iu, ju] > 0
    return list(zip(iu[mask].tolist(), ju[mask].tolist())), w[iu[mask], ju[mask]]


def add_pair_terms(tb: TermBuilder, pair_index: list[tuple[int, int]], pair_w: np.ndarray) -> None:
    """Add a client per firm pair: its walk, shortened by routes over new crossings.

    Args:
        tb: the term builder.
        pair_index: firm index pairs (a < b) with a positive interaction weight.
        pair_w: their interaction weights (scenario units).
    """
    sc = tb.scenario
    wint = tb.weights.to_int(pair_w * sc.objective.firm_pairs)
    if not pair_index or sc.objective.firm_pairs <= 0:
        return
    n = len(tb.firms)
    penalty = tb.penalty_m
    # every pair of an origin has a base when all its walks exist, or with the unreachable penalty
    cap = budget_cap(tb, np.full(n, -1), lambda base: np.asarray(has_base(base, penalty).all(axis=1)))
    base_ff, (oo, tt, ll, a1, a2), eff = route_entries(tb.network, tb.firm_keys, tb.firm_keys, tb.cand_idx, tb.max_k, cap)
    tb.info["pair_route_max_crossings"] = eff
    pa = np.array([a for a, _ in pair_index], dtype=np.int64)
    pb = np.array([b for _, b in pair_index], dtype=np.int64)
    keep = wint > 0
    pa, pb, pw_int = pa[keep], pb[keep], wint[keep]
    cid = np.full((n, n), -1, dtype=np.int64)
    cid[pa, pb] = np.arange(pa.size)
    ec = cid[oo, tt]
    m = ec >= 0
    cross_dec = tb.cross_dec
    req = np.stack([cross_dec[a1[m]], np.where(a2[m] >= 0, cross_dec[np.maximum(a2[m], 0)], -1),
                    np.full(int(m.sum()), -1, dtype=np.int64)], axis=1)
    keys = [ClientKey.pair(tb.firms[a].id, tb.firms[b].id) for a, b in zip(pa.tolist(), pb.tolist())]
    add_clients(tb.problem, keys, "pair", pw_int, bases(base_ff[pa, pb], tb.penalty_m, tb.scale), ec[m], ll[m], req, tb.scale,
                budget=tb.budget)


def add_access_terms(tb: TermBuilder, spec: FacilitySpec, sites: list[CandidateSite], existing: list[str]) -> None:
    """Add a client per firm for its walk to the nearest facility of ``spec.type``
    (:func:`add_nearest_walk_terms` with weights employees x access weight x the objective's
    facility-access weight).

    Args:
        tb: the term builder.
        spec: the facility type.
        sites: its placeable candidate sites.
        existing: network keys of its existing facilities.
    """
    emp = np.array([f.employees for f in tb.firms], dtype=float)
    w_int = tb.weights.to_int(emp * spec.access_weight * tb.scenario.objective.facility_access)
    add_nearest_walk_terms(tb, spec.type, w_int, sites, existing)


def add_nearest_walk_terms(tb: TermBuilder, target_type: str, w_int: np.ndarray, sites: list[CandidateSite],
                           existing: list[str]) -> None:
    """Add a client per firm (with a positive weight) for its walk to the nearest target.

    Its options are a new site alone, or any site through new crossings; an existing target
    reached without a new crossing is the base. A firm that cannot reach any target pays the
    unreachable penalty, as in pairs.

    Args:
        tb: the term builder.
        target_type: the clients' facility type (``access:<type>:<firm>``).
        w_int: integer weight per firm.
        sites: placeable candidate sites of the targets.
        existing: network keys of the existing targets.
    """
    n_new = len(sites)
    site_dec = np.array([tb.site_decision[s.key] for s in sites] + [-1] * len(existing), dtype=np.int64)
    ent = firm_target_entries(tb, [s.key for s in sites] + list(existing), site_dec, direct_targets=n_new,
                              within_budget=True)
    tb.info.setdefault("access_route_max_crossings", {})[target_type] = ent.max_crossings
    served = np.nonzero(w_int > 0)[0]
    fcid = np.full(len(tb.firms), -1, dtype=np.int64)
    fcid[served] = np.arange(served.size)
    base_m = ent.base[:, n_new:].min(axis=1) if existing else np.full(len(tb.firms), math.inf)
    # prune: options no better than an always-open existing target
    m = (ent.length_m < base_m[ent.firm] - 1e-9) & (fcid[ent.firm] >= 0)
    keys = [ClientKey.access(target_type, tb.firms[i].id) for i in served.tolist()]
    e_client, e_len, e_req = fcid[ent.firm[m]], ent.length_m[m], ent.req[m]
    del ent, m  # the entries' arrays freed before the clients are built (the peak of a large build)
    add_clients(tb.problem, keys, "access", w_int[served], bases(base_m[served], tb.penalty_m, tb.scale),
                e_client, e_len, e_req, tb.scale, budget=tb.budget)


def add_social_terms(tb: TermBuilder, soc: SocialSpaceSpec, sites: list[CandidateSite], existing: list[str]) -> None:
    """Add the social spaces' coverage (per firm: a hard constraint or a soft penalty) and,
    when the objective weighs it, a client per firm for its walk to the nearest social space.

    Options are created in walking order (per firm: those within the coverage radius, then the
    walk's), per firm the coverage constraint comes before the walk's reach constraint.

    Args:
        tb: the term builder.
        soc: the social spaces' specification.
        sites: placeable social space candidate sites.
        existing: network keys of existing social spaces.
    """
    problem, firms = tb.problem, tb.firms
    n_new = len(sites)
    site_dec = np.array([tb.site_decision[s.key] for s in sites] + [-1] * len(existing), dtype=np.int64)
    ent = firm_target_entries(tb, [s.key for s in sites] + list(existing), site_dec, direct_targets=n_new + len(existing))
    needs: np.ndarray = np.asarray((ent.req >= 0).any(axis=1), dtype=bool)
    within = (ent.length_m <= soc.coverage_radius_m + 1e-9)
    cov = np.nonzero(within & needs)[0]
    covered_now = np.zeros(len(firms), dtype=bool)
    covered_now[ent.firm[within & ~needs]] = True
    walk = _social_walk(tb, ent, n_new, existing, needs)
    # options in walking order: firm by firm, the coverage options, then the walk's
    rank = np.empty(ent.firm.size, dtype=np.int64)
    rank[ent.walk_order()] = np.arange(ent.firm.size)
    seq = np.concatenate([cov, walk.entries])
    phase = np.concatenate([np.zeros(cov.size, dtype=np.int64), np.ones(walk.entries.size, dtype=np.int64)])
    register_options(problem, ent.req[seq[np.lexsort((rank[seq], phase, ent.firm[seq]))]])
    cov_opts = _per_firm_options(ent.firm[cov], option_ids(problem, ent.req[cov]), len(firms))
    reach: dict[int, tuple[Constraint, str]] = {}
    if walk.keys:
        add_clients(problem, walk.keys, "social", walk.weights, walk.bases, walk.client[ent.firm[walk.entries]], ent.length_m[walk.entries],
                    ent.req[walk.entries], tb.scale, reach_out=reach, budget=tb.budget)
    for i, f in enumerate(firms):
        if soc.coverage == "hard" and not covered_now[i]:
            g = f"coverage:{f.id}"
            problem.groups[g] = f"{f.name} within {soc.coverage_radius_m:g} m walk of a social space"
            problem.constraints.append(Constraint(g, tuple((o, 1) for o in cov_opts[i]), 1, None, g))
        elif soc.coverage == "weighted" and not covered_now[i] and soc.coverage_weight > 0:
            wgt = f.employees * soc.coverage_weight * tb.scale * tb.weights.per_unit
            problem.penalties.append(Penalty(f"uncovered:{f.id}", int(round(wgt)), cov_opts[i]))
        k = int(walk.client[i]) if walk.keys else -1
        if k in reach:
            add_constraint(problem, *reach[k])
    logger.debug("social terms: %d coverage options, %d walk clients", cov.size, len(walk.keys))


@dataclass(frozen=True)
class _SocialWalk:
    """The social-access clients: one per firm with a positive weight.

    Attributes:
        keys, weights, bases: per client.
        client: per firm, its client index (-1 for none).
        entries: indices of the entries that are options of the clients (below their base).
    """

    keys: list[ClientKey]
    weights: np.ndarray
    bases: list[int | None]
    client: np.ndarray
    entries: np.ndarray


def _social_walk(tb: TermBuilder, ent: TargetEntries, n_new: int, existing: list[str], needs: np.ndarray) -> _SocialWalk:
    """Clients for the firms' walks to the nearest social space (none when it has no weight)."""
    sc, firms = tb.scenario, tb.firms
    no = np.zeros(0, dtype=np.int64)
    if sc.objective.social_access <= 0:
        return _SocialWalk([], no, [], np.full(len(firms), -1, dtype=np.int64), no)
    w_int = tb.weights.to_int(np.array([f.employees for f in firms], dtype=float) * sc.objective.social_access)
    served = np.nonzero(w_int > 0)[0]
    fcid = np.full(len(firms), -1, dtype=np.int64)
    fcid[served] = np.arange(served.size)
    base_m = ent.base[:, n_new:].min(axis=1) if existing else np.full(len(firms), math.inf)
    client_bases = bases(base_m[served], tb.penalty_m, tb.scale)
    cand = np.nonzero(needs & (ent.length_m < base_m[ent.firm] - 1e-9) & (fcid[ent.firm] >= 0))[0]
    keep, _ = kept_levels(fcid[ent.firm[cand]], ent.length_m[cand], client_bases, tb.scale)
    keys = [ClientKey.social(firms[i].id) for i in served.tolist()]
    return _SocialWalk(keys, w_int[served], client_bases, fcid, cand[keep])


def _per_firm_options(firm: np.ndarray, opt: np.ndarray, n_firms: int) -> list[tuple[int, ...]]:
    """Sorted distinct option ids per firm."""
    out: list[set[int]] = [set() for _ in range(n_firms)]
    for i, o in zip(firm.tolist(), opt.tolist()):
        out[i].add(o)
    return [tuple(sorted(s)) for s in out]
