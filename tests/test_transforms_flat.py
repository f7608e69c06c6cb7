"""optimiser.model.transforms on the flat arrays of optimiser.model.flat: the same problems,
field by field (decisions, options and their ids, clients, constraints, penalties, groups, info,
constant, levels), as the rewrites before them (tests/transforms_reference.py), on the zoo's
sites, on districts and on random problems; and a problem changed after a rewrite read it is
read again."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.model.problem import Client, Problem
from optimiser.model.transforms import fix_decisions, relax_access_crossings
from optimiser.pipeline import prepare
from tests import transforms_reference as ref
from tests.random_problems import random_problem
from tests.zoo_cases import CASES


def _assert_same(a: Problem | None, b: Problem | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    for f in fields(Problem):
        assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert a.constant == b.constant and a.n_levels() == b.n_levels()


def _check(p: Problem, rng: np.random.Generator, rounds: int) -> None:
    """Random fixings (at 0 only, and a mix of 0 and 1) and closed sets, each against the reference."""
    n_d = len(p.decisions)
    for _ in range(rounds):
        ids = [int(d) for d in rng.permutation(n_d)[: int(rng.integers(1, n_d + 1))]]
        for fixed in ({d: 0 for d in ids}, {d: int(rng.integers(0, 2)) for d in ids}):
            _assert_same(fix_decisions(p, fixed), ref.fix_decisions(p, fixed))
        closed = set(ids[: len(ids) // 2])
        q, r = relax_access_crossings(p, closed), ref.relax_access_crossings(p, closed)
        _assert_same(q, r)
        if q is not None and r is not None:  # the reduced relaxation: closed fixed on it
            _assert_same(fix_decisions(q, {d: 0 for d in closed}), ref.fix_decisions(r, {d: 0 for d in closed}))
    _assert_same(relax_access_crossings(p), ref.relax_access_crossings(p))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_zoo_rewritten_as_before(name):
    _check(prepare(CASES[name]()).problem, np.random.default_rng(len(name)), 6)


@pytest.mark.parametrize("seed", range(3))
def test_districts_rewritten_as_before(seed):
    _check(prepare(make_district(30 + 10 * seed, 60, 12, 1, seed=seed)).problem, np.random.default_rng(seed), 4)


@pytest.mark.parametrize("seed", range(30))
def test_random_problems_rewritten_as_before(seed):
    _check(random_problem(seed), np.random.default_rng(seed), 4)


def test_a_problem_changed_after_a_rewrite_is_read_again():
    """The flat arrays follow the problem's lists: options appended and clients added or replaced
    after a fixing are seen by the next one."""
    p = random_problem(3)
    fixed = {0: 0, 1: 1}
    _assert_same(fix_decisions(p, fixed), ref.fix_decisions(p, fixed))
    o = p.option_id((2, 5, 6))
    p.clients.append(Client("new", "pair", 4, 800, (100, 300), ((o, 2), (0, 3))))
    _assert_same(fix_decisions(p, fixed), ref.fix_decisions(p, fixed))
    p.clients = p.clients[:-2]
    _assert_same(fix_decisions(p, fixed), ref.fix_decisions(p, fixed))
    _assert_same(relax_access_crossings(p, {0}), ref.relax_access_crossings(p, {0}))
