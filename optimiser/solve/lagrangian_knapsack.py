"""The knapsack of :mod:`optimiser.solve.lagrangian`'s dual: the decisions' part of ``L``.

min sum v_i y_i over y in {0,1} with the budget (in at most ``_MAX_UNITS`` cost units, costs
rounded down) and count ranges per group, by dynamic programming: a group whose decisions share
one price is a chain of its best j decisions, other groups dense tables filled a count column at
a time, and groups combine over the costs they reach. With the reduction tests' per-decision
bounds (Beasley's: one place of a decision's group taken, less budget for the rest).
"""

from __future__ import annotations

import copy
import math

import numpy as np

from optimiser.model.problem import Problem

_INF = np.inf
_MAX_UNITS = 1000
"""The budget is split into at most this many cost units (costs rounded down: a relaxation)."""

CONV_MAX_PAIRS = 20_000
"""The knapsack combines two groups' tables pair by pair up to this many pairs of reachable
costs, else by one pass over dense rows per cost of the sparser table (the same floats)."""

CONV_GRID_MIN_PAIRS = 1_000
"""From this many pairs of reachable costs (and finite values) the knapsack combines two tables
on one grid of costs by rows of the sparser table instead (:meth:`Knapsack._conv_grid`: the same
floats and splits, and the same ``ops`` as the path it replaces). Measured on 9,000 combinations
recorded from benchmarks/realsites' relax-first runs at 10 s (independent seeds 11, 16, 100, 107,
116; rs005, rs006, rs012, rs016, rs028), CPU per call, pair by pair / one pass per cost -> grid:
1,000-10,000 pairs 214-381 -> 115-186 us, 10,000-20,000 pairs 1,473-1,640 -> 330-520 us, over
20,000 pairs (one pass per cost) 1,464 -> 752 us; under 1,000 pairs the grid's set-up costs more
(21-56 -> 50-69 us)."""


def _chain_run(k: np.ndarray, k_lo: int, k_hi: int | None) -> tuple[int, int]:
    """``(a, b)``: the states ``a..b-1`` of a chain whose counts ``k`` are in ``k_lo..k_hi``
    (``None``: no upper), as the mask ``(k >= k_lo) & (k <= k_hi)`` selects them. A chain's
    counts are ``min(k[0] + j, k[-1])`` (:meth:`Knapsack._group_table`): they never fall, so
    those in range are one run, found from its ends without a pass over it."""
    n = k.size
    if n == 0:
        return 0, 0
    k0, kend = int(k[0]), int(k[-1])
    a = 0 if k0 >= k_lo else (k_lo - k0 if kend >= k_lo else n)
    if k_hi is None or kend <= k_hi:
        return a, n
    return a, (0 if k0 > k_hi else k_hi - k0 + 1)


class Knapsack:
    """min sum v_i y_i over y in {0,1}: cost (units) <= budget, count of each group in range.

    Groups come from the problem's count constraints (single-decision terms with coefficient
    1); a decision in several is kept in the first. Decisions in none form one free group.
    Single-decision constraints fix decisions (``fix:`` constraints of fixed problems).
    """

    def __init__(self, problem: Problem):
        n_d = len(problem.decisions)
        self.n_d = n_d
        enforced: set[int] = set()  # the constraints (indices) this knapsack meets: see ``enforced``
        k_budget = next((k for k, c in enumerate(problem.constraints) if c.group == "budget" and c.hi is not None), -1)
        budget = problem.constraints[k_budget] if k_budget >= 0 else None
        cost = np.zeros(n_d, dtype=np.int64)
        cap = 0
        if budget is not None and budget.hi is not None and all(o < n_d and v >= 0 for o, v in budget.terms):
            for o, v in budget.terms:
                cost[o] = v
            cap = max(int(budget.hi), 0)
            enforced.add(k_budget)
        else:  # no usable budget: no cost dimension
            cost[:] = 0
        unit = math.gcd(*[int(c) for c in cost if c > 0], cap) if cap > 0 else 1
        unit = max(unit, 1, -(-cap // _MAX_UNITS))
        self.units = cost // unit
        self.cap = cap // unit
        self.forced_open = np.zeros(n_d, dtype=bool)
        self.closed = np.zeros(n_d, dtype=bool)
        self.ops = 0  # vector operations so far (its work: deterministic)
        group_of = np.full(n_d, -1, dtype=np.int64)
        lo: list[int] = []
        hi: list[int | None] = []
        members: dict[tuple[int, ...], int] = {}
        for k, con in enumerate(problem.constraints):
            if any(o >= n_d for o, _ in con.terms):
                continue
            if len(con.terms) == 1:
                (o, coef), = con.terms
                if coef > 0 and con.hi is not None and con.hi < coef:
                    self.closed[o] = True
                if coef > 0 and con.lo is not None and con.lo > 0:
                    self.forced_open[o] = True
                continue
            if not con.group.startswith(("count_min:", "count_max:")) or any(v != 1 for _, v in con.terms):
                continue
            ids = tuple(sorted(o for o, _ in con.terms))
            if ids not in members:
                if (group_of[list(ids)] >= 0).any():
                    continue  # overlapping group: dropped (a relaxation)
                members[ids] = len(lo)
                group_of[list(ids)] = len(lo)
                lo.append(0)
                hi.append(None)
            g = members[ids]
            enforced.add(k)
            if con.lo is not None:
                lo[g] = max(lo[g], int(con.lo))
            if con.hi is not None:
                old_hi = hi[g]
                hi[g] = int(con.hi) if old_hi is None else min(old_hi, int(con.hi))
        free = np.nonzero(group_of < 0)[0]
        if free.size:
            group_of[free] = len(lo)
            lo.append(0)
            hi.append(None)
        self.groups = [np.nonzero(group_of == g)[0] for g in range(len(lo))]
        self.lo, self.hi = lo, hi
        self.enforced = frozenset(enforced)
        """Indices in ``problem.constraints`` of the rows over two or more decisions that this
        knapsack meets (the budget, the count groups it keeps); every other such row is left to
        the caller (the Lagrangian's packing rows)."""
        self._nothing = (np.zeros(1, dtype=np.int64), np.zeros(1))  # no group yet: 0 at 0 units
        self._state: tuple[bytes, bytes] | None = None  # the closed and forced-open decisions of _prep
        self._prep: dict[int, tuple] = {}  # each group's _prepared at that state
        self._chains: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}  # _chain_states at that state

    def copy(self) -> Knapsack:
        """The same knapsack with its own closed and forced-open decisions (a branch's child:
        :mod:`optimiser.solve.lagrangian_split`); the groups and costs are shared."""
        out = copy.copy(self)
        out.closed = self.closed.copy()
        out.forced_open = self.forced_open.copy()
        out._state, out._prep, out._chains = None, {}, {}
        return out

    # -------------------------------------------------------------- one group
    def _prepared(self, g: int) -> tuple:
        """Group ``g``'s part that depends only on the closed and forced-open decisions (cached
        per state of both, see :meth:`solve`): (forced, its price classes (ids ascending) and
        their units, k0, x0, whether the forced ones alone break the count cap or the budget)."""
        ids = self.groups[g]
        lo, hi = self.lo[g], self.hi[g]
        ids = ids[~self.closed[ids]]
        forced = ids[self.forced_open[ids]]
        ids = ids[~self.forced_open[ids] & (self.units[ids] <= self.cap)]  # dearer than the budget: never
        kcap = hi if hi is not None else lo
        uu = self.units[ids]
        prices = np.unique(uu)
        classes = [ids[uu == u] for u in prices]
        k0 = min(forced.size, kcap) if hi is None else forced.size
        x0 = int(self.units[forced].sum())
        broken = (hi is not None and forced.size > hi) or x0 > self.cap
        return forced, classes, prices.tolist(), k0, x0, broken

    def _group_table(self, g: int, v: np.ndarray):
        """(F, items, srcs, forced, chain) of group ``g``: F[k, x] is the least value of k items
        (the last row: k or more when the group has no upper count) costing exactly x units; the
        group's forced-open decisions are in every state; ``srcs[j][k, x]`` is the count before
        item ``items[j]`` was taken to reach (k, x), or -1. When the items have one price (or
        there are none), ``chain`` instead lists the states (rows k, costs x ascending, values),
        and F and srcs are ``None``."""
        state = (self.closed.tobytes(), self.forced_open.tobytes())
        if self._state != state:
            self._state, self._prep, self._chains = state, {}, {}
        prep = self._prep.get(g)
        if prep is None:
            prep = self._prep[g] = self._prepared(g)
        forced, classes, prices, k0, x0, broken = prep
        lo, hi = self.lo[g], self.hi[g]
        kcap = hi if hi is not None else lo
        keep, kept_units, kept_vals = [], [], []
        for u, cls in zip(prices, classes):
            vc = v[cls]
            first_m = vc.argsort(kind="stable")  # (array methods and ufuncs: no Python wrapper per call)
            m = min(cls.size, hi) if hi is not None else min(cls.size, np.count_nonzero(vc < 0) + lo)
            first_m = first_m[:m]
            keep.append(cls[first_m])
            if m:
                kept_units.append(u)
                kept_vals.append(vc[first_m])
        items = (keep[0] if len(keep) == 1 else np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
        X = self.cap
        self.ops += 1
        if broken:
            return None, items, [], forced, (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),)
        f0 = float(v[forced].sum()) if forced.size else 0.0  # (an empty sum is 0.0 too)
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
            chain = np.empty(jm + 1)
            chain[0] = f0
            chain[1:] = kept_vals[0][:jm]
            np.add.accumulate(chain, out=chain)  # the running sums from f0: np.cumsum of [f0, values]
            return None, items, None, forced, self._chain_states(g, jm, unit, k0, x0, kcap) + (chain,)
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

    def _chain_states(self, g: int, jm: int, unit: int, k0: int, x0: int, kcap: int) -> tuple[np.ndarray, np.ndarray]:
        """The counts and costs of a chain's states ``j = 0..jm`` (``min(k0 + j, kcap)``,
        ``x0 + j * unit``): they depend on the closed and forced-open decisions only through
        ``k0`` and ``x0``, so they are kept with the group's :meth:`_prepared` part (read only)."""
        key = (g, jm, unit)
        out = self._chains.get(key)
        if out is None:
            j = np.arange(jm + 1)
            out = self._chains[key] = (np.minimum(k0 + j, kcap), x0 + j * unit)
        return out

    def _valid_min(self, g: int, table, shift: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group ``g``'s least value per reachable cost over counts k with k + shift in its
        range: (costs ascending, values, argmin k)."""
        F, chain = table[0], table[4]
        lo, hi = self.lo[g], self.hi[g]
        self.ops += 1
        if chain is not None:
            k, x, val = chain
            a, b = _chain_run(k, lo - shift, None if hi is None else hi - shift)
            return x[a:b], val[a:b], k[a:b]
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
        """Min-plus convolution of two sparse tables (costs ascending, values) up to the budget,
        with the split (units taken from ``a``; of equal values, the fewest): ((costs, values),
        split). Every pair at once when there are few (few prices: few reachable costs), on one
        grid of costs when there are more (:meth:`_conv_grid`), else (values not finite) one pass
        per cost of the sparser side over dense rows; the same floats every way."""
        (xa, va), (xb, vb) = a, b
        X = self.cap
        n = xa.size * xb.size
        self.ops += 1
        if b is self._nothing:  # 0 at 0 units: a itself (its costs ascending, distinct, within the budget)
            return (xa, va + 0.0), xa
        if n and n >= CONV_GRID_MIN_PAIRS and np.isfinite(va).all() and np.isfinite(vb).all():
            if n > CONV_MAX_PAIRS:
                self.ops += min(xa.size, xb.size)  # the work of the pass it replaces
            return self._conv_grid(a, b)
        if n <= CONV_MAX_PAIRS:
            x = (xa[:, None] + xb[None, :]).ravel()
            val = (va[:, None] + vb[None, :]).ravel()
            sel = None  # every pair within the budget (both sides' costs ascending)
            if xa.size and xb.size and xa[-1] + xb[-1] > X:
                sel = np.flatnonzero(x <= X)
                x, val = x[sel], val[sel]
            if not x.size:
                return (x[:0], val[:0]), xa[:0]
            # by cost, then value, then units from a: the pairs come with a's costs ascending
            # (distinct), and the sort is stable
            order = np.lexsort((val, x))
            xs = x[order]
            first = np.empty(xs.size, dtype=bool)
            first[0] = True
            np.not_equal(xs[1:], xs[:-1], out=first[1:])
            pick = order[first]
            return (xs[first], val[pick]), xa[(pick if sel is None else sel[pick]) // xb.size]
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

    def _conv_grid(self, a: tuple[np.ndarray, np.ndarray],
                   b: tuple[np.ndarray, np.ndarray]) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """:meth:`_conv` of two non-empty sparse tables with finite values, on one grid: ``grid[x, r]``
        is the value of the sparser table's ``r``-th entry with the other's entry at cost ``x`` less
        its cost (``inf``: none). ``argmin`` takes the first least value of a cost's row, so the
        entries are ordered as the splits are preferred (of equal values, the fewest units from
        ``a``: ``a``'s costs ascending, else ``b``'s descending). The same floats and splits as pair by
        pair (``CONV_GRID_MIN_PAIRS``)."""
        (xa, va), (xb, vb) = a, b
        X = self.cap
        if xa.size <= xb.size:
            r_x, r_v, c_x, c_v, from_b = xa, va, xb, vb, False
        else:
            r_x, r_v, c_x, c_v, from_b = xb[::-1], vb[::-1], xa, va, True
        rows = r_x.size
        grid = np.full((X + 1, rows), _INF)
        pos = c_x[:, None] + r_x[None, :]
        val = c_v[:, None] + r_v[None, :]
        flat = pos * rows + np.arange(rows)
        if int(r_x.max()) + int(c_x[-1]) > X:
            keep = pos <= X
            grid.ravel()[flat[keep]] = val[keep]
        else:
            grid.ravel()[flat.ravel()] = val.ravel()
        arg = grid.argmin(axis=1)
        out = grid[np.arange(X + 1), arg]
        xs = np.flatnonzero(out < _INF)
        arg = arg[xs]
        return (xs, out[xs]), (xs - r_x[arg] if from_b else r_x[arg])

    def solve(self, v: np.ndarray, want_tests: bool = False):
        """(value, chosen decision ids, forced-open lower bound per decision or None)."""
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
        i = int(tv.argmin())  # of equal values, the least cost
        x, value = int(tx[i]), float(tv[i])
        chosen: list[int] = []
        for g in range(len(self.groups) - 1, -1, -1):
            xg = int(splits[g][acc[g + 1][0].searchsorted(x)])
            _, items, srcs, forced, _ = tables[g]
            k = int(H[g][2][H[g][0].searchsorted(xg)])
            chosen.extend(forced.tolist())
            xx = xg
            if srcs is None:  # a chain: the first (xx - cost of forced) / unit items (none without items)
                if items.size:
                    x0 = self._prep[g][4]  # the forced decisions' units (_prepared, this state's: _group_table)
                    chosen.extend(items[: (xx - x0) // int(self.units[items[0]])].tolist())
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
