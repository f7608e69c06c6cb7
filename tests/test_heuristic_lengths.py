"""Evaluator.client_lengths read from the open options' levels only: the same integers as the
former pass over every level (kept here as the oracle) on random problems, the zoo and a district,
for empty, sparse and dense layouts."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.pipeline import prepare
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
    return served_total


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
