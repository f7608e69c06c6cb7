"""A hierarchy of facility clusters and the Lagrangian subproblem under cluster count constraints.

Branching on one facility (``y_j = 0`` / ``y_j = 1``) hardly moves the LP bound of a large p-median
with near-identical neighbouring sites: a neighbour takes over the closed site (rl1304, p = 10: the
LP bound of the ``y_j = 0`` child of a chosen facility is 4-60 units above its parent's, 2,507 are
needed).  Branching on the number of open facilities in a cluster of nearby sites ("at most
floor(s) open in this cluster" / "at least ceil(s)") does: the clusters of one hierarchy form a
laminar family, and the Lagrangian subproblem "open the ``k`` facilities with the smallest ``rho``
with each constrained cluster's count in its range" stays exactly solvable (a min-plus dynamic
programme over the constrained clusters) with the integrality property, so the node's Lagrangian
dual is its LP bound with the count constraints.

The facilities are kept in the hierarchy's leaf order (``FacilityTree.order``), so every cluster is
a contiguous range of positions ``[start, end)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist

from optimiser.pmedian.problem import FloatArray, IntArray

logger = logging.getLogger(__name__)

PROFILE_CLIENTS = 400  # clients sampled for the facility dissimilarity (cost-profile distance)

Counts = dict[int, tuple[int, int]]  # cluster id -> (lo, hi) open facilities


@dataclass(frozen=True)
class FacilityTree:
    """A binary hierarchy over ``nf`` facilities: ``order`` (positions into the caller's facility
    list, in leaf order), and per cluster id ``start``/``end`` (its positions in leaf order) and
    ``parent`` (``-1`` for the root, id ``root``).  Ids ``0 .. nf - 1`` are the single facilities
    (id ``q`` is leaf-order position ``q``)."""

    order: IntArray
    start: IntArray
    end: IntArray
    parent: IntArray
    root: int

    @property
    def size(self) -> int:
        return int(self.order.size)


def facility_tree(C: FloatArray, cols: IntArray) -> FacilityTree:
    """Complete-linkage hierarchy of the facilities ``cols`` (columns of ``C``) by the summed absolute
    difference of their cost profiles over (a sample of) the clients, which for a metric instance
    whose sites are also clients grows with their distance.  (rl1304, p = 10, from the optimum: the
    proof takes 283 nodes with this hierarchy, 331 with complete linkage on the sites' own distances,
    465-663 with average linkage or Ward's.)"""
    nf = int(cols.size)
    if nf == 1:
        z = np.zeros(1, dtype=np.int64)
        return FacilityTree(z, z.copy(), np.ones(1, dtype=np.int64), np.full(1, -1, dtype=np.int64), 0)
    n = C.shape[0]
    rows = np.linspace(0, n - 1, min(n, PROFILE_CLIENTS)).astype(np.int64)
    prof = C[np.ix_(rows, cols)].T.astype(np.float64)
    # scipy.cluster costs up to a second to import on a busy machine: loaded when a branch and bound
    # first needs it (solve_pmedian is imported by the site optimiser, whose solves rarely branch)
    from scipy.cluster.hierarchy import leaves_list, linkage  # noqa: PLC0415

    Z = linkage(pdist(prof, metric="cityblock"), method="complete")
    leaves = leaves_list(Z).astype(np.int64)
    pos_of = np.empty(nf, dtype=np.int64)
    pos_of[leaves] = np.arange(nf)
    total = 2 * nf - 1
    start = np.empty(total, dtype=np.int64)
    end = np.empty(total, dtype=np.int64)
    parent = np.full(total, -1, dtype=np.int64)
    # scipy ids: leaves 0..nf-1 (original index), merges nf + t; ours: leaves by leaf-order position
    sid_to_ours = np.empty(total, dtype=np.int64)
    sid_to_ours[:nf] = pos_of
    sid_to_ours[nf:] = np.arange(nf, total)
    start[:nf] = np.arange(nf)
    end[:nf] = np.arange(1, nf + 1)
    for t in range(nf - 1):
        a, b = sid_to_ours[int(Z[t, 0])], sid_to_ours[int(Z[t, 1])]
        h = nf + t
        start[h] = min(start[a], start[b])
        end[h] = max(end[a], end[b])
        parent[a] = parent[b] = h
    return FacilityTree(leaves, start, end, parent, total - 1)


_MINPLUS_INDEX: dict[int, tuple[IntArray, IntArray]] = {}


def _minplus(f: FloatArray, g: FloatArray) -> tuple[FloatArray, IntArray]:
    """``h[q] = min_a f[a] + g[q - a]`` over ``0 <= a <= q`` and the minimising ``a``."""
    k1 = f.size
    if k1 not in _MINPLUS_INDEX:
        q = np.arange(k1)
        idx = q[None, :] - q[:, None]
        _MINPLUS_INDEX[k1] = (np.where(idx >= 0, idx, k1), q)
    idx, q = _MINPLUS_INDEX[k1]
    gx = np.empty(k1 + 1)
    gx[:k1] = g
    gx[k1] = math.inf
    M = f[:, None] + gx[idx]
    arg = M.argmin(axis=0)
    return M[arg, q], arg


@dataclass
class _Part:
    """One constrained cluster: its range ``(lo, hi)``, its maximal constrained sub-clusters
    (``kids``) and the positions of its other facilities (``singles``)."""

    h: int
    lo: int
    hi: int
    kids: list[_Part]
    singles: IntArray


class CountProblem:
    """The subproblem "choose ``k`` positions with the least ``rho`` sum, every cluster ``h`` of
    ``counts`` holding between ``lo`` and ``hi`` of them" for one set of count constraints (built once
    per node, solved once per subgradient iteration): a min-plus dynamic programme over the laminar
    family of constrained clusters, ``O(k^2)`` per cluster."""

    def __init__(self, tree: FacilityTree, counts: Counts, k: int) -> None:
        self.k = k
        ids = sorted(set(counts) | {tree.root}, key=lambda h: (tree.start[h], -(tree.end[h] - tree.start[h])))
        stack: list[_Part] = []
        self.top: _Part | None = None
        for h in ids:
            lo, hi = counts.get(h, (0, k))
            part = _Part(h, lo, hi, [], np.zeros(0, dtype=np.int64))
            while stack and not (tree.start[stack[-1].h] <= tree.start[h] and tree.end[h] <= tree.end[stack[-1].h]):
                stack.pop()
            if stack:
                stack[-1].kids.append(part)
            else:
                self.top = part
            stack.append(part)
        assert self.top is not None and self.top.h == tree.root
        self._singles(self.top, tree)

    def _singles(self, part: _Part, tree: FacilityTree) -> None:
        h = part.h
        covered = np.zeros(tree.end[h] - tree.start[h], dtype=bool)
        for kid in part.kids:
            self._singles(kid, tree)
            covered[tree.start[kid.h] - tree.start[h]:tree.end[kid.h] - tree.start[h]] = True
        part.singles = np.arange(tree.start[h], tree.end[h])[~covered]

    def _table(self, part: _Part, rho: FloatArray, tables: dict[int, tuple[FloatArray, IntArray, list[IntArray]]]) -> FloatArray:
        k = self.k
        singles = part.singles
        if singles.size > k:
            singles = singles[np.argpartition(rho[singles], k)[:k]]
        singles = singles[np.argsort(rho[singles], kind="stable")]
        acc = np.full(k + 1, math.inf)
        acc[0] = 0.0
        acc[1:singles.size + 1] = np.cumsum(rho[singles])
        steps = []
        for kid in part.kids:
            acc, arg = _minplus(acc, self._table(kid, rho, tables))
            steps.append(arg)
        acc[:part.lo] = math.inf
        acc[part.hi + 1:] = math.inf
        tables[part.h] = (acc, singles, steps)
        return acc

    def _collect(self, part: _Part, q: int, tables: dict[int, tuple[FloatArray, IntArray, list[IntArray]]],
                 out: list[IntArray]) -> None:
        _, singles, steps = tables[part.h]
        for kid, arg in zip(reversed(part.kids), reversed(steps), strict=True):
            a = int(arg[q])
            self._collect(kid, q - a, tables, out)
            q = a
        out.append(singles[:q])

    def solve(self, rho: FloatArray) -> tuple[float, IntArray | None]:
        """``(least sum, chosen positions)``; ``(inf, None)`` when the counts admit no choice."""
        assert self.top is not None
        tables: dict[int, tuple[FloatArray, IntArray, list[IntArray]]] = {}
        val = float(self._table(self.top, rho, tables)[self.k])
        if not math.isfinite(val):
            return math.inf, None
        out: list[IntArray] = []
        self._collect(self.top, self.k, tables, out)
        return val, np.sort(np.concatenate(out))


def solve_counts(tree: FacilityTree, rho: FloatArray, counts: Counts, k: int) -> tuple[float, IntArray | None]:
    """:class:`CountProblem` built and solved once."""
    return CountProblem(tree, counts, k).solve(rho)
