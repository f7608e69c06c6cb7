"""Relax-first's exact phase per count vector (phase 5 of :mod:`optimiser.solve.relax_first` when
:meth:`RelaxFirst.by_vector`): each count vector the split Lagrangian left open gets the reduced
model with the decisions closed for that vector, cut off below the incumbent
(:func:`~optimiser.solve.vector_exact.solve_count_vector`). Functions of the run
(:class:`~optimiser.solve.relax_first.RelaxFirst`: its incumbent, bound, work account and closed
decisions), kept apart from its other phases. Measured in benchmarks/realsites' README, wave 14.
Also the split rounds (:func:`split_round`, :func:`tighten_vectors`) and the third round in pieces
(:func:`third_round`, wave 22), which size the exact phase after them (:func:`exact_setup_cost`), and
phase 4's budget (:func:`relax_budget`, :func:`relax_skipped`; session 31).
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve import interrupt
from optimiser.solve.lagrangian import LagrangianResult
from optimiser.solve.lagrangian_split import VectorBound, split_lagrangian_bound
from optimiser.solve.relax_first_settings import (
    EXACT_BY_VECTOR_MAX_SHARE,
    EXACT_INSTEAD_MAX_GAP,
    EXACT_LP_EAGER,
    EXACT_MAX_LEVELS,
    LAGRANGIAN_UNITS_PER_S,
    MORE_ROUNDS_FIRST_PIECE,
    MORE_ROUNDS_MIN_SHARE,
    MORE_ROUNDS_SAFETY_SHARE,
    MORE_ROUNDS_SHARE,
    PLAN_HORIZON_S,
    POLISH_RESERVE_SHARE,
    RELAX_BEFORE_EXACT_MAX_RATIO,
    RELAX_SHARE,
    SPLIT_DEFLECTION,
    VECTOR_TIGHTEN_PASSES,
    VECTOR_TIGHTEN_SHARE,
    fix_cost,
)
from optimiser.solve.result import Status
from optimiser.solve.vector_exact import VectorSolve, solve_count_vector
from optimiser.solve.vector_lanes import Lane, assign_lanes, close_lanes, run_lanes

if TYPE_CHECKING:
    from optimiser.solve.relax_first import RelaxFirst


def still_open(vb: VectorBound, best: float) -> bool:
    """Whether count vector ``vb`` may still hold a layout better than the incumbent ``best``."""
    return not vb.pruned and vb.bound < best


def open_vectors(run: RelaxFirst) -> tuple[list[VectorBound], dict[tuple[int, ...], set[int]], dict[tuple[int, ...], int]]:
    """The count vectors still open (not pruned, bound below the incumbent), highest bound
    first; for each, the decisions its own reduced model closes besides those closed in every
    vector (its closed ones and its empty classes') and that model's radius levels."""
    assert run.count_vectors is not None and run.best is not None
    classes = run.count_vectors[0]
    order = sorted((vb for vb in run.vector_bounds if still_open(vb, run.best)),
                   key=lambda vb: (-vb.bound, vb.vector))
    zeros: dict[tuple[int, ...], set[int]] = {}
    levels: dict[tuple[int, ...], int] = {}
    for vb in order:
        empty = {i for members, cap in zip(classes.members, vb.vector) if cap == 0 for i in members}
        zeros[vb.vector] = (set(vb.fixed_zero) | empty) - run.fixed
        levels[vb.vector] = run.reduced_levels(run.fixed | zeros[vb.vector])
    return order, zeros, levels


def split_round(run: RelaxFirst, seconds: float, safety_share: float, kw: dict[str, Any]) -> LagrangianResult:
    """A Lagrangian round split over the budget's maximal count vectors
    (:mod:`optimiser.solve.lagrangian_split`): the least of one bound per vector, worth ``seconds``
    nominal seconds, ``VECTOR_TIGHTEN_SHARE`` of them kept for each open vector's own tighter
    relaxation after it (:func:`tighten_vectors`). The vectors' bounds are kept
    (:attr:`RelaxFirst.vector_bounds`, ``info["count_vectors"]``): a pruned vector holds no
    better layout. ``kw``: :func:`~optimiser.solve.lagrangian_split.split_lagrangian_bound`'s
    multipliers, start, closed decisions, routes and layout callback."""
    assert run.count_vectors is not None and run.best is not None
    classes, vectors = run.count_vectors
    res, out = split_lagrangian_bound(run.target, classes, vectors, run.best,
                                      max_work=(1.0 - VECTOR_TIGHTEN_SHARE) * seconds * LAGRANGIAN_UNITS_PER_S,
                                      deflection=SPLIT_DEFLECTION, safety_net_s=run.deadline.share_left(safety_share), **kw)
    run.info.setdefault("lagrangian_stopped_by", []).append(res.stopped_by)
    run.note_net(res.stopped_by)
    run.charge(res.work / LAGRANGIAN_UNITS_PER_S, "lagrangian")
    if VECTOR_TIGHTEN_SHARE > 0.0:
        res, out = tighten_vectors(run, res, out, seconds - res.work / LAGRANGIAN_UNITS_PER_S, safety_share, kw)
    run.vector_bounds = out
    run.info["count_vectors"] = [{"vector": list(vb.vector), "bound": vb.bound if math.isfinite(vb.bound) else None,
                                  "pruned": vb.pruned, "closed": len(vb.fixed_zero), "iterations": vb.iterations,
                                  "nodes": vb.nodes} for vb in out]
    return res


def tighten_vectors(run: RelaxFirst, res: LagrangianResult, out: list[VectorBound], budget_s: float,
                    safety_share: float, kw: dict[str, Any]) -> tuple[LagrangianResult, list[VectorBound]]:
    """Each count vector the split Lagrangian (``res``, ``out``) left open, highest bound first,
    gets its own tighter relaxation: the access options over the decisions closed for it (its
    own closings and the run's) dropped instead of relaxed (:func:`~optimiser.model.transforms.relax_access_crossings`),
    then an ascent on that vector alone from the split's multipliers, with an even share of
    ``budget_s`` nominal seconds left; again while it closes more and work is left, at most
    ``VECTOR_TIGHTEN_PASSES`` times. The split's relaxation drops only the options closed in
    every vector, so each vector's own is tighter. Measured on benchmarks/realsites rs016 after
    round 2 at a 60 s limit: 8 of its 11 open vectors pruned within 0.25 nominal s each, where
    CP-SAT's reduced model took 0.2-10 s of CPU per vector. ``kw``: the split's other arguments
    (``initial_step``, ``routes``, ``on_layout``, ...). Returns the split's result with the least
    bound and the decisions closed in every open vector, and the vectors' bounds."""
    assert run.count_vectors is not None and run.best is not None
    classes = run.count_vectors[0]
    vectors = list(out)
    order = sorted((k for k, vb in enumerate(vectors) if still_open(vb, run.best)),
                   key=lambda k: (-vectors[k].bound, vectors[k].vector))
    args = {k: v for k, v in kw.items() if k not in ("multipliers", "access_multipliers", "closed")}
    report: list[str] = []
    stop = False  # nothing to relax, a stop request or the round's wall-clock share: the rest not reached
    for n, k in enumerate(order):
        passes = 0
        while passes < VECTOR_TIGHTEN_PASSES and not stop:
            vb = vectors[k]
            share = (budget_s - run.tighten_cost() * (len(order) - n)) / (len(order) - n)
            if not still_open(vb, run.best) or share <= 0.0:
                break
            if interrupt.requested() or run.deadline.share_left(safety_share) <= 0.0:
                run.note_net(None if interrupt.requested() else "safety net")
                stop = True
                break
            before = run.work_s
            closed = run.fixed | set(res.fixed_zero) | set(vb.fixed_zero)
            tight = relax_access_crossings(run.problem, closed=closed)
            run.charge(run.tighten_cost(), "vector relaxations")
            if tight is None:  # no walk uses a crossing: no vector's relaxation is tighter
                stop = True
                break
            r, (nb,) = split_lagrangian_bound(tight, classes, [vb.vector], run.best, max_work=share * LAGRANGIAN_UNITS_PER_S,
                                              safety_net_s=run.deadline.share_left(safety_share), closed=closed,
                                              multipliers=res.multipliers, access_multipliers=res.access_multipliers,
                                              deflection=SPLIT_DEFLECTION, **args)
            run.note_net(r.stopped_by)
            run.charge(r.work / LAGRANGIAN_UNITS_PER_S, "vector relaxations")
            budget_s -= run.work_s - before  # the layouts it offered included
            passes += 1
            vectors[k] = VectorBound(vb.vector, nb.bound if nb.pruned else max(vb.bound, nb.bound), nb.pruned,
                                     vb.fixed_zero | nb.fixed_zero, vb.iterations + nb.iterations, vb.nodes + nb.nodes)
            stop = r.stopped_by in ("safety net", "interrupted")
            if not nb.fixed_zero - closed:  # it closed nothing more: the same relaxation again
                break
        vb = vectors[k]
        said = (f"{vb.bound:.0f}" if still_open(vb, run.best) else "pruned") if passes else "not reached"
        report.append(f"{vb.vector}: {said}, {len(vb.fixed_zero)} closed, {passes} pass{'' if passes == 1 else 'es'}")
    if report:
        run.info.setdefault("vector_relaxations", []).append(report)
    live = [vb for vb in vectors if still_open(vb, run.best)]
    bound = min([float(run.best)] + [vb.bound for vb in live])
    fixed = frozenset.intersection(*(vb.fixed_zero for vb in live)) if live else frozenset()
    return replace(res, bound=max(res.bound, bound) if math.isfinite(res.bound) else bound,
                   fixed_zero=res.fixed_zero | fixed), vectors


def third_round_plan(run: RelaxFirst, gap: float) -> tuple[float, bool] | None:
    """The work of :meth:`RelaxFirst.more_rounds_phase`'s third round (nominal s: the work left less three crossing
    exchanges and the polish reserve) and whether the exact phase comes after it: when the exact phase fits in the
    rest of ``MORE_ROUNDS_SHARE`` of that (:meth:`RelaxFirst.exact_fits`), the round gets the share and the exact
    phase the rest. ``None``: no third round, the exact phase gets all the work left instead (it fits only without
    the round, and ``gap``, after rounds 1-2, is below ``EXACT_INSTEAD_MAX_GAP``; ``info["more_rounds_skipped"]``
    says so)."""
    left = run.remaining() - 3 * run.swap_cost() - POLISH_RESERVE_SHARE * run.limit_s
    levels = run.reduced_levels()
    if MORE_ROUNDS_SHARE < 1.0 and run.exact_fits((1.0 - MORE_ROUNDS_SHARE) * left, levels):
        return MORE_ROUNDS_SHARE * left, True
    if gap < EXACT_INSTEAD_MAX_GAP and run.exact_fits(run.remaining(), levels):
        run.info["more_rounds_skipped"] = "the exact model fits in the work left only without it"
        return None
    return left, False


def third_round(run: RelaxFirst, lag: LagrangianResult, seconds: float, rounds: list[int],
                after: bool) -> tuple[LagrangianResult, bool]:
    """The third Lagrangian round of :meth:`RelaxFirst.more_rounds_phase`, worth ``seconds``
    nominal s from ``lag`` (``rounds``: the iterations per round, appended to); ``after``: the
    exact phase comes after it (its share is already set aside). Otherwise in two pieces:
    ``MORE_ROUNDS_FIRST_PIECE`` of ``seconds`` first; when the exact phase then fits in the rest
    (:meth:`RelaxFirst.exact_fits`, at the reduced model's size after the decisions the piece
    closed), the round ends there, and the exact phase gets the rest unless phase 4's relaxation is small against it
    (:func:`relax_first_small`: then phases 3-4 first). Else the rest goes to phases 3-4 when phase 4 looks able to run
    (:func:`relax_affordable` with the decisions closed by the piece too: phase 4 checks again when
    it starts); the alternating phase re-optimises the incumbent, which the round's own
    layouts left where the greedy put it on independent seeds 107 and 100 (``MORE_ROUNDS_FIRST_PIECE``).
    Else the round gets the rest too (when at least ``MORE_ROUNDS_MIN_SHARE`` of the limit).
    Returns the round's result and whether the exact phase comes after it."""
    first = MORE_ROUNDS_FIRST_PIECE * seconds
    if after or MORE_ROUNDS_FIRST_PIECE >= 1.0 or first < MORE_ROUNDS_MIN_SHARE * run.limit_s:
        return run._second_round(lag, seconds, MORE_ROUNDS_SAFETY_SHARE, rounds), after
    before, n = run.work_s, len(rounds)
    lag = run._second_round(lag, first, MORE_ROUNDS_SAFETY_SHARE, rounds)
    rest = seconds - (run.work_s - before)
    closed = run.fixed | set(lag.fixed_zero)
    levels = run.reduced_levels(closed)
    fits = run.exact_fits(rest, levels) and not relax_first_small(run, closed, levels, rest)
    if (not fits and not relax_affordable(run, closed) and rest >= MORE_ROUNDS_MIN_SHARE * run.limit_s
            and not interrupt.requested()):
        lag = run._second_round(lag, rest, MORE_ROUNDS_SAFETY_SHARE, rounds)
    run.info["third_round_pieces"] = len(rounds) - n
    rounds[n:] = [sum(rounds[n:])] if len(rounds) > n else []  # the pieces' iterations: one round
    return lag, fits


def relax_first_small(run: RelaxFirst, closed: set[int], exact_levels: int, rest_s: float) -> bool:
    """Whether phases 3-4 come before the exact phase although it fits in the ``rest_s`` nominal s left of the third
    round and the work beyond the plan (:func:`third_round`): that work is short, at most ``PLAN_HORIZON_S`` nominal s
    (independent seed 117 at 60 s, whose exact model gets over 50, ends at 0.233 % instead of 0.046 % when phases
    3-4 run first), phase 4 looks able to run, and its relaxation has at most ``RELAX_BEFORE_EXACT_MAX_RATIO`` of the
    reduced exact model's ``exact_levels``; the exact phase then gets what they leave (phase 5)."""
    if rest_s + run.full_limit_s - run.limit_s > (PLAN_HORIZON_S or run.limit_s):
        return False
    return run.target.info["levels"] <= RELAX_BEFORE_EXACT_MAX_RATIO * exact_levels and relax_affordable(run, closed)


def large_vector(order: list[VectorBound], levels: dict[tuple[int, ...], int], whole: int) -> tuple[int, ...] | None:
    """The first open vector whose own model keeps at least ``EXACT_BY_VECTOR_MAX_SHARE`` of the
    whole reduced model's ``whole`` radius levels (then nothing is split), or ``None``; ``None``
    too when it is the only open vector. The whole model then takes no other open vector at once: it
    is that vector's model without its class caps and cut-off, searching again the count vectors the
    Lagrangian already proved hold nothing better. Measured at 10 s (benchmarks/realsites README,
    wave 37), CP-SAT's work on the one open vector, nominal s, whole model -> its own: the
    independent generator's seed 114 over 11.1 (not proven) -> 4.87 (proven), rs026 3.94 -> 0.89,
    rs029 2.43 -> 1.42, rs004 0.15 -> 0.12, rs014 0.15 -> 0.13, rs019 0.09 -> 0.08, rs024 0.10 -> 0.11.
    With several open vectors the whole model stays cheaper (rs012, 7 open: 7.1 whole, 10.0 split;
    rs018, 10 open: 6.3 and 7.4; rs028, 9 open: 2.3 and 4.3)."""
    if len(order) < 2:
        return None
    return next((vb.vector for vb in order if levels[vb.vector] >= EXACT_BY_VECTOR_MAX_SHARE * whole), None)


def relax_budget(run: RelaxFirst, built: bool = False, closed: set[int] | None = None) -> float:
    """Phase 4's budget (:meth:`RelaxFirst.reduced_relaxation_phase`): ``RELAX_SHARE`` of the work left (unless
    ``built``, less building its tighter relaxation when decisions are closed), or all of it less re-choosing its
    layout's sites when the exact model is too large to follow (``EXACT_MAX_LEVELS``: phase 4 is the last, and
    relax-first's answer on benchmarks/realsites' independent seed 116, whose reduced exact model has 1.3M levels).
    ``closed``: the decisions closed by then (default: those closed now)."""
    closed = run.fixed if closed is None else closed
    left = run.remaining() - (run.tighten_cost() if closed and not built else 0.0)
    return left - run.improve_cost() if run.reduced_levels(closed) > EXACT_MAX_LEVELS else RELAX_SHARE * left


def relax_skipped(run: RelaxFirst) -> bool:
    """Whether phase 4 cannot start: its budget (:func:`relax_budget`) leaves no minimum search, or not
    beyond the set-up of the tightest relaxation at hand (its own, reduced, is at most as large): then it is
    not built for nothing (benchmarks/realsites' independent seed 16 at 10 s: 1.3 nominal s charged for a
    relaxation of 3.1M incidences whose set-up the rest did not cover), ``info["reduced_relaxation"]`` says so."""
    if not run.affords(0, relax_budget(run)):
        return True
    if not relax_affordable(run):
        run.info["reduced_relaxation"] = {"levels": run.target.info["levels"], "skipped": "budget below its set-up"}
        return True
    return False


def relax_affordable(run: RelaxFirst, closed: set[int] | None = None) -> bool:
    """Whether phase 4's budget (:func:`relax_budget`, with the decisions ``closed`` by then) covers
    the set-up of the tightest relaxation at hand (its own, reduced, is at most as large) and a
    minimum search."""
    return run.affords(run.target.info["levels"], relax_budget(run, closed=closed))


def exact_setup_cost(run: RelaxFirst, levels: int) -> float:
    """Nominal seconds the exact phase will charge besides its search, reserved by the third
    Lagrangian round (:meth:`RelaxFirst.more_rounds_phase`): fixing the closed decisions
    (:meth:`RelaxFirst.reduce_cost`) and the set-up of the whole reduced model of ``levels``
    radius levels, even when the phase will run per count vector (:func:`exact_by_vector`).
    The round closes vectors, so fewer are open when the phase starts than when the round
    is sized; with one of several that keeps most of the model (``EXACT_BY_VECTOR_MAX_SHARE``:
    :func:`large_vector`), the phase runs the whole model; a vector whose set-up the work left does not cover is not
    reached. Measured at 10 s (benchmarks/realsites README, wave 18): sized by every open
    vector's fixing and set-up, rs021's round was sized with 10 vectors open, got all the work
    and ended at 0.227 %; sized so, it gets half, ends with one vector open and the whole
    reduced model proves the optimum (8.5 nominal s in all); no other of the 28 rows changes.
    (In wave 14, before the whole-model fallback, this sizing had left rs021 at 0.267 %.)"""
    return run.reduce_cost(rebuilt=True) + run.backend_cost(levels)


def exact_by_vector(run: RelaxFirst, whole: int) -> bool:
    """5, per count vector (:mod:`optimiser.solve.vector_exact`): each vector still open
    (:func:`open_vectors`), highest bound first, gets the reduced model with its own closed
    decisions and class caps, cut off below the incumbent, and the work left (charged its
    fixing, the set-up of its own levels and its units, as :meth:`RelaxFirst.backend_solve`). A vector is
    settled when CP-SAT proves it holds nothing better or finds its optimum (the incumbent
    then); one a better incumbent prunes is skipped, one whose set-up the work left does not
    cover is not reached (a smaller one after it may be). The bound is the least over the
    vectors of what is proven for each (CP-SAT's bound, else the Lagrangian's). A stop
    request or the wall-clock net leaves the vectors after it not reached. When a vector's own
    model keeps at least ``EXACT_BY_VECTOR_MAX_SHARE`` of the whole reduced model's ``whole``
    radius levels (:func:`large_vector`), nothing is split: the whole reduced model, which that vector would cost about as much as,
    takes every vector at once (returns ``True``: the caller runs it). The same when the open vectors' set-ups (fixing
    and :meth:`RelaxFirst.backend_cost`, per lane) exceed the work left and the whole model's fits: the vectors
    run highest bound first, so the least bounds would not be reached and the split could prove nothing
    (benchmarks/realsites' independent seed 113 at 10 s with the insertion charge re-fit: 9 vectors, 7 settled in
    0.05 units, 2 not reached; their set-ups 6.87 nominal s with 5.17 left, the whole model of 72,609 levels
    proves it in 0.04 units). With more than one worker (CP-SAT's), the vectors run on that many lanes side by
    side, each with the work left when the phase starts (:mod:`optimiser.solve.vector_lanes`); every search has
    one worker.
    ``info["exact_by_vector"]`` says what each vector gave; ``stats`` the units of all."""
    assert run.count_vectors is not None and run.best is not None
    order, zeros, levels = open_vectors(run)
    workers = run.options.workers
    large = large_vector(order, levels, whole)
    if large is not None:
        run.info["exact_by_vector"] = [f"{large}: {levels[large]} of the whole reduced model's "
                                        f"{whole} levels: the whole reduced model instead"]
        return True
    dealt = [ks for ks in assign_lanes([levels[vb.vector] for vb in order], workers) if ks] or [[]]
    setups = max(sum(run.backend_cost(levels[order[k].vector]) + (fix_cost(whole) if zeros[order[k].vector] else 0.0)
                     for k in ks) for ks in dealt)
    left = run.remaining() - run.reduce_cost()
    if setups > left and run.affords(whole, left):
        # the least bounds come last: a vector not reached keeps its Lagrangian bound, so no split
        # proves anything unless every vector's set-up fits; the whole model's may
        run.info["exact_by_vector"] = [f"{len(order)} vectors' set-ups {setups:.2f} nominal s, over the {left:.2f} left: "
                                        f"the whole reduced model ({whole} levels) instead"]
        return True
    base = run.reduced()
    start_best = float(run.best)  # vectors pruned before are at least this
    lanes = [Lane(run, run.remaining(), shared=workers == 1) for _ in dealt]
    failed = threading.Event()  # a lane's error: the others stop at their next vector
    tasks = [partial(_settle, run, lane, [order[k] for k in ks], base, zeros, levels, failed)
             for lane, ks in zip(lanes, dealt)]
    settled = interrupt.call_interruptibly(partial(run_lanes, tasks, failed))
    close_lanes(run, lanes, "exact model")
    said = {vector: line for lane_said in settled for vector, line in lane_said[2].items()}
    lane_of = {order[k].vector: j for j, ks in enumerate(dealt) for k in ks}
    run.info["exact_by_vector"] = [said[vb.vector] + (f" [lane {lane_of[vb.vector]}]" if workers > 1 else "")
                                   for vb in order]
    if workers > 1:
        run.info["vector_lanes"] = [{"vectors": len(ks), "work_s": round(lane.work_s, 3)} for lane, ks in zip(lanes, dealt)]
    run.stats = {"deterministic_time": sum(units for units, _, _ in settled), "count_vectors": run.info["exact_by_vector"]}
    run.prove(min([start_best] + [b for _, bounds, _ in settled for b in bounds]), "exact model")
    run._log_phase("exact model")
    return False


def _settle(run: RelaxFirst, lane: Lane, vectors: list[VectorBound], base: Problem,
            zeros: dict[tuple[int, ...], set[int]], levels: dict[tuple[int, ...], int], failed: threading.Event
            ) -> tuple[float, list[float], dict[tuple[int, ...], str]]:
    """One lane's vectors of :func:`exact_by_vector`, in turn on the lane's work, until another
    lane ``failed``; its CP-SAT units, the bound proven for each vector and what each gave."""
    assert run.count_vectors is not None
    classes = run.count_vectors[0]
    bounds: list[float] = []
    said: dict[tuple[int, ...], str] = {}
    units = 0.0
    for n, vb in enumerate(vectors):
        if interrupt.requested() or run.wall_left() <= 0.0 or failed.is_set():
            run.note_net(None if interrupt.requested() or failed.is_set() else "wall_clock")
            bounds += [v.bound for v in vectors[n:]]
            said.update((v.vector, f"{v.vector}: not reached") for v in vectors[n:])
            break
        if vb.bound >= lane.best:
            said[vb.vector] = f"{vb.vector}: pruned by a better incumbent"
            continue
        budget = lane.remaining() - (fix_cost(base.n_levels()) if zeros[vb.vector] else 0.0)
        if not run.affords(levels[vb.vector], budget):
            bounds.append(vb.bound)
            said[vb.vector] = f"{vb.vector}: not reached"
            continue
        red = run.fix(base, {i: 0 for i in zeros[vb.vector]}, "exact model", lane=lane) if zeros[vb.vector] else base

        def call(opts: SolveOptions, red: Problem = red, vb: VectorBound = vb) -> tuple[VectorSolve, float, str | None]:
            assert opts.wall_limit_s is not None
            r = solve_count_vector(red, classes, vb.vector, lane.best - 1, opts, safety_net_s=opts.wall_limit_s)
            return r, r.deterministic_time, r.stopped_by

        r = run.charged_search(red.n_levels(), budget, EXACT_LP_EAGER, "exact model", call, lane=lane)
        units += r.deterministic_time
        if r.chosen:
            lane.found_layout(r.chosen, r.objective)
        bounds.append(r.bound if r.finished else max(vb.bound, r.bound))
        what = ("nothing better" if r.status is Status.INFEASIBLE else f"its optimum {r.objective:.0f}"
                if r.status is Status.OPTIMAL else f"{r.status.value}, stopped")
        said[vb.vector] = f"{vb.vector}: {what} ({r.deterministic_time:.2f} units, {red.n_levels()} levels)"
    return units, bounds, said
