"""Two-decision additions of the greedy (optimiser.solve.pair_moves): a walk over two barriers that
the one-at-a-time greedy never starts, the synergy's values, and every confirmed pair's gain checked
against the exact objective on random problems."""

from __future__ import annotations

import itertools

import numpy as np

from optimiser.model.problem import Client, Constraint, Decision, Problem
from optimiser.solve.heuristic import Evaluator, _complete, add_greedy, greedy_search
from optimiser.solve.pair_moves import PairIndex, best_pair, pair_synergy
from tests.random_problems import random_problem


def two_barriers() -> Problem:
    """Four crossings of cost 1, a budget of 2. Firm pair ``far`` (weight 10) walks 1,000 units, or
    100 over crossings 0 and 1 together (one on each barrier); ``near`` and ``side`` (weight 1) save
    100 and 50 over crossings 2 and 3 alone. By hand: the greedy one at a time builds 2 and 3
    (objective 10 x 1,000 + 400 + 450 = 10,850); the optimum builds 0 and 1 (1,000 + 500 + 500 = 2,000)."""
    dec = [Decision(f"c{i}", "crossing", f"b{i % 2}", 1.0, f"c{i}") for i in range(4)]
    p = Problem(dec, [(i,) for i in range(4)], [], [], [], {"budget": "budget"}, 10, {"all": 1.0}, 2.0)
    both = p.option_id((0, 1))
    p.clients += [
        Client("far", "pair", 10, 1000, (100,), ((both,),)),
        Client("near", "pair", 1, 500, (400,), ((2,),)),
        Client("side", "pair", 1, 500, (450,), ((3,),)),
    ]
    p.constraints.append(Constraint("budget", tuple((i, 1) for i in range(4)), None, 2, "budget"))
    return p


def test_the_one_at_a_time_greedy_misses_a_walk_over_two_barriers_and_the_pairs_find_it():
    p = two_barriers()
    ev = Evaluator(p)
    none = np.zeros(4, dtype=bool)
    for per_cost in (False, True):
        alone = add_greedy(ev, np.zeros(4, dtype=np.int8), none, per_cost)
        assert np.flatnonzero(alone).tolist() == [2, 3] and ev.objective(alone) == 10_850
        paired = add_greedy(ev, np.zeros(4, dtype=np.int8), none, per_cost, PairIndex(ev))
        assert np.flatnonzero(paired).tolist() == [0, 1] and ev.objective(paired) == 2_000
    best = _complete(ev, np.zeros(4, dtype=np.int8), none, PairIndex(ev))
    assert best is not None and best[1] == 2_000
    g = greedy_search(p)
    assert g.layout == (0, 1) and p.objective_of({0, 1}) == 2_000
    assert g.work > 0 and g.gathered > 0 and g.calls > 0


def test_pair_synergy_is_the_decrease_of_the_options_that_need_both():
    p = two_barriers()
    ev = Evaluator(p)
    index = PairIndex(ev)
    x = np.zeros(4, dtype=np.int8)
    length, _ = ev.client_lengths(ev.open_options(x))
    first, second, syn = pair_synergy(index, x, length, np.zeros(4, dtype=bool))
    assert (first.tolist(), second.tolist(), syn.tolist()) == ([0], [1], [10 * 900])
    # banned, or one of them built (then the option is one short: priced by the single gains)
    assert pair_synergy(index, x, length, np.array([True, False, False, False]))[2].size == 0
    x[0] = 1
    assert pair_synergy(index, x, length, np.zeros(4, dtype=bool))[2].size == 0
    assert index.work > 0


def test_a_pair_over_the_budget_is_not_taken():
    p = two_barriers()
    p.constraints[0] = Constraint("budget", tuple((i, 1) for i in range(4)), None, 1, "budget")
    ev = Evaluator(p)
    x = np.zeros(4, dtype=np.int8)
    obj, g, _ = ev.additions(x)
    assert best_pair(PairIndex(ev), x, obj, g, np.zeros(4, dtype=bool), False) is None
    assert greedy_search(p).layout == (2,)


def _check_random(seed: int) -> tuple[int, int]:
    """Every pair's estimate at least its exact gain and every confirmed pair exact, on random
    layouts of a random problem; (pairs estimated, pairs confirmed)."""
    p = random_problem(seed, n_dec=7)
    p.penalties.clear()  # the estimate bounds the exact gain but for penalties (best_pair's docstring)
    ev = Evaluator(p)
    index = PairIndex(ev)
    n = ev.n_d
    rng = np.random.default_rng(seed)
    none = np.zeros(n, dtype=bool)
    checked = confirmed = 0
    for _ in range(6):
        x = (rng.random(n) < 0.3).astype(np.int8)
        obj, g, _ = ev.additions(x)
        length, _ = ev.client_lengths(ev.open_options(x))
        first, second, syn = pair_synergy(index, x, length, none)
        for d, e, s in zip(first.tolist(), second.tolist(), syn.tolist()):
            assert x[d] == 0 and x[e] == 0 and d < e and s > 0
            y = x.copy()
            y[[d, e]] = 1
            assert int(g[d]) + int(g[e]) + s >= obj - ev.objective(y)
            checked += 1
        for per_cost in (False, True):
            move = best_pair(index, x, obj, g, none, per_cost, confirm=50)
            if move is None:
                continue
            y = x.copy()
            y[[move.first, move.second]] = 1
            chosen = set(np.flatnonzero(y).tolist())
            assert move.gain == p.objective_of(set(np.flatnonzero(x).tolist())) - p.objective_of(chosen)
            assert move.gain > int(g[move.first]) + int(g[move.second])
            assert ev.upper_ok(ev.open_options(y))
            confirmed += 1
    # the greedy with pairs stays feasible and never beats brute force
    layout = greedy_search(p).layout
    if layout is not None:
        assert p.is_feasible(set(layout))
        feasible = [p.objective_of(set(s)) for r in range(n + 1) for s in itertools.combinations(range(n), r)
                    if p.is_feasible(set(s))]
        assert p.objective_of(set(layout)) >= min(feasible)
    return checked, confirmed


def test_confirmed_pairs_are_exact_and_the_estimate_bounds_them_on_random_problems():
    totals = np.array([_check_random(seed) for seed in range(30)]).sum(axis=0)
    assert totals[0] >= 30 and totals[1] >= 5, totals


def _counts(ev: Evaluator) -> tuple[int, int, int]:
    return ev.work, ev.gathered, ev.calls


def test_reused_lengths_and_open_options_give_the_same_moves_and_count_only_the_work_done():
    """best_pair with the greedy step's Additions (lengths and A @ x reused) and a confirmation's
    objective with its open options passed: the same answers, and the counts the greedy is charged
    by (work, gathered, calls) less by exactly what was not computed again: per best_pair the open
    options, the client lengths and the A @ x of the options two short; per objective the open options."""
    found = 0
    for seed in range(12):
        p = random_problem(seed, n_dec=7)
        fresh, reuse = Evaluator(p), Evaluator(p)
        none = np.zeros(fresh.n_d, dtype=bool)
        rng = np.random.default_rng(seed)
        for _ in range(4):
            x = (rng.random(fresh.n_d) < 0.3).astype(np.int8)
            before = np.subtract(_counts(fresh), _counts(reuse))
            obj, g, allowed = fresh.additions(x)
            state = reuse.addition_state(x)
            # what it reuses, against objectives computed from scratch by a third evaluator
            brute = Evaluator(p)
            assert state.objective == obj == brute.objective(x)
            for i in np.nonzero(x == 0)[0]:
                y = x.copy()
                y[i] = 1
                assert state.gain[i] == g[i] == brute.objective(x) - brute.objective(y)
            gathered0 = brute.gathered
            brute.client_lengths(brute.open_options(x))
            lengths_gathered = brute.gathered - gathered0
            for per_cost in (False, True):
                want = best_pair(PairIndex(fresh), x, obj, g, none, per_cost, confirm=50)
                got = best_pair(PairIndex(reuse), x, obj, g, none, per_cost, confirm=50, state=state)
                assert got == want
                found += got is not None
            fresh.open_options(x)
            assert reuse.objective(x, reuse.open_options(x)) == fresh.objective(x)
            nnz, n_o = fresh.A.nnz, fresh.n_o
            saved = (2 * (2 * nnz + n_o) + nnz + n_o, 2 * lengths_gathered, 3)
            assert tuple(np.subtract(_counts(fresh), _counts(reuse)) - before) == saved
    assert found >= 3, found
