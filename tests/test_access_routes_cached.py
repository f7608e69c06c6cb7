"""RouteDual gathers its active routes once per active set: route_costs and subgradient give the
same floats as the former per-call gathers and np.add.at counts (kept here as the oracle), on
random access problems at random multipliers, active sets and taken walks."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model.transforms import relax_access_crossings
from optimiser.solve.access_routes import RouteDual
from optimiser.solve.lagrangian import _Dual
from tests.test_lagrangian_routes import _routes, access_problem


def _reference_costs(rd: RouteDual, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = rd.a_route
    if r.size == 0:
        return np.zeros(0), np.zeros(0)
    rows = rd.r_row[r]
    adj = rd.r_cost[r] + M[rows, rd.r_k1[r]] + M[rows, rd.r_k2[r]]
    return np.minimum.reduceat(adj, rd.a_seg), adj


def _reference_subgradient(rd: RouteDual, M, took, seg_min, adj, y) -> np.ndarray:
    g = np.zeros_like(M)
    if adj.size and took.any():
        seg_of = np.repeat(np.arange(rd.a_seg.size), np.diff(np.append(rd.a_seg, adj.size)))
        best = (adj <= seg_min[seg_of]) & took[seg_of]
        cand = np.nonzero(best)[0]
        first = cand[np.concatenate([[True], seg_of[cand][1:] != seg_of[cand][:-1]])] if cand.size else cand
        r = rd.a_route[first]
        rows = rd.r_row[r]
        np.add.at(g, (rows, rd.r_k1[r]), 1.0)
        np.add.at(g, (rows, rd.r_k2[r]), 1.0)
    g[:, :rd.n_k] -= y[rd.routes.crossings][None, :]
    g[:, rd.n_k] = 0.0
    g[(M <= 0) & (g < 0)] = 0.0
    return g


@pytest.mark.parametrize("seed", range(25))
def test_cached_routes_give_the_reference_floats(seed):
    p = access_problem(seed)
    q, routes = relax_access_crossings(p), _routes(p, None)
    if q is None or routes is None:
        pytest.skip("no walk to a facility over a crossing")
    dual = _Dual(q, (), routes)
    rd = dual.routes
    assert rd is not None
    rng = np.random.default_rng(seed)
    compared = 0
    for _ in range(8):
        lam = dual.wbase * rng.uniform(0.2, 1.5, dual.wbase.size)
        dual._activate(lam)
        M = np.maximum(0.0, rng.normal(0.0, 50.0, (routes.clients.size, rd.n_k + 1)))
        M[:, rd.n_k] = 0.0
        seg_min, adj = rd.route_costs(M)
        want_min, want_adj = _reference_costs(rd, M)
        np.testing.assert_array_equal(seg_min, want_min)
        np.testing.assert_array_equal(adj, want_adj)
        took = rng.random(rd.a_pos.size) < 0.6
        y = rng.random(dual.n_d) < 0.5
        np.testing.assert_array_equal(rd.subgradient(M, took, seg_min, adj, y),
                                      _reference_subgradient(rd, M, took, seg_min, adj, y))
        compared += int(adj.size)
    assert compared > 0
