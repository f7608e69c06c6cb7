"""``strategy="auto"``: with CP-SAT, relax-first for every model of at least
``CPSAT_RELAX_MIN_LEVELS`` radius levels; with another backend (CBC), for models of at least
``RELAX_MIN_LEVELS`` whose access relaxation halves them, and for every model of at least
``RELAX_ALWAYS_LEVELS``."""

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


def test_with_cpsat_a_model_of_the_minimum_size_goes_relax_first_whatever_its_relaxation_saves(monkeypatch, problem):
    p, (best, _) = problem
    monkeypatch.setattr(strategy, "CPSAT_RELAX_MIN_LEVELS", p.n_levels())
    relaxed = strategy._relaxation_for(p, "auto", "cpsat")
    assert relaxed is not None and 2 * relaxed.n_levels() > p.n_levels()  # it does not halve the model
    res = strategy.solve(p, time_limit_s=10, seed=0, workers=1)  # auto, CP-SAT: through relax-first
    assert res.status is Status.OPTIMAL and res.objective == best and "relaxation" in res.stats
    monkeypatch.setattr(strategy, "CPSAT_RELAX_MIN_LEVELS", p.n_levels() + 1)
    assert strategy._relaxation_for(p, "auto", "cpsat") is None
    res = strategy.solve(p, time_limit_s=10, seed=0, workers=1)
    assert res.status is Status.OPTIMAL and res.objective == best and "relaxation" not in res.stats


def test_the_other_backends_keep_the_halving_rule(monkeypatch, problem):
    p, _ = problem
    monkeypatch.setattr(strategy, "RELAX_MIN_LEVELS", 1)
    monkeypatch.setattr(strategy, "CPSAT_RELAX_MIN_LEVELS", 1)
    assert strategy._relaxation_for(p, "auto", "cbc") is None  # the relaxation does not halve it
    assert strategy._relaxation_for(p, "auto", "cpsat") is not None
    assert strategy._relaxation_for(p, "relax-first", "cbc") is not None  # asked for, it is used
    assert strategy._relaxation_for(p, "direct", "cpsat") is None


def test_with_another_backend_a_model_of_at_least_the_always_size_goes_relax_first(monkeypatch, problem):
    p, _ = problem
    monkeypatch.setattr(strategy, "RELAX_MIN_LEVELS", 1)
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", p.n_levels())
    relaxed = strategy._relaxation_for(p, "auto", "cbc")
    assert relaxed is not None and relaxed.n_levels() < p.n_levels()
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", p.n_levels() + 1)
    assert strategy._relaxation_for(p, "auto", "cbc") is None


def test_below_the_minimum_size_auto_never_relaxes(monkeypatch, problem):
    p, _ = problem
    monkeypatch.setattr(strategy, "RELAX_ALWAYS_LEVELS", 0)
    assert p.n_levels() < strategy.RELAX_MIN_LEVELS and strategy._relaxation_for(p, "auto", "cbc") is None
    assert p.n_levels() < strategy.CPSAT_RELAX_MIN_LEVELS and strategy._relaxation_for(p, "auto", "cpsat") is None
    # the embedded default stays direct (6,621 levels)
    assert strategy.CPSAT_RELAX_MIN_LEVELS > 6_621
