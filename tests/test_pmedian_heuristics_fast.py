"""Tests for the faster greedy (integral costs) and iterated local search (one interchange state)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from optimiser.pmedian import heuristics
from optimiser.pmedian.heuristics import _local_kick, greedy, local_search, perturbed_search


def _points(n: int, seed: int, m: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    sites = pts if m is None else rng.uniform(0, 100, size=(m, 2))
    return np.floor(np.sqrt(((pts[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)))


def _greedy_reference(C: np.ndarray, k: int, opened: np.ndarray, allowed: np.ndarray) -> list[int]:
    """Greedy add written out plainly: each step the allowed column with the lowest total cost
    (lowest index on ties)."""
    S = [int(j) for j in np.flatnonzero(opened)]
    for _ in range(k):
        best, best_j = np.inf, -1
        for j in range(C.shape[1]):
            if allowed[j] and j not in S:
                v = float(C[:, S + [j]].min(axis=1).sum())
                if v < best:
                    best, best_j = v, j
        S.append(best_j)
    return sorted(S)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_on_integral_costs_makes_the_plain_greedy_s_choices(seed):
    rng = np.random.default_rng(seed)
    n, m = 30 + seed * 7, 25 + seed * 5
    C = _points(n, seed, m)
    C[rng.random(C.shape) < 0.2] = 5.0  # many ties
    opened = np.zeros(m, dtype=bool)
    allowed = np.ones(m, dtype=bool)
    allowed[rng.choice(m, 3, replace=False)] = False
    if seed % 2:
        opened[np.flatnonzero(allowed)[:2]] = True
    k = 4 + seed
    got = greedy(C, k, opened.copy(), allowed)
    assert got.tolist() == _greedy_reference(C, k, opened, allowed)
    # the float path (non-integral costs) agrees on the same data shifted by a half
    assert greedy(C + 0.5, k, opened.copy(), allowed).tolist() == got.tolist()


def test_greedy_first_choice_is_the_one_median():
    C = _points(20, 7)
    one = greedy(C, 1, np.zeros(20, dtype=bool), np.ones(20, dtype=bool))
    best = min(range(20), key=lambda j: (C[:, j].sum(), j))
    assert one.tolist() == [best]
    two = greedy(C, 2, np.zeros(20, dtype=bool), np.ones(20, dtype=bool))
    assert best in two.tolist() and two.size == 2


def _perturbed_reference(C, S, fixed, allowed, far, rounds, seed, tol, patience=40):
    """The iterated local search with every descent started from scratch (the definition)."""
    rng = np.random.default_rng(seed)
    best = np.array(sorted(S), dtype=np.int64)
    best_cost = float(C[:, best].min(axis=1).sum())
    movable = np.flatnonzero(~fixed[best])
    since = 0
    for r in range(rounds):
        if movable.size == 0 or since >= patience:
            break
        since += 1
        closed = np.flatnonzero(allowed & ~np.isin(np.arange(C.shape[1]), best))
        q = min(2 + r % 3, movable.size, closed.size)
        if q == 0:
            break
        outs, ins = _local_kick(C, best, movable, closed, q, rng)
        cur = np.array([j for j in best if j not in set(outs.tolist())] + ins.tolist())
        cur, cost = local_search(C, cur, fixed, allowed, far, time.perf_counter() + 60, tol)
        if cost < best_cost - tol:
            best, best_cost, since = cur, cost, 0
            movable = np.flatnonzero(~fixed[best])
    return best, best_cost


@pytest.mark.parametrize("seed", range(4))
def test_iterated_local_search_with_one_state_makes_the_from_scratch_moves(seed):
    n, p = 60, 6 + seed
    C = _points(n, 10 + seed)
    fixed = np.zeros(n, dtype=bool)
    allowed = np.ones(n, dtype=bool)
    allowed[:5] = False
    fixed[7] = True
    S = greedy(C, p - 1, fixed.copy(), allowed)
    far = C[:, allowed].max(axis=1)
    S, _ = local_search(C, S, fixed, allowed, far, time.perf_counter() + 60, 1e-9)
    got, got_cost = perturbed_search(C, S, fixed, allowed, far, 60, seed, time.perf_counter() + 60, 1e-9)
    ref, ref_cost = _perturbed_reference(C, S, fixed, allowed, far, 60, seed, 1e-9)
    assert got.tolist() == ref.tolist() and got_cost == ref_cost
    assert got_cost == float(C[:, got].min(axis=1).sum())
    assert 7 in got.tolist() and not set(got.tolist()) & set(range(5)) and np.unique(got).size == p


def test_iterated_local_search_reaches_the_brute_force_optimum_on_a_tiny_instance():
    C = _points(16, 3)
    p = 3
    opt = min(float(C[:, list(c)].min(axis=1).sum()) for c in itertools.combinations(range(16), p))
    fixed = np.zeros(16, dtype=bool)
    allowed = np.ones(16, dtype=bool)
    S = np.array([0, 1, 2])
    _, cost = perturbed_search(C, S, fixed, allowed, C.max(axis=1), 80, 0, time.perf_counter() + 60, 1e-9)
    assert cost == opt


def test_interchange_state_after_swaps_and_restore_equals_a_fresh_one():
    C = _points(50, 5)
    S = np.array([3, 11, 20, 33, 41])
    st = heuristics._Interchange(C, S, C.max(axis=1))
    snap = st.snapshot()
    st.replace(11, 12)
    st.replace(41, 0)
    fresh = heuristics._Interchange(C, np.array([0, 3, 12, 20, 33]), C.max(axis=1))
    for name in ("S", "gain", "loss", "extra", "d1", "d2"):
        assert np.array_equal(getattr(st, name), getattr(fresh, name)), name
    st.restore(snap)
    orig = heuristics._Interchange(C, S, C.max(axis=1))
    for name in ("S", "gain", "loss", "extra", "d1", "d2"):
        assert np.array_equal(getattr(st, name), getattr(orig, name)), name


@pytest.mark.parametrize("integral", [True, False])
def test_interchange_gain_loss_extra_match_their_definitions(integral):
    C = _points(70, 8) + (0.0 if integral else 0.25)
    S = np.array([2, 9, 17, 25, 33, 44, 51, 60, 66])
    st = heuristics._Interchange(C, S, C.max(axis=1))
    st.replace(17, 18)
    st.replace(60, 61)
    S = st.S
    d = np.sort(C[:, S], axis=1)
    d1, d2 = d[:, 0], d[:, 1]
    serve = np.argmin(C[:, S], axis=1)
    gain = np.maximum(d1[:, None] - C, 0.0).sum(axis=0)
    loss = np.array([(d2 - d1)[serve == r].sum() for r in range(S.size)])
    extra = np.array([np.maximum(d2[serve == r, None] - np.maximum(C[serve == r], d1[serve == r, None]), 0.0).sum(axis=0)
                      for r in range(S.size)])
    assert st.integral == integral
    assert np.allclose(st.gain, gain, atol=1e-9) and np.allclose(st.loss, loss, atol=1e-9)
    assert np.allclose(st.extra, extra, atol=1e-9)
    if integral:  # exact sums: the sparse updates give the definitions' values exactly
        assert np.array_equal(st.gain, gain) and np.array_equal(st.extra, extra)
