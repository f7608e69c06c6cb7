"""The site, scenario and batch file formats, as pydantic models.

These models are the single source of truth for the formats documented in
``sites/README.md`` and ``constraints/README.md``; :func:`json_schema` generates the JSON
Schema committed under ``constraints/`` (``siteopt schema`` prints it). They check *shape*
(keys, types, ranges); :mod:`optimiser.inputs.site` and :mod:`optimiser.inputs.scenario` check
meaning (geometry, CRS, references) and build the validated objects of
:mod:`optimiser.inputs.domain`. Every default lives in those dataclasses; the models here take
their defaults from them, so no default is written twice.

A value that may take two forms (a point as ``[x, y]`` or a GeoJSON Point; a count as a
number or ``{min, max}``) is a tagged union: the branch is chosen from the value's type and its
tag (:data:`XY`, :data:`GEOJSON`, :data:`WHOLE`, :data:`RANGE`) appears in pydantic's error
locations, where :mod:`optimiser.inputs.messages` reads it.

Coordinates are in the file's declared ``crs`` (a projected CRS in metres, e.g. EPSG:27700,
or EPSG:4326/OGC:CRS84 longitude-latitude or a projected CRS in feet, which are reprojected with
pyproj into one in metres). Lengths are
metres, areas square metres; money (``budget``, ``cost``) is in the scenario's ``currency``
(ISO 4217, default GBP), and the first format's ``budget_gbp`` / ``cost_gbp`` are pounds.
Which of the two money fields to give, and the currency code, are checked by
:mod:`optimiser.inputs.money_fields`.
"""

from __future__ import annotations

import json
import logging
import math
import types
import typing
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from optimiser.inputs.domain import (
    MAX_WEIGHT_LEVELS,
    MIN_WEIGHT_LEVELS,
    Backend,
    Barrier,
    CoverageMode,
    Crossing,
    CrossingSpec,
    CrossingType,
    CrossingTypeSpec,
    DemandRule,
    DemandSpec,
    ExclusionZone,
    FacilitySpec,
    Firm,
    NewCrossingType,
    ObjectiveWeights,
    Provenance,
    RobustRule,
    SanityChecks,
    Scenario,
    Site,
    SocialSpaceSpec,
    SolveOptions,
    TransitLine,
    TransitObjective,
    TransitSpec,
)
from optimiser.inputs.limits import MAX_SEED, MAX_TIME_LIMIT_S, MAX_WORKERS  # noqa: F401 - re-exported
from optimiser.inputs.messages import BOOL_FOR_NUMBER
from optimiser.inputs.number_text import AMBIGUOUS_NUMBER, ambiguous_readings, takes_text, textual_numbers

logger = logging.getLogger(__name__)

SITE_FORMAT: Final = "placemaking-site/1"
SCENARIO_FORMAT: Final = "placemaking-scenario/1"
BATCH_FORMAT: Final = "placemaking-batch/1"

Id = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Identifier: letters, digits, '_', '-', '.'; starts with a letter or digit.",
    ),
]
MAX_NAME_CHARS = 200
"""Longest display name: it labels plans and tables (a 100,000-character name had overprinted the
plan's key and slowed the run fivefold)."""
_BIDI_EMBEDDINGS, _BIDI_ISOLATES = "\u202a\u202b\u202d\u202e", "\u2066\u2067\u2068"
"""Unicode controls that turn text right-to-left (or back) up to a PDF (U+202C) or PDI (U+2069)."""


def closed_bidi(text: str) -> str:
    """``text`` with every bidirectional embedding, override or isolate it opens closed at its end:
    a name starting with RIGHT-TO-LEFT OVERRIDE (U+202E) otherwise reversed everything after it on
    its line of the report ('... – (m 081+) GA kitpO ßieZ'). Nothing is removed."""
    open_embeddings = max(0, sum(text.count(c) for c in _BIDI_EMBEDDINGS) - text.count("\u202c"))
    open_isolates = max(0, sum(text.count(c) for c in _BIDI_ISOLATES) - text.count("\u2069"))
    return text + "\u202c" * open_embeddings + "\u2069" * open_isolates


Name = Annotated[str, Field(max_length=MAX_NAME_CHARS, description=f"Display name, at most {MAX_NAME_CHARS} characters."),
                 AfterValidator(closed_bidi)]
MAX_TEXT_CHARS = 10_000
"""Longest free text (a description, a reason)."""
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
MAX_PLAIN = 1e9
"""Upper bound on any plain number without a tighter one (keeps products finite)."""
PositiveFloat = Annotated[float, Field(gt=0, le=MAX_PLAIN, allow_inf_nan=False)]
MAX_AMOUNT = 1e12
"""Upper bound on any amount of money (a trillion in the scenario's currency): keeps integer
coefficients exact."""
Money = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]
CurrencyCode = Annotated[str, Field(json_schema_extra={"pattern": "^[A-Z]{3}$"},
                                    description="ISO 4217 code of every amount, e.g. GBP, USD, EUR.")]
"""Checked against the ISO 4217 list by :mod:`optimiser.inputs.money_fields` (with a fix)."""

_COST = "Capital cost of one, in the scenario's currency."
_COST_GBP = "Capital cost of one in pounds (first format; only with currency GBP). Give cost or cost_gbp."
Metres = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
MAX_BARRIER_WIDTH_M = 50_000.0
"""Widest barrier band: as wide as the widest site accepted (``plausibility.MAX_SITE_SPAN_M``). A
wider one covers any site, and a band of 1e9 m is too wide for its geometry to stay exact (it had
lost 3 of the 5 firms standing inside it)."""
NonNegFloat = Annotated[float, Field(ge=0, le=MAX_PLAIN, allow_inf_nan=False)]
MAX_WEIGHT = 1e6
MAX_EMPLOYEES = 10_000_000
"""Most staff one firm (one building) may have: five times the largest employer on Earth; a
head count above it is a typing slip (it had passed validation, then overflowed the run's
outputs after the solve)."""
Employees = Annotated[int, Field(gt=0, le=MAX_EMPLOYEES, description=f"Head count, > 0 and at most {MAX_EMPLOYEES:,}.")]
"""Upper bound on an objective weight (a dimensionless multiplier)."""
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False)]
Coord = Annotated[list[Annotated[float, Field(allow_inf_nan=False), BeforeValidator(lambda v: _coordinate(v))]],
                  Field(min_length=2, max_length=3)]


def _number_types(annotation: Any) -> set[Any]:
    """``int`` and ``float`` where a field's annotation takes them (anywhere in a union; not in a
    list or mapping); empty when it takes none, or takes a bool too."""
    found: list[Any] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) in (typing.Annotated, typing.Union, types.UnionType):
            stack.extend(typing.get_args(a)[:1] if typing.get_origin(a) is typing.Annotated else typing.get_args(a))
        else:
            found.append(a)
    return set() if bool in found else {a for a in found if a in (int, float)}


class _Strict(BaseModel):
    # defer_build: a model's validator is built on its first use, not on import (about 0.13 s of
    # CPU for every model here): `siteopt run` reads its scenario in the render process
    # (optimiser.inputs.read_ahead) and never validates a file in its main process
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        """``true`` / ``false`` (YAML also reads ``yes``, ``no``, ``on``, ``off`` so) is no number:
        pydantic would take it as 1 or 0 (``employees: yes`` would be one employee). A number as
        text is read only in the form the JSON Schema allows (:mod:`optimiser.inputs.number_text`):
        ``"1.500"`` is refused as ambiguous, not read as 1.5."""
        if not isinstance(value, (bool, str)) or info.field_name not in cls.model_fields:
            return value
        kinds = _number_types(cls.model_fields[info.field_name].annotation)
        if not kinds:
            return value
        return number_text(value, whole=float not in kinds)


def number_text(value: Any, *, whole: bool, ambiguous: bool = True) -> Any:
    """``value`` unchanged unless it is a true/false or a text the JSON Schema does not take as a
    number (:mod:`optimiser.inputs.number_text`): a field's own value and each item of a list of
    numbers (``repeat_seeds``, coordinates) alike. ``ambiguous``: refuse ``"1.500"`` as two readings
    (not in coordinates: a longitude ``"51.500"`` has no thousands reading)."""
    if isinstance(value, bool):
        raise PydanticCustomError(BOOL_FOR_NUMBER, "must be a number, got {value}", {"value": str(value).lower()})
    if not isinstance(value, str):
        return value
    readings = ambiguous_readings(value, whole=whole) if ambiguous else None
    if readings is not None:
        raise PydanticCustomError(AMBIGUOUS_NUMBER, "{text} may be {thousands} or {decimal}",
                                  {"text": value, "thousands": readings[0], "decimal": readings[1]})
    if not whole and not takes_text(value, whole=False, ambiguous=ambiguous) and _finite(value):  # "1.5_0", which float() reads
        raise PydanticCustomError("float_parsing", "Input should be a valid number, unable to parse string as a number")
    return value


def _whole_item(value: Any) -> Any:
    return number_text(value, whole=True)


def _number_item(value: Any) -> Any:
    return number_text(value, whole=False)


def _coordinate(value: Any) -> Any:
    return number_text(value, whole=False, ambiguous=False)


def _finite(text: str) -> bool:
    """Whether Python reads ``text`` as a finite number."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _money_config(field: str) -> ConfigDict:
    """A strict model that needs ``field`` or ``<field>_gbp`` (the JSON Schema says so; the
    validator's message comes from :mod:`optimiser.inputs.money_fields`)."""
    return ConfigDict(extra="forbid", populate_by_name=True, defer_build=True,
                      json_schema_extra={"anyOf": [{"required": [field]}, {"required": [f"{field}_gbp"]}]})


# ---------------------------------------------------------------- geometry (GeoJSON-like)


class PointGeom(_Strict):
    """A GeoJSON Point."""

    type: Literal["Point"]
    coordinates: Coord


class LineStringGeom(_Strict):
    """A GeoJSON LineString: at least two positions."""

    type: Literal["LineString"]
    coordinates: Annotated[list[Coord], Field(min_length=2)]


class PolygonGeom(_Strict):
    """A GeoJSON Polygon: an exterior ring and optional holes, each of at least 4 positions."""

    type: Literal["Polygon"]
    coordinates: Annotated[list[Annotated[list[Coord], Field(min_length=4)]], Field(min_length=1)]


XY = "xy"
"""Union tag of a point given as a bare position ``[x, y]``."""
GEOJSON = "geojson"
"""Union tag of a point given as a GeoJSON Point mapping."""
WHOLE = "whole"
"""Union tag of a count given as a whole number."""
RANGE = "range"
"""Union tag of a count given as ``{min, max}``."""


def _point_form(value: Any) -> str:
    return GEOJSON if isinstance(value, (dict, BaseModel)) else XY


PointLike = Annotated[
    Annotated[Coord, Tag(XY)] | Annotated[PointGeom, Tag(GEOJSON)],
    Discriminator(_point_form),
]
"""A point: ``[x, y]`` or ``{"type": "Point", "coordinates": [x, y]}``."""


class Source(_Strict):
    """Provenance of a feature's geometry."""

    source: str | None = Field(default=Provenance.source, description="Where the geometry comes from.")
    accuracy_m: NonNegFloat | None = Field(default=Provenance.accuracy_m, description="Horizontal accuracy, metres.")
    status: Literal["sourced", "estimated", "derived", "surveyed"] | None = None


# ---------------------------------------------------------------- site file


class ParcelIn(_Strict):
    """A parcel of land with a use status."""

    id: Id
    name: Name = ""
    status: Literal["occupied", "buildable", "reserved", "open_space"]
    geometry: PolygonGeom
    provenance: Source | None = None


class FirmIn(_Strict):
    """A firm (one building): employees, sector, location and entrances."""

    id: Id
    name: Name = ""
    employees: Employees
    sector: str = "other"
    location: PointLike
    entrances: list[PointLike] | None = Field(
        None, min_length=1, description="Entrance points (at least one); left out: the location."
    )
    footprint: PolygonGeom | None = None
    fixed: bool = Field(Firm.fixed, description="A fixed building: nothing may be placed on it.")
    parcel: Id | None = Field(default=Firm.parcel_id, description="Id of the parcel the firm stands on.")
    provenance: Source | None = None


class BarrierIn(_Strict):
    """A road, railway, water or other barrier walkers cannot cross except at a crossing."""

    id: Id
    name: Name = ""
    kind: Literal[
        "dual_carriageway", "motorway", "arterial", "rail", "water", "other", "carriageway", "rail_corridor", "watercourse"
    ] = Field(description=(
        "motorway, rail and water take grade-separated crossings only; dual_carriageway and arterial "
        "also at-grade ones. carriageway, rail_corridor and watercourse are the first format's names "
        "of dual_carriageway, rail and water."))
    geometry: LineStringGeom
    width_m: Annotated[float, Field(gt=0, le=MAX_BARRIER_WIDTH_M, allow_inf_nan=False)] = Field(
        description=f"Full width of the impassable band, metres (at most {MAX_BARRIER_WIDTH_M:,.0f}: the widest site).")
    scenario_layer: Id | None = Field(default=Barrier.layer, description="Scenario layer that switches it on/off.")
    layer: Id | None = Field(default=None, description="Older spelling of `scenario_layer` (YAML, JSON, TOML files).")
    default_on: bool = Barrier.default_on
    no_build: bool = Field(Barrier.no_build, description="Safeguarded corridor: nothing placed inside.")
    provenance: Source | None = None

    @model_validator(mode="after")
    def _one_layer(self) -> BarrierIn:
        if self.layer is not None and self.scenario_layer is not None and self.layer != self.scenario_layer:
            raise ValueError(f"scenario_layer {self.scenario_layer!r} and its older spelling layer {self.layer!r} disagree; "
                             "keep scenario_layer")
        return self

    @property
    def switch_layer(self) -> str | None:
        """The scenario layer that switches the barrier (either spelling)."""
        return self.scenario_layer or self.layer


class PathIn(_Strict):
    """A footway, footpath or road with footways."""

    id: Id
    name: Name = ""
    kind: Literal["footway", "footpath", "road", "track", "cycleway"] = "footway"
    geometry: LineStringGeom
    provenance: Source | None = None


class CrossingIn(_Strict):
    """An existing crossing (junction, bridge ...) from one side of a barrier to the other."""

    id: Id
    name: Name = ""
    barrier: Id
    type: CrossingType
    geometry: LineStringGeom
    penalty_m: NonNegFloat = Field(Crossing.penalty_m, description="Extra walking length charged, metres.")
    provenance: Source | None = None


class ExclusionIn(_Strict):
    """An area where nothing may be placed."""

    id: Id
    name: Name = ""
    geometry: PolygonGeom
    reason: Text = ExclusionZone.reason


class CrossingRuleIn(_Strict):
    """Site default for generating candidate crossings along one barrier."""

    barrier: Id
    spacing_m: PositiveFloat
    types: Annotated[list[NewCrossingType], Field(min_length=1)]


class TransitStopIn(_Strict):
    """An existing stop on a transit line."""

    id: Id
    name: Name = ""
    location: PointLike
    provenance: Source | None = None


class TransitLineIn(_Strict):
    """A proposed transit alignment (tram, BRT ...); new stops may go along it (scenario ``transit``)."""

    id: Id
    name: Name = ""
    mode: str = TransitLine.mode
    geometry: LineStringGeom
    stops: list[TransitStopIn] = Field(default_factory=list, description="Stops already there.")
    provenance: Source | None = None


class SiteFile(_Strict):
    """A site: geometry and facts (``placemaking-site/1``)."""

    format: Literal["placemaking-site/1"] = SITE_FORMAT
    id: Id
    name: Name = ""
    description: Text = Site.description
    crs: str = Field(description="CRS of the coordinates, e.g. 'EPSG:27700' or 'EPSG:4326'.")
    working_crs: str | None = Field(
        None, description="Projected CRS in metres the site is worked in, whatever `crs` is (default: `crs` when it is "
                          "projected and true to scale, else British National Grid or the UTM zone)."
    )
    illustrative: bool = Field(Site.illustrative, description="True when the geometry is a sketch.")
    parcels: list[ParcelIn] = Field(default_factory=list)
    firms: list[FirmIn] = Field(default_factory=list)
    barriers: list[BarrierIn] = Field(default_factory=list)
    paths: list[PathIn] = Field(default_factory=list)
    crossings: list[CrossingIn] = Field(default_factory=list)
    exclusion_zones: list[ExclusionIn] = Field(default_factory=list)
    crossing_rules: list[CrossingRuleIn] = Field(default_factory=list)
    transit: list[TransitLineIn] = Field(
        default_factory=list, description="Proposed transit alignments (several: alternatives)."
    )


# ---------------------------------------------------------------- scenario file


MAX_COUNT = 1_000_000
"""The largest count a range or a whole number may name: far above any site's candidates (a
count of 1e30 passed and overflowed the heuristic's 64-bit integers; ``count: 10**20`` the
CP-SAT model's)."""


class CountIn(_Strict):
    """An inclusive count range."""

    min: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 0
    max: Annotated[int, Field(gt=0, le=MAX_COUNT)]

    @model_validator(mode="after")
    def _ordered(self) -> CountIn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


def _count_form(value: Any) -> str:
    return RANGE if isinstance(value, (dict, BaseModel)) else WHOLE


CountLike = Annotated[
    Annotated[int, Field(gt=0, le=MAX_COUNT), Tag(WHOLE)] | Annotated[CountIn, Tag(RANGE)],
    Discriminator(_count_form),
]
"""How many: a positive whole number or ``{min, max}``."""


class FacilityIn(_Strict):
    """A type of shared facility (workshop, lab, canteen ...) to place."""

    model_config = _money_config("cost")

    type: Id
    count: CountLike = Field(description="How many new ones: an integer or {min, max}.")
    footprint_m2: PositiveFloat
    min_spacing_m: NonNegFloat = 0.0
    cost: Money | None = Field(None, description=_COST)
    cost_gbp: Money | None = Field(None, description=_COST_GBP)
    candidate_spacing_m: PositiveFloat = FacilitySpec.candidate_spacing_m
    access_weight: NonNegFloat = FacilitySpec.access_weight
    existing: list[PointLike] = Field(default_factory=list)


class SocialIn(_Strict):
    """Social spaces placed in open space between buildings."""

    model_config = _money_config("cost")

    count: CountLike
    cost: Money | None = Field(None, description=_COST)
    cost_gbp: Money | None = Field(None, description=_COST_GBP)
    footprint_m2: PositiveFloat = SocialSpaceSpec.footprint_m2
    noise_buffer_m: NonNegFloat = SocialSpaceSpec.noise_buffer_m
    coverage_radius_m: PositiveFloat = SocialSpaceSpec.coverage_radius_m
    coverage: CoverageMode = SocialSpaceSpec.coverage
    coverage_weight: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = SocialSpaceSpec.coverage_weight
    candidate_spacing_m: PositiveFloat = SocialSpaceSpec.candidate_spacing_m
    min_spacing_m: NonNegFloat = SocialSpaceSpec.min_spacing_m
    building_clearance_m: NonNegFloat = SocialSpaceSpec.building_clearance_m
    existing: list[PointLike] = Field(default_factory=list)


class CrossingTypeIn(_Strict):
    """Cost, walking penalty and grade of one type of new crossing."""

    model_config = _money_config("cost")

    cost: Money | None = Field(None, description=_COST)
    cost_gbp: Money | None = Field(None, description=_COST_GBP)
    penalty_m: NonNegFloat = CrossingTypeSpec.penalty_m
    at_grade: bool | None = Field(
        CrossingTypeSpec.at_grade,
        description=("Walkers cross at grade (never over a motorway, rail or water). Built-in types know "
                     "theirs (signalised, zebra: at grade; footbridge, underpass: not); a type of your own must say."),
    )


class ExplicitCrossingIn(_Strict):
    """A candidate crossing given explicitly."""

    id: Id
    name: Name = ""
    barrier: Id
    type: Id = Field(description="A type listed under crossings.types.")
    geometry: LineStringGeom


class CrossingsIn(_Strict):
    """Which new crossings may be built."""

    spacing_m: NonNegFloat | None = Field(
        default=CrossingSpec.spacing_m, description="Candidate spacing along barriers; null: site rules; 0: none."
    )
    barriers: list[Id] | None = None
    types: dict[Id, CrossingTypeIn] = Field(
        default_factory=dict,
        description="Crossing types that may be built: footbridge, signalised, underpass, zebra or your own.",
    )
    explicit: list[ExplicitCrossingIn] = Field(default_factory=list)
    max_route_crossings: Annotated[
        int, Field(ge=1, le=2, description="Most new crossings one route may use.")
    ] = CrossingSpec.max_route_crossings


class TransitIn(_Strict):
    """New stops along the site's transit alignments, chosen jointly with crossings."""

    model_config = _money_config("cost")

    count: CountLike = Field(description="How many new stops: an integer or {min, max}.")
    cost: Money | None = Field(None, description="Capital cost of one stop, in the scenario's currency.")
    cost_gbp: Money | None = Field(None, description="Capital cost of one stop in pounds (GBP scenarios only). Give cost or cost_gbp.")
    catchment_m: Metres = Field(TransitSpec.catchment_m, description="Walk within which staff count as covered (400, 800).")
    objective: TransitObjective = Field(
        TransitSpec.objective, description="max_coverage, min_mean_walk (the whole objective) or weighted (beside the others)."
    )
    weight: NonNegFloat = Field(TransitSpec.weight, description="With weighted: multiplier of the staff-weighted walk to a stop.")
    min_spacing_m: NonNegFloat = TransitSpec.min_spacing_m
    candidate_spacing_m: PositiveFloat = TransitSpec.candidate_spacing_m
    no_platform: list[PolygonGeom] = Field(default_factory=list, description="Areas where no platform may go.")
    lines: list[Id] | None = Field(None, description="Ids of the site's alignments to use; null: all.")
    alternatives: bool = Field(TransitSpec.alternatives, description="New stops all go on one of the alignments.")


class PairWeightIn(_Strict):
    """An explicit firm-to-firm interaction weight."""

    a: Id
    b: Id
    weight: NonNegFloat


class DemandIn(_Strict):
    """How firm-to-firm interaction weights are made."""

    rule: DemandRule = DemandSpec.rule
    sector_affinity: dict[str, dict[str, Annotated[NonNegFloat, BeforeValidator(_number_item)]]] = Field(default_factory=dict)
    pairs: list[PairWeightIn] = Field(default_factory=list)
    unreachable_penalty_m: Metres | None = Field(
        default=None, description="Walking length charged for a pair (or a walk to a facility) with no route at all, metres; "
        "default: twice the diagonal of the site's extent, at least 10,000 m, so that no route costs more "
        "than none whatever the site's scale.")


class ObjectiveIn(_Strict):
    """Weights of the objective's terms."""

    firm_pairs: Weight = ObjectiveWeights.firm_pairs
    facility_access: Weight = ObjectiveWeights.facility_access
    social_access: Weight = ObjectiveWeights.social_access


class DirectnessIn(_Strict):
    """A hard limit on one firm pair's detour ratio (walk / straight line)."""

    a: Id
    b: Id
    max_ratio: Annotated[float, Field(ge=1.0, allow_inf_nan=False)]


class SolverIn(_Strict):
    """Solver choice and settings."""

    backend: Backend = SolveOptions.backend
    time_limit_s: Annotated[float, Field(gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)] = SolveOptions.time_limit_s
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = SolveOptions.seed
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = SolveOptions.workers
    length_scale_per_m: Annotated[int, Field(ge=1, le=1000)] = SolveOptions.length_scale_per_m
    weight_levels: Annotated[int, Field(ge=MIN_WEIGHT_LEVELS, le=MAX_WEIGHT_LEVELS, description=(
        "The objective's weights are rounded to whole numbers with the largest at this value; "
        "metrics.json's model.weight_rounding says how much better a layout could be with exact weights. "
        "More levels narrow that and make proofs harder."))] = SolveOptions.weight_levels


class FirmChangesIn(_Strict):
    """Changes to the site's firms for this scenario (e.g. a growth future)."""

    employees: dict[Id, Annotated[Employees, BeforeValidator(_whole_item)]] = Field(
        default_factory=dict, description="Firm id -> its head count in this scenario (> 0)."
    )
    added: list[FirmIn] = Field(default_factory=list, description="Firms added to the site, in the site's CRS.")


class FutureIn(_Strict):
    """A named future: this scenario with overrides applied (the keys a batch sweep accepts)."""

    name: Id
    probability: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = Field(
        None, description="Its probability (for robust: expected); omitted: futures weigh equally."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted key (e.g. layers.hs2, budget_gbp, firm_changes.employees.<firm>) -> value.",
    )
class ChecksIn(_Strict):
    """Thresholds of the site sanity warnings (``siteopt validate`` / ``run``; ``--strict`` makes them errors)."""

    max_connector_m: Annotated[float, Field(gt=0, allow_inf_nan=False, description=(
        "Warn when a firm entrance's or a drawn crossing end's (existing or explicit candidate) connector to the "
        "walking network is longer (m)."))] = SanityChecks.max_connector_m


class ScenarioFile(_Strict):
    """A scenario constraint file (``placemaking-scenario/1``)."""

    model_config = _money_config("budget")

    format: Literal["placemaking-scenario/1"] = SCENARIO_FORMAT
    id: Id
    name: Name = ""
    description: Text = Scenario.description
    site: str = Field(
        min_length=1,
        description="Site file path (relative to this file) or the id of a site under sites/.",
    )
    layers: dict[str, bool] = Field(default_factory=dict)
    currency: CurrencyCode = Scenario.currency
    budget: PositiveMoney | None = Field(None, description="Capital budget in the scenario's currency.")
    budget_gbp: PositiveMoney | None = Field(
        None, description="Capital budget in pounds (first format; only with currency GBP). Give budget or budget_gbp."
    )
    facilities: list[FacilityIn] = Field(default_factory=list)
    social_spaces: SocialIn | None = None
    crossings: CrossingsIn = Field(default_factory=CrossingsIn)
    demand: DemandIn = Field(default_factory=DemandIn)
    objective: ObjectiveIn = Field(default_factory=ObjectiveIn)
    directness: list[DirectnessIn] = Field(default_factory=list)
    solver: SolverIn = Field(default_factory=SolverIn)
    firm_changes: FirmChangesIn | None = None
    futures: list[FutureIn] | None = Field(
        None, min_length=1, description="Named variants of this scenario; one plan is chosen for all of them."
    )
    robust: RobustRule = Field(Scenario.robust, description="How the plan for several futures is chosen.")
    checks: ChecksIn = Field(default_factory=ChecksIn)
    transit: TransitIn | None = None


class BatchFile(_Strict):
    """A batch of scenario runs (``placemaking-batch/1``): a base scenario and how to vary it,
    expanded into items by :mod:`optimiser.batch.spec` (which checks the override keys and values)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["placemaking-batch/1"] = BATCH_FORMAT
    id: Id | None = Field(None, description="Batch identifier (default: the file name).")
    name: Name = ""
    description: Text = ""
    base: str | None = Field(
        None, min_length=1,
        description="Base scenario file, relative to the batch file; omitted: the embedded AMP-SBP baseline.",
    )
    mode: Literal["grid", "zip"] = Field("grid", description="grid: cartesian product of the sweep lists; zip: side by side.")
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="Dotted override key (e.g. budget_gbp, facilities.0.count) -> values."
    )
    scenarios: list[dict[str, Any]] | None = Field(
        None, min_length=1, description="Explicit override mappings, each crossed with the sweep."
    )
    repeat_seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED), BeforeValidator(_whole_item)]] | None = Field(
        None, min_length=1, description="Run every item once per CP-SAT seed (solver.seed)."
    )
    time_limit_s: Annotated[float, Field(gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)] | None = Field(
        None, description="Per-item solver time limit, seconds (solver.time_limit_s of every item).")
    backend: Literal["cpsat", "cbc"] | None = Field(None, description="Every item's backend (solver.backend).")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the three file formats (site, scenario, batch),
    generated from these models."""
    models: dict[str, type[BaseModel]] = {"SiteFile": SiteFile, "ScenarioFile": ScenarioFile, "BatchFile": BatchFile}
    defs: dict[str, Any] = {}
    for name, model in models.items():
        sch = textual_numbers(model.model_json_schema())
        defs.update(sch.pop("$defs", {}))
        defs[name] = sch
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://placemaking-optimiser/schema/placemaking-1.json",
        "title": "placemaking-optimiser site, scenario and batch files",
        "description": (
            "Generated from optimiser/inputs/schema.py by `siteopt schema`; do not edit by hand. "
            "A site file has format 'placemaking-site/1', a scenario file "
            "'placemaking-scenario/1', a batch file 'placemaking-batch/1'."
        ),
        "oneOf": [{"$ref": f"#/$defs/{name}"} for name in models],
        "$defs": defs,
    }


def json_schema_text() -> str:
    """The JSON Schema as stable, pretty-printed text (what is committed)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
