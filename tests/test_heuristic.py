"""The greedy warm start: feasible, exactly scored, never makes a solve worse, and a CP-SAT
run that finds nothing in time still returns the greedy layout with a consistent gap."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Client, Decision, Penalty, Problem
from optimiser.pipeline import prepare
from optimiser.solve import cpsat
from optimiser.solve.heuristic import Evaluator, greedy_layout, greedy_search, hint_values
from optimiser.solve.local_search import polish
from optimiser.solve.result import Status, relative_gap
from optimiser.solve.strategy import solve
from tests.random_problems import random_problem
from tests.zoo_cases import CASES

_ZOO: dict = {}


def _zoo(name):
    if name not in _ZOO:
        _ZOO[name] = prepare(CASES[name]()).problem
    return _ZOO[name]


def _brute(problem: Problem):
    best = None
    n = len(problem.decisions)
    for r in range(n + 1):
        for s in itertools.combinations(range(n), r):
            if problem.is_feasible(set(s)):
                o = problem.objective_of(set(s))
                if best is None or o < best:
                    best = o
    return best


@pytest.mark.parametrize("name", sorted(CASES))
def test_greedy_feasible_and_exact_on_zoo(name):
    p = _zoo(name)
    ev = Evaluator(p)
    n = len(p.decisions)
    for r in range(min(n, 3) + 1):
        for s in itertools.combinations(range(n), r):
            x = np.zeros(n, dtype=np.int8)
            x[list(s)] = 1
            assert ev.objective(x) == p.objective_of(set(s))
            assert ev.feasible(x) == p.is_feasible(set(s))
    g = greedy_layout(p)
    best = _brute(p)
    if best is None:
        assert g is None
    else:
        assert g is not None and p.is_feasible(set(g))
        assert p.objective_of(set(g)) >= best


@pytest.mark.parametrize("seed", range(40))
def test_greedy_on_random_problems(seed):
    p = random_problem(seed)
    ev = Evaluator(p)
    rng = np.random.default_rng(seed + 1000)
    for _ in range(30):
        x = (rng.random(len(p.decisions)) < 0.4).astype(np.int8)
        s = set(np.nonzero(x)[0].tolist())
        assert ev.objective(x) == p.objective_of(s)
        assert ev.feasible(x) == p.is_feasible(s)
    g = greedy_layout(p)
    best = _brute(p)
    if g is not None:
        assert p.is_feasible(set(g))
        assert p.objective_of(set(g)) >= best
        x, ov, u, unc = hint_values(p, g)
        assert ev.objective(x) == p.objective_of(set(g))
    res = solve(p, "cpsat", time_limit_s=20, seed=0, workers=1)
    if best is None:
        assert res.status is Status.INFEASIBLE
    else:
        assert res.status is Status.OPTIMAL and res.objective == best


@pytest.mark.parametrize("name", ["budget_forbids_best", "facility_count_spacing", "weighted_coverage", "corridor_facility"])
def test_hint_never_makes_results_worse(name):
    p = _zoo(name)
    with_hint = cpsat.solve(p, SolveOptions(time_limit_s=20, seed=0, workers=1))
    without = cpsat.solve(p, SolveOptions(time_limit_s=20, seed=0, workers=1), use_hint=False)
    assert with_hint.status is without.status is Status.OPTIMAL
    assert with_hint.objective == without.objective


def test_hint_never_worse_when_time_limited():
    p = prepare(make_district(50, 100, 20, 1, seed=0)).problem
    g = greedy_layout(p)
    res = solve(p, "cpsat", time_limit_s=3, seed=0, workers=1)
    assert res.status.has_solution
    assert res.objective <= p.objective_of(set(g))
    assert res.objective == p.objective_of(set(res.chosen))


def test_no_solution_in_time_returns_greedy_as_feasible():
    p = prepare(make_district(50, 100, 20, 1, seed=0)).problem
    g = greedy_layout(p)
    assert g is not None
    res = cpsat.solve(p, SolveOptions(time_limit_s=0.001, seed=0, workers=1))
    assert res.status is Status.FEASIBLE  # never "optimal", never "unknown" with a feasible greedy
    assert res.objective == p.objective_of(set(res.chosen))
    assert res.bound is not None and res.bound <= res.objective
    assert res.gap == pytest.approx(relative_gap(res.objective, res.bound))
    if res.stats.get("incumbent") == "greedy":  # the warm start: the greedy layout, polished
        assert res.chosen == polish(p, g)
    full = solve(p, "cpsat", time_limit_s=0.001, seed=0, workers=1)
    assert full.status is Status.FEASIBLE and full.objective == p.objective_of(set(full.chosen))
    assert full.gap == pytest.approx(relative_gap(full.objective, full.bound))


@pytest.mark.parametrize("name", ["corridor_facility", "existing_facility", "facility_count_spacing",
                                  "optional_facility_unaffordable", "coverage_forces_social", "weighted_coverage"])
def test_improve_sites_is_feasible_never_worse_and_keeps_crossings_and_counts(name):
    from optimiser.solve.site_interchange import improve_sites

    p = _zoo(name)
    ev = Evaluator(p)
    kinds = {i: (d.kind, d.group) for i, d in enumerate(p.decisions) if d.kind != "crossing"}
    n = len(p.decisions)
    seen = 0
    for r in range(n + 1):
        for s in itertools.combinations(range(n), r):
            if not p.is_feasible(set(s)):
                continue
            out = set(improve_sites(p, s, evaluator=ev))
            seen += 1
            assert p.is_feasible(out)
            assert p.objective_of(out) <= p.objective_of(set(s))
            assert {i for i in out if i not in kinds} == {i for i in s if i not in kinds}
            for k in set(kinds.values()):
                assert sum(kinds.get(i) == k for i in out) == sum(kinds.get(i) == k for i in s)
    assert seen > 0


def test_improve_sites_finds_the_best_hubs_for_the_crossings_on_a_district():
    """40 firms, 3 hubs of 80 sites: from the greedy layout, re-choosing the hubs by
    interchange reaches the exact optimum of the hubs with the greedy's crossings fixed."""
    from optimiser.model.transforms import fix_decisions
    from optimiser.solve.site_interchange import improve_sites

    p = prepare(make_district(40, 80, 16, 1, seed=3)).problem
    ev = Evaluator(p)
    g = greedy_layout(p, evaluator=ev)
    out = improve_sites(p, g, evaluator=ev)
    crossings = [i for i, d in enumerate(p.decisions) if d.kind == "crossing"]
    fixed = fix_decisions(p, {i: int(i in g) for i in crossings})
    exact = solve(fixed, "cpsat", time_limit_s=60, seed=0, workers=1, strategy="direct")
    assert exact.status is Status.OPTIMAL
    assert p.objective_of(set(out)) == exact.objective < p.objective_of(set(g))


def test_greedy_budget_is_a_work_limit_and_the_safety_net_is_reported():
    """The greedy's layout does not depend on the clock: a work limit ends its swap pass; the
    wall-clock safety net only stops it when it must, and says so."""
    from optimiser.solve.heuristic import greedy_search

    p = prepare(make_district(50, 100, 20, 1, seed=0)).problem
    ev = Evaluator(p)
    first = greedy_search(p, evaluator=ev)
    again = greedy_search(p, evaluator=ev, safety_net_s=1e6)
    assert first.stopped_by in ("done", "work limit")
    assert first.layout == again.layout == greedy_layout(p) and first.swaps_tried == again.swaps_tried
    few = greedy_search(p, evaluator=ev, max_work=0)  # the minimum number of swaps only
    assert few.swaps_tried <= max(first.swaps_tried, 8)
    stopped = greedy_search(p, evaluator=ev, safety_net_s=0.0)
    assert stopped.stopped_by == "safety net" and stopped.swaps_tried == 0
    assert stopped.layout is not None and p.is_feasible(set(stopped.layout))


def _check_removals(p: Problem, layouts) -> int:
    """Evaluator.removals against Problem.objective_of with each chosen decision taken out;
    how many removals changed the objective."""
    ev = Evaluator(p)
    changed = 0
    for x in layouts:
        chosen = set(np.nonzero(x)[0].tolist())
        obj, loss = ev.removals(x)
        assert obj == p.objective_of(chosen)
        assert (loss[x == 0] == 0).all()
        for d in sorted(chosen):
            assert loss[d] == p.objective_of(chosen - {d}) - obj, (sorted(chosen), d)
            changed += int(loss[d] != 0)
    return changed


@pytest.mark.parametrize("seed", range(40))
def test_removals_are_the_exact_objective_increases_on_random_problems(seed):
    p = random_problem(seed)
    rng = np.random.default_rng(seed + 2000)
    layouts = [(rng.random(len(p.decisions)) < rng.uniform(0.2, 0.9)).astype(np.int8) for _ in range(30)]
    layouts.append(np.zeros(len(p.decisions), dtype=np.int8))
    _check_removals(p, layouts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_removals_are_the_exact_objective_increases_on_zoo(name):
    p = _zoo(name)
    n = len(p.decisions)
    layouts = [np.ones(n, dtype=np.int8)]
    for s in itertools.combinations(range(n), min(n, 2)):
        x = np.ones(n, dtype=np.int8)
        x[list(s)] = 0
        layouts.append(x)
    _check_removals(p, layouts)


def test_removals_on_a_district_with_routes_through_crossings():
    """Real-shaped options (walks through one or two crossings, facilities reached across a
    barrier): every removal exact, and most removals change the objective (the test bites)."""
    p = prepare(make_district(40, 80, 16, 1, seed=3)).problem
    rng = np.random.default_rng(7)
    layouts = [(rng.random(len(p.decisions)) < q).astype(np.int8) for q in (0.1, 0.3, 0.6, 1.0)]
    assert max(len(o) for o in p.options) >= 2
    assert _check_removals(p, layouts) >= 20


def test_removals_with_empty_repeated_and_shared_options():
    """Options no builder of the pipeline makes all at once, each priced exactly: an option with
    no decision (always open), one listing a decision twice, one option at two levels of a
    client and twice in a level, a must-serve client, a penalty over a two-decision option."""
    dec = [Decision(f"d{i}", "crossing", "g", 1e5, f"d{i}") for i in range(3)]
    p = Problem(dec, [(0,), (1,), (2,), (), (0, 0), (1, 2)], [], [], [], {}, 10, {"all": 1.0}, 1e6)
    p.clients += [
        Client("a", "pair", 5, 900, (100, 300, 700), ((0, 0), (4, 5), (3,))),
        Client("b", "pair", 7, None, (50, 80), ((5,), (1, 2))),
        Client("c", "pair", 3, 400, (10, 20), ((4,), (4, 1))),
    ]
    p.penalties.append(Penalty("pen", 70, (5, 4, 4)))
    layouts = [np.array(bits, dtype=np.int8) for bits in itertools.product((0, 1), repeat=3)]
    assert _check_removals(p, layouts) >= 6


@pytest.mark.parametrize("seed", range(4))
def test_the_evaluators_read_counts_are_its_documented_formulas(seed):
    """``gathered`` (the greedy's charge) per call, recomputed here from the matrices: client_lengths
    counts the open options' levels, an eighth of all levels and twice the distinct open levels;
    gains three per near option's level and the kept entries' sort (its key count times one plus its
    log2). A faster read of the same entries must not change what is counted."""
    p = random_problem(seed)
    ev = Evaluator(p)
    rng = np.random.default_rng(seed)
    read = 0
    for _ in range(6):
        x = (rng.random(len(p.decisions)) < 0.3).astype(np.int8)
        ov = ev.open_options(x)
        opened = np.flatnonzero(ov)
        levs = np.concatenate([ev.MT.indices[ev.MT.indptr[o]:ev.MT.indptr[o + 1]] for o in opened]) if opened.size else []
        before = ev.gathered
        length, _ = ev.client_lengths(ov)
        expect = 0 if not (ev.lev_len.size and opened.size) else \
            len(levs) + ev.lev_len.size // 8 + 2 * np.unique(levs).size
        assert ev.gathered - before == expect
        cnt = ev.option_counts(x)
        near, dec = ev._near(x, cnt)
        n_pos = int(sum(ev.MT.indptr[o + 1] - ev.MT.indptr[o] for o in near.tolist()))
        kept = 0
        for o in near.tolist():
            lv = ev.MT.indices[ev.MT.indptr[o]:ev.MT.indptr[o + 1]]
            kept += int((length[ev.lev_client[lv]] - ev.lev_len[lv] > 0).sum())
        before = ev.gathered
        ev.gains(x, length, ev.uncovered(ov), near, dec)
        pen = 0
        if ev.pw.size and near.size:
            pen = 3 * int(sum(ev.PT.indptr[o + 1] - ev.PT.indptr[o] for o in near.tolist()))
        expect = 0 if not near.size else 3 * n_pos + (kept * (1 + int(np.log2(kept))) if kept else 0) + pen
        assert ev.gathered - before == expect
        read += kept * len(levs)
    assert read > 0, "some call should read open levels and keep improving ones"


@pytest.mark.parametrize("seed", range(4))
def test_the_evaluator_above_its_level_runs_cap_gives_the_same_lengths_gains_and_counts(seed, monkeypatch):
    """Above ``LEVEL_RUNS_MAX_ENTRIES`` the evaluator gathers each entry's client and length instead of
    keeping them (memory): the same integers, the same counts, and the greedy the same layout."""
    import optimiser.solve.heuristic as heuristic

    p = random_problem(seed)
    kept = Evaluator(p)
    monkeypatch.setattr(heuristic, "LEVEL_RUNS_MAX_ENTRIES", 0)
    gathered = Evaluator(p)
    assert gathered.level_runs() is None and kept.level_runs() is not None
    rng = np.random.default_rng(seed)
    for _ in range(6):
        x = (rng.random(len(p.decisions)) < 0.3).astype(np.int8)
        a, b = kept.addition_state(x), gathered.addition_state(x)
        assert a.objective == b.objective
        assert np.array_equal(a.gain, b.gain) and np.array_equal(a.length, b.length)
    assert (kept.work, kept.gathered) == (gathered.work, gathered.gathered)
    monkeypatch.undo()
    g1 = greedy_search(p)
    monkeypatch.setattr(heuristic, "LEVEL_RUNS_MAX_ENTRIES", 0)
    g2 = greedy_search(p)
    assert (g1.layout, g1.work, g1.gathered) == (g2.layout, g2.work, g2.gathered)


def test_greedy_work_counts_are_the_same_in_two_runs():
    """The greedy's charge is read from counts (relax_first_settings.greedy_charge_s), not a clock."""
    p = random_problem(3)
    a, b = greedy_search(p), greedy_search(p)
    assert (a.work, a.gathered, a.calls) == (b.work, b.gathered, b.calls)
    assert a.work > 0 and a.gathered > 0 and a.calls > 0
