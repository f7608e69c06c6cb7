"""Exact p-median solver: Lagrangian bounds + local search + reduced exact model.

Problem
-------
Given a non-negative cost matrix ``d`` (``n`` clients x ``m`` candidate
facilities, any unit, e.g. metres or minutes), client weights ``w`` (demand,
default 1) and an integer ``p``, open exactly ``p`` facilities and assign every
client to its nearest open facility, minimising ``sum_i w_i * d[i, a(i)]``
(objective unit = weight unit x cost unit).

Method (Beasley 1993 style, with an exact MIP/CP-SAT finish)
------------------------------------------------------------
1. **Upper bound**: greedy construction, then best-improvement vertex
   substitution (interchange) local search, vectorised with numpy (the
   ``gain - loss + extra`` decomposition of Whitaker / Resende-Werneck).
2. **Lower bound**: Lagrangian relaxation of the assignment constraints
   ``sum_j x_ij = 1`` (multipliers ``lambda_i``) maximised by subgradient
   optimisation.  For fixed ``lambda`` the relaxation is solved exactly by
   picking the ``p`` smallest ``rho_j = sum_i min(0, w_i d_ij - lambda_i)``.
   Lagrangian solutions are also used as starting points for local search.
3. **Reduction tests** with the incumbent value ``UB``: a facility whose
   forced opening (resp. closing) raises the Lagrangian bound above the best
   *improving* value is fixed closed (resp. open); a client-facility pair
   whose forced assignment does the same is eliminated, which truncates the
   distance levels a client can use in any improving solution.
4. **Exact finish** (only if the bound does not already prove the incumbent
   optimal; ``exact_backend="auto"``):

   * at most 25 facilities left to choose after the fixing tests: a
     depth-first Lagrangian branch and bound on ``y_j`` (warm-started
     subgradient and fixing tests at every node; branch on the chosen
     facility with the largest closing penalty, ``y_j = 1`` first);
   * otherwise: the reduced problem "find a solution with cost <= UB - 1"
     in the chained radius formulation (Elloumi 2010; Garcia, Labbe & Marin
     2011), restricted to the surviving facilities and client-facility
     pairs, solved with SCIP through OR-Tools ``pywraplp``; infeasibility
     proves the incumbent optimal.  (CP-SAT and CBC are available through
     ``exact_backend`` but were slower on OR-Library pmed.)

   The first phase gets 80 % of the remaining time and the other one the
   rest.

The result never raises on time limits: the incumbent is returned with its
proven bound and relative gap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PMedian",
    "PMedianResult",
    "read_orlib_pmed",
    "solve_pmedian",
]


# ---------------------------------------------------------------------------
# result type
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PMedianResult:
    """Outcome of :func:`solve_pmedian`.

    Attributes
    ----------
    status:
        ``"optimal"`` (objective proven optimal: ``bound == objective``),
        ``"feasible"`` (a solution, optimality not proven within the time
        limit), ``"infeasible"`` (no solution exists, e.g. every client has
        an infinite cost to all allowed facilities) or ``"unknown"``.
    objective:
        ``sum_i w_i * d[i, assignment[i]]`` of the returned solution (cost
        unit x weight unit), ``None`` if there is no solution.
    bound:
        Proven lower bound on the optimal objective (same unit).
    gap:
        Relative gap ``(objective - bound) / max(1, |objective|)``; ``0.0``
        when proven optimal, ``inf`` without a solution.
    open_facilities:
        Sorted column indices of the ``p`` open facilities.
    assignment:
        ``int64`` array, client ``i`` -> column index of its (nearest open)
        facility; empty when there is no solution.
    solve_seconds:
        Wall-clock seconds of the whole solve.
    lagrangian_seconds:
        Wall-clock seconds spent in the subgradient phase.
    timings:
        Wall-clock seconds per phase (``heuristic``, ``lagrangian``,
        ``exact``, ...).
    method:
        Short description of what proved/produced the result.
    iterations:
        Number of subgradient iterations.
    nodes:
        Branch-and-bound / search nodes of the exact phase (0 if unused).
    stats:
        Extra diagnostic numbers (fixings, reduced model size, ...).
    """

    status: str
    objective: float | None
    bound: float
    gap: float
    open_facilities: tuple[int, ...]
    assignment: np.ndarray
    solve_seconds: float
    lagrangian_seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    method: str = ""
    iterations: int = 0
    nodes: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def is_optimal(self) -> bool:
        """True when the objective is proven optimal."""
        return self.status == "optimal"


# ---------------------------------------------------------------------------
# OR-Library reader
# ---------------------------------------------------------------------------


def read_orlib_pmed(path: str) -> tuple[np.ndarray, int]:
    """Read an OR-Library ``pmedN.txt`` instance.

    Format: first line ``n_vertices n_edges p``, then ``n_edges`` lines
    ``i j cost`` (1-based vertices) of an undirected graph.  When a vertex
    pair is repeated, the LAST line wins (OR-Library ``pmedinfo``: set
    ``c(i,j) = c(j,i) = k`` for each line in turn).  The allocation cost is
    the all-pairs shortest-path distance (``scipy.sparse.csgraph``).

    Returns
    -------
    (cost_matrix, p):
        ``cost_matrix`` is an ``n x n`` ``int64`` array of shortest-path
        distances (every vertex is a client and a candidate site), ``p`` the
        number of medians.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    with open(path, encoding="ascii") as fh:
        tokens = fh.read().split()
    if len(tokens) < 3:
        raise ValueError(f"{path}: header 'n m p' missing")
    n, m_edges, p = int(tokens[0]), int(tokens[1]), int(tokens[2])
    body = tokens[3:]
    if len(body) < 3 * m_edges:
        raise ValueError(
            f"{path}: header announces {m_edges} edges but only "
            f"{len(body) // 3} complete edge lines found"
        )
    arr = np.asarray(body[: 3 * m_edges], dtype=np.int64).reshape(m_edges, 3)
    edges: dict[tuple[int, int], int] = {}
    for i, j, c in arr.tolist():
        if not (1 <= i <= n and 1 <= j <= n):
            raise ValueError(f"{path}: edge ({i}, {j}) outside vertices 1..{n}")
        if c < 0:
            raise ValueError(f"{path}: negative edge cost {c} on ({i}, {j})")
        if i == j:
            continue
        key = (i - 1, j - 1) if i < j else (j - 1, i - 1)
        edges[key] = c  # last line wins
    if edges:
        ij = np.array(list(edges.keys()), dtype=np.int64)
        w = np.array(list(edges.values()), dtype=np.float64)
    else:
        ij = np.zeros((0, 2), dtype=np.int64)
        w = np.zeros(0)
    # zero-cost edges would vanish in a sparse matrix: store them as a tiny
    # positive value and round afterwards (costs are integers).
    w_store = np.where(w == 0, 1e-9, w)
    g = csr_matrix((w_store, (ij[:, 0], ij[:, 1])), shape=(n, n))
    dist = shortest_path(g, method="D", directed=False)
    if not np.all(np.isfinite(dist)):
        raise ValueError(f"{path}: graph is not connected")
    return np.rint(dist).astype(np.int64), p


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _validate(cost_matrix, p, weights, fixed_open, forbidden):
    try:
        d = np.asarray(cost_matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cost_matrix must be numeric: {exc}") from None
    if d.ndim != 2:
        raise ValueError(
            f"cost_matrix must be 2-D (clients x facilities), got {d.ndim}-D "
            f"with shape {d.shape}"
        )
    n, m = d.shape
    if n == 0 or m == 0:
        raise ValueError(f"cost_matrix must be non-empty, got shape {d.shape}")
    if np.isnan(d).any():
        r, c = np.argwhere(np.isnan(d))[0]
        raise ValueError(f"cost_matrix contains NaN (first at [{r}, {c}])")
    if (d < 0).any():
        r, c = np.argwhere(d < 0)[0]
        raise ValueError(
            f"cost_matrix must be non-negative; cost_matrix[{r}, {c}] = {d[r, c]}"
        )
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        if isinstance(p, float) and float(p).is_integer():
            p = int(p)
        else:
            raise ValueError(f"p must be an integer, got {p!r}")
    p = int(p)
    if p < 1 or p > m:
        raise ValueError(f"p must satisfy 1 <= p <= {m} (number of facilities), got {p}")
    if weights is None:
        w = np.ones(n)
    else:
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"weights must be numeric: {exc}") from None
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(
                f"weights must be 1-D of length {n} (one per client/row), "
                f"got shape {w.shape}"
            )
        if np.isnan(w).any() or np.isinf(w).any():
            raise ValueError("weights must be finite (no NaN/inf)")
        if (w < 0).any():
            i = int(np.argmax(w < 0))
            raise ValueError(f"weights must be non-negative; weights[{i}] = {w[i]}")

    def _idx(name, values):
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name} must contain integer column indices, got {v!r}")
            v = int(v)
            if not 0 <= v < m:
                raise ValueError(f"{name} index {v} out of range 0..{m - 1}")
            out.append(v)
        return sorted(set(out))

    fo = _idx("fixed_open", fixed_open)
    fb = _idx("forbidden", forbidden)
    both = set(fo) & set(fb)
    if both:
        raise ValueError(f"facilities {sorted(both)} are both fixed_open and forbidden")
    if len(fo) > p:
        raise ValueError(f"{len(fo)} fixed_open facilities but p = {p}")
    if m - len(fb) < p:
        raise ValueError(
            f"only {m - len(fb)} facilities allowed ({len(fb)} forbidden) but p = {p}"
        )
    return d, p, w, fo, fb


# ---------------------------------------------------------------------------
# heuristics
# ---------------------------------------------------------------------------


def _nearest_two(C: np.ndarray, S: np.ndarray, far: np.ndarray):
    """d1, index (into S) of nearest, d2 (second nearest or ``far``)."""
    sub = C[:, S]
    if S.size == 1:
        return sub[:, 0].copy(), np.zeros(C.shape[0], dtype=np.int64), far.copy()
    a = np.argmin(sub, axis=1)
    d1 = sub[np.arange(sub.shape[0]), a]
    part = np.partition(sub, 1, axis=1)
    d2 = part[:, 1]
    return d1, a, d2


def _greedy(C: np.ndarray, k: int, opened: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Greedy add: start from ``opened`` and add ``k`` allowed facilities."""
    n = C.shape[0]
    S = list(np.flatnonzero(opened))
    if S:
        cur = C[:, S].min(axis=1)
    else:
        cur = np.full(n, np.inf)
    cand = allowed & ~opened
    for _ in range(k):
        idx = np.flatnonzero(cand)
        tot = np.minimum(cur[:, None], C[:, idx]).sum(axis=0)
        j = int(idx[int(np.argmin(tot))])
        S.append(j)
        cand[j] = False
        cur = np.minimum(cur, C[:, j])
    return np.array(sorted(S), dtype=np.int64)


def _local_search(
    C: np.ndarray,
    S: np.ndarray,
    fixed: np.ndarray,
    allowed: np.ndarray,
    far: np.ndarray,
    deadline: float,
    tol: float,
) -> tuple[np.ndarray, float]:
    """Best-improvement interchange (swap one open for one closed facility).

    ``fixed``: boolean mask of facilities that may not be closed; ``allowed``:
    mask of facilities that may be opened.  Returns (S, cost).
    """
    S = np.array(sorted(S), dtype=np.int64)
    while True:
        d1, a, d2 = _nearest_two(C, S, far)
        cost = float(d1.sum())
        if time.perf_counter() > deadline:
            return S, cost
        is_open = np.zeros(C.shape[1], dtype=bool)
        is_open[S] = True
        cand = np.flatnonzero(allowed & ~is_open)
        if cand.size == 0:
            return S, cost
        Cc = C[:, cand]
        gain = np.maximum(d1[:, None] - Cc, 0.0).sum(axis=0)  # (|cand|,)
        loss = np.bincount(a, weights=d2 - d1, minlength=S.size)  # (p,)
        M = d2[:, None] - np.maximum(Cc, d1[:, None])
        np.maximum(M, 0.0, out=M)
        # extra[j, r] = sum over clients i served by r of M[i, j] (grouped
        # row sums; no BLAS so it behaves the same on a busy machine)
        order = np.argsort(a, kind="stable")
        a_sorted = a[order]
        starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
        sums = np.add.reduceat(M[order], starts, axis=0)  # (groups, |cand|)
        extra = np.zeros((S.size, cand.size))
        extra[a_sorted[starts]] = sums
        delta = loss[:, None] - gain[None, :] - extra  # (p, |cand|)
        delta[fixed[S], :] = np.inf
        flat = int(np.argmin(delta))
        rr, jj = divmod(flat, cand.size)
        if not delta[rr, jj] < -tol:
            return S, cost
        S = S.copy()
        S[rr] = cand[jj]
        S.sort()


# ---------------------------------------------------------------------------
# exact finish (CP-SAT, chained radius formulation)
# ---------------------------------------------------------------------------



def _client_levels(row: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A client's radius levels: its allowed columns sorted by cost, the distinct costs, and
    where each cost's group of columns starts and ends in the sorted columns."""
    vals = row[cols]
    order = np.argsort(vals, kind="stable")
    cols = cols[order]
    levels, starts = np.unique(vals[order], return_index=True)
    return cols, levels, starts, np.append(starts[1:], cols.size)

def _solve_reduced_cpsat(
    C, free_idx, opened_idx, k, R, target, integral, hint, time_limit, seed, workers,
    allowed_pairs,
):
    """Find a solution with cost <= ``target`` (minimising) on the reduced problem.

    Returns (status, S or None, cost or None, bound, nodes, stats)
    where status in {"found_optimal", "found", "infeasible", "unknown"}.
    ``bound`` is a lower bound on every solution of cost <= target.
    """
    t_build = time.perf_counter()
    from ortools.sat.python import cp_model

    n = C.shape[0]
    model = cp_model.CpModel()
    y = {int(j): model.new_bool_var(f"y{j}") for j in free_idx}
    model.add(sum(y.values()) == k)
    opened_set = set(int(j) for j in opened_idx)
    obj_terms = []
    const = 0
    n_u = 0
    for i in range(n):
        row = C[i]
        cols = allowed_pairs[i]
        # levels: distinct costs among allowed columns (free or opened) <= Ri
        if cols.size == 0:
            return "infeasible", None, None, math.inf, 0, {}
        cols, levels, starts, ends = _client_levels(row, cols)
        const += levels[0]
        prev = None  # previous u var (None means "1" at the start)
        done = False
        for kk in range(levels.size):
            group = cols[starts[kk]:ends[kk]]
            if any(int(j) in opened_set for j in group):
                done = True  # served at this level for sure
                break
            gsum = [y[int(j)] for j in group]
            if kk == levels.size - 1:
                # last level: must be served here
                if prev is None:
                    model.add(sum(gsum) >= 1)
                else:
                    model.add(sum(gsum) >= prev)
                done = True
                break
            u = model.new_bool_var("")
            n_u += 1
            if prev is None:
                model.add(u + sum(gsum) >= 1)
            else:
                model.add(u + sum(gsum) >= prev)
            obj_terms.append((int(levels[kk + 1] - levels[kk]), u))
            prev = u
        if not done:  # pragma: no cover - defensive
            return "infeasible", None, None, math.inf, 0, {}
    obj = sum(c * v for c, v in obj_terms) + int(const)
    model.add(obj <= int(target))
    model.minimize(obj)
    if hint is not None:
        hs = set(int(j) for j in hint)
        for j, v in y.items():
            model.add_hint(v, 1 if j in hs else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, float(time_limit) - (time.perf_counter() - t_build))
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)
    st = solver.solve(model)
    stats = {"cp_y": len(y), "cp_u": n_u}
    nodes = int(solver.num_branches)
    if st == cp_model.OPTIMAL:
        S = sorted(opened_set | {j for j, v in y.items() if solver.boolean_value(v)})
        return "found_optimal", np.array(S), float(solver.objective_value), float(solver.objective_value), nodes, stats
    if st == cp_model.FEASIBLE:
        S = sorted(opened_set | {j for j, v in y.items() if solver.boolean_value(v)})
        return "found", np.array(S), float(solver.objective_value), float(solver.best_objective_bound), nodes, stats
    if st == cp_model.INFEASIBLE:
        return "infeasible", None, None, math.inf, nodes, stats
    return "unknown", None, None, float(solver.best_objective_bound), nodes, stats



def _solve_reduced_mip(
    C, free_idx, opened_idx, k, R, target, integral, hint, time_limit, seed, workers,
    allowed_pairs, backend="SCIP",
):
    """Same contract as :func:`_solve_reduced_cpsat`, with an LP-based MIP
    solver of OR-Tools ``pywraplp`` (``SCIP`` or ``CBC``); ``u`` continuous."""
    t_build = time.perf_counter()
    from ortools.linear_solver import pywraplp

    n = C.shape[0]
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:
        return "unknown", None, None, -math.inf, 0, {"error": f"{backend} unavailable"}
    inf = solver.infinity()
    y = {int(j): solver.BoolVar(f"y{j}") for j in free_idx}
    card = solver.Constraint(float(k), float(k))
    for v in y.values():
        card.SetCoefficient(v, 1.0)
    opened_set = set(int(j) for j in opened_idx)
    objective = solver.Objective()
    const = 0.0
    n_u = 0
    obj_terms = []
    for i in range(n):
        cols = allowed_pairs[i]
        if cols.size == 0:
            return "infeasible", None, None, math.inf, 0, {}
        cols, levels, starts, ends = _client_levels(C[i], cols)
        const += float(levels[0])
        prev = None
        for kk in range(levels.size):
            group = cols[starts[kk]:ends[kk]].tolist()
            if any(j in opened_set for j in group):
                break
            last = kk == levels.size - 1
            # u_k + sum_group y - u_{k-1} >= 0   (u_0 := 1)
            ct = solver.Constraint(1.0 if prev is None else 0.0, inf)
            for j in group:
                ct.SetCoefficient(y[j], 1.0)
            if prev is not None:
                ct.SetCoefficient(prev, -1.0)
            if last:
                break
            u = solver.NumVar(0.0, 1.0, "")
            n_u += 1
            ct.SetCoefficient(u, 1.0)
            c = float(levels[kk + 1] - levels[kk])
            objective.SetCoefficient(u, c)
            obj_terms.append((u, c))
            prev = u
    objective.SetOffset(const)
    objective.SetMinimization()
    cut = solver.Constraint(-inf, float(target) - const)
    for u, c in obj_terms:
        cut.SetCoefficient(u, c)
    if hint is not None:
        hs = set(int(j) for j in hint)
        solver.SetHint(list(y.values()), [1.0 if j in hs else 0.0 for j in y])
    solver.SetTimeLimit(int(max(0.01, float(time_limit) - (time.perf_counter() - t_build)) * 1000))
    solver.SetNumThreads(int(workers))
    try:
        solver.SetSolverSpecificParametersAsString(f"randomization/randomseedshift = {int(seed)}\n" if backend == "SCIP" else "")
    except Exception:  # pragma: no cover
        pass
    st = solver.Solve()
    stats = {"mip_y": len(y), "mip_u": n_u}
    nodes = int(solver.nodes())
    S = None
    if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        S = np.array(sorted(opened_set | {j for j, v in y.items() if v.solution_value() > 0.5}))
    if st == pywraplp.Solver.OPTIMAL:
        val = solver.Objective().Value()
        return "found_optimal", S, val, val, nodes, stats
    if st == pywraplp.Solver.FEASIBLE:
        return "found", S, solver.Objective().Value(), solver.Objective().BestBound(), nodes, stats
    if st == pywraplp.Solver.INFEASIBLE:
        return "infeasible", None, None, math.inf, nodes, stats
    try:
        b = solver.Objective().BestBound()
    except Exception:  # pragma: no cover
        b = -math.inf
    return "unknown", None, None, b, nodes, stats



def _lagrangian_node(C, free_idx, open_idx, k, lam, target, ub, max_iter, pi, patience,
                     scale, deadline):
    """Subgradient optimisation at one branch-and-bound node.

    The node's problem: open every facility of ``open_idx`` and ``k`` of
    ``free_idx``.  Runs at most ``max_iter`` iterations, applying the
    facility fixing tests against ``target`` (the best improving value).

    Returns ``(pruned, L, lam, free_idx, open_idx, rho, chosen, sols)`` where
    ``sols`` are Lagrangian solutions (facility index arrays) worth evaluating.
    """
    eps = 1e-9 * scale
    best_L = -math.inf
    best_lam = lam
    no_imp = 0
    Cf = C[:, free_idx]
    Co_min = C[:, open_idx].min(axis=1) if open_idx.size else None
    sols = []
    it = 0
    rho = chosen = None
    while True:
        kk = k
        nf = free_idx.size
        if kk < 0 or kk > nf:
            return True, math.inf, best_lam, free_idx, open_idx, None, None, sols
        if kk == 0 or kk == nf:
            sols.append(np.concatenate([open_idx, free_idx]) if kk else open_idx.copy())
            return True, math.inf, best_lam, free_idx, open_idx, None, None, sols
        lam_eff = lam if Co_min is None else np.minimum(lam, Co_min)
        diff = Cf - lam_eff[:, None]
        neg = np.minimum(diff, 0.0)
        rho = neg.sum(axis=0)
        part = np.argpartition(rho, kk)
        chosen = part[:kk]
        rest = part[kk:]
        rho_k = rho[chosen].max()
        rho_k1 = rho[rest].min()
        # with open facilities: min(lam, c_io) is the optimal multiplier cap;
        # contribution of an open facility o: sum_i min(0, c_io - lam_i).
        L = float(lam_eff.sum() + rho[chosen].sum())
        if L > best_L + eps:
            if L > best_L + 1e-7 * scale:
                no_imp = 0
            else:
                no_imp += 1
            best_L = L
            best_lam = lam_eff.copy()
        else:
            no_imp += 1
        if L > target + eps:
            return True, L, best_lam, free_idx, open_idx, rho, chosen, sols
        close_mask = np.zeros(nf, dtype=bool)
        open_mask = np.zeros(nf, dtype=bool)
        close_mask[rest] = (L + rho[rest] - rho_k) > target + eps
        open_mask[chosen] = (L - rho[chosen] + rho_k1) > target + eps
        if close_mask.any() or open_mask.any():
            keep = ~(close_mask | open_mask)
            newly_open = free_idx[open_mask]
            free_idx = free_idx[keep]
            if newly_open.size:
                open_idx = np.concatenate([open_idx, newly_open])
                k -= int(newly_open.size)
                cm = C[:, newly_open].min(axis=1)
                Co_min = cm if Co_min is None else np.minimum(Co_min, cm)
            Cf = Cf[:, keep]
            best_L = -math.inf  # bounds of the reduced node are comparable anyway
            continue
        it += 1
        if it >= max_iter or time.perf_counter() > deadline:
            break
        if no_imp == 0 and it % 5 == 1:
            sols.append(np.concatenate([open_idx, free_idx[chosen]]))
        g = 1.0 - (diff[:, chosen] < 0).sum(axis=1)
        if Co_min is not None:
            g = g - (Co_min < lam_eff)
        gg = float(g @ g)
        if gg == 0.0:
            sols.append(np.concatenate([open_idx, free_idx[chosen]]))
            break
        if no_imp >= patience:
            pi *= 0.5
            no_imp = 0
            lam = best_lam.copy()
            if pi < 1e-4:
                break
            continue
        step = pi * max(ub - L, 1e-9 * scale) / gg
        lam = lam_eff + step * g
    # recompute the relaxation at the best multipliers (consistent rho / L)
    lam_eff = best_lam if Co_min is None else np.minimum(best_lam, Co_min)
    rho = np.minimum(Cf - lam_eff[:, None], 0.0).sum(axis=0)
    chosen = np.argpartition(rho, k)[:k]
    L = float(lam_eff.sum() + rho[chosen].sum())
    sols.append(np.concatenate([open_idx, free_idx[chosen]]))
    if L > target + eps:
        return True, L, lam_eff, free_idx, open_idx, rho, chosen, sols
    return False, L, lam_eff, free_idx, open_idx, rho, chosen, sols


_BB_PARAMS = {"node_iters": 60, "patience": 6, "pi0": 2.0, "branch": "maxpen"}


def _lagrangian_bb(C, free_idx, open_idx, p, lam, S, UB, target_of, scale, deadline):
    """Depth-first Lagrangian branch and bound (Beasley 1993) over ``y``.

    Returns ``(complete, S, UB, LB_open, nodes)``; ``complete`` is True when
    the whole tree was explored (then ``S`` is optimal); ``LB_open`` is the
    smallest bound among unexplored nodes (a global lower bound together
    with ``UB``).
    """
    stack = [(free_idx, open_idx, lam, -math.inf)]
    nodes = 0
    node_iters = _BB_PARAMS["node_iters"]
    patience = _BB_PARAMS["patience"]
    pi0 = _BB_PARAMS["pi0"]
    branch = _BB_PARAMS["branch"]

    def ev(sol):
        return float(C[:, sol].min(axis=1).sum())

    while stack:
        if time.perf_counter() > deadline:
            lb_open = min(b for *_, b in stack)
            return False, S, UB, lb_open, nodes
        f_idx, o_idx, lam0, parent_bound = stack.pop()
        target = target_of(UB)
        if parent_bound > target:
            continue
        nodes += 1
        k = p - o_idx.size
        pruned, L, lamb, f_idx, o_idx, rho, chosen, sols = _lagrangian_node(
            C, f_idx, o_idx, k, lam0, target, UB, node_iters, pi0 if nodes > 1 else 0.5,
            patience, scale, deadline)
        for sol in sols:
            v = ev(sol)
            if v < UB - 1e-9 * scale:
                S, UB = np.sort(sol), v
        if pruned or L > target_of(UB):
            continue
        # branch on the Lagrangian-chosen facility with the largest closing penalty
        k = p - o_idx.size
        rest_min = np.partition(rho, k)[k] if k < rho.size else math.inf
        pen = L - rho[chosen] + rest_min
        if branch == "maxpen":
            jloc = int(chosen[int(np.argmax(pen))])
        else:
            jloc = int(chosen[int(np.argmin(pen))])
        j = f_idx[jloc]
        f_rest = np.delete(f_idx, jloc)
        bound0 = float(L - rho[jloc] + rest_min)
        # push y_j = 0 first so y_j = 1 is explored first (DFS)
        stack.append((f_rest, o_idx, lamb, bound0))
        stack.append((f_rest, np.append(o_idx, j), lamb, L))
    return True, S, UB, math.inf, nodes


# ---------------------------------------------------------------------------
# main solver
# ---------------------------------------------------------------------------


def solve_pmedian(
    cost_matrix,
    p: int,
    *,
    weights=None,
    time_limit_s: float = 60.0,
    seed: int = 0,
    num_workers: int = 1,
    fixed_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    max_subgradient_iterations: int = 5000,
    exact_backend: str = "auto",
) -> PMedianResult:
    """Solve the p-median problem to proven optimality (or up to a time limit).

    Parameters
    ----------
    cost_matrix:
        ``n x m`` array-like of non-negative costs (clients x candidate
        facilities; e.g. distance in metres).  ``inf`` means "cannot serve".
    p:
        Number of facilities to open, ``1 <= p <= m``.
    weights:
        Length-``n`` non-negative client demand (default all 1).
    time_limit_s:
        Wall-clock limit in seconds for the whole solve; on expiry the best
        solution found is returned with its proven bound and gap (never an
        exception).  It may be exceeded by a fraction of a second (building
        the reduced MIP model, solver presolve).
    seed:
        Random seed of the MIP/CP-SAT exact phase (the heuristics and the
        Lagrangian branch and bound are deterministic; results are
        reproducible for a fixed seed and ``num_workers=1``).
    num_workers:
        Threads of the MIP/CP-SAT exact phase (the numpy phases are
        single-threaded apart from what numpy itself does).
    fixed_open / forbidden:
        Column indices that must be open / may not be opened.
    max_subgradient_iterations:
        Cap on root Lagrangian subgradient iterations.
    exact_backend:
        How a remaining gap is closed: ``"auto"`` (default: Lagrangian
        branch and bound first when at most 25 facilities remain to be
        chosen after the fixing tests, else SCIP first; the first phase gets
        80 % of the remaining time, the other one the rest),
        ``"lagrangian"`` (depth-first
        branch and bound on ``y`` with a warm-started subgradient bound and
        the fixing tests at every node), or the reduced radius model solved
        by ``"cpsat"`` (OR-Tools CP-SAT, integer data only), ``"scip"`` or
        ``"cbc"`` (OR-Tools ``pywraplp``).

    Returns
    -------
    PMedianResult
    """
    t0 = time.perf_counter()
    deadline = t0 + float(time_limit_s)
    d, p, w, fo, fb = _validate(cost_matrix, p, weights, list(fixed_open), list(forbidden))
    if exact_backend not in ("auto", "lagrangian", "cpsat", "scip", "cbc"):
        raise ValueError(
            "exact_backend must be 'auto', 'lagrangian', 'cpsat', 'scip' or 'cbc', "
            f"got {exact_backend!r}")
    n, m = d.shape
    timings: dict[str, float] = {}
    stats: dict = {}

    allowed = np.ones(m, dtype=bool)
    allowed[fb] = False
    opened = np.zeros(m, dtype=bool)
    opened[fo] = True

    # clients with zero weight do not matter; weighted cost matrix
    active = w > 0
    with np.errstate(invalid="ignore"):  # inf * 0 for zero-weight clients
        C_full = d * w[:, None]
    C_full = np.where(np.isinf(d), np.inf, np.where(w[:, None] > 0, C_full, 0.0))
    C = C_full[active]
    if C.shape[0] == 0:
        C = np.zeros((1, m))  # degenerate: every solution costs 0
    # infinite costs: replace by a big finite number and detect infeasibility
    finite_max = np.nanmax(np.where(np.isfinite(C), C, 0.0)) if C.size else 0.0
    has_inf = bool(np.isinf(C).any())
    BIG = (finite_max + 1.0) * (C.shape[0] + 1) * 4.0 if has_inf else 0.0
    if has_inf:
        C = np.where(np.isinf(C), BIG, C)
    integral = bool(np.all(C == np.rint(C))) and float(np.abs(C).max(initial=0.0)) < 2**52
    scale = max(1.0, float(np.abs(C).sum(axis=1).max(initial=0.0)))
    tol = 1e-9 * scale

    def evaluate(S):
        return float(C[:, S].min(axis=1).sum())

    # far value for d2 when a single facility is open: the row maximum over
    # allowed columns (so min(far, d_ij) = d_ij)
    far = C[:, allowed].max(axis=1)

    # ---------------- heuristic upper bound -------------------------------
    th = time.perf_counter()
    k_free = p - len(fo)
    S = _greedy(C, k_free, opened.copy(), allowed.copy())
    S, UB = _local_search(C, S, opened, allowed, far, deadline, tol)
    timings["heuristic"] = time.perf_counter() - th

    def target_of(ub):
        return ub - 1.0 if integral else ub - tol

    def bound_round(lb):
        if not math.isfinite(lb):
            return float(lb)
        return float(math.ceil(lb - 1e-6)) if integral else float(lb)

    # trivial valid bound: every client at its cheapest allowed facility
    LB = bound_round(float(C[:, allowed].min(axis=1).sum()))
    method = "lagrangian"
    iterations = 0
    nodes = 0

    def finish(status_override=None):
        total = time.perf_counter() - t0
        timings["total"] = total
        Sfinal = np.array(sorted(int(j) for j in S), dtype=np.int64)
        obj_active = evaluate(Sfinal)
        feasible = not (has_inf and obj_active >= BIG)
        if not feasible:
            return PMedianResult(
                status="infeasible" if LB >= BIG else "unknown",
                objective=None, bound=math.inf if LB >= BIG else float(LB), gap=math.inf,
                open_facilities=(), assignment=np.zeros(0, dtype=np.int64),
                solve_seconds=total, lagrangian_seconds=timings.get("lagrangian", 0.0),
                timings=dict(timings), method=method, iterations=iterations,
                nodes=nodes, stats=dict(stats))
        sub = d[:, Sfinal]
        a = Sfinal[np.argmin(sub, axis=1)]
        objective = float((w * d[np.arange(n), a]).sum()) if n else 0.0
        if integral:
            objective = float(round(objective))
        bound = min(float(LB), objective)
        proven = bound >= objective - (0.0 if integral else tol)
        if proven:
            bound = objective
        gap = 0.0 if proven else (objective - bound) / max(1.0, abs(objective))
        return PMedianResult(
            status="optimal" if proven else "feasible",
            objective=objective, bound=float(bound), gap=float(gap),
            open_facilities=tuple(int(j) for j in Sfinal),
            assignment=a.astype(np.int64), solve_seconds=total,
            lagrangian_seconds=timings.get("lagrangian", 0.0),
            timings=dict(timings), method=method, iterations=iterations,
            nodes=nodes, stats=dict(stats))

    # trivial cases
    if k_free == 0 or int(allowed.sum()) == p:
        LB = UB
        method = "trivial"
        return finish()

    # ---------------- Lagrangian relaxation -------------------------------
    tl = time.perf_counter()
    nA = C.shape[0]
    free = allowed & ~opened  # undecided facilities
    open_idx = np.flatnonzero(opened)
    # multipliers: start at the incumbent's assignment costs
    d1, _, d2 = _nearest_two(C, S, far)
    lam = d1.copy()
    lam_min = C[:, allowed].min(axis=1)
    best_lam = lam.copy()
    best_L = -math.inf
    pi = 2.0
    no_improve = 0
    free_idx = np.flatnonzero(free)
    Cf = C[:, free_idx]
    Co = C[:, open_idx] if open_idx.size else None
    ls_tries = 0
    last_ls_set = None
    it = 0
    proven = False
    while it < max_subgradient_iterations:
        it += 1
        if time.perf_counter() > deadline:
            break
        target = target_of(UB)
        k = p - open_idx.size
        diff = Cf - lam[:, None]
        neg = np.minimum(diff, 0.0)
        rho = neg.sum(axis=0)
        if k > 0 and k < free_idx.size:
            part = np.argpartition(rho, k)
            chosen = part[:k]
            rest = part[k:]
            rho_k = rho[chosen].max()
            rho_k1 = rho[rest].min()
        elif k == free_idx.size:
            chosen = np.arange(free_idx.size)
            rest = np.zeros(0, dtype=np.int64)
            rho_k = rho.max() if rho.size else 0.0
            rho_k1 = math.inf
        else:  # k == 0
            chosen = np.zeros(0, dtype=np.int64)
            rest = np.arange(free_idx.size)
            rho_k = -math.inf
            rho_k1 = rho.min() if rho.size else math.inf
        L = float(lam.sum() + rho[chosen].sum())
        if Co is not None:
            L += float(np.minimum(Co - lam[:, None], 0.0).sum())
        if L > best_L + 1e-12 * scale:
            if L > best_L + 1e-7 * scale:
                no_improve = 0
            else:
                no_improve += 1
            best_L = L
            best_lam = lam.copy()
        else:
            no_improve += 1
        if L > target + 1e-9 * scale:
            proven = True
            break
        # --- reduction tests on facilities (valid for any multipliers) ---
        if free_idx.size:
            close_mask = np.zeros(free_idx.size, dtype=bool)
            open_mask = np.zeros(free_idx.size, dtype=bool)
            if rest.size and k > 0:
                close_mask[rest] = (L + rho[rest] - rho_k) > target + 1e-9 * scale
            elif rest.size and k == 0:
                close_mask[rest] = True
            if chosen.size and rho_k1 < math.inf:
                open_mask[chosen] = (L - rho[chosen] + rho_k1) > target + 1e-9 * scale
            if close_mask.any() or open_mask.any():
                newly_open = free_idx[open_mask]
                newly_closed = free_idx[close_mask]
                free[newly_open] = False
                free[newly_closed] = False
                opened[newly_open] = True
                free_idx = np.flatnonzero(free)
                open_idx = np.flatnonzero(opened)
                Cf = C[:, free_idx]
                Co = C[:, open_idx] if open_idx.size else None
                stats["fixed_closed"] = stats.get("fixed_closed", 0) + int(newly_closed.size)
                stats["fixed_open"] = stats.get("fixed_open", 0) + int(newly_open.size)
                k = p - open_idx.size
                if k < 0 or k > free_idx.size:
                    # no improving solution exists
                    proven = True
                    best_L = max(best_L, target + 1.0)
                    break
                if k == 0 or k == free_idx.size:
                    Sc = np.concatenate([open_idx, free_idx]) if k else open_idx
                    val = evaluate(Sc)
                    if val < UB - tol:
                        S, UB = np.sort(Sc), val
                    proven = True
                    best_L = max(best_L, target + 1.0)
                    break
                continue  # recompute with the reduced sets
        # --- upper bound from the Lagrangian solution ---
        if (it % 25 == 0 or no_improve == 0) and ls_tries < 60:
            Sc = np.sort(np.concatenate([open_idx, free_idx[chosen]]))
            key = Sc.tobytes()
            if key != last_ls_set:
                last_ls_set = key
                val = evaluate(Sc)
                if val < UB * 1.02 + tol:
                    ls_tries += 1
                    Sc, val = _local_search(C, Sc, np.isin(np.arange(m), fo), allowed, far, deadline, tol)
                    if val < UB - tol:
                        S, UB = Sc, val
        # --- subgradient step ---
        x_cnt = (diff[:, chosen] < 0).sum(axis=1)
        if Co is not None:
            x_cnt = x_cnt + ((Co - lam[:, None]) < 0).sum(axis=1)
        g = 1.0 - x_cnt
        gg = float(g @ g)
        if gg == 0.0:
            # relaxation solution is feasible: L equals its cost -> optimal
            # for the (reduced) problem
            Sc = np.sort(np.concatenate([open_idx, free_idx[chosen]]))
            val = evaluate(Sc)
            if val < UB - tol:
                S, UB = Sc, val
            if L >= target_of(UB) - tol:
                proven = True
                best_L = max(best_L, L)
                break
            lam = lam + 1e-3 * (UB - L) / nA
            continue
        if no_improve >= 30:
            pi *= 0.5
            no_improve = 0
            lam = best_lam.copy()
            if pi < 1e-5:
                break
            continue
        step = pi * max(UB - L, 1e-9 * scale) / gg
        lam = np.maximum(lam + step * g, lam_min)
    iterations = it
    if not proven and bound_round(best_L) < UB - (0 if integral else tol) \
            and free_idx.size and time.perf_counter() < deadline:
        # last primal attempt: local search from the Lagrangian solution at
        # the best multipliers (often optimal when the LP is near-integral)
        k = p - open_idx.size
        if 0 < k < free_idx.size:
            rho_b = np.minimum(Cf - best_lam[:, None], 0.0).sum(axis=0)
            Sc = np.sort(np.concatenate([open_idx, free_idx[np.argpartition(rho_b, k)[:k]]]))
            Sc, val = _local_search(C, Sc, np.isin(np.arange(m), fo), allowed, far, deadline, tol)
            if val < UB - tol:
                S, UB = Sc, val
                stats["final_ls_improved"] = True
    timings["lagrangian"] = time.perf_counter() - tl
    stats["lagrangian_bound"] = best_L
    stats["free_after_fixing"] = int(free_idx.size)
    stats["open_after_fixing"] = int(open_idx.size)
    if proven:
        LB = UB
        method = "lagrangian+local-search"
        return finish()
    LB = max(LB, bound_round(best_L))
    if LB >= UB - (0 if integral else tol):
        LB = UB
        method = "lagrangian+local-search"
        return finish()
    if time.perf_counter() > deadline:
        method = "lagrangian (time limit)"
        return finish()

    # ---------------- exact finish ----------------------------------------
    if exact_backend == "auto":
        # Lagrangian B&B prunes well when the root gap is made of real
        # (LP) gap and few facilities remain to choose; when many remain the
        # LP-based MIP on the reduced radius model is faster (measured on
        # OR-Library pmed: it mostly has to confirm a near-integral LP).
        k_left = p - open_idx.size
        phases = ["lagrangian", "scip"] if k_left <= 25 else ["scip", "lagrangian"]
    else:
        phases = [exact_backend]
    methods = []
    for ph_i, phase in enumerate(phases):
        now = time.perf_counter()
        remaining = deadline - now
        if remaining <= 0 or (ph_i > 0 and remaining < max(0.5, 0.05 * float(time_limit_s))):
            break  # not enough time left for a useful second phase
        # the first of two phases gets 80 % of the remaining time
        ph_deadline = now + (remaining * 0.8 if ph_i == 0 and len(phases) > 1 else remaining)
        tx = now
        if phase == "lagrangian":
            complete, S, UB, lb_open, n_nodes = _lagrangian_bb(
                C, free_idx, open_idx, p, best_lam, S, UB, target_of, scale, ph_deadline)
            nodes += n_nodes
            stats["lagrangian_bb_nodes"] = n_nodes
            methods.append("branch-and-bound")
            timings["exact_lagrangian_bb"] = time.perf_counter() - tx
            if complete:
                LB = UB
                break
            LB = max(LB, bound_round(min(lb_open, UB)))
            continue
        status, S2, b2, n_nodes, st2 = _mip_phase(
            C, free_idx, open_idx, p, best_lam, best_L, S, UB, target_of(UB), scale,
            integral, phase, ph_deadline - time.perf_counter(), seed, num_workers)
        nodes += n_nodes
        stats.update(st2)
        methods.append(f"reduced-radius-{phase}")
        timings[f"exact_{phase}"] = time.perf_counter() - tx
        if S2 is not None:
            v2 = evaluate(S2)
            if v2 < UB:
                S, UB = S2, v2
        if status in ("infeasible", "found_optimal"):
            LB = UB
            break
        LB = max(LB, bound_round(min(b2, UB)))
    timings["exact"] = sum(v for kk, v in timings.items() if kk.startswith("exact_"))
    method = "lagrangian+" + "+".join(methods)
    return finish()


def _mip_phase(C, free_idx, open_idx, p, lam, Lb, S, UB, target, scale, integral,
               backend, time_limit, seed, workers):
    """Pair elimination (radius truncation) + reduced radius model solve."""
    nA = C.shape[0]
    k = p - open_idx.size
    Cf = C[:, free_idx]
    if open_idx.size:
        lam = np.minimum(lam, C[:, open_idx].min(axis=1))
    diff = Cf - lam[:, None]
    rho = np.minimum(diff, 0.0).sum(axis=0)
    part = np.argsort(rho, kind="stable")
    chosen_mask = np.zeros(free_idx.size, dtype=bool)
    chosen_mask[part[:k]] = True
    rho_k = rho[part[k - 1]]
    Lb = float(lam.sum() + rho[part[:k]].sum())
    # bound of the relaxation when x_ij is forced to 1
    pen = np.maximum(diff, 0.0)
    pen = pen + np.where(chosen_mask, 0.0, rho - rho_k)[None, :]
    keep_free = (Lb + pen) <= target + 1e-9 * scale
    allowed_pairs = []
    R = np.empty(nA)
    for i in range(nA):
        cols = free_idx[keep_free[i]]
        if open_idx.size:
            cols = np.concatenate([cols, open_idx])
        vals = C[i, cols]
        if open_idx.size:
            ro = C[i, open_idx].min()
            sel = vals <= ro
            cols, vals = cols[sel], vals[sel]
        R[i] = vals.max() if vals.size else -math.inf
        allowed_pairs.append(cols)
    stats = {"pairs_kept": int(sum(c.size for c in allowed_pairs))}
    if backend == "cpsat" and not integral:
        backend = "scip"  # CP-SAT needs integer data
    if backend == "cpsat":
        status, S2, _v, b2, nodes, st2 = _solve_reduced_cpsat(
            C, free_idx, open_idx, k, R, target, integral, S, time_limit, seed, workers,
            allowed_pairs)
    else:
        status, S2, _v, b2, nodes, st2 = _solve_reduced_mip(
            C, free_idx, open_idx, k, R, target, integral, S, time_limit, seed, workers,
            allowed_pairs, backend=backend.upper())
    stats.update(st2)
    return status, S2, b2, nodes, stats


class PMedian:
    """spopt-style wrapper: ``PMedian.from_cost_matrix(d, p).solve()``."""

    def __init__(self, cost_matrix, p: int, weights=None, fixed_open=(), forbidden=()):
        _validate(cost_matrix, p, weights, list(fixed_open), list(forbidden))
        self.cost_matrix = cost_matrix
        self.p = int(p)
        self.weights = weights
        self.fixed_open = tuple(fixed_open)
        self.forbidden = tuple(forbidden)
        self.result: PMedianResult | None = None

    @classmethod
    def from_cost_matrix(cls, cost_matrix, p: int, weights=None) -> PMedian:
        """Build a model from an ``n x m`` cost matrix (clients x facilities)."""
        return cls(cost_matrix, p, weights)

    def solve(self, time_limit_s: float = 60.0, seed: int = 0, num_workers: int = 1) -> PMedianResult:
        """Solve; see :func:`solve_pmedian`.  Stores and returns the result."""
        self.result = solve_pmedian(
            self.cost_matrix, self.p, weights=self.weights,
            time_limit_s=time_limit_s, seed=seed, num_workers=num_workers,
            fixed_open=self.fixed_open, forbidden=self.forbidden,
        )
        return self.result
