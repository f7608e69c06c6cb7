"""CP-SAT over the budget's maximal count vectors (optimiser.solve.count_split): the maximal
vectors of a hand-made budget, the brute-force optimum on random problems, and a valid bound
when the work budget ends before every sub-problem is finished."""

from __future__ import annotations

from dataclasses import replace

import pytest

from optimiser.errors import SolverError
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.solve import count_split, cpsat
from optimiser.solve.count_split import maximal_count_vectors
from optimiser.solve.cpsat_model import build_model
from tests.random_problems import feasible_layouts, knapsack_problem, random_problem
from tests.test_site_chains import _access_problem


def _best(problem: Problem) -> int | None:
    return min((problem.objective_of(s) for s in feasible_layouts(problem)), default=None)


def test_the_maximal_vectors_of_a_hand_made_budget():
    split = maximal_count_vectors(knapsack_problem())
    assert split is not None
    cc, vectors = split
    assert cc.members == ((3, 4), (0, 1, 2))
    assert sorted(vectors) == [(0, 2), (1, 1), (2, 0)]


def test_no_budget_no_split():
    p = knapsack_problem()
    p.constraints = []
    assert maximal_count_vectors(p) is None


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(cpsat, "SPLIT_MIN_LEVELS", 0)


@pytest.mark.parametrize("kind", ["random", "access"])
@pytest.mark.parametrize("seed", range(0, 16, 2))
def test_the_split_finds_the_brute_force_optimum(seed, kind, split_everything):
    p = random_problem(seed) if kind == "random" else _access_problem(seed)
    best = _best(p)
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, count_split=True))
    if best is None:
        assert not res.status.has_solution
        return
    assert res.status == "optimal" and res.objective == best
    assert p.objective_of(set(res.chosen)) == best and p.is_feasible(set(res.chosen))
    if maximal_count_vectors(p) is not None:
        assert res.stats["count_vectors"], "the split ran"


def test_the_knapsack_through_the_split(split_everything):
    p = knapsack_problem()
    res = cpsat.solve(p, SolveOptions(time_limit_s=10, seed=0, workers=1, count_split=True))
    assert res.status == "optimal" and res.objective == _best(p)
    assert len(res.stats["count_vectors"]) == 3


@pytest.mark.parametrize("seed", range(0, 16, 3))
def test_a_tiny_budget_gives_a_valid_bound(seed, split_everything):
    p = _access_problem(seed)
    best = _best(p)
    res = cpsat.solve(p, SolveOptions(time_limit_s=0.001, seed=0, workers=1, count_split=True))
    assert best is not None and res.objective is not None and res.bound is not None
    assert res.bound <= best <= res.objective
    assert p.is_feasible(set(res.chosen)) and p.objective_of(set(res.chosen)) == res.objective
    if res.status != "optimal":
        assert res.stopped_by in ("work_limit", "wall_clock")


def test_a_greedy_start_ended_by_the_wall_clock_is_reported_as_such(split_everything, monkeypatch):
    # the start is the split's first incumbent: a greedy cut short by its wall-clock net makes the
    # answer depend on the machine, as in the direct solve (cpsat._stopped_by)
    real = cpsat.warm_start
    monkeypatch.setattr(cpsat, "warm_start", lambda *a, **kw: replace(real(*a, **kw), greedy_stopped_by="safety net"))
    p = _access_problem(0)
    res = cpsat.solve(p, SolveOptions(time_limit_s=0.001, seed=0, workers=1, count_split=True))
    assert res.stats["count_vectors"] and res.status == "feasible"
    assert res.stopped_by == "wall_clock"
    assert res.stats["greedy_stopped_by"] == "safety net"


def test_a_sub_problem_cp_sat_rejects_is_an_error_not_a_feasible_answer(split_everything, monkeypatch):
    real = count_split._sub_model

    def broken(*args, **kwargs):
        m, x = real(*args, **kwargs)
        m.proto.variables[x[0].index].domain[0] = 1
        m.proto.variables[x[0].index].domain[1] = 0  # an empty domain: CP-SAT says MODEL_INVALID
        return m, x

    monkeypatch.setattr(count_split, "_sub_model", broken)
    with pytest.raises(SolverError, match="rejected"):
        cpsat.solve(knapsack_problem(), SolveOptions(time_limit_s=10, seed=0, workers=1, count_split=True))


@pytest.mark.parametrize("seed", range(0, 16, 3))
def test_the_cutoff_keeps_exactly_the_layouts_below_it(seed):
    # the cut-off is the largest objective a sub-problem may still have: one below the brute-force
    # optimum leaves nothing (pruned), the optimum itself keeps it
    p = _access_problem(seed)
    best, split = _best(p), maximal_count_vectors(p)
    assert best is not None and split is not None
    cc, _ = split
    uncapped = tuple(len(m) for m in cc.members)
    for cutoff, expected in ((best - 1, "INFEASIBLE"), (best, "OPTIMAL")):
        m, _x = count_split._sub_model(build_model(p, site_chains=True), cc, uncapped, cutoff, False)
        solver = cpsat.cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.status_name(solver.solve(m)) == expected
        if expected == "OPTIMAL":
            assert round(solver.objective_value) == best
