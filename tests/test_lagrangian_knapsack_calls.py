"""The knapsack's calls on its chains and small tables without per-call overhead (session 29:
chain states kept per closed/forced state, a chain's valid run found from its ends, pairs all
within the budget not filtered, array methods instead of numpy's wrappers, the forced units read
from the prepared group): the same value, layout, tests and operation count as the former
_group_table, _valid_min, _conv and solve (kept here as the oracle, as of 073d884), on 1,500
random knapsacks solved several times each under changing closed and forced decisions, with
float and integer values."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.solve.lagrangian_knapsack import _INF, CONV_MAX_PAIRS, Knapsack, _chain_run
from tests.test_lagrangian import _priced_knapsack_problem


class _Former(Knapsack):
    """The knapsack's per-iteration calls as they were before session 29."""

    def _group_table(self, g: int, v: np.ndarray):
        state = (self.closed.tobytes(), self.forced_open.tobytes())
        if self._state != state:
            self._state, self._prep = state, {}
        prep = self._prep.get(g)
        if prep is None:
            prep = self._prep[g] = self._prepared(g)
        forced, classes, prices, k0, x0, broken = prep
        lo, hi = self.lo[g], self.hi[g]
        kcap = hi if hi is not None else lo
        keep, kept_units, kept_vals = [], [], []
        for u, cls in zip(prices, classes):
            vc = v[cls]
            order = np.argsort(vc, kind="stable")
            m = min(cls.size, hi) if hi is not None else min(cls.size, int((vc < 0).sum()) + lo)
            keep.append(cls[order[:m]])
            if m:
                kept_units.append(u)
                kept_vals.append(vc[order[:m]])
        items = (keep[0] if len(keep) == 1 else np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
        X = self.cap
        self.ops += 1
        if broken:
            return None, items, [], forced, (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),)
        f0 = float(v[forced].sum())
        if not items.size:  # only the forced decisions: one state
            return None, items, None, forced, (np.array([k0]), np.array([x0]), np.array([f0]))
        if len(kept_units) == 1 and kept_units[0] > 0:
            # one price (real sites: one per crossing or facility type): the best j items are the
            # j first (sorted by value), so the states are a chain, without a table per item;
            # the states within the budget (and the upper count) are its first jm + 1
            unit = kept_units[0]
            jm = min(items.size, (X - x0) // unit)
            if hi is not None:
                jm = min(jm, kcap - k0)
            chain = np.cumsum(np.concatenate([[f0], kept_vals[0][:jm].astype(float)]))
            j = np.arange(jm + 1)
            return None, items, None, forced, (np.minimum(k0 + j, kcap), x0 + j * unit, chain)
        F = np.full((kcap + 1, X + 1), _INF)
        F[k0, x0] = f0
        self.ops += items.size
        # of a price class (values ascending), the i-th item can improve a state only at a
        # cost of at least i times its price: the best j of its items at any state are its
        # first j. Those past the budget's X // u change no state and are never taken, so
        # the table leaves them out (the same F, and the same sources of the others; rs006's
        # relaxation: 28 of 111 crossings updated). Counted in ``ops`` all the same.
        if any(u > 0 and k.size > X // u for u, k in zip(prices, keep)):
            items = np.concatenate([k[: X // u] if u > 0 else k for u, k in zip(prices, keep)])
        # every item's sources at once; each item's update in place (its candidates are read
        # before: the same floats as a new table per item)
        srcs = np.full((items.size, kcap + 1, X + 1), -1, dtype=np.int16)
        rows = np.arange(kcap, dtype=np.int16)[:, None]
        for i, c, val in zip(range(items.size), self.units[items].tolist(), v[items].astype(float).tolist()):
            src = srcs[i]
            top = F[kcap, : X + 1 - c] + val if hi is None else None
            # count k -> k + 1, every k below the cap at once (each cell has one candidate)
            if kcap > 0:
                cand = F[:kcap, : X + 1 - c] + val
                tgt = F[1:, c:]
                better = cand < tgt
                np.copyto(tgt, cand, where=better)
                np.copyto(src[1:, c:], rows, where=better)
            # "the cap or more" stays there (no upper count), after k = cap - 1 reached it
            if top is not None:
                tgt = F[kcap, c:]
                better = top < tgt
                np.copyto(tgt, top, where=better)
                np.copyto(src[kcap, c:], kcap, where=better)
        return F, items, list(srcs), forced, None

    def _valid_min(self, g: int, table, shift: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        F, chain = table[0], table[4]
        lo, hi = self.lo[g], self.hi[g]
        self.ops += 1
        if chain is not None:
            k, x, val = chain
            ok = k + shift >= lo
            if hi is not None:
                ok &= k + shift <= hi
            return x[ok], val[ok], k[ok]
        kcap = F.shape[0] - 1
        ks = [k for k in range(kcap + 1) if k + shift >= lo and (hi is None or k + shift <= hi)]
        if not ks:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        sub = F[ks]
        arg = np.argmin(sub, axis=0)
        vals = sub[arg, np.arange(F.shape[1])]
        xs = np.flatnonzero(np.isfinite(vals))
        return xs, vals[xs], np.asarray(ks)[arg[xs]]

    def _conv(self, a: tuple[np.ndarray, np.ndarray],
              b: tuple[np.ndarray, np.ndarray]) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        (xa, va), (xb, vb) = a, b
        X = self.cap
        n = xa.size * xb.size
        self.ops += 1
        if b is self._nothing:  # 0 at 0 units: a itself (its costs ascending, distinct, within the budget)
            return (xa, va + 0.0), xa
        if n <= CONV_MAX_PAIRS:
            x = (xa[:, None] + xb[None, :]).ravel()
            val = (va[:, None] + vb[None, :]).ravel()
            sel = np.flatnonzero(x <= X)
            if not sel.size:
                return (x[:0], val[:0]), xa[:0]
            x, val = x[sel], val[sel]
            # by cost, then value, then units from a: the pairs come with a's costs ascending
            # (distinct), and the sort is stable
            order = np.lexsort((val, x))
            xs = x[order]
            first = np.empty(xs.size, dtype=bool)
            first[0] = True
            np.not_equal(xs[1:], xs[:-1], out=first[1:])
            pick = order[first]
            return (xs[first], val[pick]), xa[sel[pick] // xb.size]
        da, db = np.full(X + 1, _INF), np.full(X + 1, _INF)
        da[xa], db[xb] = va, vb
        out = np.full(X + 1, _INF)
        arg = np.zeros(X + 1, dtype=np.int64)
        steps = min(xa.size, xb.size)
        self.ops += steps
        if xa.size <= xb.size:
            for x1 in xa:
                cand = da[x1] + db[: X + 1 - x1]
                seg = out[x1:]
                better = cand < seg
                seg[better] = cand[better]
                arg[x1:][better] = x1
        else:
            for x2 in xb:  # the split x1 = x - x2 falls as x2 rises: the last equal value is the fewest
                cand = da[: X + 1 - x2] + db[x2]
                seg = out[x2:]
                take = (cand < seg) | ((cand == seg) & np.isfinite(cand))
                seg[take] = cand[take]
                arg[x2:][take] = np.flatnonzero(take)
        xs = np.flatnonzero(np.isfinite(out))
        return (xs, out[xs]), arg[xs]

    def solve(self, v: np.ndarray, want_tests: bool = False):
        if self.closed[self.forced_open].any():  # a decision both forced open and closed
            return _INF, np.zeros(0, dtype=np.int64), None
        tables = [self._group_table(g, v) for g in range(len(self.groups))]
        H = [self._valid_min(g, t) for g, t in enumerate(tables)]
        # prefix convolutions for the answer, and "all but g" for the tests
        acc = [self._nothing]
        splits = []
        for xs, vals, _ in H:
            nxt, arg = self._conv((xs, vals), acc[-1])
            acc.append(nxt)
            splits.append(arg)
        tx, tv = acc[-1]
        if not tx.size:
            return _INF, np.zeros(0, dtype=np.int64), None
        i = int(np.argmin(tv))  # of equal values, the least cost
        x, value = int(tx[i]), float(tv[i])
        chosen: list[int] = []
        for g in range(len(self.groups) - 1, -1, -1):
            xg = int(splits[g][np.searchsorted(acc[g + 1][0], x)])
            _, items, srcs, forced, _ = tables[g]
            k = int(H[g][2][np.searchsorted(H[g][0], xg)])
            chosen.extend(forced.tolist())
            xx = xg
            if srcs is None:  # a chain: the first (xx - cost of forced) / unit items (none without items)
                if items.size:
                    chosen.extend(items[: (xx - int(self.units[forced].sum())) // int(self.units[items[0]])].tolist())
            else:
                for j in range(len(items) - 1, -1, -1):
                    s = int(srcs[j][k, xx])
                    if s >= 0:
                        chosen.append(int(items[j]))
                        xx -= int(self.units[items[j]])
                        k = s
            x -= xg
        tests = None
        if want_tests:
            tests = np.full(self.n_d, -_INF)
            for g in range(len(self.groups)):
                rest = self._nothing
                for j in range(len(self.groups)):
                    if j != g:
                        rest = self._conv((H[j][0], H[j][1]), rest)[0]
                hx, hv, _ = self._valid_min(g, tables[g], shift=1)
                cx, cv = self._conv((hx, hv), rest)[0]
                dense = np.full(self.cap + 1, _INF)
                dense[cx] = cv
                pm = np.minimum.accumulate(dense)
                ids = self.groups[g]
                left = self.cap - self.units[ids]
                val = np.where(left >= 0, pm[np.clip(left, 0, None)], _INF)
                tests[ids] = v[ids] + val
            tests[self.forced_open] = value  # open anyway: forcing it changes nothing
        return value, np.asarray(sorted(set(chosen)), dtype=np.int64), tests

def _same(got, want) -> None:
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert got[1].dtype == want[1].dtype
    if want[2] is None:
        assert got[2] is None
    else:
        np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("block", range(5))
def test_the_calls_give_the_former_knapsack(block):
    for seed in range(block * 300, block * 300 + 300):
        rng = np.random.default_rng(seed)
        p, v = _priced_knapsack_problem(rng)
        new, old = Knapsack(p), _Former(p)
        for round_ in range(4):
            if round_ and rng.random() < 0.5:  # another closed / forced state (the caches' key)
                shut = rng.random(len(v)) < 0.15
                new.closed |= shut
                old.closed |= shut
            if rng.random() < 0.15:
                opened = rng.random(len(v)) < 0.1
                new.forced_open |= opened
                old.forced_open |= opened
            vals = v if round_ == 0 else rng.normal(0, 10, size=len(v)).round(int(rng.integers(0, 3)))
            if rng.random() < 0.2:
                vals = np.round(vals).astype(np.int64)  # no active incidence: integer values
            tests = bool(rng.random() < 0.5)
            _same(new.solve(vals.copy(), want_tests=tests), old.solve(vals.copy(), want_tests=tests))
            assert new.ops == old.ops, seed
            for g in range(len(new.groups)):
                a, b = new._group_table(g, vals), old._group_table(g, vals)
                for shift in (0, 1):
                    for x, y in zip(new._valid_min(g, a, shift), old._valid_min(g, b, shift)):
                        np.testing.assert_array_equal(x, y)
                        assert x.dtype == y.dtype


def test_a_chains_run_is_its_mask():
    rng = np.random.default_rng(0)
    for _ in range(5_000):
        k0, n = int(rng.integers(0, 6)), int(rng.integers(0, 9))
        kend = k0 + int(rng.integers(0, max(n, 1)))
        k = np.minimum(k0 + np.arange(n), kend)
        lo, hi = int(rng.integers(-2, 9)), (None if rng.random() < 0.3 else int(rng.integers(-2, 9)))
        ok = k >= lo
        if hi is not None:
            ok &= k <= hi
        a, b = _chain_run(k, lo, hi)
        np.testing.assert_array_equal(np.arange(n)[a:b], np.flatnonzero(ok))
