"""Candidate sites for shared facilities and social spaces (pure geometry).

A facility candidate is the centre of a square footprint of ``footprint_m2`` that fits
inside a buildable parcel, clear of exclusion zones, no-build corridors, barrier bands and
firm buildings (fixed buildings with a margin). A social-space candidate sits in open
space, at least ``noise_buffer_m`` from any carriageway and ``building_clearance_m`` from
any firm. Candidates are laid on a grid at the scenario's spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

from optimiser.inputs.domain import BarrierKind, ParcelStatus, Scenario

FIXED_BUILDING_MARGIN_M = 15.0
"""Clear margin kept around a fixed building's footprint (or location if no footprint)."""

DEFAULT_BUILDING_RADIUS_M = 25.0
"""Radius assumed around a firm location that has no footprint."""


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
        cost_gbp: capital cost of building it.
    """

    key: str
    kind: str
    type: str
    point: Point
    footprint: Polygon
    parcel_id: str
    cost_gbp: float


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


def no_build_area(scenario: Scenario):
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
            shapely.prepare(parcel.polygon)
            for pt in grid_points(parcel.polygon, spec.candidate_spacing_m):
                fp = square(pt, spec.footprint_m2)
                if parcel.polygon.contains(fp) and not blocked.intersects(fp):
                    out.append(CandidateSite(f"facility:{spec.type}:{k}", "facility", spec.type, pt, fp, parcel.id, spec.cost_gbp))
                    k += 1
    return out


def social_candidates(scenario: Scenario) -> list[CandidateSite]:
    """Candidate sites for social spaces, in open space clear of traffic noise and buildings."""
    spec = scenario.social_spaces
    if spec is None:
        return []
    site = scenario.site
    blocked = no_build_area(scenario)
    noisy = [b.band.buffer(spec.noise_buffer_m) for b in scenario.active_barriers if b.kind == BarrierKind.CARRIAGEWAY]
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
        for pt in grid_points(parcel.polygon, spec.candidate_spacing_m):
            fp = square(pt, spec.footprint_m2)
            if parcel.polygon.contains(fp) and not avoid.intersects(fp):
                out.append(CandidateSite(f"social:{k}", "social", "social", pt, fp, parcel.id, spec.cost_gbp))
                k += 1
    return out
