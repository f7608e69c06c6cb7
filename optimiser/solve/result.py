"""The solve result: always complete, whatever the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class SolveResult:
    """What a backend found.

    Attributes:
        status: "optimal" (proven), "feasible" (incumbent, gap > 0, e.g. time limit),
            "infeasible" (proven; see ``conflicts``), "unknown" (no solution in time).
        objective: integer-scaled objective of the incumbent; ``None`` without one.
        bound: best proven lower bound (integer-scaled); ``None`` if the backend has none.
        gap: relative gap (objective - bound) / objective; 0.0 when proven optimal.
        solve_seconds: wall-clock seconds spent in the solver.
        backend: "cpsat" or "cbc".
        seed: random seed used.
        chosen: ids of the chosen decisions (into ``Problem.decisions``), sorted.
        conflicts: for "infeasible", planner-facing descriptions of conflicting requirements.
        message: one line for humans.
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
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        has_solution = self.status in ("optimal", "feasible")
        if has_solution and self.objective is None:
            raise ValueError(f"a {self.status} result needs an objective")
        if not has_solution and self.chosen:
            raise ValueError(f"a {self.status} result cannot choose anything")
        if self.status == "infeasible" and not self.conflicts:
            raise ValueError("an infeasible result must say which requirements conflict")


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective - bound) / max(|objective|, 1); ``None`` if either is missing."""
    if objective is None or bound is None:
        return None
    return max(0.0, (objective - bound) / max(abs(objective), 1.0))
