"""``benchmarks/realsites/plan_probes.py`` (wave 43's experiments): its rows are the runs' own
answers, and every mode leaves the solver as it found it."""

from __future__ import annotations

import json

import pytest

from benchmarks.realsites import plan_probes
from optimiser.inputs.domain import SolveOptions
from optimiser.solve import cpsat_model, strategy
from optimiser.solve import relax_first as rf

SEED = 9
"""An independent-generator problem relax-first solves (47,617 radius levels) in about a second."""


@pytest.fixture(scope="module")
def problem():
    return next(plan_probes.problems((SEED,)))[1]


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("mode", ["base", "lb-tree", "refine-first", "params"])
def test_a_traced_run_gives_the_answer_of_an_untraced_one_and_restores_the_solver(tmp_path, problem, mode):
    before = (rf.RelaxFirst.backend_solve, rf.RelaxFirst.exact_phase, cpsat_model.set_search_params)
    out = tmp_path / "runs.jsonl"
    extra = ["--params", "max_cut_rounds_at_level_zero=3,use_sat_inprocessing=false"] if mode == "params" else []
    assert plan_probes.main(["runs", "--mode", mode, "--seeds", str(SEED), "--limit", "4", "--out", str(out), *extra]) == 0
    assert (rf.RelaxFirst.backend_solve, rf.RelaxFirst.exact_phase, cpsat_model.set_search_params) == before
    (row,) = rows(out)
    direct = strategy.solve(problem, SolveOptions(time_limit_s=4, seed=0, workers=1))
    assert row["seed"] == SEED and row["mode"] == mode
    assert row["status"] == "optimal" and row["objective"] == direct.objective == row["bound"]
    assert row["calls"], "relax-first made no backend call"
    call = row["calls"][0]
    assert call["levels"] > 0 and 0 < call["charged_s"] <= call["budget_s"] + 1e-9
    assert row["work_s"]["total"] == pytest.approx(sum(v for k, v in row["work_s"].items() if k != "total"), abs=0.01)


def test_the_relaxations_are_lower_bounds_of_the_incumbent(tmp_path):
    out = tmp_path / "relaxations.jsonl"
    assert plan_probes.main(["relaxations", "--seeds", str(SEED), "--limit", "4", "--units", "0.5", "--out", str(out)]) == 0
    got = rows(out)
    assert [r["relaxation"] for r in got] == ["plain", "seeded"]
    assert all(r["bound"] <= r["incumbent"] for r in got)
    plain, seeded = got
    assert seeded["levels"] >= plain["levels"] and seeded["bound"] >= plain["bound"]


def test_extra_parameters_are_parsed_and_reach_the_lp_searches_they_are_for():
    from contextlib import ExitStack

    from ortools.sat.python import cp_model
    params = plan_probes.parse_params("max_cut_rounds_at_level_zero=3,use_sat_inprocessing=false,root_lp_iterations=2.5e3,"
                                      "search_branching=3")
    assert params == {"max_cut_rounds_at_level_zero": 3, "use_sat_inprocessing": False, "root_lp_iterations": 2500.0,
                      "search_branching": 3}
    for only_exact in (True, False):
        flag = {"exact": False}
        with ExitStack() as stack:
            plan_probes.extra_search_params(stack, params, only_exact, flag)
            before, during, own = cp_model.CpSolver(), cp_model.CpSolver(), cp_model.CpSolver()
            cpsat_model.set_search_params(before, "lp")
            cpsat_model.set_search_params(own, "cpsat")  # CP-SAT's own settings: left alone
            flag["exact"] = True
            cpsat_model.set_search_params(during, "lp")
        assert own.parameters.max_cut_rounds_at_level_zero == 1 and own.parameters.use_sat_inprocessing
        for solver, changed in ((before, not only_exact), (during, True)):
            p = solver.parameters
            got = (p.max_cut_rounds_at_level_zero, p.use_sat_inprocessing, p.root_lp_iterations, int(p.search_branching))
            assert got == ((3, False, 2500, 3) if changed else (1, True, 2000, 0))
