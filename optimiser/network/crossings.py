"""Crossings of barrier bands: generating candidate new crossings along the active barriers,
and attaching a crossing's two ends to the walking graph under construction.

Every length is metres; coordinates are the site's working CRS.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from optimiser.errors import ModelError
from optimiser.inputs.crossing_rules import type_abbr
from optimiser.inputs.domain import Barrier, Crossing, CrossingSpec, CrossingTypeSpec, Provenance, Site, type_suits_kind
from optimiser.inputs.geometry import enters_area

if TYPE_CHECKING:
    from optimiser.network.builder import GraphBuilder

__all__ = ["generate_candidate_crossings", "candidate_crossing_count", "attach_crossing", "SIDE_EPS_M"]

logger = logging.getLogger(__name__)

SIDE_EPS_M = 1e-3
"""Bands are shrunk by this much when testing whether a connector enters one (touching the
band's edge, where a cut path ends, is fine)."""
CROSSING_END_MARGIN_M = 2.0
"""Generated crossings start and end this far outside the band."""


# --------------------------------------------------------------------------------------
# generating candidates
# --------------------------------------------------------------------------------------


def _selected_barriers(site: Site, barriers: tuple[Barrier, ...], spec: CrossingSpec) -> list[Barrier]:
    """The active barriers ``spec.barriers`` selects (all active ones when it is None)."""
    active = {b.id: b for b in barriers}
    site_ids = {b.id for b in site.barriers} | set(active)
    if spec.barriers is None:
        return list(barriers)
    unknown = [x for x in spec.barriers if x not in site_ids]
    if unknown:
        raise ModelError(f"crossings.barriers names unknown barrier(s): {', '.join(unknown)}")
    return [active[x] for x in spec.barriers if x in active]


def _spacing_and_types(bar: Barrier, site: Site, spec: CrossingSpec) -> tuple[float, list[str]] | None:
    """(spacing m, crossing types) to generate along ``bar``, or None for none.

    The site's rule for the barrier bounds the scenario: the greater of the two spacings, and
    the scenario's types that the rule allows; without a rule, the scenario's spacing and types
    (``spacing_m`` None: none). Only types that suit the barrier's kind: never an at-grade type
    over a motorway, railway or water.
    """
    rule = next((r for r in reversed(site.crossing_rules) if r.barrier_id == bar.id), None)
    if spec.spacing_m is None:
        spacing = float(rule.spacing_m) if rule is not None else 0.0
    else:
        spacing = float(spec.spacing_m)
        if rule is not None and spacing > 0:
            spacing = max(spacing, float(rule.spacing_m))
    if spacing <= 0:
        return None
    unique = {t.type: t for t in spec.types}
    types = [t for t, ts in unique.items()
             if (rule is None or not rule.types or t in rule.types) and type_suits_kind(t, ts.is_at_grade, bar.kind)]
    return (spacing, types) if types else None


def _position_count(length_m: float, spacing_m: float) -> int:
    """How many positions :func:`_positions` lays out, counted without listing them (a 1e-9 m
    spacing is a count, not a list the memory cannot hold)."""
    return max(1, int(math.floor(length_m / spacing_m)))


def _positions(length_m: float, spacing_m: float) -> list[float]:
    """Distances along a centre line of ``length_m`` every ``spacing_m``, centred on it."""
    n = _position_count(length_m, spacing_m)
    if length_m < spacing_m:
        return [length_m / 2.0]
    offset = (length_m - (n - 1) * spacing_m) / 2.0
    return [offset + i * spacing_m for i in range(n)]


def _crossing_line(line: LineString, s: float, half_m: float) -> LineString | None:
    """A straight line perpendicular to ``line`` at distance ``s`` along it, ``half_m`` to each
    side; None where the tangent is undefined."""
    length = float(line.length)
    p = np.asarray(line.interpolate(s).coords[0][:2])
    a = np.asarray(line.interpolate(max(0.0, s - 1.0)).coords[0][:2])
    c2 = np.asarray(line.interpolate(min(length, s + 1.0)).coords[0][:2])
    tan = c2 - a
    tn = float(np.hypot(*tan))
    if tn == 0:
        return None
    nrm = np.array([-tan[1], tan[0]]) / tn
    return LineString([p + nrm * half_m, p - nrm * half_m])


def _barrier_candidates(
    bar: Barrier,
    site: Site,
    barriers: tuple[Barrier, ...],
    spacing_m: float,
    types: list[tuple[str, CrossingTypeSpec]],
    fixed_union: BaseGeometry | None,
) -> list[Crossing]:
    """Candidates along one barrier every ``spacing_m`` (see :func:`generate_candidate_crossings`)."""
    others = [o.band for o in barriers if o.id != bar.id]
    other_union = shapely.union_all(others) if others else None
    existing = [c.line for c in site.crossings if c.existing and c.barrier_id == bar.id]
    existing_union = shapely.union_all(existing) if existing else None
    zones = [z.polygon for z in site.exclusion_zones]
    excluded = shapely.union_all(zones) if zones else None  # nothing may be placed there
    half = bar.width_m / 2.0 + CROSSING_END_MARGIN_M
    out: list[Crossing] = []
    for i, s in enumerate(_positions(float(bar.centreline.length), spacing_m), start=1):
        cl = _crossing_line(bar.centreline, s, half)
        if cl is None:
            continue
        ends = shapely.points(np.asarray(cl.coords))
        if existing_union is not None and cl.distance(existing_union) < spacing_m / 2.0:
            continue
        if shapely.intersects(ends, bar.band).any():  # bend: the line does not clear the band
            continue
        if other_union is not None and shapely.intersects(ends, other_union).any():
            continue
        if fixed_union is not None and shapely.intersects(ends, fixed_union).any():
            continue
        if excluded is not None and enters_area(cl, excluded):
            continue
        for t, ts in types:
            out.append(
                Crossing(
                    id=f"{bar.id}-{type_abbr(t)}-{i:03d}",
                    name=f"{t} across {bar.name} at {s:.0f} m",
                    barrier_id=bar.id,
                    type=t,
                    line=cl,
                    penalty_m=float(ts.penalty_m),
                    cost=float(ts.cost),
                    existing=False,
                    provenance=Provenance(source=f"generated every {spacing_m:g} m along {bar.id}", status="derived"),
                )
            )
    return out


def generate_candidate_crossings(site: Site, barriers: Sequence[Barrier], spec: CrossingSpec) -> tuple[Crossing, ...]:
    """Candidate new crossings along the active barriers, plus those of ``spec.explicit`` over
    an active barrier.

    Every ``spacing`` metres along each selected barrier's centre line (positions centred on
    the line), one candidate per allowed type that suits the barrier's kind
    (:func:`~optimiser.inputs.domain.type_suits_kind`), each a straight line perpendicular to the centre line
    from 2 m outside one side of the band to 2 m outside the other, costed from its
    :class:`CrossingTypeSpec`. Ids are ``"<barrier>-<fb|sig|up|zb|type>-<NNN>"`` (NNN = position
    number, shared by the types at one place).

    The site's crossing rule for a barrier bounds what the scenario offers along it: its
    spacing is the least spacing (a scenario's greater ``spacing_m`` wins) and only its types
    are generated; ``spec.spacing_m`` None uses the rule as it is (a barrier with no rule gets
    none); 0 generates none. A position is skipped when it is within spacing/2 of an existing crossing of that
    barrier, when an end falls inside another active band or a fixed firm's footprint, or when
    the crossing enters one of the site's exclusion zones (where nothing may be placed).
    An explicit candidate over a barrier the scenario switches off is left out, as an existing
    crossing of it is: with no barrier there is nothing to cross, and a futures plan builds it
    (and pays for it) only in the futures with that barrier.

    Args:
        site: the site (working CRS, metres).
        barriers: the active barriers.
        spec: the scenario's crossing settings.

    Returns:
        The candidates, generated ones first (barrier by barrier), then ``spec.explicit``'s
        over active barriers.

    Raises:
        ModelError: ``spec.barriers`` names a barrier the site does not have, or two
            candidates share an id.
    """
    barriers = tuple(barriers)
    type_specs = {t.type: t for t in spec.types}
    fixed = [f.footprint for f in site.firms if f.fixed and f.footprint is not None]
    fixed_union = shapely.union_all(fixed) if fixed else None
    out: list[Crossing] = []
    for bar in _selected_barriers(site, barriers, spec):
        plan = _spacing_and_types(bar, site, spec)
        if plan is None:
            continue
        spacing, types = plan
        out += _barrier_candidates(bar, site, barriers, spacing, [(t, type_specs[t]) for t in types], fixed_union)
    active = {b.id for b in barriers}
    out.extend(c for c in spec.explicit if c.barrier_id in active)
    ids = [c.id for c in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise ModelError(f"candidate crossing ids used twice: {', '.join(dup)}")
    logger.debug("%d candidate crossings (%d explicit) along %d active barrier(s)", len(out), len(spec.explicit), len(barriers))
    return tuple(out)


# --------------------------------------------------------------------------------------
# attaching a crossing to the graph under construction
# --------------------------------------------------------------------------------------


def attach_crossing(
    b: GraphBuilder, c: Crossing, band_union: BaseGeometry | None, kind_ref: str | None = None,
    *, candidate: bool = False,
) -> tuple[int, int] | None:
    """Attach both ends of a crossing to the graph under construction.

    An end drawn inside a band is moved along the crossing's line to where it leaves the
    bands (the crossing edge keeps its full ``length_m``). Each end gets a new node and a
    connector edge (ref ``kind_ref`` or the crossing's id) to the nearest walkable point on
    its side: an existing crossing's end to each of several equally near, a ``candidate``'s to
    one of them (:func:`~optimiser.network.builder.first_of_equally_near`; its connectors are in
    the network built or not, and two would be a path through it).

    Returns:
        (node at the line's first end, node at its last end), or None when an end reaches
        no walkable point.
    """
    xy = np.asarray(c.line.coords)[:, :2]
    ends = []
    for end_xy in (xy[0], xy[-1]):
        p: np.ndarray = end_xy
        if b.blocker is not None and shapely.intersects(shapely.points(end_xy), b.blocker):
            moved = _exit_point(c.line, end_xy, band_union)
            if moved is None:
                return None
            p = moved
        node = b.connect(p, kind_ref or c.id, ties=not candidate)
        if node is None:
            return None
        ends.append(node)
    return ends[0], ends[1]


def _exit_point(line: LineString, end_xy: np.ndarray, band_union: BaseGeometry | None) -> np.ndarray | None:
    """First point of ``line`` outside ``band_union`` walking from the end ``end_xy``."""
    outside = line.difference(band_union)
    if outside.is_empty:
        return None
    best: tuple[float, np.ndarray] | None = None
    start = Point(end_xy)
    d0 = line.project(start)
    for part in shapely.get_parts(outside):
        for pxy in (part.coords[0], part.coords[-1]):
            s = abs(line.project(Point(pxy)) - d0)
            if best is None or s < best[0]:
                best = (s, np.asarray(pxy[:2], dtype=float))
    if best is None:
        return None
    # nudge a little further out so the point is strictly outside the band
    p = best[1]
    direction = p - end_xy
    norm = float(np.hypot(*direction))
    if norm > 0:
        p = p + direction / norm * (2 * SIDE_EPS_M)
    return p


def candidate_crossing_count(site: Site, barriers: Sequence[Barrier], spec: CrossingSpec) -> list[tuple[str, float, int]]:
    """How many candidate crossings :func:`generate_candidate_crossings` would lay out, without
    laying them out: ``(barrier id, spacing m, count)`` per barrier (an upper bound: positions
    blocked by a fixed building or near an existing crossing are counted)."""
    out = []
    for bar in _selected_barriers(site, tuple(barriers), spec):
        plan = _spacing_and_types(bar, site, spec)
        if plan is not None:
            spacing, types = plan
            out.append((bar.id, spacing, _position_count(bar.centreline.length, spacing) * len(types)))
    return out
