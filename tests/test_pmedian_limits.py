"""optimiser.pmedian: work limits shape the answer, the wall clock is a reported safety net."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import numpy as np
import pytest

from optimiser.pmedian import solve_pmedian
from optimiser.pmedian.exact import mip_phase
from optimiser.pmedian.problem import prepare, validate


def _euclid(n: int, seed: int) -> np.ndarray:
    pts = np.random.default_rng(seed).random((n, 2))
    d = np.floor(1000 * np.linalg.norm(pts[:, None] - pts[None], axis=2)).astype(np.int64)
    return d


def _work_limited(d: np.ndarray) -> object:
    # limits small enough that the gap stays open: the work limits, not the clock, end the solve
    return solve_pmedian(d, 12, time_limit_s=300.0, seed=3, num_workers=1, max_subgradient_iterations=5,
                         max_branch_nodes=3, exact_backend="lagrangian")


def test_stopped_by_reports_work_limit_and_wall_clock():
    d = _euclid(150, 1)
    res = _work_limited(d)
    assert res.status == "feasible" and res.gap > 0
    assert res.stopped_by == "work_limit"
    assert res.nodes == 3 and res.iterations == 5
    quick = solve_pmedian(d, 12, time_limit_s=1e-4)
    assert quick.stopped_by == "wall_clock" and quick.status in ("feasible", "optimal")
    proven = solve_pmedian(_euclid(40, 2), 3)
    assert proven.status == "optimal" and proven.stopped_by is None


@pytest.mark.slow
@pytest.mark.xdist_group("cpu_hogs")  # never beside another test's hogs (--dist loadgroup)
def test_same_answer_beside_a_cpu_hog():
    """The same instance and seed give the same answer (facilities, objective, bound, node and
    iteration counts) on an idle machine and beside a process that burns a core."""
    d = _euclid(150, 1)
    idle = _work_limited(d)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.2)
        busy = _work_limited(d)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert busy.stopped_by == idle.stopped_by == "work_limit"
    assert busy.open_facilities == idle.open_facilities
    assert (busy.objective, busy.bound, busy.nodes, busy.iterations) == (idle.objective, idle.bound, idle.nodes,
                                                                         idle.iterations)


def _brute_force_value(d: np.ndarray, p: int) -> float:
    return min(float(d[:, list(S)].min(axis=1).sum()) for S in itertools.combinations(range(d.shape[1]), p))


@pytest.mark.parametrize("seed", range(3))
def test_scip_dual_limit_never_stops_before_a_better_solution(seed):
    """SCIP stops once its dual bound passes the target (incumbent - 1, integer costs): from a poor
    incumbent it must still find the optimum (the dual bound cannot pass a target that a solution
    meets), and from the optimal incumbent its bound, rounded up, proves it."""
    d = _euclid(24, 10 + seed)[:, :12]
    p = 4
    inst = prepare(validate(d, p, None, (), ()))
    best = _brute_force_value(d, p)
    everything = np.arange(12)
    poor = np.arange(p)  # the first p columns: a poor incumbent
    poor_value = inst.evaluate(poor)
    assert poor_value > best
    out = mip_phase(inst, everything, np.zeros(0, dtype=np.int64), np.zeros(24), poor, poor_value, "scip", 30.0,
                    0, 1, 20_000)
    assert out.S is not None and inst.evaluate(out.S) == best
    assert out.bound <= best + 1e-6
    optimal_set = out.S
    out = mip_phase(inst, everything, np.zeros(0, dtype=np.int64), np.zeros(24), optimal_set, best, "scip", 30.0,
                    0, 1, 20_000)
    assert out.status == "infeasible" or inst.bound_round(out.bound) >= best
    assert out.bound <= best + 1e-6 or out.status == "infeasible"
