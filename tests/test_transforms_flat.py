"""optimiser.model.transforms on the flat arrays of optimiser.model.flat: the same problems,
field by field (decisions, options and their ids, clients, constraints, penalties, groups, info,
constant, levels), as the rewrites before them (tests/transforms_reference.py), on the zoo's
sites, on districts and on random problems; and a problem changed after a rewrite read it is
read again."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.model import flat
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


def _fixed(p: Problem, fixed: dict[int, int]) -> Problem:
    """fix_decisions, checked against the reference; the flat arrays it keeps for its result are
    those the result's tuples give."""
    q = fix_decisions(p, fixed)
    _assert_same(q, ref.fix_decisions(p, fixed))
    kept, fresh = flat.flat_clients(q), flat.flat_clients(replace(q))
    assert kept is not fresh
    for f in fields(flat.FlatClients):
        assert np.array_equal(getattr(kept, f.name), getattr(fresh, f.name)), f.name
    opts, fresh_opts = flat.flat_options(q), flat.flat_options(replace(q))
    assert np.array_equal(opts.flat, fresh_opts.flat) and np.array_equal(opts.lens, fresh_opts.lens)
    assert opts.index == fresh_opts.index
    return q


def _check(p: Problem, rng: np.random.Generator, rounds: int) -> None:
    """Random fixings (at 0 only, and a mix of 0 and 1) and closed sets, each against the reference."""
    n_d = len(p.decisions)
    for _ in range(rounds):
        ids = [int(d) for d in rng.permutation(n_d)[: int(rng.integers(1, n_d + 1))]]
        for fixed in ({d: 0 for d in ids}, {d: int(rng.integers(0, 2)) for d in ids}):
            q = _fixed(p, fixed)
            more = {int(d): 0 for d in rng.permutation(len(p.decisions))[:2]}
            _fixed(q, more)  # on the flat arrays the first fixing kept
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


@pytest.mark.parametrize("seed", range(3))
def test_closing_more_on_a_reduced_problem_is_closing_all_on_the_whole(seed):
    """Closed decisions growing in three steps, each fixed on the last reduced problem
    (close_more, through relax-first's ReducedProblems): the same problem, field by field, as
    fixing all of them on the whole problem; the whole problem is read only for the first."""
    from optimiser.model.transforms import close_more
    from optimiser.solve.relax_first_reduced import ReducedProblems

    p = prepare(make_district(30 + 10 * seed, 60, 12, 1, seed=seed)).problem
    rng = np.random.default_rng(seed)
    order = [int(d) for d in rng.permutation(len(p.decisions))]
    steps = [set(order[:n]) for n in (len(order) // 6, len(order) // 3, len(order) // 2)]
    red = ReducedProblems(p)
    for closed in steps:
        src = red.source(closed)
        q = red.build(closed)
        _assert_same(q, fix_decisions(p, {d: 0 for d in closed}))
        assert red.get(closed) is q and (src is p) == (closed is steps[0])
    assert red.from_reduced == 2 and red.get(set()) is p and red.get(steps[0]) is None
    _assert_same(close_more(p, steps[2], p, ()), fix_decisions(p, {d: 0 for d in steps[2]}))
    # closed decisions the reduced problem does not have: the whole problem is fixed
    assert red.source(steps[0]) is p


def test_option_sites_names_an_options_one_site_or_says_none_or_several():
    """``flat.option_sites``: an option's one site (decision id), -1 with none, -2 with several, from
    hand-made options over two sites (decisions 1 and 3) and two crossings (0 and 2)."""
    lens = np.array([1, 2, 1, 2, 0, 3])
    options = flat.FlatOptions(lens, np.array([1, 0, 1, 2, 1, 3, 2, 0, 1]), np.repeat(np.arange(6), lens), {})
    # options: (1,), (0, 1), (2,), (1, 3), (), (2, 0, 1)
    is_site = np.array([False, True, False, True])
    assert flat.option_sites(options, is_site).tolist() == [1, 1, -1, -2, -1, 1]
