"""Evaluator.client_lengths, gains and removals read from the rows of the open (or nearly open)
options only: the same integers as the former passes over every level and entry (kept here as the
oracles) on random problems, the zoo and a district, for empty, sparse and dense layouts."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.pipeline import prepare
from optimiser.solve.csr_rows import row_of_nonzero
from optimiser.solve.heuristic import _BIG, Evaluator
from tests.random_problems import random_problem
from tests.zoo_cases import CASES


def _reference_lengths(ev: Evaluator, ov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """client_lengths before session 28: every level's openness by one product with ``M``."""
    lev_open = (ev.M @ ov.astype(np.int32)) > 0
    length = ev.base.copy()
    served = np.zeros(ev.base.size, dtype=bool)
    if ev.lev_len.size:
        has_lev = ev.nlev > 0
        starts = np.concatenate([[0], np.cumsum(ev.nlev)[:-1]]).astype(np.int64)[has_lev]
        vals = np.where(lev_open, ev.lev_len, _BIG)
        mins = np.minimum.reduceat(vals, starts)
        hl = np.nonzero(has_lev)[0]
        served[hl] = mins < _BIG
        length[hl] = np.where(mins < _BIG, np.minimum(mins, length[hl]), length[hl])
    return length, served


def _reference_gains(ev: Evaluator, x, length, unc, near, dec) -> np.ndarray:
    """Evaluator.gains before session 28 (``MT[near]`` and a lexsort), penalties as they are."""
    g = np.zeros(ev.n_d, dtype=np.int64)
    if near.size == 0:
        return g
    nc = length.size
    sub = ev.MT[near]
    if sub.nnz:
        rows = row_of_nonzero(sub)
        lev = sub.indices
        cli = ev.lev_client[lev]
        imp = length[cli] - ev.lev_len[lev]
        keep = imp > 0
        if keep.any():
            d = dec[rows[keep]]
            cli = cli[keep]
            val = imp[keep] * ev.w[cli]
            key = d * nc + cli
            order = np.lexsort((-val, key))
            key, val, d = key[order], val[order], d[order]
            first = np.ones(key.size, dtype=bool)
            first[1:] = key[1:] != key[:-1]
            g += np.bincount(d[first], weights=val[first], minlength=ev.n_d).astype(np.int64)
    return g


def _reference_level_losses(ev: Evaluator, x: np.ndarray) -> np.ndarray:
    """The clients' part of Evaluator.removals before session 28 (open pairs by a pass over M)."""
    ov = ev.open_options(x)
    length, _ = _reference_lengths(ev, ov)
    loss = np.zeros(ev.n_d, dtype=np.int64)
    opened = np.nonzero(ov)[0]
    if opened.size == 0:
        return loss
    dec = _open_decisions(ev, opened)
    keep = ov[ev.M.indices]
    lev = row_of_nonzero(ev.M, np.int32)[keep]
    return ev._losses(ev.lev_client[lev], ev.M.indices[keep], ev.lev_len[lev], dec, length, ev.base, ev.w)


def _open_decisions(ev: Evaluator, opened: np.ndarray) -> np.ndarray:
    """Each open option's decisions (-1 padded), as Evaluator.removals lays them out."""
    sub = ev.A[opened]
    k = int(np.diff(sub.indptr).max())
    dec = np.full((ev.n_o, k), -1, dtype=np.int64)
    row = row_of_nonzero(sub)
    dec[opened[row], np.arange(sub.nnz) - sub.indptr[row]] = sub.indices
    return dec


def _penalty_losses(ev: Evaluator, x: np.ndarray) -> np.ndarray:
    """The penalties' part of Evaluator.removals (unchanged)."""
    ov = ev.open_options(x)
    if not ev.pw.size or not ov.any():
        return np.zeros(ev.n_d, dtype=np.int64)
    opened = np.nonzero(ov)[0]
    dec = _open_decisions(ev, opened)
    keep = ov[ev.P.indices]
    pen = row_of_nonzero(ev.P)[keep]
    none = np.zeros(ev.pw.size, dtype=np.int64)
    return ev._losses(pen, ev.P.indices[keep], none[pen], dec, none, none + 1, ev.pw)


def _check(ev: Evaluator, rng: np.random.Generator, draws: int) -> int:
    """Compare on ``draws`` random layouts of several densities, the empty and the full one;
    the number of clients served over all draws (so the test sees served clients)."""
    n = ev.n_d
    layouts = [np.zeros(n, dtype=np.int8), np.ones(n, dtype=np.int8)]
    for k in range(draws):
        layouts.append((rng.random(n) < (0.05, 0.2, 0.5)[k % 3]).astype(np.int8))
    served_total = 0
    for x in layouts:
        ov = ev.open_options(x)
        got, want = ev.client_lengths(ov), _reference_lengths(ev, ov)
        assert got[0].dtype == want[0].dtype
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        served_total += int(got[1].sum())
        length, unc = want[0], ev.uncovered(ov)
        near, dec = ev._near(x)
        gains = ev.gains(x, length, unc, near, dec)
        assert gains.dtype == np.int64
        np.testing.assert_array_equal(gains, _reference_gains(ev, x, length, unc, near, dec)
                                      + _penalty_gains(ev, x, length, unc, near, dec))
        total, loss = ev.removals(x)
        assert total == ev.objective(x) and loss.dtype == np.int64
        np.testing.assert_array_equal(loss, _reference_level_losses(ev, x) + _penalty_losses(ev, x))
    return served_total


def _penalty_gains(ev: Evaluator, x, length, unc, near, dec) -> np.ndarray:
    """The penalties' part of Evaluator.gains (unchanged): gains with no level of any client."""
    saved = ev.MT
    try:
        ev.MT = saved[:, :0].tocsr()  # no levels: the level part adds nothing
        return ev.gains(x, length, unc, near, dec)
    finally:
        ev.MT = saved


@pytest.mark.parametrize("seed", range(30))
def test_lengths_match_the_reference_on_random_problems(seed):
    ev = Evaluator(random_problem(seed))
    _check(ev, np.random.default_rng(seed), 12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_lengths_match_the_reference_on_the_zoo(name):
    ev = Evaluator(prepare(CASES[name]()).problem)
    _check(ev, np.random.default_rng(7), 6)


def test_lengths_match_the_reference_on_a_district():
    ev = Evaluator(prepare(make_district(30, 60, 12, 1, seed=2)).problem)
    assert _check(ev, np.random.default_rng(3), 30) > 0
    assert ev.client_lengths(ev.open_options(np.zeros(ev.n_d, dtype=np.int8)))[1].sum() == 0
