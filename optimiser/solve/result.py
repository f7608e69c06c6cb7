"""The solve result: always complete, whatever the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from optimiser.errors import ExitCode
from optimiser.solve.interrupt import signal_name


class Status(StrEnum):
    """What a solve found. A ``StrEnum``: ``Status.OPTIMAL == "optimal"`` and JSON writes the
    plain string."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"
    INTERRUPTED = "interrupted"

    @property
    def has_solution(self) -> bool:
        """A layout exists: proven optimal, or feasible with a gap. An interrupted solve has
        none, even when its search had an incumbent (:mod:`optimiser.solve.interrupt`)."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def exit_code(self) -> ExitCode:
        """The CLI exit code for this status."""
        return {Status.OPTIMAL: ExitCode.OK, Status.FEASIBLE: ExitCode.OK,
                Status.INFEASIBLE: ExitCode.INFEASIBLE, Status.UNKNOWN: ExitCode.NO_SOLUTION,
                Status.INTERRUPTED: ExitCode.INTERRUPTED}[self]


@dataclass(frozen=True)
class SolveResult:
    """What a backend found.

    Attributes:
        status: "optimal" (proven), "feasible" (incumbent, gap > 0, e.g. time limit),
            "infeasible" (proven; see ``conflicts``), "unknown" (no solution in time),
            "interrupted" (stopped by SIGINT / SIGTERM; no layout kept).
        objective: integer-scaled objective of the incumbent; ``None`` without one.
        bound: best proven lower bound (integer-scaled); ``None`` if the backend has none.
        gap: relative gap (objective - bound) / max(|objective|, 1) (:func:`relative_gap`); 0.0
            when proven optimal; ``None`` without an objective or a bound.
        solve_seconds: wall-clock seconds spent in the solver.
        backend: "cpsat" or "cbc".
        seed: random seed used.
        chosen: indices of the chosen decisions (into ``Problem.decisions``), sorted.
        chosen_keys: the same decisions by key ("crossing:<id>", "facility:<type>:<k>",
            "social:<k>"), in the order of ``chosen``; set by :func:`optimiser.solve.strategy.solve`.
        conflicts: for "infeasible", planner-facing descriptions of conflicting requirements.
        message: one line for humans.
        stats: backend figures.
        stopped_by: what ended a search that did not finish: "work_limit" (a deterministic
            limit: the same answer on an idle and a loaded machine), "wall_clock" (the
            safety net bound the answer: it may differ on a faster or slower machine) or
            "interrupted"; ``None`` when the search finished (proven optimal or infeasible).
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    backend: str
    seed: int
    chosen: tuple[int, ...] = ()
    conflicts: tuple[str, ...] = ()
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    chosen_keys: tuple[str, ...] = ()

    @property
    def chosen_ids(self) -> tuple[str, ...]:
        """The chosen items by id: a crossing's id, a candidate site's key (``chosen_keys`` without
        the "crossing:" prefix); empty when the keys were not set."""
        return tuple(k.removeprefix("crossing:") for k in self.chosen_keys)

    @property
    def timings(self) -> dict[str, float]:
        """Where the solve's time went: ``solve_s`` (the whole call, wall clock) and, where the
        backend reports them, ``search_s`` (its own search, wall clock), ``warm_start_s`` (the
        greedy start) and ``work`` (the deterministic work counted against the budget: CP-SAT's
        deterministic time, or relax-first's nominal seconds; the same on a busy machine)."""
        out = {"solve_s": round(self.solve_seconds, 3)}
        relaxation = self.stats.get("relaxation")
        work = (relaxation.get("work_s") or {}).get("total") if isinstance(relaxation, dict) else None
        search = None if isinstance(relaxation, dict) else self.stats.get("wall_seconds")  # relax-first: many searches
        for name, value in (("search_s", search), ("warm_start_s", self.stats.get("greedy_seconds")),
                            ("work", work if work is not None else self.stats.get("deterministic_time"))):
            if isinstance(value, int | float):
                out[name] = round(float(value), 3)
        return out

    def chosen_items(self, problem: Any) -> list[Any]:
        """The chosen :class:`~optimiser.model.problem.Decision` objects of ``problem`` (key, kind,
        group, cost, label), in the order of ``chosen``."""
        return [problem.decisions[i] for i in self.chosen]
    stopped_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        has_solution = self.status.has_solution
        if has_solution and self.objective is None:
            raise ValueError(f"a {self.status} result needs an objective")
        if not has_solution and self.chosen:
            raise ValueError(f"a {self.status} result cannot choose anything")
        if self.status is Status.INFEASIBLE and not self.conflicts:
            raise ValueError("an infeasible result must say which requirements conflict")
        if self.stopped_by is not None and self.stopped_by not in STOPPED_BY:
            raise ValueError(f"stopped_by must be one of {STOPPED_BY} or None, not {self.stopped_by!r}")


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective - bound) / max(|objective|, 1); ``None`` if either is missing."""
    if objective is None or bound is None:
        return None
    return max(0.0, (objective - bound) / max(abs(objective), 1.0))


def interrupted_result(backend: str, seed: int, seconds: float, bound: float | None,
                       incumbent_objective: float | None, stats: dict[str, Any] | None = None) -> SolveResult:
    """The result of a solve stopped by SIGINT / SIGTERM: no layout, the incumbent's objective
    (if any) kept in ``stats`` for the log, and a message that says it was interrupted."""
    have = f"; the incumbent (objective {incumbent_objective:,.0f}) was not kept" if incumbent_objective is not None else ""
    return SolveResult(Status.INTERRUPTED, None, bound, None, seconds, backend, seed, (), (),
                       f"interrupted by {signal_name()}{have}",
                       {**(stats or {}), "incumbent_objective": incumbent_objective}, stopped_by="interrupted")


STOPPED_BY = ("work_limit", "wall_clock", "interrupted")
"""The values of :attr:`SolveResult.stopped_by` (besides ``None``)."""


def combine_stopped_by(*values: str | None) -> str | None:
    """What ended a solve made of several searches: "interrupted" over "wall_clock" over
    "work_limit" (the wall clock bound the answer if it bound any part of it)."""
    for v in ("interrupted", "wall_clock", "work_limit"):
        if v in values:
            return v
    return None
