"""Tests for optimiser.pmedian.popmusic.gap_windows (freed facilities re-chosen anywhere) and part_gaps."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from optimiser.pmedian import solve_pmedian, solver
from optimiser.pmedian.popmusic import gap_windows, part_gaps
from optimiser.pmedian.problem import prepare, validate
from optimiser.pmedian.solver import _fixed_solver
from tests.test_pmedian import brute_force


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    return np.floor(np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)))


def _cost(C: np.ndarray, S) -> float:
    """The objective recomputed independently: every client at its nearest open facility."""
    return float(sum(min(C[i, j] for j in S) for i in range(C.shape[0])))



def _enumerating(C: np.ndarray, p: int):
    calls = []

    def solve(keep, time_limit_s):
        calls.append(np.array(keep))
        rest = [j for j in range(C.shape[1]) if j not in set(keep.tolist())]
        best, best_S = np.inf, None
        for comb in itertools.combinations(rest, p - keep.size):
            S = np.array(sorted(list(keep) + list(comb)), dtype=np.int64)
            v = float(C[:, S].min(axis=1).sum())
            if v < best:
                best, best_S = v, S
        return best_S

    return solve, calls


def test_part_gaps_decompose_the_gap_to_the_lagrangian_bound():
    C = _points(30, 4)
    S = np.array([2, 7, 11, 19, 25])
    rng = np.random.default_rng(0)
    lam = C[:, S].min(axis=1) + rng.uniform(-5, 5, size=30)
    g = part_gaps(C, S, lam)
    rho = np.minimum(C - lam[:, None], 0.0).sum(axis=0)
    L = lam.sum() + np.sort(rho)[: S.size].sum()
    assert np.all(g >= -1e-9)
    assert abs(_cost(C, S) - L - (g.sum() + rho[S].sum() - np.sort(rho)[: S.size].sum())) < 1e-6


def test_one_window_freeing_every_facility_reaches_the_brute_force_optimum():
    C = _points(14, 1)
    p = 3
    solve, _ = _enumerating(C, p)
    out = gap_windows(C, np.array([0, 1, 2]), np.zeros(14, dtype=bool), C.min(axis=1), p, solve, 5,
                      time.perf_counter() + 60, 1e-9)
    assert out.cost == brute_force(C, p) == _cost(C, out.S)
    assert out.S.size == p and np.unique(out.S).size == p


def test_windows_improve_a_poor_start_keep_fixed_facilities_and_are_deterministic():
    C = _points(16, 2)
    p = 4
    fixed = np.zeros(16, dtype=bool)
    fixed[3] = True
    start = np.array([3, 13, 14, 15])
    solve, calls = _enumerating(C, p)
    lam = C[:, start].min(axis=1)
    out = gap_windows(C, start, fixed, lam, 2, solve, 20, time.perf_counter() + 60, 1e-9)
    again = gap_windows(C, start, fixed, lam, 2, _enumerating(C, p)[0], 20, time.perf_counter() + 60, 1e-9)
    assert out.cost < _cost(C, start) and out.improvements >= 1
    assert out.cost == _cost(C, out.S) >= brute_force(C, p, fixed_open=(3,))
    assert 3 in out.S.tolist() and out.S.size == p
    assert calls and all(3 in keep.tolist() for keep in calls)  # a fixed facility is never freed
    assert np.array_equal(out.S, again.S) and out.subproblems == again.subproblems
    assert out.subproblems <= 20


def test_work_limit_counts_windows():
    C = _points(20, 3)
    solve, calls = _enumerating(C, 4)
    out = gap_windows(C, np.array([0, 1, 2, 3]), np.zeros(20, dtype=bool), C.min(axis=1), 2, solve, 2,
                      time.perf_counter() + 60, 1e-9)
    assert out.subproblems == 2 == len(calls)


def test_the_solver_s_window_keeps_the_kept_facilities_open_and_is_exact():
    C = _points(18, 5)
    inst = prepare(validate(C, 4, None, [], [7]))
    allowed = inst.allowed.copy()
    fixed = np.zeros(18, dtype=bool)
    S = _fixed_solver(inst, allowed, fixed)(np.array([1, 2]), 30.0)
    assert S is not None and {1, 2} <= set(S.tolist()) and 7 not in S.tolist() and len(S) == 4
    assert _cost(C, S) == brute_force(C, 4, fixed_open=(1, 2), forbidden=(7,))


def _force_gap_windows(monkeypatch, parts: int, perturb_rounds: int) -> None:
    """Small instances reach POPMUSIC and the gap windows (their gates lowered)."""
    monkeypatch.setattr(solver, "WINDOW_PARTS", 1)
    monkeypatch.setattr(solver, "POPMUSIC_MIN_PAIRS", 0)
    monkeypatch.setattr(solver, "GAP_WINDOW_MIN_PAIRS", 0)
    monkeypatch.setattr(solver, "GAP_WINDOW_PARTS", parts)
    monkeypatch.setattr(solver, "PERTURB_ROUNDS", perturb_rounds)
    monkeypatch.setattr(solver, "_small_radius_model", lambda *a, **k: False)


def _check_against_brute_force(C: np.ndarray, p: int, w: np.ndarray, forbidden: list[int], res) -> None:
    allowed = [j for j in range(C.shape[1]) if j not in forbidden]
    opt = min(float((w * C[:, list(S)].min(axis=1)).sum()) for S in itertools.combinations(allowed, p))
    assert res.objective == float((w * C[:, list(res.open_facilities)].min(axis=1)).sum())
    assert res.bound <= opt <= res.objective
    assert res.status != "optimal" or res.objective == opt


def test_gap_windows_keep_incumbent_facilities_the_refixing_closed(monkeypatch):
    """Found by review: the fixing tests against POPMUSIC's incumbent closed one of its own
    facilities; a window kept it open and forbade it, and solve_pmedian raised ValueError."""
    _force_gap_windows(monkeypatch, parts=2, perturb_rounds=0)
    monkeypatch.setattr(solver, "STALL_NODES", 2)
    monkeypatch.setattr(solver, "STALL_FRACTION", 1.0)
    pts = np.array([(7, 4), (0, 0), (2, 10), (9, 7), (5, 5), (0, 4), (7, 3), (6, 8), (8, 10), (1, 3), (9, 8), (4, 10),
                    (9, 10), (1, 6)], dtype=float)
    C = np.round(np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)))
    res = solve_pmedian(C, 3, time_limit_s=30, max_subgradient_iterations=10, exact_backend="lagrangian")
    assert res.stats["gap_window_subproblems"] > 0
    _check_against_brute_force(C, 3, np.ones(C.shape[0]), [], res)


def test_gap_windows_are_skipped_when_clients_are_not_the_sites(monkeypatch):
    """Found by review: the windows read the open sites' own rows (C[S, S]); with zero-weight
    clients dropped (or fewer clients than sites) that raised IndexError."""
    _force_gap_windows(monkeypatch, parts=3, perturb_rounds=0)
    monkeypatch.setattr(solver, "STALL_NODES", 2)
    monkeypatch.setattr(solver, "STALL_FRACTION", 2.0)
    C = np.array([[4, 3, 3, 0, 6, 5, 5, 1], [3, 2, 0, 1, 1, 0, 0, 0], [6, 2, 0, 0, 1, 2, 5, 5],
                  [6, 3, 3, 1, 3, 4, 3, 2], [0, 4, 3, 3, 2, 1, 6, 1], [2, 0, 5, 5, 0, 0, 3, 4],
                  [1, 5, 3, 1, 2, 2, 5, 6], [1, 2, 0, 2, 3, 5, 1, 6], [6, 6, 1, 6, 6, 0, 1, 1]], dtype=float)
    w = np.array([0, 0, 0, 1, 3, 1, 0, 2, 3], dtype=float)
    res = solve_pmedian(C, 2, weights=w, time_limit_s=30, max_subgradient_iterations=3, exact_backend="lagrangian")
    _check_against_brute_force(C, 2, w, [], res)


def test_a_gap_window_freeing_every_facility_is_not_solved(monkeypatch):
    """Found by review: with p at most GAP_WINDOW_PARTS and nothing fixed open, a window freed every
    facility; its sub-problem was the instance itself, which opened the same windows again
    (RecursionError)."""
    _force_gap_windows(monkeypatch, parts=3, perturb_rounds=0)
    monkeypatch.setattr(solver, "STALL_NODES", 0)
    monkeypatch.setattr(solver, "STALL_FRACTION", 1.0)
    C = np.array([[3, 1, 0, 1, 6, 4, 0, 0, 3, 5, 4, 2], [0, 2, 5, 1, 2, 5, 6, 5, 2, 6, 0, 6],
                  [3, 3, 1, 6, 3, 3, 5, 3, 3, 2, 6, 6], [5, 0, 0, 4, 0, 4, 3, 3, 5, 6, 4, 5],
                  [5, 0, 3, 5, 4, 6, 5, 5, 0, 6, 3, 3], [1, 6, 3, 6, 0, 0, 4, 6, 5, 2, 6, 2],
                  [0, 5, 2, 3, 2, 3, 5, 5, 4, 5, 1, 6], [2, 3, 3, 4, 6, 6, 2, 1, 6, 5, 3, 6],
                  [4, 1, 0, 2, 5, 1, 0, 1, 2, 1, 2, 3], [5, 0, 3, 6, 0, 6, 6, 4, 0, 2, 6, 0],
                  [1, 6, 4, 0, 2, 1, 4, 4, 3, 2, 5, 5], [0, 0, 6, 1, 5, 1, 3, 6, 3, 5, 2, 6],
                  [4, 1, 1, 2, 5, 2, 3, 0, 3, 4, 1, 5], [1, 6, 3, 2, 4, 1, 3, 2, 3, 6, 5, 4],
                  [6, 3, 6, 2, 3, 6, 4, 2, 1, 0, 2, 5], [6, 5, 2, 6, 1, 2, 1, 4, 3, 2, 0, 3],
                  [4, 2, 4, 3, 4, 3, 1, 1, 6, 5, 0, 5], [5, 4, 3, 5, 3, 2, 5, 5, 5, 1, 6, 0]], dtype=float)
    w = np.array([3, 2, 0, 3, 0, 2, 1, 3, 3, 2, 0, 0, 3, 2, 0, 2, 3, 0], dtype=float)  # 12 active clients
    res = solve_pmedian(C, 2, weights=w, forbidden=[2, 7], time_limit_s=30, max_subgradient_iterations=10,
                        exact_backend="lagrangian", max_branch_nodes=2)
    _check_against_brute_force(C, 2, w, [2, 7], res)


@pytest.mark.parametrize("seed", range(6))
def test_gap_windows_on_random_small_instances_match_brute_force(seed, monkeypatch):
    """Randomised (seeded): the gates lowered so that POPMUSIC, the gap windows and the cluster-count
    branch and bound run on small instances (Euclidean and random integer costs, some zero-weight
    clients, a forbidden site); every answer is checked against enumeration."""
    rng = np.random.default_rng(seed)
    ran = 0
    for _ in range(8):
        n, p = int(rng.integers(10, 15)), int(rng.integers(4, 7))
        _force_gap_windows(monkeypatch, parts=int(rng.integers(1, p + 1)), perturb_rounds=int(rng.integers(0, 2)))
        monkeypatch.setattr(solver, "WINDOW_PARTS", 2)
        monkeypatch.setattr(solver, "STALL_NODES", int(rng.integers(0, 3)))
        monkeypatch.setattr(solver, "STALL_FRACTION", 1.0)
        C = _points(n, int(rng.integers(1 << 30))) if rng.random() < 0.5 else rng.integers(0, 7, size=(n, n)).astype(float)
        w = rng.integers(0, 4, size=n).astype(float) if rng.random() < 0.5 else np.ones(n)
        forbidden = [int(rng.integers(n))] if rng.random() < 0.5 else []
        res = solve_pmedian(C, p, weights=w, forbidden=forbidden, time_limit_s=30,
                            max_subgradient_iterations=int(rng.choice([3, 10])), exact_backend="lagrangian",
                            max_branch_nodes=int(rng.choice([5, 2000])))
        _check_against_brute_force(C, p, w, forbidden, res)
        ran += "gap_window_subproblems" in res.stats
    assert ran > 0
