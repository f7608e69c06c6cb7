"""The wall-clock safety nets widen with the machine's load (``cpsat_model.load_factor``), so
that on a busy machine the deterministic work limit, not the net, ends a run."""

from __future__ import annotations

import os

import pytest

from optimiser import pipeline
from optimiser.solve import cpsat_model
from optimiser.solve.cpsat_api import cp_model


@pytest.mark.parametrize(("load", "cpus", "factor"), [
    (0.1, 2, 1.0),     # idle
    (1.0, 2, 1.0),     # our own process alone
    (2.0, 2, 1.0),     # one other job: a core each, nothing to widen
    (7.0, 2, 3.5),     # about 2/7 of a core each
    (6.0, 4, 1.5),
    (500.0, 2, cpsat_model.LOAD_FACTOR_MAX),
])
def test_the_factor_is_the_load_per_cpu_at_least_one_at_most_the_cap(monkeypatch, load, cpus, factor):
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert cpsat_model.load_factor() == pytest.approx(factor)


def test_no_load_average_means_no_widening(monkeypatch):
    def unavailable():
        raise OSError("no load average here")
    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert cpsat_model.load_factor() == 1.0


def test_the_cpsat_net_widens_but_the_work_limit_does_not(monkeypatch):
    monkeypatch.setattr(cpsat_model, "load_factor", lambda: 3.0)
    solver = cp_model.CpSolver()
    cpsat_model.set_params(solver, 10.0, seed=0, workers=1)
    assert solver.parameters.max_time_in_seconds == pytest.approx(10.0 * cpsat_model.WALL_CLOCK_SAFETY_FACTOR * 3.0)
    assert solver.parameters.max_deterministic_time == pytest.approx(10.0 * cpsat_model.DETERMINISTIC_PER_SECOND)


def test_the_run_clock_widens_with_the_load(monkeypatch, tiny_files):
    """The whole run's net (``run_scenario``'s clock) is widened by the same factor: the log
    line names the solver's net, which comes out of it."""
    seen = []
    real = pipeline.RunClock

    def clock(limit_s, **kw):
        seen.append(limit_s)
        return real(limit_s, **kw)
    monkeypatch.setattr(pipeline, "RunClock", clock)
    monkeypatch.setattr(cpsat_model, "load_factor", lambda: 2.0)
    pipeline.run_scenario(tiny_files[1], time_limit_s=5.0, seed=0, workers=1)
    assert seen == [pytest.approx(5.0 * cpsat_model.WALL_CLOCK_SAFETY_FACTOR * 2.0)]
