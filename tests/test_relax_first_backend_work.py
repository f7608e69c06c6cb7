"""Relax-first's backend phases are charged their set-up (model build, CP-SAT's LP), so its
time limit is a work budget that the backend calls cannot overrun (issue 17: rs005 / rs006
took 30 s of CPU under a 10 s limit, ended by the wall clock)."""

from __future__ import annotations

import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import cpsat, cpsat_model, relax_first_sites
from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_settings as rf_settings
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.result import Status

# written in nominal seconds: one per second of the limit (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("nominal_limits")


@pytest.fixture(scope="module")
def district():
    p = prepare(make_district(20, 40, 10, 1, seed=0)).problem
    return p, relax_access_crossings(p), Evaluator(p)


class _Recording:
    """The CP-SAT backend, recording each call's problem size and time limit."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.searches: list[str] = []
        self.inprocessing: list[bool] = []
        self._cpsat = backend_module("cpsat")

    def solve(self, problem, options, **kw):
        self.calls.append((problem.n_levels(), options.time_limit_s))
        self.searches.append(options.cpsat_search)
        self.inprocessing.append(options.sat_inprocessing)
        return self._cpsat.solve(problem, options, **kw)


def _runner(p, q, ev, backend, limit_s, search="lp", workers=1):
    opts = SolveOptions(backend="cpsat", strategy="relax-first", time_limit_s=limit_s, seed=0, workers=workers,
                        wall_limit_s=600.0, count_split=False, cpsat_search=search)
    return rf.RelaxFirst(p, q, backend, opts, Deadline(limit_s), ev)


def test_a_backend_call_is_charged_its_set_up_and_searches_the_rest(district):
    p, q, ev = district
    rec = _Recording()
    r = _runner(p, q, ev, rec, 30.0)
    before = r.work_s
    res = r.backend_solve(p, 2.0, "probe")
    setup = p.n_levels() * rf_settings.BACKEND_SETUP_SECONDS_PER_LEVEL
    # the search gets the rest, as BACKEND_UNITS_PER_S deterministic units per second
    rate = rf.BACKEND_UNITS_PER_S / cpsat_model.DETERMINISTIC_PER_SECOND
    assert rec.calls == [(p.n_levels(), pytest.approx((2.0 - setup) * rate))]
    det = res.stats["deterministic_time"]
    search = min(2.0 - setup, det / rf.BACKEND_UNITS_PER_S)
    assert r.work_s - before == pytest.approx(setup + search)
    assert r.info["work_s"]["probe"] == pytest.approx(setup + search, abs=1e-3)


def test_an_eager_lp_call_gets_lp_eager_and_its_own_unit_rate(district):
    """``eager_lp``: CP-SAT's "lp" settings become "lp-eager", its deterministic limit and its
    charge use EXACT_EAGER_UNITS_PER_S; a run with CP-SAT's own settings, or with two workers,
    keeps its settings and the lazy rate, one with two workers gets one per call and the eager LP;
    a run set to "lp-eager" counts at the eager rate."""
    p, q, ev = district
    rec = _Recording()
    r = _runner(p, q, ev, rec, 30.0)
    before = r.work_s
    res = r.backend_solve(p, 2.0, "probe", eager_lp=True)
    setup = p.n_levels() * rf_settings.BACKEND_SETUP_SECONDS_PER_LEVEL
    rate = rf.EXACT_EAGER_UNITS_PER_S / cpsat_model.DETERMINISTIC_PER_SECOND
    assert rec.calls == [(p.n_levels(), pytest.approx((2.0 - setup) * rate))] and rec.searches == ["lp-eager"]
    det = res.stats["deterministic_time"]
    assert r.work_s - before == pytest.approx(setup + min(2.0 - setup, det / rf.EXACT_EAGER_UNITS_PER_S))
    own = _Recording()
    _runner(p, q, ev, own, 30.0, search="cpsat").backend_solve(p, 2.0, "probe", eager_lp=True)
    assert own.searches == ["cpsat"]
    assert own.calls == [(p.n_levels(), pytest.approx((2.0 - setup) * rf.BACKEND_UNITS_PER_S
                                                      / cpsat_model.DETERMINISTIC_PER_SECOND))]
    # a run with two workers gives each call one (its workers go to the exact phase's lanes), so
    # the eager LP and its rate too (with two workers in one call, the eager LP overran its limit 2x)
    two = _Recording()
    _runner(p, q, ev, two, 30.0, workers=2).backend_solve(p, 2.0, "probe", eager_lp=True)
    assert two.searches == ["lp-eager"] and two.calls == [(p.n_levels(), pytest.approx((2.0 - setup) * rate))]
    # a run set to "lp-eager" throughout counts every call's units at the eager rate
    whole = _Recording()
    _runner(p, q, ev, whole, 30.0, search="lp-eager").backend_solve(p, 2.0, "probe")
    assert whole.searches == ["lp-eager"] and whole.calls == [(p.n_levels(), pytest.approx((2.0 - setup) * rate))]


def test_the_eager_lp_reaches_cp_sat(district, monkeypatch):
    """The exact phase's "lp-eager" arrives at CP-SAT's own parameters (every constraint in the LP
    from the start), not only in the options (here the whole reduced model's, switched on), and
    so does its inprocessing switched off (``WHOLE_EXACT_SAT_INPROCESSING``)."""
    p, q, ev = district
    monkeypatch.setattr(rf, "WHOLE_EXACT_LP_EAGER", True)
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.0)  # its own call is eager too
    seen = []
    real = cpsat_model.set_search_params

    def spy(solver, search, inprocessing=True):
        real(solver, search, inprocessing)
        seen.append((search, solver.parameters.add_lp_constraints_lazily, solver.parameters.use_sat_inprocessing))

    monkeypatch.setattr(cpsat, "set_search_params", spy)
    _runner(p, q, ev, backend_module("cpsat"), 30.0).run()
    assert seen == [("lp-eager", False, False)]


def test_affords_needs_the_set_up_and_a_minimum_search(district):
    p, q, ev = district
    r = _runner(p, q, ev, backend_module("cpsat"), 10.0)
    levels = 100_000
    setup = levels * rf_settings.BACKEND_SETUP_SECONDS_PER_LEVEL
    least = setup + rf.BACKEND_MIN_SEARCH_SHARE * 10.0
    assert r.affords(levels, least + 1e-9) and not r.affords(levels, least - 1e-3)


def test_a_set_up_beyond_the_budget_ends_the_run_by_its_work_limit(district, monkeypatch):
    """With set-ups dearer than the limit (as rs005's 100k-430k levels are at 10 s), no backend
    phase starts: the run ends by its work limit with the Lagrangian bound, its work account
    within the limit, and the same answer as with the wall clock far away."""
    p, q, ev = district
    limit = 2.0
    control = _Recording()
    _runner(p, q, ev, control, limit).run()
    assert control.calls  # with the measured set-up cost the backend phases run here
    monkeypatch.setattr(rf_settings, "BACKEND_SETUP_SECONDS_PER_LEVEL", 2 * limit / min(q.n_levels(), p.n_levels() // 4))
    # with the third round the rounds take that budget (tests/test_relax_first_more_rounds.py):
    # no backend call either, the later phases find nothing left
    rec = _Recording()
    r = _runner(p, q, ev, rec, limit)
    r.run()
    assert rec.calls == [] and len(r.info["lagrangian"]["iterations"]) == 3 and r.work_s <= limit + 1e-9
    assert r.info["alternating"] == [] and "status" not in r.info.get("reduced_relaxation", {})
    # without it, each backend phase is skipped for its set-up
    monkeypatch.setattr(rf, "MORE_ROUNDS", False)
    results = []
    for _ in range(2):
        rec = _Recording()
        r = _runner(p, q, ev, rec, limit)
        res = r.run()
        assert rec.calls == []  # not one backend call: each would have overrun the budget
        assert res.status in (Status.FEASIBLE, Status.OPTIMAL)
        assert res.stopped_by in ("work_limit", None) and not r.safety_net_bound
        assert r.work_s <= limit + 1e-9
        skipped = "budget below its set-up"
        assert r.info["alternating_skipped"] == skipped and r.info["exact_skipped"] == skipped
        assert r.info["reduced_relaxation"]["skipped"] == skipped
        results.append((res.objective, res.bound, res.chosen))
    assert results[0] == results[1]
    assert results[0][0] == p.objective_of(set(results[0][2]))


def test_the_exact_model_comes_first_when_it_fits_and_proves_the_direct_optimum(district):
    """With a budget covering the reduced exact model's set-up, the alternating phase and the
    reduced relaxation (which cannot prove: rs005's relaxation optimum is below its optimum)
    are skipped: one backend call, on the reduced exact model, and the optimum the direct
    solve proves."""
    p, q, ev = district
    rec = _Recording()
    r = _runner(p, q, ev, rec, 30.0)
    res = r.run()
    assert r.info["exact_first"] is True
    assert "alternating" not in r.info and "reduced_relaxation" not in r.info
    # the greedy's sites re-chosen with its crossings fixed (eager LP), then the reduced exact model
    assert [levels for levels, _ in rec.calls] == [r.info["sites_exact"]["levels"], r.reduced().n_levels()]
    assert rec.searches == ["lp-eager", "lp"]  # WHOLE_EXACT_LP_EAGER off: the whole reduced model's LP is lazy
    assert rec.inprocessing == [True, False]  # WHOLE_EXACT_SAT_INPROCESSING off: the whole reduced model's only
    direct = backend_module("cpsat").solve(p, SolveOptions(time_limit_s=30.0, seed=0, workers=1))
    assert direct.status is Status.OPTIMAL and res.status is Status.OPTIMAL
    assert res.objective == direct.objective == p.objective_of(set(res.chosen))


def test_the_eager_lp_exact_model_proves_the_same_optimum(district, monkeypatch):
    """WHOLE_EXACT_LP_EAGER on (off by default): the whole reduced exact model gets the
    "lp-eager" settings and proves the same optimum as with the lazy LP."""
    p, q, ev = district
    monkeypatch.setattr(rf, "WHOLE_EXACT_LP_EAGER", False)
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.0)  # its own call is eager
    rec = _Recording()
    res = _runner(p, q, ev, rec, 30.0).run()
    eager_rec = _Recording()
    eager = _runner(p, q, ev, eager_rec, 30.0)
    monkeypatch.setattr(rf, "WHOLE_EXACT_LP_EAGER", True)
    res_eager = eager.run()
    assert rec.searches == ["lp"] and eager_rec.searches == ["lp-eager"]
    assert res.status is res_eager.status is Status.OPTIMAL and res.objective == res_eager.objective
