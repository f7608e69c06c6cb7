"""benchmarks/realsites: the generator is deterministic per seed, writes files the project's
validator accepts with the shape asked for; the model exported as MPS is solved to the brute-force
optimum by HiGHS in a separate process (slow; skipped without highspy)."""

from __future__ import annotations

import pytest

from benchmarks.realsites.generate import make_problem, write_problem
from optimiser.inputs import read_scenario, validate_files
from optimiser.network.crossings import generate_candidate_crossings
from optimiser.solve.mip_export import highs_available, solve_mps_highs, write_mps
from optimiser.solve.result import Status


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = write_problem(make_problem(5, 14, 40), tmp_path / "a")
    b = write_problem(make_problem(5, 14, 40), tmp_path / "b")
    c = write_problem(make_problem(6, 14, 40), tmp_path / "c")
    for name in ("site.yaml", "scenario.yaml"):
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes()
    assert (a.parent / "site.yaml").read_bytes() != (c.parent / "site.yaml").read_bytes()


def test_files_are_valid_and_real_shaped(tmp_path):
    prob = make_problem(3, 16, 60)
    path = write_problem(prob, tmp_path)
    assert validate_files([path]) == []  # the scenario and the site it names
    sc = read_scenario(path)
    site = sc.site
    staff = sorted(f.employees for f in site.firms)
    assert len(staff) == 16
    assert 2_000 <= staff[-1] <= 20_000 and staff[-1] == prob.anchor_staff  # one anchor firm
    assert sum(s < 500 for s in staff) >= 0.75 * len(staff)  # most firms are small
    kinds = {b.kind.value for b in site.barriers}
    assert 2 <= len(site.barriers) <= 4 and "dual_carriageway" in kinds
    costs = sorted(t.cost for t in sc.crossings.types)
    assert costs[-1] / costs[0] == pytest.approx(20.0)
    cands = generate_candidate_crossings(site, site.active_barriers({}), sc.crossings)
    assert 30 <= len(cands) <= 150
    by_barrier = {b.id: b.kind.value for b in site.barriers}
    for c in cands:  # grade-separated types only over a motorway or a railway
        if by_barrier[c.barrier_id] != "dual_carriageway":
            assert c.type in ("footbridge", "underpass"), (c.id, c.type)
    assert {c.type for c in cands} == {"signalised", "footbridge", "underpass"}
    shapes = {len(p.polygon.exterior.coords) for p in site.parcels}
    assert max(shapes) > 5  # parcels cut by barriers are not all rectangles
    assert sc.solver.seed == 0 and sc.solver.workers == 1


@pytest.mark.slow
@pytest.mark.skipif(not highs_available(), reason="highspy is not installed (pip install -e '.[test]')")
@pytest.mark.parametrize("case", ["two_barriers", "budget_forbids_best"])
def test_highs_subprocess_finds_the_brute_force_optimum(tmp_path, zoo_case, case):
    prep, (best, _) = zoo_case(case)
    model = write_mps(prep.problem, tmp_path / "m.mps")
    assert model.n_decisions == len(prep.problem.decisions)
    res = solve_mps_highs(model, 30.0, seed=0, threads=1, use_start=False)
    assert res.status is Status.OPTIMAL, res.raw
    assert res.objective == pytest.approx(best, abs=0.5)
    assert float(prep.problem.objective_of(set(res.chosen))) == pytest.approx(best, abs=0.5)
    assert res.bound is not None and res.bound <= res.objective + 0.5
    started = solve_mps_highs(model, 30.0, seed=0, threads=1, use_start=True)  # from the greedy start: the same optimum
    assert started.objective == pytest.approx(best, abs=0.5)
