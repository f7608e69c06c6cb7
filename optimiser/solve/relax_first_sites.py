"""Relax-first's exact site re-choice (phase 1 of :mod:`optimiser.solve.relax_first`): the greedy
layout's crossings fixed, its facility and social-space sites chosen by the backend; then its crossings
moved with their sites (:func:`crossings_moved`), and two at a time (:func:`crossing_pairs_moved`).

With every crossing fixed, every walk to a facility is a nearest-open-site length and the model
left is a facility-location problem over the sites alone, with every rule of the exact model
(counts, spacing, footprints, coverage, the budget). It is small (the options over an unbuilt
crossing are dropped, the walks over built ones stop at the first always-open level) and its LP,
built eagerly, is nearly integral, so CP-SAT proves its optimum in a fraction of a deterministic
unit. The interchange of :func:`~optimiser.solve.site_interchange.improve_sites` moves one site at a time
(each kind re-chosen as a p-median with the others fixed) and misses layouts that need two moves
at once: on the independent generator's seed 116 (benchmarks/realsites README, wave 35) the best
sites for the greedy's crossings swap the kinds of two parcels' facilities and move two more,
6.27 % below the greedy's layout, which interchange left as it was. A function of the run
(:class:`~optimiser.solve.relax_first.RelaxFirst`: its incumbent, work account and backend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.transforms import fix_decisions
from optimiser.solve.crossing_moves import MOVE_CONFIRM, MOVE_MAX_SCREENED, move_crossings, move_targets
from optimiser.solve.crossing_pairs import PAIR_MOVE_EVALUATIONS, move_crossing_pairs
from optimiser.solve.pair_moves import PairIndex
from optimiser.solve.relax_first_settings import (
    FIX_CROSSINGS_SECONDS_PER_LEVEL,
    IMPROVE_INCIDENCES_PER_S,
    MOVE_SECONDS_PER_CELL,
    MOVE_SECONDS_PER_INCIDENCE,
    MOVE_SETUP_SECONDS_PER_INCIDENCE,
    MOVE_SHARE,
    OFFER_INCIDENCES_PER_S,
    PAIR_MOVE_SECONDS_PER_ENTRY,
    PAIR_MOVE_SECONDS_PER_EVALUATION,
    PAIR_MOVE_SECONDS_PER_INCIDENCE,
    PAIR_MOVE_SHARE,
    SITES_EXACT_SHARE,
)
from optimiser.solve.result import Status

if TYPE_CHECKING:
    from optimiser.solve.relax_first import RelaxFirst


def sites_exact(run: RelaxFirst, where: str) -> bool:
    """The incumbent's sites re-chosen by the backend with its crossings fixed; whether that proved
    them the best for those crossings (the caller re-chooses them by interchange otherwise).

    Worth ``SITES_EXACT_SHARE`` of the planned limit: its set-up (by the radius levels the fixed
    problem has at most, counted before it is built) and a search on the eager LP, warm-started
    from the incumbent; skipped when that budget does not leave a minimum search
    (:meth:`RelaxFirst.affords`). Charged to "sites exact": the fixing
    (``FIX_CROSSINGS_SECONDS_PER_LEVEL`` per level of the problem fixed), the set-up and the
    deterministic units used. ``run.info["sites_exact"]`` says what it did."""
    if SITES_EXACT_SHARE <= 0 or run.best is None or not run.layout:
        return False
    built = set(run.layout)
    crossings = [i for i, is_crossing in enumerate(run.is_crossing) if is_crossing and i not in run.fixed]
    budget = SITES_EXACT_SHARE * run.limit_s
    levels = run.reduced_levels(run.fixed | {i for i in crossings if i not in built})  # an upper bound
    source = run.reduced()
    fix_s = source.n_levels() * FIX_CROSSINGS_SECONDS_PER_LEVEL
    info: dict[str, object] = {"levels_at_most": levels}
    run.info["sites_exact"] = info
    if run.remaining() < fix_s + budget or not run.affords(levels, budget):
        info["skipped"] = "budget below its set-up"
        return False
    run.charge(fix_s, "sites exact")
    problem = fix_decisions(source, {i: int(i in built) for i in crossings})
    before = run.best
    r = run.backend_solve(problem, budget, "sites exact", eager_lp=True, shown=(False, False), starts=(run.layout,))
    info.update(levels=problem.n_levels(), status=r.status.value)
    if r.status.has_solution:
        run.offer(r.chosen, where)
    info["gain"] = before - run.best
    if r.status is not Status.OPTIMAL:
        return False
    # the best sites for these crossings: interchange cannot improve them
    run._improved.add(tuple(sorted(int(i) for i in r.chosen)))
    return True


def move_charge(run: RelaxFirst, moves: int, cells: int, built: int, confirmed: int) -> float:
    """Nominal seconds charged for a search of crossing moves (:func:`crossings_moved`): its set-up,
    ``built`` crossings moved, ``moves`` screened reading ``cells`` matrix cells, ``confirmed`` confirmations."""
    size = run.ev.size
    return (size * (MOVE_SETUP_SECONDS_PER_INCIDENCE + built * MOVE_SECONDS_PER_INCIDENCE)
            + moves * 2 * size / OFFER_INCIDENCES_PER_S + cells * MOVE_SECONDS_PER_CELL
            + confirmed * size / IMPROVE_INCIDENCES_PER_S)


def crossings_moved(run: RelaxFirst, where: str) -> bool:
    """The incumbent's built crossings moved, one at a time, to another place of the same group and
    cost, the sites re-chosen with them (:func:`~optimiser.solve.crossing_moves.move_crossings`); the
    best confirmed improvement offered. Not when the relaxation is large. Runs when its charge (:func:`move_charge`, with the moves and
    a bound on the cells counted first) is at most ``MOVE_SHARE`` of the planned limit and is left;
    ``run.info["crossings_moved"]`` says what it did. Whether the incumbent improved."""
    if MOVE_SHARE <= 0 or run.large or run.best is None or not run.layout:
        return False
    if not (run.info.get("sites_exact") or {}).get("gain"):
        return False  # the greedy's sites were the best for its crossings: its crossings were chosen for them
    problem = run.problem
    x = run.ev.layout(run.layout)
    built = [i for i in run.layout if run.is_crossing[i]]
    moves = min(MOVE_MAX_SCREENED, sum(same.size for _, same in move_targets(problem, x)))
    # the screen reads, per move and open site, the clients walking to a site x the closed sites of its class
    site_class = problem.class_ids().tolist()
    closed_of: dict[int, int] = {}
    for i, c in enumerate(run.is_crossing):
        if not c and not x[i]:
            closed_of[site_class[i]] = closed_of.get(site_class[i], 0) + 1
    per_client = sum(closed_of.get(site_class[i], 0) for i in run.layout if not run.is_crossing[i])
    cells = (moves + 1) * per_client * sum(1 for cl in problem.clients if cl.kind != "pair")  # at most (and its own)
    info: dict[str, object] = {"moves": moves}
    run.info["crossings_moved"] = info
    estimate = move_charge(run, moves, cells, len(built), MOVE_CONFIRM)
    if not moves or estimate > min(run.remaining(), MOVE_SHARE * run.limit_s):
        info["skipped"] = "none" if not moves else "over its share"
        return False
    search = move_crossings(run.ev, x, int(run.best), max_screened=MOVE_MAX_SCREENED,
                            safety_net_s=max(0.2, run.wall_left()))
    run.charge(move_charge(run, search.screened, search.cells, len(built), search.confirmed), "crossings moved")
    before = run.best
    info.update(screened=search.screened, confirmed=search.confirmed)
    if search.layout is not None:
        layout = tuple(int(i) for i in np.flatnonzero(search.layout))
        run.offer(layout, where)
        run._improved.add(layout)  # interchange's local optimum
    info["gain"] = before - run.best
    return run.best < before


@dataclass
class PairMoves:
    """A run's state of :func:`crossing_pairs_moved`: the evaluator's pair index (built at the first
    search, kept for the next) and the layouts searched from (a search from one again finds the same)."""

    index: PairIndex | None = None
    searched: set[tuple[int, ...]] = field(default_factory=set)


def pair_move_charge(run: RelaxFirst, evaluations: int, entries: int) -> float:
    """Nominal seconds charged for a search of pair moves (:func:`crossing_pairs_moved`): ``entries`` gathered
    (the pair index's build and the synergy) and ``evaluations`` layouts evaluated exactly."""
    per_evaluation = run.ev.size * PAIR_MOVE_SECONDS_PER_INCIDENCE + PAIR_MOVE_SECONDS_PER_EVALUATION
    return entries * PAIR_MOVE_SECONDS_PER_ENTRY + evaluations * per_evaluation


def crossing_pairs_moved(run: RelaxFirst, where: str) -> bool:
    """The incumbent's built crossings moved two at a time into two places not built that need each
    other (:func:`~optimiser.solve.crossing_pairs.move_crossing_pairs`, the sites fixed); the best
    improvement offered (phase 1's polish, when no exchange improves). Not when the relaxation is large,
    nor from a layout searched before. Its evaluations are as many as ``PAIR_MOVE_SHARE`` of the planned
    limit (or the work left, if less) pays for after the pair index's build, at most
    ``PAIR_MOVE_EVALUATIONS``; none, no search.
    ``run.info["crossing_pairs"]``: [searches, evaluations, improving]. Whether the incumbent improved."""
    state = run.pair_moves
    if PAIR_MOVE_SHARE <= 0 or run.large or run.best is None or not run.layout or run.layout in state.searched:
        return False
    state.searched.add(run.layout)
    build = 0 if state.index is not None else PairIndex.build_work(run.ev)
    left = min(run.remaining(), PAIR_MOVE_SHARE * run.limit_s) - pair_move_charge(run, 0, build)
    evaluations = min(PAIR_MOVE_EVALUATIONS, int(max(0.0, left) / pair_move_charge(run, 1, 0)))
    if evaluations < 1:
        return False
    if state.index is None:
        state.index = PairIndex(run.ev)
    search = move_crossing_pairs(run.ev, run.ev.layout(run.layout), int(run.best), index=state.index,
                                 max_evaluations=evaluations)
    run.charge(pair_move_charge(run, search.evaluations, search.entries + build), "crossings moved in pairs")
    acc = run.info.setdefault("crossing_pairs", [0, 0, 0])
    acc[0] += 1
    acc[1] += search.evaluations
    if search.layout is None:
        return False
    before = run.best
    run.offer(np.flatnonzero(search.layout).tolist(), where)
    acc[2] += int(run.best < before)
    return run.best < before
