"""Valid inequalities on the budget row: facets of the convex hull of the feasible *counts*.

Measured on ``benchmarks/realsites`` (issue 17): the radius formulation's LP bound is 0.5-2.5 %
below the optimum, and nearly all of it comes from the budget row. Without it the LP is integral
(20 firms, 59 crossings: LP 558.2M, integer optimum 559.3M), with it the LP buys fractions of
crossings and facilities whose costs span 20x (0.6m signals to 12m underpasses).

Real sites have few distinct prices: one per crossing type and one per facility type. Group
the priced decisions into *classes* (decisions with the same budget coefficient and the same
facility type, or crossings of the same price); with ``n_j`` the number chosen in class ``j``,
every feasible layout's count vector satisfies ``sum_j cost_j * n_j <= budget``, ``0 <= n_j <=
|class j|`` and the count constraints that cover whole classes (``count_min`` / ``count_max``).
These few vectors (tens to hundreds) are enumerated, and each facet ``a . n <= b`` of their
convex hull becomes the constraint ``sum_j a_j * sum(x_i, i in class j) <= b`` on the decisions.

Why it is safe: the count vector of every feasible layout is one of the enumerated vectors
(their constraints are the problem's own, only fewer of them), and ``b`` is recomputed as the
maximum of ``a . n`` over those vectors after ``a`` is rounded to integers, so every feasible
layout satisfies every cut whatever the rounding; no feasible layout is cut off, and the optimum
is unchanged. The cuts only remove fractional LP points (e.g. 1.3 facilities of one type bought
with the budget of 1).

Measured (CP-SAT, seed 0, one worker, ``cpsat_search="lp"``, deterministic units to a proven
optimum, without -> with the cuts): realsites rs001 4.69 -> 2.40, rs002 2.00 -> 1.14, rs003
0.13 -> 0.45, rs004 6.14 -> 5.22; AMP-SBP baseline 0.03 -> 0.02, Fremont 0.14 -> 0.11.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from optimiser.model.problem import Constraint, Problem

logger = logging.getLogger(__name__)

MAX_COUNT_VECTORS = 20_000
"""No cuts when more count vectors than this are feasible (many prices, a large budget): the
hull would take too long and its facets be many."""

MAX_VARYING_CLASSES = 8
"""No cuts when more than this many classes have a count that varies (qhull's work grows fast
with the dimension)."""

MAX_HULL_WORK = 500_000
"""No cuts when the count vectors times 2 to the power of the varying classes exceed this (the
convex hull's work grows with both): 3,303 vectors in 5 varying classes (106k) take 0.02 s; 17,488
in 7 (2.2M) took 15.7 s and had 170,206 facets to round (8.8 s more), on an independent 60-firm
site. Every benchmarks/realsites row is below 6,000 (rs018: 345 vectors in 4 classes)."""

MAX_CUTS = 64
"""At most this many facets become constraints (the ones with the fewest non-zero classes)."""

_SCALES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 20, 60, 1000)
"""Integer multipliers tried for a facet's normal (the first that makes it integral is used)."""


@dataclass(frozen=True)
class CountClasses:
    """The priced decisions grouped by price.

    Attributes:
        members: decision ids of each class.
        cost: each class's budget coefficient (integer, the budget row's units).
        budget: the budget row's right-hand side.
        unions: count constraints over whole classes: (class indices, lo, hi).
    """

    members: tuple[tuple[int, ...], ...]
    cost: tuple[int, ...]
    budget: int
    unions: tuple[tuple[tuple[int, ...], int | None, int | None], ...]


def count_classes(problem: Problem) -> CountClasses | None:
    """The classes of the budget row's decisions (module docstring), or ``None`` without a
    budget row."""
    budget = next((c for c in problem.constraints if c.key == "budget" and c.hi is not None and c.lo is None), None)
    n_d = len(problem.decisions)
    if budget is None or budget.hi is None or any(o >= n_d or v < 0 for o, v in budget.terms):
        return None
    cost = {o: v for o, v in budget.terms if v > 0}
    groups: dict[tuple[int, str], list[int]] = {}
    for i in sorted(cost):
        d = problem.decisions[i]
        groups.setdefault((cost[i], "crossing" if d.kind == "crossing" else f"{d.kind}:{d.group}"), []).append(i)
    keys = sorted(groups)
    members = tuple(tuple(groups[k]) for k in keys)
    of = {i: j for j, m in enumerate(members) for i in m}
    unions = []
    for con in problem.constraints:
        if con.key == "budget" or not con.terms or any(o >= n_d or v != 1 for o, v in con.terms):
            continue
        ids = {o for o, _ in con.terms}
        if not ids <= of.keys():
            continue
        js = tuple(sorted({of[i] for i in ids}))
        if sum(len(members[j]) for j in js) == len(ids):  # whole classes only
            unions.append((js, con.lo, con.hi))
    return CountClasses(members, tuple(k[0] for k in keys), int(budget.hi), tuple(unions))


MAX_NODES_PER_VECTOR = 50
"""The enumeration gives up (no cuts) after visiting this many partial vectors per vector it may
keep (:func:`feasible_counts`): a work limit, so that its time never depends on how much of the
budget the count constraints rule out."""


def feasible_counts(cc: CountClasses, limit: int = MAX_COUNT_VECTORS) -> np.ndarray | None:
    """Every count vector within the budget, the class sizes and the whole-class count
    constraints (one row per vector, in lexicographic order); ``None`` when there are more than
    ``limit``, or when finding them would visit more than ``MAX_NODES_PER_VECTOR * limit``
    partial vectors.

    A count constraint prunes as the classes are chosen: its upper bound caps each of its classes
    by what is left of it, and its lower bound is checked as soon as its last class is chosen (it
    was checked only on whole vectors: four facility types with ranges of counts over 20-50
    candidate sites each, with 100 crossings and a loose budget, visited 55 million partial
    vectors, 105 s, to keep 3,303).
    """
    k = len(cc.members)
    out: list[tuple[int, ...]] = []
    cur = [0] * k
    # per class: the upper-bounded unions it belongs to, and the unions it completes (its last class)
    member_of = [[u for u, (js, _, _) in enumerate(cc.unions) if j in js] for j in range(k)]
    capped = [[(u, hi) for u in member_of[j] if (hi := cc.unions[u][2]) is not None] for j in range(k)]
    closes = [[(u, lo, hi) for u, (js, lo, hi) in enumerate(cc.unions) if max(js) == j] for j in range(k)]
    used = [0] * len(cc.unions)  # the chosen counts of each union's classes so far
    nodes = [MAX_NODES_PER_VECTOR * max(limit, 1)]

    def rec(j: int, left: int) -> bool:
        if j == k:
            out.append(tuple(cur))
            return len(out) <= limit
        nodes[0] -= 1
        if nodes[0] < 0:
            return False
        top = min(len(cc.members[j]), left // cc.cost[j])
        for u, hi in capped[j]:
            top = min(top, hi - used[u])
        for v in range(top + 1):
            cur[j] = v
            for u in member_of[j]:
                used[u] += v
            ok = all((lo is None or used[u] >= lo) and (hi is None or used[u] <= hi) for u, lo, hi in closes[j])
            go = rec(j + 1, left - v * cc.cost[j]) if ok else True
            for u in member_of[j]:
                used[u] -= v
            if not go:
                cur[j] = 0
                return False
        cur[j] = 0
        return True

    if not rec(0, cc.budget):
        return None
    return np.array(out, dtype=np.int64).reshape(len(out), k)


def _integral(normal: np.ndarray) -> np.ndarray:
    """The facet normal scaled to small integers (rounded when no small multiple is integral;
    the right-hand side is recomputed from the rounded normal, so it stays valid)."""
    a = normal / np.abs(normal[np.abs(normal) > 1e-9]).min()
    for s in _SCALES:
        ai = np.round(a * s)
        if np.allclose(ai, a * s, atol=1e-6):
            return ai.astype(np.int64)
    return np.round(a * _SCALES[-1]).astype(np.int64)


def budget_count_cuts(problem: Problem) -> list[Constraint]:
    """The budget's count-hull cuts (module docstring), as constraints on the decisions.

    Args:
        problem: the problem (its budget row and count constraints are read).

    Returns:
        Constraints ``sum(coef * decision) <= hi`` in group "budget"; empty when there is no
        budget row, fewer than two classes vary, or the enumeration is too large.
    """
    cc = count_classes(problem)
    if cc is None:
        return []
    with _lock:
        got = _cuts_of.get(cc)
    if got is None:
        got = tuple(_hull_cuts(cc))
        with _lock:
            _cuts_of[cc] = got
            while len(_cuts_of) > CUTS_KEPT:
                del _cuts_of[next(iter(_cuts_of))]
    return list(got)


CUTS_KEPT = 16
"""The cuts of this many count classes are kept (:func:`budget_count_cuts`): they are a function
of the classes alone, which relax-first's exact models of one run share (rs016 at a 60 s limit:
11 models, one set of classes; 9 ms each, 2/3 of it enumerating the count vectors)."""

_lock = threading.Lock()
_cuts_of: dict[CountClasses, tuple[Constraint, ...]] = {}


def _hull_cuts(cc: CountClasses) -> list[Constraint]:
    """The count-hull cuts of the classes ``cc`` (:func:`budget_count_cuts`)."""
    counts = feasible_counts(cc)
    if counts is None or counts.shape[0] < 3:
        logger.debug("budget cuts: none (%s count vectors)", "too many" if counts is None else counts.shape[0])
        return []
    varying = [j for j in range(counts.shape[1]) if counts[:, j].min() != counts[:, j].max()]
    if not 2 <= len(varying) <= MAX_VARYING_CLASSES:
        return []
    if counts.shape[0] * 2 ** len(varying) > MAX_HULL_WORK:
        logger.debug("budget cuts: none (%d count vectors in %d varying classes: the hull would take too long)",
                     counts.shape[0], len(varying))
        return []
    pts = counts[:, varying]
    try:
        hull = ConvexHull(pts.astype(float))
    except QhullError:  # the vectors lie in a lower-dimensional space: no full-dimensional facets
        logger.debug("budget cuts: qhull found no full-dimensional hull", exc_info=True)
        return []
    cuts: dict[tuple[int, ...], int] = {}
    for eq in hull.equations:
        if np.count_nonzero(np.abs(eq[:-1]) > 1e-9) <= 1:
            continue  # a bound on one class: implied by the class size or a count constraint
        a = _integral(eq[:-1])
        cuts[tuple(int(v) for v in a)] = int((pts @ a).max())
    chosen = sorted(cuts.items(), key=lambda kv: (sum(v != 0 for v in kv[0]), kv))[:MAX_CUTS]
    out = []
    for n, (coefs, rhs) in enumerate(chosen):
        terms = tuple((i, coef) for coef, j in zip(coefs, varying) if coef for i in cc.members[j])
        out.append(Constraint(f"budget_counts:{n}", terms, None, rhs, "budget"))
    logger.debug("budget cuts: %d classes (%d varying), %d count vectors, %d cuts", len(cc.members), len(varying),
                 counts.shape[0], len(out))
    return out
