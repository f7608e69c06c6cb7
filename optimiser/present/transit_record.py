"""``metrics.json``'s ``transit`` section as typed records (:class:`TransitMetrics`), filled by
:func:`optimiser.present.transit.transit_metrics`."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


def stop_name(line_name: str, key: str) -> str:
    """A new stop's name wherever it is shown: its alignment's name and the candidate's number
    ('Supertram extension stop 47' for ``stop:47``)."""
    return f"{line_name} stop {key.split(':')[-1]}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=False)


class TransitStopRecord(_Record):
    """A transit stop: new (chosen) or existing; ``x``, ``y`` in the site CRS (m)."""

    id: str
    name: str = ""
    line: str = ""
    x: float
    y: float
    cost: float = Field(default=0.0, validation_alias=AliasChoices("cost", "cost_gbp"))
    """In the run's currency (``cost_gbp`` in run directories from before currencies)."""
    existing: bool = False


class TransitMetrics(_Record):
    """New stops along a transit alignment and what they reach on foot (``metrics.json`` ``transit``).

    ``covered_*``: staff (employees) whose walk to the nearest stop (new or existing) is at most
    ``catchment_m``; ``mean_walk*_m``: the staff-weighted mean of that walk over firms with a
    walk (``employees_without_walk`` have none). ``*_existing_crossings_only``: the best stops
    for the same objective with no new crossing (solved in the same run); ``*_today``: existing
    stops only.
    """

    objective: str
    catchment_m: float
    stops: list[TransitStopRecord] = Field(default_factory=list)
    existing_stops: list[TransitStopRecord] = Field(default_factory=list)
    crossings: list[str] = Field(default_factory=list)
    capital: float = Field(default=0.0, validation_alias=AliasChoices("capital", "capital_gbp"))
    """The new stops' capital cost, in the run's currency (also ``cost.transit_stops``)."""
    total_employees: int = 0
    covered_employees: int | None = None
    covered_employees_existing_crossings_only: int | None = None
    covered_employees_today: int = 0
    mean_walk_m: float | None = None
    mean_walk_existing_crossings_only_m: float | None = None
    mean_walk_today_m: float | None = None
    employees_without_walk: int | None = None
    stops_existing_crossings_only: list[TransitStopRecord] = Field(default_factory=list)
    existing_crossings_only_status: str | None = None

    @property
    def exclusive(self) -> bool:
        """The transit term was the run's whole objective (``max_coverage``, ``min_mean_walk``;
        as :attr:`optimiser.inputs.domain.TransitSpec.exclusive`): the walk between firms was not
        optimised."""
        return self.objective != "weighted"
