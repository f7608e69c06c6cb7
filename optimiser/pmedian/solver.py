"""The p-median solver: :func:`solve_pmedian` orchestrates the phases; :class:`PMedian` wraps it.

Phases: greedy + fast interchange local search (``heuristics``); root Lagrangian with facility
fixing tests and local search from its solutions (``lagrangian``); if a gap remains, an iterated
local search over the facilities the fixing left and refixing against its incumbent; then a
best-first Lagrangian branch and bound (``branch``, handing over to ``cluster_branch`` when it stalls)
and/or the reduced radius model solved by a
MIP/CP solver (``exact``); when the reduced problem falls apart into regions (``components``: no
client of one may use a facility of another), a count split over the regions' own optima instead.
Work limits (iterations, rounds, nodes, model size) decide what each phase does; the wall clock is a
safety net that stops a phase when the time limit would be exceeded.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from optimiser.errors import ArgumentError
from optimiser.pmedian.branch import BranchResult, lagrangian_bb
from optimiser.pmedian.cluster_branch import cluster_bb
from optimiser.pmedian.components import Component, SubResult, pair_components, solve_by_components
from optimiser.pmedian.exact import mip_phase
from optimiser.pmedian.heuristics import greedy, local_search, perturbed_search
from optimiser.pmedian.lagrangian import RootLagrangian, RootResult, eliminate_pairs, refix
from optimiser.pmedian.popmusic import FixedSolver, gap_windows, popmusic
from optimiser.pmedian.problem import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    Validated,
    check_solve_options,
    prepare,
    read_once,
    validate,
)
from optimiser.pmedian.result import PMedianResult

logger = logging.getLogger(__name__)

EXACT_BACKENDS = ("auto", "lagrangian", "cpsat", "scip", "cbc")
PERTURB_ROUNDS = 150  # work limit of the iterated local search before the exact phase
MAX_BRANCH_NODES = 2000  # work limit of the Lagrangian branch and bound (OR-Library pmed36 needs 1,337)
# the branch and bound on single facilities hands over to the one on cluster counts when its first
# STALL_NODES nodes close less than STALL_FRACTION of the root gap (rl1304, p = 10: 11 % after 100
# nodes, 26 % after 600, and it cannot finish; cluster counts prove it in 283 nodes.  OR-Library
# pmed36: 44 % after 100 nodes, proven in 1,337, where the cluster counts need 643 nodes but twice
# the CPU time: the single-facility nodes shrink with the fixing tests, the cluster nodes do not)
STALL_NODES = 100
STALL_FRACTION = 0.25
MAX_MIP_NODES = 20_000  # work limit of SCIP on the reduced radius model
# reduced radius models up to this many client-facility pairs go to SCIP without the iterated local
# search first: SCIP proves them in about a second, finding the better solution itself (rl1304,
# p = 300 / 500: 4,447 / 4,087 pairs, SCIP 1.0 / 0.8 s of CPU against 2.5 / 5 s for the search);
# larger ones profit from the search's better incumbent (fl1400, p = 100: 26,796 pairs, SCIP 37 s
# of CPU from the root's incumbent, 5 + 5 s with the search first)
SMALL_RADIUS_PAIRS = 8_000
MAX_SUBGRADIENT_ITERATIONS = 5000  # solve_pmedian's default cap of the root subgradient
# POPMUSIC (windows of WINDOW_PARTS parts re-solved exactly) runs after the iterated local search when
# the reduced radius model against its incumbent still has more than POPMUSIC_MIN_PAIRS pairs (SCIP
# does not solve those within a minute: fl1400, p = 200: 84,744 pairs) and at least 2 * WINDOW_PARTS
# facilities remain to be chosen; a window's own solve (p = WINDOW_PARTS) therefore never runs POPMUSIC
POPMUSIC_MIN_PAIRS = 30_000
WINDOW_PARTS = 10
WINDOW_BRANCH_NODES = 200  # work limits of a window's solve
WINDOW_MIP_NODES = 2_000
GAP_WINDOW_PARTS = 50  # after POPMUSIC: windows of 50 facilities freed and re-chosen anywhere (gap_windows)
GAP_WINDOWS = 6  # work limit: sub-problems of gap_windows
# ... when the reduced radius model against POPMUSIC's incumbent keeps more than this many pairs (fl1400,
# p = 200 / 300 / 400: 62,344 / 92,486 / 67,809, where SCIP's bound stays near the root's in 60 s;
# p = 500: 24,611, where SCIP raises the bound with the time the windows would take)
GAP_WINDOW_MIN_PAIRS = 50_000
# the exact phase splits the reduced problem into the connected components of its allowed pairs
# (components.py) when there are at least two and the largest holds at most this share of the clients
# (fl1400, p = 200: 47 components, the largest 276 of 1,400 clients)
COMPONENT_MAX_SHARE = 0.5
# ... and only for the models POPMUSIC would search (more than POPMUSIC_MIN_PAIRS pairs: SCIP proves the
# smaller ones directly) with at least this many clients per facility: the regions' sub-problems grow
# hard with their share of facilities (fl1400's 276-client regions: 3-10 s of CPU each with 25-27
# facilities (p = 200), 23-45 s with 33-38 (p = 300 chooses about 40): there POPMUSIC and the gap
# windows stay, as before)
COMPONENT_MIN_CLIENTS_PER_FACILITY = 6
COMPONENT_SUBSOLVES = 200  # work limit: full sub-problem solves of the component split


@dataclass
class _Run:
    """State of one solve: incumbent ``S``/``UB``, proven bound ``LB`` and the bookkeeping."""

    inst: Instance
    t0: float
    deadline: float
    S: IntArray
    UB: float
    LB: float
    method: str = "lagrangian"
    iterations: int = 0
    nodes: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def offer(self, S: IntArray | None) -> None:
        if S is not None:
            v = self.inst.evaluate(S)
            if v < self.UB:
                self.S, self.UB = np.sort(S), v

    def raise_bound(self, lb: float) -> None:
        self.LB = max(self.LB, self.inst.bound_round(min(lb, self.UB)))

    def closed(self) -> bool:
        return self.inst.proves(self.LB, self.UB)

    def finish(self) -> PMedianResult:
        inst = self.inst
        d, w = inst.inputs.d, inst.inputs.w
        n = d.shape[0]
        now = time.perf_counter()
        total = now - self.t0
        self.timings["total"] = total
        # every phase stops at the deadline (the safety net), so a solve that ended before it was
        # stopped by its work limits only
        stopped_by = "wall_clock" if now >= self.deadline else "work_limit"
        common: dict[str, Any] = dict(
            solve_seconds=total, lagrangian_seconds=self.timings.get("lagrangian", 0.0), timings=dict(self.timings),
            method=self.method, iterations=self.iterations, nodes=self.nodes, stats=dict(self.stats))
        S = np.array(sorted(int(j) for j in self.S), dtype=np.int64)
        if inst.has_inf and inst.evaluate(S) >= inst.big:
            infeasible = self.LB >= inst.big
            return PMedianResult(status="infeasible" if infeasible else "unknown", objective=None,
                                 bound=math.inf if infeasible else float(self.LB), gap=math.inf, open_facilities=(),
                                 assignment=np.zeros(0, dtype=np.int64), stopped_by=None if infeasible else stopped_by,
                                 **common)
        a = S[np.argmin(d[:, S], axis=1)]
        served = w > 0  # a client of weight 0 adds 0, even at an infinite cost
        objective = float((w[served] * d[np.arange(n)[served], a[served]]).sum()) if n else 0.0
        if inst.integral:
            objective = float(round(objective))
        bound = min(float(self.LB), objective)
        proven = bound >= objective - (0.0 if inst.integral else inst.tol)
        if proven:
            bound = objective
        gap = 0.0 if proven else (objective - bound) / max(1.0, abs(objective))
        logger.info("p-median n=%d p=%d: %s %.6g (bound %.6g) in %.2f s by %s", n, inst.p,
                    "optimal" if proven else "feasible", objective, bound, total, self.method)
        return PMedianResult(status="optimal" if proven else "feasible", objective=objective, bound=float(bound),
                             gap=float(gap), open_facilities=tuple(int(j) for j in S), assignment=a.astype(np.int64),
                             stopped_by=None if proven else stopped_by, **common)


def _heuristic(inst: Instance, deadline: float) -> tuple[IntArray, float]:
    S = greedy(inst.C, inst.p - int(inst.fixed.sum()), inst.fixed.copy(), inst.allowed)
    return local_search(inst.C, S, inst.fixed, inst.allowed, inst.far, deadline, inst.tol)


def _small_radius_model(run: _Run, root: RootResult, exact_backend: str) -> bool:
    """True when the exact phase starts with SCIP on a reduced radius model of at most
    ``SMALL_RADIUS_PAIRS`` client-facility pairs (then the iterated local search is skipped)."""
    inst = run.inst
    if exact_backend not in ("auto", "scip") or inst.p - root.open_idx.size <= 25 or not inst.integral:
        return False
    pairs, _ = eliminate_pairs(inst, root.free_idx, root.open_idx, root.best_lam, inst.target_of(run.UB))
    kept = int(sum(c.size for c in pairs))
    run.stats["pairs_before_search"] = kept
    return kept <= SMALL_RADIUS_PAIRS


def _perturb(run: _Run, root: RootResult, seed: int) -> None:
    """Iterated local search over the facilities the root's fixing tests left open to choice."""
    inst = run.inst
    tp = time.perf_counter()
    allowed, fixed = _open_to_choice(run, root)
    S, UB = perturbed_search(inst.C, run.S, fixed, allowed, inst.far, PERTURB_ROUNDS, seed, run.deadline, inst.tol)
    _accept(run, root, S, UB, "perturbed_search_improved")
    run.timings["perturbed_search"] = time.perf_counter() - tp


def _open_to_choice(run: _Run, root: RootResult) -> tuple[BoolArray, BoolArray]:
    """The facilities a search may open (those the root's fixing tests left free or fixed open) and
    those it must keep open (the instance's own and the root's fixed-open ones)."""
    allowed = np.zeros(run.inst.m, dtype=bool)
    allowed[root.free_idx] = True
    allowed[root.open_idx] = True
    fixed = run.inst.fixed.copy()
    fixed[root.open_idx] = True
    return allowed, fixed


def _accept(run: _Run, root: RootResult, S: IntArray, UB: float, stat: str) -> None:
    """Take a search's solution when it beats the incumbent (its gain recorded as ``stat``), then
    re-run the fixing tests: a better incumbent fixes more facilities at the root's multipliers."""
    if UB >= run.UB - run.inst.tol:
        return
    run.stats[stat] = run.UB - UB
    run.S, run.UB = S, UB
    root.free_idx, root.open_idx, proven = refix(run.inst, root, run.UB)
    run.stats.update(free_after_refixing=int(root.free_idx.size), open_after_refixing=int(root.open_idx.size))
    if proven:
        run.LB = run.UB


def _solve_window(cost: FloatArray, r: int, fixed_pos: IntArray, time_limit_s: float) -> IntArray | None:
    """POPMUSIC's sub-problem solved by :func:`solve_pmedian` itself (work-limited)."""
    res = _sub_solve(cost, r, time_limit_s, [int(j) for j in fixed_pos], limits=WorkLimits(WINDOW_BRANCH_NODES, WINDOW_MIP_NODES))
    return np.array(res.open_facilities, dtype=np.int64) if res.objective is not None else None


def _popmusic(run: _Run, root: RootResult, seed: int) -> None:
    """POPMUSIC after the iterated local search when many facilities remain to be chosen and the
    reduced radius model is large; then the fixing tests against the better incumbent."""
    inst = run.inst
    k = inst.p - root.open_idx.size
    if k < 2 * WINDOW_PARTS or not inst.integral:
        return
    pairs, _ = eliminate_pairs(inst, root.free_idx, root.open_idx, root.best_lam, inst.target_of(run.UB))
    if sum(c.size for c in pairs) <= POPMUSIC_MIN_PAIRS:
        return
    tp = time.perf_counter()
    allowed, fixed = _open_to_choice(run, root)
    out = popmusic(inst.C, run.S, fixed, allowed, WINDOW_PARTS, _solve_window, 2 * k, run.deadline, seed, inst.tol)
    run.stats.update(popmusic_subproblems=out.subproblems, popmusic_improvements=out.improvements)
    _accept(run, root, out.S, out.cost, "popmusic_improved")
    run.timings["popmusic"] = time.perf_counter() - tp
    if inst.fixed.any() or run.closed():
        return  # a gap window's own solve (it keeps facilities open) opens no windows
    if inst.C.shape[0] != inst.m:
        return  # the windows' nearness reads the sites' own rows: clients and sites must coincide
    pairs, _ = eliminate_pairs(inst, root.free_idx, root.open_idx, root.best_lam, inst.target_of(run.UB))
    if sum(c.size for c in pairs) <= GAP_WINDOW_MIN_PAIRS:
        return
    tp = time.perf_counter()
    allowed, fixed = _open_to_choice(run, root)  # after the refixing against POPMUSIC's incumbent
    gw = gap_windows(inst.C, run.S, fixed, root.best_lam, GAP_WINDOW_PARTS, _fixed_solver(inst, allowed, fixed),
                     GAP_WINDOWS, run.deadline, inst.tol)
    run.stats.update(gap_window_subproblems=gw.subproblems, gap_window_improvements=gw.improvements)
    _accept(run, root, gw.S, gw.cost, "gap_windows_improved")
    run.timings["gap_windows"] = time.perf_counter() - tp


def _fixed_solver(inst: Instance, allowed: BoolArray, fixed: BoolArray) -> FixedSolver:
    """A gap window's sub-problem: the instance with the kept facilities fixed open, solved by
    :func:`solve_pmedian` itself (work-limited as POPMUSIC's windows); not solved (``None``) when the
    window frees every open facility: that sub-problem is the instance itself, whose solve would open
    the same windows again (unbounded recursion), nor when it keeps a facility the fixing tests closed."""
    def solve(keep: IntArray, time_limit_s: float) -> IntArray | None:
        keep_open = np.union1d(keep, np.flatnonzero(fixed))
        if keep_open.size == 0 or not allowed[keep_open].all():
            # a kept facility closed by the refixing against the incumbent: every better layout
            # leaves it out, so a window that keeps it open cannot improve (nothing to solve)
            return None
        res = _sub_solve(inst.C, inst.p, time_limit_s, [int(j) for j in keep_open], [int(j) for j in np.flatnonzero(~allowed)],
                         limits=WorkLimits(WINDOW_BRANCH_NODES, WINDOW_MIP_NODES))
        return np.array(res.open_facilities, dtype=np.int64) if res.objective is not None else None
    return solve


@dataclass(frozen=True)
class WorkLimits:
    """The deterministic budgets of the exact phases (the wall clock is only a safety net)."""

    branch_nodes: int
    mip_nodes: int


def _branch_and_bound(run: _Run, root: RootResult, max_nodes: int, methods: list[str]) -> BranchResult:
    """The Lagrangian branch and bound on single facilities, handing over to the one on cluster counts
    (with the nodes left) when it stalls; the larger of their open bounds is the phase's bound."""
    inst = run.inst
    br = lagrangian_bb(inst.C, root.free_idx, root.open_idx, inst.p, root.best_lam, run.S, run.UB, inst.target_of,
                       inst.scale, run.deadline, max_nodes=max_nodes,
                       stall_test=(STALL_NODES, STALL_FRACTION, root.best_L))
    run.S, run.UB = br.S, br.UB
    run.nodes += br.nodes
    run.stats["lagrangian_bb_nodes"] = br.nodes
    methods.append("branch-and-bound")
    if not br.stalled:
        return br
    cl = cluster_bb(inst.C, root.free_idx, root.open_idx, inst.p, root.best_lam, run.S, run.UB, inst.target_of,
                    inst.scale, run.deadline, max_nodes=max_nodes - br.nodes)
    run.S, run.UB = cl.S, cl.UB
    run.nodes += cl.nodes
    run.stats["cluster_bb_nodes"] = cl.nodes
    methods.append("cluster-branch-and-bound")
    return BranchResult(cl.complete, cl.S, cl.UB, max(br.lb_open, cl.lb_open), br.nodes + cl.nodes)


def _exact_phases(run: _Run, root: RootResult, exact_backend: str, limits: WorkLimits, seed: int,
                  num_workers: int, regions: tuple[list[Component], IntArray] | None = None) -> None:
    """Close the remaining gap: Lagrangian branch and bound and/or the reduced radius model, each up to
    its work limit (node counts), in that order when at most 25 facilities remain to be chosen.
    ``regions``: :func:`_regions` when already found against the incumbent (else found here)."""
    inst = run.inst
    if exact_backend == "auto":
        # Lagrangian B&B prunes well when the root gap is real (LP) gap and few facilities remain to
        # choose; when many remain the LP-based MIP on the reduced radius model is faster (measured on
        # OR-Library pmed: it mostly has to confirm a near-integral LP).
        phases = ["lagrangian", "scip"] if inst.p - root.open_idx.size <= 25 else ["scip", "lagrangian"]
    else:
        phases = [exact_backend]
    methods = ["popmusic"] if "popmusic_subproblems" in run.stats else []
    methods += ["gap-windows"] if "gap_window_subproblems" in run.stats else []
    if exact_backend in ("auto", "scip") and _component_split(run, root, limits, methods, regions):
        phases = []
    for phase in phases:
        now = time.perf_counter()
        if now >= run.deadline:
            break
        if phase == "lagrangian":
            br = _branch_and_bound(run, root, limits.branch_nodes, methods)
            run.timings["exact_lagrangian_bb"] = time.perf_counter() - now
            if br.complete:
                run.LB = run.UB
                break
            run.raise_bound(br.lb_open)
            continue
        out = mip_phase(inst, root.free_idx, root.open_idx, root.best_lam, run.S, run.UB, phase,
                        run.deadline - now, seed, num_workers, limits.mip_nodes)
        run.nodes += out.nodes
        ran = out.stats.pop("backend", phase)
        run.stats.update(out.stats)
        methods.append(f"reduced-radius-{ran}")
        run.timings[f"exact_{phase}"] = time.perf_counter() - now
        run.offer(out.S)
        if out.status == "infeasible":
            run.LB = run.UB  # no solution of value <= UB - 1 (integral) / UB - tol
            break
        run.raise_bound(out.bound)
        if run.closed():
            break
    run.timings["exact"] = sum(v for kk, v in run.timings.items() if kk.startswith("exact_"))
    run.method = "lagrangian+" + "+".join(methods) if methods else "lagrangian (time limit)"


def _regions(run: _Run, root: RootResult) -> tuple[list[Component], IntArray] | None:
    """The connected components of the allowed pairs against the target and the free facilities in
    none, when there are at least two and none holds more than ``COMPONENT_MAX_SHARE`` of the
    clients, the model is one POPMUSIC would search and ``p`` is moderate (integral costs, no facility
    fixed open by the caller); else ``None``."""
    inst = run.inst
    if not inst.integral or inst.fixed.any() or inst.p - root.open_idx.size < 2 \
            or inst.p * COMPONENT_MIN_CLIENTS_PER_FACILITY > inst.C.shape[0]:
        return None
    pairs, _ = eliminate_pairs(inst, root.free_idx, root.open_idx, root.best_lam, inst.target_of(run.UB))
    if sum(c.size for c in pairs) <= POPMUSIC_MIN_PAIRS:
        return None
    comps, isolated = pair_components(pairs, root.free_idx, root.open_idx, inst.m)
    if len(comps) < 2 or comps[0].clients.size > COMPONENT_MAX_SHARE * inst.C.shape[0]:
        return None
    return comps, isolated


def _component_split(run: _Run, root: RootResult, limits: WorkLimits, methods: list[str],
                     regions: tuple[list[Component], IntArray] | None = None) -> bool:
    """The exact phase by components (``components.solve_by_components``) when the allowed pairs
    fall apart into regions (:func:`_regions`, unless given).  True when it closed the gap."""
    inst = run.inst
    now = time.perf_counter()
    regions = regions if regions is not None else _regions(run, root)
    if regions is None:
        return False
    comps, isolated = regions
    out = solve_by_components(inst.C, comps, isolated, inst.p - root.open_idx.size, root.best_lam,
                              inst.target_of(run.UB), inst.tol, _component_solver(run.deadline, limits),
                              COMPONENT_SUBSOLVES, lambda: time.perf_counter() >= run.deadline, run.S)
    run.stats.update({f"split_{key}": val for key, val in out.stats.items()})
    methods.append("components")
    run.timings["exact_components"] = time.perf_counter() - now
    if out.S is not None:  # the regions' solutions (found_optimal: an optimal one), plus open facilities in none
        run.offer(np.union1d(out.S, root.open_idx))
    if out.status == "infeasible":
        run.LB = run.UB  # no solution of value <= UB - 1
    else:
        run.raise_bound(out.bound)
    return run.closed()


def _component_solver(deadline: float, limits: WorkLimits) -> Callable[[FloatArray, int, int, bool], SubResult]:
    """A component's sub-problem (``k`` free facilities, the last ``n_fixed`` columns fixed open): its
    root Lagrangian bound and multipliers (``exact`` False) or its solve by :func:`solve_pmedian`
    (SCIP on its reduced radius model, the caller's node limits)."""
    def solve(cost: FloatArray, k: int, n_fixed: int, exact: bool) -> SubResult:
        fixed = list(range(cost.shape[1] - n_fixed, cost.shape[1]))
        left = max(0.01, deadline - time.perf_counter())
        if exact:
            res = _sub_solve(cost, k + n_fixed, left, fixed, exact_backend="scip", limits=limits)
            S = np.array(res.open_facilities, dtype=np.int64) if res.objective is not None else None
            return SubResult(res.bound, res.status == "optimal", res.objective, S)
        sub = prepare(validate(cost, k + n_fixed, None, fixed, (), check_range=False))
        S, UB = _heuristic(sub, deadline)
        root = RootLagrangian(sub, S, UB, deadline).run(MAX_SUBGRADIENT_ITERATIONS)
        if root.proven:
            return SubResult(root.UB, True, root.UB, np.sort(root.S), root.best_lam)
        return SubResult(sub.bound_round(root.best_L), False, root.UB, root.S, root.best_lam)
    return solve


def solve_pmedian(
    cost_matrix: npt.ArrayLike,
    p: int,
    *,
    weights: npt.ArrayLike | None = None,
    time_limit_s: float = 60.0,
    seed: int = 0,
    num_workers: int = 1,
    fixed_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    max_subgradient_iterations: int = MAX_SUBGRADIENT_ITERATIONS,
    exact_backend: str = "auto",
    max_branch_nodes: int = MAX_BRANCH_NODES,
    max_mip_nodes: int = MAX_MIP_NODES,
) -> PMedianResult:
    """Solve the p-median problem to proven optimality (or up to a time limit).

    Open exactly ``p`` facilities and assign every client to its nearest open facility, minimising
    ``sum_i w_i * d[i, a(i)]`` (objective unit = weight unit x cost unit).

    Args:
        cost_matrix: ``n x m`` array-like of non-negative costs (clients x candidate facilities; e.g.
            distance in metres).  ``inf`` means "cannot serve".
        p: Number of facilities to open, ``1 <= p <= m``.
        weights: Length-``n`` non-negative client demand (default all 1).
        time_limit_s: Wall-clock safety net in seconds for the whole solve: the answer is shaped by
            the work limits (subgradient iterations, local-search rounds, node limits), so it is the
            same on an idle and on a loaded machine unless this limit binds first; then the best
            solution found is returned with its proven bound and gap (never an exception) and
            ``stopped_by == "wall_clock"``.  It may be exceeded by a fraction of a second (building
            the reduced MIP model, solver presolve).
        seed: Random seed of the MIP/CP-SAT exact phase (the heuristics and the Lagrangian phases are
            deterministic; results are reproducible for a fixed seed and ``num_workers=1``).
        num_workers: Threads of the MIP/CP-SAT exact phase.
        fixed_open: Column indices that must be open.
        forbidden: Column indices that may not be opened.
        max_subgradient_iterations: Cap on root Lagrangian subgradient iterations.
        exact_backend: How a remaining gap is closed: ``"auto"`` (default: Lagrangian branch and bound
            first when at most 25 facilities remain to be chosen after the fixing tests, else SCIP
            first; each phase up to its node limit),
            ``"lagrangian"`` (best-first branch and bound on ``y`` with a warm-started subgradient
            bound and the fixing tests at every node), or the reduced radius model solved by ``"cpsat"`` (OR-Tools
            CP-SAT, whole-number costs only: with fractional costs SCIP solves it, with a warning, and
            ``method`` says so), ``"scip"`` or ``"cbc"`` (OR-Tools ``pywraplp``).
        max_branch_nodes: Work limit: nodes of the Lagrangian branch and bound.
        max_mip_nodes: Work limit: nodes of SCIP on the reduced radius model (per model solved).

    Returns:
        A :class:`PMedianResult`.

    Raises:
        ArgumentError: (an :class:`~optimiser.errors.InputError`, a ``ValueError``) every invalid
            argument at once: shape, complex, negative or NaN costs, weighted costs above 2**53,
            ``p`` out of range, indices, a time limit, seed, worker count or work limit out of
            range, an unknown backend.
    """
    t0 = time.perf_counter()
    settings = check_solve_options(time_limit_s, seed, num_workers, exact_backend, EXACT_BACKENDS,
                                   {"max_subgradient_iterations": max_subgradient_iterations,
                                    "max_branch_nodes": max_branch_nodes, "max_mip_nodes": max_mip_nodes})
    v = validate(cost_matrix, p, weights, fixed_open, forbidden, settings)
    return _solve(v, t0, float(time_limit_s), int(seed), int(num_workers), int(max_subgradient_iterations), exact_backend,
                  WorkLimits(int(max_branch_nodes), int(max_mip_nodes)))


def _sub_solve(cost: FloatArray, p: int, time_limit_s: float, fixed_open: list[int], forbidden: tuple[int, ...] | list[int] = (),
               exact_backend: str = "auto", limits: WorkLimits | None = None) -> PMedianResult:
    """:func:`solve_pmedian` on a sub-problem the solver built itself from a checked instance
    (POPMUSIC's and the gap windows' sub-problems, a component's): its costs are the weighted
    ones, the infinite ones replaced by a large finite value, so the public argument checks (the
    weighted costs' range) do not apply; seed 0, one worker."""
    t0 = time.perf_counter()
    v = validate(cost, p, None, fixed_open, forbidden, check_range=False)
    return _solve(v, t0, time_limit_s, 0, 1, MAX_SUBGRADIENT_ITERATIONS, exact_backend,
                  limits or WorkLimits(MAX_BRANCH_NODES, MAX_MIP_NODES))


def _solve(v: Validated, t0: float, time_limit_s: float, seed: int, num_workers: int, max_subgradient_iterations: int,
           exact_backend: str, limits: WorkLimits) -> PMedianResult:
    """The phases of :func:`solve_pmedian` on checked inputs."""
    inst = prepare(v)
    deadline = t0 + time_limit_s
    S, UB = _heuristic(inst, deadline)
    # trivial valid bound: every client at its cheapest allowed facility
    run = _Run(inst, t0, deadline, S, UB, inst.bound_round(float(inst.C[:, inst.allowed].min(axis=1).sum())))
    run.timings["heuristic"] = time.perf_counter() - t0
    if inst.p == int(inst.fixed.sum()) or int(inst.allowed.sum()) == inst.p:
        run.LB, run.method = run.UB, "trivial"
        return run.finish()
    tl = time.perf_counter()
    root = RootLagrangian(inst, run.S, run.UB, deadline).run(max_subgradient_iterations)
    run.S, run.UB, run.iterations = root.S, root.UB, root.iterations
    run.timings["lagrangian"] = time.perf_counter() - tl
    run.stats.update(root.stats)
    run.stats.update(lagrangian_bound=root.best_L, free_after_fixing=int(root.free_idx.size),
                     open_after_fixing=int(root.open_idx.size))
    if root.proven:
        run.LB = run.UB
    else:
        run.LB = max(run.LB, inst.bound_round(root.best_L))
    if run.closed():
        run.LB, run.method = run.UB, "lagrangian+local-search"
        return run.finish()
    if time.perf_counter() > deadline:
        run.method = "lagrangian (time limit)"
        return run.finish()
    regions = None  # the regions against the incumbent, when the exact phase by components will use them
    if _small_radius_model(run, root, exact_backend):
        run.stats["perturbed_search_skipped"] = True
    else:
        _perturb(run, root, seed)
        # POPMUSIC and the gap windows only search for the incumbent: when the reduced problem falls
        # apart into regions, the exact phase by components finds the optimum itself (fl1400, p = 200:
        # 45 s of CPU from the iterated local search's incumbent, against 165 s with them first)
        if not run.closed():
            regions = _regions(run, root) if exact_backend in ("auto", "scip") else None
            if regions is None:
                _popmusic(run, root, seed)
        if run.closed():
            last = ("gap-windows" if "gap_windows_improved" in run.stats else
                    "popmusic" if "popmusic_improved" in run.stats else "perturbed-search")
            run.LB, run.method = run.UB, f"lagrangian+{last}"
            return run.finish()
    _exact_phases(run, root, exact_backend, limits, seed, num_workers, regions)
    return run.finish()


@contextmanager
def _named(where: str) -> Iterator[None]:
    """Argument problems found by :func:`solve_pmedian`'s checks, named after the call the user
    made (``PMedian``, ``PMedian.solve``), not the function it calls."""
    try:
        yield
    except ArgumentError as exc:
        raise ArgumentError([replace(p, file=where) for p in exc.problems]) from None


class PMedian:
    """spopt-style wrapper: ``PMedian.from_cost_matrix(d, p).solve()``."""

    def __init__(self, cost_matrix: npt.ArrayLike, p: int, weights: npt.ArrayLike | None = None,
                 fixed_open: Iterable[int] = (), forbidden: Iterable[int] = ()) -> None:
        fixed_open, forbidden = read_once(fixed_open), read_once(forbidden)
        with _named("PMedian"):
            validate(cost_matrix, p, weights, fixed_open, forbidden)
        self.cost_matrix = cost_matrix
        self.p = int(p)
        self.weights = weights
        self.fixed_open = tuple(fixed_open)
        self.forbidden = tuple(forbidden)
        self.result: PMedianResult | None = None

    @classmethod
    def from_cost_matrix(cls, cost_matrix: npt.ArrayLike, p: int, weights: npt.ArrayLike | None = None, *,
                         fixed_open: Iterable[int] = (), forbidden: Iterable[int] = ()) -> PMedian:
        """Build a model from an ``n x m`` cost matrix (clients x facilities); it takes every
        argument the constructor takes (``fixed_open``, ``forbidden``: see :func:`solve_pmedian`)."""
        return cls(cost_matrix, p, weights, fixed_open=fixed_open, forbidden=forbidden)

    def solve(self, time_limit_s: float = 60.0, seed: int = 0, num_workers: int = 1, *,
              max_subgradient_iterations: int = MAX_SUBGRADIENT_ITERATIONS, exact_backend: str = "auto",
              max_branch_nodes: int = MAX_BRANCH_NODES, max_mip_nodes: int = MAX_MIP_NODES) -> PMedianResult:
        """Solve with the options :func:`solve_pmedian` takes (``exact_backend``, the node and
        iteration limits).  Stores and returns the result."""
        with _named("PMedian.solve"):
            self.result = solve_pmedian(self.cost_matrix, self.p, weights=self.weights, time_limit_s=time_limit_s, seed=seed,
                                        num_workers=num_workers, fixed_open=self.fixed_open, forbidden=self.forbidden,
                                        max_subgradient_iterations=max_subgradient_iterations, exact_backend=exact_backend,
                                        max_branch_nodes=max_branch_nodes, max_mip_nodes=max_mip_nodes)
        return self.result
