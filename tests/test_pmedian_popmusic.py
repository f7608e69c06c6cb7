"""Tests for optimiser.pmedian.popmusic (windows of parts re-solved exactly)."""

from __future__ import annotations

import time

import numpy as np

from optimiser.pmedian import solve_pmedian
from optimiser.pmedian.popmusic import popmusic
from tests.test_pmedian import brute_force


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    return np.floor(np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)))


def _exact(cost, r, fixed_pos, time_limit_s):
    res = solve_pmedian(cost, r, time_limit_s=time_limit_s, fixed_open=[int(j) for j in fixed_pos])
    return np.array(res.open_facilities, dtype=np.int64)


def _run(C, S, r, fixed=None, max_sub=1000, seed=0):
    m = C.shape[1]
    fixed = np.zeros(m, dtype=bool) if fixed is None else fixed
    return popmusic(C, np.array(S), fixed, np.ones(m, dtype=bool), r, _exact, max_sub, time.perf_counter() + 60, seed,
                    1e-9)


def test_one_window_covering_everything_is_the_exact_optimum():
    C = _points(14, 1)
    out = _run(C, [0, 1, 2], 3)  # r = p: the first window holds every client
    assert out.cost == brute_force(C, 3)
    assert out.cost == float(C[:, out.S].min(axis=1).sum())
    assert out.S.size == 3


def test_fixed_facilities_stay_open_and_the_result_is_a_window_local_optimum():
    C = _points(60, 2)
    fixed = np.zeros(60, dtype=bool)
    fixed[5] = True
    start = [5, 10, 11, 12, 13, 14, 15, 16]  # a poor start
    start_cost = float(C[:, start].min(axis=1).sum())
    out = _run(C, start, 3, fixed)
    assert 5 in out.S and out.S.size == 8 and np.unique(out.S).size == 8
    assert out.cost < start_cost and out.improvements >= 1
    assert out.cost == float(C[:, out.S].min(axis=1).sum())
    assert out.cost >= solve_pmedian(C, 8, fixed_open=[5]).objective
    again = _run(C, out.S, 3, fixed, seed=1)  # no window of 3 parts improves any more
    assert again.improvements == 0 and again.cost == out.cost


def test_work_limit_counts_sub_problems():
    C = _points(40, 3)
    out = _run(C, list(range(6)), 2, max_sub=2)
    assert out.subproblems == 2


def test_windows_never_offer_facilities_open_elsewhere_nor_more_fixed_than_they_open():
    """A facility fixed open by the fixing tests need not be in the incumbent; a window of r = 1
    that could reach two fixed facilities used to ask for "2 fixed_open facilities but p = 1"
    (wave 6 review). Every sub-problem now gets at most r fixed columns and no column open in
    another part; a window whose parts serve no client is skipped."""
    C = _points(30, 4)
    fixed = np.zeros(30, dtype=bool)
    fixed[[3, 7]] = True  # 7 is not in the start
    start = np.array([3, 11, 19, 25])
    seen = []

    def checked(cost, r, fixed_pos, time_limit_s):
        seen.append((cost.shape, r, len(fixed_pos)))
        assert len(fixed_pos) <= r and cost.shape[0] > 0
        return _exact(cost, r, fixed_pos, time_limit_s)

    for r in (1, 2):
        out = popmusic(C, start, fixed, np.ones(30, dtype=bool), r, checked, 100, time.perf_counter() + 60, 0, 1e-9)
        assert np.unique(out.S).size == out.S.size == 4
        assert out.cost == float(C[:, out.S].min(axis=1).sum()) <= float(C[:, start].min(axis=1).sum())
    assert seen
