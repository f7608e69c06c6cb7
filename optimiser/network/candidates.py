"""All candidates of a scenario in one place: facility sites, social-space sites, transit stops
(:func:`stop_candidates`) and new crossings (:func:`build_candidates` -> :class:`Candidates`), pure geometry.

A facility candidate is the centre of a square footprint of ``footprint_m2`` that fits
inside a buildable parcel, clear of exclusion zones, no-build corridors, barrier bands and
firm buildings (fixed buildings with a margin). A social-space candidate sits in open
space, at least ``noise_buffer_m`` from any road barrier and ``building_clearance_m`` from
any firm. Candidates are laid on a grid at the scenario's spacing. Candidate crossings come from
:func:`optimiser.network.crossings.generate_candidate_crossings` (re-exported here).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from optimiser.inputs.domain import BUILDING_RADIUS_M, FIXED_BUILDING_MARGIN_M, Crossing, ParcelStatus, Scenario
from optimiser.network.crossings import generate_candidate_crossings
from optimiser.runclock import checkpoint

__all__ = [
    "Candidates",
    "CandidateSite",
    "build_candidates",
    "facility_candidates",
    "social_candidates",
    "stop_candidates",
    "existing_stops",
    "stop_key",
    "existing_stop_key",
    "generate_candidate_crossings",
    "no_build_area",
    "square",
    "grid_points",
    "FIXED_BUILDING_MARGIN_M",
    "DEFAULT_BUILDING_RADIUS_M",
]

logger = logging.getLogger(__name__)

DEFAULT_BUILDING_RADIUS_M = BUILDING_RADIUS_M
"""Radius assumed around a firm location that has no footprint (the site model's rule)."""


@dataclass(frozen=True)
class CandidateSite:
    """A place where one facility (or social space) could go.

    Attributes:
        key: unique name, e.g. ``facility:workshop:7`` or ``social:3``; the walk network
            attaches a node under this name.
        kind: "facility" or "social".
        type: the facility type ("social" for social spaces).
        point: centre of the footprint (m, working CRS).
        footprint: square footprint polygon.
        parcel_id: the parcel it lies in.
        cost: capital cost of building it, in the scenario's currency.
    """

    key: str
    kind: str
    type: str
    point: Point
    footprint: Polygon
    parcel_id: str
    cost: float


def square(center: Point, area_m2: float) -> Polygon:
    """An axis-aligned square of ``area_m2`` centred on ``center``."""
    h = math.sqrt(area_m2) / 2.0
    return box(center.x - h, center.y - h, center.x + h, center.y + h)


def grid_points(poly: Polygon, spacing_m: float) -> list[Point]:
    """Grid points at ``spacing_m`` inside ``poly`` (its representative point if none)."""
    minx, miny, maxx, maxy = poly.bounds
    x0 = math.floor(minx / spacing_m) * spacing_m + spacing_m / 2
    y0 = math.floor(miny / spacing_m) * spacing_m + spacing_m / 2
    xs = [x0 + i * spacing_m for i in range(int((maxx - x0) // spacing_m) + 1)]
    ys = [y0 + j * spacing_m for j in range(int((maxy - y0) // spacing_m) + 1)]
    pts = [Point(x, y) for y in ys for x in xs]
    inside = [p for p in pts if poly.contains(p)]
    return inside or [poly.representative_point()]


def no_build_area(scenario: Scenario) -> BaseGeometry:
    """Union of everywhere nothing may be placed: active barrier bands (all of them, and
    no-build corridors such as HS2 when switched on), exclusion zones and firm buildings."""
    site = scenario.site
    parts = [b.band for b in scenario.active_barriers]
    parts += [z.polygon for z in site.exclusion_zones]
    for f in site.firms:
        margin = FIXED_BUILDING_MARGIN_M if f.fixed else 0.0
        if f.footprint is not None:
            parts.append(f.footprint.buffer(margin))
        else:
            parts.append(f.location.buffer(DEFAULT_BUILDING_RADIUS_M + margin))
    return unary_union(parts) if parts else Polygon()


def facility_candidates(scenario: Scenario) -> list[CandidateSite]:
    """Candidate sites for every facility type, in buildable parcels."""
    site = scenario.site
    blocked = no_build_area(scenario)
    shapely.prepare(blocked)
    out: list[CandidateSite] = []
    buildable = [p for p in site.parcels if p.status == ParcelStatus.BUILDABLE]
    for spec in scenario.facilities:
        k = 0
        for parcel in buildable:
            checkpoint()  # the run's time limit
            shapely.prepare(parcel.polygon)
            for pt in grid_points(parcel.polygon, spec.candidate_spacing_m):
                fp = square(pt, spec.footprint_m2)
                if parcel.polygon.contains(fp) and not blocked.intersects(fp):
                    out.append(CandidateSite(f"facility:{spec.type}:{k}", "facility", spec.type, pt, fp, parcel.id, spec.cost))
                    k += 1
    logger.debug("%d facility candidate sites for %d type(s)", len(out), len(scenario.facilities))
    return out


def social_candidates(scenario: Scenario) -> list[CandidateSite]:
    """Candidate sites for social spaces, in open space clear of traffic noise and buildings."""
    spec = scenario.social_spaces
    if spec is None:
        return []
    site = scenario.site
    blocked = no_build_area(scenario)
    noisy = [b.band.buffer(spec.noise_buffer_m) for b in scenario.active_barriers if b.kind.is_road]
    near_buildings = [
        (f.footprint if f.footprint is not None else f.location.buffer(DEFAULT_BUILDING_RADIUS_M)).buffer(spec.building_clearance_m)
        for f in site.firms
    ]
    avoid = unary_union([blocked, *noisy, *near_buildings])
    shapely.prepare(avoid)
    out: list[CandidateSite] = []
    k = 0
    for parcel in site.parcels:
        if parcel.status != ParcelStatus.OPEN_SPACE:
            continue
        checkpoint()  # the run's time limit
        for pt in grid_points(parcel.polygon, spec.candidate_spacing_m):
            fp = square(pt, spec.footprint_m2)
            if parcel.polygon.contains(fp) and not avoid.intersects(fp):
                out.append(CandidateSite(f"social:{k}", "social", "social", pt, fp, parcel.id, spec.cost))
                k += 1
    logger.debug("%d social-space candidate sites", len(out))
    return out


STOP_FOOTPRINT_M2 = 1.0
"""Transit stops are points; their nominal footprint (a 1 m square) is only drawn, never checked."""


def stop_key(k: int) -> str:
    """Network key of candidate transit stop ``k``."""
    return f"stop:{k}"


def existing_stop_key(stop_id: str) -> str:
    """Network key of an existing transit stop."""
    return f"existing:stop:{stop_id}"


def stop_candidates(scenario: Scenario) -> list[CandidateSite]:
    """Candidate transit stops along the scenario's alignments (none without ``transit``).

    Points every ``candidate_spacing_m`` along each line, starting half a spacing in; a point in
    a no-platform zone or the no-build area (bands, exclusion zones, buildings) is skipped.
    ``type`` and ``parcel_id`` are the line's id.
    """
    spec = scenario.transit
    if spec is None:
        return []
    avoid = unary_union([no_build_area(scenario), *spec.no_platform])
    shapely.prepare(avoid)
    out: list[CandidateSite] = []
    for line in scenario.transit_lines:
        length = float(line.line.length)
        for i in range(max(1, int(math.floor(length / spec.candidate_spacing_m)))):
            pt = line.line.interpolate(min(length, (i + 0.5) * spec.candidate_spacing_m))
            if not avoid.intersects(pt):
                out.append(CandidateSite(stop_key(len(out)), "stop", line.id, pt, square(pt, STOP_FOOTPRINT_M2), line.id,
                                         spec.cost))
    logger.debug("%d candidate stops on %d alignment(s)", len(out), len(scenario.transit_lines))
    return out


def existing_stops(scenario: Scenario) -> dict[str, Point]:
    """Network key -> location of every existing stop on the scenario's alignments."""
    return {existing_stop_key(s.id): s.point for line in scenario.transit_lines for s in line.stops}


@dataclass(frozen=True)
class Candidates:
    """Everything a scenario could build, and the places the walk network must reach.

    Attributes:
        facility_sites: candidate sites of every facility type (:func:`facility_candidates`).
        social_sites: candidate social-space sites (:func:`social_candidates`).
        crossings: candidate new crossings (:func:`generate_candidate_crossings`; none when
            the scenario allows no crossing type).
        existing_facility_keys: facility type -> network keys of its existing facilities
            (``"existing:<type>:<k>"``).
        existing_social_keys: network keys of existing social spaces (``"existing:social:<k>"``).
        points: network key -> location (m) of every candidate site and existing facility,
            social space or stop, for ``build_walk_network(points=...)``.
        stop_sites: candidate transit stops (:func:`stop_candidates`).
        existing_stop_keys: network keys of existing stops (``"existing:stop:<id>"``).
    """

    facility_sites: list[CandidateSite]
    social_sites: list[CandidateSite]
    crossings: tuple[Crossing, ...]
    existing_facility_keys: dict[str, list[str]] = field(default_factory=dict)
    existing_social_keys: list[str] = field(default_factory=list)
    points: dict[str, Point] = field(default_factory=dict)
    stop_sites: list[CandidateSite] = field(default_factory=list)
    existing_stop_keys: list[str] = field(default_factory=list)


def build_candidates(scenario: Scenario) -> Candidates:
    """All candidates of a validated scenario: facility and social-space sites, candidate
    crossings across its active barriers, and the points the network must attach.

    Args:
        scenario: the scenario (its site in the working CRS, metres).

    Returns:
        The :class:`Candidates`; ``points`` lists candidate sites first, then existing
        facilities (type by type), then existing social spaces.

    Raises:
        ModelError: the crossing settings name an unknown barrier, or two candidate crossings
            share an id.
    """
    t0 = time.perf_counter()
    fac = facility_candidates(scenario)
    soc = social_candidates(scenario)
    barriers = scenario.active_barriers
    crossings = generate_candidate_crossings(scenario.site, barriers, scenario.crossings) if scenario.crossings.types else ()
    points: dict[str, Point] = {s.key: s.point for s in fac + soc}
    existing_fac: dict[str, list[str]] = {}
    for spec in scenario.facilities:
        for k, p in enumerate(spec.existing):
            key = f"existing:{spec.type}:{k}"
            points[key] = p
            existing_fac.setdefault(spec.type, []).append(key)
    existing_soc: list[str] = []
    if scenario.social_spaces is not None:
        for k, p in enumerate(scenario.social_spaces.existing):
            key = f"existing:social:{k}"
            points[key] = p
            existing_soc.append(key)
    stops = stop_candidates(scenario)
    points.update({s.key: s.point for s in stops})
    existing_stop = existing_stops(scenario)
    points.update(existing_stop)
    logger.info("candidates: %d facility sites, %d social-space sites, %d stops, %d crossings in %.3f s",
                len(fac), len(soc), len(stops), len(crossings), time.perf_counter() - t0)
    return Candidates(fac, soc, tuple(crossings), existing_fac, existing_soc, points, stops, list(existing_stop))
