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

Only the least bound counts, so the iterations go, in chunks, to the leaf (a vector, or a
branch of one, below) whose bound is least (leaves never evaluated first, in order); a leaf
whose bound reaches the upper bound holds no better layout and is dropped. The duals share their data
(:meth:`~optimiser.solve.lagrangian._Dual.with_knapsack`) and one work limit; every step is a
deterministic work limit, as in :func:`~optimiser.solve.lagrangian.lagrangian_bound`.

**Branching.** A leaf's ascent can converge (its step exhausted) below the upper bound, and
then the least bound stops there. Such a leaf is branched instead, while work is left (a
Lagrangian branch and bound): one of its decisions closed in one child and forced open in the
other, each child an ascent from the leaf's best multipliers, and the vector's bound is the
least of its leaves'. The decision is tried among the most fractional ones (the knapsack's choices averaged
over the iterations), by the children's least bound after a few iterations each (strong
branching). Measured on benchmarks/realsites at a 10 s limit (wave 13): of the 28 generated
rows only rs023 has a vector that converges within the budget; branched, its gap goes from
0.366 % to 0.150 % (0.141 % when a child's first deflected step goes on from its parent's last
direction, which is from other multipliers: not kept); the other 27 give the same answers,
bounds and work. Branching a vector
whose bound merely slows down (tried: less than 2 % of its gap in 200 iterations) helped
rs023 more (0.047 %) but left rs006, rs018 and rs021 wider (0.321, 0.126 and 0.274 % against
0.313, 0.120 and 0.267 %), and branching sooner left more rows wider: not kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from optimiser.model.budget_cuts import CountClasses
from optimiser.model.problem import Constraint, Problem
from optimiser.solve import interrupt
from optimiser.solve.access_routes import AccessRoutes
from optimiser.solve.lagrangian import LagrangianResult, _Ascent, _Dual

logger = logging.getLogger(__name__)

CHUNK_ITERATIONS = 20
"""Iterations given at a time to the leaf whose bound is least."""

BRANCHING = True
"""Branch a leaf whose ascent converged below the upper bound (module docstring)."""

BRANCH_CANDIDATES = 4
"""Decisions tried (strong branching) when a leaf is branched: its most fractional ones."""

BRANCH_PROBE_ITERATIONS = 20
"""Iterations each child of a tried decision gets before the choice."""

BRANCH_STEP = 0.5
"""The step factor a child starts with (at least its parent's). Measured on realsites rs023 at a
10 s limit (children then going on from their parent's deflection direction): 0.5 leaves a gap
of 0.141 %, 0.1 0.159 % and 0.02 0.191 % (0.366 % without branching)."""

BRANCH_TRACK = 0.05
"""The weight of the newest iteration in a leaf's averaged knapsack decisions (the fractional
values it branches on; a child goes on from its parent's averages)."""

MAX_NODES = 400
"""No branching beyond this many ascents (the vectors', the children's and the probes')."""

WORK_PER_NODE = 50_000.0
"""Work units charged for a child's set-up (its dual and knapsack copied), besides its
iterations (its first evaluation rebuilds its active set: charged there)."""


@dataclass
class _Node:
    """A leaf of the split's search: one count vector's dual (its :class:`_Ascent`) with some
    decisions closed (``dual.fixed``) or forced open (``dual.knap.forced_open``) by branching.

    A leaf whose ascent converged below the upper bound (its step exhausted) cannot raise its
    bound any more; with branching on it is replaced by two children, one decision closed in
    one and forced open in the other, each from its best multipliers. Every layout of the leaf
    is in one child, and a child's Lagrangian at those multipliers is at least the leaf's (its
    knapsack has fewer choices), so the least leaf bound only rises."""

    ascent: _Ascent
    k: int  # the count vector's index
    depth: int


@dataclass(frozen=True)
class VectorBound:
    """What the split proved for one maximal count vector.

    Attributes:
        vector: the count cap of each class (:class:`~optimiser.model.budget_cuts.CountClasses` order).
        bound: a lower bound on every layout with those counts (``math.inf``: none meets the
            budget and counts; at least ``upper_bound`` when pruned).
        pruned: no layout with those counts is better than the upper bound.
        fixed_zero: decisions closed in every better layout with those counts.
        iterations: subgradient iterations spent on it (its children and probes included).
        nodes: its ascents: 1, plus two per decision tried at each branching.
    """

    vector: tuple[int, ...]
    bound: float
    pruned: bool
    fixed_zero: frozenset[int]
    iterations: int
    nodes: int = 1


def capped(problem: Problem, classes: CountClasses, vector: tuple[int, ...]) -> Problem:
    """``problem`` with "at most ``vector[j]`` of class j" as count constraints (for the knapsack;
    a class that already has a count group over the same decisions keeps the tighter cap)."""
    cons = list(problem.constraints)
    for j, (ids, cap) in enumerate(zip(classes.members, vector)):
        cons.append(Constraint(f"count_vector:{j}", tuple((int(i), 1) for i in ids), None, int(cap), f"count_max:class{j}"))
    return replace(problem, constraints=cons)


def split_lagrangian_bound(problem: Problem, classes: CountClasses, vectors: list[tuple[int, ...]],
                           upper_bound: float, *, max_work: float, safety_net_s: float = 60.0,
                           multipliers: tuple[np.ndarray, ...] | None = None,
                           access_multipliers: np.ndarray | None = None, initial_step: float = 0.5,
                           min_step: float = 1e-4, closed: Iterable[int] = (), routes: AccessRoutes | None = None,
                           on_layout: Callable[[tuple[int, ...]], float | None] | None = None,
                           chunk: int = CHUNK_ITERATIONS,
                           deflection: float = 0.0, branching: bool | None = None,
                           max_nodes: int | None = None) -> tuple[LagrangianResult, list[VectorBound]]:
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
        deflection: deflected steps (:attr:`~optimiser.solve.lagrangian._Dual.deflection`).
        branching: branch a vector whose ascent converged below the upper bound (module
            docstring); ``None``: ``BRANCHING``.
        max_nodes: no branching beyond this many ascents (vectors, children and probes);
            ``None``: ``MAX_NODES``.

    Returns:
        (a :class:`LagrangianResult`: the least bound, the decisions closed in every vector not
        pruned, the least leaf's multipliers and layout, the iterations and work of all; the
        bound of each vector). A leaf the work limit left unevaluated is evaluated once, so
        that every vector has a bound.
    """
    search = _Search(problem, vectors, upper_bound, max_work, safety_net_s,
                     BRANCHING if branching is None else branching, MAX_NODES if max_nodes is None else max_nodes,
                     deflection, closed, routes,
                     {"initial_step": initial_step, "min_step": min_step, "on_layout": on_layout})
    for k, v in enumerate(vectors):
        search.leaves.append(search.add(search.base.with_knapsack(capped(problem, classes, v)), k, multipliers,
                                        access_multipliers, initial_step, 0))
    stopped_by = search.run(chunk)
    results = {id(n): n.ascent.result() for n in search.leaves}
    ub = search.least_upper_bound()
    out, lead_node = search.vector_bounds(results, ub)
    open_vectors = [k for k, vb in enumerate(out) if not vb.pruned]
    if lead_node is not None:
        lead = results[id(lead_node)]
        bound = min(float(lead.bound), ub)
        fixed = frozenset.intersection(*(out[k].fixed_zero for k in open_vectors))
    else:  # no vector holds a better layout: the upper bound is optimal
        lead = next(iter(results.values()))
        bound, fixed = ub, frozenset()
    iterations = sum(vb.iterations for vb in out)
    logger.debug("split Lagrangian: bound %s over %d vectors (%d pruned), %d ascents, %d iterations, %d closed", bound,
                 len(vectors), len(vectors) - len(open_vectors), sum(search.ascents), iterations, len(fixed))
    res = replace(lead, bound=bound, fixed_zero=fixed, iterations=iterations, seconds=time.perf_counter() - search.t0,
                  stopped_by=stopped_by, work=search.work())
    return res, out


class _Search:
    """The split's search: every vector's leaves (:class:`_Node`), the least one's ascent run
    chunk by chunk, a converged one branched; one work limit and safety net for all. A branched
    leaf and a probe not kept are dropped once their work, iterations and upper bound are
    counted (their arrays are not kept)."""

    def __init__(self, problem: Problem, vectors: list[tuple[int, ...]], upper_bound: float, max_work: float,
                 safety_net_s: float, branching: bool, max_nodes: int, deflection: float, closed: Iterable[int],
                 routes: AccessRoutes | None, ascent_kw: dict[str, Any]) -> None:
        self.t0 = time.perf_counter()
        self.base = _Dual(problem, closed, routes)
        self.vectors, self.upper_bound, self.max_work, self.safety_net_s = vectors, upper_bound, max_work, safety_net_s
        self.branching, self.max_nodes, self.deflection, self.ascent_kw = branching, max_nodes, deflection, ascent_kw
        self.leaves: list[_Node] = []
        self.spent = self.base.work  # the shared set-up, then the work of every dropped ascent
        self.dropped_iterations = [0] * len(vectors)  # of each vector's dropped ascents
        self.ascents = [0] * len(vectors)  # each vector's ascents so far
        self.dropped_upper_bound = math.inf

    def add(self, dual: _Dual, k: int, mult: tuple[np.ndarray, ...] | None, access: np.ndarray | None,
            step: float, depth: int, y_mean: np.ndarray | None = None) -> _Node:
        """A new ascent on ``dual`` (vector ``k``) from ``mult``."""
        dual.deflection = self.deflection
        a = _Ascent(dual, self.upper_bound, multipliers=mult, access_multipliers=access, safety_net_s=self.safety_net_s,
                    **{**self.ascent_kw, "initial_step": step})
        a.t0 = self.t0  # one safety net for all
        a.track = BRANCH_TRACK if self.branching else 0.0
        if y_mean is not None:
            a.y_mean = y_mean.copy()
        self.ascents[k] += 1
        if depth:
            self.spent += WORK_PER_NODE
        return _Node(a, k, depth)

    def drop(self, n: _Node) -> None:
        """Count an ascent's work, iterations and upper bound, and let it go."""
        a = n.ascent
        self.spent += a.dual.work
        self.dropped_iterations[n.k] += a.it
        if a.upper_bound is not None:
            self.dropped_upper_bound = min(self.dropped_upper_bound, a.upper_bound)

    def work(self) -> float:
        """Work units so far: the shared set-up, every ascent's (dropped ones included) and the
        children's set-ups."""
        return self.spent + sum(n.ascent.dual.work for n in self.leaves)

    def iterations(self, k: int) -> int:
        """Vector ``k``'s iterations: of its dropped ascents and of its leaves."""
        return self.dropped_iterations[k] + sum(n.ascent.it for n in self.leaves if n.k == k)

    def least_upper_bound(self) -> float:
        """The best layout's objective any ascent has seen (``on_layout``), or the given one."""
        ubs = [n.ascent.upper_bound for n in self.leaves if n.ascent.upper_bound is not None]
        return min([self.upper_bound, self.dropped_upper_bound, *ubs])

    def share_upper_bound(self) -> None:
        """A better layout found by one ascent is every leaf's target."""
        u = self.least_upper_bound()
        for n in self.leaves:
            if n.ascent.upper_bound is not None and u < n.ascent.upper_bound:
                n.ascent.upper_bound = n.ascent.target = u

    @staticmethod
    def gone(n: _Node) -> bool:
        """No layout in leaf ``n`` is better than the upper bound."""
        return n.ascent.pruned or n.ascent.stopped_by == "no layout"

    def stop_reason(self) -> str | None:
        """Why no further work may start (the work limit, a stop request, the safety net), or ``None``."""
        if self.max_work - self.work() <= 0:
            return "work limit"
        if interrupt.requested():
            return "interrupted"
        if time.perf_counter() - self.t0 > self.safety_net_s:
            return "safety net"
        return None

    def branch(self, n: _Node) -> bool:
        """Replace leaf ``n`` by two children (a decision closed, forced open): of its
        ``BRANCH_CANDIDATES`` most fractional decisions, the one whose children's least bound
        is highest after ``BRANCH_PROBE_ITERATIONS`` each (strong branching). ``False`` when
        the node cap or no free decision leaves none."""
        a = n.ascent
        knap = a.dual.knap
        free = ~a.dual.fixed & ~knap.forced_open & ~knap.closed
        if sum(self.ascents) + 2 * BRANCH_CANDIDATES > self.max_nodes or not free.any():
            return False
        score = np.where(free, np.minimum(a.y_mean, 1.0 - a.y_mean), -1.0)
        order = [int(d) for d in np.argsort(-score, kind="stable")[:BRANCH_CANDIDATES] if score[d] >= 0.0]
        mult = a.dual.outside(a.best_mult[0], a.best_mult[1])
        step = max(a.step, BRANCH_STEP)
        best_pair: list[_Node] | None = None
        best_value, best_d = -math.inf, -1
        for d in order:
            if best_pair is not None and self.stop_reason() is not None:
                break  # no work left for another probe
            kids = []
            for force_open in (False, True):
                dual = a.dual.with_knapsack(None)
                if force_open:
                    dual.knap.forced_open[d] = True
                else:
                    dual.fixed[d] = True
                kid = self.add(dual, n.k, mult, a.best_mult[2], step, n.depth + 1, a.y_mean)
                if len(order) > 1:
                    kid.ascent.run(BRANCH_PROBE_ITERATIONS, kid.ascent.dual.work + max(0.0, self.max_work - self.work()))
                kids.append(kid)
            value = min(math.inf if self.gone(k) else k.ascent.best for k in kids)
            if best_pair is None or value > best_value:
                if best_pair is not None:
                    for k in best_pair:
                        self.drop(k)
                best_pair, best_value, best_d = kids, value, d
            else:
                for k in kids:
                    self.drop(k)
        assert best_pair is not None
        self.leaves.remove(n)
        self.drop(n)
        self.leaves.extend(best_pair)
        logger.debug("vector %d, depth %d: branched on decision %d (averaged %.3f) at %s", n.k, n.depth, best_d,
                     a.y_mean[best_d], a.best)
        return True

    def run(self, chunk: int) -> str:
        """Chunks of iterations to the least live leaf, a converged one branched, until the work
        limit, a stop, or until the least bound cannot rise ("converged": no leaf left, or the
        least one converged and cannot be branched, e.g. at the node cap); how it stopped."""
        stopped_by = "work limit"
        while True:
            live = [n for n in self.leaves if not self.gone(n)]
            if not live:
                stopped_by = "converged"
                break
            # of equal bounds, one that can still rise first
            least = min(live, key=lambda n: (n.ascent.best, n.ascent.done))
            a = least.ascent
            if a.done:  # its bound cannot rise any more: branch it (converged, work left), else it is final
                if a.stopped_by != "converged":  # the safety net or a stop request ended it
                    stopped_by = a.stopped_by
                    break
                reason = self.stop_reason() if self.branching else None
                if reason is None and self.branching and self.branch(least):
                    self.share_upper_bound()
                    continue
                stopped_by = reason or "converged"
                break
            reason = self.stop_reason()
            if reason is not None:
                stopped_by = reason
                break
            a.run(a.it + chunk, a.dual.work + self.max_work - self.work())
            if a.stopped_by in ("safety net", "interrupted"):
                stopped_by = a.stopped_by
                break
            self.share_upper_bound()
        for n in self.leaves:  # a leaf never evaluated has no bound yet: one evaluation (the work limit's last overshoot)
            if n.ascent.it == 0 and not n.ascent.done:
                n.ascent.run(1)
        self.share_upper_bound()
        return stopped_by

    def vector_bounds(self, results: dict[int, LagrangianResult], ub: float) -> tuple[list[VectorBound], _Node | None]:
        """Each vector's bound from its leaves' ``results`` (by ``id``): the least of its live
        leaves', the decisions closed in all of them; pruned (at ``ub``) when none is live. And
        the leaf of the least bound (``None``: every vector pruned)."""
        out = []
        lead: _Node | None = None
        for k, v in enumerate(self.vectors):
            mine = [n for n in self.leaves if n.k == k]
            live = [n for n in mine if not self.gone(n) and results[id(n)].bound != math.inf]
            its, count = self.iterations(k), self.ascents[k]
            if live:
                least = min(live, key=lambda n: results[id(n)].bound)
                fixed = frozenset.intersection(*(results[id(n)].fixed_zero for n in live))
                out.append(VectorBound(v, float(results[id(least)].bound), False, fixed, its, count))
                if lead is None or results[id(least)].bound < results[id(lead)].bound:
                    lead = least
            else:
                infeasible = all(results[id(n)].bound == math.inf and not n.ascent.pruned for n in mine)
                fixed = frozenset.intersection(*(results[id(n)].fixed_zero for n in mine)) if mine else frozenset()
                out.append(VectorBound(v, math.inf if infeasible else float(ub), True, fixed, its, count))
        return out, lead
