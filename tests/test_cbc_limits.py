"""CBC's budget is a work limit (issue 15, point 5): a node limit derived from the time limit
shapes the answer, CBC's own time limit is the wall-clock safety net, and ``stopped_by`` says
which one ended the search; the same seed gives the same layout on an idle and a loaded machine."""

from __future__ import annotations

import functools
import logging
import time

import pulp
import pytest

from benchmarks.joint.generate import make_district
from optimiser.errors import SolverError
from optimiser.inputs.domain import SolveOptions
from optimiser.pipeline import prepare
from optimiser.solve import cbc, cpsat_model
from optimiser.solve.result import Status
from tests.test_determinism import cpu_hogs
from tests.zoo_cases import prepared_case

LIMIT_S = 60.0


@functools.cache
def _branching_problem():
    """A 15-firm district CBC does not solve at its root: it proves it optimal after 2 nodes
    (4,486 LP iterations, 9 s at load average 15)."""
    return prepare(make_district(15, 30, 20, 1, seed=0)).problem


def _opts(**kw) -> SolveOptions:
    return SolveOptions(backend="cbc", time_limit_s=LIMIT_S, seed=0, workers=1).replace(**kw)


def test_log_reading(caplog):
    log = ("Cbc0003I Exiting on maximum nodes\nResult - Stopped on node limit\n\nObjective value:                65150016.00000000\n"
           "Lower bound:                    63935706.857\nEnumerated nodes:               1\nTotal iterations:               3426\n")
    assert cbc.cbc_outcome(log) == "stopped" and cbc.stopped_by_of_log(log) == "work_limit"
    assert cbc.log_stats(log) == {"nodes": 1, "iterations": 3426} and cbc.bound_from_log(log) == 63935706.857
    assert cbc.stopped_by_of_log("Result - Stopped on time limit\n") == "wall_clock"
    assert cbc.stopped_by_of_log("Result - Stopped on node limit\n", greedy_stopped_by="safety net") == "wall_clock"
    # said at info: `siteopt run` warns once for the run when the net bound, not per phase too
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert cbc.cbc_outcome("Result - Optimal solution found\n") == "optimal"
    assert cbc.cbc_outcome("Result - Problem proven infeasible\n") == "infeasible"


@pytest.mark.parametrize("load", [1.0, 2.5])
def test_the_node_limit_comes_from_the_time_limit_and_the_clock_is_only_a_net(monkeypatch, load):
    monkeypatch.setattr(cpsat_model, "load_factor", lambda: load)  # the net widens with the machine's load
    prep, (best, _) = prepared_case("one_barrier_pairs")
    res = cbc.solve(prep.problem, _opts(time_limit_s=7.0))
    assert res.status is Status.OPTIMAL and res.objective == best and res.stopped_by is None
    assert res.stats["max_nodes"] == 7 * cbc.NODES_PER_SECOND
    net = 7.0 * cpsat_model.WALL_CLOCK_SAFETY_FACTOR * load
    assert 0.5 * net <= res.stats["safety_net_s"] <= net


def test_the_run_clock_caps_the_net_but_not_the_node_limit():
    prep, _ = prepared_case("one_barrier_pairs")
    res = cbc.solve(prep.problem, _opts(time_limit_s=30.0, wall_limit_s=12.0))
    assert res.stats["max_nodes"] == 30 * cbc.NODES_PER_SECOND and res.stats["safety_net_s"] <= 12.0


@pytest.mark.slow
def test_a_node_limit_ends_the_search_as_a_work_limit(monkeypatch):
    monkeypatch.setattr(cbc, "NODES_PER_SECOND", 1 / LIMIT_S)  # one node
    res = cbc.solve(_branching_problem(), _opts())
    assert res.stats["max_nodes"] == 1 and res.stats["nodes"] == 1
    assert res.status is Status.FEASIBLE and res.stopped_by == "work_limit", res.message
    assert "node limit (work limit)" in res.message and res.bound is not None and res.bound < res.objective
    # the bound is on the whole objective (CBC's log leaves out the constant: it is added back)
    prob = _branching_problem()
    assert prob.constant <= res.bound and (res.objective - res.bound) / res.objective < 0.05
    assert res.chosen  # CBC's incumbent is returned (PuLP reads a node-limited solution as "not solved")


def test_a_wall_clock_stop_says_so(monkeypatch):
    monkeypatch.setattr(cpsat_model, "WALL_CLOCK_SAFETY_FACTOR", 1e-6)  # the net (at least 0.05 s) binds at once
    prep, _ = prepared_case("one_barrier_pairs")
    res = cbc.solve(prep.problem, _opts(wall_limit_s=0.05))
    if res.status is not Status.OPTIMAL:  # (CBC may prove so small a model before reading the clock)
        assert res.stopped_by == "wall_clock" and "wall-clock safety net" in res.message


def _cbc_crashes(after_s: float):
    """A stand-in for running CBC that fails as PuLP reports a crashed binary, after ``after_s``."""
    def crash(solve):
        time.sleep(after_s)
        raise pulp.PulpSolverError("Pulp: Error while trying to execute, use msg=True for more details")
    return crash


def test_a_cbc_crash_when_its_safety_net_runs_out_returns_the_start_layout(monkeypatch):
    """PuLP's CBC 2.10 segfaults now and then when its time limit ends its preprocessing
    (``solve(problem, "cbc", time_limit_s=0.1)`` on AMP-SBP raised SolverError): that is a stop
    on the wall clock, and the warm start is returned with its gap, not an exception."""
    prep, _ = prepared_case("one_barrier_pairs")
    monkeypatch.setattr(cbc.interrupt, "call_interruptibly", _cbc_crashes(0.1))
    res = cbc.solve(prep.problem, _opts(wall_limit_s=0.05))
    assert res.status is Status.FEASIBLE and res.stopped_by == "wall_clock" and res.chosen, res.message
    assert res.stats["incumbent"] == "greedy" and res.bound is not None and res.gap is not None


def test_a_cbc_crash_before_its_safety_net_is_an_error(monkeypatch):
    prep, _ = prepared_case("one_barrier_pairs")
    monkeypatch.setattr(cbc.interrupt, "call_interruptibly", _cbc_crashes(0.0))
    with pytest.raises(SolverError, match="CBC failed"):
        cbc.solve(prep.problem, _opts())


PREPROCESSING_TIMED_OUT = ("Continuous objective value is 5.89551e+08 - 0.03 seconds\n"
                           "Cgl0000I Cut generators found to be infeasible! (or unbounded)\n"
                           "Pre-processing says infeasible or unbounded\n")
"""What CBC 2.10 logs when its time limit ends its preprocessing of a feasible AMP-SBP model."""


@pytest.mark.parametrize("use_hint", [True, False])
def test_cbc_preprocessing_stopped_by_its_safety_net_is_not_infeasible(monkeypatch, use_hint):
    """PuLP reads that log as "Infeasible": with a feasible start layout, or when CBC ran until
    its safety net, the model is not proven infeasible (it was reported so, exit 3)."""
    prep, _ = prepared_case("one_barrier_pairs")

    def timed_out(lp, net, *args, **kwargs):
        time.sleep(net + 0.02)
        lp.status = pulp.LpStatusInfeasible
        return PREPROCESSING_TIMED_OUT

    monkeypatch.setattr(cbc, "run_cbc", timed_out)
    res = cbc.solve(prep.problem, _opts(wall_limit_s=0.05), use_hint=use_hint)
    assert res.status is (Status.FEASIBLE if use_hint else Status.UNKNOWN), res.message
    assert res.stopped_by == "wall_clock"


@pytest.mark.slow
@pytest.mark.xdist_group("cpu_hogs")  # never beside another test's hogs (--dist loadgroup)
def test_same_cbc_layout_idle_and_beside_two_cpu_hogs(monkeypatch):
    """The node limit, not the clock, ends the search: the same layout, objective, bound and work."""
    monkeypatch.setattr(cbc, "NODES_PER_SECOND", 1 / LIMIT_S)
    idle = cbc.solve(_branching_problem(), _opts())
    assert idle.stopped_by == "work_limit", "the node limit must bind, or the test shows nothing"
    with cpu_hogs():
        loaded = cbc.solve(_branching_problem(), _opts())
    assert loaded.stopped_by == "work_limit"
    assert (loaded.chosen, loaded.objective, loaded.bound) == (idle.chosen, idle.objective, idle.bound)
    assert (loaded.stats["nodes"], loaded.stats["iterations"]) == (idle.stats["nodes"], idle.stats["iterations"])
