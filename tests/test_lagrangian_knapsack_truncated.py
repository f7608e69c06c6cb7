"""A knapsack table leaves out the items of a price class past the budget's ``X // price`` (they
change no state and are never taken): the same value, layout, tests and operation count as the
table over every kept item (the former _group_table, kept here as the oracle), on random
knapsacks where classes outgrow the budget."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model.problem import Constraint, Decision, Problem
from optimiser.solve.lagrangian_knapsack import _INF, Knapsack
from tests.test_lagrangian import _priced_knapsack_problem


class _Untruncated(Knapsack):
    """The knapsack with _group_table as it was before session 28 (every kept item in the table)."""

    def _group_table(self, g, v):
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
        if not items.size:
            return None, items, None, forced, (np.array([k0]), np.array([x0]), np.array([f0]))
        if len(kept_units) == 1 and kept_units[0] > 0:
            unit = kept_units[0]
            jm = min(items.size, (X - x0) // unit)
            if hi is not None:
                jm = min(jm, kcap - k0)
            chain = np.cumsum(np.concatenate([[f0], kept_vals[0][:jm].astype(float)]))
            j = np.arange(jm + 1)
            return None, items, None, forced, (np.minimum(k0 + j, kcap), x0 + j * unit, chain)
        F = np.full((kcap + 1, X + 1), _INF)
        F[k0, x0] = f0
        srcs = np.full((items.size, kcap + 1, X + 1), -1, dtype=np.int16)
        rows = np.arange(kcap, dtype=np.int16)[:, None]
        self.ops += items.size
        for i, c, val in zip(range(items.size), self.units[items].tolist(), v[items].astype(float).tolist()):
            src = srcs[i]
            top = F[kcap, : X + 1 - c] + val if hi is None else None
            if kcap > 0:
                cand = F[:kcap, : X + 1 - c] + val
                tgt = F[1:, c:]
                better = cand < tgt
                np.copyto(tgt, cand, where=better)
                np.copyto(src[1:, c:], rows, where=better)
            if top is not None:
                tgt = F[kcap, c:]
                better = top < tgt
                np.copyto(tgt, top, where=better)
                np.copyto(src[kcap, c:], kcap, where=better)
        return F, items, list(srcs), forced, None


@pytest.mark.parametrize("block", range(4))
def test_truncated_tables_give_the_same_answers_and_operations(block):
    truncated = 0
    for seed in range(block * 150, (block + 1) * 150):
        rng = np.random.default_rng(seed)
        p, v = _priced_knapsack_problem(rng)
        v = v - rng.random() * 20  # more negative values: more items kept per class
        new, old = Knapsack(p), _Untruncated(p)
        if seed % 2:
            closed = rng.random(len(v)) < 0.2
            new.closed |= closed
            old.closed |= closed
        truncated += _same_as_oracle(new, old, v, seed)[0]
    assert truncated > 20  # classes past the budget were left out


def _same_as_oracle(new: Knapsack, old: _Untruncated, v: np.ndarray, seed: int) -> tuple[int, int]:
    """Assert ``new`` (truncated) and ``old`` (the oracle) give the same group tables, sources,
    answers, tests and operation counts on values ``v``; return how many tables were truncated,
    and how many were built."""
    truncated = tables = 0
    for g in range(len(new.groups)):
        a, b = new._group_table(g, v), old._group_table(g, v)
        assert (a[0] is None) == (b[0] is None), seed
        if a[0] is not None:
            np.testing.assert_array_equal(a[0], b[0])  # the same table F
            truncated += a[1].size < b[1].size
            tables += 1
            kept = {int(i): s for i, s in zip(a[1], a[2])}
            for i, s in zip(b[1].tolist(), b[2]):  # left out: never a source; kept: the same sources
                np.testing.assert_array_equal(kept[i], s) if i in kept else np.testing.assert_array_equal(s, -1)
    new.ops = old.ops = 0
    for tests in (False, True):
        got, want = new.solve(v.copy(), want_tests=tests), old.solve(v.copy(), want_tests=tests)
        assert got[0] == want[0], seed
        assert np.array_equal(got[1], want[1]), seed
        assert (got[2] is None and want[2] is None) or np.array_equal(got[2], want[2]), seed
    assert new.ops == old.ops, seed
    return truncated, tables


_INEXACT = np.array([0.1, 0.2, 0.3, 0.7, -0.1, -0.3, 1 / 3, -2 / 3, 0.0, 0.6, -0.7, 1e16, -1e16])
"""Values whose sums round (ties of inexact decimals, magnitudes that swallow the small ones)."""


def _adversarial_knapsack(rng) -> tuple[Problem, np.ndarray]:
    """Small budgets (0 included: X // price is 0), prices of 0 units beside priced classes, one
    price only, forced and closed decisions, count groups; values tied, 0, rounding or normal."""
    n = int(rng.integers(1, 25))
    prices = ([0, 1, 2], [1, 2, 3], [0, 5], [int(rng.integers(1, 4))], [0, 1, 2, 3, 5, 8])[int(rng.integers(0, 5))]
    budget = int(rng.integers(0, 12))
    dec = [Decision(f"d{i}", "crossing", "g", float(rng.choice(prices)), f"d{i}") for i in range(n)]
    cons = [Constraint("budget", tuple((i, int(d.cost)) for i, d in enumerate(dec)), None, budget, "budget")]
    if n > 1:
        cuts = np.sort(rng.choice(np.arange(1, n), size=min(int(rng.integers(0, 3)), n - 1), replace=False))
        for j, part in enumerate(np.split(rng.permutation(n), cuts)):
            if part.size < 2 or rng.random() < 0.2:
                continue
            grp = tuple((int(i), 1) for i in sorted(part))
            kind = int(rng.integers(0, 3))
            if kind in (0, 2):
                cons.append(Constraint(f"count_min:{j}", grp, int(rng.integers(0, 4)), None, f"count_min:{j}"))
            if kind in (1, 2):
                cons.append(Constraint(f"count_max:{j}", grp, None, int(rng.integers(0, 6)), f"count_max:{j}"))
    for i in range(n):
        u = rng.random()
        if u < 0.13:  # forced open (0.08) or closed (0.05)
            cons.append(Constraint(f"fix:{i}", ((i, 1),), int(u < 0.08), int(u < 0.08), "fix"))
    p = Problem(dec, [(i,) for i in range(n)], [], cons, [], {}, 10, {"all": 1.0}, float(budget))
    kind = int(rng.integers(0, 4))
    v = (rng.choice(_INEXACT[:9], size=n), rng.choice(_INEXACT, size=n), rng.normal(0, 10, size=n),
         rng.choice([0.0, -1.0, 1.0], size=n))[kind]
    return p, v.astype(float)


def test_truncated_tables_on_adversarial_knapsacks():
    """The same tables, sources, answers, tests and operations as the oracle on 2,000 knapsacks
    built to break the truncation: budgets of 0-11 units, zero prices, tied and rounding values
    (float addition is monotone, so the first j items of a class are never beaten by later ones,
    to the last bit)."""
    truncated = zero_budget_tables = 0
    for seed in range(2000):
        rng = np.random.default_rng(10_000 + seed)
        p, v = _adversarial_knapsack(rng)
        new, old = Knapsack(p), _Untruncated(p)
        cut, tables = _same_as_oracle(new, old, v, seed)
        truncated += cut
        zero_budget_tables += tables if new.cap == 0 else 0
    assert truncated > 200 and zero_budget_tables > 20, (truncated, zero_budget_tables)
