"""Relax-first's exact phase per count vector (phase 5 of :mod:`optimiser.solve.relax_first` when
:meth:`RelaxFirst.by_vector`): each count vector the split Lagrangian left open gets the reduced
model with the decisions closed for that vector, cut off below the incumbent
(:func:`~optimiser.solve.vector_exact.solve_count_vector`). Functions of the run
(:class:`~optimiser.solve.relax_first.RelaxFirst`: its incumbent, bound, work account and closed
decisions), kept apart from its other phases. Measured in benchmarks/realsites' README, wave 14.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.lagrangian_split import VectorBound
from optimiser.solve.relax_first_settings import EXACT_BY_VECTOR_MAX_SHARE, EXACT_LP_EAGER, FIX_SECONDS_PER_LEVEL
from optimiser.solve.result import Status
from optimiser.solve.vector_exact import VectorSolve, solve_count_vector

if TYPE_CHECKING:
    from optimiser.solve.relax_first import RelaxFirst


def open_vectors(run: RelaxFirst) -> tuple[list[VectorBound], dict[tuple[int, ...], set[int]], dict[tuple[int, ...], int]]:
    """The count vectors still open (not pruned, bound below the incumbent), highest bound
    first; for each, the decisions its own reduced model closes besides those closed in every
    vector (its closed ones and its empty classes') and that model's radius levels."""
    assert run.count_vectors is not None and run.best is not None
    classes = run.count_vectors[0]
    order = sorted((vb for vb in run.vector_bounds if not vb.pruned and vb.bound < run.best),
                   key=lambda vb: (-vb.bound, vb.vector))
    zeros: dict[tuple[int, ...], set[int]] = {}
    levels: dict[tuple[int, ...], int] = {}
    for vb in order:
        empty = {i for members, cap in zip(classes.members, vb.vector) if cap == 0 for i in members}
        zeros[vb.vector] = (set(vb.fixed_zero) | empty) - run.fixed
        levels[vb.vector] = run.reduced_levels(run.fixed | zeros[vb.vector])
    return order, zeros, levels


def large_vector(order: list[VectorBound], levels: dict[tuple[int, ...], int], whole: int) -> tuple[int, ...] | None:
    """The first open vector whose own model keeps at least ``EXACT_BY_VECTOR_MAX_SHARE`` of the
    whole reduced model's ``whole`` radius levels (then nothing is split), or ``None``."""
    return next((vb.vector for vb in order if levels[vb.vector] >= EXACT_BY_VECTOR_MAX_SHARE * whole), None)


def exact_setup_cost(run: RelaxFirst, levels: int) -> float:
    """Nominal seconds the exact phase will charge besides its searches, the whole reduced
    model having ``levels`` radius levels: fixing the closed decisions (:meth:`RelaxFirst.reduce_cost`)
    and its set-up, or, split by vector (:func:`exact_by_vector`), every open vector's
    fixing and set-up: its bound moves only once every vector is settled. Measured at 10 s
    (benchmarks/realsites README, wave 14): sized by the whole model, rs021's third round left
    3.0 nominal s to a split that settled 8 of its 10 vectors (0.267 %); sized so, the round
    gets it all (0.222 %)."""
    build = run.reduce_cost(rebuilt=True)
    if run.by_vector():
        order, _, vector_levels = open_vectors(run)
        if order and large_vector(order, vector_levels, levels) is None:
            return build + sum(levels * FIX_SECONDS_PER_LEVEL + run.backend_cost(vector_levels[vb.vector])
                               for vb in order)
    return build + run.backend_cost(levels)


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
    takes every vector at once (returns ``True``: the caller runs it).
    ``info["exact_by_vector"]`` says what each vector gave; ``stats`` the units of all."""
    assert run.count_vectors is not None and run.best is not None
    classes = run.count_vectors[0]
    order, zeros, levels = open_vectors(run)
    large = large_vector(order, levels, whole)
    if large is not None:
        run.info["exact_by_vector"] = [f"{large}: {levels[large]} of the whole reduced model's "
                                        f"{whole} levels: the whole reduced model instead"]
        return True
    base = run.reduced()
    bounds: list[float] = [float(run.best)]  # vectors pruned before are at least this
    report: list[str] = []
    units = 0.0
    for n, vb in enumerate(order):
        if interrupt.requested() or run.wall_left() <= 0.0:
            run.note_net(None if interrupt.requested() else "wall_clock")
            bounds += [v.bound for v in order[n:]]
            report += [f"{v.vector}: not reached" for v in order[n:]]
            break
        if vb.bound >= run.best:
            report.append(f"{vb.vector}: pruned by a better incumbent")
            continue
        budget = run.remaining() - (base.n_levels() * FIX_SECONDS_PER_LEVEL if zeros[vb.vector] else 0.0)
        if not run.affords(levels[vb.vector], budget):
            bounds.append(vb.bound)
            report.append(f"{vb.vector}: not reached")
            continue
        red = run.fix(base, {i: 0 for i in zeros[vb.vector]}, "exact model") if zeros[vb.vector] else base

        def call(opts: SolveOptions, red: Problem = red, vb: VectorBound = vb) -> tuple[VectorSolve, float, str | None]:
            assert run.best is not None and opts.wall_limit_s is not None
            r = solve_count_vector(red, classes, vb.vector, run.best - 1, opts, safety_net_s=opts.wall_limit_s)
            return r, r.deterministic_time, r.stopped_by

        r = run.charged_search(red.n_levels(), budget, EXACT_LP_EAGER, "exact model", call)
        units += r.deterministic_time
        if r.chosen:
            run.offer(r.chosen, "exact model")
        bounds.append(r.bound if r.finished else max(vb.bound, r.bound))
        said = ("nothing better" if r.status is Status.INFEASIBLE else f"its optimum {r.objective:.0f}"
                if r.status is Status.OPTIMAL else f"{r.status.value}, stopped")
        report.append(f"{vb.vector}: {said} ({r.deterministic_time:.2f} units, {red.n_levels()} levels)")
    run.info["exact_by_vector"] = report
    run.stats = {"deterministic_time": units, "count_vectors": report}
    run.prove(min(bounds), "exact model")
    run._log_phase("exact model")
    return False
