"""Lanes for relax-first's exact phase per count vector (:mod:`optimiser.solve.vector_lanes`):
the deal, the threads, the accounts, and relax-first with two workers against one and the
direct optimum."""

from __future__ import annotations

import itertools
import threading

import pytest

from optimiser.solve import interrupt
from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_vectors as rfv
from optimiser.solve.relax_first_settings import FIX_SECONDS_PER_LEVEL
from optimiser.solve.result import Status
from optimiser.solve.vector_lanes import Lane, assign_lanes, close_lanes, run_lanes
from tests.relax_district import relax_district, run_relax_first

# written in nominal seconds: one per second of the limit (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("nominal_limits")


# ---------------------------------------------------------------- the deal
def test_the_largest_goes_first_to_the_lane_with_the_fewest_levels():
    # 50 -> lane 0; 40 -> lane 1; 30 -> lane 1 (40 < 50); 10 -> lane 0 (50 < 70)
    assert assign_lanes([10, 50, 40, 30], 2) == [[0, 1], [2, 3]]
    assert assign_lanes([5, 5, 5], 2) == [[0, 2], [1]]  # ties: the earlier task, the lower lane
    assert assign_lanes([7, 3], 1) == [[0, 1]]
    assert assign_lanes([4], 3) == [[0], [], []]
    assert assign_lanes([], 2) == [[], []]


@pytest.mark.parametrize("seed", range(20))
def test_the_deal_covers_every_task_once_and_balances_within_the_largest(seed):
    import random
    rng = random.Random(seed)
    levels = [rng.randint(1, 100) for _ in range(rng.randint(1, 9))]
    lanes = rng.randint(1, 4)
    dealt = assign_lanes(levels, lanes)
    assert len(dealt) == lanes and sorted(itertools.chain(*dealt)) == list(range(len(levels)))
    assert all(ks == sorted(ks) for ks in dealt)
    loads = [sum(levels[k] for k in ks) for ks in dealt]
    # the greedy's guarantee: no lane is above the least by more than the largest task
    assert max(loads) - min(loads) <= max(levels)


def test_no_lanes_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        assign_lanes([1], 0)


# ---------------------------------------------------------------- the threads
def test_each_lane_runs_in_a_thread_of_its_own_and_results_keep_their_order():
    barrier = threading.Barrier(3, timeout=10)  # passes only if the three run at once

    def task(k):
        def run():
            barrier.wait()
            return k, threading.current_thread().name
        return run

    out = run_lanes([task(k) for k in range(3)])
    assert [k for k, _ in out] == [0, 1, 2]
    assert out[0][1] == threading.current_thread().name
    assert [name for _, name in out[1:]] == ["siteopt-lane-1", "siteopt-lane-2"]


def test_a_lane_s_error_is_raised_after_every_lane_ended():
    ended = threading.Event()

    def slow():
        ended.wait(0.2)
        ended.set()
        return "done"

    def fails():
        raise RuntimeError("lane 1 failed")

    with pytest.raises(RuntimeError, match="lane 1 failed"):
        run_lanes([slow, fails])
    assert ended.is_set()
    assert run_lanes([]) == []


# ---------------------------------------------------------------- the accounts
class _Run:
    """What a lane needs of a relax-first run."""

    def __init__(self, best, limit_s=10.0):
        self.best, self.limit_s, self.work_s = best, limit_s, 0.0
        self.charges, self.offers = [], []

    def remaining(self):
        return self.limit_s - self.work_s

    def charge(self, seconds, what):
        self.work_s += seconds
        self.charges.append((round(seconds, 9), what))

    def offer(self, cand, where):
        self.offers.append((tuple(cand), where))
        self.best = min(self.best, 100 + len(self.offers))


def test_a_shared_lane_is_the_run_s_own_account():
    run = _Run(best=500)
    lane = Lane(run, run.remaining(), shared=True)
    lane.charge(2.5, "exact model")
    assert run.work_s == 2.5 and lane.remaining() == 7.5 and lane.work_s == 0.0
    lane.found_layout((3, 1), 400.0)
    assert run.offers == [((3, 1), "exact model")] and lane.best == run.best == 101
    close_lanes(run, [lane], "exact model")  # nothing more: it was charged and offered as it went
    assert run.charges == [(2.5, "exact model")] and len(run.offers) == 1


def test_own_lanes_keep_their_clock_and_cut_off_and_the_run_is_charged_the_busiest():
    run = _Run(best=500)
    a, b = Lane(run, run.remaining(), shared=False), Lane(run, run.remaining(), shared=False)
    a.charge(3.0, "exact model")
    b.charge(1.0, "exact model")
    b.charge(-1.0, "exact model")  # never negative
    assert (a.remaining(), b.remaining(), run.work_s) == (7.0, 9.0, 0.0)
    a.found_layout((1, 2), 450.0)
    a.found_layout((2, 3), 470.0)  # worse than the lane's own: kept for the run, the cut-off stays
    b.found_layout((4,), None)
    assert (a.best, b.best, run.best) == (450, 500, 500)
    close_lanes(run, [a, b], "exact model")
    assert run.charges == [(3.0, "exact model")]
    assert run.offers == [((1, 2), "exact model"), ((2, 3), "exact model"), ((4,), "exact model")]


def test_a_lane_charges_fixing_as_the_run_does():
    from tests.random_problems import random_problem
    p = random_problem(seed=3)
    run = _Run(best=10**9)
    lane = Lane(run, 10.0, shared=False)
    q = rf.RelaxFirst.fix(run, p, {0: 0}, "exact model", lane=lane)  # type: ignore[arg-type]
    assert lane.work_s == pytest.approx(p.n_levels() * FIX_SECONDS_PER_LEVEL)
    assert q.n_levels() <= p.n_levels() and run.work_s == 0.0


def test_a_lane_s_error_stops_the_others_at_their_next_step():
    failed = threading.Event()
    steps: list[int] = []

    def patient():
        for k in range(500):  # 5 s unless told to stop
            if failed.is_set():
                return k
            steps.append(k)
            failed.wait(0.01)
        return 500

    def fails():
        raise RuntimeError("lane 1 failed")

    with pytest.raises(RuntimeError, match="lane 1 failed"):
        run_lanes([patient, fails], failed)
    assert failed.is_set() and len(steps) < 100


# ---------------------------------------------------------------- relax-first with lanes
@pytest.fixture(scope="module")
def district():
    return relax_district()


@pytest.fixture
def always_split(monkeypatch):
    """Split whatever the vectors' sizes, no tighter relaxation per vector before (as in
    tests/test_vector_exact.py: three vectors reach the exact phase)."""
    monkeypatch.setattr(rfv, "EXACT_BY_VECTOR_MAX_SHARE", 1.01)
    monkeypatch.setattr(rfv, "VECTOR_TIGHTEN_SHARE", 0.0)


def _threads(monkeypatch) -> list[str]:
    solve = rfv.solve_count_vector
    names: list[str] = []

    def record(problem, classes, vector, cutoff, opts, **k):
        assert opts.workers == 1  # each lane's search has one worker
        names.append(threading.current_thread().name)
        return solve(problem, classes, vector, cutoff, opts, **k)

    monkeypatch.setattr(rfv, "solve_count_vector", record)
    return names


def test_two_lanes_prove_the_optimum_one_lane_proves(district, always_split, monkeypatch):
    *_, optimum = district
    names = _threads(monkeypatch)
    one, res1 = run_relax_first(district, 2.0, workers=1)
    assert set(names) == {threading.current_thread().name}
    names.clear()
    two, res2 = run_relax_first(district, 2.0, workers=2)
    assert res1.status is res2.status is Status.OPTIMAL
    assert res1.objective == res2.objective == res2.bound == optimum
    # the same vectors, each settled the same way, on lanes 0 and 1 side by side
    strip = [line.rsplit(" [lane", 1)[0] for line in two.info["exact_by_vector"]]
    assert sorted(strip) == sorted(one.info["exact_by_vector"]) and len(strip) == 3
    assert {line[-8:] for line in two.info["exact_by_vector"]} == {"[lane 0]", "[lane 1]"}
    assert "siteopt-lane-1" in names and len(names) == 3
    # the run is charged its busiest lane, less than one lane's whole
    lanes = two.info["vector_lanes"]
    assert [lane["vectors"] for lane in lanes] == [1, 2] or [lane["vectors"] for lane in lanes] == [2, 1]
    exact1, exact2 = one.info["work_s"]["exact model"], two.info["work_s"]["exact model"]
    assert exact2 == pytest.approx(max(lane["work_s"] for lane in lanes), abs=1e-3) and exact2 < exact1
    assert two.work_s <= 2.0 + 1e-9
    assert "vector_lanes" not in one.info


def test_two_lanes_give_the_same_answer_every_time(district, always_split):
    runs = [run_relax_first(district, 2.0, workers=2) for _ in range(2)]
    (r1, a), (r2, b) = runs
    assert (a.objective, a.bound, a.chosen, a.status) == (b.objective, b.bound, b.chosen, b.status)
    assert r1.info["exact_by_vector"] == r2.info["exact_by_vector"]
    assert r1.info["vector_lanes"] == r2.info["vector_lanes"] and r1.work_s == r2.work_s


def test_a_better_layout_found_on_a_lane_becomes_the_incumbent_after_the_lanes(district, always_split, monkeypatch):
    # the incumbent before the exact phase is a worse layout (as in test_vector_exact): one lane's
    # vector gives the optimum, offered once both lanes ended
    from optimiser.inputs.domain import SolveOptions
    from optimiser.solve.registry import backend as backend_module
    p, _, ev, optimum = district
    direct = backend_module("cpsat").solve(p, SolveOptions(time_limit_s=30.0, seed=0, workers=1))
    crossings = [i for i in direct.chosen if p.decisions[i].kind == "crossing"]
    worse = tuple(i for i in direct.chosen if i != crossings[0])
    offer = rf.RelaxFirst.offer
    offered_during: list[bool] = []

    def only_worse_then_exact(self, cand, where):
        if where == "exact model":
            offered_during.append("exact_by_vector" in self.info)
            offer(self, cand, where)
        elif self.best is None:
            offer(self, worse, where)

    monkeypatch.setattr(rf.RelaxFirst, "offer", only_worse_then_exact)
    r, res = run_relax_first(district, 2.0, workers=2)
    assert sum("its optimum" in line for line in r.info["exact_by_vector"]) >= 1
    assert offered_during and not any(offered_during)  # offered after the lanes, before the report
    assert r.info["incumbent_from"] == "exact model"
    assert res.status is Status.OPTIMAL and res.objective == optimum == res.bound


def test_a_stop_request_on_one_lane_leaves_every_lane_s_rest_unreached(district, always_split, monkeypatch):
    solve = rfv.solve_count_vector
    calls: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def one_then_stop(problem, classes, vector, *a, **k):
        # the stop comes as the first vector starts: requested after its search, it raced the
        # other lane, which since fix_decisions got faster (transforms on flat arrays) had begun
        # its second vector by then (3 calls; the lanes still stopped at their next vector)
        with lock:
            first = not calls
            calls.append(vector)
        if first:
            interrupt.request("SIGTERM")
        return solve(problem, classes, vector, *a, **k)

    monkeypatch.setattr(rfv, "solve_count_vector", one_then_stop)
    try:
        r, res = run_relax_first(district, 2.0, workers=2)
    finally:
        interrupt.reset()
    assert res.status is Status.INTERRUPTED
    report = r.info["exact_by_vector"]
    # at most one vector per lane was under way when the stop came
    assert len(calls) <= 2 and sum("not reached" in line for line in report) == 3 - len(calls)


def test_with_lanes_a_vector_as_large_as_the_reduced_model_leaves_it_whole_with_one_worker(district, monkeypatch):
    # as with one worker (test_vector_exact): the whole reduced model instead, and every CP-SAT
    # call of relax-first has one worker, so two workers give one worker's answer and report
    from optimiser.solve.registry import backend as backend_module
    *_, optimum = district
    cpsat = backend_module("cpsat")  # the module
    solve = cpsat.solve
    workers: list[int] = []

    def record(problem, options, **k):
        workers.append(options.workers)
        return solve(problem, options, **k)

    monkeypatch.setattr(cpsat, "solve", record)
    one, res1 = run_relax_first(district, 2.0, workers=1)
    two, res2 = run_relax_first(district, 2.0, workers=2)
    assert two.info["exact_by_vector"][0].endswith("the whole reduced model instead")
    assert two.info["exact_by_vector"] == one.info["exact_by_vector"] and "vector_lanes" not in two.info
    assert workers and set(workers) == {1}
    assert (res2.status, res2.objective, res2.bound, res2.chosen) == (res1.status, res1.objective, res1.bound, res1.chosen)
    assert res2.objective == optimum and two.info["work_s"] == one.info["work_s"]


@pytest.fixture
def dear_search(monkeypatch):
    """CP-SAT's units dear (0.05 per nominal second of the exact model): the larger vector's
    search on lane 0 is stopped by its lane's work, the two on lane 1 are settled."""
    monkeypatch.setattr(rf, "EXACT_EAGER_UNITS_PER_S", 0.05)


def test_a_lane_stopped_by_its_work_keeps_a_valid_bound(district, always_split, dear_search):
    *_, optimum = district
    r, res = run_relax_first(district, 2.0, workers=2)
    report = r.info["exact_by_vector"]
    assert any("stopped" in line and line.endswith("[lane 0]") for line in report), report
    assert res.status is Status.FEASIBLE and res.stopped_by == "work_limit"
    # the stopped lane's incumbent (724,109,187 with shared radius levels) need not be the optimum
    assert res.objective >= optimum > res.bound
    budget = max(lane["work_s"] for lane in r.info["vector_lanes"])
    # the layouts the lanes found are evaluated after them, beyond the lanes' budget (close_lanes:
    # a few evaluations at most, at most one here)
    one_offer = r.ev.size / rf.OFFER_INCIDENCES_PER_S
    assert r.info["work_s"]["exact model"] == pytest.approx(budget, abs=1e-3) and r.work_s <= 2.0 + one_offer + 1e-9


@pytest.mark.slow
@pytest.mark.xdist_group("cpu_hogs")  # never beside another test's hogs (--dist loadgroup)
def test_lanes_give_the_same_answer_idle_and_beside_two_cpu_hogs(district, always_split, dear_search, monkeypatch):
    """Two lanes whose searches are ended by their work (not proven optimal) give the same
    layout, bound and per-vector report with two busy processes beside them (the wall-clock
    net widened, as in tests/test_determinism.py)."""
    from optimiser.solve import cpsat_model
    from tests.test_determinism import cpu_hogs
    monkeypatch.setattr(cpsat_model, "WALL_CLOCK_SAFETY_FACTOR", 60.0)
    idle_run, idle = run_relax_first(district, 2.0, workers=2)
    assert idle.stopped_by == "work_limit", "the work limit must bind, or the test shows nothing"
    with cpu_hogs():
        loaded_run, loaded = run_relax_first(district, 2.0, workers=2)
    assert loaded.stopped_by == "work_limit"
    assert (loaded.objective, loaded.bound, loaded.chosen) == (idle.objective, idle.bound, idle.chosen)
    assert loaded_run.info["exact_by_vector"] == idle_run.info["exact_by_vector"]
    assert loaded_run.info["vector_lanes"] == idle_run.info["vector_lanes"]
