"""The route-crossing cap and switched-off layers mean the same in the model, pairs.csv, the
plans' routes and verification (issue 15, point 6)."""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from shapely.geometry import LineString

from optimiser.inputs.domain import Crossing, Scenario, Site
from optimiser.pipeline import prepare, run_scenario
from optimiser.verify import verify
from tests.sitezoo import crossing_spec, firm, two_barrier_site
from tests.zoo_cases import CASES, SIG


def _capped_lengths(net, keys, chosen_ids, cap):
    """The network's own lengths: the best over subsets of at most ``cap`` built crossings."""
    best = net.lengths(keys, keys)
    for k in range(1, cap + 1):
        for subset in itertools.combinations(chosen_ids, k):
            best = np.minimum(best, net.lengths(keys, keys, subset))
    return best


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_cap_binds_and_model_pairs_verifier_agree(tmp_path, backend):
    sc = CASES["route_cap_binds"]()
    assert sc.crossings.max_route_crossings == 1
    res = run_scenario(sc, tmp_path / "run", backend=backend, time_limit_s=30, seed=0, workers=1, render=False)
    assert res.status == "optimal"
    prep = res.prepared
    net, keys = prep.network, list(prep.context.firm_keys)
    built = sorted(net.candidates[c].id for c, d in prep.context.crossing_decision.items() if d in res.solve.chosen)
    assert built == ["hs2-100", "pw-200"]  # both are worth building, each for its own pairs
    assert res.verification.passed
    # the model's objective is the verifier's, exactly (each term rounded once)
    assert res.verification.objective == pytest.approx(res.solve.objective, abs=len(prep.problem.clients) + 1)
    capped = _capped_lengths(net, keys, built, 1)
    uncapped = net.lengths(keys, keys, built)
    assert np.isinf(capped[keys.index("firm:b"), keys.index("firm:c")])
    assert uncapped[keys.index("firm:b"), keys.index("firm:c")] == pytest.approx(1050.0)  # the cap binds here
    with open(tmp_path / "run" / "pairs.csv", encoding="utf-8") as fh:
        rows = {(r["a"], r["b"]): r for r in csv.DictReader(fh)}
    assert rows, "pairs.csv has rows"
    for (a, b), r in rows.items():
        want = capped[keys.index(f"firm:{a}"), keys.index(f"firm:{b}")]
        after = float(r["after_m"]) if r["after_m"] else math.inf  # unreachable: empty
        assert after == pytest.approx(want, abs=0.01), (a, b)
        assert len([x for x in r["crossings_used"].split(";") if x]) <= 1
    assert rows[("a", "d")]["crossings_used"] == "pw-200"


def test_verifier_walks_with_and_without_the_cap():
    sc = CASES["route_cap_binds"]()
    for cap, b_to_c in ((1, math.inf), (2, 1050.0)):
        prep = prepare(replace(sc, crossings=replace(sc.crossings, max_route_crossings=cap)))
        both = tuple(range(len(prep.problem.decisions)))
        v = verify(prep.problem, prep.context, both, prep.problem.objective_of(set(both)), raise_on_failure=False)
        assert v.passed, [c.detail for c in v.checks if not c.passed]
        keys = list(prep.context.firm_keys)
        assert v.pair_lengths_m[keys.index("firm:b"), keys.index("firm:c")] == pytest.approx(b_to_c)
        on = [c.id for c in prep.network.candidates]
        parts = prep.network.route_parts("firm:c", "firm:d", on, cap) if cap == 2 else None
        if parts is not None:
            assert [p["ref"] for p in parts if p["kind"] == "candidate"] == ["hs2-100", "pw-200"]


def test_schema_cap_matches_the_docs():
    from optimiser.inputs.schema import CrossingsIn

    field = CrossingsIn.model_fields["max_route_crossings"]
    bounds = {type(m).__name__: m for m in field.metadata}
    assert bounds["Ge"].ge == 1 and bounds["Le"].le == 2
    text = open("constraints/README.md", encoding="utf-8").read()
    assert "| `max_route_crossings` | 1-2 |" in text


def _diagonal_bridge_site() -> Site:
    """The HS2 site with a diagonal existing bridge over the corridor, between two firms' doors."""
    base = two_barrier_site()
    bridge = Crossing("hs2-diag", "Diagonal bridge", "hs2", "bridge", LineString([(650, 400), (750, 500)]), existing=True)
    firms = (firm("f", 650, 380, (650, 400)), firm("g", 750, 520, (750, 500)))
    return Site(**{**base.__dict__, "firms": base.firms + firms, "crossings": base.crossings + (bridge,)})


@pytest.mark.parametrize("hs2_on, walk_m", [(True, math.hypot(100, 100)), (False, 200.0)])
def test_existing_bridge_over_switched_off_corridor_does_not_shorten_walks(hs2_on, walk_m):
    sc = Scenario(id="diag", name="diag", site=_diagonal_bridge_site(), site_ref="diag", budget=0,
                  layers={"hs2": hs2_on}, crossings=crossing_spec(0.0, types=(SIG,)))
    prep = prepare(sc)
    keys = list(prep.context.firm_keys)
    f, g = keys.index("firm:f"), keys.index("firm:g")
    # the network (the model's walks) and the verifier's own graph agree
    assert prep.network.lengths(["firm:f"], ["firm:g"])[0, 0] == pytest.approx(walk_m, abs=1e-6)
    v = verify(prep.problem, prep.context, (), None, raise_on_failure=False)
    assert v.pair_lengths_m[f, g] == pytest.approx(walk_m, abs=1e-6)
    refs = {p["ref"] for p in prep.network.route_parts("firm:f", "firm:g")}
    assert ("hs2-diag" in refs) is hs2_on
