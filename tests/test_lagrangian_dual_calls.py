"""_Dual.evaluate and step without the copies and concatenations they made per iteration
(session 29: the routes' costs written into the star rows' new cost array, the reduced costs
subtracted in place, the subgradient of mu built in one array, M's row weights kept, the routes'
counts as the subgradient's array): the same values, knapsack decisions, reduced costs,
conjunctions taken, closed decisions, work and multipliers, iteration by iteration, as the former
evaluate and step (kept here as the oracle, as of 073d884, with RouteDual's former subgradient),
on random access problems with routes and star rows (plain and deflected steps) and on random
problems."""

from __future__ import annotations

import numpy as np
import pytest

import optimiser.solve.lagrangian as lag_mod
from optimiser.model.transforms import relax_access_crossings
from optimiser.solve.lagrangian import (
    SHRINK_EVERY,
    WORK_PER_CLIENT,
    WORK_PER_DECISION,
    WORK_PER_ITERATION,
    WORK_PER_KNAPSACK_OP,
    WORK_PER_OPTION,
    WORK_PER_ROUTE,
    WORK_PER_ROUTE_MULTIPLIER,
    WORK_PER_STAR,
    WORK_PER_STAR_INCIDENCE,
    _Ascent,
    _Dual,
)
from tests.random_problems import random_problem
from tests.test_access_routes_cached import _reference_subgradient
from tests.test_lagrangian_routes import _routes, access_problem


@pytest.fixture(autouse=True)
def _no_packing_rows(monkeypatch):
    """The oracle predates the packing rows (session 31): compared without them."""
    monkeypatch.setattr(lag_mod, "PACKING_ROWS", False)


class _Former(_Dual):
    """The dual with evaluate and step as they were before session 29."""

    def evaluate(self, lam: np.ndarray, mu: np.ndarray, upper_bound: float | None,
                 M: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        n_d, n_o = self.n_d, self.n_o
        self.evaluations += 1
        if self.evaluations % SHRINK_EVERY == 0 or (lam > self.limit).any():
            self._activate(lam)
        self.work += (self.a_ic.size + WORK_PER_ITERATION + WORK_PER_CLIENT * self.n_c + WORK_PER_OPTION * n_o
                      + WORK_PER_DECISION * n_d)
        ops = self.knap.ops
        cost = self.a_cost
        nu = mu[self.n_mc:]
        mu = mu[:self.n_mc]
        if nu.size:
            self.work += WORK_PER_STAR_INCIDENCE * self.a_sk_pos.size + WORK_PER_STAR * nu.size
            cost = cost + np.bincount(self.a_sk_pos, nu[self.a_sk_s], minlength=cost.size)
        if self.routes is not None and M is not None:
            self.work += WORK_PER_ROUTE * self.routes.a_route.size + WORK_PER_ROUTE_MULTIPLIER * M.size
            self.seg_min, self.adj = self.routes.route_costs(M)
            cost = cost.copy()
            cost[self.routes.a_pos] = self.seg_min  # (a routed incidence has no star row)
        rc = cost - lam[self.a_ic]
        r = np.bincount(self.a_io, np.minimum(rc, 0.0), minlength=n_o)
        s_conj = r[n_d:] + np.bincount(self.m_opt, mu, minlength=n_o - n_d)
        v = r[:n_d] - np.bincount(self.m_dec, mu, minlength=n_d)
        if nu.size:
            v = v - np.bincount(self.star_dec, nu, minlength=n_d)
        if self.routes is not None and M is not None:
            v = v - self.routes.credit(M, n_d)  # not in place: v is int64 when no incidence is active
        self.knap.closed |= self.fixed
        S, y_ids, t = self.knap.solve(v, want_tests=upper_bound is not None)
        self.work += WORK_PER_KNAPSACK_OP * (self.knap.ops - ops)
        L = float(lam.sum() + np.minimum(0.0, self.wbase - lam).sum() + np.minimum(s_conj, 0.0).sum() + S)
        if t is not None and upper_bound is not None:
            self.fixed |= (L - S + t) > upper_bound + 1e-9 * abs(upper_bound) + 1e-6
        return L, y_ids, rc, s_conj < 0

    def step(self, lam: np.ndarray, mu: np.ndarray, L: float, target: float, step: float, y_ids: np.ndarray,
             rc: np.ndarray, z: np.ndarray,
             M: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        y = np.zeros(self.n_d, dtype=bool)
        y[y_ids] = True
        took = (rc < 0) & np.concatenate([y, z])[self.a_io]
        g = 1.0 - (self.wbase < lam) - np.bincount(self.a_ic[took], minlength=self.n_c)
        g[(lam >= self.lam_cap) & (g > 0)] = 0.0  # at its cap: projected
        gm = z[self.m_opt].astype(float) - y[self.m_dec]
        if self.star_key.size:
            gs = np.bincount(self.a_sk_s[took[self.a_sk_pos]], minlength=self.star_key.size) - y[self.star_dec]
            gm = np.concatenate([gm, gs])
        gm[(mu <= 0) & (gm < 0)] = 0.0
        gw, gmw = g * self.w, gm * self.mscale
        norm = float((gw * gw).sum() + (gmw * gmw).sum())
        gMw = wr = None
        if self.routes is not None and M is not None:
            wr = self.w[self.routes.routes.clients][:, None]
            gMw = _reference_subgradient(self.routes, M, took[self.routes.a_pos], self.seg_min, self.adj, y) * wr
            norm += float((gMw * gMw).sum())
        if norm <= 0:
            return None
        if self.deflection > 0.0:
            gw, gmw, gMw, norm = self._deflected(lam, mu, M, gw, gmw, gMw)
            if norm <= 0:
                return None
        t = step * max(target - L, 1e-9 * abs(target)) / norm
        M2 = None if gMw is None or M is None or wr is None else np.maximum(0.0, M + t * wr * gMw)
        return np.minimum(lam + t * self.w * gw, self.lam_cap), np.maximum(0.0, mu + t * self.mscale * gmw), M2


def _trace(dual: _Dual, upper_bound, deflection: float, iterations: int) -> list:
    """Every evaluation's outputs and the dual's work and closed decisions after it, every
    step's multipliers, and the result."""
    seen: list = []
    evaluate, step = dual.evaluate, dual.step

    def ev(*a, **k):
        out = evaluate(*a, **k)
        seen.append((out[0], *(np.array(x, copy=True) for x in out[1:]), dual.work, dual.fixed.copy()))
        return out

    def st(*a, **k):
        out = step(*a, **k)
        seen.append(None if out is None else tuple(None if x is None else x.copy() for x in out))
        return out

    dual.evaluate, dual.step = ev, st  # type: ignore[method-assign]
    dual.deflection = deflection
    asc = _Ascent(dual, upper_bound, test_every=7)
    asc.run(iterations)
    r = asc.result()
    seen.append((r.bound, sorted(r.fixed_zero), r.layout, r.iterations, r.step, r.stopped_by, r.work,
                 *r.multipliers, r.access_multipliers))
    return seen


def _same(a, b) -> None:
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b), (a, b)


@pytest.mark.parametrize("seed", range(30))
def test_access_iterates_are_the_former(seed):
    p = access_problem(seed)
    q, routes = relax_access_crossings(p), _routes(p, None)
    if q is None:
        pytest.skip("no access relaxation")
    for deflection, ub in ((0.0, None), (0.6, None), (0.6, 1.0)):
        new, old = _Dual(q, (), routes), _Former(q, (), routes)
        upper = None if ub is None else float(new.wbase.sum()) * 0.5
        _same(_trace(new, upper, deflection, 120), _trace(old, upper, deflection, 120))


@pytest.mark.parametrize("seed", range(30))
def test_random_problem_iterates_are_the_former(seed):
    p = random_problem(seed)
    for deflection in (0.0, 0.6):
        new, old = _Dual(p, ()), _Former(p, ())
        _same(_trace(new, None, deflection, 150), _trace(old, None, deflection, 150))
