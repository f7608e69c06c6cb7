"""The exact model per count vector (:mod:`optimiser.solve.vector_exact`) and relax-first's exact
phase through it (:mod:`optimiser.solve.relax_first_vectors`), against brute force and the direct
solve."""

from __future__ import annotations

import math

import pytest

from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import fix_decisions
from optimiser.solve import interrupt, relax_first_sites
from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_settings as rf_settings
from optimiser.solve import relax_first_vectors as rfv
from optimiser.solve.count_split import maximal_count_vectors
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.relax_first_settings import FIX_SECONDS_PER_LEVEL
from optimiser.solve.result import Status
from optimiser.solve.vector_exact import solve_count_vector
from tests.random_problems import feasible_layouts
from tests.relax_district import relax_district, run_relax_first
from tests.test_site_chains import _access_problem

# written in nominal seconds: one per second of the limit (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("nominal_limits")


@pytest.fixture(autouse=True)
def from_the_greedy_sites(monkeypatch):
    """Relax-first from the greedy's own layout: with its sites re-chosen exactly
    (:mod:`optimiser.solve.relax_first_sites`) the district's optimum is the incumbent at once and
    the exact phase per vector, tested here, has nothing better to find."""
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.0)


OPTS = SolveOptions(time_limit_s=20.0, seed=0, workers=1, cpsat_search="lp-eager", site_chains=True)


def _in_vector(classes, vector, layout) -> bool:
    return all(sum(1 for i in m if i in layout) <= cap for m, cap in zip(classes.members, vector))


@pytest.mark.parametrize("seed", range(0, 24, 3))
def test_each_vector_gives_its_brute_force_optimum_or_nothing_below_the_cutoff(seed):
    p = _access_problem(seed)
    split = maximal_count_vectors(p)
    layouts = [(s, p.objective_of(s)) for s in feasible_layouts(p)]
    assert split is not None and layouts
    classes, vectors = split
    for vec in vectors:
        inside = [o for s, o in layouts if _in_vector(classes, vec, s)]
        if not inside:
            continue
        best = min(inside)
        r = solve_count_vector(p, classes, vec, best, OPTS, safety_net_s=60.0)
        assert r.status is Status.OPTIMAL and r.objective == best == r.bound and r.finished
        assert _in_vector(classes, vec, set(r.chosen)) and p.objective_of(set(r.chosen)) == best
        r = solve_count_vector(p, classes, vec, best - 1, OPTS, safety_net_s=60.0)
        assert r.status is Status.INFEASIBLE and r.bound == best and r.objective is None and not r.chosen


@pytest.mark.parametrize("seed", range(1, 24, 3))
def test_a_vector_whose_closed_decisions_are_fixed_keeps_every_layout_that_avoids_them(seed):
    # what relax-first hands over: the vector's closed decisions fixed at 0; the optimum over the
    # layouts avoiding them is what comes back
    p = _access_problem(seed)
    classes, vectors = maximal_count_vectors(p)
    layouts = [(s, p.objective_of(s)) for s in feasible_layouts(p)]
    closed = {4 + seed % 4}
    for vec in vectors:
        inside = [o for s, o in layouts if _in_vector(classes, vec, s) and not s & closed]
        r = solve_count_vector(fix_decisions(p, {i: 0 for i in closed}), classes, vec, 10**12, OPTS, safety_net_s=60.0)
        if inside:
            assert r.status is Status.OPTIMAL and r.objective == min(inside)
        else:
            assert r.status is Status.INFEASIBLE


def test_a_search_stopped_at_its_work_limit_gives_a_valid_bound():
    stopped = 0
    for seed in range(12):
        p = _access_problem(seed)
        classes, vectors = maximal_count_vectors(p)
        layouts = [(s, p.objective_of(s)) for s in feasible_layouts(p)]
        for vec in vectors:
            inside = [o for s, o in layouts if _in_vector(classes, vec, s)]
            r = solve_count_vector(p, classes, vec, 10**12, OPTS.replace(time_limit_s=1e-6), safety_net_s=60.0)
            if not r.finished:
                stopped += 1
                assert r.stopped_by == "work_limit" and r.status in (Status.FEASIBLE, Status.UNKNOWN)
                assert not inside or r.bound <= min(inside)
    assert stopped  # the limit stopped some


@pytest.fixture(scope="module")
def district():
    return relax_district()


_run = run_relax_first


@pytest.fixture
def always_split(monkeypatch):
    """Split whatever the vectors' sizes (here (2, 3, 1) keeps every level of the reduced model),
    and no tighter relaxation per vector before (it settles some of the vectors these tests hand
    to the exact phase; :func:`test_each_vector_s_own_relaxation_raises_its_bound_soundly`)."""
    monkeypatch.setattr(rfv, "EXACT_BY_VECTOR_MAX_SHARE", 1.01)
    monkeypatch.setattr(rfv, "VECTOR_TIGHTEN_SHARE", 0.0)


def test_relax_first_proves_the_optimum_vector_by_vector(district, always_split):
    # measured: the split leaves 3 of the 5 vectors; (2, 3, 1) holds the optimum (one signalised
    # crossing, one footbridge, three hubs: brute force over the district's 72,347 layouts), the
    # other two are proven empty below the greedy's 725,105,618 (their best, two hubs)
    *_, optimum = district
    r, res = _run(district, 2.0)
    report = r.info["exact_by_vector"]
    assert res.status is Status.OPTIMAL and res.objective == optimum == res.bound
    assert len(report) == sum(not vb.pruned for vb in r.vector_bounds) == 3
    assert [line for line in report if "nothing better" not in line] == [
        f"(2, 3, 1): its optimum {optimum} (0.09 units, 662 levels)"]
    # each vector had its own closed decisions: more than the whole problem's
    kept = [vb for vb in r.vector_bounds if not vb.pruned]
    assert all(vb.fixed_zero >= r.fixed for vb in kept) and any(len(vb.fixed_zero) > len(r.fixed) for vb in kept)
    assert r.work_s <= 2.0 + 1e-9
    again = _run(district, 2.0)[1]
    assert (again.objective, again.bound, again.chosen) == (res.objective, res.bound, res.chosen)


def test_the_whole_reduced_model_when_switched_off(district, monkeypatch):
    *_, optimum = district
    monkeypatch.setattr(rf, "EXACT_BY_VECTOR", False)
    r, res = _run(district, 2.0)
    assert "exact_by_vector" not in r.info
    assert res.status is Status.OPTIMAL and res.objective == optimum


def test_a_vector_as_large_as_the_reduced_model_leaves_it_whole(district):
    *_, optimum = district
    r, res = _run(district, 2.0)
    assert r.info["exact_by_vector"] == ["(2, 3, 1): 662 of the whole reduced model's 662 levels: the whole reduced "
                                         "model instead"]
    assert res.status is Status.OPTIMAL and res.objective == optimum and r.bound_from == "exact model"
    assert r.info["work_s"]["exact model"] > 0


def test_a_lone_open_vector_runs_its_own_model_not_the_whole_one(district, monkeypatch):
    # the other vectors settled (here: counted as pruned; brute force has them empty below the
    # greedy): the one left keeps all 662 levels, yet runs alone, with its class caps and cut-off
    *_, optimum = district
    still_open = rfv.still_open
    monkeypatch.setattr(rfv, "still_open", lambda vb, best: still_open(vb, best) and vb.vector == (2, 3, 1))
    r, res = _run(district, 2.0)
    report = r.info["exact_by_vector"]
    assert len(report) == 1 and report[0].startswith(f"(2, 3, 1): its optimum {optimum} (")
    assert report[0].endswith(" units, 662 levels)")
    assert res.status is Status.OPTIMAL and res.objective == optimum == res.bound and r.bound_from == "exact model"


def test_large_vector_needs_another_open_vector():
    from types import SimpleNamespace

    big, small = SimpleNamespace(vector=(2, 3, 1)), SimpleNamespace(vector=(1, 1, 1))
    levels = {big.vector: 95, small.vector: 10}
    assert rfv.large_vector([big], levels, 100) is None
    assert rfv.large_vector([small, big], levels, 100) == big.vector
    assert rfv.large_vector([big, small], {big.vector: 89, small.vector: 10}, 100) is None


def test_vectors_the_work_left_cannot_reach_keep_the_lagrangian_bound(district, always_split, monkeypatch):
    # set-ups dear enough that only the first vector is afforded: the others are not reached and
    # the bound is the least of their Lagrangian bounds, below the optimum
    *_, optimum = district
    p = district[0]
    monkeypatch.setattr(rf_settings, "BACKEND_SETUP_SECONDS_PER_LEVEL", 1.5 / p.n_levels())
    r, res = _run(district, 2.0)
    report = r.info["exact_by_vector"]
    reached = [line for line in report if "not reached" not in line]
    unreached = [vb for vb in r.vector_bounds if any(line.startswith(f"{vb.vector}: not reached") for line in report)]
    assert reached and unreached
    # the incumbent is the greedy's (725,105,618: two hubs); the optimum's vector is not reached
    assert res.status is Status.FEASIBLE and res.objective > optimum
    assert res.bound == pytest.approx(min(vb.bound for vb in unreached)) and res.bound <= optimum
    assert math.isfinite(res.bound) and r.work_s <= 2.0 + 1e-9


def test_a_better_layout_found_in_a_vector_becomes_the_incumbent(district, always_split, monkeypatch):
    # the only incumbent before the exact phase: the optimum less one of its crossings (feasible,
    # worse); the vector holding the optimum gives it, the others give nothing better or their
    # own optimum, worse than it (measured: (4, 2, 1) its optimum 725,105,618, two hubs)
    p, _, ev, optimum = district
    direct = backend_module("cpsat").solve(p, SolveOptions(time_limit_s=30.0, seed=0, workers=1))
    crossings = [i for i in direct.chosen if p.decisions[i].kind == "crossing"]
    worse = tuple(i for i in direct.chosen if i != crossings[0])
    assert ev.feasible(ev.layout(worse)) and p.objective_of(set(worse)) > optimum
    offer = rf.RelaxFirst.offer

    def only_worse_then_exact(self, cand, where):
        if where == "exact model":
            offer(self, cand, where)
        elif self.best is None:
            offer(self, worse, where)

    monkeypatch.setattr(rf.RelaxFirst, "offer", only_worse_then_exact)
    r, res = _run(district, 2.0)
    report = r.info["exact_by_vector"]
    assert sum(f"its optimum {optimum} " in line for line in report) == 1, report
    assert all(int(line.split("its optimum ")[1].split()[0]) >= optimum for line in report if "its optimum" in line)
    assert r.info["incumbent_from"] == "exact model"
    assert res.status is Status.OPTIMAL and res.objective == optimum == res.bound


def test_a_vector_the_work_cannot_set_up_is_skipped_not_the_ones_after_it(district, always_split, monkeypatch):
    # the first vector's set-up refused: it keeps its Lagrangian bound, the smaller ones after it
    # are still settled
    *_, optimum = district
    affords = rf.RelaxFirst.affords
    refused: list[int] = []

    def refuse_first(self, levels, budget_s):
        if "exact_by_vector" not in self.info and self.vector_bounds and not refused:
            refused.append(levels)
            return False
        return affords(self, levels, budget_s)

    monkeypatch.setattr(rf.RelaxFirst, "affords", refuse_first)
    r, res = _run(district, 2.0)
    report = r.info["exact_by_vector"]
    assert report[0].endswith("not reached") and all("nothing better" in line or "its optimum" in line
                                                     for line in report[1:])
    first = next(vb for vb in r.vector_bounds if report[0].startswith(str(vb.vector)))
    assert res.bound == pytest.approx(min(first.bound, optimum)) and res.objective == optimum
    assert r.stats["deterministic_time"] > 0 and r.stats["count_vectors"] == report


def _stop_now(how: str, monkeypatch, net: tuple) -> None:
    """A stop request, or a wall-clock net run out: ``net`` is (object, attribute, replacement)."""
    if how == "stop request":
        interrupt.request("SIGTERM")
    else:
        monkeypatch.setattr(*net)


def _run_and_reset(district):
    """The district's 2 s run; any stop request cleared after it."""
    try:
        return _run(district, 2.0)
    finally:
        interrupt.reset()


@pytest.mark.parametrize("how", ["stop request", "wall clock"])
def test_a_stop_or_the_net_after_one_vector_leaves_the_rest_unreached(district, always_split, monkeypatch, how):
    *_, optimum = district
    solve = rfv.solve_count_vector
    calls: list[tuple[int, ...]] = []

    def one_then_stop(problem, classes, vector, *a, **k):
        calls.append(vector)
        out = solve(problem, classes, vector, *a, **k)
        _stop_now(how, monkeypatch, (rf.RelaxFirst, "wall_left", lambda self: 0.0))
        return out

    monkeypatch.setattr(rfv, "solve_count_vector", one_then_stop)
    r, res = _run_and_reset(district)
    assert len(calls) == 1
    report = r.info["exact_by_vector"]
    assert "nothing better" in report[0] and all(line.endswith("not reached") for line in report[1:])
    if how == "stop request":
        assert res.status is Status.INTERRUPTED
    else:
        assert res.stopped_by == "wall_clock" and res.status is Status.FEASIBLE
        assert res.bound <= optimum <= res.objective  # the optimum's vector (2, 3, 1) is not reached


def test_the_third_round_reserves_the_whole_reduced_models_set_up_even_when_split(district, always_split, monkeypatch):
    r, _ = _run(district, 2.0)
    # re-open the vectors against a worse incumbent: several open, each with its own model
    r.best = int(r.best * 1.5)
    levels = r.reduced_levels()
    order, _, vector_levels = rfv.open_vectors(r)
    assert len(order) == len(vector_levels) >= 2 and r.by_vector()
    whole = r.reduce_cost(rebuilt=True) + r.backend_cost(levels)
    every_vector = r.reduce_cost(rebuilt=True) + sum(levels * FIX_SECONDS_PER_LEVEL + r.backend_cost(vector_levels[vb.vector])
                                                     for vb in order)
    assert rfv.exact_setup_cost(r, levels) == pytest.approx(whole) and whole < every_vector
    monkeypatch.setattr(rf, "EXACT_BY_VECTOR", False)
    assert rfv.exact_setup_cost(r, levels) == pytest.approx(whole)


@pytest.fixture(scope="module")
def vector_optima(district):
    """Each count vector's optimum on the district (CP-SAT, no cut-off)."""
    p = district[0]
    classes, vectors = maximal_count_vectors(p)
    out = {}
    for vec in vectors:
        r = solve_count_vector(p, classes, vec, 10**12, OPTS, safety_net_s=60.0)
        assert r.status in (Status.OPTIMAL, Status.INFEASIBLE)
        out[vec] = r.objective if r.status is Status.OPTIMAL else math.inf
    return out


def test_each_vector_s_own_relaxation_raises_its_bound_soundly(district, vector_optima, monkeypatch):
    *_, optimum = district
    calls = []
    real = rfv.split_lagrangian_bound

    def spy(problem, classes, vectors, *a, **kw):
        res, out = real(problem, classes, vectors, *a, **kw)
        calls.append({vb.vector: (vb.bound, vb.pruned) for vb in out})
        return res, out

    monkeypatch.setattr(rfv, "split_lagrangian_bound", spy)
    r, res = _run(district, 2.0)
    assert res.status is Status.OPTIMAL and res.objective == optimum == res.bound
    split, *own = calls
    assert len(split) == 5 and own and all(len(c) == 1 for c in own)  # then one vector per ascent
    # every bound proven is at most that vector's optimum; a pruned vector holds nothing better
    for c in calls:
        for vec, (bound, pruned) in c.items():
            assert bound <= vector_optima[vec] and (not pruned or vector_optima[vec] >= optimum)
    for vb in r.vector_bounds:
        assert vb.bound <= vector_optima[vb.vector] and (not vb.pruned or vector_optima[vb.vector] >= optimum)
    # measured: (4, 2, 1) 725,102,984 (2,634 below its optimum 725,105,618, two hubs; 725,103,511
    # before wave 31's greedy charge moved the phases' budgets) and (5, 3, 0) 712,820,118 (its
    # optimum 725,707,765, no footbridge) after their own relaxations, above the split's; both
    # vector optima also by brute force over the district's 72,347 layouts
    kept = {vb.vector: vb.bound for vb in r.vector_bounds}
    assert kept[(4, 2, 1)] == 725102984 > split[(4, 2, 1)][0] and kept[(5, 3, 0)] == 712820118 > split[(5, 3, 0)][0]
    assert vector_optima[(4, 2, 1)] == 725105618 and vector_optima[(5, 3, 0)] == 725707765
    assert r.info["vector_relaxations"] == [["(4, 2, 1): 725102984, 41 closed, 2 passes",
                                             "(5, 3, 0): 712820118, 5 closed, 1 pass",
                                             f"(2, 3, 1): {kept[(2, 3, 1)]:.0f}, 0 closed, 1 pass"]]
    assert r.info["work_s"]["vector relaxations"] > 0 and r.work_s <= 2.0 + 1e-9
    again = _run(district, 2.0)[1]
    assert (again.objective, again.bound, again.chosen) == (res.objective, res.bound, res.chosen)


def test_no_vector_relaxations_when_switched_off(district, monkeypatch):
    monkeypatch.setattr(rfv, "VECTOR_TIGHTEN_SHARE", 0.0)
    r, res = _run(district, 2.0)
    assert "vector_relaxations" not in r.info and "vector relaxations" not in r.info["work_s"]
    assert res.status is Status.OPTIMAL


@pytest.mark.parametrize("how", ["stop request", "the round's net"])
def test_a_stop_or_the_net_in_the_vector_relaxations_leaves_the_rest_unreached(district, monkeypatch, how):
    *_, optimum = district
    split = rfv.split_lagrangian_bound
    calls = []

    def one_then_stop(problem, classes, vectors, *a, **k):
        out = split(problem, classes, vectors, *a, **k)
        if len(vectors) == 1:  # a vector's own ascent
            calls.append(vectors[0])
            _stop_now(how, monkeypatch, (rf.Deadline, "share_left", lambda self, share: 0.0))
        return out

    monkeypatch.setattr(rfv, "split_lagrangian_bound", one_then_stop)
    r, res = _run_and_reset(district)
    report = r.info["vector_relaxations"][0]
    assert calls == [(4, 2, 1)] and report[0].startswith("(4, 2, 1): ") and report[0].endswith("1 pass")
    assert report[1:] == ["(5, 3, 0): not reached, 5 closed, 0 passes", "(2, 3, 1): not reached, 0 closed, 0 passes"]
    if how == "stop request":
        assert res.status is Status.INTERRUPTED
    else:
        assert res.bound <= optimum == res.objective


def test_vectors_whose_set_ups_exceed_the_work_left_leave_the_model_whole(district, always_split, monkeypatch):
    # set-ups made dear (the whole reduced model's 0.3 nominal s) and the work left cut to just
    # below the open vectors' set-ups together: no split could reach the least bounds, the whole
    # model fits, so it runs instead; with the work left above their set-ups the vectors split
    *_, optimum = district
    real = rfv.exact_by_vector
    seen: dict[str, float] = {}

    def squeezed(run, whole, margin):
        order, zeros, levels = rfv.open_vectors(run)
        setups = sum(run.backend_cost(levels[vb.vector]) + (rfv.fix_cost(whole) if zeros[vb.vector] else 0.0)
                     for vb in order)
        run.charge(run.remaining() - run.reduce_cost() - (setups + margin), "test")
        seen.update(setups=setups, whole=run.backend_cost(whole), vectors=len(order))
        return real(run, whole)

    for margin, whole_model in ((-0.05, True), (0.05, False)):
        monkeypatch.setattr(rf_settings, "BACKEND_SETUP_SECONDS_PER_LEVEL", 0.3 / 662)
        monkeypatch.setattr(rf, "exact_by_vector", lambda run, whole, m=margin: squeezed(run, whole, m))
        r, res = _run(district, 2.0)
        report = r.info["exact_by_vector"]
        assert seen["vectors"] >= 2 and seen["setups"] > seen["whole"] + 0.1
        if whole_model:
            assert report == [f"{seen['vectors']} vectors' set-ups {seen['setups']:.2f} nominal s, over the "
                              f"{seen['setups'] - 0.05:.2f} left: the whole reduced model (662 levels) instead"]
            assert r.info["work_s"]["exact model"] > seen["whole"]
        else:
            assert len(report) == seen["vectors"] and all("whole" not in line for line in report)
        assert res.bound <= optimum <= res.objective
