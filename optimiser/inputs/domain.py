"""Typed, validated site and scenario objects.

These are what :func:`optimiser.inputs.site.read_site` and :func:`optimiser.inputs.scenario.read_scenario` return
once a file has passed validation. They are the one validated form of a site and a scenario, and
they hold every default: the file-format models in :mod:`optimiser.inputs.schema` take their
defaults from these classes. Every geometry is a shapely 2 object in the site's
*working* CRS, a projected CRS in metres (EPSG:27700 for the AMP-SBP default); lengths are
metres (``*_m``), areas square metres (``*_m2``); money (``cost``, ``budget``) is in the
scenario's ``currency`` (an ISO 4217 code, GBP unless the scenario says otherwise).
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from shapely.geometry import LineString, Point, Polygon

from optimiser.errors import ArgumentError, Problem
from optimiser.inputs.limits import MAX_SEED, MAX_WORKERS, time_limit_problem, whole_number_problem

logger = logging.getLogger(__name__)


FIXED_BUILDING_MARGIN_M = 15.0
"""Clearance around a fixed building (e.g. Factory 2050) inside which nothing may be placed (m)."""
BUILDING_RADIUS_M = 25.0
"""A firm drawn as a point, without a footprint, occupies a circle of this radius (m)."""
MIN_WEIGHT_LEVELS = 100
"""Fewest integer levels for the objective's largest weight (``solver.weight_levels``)."""
MAX_WEIGHT_LEVELS = 10_000_000
"""Most integer levels for the objective's largest weight: objectives stay far inside the
range where CP-SAT's integers and the Lagrangian's floats are exact."""


class ParcelStatus(str, Enum):  # noqa: UP042 - not StrEnum: str() and format() of members keep their current form
    """What a parcel of land is used for."""

    OCCUPIED = "occupied"
    BUILDABLE = "buildable"
    RESERVED = "reserved"
    OPEN_SPACE = "open_space"


class BarrierKind(str, Enum):  # noqa: UP042 - not StrEnum: str() and format() of members keep their current form
    """What a barrier is: it decides which crossing types can cross it and the noise buffer.

    ``motorway``, ``rail`` and ``water`` take only grade-separated crossings; the other roads
    (``dual_carriageway``, ``arterial``) also at-grade ones. The names of the first file format
    stay accepted: ``carriageway`` (a dual carriageway), ``rail_corridor`` and ``watercourse``
    (see :data:`BARRIER_KIND_ALIASES`); :meth:`parse` maps them to these kinds.
    """

    DUAL_CARRIAGEWAY = "dual_carriageway"
    MOTORWAY = "motorway"
    ARTERIAL = "arterial"
    RAIL = "rail"
    WATER = "water"
    OTHER = "other"
    CARRIAGEWAY = "dual_carriageway"  # alias of DUAL_CARRIAGEWAY (the first format's name)
    RAIL_CORRIDOR = "rail"  # alias of RAIL
    WATERCOURSE = "water"  # alias of WATER

    @classmethod
    def parse(cls, name: str) -> BarrierKind:
        """The kind a file's ``kind`` names, old names (``carriageway`` ...) included."""
        return cls(BARRIER_KIND_ALIASES.get(name, name))

    @property
    def is_road(self) -> bool:
        """A road: its traffic noise keeps social spaces away (``noise_buffer_m``)."""
        return self in (BarrierKind.DUAL_CARRIAGEWAY, BarrierKind.MOTORWAY, BarrierKind.ARTERIAL)

    @property
    def allows_at_grade(self) -> bool:
        """Whether an at-grade crossing (signals, zebra) of this kind can be built."""
        return self in (BarrierKind.DUAL_CARRIAGEWAY, BarrierKind.ARTERIAL, BarrierKind.OTHER)

    @property
    def label(self) -> str:
        """The kind in words, for legends and labels: ``"dual carriageway"``, ``"motorway"``."""
        return self.value.replace("_", " ")


BARRIER_KIND_ALIASES: dict[str, str] = {"carriageway": "dual_carriageway", "rail_corridor": "rail", "watercourse": "water"}
"""Barrier kind names of the first file format, still accepted, and the kind each means."""

AT_GRADE_TYPES: frozenset[str] = frozenset({"signalised", "zebra", "junction"})
"""Crossing types at grade (walkers cross the carriageway itself)."""
GRADE_SEPARATED_TYPES: frozenset[str] = frozenset({"footbridge", "underpass", "bridge"})
"""Crossing types over or under the barrier."""


def known_at_grade(crossing_type: str) -> bool | None:
    """Whether a built-in crossing type is at grade; ``None`` for a type of the scenario's own."""
    if crossing_type in AT_GRADE_TYPES:
        return True
    if crossing_type in GRADE_SEPARATED_TYPES:
        return False
    return None


def type_suits_kind(crossing_type: str, at_grade: bool, kind: BarrierKind) -> bool:
    """Whether a new crossing of this type (at grade or not) can be built over a barrier of this kind.

    At-grade types only where the kind allows them (never a motorway, a railway or water); an
    underpass not under water.
    """
    if at_grade:
        return kind.allows_at_grade
    return not (kind == BarrierKind.WATER and crossing_type == "underpass")


NewCrossingType = Literal["footbridge", "signalised", "underpass", "zebra"]
"""Built-in crossing types that may be built; a scenario may add its own (with ``at_grade``)."""
CrossingType = Literal["footbridge", "signalised", "underpass", "junction", "bridge"]
"""Crossing types a site may name: the buildable ones, and ``junction`` and ``bridge`` (existing only)."""
CROSSING_TYPES: tuple[str, ...] = typing.get_args(CrossingType)
"""Crossing types a site or scenario may name. ``junction`` and ``bridge`` are existing-only."""

Backend = Literal["cpsat", "cbc"]
"""Solver backends: OR-Tools CP-SAT or PuLP with CBC."""
Strategy = Literal["auto", "direct", "relax-first"]
"""How :func:`optimiser.solve.strategy.solve` approaches a problem."""

CpsatSearch = Literal["lp", "lp-eager", "cpsat"]
"""CP-SAT's search settings (:attr:`SolveOptions.cpsat_search`)."""
CoverageMode = Literal["hard", "weighted", "off"]
"""How social-space coverage enters the model."""
DemandRule = Literal["employees_product", "sector_affinity", "explicit"]
"""How firm-to-firm interaction weights are made."""
TransitObjective = Literal["max_coverage", "min_mean_walk", "weighted"]
"""What new transit stops are chosen for (:class:`TransitSpec`)."""

RobustRule = Literal["min_max_regret", "expected"]
"""How one plan for several futures is chosen: the smallest worst regret, or the smallest
probability-weighted objective."""


@dataclass(frozen=True)
class Provenance:
    """Where a feature's geometry comes from and how good it is.

    Attributes:
        source: free text (e.g. "ESTIMATED B15, amp_sbp_geometry.md").
        accuracy_m: one-sigma-ish horizontal accuracy in metres, if known.
        status: "sourced", "estimated", "derived" or "surveyed"; ``None`` if not said.
    """

    source: str | None = None
    accuracy_m: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class Parcel:
    """A parcel of land with a use status; ``polygon`` in the working CRS (m)."""

    id: str
    name: str
    status: ParcelStatus
    polygon: Polygon
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class Firm:
    """A firm (one building) that generates walking demand.

    Attributes:
        location: representative point of the building (m).
        entrances: one or more entrance points (m); walkers start and end here.
        footprint: the building footprint if known; nothing may be placed on it.
        fixed: a fixed building (e.g. Factory 2050): its footprint and a margin are untouchable.
    """

    id: str
    name: str
    employees: int
    sector: str
    location: Point
    entrances: tuple[Point, ...]
    footprint: Polygon | None = None
    fixed: bool = False
    parcel_id: str | None = None
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class Barrier:
    """Something walkers cannot cross except at a crossing.

    Attributes:
        centreline: the barrier's centre line (m).
        width_m: full width of the impassable band around the centre line.
        layer: name of the scenario layer that switches it (e.g. "hs2"); ``None`` for a
            barrier that is always part of the site.
        default_on: whether it is on when the scenario says nothing about its layer.
        no_build: a safeguarded corridor: nothing may be placed inside its band.
    """

    id: str
    name: str
    kind: BarrierKind
    centreline: LineString
    width_m: float
    layer: str | None = None
    default_on: bool = True
    no_build: bool = False
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def band(self) -> Polygon:
        """The impassable band: the centre line buffered by half the width, flat ends."""
        return self.centreline.buffer(self.width_m / 2.0, cap_style="flat")


@dataclass(frozen=True)
class WalkPath:
    """A footway, footpath or road with footways that people can walk along."""

    id: str
    name: str
    kind: str
    line: LineString
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class Crossing:
    """A way over a barrier, existing or candidate.

    Attributes:
        line: from a point on one side of the barrier to a point on the other side (m).
        penalty_m: extra walking length charged for using it (ramps, stairs, signal wait).
        cost: capital cost of building it, in the scenario's currency (0 for an existing crossing).
        existing: already built; always usable.
    """

    id: str
    name: str
    barrier_id: str
    type: str
    line: LineString
    penalty_m: float = 0.0
    cost: float = 0.0
    existing: bool = False
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def length_m(self) -> float:
        """Walking length charged for the crossing: its line's length plus the penalty."""
        return float(self.line.length) + float(self.penalty_m)


@dataclass(frozen=True)
class ExclusionZone:
    """An area where nothing may be placed (e.g. a wind-turbine topple zone)."""

    id: str
    name: str
    polygon: Polygon
    reason: str = ""


@dataclass(frozen=True)
class TransitStop:
    """An existing stop on a transit line (always open)."""

    id: str
    name: str
    point: Point
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class TransitLine:
    """A proposed transit alignment (tram, bus rapid transit ...) along which new stops may go.

    Attributes:
        line: the alignment (m, working CRS); candidate stops are spaced along it.
        stops: stops already there (e.g. where the extension leaves today's line).
        mode: free text ("tram", "brt" ...), shown in outputs.
    """

    id: str
    name: str
    line: LineString
    stops: tuple[TransitStop, ...] = ()
    mode: str = "tram"
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class CrossingRule:
    """Site default for generating candidate crossings along a barrier."""

    barrier_id: str
    spacing_m: float
    types: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    """A validated site in its working CRS (projected, metres).

    Attributes:
        crs: the working CRS (e.g. "EPSG:27700").
        source_crs: the CRS the file's coordinates were in before reprojection.
        illustrative: ``True`` when the geometry is a sketch, not a survey.
    """

    id: str
    name: str
    crs: str
    source_crs: str
    parcels: tuple[Parcel, ...]
    firms: tuple[Firm, ...]
    barriers: tuple[Barrier, ...] = ()
    paths: tuple[WalkPath, ...] = ()
    crossings: tuple[Crossing, ...] = ()
    exclusion_zones: tuple[ExclusionZone, ...] = ()
    crossing_rules: tuple[CrossingRule, ...] = ()
    transit: tuple[TransitLine, ...] = ()
    illustrative: bool = False
    description: str = ""
    path: Path | None = None

    def _repr_html_(self) -> str:
        """Jupyter's view: a small plan and the site's key figures."""
        from optimiser.present.notebook import site_html

        return site_html(self)

    def firm(self, firm_id: str) -> Firm:
        """The firm with this id (``KeyError`` if none)."""
        for f in self.firms:
            if f.id == firm_id:
                return f
        raise KeyError(firm_id)

    def barrier(self, barrier_id: str) -> Barrier:
        """The barrier with this id (``KeyError`` if none)."""
        for b in self.barriers:
            if b.id == barrier_id:
                return b
        raise KeyError(barrier_id)

    @property
    def layers(self) -> tuple[str, ...]:
        """Names of the switchable layers the site's barriers belong to."""
        return tuple(sorted({b.layer for b in self.barriers if b.layer}))

    def active_barriers(self, layers: dict[str, bool] | None = None) -> tuple[Barrier, ...]:
        """Barriers switched on, given a scenario's ``layers`` (name -> on)."""
        layers = layers or {}
        out = []
        for b in self.barriers:
            on = layers.get(b.layer, b.default_on) if b.layer else layers.get(b.id, b.default_on)
            if on:
                out.append(b)
        return tuple(out)


@dataclass(frozen=True)
class CountRange:
    """An inclusive range for how many of something to place."""

    min: int
    max: int


@dataclass(frozen=True)
class FacilitySpec:
    """A type of shared facility to place.

    Attributes:
        count: how many new ones to open.
        footprint_m2: area of its (square) footprint; it must fit inside a buildable parcel.
        min_spacing_m: minimum straight-line distance between two facilities of this type.
        cost: capital cost of one, in the scenario's currency.
        candidate_spacing_m: spacing of the grid of candidate sites in buildable parcels.
        access_weight: weight of firm-to-nearest-facility walking in the objective.
        existing: locations of facilities of this type already there (m).
    """

    type: str
    count: CountRange
    footprint_m2: float
    min_spacing_m: float
    cost: float
    candidate_spacing_m: float = 100.0
    access_weight: float = 1.0
    existing: tuple[Point, ...] = ()


@dataclass(frozen=True)
class SocialSpaceSpec:
    """Social spaces (squares, pocket parks) to place in open space between buildings.

    Attributes:
        noise_buffer_m: minimum distance from any road barrier's band (see ``BarrierKind.is_road``).
        coverage_radius_m: walking distance within which a firm counts as covered.
        coverage: "hard" (every firm covered), "weighted" (reward covered employees), "off".
        coverage_weight: with "weighted", metres of weighted walk one covered employee is worth.
        building_clearance_m: minimum distance from any firm footprint or location.
    """

    count: CountRange
    cost: float
    footprint_m2: float = 400.0
    noise_buffer_m: float = 50.0
    coverage_radius_m: float = 400.0
    coverage: CoverageMode = "weighted"
    coverage_weight: float = 100.0
    candidate_spacing_m: float = 80.0
    min_spacing_m: float = 150.0
    building_clearance_m: float = 20.0
    existing: tuple[Point, ...] = ()


@dataclass(frozen=True)
class CrossingTypeSpec:
    """Cost (scenario's currency), walking penalty and grade of one type of new crossing.

    ``at_grade``: walkers cross at the barrier's level (signals, zebra); never over a motorway,
    a railway or water (:func:`type_suits_kind`). ``None`` takes the built-in type's grade
    (:data:`AT_GRADE_TYPES`); a type of the scenario's own must say.
    """

    type: str
    cost: float
    penalty_m: float = 0.0
    at_grade: bool | None = None

    @property
    def is_at_grade(self) -> bool:
        """Whether this type crosses at grade (declared, else the built-in type's grade)."""
        return self.at_grade if self.at_grade is not None else bool(known_at_grade(self.type))


@dataclass(frozen=True)
class CrossingSpec:
    """Which new crossings may be built.

    Attributes:
        spacing_m: spacing of generated candidates along each barrier; ``None`` uses the
            site's crossing rules; 0 generates none (only ``explicit``).
        barriers: ids of barriers to generate candidates along (``None``: every active one).
        types: allowed types with their costs and penalties.
        explicit: candidates given one by one (line across the barrier).
        max_route_crossings: most new crossings one walking route may use (route options).
    """

    types: tuple[CrossingTypeSpec, ...]
    spacing_m: float | None = None
    barriers: tuple[str, ...] | None = None
    explicit: tuple[Crossing, ...] = ()
    max_route_crossings: int = 2


@dataclass(frozen=True)
class DemandSpec:
    """How firm-to-firm interaction weights are made.

    Attributes:
        rule: "employees_product" (w_ab = e_a * e_b / 1000), "sector_affinity"
            (employees product times the affinity of the two sectors), or "explicit" (only
            ``pairs``).
        sector_affinity: symmetric affinities, {sector: {other_sector: factor}}; missing = 1.
        pairs: explicit (firm a, firm b, weight) entries; they replace the rule's value.
        unreachable_penalty_m: walking length charged for a pair with no route at all.
    """

    rule: DemandRule = "employees_product"
    sector_affinity: dict[str, dict[str, float]] = field(default_factory=dict)
    pairs: tuple[tuple[str, str, float], ...] = ()
    unreachable_penalty_m: float = 10000.0


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights of the objective's terms (dimensionless multipliers)."""

    firm_pairs: float = 1.0
    facility_access: float = 1.0
    social_access: float = 0.0


@dataclass(frozen=True)
class DirectnessTarget:
    """A hard limit on the detour ratio (walk / straight line) of one firm pair."""

    a: str
    b: str
    max_ratio: float


@dataclass(frozen=True)
class TransitSpec:
    """New stops along the site's transit alignments, chosen jointly with crossings.

    Attributes:
        count: how many new stops.
        cost: capital cost of one stop (platforms, shelter, power), in the scenario's currency.
        catchment_m: walk (m) within which a firm's staff count as covered by a stop.
        objective: "max_coverage" (most staff within ``catchment_m`` of a stop),
            "min_mean_walk" (least staff-weighted walk to the nearest stop); both are the
            run's whole objective (the scenario's other walking terms are off), or
            "weighted" (``weight`` x staff-weighted walk to the nearest stop, beside the
            scenario's other terms).
        weight: with "weighted", the multiplier of the staff-weighted walk to the nearest stop.
        min_spacing_m: minimum straight-line distance between two new stops.
        candidate_spacing_m: spacing of candidate stop points along each alignment.
        no_platform: areas where no platform may go (m, working CRS).
        lines: ids of the site's alignments to use (``None``: every one).
        alternatives: the alignments are alternatives: all new stops go on one of them.
    """

    count: CountRange
    cost: float
    catchment_m: float = 400.0
    objective: TransitObjective = "max_coverage"
    weight: float = 1.0
    min_spacing_m: float = 400.0
    candidate_spacing_m: float = 100.0
    no_platform: tuple[Polygon, ...] = ()
    lines: tuple[str, ...] | None = None
    alternatives: bool = True

    @property
    def exclusive(self) -> bool:
        """The transit term is the whole objective (``max_coverage``, ``min_mean_walk``)."""
        return self.objective != "weighted"


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: passed whole from the scenario (or the CLI's overrides) to the backend.

    Attributes:
        backend: "cpsat" (OR-Tools CP-SAT, default) or "cbc" (PuLP with CBC).
        strategy: "auto" (default), "direct" or "relax-first" (:func:`optimiser.solve.strategy.solve`).
        time_limit_s: seconds of budget, the incumbent is returned with its gap: the work limits
            that shape the answer derive from it (CP-SAT's deterministic time, CBC's node limit),
            and the wall-clock safety net is a multiple of it.
        seed: random seed; with ``workers=1`` results are reproducible.
        workers: solver threads: CP-SAT's workers (more than one: its portfolio, not
            reproducible). Relax-first gives every CP-SAT call one worker and runs its exact
            phase's count vectors on that many lanes side by side, reproducibly
            (:mod:`optimiser.solve.vector_lanes`).
        length_scale_per_m: integer units per metre shared by every backend (10 = dm).
        weight_levels: the objective's weights are whole numbers with the largest at this value
            (default 10,000; :class:`~optimiser.model.clients.WeightScale`). "Optimal" is optimal
            for the rounded weights; ``metrics.json``'s ``model.weight_rounding`` says how much
            better a layout could be with the exact weights. More levels narrow that, and make
            proofs harder: a bound must come within one unit of the incumbent, a finer unit.
        wall_limit_s: the wall-clock safety net in seconds, replacing the default multiple of
            ``time_limit_s`` (the pipeline sets what is left of the run's limit; relax-first
            gives each CP-SAT phase what is left of its own net, not a multiple of the phase's
            small budget); budgets that shape the answer (CP-SAT's deterministic time) still
            derive from ``time_limit_s``. ``None``: the default multiple.
        cpsat_search: CP-SAT's search settings. "lp" (default): the whole model in the LP
            relaxation (linearization level 2), no presolve and no probing
            (:func:`optimiser.solve.cpsat_model.set_search_params`); the radius formulation's
            LP is within 0.2-2.5 % of the optimum on real-shaped sites, and CP-SAT's presolve
            and probing cost more than they give (AMP-SBP baseline: 1.84 deterministic units
            with presolve off at linearization level 1, 0.04 with "lp"). "lp-eager": "lp" with
            every constraint in the LP from the start instead of added as it is violated (what
            relax-first's exact models per count vector get: fewer CPU seconds to their proofs,
            :data:`~optimiser.solve.relax_first_settings.EXACT_LP_EAGER`; its whole reduced model
            keeps the lazy LP, ``WHOLE_EXACT_LP_EAGER``).
            "cpsat": CP-SAT's own settings (presolve, probing, linearization level 1).
        budget_cuts: give CP-SAT the budget's count-hull cuts (default on;
            :mod:`optimiser.model.budget_cuts`): valid inequalities implied by the budget and the
            count constraints that remove fractional LP points (realsites, deterministic units
            to a proven optimum: 12 firms 4.69 -> 2.40, 20 firms 2.00 -> 1.14, 40 firms 6.14 -> 5.22).
        site_chains: CP-SAT models each walk to the nearest facility per site
            (:mod:`optimiser.solve.site_chains`: the same objective, a tighter LP; default on).
        count_split: CP-SAT solves models of at least ``SPLIT_MIN_LEVELS`` radius levels
            (direct strategy) one sub-problem per maximal count vector of the budget
            (:mod:`optimiser.solve.count_split`; default on: realsites rs004, 40 firms, proven
            with a 10 s limit in 10.9 s of CPU instead of 21-25 s with a 60 s limit).
        cover_cuts: CP-SAT gets the barrier cover cuts of the radius chains
            (:mod:`optimiser.model.cover_cuts`): a firm pair's routes over two barriers count each
            crossing once (held-out realsites rs014: LP 13.0 % -> 1.1 % below the optimum).
            ``None`` (default): only for a weak LP (:func:`~optimiser.model.cover_cuts.weak_lp`),
            which also gets the count split whatever its size; on the tuned rows the cuts slow
            CP-SAT down (rs003 0.09 -> 0.41 units, rs004 no longer proven at 10 s).
        sat_inprocessing: CP-SAT simplifies its clauses between restarts (its
            ``use_sat_inprocessing``; default on; the other backends ignore it). Relax-first
            turns it off for its whole reduced exact model only
            (:data:`~optimiser.solve.relax_first_settings.WHOLE_EXACT_SAT_INPROCESSING`): there,
            its proofs took a quarter or less of the deterministic time without it (benchmarks/realsites, wave 45).
        dominated_crossings: fix at 0, before the solve, every candidate crossing that a crossing
            no dearer dominates (building it instead never lengthens a walk) or that shortens no
            walk (:mod:`optimiser.model.dominance`): the same optimum, fewer options and a tighter
            LP (benchmarks/realsites' independent seed 7: 715k radius levels -> 207k, its 10 s
            proof 11.9 -> 5.8 s; seed 117 1.47 -> 0.44 %). Default off: the test costs 1-3 s on
            2-3M uses, and relax-first on the fixed problem took longer in wall-clock time on
            several rows (unseen 200 8.2 -> 22.1 s, independent 109 7.0 -> 15.8 s at a 10 s limit;
            benchmarks/realsites, wave 46).
    """

    backend: Backend = "cpsat"
    strategy: Strategy = "auto"
    time_limit_s: float = 60.0
    seed: int = 0
    workers: int = 1
    length_scale_per_m: int = 10
    weight_levels: int = 10_000
    wall_limit_s: float | None = None
    cpsat_search: CpsatSearch = "lp"
    budget_cuts: bool = True
    site_chains: bool = True
    count_split: bool = True
    cover_cuts: bool | None = None
    sat_inprocessing: bool = True
    dominated_crossings: bool = False

    def __post_init__(self) -> None:
        """Refuse what the file format refuses, for options set from Python (``run_scenario(...,
        time_limit_s=-1)`` reached the model-size check, a NaN CP-SAT, ``workers=0`` all cores):
        every bad option at once, as an :class:`~optimiser.errors.ArgumentError` (a ``ValueError``)."""
        problems: list[Problem] = []
        if (why := time_limit_problem(self.time_limit_s)) is not None:
            problems.append(Problem("SolveOptions", "time_limit_s", why))
        for name, low, high in (("seed", 0, MAX_SEED), ("workers", 1, MAX_WORKERS), ("length_scale_per_m", 1, 1000),
                                ("weight_levels", MIN_WEIGHT_LEVELS, MAX_WEIGHT_LEVELS)):
            if (why := whole_number_problem(getattr(self, name), low, high)) is not None:
                problems.append(Problem("SolveOptions", name, why))
        for name, kind in (("backend", Backend), ("strategy", Strategy), ("cpsat_search", CpsatSearch)):
            allowed = typing.get_args(kind)
            if getattr(self, name) not in allowed:
                problems.append(Problem("SolveOptions", name, f"must be one of {', '.join(map(repr, allowed))}, "
                                        f"got {getattr(self, name)!r}"))
        if problems:
            raise ArgumentError(problems)

    def replace(self, **changes: Any) -> SolveOptions:
        """A copy with the given fields changed; ``None`` values leave a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class SanityChecks:
    """Thresholds of the site sanity warnings (:mod:`optimiser.network.sanity`).

    Attributes:
        max_connector_m: a firm entrance joined to the walking network by a longer straight
            connector is warned about (the walk model assumes a short, direct access path).
    """

    max_connector_m: float = 250.0


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: a site plus what to place, under which constraints."""

    id: str
    name: str
    site: Site
    site_ref: str
    budget: float
    facilities: tuple[FacilitySpec, ...] = ()
    social_spaces: SocialSpaceSpec | None = None
    crossings: CrossingSpec = field(default_factory=lambda: CrossingSpec(types=()))
    demand: DemandSpec = field(default_factory=DemandSpec)
    objective: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    directness: tuple[DirectnessTarget, ...] = ()
    solver: SolveOptions = field(default_factory=SolveOptions)
    layers: dict[str, bool] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None
    futures: tuple[Future, ...] = ()
    robust: RobustRule = "min_max_regret"
    checks: SanityChecks = field(default_factory=SanityChecks)
    transit: TransitSpec | None = None
    currency: str = "GBP"
    """ISO 4217 code of every amount of money in the scenario (budget and costs)."""
    firms_added: int = 0
    """How many of ``site.firms`` (the last ones) the scenario's ``firm_changes.added`` put there."""
    employees_changed: tuple[str, ...] = ()
    """The firms whose head count the scenario's ``firm_changes.employees`` sets."""

    @property
    def active_barriers(self) -> tuple[Barrier, ...]:
        """The site's barriers that are switched on in this scenario."""
        return self.site.active_barriers(self.layers)

    @property
    def transit_lines(self) -> tuple[TransitLine, ...]:
        """The site's transit alignments this scenario places stops on (none without ``transit``)."""
        if self.transit is None:
            return ()
        wanted = self.transit.lines
        return tuple(t for t in self.site.transit if wanted is None or t.id in wanted)

@dataclass(frozen=True)
class Future:
    """A named variant of a scenario (its ``futures:``): the scenario with overrides applied.

    Attributes:
        name: the future's name (e.g. "hs2").
        scenario: the validated scenario of this future (no futures of its own).
        probability: its probability; ``None`` when not given (futures then weigh equally).
        overrides: the dotted-key overrides that made it, for display.
    """

    name: str
    scenario: Scenario
    probability: float | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
