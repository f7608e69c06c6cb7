"""Relax-first's planning horizon (``PLAN_HORIZON_S``): with a longer time limit, the phases
before the exact model run as with a limit of the horizon, and the exact model gets all the work
left of the real limit (benchmarks/realsites at 60 s: the relax-first rows' time to their proof
196.0 s -> 143.3 s in all; README there, wave 19)."""

from __future__ import annotations

import pytest

from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_settings as rf_settings
from tests.relax_district import relax_district, run_relax_first

# written in nominal seconds: one per second of the limit (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("nominal_limits")


@pytest.fixture(scope="module")
def district():
    return relax_district()


@pytest.fixture
def horizon(district, monkeypatch):
    """A horizon of 0.5 s (0.4 s until wave 31, whose greedy is charged what it counted), and the
    whole model's set-up worth 1 nominal s (as a realsites model's several at 10 s): the exact model
    cannot run within the horizon's own limit."""
    monkeypatch.setattr(rf, "PLAN_HORIZON_S", 0.5)
    monkeypatch.setattr(rf_settings, "BACKEND_SETUP_SECONDS_PER_LEVEL", 1.0 / district[0].n_levels())
    return 0.5


def test_a_longer_limit_plans_as_the_horizon_and_gives_the_rest_to_the_exact_model(district, horizon):
    """At 0.5 s (the horizon) the rounds leave a gap and the third round takes all the work left
    (the exact model's set-up does not fit); at 6 s rounds 1-2 are the same (iterations, closings,
    choices), the third round gets ``MORE_ROUNDS_SHARE`` of the plan's work, since the work beyond
    the plan covers the set-up, and the exact model gets the rest and proves the optimum."""
    at_h, res_h = run_relax_first(district, horizon)
    longer, res = run_relax_first(district, 6.0)
    assert res_h.gap > 0.01  # the horizon's own run leaves a gap (measured at a 0.4 s horizon before wave 31: 2.17 %)
    first_two = (at_h.info["lagrangian"]["iterations"][:2], at_h.info["first_round_gap"], at_h.info["exact_first"])
    assert (longer.info["lagrangian"]["iterations"][:2], longer.info["first_round_gap"],
            longer.info["exact_first"]) == first_two
    assert at_h.info["exact_after_rounds"] is False and longer.info["exact_after_rounds"] is True
    assert longer.info["lagrangian"]["iterations"][2] < at_h.info["lagrangian"]["iterations"][2]
    assert longer.info["plan_s"] == horizon and at_h.info["plan_s"] == horizon
    assert longer.limit_s == 6.0  # the exact phase ran on the real limit
    assert "exact model" not in at_h.info["work_s"] and longer.info["work_s"]["exact model"] >= 1.0
    assert res.objective == district[3] and res.bound == res.objective
    assert longer.work_s > horizon


def test_without_a_horizon_the_phases_are_planned_on_the_whole_limit(district, horizon, monkeypatch):
    """``PLAN_HORIZON_S = None``: the rounds of a 6 s limit get its shares (more iterations)."""
    planned, _ = run_relax_first(district, 6.0)
    monkeypatch.setattr(rf, "PLAN_HORIZON_S", None)
    whole, res = run_relax_first(district, 6.0)
    assert whole.info["plan_s"] == 6.0
    assert sum(whole.info["lagrangian"]["iterations"]) > sum(planned.info["lagrangian"]["iterations"])
    assert res.bound <= district[3] <= res.objective


def test_a_limit_below_the_horizon_is_planned_as_it_is(district):
    """The default horizon is above a 2 s limit: it plans on its own limit."""
    r, _ = run_relax_first(district, 2.0)
    assert rf.PLAN_HORIZON_S is None or rf.PLAN_HORIZON_S > 2.0
    assert r.info["plan_s"] == 2.0 == r.limit_s


def test_when_the_exact_model_is_too_large_the_later_phases_get_the_whole_limit(district, horizon, monkeypatch):
    """With the reduced exact model above ``EXACT_MAX_LEVELS`` nothing would take the rest of a
    6 s limit after a 0.4 s plan (a review found the run ended at 0.38 s of work, 1.76 %): the
    phases after rounds 1-2 are planned on the whole limit, and phase 4 proves the optimum."""
    monkeypatch.setattr(rf, "EXACT_MAX_LEVELS", 1)
    at_h, res_h = run_relax_first(district, horizon)
    r, res = run_relax_first(district, 6.0)
    assert tuple(r.info["lagrangian"]["iterations"][:2]) == tuple(at_h.info["lagrangian"]["iterations"][:2])
    assert r.info["plan_s"] == 6.0 and r.work_s > 1.0 > horizon >= at_h.work_s
    assert "exact model" not in r.info["work_s"]
    assert res.bound <= district[3] <= res.objective and res.gap < res_h.gap
