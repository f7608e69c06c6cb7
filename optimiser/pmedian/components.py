"""Exact finish by decomposition: independent regions of the reduced problem and a count split.

After the pair elimination against the target (``lagrangian.eliminate_pairs``), a client may only use
its surviving columns in a solution of value at most the target.  The bipartite graph of these pairs
often falls apart into connected components (fl1400, p = 200, against 8,805: 47 components with
clients, the largest four of 276 clients each): no client of one component can use a facility of
another, so such a solution is the union of one solution per component with ``k_c`` facilities each,
``sum k_c = k``.  With ``g_c(k)`` the optimum of component ``c`` alone (its clients, its facilities, the
real costs, ``k`` facilities; non-increasing in ``k``), the best such solution is
``min { sum_c g_c(k_c) : sum_c k_c = k }``, a min-plus dynamic programme over the components.

Lazily: every ``g_c(k)`` starts at a Lagrangian lower bound (the root's multipliers restricted to the
component); the programme's minimum ``V`` over these bounds is a valid lower bound of the whole
problem; the components of the minimising split whose value is only a bound are solved exactly (a
small p-median, by the caller's sub-solver), and the programme runs again.  It ends when ``V``
exceeds the target (no solution of value <= target: the incumbent is optimal) or when every part of
the minimising split is exact (that split is an optimal solution), or at its work limit (sub-solves).
Components that are the same problem up to the order of their clients and facilities are solved once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from optimiser.pmedian.problem import FloatArray, IntArray

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Component:
    """One connected component of the allowed client-facility pairs: its clients, its free facilities
    and its facilities fixed open (global indices)."""

    clients: IntArray
    free: IntArray
    fixed: IntArray


def pair_components(allowed_pairs: list[IntArray], free_idx: IntArray, open_idx: IntArray,
                    m: int) -> tuple[list[Component], IntArray]:
    """The connected components (with at least one client) of the bipartite graph of allowed pairs,
    largest first, and the free facilities that no client may use (in no component)."""
    n = len(allowed_pairs)
    rows = np.repeat(np.arange(n), [c.size for c in allowed_pairs])
    cols = np.concatenate(allowed_pairs) if n else np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size), (rows, n + cols)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    client_label, fac_label = label[:n], label[n:]
    free_mask = np.zeros(m, dtype=bool)
    free_mask[free_idx] = True
    open_mask = np.zeros(m, dtype=bool)
    open_mask[open_idx] = True
    comps = []
    for lab in np.unique(client_label):
        facs = np.flatnonzero(fac_label == lab)
        comps.append(Component(np.flatnonzero(client_label == lab), facs[free_mask[facs]], facs[open_mask[facs]]))
    comps.sort(key=lambda c: -c.clients.size)
    used = np.zeros(m, dtype=bool)
    used[cols] = True
    return comps, free_idx[~used[free_idx]]


@dataclass(frozen=True)
class SubResult:
    """A component's sub-problem solved with ``k`` free facilities: ``bound`` (valid lower bound),
    ``proven`` (``value == bound`` is its optimum), ``value`` and ``S`` (positions into the
    component's free facilities followed by its fixed ones) of the best solution found, if any."""

    bound: float
    proven: bool
    value: float | None
    S: IntArray | None
    lam: FloatArray | None = None  # multipliers of the sub-problem's clients (bounds at every k)


# (cost matrix clients x [free, fixed] facilities, number of free facilities to open, number of
# fixed ones) -> SubResult
SubSolver = Callable[[FloatArray, int, int, bool], SubResult]


@dataclass
class _Part:
    """The shared state of components that are the same problem (up to order): ``lb[k]``, which ``k``
    are exact, the solutions found (in canonical positions) and the canonical orders of each member."""

    cost: FloatArray  # canonical cost matrix (clients x [free, fixed])
    n_free: int
    n_fixed: int
    lb: FloatArray
    exact: np.ndarray
    level: np.ndarray  # per k: 0 shared bound, 1 own root bound, 2 full solve tried
    solutions: dict[int, IntArray] = field(default_factory=dict)  # the best solution known per k
    ub: dict[int, float] = field(default_factory=dict)  # its value
    members: list[tuple[Component, IntArray]] = field(default_factory=list)  # (component, column order)


def _canonical(cost: FloatArray, n_free: int) -> tuple[FloatArray, IntArray]:
    """The cost matrix with rows and columns sorted by their sorted values (free columns before fixed
    ones): two components with the same canonical matrix are the same problem.  Returns the matrix
    and the column order (ties keep their order, so a tie may only miss a duplicate)."""
    rows = np.lexsort(np.sort(cost, axis=1).T[::-1])
    col_key = np.sort(cost, axis=0).T
    order_free = np.lexsort(col_key[:n_free].T[::-1])
    order_fixed = n_free + np.lexsort(col_key[n_free:].T[::-1])
    cols = np.concatenate([order_free, order_fixed]).astype(np.int64)
    return np.ascontiguousarray(cost[np.ix_(rows, cols)]), cols


def _lagrangian_lb(cost: FloatArray, lam: FloatArray, n_free: int) -> FloatArray:
    """Lower bounds of the component's optimum with ``k = 0 .. n_free`` free facilities open: the
    Lagrangian bound at ``lam`` (any multipliers give one), made non-increasing in ``k`` from the
    right (more facilities never cost more), ``inf`` where nothing is open."""
    rho = np.minimum(cost - lam[:, None], 0.0).sum(axis=0)
    base = float(lam.sum() + rho[n_free:].sum())
    lb = base + np.concatenate([[0.0], np.cumsum(np.sort(rho[:n_free]))])
    lb = np.maximum(lb, 0.0) if np.all(cost >= 0) else lb
    lb = np.maximum.accumulate(lb[::-1])[::-1]
    if cost.shape[1] == n_free:  # no fixed facility: k = 0 serves no client
        lb[0] = math.inf
    return lb


def _min_plus_split(lbs: list[FloatArray], K: int) -> tuple[float, list[int]]:
    """``min sum_c lbs[c][k_c]`` over ``sum_c k_c = K`` and the minimising ``k_c`` (``inf``, [] when
    no split exists)."""
    best = np.full(K + 1, math.inf)
    best[0] = 0.0
    choices = []
    for lb in lbs:
        kmax = min(lb.size - 1, K)
        table = np.full((kmax + 1, K + 1), math.inf)
        for k in range(kmax + 1):
            table[k, k:] = best[:K + 1 - k] + lb[k]
        arg = np.argmin(table, axis=0)
        best = table[arg, np.arange(K + 1)]
        choices.append(arg)
    if not math.isfinite(best[K]):
        return math.inf, []
    split = []
    t = K
    for arg in reversed(choices):
        split.append(int(arg[t]))
        t -= split[-1]
    return float(best[K]), split[::-1]


@dataclass(frozen=True)
class SplitOutcome:
    """``status``: ``infeasible`` (no solution of value <= target), ``found_optimal`` (``S`` is optimal,
    value ``bound``) or ``unknown`` (work limit; ``bound`` valid); ``subsolves``: sub-problems solved."""

    status: str
    S: IntArray | None
    bound: float
    subsolves: int
    stats: dict[str, int]


def _parts(C: FloatArray, comps: list[Component], lam: FloatArray) -> list[_Part]:
    """Group the components into parts (same canonical problem) with their Lagrangian bounds."""
    parts: dict[bytes, _Part] = {}
    for comp in comps:
        cost = C[np.ix_(comp.clients, np.concatenate([comp.free, comp.fixed]))]
        canon, cols = _canonical(cost, comp.free.size)
        key = canon.tobytes() + np.array([canon.shape[0], comp.free.size], dtype=np.int64).tobytes()
        part = parts.get(key)
        if part is None:
            lb = _lagrangian_lb(cost, lam[comp.clients], comp.free.size)
            part = _Part(canon, comp.free.size, comp.fixed.size, lb, np.zeros(lb.size, dtype=bool),
                         np.zeros(lb.size, dtype=np.int64))
            parts[key] = part
        else:  # the same problem: keep the better bound of the two multiplier restrictions
            part.lb = np.maximum(part.lb, _lagrangian_lb(cost, lam[comp.clients], comp.free.size))
        part.members.append((comp, cols))
    return list(parts.values())


def solve_by_components(C: FloatArray, comps: list[Component], isolated: IntArray, K: int, lam: FloatArray,
                        target: float, tol: float, solve_sub: SubSolver, max_subsolves: int,
                        deadline_passed: Callable[[], bool], incumbent: IntArray | None = None) -> SplitOutcome:
    """Decide whether a solution of value at most ``target`` exists (and find the best one) by the
    lazy count split over ``comps`` (``K`` free facilities to open in all, ``isolated`` free
    facilities usable to fill the count); at most ``max_subsolves`` sub-problems (the work limit).
    ``incumbent`` (global indices) seeds the known solutions of the regions (for the solution
    assembled when the split stops unproven)."""
    parts = _parts(C, comps, lam)
    if incumbent is not None:
        _seed(parts, incumbent)
    # the members of a part are separate components: a member is one entry of the split
    entries = [(part, member) for part in parts for member in part.members]
    filler = np.zeros(isolated.size + 1)
    subsolves = 0
    stats = {"components": len(comps), "distinct_components": len(parts)}
    while True:
        V, split = _min_plus_split([part.lb for part, _ in entries] + [filler], K)
        if V > target + tol:
            stats["subsolves"] = subsolves
            return SplitOutcome("infeasible", None, V, subsolves, stats)
        pending = [(part, k) for (part, _), k in zip(entries, split) if not part.exact[k]]
        if not pending:
            stats["subsolves"] = subsolves
            return SplitOutcome("found_optimal", _assemble(entries, split, isolated), V, subsolves, stats)
        cheap = [(part, k) for part, k in pending if part.level[k] == 0]
        untried = [(part, k) for part, k in pending if part.level[k] == 1]
        if not (cheap or untried) or subsolves >= max_subsolves or deadline_passed():
            stats["subsolves"] = subsolves
            return SplitOutcome("unknown", _best_known(entries, isolated, K), V, subsolves, stats)
        # a sub-problem's own root bound first (cheap; it often settles a count the programme only
        # chose because the shared multipliers bound it poorly), a full solve when chosen again
        part, k = min(cheap or untried, key=lambda pk: pk[0].cost.size)
        exact = not cheap
        res = solve_sub(part.cost, k, part.n_fixed, exact)
        subsolves += exact
        stats["root_bounds"] = stats.get("root_bounds", 0) + (not exact)
        part.level[k] += 1
        part.lb[k] = max(part.lb[k], res.bound)
        if res.lam is not None:  # the sub-problem's multipliers bound every count, tightest near k
            part.lb = np.maximum(part.lb, _lagrangian_lb(part.cost, res.lam, part.n_free))
        if res.S is not None and res.value is not None and res.value < part.ub.get(k, math.inf):
            part.ub[k], part.solutions[k] = res.value, res.S
        if res.proven and res.S is not None:
            part.exact[k] = True
        # more facilities never cost more: a bound at k also bounds every smaller count
        part.lb[:k + 1] = np.maximum(part.lb[:k + 1], part.lb[k])
        logger.debug("component sub-problem (%d clients, k = %d%s): bound %.6g%s", part.cost.shape[0], k,
                     "" if exact else ", root", res.bound, " (optimal)" if res.proven else "")


def _seed(parts: list[_Part], incumbent: IntArray) -> None:
    """Each region's share of the incumbent as a known solution of its count."""
    for part in parts:
        for comp, cols in part.members:
            facs = np.concatenate([comp.free, comp.fixed])[cols]
            pos = np.flatnonzero(np.isin(facs, incumbent))
            k = int(np.isin(comp.free, incumbent).sum())
            if pos.size == 0 or k >= part.lb.size or pos.size != k + comp.fixed.size:
                continue
            value = float(part.cost[:, pos].min(axis=1).sum())
            if value < part.ub.get(k, math.inf):
                part.ub[k], part.solutions[k] = value, pos


def _best_known(entries: list[tuple[_Part, tuple[Component, IntArray]]], isolated: IntArray,
                K: int) -> IntArray | None:
    """The best solution assembled from the sub-problems' known solutions (``None`` if there is none
    for some split): its value is at most the sum of theirs."""
    ubs = []
    for part, _ in entries:
        ub = np.full(part.lb.size, math.inf)
        for k, val in part.ub.items():
            ub[k] = val
        ubs.append(ub)
    value, split = _min_plus_split(ubs + [np.zeros(isolated.size + 1)], K)
    return _assemble(entries, split, isolated) if math.isfinite(value) else None


def _assemble(entries: list[tuple[_Part, tuple[Component, IntArray]]], split: list[int],
              isolated: IntArray) -> IntArray:
    """The facilities of the split's solutions (global indices) plus ``split[-1]`` isolated ones."""
    chosen = []
    for (part, (comp, cols)), k in zip(entries, split):
        facs = np.concatenate([comp.free, comp.fixed])[cols]  # canonical position -> global index
        chosen.append(facs[part.solutions[k]])
    chosen.append(isolated[:split[-1]])
    return np.unique(np.concatenate(chosen)).astype(np.int64)
