"""Tests for the cluster-count branch and bound (optimiser.pmedian.clusters, cluster_branch): the count
subproblem against enumeration, and the branch and bound against brute-force p-median optima."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimiser.pmedian import solve_pmedian, solver
from optimiser.pmedian.branch import NodeSettings, lagrangian_bb
from optimiser.pmedian.cluster_branch import CountSettings, branch_cluster, cluster_bb
from optimiser.pmedian.clusters import CountProblem, facility_tree, solve_counts
from optimiser.pmedian.problem import prepare, validate


def _points(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.integers(0, 100, size=(n, 2)).astype(float)
    return np.floor(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)))


def _brute_counts(tree, rho, counts, k):
    best = np.inf
    for comb in itertools.combinations(range(rho.size), k):
        sel = np.zeros(rho.size, dtype=int)
        sel[list(comb)] = 1
        cs = np.concatenate([[0], np.cumsum(sel)])
        if all(lo <= cs[tree.end[h]] - cs[tree.start[h]] <= hi for h, (lo, hi) in counts.items()):
            best = min(best, float(rho[list(comb)].sum()))
    return best


def _random_counts(rng, tree, k, n_counts):
    counts = {}
    for h in rng.choice(2 * tree.size - 1, size=n_counts, replace=False):
        size = int(tree.end[h] - tree.start[h])
        lo = int(rng.integers(0, min(size, k) + 1))
        counts[int(h)] = (lo, int(rng.integers(lo, min(size, k) + 1)))
    return counts


@pytest.mark.parametrize("seed", range(12))
def test_count_subproblem_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    nf = int(rng.integers(4, 10))
    d = _points(rng, nf)
    tree = facility_tree(d, np.arange(nf))
    # every cluster is a contiguous leaf-order range, nested in its parent
    for h in range(2 * nf - 1):
        par = tree.parent[h]
        assert tree.start[h] < tree.end[h]
        if par >= 0:
            assert tree.start[par] <= tree.start[h] and tree.end[h] <= tree.end[par]
    assert sorted(tree.order.tolist()) == list(range(nf))
    rho = -rng.integers(0, 50, size=nf).astype(float)
    k = int(rng.integers(1, nf))
    for _ in range(5):
        counts = _random_counts(rng, tree, k, int(rng.integers(0, 4)))
        val, chosen = solve_counts(tree, rho, counts, k)
        expected = _brute_counts(tree, rho, counts, k)
        assert val == expected
        if chosen is None:
            assert expected == np.inf
        else:
            assert chosen.size == k and len(set(chosen.tolist())) == k
            assert float(rho[chosen].sum()) == val
            assert _brute_counts(tree, rho, {**counts}, k) == val


def test_count_problem_is_reusable_across_multipliers():
    rng = np.random.default_rng(5)
    d = _points(rng, 8)
    tree = facility_tree(d, np.arange(8))
    counts = {tree.root: (3, 3), int(tree.parent[0]): (1, 2)}
    problem = CountProblem(tree, counts, 3)
    for _ in range(4):
        rho = -rng.random(8) * 10
        assert problem.solve(rho)[0] == pytest.approx(_brute_counts(tree, rho, counts, 3))


def test_branching_cluster_is_the_most_fractional():
    rng = np.random.default_rng(1)
    d = _points(rng, 6)
    tree = facility_tree(d, np.arange(6))
    Y = np.array([1.0, 0.5, 0.5, 0.0, 1.0, 0.0])
    h, fl, ce = branch_cluster(tree, Y, {}, np.array([0, 1, 4]), np.zeros(6), 0.05)
    s = Y[tree.start[h]:tree.end[h]].sum()
    assert (fl, ce) == (int(np.floor(s)), int(np.ceil(s))) and s % 1 == 0.5
    # an integral Y branches on a chosen facility not forced open; none left: the node is one solution
    assert branch_cluster(tree, np.array([1.0, 1, 0, 0, 1, 0]), {0: (1, 1)}, np.array([0, 1, 4]),
                          np.array([0.0, -1, 0, 0, -3, 0]), 0.05) == (1, 0, 1)
    assert branch_cluster(tree, np.array([1.0, 1, 0, 0, 0, 0]), {0: (1, 1), 1: (1, 4)}, np.array([0, 1]),
                          np.zeros(6), 0.05) is None


def _brute_pmedian(d, p):
    return min(float(d[:, list(S)].min(axis=1).sum()) for S in itertools.combinations(range(d.shape[1]), p))


@pytest.mark.parametrize("seed", range(8))
def test_cluster_branch_and_bound_proves_the_brute_force_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(9, 14))
    p = int(rng.integers(2, 5))
    d = _points(rng, n)
    inst = prepare(validate(d, p, None, (), ()))
    opt = _brute_pmedian(d, p)
    S0 = np.arange(p)  # a poor incumbent: the branch and bound has to find the optimum itself
    lam = inst.C.min(axis=1) + 1.0
    br = cluster_bb(inst.C, np.arange(n), np.zeros(0, dtype=np.int64), p, lam, S0, inst.evaluate(S0), inst.target_of,
                    inst.scale, float("inf"), settings=CountSettings(max_iter=15))
    assert br.complete
    assert br.UB == opt and inst.evaluate(br.S) == opt and br.S.size == p


def test_cluster_branch_and_bound_with_facilities_fixed_open():
    rng = np.random.default_rng(7)
    d = _points(rng, 12)
    inst = prepare(validate(d, 4, None, (), ()))
    best = min(float(d[:, [3, *S]].min(axis=1).sum()) for S in itertools.combinations([j for j in range(12) if j != 3], 3))
    free = np.array([j for j in range(12) if j != 3])
    S0 = np.array([3, 0, 1, 2])
    br = cluster_bb(inst.C, free, np.array([3]), 4, inst.C.max(axis=1), S0, inst.evaluate(S0), inst.target_of,
                    inst.scale, float("inf"))
    assert br.complete and br.UB == best and 3 in br.S.tolist()


def test_work_limit_leaves_a_valid_bound():
    rng = np.random.default_rng(3)
    d = _points(rng, 14)
    inst = prepare(validate(d, 4, None, (), ()))
    opt = _brute_pmedian(d, 4)
    S0 = np.arange(4)
    br = cluster_bb(inst.C, np.arange(14), np.zeros(0, dtype=np.int64), 4, inst.C.min(axis=1), S0, inst.evaluate(S0),
                    inst.target_of, inst.scale, float("inf"), max_nodes=1, settings=CountSettings(max_iter=3))
    assert br.nodes == 1
    assert br.complete or br.lb_open <= opt


def test_stall_test_stops_the_single_facility_tree_with_a_valid_bound():
    rng = np.random.default_rng(3)
    d = _points(rng, 16)
    inst = prepare(validate(d, 4, None, (), ()))
    opt = _brute_pmedian(d, 4)
    S0 = np.arange(4)
    lam = inst.C.min(axis=1) + 1.0
    args = (inst.C, np.arange(16), np.zeros(0, dtype=np.int64), 4, lam, S0, inst.evaluate(S0), inst.target_of,
            inst.scale, float("inf"))
    weak = NodeSettings(max_iter=5)
    full = lagrangian_bb(*args, settings=weak)
    assert full.complete and full.UB == opt and not full.stalled and full.nodes > 2
    br = lagrangian_bb(*args, settings=weak, stall_test=(2, 1.0, float(inst.C.min(axis=1).sum())))
    assert br.stalled and not br.complete and br.nodes == 2 and br.lb_open <= opt


@pytest.mark.parametrize("seed", [0, 2, 4, 7])
def test_solver_hands_over_to_cluster_counts_and_proves_the_optimum(seed, monkeypatch):
    monkeypatch.setattr(solver, "STALL_NODES", 1)
    monkeypatch.setattr(solver, "STALL_FRACTION", 1.0)
    rng = np.random.default_rng(300 + seed)
    pts = rng.random((40, 2))
    d = np.rint(100 * np.linalg.norm(pts[:, None] - pts[None], axis=2)).astype(int)[:, :25]
    res = solve_pmedian(d, 5, exact_backend="lagrangian", max_subgradient_iterations=5)
    assert "cluster-branch-and-bound" in res.method
    assert res.stats["lagrangian_bb_nodes"] == 1 and res.stats["cluster_bb_nodes"] >= 1
    assert res.status == "optimal" and res.objective == _brute_pmedian(d.astype(float), 5)
