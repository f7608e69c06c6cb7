"""Local search that polishes a feasible layout before an exact solve: the warm start's second step.

Measured on ``benchmarks/realsites`` (issue 17): the greedy layout
(:func:`~optimiser.solve.heuristic.greedy_search`) can be far from the optimum on a real-shaped
site (12 firms, 54 candidate crossings, 65 facility sites: 11.8 % above it, because a facility
type with exactly one new facility cannot be moved by the greedy's drop-and-re-complete swap).
CP-SAT then spends most of a 10 s budget finding a better incumbent and reports a gap of 11 %.
Two neighbourhoods, alternated while either improves:

- the facility sites with the crossings fixed: the exact p-median re-choice and interchange of
  :func:`~optimiser.solve.site_interchange.improve_sites`;
- the crossings with the sites fixed (:func:`swap_crossings`): one built crossing exchanged for
  one not built, the best exchange over all pairs, evaluated exactly and vectorised (for each
  built crossing, one evaluation without it gives the exact gain of adding every other crossing,
  :meth:`~optimiser.solve.heuristic.Evaluator.gains`).

On that site the polished layout is the optimum (0.1 s). Every move is confirmed on the exact
objective and every constraint, so the layout returned is feasible and never worse. The work is
bounded by counts (rounds, candidates confirmed), never by the clock, so the layout is the same on
an idle and a loaded machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator, add_greedy
from optimiser.solve.site_interchange import improve_sites

logger = logging.getLogger(__name__)

POLISH_ROUNDS = 4
"""At most this many rounds of (sites, then crossings); each must improve to go on."""

SWAPS_PER_ROUND = 20
"""At most this many crossing exchanges per round."""

SWAP_CONFIRM = 4
"""Crossing exchanges confirmed per round (best estimated first): an exchange's objective is
exact, only lower-bound constraints (coverage, directness) can reject it."""


def swap_crossings(ev: Evaluator, x: np.ndarray, objective: int) -> tuple[np.ndarray, int] | None:
    """The best improving exchange of one built crossing for one not built, or ``None``.

    Args:
        ev: the evaluator of the problem.
        x: a feasible layout (0/1 per decision).
        objective: its exact objective.

    Returns:
        ``(layout, objective)`` after the best confirmed improving exchange, or ``None`` when no
        exchange improves (or none is feasible).
    """
    problem = ev.problem
    crossing = problem.crossing_mask
    moves: list[tuple[int, int, int]] = []  # (objective after, out, in)
    for out in np.nonzero((x == 1) & crossing)[0].tolist():
        y = x.copy()
        y[out] = 0
        base, gain, allowed = ev.additions(y)
        ok = allowed & crossing & (y == 0)
        ok[out] = False
        after = base - gain
        cand = np.nonzero(ok & (after < objective))[0]
        moves += [(int(after[d]), out, int(d)) for d in cand.tolist()]
    for _after, out, into in sorted(moves)[:SWAP_CONFIRM]:
        z = x.copy()
        z[out], z[into] = 0, 1
        if ev.feasible(z):
            return z, int(ev.objective(z))
    return None


INSERT_CANDIDATES = 8
"""Crossings tried per search of :func:`insert_crossing`: those whose addition alone breaks an
upper-bound constraint (the budget), the largest exact gains first. Measured on held-out
realsites rs015 (55 firms, the greedy layout 9.8 % above the best known): 8 find both improving
insertions (3,863.0M -> 3,567.9M -> 3,534.0M) in 396 objective evaluations and 147 gain
evaluations, 0.58 s of CPU (wave 9, when each ejection evaluated every removal)."""


REMOVALS_EVALUATIONS = 4
"""Objective evaluations one :meth:`~optimiser.solve.heuristic.Evaluator.removals` (every built
crossing's removal priced in one pass) is counted as in :attr:`Insertion.evaluations`. Measured
on the 17 relax-first problems of benchmarks/realsites (a quarter of the decisions chosen, CPU,
median of 15): 1.0-7.1 ms, 2.8-5.1 objective evaluations and at most 3.3 times an evaluation's
charge (relax-first's ``OFFER_INCIDENCES_PER_S``, which is what the count is charged at): an
approximation, larger on small problems, where a call's overhead dominates (7.7 evaluations on
a 97-decision district). Evaluating each removal instead cost one evaluation per built crossing
at every ejection (rs028: 20-60)."""


@dataclass(frozen=True)
class Insertion:
    """What one search of :func:`insert_crossing` found and cost.

    Attributes:
        layout: the improved layout (0/1 per decision), or ``None`` when no insertion improves.
        objective: its exact objective (the incumbent's when ``layout`` is ``None``).
        evaluations: objective (and feasibility) evaluations run, each over every incidence (a
            pass of removal losses counted as ``REMOVALS_EVALUATIONS``).
        gain_evaluations: evaluations of every addition's exact gain
            (:meth:`~optimiser.solve.heuristic.Evaluator.additions`), each over every incidence.
    """

    layout: np.ndarray | None
    objective: int
    evaluations: int
    gain_evaluations: int


def cheapest_removal(ev: Evaluator, y: np.ndarray, among: np.ndarray, keep: int) -> int | None:
    """Of the decisions chosen in layout ``y`` and flagged in ``among``, other than ``keep``, the
    one whose removal raises the objective least (ties to the lowest id; every removal priced in
    one pass, :meth:`~optimiser.solve.heuristic.Evaluator.removals`), or ``None`` when there is
    none."""
    built = np.nonzero((y == 1) & among)[0]
    built = built[built != keep]
    if built.size == 0:
        return None
    _, loss = ev.removals(y)
    return int(built[np.argmin(loss[built])])  # argmin: the first of equal losses, the lowest id


def insert_crossing(ev: Evaluator, x: np.ndarray, objective: int, candidates: int = INSERT_CANDIDATES) -> Insertion:
    """The best improving insertion of a crossing that does not fit: built crossings ejected
    until it fits, then the layout re-completed greedily.

    One-for-one exchanges (:func:`swap_crossings`) and the greedy's drop-and-re-complete cannot
    trade several cheap crossings for one dear one, nor one dear crossing for another when the
    budget is nearly spent: the move of a layout whose cheap crossings each serve a little
    towards one that needs a dear crossing to reach a firm enclosed by barriers (held-out
    realsites rs015: the greedy builds six signals on the dual carriageway and two
    footbridges; the best known layout three footbridges, one of them the only way into
    the enclosed firm's pocket that serves its pairs well, 8.9 % less walking). For each of
    the ``candidates`` crossings with the largest exact gain whose addition breaks an
    upper-bound constraint: add it, drop the built crossing whose removal raises the objective
    least (every removal priced in one pass, :meth:`~optimiser.solve.heuristic.Evaluator.removals`;
    ties to the lowest id) while an upper bound is still broken, re-complete by the greedy's additions (by gain
    and by gain per cost; :func:`~optimiser.solve.heuristic.greedy_search` phase (b)) and
    confirm the result on every constraint.

    Args:
        ev: the evaluator of the problem.
        x: a feasible layout (0/1 per decision).
        objective: its exact objective.
        candidates: how many crossings to try.

    Returns:
        The best improving insertion (:class:`Insertion`; ``layout`` ``None`` when none
        improves), with the evaluations it ran (its work: a count, so the same on an idle and
        a loaded machine).
    """
    problem = ev.problem
    crossing = problem.crossing_mask
    _, gain, allowed = ev.additions(x)
    n_eval, n_gain = 0, 1
    pool = np.nonzero(crossing & (x == 0) & ~allowed & (gain > 0))[0]
    pool = pool[np.argsort(-gain[pool], kind="stable")][:candidates]
    none = np.zeros(ev.n_d, dtype=bool)
    best: tuple[np.ndarray, int] | None = None
    for c in pool.tolist():
        y = x.copy()
        y[c] = 1
        while not ev.upper_ok(ev.open_options(y)):
            out = cheapest_removal(ev, y, crossing, keep=c)
            if out is None:
                break
            n_eval += REMOVALS_EVALUATIONS
            y = y.copy()
            y[out] = 0
        else:
            for per_cost in (False, True):
                z = add_greedy(ev, y, none, per_cost)
                n_gain += int((z != y).sum()) + 1  # one evaluation per addition, one to find none
                n_eval += 1
                if ev.feasible(z):
                    obj = int(ev.objective(z))
                    if obj < objective and (best is None or obj < best[1]):
                        best = (z, obj)
    if best is None:
        return Insertion(None, objective, n_eval, n_gain)
    return Insertion(best[0], best[1], n_eval, n_gain)


def polish(problem: Problem, layout: Iterable[int], *, evaluator: Evaluator | None = None,
           safety_net_s: float = 60.0) -> tuple[int, ...]:
    """A feasible layout improved by alternating site and crossing exchanges (module docstring).

    Args:
        problem: the problem.
        layout: a feasible layout (decision ids); an infeasible one is returned unchanged.
        evaluator: an :class:`~optimiser.solve.heuristic.Evaluator` of ``problem``.
        safety_net_s: wall-clock safety net of the site search (its work limit ends it first).

    Returns:
        The sorted decision ids of a layout no worse than ``layout``.
    """
    ev = evaluator or Evaluator(problem)
    x = ev.layout(layout)
    if not ev.feasible(x):
        return tuple(sorted(int(i) for i in layout))
    obj = int(ev.objective(x))
    start = obj
    for _ in range(POLISH_ROUNDS):
        improved = False
        sites = improve_sites(problem, np.nonzero(x)[0].tolist(), evaluator=ev, safety_net_s=safety_net_s)
        y = ev.layout(sites)
        if ev.feasible(y) and int(ev.objective(y)) < obj:
            x, obj, improved = y, int(ev.objective(y)), True
        for _ in range(SWAPS_PER_ROUND):
            if interrupt.requested():
                break
            step = swap_crossings(ev, x, obj)
            if step is None:
                break
            x, obj = step
            improved = True
        if not improved or interrupt.requested():
            break
    logger.debug("polish: %s -> %s", start, obj)
    return tuple(int(i) for i in np.nonzero(x)[0])
