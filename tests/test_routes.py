"""Route options agree with plain Dijkstra for every set of up to two built crossings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from optimiser.network.routes import EndLengths, route_options


def _graph_with(n, rows, cols, w, ends, cl, built):
    best: dict[tuple[int, int], float] = {}
    extra = [(ends[c][0], ends[c][1], cl[c]) for c in built]
    for r, c, v in list(zip(rows.tolist(), cols.tolist(), w.tolist())) + extra:
        if r != c:
            k = (min(r, c), max(r, c))
            best[k] = min(best.get(k, np.inf), v)
    keys = list(best)
    return sp.csr_matrix(([best[k] for k in keys], ([k[0] for k in keys], [k[1] for k in keys])), shape=(n, n))


@pytest.mark.parametrize("seed", range(6))
def test_route_options_match_dijkstra(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(6, 14))
        m = int(rng.integers(n, 3 * n))
        rows, cols, w = rng.integers(0, n, m), rng.integers(0, n, m), rng.uniform(1, 10, m)
        n_c = int(rng.integers(2, 5))
        ends, cl = rng.integers(0, n, (n_c, 2)), rng.uniform(0, 5, n_c)
        origins, targets = list(range(min(4, n))), list(range(n - 3, n))
        d = dijkstra(_graph_with(n, rows, cols, w, ends, cl, ()), directed=False)
        e = ends.reshape(-1)
        el = EndLengths(d[np.ix_(origins, targets)], d[np.ix_(origins, e)], d[np.ix_(e, targets)], d[np.ix_(e, e)], cl)
        opts, _ = route_options(el, 2, block_work=64)  # tiny blocks exercise the blocking
        for built in itertools.chain.from_iterable(itertools.combinations(range(n_c), k) for k in range(3)):
            dz = dijkstra(_graph_with(n, rows, cols, w, ends, cl, built), directed=False)
            for i, o in enumerate(origins):
                for j, t in enumerate(targets):
                    model = min([el.base[i, j]] + [L for L, R in opts[i][j] if set(R) <= set(built)])
                    true = dz[o, t]
                    assert (np.isinf(model) and np.isinf(true)) or model == pytest.approx(true, abs=1e-6)


def test_options_are_non_dominated():
    rng = np.random.default_rng(7)
    n = 12
    rows, cols, w = rng.integers(0, n, 30), rng.integers(0, n, 30), rng.uniform(1, 10, 30)
    ends, cl = rng.integers(0, n, (4, 2)), rng.uniform(0, 3, 4)
    d = dijkstra(_graph_with(n, rows, cols, w, ends, cl, ()), directed=False)
    e = ends.reshape(-1)
    el = EndLengths(d[:4, 8:], d[:4][:, e], d[e][:, 8:], d[np.ix_(e, e)], cl)
    opts, _ = route_options(el, 2)
    for i in range(4):
        for j in range(4):
            singles = {R[0]: L for L, R in opts[i][j] if len(R) == 1}
            for L, R in opts[i][j]:
                assert L < el.base[i, j]
                if len(R) == 2:
                    assert all(L < singles.get(c, np.inf) for c in R)
