"""Two crossings moved together (:mod:`optimiser.solve.crossing_pairs`): a walk over two barriers
that no single exchange reaches, by hand; every search against brute force over the same moves on
20-firm districts; and relax-first's step (:func:`~optimiser.solve.relax_first_sites.crossing_pairs_moved`)
on both backends, within its share and never twice from one layout."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_sites
from optimiser.solve.crossing_pairs import move_crossing_pairs
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator, greedy_search
from optimiser.solve.local_search import swap_crossings
from optimiser.solve.pair_moves import PairIndex, pair_synergy
from optimiser.solve.registry import backend as backend_module


def two_barriers_built_apart() -> Problem:
    """Crossings 0, 1 on barrier b0 and 2, 3 on b1, cost 1 each; at most one per barrier. Firm pair
    ``far`` (weight 10) walks 1,000 units, or 100 over crossings 1 and 3 together; ``west`` and
    ``east`` (weight 1) save 100 each over crossing 0 and crossing 2 alone. By hand, layout {0, 2}:
    10 x 1,000 + 400 + 400 = 10,800; every single exchange (0 -> 1 or 2 -> 3) gives up 100 and
    gains nothing (10,900); both together: 10 x 100 + 500 + 500 = 2,000, the optimum."""
    dec = [Decision(f"c{i}", "crossing", f"b{i // 2}", 1.0, f"c{i}") for i in range(4)]
    p = Problem(dec, [(i,) for i in range(4)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2.0)
    both = p.option_id((1, 3))
    p.clients += [
        Client("far", "pair", 10, 1000, (100,), ((both,),)),
        Client("west", "pair", 1, 500, (400,), ((0,),)),
        Client("east", "pair", 1, 500, (400,), ((2,),)),
    ]
    p.constraints += [Constraint("budget", tuple((i, 1) for i in range(4)), None, 2, "budget"),
                      Constraint("count:b0", ((0, 1), (1, 1)), None, 1, "count:b0"),
                      Constraint("count:b1", ((2, 1), (3, 1)), None, 1, "count:b1")]
    return p


def test_two_crossings_moved_together_reach_what_no_single_exchange_does():
    p = two_barriers_built_apart()
    ev = Evaluator(p)
    x = ev.layout((0, 2))
    assert ev.objective(x) == p.objective_of({0, 2}) == 10_800
    assert p.objective_of({1, 2}) == p.objective_of({0, 3}) == 10_900
    assert swap_crossings(ev, x, 10_800) is None
    got = move_crossing_pairs(ev, x, 10_800)
    assert got.layout is not None and np.flatnonzero(got.layout).tolist() == [1, 3]
    assert got.objective == p.objective_of({1, 3}) == 2_000
    assert (got.pairs, got.evaluations) == (1, 1) and got.entries > 0
    # from the optimum nothing improves; with no evaluation allowed nothing is evaluated
    assert move_crossing_pairs(ev, got.layout, 2_000).layout is None
    none = move_crossing_pairs(ev, x, 10_800, max_evaluations=0)
    assert none.layout is None and none.objective == 10_800 and none.evaluations == 0


def test_a_pair_move_that_breaks_a_constraint_is_not_taken():
    p = two_barriers_built_apart()
    # crossing 3 may only be built with crossing 0: the move {0, 2} -> {1, 3} is infeasible
    p.constraints.append(Constraint("needs", ((3, 1), (0, -1)), None, 0, "needs"))
    ev = Evaluator(p)
    got = move_crossing_pairs(ev, ev.layout((0, 2)), 10_800)
    assert got.layout is None and got.objective == 10_800 and got.evaluations == 1


def _brute_force(p: Problem, ev: Evaluator, layout: tuple[int, ...]) -> int:
    """The best objective over every move of two built crossings into a pair of places not built
    with a synergy (one of each target's group and cost), by the problem's own objective and feasibility."""
    x = ev.layout(layout)
    crossing = p.crossing_mask
    length = ev.client_lengths(ev.open_options(x))[0]
    first, second, _ = pair_synergy(PairIndex(ev), x, length, ~crossing)
    key = [(d.kind, d.group, d.cost) for d in p.decisions]
    built = [i for i in layout if crossing[i]]
    best = p.objective_of(set(layout))
    for a, b in zip(first.tolist(), second.tolist()):
        for oa, ob in itertools.permutations(built, 2):
            if key[oa] != key[a] or key[ob] != key[b]:
                continue
            moved = (set(layout) - {oa, ob}) | {a, b}
            if p.is_feasible(moved):
                best = min(best, p.objective_of(moved))
    return best


def _starts(p: Problem, layout: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The feasible layouts one crossing move (to a place of its group and cost) away from ``layout``."""
    crossing = p.crossing_mask
    key = [(d.kind, d.group, d.cost) for d in p.decisions]
    out = []
    for o in (i for i in layout if crossing[i]):
        for n in (i for i in range(len(key)) if crossing[i] and i not in layout and key[i] == key[o]):
            moved = tuple(sorted((set(layout) - {o}) | {n}))
            if p.is_feasible(set(moved)):
                out.append(moved)
    return out


@pytest.mark.parametrize("seed", [1, 4, 5])
def test_every_search_finds_the_brute_force_best_pair_move(seed):
    # two barriers: walks over both need two crossings; the starts are the greedy's layout moved by one crossing
    p = prepare(make_district(20, 30, 20, 2, seed=seed)).problem
    ev = Evaluator(p)
    greedy = greedy_search(p, evaluator=ev, safety_net_s=60).layout
    assert greedy is not None
    key = [(d.kind, d.group, d.cost) for d in p.decisions]
    improved = evaluated = 0
    for layout in _starts(p, greedy):
        obj = p.objective_of(set(layout))
        got = move_crossing_pairs(ev, ev.layout(layout), obj, max_pairs=10**6, max_evaluations=10**6)
        want = _brute_force(p, ev, layout)
        assert got.objective == want
        evaluated += got.evaluations
        if got.layout is None:
            assert want == obj
            continue
        improved += 1
        chosen = set(np.flatnonzero(got.layout).tolist())
        assert want < obj and p.is_feasible(chosen) and p.objective_of(chosen) == want
        assert sorted(key[i] for i in chosen) == sorted(key[i] for i in layout)  # the same classes: counts, budget
        assert len(chosen ^ set(layout)) == 4
    assert improved >= 2 and evaluated > improved


def _runner(p, ev, backend):
    opts = SolveOptions(backend=backend, strategy="relax-first", time_limit_s=10.0, seed=0, workers=1, wall_limit_s=600.0)
    relaxed = relax_access_crossings(p)
    if relaxed is None:  # no walk to a facility: the problem is its own relaxation
        relaxed = copy.copy(p)
        relaxed.info = {**p.info, "levels": p.n_levels()}
    return rf.RelaxFirst(p, relaxed, backend_module(backend), opts, Deadline(10.0), ev)


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_relax_first_moves_pairs_within_its_share_once_per_layout(backend, monkeypatch):
    p = two_barriers_built_apart()
    ev = Evaluator(p)
    r = _runner(p, ev, backend)
    r.offer((0, 2), "start")
    work = r.work_s
    assert relax_first_sites.crossing_pairs_moved(r, "paired") is True
    assert r.best == 2_000 and r.layout == (1, 3) and r.info["incumbent_from"] == "paired"
    assert r.info["crossing_pairs"] == [1, 1, 1]
    charged = r.work_s - work
    build = 3 * ev.MT.nnz
    assert charged > relax_first_sites.pair_move_charge(r, 1, build)
    assert r.info["work_s"]["crossings moved in pairs"] == round(charged, 3)
    # from the optimum: searched once (no pair has a synergy there), then never again, nor charged
    assert relax_first_sites.crossing_pairs_moved(r, "paired") is False
    assert r.info["crossing_pairs"] == [2, 1, 1]
    work = r.work_s
    assert relax_first_sites.crossing_pairs_moved(r, "paired") is False
    assert r.work_s == work and r.info["crossing_pairs"] == [2, 1, 1]
    # a large relaxation, turned off, or a share that pays for no evaluation: nothing runs, nothing is charged
    for large, share in ((True, 0.05), (False, 0.0), (False, 1e-12)):
        monkeypatch.setattr(relax_first_sites, "PAIR_MOVE_SHARE", share)
        r2 = _runner(p, ev, backend)
        r2.large = large
        r2.offer((0, 2), "start")
        w2 = r2.work_s
        assert relax_first_sites.crossing_pairs_moved(r2, "paired") is False
        assert r2.work_s == w2 and r2.best == 10_800 and "crossing_pairs" not in r2.info


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_the_first_polish_moves_pairs_when_no_exchange_improves(backend):
    p = two_barriers_built_apart()
    ev = Evaluator(p)
    r = _runner(p, ev, backend)
    r.offer((0, 2), "start")
    r.polish("polished", rechoose=False, pairs=True)
    assert r.best == 2_000 and r.layout == (1, 3)
    assert r.info["incumbent_from"] == "polished, crossings moved in pairs"
    assert r.info["crossings_exchanged"] == [1]
    # without pairs (the polish after the Lagrangian rounds) nothing moves
    r2 = _runner(p, ev, backend)
    r2.offer((0, 2), "start")
    r2.polish("polished", rechoose=False)
    assert r2.best == 10_800 and "crossing_pairs" not in r2.info
