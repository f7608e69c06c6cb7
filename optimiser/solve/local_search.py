"""Local search that polishes a feasible layout before an exact solve: the warm start's second step.

Measured on ``benchmarks/realsites`` (issue 17): the greedy layout
(:func:`~optimiser.solve.heuristic.greedy_search`) can be far from the optimum on a real-shaped
site (12 firms, 54 candidate crossings, 65 facility sites: 11.8 % above it, because a facility
type with exactly one new facility cannot be moved by the greedy's drop-and-re-complete swap).
CP-SAT then spends most of a 10 s budget finding a better incumbent and reports a gap of 11 %.
Two neighbourhoods, alternated while either improves:

- the facility sites with the crossings fixed: the exact p-median re-choice and interchange of
  :func:`~optimiser.solve.heuristic.improve_sites`;
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

import numpy as np

from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator, improve_sites

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
    crossing = np.array([d.kind == "crossing" for d in problem.decisions], dtype=bool)
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
