"""The site and scenario file formats, as pydantic models.

These models are the single source of truth for the formats documented in
``sites/README.md`` and ``constraints/README.md``; :func:`json_schema` generates the JSON
Schema committed under ``constraints/`` (``siteopt schema`` prints it). They check *shape*
(keys, types, ranges); :mod:`optimiser.inputs.reading` checks meaning (geometry, CRS, references).

Coordinates are in the file's declared ``crs`` (a projected CRS in metres, e.g. EPSG:27700,
or EPSG:4326/OGC:CRS84 longitude-latitude, which is reprojected with pyproj). Lengths are
metres, areas square metres, money pounds sterling.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

SITE_FORMAT = "placemaking-site/1"
SCENARIO_FORMAT = "placemaking-scenario/1"
BATCH_FORMAT = "placemaking-batch/1"

Id = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Identifier: letters, digits, '_', '-', '.'; starts with a letter or digit.",
    ),
]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
MAX_GBP = 1e12
"""Upper bound on any amount of money (a trillion pounds): keeps integer coefficients exact."""
Money = Annotated[float, Field(ge=0, le=MAX_GBP, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, le=MAX_GBP, allow_inf_nan=False)]
Metres = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Coord = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=3)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


PointLike = Union[Coord, PointGeom]


class Source(_Strict):
    """Provenance of a feature's geometry."""

    source: str | None = Field(None, description="Where the geometry comes from.")
    accuracy_m: NonNegFloat | None = Field(None, description="Horizontal accuracy, metres.")
    status: Literal["sourced", "estimated", "derived", "surveyed"] | None = None


# ---------------------------------------------------------------- site file


class ParcelIn(_Strict):
    """A parcel of land with a use status."""

    id: Id
    name: str = ""
    status: Literal["occupied", "buildable", "reserved", "open_space"]
    geometry: PolygonGeom
    provenance: Source | None = None


class FirmIn(_Strict):
    """A firm (one building): employees, sector, location and entrances."""

    id: Id
    name: str = ""
    employees: Annotated[int, Field(gt=0, description="Head count, > 0.")]
    sector: str = "other"
    location: PointLike
    entrances: list[PointLike] | None = Field(
        None, description="Entrance points; default: the location."
    )
    footprint: PolygonGeom | None = None
    fixed: bool = Field(False, description="A fixed building: nothing may be placed on it.")
    parcel: Id | None = Field(None, description="Id of the parcel the firm stands on.")
    provenance: Source | None = None


class BarrierIn(_Strict):
    """A dual carriageway, rail corridor or other barrier walkers cannot cross."""

    id: Id
    name: str = ""
    kind: Literal["carriageway", "rail_corridor", "watercourse", "other"]
    geometry: LineStringGeom
    width_m: PositiveFloat = Field(description="Full width of the impassable band, metres.")
    layer: Id | None = Field(None, description="Scenario layer that switches it on/off.")
    default_on: bool = True
    no_build: bool = Field(False, description="Safeguarded corridor: nothing placed inside.")
    provenance: Source | None = None


class PathIn(_Strict):
    """A footway, footpath or road with footways."""

    id: Id
    name: str = ""
    kind: Literal["footway", "footpath", "road", "track", "cycleway"] = "footway"
    geometry: LineStringGeom
    provenance: Source | None = None


class CrossingIn(_Strict):
    """An existing crossing (junction, bridge ...) from one side of a barrier to the other."""

    id: Id
    name: str = ""
    barrier: Id
    type: Literal["footbridge", "signalised", "underpass", "junction", "bridge"]
    geometry: LineStringGeom
    penalty_m: NonNegFloat = Field(0.0, description="Extra walking length charged, metres.")
    provenance: Source | None = None


class ExclusionIn(_Strict):
    """An area where nothing may be placed."""

    id: Id
    name: str = ""
    geometry: PolygonGeom
    reason: str = ""


class CrossingRuleIn(_Strict):
    """Site default for generating candidate crossings along one barrier."""

    barrier: Id
    spacing_m: PositiveFloat
    types: Annotated[list[Literal["footbridge", "signalised", "underpass"]], Field(min_length=1)]


class SiteFile(_Strict):
    """A site: geometry and facts (``placemaking-site/1``)."""

    format: Literal["placemaking-site/1"] = SITE_FORMAT
    id: Id
    name: str = ""
    description: str = ""
    crs: str = Field(description="CRS of the coordinates, e.g. 'EPSG:27700' or 'EPSG:4326'.")
    working_crs: str | None = Field(
        None, description="Projected CRS to work in when `crs` is geographic (default: UTM zone)."
    )
    illustrative: bool = Field(False, description="True when the geometry is a sketch.")
    parcels: list[ParcelIn] = Field(default_factory=list)
    firms: list[FirmIn] = Field(default_factory=list)
    barriers: list[BarrierIn] = Field(default_factory=list)
    paths: list[PathIn] = Field(default_factory=list)
    crossings: list[CrossingIn] = Field(default_factory=list)
    exclusion_zones: list[ExclusionIn] = Field(default_factory=list)
    crossing_rules: list[CrossingRuleIn] = Field(default_factory=list)


# ---------------------------------------------------------------- scenario file


class CountIn(_Strict):
    """An inclusive count range."""

    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> CountIn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


CountLike = Union[Annotated[int, Field(gt=0)], CountIn]


class FacilityIn(_Strict):
    """A type of shared facility (workshop, lab, canteen ...) to place."""

    type: Id
    count: CountLike = Field(description="How many new ones: an integer or {min, max}.")
    footprint_m2: PositiveFloat
    min_spacing_m: NonNegFloat = 0.0
    cost_gbp: Money
    candidate_spacing_m: PositiveFloat = 100.0
    access_weight: NonNegFloat = 1.0
    existing: list[PointLike] = Field(default_factory=list)


class SocialIn(_Strict):
    """Social spaces placed in open space between buildings."""

    count: CountLike
    cost_gbp: Money
    footprint_m2: PositiveFloat = 400.0
    noise_buffer_m: NonNegFloat = 50.0
    coverage_radius_m: PositiveFloat = 400.0
    coverage: Literal["hard", "weighted", "off"] = "weighted"
    coverage_weight: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 100.0
    candidate_spacing_m: PositiveFloat = 80.0
    min_spacing_m: NonNegFloat = 150.0
    building_clearance_m: NonNegFloat = 20.0
    existing: list[PointLike] = Field(default_factory=list)


class CrossingTypeIn(_Strict):
    """Cost and walking penalty of one type of new crossing."""

    cost_gbp: Money
    penalty_m: NonNegFloat = 0.0


class ExplicitCrossingIn(_Strict):
    """A candidate crossing given explicitly."""

    id: Id
    name: str = ""
    barrier: Id
    type: Literal["footbridge", "signalised", "underpass"]
    geometry: LineStringGeom


class CrossingsIn(_Strict):
    """Which new crossings may be built."""

    spacing_m: NonNegFloat | None = Field(
        None, description="Candidate spacing along barriers; null: site rules; 0: none."
    )
    barriers: list[Id] | None = None
    types: dict[Literal["footbridge", "signalised", "underpass"], CrossingTypeIn] = Field(
        default_factory=dict
    )
    explicit: list[ExplicitCrossingIn] = Field(default_factory=list)
    max_route_crossings: Annotated[int, Field(ge=1, le=2, description="Most new crossings one route may use.")] = 2


class PairWeightIn(_Strict):
    """An explicit firm-to-firm interaction weight."""

    a: Id
    b: Id
    weight: NonNegFloat


class DemandIn(_Strict):
    """How firm-to-firm interaction weights are made."""

    rule: Literal["employees_product", "sector_affinity", "explicit"] = "employees_product"
    sector_affinity: dict[str, dict[str, NonNegFloat]] = Field(default_factory=dict)
    pairs: list[PairWeightIn] = Field(default_factory=list)
    unreachable_penalty_m: Metres = 10000.0


class ObjectiveIn(_Strict):
    """Weights of the objective's terms."""

    firm_pairs: NonNegFloat = 1.0
    facility_access: NonNegFloat = 1.0
    social_access: NonNegFloat = 0.0


class DirectnessIn(_Strict):
    """A hard limit on one firm pair's detour ratio (walk / straight line)."""

    a: Id
    b: Id
    max_ratio: Annotated[float, Field(ge=1.0, allow_inf_nan=False)]


class SolverIn(_Strict):
    """Solver choice and settings."""

    backend: Literal["cpsat", "cbc"] = "cpsat"
    time_limit_s: PositiveFloat = 60.0
    seed: Annotated[int, Field(ge=0)] = 0
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    length_scale_per_m: Annotated[int, Field(ge=1, le=1000)] = 10


class ScenarioFile(_Strict):
    """A scenario constraint file (``placemaking-scenario/1``)."""

    format: Literal["placemaking-scenario/1"] = SCENARIO_FORMAT
    id: Id
    name: str = ""
    description: str = ""
    site: str = Field(
        min_length=1,
        description="Site file path (relative to this file) or the id of a site under sites/.",
    )
    layers: dict[str, bool] = Field(default_factory=dict)
    budget_gbp: PositiveMoney
    facilities: list[FacilityIn] = Field(default_factory=list)
    social_spaces: SocialIn | None = None
    crossings: CrossingsIn = Field(default_factory=CrossingsIn)
    demand: DemandIn = Field(default_factory=DemandIn)
    objective: ObjectiveIn = Field(default_factory=ObjectiveIn)
    directness: list[DirectnessIn] = Field(default_factory=list)
    solver: SolverIn = Field(default_factory=SolverIn)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of both file formats, generated from these models."""
    site = SiteFile.model_json_schema()
    scen = ScenarioFile.model_json_schema()
    defs: dict[str, Any] = {}
    for sch in (site, scen):
        defs.update(sch.pop("$defs", {}))
    defs["SiteFile"] = site
    defs["ScenarioFile"] = scen
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://placemaking-optimiser/schema/placemaking-1.json",
        "title": "placemaking-optimiser site and scenario files",
        "description": (
            "Generated from optimiser/schema.py by `siteopt schema`; do not edit by hand. "
            "A site file has format 'placemaking-site/1', a scenario file "
            "'placemaking-scenario/1'."
        ),
        "oneOf": [{"$ref": "#/$defs/SiteFile"}, {"$ref": "#/$defs/ScenarioFile"}],
        "$defs": defs,
    }


def json_schema_text() -> str:
    """The JSON Schema as stable, pretty-printed text (what is committed)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
