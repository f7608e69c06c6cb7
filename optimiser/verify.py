"""Independent verification of an optimised layout (design brief, section 5).

Rebuild the walking graph with the chosen crossings as plain edges, recompute every walk
with a plain Dijkstra (no route options, no key-node combination), and recheck the
objective and every constraint from the scenario's own terms (budget, counts, spacing,
footprints, coverage, directness). A failure raises :class:`VerificationError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from optimiser.errors import VerificationError
from optimiser.inputs.domain import ParcelStatus
from optimiser.model.demand import pair_weights
from optimiser.model.problem import Problem, ProblemContext
from optimiser.network.candidates import DEFAULT_BUILDING_RADIUS_M, no_build_area


@dataclass(frozen=True)
class Check:
    """One verification check: what was checked (``name``), whether it held, and the figures."""

    name: str
    passed: bool
    detail: str


@dataclass
class Verification:
    """Outcome of verification.

    Attributes:
        passed: every check held.
        objective: the objective recomputed from scratch (integer-scaled units).
        checks: every check made, in order.
        notes: explanations of failures beyond single checks.
        pair_lengths_m: recomputed (firm, firm) walking lengths with the chosen layout.
        facility_walk_m: facility type -> per-firm walk to the nearest open facility.
        social_walk_m: per-firm walk to the nearest social space (inf if none).
    """

    passed: bool
    objective: float
    checks: list[Check] = field(default_factory=list)
    pair_lengths_m: np.ndarray | None = None
    facility_walk_m: dict[str, np.ndarray] = field(default_factory=dict)
    social_walk_m: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _graph_with_crossings(ctx: ProblemContext, crossing_idx: list[int]) -> sp.csr_matrix:
    net = ctx.network
    g = net.csr.tocoo()
    rows, cols, vals = [g.row], [g.col], [g.data]
    for c in crossing_idx:
        a, b = (int(v) for v in net.candidate_ends[c])
        length = net.candidates[c].length_m
        rows += [np.array([a, b])]
        cols += [np.array([b, a])]
        vals += [np.array([length, length])]
    n = net.n_nodes
    dup = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    # keep the shortest of parallel edges (a plain sum of duplicates would add them)
    best: dict[tuple[int, int], float] = {}
    for r, c, v in zip(dup.row.tolist(), dup.col.tolist(), dup.data.tolist()):
        if (r, c) not in best or v < best[(r, c)]:
            best[(r, c)] = v
    keys = list(best)
    return sp.csr_matrix(([best[k] for k in keys], ([k[0] for k in keys], [k[1] for k in keys])), shape=(n, n))


def key_lengths_plain(ctx: ProblemContext, crossing_idx: list[int], origins: list[str], targets: list[str]) -> np.ndarray:
    """Walking lengths (m) from origin keys to target keys by plain Dijkstra on a freshly
    built graph with ``crossing_idx`` candidate crossings added."""
    net = ctx.network
    g = _graph_with_crossings(ctx, crossing_idx)
    src_nodes = sorted({n for k in origins for n in net.access.get(k, ())})
    out = np.full((len(origins), len(targets)), np.inf)
    if not src_nodes:
        return out
    d = dijkstra(g, directed=False, indices=src_nodes)
    row = {n: i for i, n in enumerate(src_nodes)}
    for i, k in enumerate(origins):
        acc = net.access.get(k, ())
        if not acc or k in net.unreachable:
            continue
        best = np.min(d[[row[n] for n in acc]], axis=0)
        for j, t in enumerate(targets):
            tacc = net.access.get(t, ())
            if tacc and t not in net.unreachable:
                out[i, j] = float(best[list(tacc)].min())
    return out


def verify(problem: Problem, ctx: ProblemContext, chosen: tuple[int, ...], reported_objective: float | None,
           *, raise_on_failure: bool = True) -> Verification:
    """Recompute walks and recheck every constraint for the chosen decisions."""
    sc = ctx.scenario
    site = sc.site
    scale = problem.length_scale_per_m
    wk = problem.weight_scale["all"]
    checks: list[Check] = []
    fails: list[str] = []
    notes: list[str] = []

    def check(ok: bool, text: str) -> None:
        checks.append(Check("check", bool(ok), text))
        if not ok:
            fails.append(text)

    chosen_set = set(chosen)
    dec = problem.decisions
    by_key = {d.key: i for i, d in enumerate(dec)}
    cross_idx = [c for c, d in ctx.crossing_decision.items() if d in chosen_set]
    fac_open = {s.key: s for s in ctx.facility_sites if by_key.get(s.key) in chosen_set}
    soc_open = {s.key: s for s in ctx.social_sites if by_key.get(s.key) in chosen_set}
    fkeys = ctx.firm_keys
    firms = list(site.firms)
    emp = np.array([f.employees for f in firms], dtype=float)

    # budget
    capital = sum(dec[i].cost_gbp for i in chosen)
    check(capital <= sc.budget_gbp + 1e-6, f"capital cost £{capital:,.0f} within budget £{sc.budget_gbp:,.0f}")

    # counts, spacing, footprints
    blocked = no_build_area(sc)
    parcels = {p.id: p for p in site.parcels}
    for spec in sc.facilities:
        opened = [s for s in fac_open.values() if s.type == spec.type]
        check(spec.count.min <= len(opened) <= spec.count.max,
              f"{len(opened)} new {spec.type} facilities within [{spec.count.min}, {spec.count.max}]")
        for a in range(len(opened)):
            for b in range(a + 1, len(opened)):
                dist = opened[a].point.distance(opened[b].point)
                check(dist >= spec.min_spacing_m - 1e-6, f"{opened[a].key} and {opened[b].key} {dist:.0f} m apart (min {spec.min_spacing_m:g} m)")
        for s in opened:
            p = parcels.get(s.parcel_id)
            check(p is not None and p.status == ParcelStatus.BUILDABLE and p.polygon.contains(s.footprint),
                  f"{s.key} footprint inside buildable parcel {s.parcel_id}")
            check(not blocked.intersects(s.footprint), f"{s.key} clear of corridors, exclusion zones and buildings")
    soc = sc.social_spaces
    if soc is not None:
        opened = list(soc_open.values())
        check(soc.count.min <= len(opened) <= soc.count.max, f"{len(opened)} social spaces within [{soc.count.min}, {soc.count.max}]")
        for a in range(len(opened)):
            for b in range(a + 1, len(opened)):
                dist = opened[a].point.distance(opened[b].point)
                check(dist >= soc.min_spacing_m - 1e-6, f"{opened[a].key} and {opened[b].key} {dist:.0f} m apart (min {soc.min_spacing_m:g} m)")
        near_buildings = [
            (f.footprint if f.footprint is not None else f.location.buffer(DEFAULT_BUILDING_RADIUS_M)).buffer(soc.building_clearance_m)
            for f in firms
        ]
        for s in opened:
            p = parcels.get(s.parcel_id)
            check(p is not None and p.status == ParcelStatus.OPEN_SPACE and p.polygon.contains(s.footprint),
                  f"{s.key} inside open-space parcel {s.parcel_id}")
            check(not blocked.intersects(s.footprint), f"{s.key} clear of corridors, exclusion zones and buildings")
            check(not any(nb.intersects(s.footprint) for nb in near_buildings),
                  f"{s.key} at least {soc.building_clearance_m:g} m from every building")
            for bar in sc.active_barriers:
                if bar.kind.value == "carriageway":
                    dist = bar.band.distance(s.footprint)
                    check(dist >= soc.noise_buffer_m - 1e-6, f"{s.key} {dist:.0f} m from {bar.id} (noise buffer {soc.noise_buffer_m:g} m)")
    placed = list(fac_open.values()) + list(soc_open.values())
    for a in range(len(placed)):
        for b in range(a + 1, len(placed)):
            overlap = placed[a].footprint.intersection(placed[b].footprint).area
            check(overlap <= 1e-6, f"{placed[a].key} does not overlap {placed[b].key} ({overlap:.0f} m2 shared)")

    # walking, from scratch; a walk counts at most the unreachable penalty
    penalty = sc.demand.unreachable_penalty_m
    objective = 0
    pair_len = key_lengths_plain(ctx, cross_idx, fkeys, fkeys)
    W = pair_weights(firms, sc.demand)
    if sc.objective.firm_pairs > 0:
        for (a, b), _w in zip(ctx.pair_index, ctx.pair_w):
            w_int = max(1, int(round(W[a, b] * sc.objective.firm_pairs * wk))) if W[a, b] > 0 else 0
            L = min(pair_len[a, b], penalty)
            objective += w_int * int(round(L * scale))
    fac_walk: dict[str, np.ndarray] = {}
    for spec in sc.facilities:
        targets = [k for k, s in fac_open.items() if s.type == spec.type] + list(ctx.existing_facility_keys.get(spec.type, []))
        if targets:
            d = key_lengths_plain(ctx, cross_idx, fkeys, targets).min(axis=1)
        else:  # none of this type anywhere: every firm pays the unreachable penalty
            d = np.full(len(firms), np.inf)
        fac_walk[spec.type] = d
        wv = emp * spec.access_weight * sc.objective.facility_access
        for i in range(len(firms)):
            if wv[i] <= 0:
                continue
            w_int = max(1, int(round(wv[i] * wk)))
            L = min(d[i], penalty)
            objective += w_int * int(round(L * scale))
    social_walk = None
    if soc is not None:
        targets = list(soc_open) + list(ctx.existing_social_keys)
        social_walk = key_lengths_plain(ctx, cross_idx, fkeys, targets).min(axis=1) if targets else np.full(len(firms), np.inf)
        for i, f in enumerate(firms):
            covered = social_walk[i] <= soc.coverage_radius_m + 1e-6
            if soc.coverage == "hard":
                check(covered, f"{f.name} within {soc.coverage_radius_m:g} m of a social space ({social_walk[i]:.0f} m)")
            elif soc.coverage == "weighted" and not covered and soc.coverage_weight > 0:
                objective += int(round(f.employees * soc.coverage_weight * scale * wk))
            if sc.objective.social_access > 0:
                w_int = max(1, int(round(f.employees * sc.objective.social_access * wk)))
                L = min(social_walk[i], penalty)
                objective += w_int * int(round(L * scale))
    if sc.directness:
        straight = ctx.network.straight_lengths(fkeys, fkeys)
        index = {f.id: i for i, f in enumerate(firms)}
        for t in sc.directness:
            a, b = index[t.a], index[t.b]
            if straight[a, b] <= 0:
                continue  # a detour ratio is undefined without a straight line
            ratio = pair_len[a, b] / straight[a, b]
            check(ratio <= t.max_ratio + 1e-6, f"detour ratio {t.a}-{t.b} {ratio:.2f} <= {t.max_ratio:g}")

    if reported_objective is not None:
        # each term was rounded to whole units once; allow one unit per term
        tol = sum(c.weight for c in problem.clients) + 1
        diff = objective - reported_objective
        check(abs(diff) <= tol, f"objective recomputed {objective:,} vs reported {reported_objective:,.0f} (tolerance {tol:,})")
        if diff < -tol:
            notes.append("a walk is shorter than any route option the model had: the best route uses more new "
                         "crossings than crossings.max_route_crossings allows")
    result = Verification(not fails and not notes, float(objective), checks, pair_len, fac_walk, social_walk, notes)
    if (fails or notes) and raise_on_failure:
        raise VerificationError("the optimised layout failed independent verification", fails + notes)
    return result
