"""The rounding of the objective's weights (``optimiser.model.rounding``, ``solver.weight_levels``):
its bound holds against brute force, and a finer rounding finds the exact optimum a coarse one
misses (a helper's reproducer: one 90,000-staff firm beside small ones)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from optimiser.errors import ValidationError
from optimiser.inputs import read_scenario
from optimiser.inputs.domain import SolveOptions
from optimiser.model.clients import WeightScale
from optimiser.model.problem import Problem
from optimiser.model.rounding import weight_rounding
from optimiser.model.terms import firm_pairs
from optimiser.pipeline import run_scenario
from tests.random_problems import exact_objective, feasible_layouts, random_problem


def _exact_weights(p: Problem, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Weights that round to the problem's: within 1/2 of each (a weight of 1 may have been raised from near 0)."""
    def one(q: int) -> float:
        return float(rng.uniform(0.0, 1.5)) if q == 1 else q + float(rng.uniform(-0.5, 0.5))
    return [one(c.weight) for c in p.clients], [one(q.weight) for q in p.penalties]


def test_the_bound_holds_against_brute_force_and_rounding_does_change_the_optimum():
    rng = np.random.default_rng(7)
    missed = 0
    for seed in range(60):
        p = random_problem(seed)
        for c in p.clients[::2]:  # small weights, where rounding matters most
            object.__setattr__(c, "weight", max(1, c.weight // 10))
        layouts = [frozenset(s) for s in feasible_layouts(p)]
        if not layouts:
            continue
        w, pen = _exact_weights(p, rng)
        rounded = min(layouts, key=lambda s: (p.objective_of(set(s)), sorted(s)))
        best_exact = min(exact_objective(p, set(s), w, pen) for s in layouts)
        r = weight_rounding(p, rounded, p.objective_of(set(rounded)), 10_000)
        excess = exact_objective(p, set(rounded), w, pen) - best_exact  # weight x length units
        assert excess <= r.max_gain_weighted_m * p.units_per_weighted_m + 1e-9, seed
        exact = {str(c.key): wc for c, wc in zip(p.clients, w)}  # the exact differences (s = 1 here)
        r_exact = weight_rounding(p, rounded, p.objective_of(set(rounded)), 10_000, exact)
        assert excess <= r_exact.max_gain_weighted_m * p.units_per_weighted_m + 1e-9, seed
        assert r_exact.max_gain_weighted_m <= r.max_gain_weighted_m + 1e-12
        missed += excess > 1e-9
    assert missed > 0  # the rounded optimum is not always the exact one: the bound is not vacuous


def test_nothing_rounded_means_no_gain():
    p = random_problem(3)
    r = weight_rounding(p, set(), p.objective_of(set()), None)
    assert (r.weight_levels, r.max_gain_weighted_m) == (None, 0.0)


def test_weight_scale_puts_the_largest_weight_at_the_levels():
    ws = WeightScale.for_weights([np.array([3.0, 90_000.0 * 120]), np.array([0.5])], 1_000_000)
    q = ws.to_int(np.array([90_000.0 * 120, 3.0, 1e-9]))
    assert q.tolist() == [1_000_000, 1, 1]  # 3 x 1e6 / 1.08e7 = 0.28 and 1e-9 x ... round to 0: raised to 1
    assert ws.per_unit == pytest.approx(1_000_000 / (90_000 * 120))


HEAVY = Path(__file__).resolve().parent / "weight_rounding"
"""A canal with one existing bridge at its west end, two footbridge sites 250 m apart (k1, k2)
and a bascule (k3) the budget cannot add to either; firm g has 90,000 staff, a-d 3-10. With the
exact weights k1 is best by 6.5 weighted m in 715,549; 10,000 weight levels round the small
firms' pair weights to 1-3 units and pick k2."""


def _scenario_with(tmp_path: Path, **solver: object) -> Path:
    data = yaml.safe_load((HEAVY / "scenario.yaml").read_text(encoding="utf-8"))
    data["site"] = str(HEAVY / "site.yaml")
    data["solver"] = {**data.get("solver", {}), **solver}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _exact_walk_objective(run) -> float:
    """Sum over firm pairs of the exact pair weight times the verified walk (weighted m)."""
    sc = run.prepared.scenario
    pairs, w = firm_pairs(list(sc.site.firms), sc.demand)
    lengths = run.verification.pair_lengths_m
    return float(sum(wi * lengths[a, b] for (a, b), wi in zip(pairs, w.tolist())))


def test_finer_weights_find_the_exact_optimum_the_default_rounding_misses(tmp_path):
    coarse = run_scenario(read_scenario(_scenario_with(tmp_path / "c")), out_dir=None, time_limit_s=20)
    fine = run_scenario(read_scenario(_scenario_with(tmp_path / "f", weight_levels=1_000_000)), out_dir=None,
                        time_limit_s=20)
    crossings = [[c.id for c in r.metrics.placements.crossings] for r in (coarse, fine)]
    assert crossings == [["k2"], ["k1"]]
    assert coarse.status.value == fine.status.value == "optimal"
    e_coarse, e_fine = _exact_walk_objective(coarse), _exact_walk_objective(fine)
    assert e_fine == pytest.approx(715_548.68, abs=0.05) and e_coarse - e_fine == pytest.approx(6.5, abs=0.05)
    rc, rf = coarse.metrics.model["weight_rounding"], fine.metrics.model["weight_rounding"]
    assert rc["weight_levels"] == 10_000 and rf["weight_levels"] == 1_000_000
    assert rc["max_gain_weighted_m"] >= e_coarse - e_fine  # the bound covers what the rounding cost
    assert rf["max_gain_weighted_m"] < rc["max_gain_weighted_m"] / 50
    assert rf["max_gain_pct"] == pytest.approx(100 * rf["max_gain_weighted_m"] / fine.metrics.objective_weighted_m, rel=2e-3)


@pytest.mark.parametrize("levels", [50, 20_000_000, 1.5, "many"])
def test_weight_levels_out_of_range_is_a_validation_problem(tmp_path, levels):
    with pytest.raises(ValidationError) as exc:
        read_scenario(_scenario_with(tmp_path, weight_levels=levels))
    assert any(p.field == "solver.weight_levels" for p in exc.value.problems)


def test_solve_options_refuse_bad_weight_levels():
    with pytest.raises(ValueError, match="weight_levels"):
        SolveOptions(weight_levels=10)


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("scenario", ["amp_sbp/baseline", "amp_sbp/tram", "amp_sbp/tram_800", "fremont/baseline"])
def test_every_term_of_a_built_problem_gets_its_exact_weight(scenario):
    """``exact_weights`` computes each term's weight as the builders do: every client, merged ones
    included, is found and rounds to its integer weight (so the bound uses exact differences)."""
    from optimiser.model.clients import WeightScale
    from optimiser.model.rounding import exact_weights
    from optimiser.model.transforms import MERGED_KEYS
    from optimiser.pipeline import prepare

    prep = prepare(read_scenario(ROOT / "constraints" / f"{scenario}.yaml"))
    p = prep.problem
    exact = exact_weights(prep.scenario, p.weight_scale["all"])
    merged = p.info[MERGED_KEYS]
    for i, c in enumerate(p.clients):
        keys = merged.get(i, (c.key,))
        assert all(str(k) in exact for k in keys), (i, keys)
        assert WeightScale(1.0).to_int(np.array([exact[str(k)] for k in keys])).sum() == c.weight, (i, keys)
    if scenario == "amp_sbp/baseline":
        assert merged  # identical terms are merged here: their parts are counted one by one
        with_exact = weight_rounding(p, [], p.objective_of(set()), 10_000, exact)
        without = weight_rounding(p, [], p.objective_of(set()), 10_000)
        assert 0 < with_exact.max_gain_weighted_m < without.max_gain_weighted_m / 2


def test_exact_objective_counts_the_coverage_penalties_exactly(tmp_path):
    """``exact_objective`` re-scored every walking term with its exact weight but kept each
    social-coverage penalty (a firm outside every social space's radius) at its rounded integer:
    on a coarse scale a futures run's 'exact' figures were off by the penalties' rounding. Checked
    against the verifier on a fine scale, where every weight is nearly whole, for the empty layout
    and every single decision."""
    from optimiser.model.rounding import exact_objective, exact_weights
    from optimiser.pipeline import prepare
    from optimiser.verify import verify
    from tests.sitefiles import write_files

    _, scen = write_files(tmp_path)
    sc = read_scenario(scen)
    coarse, fine = prepare(sc, WeightScale(0.000317)), prepare(sc, WeightScale(1000.0))
    assert coarse.problem.penalties, "the tiny site has firms outside every social space's coverage"
    exact = exact_weights(sc, coarse.problem.weight_scale["all"])
    keys = {d.key: i for i, d in enumerate(fine.problem.decisions)}
    off = []
    for layout in [(), *((i,) for i in range(len(coarse.problem.decisions)))]:
        want = verify(fine.problem, fine.context, tuple(keys[coarse.problem.decisions[i].key] for i in layout), None,
                      raise_on_failure=False).objective / fine.problem.units_per_weighted_m
        got = exact_objective(coarse.problem, layout, exact) / coarse.problem.units_per_weighted_m
        assert got == pytest.approx(want, abs=0.5), layout  # weighted m
        rounded = sum(p.weight for p in coarse.problem.unlifted(coarse.problem.open_options(set(layout))))
        off.append(abs(rounded - sum(exact[p.key] for p in coarse.problem.unlifted(coarse.problem.open_options(set(layout)))))
                   / coarse.problem.units_per_weighted_m)
    assert max(off) > 10  # the penalties' rounding alone is tens of weighted m: the check above is not vacuous
