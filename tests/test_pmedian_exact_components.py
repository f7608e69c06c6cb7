"""The exact phase by components (optimiser/pmedian/components.py): the count split over independent
regions, checked against brute force on tiny instances."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from optimiser.pmedian.components import (
    Component,
    _canonical,
    _min_plus_split,
    pair_components,
    solve_by_components,
)
from optimiser.pmedian.solver import WorkLimits, _component_solver


def _brute_force(C: np.ndarray, p: int) -> float:
    return min(float(C[:, list(S)].min(axis=1).sum()) for S in itertools.combinations(range(C.shape[1]), p))


def _clusters(seed: int, sizes: tuple[int, ...]) -> np.ndarray:
    """Floor-Euclidean distances of point clusters 1,000 units apart (every point a client and a site)."""
    rng = np.random.default_rng(seed)
    pts = np.concatenate([rng.integers(0, 30, size=(s, 2)) + 1000 * c for c, s in enumerate(sizes)]).astype(float)
    return np.floor(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))


def test_pair_components_splits_the_bipartite_graph() -> None:
    pairs = [np.array([0, 1]), np.array([1]), np.array([3]), np.array([3, 4])]
    comps, isolated = pair_components(pairs, np.array([0, 1, 2, 3]), np.array([4]), 5)
    assert [c.clients.tolist() for c in comps] == [[0, 1], [2, 3]]
    assert [c.free.tolist() for c in comps] == [[0, 1], [3]]
    assert [c.fixed.tolist() for c in comps] == [[], [4]]
    assert isolated.tolist() == [2]


def test_min_plus_split_matches_enumeration() -> None:
    rng = np.random.default_rng(3)
    lbs = [np.concatenate([[math.inf], np.sort(rng.integers(0, 50, size=s))[::-1].astype(float)]) for s in (3, 4, 2)]
    for K in range(3, 10):
        value, split = _min_plus_split(lbs, K)
        best = min((sum(lb[k] for lb, k in zip(lbs, ks)), ks) for ks in itertools.product(*(range(lb.size) for lb in lbs))
                   if sum(ks) == K)
        assert value == best[0]
        assert sum(split) == K and sum(lb[k] for lb, k in zip(lbs, split)) == value


def test_canonical_form_is_order_free() -> None:
    C = _clusters(5, (7,))
    perm_r, perm_c = np.random.default_rng(1).permutation(7), np.random.default_rng(2).permutation(7)
    a, _ = _canonical(C, 7)
    b, cols = _canonical(C[np.ix_(perm_r, perm_c)], 7)
    assert np.array_equal(a, b)
    assert np.array_equal(np.sort(cols), np.arange(7))


def _three_regions() -> tuple[np.ndarray, int, float, list[Component]]:
    """Three separate regions of 6, 5 and 6 points, p = 6: the costs, p, the brute-force optimum
    and one component per region."""
    C = _clusters(11, (6, 5, 6))
    p = 6
    labels = np.repeat([0, 1, 2], (6, 5, 6))
    comps = [Component(np.flatnonzero(labels == c), np.flatnonzero(labels == c), np.zeros(0, dtype=np.int64))
             for c in range(3)]
    return C, p, _brute_force(C, p), comps


def test_split_proves_and_finds_the_brute_force_optimum() -> None:
    C, p, opt, comps = _three_regions()
    lam = C.min(axis=1) + 1.0  # any multipliers give valid starting bounds
    solver = _component_solver(time.perf_counter() + 60, WorkLimits(branch_nodes=200, mip_nodes=2000))
    found = solve_by_components(C, comps, np.zeros(0, dtype=np.int64), p, lam, opt, 1e-9, solver, 50, lambda: False)
    assert found.status == "found_optimal" and found.bound == opt
    assert found.S is not None and found.S.size == p and float(C[:, found.S].min(axis=1).sum()) == opt
    proof = solve_by_components(C, comps, np.zeros(0, dtype=np.int64), p, lam, opt - 1, 1e-9, solver, 50,
                                lambda: False)
    assert proof.status == "infeasible" and proof.bound >= opt


def test_identical_components_are_solved_once() -> None:
    C1 = _clusters(4, (6,))
    C = np.full((12, 12), 5000.0)
    C[:6, :6] = C1
    C[6:, 6:] = C1
    comps = [Component(np.arange(6), np.arange(6), np.zeros(0, dtype=np.int64)),
             Component(np.arange(6, 12), np.arange(6, 12), np.zeros(0, dtype=np.int64))]
    calls = []
    inner = _component_solver(time.perf_counter() + 60, WorkLimits(branch_nodes=200, mip_nodes=2000))

    def counting(cost, k, n_fixed, exact):  # type: ignore[no-untyped-def]
        calls.append((cost.shape, k, exact))
        return inner(cost, k, n_fixed, exact)

    out = solve_by_components(C, comps, np.zeros(0, dtype=np.int64), 4, np.zeros(12), math.inf, 1e-9, counting, 50,
                              lambda: False)
    assert out.stats["distinct_components"] == 1
    assert out.status == "found_optimal" and out.bound == _brute_force(C, 4)
    assert len(calls) == len(set(calls))  # one part: no count of it is solved twice


def test_stopped_split_returns_the_incumbent_assembled_and_a_valid_bound() -> None:
    C, p, opt, comps = _three_regions()
    incumbent = np.array([0, 1, 6, 7, 11, 12])
    solver = _component_solver(time.perf_counter() + 60, WorkLimits(branch_nodes=200, mip_nodes=2000))
    out = solve_by_components(C, comps, np.zeros(0, dtype=np.int64), p, C.min(axis=1) + 1.0, opt - 1, 1e-9, solver, 0,
                              lambda: True, incumbent)
    assert out.status == "unknown" and out.bound <= opt
    assert out.S is not None and out.S.size == p
    assert float(C[:, out.S].min(axis=1).sum()) <= float(C[:, incumbent].min(axis=1).sum())
