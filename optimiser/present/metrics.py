"""``RunMetrics``: the typed content of a run's ``metrics.json``, written from and read into.

The pipeline builds one :class:`RunMetrics` per run (:func:`optimiser.pipeline.summarise`);
``metrics.json`` is its JSON form (:meth:`RunMetrics.to_json_dict`), and everything that reads a
run directory (renderer, report, compare, batch, CLI) reads it back with
:meth:`RunMetrics.from_json_dict`, which refuses wrong types with a precise message instead of
failing later on a string key. Design brief, section 7, names the required keys; they are all
here, nested as in the brief (``walk.baseline_weighted_mean_m`` is ``metrics.walk.baseline_weighted_mean_m``).

Units are in the names: ``_m`` metres, ``_pct`` per cent, ``_share`` a fraction 0-1,
``_seconds`` seconds; money (``cost``, ``budget``, ``capital``) is in ``currency`` (ISO 4217;
absent in run directories written before currencies, which were all GBP). ``objective`` and ``bound`` are in the
problem's integer scale (``model.length_scale_per_m`` x ``model.weight_scale`` per weighted metre);
``objective_weighted_m`` is the objective in weighted metres.

A scenario with ``futures:`` adds ``futures``, ``alternatives`` and ``robust``
(:mod:`optimiser.present.futures`); the rest of the file then describes the plan in its
reference future.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from optimiser.present.futures import AlternativePlan, FutureResult, RobustSummary
from optimiser.present.transit_record import TransitMetrics
from optimiser.present.warning_records import WarningRecord
from optimiser.solve.result import Status

METRICS_FORMAT = "placemaking-metrics/1"


class _Record(BaseModel):
    """Strict on types, tolerant of keys a newer version adds."""

    model_config = ConfigDict(extra="ignore", frozen=False)


class ScenarioRef(_Record):
    """Which scenario ran: its id, name, file (relative for display) and active layers."""

    id: str
    name: str = ""
    path: str | None = None
    description: str = ""
    layers: dict[str, bool] = Field(default_factory=dict)


class SiteRef(_Record):
    """Which site ran: id, name, whether it is illustrative, its CRS and file."""

    id: str
    name: str = ""
    illustrative: bool = False
    crs: str = "EPSG:27700"
    path: str | None = None
    source_crs: str | None = None
    """The CRS of the site file's coordinates (reports give coordinates in it); None: ``crs``."""


class FacilityAccess(_Record):
    """Employee-weighted mean walk to the nearest facility of one type, metres."""

    baseline_mean_m: float | None = None
    optimised_mean_m: float | None = None


class CrossBarrierWalk(_Record):
    """Firm pairs split by an active barrier (e.g. AMP to SBP across the Parkway): the means and
    reduction over those with a walk before and after, as :class:`WalkMetrics`; the pairs the plan
    newly connects are counted apart."""

    pairs: int = 0
    baseline_weighted_mean_m: float | None = None
    optimised_weighted_mean_m: float | None = None
    reduction_pct: float | None = None
    pairs_newly_connected: int | None = None
    """Of ``pairs``, those with no walk before and one after (None when the run has no layout,
    or in a ``metrics.json`` written before the count was kept)."""
    newly_connected_weighted_mean_m: float | None = None
    """Their weighted mean walk after, metres (None when there are none)."""


class WalkMetrics(_Record):
    """Walking between firms, before and after (design brief, section 6).

    The weighted means, ``reduction_pct`` and the detour ratios are over the ``pairs_compared``
    pairs with a walk both before and after, so they compare like with like; a pair the plan
    connects for the first time (no walk before: a barrier with no crossing) is not in them but
    in ``pairs_newly_connected`` and ``newly_connected_weighted_mean_m``."""

    pairs: int = 0
    pairs_compared: int = 0
    pairs_unreachable_before: int = 0
    pairs_unreachable_after: int | None = 0
    """None (as every figure after) when the run has no layout."""
    pairs_newly_connected: int | None = None
    """Pairs with no walk before and one after (None when the run has no layout, or in a
    ``metrics.json`` written before the count was kept)."""
    newly_connected_weighted_mean_m: float | None = None
    """The weighted mean walk after over the newly connected pairs, metres (None when there are none)."""
    baseline_weighted_mean_m: float | None = None
    optimised_weighted_mean_m: float | None = None
    reduction_pct: float | None = None
    baseline_mean_detour: float | None = None
    optimised_mean_detour: float | None = None
    facility_access: dict[str, FacilityAccess] = Field(default_factory=dict)
    cross_barrier: CrossBarrierWalk = Field(default_factory=CrossBarrierWalk)


class Coverage(_Record):
    """Share of employees within ``radius_m`` of a social space (``mode`` as the scenario says)."""

    radius_m: float
    mode: str
    baseline_share: float
    optimised_share: float | None = None
    """None when the run has no layout (infeasible, or nothing found in time)."""


class CostMetrics(_Record):
    """Capital cost of what was built against the budget, by kind (in the run's currency):
    ``capital`` is the sum of the kinds."""

    capital: float = 0.0
    budget: float | None = None
    crossings: float = 0.0
    facilities: float = 0.0
    social_spaces: float = 0.0
    transit_stops: float = 0.0
    """New transit stops (``transit.capital``); 0 without transit."""


class SitePlacement(_Record):
    """A chosen facility or social-space site."""

    id: str
    type: str
    parcel: str | None = None
    x: float
    y: float
    cost: float = Field(0.0, validation_alias=AliasChoices("cost", "cost_gbp"))


class CrossingPlacement(_Record):
    """A new crossing the optimiser built."""

    id: str
    type: str
    barrier: str
    cost: float = Field(0.0, validation_alias=AliasChoices("cost", "cost_gbp"))
    penalty_m: float = 0.0
    length_m: float = 0.0
    x: float
    y: float


class Placements(_Record):
    """Everything built, by kind."""

    shared_facilities: list[SitePlacement] = Field(default_factory=list)
    social_spaces: list[SitePlacement] = Field(default_factory=list)
    crossings: list[CrossingPlacement] = Field(default_factory=list)


class PairServed(_Record):
    """A firm pair whose walk rises by ``rise_m`` when an item is removed (None: no walk left)."""

    a: str
    b: str
    a_name: str = ""
    b_name: str = ""
    weight: float = 0.0
    rise_m: float | None = None


class AccessChange(_Record):
    """How one item's removal changes the staff-weighted mean walk to the nearest facility of a
    type (:mod:`optimiser.present.attribution`): ``with_m`` with it, ``without_m`` without it,
    each firm's walk capped at the scenario's unreachable penalty as the objective counts it;
    ``staff_unreached``: staff with no facility of the type within reach without it (their walk
    is counted at ``penalty_m``)."""

    type: str
    with_m: float
    without_m: float
    staff_unreached: int = 0
    penalty_m: float = 0.0


class ItemAttribution(_Record):
    """What one built item buys (:mod:`optimiser.present.attribution`).

    ``saving_m``: how much the objective's weighted mean walk (metres) rises when this item
    alone is removed and everything else kept, recomputed by the verifier; never negative.
    ``saving_weighted_m``: the same rise in weighted metres (not divided by the total weight).
    ``pairs_using``: firm pairs whose walk rises without it (``top_pairs``: the largest
    weighted rises); ``firms_relying``: firms whose walk to a facility of its type (or to a
    social space, or a transit stop) rises without it; for a crossing, whose walk to any
    facility, social space or stop does. ``feasible_without``: the layout without it still meets
    every constraint.

    ``saving_m`` mixes every walk term of the objective: besides firm pairs it counts each firm's
    walk to each facility type (staff x access weight) and the coverage penalty, so it is not the
    firm-pair walk of ``walk.optimised_weighted_mean_m``. What it is made of: ``pair_walk_m``, the
    rise of that firm-pair weighted mean walk over pairs with a walk both with and without it
    (None in run directories written before it), ``pairs_disconnected`` the pairs left with no
    walk at all without it;
    ``access``, the staff-weighted mean walk to each facility type with and without the item
    (where it changes); ``staff_uncovered``, the staff who fall outside the social spaces'
    coverage radius without it.
    """

    id: str
    name: str
    kind: str
    type: str = ""
    cost: float = 0.0
    pairs_using: int = 0
    firms_relying: int = 0
    saving_m: float = 0.0
    saving_weighted_m: float = 0.0
    feasible_without: bool | None = None
    top_pairs: list[PairServed] = Field(default_factory=list)
    pair_walk_m: float | None = None
    pairs_disconnected: int = 0
    access: list[AccessChange] = Field(default_factory=list)
    staff_uncovered: int = 0

    @property
    def cost_per_m_saved(self) -> float | None:
        """Capital cost per metre of weighted mean walk saved (None when it saves nothing)."""
        return self.cost / self.saving_m if self.saving_m > 0 else None


class CheckRecord(_Record):
    """One verification check: what was checked, whether it held, and the figures."""

    name: str
    passed: bool
    detail: str = ""


class VerificationMetrics(_Record):
    """The independent verification of the layout (``passed`` is None when nothing was solved)."""

    passed: bool | None = None
    objective: float | None = None
    checks: list[CheckRecord] = Field(default_factory=list)

    @property
    def failures(self) -> list[CheckRecord]:
        """The checks that did not hold."""
        return [c for c in self.checks if not c.passed]


class RunMetrics(_Record):
    """The whole of ``metrics.json``."""

    @property
    def facility_access_mean_m(self) -> tuple[float | None, float | None]:
        """Employee-weighted walk to the nearest facility, averaged over facility types (before,
        after); a type without any facility before counts as missing."""
        fa = self.walk.facility_access.values()
        before = [v.baseline_mean_m for v in fa]
        after = [v.optimised_mean_m for v in fa]
        mean = lambda xs: (sum(xs) / len(xs)) if xs and all(x is not None for x in xs) else None  # noqa: E731
        return mean(before), mean(after)

    run_id: str | None = None
    """The run's id; every file of the run directory carries it (None in run directories
    written before run ids)."""
    status: Status
    message: str = ""
    objective: float | None = None
    objective_weighted_m: float | None = None
    bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    backend: str = ""
    seed: int = 0
    conflicts: list[str] = Field(default_factory=list)
    scenario: ScenarioRef
    site: SiteRef
    walk: WalkMetrics = Field(default_factory=WalkMetrics)
    coverage: Coverage | None = None
    cost: CostMetrics = Field(default_factory=CostMetrics)
    placements: Placements = Field(default_factory=Placements)
    verification: VerificationMetrics = Field(default_factory=VerificationMetrics)
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds by phase: ``candidates_seconds``, ``network_seconds``, ``problem_seconds``,
    ``solve_seconds``, ``verify_seconds``, ``attribution_seconds``, ``outputs_seconds``,
    ``render_seconds``, ``total_seconds`` (those the run went through; transit adds its own), and
    two limits: ``solver_time_limit_seconds``, the time limit asked for (``--time-limit``,
    ``SolveOptions.time_limit_s``: the solver's deterministic work budget derives from it), and
    ``solver_wall_clock_net_seconds``, the wall-clock safety net the solver was given (what was
    left of the run's net, ``WALL_CLOCK_SAFETY_FACTOR`` times the limit widened by the machine's
    load, after the earlier phases). Run directories written before 2026-12-05 held the net
    under ``solver_time_limit_seconds``: read back, it is moved to
    ``solver_wall_clock_net_seconds`` (the limit asked for was not recorded)."""
    model: dict[str, Any] = Field(default_factory=dict)
    stopped_in: str | None = None
    """The phase the run's time limit stopped (``"solve"`` when the solver ran out of time
    before proving optimality or infeasibility); None when nothing was cut short."""
    transit: TransitMetrics | None = None
    objective_mean_m: float | None = None
    """The objective as a weighted mean walk (m): objective / (length scale x total weight),
    every term counted (firm pairs, facility access, social access, coverage penalty)."""
    baseline_objective_mean_m: float | None = None
    """The same for today's layout (nothing built), recomputed by the verifier."""
    attribution: list[ItemAttribution] = Field(default_factory=list)
    """One entry per built item (empty for older run directories and runs without a layout)."""
    futures: list[FutureResult] | None = None
    alternatives: list[AlternativePlan] | None = None
    robust: RobustSummary | None = None
    warnings: list[WarningRecord] = Field(default_factory=list)
    """Site sanity warnings of the inputs (written only when there are any)."""
    stopped_by: str | None = None
    """What ended a solve that did not finish: "work_limit" (deterministic: the same answer on
    any machine), "wall_clock" (the safety net bound the answer) or ``None`` (it finished)."""
    currency: str = "GBP"
    """ISO 4217 code of every amount (budget, costs); run directories from before currencies are GBP."""

    @property
    def solved(self) -> bool:
        """A layout exists (optimal, or feasible with a gap)."""
        return self.status.has_solution

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form written to ``metrics.json`` (non-finite numbers as ``null``; no
        ``warnings`` key when there are none, no ``transit`` key without transit)."""
        omit = ({"warnings"} if not self.warnings else set()) | ({"transit"} if self.transit is None else set())
        return _finite(self.model_dump(mode="python", exclude=omit or None))

    @model_validator(mode="before")
    @classmethod
    def _old_time_limit_key(cls, data: Any) -> Any:
        """A metrics.json from before ``solver_wall_clock_net_seconds`` held the net under
        ``solver_time_limit_seconds``: read it as the net (see ``timings``)."""
        if isinstance(data, dict) and isinstance(data.get("timings"), dict):
            t = data["timings"]
            if "solver_time_limit_seconds" in t and "solver_wall_clock_net_seconds" not in t:
                t = dict(t)
                t["solver_wall_clock_net_seconds"] = t.pop("solver_time_limit_seconds")
                data = {**data, "timings": t}
        return data

    @classmethod
    def from_json_dict(cls, data: Any) -> RunMetrics:
        """Read ``metrics.json`` content; raises pydantic's ``ValidationError`` on wrong types."""
        return cls.model_validate(data)


def _finite(obj: Any) -> Any:
    """JSON-ready copy: non-finite floats as None, enums as their values, tuples as lists."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, Status):
        return obj.value
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj
