"""A time-limited solve returns its incumbent with an honest bound and gap, never an error."""

from __future__ import annotations

import pytest

from optimiser.inputs import read_scenario
from optimiser.pipeline import prepare
from optimiser.solve.result import Status, relative_gap
from optimiser.solve.strategy import solve
from optimiser.verify import verify

DENSE = {
    "crossings.spacing_m": 150,  # the densest the site's Parkway rule allows
    "facilities": [
        {"type": "shared_workshop", "count": {"min": 2, "max": 3}, "footprint_m2": 900, "min_spacing_m": 200,
         "cost_gbp": 600000, "candidate_spacing_m": 70},
        {"type": "cafe_hub", "count": {"min": 1, "max": 2}, "footprint_m2": 300, "cost_gbp": 200000, "candidate_spacing_m": 70},
    ],
    "social_spaces.candidate_spacing_m": 60,
}


@pytest.mark.slow
def test_time_limited_solve_returns_incumbent_and_gap():
    prep = prepare(read_scenario(None, **DENSE))  # AMP-SBP with a dense candidate grid
    assert len(prep.problem.decisions) > 300
    res = solve(prep.problem, "cpsat", time_limit_s=15, seed=0, workers=1)
    assert res.status.has_solution, res.message
    assert res.objective is not None and res.bound is not None
    assert res.bound <= res.objective
    assert res.gap == pytest.approx(relative_gap(res.objective, res.bound))
    if res.status is Status.FEASIBLE:
        assert res.gap > 0 and "gap" in res.message
    v = verify(prep.problem, prep.context, res.chosen, res.objective)
    assert v.passed


def test_no_solution_in_time_is_unknown_not_an_error():
    prep = prepare(read_scenario(None, **DENSE))
    res = solve(prep.problem, "cpsat", time_limit_s=0.05, seed=0, workers=1)
    assert res.status in (Status.UNKNOWN, Status.FEASIBLE, Status.OPTIMAL)
    if res.status is Status.UNKNOWN:
        assert res.objective is None and res.chosen == () and res.gap is None


def test_the_message_says_what_ended_a_search_that_found_nothing_better():
    """The message had said "time limit reached" while ``stopped_by`` said "work_limit"."""
    prep = prepare(read_scenario(None))
    res = solve(prep.problem, "cpsat", time_limit_s=0.01, seed=0, workers=1)
    assert res.status is Status.FEASIBLE and res.stats.get("incumbent") == "greedy"
    expected = {"work_limit": "the time limit's work was spent", "wall_clock": "the wall-clock safety net ended the search"}
    assert res.message.startswith(expected[res.stopped_by]), (res.stopped_by, res.message)
