"""``strategy="auto"``: relax-first for models of at least ``RELAX_MIN_LEVELS`` radius levels
whose access relaxation halves them, and for every model of at least ``RELAX_ALWAYS_LEVELS``."""

from __future__ import annotations

import pytest

from optimiser.solve import strategy
from optimiser.solve.result import Status
from tests.zoo_cases import prepared_case

CASE = "facility_count_spacing"  # 30 levels; its relaxation keeps 24 (does not halve them)


@pytest.fixture
def problem():
    prep, best = prepared_case(CASE)
    return prep.problem, best


def test_a_relaxation_that_does_not_halve_the_model_keeps_it_direct(monkeypatch, problem):
    p, _ = problem
    monkeypatch.setattr(strategy, "RELAX_MIN_LEVELS", 1)
    assert strategy._relaxation_for(p, "auto") is None
    assert strategy._relaxation_for(p, "relax-first") is not None  # asked for, it is used
    assert strategy._relaxation_for(p, "direct") is None


def test_a_model_of_at_least_the_always_size_goes_relax_first(monkeypatch, problem):
    p, (best, _) = problem
    monkeypatch.setattr(strategy, "RELAX_MIN_LEVELS", 1)
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", p.n_levels())
    relaxed = strategy._relaxation_for(p, "auto")
    assert relaxed is not None and relaxed.n_levels() < p.n_levels()
    res = strategy.solve(p, time_limit_s=10, seed=0, workers=1)  # auto, through relax-first
    assert res.status is Status.OPTIMAL and res.objective == best and "relaxation" in res.stats
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", p.n_levels() + 1)
    assert strategy._relaxation_for(p, "auto") is None


def test_below_the_minimum_size_auto_never_relaxes(monkeypatch, problem):
    p, _ = problem
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", 0)
    assert p.n_levels() < strategy.RELAX_MIN_LEVELS and strategy._relaxation_for(p, "auto") is None
