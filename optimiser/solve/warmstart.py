"""The backend-neutral warm start: the layout every backend is started from.

The best feasible layout of ``starts`` (layouts found elsewhere, e.g. by an earlier phase of
relax-first), or the greedy layout (:func:`optimiser.solve.heuristic.greedy_search`) polished by
local search over sites and crossings (:func:`optimiser.solve.local_search.polish`) when none of
them is feasible. Each backend turns it into its own hint (CP-SAT: a full solution
hint; CBC: a MIP start) and returns it when the solver finds nothing better.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from optimiser.model.problem import Problem
from optimiser.solve.heuristic import Evaluator, HintValues, greedy_search, hint_values
from optimiser.solve.local_search import polish

logger = logging.getLogger(__name__)

GREEDY_MIN_SAFETY_NET_S = 5.0
"""The greedy's wall-clock safety net is the time limit, at least this many seconds (its
work limit, not the clock, ends it on every model measured)."""


@dataclass(frozen=True)
class WarmStart:
    """A start layout and the values of every model variable at it.

    Attributes:
        layout: sorted decision ids, or ``None`` when no start was found.
        objective: its exact objective (integer-scaled), or ``None``.
        hint: the model variables' values at it (:func:`~optimiser.solve.heuristic.hint_values`).
        seconds: wall seconds spent finding it.
        greedy_stopped_by: what ended the greedy ("done", "work limit", "safety net"), or
            ``None`` when the greedy did not run.
    """

    layout: tuple[int, ...] | None = None
    objective: int | None = None
    hint: HintValues | None = None
    seconds: float = 0.0
    greedy_stopped_by: str | None = None


def warm_start(problem: Problem, time_limit_s: float, starts: Iterable[Iterable[int]] = ()) -> WarmStart:
    """The best feasible layout of ``starts``, else the greedy layout polished by local search.

    Args:
        problem: the problem to start.
        time_limit_s: the solve's time limit; the greedy's wall-clock safety net is this (at
            least ``GREEDY_MIN_SAFETY_NET_S``), its work limit ends it first.
        starts: candidate layouts (decision ids) found elsewhere; the greedy runs only when
            none of them is feasible (it takes seconds on the largest models, and an earlier
            phase's layout is the better start there).

    Returns:
        A :class:`WarmStart` (its ``layout`` is ``None`` when nothing feasible was found).
    """
    t = time.perf_counter()
    ev = Evaluator(problem)
    best: tuple[int, ...] | None = None
    best_obj: int | None = None
    best_hint: HintValues | None = None

    def consider(cand: tuple[int, ...]) -> None:
        nonlocal best, best_obj, best_hint
        hint = hint_values(problem, cand, ev)
        if not ev.feasible(hint.x):
            return
        obj = int(ev.objective(hint.x))
        if best_obj is None or obj < best_obj:
            best, best_obj, best_hint = cand, obj, hint

    for cand in starts:
        consider(tuple(sorted(cand)))
    stopped_by = None
    if best is None:
        try:
            greedy = greedy_search(problem, evaluator=ev, safety_net_s=max(GREEDY_MIN_SAFETY_NET_S, time_limit_s))
        except MemoryError:  # pragma: no cover - the solver may still manage without a start
            logger.warning("the greedy warm start ran out of memory; solving without a start", exc_info=True)
        else:
            stopped_by = greedy.stopped_by
            if greedy.layout is not None:
                # measured on benchmarks/realsites: 12 firms, 65 sites: greedy 11.8 % above the
                # optimum, polished the optimum, in 0.2 s (its work is bounded by counts)
                consider(polish(problem, greedy.layout, evaluator=ev,
                                safety_net_s=max(GREEDY_MIN_SAFETY_NET_S, time_limit_s)))
    seconds = time.perf_counter() - t
    logger.info("warm start: %s, objective %s, %.2f s", "greedy" if stopped_by else ("given start" if best else "none"),
                best_obj, seconds)
    return WarmStart(best, best_obj, best_hint, seconds, stopped_by)
