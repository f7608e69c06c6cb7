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


@pytest.mark.parametrize("mode", ["base", "lb-tree", "refine-first"])
def test_a_traced_run_gives_the_answer_of_an_untraced_one_and_restores_the_solver(tmp_path, problem, mode):
    before = (rf.RelaxFirst.backend_solve, rf.RelaxFirst.exact_phase, cpsat_model.set_search_params)
    out = tmp_path / "runs.jsonl"
    assert plan_probes.main(["runs", "--mode", mode, "--seeds", str(SEED), "--limit", "4", "--out", str(out)]) == 0
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
