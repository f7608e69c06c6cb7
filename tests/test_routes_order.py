"""routes' fast paths agree with the sorts they replace: the per-origin option order (lengths
tie often on a street grid) and each crossing pair's shortest way (with or without the scratch)."""

from __future__ import annotations

import numpy as np
import pytest

import optimiser.network.routes as routes
from optimiser.network.routes import CostCap, EndLengths, _option_order, _shortest_per_pair, route_option_arrays


@pytest.mark.parametrize("seed", range(5))
def test_option_order_is_the_lexsort(seed):
    rng = np.random.default_rng(seed)
    n, t_n, c_n = 3000, 40, 9
    rows = np.unique(np.stack([rng.integers(0, t_n, n), rng.integers(0, 6, n) * 2.5,
                               rng.integers(0, c_n, n), rng.integers(-1, c_n, n)], axis=1), axis=0)
    rows = rows[rng.permutation(len(rows))]
    tt, ll = rows[:, 0].astype(np.int32), rows[:, 1].copy()
    a1, a2 = rows[:, 2].astype(np.int32), rows[:, 3].astype(np.int32)
    assert np.array_equal(_option_order(tt, ll, a1, a2, c_n), np.lexsort((a2, a1, ll, tt)))


@pytest.mark.parametrize("seed", range(5))
def test_shortest_per_pair(seed):
    rng = np.random.default_rng(seed)
    n, t_n, c_n = 500, 7, 6
    lo = rng.integers(0, c_n - 1, n)
    hi = lo + rng.integers(1, c_n - lo)
    t, val = rng.integers(0, t_n, n), rng.integers(0, 20, n).astype(float)
    key = (t * c_n + lo) * c_n + hi
    best = {}
    for k, v in zip(key.tolist(), val.tolist()):
        best[k] = min(best.get(k, np.inf), v)
    seen = np.full(t_n * c_n * c_n, 12345, dtype=np.int32)  # stale scratch
    for scratch in (seen, None):
        got = _shortest_per_pair(t, val, lo, hi, c_n, scratch)
        gk = (got[0] * c_n + got[2]) * c_n + got[3]
        assert sorted(gk.tolist()) == sorted(best)
        assert all(best[k] == v for k, v in zip(gk.tolist(), got[1].tolist()))
    once = np.unique(key, return_index=True)[1]  # every key once: returned as given
    got = _shortest_per_pair(t[once], val[once], lo[once], hi[once], c_n, seen)
    assert np.array_equal(got[1], val[once])


@pytest.mark.parametrize("seed", range(3))
def test_route_arrays_same_with_and_without_scratch(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    o_n, t_n, c_n = 5, 8, 6
    pts = rng.integers(0, 30, (o_n + t_n + 2 * c_n, 2)).astype(float)  # a grid: many equal lengths
    d = np.abs(pts[:, None, :] - pts[None, :, :]).sum(axis=2)
    o, t, e = np.arange(o_n), o_n + np.arange(t_n), o_n + t_n + np.arange(2 * c_n)
    el = EndLengths(d[np.ix_(o, t)], d[np.ix_(o, e)], d[np.ix_(e, t)], d[np.ix_(e, e)], rng.integers(1, 4, c_n).astype(float))
    fast, _ = route_option_arrays(el, 2)
    monkeypatch.setattr(routes, "_SEEN_MAX", 0)
    slow, _ = route_option_arrays(el, 2, block_work=16)
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow))
    oo, tt, ll, a1, a2 = fast
    assert np.array_equal(np.lexsort((a2, a1, ll, tt, oo)), np.arange(oo.size))
    assert (a2 >= 0).any() and (np.diff(ll)[np.diff(tt) == 0] == 0).any()  # two-crossing options, tied lengths


@pytest.mark.parametrize("seed", range(4))
def test_a_cost_cap_leaves_out_exactly_the_options_over_it(seed):
    """With a :class:`CostCap`, the options without it less those over the budget, for the
    origins it names; the others keep every option."""
    rng = np.random.default_rng(seed)
    o_n, t_n, c_n = 6, 9, 7
    pts = rng.integers(0, 30, (o_n + t_n + 2 * c_n, 2)).astype(float)
    d = np.abs(pts[:, None, :] - pts[None, :, :]).sum(axis=2)
    o, t, e = np.arange(o_n), o_n + np.arange(t_n), o_n + t_n + np.arange(2 * c_n)
    el = EndLengths(d[np.ix_(o, t)], d[np.ix_(o, e)], d[np.ix_(e, t)], d[np.ix_(e, e)], rng.integers(1, 4, c_n).astype(float))
    plain, _ = route_option_arrays(el, 2)
    cross = rng.integers(0, 6, c_n).astype(float)
    target = np.where(rng.random(t_n) < 0.3, 0.0, rng.integers(1, 4, t_n).astype(float))
    origins = rng.random(o_n) < 0.7
    for max_cost in (0.0, 4.0, 7.0, 100.0):
        cap = CostCap(cross, target, max_cost, origins)
        got, _ = route_option_arrays(el, 2, cap=cap)
        oo, tt, ll, a1, a2 = plain
        cost = target[tt] + cross[a1] + np.where(a2 >= 0, cross[np.maximum(a2, 0)], 0.0)
        keep = (cost <= max_cost) | ~origins[oo]
        assert all(np.array_equal(g, p[keep]) for g, p in zip(got, plain)), max_cost
    assert (plain[4] >= 0).any()  # two-crossing options were there to leave out
