"""Exact finish on the reduced radius formulation (Elloumi 2010; Garcia, Labbe and Marin 2011).

After the reduction tests each client keeps the facilities it may use in an improving solution; its
distinct costs ``D_0 < D_1 < ... < D_K`` become radius levels with a variable ``u_k`` ("client not
served within ``D_k``").  The model asks for a solution of value at most ``target`` (the incumbent
minus one unit); infeasibility proves the incumbent optimal.  Solved by SCIP or CBC (OR-Tools
``pywraplp``) or by CP-SAT (integer data only).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from optimiser.pmedian.lagrangian import eliminate_pairs
from optimiser.pmedian.problem import FloatArray, Instance, IntArray

logger = logging.getLogger(__name__)

DUAL_STOP_MARGIN = 1e-3  # SCIP stops once its dual bound reaches target + this (integer costs only)
MAX_RADIUS_PAIRS = 120_000  # work and memory limit of the reduced radius model (client-facility pairs)


@dataclass(frozen=True)
class ReducedModel:
    """The reduced problem: choose ``k`` of ``free_idx`` on top of ``open_idx``; each client ``i``
    may use the columns ``allowed_pairs[i]``; find a solution of value at most ``target``."""

    C: FloatArray
    free_idx: IntArray
    open_idx: IntArray
    k: int
    allowed_pairs: list[IntArray]
    target: float
    hint: IntArray | None
    node_limit: int = 1_000_000


@dataclass(frozen=True)
class ExactOutcome:
    """``status``: ``found_optimal``, ``found``, ``infeasible`` (no solution of value <= target) or
    ``unknown``; ``S``: a solution found; ``bound``: the solver's proven bound (also for
    ``found_optimal``: the caller proves optimality from the bound, not from the status); ``nodes``;
    ``stats``."""

    status: str
    S: IntArray | None
    bound: float
    nodes: int
    stats: dict[str, Any]


def client_levels(row: FloatArray, cols: IntArray) -> tuple[IntArray, FloatArray, IntArray, IntArray]:
    """A client's radius levels: its allowed columns sorted by cost, the distinct costs, and where each
    cost's group of columns starts and ends in the sorted columns."""
    vals = row[cols]
    order = np.argsort(vals, kind="stable")
    cols = cols[order]
    levels, starts = np.unique(vals[order], return_index=True)
    return cols, levels, starts, np.append(starts[1:], cols.size)


def solve_reduced_cpsat(rm: ReducedModel, time_limit: float, seed: int, workers: int) -> ExactOutcome:
    """Solve the reduced radius model with CP-SAT (integer costs only)."""
    t_build = time.perf_counter()
    model = cp_model.CpModel()
    y = {int(j): model.new_bool_var(f"y{j}") for j in rm.free_idx}
    model.add(sum(y.values()) == rm.k)
    opened_set = {int(j) for j in rm.open_idx}
    obj_terms = []
    const = 0
    n_u = 0
    for i in range(rm.C.shape[0]):
        if rm.allowed_pairs[i].size == 0:
            return ExactOutcome("infeasible", None, math.inf, 0, {})
        cols, levels, starts, ends = client_levels(rm.C[i], rm.allowed_pairs[i])
        const += levels[0]
        prev = None  # previous u var (None means "1" at the start)
        for kk in range(levels.size):
            group = cols[starts[kk]:ends[kk]]
            if any(int(j) in opened_set for j in group):
                break  # served at this level for sure
            gsum = sum(y[int(j)] for j in group)
            if kk == levels.size - 1:  # last level: must be served here
                model.add(gsum >= (1 if prev is None else prev))
                break
            u = model.new_bool_var("")
            n_u += 1
            model.add(u + gsum >= (1 if prev is None else prev))
            obj_terms.append((int(levels[kk + 1] - levels[kk]), u))
            prev = u
    obj = sum(c * v for c, v in obj_terms) + int(const)
    model.add(obj <= int(rm.target))
    model.minimize(obj)
    if rm.hint is not None:
        hs = {int(j) for j in rm.hint}
        for j, v in y.items():
            model.add_hint(v, 1 if j in hs else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, float(time_limit) - (time.perf_counter() - t_build))
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)
    st = solver.solve(model)
    stats = {"cp_y": len(y), "cp_u": n_u}
    nodes = int(solver.num_branches)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        S = np.array(sorted(opened_set | {j for j, v in y.items() if solver.boolean_value(v)}), dtype=np.int64)
        bound = float(solver.best_objective_bound)
        return ExactOutcome("found_optimal" if st == cp_model.OPTIMAL else "found", S, bound, nodes, stats)
    if st == cp_model.INFEASIBLE:
        return ExactOutcome("infeasible", None, math.inf, nodes, stats)
    return ExactOutcome("unknown", None, float(solver.best_objective_bound), nodes, stats)


class BuildTimeout(Exception):
    """Building the reduced model ran past its deadline."""


def _build_radius_mip(solver: pywraplp.Solver, rm: ReducedModel, deadline: float, integral: bool,
                      chains: list[tuple[np.ndarray, list[int], list[Any]]] | None = None,
                      cut_off: bool = False) -> tuple[dict[int, Any], int] | None:
    """Add the radius model's variables and constraints; ``None`` when a client has no column.
    ``integral``: every cost of ``rm.C`` is a whole number. ``chains`` (when given) receives each
    client's columns by level, the end of each level's columns and its ``u`` variables, to value
    them for a layout (:func:`_u_values`). The objective is bounded by the target as a constraint
    when the costs are not integral or ``cut_off``.

    Raises:
        BuildTimeout: ``time.perf_counter()`` passed ``deadline`` during the build.
    """
    inf = solver.infinity()
    y = {int(j): solver.BoolVar(f"y{j}") for j in rm.free_idx}
    card = solver.Constraint(float(rm.k), float(rm.k))
    for v in y.values():
        card.SetCoefficient(v, 1.0)
    opened_set = {int(j) for j in rm.open_idx}
    objective = solver.Objective()
    const = 0.0
    obj_terms = []
    for i in range(rm.C.shape[0]):
        if i % 100 == 0 and time.perf_counter() > deadline:
            raise BuildTimeout(f"radius model build stopped at client {i} of {rm.C.shape[0]}")
        if rm.allowed_pairs[i].size == 0:
            return None
        cols, levels, starts, ends = client_levels(rm.C[i], rm.allowed_pairs[i])
        const += float(levels[0])
        prev = None
        chain_ends: list[int] = []
        chain_u: list[Any] = []
        if chains is not None:
            chains.append((cols, chain_ends, chain_u))
        for kk in range(levels.size):
            group = cols[starts[kk]:ends[kk]].tolist()
            if any(j in opened_set for j in group):
                break
            # u_k + sum_group y - u_{k-1} >= 0   (u_0 := 1)
            ct = solver.Constraint(1.0 if prev is None else 0.0, inf)
            for j in group:
                ct.SetCoefficient(y[j], 1.0)
            if prev is not None:
                ct.SetCoefficient(prev, -1.0)
            if kk == levels.size - 1:
                break
            # binary (integral u are implied by integral y): with integer level steps SCIP then
            # knows the objective is integral and prunes nodes whose bound exceeds UB - 1
            u = solver.BoolVar("") if integral else solver.NumVar(0.0, 1.0, "")
            ct.SetCoefficient(u, 1.0)
            c = float(levels[kk + 1] - levels[kk])
            objective.SetCoefficient(u, c)
            obj_terms.append((u, c))
            chain_ends.append(int(ends[kk]))
            chain_u.append(u)
            prev = u
    objective.SetOffset(const)
    objective.SetMinimization()
    if not integral or cut_off:
        # without an integral objective (or an incumbent SCIP can start from), SCIP gets the
        # target as a constraint: "nothing <= target" is then its status INFEASIBLE
        cut = solver.Constraint(-inf, float(rm.target) - const)
        for u, c in obj_terms:
            cut.SetCoefficient(u, c)
    return y, len(obj_terms)


def _hint_fits(rm: ReducedModel) -> bool:
    """Whether the hint is a layout of the reduced model: ``k`` of its free facilities besides
    the open ones, every client with an allowed column open (the reduction may have closed a
    facility or pair the hint uses: it is no better than the target)."""
    if rm.hint is None:
        return False
    hs = {int(j) for j in rm.hint}
    opened = {int(j) for j in rm.open_idx}
    if not hs <= set(rm.free_idx.tolist()) | opened or len(hs - opened) != rm.k:
        return False
    is_open = np.zeros(rm.C.shape[1], dtype=bool)
    is_open[list(hs | opened)] = True
    return all(bool(is_open[cols].any()) for cols in rm.allowed_pairs)


def _u_values(chains: list[tuple[np.ndarray, list[int], list[Any]]], open_cols: set[int]) -> tuple[list[Any], list[float]]:
    """The ``u`` variables and their values for a layout opening ``open_cols``: ``u`` of a level
    is 1 while none of the client's columns up to that level is open (the least feasible value)."""
    variables: list[Any] = []
    values: list[float] = []
    for cols, chain_ends, chain_u in chains:
        hit = [k for k, j in enumerate(cols.tolist()) if j in open_cols]
        first = hit[0] if hit else len(cols)
        for end, u in zip(chain_ends, chain_u):
            variables.append(u)
            values.append(1.0 if end <= first else 0.0)
    return variables, values


def solve_reduced_mip(rm: ReducedModel, time_limit: float, seed: int, workers: int, backend: str = "SCIP") -> ExactOutcome:
    """Solve the reduced radius model with an LP-based MIP solver of ``pywraplp`` (``SCIP`` or
    ``CBC``); the ``u`` variables are continuous."""
    t_build = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:
        logger.warning("MIP backend %s is not available in this OR-Tools build", backend)
        return ExactOutcome("unknown", None, -math.inf, 0, {"error": f"{backend} unavailable"})
    chains: list[tuple[np.ndarray, list[int], list[Any]]] = []
    # with integer costs SCIP stops once its dual bound passes the target (limits/dual below),
    # which it reports with a bound only when it holds an incumbent: the hint, when it is a
    # layout of the reduced model; else the target is a constraint
    integral = bool(np.all(rm.C == np.rint(rm.C)))
    dual_stop = backend == "SCIP" and integral and _hint_fits(rm)
    try:
        built = _build_radius_mip(solver, rm, t_build + float(time_limit), integral, chains,
                                  cut_off=backend == "SCIP" and integral and not dual_stop)
    except BuildTimeout as exc:
        logger.info("%s; no time left to solve it", exc)
        return ExactOutcome("unknown", None, -math.inf, 0, {"radius_model_timeout": True})
    if built is None:
        return ExactOutcome("infeasible", None, math.inf, 0, {})
    y, n_u = built
    opened_set = {int(j) for j in rm.open_idx}
    if rm.hint is not None:
        # the whole layout, u included: a complete hint is the solver's first incumbent (SCIP
        # completes a partial one only later, and stopped by its dual limit without an incumbent
        # it reports no bound: the proof that nothing beats the hint was lost)
        hs = {int(j) for j in rm.hint}
        u_vars, u_vals = _u_values(chains, hs | opened_set) if dual_stop else ([], [])
        solver.SetHint(list(y.values()) + u_vars, [1.0 if j in hs else 0.0 for j in y] + u_vals)
    solver.SetTimeLimit(int(max(0.01, float(time_limit) - (time.perf_counter() - t_build)) * 1000))
    solver.SetNumThreads(int(workers))
    if backend == "SCIP":
        # the node limit is the work limit (the same answer on a loaded machine); the time limit a safety net
        scip_params = f"randomization/randomseedshift = {int(seed)}\nlimits/totalnodes = {int(rm.node_limit)}\n"
        if dual_stop:
            # integer costs: a dual bound above the target proves that no solution of value <= target
            # exists, so SCIP may stop there (without an incumbent of its own it would go on until it
            # found one: fl1400, p = 100, 26 s instead of 7 s); the caller rounds the bound up
            scip_params += f"limits/dual = {float(rm.target) + DUAL_STOP_MARGIN!r}\n"
        if not solver.SetSolverSpecificParametersAsString(scip_params):
            logger.warning("SCIP rejected a parameter of %r; solving with its defaults", scip_params)
    logger.debug("reduced radius model: %d y, %d u, built in %.2f s", len(y), n_u, time.perf_counter() - t_build)
    # pywraplp's default relative MIP gap (1e-4) would let SCIP report "optimal" up to 0.01 % above
    # the optimum (50 units on rl1304, p = 100); the proof needs a zero gap
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, 0.0)
    st = solver.Solve(params)
    stats: dict[str, Any] = {"mip_y": len(y), "mip_u": n_u}
    nodes = int(solver.nodes())
    if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE) and backend == "CBC" and not solver.VerifySolution(1e-6, False):
        # OR-Tools' CBC may report OPTIMAL with every y at 0 (not a layout) when the target cut
        # leaves nothing (fractional costs, an optimal incumbent): neither a solution nor a proof
        logger.warning("CBC reported a solution of the reduced radius model that violates it; ignored")
        return ExactOutcome("unknown", None, -math.inf, nodes, {**stats, "cbc_solution_rejected": True})
    if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        S = np.array(sorted(opened_set | {j for j, v in y.items() if v.solution_value() > 0.5}), dtype=np.int64)
        if st == pywraplp.Solver.OPTIMAL:
            bound = min(solver.Objective().Value(), solver.Objective().BestBound())
            return ExactOutcome("found_optimal", S, bound, nodes, stats)
        return ExactOutcome("found", S, solver.Objective().BestBound(), nodes, stats)
    if st == pywraplp.Solver.INFEASIBLE:
        return ExactOutcome("infeasible", None, math.inf, nodes, stats)
    # time limit without a solution: the solver's dual bound is still valid
    return ExactOutcome("unknown", None, float(solver.Objective().BestBound()), nodes, stats)


def mip_phase(
    inst: Instance, free_idx: IntArray, open_idx: IntArray, lam: FloatArray, S: IntArray, UB: float,
    backend: str, time_limit: float, seed: int, workers: int, node_limit: int,
) -> ExactOutcome:
    """Pair elimination (radius truncation) + reduced radius model solve by ``backend`` (``cpsat``,
    ``scip`` or ``cbc``); SCIP stops after ``node_limit`` nodes (the work limit; ``time_limit`` is
    the safety net)."""
    target = inst.target_of(UB)
    allowed_pairs, _R = eliminate_pairs(inst, free_idx, open_idx, lam, target)
    pairs_kept = int(sum(c.size for c in allowed_pairs))
    if pairs_kept > MAX_RADIUS_PAIRS:
        # SCIP needs several kB per radius variable: a larger model would exceed the memory target
        # (1 GB at n = 1,400) and rarely finishes its root LP within the time limit
        logger.info("reduced radius model skipped: %d client-facility pairs (limit %d)", pairs_kept, MAX_RADIUS_PAIRS)
        return ExactOutcome("unknown", None, -math.inf, 0, {"pairs_kept": pairs_kept, "radius_model_skipped": True})
    rm = ReducedModel(inst.C, free_idx, open_idx, inst.p - open_idx.size, allowed_pairs, target, S, node_limit)
    if backend == "cpsat" and not inst.integral:  # CP-SAT needs integer data: said, as the caller asked for it
        logger.warning("exact_backend='cpsat': the costs are not whole numbers, which CP-SAT needs; SCIP solves the "
                       "reduced radius model instead (scale and round the costs to use CP-SAT)")
        backend = "scip"
    if backend == "cpsat":
        out = solve_reduced_cpsat(rm, time_limit, seed, workers)
    else:
        out = solve_reduced_mip(rm, time_limit, seed, workers, backend=backend.upper())
    out.stats["pairs_kept"] = pairs_kept
    out.stats["backend"] = backend  # CP-SAT on costs that are not integers: SCIP
    return out
