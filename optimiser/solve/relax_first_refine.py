"""Relax-first's last phase: phase 4's relaxation refined where its layout walks too short
(:func:`refine_phase`, after phase 5 of :mod:`optimiser.solve.relax_first` when no exact model ran).

Phase 4 solves the access relaxation (walks to facilities over every candidate crossing for free)
to a proven optimum. When its layout walks further in truth, and the reduced exact model did not
run (too large, or the work left below its set-up), the work left goes to tighter relaxations:
each walk to a facility that the layout under-estimates keeps the exact routes (the site *and* its
crossings) of every site it lists below the walk's true length, and its other sites stay relaxed
(:func:`~optimiser.model.transforms.relax_access_crossings` with ``exact_sites``). Each is a
relaxation of the problem with the closed decisions at 0, so its proven optimum is a bound and its
layout a candidate. It repeats while the relaxation is proven optimal, its layout is still
under-estimated somewhere and the work left covers the next one's set-up and a minimum search.
When no walk of the layout is under-estimated, the relaxed and true objectives agree: the layout is
optimal.

Measured on benchmarks/realsites' independent seed 104 (README, wave 42): the relaxation's layout
under-estimates 22 walks; one refinement (73,601 -> 95,028 radius levels, 0.22 CP-SAT units against
the 370,792-level exact model's 30.6 nominal seconds at 60 s) proves the incumbent optimal.
Refining only the site each walk uses took four rounds (the layouts move to other
under-estimated sites). A function of the run (:class:`~optimiser.solve.relax_first.RelaxFirst`:
its incumbent, bound, work account and backend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from optimiser.model.flat import flat_clients, flat_options, option_sites
from optimiser.model.problem import Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.relax_first_settings import REFINE_MAX_STEPS
from optimiser.solve.result import Status

if TYPE_CHECKING:
    from optimiser.solve.relax_first import RelaxFirst


def under_estimated_sites(problem: Problem, true_len: np.ndarray, relaxed_len: np.ndarray) -> set[tuple[int, int]]:
    """The (client index, site) pairs to keep exact next: for each walk to a facility whose
    relaxed length (``relaxed_len``) is below its true length (``true_len``, both per client of
    ``problem``), every site it lists below its true length (site -1: options of crossings
    only). Options of several sites stay relaxed."""
    fc = flat_clients(problem)
    under = ~fc.pair & (relaxed_len < true_len)
    if not under.any():
        return set()
    lev_client = np.repeat(np.arange(fc.nlev.size), fc.nlev)
    inc_client = np.repeat(lev_client, fc.olen)
    inc_len = np.repeat(fc.lev, fc.olen)
    site = option_sites(flat_options(problem), ~problem.crossing_mask)[fc.opt]
    pick = under[inc_client] & (inc_len < true_len[inc_client]) & (site >= -1)
    return set(zip(inc_client[pick].tolist(), site[pick].tolist()))


def refine_phase(run: RelaxFirst) -> None:
    """Phase 4's relaxation refined (module docstring) with the work left, when phase 4 proved its
    optimum, no exact model ran and the incumbent is not proven; ``info["refined_relaxation"]``:
    each step's size, status, objective and bound. None after SIGINT / SIGTERM or past the wall-clock safety net."""
    if run.relaxed_optimum is None or run.best is None or "exact model" in run.info["work_s"]:
        return
    relaxed, chosen = run.relaxed_optimum
    exact: set[tuple[int, int]] = set()
    steps: list[dict[str, Any]] = []
    run.info["refined_relaxation"] = steps
    while len(steps) < REFINE_MAX_STEPS and (run.bound is None or run.bound < run.best):
        if interrupt.requested() or run.wall_left() <= 0:
            return  # stopped (the run says "interrupted"), or the wall-clock safety net passed
        new = under_estimated_sites(run.problem, run.ev.layout_lengths(chosen), Evaluator(relaxed).layout_lengths(chosen)) - exact
        if not new:
            return  # nothing left to refine (its layout's walks are all exact: proven by its bound)
        exact |= new
        if not run.affords(0, run.remaining() - run.tighten_cost()):
            return  # no search would be left after building it
        refined = relax_access_crossings(run.problem, closed=run.fixed, exact_sites=exact)
        run.charge(run.tighten_cost(), "refined relaxation")
        if refined is None:
            return  # every access option exact: the exact model's, too large to run
        relaxed = refined
        if run.fixed:
            refined = run.fix(refined, {i: 0 for i in run.fixed}, "refined relaxation")
        step: dict[str, Any] = {"levels": refined.n_levels(), "exact_sites": len(exact)}
        steps.append(step)
        if not run.affords(step["levels"], run.remaining()):
            step["skipped"] = "budget below its set-up"
            return
        r = run.backend_solve(refined, run.remaining(), "refined relaxation", shown=(False, True), starts=(run.layout,))
        step.update({"status": r.status, "objective": r.objective, "bound": r.bound, "seconds": run.elapsed()})
        if not r.status.has_solution:
            return
        run.prove(r.bound, "refined relaxation")
        run.offer(r.chosen, "refined relaxation")
        if r.status is not Status.OPTIMAL:
            return  # out of work: its bound is what it proved
        chosen = r.chosen
