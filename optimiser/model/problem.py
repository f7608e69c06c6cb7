"""The backend-neutral optimisation problem (design brief, section 5).

Decisions are binary: build candidate crossing c, open facility candidate s, open social
space q. Walking enters through *clients*: a firm pair, or a firm's walk to the nearest
facility of a type. Each client has route options, each requiring a set of decisions
(an *option*: one decision, or the conjunction of a site and the crossings on its route),
and its walking length is the shortest over open options, or its base length.

Clients use the chained radius formulation (Elloumi 2010; Garcia, Labbe and Marin 2011):
with distinct option lengths D1 < ... < DK < base, binary u_k ("no option at most D_k is
open"), the length is D1 + sum_k (D_{k+1} - D_k) u_k with u_1 >= 1 - sum(options at D1) and
u_k >= u_{k-1} - sum(options at D_k). It is exact, and much tighter than big-M.

All lengths are integers in units of ``1 / length_scale_per_m`` metres (decimetres by
default) and weights are integers; every backend reads the same integers, so both solve the
same problem and the verifier can recompute the objective exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from optimiser.errors import ModelError
from optimiser.inputs.domain import Crossing, Scenario
from optimiser.model.demand import pair_weights
from optimiser.network.candidates import CandidateSite
from optimiser.network.graph import WalkNetwork, firm_key
from optimiser.network.routes import EndLengths, route_option_arrays, route_options

WEIGHT_LEVELS = 10_000
"""Weights are quantised to integers with the largest weight of each kind at this value."""


@dataclass(frozen=True)
class Decision:
    """A binary decision: build or open one thing.

    Attributes:
        key: "crossing:<id>", or the candidate site key ("facility:<type>:<k>", "social:<k>").
        kind: "crossing", "facility" or "social".
        group: facility type, "social", or the crossing's barrier id.
        cost_gbp: capital cost if chosen.
        label: a short human label ("footbridge parkway-fb-003").
    """

    key: str
    kind: str
    group: str
    cost_gbp: float
    label: str


@dataclass(frozen=True)
class Client:
    """One walking term of the objective: shortest over open options, else the base.

    Attributes:
        key: "pair:<a>|<b>" or "access:<type>:<firm>" or "social:<firm>".
        weight: integer objective coefficient per length unit.
        base: length (units) with nothing new open; ``None`` when some option must be open.
        levels: strictly increasing option lengths (units), all below ``base``.
        level_options: ids (into :attr:`Problem.options`) of the options at each level.
    """

    key: str
    kind: str
    weight: int
    base: int | None
    levels: tuple[int, ...]
    level_options: tuple[tuple[int, ...], ...]

    def length(self, open_options: set[int]) -> int | None:
        """Client length (units) given the set of open option ids."""
        for lev, opts in zip(self.levels, self.level_options):
            if any(o in open_options for o in opts):
                return lev
        return self.base


@dataclass(frozen=True)
class Constraint:
    """``lo <= sum(coef * option) <= hi`` over option ids, part of a named group.

    ``group`` names what the planner asked for (e.g. "budget", "coverage:factory_2050");
    infeasibility explanations are given in terms of groups and their ``description``.
    """

    key: str
    terms: tuple[tuple[int, int], ...]
    lo: int | None
    hi: int | None
    group: str


@dataclass(frozen=True)
class Penalty:
    """Objective += ``weight`` unless at least one of ``options`` is open (soft coverage)."""

    key: str
    weight: int
    options: tuple[int, ...]


@dataclass
class Problem:
    """A backend-neutral, integer-scaled problem. See the module docstring.

    Attributes:
        decisions: the binary decisions; decision i is also option i.
        options: option id -> required decision ids (sorted); ids < len(decisions) are the
            decisions themselves.
        clients, constraints, penalties: the model's parts.
        groups: group name -> planner-facing description.
        length_scale_per_m: integer units per metre.
        weight_scale: {"all": integer weight units per unit of scenario weight}; the
            objective in weighted metres is ``objective / (weight_scale["all"] * scale)``.
        budget_gbp: the capital budget.
        info: sizes, pruning and timing facts for outputs.
    """

    decisions: list[Decision]
    options: list[tuple[int, ...]]
    clients: list[Client]
    constraints: list[Constraint]
    penalties: list[Penalty]
    groups: dict[str, str]
    length_scale_per_m: int
    weight_scale: dict[str, float]
    budget_gbp: float
    info: dict[str, Any] = field(default_factory=dict)
    _option_index: dict[tuple[int, ...], int] = field(default_factory=dict, repr=False)

    @property
    def constant(self) -> int:
        """Objective constant: every client at its first level (or base)."""
        total = 0
        for c in self.clients:
            first = c.levels[0] if c.levels else (c.base or 0)
            total += c.weight * first
        return total

    def level_terms(self):
        """The radius chain of every client, for backends: yields
        ``(client index, level index, step, option ids at that level)``.

        Each level gets a variable u in [0, 1] with ``u + sum(options) >= previous u`` (1 for
        the first level); the objective adds ``step * u`` where ``step`` is the client's
        weight times the gap to the next level. The objective's constant is
        :attr:`constant`.
        """
        for k, cl in enumerate(self.clients):
            if not cl.levels:
                continue
            nxt = list(cl.levels[1:]) + [cl.base if cl.base is not None else cl.levels[-1]]
            for lev, (d_lo, d_hi, opts) in enumerate(zip(cl.levels, nxt, cl.level_options)):
                yield k, lev, cl.weight * (d_hi - d_lo), opts

    def objective_of(self, chosen: set[int]) -> int:
        """Exact integer objective of a set of chosen decision ids (for tests and checks)."""
        open_opts = {i for i, req in enumerate(self.options) if all(d in chosen for d in req)}
        total = 0
        for c in self.clients:
            length = c.length(open_opts)
            if length is None:
                length = c.levels[-1] if c.levels else 0
            total += c.weight * length
        for p in self.penalties:
            if not any(o in open_opts for o in p.options):
                total += p.weight
        return total

    def is_feasible(self, chosen: set[int]) -> bool:
        """Whether a set of chosen decision ids meets every constraint and must-serve client."""
        open_opts = {i for i, req in enumerate(self.options) if all(d in chosen for d in req)}
        for con in self.constraints:
            s = sum(coef for o, coef in con.terms if o in open_opts)
            if (con.lo is not None and s < con.lo) or (con.hi is not None and s > con.hi):
                return False
        return all(c.base is not None or c.length(open_opts) is not None for c in self.clients)

    def option_id(self, req: tuple[int, ...], _index: dict | None = None) -> int:
        """Id of the option requiring exactly ``req`` (decision ids), created if new."""
        req = tuple(sorted(set(req)))
        if len(req) == 1:
            return req[0]
        idx = self._option_index
        if req not in idx:
            idx[req] = len(self.options)
            self.options.append(req)
        return idx[req]


@dataclass
class ProblemContext:
    """What :func:`build_problem` used, kept for verification and outputs."""

    scenario: Scenario
    network: WalkNetwork
    facility_sites: list[CandidateSite]
    social_sites: list[CandidateSite]
    existing_facility_keys: dict[str, list[str]]
    existing_social_keys: list[str]
    firm_keys: list[str]
    pair_index: list[tuple[int, int]]
    pair_w: np.ndarray
    crossing_decision: dict[int, int]


def _scaled(length_m: float, scale: int) -> int:
    return int(round(length_m * scale))


def _weights_to_int(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Integer weights with the largest at WEIGHT_LEVELS; positive weights stay >= 1."""
    mx = float(values.max()) if values.size else 0.0
    if mx <= 0:
        return np.zeros(values.shape, dtype=np.int64), 1.0
    k = WEIGHT_LEVELS / mx
    out = np.rint(values * k).astype(np.int64)
    out[(values > 0) & (out == 0)] = 1
    return out, k


def _end_lengths(net: WalkNetwork, origins: list[str], targets: list[str], base: np.ndarray, cand_idx: np.ndarray) -> EndLengths:
    """Gather base lengths around the candidate crossings ``cand_idx`` (indices)."""
    if cand_idx.size == 0:
        z = np.zeros((len(origins), 0))
        return EndLengths(base, z, np.zeros((0, len(targets))), np.zeros((0, 0)), np.zeros(0))
    oe = net.crossing_end_lengths(origins)[:, cand_idx, :].reshape(len(origins), -1)
    te = net.crossing_end_lengths(targets)[:, cand_idx, :].reshape(len(targets), -1)
    end_nodes = net.candidate_ends[cand_idx].reshape(-1)
    ee = net.lengths([int(n) for n in end_nodes], [int(n) for n in end_nodes])
    clen = np.array([net.candidates[int(c)].length_m for c in cand_idx])
    return EndLengths(base, oe, te.T.copy(), ee, clen)


def build_problem(
    scenario: Scenario,
    network: WalkNetwork,
    facility_sites: list[CandidateSite],
    social_sites: list[CandidateSite],
    *,
    existing_facility_keys: dict[str, list[str]] | None = None,
    existing_social_keys: list[str] | None = None,
) -> tuple[Problem, ProblemContext]:
    """Build the integer-scaled, backend-neutral problem for a scenario.

    Args:
        scenario: the validated scenario.
        network: the walk network with every candidate site attached (by its key) and the
            candidate crossings; ``network.candidates`` are the crossing decisions.
        facility_sites, social_sites: candidate sites (keys as attached to the network).
        existing_facility_keys: facility type -> network keys of existing facilities.
        existing_social_keys: network keys of existing social spaces.

    Raises:
        ModelError: the scenario cannot be modelled (e.g. a facility type with no site).
    """
    t0 = time.perf_counter()
    from optimiser.inputs.schema import MAX_GBP

    costs = [scenario.budget_gbp] + [c.cost_gbp for c in network.candidates] + [s.cost_gbp for s in facility_sites + social_sites]
    if not all(math.isfinite(c) and 0 <= c <= MAX_GBP for c in costs):
        raise ModelError(f"costs and the budget must be finite amounts between £0 and £{MAX_GBP:,.0f}")
    existing_facility_keys = existing_facility_keys or {}
    existing_social_keys = existing_social_keys or []
    scale = scenario.solver.length_scale_per_m
    site = scenario.site
    firms = list(site.firms)
    fkeys = [firm_key(f.id) for f in firms]
    groups: dict[str, str] = {}
    decisions: list[Decision] = []
    crossing_decision: dict[int, int] = {}

    # candidates dearer than the whole budget stay in: the budget constraint rules them out,
    # and infeasibility explanations can then name the budget
    for ci, c in enumerate(network.candidates):
        crossing_decision[ci] = len(decisions)
        decisions.append(Decision(f"crossing:{c.id}", "crossing", c.barrier_id, c.cost_gbp, f"{c.type} {c.id}"))
    site_decision: dict[str, int] = {}
    for s in facility_sites:
        if s.key in network.access and s.key not in network.unreachable:
            site_decision[s.key] = len(decisions)
            decisions.append(Decision(s.key, "facility", s.type, s.cost_gbp, f"{s.type} at {s.key.split(':')[-1]}"))
    for s in social_sites:
        if s.key in network.access and s.key not in network.unreachable:
            site_decision[s.key] = len(decisions)
            decisions.append(Decision(s.key, "social", "social", s.cost_gbp, f"social space {s.key.split(':')[-1]}"))

    problem = Problem(
        decisions=decisions,
        options=[(i,) for i in range(len(decisions))],
        clients=[],
        constraints=[],
        penalties=[],
        groups=groups,
        length_scale_per_m=scale,
        weight_scale={},
        budget_gbp=scenario.budget_gbp,
    )
    cand_idx = np.array(sorted(crossing_decision), dtype=np.int64)
    cross_dec = np.array([crossing_decision[int(c)] for c in cand_idx], dtype=np.int64)
    max_k = scenario.crossings.max_route_crossings
    info: dict[str, Any] = {"candidate_crossings": len(network.candidates), "crossing_decisions": len(cand_idx)}

    def add_client(key: str, kind: str, weight: int, base_m: float, opts: list[tuple[float, tuple[int, ...]]],
                   penalty_m: float | None) -> None:
        if weight <= 0:
            return
        # a walk counts at most the unreachable penalty (the verifier uses the same rule)
        if penalty_m is not None:
            base = _scaled(min(base_m, penalty_m), scale)
        elif math.isfinite(base_m):
            base = _scaled(base_m, scale)
        else:
            base = None
        by_level: dict[int, list[int]] = {}
        for length_m, req in opts:
            lev = _scaled(length_m, scale)
            if base is not None and lev >= base:
                continue
            by_level.setdefault(lev, []).append(problem.option_id(req))
        levels = tuple(sorted(by_level))
        problem.clients.append(
            Client(key, kind, int(weight), base, levels, tuple(tuple(sorted(set(by_level[v]))) for v in levels))
        )
        if base is None:
            all_opts = tuple(sorted({o for v in levels for o in by_level[v]}))
            g = f"reach:{key}"
            groups[g] = f"{key.split(':', 1)[1].replace('|', ' to ')} must be reachable on foot"
            problem.constraints.append(Constraint(g, tuple((o, 1) for o in all_opts), 1, None, g))

    # ---------------- firm pairs
    W = pair_weights(firms, scenario.demand)
    iu, ju = np.triu_indices(len(firms), k=1)
    mask = W[iu, ju] > 0
    pair_index = list(zip(iu[mask].tolist(), ju[mask].tolist()))
    pair_w = W[iu[mask], ju[mask]]
    emp = np.array([f.employees for f in firms], dtype=float)
    # one integer scale for every weight, so the terms keep their relative importance
    all_w = [pair_w * scenario.objective.firm_pairs]
    all_w += [emp * spec.access_weight * scenario.objective.facility_access for spec in scenario.facilities]
    all_w.append(emp * scenario.objective.social_access)
    _, wk = _weights_to_int(np.concatenate(all_w))
    problem.weight_scale["all"] = wk

    def to_int(values: np.ndarray) -> np.ndarray:
        out = np.rint(values * wk).astype(np.int64)
        out[(values > 0) & (out == 0)] = 1
        return out

    wint = to_int(pair_w * scenario.objective.firm_pairs)
    penalty_m = scenario.demand.unreachable_penalty_m
    if pair_index and scenario.objective.firm_pairs > 0:
        base_ff = network.lengths(fkeys, fkeys)
        el = _end_lengths(network, fkeys, fkeys, base_ff, cand_idx)
        (oo, tt, ll, a1, a2), eff = route_option_arrays(el, max_k)
        info["pair_route_max_crossings"] = eff
        pa = np.array([a for a, _ in pair_index], dtype=np.int64)
        pb = np.array([b for _, b in pair_index], dtype=np.int64)
        keep = wint > 0
        pa, pb, pw_int = pa[keep], pb[keep], wint[keep]
        cid = np.full((len(firms), len(firms)), -1, dtype=np.int64)
        cid[pa, pb] = np.arange(pa.size)
        ec = cid[oo, tt]
        m = ec >= 0
        req = np.stack([cross_dec[a1[m]], np.where(a2[m] >= 0, cross_dec[np.maximum(a2[m], 0)], -1),
                        np.full(int(m.sum()), -1, dtype=np.int64)], axis=1)
        _add_clients(problem, [f"pair:{firms[a].id}|{firms[b].id}" for a, b in zip(pa.tolist(), pb.tolist())], "pair",
                     pw_int, _bases(base_ff[pa, pb], penalty_m, scale), ec[m], ll[m], req, scale)

    # ---------------- firm -> nearest facility, per type
    by_type: dict[str, list[CandidateSite]] = {}
    for s in facility_sites:
        if s.key in site_decision:
            by_type.setdefault(s.type, []).append(s)
    for spec in scenario.facilities:
        sites = by_type.get(spec.type, [])
        existing = existing_facility_keys.get(spec.type, [])
        w_int = to_int(emp * spec.access_weight * scenario.objective.facility_access)
        if spec.count.min > len(sites):
            g = f"count_min:{spec.type}"
            groups[g] = f"at least {spec.count.min} new {spec.type} facilities (only {len(sites)} candidate sites fit)"
            problem.constraints.append(Constraint(g, tuple((site_decision[s.key], 1) for s in sites), spec.count.min, None, g))
        targets = [s.key for s in sites] + list(existing)
        n_new = len(sites)
        if targets:
            base_ft = network.lengths(fkeys, targets)
            (oo, tt, ll, a1, a2), eff = route_option_arrays(_end_lengths(network, fkeys, targets, base_ft, cand_idx), max_k)
        else:
            base_ft = np.zeros((len(fkeys), 0))
            (oo, tt, ll, a1, a2), eff = route_option_arrays(
                EndLengths(base_ft, np.zeros((len(fkeys), 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0)), max_k)
        info.setdefault("access_route_max_crossings", {})[spec.type] = eff
        site_dec = np.array([site_decision[t] for t in targets[:n_new]] + [-1] * len(existing), dtype=np.int64)
        served = np.nonzero(w_int > 0)[0]
        fcid = np.full(len(firms), -1, dtype=np.int64)
        fcid[served] = np.arange(served.size)
        base_m = base_ft[:, n_new:].min(axis=1) if existing else np.full(len(firms), math.inf)
        # options: a new site alone, or any target through new crossings (existing + no crossing is the base)
        di, dt = np.nonzero(np.isfinite(base_ft[:, :n_new]))
        e_o = np.concatenate([di, oo])
        e_l = np.concatenate([base_ft[di, dt], ll])
        e_req = np.stack([
            np.concatenate([np.full(di.size, -1, dtype=np.int64), cross_dec[a1]]),
            np.concatenate([np.full(di.size, -1, dtype=np.int64), np.where(a2 >= 0, cross_dec[np.maximum(a2, 0)], -1)]),
            np.concatenate([site_dec[dt], site_dec[tt]]),
        ], axis=1)
        # prune: options no better than an always-open existing facility
        m = (e_l < base_m[e_o] - 1e-9) & (fcid[e_o] >= 0)
        # a firm that cannot reach any facility pays the unreachable penalty, as in pairs
        _add_clients(problem, [f"access:{spec.type}:{firms[i].id}" for i in served.tolist()], "access", w_int[served],
                     _bases(base_m[served], penalty_m, scale), fcid[e_o[m]], e_l[m], e_req[m], scale)
        _count_constraints(problem, spec.type, [site_decision[s.key] for s in sites], spec.count.min, spec.count.max)
        _spacing_constraints(problem, spec.type, sites, site_decision, spec.min_spacing_m)

    # ---------------- social spaces: count, spacing, coverage, access
    soc = scenario.social_spaces
    if soc is not None:
        sites = [s for s in social_sites if s.key in site_decision]
        _count_constraints(problem, "social", [site_decision[s.key] for s in sites], soc.count.min, soc.count.max)
        _spacing_constraints(problem, "social", sites, site_decision, soc.min_spacing_m)
        targets = [s.key for s in sites] + list(existing_social_keys)
        if soc.coverage != "off" or scenario.objective.social_access > 0:
            base_fs, opts, _ = _target_routes(network, fkeys, targets, cand_idx, max_k)
            n_new = len(sites)
            for i, f in enumerate(firms):
                within: list[int] = []
                covered_now = False
                all_o: list[tuple[float, tuple[int, ...]]] = []
                for t in range(len(targets)):
                    site_req = (site_decision[targets[t]],) if t < n_new else ()
                    cand = [(float(base_fs[i, t]), site_req)] if math.isfinite(base_fs[i, t]) else []
                    cand += [(L, site_req + tuple(int(cross_dec[c]) for c in R)) for L, R in opts[i][t]]
                    for L, req in cand:
                        all_o.append((L, req))
                        if L <= soc.coverage_radius_m + 1e-9:
                            if not req:
                                covered_now = True
                            else:
                                within.append(problem.option_id(req))
                within = sorted(set(within))
                if soc.coverage == "hard" and not covered_now:
                    g = f"coverage:{f.id}"
                    groups[g] = f"{f.name} within {soc.coverage_radius_m:g} m walk of a social space"
                    problem.constraints.append(Constraint(g, tuple((o, 1) for o in within), 1, None, g))
                elif soc.coverage == "weighted" and not covered_now and soc.coverage_weight > 0:
                    wgt = f.employees * soc.coverage_weight * scale * wk
                    problem.penalties.append(Penalty(f"uncovered:{f.id}", int(round(wgt)), tuple(within)))
                if scenario.objective.social_access > 0:
                    base_m = float(base_fs[i, n_new:].min()) if existing_social_keys else math.inf
                    o = [x for x in all_o if x[1] and x[0] < base_m - 1e-9]
                    w = int(to_int(np.array([f.employees * scenario.objective.social_access]))[0])
                    add_client(f"social:{f.id}", "social", w, base_m, o, scenario.demand.unreachable_penalty_m)

    # ---------------- footprints of different kinds may not overlap
    placed = [s for s in facility_sites + social_sites if s.key in site_decision]
    if len(placed) > 1:
        import shapely

        geoms = np.array([s.footprint for s in placed], dtype=object)
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        g = "footprints"
        for a, b in zip(left.tolist(), right.tolist()):
            # any two placements, same type or not, may touch but not overlap
            if a < b and placed[a].footprint.intersection(placed[b].footprint).area > 1e-6:
                groups[g] = "placements may not overlap one another"
                problem.constraints.append(Constraint(f"overlap:{placed[a].key}|{placed[b].key}", ((site_decision[placed[a].key], 1), (site_decision[placed[b].key], 1)), None, 1, g))

    # ---------------- directness targets
    if scenario.directness:
        index = {f.id: i for i, f in enumerate(firms)}
        dkeys = fkeys
        base_ff = network.lengths(dkeys, dkeys)
        el = _end_lengths(network, dkeys, dkeys, base_ff, cand_idx)
        opts, _ = route_options(el, max_k)
        straight = network.straight_lengths(dkeys, dkeys)
        for tgt in scenario.directness:
            a, b = index[tgt.a], index[tgt.b]
            limit = tgt.max_ratio * float(straight[a, b])
            if straight[a, b] <= 0 or base_ff[a, b] <= limit + 1e-9:
                continue  # no straight line to compare with, or already direct enough
            within = sorted({problem.option_id(tuple(int(cross_dec[c]) for c in R)) for L, R in opts[a][b] if L <= limit + 1e-9})
            g = f"directness:{tgt.a}|{tgt.b}"
            groups[g] = (f"walk from {firms[a].name} to {firms[b].name} at most {tgt.max_ratio:g} x the straight line "
                         f"({limit:.0f} m; now {base_ff[a, b]:.0f} m)")
            problem.constraints.append(Constraint(g, tuple((o, 1) for o in within), 1, None, g))

    # ---------------- budget (omitted when it could never bind, which keeps coefficients small)
    groups["budget"] = f"the capital budget of £{scenario.budget_gbp:,.0f}"
    total_cost = sum(d.cost_gbp for d in decisions)
    if scenario.budget_gbp < total_cost:
        problem.constraints.append(
            Constraint("budget", tuple((i, int(round(d.cost_gbp))) for i, d in enumerate(decisions) if d.cost_gbp > 0),
                       None, int(math.floor(scenario.budget_gbp)), "budget")
        )
    info.update(_reduce(problem))
    info.update(
        decisions=len(decisions),
        options=len(problem.options),
        conjunctions=len(problem.options) - len(decisions),
        clients=len(problem.clients),
        levels=sum(len(c.levels) for c in problem.clients),
        constraints=len(problem.constraints),
        penalties=len(problem.penalties),
        build_seconds=time.perf_counter() - t0,
    )
    problem.info.update(info)
    ctx = ProblemContext(scenario, network, facility_sites, social_sites, existing_facility_keys,
                         existing_social_keys, fkeys, pair_index, pair_w, crossing_decision)
    return problem, ctx


def _bases(base_m: np.ndarray, penalty_m: float | None, scale: int) -> list[int | None]:
    """Scaled base lengths; a walk counts at most the unreachable penalty (the verifier uses
    the same rule), and without a penalty an unreachable client must be served."""
    out: list[int | None] = []
    for b in np.asarray(base_m, dtype=float).tolist():
        if penalty_m is not None:
            out.append(_scaled(min(b, penalty_m), scale))
        elif math.isfinite(b):
            out.append(_scaled(b, scale))
        else:
            out.append(None)
    return out


def _option_ids(problem: Problem, req: np.ndarray) -> np.ndarray:
    """Option ids of requirement rows (decision ids, -1 for none), created when new."""
    if req.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    r = np.sort(req, axis=1)
    d1 = len(problem.decisions) + 1
    key = np.zeros(r.shape[0], dtype=np.int64)
    for j in range(r.shape[1]):
        key = key * d1 + (r[:, j] + 1)
    uk, first, inv = np.unique(key, return_index=True, return_inverse=True)
    ids = np.fromiter((problem.option_id(tuple(v for v in row if v >= 0)) for row in r[first].tolist()),
                      dtype=np.int64, count=uk.size)
    return ids[inv]


def _add_clients(problem: Problem, keys: list[str], kind: str, weights: np.ndarray, bases: list[int | None],
                 e_client: np.ndarray, e_len_m: np.ndarray, e_req: np.ndarray, scale: int) -> None:
    """Add clients from flat option entries (client, length in metres, requirement row):
    levels are the distinct scaled lengths below the base, each with its sorted option ids."""
    n_c = len(keys)
    big = np.iinfo(np.int64).max
    lev = np.rint(np.asarray(e_len_m, dtype=float) * scale).astype(np.int64)
    base_arr = np.array([b if b is not None else big for b in bases], dtype=np.int64)
    keep = lev < base_arr[e_client] if n_c else np.zeros(0, dtype=bool)
    e_client, lev = e_client[keep], lev[keep]
    opt = _option_ids(problem, e_req[keep])
    order = np.lexsort((opt, lev, e_client))
    e_client, lev, opt = e_client[order], lev[order], opt[order]
    n = e_client.size
    if n:
        new = np.ones(n, dtype=bool)
        new[1:] = (e_client[1:] != e_client[:-1]) | (lev[1:] != lev[:-1]) | (opt[1:] != opt[:-1])
        e_client, lev, opt = e_client[new], lev[new], opt[new]
        n = e_client.size
    lstart = np.nonzero(np.concatenate([[True], (e_client[1:] != e_client[:-1]) | (lev[1:] != lev[:-1])]))[0] if n else np.zeros(0, np.int64)
    bounds = lstart.tolist() + [n]
    opt_list = opt.tolist()
    lvl_opts = [tuple(opt_list[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    lvl_len = lev[lstart].tolist()
    per = np.bincount(e_client[lstart], minlength=n_c) if n else np.zeros(n_c, dtype=np.int64)
    cst = np.concatenate([[0], np.cumsum(per)]).tolist()
    w_list = np.asarray(weights).tolist()
    for k in range(n_c):
        if w_list[k] <= 0:
            continue
        a, b = cst[k], cst[k + 1]
        levels, lopts = tuple(lvl_len[a:b]), tuple(lvl_opts[a:b])
        problem.clients.append(Client(keys[k], kind, int(w_list[k]), bases[k], levels, lopts))
        if bases[k] is None:
            all_opts = tuple(sorted({o for v in lopts for o in v}))
            g = f"reach:{keys[k]}"
            problem.groups[g] = f"{keys[k].split(':', 1)[1].replace('|', ' to ')} must be reachable on foot"
            problem.constraints.append(Constraint(g, tuple((o, 1) for o in all_opts), 1, None, g))


def _reduce(problem: Problem) -> dict[str, int]:
    """Exact reductions of the objective's clients.

    - An option whose decisions cost more together than the budget can never be open: it is
      removed from the levels of clients that have a base (constraints keep it, so an
      infeasibility explanation can still name the budget), and levels left empty go.
    - Clients with the same kind, base, levels and level options are one term with the summed
      weight (common for firm pairs: the same routes, the same crossings).
    """
    out = {"options_over_budget": 0, "merged_clients": 0}
    budget = next((c for c in problem.constraints if c.key == "budget"), None)
    if budget is not None and budget.hi is not None:
        cost = np.zeros(len(problem.decisions))
        for o, v in budget.terms:
            cost[o] = v
        lens = np.fromiter((len(r) for r in problem.options), dtype=np.int64, count=len(problem.options))
        flat = np.fromiter((d for r in problem.options for d in r), dtype=np.int64, count=int(lens.sum()))
        opt_cost = np.add.reduceat(cost[flat], np.concatenate([[0], np.cumsum(lens)[:-1]])) if flat.size else np.zeros(0)
        bad = set(np.nonzero(opt_cost > budget.hi)[0].tolist())
        out["options_over_budget"] = len(bad)
        if bad:
            clients = []
            for c in problem.clients:
                if c.base is None or not any(o in bad for opts in c.level_options for o in opts):
                    clients.append(c)
                    continue
                lv, lo = [], []
                for lev, opts in zip(c.levels, c.level_options):
                    keep = tuple(o for o in opts if o not in bad)
                    if keep:
                        lv.append(lev)
                        lo.append(keep)
                clients.append(Client(c.key, c.kind, c.weight, c.base, tuple(lv), tuple(lo)))
            problem.clients = clients
    merged: dict[tuple, int] = {}
    clients = []
    for c in problem.clients:
        k = (c.kind, c.base, c.levels, c.level_options)
        j = merged.get(k)
        if j is None:
            merged[k] = len(clients)
            clients.append(c)
        else:
            first = clients[j]
            clients[j] = Client(first.key, first.kind, first.weight + c.weight, first.base, first.levels, first.level_options)
    out["merged_clients"] = len(problem.clients) - len(clients)
    problem.clients = clients
    return out


def _target_routes(network: WalkNetwork, fkeys: list[str], targets: list[str], cand_idx: np.ndarray, max_k: int):
    """Base lengths (firms x targets) and route options to each target; empty-safe."""
    if not targets:
        return np.zeros((len(fkeys), 0)), [[] for _ in fkeys], max_k
    base = network.lengths(fkeys, targets)
    opts, eff = route_options(_end_lengths(network, fkeys, targets, base, cand_idx), max_k)
    return base, opts, eff


def _count_constraints(problem: Problem, kind: str, ids: list[int], lo: int, hi: int) -> None:
    label = "social spaces" if kind == "social" else f"new {kind} facilities"
    if lo > 0:
        g = f"count_min:{kind}"
        problem.groups.setdefault(g, f"at least {lo} {label}")
        problem.constraints.append(Constraint(g, tuple((i, 1) for i in ids), lo, None, g))
    g = f"count_max:{kind}"
    problem.groups.setdefault(g, f"at most {hi} {label}")
    problem.constraints.append(Constraint(g, tuple((i, 1) for i in ids), None, hi, g))


def _spacing_constraints(problem: Problem, kind: str, sites: list[CandidateSite], site_decision: dict[str, int], spacing_m: float) -> None:
    if spacing_m <= 0 or len(sites) < 2:
        return
    xy = np.array([[s.point.x, s.point.y] for s in sites])
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(spacing_m - 1e-9, output_type="ndarray")
    g = f"spacing:{kind}"
    problem.groups.setdefault(g, f"{'social spaces' if kind == 'social' else kind + ' facilities'} at least {spacing_m:g} m apart")
    for a, b in pairs.tolist():
        problem.constraints.append(
            Constraint(f"{g}:{a}|{b}", ((site_decision[sites[a].key], 1), (site_decision[sites[b].key], 1)), None, 1, g)
        )


def crossing_of_decision(ctx: ProblemContext) -> dict[int, Crossing]:
    """Decision id -> the candidate crossing it builds."""
    return {d: ctx.network.candidates[c] for c, d in ctx.crossing_decision.items()}


def _rewritten(problem: Problem, info: dict[str, Any]) -> Problem:
    """A copy of ``problem`` whose clients are to be rewritten: no clients yet, its own lists of
    options and constraints, and the conjunction index rebuilt (a copied problem may carry an
    empty one)."""
    return replace(problem, options=list(problem.options), clients=[], constraints=list(problem.constraints),
                   penalties=list(problem.penalties), groups=dict(problem.groups), info=info,
                   _option_index={req: i for i, req in enumerate(problem.options) if len(req) > 1})


def relax_access_crossings(problem: Problem, closed=()) -> Problem | None:
    """A relaxation: every walk to a facility or social space may use every candidate crossing
    for free (firm pairs and every constraint are unchanged).

    Each access option "site s AND crossings R" becomes "site s" at the same length, and an
    option needing only crossings (an existing facility reached over a new crossing) is always
    open. No layout walks further in the relaxation than in ``problem`` and the feasible
    layouts are the same, so the relaxation's optimum, and any lower bound proven on it, is a
    lower bound for ``problem``. It is much smaller: access levels become firms x sites
    instead of firms x sites x crossing sets, and access no longer links sites to crossings.

    ``closed``: decision ids known to be closed in every layout of interest (e.g. by the
    reduction tests of :mod:`optimiser.solve.lagrangian`, for layouts better than an incumbent).
    Access options needing one of them are dropped instead of relaxed, which makes the
    relaxation tighter; it is then a relaxation of ``problem`` with those decisions at 0.

    Returns ``None`` when there is nothing to relax (no access option needs a crossing).
    """
    crossing = np.array([d.kind == "crossing" for d in problem.decisions], dtype=bool)
    shut = np.zeros(len(problem.decisions), dtype=bool)
    shut[list(closed)] = True
    q = _rewritten(problem, {"relaxation": "access over every candidate crossing"})
    # option id -> relaxed option id: its non-crossing decisions; -1 when there are none
    # (always open); -2 when it needs a closed decision (never open)
    relaxed = np.arange(len(problem.options), dtype=np.int64)
    relaxed[np.nonzero(crossing)[0]] = -1
    relaxed[np.nonzero(shut)[0]] = -2
    for o in range(len(problem.decisions), len(problem.options)):
        req = problem.options[o]
        if shut[list(req)].any():
            relaxed[o] = -2
            continue
        rest = tuple(d for d in req if not crossing[d])
        if len(rest) < len(req):
            relaxed[o] = q.option_id(rest) if rest else -1
    any_access = False
    for c in problem.clients:
        if c.kind == "pair" and shut.any():
            # options needing a closed decision never open: drop them (and emptied levels)
            kept = [(lev, tuple(o for o in opts if relaxed[o] != -2)) for lev, opts in zip(c.levels, c.level_options)]
            kept = [(lev, opts) for lev, opts in kept if opts]
            q.clients.append(Client(c.key, c.kind, c.weight, c.base, tuple(v for v, _ in kept), tuple(o for _, o in kept)))
            continue
        if c.kind == "pair" or not c.levels:
            q.clients.append(c)
            continue
        first: dict[int, int] = {}
        base = c.base
        for lev, opts in zip(c.levels, c.level_options):
            if any(relaxed[o] == -1 for o in opts):
                base = lev  # always open from here on
                any_access = True
                break
            for o in opts:
                r = int(relaxed[o])
                if r == -2:
                    continue
                any_access |= r != o
                first.setdefault(r, lev)
        by_level: dict[int, list[int]] = {}
        for r, lev in first.items():
            if base is None or lev < base:
                by_level.setdefault(lev, []).append(r)
        levels = tuple(sorted(by_level))
        q.clients.append(Client(c.key, c.kind, c.weight, base, levels, tuple(tuple(sorted(by_level[v])) for v in levels)))
    if not any_access:
        return None
    q.info["levels"] = sum(len(c.levels) for c in q.clients)
    return q


def fix_decisions(problem: Problem, fixed: dict[int, int]) -> Problem:
    """The same problem with some decisions fixed (decision id -> 0/1), substituted into
    every client exactly: options needing a decision fixed at 0 are dropped, decisions fixed
    at 1 are removed from conjunctions, and a client with an option that is now always open
    stops at that level (its base becomes that length). Much smaller than fixing by
    constraints when many conjunctions involve the fixed decisions."""
    q = _rewritten(problem, dict(problem.info))
    for c in problem.clients:
        levels, lopts, base = [], [], c.base
        for lev, opts in zip(c.levels, c.level_options):
            keep: set[int] = set()
            always = False
            for o in opts:
                req = problem.options[o]
                if any(fixed.get(d) == 0 for d in req):
                    continue
                rest = tuple(d for d in req if d not in fixed)
                if not rest:
                    always = True
                    break
                keep.add(q.option_id(rest))
            if always:
                base = lev
                break
            if keep:
                levels.append(lev)
                lopts.append(tuple(sorted(keep)))
        q.clients.append(Client(c.key, c.kind, c.weight, base, tuple(levels), tuple(lopts)))
    q.constraints += [Constraint(f"fix:{d}", ((d, 1),), v, v, "fix") for d, v in sorted(fixed.items())]
    return q
