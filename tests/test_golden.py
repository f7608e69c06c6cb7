"""Golden files: three tiny sites whose optimum is derived by hand, not by the code under test.

Every figure below is worked out on paper from the site files in ``tests/golden/`` (local
frame x = E - 440000, y = N - 388000): firms stand 30 m from their road, roads are straight,
crossings run straight between the roads, so each walk is a sum of straight legs. The test
runs the whole pipeline on both backends and checks the chosen crossings, the walks, the cost
and the objective against these numbers; nothing here calls the network or model code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from optimiser import read_scenario
from optimiser.pipeline import run_scenario

GOLDEN = Path(__file__).parent / "golden"

# (scenario file, budget override, chosen crossings, capital, weighted mean walk before / after
#  (m), sum of weight x walk after (weighted metres), pair -> (before, after) walks (m))
CASES = {
    # g1: a-b across a 20 m road. Before: 30 connector + 500 west along the south road + 100
    # junction + 500 east + 30 = 1,160 m. The bridge at x=500 is 100 m long with a 60 m
    # penalty: 30 + 160 + 30 = 220 m. One pair of weight 1.
    "g1": ("g1_scenario.yaml", None, ["bridge"], 100_000, 1160.0, 220.0, 220.0, {("a", "b"): (1160.0, 220.0)}),
    # g2: a-b (weight 5) at x=200, c-d (weight 1) at x=800; budget for one bridge (20 m penalty).
    # Before: a-b 30+200+100+200+30 = 560; c-d 30+800+100+800+30 = 1,760; mean (5x560+1,760)/6 = 760.
    # West bridge: a-b 30+120+30 = 180; c-d min(1,760, 30+600+120+600+30 = 1,380) = 1,380:
    # saves 5x380 + 380 = 2,280 weighted m; mean (900+1,380)/6 = 380.
    # East bridge: c-d 180 (saves 1,580); a-b keeps the junction (560 < 1,380): mean (2,800+180)/6
    # = 496.7. So the west bridge is optimal.
    "g2": ("g2_scenario.yaml", None, ["bridge-west"], 100_000, 760.0, 380.0, 5 * 180.0 + 1380.0,
           {("a", "b"): (560.0, 180.0), ("c", "d"): (1760.0, 1380.0)}),
    # g3: a road (south/middle roads at y=-50/100) and a rail corridor (middle/north at 100/300).
    # Before: 30 + 500 west + 150 junction + 1,000 east + 200 rail bridge + 500 west + 30 = 2,410.
    # Both new crossings (road at x=500, rail at x=600; no penalty):
    # 30 + 150 + 100 + 200 + 100 + 30 = 610 m.
    "g3": ("g3_scenario.yaml", None, ["rail-footbridge", "road-bridge"], 200_000, 2410.0, 610.0, 610.0,
           {("a", "b"): (2410.0, 610.0)}),
    # g3 with budget for one: road bridge only 30+150+500 east+200+500 west+30 = 1,410;
    # rail footbridge only 30+500+150+600+200+100+30 = 1,610. So the road bridge.
    "g3-one": ("g3_scenario.yaml", 100_000, ["road-bridge"], 100_000, 2410.0, 1410.0, 1410.0,
               {("a", "b"): (2410.0, 1410.0)}),
}


def _pairs(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    import csv

    with open(path, newline="") as fh:
        return {(r["a"], r["b"]): (float(r["before_m"]), float(r["after_m"])) for r in csv.DictReader(fh)}


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_optimum(case, backend, tmp_path):
    scen, budget, chosen, capital, before_m, after_m, weighted_after_m, pairs = CASES[case]
    sc = read_scenario(GOLDEN / scen, **({"budget_gbp": budget} if budget is not None else {}))
    res = run_scenario(sc, tmp_path / "run", backend=backend, seed=0, workers=1, render=False)
    m = res.metrics
    assert m.status == "optimal" and m.gap == 0
    assert sorted(c.id for c in m.placements.crossings) == chosen
    assert m.cost.capital == capital
    assert m.walk.baseline_weighted_mean_m == pytest.approx(before_m, abs=0.05)
    assert m.walk.optimised_weighted_mean_m == pytest.approx(after_m, abs=0.05)
    assert m.objective_weighted_m == pytest.approx(weighted_after_m, rel=1e-3)
    assert m.verification.passed is True
    got = _pairs(tmp_path / "run" / "pairs.csv")
    for pair, (b, a) in pairs.items():
        assert got[pair] == (pytest.approx(b, abs=0.01), pytest.approx(a, abs=0.01))
