"""Two built crossings moved together: a local search move for walks that need two new crossings.

:func:`~optimiser.solve.local_search.swap_crossings` exchanges one built crossing for one not
built, and :func:`~optimiser.solve.crossing_moves.move_crossings` moves one crossing with its
sites. Neither reaches a better layout whose walks cross two barriers over two crossings that are
both not built: each move alone opens nothing over the other barrier and is worse. Measured on
benchmarks/realsites' independent seed 100 (55 firms, four barriers; README there, wave 38):
relax-first's 10 s incumbent (220,059,842) is the optimum (219,900,012) with a dual-carriageway
crossing and an arterial crossing each at another place of its class; each of the two moves alone
is 68,719 worse.

:func:`move_crossing_pairs` screens the pairs of crossings not built by their *synergy* (the
walking saved by the options that need exactly those two:
:func:`~optimiser.solve.pair_moves.pair_synergy`), and for the best few evaluates exactly, with the
sites fixed, every move of two built crossings, one of each target's group and cost, into them:
the budget and the counts stay as they are. On seed 100 the 44 pairs with a synergy take 40 exact
evaluations and find the optimum. The work is bounded by counts (pairs, evaluations), never by the
clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.pair_moves import PairIndex, pair_synergy

PAIR_MOVE_PAIRS = 64
"""At most this many target pairs (the largest synergies first) per search."""

PAIR_MOVE_EVALUATIONS = 400
"""At most this many exact evaluations (layouts with two crossings moved) per search."""


@dataclass(frozen=True)
class PairMoveSearch:
    """What one :func:`move_crossing_pairs` found and read.

    Attributes:
        layout: the best improving layout (0/1 per decision), or ``None`` when no pair move improves.
        objective: its exact objective (the given one when ``layout`` is ``None``).
        pairs: target pairs read (those with a synergy, at most ``max_pairs``).
        evaluations: layouts evaluated exactly (feasibility and objective).
        entries: entries the synergy gathered (:attr:`~optimiser.solve.pair_moves.PairIndex.work`,
            the index's own build included when this search built it).
    """

    layout: np.ndarray | None
    objective: int
    pairs: int
    evaluations: int
    entries: int


def _moves(built: np.ndarray, cls: np.ndarray, first: np.ndarray, second: np.ndarray) -> Iterator[tuple[int, int, int, int]]:
    """Every move ``(out_a, out_b, a, b)`` of two ``built`` crossings into each target pair ``(first, second)`` in
    turn: ``out_a`` of ``a``'s class, ``out_b`` of ``b``'s (``cls``: :meth:`~optimiser.model.problem.Problem.class_ids`)."""
    for a, b in zip(first.tolist(), second.tolist()):
        for out_a in built[cls[built] == cls[a]].tolist():
            for out_b in built[cls[built] == cls[b]].tolist():
                # one class: (out_a, out_b) and (out_b, out_a) give the same layout
                if out_a != out_b and (cls[a] != cls[b] or out_a < out_b):
                    yield out_a, out_b, a, b


def move_crossing_pairs(ev: Evaluator, x: np.ndarray, objective: int, *, index: PairIndex | None = None,
                        max_pairs: int = PAIR_MOVE_PAIRS, max_evaluations: int = PAIR_MOVE_EVALUATIONS) -> PairMoveSearch:
    """The best move of two built crossings into two places not built that need each other, the sites fixed.

    Args:
        ev: the evaluator of the problem.
        x: a feasible layout (0/1 per decision).
        objective: its exact objective.
        index: the evaluator's :class:`~optimiser.solve.pair_moves.PairIndex` when the caller keeps
            one (else built here and counted in ``entries``).
        max_pairs: target pairs screened, the largest synergies first.
        max_evaluations: exact evaluations at most.

    Returns:
        A :class:`PairMoveSearch`; its layout is feasible, has the same crossings per group and
        cost as ``x`` and a lower objective, or is ``None``.
    """
    problem = ev.problem
    crossing = problem.crossing_mask
    built = np.flatnonzero((x == 1) & crossing)
    if built.size == 0 or not (crossing & (x == 0)).any():
        return PairMoveSearch(None, objective, 0, 0, 0)
    work0 = 0 if index is None else index.work
    index = PairIndex(ev) if index is None else index
    length = ev.client_lengths(ev.open_options(x))[0]
    first, second, synergy = pair_synergy(index, x, length, ~crossing)
    cls = problem.class_ids()
    order = np.argsort(-synergy, kind="stable")[:max_pairs]
    best, best_layout, evaluations = objective, None, 0
    for out_a, out_b, a, b in islice(_moves(built, cls, first[order], second[order]), max_evaluations):
        if interrupt.requested():
            break
        y = x.copy()
        y[out_a] = y[out_b] = 0
        y[a] = y[b] = 1
        evaluations += 1
        if (oy := ev.feasible_open(y)) is not None and (obj := int(ev.objective(y, oy))) < best:
            best, best_layout = obj, y
    return PairMoveSearch(best_layout, int(best), int(order.size), evaluations, index.work - work0)
