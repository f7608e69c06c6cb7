"""Independent verification of an optimised layout (design brief, section 5).

The verifier rebuilds what it checks from the inputs, with its own code: it imports nothing
from :mod:`optimiser.network` (no walk-network builder, no route options, no key-node
combination) and nothing from the model builder but the problem's own numbers (decisions,
scales, the reported objective).

- **Its own walking graph** (:mod:`optimiser.verify_graph`), built from the site geometry: the
  site's footpaths, noded where they cross and cut out of every active barrier band, dangling
  ends within :data:`~optimiser.verify_graph.SNAP_M` of another path joined; every existing crossing and every *chosen* new
  crossing as one edge of its line length plus its walking penalty, each end joined to the
  nearest walkable point on its own side (an existing crossing over a switched-off barrier
  left out); every firm entrance, facility site and social-space site joined by a straight
  connector to the nearest walkable point it reaches without entering a band. A site
  without footpaths walks on the open-space grid that the network derives; those grid
  segments are the one input the verifier takes from the network build (they are a
  function of the site, not of any decision).
- **Plain shortest paths**: SciPy's Dijkstra from every firm on that graph. A walk uses at
  most ``crossings.max_route_crossings`` new crossings, as in the model: when more new
  crossings are built than that, Dijkstra runs on a layered graph, one copy of the graph per
  number of new crossings used so far, each new crossing leading to the next layer.
- **Every constraint from the scenario's own terms**: budget, counts, spacing, parcels and
  footprints against its own no-build area (active bands, exclusion zones, buildings with their
  margins), overlaps, noise buffers, coverage, directness targets, transit stops (count,
  spacing, alignment, no-platform zones) and the objective term by term with the model's
  integer scales (the transit term from each firm's walk to the nearest stop on this graph).

A failed check is a bug, reported loudly: :func:`verify` raises :class:`VerificationError`
(or, with ``raise_on_failure=False``, returns ``passed=False`` with the failing checks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from optimiser.errors import VerificationError
from optimiser.inputs.currency import exact_amount, exact_total, money_apart
from optimiser.inputs.domain import BUILDING_RADIUS_M, FIXED_BUILDING_MARGIN_M, ParcelStatus, Scenario
from optimiser.model.demand import pair_weights
from optimiser.model.problem import Problem, ProblemContext
from optimiser.verify_graph import GraphBase, PlainGraph, build_plain_graph, graph_base, layout_walks, lengths_to_m

logger = logging.getLogger(__name__)

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
        pair_lengths_m: recomputed (firm, firm) walking lengths with the chosen layout.
        facility_walk_m: facility type -> per-firm walk to the nearest open facility (m).
        social_walk_m: per-firm walk to the nearest social space (m; inf if none).
        notes: explanations of failures beyond single checks.
        transit_walk_m: per-firm walk to the nearest open or existing transit stop (m; inf if
            none); ``None`` without ``transit``.
    """

    passed: bool
    objective: float
    checks: list[Check] = field(default_factory=list)
    pair_lengths_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    facility_walk_m: dict[str, np.ndarray] = field(default_factory=dict)
    social_walk_m: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    transit_walk_m: np.ndarray | None = None


# ----------------------------------------------------------------------------- the checks


class _Checks:
    """Collects checks; ``failures`` are the details of those that did not hold."""

    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.items.append(Check(name, bool(ok), detail))
        if not ok:  # the caller decides whether a failure is an error (today's layout may break a count)
            logger.debug("verification check %s failed: %s", name, detail)

    @property
    def failures(self) -> list[str]:
        return [c.detail for c in self.items if not c.passed]


def no_build_area(scenario: Scenario) -> BaseGeometry:
    """Everywhere nothing may be placed: active barrier bands, exclusion zones and firm
    buildings (fixed buildings with a margin of :data:`FIXED_BUILDING_MARGIN_M`)."""
    parts = [bar.band for bar in scenario.active_barriers] + [z.polygon for z in scenario.site.exclusion_zones]
    for f in scenario.site.firms:
        margin = FIXED_BUILDING_MARGIN_M if f.fixed else 0.0
        parts.append(f.footprint.buffer(margin) if f.footprint is not None else f.location.buffer(BUILDING_RADIUS_M + margin))
    return shapely.union_all(parts) if parts else Polygon()


def _check_spacing(checks: _Checks, sites: list, min_spacing_m: float) -> None:
    for i in range(len(sites)):
        for j in range(i + 1, len(sites)):
            dist = sites[i].point.distance(sites[j].point)
            checks.add("spacing", dist >= min_spacing_m - 1e-6,
                       f"{sites[i].key} and {sites[j].key} {dist:.0f} m apart (min {min_spacing_m:g} m)")


def _check_facilities(checks: _Checks, sc: Scenario, opened: list, blocked: BaseGeometry) -> None:
    parcels = {p.id: p for p in sc.site.parcels}
    for spec in sc.facilities:
        of_type = [s for s in opened if s.type == spec.type]
        checks.add("count", spec.count.min <= len(of_type) <= spec.count.max,
                   f"{len(of_type)} new {spec.type} facilities within [{spec.count.min}, {spec.count.max}]")
        _check_spacing(checks, of_type, spec.min_spacing_m)
        for s in of_type:
            p = parcels.get(s.parcel_id)
            checks.add("parcel", p is not None and p.status == ParcelStatus.BUILDABLE and p.polygon.contains(s.footprint),
                       f"{s.key} footprint inside buildable parcel {s.parcel_id}")
            checks.add("no-build", not blocked.intersects(s.footprint), f"{s.key} clear of corridors, exclusion zones and buildings")


def _check_social(checks: _Checks, sc: Scenario, opened: list, blocked: BaseGeometry) -> None:
    soc = sc.social_spaces
    if soc is None:
        return
    parcels = {p.id: p for p in sc.site.parcels}
    checks.add("count", soc.count.min <= len(opened) <= soc.count.max,
               f"{len(opened)} social spaces within [{soc.count.min}, {soc.count.max}]")
    _check_spacing(checks, opened, soc.min_spacing_m)
    buildings = [(f.footprint if f.footprint is not None else f.location.buffer(BUILDING_RADIUS_M)).buffer(soc.building_clearance_m)
                 for f in sc.site.firms]
    for s in opened:
        p = parcels.get(s.parcel_id)
        checks.add("parcel", p is not None and p.status == ParcelStatus.OPEN_SPACE and p.polygon.contains(s.footprint),
                   f"{s.key} inside open-space parcel {s.parcel_id}")
        checks.add("no-build", not blocked.intersects(s.footprint), f"{s.key} clear of corridors, exclusion zones and buildings")
        checks.add("building clearance", not any(nb.intersects(s.footprint) for nb in buildings),
                   f"{s.key} at least {soc.building_clearance_m:g} m from every building")
        for bar in sc.active_barriers:
            if bar.kind.is_road:
                dist = bar.band.distance(s.footprint)
                checks.add("noise buffer", dist >= soc.noise_buffer_m - 1e-6,
                           f"{s.key} {dist:.0f} m from {bar.id} (noise buffer {soc.noise_buffer_m:g} m)")


def _check_overlaps(checks: _Checks, placed: list) -> None:
    for i in range(len(placed)):
        for j in range(i + 1, len(placed)):
            overlap = placed[i].footprint.intersection(placed[j].footprint).area
            checks.add("overlap", overlap <= 1e-6, f"{placed[i].key} does not overlap {placed[j].key} ({overlap:.0f} m2 shared)")


def _term(weight: float, length_m: float, problem: Problem, penalty_m: float) -> int:
    """One objective term in the model's integer units: weight x min(walk, penalty)."""
    w_int = max(1, int(round(weight * problem.weight_scale["all"])))
    return w_int * int(round(min(length_m, penalty_m) * problem.length_scale_per_m))


def _pair_objective(ctx: ProblemContext, problem: Problem, pair_m: np.ndarray) -> int:
    sc = ctx.scenario
    if sc.objective.firm_pairs <= 0:
        return 0
    w = pair_weights(list(sc.site.firms), sc.demand)
    return sum(_term(w[a, b] * sc.objective.firm_pairs, pair_m[a, b], problem, sc.demand.unreachable_penalty_m)
               for a, b in ctx.pair_index if w[a, b] > 0)


def _facility_walks(ctx: ProblemContext, graph: PlainGraph, firm_walks_m: np.ndarray, opened: list) -> dict[str, np.ndarray]:
    """Per facility type, each firm's walk to the nearest open or existing facility (m), from the
    firms' walks on ``graph`` (:func:`walks_from_m`)."""
    out = {}
    for spec in ctx.scenario.facilities:
        targets = [s.key for s in opened if s.type == spec.type] + list(ctx.existing_facility_keys.get(spec.type, []))
        walks = lengths_to_m(graph, firm_walks_m, targets) if targets else np.full((len(ctx.firm_keys), 1), np.inf)
        out[spec.type] = walks.min(axis=1)
    return out


def _access_objective(ctx: ProblemContext, problem: Problem, fac_walk: dict[str, np.ndarray],
                      social_m: np.ndarray | None, checks: _Checks) -> int:
    """Facility access, social access and coverage terms; coverage ``hard`` is a check."""
    sc = ctx.scenario
    firms = list(sc.site.firms)
    penalty = sc.demand.unreachable_penalty_m
    total = 0
    for spec in sc.facilities:
        for i, f in enumerate(firms):
            weight = f.employees * spec.access_weight * sc.objective.facility_access
            if weight > 0:
                total += _term(weight, fac_walk[spec.type][i], problem, penalty)
    soc = sc.social_spaces
    if soc is None or social_m is None:
        return total
    for i, f in enumerate(firms):
        covered = social_m[i] <= soc.coverage_radius_m + 1e-6
        if soc.coverage == "hard":
            checks.add("coverage", covered, f"{f.name} within {soc.coverage_radius_m:g} m of a social space ({social_m[i]:.0f} m)")
        elif soc.coverage == "weighted" and not covered and soc.coverage_weight > 0:
            total += int(round(f.employees * soc.coverage_weight * problem.length_scale_per_m * problem.weight_scale["all"]))
        if sc.objective.social_access > 0:
            total += _term(f.employees * sc.objective.social_access, social_m[i], problem, penalty)
    return total


def _check_transit(checks: _Checks, sc: Scenario, opened: list) -> None:
    """New stops: their count, spacing, alignment (one, when alternatives) and no-platform zones."""
    tr = sc.transit
    if tr is None:
        return
    checks.add("count", tr.count.min <= len(opened) <= tr.count.max,
               f"{len(opened)} new stops within [{tr.count.min}, {tr.count.max}]")
    _check_spacing(checks, opened, tr.min_spacing_m)
    lines = {t.id: t.line for t in sc.transit_lines}
    if tr.alternatives:
        used = sorted({s.type for s in opened})
        checks.add("one alignment", len(used) <= 1, f"new stops on {len(used)} alignment(s): {', '.join(used) or 'none'}")
    for s in opened:
        line = lines.get(s.type)
        checks.add("on alignment", line is not None and line.distance(s.point) <= 1e-6, f"{s.key} on alignment {s.type}")
        checks.add("no-platform", not any(z.intersects(s.point) for z in tr.no_platform), f"{s.key} outside no-platform zones")


def _check_transit_coverage(checks: _Checks, sc: Scenario, problem: Problem, chosen: set[int], walk_m: np.ndarray | None) -> None:
    """With ``max_coverage``: the firms the model counts as covered (penalties lifted by an open
    option) are exactly those within the catchment walk of a stop on this graph."""
    tr = sc.transit
    if tr is None or walk_m is None or tr.objective != "max_coverage":
        return
    prefix = "uncovered_by_stop:"
    open_opts = problem.open_options(chosen)
    model_out = {p.key[len(prefix):] for p in problem.penalties
                 if p.key.startswith(prefix) and not any(o in open_opts for o in p.options)}
    out = {f.id for i, f in enumerate(sc.site.firms) if not walk_m[i] <= tr.catchment_m + 1e-6}
    staff = sum(f.employees for f in sc.site.firms if f.id not in out)
    checks.add("transit coverage", model_out == out,
               f"{staff:,} staff within {tr.catchment_m:g} m walk of a stop; firms outside: verifier {sorted(out)}, "
               f"model {sorted(model_out)}")


def _transit_objective(sc: Scenario, problem: Problem, walk_m: np.ndarray | None) -> int:
    """The transit term in the model's integer units: staff left outside every catchment
    (``max_coverage``), or the staff-weighted walk to the nearest stop."""
    tr = sc.transit
    if tr is None or walk_m is None:
        return 0
    total = 0
    for i, f in enumerate(sc.site.firms):
        if tr.objective == "max_coverage":
            if not walk_m[i] <= tr.catchment_m + 1e-6:
                total += int(round(f.employees * problem.length_scale_per_m * problem.weight_scale["all"]))
        else:
            weight = f.employees * (1.0 if tr.objective == "min_mean_walk" else tr.weight)
            if weight > 0:
                total += _term(weight, walk_m[i], problem, sc.demand.unreachable_penalty_m)
    return total


def _check_directness(checks: _Checks, sc: Scenario, points: dict[str, Sequence[Point]], keys: list[str],
                      pair_m: np.ndarray) -> None:
    index = {f.id: i for i, f in enumerate(sc.site.firms)}
    for target in sc.directness:
        a, b = index[target.a], index[target.b]
        straight = min(p.distance(q) for p in points[keys[a]] for q in points[keys[b]])
        if straight <= 0:
            continue  # a detour ratio is undefined without a straight line
        ratio = pair_m[a, b] / straight
        checks.add("directness", ratio <= target.max_ratio + 1e-6,
                   f"detour ratio {target.a}-{target.b} {ratio:.2f} <= {target.max_ratio:g}")


def _points(ctx: ProblemContext) -> dict[str, Sequence[Point]]:
    """Every place the walks start or end, by key: firm entrances, candidate and existing sites."""
    sc = ctx.scenario
    pts: dict[str, Sequence[Point]] = {k: (f.entrances or (f.location,)) for k, f in zip(ctx.firm_keys, sc.site.firms)}
    for s in ctx.facility_sites + ctx.social_sites:
        pts[s.key] = (s.point,)
    for spec in sc.facilities:
        for k, key in enumerate(ctx.existing_facility_keys.get(spec.type, [])):
            pts[key] = (spec.existing[k],)
    if sc.social_spaces is not None:
        for k, key in enumerate(ctx.existing_social_keys):
            pts[key] = (sc.social_spaces.existing[k],)
    for s in ctx.stop_sites:
        pts[s.key] = (s.point,)
    for line in sc.transit_lines:
        for stop in line.stops:
            pts[f"existing:stop:{stop.id}"] = (stop.point,)
    return pts


def _open_space_segments(ctx: ProblemContext) -> np.ndarray | None:
    """For a site without footpaths: the derived open-space walkways (path edges of the network)."""
    if ctx.scenario.site.paths:
        return None
    net = ctx.network
    is_path = np.asarray(net.edge_kind) == 0
    xy = np.asarray(net.coords)
    return np.stack([xy[np.asarray(net.edge_u)[is_path]], xy[np.asarray(net.edge_v)[is_path]]], axis=1)


def layout_graph(ctx: ProblemContext, chosen: Sequence[int]) -> PlainGraph:
    """The verifier's walking graph with the new crossings among ``chosen`` (decision ids) built;
    every firm, candidate site and stop joined (keys as in the problem)."""
    chosen_set = set(chosen)
    crossings = [ctx.network.candidates[c] for c, d in ctx.crossing_decision.items() if d in chosen_set]
    return build_plain_graph(ctx.scenario, _points(ctx), crossings, _open_space_segments(ctx), tied_keys=set(ctx.firm_keys))


def verifier_base(ctx: ProblemContext) -> GraphBase:
    """The verifier's graph of the problem's scenario before any new crossing, to share among
    several :func:`verify` calls of one problem (``base=``)."""
    return graph_base(ctx.scenario, _points(ctx), _open_space_segments(ctx), tied_keys=set(ctx.firm_keys))


def verify(problem: Problem, ctx: ProblemContext, chosen: tuple[int, ...], reported_objective: float | None,
           *, raise_on_failure: bool = True, base: GraphBase | None = None) -> Verification:
    """Rebuild the walking graph with the chosen crossings, recompute every walk and recheck the
    objective and every constraint for the ``chosen`` decisions (module docstring).

    Args:
        problem: the problem that was solved (its decisions and integer scales).
        ctx: what the problem was built from (scenario, candidate sites, crossings).
        chosen: the chosen decision ids; ``()`` verifies today's layout (the baseline).
        reported_objective: the solver's objective, checked against the recomputed one.
        raise_on_failure: raise instead of returning ``passed=False``.
        base: :func:`verifier_base` of ``ctx``, shared by several calls (``None``: built here).

    Raises:
        VerificationError: a check failed and ``raise_on_failure`` is set.
    """
    sc = ctx.scenario
    checks = _Checks()
    chosen_set = set(chosen)
    by_key = {d.key: i for i, d in enumerate(problem.decisions)}
    new_crossings = [(c, ctx.network.candidates[c]) for c, d in ctx.crossing_decision.items() if d in chosen_set]
    fac_open = [s for s in ctx.facility_sites if by_key.get(s.key) in chosen_set]
    soc_open = [s for s in ctx.social_sites if by_key.get(s.key) in chosen_set]
    stops_open = [s for s in ctx.stop_sites if by_key.get(s.key) in chosen_set]

    capital = exact_total(problem.decisions[i].cost for i in chosen)  # exact, as the budget row's total_within
    capital_text, budget_text = money_apart(capital, sc.budget, sc.currency)
    checks.add("budget", capital <= exact_amount(sc.budget), f"capital cost {capital_text} within budget {budget_text}")
    blocked = no_build_area(sc)
    _check_facilities(checks, sc, fac_open, blocked)
    _check_social(checks, sc, soc_open, blocked)
    _check_overlaps(checks, fac_open + soc_open)
    _check_transit(checks, sc, stops_open)

    points = _points(ctx)
    graph, walks = layout_walks(sc, points, new_crossings, ctx.firm_keys, _open_space_segments(ctx),
                                max_new=sc.crossings.max_route_crossings, base=base, tied_keys=set(ctx.firm_keys))
    pair_m = lengths_to_m(graph, walks, ctx.firm_keys)
    fac_walk = _facility_walks(ctx, graph, walks, fac_open)
    social_m = None
    if sc.social_spaces is not None:
        targets = [s.key for s in soc_open] + list(ctx.existing_social_keys)
        social_m = lengths_to_m(graph, walks, targets).min(axis=1) if targets else np.full(len(ctx.firm_keys), np.inf)
    transit_m = None
    if sc.transit is not None:
        targets = [s.key for s in stops_open] + [f"existing:stop:{t.id}" for line in sc.transit_lines for t in line.stops]
        transit_m = lengths_to_m(graph, walks, targets).min(axis=1) if targets else np.full(len(ctx.firm_keys), np.inf)
    objective = (_pair_objective(ctx, problem, pair_m) + _access_objective(ctx, problem, fac_walk, social_m, checks)
                 + _transit_objective(sc, problem, transit_m))
    _check_transit_coverage(checks, sc, problem, chosen_set, transit_m)
    _check_directness(checks, sc, points, list(ctx.firm_keys), pair_m)

    notes: list[str] = []
    if reported_objective is not None:
        tol = sum(c.weight for c in problem.clients) + 1  # each term rounded to whole units once
        diff = objective - reported_objective
        checks.add("objective", abs(diff) <= tol,
                   f"objective recomputed {objective:,} vs reported {reported_objective:,.0f} (tolerance {tol:,})")
        if diff < -tol:
            notes.append("a walk is shorter than any route option the model had (the verifier and the model "
                         "disagree on the walking network or on crossings.max_route_crossings)")
    logger.debug("verification: %d checks, %d failed, objective %s", len(checks.items), len(checks.failures), objective)
    failures = checks.failures + notes
    if failures and raise_on_failure:
        raise VerificationError("the optimised layout failed independent verification", failures)
    return Verification(not failures, float(objective), checks.items, pair_m, fac_walk, social_m, notes, transit_m)
