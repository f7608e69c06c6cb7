"""Relax-first's exact site re-choice (phase 1 of :mod:`optimiser.solve.relax_first`): the greedy
layout's crossings fixed, its facility and social-space sites chosen by the backend.

With every crossing fixed, every walk to a facility is a nearest-open-site length and the model
left is a facility-location problem over the sites alone, with every rule of the exact model
(counts, spacing, footprints, coverage, the budget). It is small (the options over an unbuilt
crossing are dropped, the walks over built ones stop at the first always-open level) and its LP,
built eagerly, is nearly integral, so CP-SAT proves its optimum in a fraction of a deterministic
unit. The interchange of :func:`~optimiser.solve.heuristic.improve_sites` moves one site at a time
(each kind re-chosen as a p-median with the others fixed) and misses layouts that need two moves
at once: on the independent generator's seed 116 (benchmarks/realsites README, wave 35) the best
sites for the greedy's crossings swap the kinds of two parcels' facilities and move two more,
6.27 % below the greedy's layout, which interchange left as it was. A function of the run
(:class:`~optimiser.solve.relax_first.RelaxFirst`: its incumbent, work account and backend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimiser.model.transforms import fix_decisions
from optimiser.solve.relax_first_settings import FIX_CROSSINGS_SECONDS_PER_LEVEL, SITES_EXACT_SHARE
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
