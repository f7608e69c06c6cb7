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

**Branching.** A vector's ascent can converge (its step exhausted) below the upper bound, and
then the least bound stops there. Such a vector is branched instead (a Lagrangian branch and
bound): one of its decisions closed in one child and forced open in the other, each child an
ascent from the vector's best multipliers, and the children's least bound counts for the
vector. The decision is tried among the most fractional ones (the knapsack's choices averaged
over the iterations), by the children's least bound after a few iterations each (strong
branching). Measured on benchmarks/realsites at a 10 s limit (wave 13): of the 28 generated
rows only rs023 has a vector that converges within the budget; branched, its gap goes from
0.366 % to 0.141 %; the other 27 give the same answers, bounds and work. Branching a vector
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
"""Iterations given at a time to the vector whose bound is least."""


BRANCHING = True
"""Branch a vector's dual that converged below the upper bound (see :class:`_Node`)."""

BRANCH_CANDIDATES = 4
"""Decisions tried (strong branching) when a node is branched: its most fractional ones."""

BRANCH_PROBE_ITERATIONS = 20
"""Iterations each child of a tried decision gets before the choice."""

BRANCH_STEP = 0.5
"""The step factor a child starts with (at least its parent's). Measured on realsites rs023 at a
10 s limit: 0.5 leaves a gap of 0.141 %, 0.1 0.159 % and 0.02 0.191 % (0.366 % without branching)."""

BRANCH_TRACK = 0.05
"""The weight of the newest iteration in a node's averaged knapsack decisions (the fractional
values it branches on)."""

MAX_NODES = 400
"""No more nodes than this (the vectors' own and every probe included)."""

WORK_PER_NODE = 50_000.0
"""Work units charged for a child's set-up (its knapsack), besides its iterations."""


@dataclass
class _Node:
    """A leaf of the split's search: one count vector's dual (its :class:`_Ascent`) with some
    decisions closed (``dual.fixed``) or forced open (``dual.knap.forced_open``) by branching.

    A leaf whose ascent converged below the upper bound (its step exhausted) cannot raise its
    bound any more; with ``BRANCHING`` it is replaced by two children, one decision closed in
    one and forced open in the other, each from its multipliers. Every layout of the leaf is in
    one child, and a child's Lagrangian at those multipliers is at least the leaf's (its
    knapsack has fewer choices), so the least leaf bound only rises."""

    ascent: _Ascent
    k: int  # the count vector's index
    problem: Problem  # the vector's capped problem
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
        nodes: its ascents: 1, plus two per child tried when it was branched.
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
                           multipliers: tuple[np.ndarray, np.ndarray] | None = None,
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
    search = _Search(problem, classes, vectors, upper_bound, max_work, safety_net_s,
                     BRANCHING if branching is None else branching, MAX_NODES if max_nodes is None else max_nodes,
                     deflection, closed, routes,
                     {"initial_step": initial_step, "min_step": min_step, "on_layout": on_layout})
    for k, v in enumerate(vectors):
        sub = capped(problem, classes, v)
        search.leaves.append(search.add(search.base.with_knapsack(sub), k, sub, multipliers, access_multipliers,
                                        initial_step, 0))
    stopped_by = search.run(chunk)
    results = {id(n): n.ascent.result() for n in search.leaves}
    ub = min((n.ascent.upper_bound for n in search.nodes if n.ascent.upper_bound is not None), default=upper_bound)
    out = search.vector_bounds(results, ub)
    open_vectors = [k for k, vb in enumerate(out) if not vb.pruned]
    if open_vectors:
        live = [n for n in search.leaves if not out[n.k].pruned and not search.gone(n) and results[id(n)].bound != math.inf]
        lead = results[id(min(live, key=lambda n: results[id(n)].bound))]
        bound = min(float(lead.bound), ub)
        fixed = frozenset.intersection(*(out[k].fixed_zero for k in open_vectors))
    else:  # no vector holds a better layout: the upper bound is optimal
        lead = next(iter(results.values()))
        bound, fixed = ub, frozenset()
    iterations = sum(n.ascent.it for n in search.nodes)
    logger.debug("split Lagrangian: bound %s over %d vectors (%d pruned), %d nodes, %d iterations, %d closed", bound,
                 len(vectors), len(vectors) - len(open_vectors), len(search.nodes), iterations, len(fixed))
    res = replace(lead, bound=bound, fixed_zero=fixed, iterations=iterations, seconds=time.perf_counter() - search.t0,
                  stopped_by=stopped_by, work=search.work())
    return res, out


class _Search:
    """The split's search: every vector's leaves (:class:`_Node`), the least one's ascent run
    chunk by chunk, a converged one branched; one work limit and safety net for all."""

    def __init__(self, problem: Problem, classes: CountClasses, vectors: list[tuple[int, ...]], upper_bound: float,
                 max_work: float, safety_net_s: float, branching: bool, max_nodes: int, deflection: float,
                 closed: Iterable[int], routes: AccessRoutes | None, ascent_kw: dict[str, Any]) -> None:
        self.t0 = time.perf_counter()
        self.base = _Dual(problem, closed, routes)
        self.setup = self.base.work
        self.vectors, self.upper_bound, self.max_work, self.safety_net_s = vectors, upper_bound, max_work, safety_net_s
        self.branching, self.max_nodes, self.deflection, self.ascent_kw = branching, max_nodes, deflection, ascent_kw
        self.nodes: list[_Node] = []  # every ascent (probes included): the work
        self.leaves: list[_Node] = []

    def add(self, dual: _Dual, k: int, sub: Problem, mult: tuple[np.ndarray, np.ndarray] | None,
            access: np.ndarray | None, step: float, depth: int, y_mean: np.ndarray | None = None) -> _Node:
        """A new ascent on ``dual`` (vector ``k``, capped problem ``sub``) from ``mult``."""
        dual.deflection = self.deflection
        a = _Ascent(dual, self.upper_bound, multipliers=mult, access_multipliers=access, safety_net_s=self.safety_net_s,
                    **{**self.ascent_kw, "initial_step": step})
        a.t0 = self.t0  # one safety net for all
        a.track = BRANCH_TRACK if self.branching else 0.0
        if y_mean is not None:
            a.y_mean = y_mean.copy()
        n = _Node(a, k, sub, depth)
        self.nodes.append(n)
        return n

    def work(self) -> float:
        """Work units so far: the shared set-up, every ascent's, and the children's set-ups."""
        return self.setup + sum(n.ascent.dual.work for n in self.nodes) + WORK_PER_NODE * (len(self.nodes) - len(self.vectors))

    @staticmethod
    def gone(n: _Node) -> bool:
        """No layout in leaf ``n`` is better than the upper bound."""
        return n.ascent.pruned or n.ascent.stopped_by == "no layout"

    def share_upper_bound(self) -> None:
        """A better layout found by one ascent (its ``on_layout``) is every ascent's target."""
        ubs = [n.ascent.upper_bound for n in self.nodes if n.ascent.upper_bound is not None]
        if ubs:
            u = min(ubs)
            for n in self.nodes:
                if n.ascent.upper_bound is not None and u < n.ascent.upper_bound:
                    n.ascent.upper_bound = n.ascent.target = u

    def branch(self, n: _Node) -> bool:
        """Replace leaf ``n`` by two children (a decision closed, forced open): of its
        ``BRANCH_CANDIDATES`` most fractional decisions, the one whose children's least bound
        is highest after ``BRANCH_PROBE_ITERATIONS`` each (strong branching). ``False`` when
        the node cap or no free decision leaves none."""
        a = n.ascent
        knap = a.dual.knap
        free = ~a.dual.fixed & ~knap.forced_open & ~knap.closed
        if len(self.nodes) + 2 * BRANCH_CANDIDATES > self.max_nodes or not free.any():
            return False
        score = np.where(free, np.minimum(a.y_mean, 1.0 - a.y_mean), -1.0)
        order = [int(d) for d in np.argsort(-score, kind="stable")[:BRANCH_CANDIDATES] if score[d] >= 0.0]
        mult = (a.best_mult[0], a.dual.full_mu(a.best_mult[1]))
        step = max(a.step, BRANCH_STEP)
        best_pair: list[_Node] | None = None
        best_value, best_d = -math.inf, -1
        for d in order:
            kids = []
            for force_open in (False, True):
                dual = a.dual.with_knapsack(n.problem)
                dual.knap.forced_open |= knap.forced_open
                if force_open:
                    dual.knap.forced_open[d] = True
                else:
                    dual.fixed[d] = True
                kid = self.add(dual, n.k, n.problem, mult, a.best_mult[2], step, n.depth + 1, a.y_mean)
                if len(order) > 1:
                    kid.ascent.run(BRANCH_PROBE_ITERATIONS, kid.ascent.dual.work + max(0.0, self.max_work - self.work()))
                kids.append(kid)
            value = min(math.inf if self.gone(k) else k.ascent.best for k in kids)
            if best_pair is None or value > best_value:
                best_pair, best_value, best_d = kids, value, d
        assert best_pair is not None
        self.leaves.remove(n)
        self.leaves.extend(best_pair)
        logger.debug("vector %d, depth %d: branched on decision %d (averaged %.3f) at %s", n.k, n.depth, best_d,
                     a.y_mean[best_d], a.best)
        return True

    def run(self, chunk: int) -> str:
        """Chunks of iterations to the least live leaf until the work limit, or until no leaf's
        bound can rise; how it stopped."""
        stopped_by = "work limit"
        while True:
            live = [n for n in self.leaves if not self.gone(n)]
            if not live:
                stopped_by = "converged"
                break
            least = min(live, key=lambda n: n.ascent.best)
            if least.ascent.done:  # its bound cannot rise any more: branch it, else the least bound is final
                if self.branching and self.branch(least):
                    self.share_upper_bound()
                    continue
                stopped_by = "converged"
                break
            left = self.max_work - self.work()
            if left <= 0 or interrupt.requested() or time.perf_counter() - self.t0 > self.safety_net_s:
                stopped_by = "work limit" if left <= 0 else ("interrupted" if interrupt.requested() else "safety net")
                break
            a = least.ascent
            a.run(a.it + chunk, a.dual.work + left)
            if a.stopped_by in ("safety net", "interrupted"):
                stopped_by = a.stopped_by
                break
            self.share_upper_bound()
        for n in self.leaves:  # a leaf never evaluated has no bound yet: one evaluation (the work limit's last overshoot)
            if n.ascent.it == 0 and not n.ascent.done:
                n.ascent.run(1)
        self.share_upper_bound()
        return stopped_by

    def vector_bounds(self, results: dict[int, LagrangianResult], ub: float) -> list[VectorBound]:
        """Each vector's bound from its leaves' ``results`` (by ``id``): the least of its live
        leaves', the decisions closed in all of them; pruned (at ``ub``) when none is live."""
        out = []
        for k, v in enumerate(self.vectors):
            mine = [n for n in self.leaves if n.k == k]
            live = [n for n in mine if not self.gone(n) and results[id(n)].bound != math.inf]
            every = [n for n in self.nodes if n.k == k]
            its = sum(n.ascent.it for n in every)
            if live:
                bound = min(float(results[id(n)].bound) for n in live)
                fixed = frozenset.intersection(*(results[id(n)].fixed_zero for n in live))
                out.append(VectorBound(v, bound, False, fixed, its, len(every)))
            else:
                infeasible = all(results[id(n)].bound == math.inf and not n.ascent.pruned for n in mine)
                fixed = frozenset.intersection(*(results[id(n)].fixed_zero for n in mine)) if mine else frozenset()
                out.append(VectorBound(v, math.inf if infeasible else float(ub), True, fixed, its, len(every)))
        return out
