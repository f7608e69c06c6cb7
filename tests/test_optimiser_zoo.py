"""Exactness: a zoo of tiny sites whose optimum is found by brute force, on both backends.

The brute force (tests/zoo_cases.py) enumerates every subset of the problem's decisions and
scores it with the independent verifier (plain Dijkstra on a rebuilt graph, constraints
rechecked from the scenario's own terms), sharing nothing with the route-option / radius
formulation the backends solve.
"""

from __future__ import annotations

import pytest

from optimiser.solve.strategy import solve
from optimiser.verify import verify
from tests.zoo_cases import CASES, prepared_case


def test_zoo_has_at_least_ten_sites():
    assert len(CASES) >= 10


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_backend_matches_brute_force(name, backend):
    prep, (best_obj, best_set) = prepared_case(name)
    res = solve(prep.problem, backend, time_limit_s=30, seed=0, workers=1)
    if best_obj is None:
        assert res.status == "infeasible"
        assert res.conflicts, "an infeasible result must explain itself"
        return
    assert res.status == "optimal", res.message
    assert res.gap == 0.0
    assert res.objective == pytest.approx(best_obj, abs=len(prep.problem.clients) + 1)
    v = verify(prep.problem, prep.context, res.chosen, res.objective)
    assert v.passed
    # the model's own objective for the brute-force optimum agrees too
    assert prep.problem.objective_of(set(best_set)) == pytest.approx(best_obj, abs=len(prep.problem.clients) + 1)


def test_budget_forbids_the_best_crossing():
    cheap, _ = prepared_case("budget_forbids_best")
    rich, _ = prepared_case("footbridge_affordable")
    r1 = solve(cheap.problem, "cpsat")
    r2 = solve(rich.problem, "cpsat")
    types1 = {cheap.problem.decisions[i].label.split()[0] for i in r1.chosen}
    types2 = {rich.problem.decisions[i].label.split()[0] for i in r2.chosen}
    assert "footbridge" not in types1 and types1 == {"signalised"}
    assert "footbridge" in types2
    assert r2.objective < r1.objective


def test_directness_target_forces_a_crossing_near_the_pair():
    prep, _ = prepared_case("directness_forces_crossing")
    res = solve(prep.problem, "cpsat")
    assert res.status == "optimal"
    chosen = [prep.context.network.candidates[c] for c, d in prep.context.crossing_decision.items() if d in res.chosen]
    assert len(chosen) == 1
    mid = chosen[0].line.interpolate(0.5, normalized=True)
    assert abs(mid.x - 200) < 200  # near the straight line between a (x=200) and b (x=200)


def test_coverage_forces_a_social_space():
    prep, _ = prepared_case("coverage_forces_social")
    res = solve(prep.problem, "cpsat")
    kinds = [prep.problem.decisions[i].kind for i in res.chosen]
    assert "social" in kinds


def test_infeasible_explains_budget_and_coverage():
    prep, _ = prepared_case("infeasible_coverage_budget")
    res = solve(prep.problem, "cpsat")
    assert res.status == "infeasible"
    text = " ".join(res.conflicts)
    assert "budget" in text and "social space" in text
    assert "£400,000" in text


def test_hs2_layer_changes_the_walks():
    on, _ = prepared_case("two_barriers")
    off, _ = prepared_case("hs2_off")
    assert any(b.id == "hs2" for b in on.scenario.active_barriers)
    assert not any(b.id == "hs2" for b in off.scenario.active_barriers)
    v_on = verify(on.problem, on.context, (), None, raise_on_failure=False)
    v_off = verify(off.problem, off.context, (), None, raise_on_failure=False)
    assert v_on.objective > v_off.objective
