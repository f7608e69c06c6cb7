"""A Lagrangian bound split over the budget's maximal count vectors: one dual per vector.

Real sites have few prices (one per crossing type and facility type: the classes of
:mod:`optimiser.model.budget_cuts`), so every layout within the budget has its counts below one
of a short list of *maximal count vectors* (:func:`~optimiser.solve.count_split.maximal_count_vectors`;
rs006: 13 vectors of (signals, labs, footbridges, underpasses), e.g. (8, 1, 4, 0)). The problem
is the union of the sub-problems "class j at most v_j", so its optimum is the least of theirs,
and so is a bound: the least of the sub-problems' bounds.

The Lagrangian of :mod:`optimiser.solve.lagrangian` is as strong as the LP over the knapsack's
convex hull, and that hull mixes vectors: measured on rs006's access relaxation, the LP
(2,052.8M, 1.55 % below the incumbent 2,085.1M) opens two labs and spends the rest of the
budget on fractions of 7.3 signals, 2.7 footbridges and 0.4 underpasses, serving the firm pairs
almost as well as the incumbent's whole crossings budget and the walks to the labs 25.6M
better (all but 1.3M of the LP's gap is in those walks). With one knapsack per vector
(the class caps as count groups) that mixing is gone: after 1,500 iterations per vector from
the same multipliers, the vectors' bounds are 0.0-1.5 % below the incumbent (4 of 13 at the
incumbent: no better layout in them), against 2.0 % for the one knapsack.

Only the least bound counts, so the iterations go, in chunks, to the vector whose bound is
least (vectors never evaluated first, in order); a vector whose bound reaches the upper bound
holds no better layout and is dropped. The duals share their data
(:meth:`~optimiser.solve.lagrangian._Dual.with_knapsack`) and one work limit; every step is a
deterministic work limit, as in :func:`~optimiser.solve.lagrangian.lagrangian_bound`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from optimiser.model.budget_cuts import CountClasses
from optimiser.model.problem import Constraint, Problem
from optimiser.solve import interrupt
from optimiser.solve.access_routes import AccessRoutes
from optimiser.solve.lagrangian import LagrangianResult, _Ascent, _Dual

logger = logging.getLogger(__name__)

CHUNK_ITERATIONS = 20
"""Iterations given at a time to the vector whose bound is least."""


@dataclass(frozen=True)
class VectorBound:
    """What the split proved for one maximal count vector.

    Attributes:
        vector: the count cap of each class (:class:`~optimiser.model.budget_cuts.CountClasses` order).
        bound: a lower bound on every layout with those counts (``math.inf``: none meets the
            budget and counts; at least ``upper_bound`` when pruned).
        pruned: no layout with those counts is better than the upper bound.
        fixed_zero: decisions closed in every better layout with those counts.
        iterations: subgradient iterations spent on it.
    """

    vector: tuple[int, ...]
    bound: float
    pruned: bool
    fixed_zero: frozenset[int]
    iterations: int


def capped(problem: Problem, classes: CountClasses, vector: tuple[int, ...]) -> Problem:
    """``problem`` with "at most ``vector[j]`` of class j" as count constraints (for the knapsack;
    a class that already has a count group over the same decisions keeps the tighter cap)."""
    cons = list(problem.constraints)
    for j, (ids, cap) in enumerate(zip(classes.members, vector)):
        cons.append(Constraint(f"count_vector:{j}", tuple((int(i), 1) for i in ids), None, int(cap), f"count_max:class{j}"))
    return replace(problem, constraints=cons)


def split_lagrangian_bound(problem: Problem, classes: CountClasses, vectors: list[tuple[int, ...]],
                           upper_bound: float, *, max_work: float, safety_net_s: float = 60.0,
                           multipliers: tuple[np.ndarray, np.ndarray] | None = None,
                           access_multipliers: np.ndarray | None = None, initial_step: float = 0.5,
                           min_step: float = 1e-4, closed: Iterable[int] = (), routes: AccessRoutes | None = None,
                           on_layout: Callable[[tuple[int, ...]], float | None] | None = None,
                           chunk: int = CHUNK_ITERATIONS,
                           deflection: float = 0.0) -> tuple[LagrangianResult, list[VectorBound]]:
    """The least of the Lagrangian bounds of ``problem`` restricted to each count vector.

    Args:
        problem: as for :func:`~optimiser.solve.lagrangian.lagrangian_bound`.
        classes, vectors: the count classes and every maximal count vector of the budget
            (:func:`~optimiser.solve.count_split.maximal_count_vectors`).
        upper_bound: a known layout's objective (the step target; a vector whose bound reaches
            it is pruned).
        max_work: the work limit, in the work units of :attr:`LagrangianResult.work` (all
            vectors together, the shared set-up included).
        safety_net_s: wall-clock safety net, seconds.
        multipliers, access_multipliers, initial_step, min_step, closed, routes, on_layout: as
            for :func:`~optimiser.solve.lagrangian.lagrangian_bound`; every vector starts from
            the same multipliers.
        chunk: iterations given at a time to the least bound's vector.

    Returns:
        (a :class:`LagrangianResult`: the least bound, the decisions closed in every vector not
        pruned, the least vector's multipliers and layout, the iterations and work of all; the
        bound of each vector).
    """
    t0 = time.perf_counter()
    base = _Dual(problem, closed, routes)
    setup = base.work
    ascents = [_Ascent(base.with_knapsack(capped(problem, classes, v)), upper_bound, multipliers=multipliers,
                       initial_step=initial_step, min_step=min_step, on_layout=on_layout,
                       access_multipliers=access_multipliers, safety_net_s=safety_net_s)
               for v in vectors]
    for a in ascents:
        a.t0 = t0  # one safety net for all
        a.dual.deflection = deflection

    def work() -> float:
        return setup + sum(a.dual.work for a in ascents)

    stopped_by = "work limit"
    while True:
        live = [a for a in ascents if not a.done and not a.pruned]
        if not live:
            stopped_by = "converged"
            break
        least = min(live, key=lambda a: a.best)
        done_least = [a for a in ascents if a.done and not a.pruned and a.best < least.best]
        if done_least:  # the least bound cannot rise any more
            stopped_by = "converged"
            break
        left = max_work - work()
        if left <= 0 or interrupt.requested() or time.perf_counter() - t0 > safety_net_s:
            stopped_by = "work limit" if left <= 0 else ("interrupted" if interrupt.requested() else "safety net")
            break
        least.run(least.it + chunk, least.dual.work + left)
        if least.stopped_by in ("safety net", "interrupted"):
            stopped_by = least.stopped_by
            break
        for a in ascents:  # a better layout found by one vector is every vector's target
            if a.upper_bound is not None and least.upper_bound is not None and least.upper_bound < a.upper_bound:
                a.upper_bound = a.target = least.upper_bound
    results = [a.result() for a in ascents]
    out = [VectorBound(v, math.inf if r.bound == math.inf else (float(r.bound) if not a.pruned else float(a.upper_bound or r.bound)),
                       a.pruned or r.bound == math.inf, r.fixed_zero, r.iterations)
           for v, a, r in zip(vectors, ascents, results)]
    ub = min((a.upper_bound for a in ascents if a.upper_bound is not None), default=upper_bound)
    open_vectors = [k for k, vb in enumerate(out) if not vb.pruned]
    if open_vectors:
        k_least = min(open_vectors, key=lambda k: out[k].bound)
        bound = min(out[k_least].bound, ub)
        fixed = frozenset.intersection(*(out[k].fixed_zero for k in open_vectors))
    else:  # no vector holds a better layout: the upper bound is optimal
        k_least = 0
        bound = ub
        fixed = frozenset(range(base.n_d))
    lead = results[k_least]
    total_work = work()
    iterations = sum(r.iterations for r in results)
    logger.debug("split Lagrangian: bound %s over %d vectors (%d pruned), %d iterations, %d closed", bound, len(vectors),
                 len(vectors) - len(open_vectors), iterations, len(fixed))
    res = replace(lead, bound=bound, fixed_zero=fixed if open_vectors else frozenset(), iterations=iterations,
                  seconds=time.perf_counter() - t0, stopped_by=stopped_by, work=total_work)
    return res, out

