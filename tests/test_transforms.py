"""optimiser.model.transforms: fixing decisions and relaxing access, checked against the
literal per-incidence rule (every option of every level looked at in turn) as oracle, and
against the objective of every layout by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.model.problem import Client, Constraint, Problem
from optimiser.model.transforms import _rewritten, fix_decisions, relax_access_crossings
from optimiser.pipeline import prepare
from tests.random_problems import random_problem


def _fix_oracle(problem: Problem, fixed: dict[int, int]) -> Problem:
    """fix_decisions by its rule, one level at a time: the options with no decision fixed at 0
    lose their decisions fixed at 1; the level's first option left with none makes the walk
    always open at that level (its base); options before it get ids in their order."""
    q = _rewritten(problem, dict(problem.info))
    for c in problem.clients:
        levels, lopts, base = [], [], c.base
        for lev, opts in zip(c.levels, c.level_options):
            alive = [r for r in map(problem.options.__getitem__, opts) if all(fixed.get(d) != 0 for d in r)]
            rests = [tuple(d for d in r if d not in fixed) for r in alive]
            cut = next((i for i, r in enumerate(rests) if not r), len(rests))
            ids = sorted({q.option_id(r) for r in rests[:cut]})
            if cut < len(rests):
                base = lev
                break
            if ids:
                levels.append(lev)
                lopts.append(tuple(ids))
        q.clients.append(Client(c.key, c.kind, c.weight, base, tuple(levels), tuple(lopts)))
    q.constraints += [Constraint(f"fix:{d}", ((d, 1),), v, v, "fix") for d, v in sorted(fixed.items())]
    return q


def _pairs_oracle(problem: Problem, closed: set[int]) -> list[Client]:
    """The firm pairs of the relaxation with ``closed``: options needing a closed decision
    dropped, then the levels left empty."""
    out = []
    for c in problem.clients:
        if c.kind != "pair":
            continue
        kept = [(lev, tuple(o for o in opts if not closed & set(problem.options[o])))
                for lev, opts in zip(c.levels, c.level_options)]
        kept = [(lev, opts) for lev, opts in kept if opts]
        out.append(Client(c.key, c.kind, c.weight, c.base, tuple(v for v, _ in kept), tuple(o for _, o in kept)))
    return out


def _same(a: Problem, b: Problem) -> bool:
    return (a.options == b.options and a.clients == b.clients and a.constraints == b.constraints
            and a.penalties == b.penalties)


@pytest.mark.parametrize("seed", range(40))
def test_fix_decisions_matches_the_per_incidence_rule_and_every_layouts_objective(seed):
    """Random problems with conjunctions, a random mix of decisions fixed at 0 and at 1: the
    same options (ids in the same order), clients and constraints as the oracle, and every
    feasible layout that agrees with the fixes is feasible with the same objective in both
    problems (an infeasible one's must-serve walks have no length to compare)."""
    p = random_problem(seed)
    rng = np.random.default_rng(100 + seed)
    n_d = len(p.decisions)
    ids = rng.permutation(n_d)[: int(rng.integers(1, n_d))]
    fixed = {int(d): int(rng.integers(0, 2)) for d in ids}
    q = fix_decisions(p, fixed)
    assert _same(q, _fix_oracle(p, fixed))
    free = [d for d in range(n_d) if d not in fixed]
    ones = {d for d, v in fixed.items() if v == 1}
    for r in range(len(free) + 1):
        for extra in itertools.combinations(free, r):
            chosen = ones | set(extra)
            assert q.is_feasible(chosen) == p.is_feasible(chosen)
            if p.is_feasible(chosen):
                assert q.objective_of(chosen) == p.objective_of(chosen)



def test_fix_decisions_on_a_district_gives_new_options_the_oracles_ids():
    """40 firms, 3 hubs: crossings fixed at 0 and 1 and a hub at 1 — options are dropped,
    conjunctions lose members (and may become new options) and walks become always open: the
    same problem as the oracle's, option ids included."""
    p = prepare(make_district(40, 80, 16, 1, seed=3)).problem
    crossings = [i for i, d in enumerate(p.decisions) if d.kind == "crossing"]
    sites = [i for i, d in enumerate(p.decisions) if d.kind != "crossing"]
    fixed = {i: int(k % 3 == 0) for k, i in enumerate(crossings[::2])}
    fixed[sites[0]] = 1
    q = fix_decisions(p, fixed)
    shorter = sum(len(a.levels) < len(b.levels) for a, b in zip(q.clients, p.clients))
    rebased = sum(a.base != b.base for a, b in zip(q.clients, p.clients))
    assert shorter > 0 and rebased > 0
    assert _same(q, _fix_oracle(p, fixed))


@pytest.mark.parametrize("seed", range(3))
def test_relax_access_crossings_drops_the_closed_options_of_firm_pairs(seed):
    """A district with a third of its decisions closed: each firm pair keeps exactly its
    options without a closed decision, and its levels that still have one."""
    p = prepare(make_district(30, 60, 12, 1, seed=seed)).problem
    rng = np.random.default_rng(seed)
    closed = {int(d) for d in rng.permutation(len(p.decisions))[: len(p.decisions) // 3]}
    q = relax_access_crossings(p, closed)
    assert q is not None
    pairs = [c for c in q.clients if c.kind == "pair"]
    assert pairs == _pairs_oracle(p, closed)
    assert any(len(a.levels) < len(b.levels) for a, b in zip(pairs, (c for c in p.clients if c.kind == "pair")))
    # without closed decisions the pairs are kept as they are
    open_ = relax_access_crossings(p)
    assert open_ is not None
    assert [c for c in open_.clients if c.kind == "pair"] == [c for c in p.clients if c.kind == "pair"]


def test_fix_decisions_numbers_new_options_in_the_order_the_walks_meet_them():
    """Conjunctions of three decisions losing one fixed at 1 become new options: ids in the order
    the clients' walks meet them (not option order), none for an option after an always-open one
    in its level, and a walk made always open stops at that level."""
    from optimiser.model.problem import Decision

    dec = [Decision(f"d{i}", "crossing", "g", 1e5, f"d{i}") for i in range(5)]
    p = Problem(dec, [(i,) for i in range(5)], [], [], [], {}, 10, {"all": 1.0}, 1e6)
    a, b, c = p.option_id((0, 1, 2)), p.option_id((1, 3, 4)), p.option_id((0, 1, 4))
    p.clients += [Client("w1", "pair", 3, 900, (100, 200), ((b,), (a, 0))),
                  Client("w2", "pair", 2, 900, (150, 250), ((1, c), (a,)))]
    q = fix_decisions(p, {1: 1, 3: 0})
    assert _same(q, _fix_oracle(p, {1: 1, 3: 0}))
    # b needs 3 (closed): dropped; a -> (0, 2) is the first new option met; w2's first level is
    # always open (decision 1 is built), so c -> (0, 4) is never created
    assert q.options[len(p.options):] == [(0, 2)]
    assert q.clients[0].levels == (200,) and q.clients[0].level_options == ((0, len(p.options)),)
    assert q.clients[1].base == 150 and q.clients[1].levels == ()
    q2 = fix_decisions(p, {1: 1})
    assert _same(q2, _fix_oracle(p, {1: 1}))
    assert q2.options[len(p.options):] == [(3, 4), (0, 2)]  # b met before a


def _partial_oracle(problem: Problem, closed: set[int], exact: set[tuple[int, int]], chosen: set[int]) -> list[int | None]:
    """Each client's length under ``chosen`` by the rule of ``exact_sites``, one option at a time:
    options over a closed decision never open; an access option of a pair (client, site) in
    ``exact`` (site -1: crossings only) opens when all its decisions are chosen, any other access
    option when its non-crossing decisions are; a firm pair's when all are. ``None``: no option
    open and no base."""
    crossing = problem.crossing_mask
    out: list[int | None] = []
    for k, c in enumerate(problem.clients):
        length = c.base
        for lev, opts in zip(c.levels, c.level_options):
            for o in opts:
                req = set(problem.options[o])
                if req & closed:
                    continue
                sites = [d for d in req if not crossing[d]]
                site = sites[0] if len(sites) == 1 else (-1 if not sites else -2)
                need = req if c.kind == "pair" or (k, site) in exact else set(sites)
                if need <= chosen:
                    length = lev if length is None else min(length, lev)
        out.append(length)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_relax_access_crossings_keeps_the_exact_routes_of_the_sites_asked_for(seed):
    """A district with two barriers, a fifth of its decisions closed and half of its (walk, site)
    pairs kept exact: under 40 random layouts every walk is as long as the per-option rule says,
    at least its fully relaxed length and at most its exact one."""
    p = prepare(make_district(14, 30, 12, 2, seed=seed)).problem
    rng = np.random.default_rng(seed)
    closed = {int(d) for d in rng.permutation(len(p.decisions))[: len(p.decisions) // 5]}
    crossing = p.crossing_mask
    every = sorted({(k, ([d for d in p.options[o] if not crossing[d]] or [-1])[0])
                    for k, c in enumerate(p.clients) if c.kind != "pair" for opts in c.level_options for o in opts})
    exact = {every[i] for i in rng.permutation(len(every))[: len(every) // 2].tolist()}
    q, full = relax_access_crossings(p, closed, exact_sites=exact), relax_access_crossings(p, closed)
    assert q is not None and full is not None
    assert full.n_levels() < q.n_levels() < p.n_levels()
    open_ = [d for d in range(len(p.decisions)) if d not in closed]
    for _ in range(40):
        chosen = {int(d) for d in rng.choice(open_, size=int(rng.integers(1, len(open_))), replace=False)}
        want = _partial_oracle(p, closed, exact, chosen)
        got = [c.length(q.open_options(chosen)) for c in q.clients]
        assert got == want
        loose = [c.length(full.open_options(chosen)) for c in full.clients]
        tight = [c.length(p.open_options(chosen)) for c in p.clients]
        assert all(a is None or (b is not None and b <= a) for a, b in zip(got, loose))
        assert all(b is None or (a is not None and a <= b) for a, b in zip(got, tight))
    # every pair exact: nothing is relaxed any more
    assert relax_access_crossings(p, exact_sites=set(every)) is None
