"""Site sanity warnings: valid input that is probably not what its author meant.

Every warning is a :class:`~optimiser.errors.SiteWarning` (code, file, field, message, fix),
collected here in one place by :func:`sanity_warnings` (from a prepared network and candidates,
as the pipeline has them) or :func:`scenario_warnings` / :func:`site_warnings` (which build them;
``siteopt validate``). :data:`WARNING_CODES` lists every code. The checks, on the active
barriers of the scenario (a site alone: the barriers on by default):

- ``long_connector``: a firm entrance, or the end of a crossing the user drew (existing, or an
  explicit candidate; not the candidates generated along a barrier, proposed with their
  approaches), or every candidate transit stop of a line, is joined to the
  walking network by a straight connector longer than the scenario's ``checks.max_connector_m``
  (250 m by default): the walk model assumes a short access path, so walks through it are
  guessed (across whatever lies there), not routed;
- ``parcel_over_barrier``: a buildable parcel overlaps the band of an active barrier that is part of
  the site (not of a what-if layer such as a safeguarded corridor);
- ``parcel_over_road``: a road (a path of kind ``road``) runs through a buildable parcel;
- ``parcels_overlap``: two parcels of different statuses overlap by more than
  :data:`PARCEL_OVERLAP_M2` (beyond the edge tolerance): the same ground cannot be, say, both
  ``occupied`` and ``buildable`` (a duplicated or mis-snapped parcel);
- ``candidate_over_road``: candidate facility or social-space footprints straddle a road;
- ``firm_outside_parcel``: a firm's location is outside the parcel it declares (or, when it
  declares none, outside every parcel);
- ``firms_unreachable``: some firms cannot reach others even with every candidate crossing
  built (or reach no walkable path at all);
- ``feature_apart``: a firm's footprint lies away from its location, or an existing transit stop
  away from its line (more than :data:`APART_M`): one of the two was mistyped or misprojected;
- ``stop_in_band``: an existing transit stop stands inside an active barrier's band: no walk
  reaches it, so it covers no one;
- ``penalty_below_walks``: a walk between two firms is longer than ``demand.unreachable_penalty_m``
  (the length charged for a pair with no route at all), so having no route would cost less than
  that walk (reported against the scenario file, which sets it);
- ``implausible_headcount``: a firm (one building) declares more than
  :data:`IMPLAUSIBLE_EMPLOYEES` staff, more than any single workplace holds: most likely extra
  zeros, and its walks would outweigh every other firm's in the objective;
- ``lat_lon_swapped``: a site given in lon/lat reads as a place its hints say it is not, and as
  [latitude, longitude] as one they agree with (the scenario's currency, or a site beyond 75
  degrees of latitude): :func:`optimiser.inputs.crs.swapped_lonlat_reason`.

Warnings are reported against the site file (the geometry is what needs redrawing), except those
about a firm the scenario's ``firm_changes`` added or re-counted: against the scenario file.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Sequence
from typing import get_args

import numpy as np
import shapely
from scipy.sparse.csgraph import connected_components

from optimiser.errors import SiteWarning
from optimiser.inputs.crs import swapped_lonlat_warning
from optimiser.inputs.domain import CrossingSpec, CrossingTypeSpec, DemandSpec, NewCrossingType, Parcel, ParcelStatus, Scenario, Site
from optimiser.inputs.locate import display_path
from optimiser.inputs.scenario import default_unreachable_penalty_m
from optimiser.network.builder import build_walk_network
from optimiser.network.candidates import CandidateSite, build_candidates, stop_candidates
from optimiser.network.csr import KIND_CODE
from optimiser.network.graph import WalkNetwork, firm_key

logger = logging.getLogger(__name__)

WARNING_CODES: dict[str, str] = {
    "long_connector": ("a firm entrance, a crossing's end or every candidate stop of a transit line is joined to the "
                       "walking network by a connector longer than checks.max_connector_m"),
    "parcel_over_barrier": "a buildable parcel overlaps an active barrier's band",
    "parcel_over_road": "a road runs through a buildable parcel",
    "parcels_overlap": "two parcels of different statuses overlap",
    "candidate_over_road": "candidate facility or social-space footprints straddle a road",
    "firm_outside_parcel": "a firm stands outside its declared parcel (or outside every parcel)",
    "firms_unreachable": "firms cannot reach each other even with every candidate crossing built",
    "implausible_headcount": "a firm declares more employees than any single workplace holds",
    "penalty_below_walks": "a walk between firms is longer than demand.unreachable_penalty_m, the length charged for no route",
    "feature_apart": "a firm's footprint lies away from its location, or a transit stop away from its line",
    "crossings_on_inactive_barrier": "crossings.barriers names a barrier switched off in the scenario: no candidate is "
                                     "generated along it",
    "stop_in_band": "an existing transit stop stands inside an active barrier's band: no walk reaches it",
    "lat_lon_swapped": "a site in lon/lat looks given as [latitude, longitude] (its currency, or a polar latitude)",
}
"""Every warning code, with what it means."""

ROAD_KINDS = frozenset({"road"})
"""Path kinds that are roads (walkable along their footways, not buildable across)."""
EDGE_TOLERANCE_M = 5.0
"""A road or band drawn this far inside a parcel's edge still counts as its edge (half a
two-lane road; sketches are rarely better than this)."""
PARCEL_TOLERANCE_M = 1.0
"""A firm location this close outside its parcel still counts as inside it."""
IMPLAUSIBLE_EMPLOYEES = 100_000
"""A firm (one building) with more staff than this is warned about: the largest single workplaces
hold a few tens of thousands (the Pentagon about 27,000, Boeing's Everett factory about 36,000)."""
_MIN_OVERLAP_M2 = 1.0
"""Overlaps smaller than this (after the edge tolerance) are drawing noise, not warnings."""
PARCEL_OVERLAP_M2 = 100.0
"""Two parcels of different statuses whose overlap, each shrunk by :data:`EDGE_TOLERANCE_M`,
exceeds this (a 10 x 10 m plot) are warned about; edges drawn a few metres over each other are not."""


def _site_file(site: Site) -> str:
    return str(display_path(site.path)) if site.path is not None else f"site {site.id!r}"


def _scenario_file(scenario: Scenario) -> str:
    return str(display_path(scenario.path)) if scenario.path is not None else f"scenario {scenario.id!r}"


# ------------------------------------------------------------------ single checks


def long_connectors(site: Site, net: WalkNetwork, max_connector_m: float) -> list[SiteWarning]:
    """Firm entrances whose connector to the walking network is longer than ``max_connector_m``."""
    file = _site_file(site)
    by_ref: dict[str, list[int]] = {}
    for j in np.flatnonzero(net.edge_kind == KIND_CODE["connector"]):
        by_ref.setdefault(net.edge_ref[j], []).append(int(j))
    out = []
    for i, f in enumerate(site.firms):
        mine = by_ref.get(firm_key(f.id), [])
        entrances = f.entrances or (f.location,)
        for k, e in enumerate(entrances):
            xy = np.asarray(e.coords[0][:2])
            edges = [j for j in mine if float(np.hypot(*(net.coords[net.edge_u[j]] - xy))) < 1e-3]
            if not edges:
                continue
            length = min(float(net.edge_length_m[j]) for j in edges)
            if length > max_connector_m:
                field = f"firms[{i}].entrances[{k}]" if f.entrances else f"firms[{i}].location"
                out.append(SiteWarning(
                    "long_connector", file, field,
                    f"firm {f.id!r} is joined to the walking network by a {length:.0f} m straight connector "
                    f"(more than checks.max_connector_m = {max_connector_m:g} m), so its walks are guessed, not routed",
                    "add the footpath or road that serves this entrance to paths, or move the entrance onto it"))
    return out


def _longest_connectors(net: WalkNetwork) -> dict[str, float]:
    """Network key (a crossing's id, a stop's key ...) -> its longest connector (m)."""
    longest: dict[str, float] = {}
    for j in np.flatnonzero(net.edge_kind == KIND_CODE["connector"]):
        ref = net.edge_ref[j]
        longest[ref] = max(longest.get(ref, 0.0), float(net.edge_length_m[j]))
    return longest


def long_crossing_connectors(scenario: Scenario, net: WalkNetwork) -> list[SiteWarning]:
    """Crossings the user drew (existing, and the scenario's explicit candidates) with an end
    joined to the walking network by a connector longer than ``checks.max_connector_m``, one
    warning each; candidates generated along a barrier are not warned about."""
    limit = scenario.checks.max_connector_m
    longest = _longest_connectors(net)
    site = scenario.site
    file = _site_file(site)
    fix = "add to paths the footpath or road its ends lead to, or draw the crossing where paths reach the barrier"
    out = []
    for i, c in enumerate(site.crossings):
        if c.existing and (m := longest.get(c.id, 0.0)) > limit:
            out.append(SiteWarning(
                "long_connector", file, f"crossings[{i}].geometry",
                f"an end of crossing {c.id!r} is joined to the walking network by a {m:.0f} m straight connector (more than "
                f"checks.max_connector_m = {limit:g} m), so walks over it are guessed, not routed", fix))
    explicit = {c.id: i for i, c in enumerate(scenario.crossings.explicit)}
    scen_file = _scenario_file(scenario)
    for c in net.candidates:
        # candidates generated along a barrier are not warned about: a new crossing is proposed
        # with its approaches, which its connectors stand for (the embedded sites' Parkway and
        # I-880 candidates are joined by 300-750 m connectors where no path reaches the barrier)
        if c.id in explicit and (m := longest.get(c.id, 0.0)) > limit:
            out.append(SiteWarning(
                "long_connector", scen_file, f"crossings.explicit[{explicit[c.id]}].geometry",
                f"an end of candidate crossing {c.id!r} is joined to the walking network by a {m:.0f} m straight connector "
                f"(more than checks.max_connector_m = {limit:g} m), so walks over it would be guessed, not routed", fix))
    return out


def _buildable_inner(site: Site) -> Iterator[tuple[int, Parcel, shapely.Geometry]]:
    """(index, parcel, parcel shrunk by the edge tolerance) of every buildable parcel: what
    overlaps the shrunk polygon lies inside the parcel, not along its edge."""
    for i, p in enumerate(site.parcels):
        if p.status == ParcelStatus.BUILDABLE:
            yield i, p, p.polygon.buffer(-EDGE_TOLERANCE_M)


def parcels_over_barriers(scenario: Scenario) -> list[SiteWarning]:
    """Buildable parcels that overlap the band of an active barrier that is part of the site
    (beyond the edge tolerance). A barrier of a switchable layer (e.g. the HS2 corridor) is a
    what-if drawn over land on purpose, so it is not warned about."""
    site = scenario.site
    out = []
    for i, p, inner in _buildable_inner(site):
        for b in (b for b in scenario.active_barriers if b.layer is None):
            area = float(inner.intersection(b.band).area)
            if area > _MIN_OVERLAP_M2:
                share = 100.0 * float(p.polygon.intersection(b.band).area) / float(p.polygon.area)
                out.append(SiteWarning(
                    "parcel_over_barrier", _site_file(site), f"parcels[{i}].geometry",
                    f"buildable parcel {p.id!r} overlaps barrier {b.id!r} ({b.name}): {share:.0f} % of the parcel "
                    f"lies in its {b.width_m:g} m band, where nothing can be built",
                    f"redraw parcel {p.id!r} to stop at the barrier's edge (or split it in two, one on each side)"))
    return out


def _roads(site: Site) -> list[tuple[str, shapely.Geometry]]:
    return [(r.id, r.line) for r in site.paths if r.kind in ROAD_KINDS]


def parcels_over_roads(site: Site) -> list[SiteWarning]:
    """Buildable parcels a road runs through (not along their edge)."""
    roads = _roads(site)
    out = []
    for i, p, inner in _buildable_inner(site):
        for rid, line in roads:
            inside_m = float(inner.intersection(line).length)
            if inside_m > EDGE_TOLERANCE_M:
                out.append(SiteWarning(
                    "parcel_over_road", _site_file(site), f"parcels[{i}].geometry",
                    f"road {rid!r} runs {inside_m:.0f} m through buildable parcel {p.id!r}",
                    f"split parcel {p.id!r} along the road, or draw it to stop at the road's edge"))
    return out


def parcels_overlapping(site: Site) -> list[SiteWarning]:
    """Pairs of parcels of different statuses that overlap by more than :data:`PARCEL_OVERLAP_M2`
    (beyond the edge tolerance), reported against the later parcel of each pair."""
    parcels = site.parcels
    inner = [p.polygon.buffer(-EDGE_TOLERANCE_M) for p in parcels]
    tree = shapely.STRtree(inner)
    out = []
    for j, q in enumerate(parcels):
        for i in sorted(int(k) for k in tree.query(inner[j], predicate="intersects")):
            p = parcels[i]
            if i >= j or p.status == q.status or float(inner[i].intersection(inner[j]).area) <= PARCEL_OVERLAP_M2:
                continue
            area = float(p.polygon.intersection(q.polygon).area)
            share = 100.0 * area / float(min(p.polygon.area, q.polygon.area))
            out.append(SiteWarning(
                "parcels_overlap", _site_file(site), f"parcels[{j}].geometry",
                f"parcel {q.id!r} ({q.status.value}) and parcel {p.id!r} (parcels[{i}], {p.status.value}) overlap by "
                f"{area:,.0f} m² ({share:.0f} % of the smaller), so the same ground is both {q.status.value} and "
                f"{p.status.value}",
                "redraw one of them to stop at the other's edge, or remove the one that duplicates the other"))
    return out


def candidates_over_roads(site: Site, sites: Sequence[CandidateSite]) -> list[SiteWarning]:
    """Candidate footprints that straddle a road, one warning per parcel, road and type."""
    roads = _roads(site)
    index = {p.id: i for i, p in enumerate(site.parcels)}
    hits: dict[tuple[str, str, str], list[str]] = {}
    for s in sites:
        for rid, line in roads:
            if s.footprint.intersects(line):
                hits.setdefault((s.parcel_id, rid, s.type), []).append(s.key)
    out = []
    for (pid, rid, typ), keys in hits.items():
        out.append(SiteWarning(
            "candidate_over_road", _site_file(site), f"parcels[{index.get(pid, -1)}]",
            f"{len(keys)} candidate {typ.replace('_', ' ')} footprint{'s' if len(keys) != 1 else ''} in parcel {pid!r} "
            f"straddle{'s' if len(keys) == 1 else ''} road {rid!r} (e.g. {keys[0]})",
            f"split parcel {pid!r} along the road so candidates stay off it"))
    return out


def firms_outside_parcels(site: Site) -> list[SiteWarning]:
    """Firms whose location is outside their declared parcel (else outside every parcel)."""
    out = []
    by_id = {p.id: p for p in site.parcels}
    for i, f in enumerate(site.firms):
        near = f.location.buffer(PARCEL_TOLERANCE_M)
        if f.parcel_id is not None and f.parcel_id in by_id:
            parcel = by_id[f.parcel_id]
            if not parcel.polygon.intersects(near):
                gap = float(parcel.polygon.distance(f.location))
                out.append(SiteWarning(
                    "firm_outside_parcel", _site_file(site), f"firms[{i}].location",
                    f"firm {f.id!r} stands {gap:.0f} m outside its parcel {f.parcel_id!r}",
                    f"move the firm's location into parcel {f.parcel_id!r}, or correct its parcel"))
        elif f.parcel_id is None and site.parcels and not any(p.polygon.intersects(near) for p in site.parcels):
            gap = min(float(p.polygon.distance(f.location)) for p in site.parcels)
            out.append(SiteWarning(
                "firm_outside_parcel", _site_file(site), f"firms[{i}].location",
                f"firm {f.id!r} stands outside every parcel ({gap:.0f} m from the nearest)",
                "draw the parcel it stands on, or move its location"))
    return out


APART_M = 50.0
"""A footprint farther than this from its firm's location, or a stop from its line, is warned about."""


def features_apart(site: Site) -> list[SiteWarning]:
    """Firms whose footprint lies more than :data:`APART_M` from their location, and existing
    transit stops more than that from their line."""
    out = []
    for i, f in enumerate(site.firms):
        if f.footprint is not None and (gap := float(f.footprint.distance(f.location))) > APART_M:
            out.append(SiteWarning(
                "feature_apart", _site_file(site), f"firms[{i}].footprint",
                f"the footprint of firm {f.id!r} lies {gap:,.0f} m from its location",
                "check the footprint's and the location's coordinates"))
    for i, t in enumerate(site.transit):
        for j, stop in enumerate(t.stops):
            if (gap := float(t.line.distance(stop.point))) > APART_M:
                out.append(SiteWarning(
                    "feature_apart", _site_file(site), f"transit[{i}].stops[{j}]",
                    f"stop {stop.id!r} lies {gap:,.0f} m from its line {t.id!r}", "move the stop onto the line, or check its coordinates"))
    return out


def long_stop_connectors(scenario: Scenario, net: WalkNetwork) -> list[SiteWarning]:
    """Transit lines whose candidate stops are all joined to the walking network by connectors
    longer than ``checks.max_connector_m`` (an alignment drawn away from the site, or paths
    missing), one warning each. Existing stops are not warned about: a line's stops beyond the
    site (AMP-SBP's Meadowhall South / Tinsley, 1.7 km from its paths) are context, and one with
    a short connector is not needed for a line to be served."""
    if scenario.transit is None:
        return []
    limit = scenario.checks.max_connector_m
    longest = _longest_connectors(net)
    per_line: dict[str, list[float | None]] = {}
    for c in stop_candidates(scenario):  # None: no walk reaches it (no connector, not a short one)
        per_line.setdefault(c.parcel_id, []).append(longest.get(c.key))
    site = scenario.site
    index = {t.id: i for i, t in enumerate(site.transit)}
    out = []
    for t in scenario.transit_lines:
        every = per_line.get(t.id, [])
        lengths = [v for v in every if v is not None]
        if not lengths or min(lengths) <= limit:
            continue
        which = f"({len(lengths)})" if len(lengths) == len(every) else f"that a walk reaches ({len(lengths)} of {len(every)})"
        out.append(SiteWarning(
            "long_connector", _site_file(site), f"transit[{index[t.id]}].geometry",
            f"every candidate stop on line {t.id!r} {which} is joined to the walking network by a straight connector "
            f"longer than checks.max_connector_m = {limit:g} m (the shortest {min(lengths):,.0f} m), so walks to a new "
            "stop there are guessed, not routed",
            "add to paths the footpaths that will serve the stops, or check the alignment's coordinates"))
    return out


def crossings_on_inactive_barriers(scenario: Scenario) -> list[SiteWarning]:
    """Barriers named in ``crossings.barriers`` that the scenario switches off (its ``layers``):
    candidates are generated along active barriers only, so none come from these. A warning, not
    a problem: a batch may sweep the layer with the list kept (the HS2 corridor on and off)."""
    named = scenario.crossings.barriers or ()
    active = {b.id for b in scenario.active_barriers}
    scen_file = _scenario_file(scenario)
    return [SiteWarning(
        "crossings_on_inactive_barrier", scen_file, f"crossings.barriers[{i}]",
        f"barrier {bid!r} is switched off in this scenario (layers), so no candidate crossing is generated along it",
        "switch its layer on in layers, or drop it from crossings.barriers")
        for i, bid in enumerate(named) if bid not in active and any(b.id == bid for b in scenario.site.barriers)]


def stops_in_bands(scenario: Scenario) -> list[SiteWarning]:
    """Existing transit stops inside an active barrier's band: the walking network cannot reach
    them, so they cover no one (candidate stops there are skipped; firms there are errors)."""
    site = scenario.site
    bands = [(b, b.band) for b in scenario.active_barriers]  # each buffered once, not per stop
    out = []
    for i, t in enumerate(site.transit):
        for j, stop in enumerate(t.stops):
            hit = next((b for b, band in bands if band.contains(stop.point)), None)
            if hit is not None:
                out.append(SiteWarning(
                    "stop_in_band", _site_file(site), f"transit[{i}].stops[{j}]",
                    f"stop {stop.id!r} stands inside {hit.id!r} (its {hit.width_m:g} m band): no walk reaches it, so it "
                    "covers no one", "move the stop to the platform's side of the barrier, or check the barrier's width"))
    return out


def implausible_headcounts(site: Site) -> list[SiteWarning]:
    """Firms declaring more than :data:`IMPLAUSIBLE_EMPLOYEES` employees."""
    total = sum(f.employees for f in site.firms)
    return [SiteWarning(
        "implausible_headcount", _site_file(site), f"firms[{i}].employees",
        f"firm {f.id!r} declares {f.employees:,} employees, more than any single workplace holds "
        f"(over {IMPLAUSIBLE_EMPLOYEES:,}); it is {f.employees / total:.2%} of the site's staff, so its walks outweigh "
        "every other firm's",
        "check the head count for extra zeros, or split a campus into its buildings")
        for i, f in enumerate(site.firms) if f.employees > IMPLAUSIBLE_EMPLOYEES]


def unreachable_firms(site: Site, net: WalkNetwork) -> list[SiteWarning]:
    """Firms that cannot reach each other with every candidate crossing of ``net`` built."""
    file = _site_file(site)
    out = []
    index = {f.id: i for i, f in enumerate(site.firms)}
    for key in net.unreachable:
        if key.startswith("firm:"):
            fid = key.removeprefix("firm:")
            out.append(SiteWarning(
                "firms_unreachable", file, f"firms[{index[fid]}]",
                f"firm {fid!r} reaches no walkable path on its side of the barriers (an entrance inside a band?)",
                "move its entrances out of the barrier bands, or add a path on its side"))
    keys = [firm_key(f.id) for f in site.firms if firm_key(f.id) not in net.unreachable]
    if len(keys) < 2:
        return out
    lengths = net.key_lengths(keys, crossings_on=range(len(net.candidates)))
    _, label = connected_components(np.isfinite(lengths), directed=False)
    groups: dict[int, list[str]] = {}
    for k, lab in zip(keys, label):
        groups.setdefault(int(lab), []).append(k.removeprefix("firm:"))
    if len(groups) < 2:
        return out
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g))
    main = ordered[0]
    for g in ordered[1:]:
        out.append(SiteWarning(
            "firms_unreachable", file, f"firms[{index[g[0]]}]",
            f"firm{'s' if len(g) > 1 else ''} {', '.join(map(repr, g))} cannot reach the other {len(main)} firm(s) "
            f"(e.g. {main[0]!r}) even with every candidate crossing built",
            "add an existing crossing or a path, a crossing rule for the barrier between them, or allow a crossing type it accepts"))
    return out


def penalty_below_walks(scenario: Scenario, net: WalkNetwork) -> list[SiteWarning]:
    """A walk between two firms today (no new crossing: the longest) longer than the scenario's
    ``demand.unreachable_penalty_m``: a pair with no route would cost less."""
    penalty = scenario.demand.unreachable_penalty_m
    keys = [firm_key(f.id) for f in scenario.site.firms if firm_key(f.id) not in net.unreachable]
    if len(keys) < 2 or penalty is None:
        return []
    lengths = net.key_lengths(keys)
    finite = np.where(np.isfinite(lengths), lengths, -1.0)
    a, b = np.unravel_index(int(np.argmax(finite)), finite.shape)
    longest = float(finite[a, b])
    if longest <= penalty:
        return []
    file = _scenario_file(scenario)
    return [SiteWarning(
        "penalty_below_walks", file, "demand.unreachable_penalty_m",
        f"the walk from {keys[a].removeprefix('firm:')!r} to {keys[b].removeprefix('firm:')!r} is {longest:,.0f} m, longer than "
        f"the {penalty:,.0f} m charged for a pair with no route at all: no route would cost that pair less than its walk",
        f"raise demand.unreachable_penalty_m above {longest:,.0f} m (or leave it out: the default follows the site's size)")]


def lonlat_swapped(scenario: Scenario) -> list[SiteWarning]:
    """``lat_lon_swapped``: see :func:`optimiser.inputs.crs.swapped_lonlat_warning` (firm
    locations and parcel corners, against the scenario's currency)."""
    site = scenario.site
    points = [(f.location.x, f.location.y) for f in site.firms]
    points += [(float(x), float(y)) for p in site.parcels for x, y in p.polygon.exterior.coords]
    field = "firms[0].location" if site.firms else "parcels[0].geometry"
    w = swapped_lonlat_warning(_site_file(site), field, site.source_crs, site.crs, points, scenario.currency)
    return [w] if w is not None else []


_FIRM_FIELD = re.compile(r"firms\[(\d+)\](.*)")


def _firm_changes_homed(scenario: Scenario, warnings: list[SiteWarning]) -> list[SiteWarning]:
    """The warnings with those about a firm the scenario's ``firm_changes.added`` put on the site,
    or about a head count its ``firm_changes.employees`` set, reported against the scenario file
    where the user wrote it (``firm_changes.added[0].location``), not against the site file, which
    has no such firm or count (``firms[4]`` of a site of four firms)."""
    site = scenario.site
    if not scenario.firms_added and not scenario.employees_changed:
        return warnings
    first_added = len(site.firms) - scenario.firms_added
    file = _site_file(site)
    scen_file = _scenario_file(scenario)
    out = []
    for w in warnings:
        if w.file == file and (m := _FIRM_FIELD.fullmatch(w.field)) is not None:
            i = int(m[1])
            if i >= first_added:
                w = dataclasses.replace(w, file=scen_file, field=f"firm_changes.added[{i - first_added}]{m[2]}")
            elif w.code == "implausible_headcount" and site.firms[i].id in scenario.employees_changed:
                w = dataclasses.replace(w, file=scen_file, field=f"firm_changes.employees.{site.firms[i].id}")
        out.append(w)
    return out


# ------------------------------------------------------------------ collected


def sanity_warnings(scenario: Scenario, net: WalkNetwork, candidate_sites: Sequence[CandidateSite] = ()) -> list[SiteWarning]:
    """Every sanity warning of a scenario, from its walk network (with its candidate crossings
    attached) and candidate sites.

    Args:
        scenario: the validated scenario.
        net: its walk network (``build_walk_network`` with the scenario's active barriers and
            candidate crossings).
        candidate_sites: its facility and social-space candidate sites.

    Returns:
        The warnings, check by check (see the module docstring); none for a clean site.
    """
    site = scenario.site
    out = (long_connectors(site, net, scenario.checks.max_connector_m) + long_crossing_connectors(scenario, net)
           + parcels_over_barriers(scenario)
           + parcels_over_roads(site) + parcels_overlapping(site) + candidates_over_roads(site, candidate_sites)
           + firms_outside_parcels(site)
           + unreachable_firms(site, net) + implausible_headcounts(site) + features_apart(site) + stops_in_bands(scenario)
           + long_stop_connectors(scenario, net) + crossings_on_inactive_barriers(scenario)
           + penalty_below_walks(scenario, net)
           + lonlat_swapped(scenario))
    out = _firm_changes_homed(scenario, out)
    for w in out:
        logger.debug("%s", w)
    logger.info("%s: %d sanity warning(s)", site.id, len(out))
    return out


def scenario_warnings(scenario: Scenario) -> list[SiteWarning]:
    """The sanity warnings of a validated scenario (builds its candidates and walk network: check
    its size first, :func:`optimiser.model.size.check_model_size`, as ``siteopt validate`` does)."""
    cand = build_candidates(scenario)
    net = build_walk_network(scenario.site, scenario.active_barriers, points=cand.points, candidate_crossings=cand.crossings)
    return sanity_warnings(scenario, net, cand.facility_sites + cand.social_sites)


def futures_warnings(names: Sequence[str], per_future: Sequence[Sequence[SiteWarning]]) -> list[SiteWarning]:
    """The sanity warnings of a scenario's futures (``per_future``: each future's, in order): one
    that every future has as it is, one that only some have once per such future, under its name
    (``futures[i] (name): field``, as validation names a future's problems): a future that
    switches a barrier off takes its crossings with it and can leave a firm unreachable."""
    keys = [{(w.code, w.field, w.message) for w in ws} for ws in per_future]
    common = set.intersection(*keys) if keys else set()
    out: list[SiteWarning] = []
    seen: set[tuple[str, str, str]] = set()
    for i, (name, ws) in enumerate(zip(names, per_future)):
        for w in ws:
            key = (w.code, w.field, w.message)
            if key not in common:
                out.append(dataclasses.replace(w, field=f"futures[{i}] ({name}): {w.field}"))
            elif key not in seen:
                seen.add(key)
                out.append(w)
    return out


def site_warnings(site: Site) -> list[SiteWarning]:
    """The sanity warnings of a site alone: its barriers on by default, and the candidate
    crossings its own crossing rules allow (of every buildable type, at no cost)."""
    return scenario_warnings(site_probe(site))


def site_probe(site: Site) -> Scenario:
    """The scenario :func:`site_warnings` checks a site alone with: its barriers on by default,
    the candidate crossings its own crossing rules allow (of every buildable type, at no cost)."""
    types = tuple(CrossingTypeSpec(t, 0.0) for t in get_args(NewCrossingType))
    return Scenario(id=f"{site.id}-checks", name=site.name, site=site, site_ref=str(site.path or site.id), budget=0.0,
                    crossings=CrossingSpec(types=types),
                    demand=DemandSpec(unreachable_penalty_m=default_unreachable_penalty_m(site)))  # as a scenario giving none

