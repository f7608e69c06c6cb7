"""An item's result record (``result.json``, format ``placemaking-batch-result/1``) and its statuses.

A record is written atomically as an item's very last step and is the only thing that marks the
item finished. It holds the item's key, name and overrides, its :class:`ItemStatus`, the exit
code ``siteopt run`` would give, a reason for a failure, the seconds it took and a flat summary
of the run's metrics (``walk.optimised_weighted_mean_m``, ``cost.capital``, ...).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypedDict, cast

from optimiser.errors import ExitCode
from optimiser.present.metrics import RunMetrics
from optimiser.solve.result import Status

logger = logging.getLogger(__name__)

RESULT_FORMAT = "placemaking-batch-result/1"

METRE_DECIMALS = 1
"""Decimals of the mean walks a record computes itself (facility access, newly connected pairs),
as metrics.json's ``walk.*_weighted_mean_m``."""

ItemMetrics = TypedDict("ItemMetrics", {
    "objective_mean_m": float | None,
    "baseline_objective_mean_m": float | None,
    "facility_access.baseline_mean_m": float | None,
    "facility_access.optimised_mean_m": float | None,
    "coverage.baseline_share": float | None,
    "coverage.optimised_share": float | None,
    "objective": float | None,
    "bound": float | None,
    "gap": float | None,
    "stopped_by": str | None,
    "solve_seconds": float | None,
    "backend": str,
    "seed": int,
    "walk.baseline_weighted_mean_m": float | None,
    "walk.optimised_weighted_mean_m": float | None,
    "walk.reduction_pct": float | None,
    "walk.pairs_newly_connected": int | None,
    "walk.newly_connected_weighted_mean_m": float | None,
    "cost.capital": float | None,
    "cost.budget": float | None,
    "currency": str,
    "placements.shared_facilities": int,
    "placements.social_spaces": int,
    "placements.crossings": int,
    "verification.passed": bool | None,
})
"""A record's flat metrics (:func:`summary_metrics`; results.csv's columns): typed for callers
of :func:`~optimiser.batch.run_batch`, e.g. ``rec["metrics"]["walk.reduction_pct"]``."""


class _Record(TypedDict):
    format: str
    key: str
    name: str
    overrides: dict[str, Any]
    status: str
    exit_code: int
    error: str | None
    seconds: float
    metrics: ItemMetrics | None
    run_id: str | None
    finished_at: str


class ItemRecord(_Record, total=False):
    """The content of one ``result.json`` (JSON-ready; :func:`make_record`), typed for callers of
    :func:`~optimiser.batch.run_batch` (it was ``dict[str, Any]``: a misspelt key or a wrong
    type passed ``mypy --strict``). :attr:`~optimiser.batch.runner.BatchSummary.records` adds
    ``index`` (the item's place in the batch) and ``run_dir`` (its run directory)."""

    index: int
    run_dir: str


class ItemStatus(StrEnum):
    """What became of a batch item.

    The solver's statuses (``unknown`` is reported as ``no_solution``), ``invalid`` (the item's
    scenario failed validation), ``verification_failed`` (a bug: the layout failed the
    independent check), ``error`` (an exception) and ``crashed`` (the worker process died).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    INVALID = "invalid"
    VERIFICATION_FAILED = "verification_failed"
    ERROR = "error"
    CRASHED = "crashed"

    @classmethod
    def of(cls, status: Status) -> ItemStatus:
        """The item status for a solver status."""
        return cls.NO_SOLUTION if status is Status.UNKNOWN else cls(status.value)

    @property
    def solve_status(self) -> Status | None:
        """The solver status this item status stands for (``None`` for the batch-only ones)."""
        if self is ItemStatus.NO_SOLUTION:
            return Status.UNKNOWN
        return Status(self.value) if self.value in Status.__members__.values() else None

    @property
    def has_solution(self) -> bool:
        """The item has a layout (optimal, or feasible with a gap)."""
        s = self.solve_status
        return s is not None and s.has_solution

    @property
    def failed(self) -> bool:
        """The item failed for a reason other than its scenario (``error`` or ``crashed``):
        re-run with ``retry_failed``."""
        return self in (ItemStatus.ERROR, ItemStatus.CRASHED)

    @property
    def is_problem(self) -> bool:
        """The item gave no answer to its scenario: ``invalid``, ``error``, ``crashed`` or
        ``verification_failed`` (infeasible and no_solution are answers; the batch's exit code,
        :attr:`optimiser.errors.ExitCode.ITEMS_FAILED`, follows these)."""
        return self in (ItemStatus.INVALID, ItemStatus.ERROR, ItemStatus.CRASHED, ItemStatus.VERIFICATION_FAILED)


def is_solved(status: object) -> bool:
    """Whether a record's ``status`` value names an item with a layout."""
    return status in ItemStatus.__members__.values() and ItemStatus(str(status)).has_solution


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def _metres(v: float | None) -> float | None:
    """A mean walk rounded as metrics.json rounds the walk means (0.1 m); None if not finite."""
    f = _finite(v)
    return None if f is None else round(f, METRE_DECIMALS)


def summary_metrics(m: RunMetrics) -> ItemMetrics:
    """The flat metrics of a record (what results.csv and pareto.csv read).

    Args:
        m: the run's metrics.

    Returns:
        ``objective``, ``bound``, ``gap``, ``stopped_by`` (``work_limit``: the same answer on any
        machine; ``wall_clock``: the safety net bound it; ``None``: the search finished), ``solve_seconds``, ``backend``, ``seed``,
        ``walk.*_m``/``walk.reduction_pct``, ``walk.pairs_newly_connected`` (pairs with no walk
        before and one after) and ``walk.newly_connected_weighted_mean_m``,
        ``cost.capital``/``cost.budget`` (in ``currency``), ``currency``, ``placements.*`` (counts) and
        ``verification.passed``; non-finite numbers as ``None``.
    """
    walk, pl = m.walk, m.placements
    fa_before, fa_after = m.facility_access_mean_m
    cov = m.coverage
    return {
        "objective_mean_m": _finite(m.objective_mean_m),
        "baseline_objective_mean_m": _finite(m.baseline_objective_mean_m),
        "facility_access.baseline_mean_m": _metres(fa_before),
        "facility_access.optimised_mean_m": _metres(fa_after),
        "coverage.baseline_share": _finite(cov.baseline_share) if cov else None,
        "coverage.optimised_share": _finite(cov.optimised_share) if cov else None,
        "objective": _finite(m.objective),
        "bound": _finite(m.bound),
        "gap": _finite(m.gap),
        "stopped_by": m.stopped_by,
        "solve_seconds": _finite(m.solve_seconds),
        "backend": m.backend,
        "seed": m.seed,
        "walk.baseline_weighted_mean_m": _finite(walk.baseline_weighted_mean_m),
        "walk.optimised_weighted_mean_m": _finite(walk.optimised_weighted_mean_m),
        "walk.reduction_pct": _finite(walk.reduction_pct),
        "walk.pairs_newly_connected": walk.pairs_newly_connected,
        "walk.newly_connected_weighted_mean_m": _metres(walk.newly_connected_weighted_mean_m),
        "cost.capital": _finite(m.cost.capital),
        "cost.budget": _finite(m.cost.budget),
        "currency": m.currency,
        "placements.shared_facilities": len(pl.shared_facilities),
        "placements.social_spaces": len(pl.social_spaces),
        "placements.crossings": len(pl.crossings),
        "verification.passed": m.verification.passed,
    }


def make_record(key: str, name: str, overrides: Mapping[str, Any], status: ItemStatus, exit_code: ExitCode,
                seconds: float, metrics: RunMetrics | None = None, error: str | None = None) -> ItemRecord:
    """One item's result record.

    Args:
        key, name, overrides: the item's.
        status: what became of it; exit_code: what ``siteopt run`` would exit with.
        seconds: wall time of the item.
        metrics: the run's metrics, if it got that far (its ``run_id`` is the record's: the
            run directory's files and its ``result.json`` carry the same id).
        error: the reason for a status other than optimal/feasible.

    Returns:
        The JSON-ready record, stamped with the time it finished (UTC).
    """
    return {
        "format": RESULT_FORMAT,
        "key": key,
        "name": name,
        "overrides": dict(overrides),
        "status": status.value,
        "exit_code": int(exit_code),
        "error": error,
        "seconds": round(seconds, 3),
        "metrics": summary_metrics(metrics) if metrics is not None else None,
        "run_id": metrics.run_id if metrics is not None else None,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def read_result(path: str | os.PathLike[str], key: str) -> ItemRecord | None:
    """A finished item's record.

    Args:
        path: the item's ``result.json``.
        key: the item's key (a record for another key does not count).

    Returns:
        The record, or ``None`` if ``path`` is missing, unreadable, not a result record or for
        another key (half-written files never count).
    """
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != RESULT_FORMAT or rec.get("key") != key:
        return None
    if rec.get("status") not in ItemStatus.__members__.values():
        return None
    return cast(ItemRecord, rec)
