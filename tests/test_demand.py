"""``optimiser.model.demand``: firm-pair weights, against the rule written out pair by pair."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point

from optimiser.inputs.domain import DemandSpec, Firm
from optimiser.model.demand import affinity, pair_weights


def _firms(sectors: list[str], employees: list[int]) -> list[Firm]:
    return [Firm(f"f{i}", f"Firm {i}", e, s, Point(i, 0), (Point(i, 0),)) for i, (s, e) in enumerate(zip(sectors, employees))]


def _by_hand(firms: list[Firm], spec: DemandSpec) -> np.ndarray:
    n = len(firms)
    w = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if spec.rule == "explicit":
                continue
            v = firms[i].employees * firms[j].employees / 1000.0
            if spec.rule == "sector_affinity":
                v *= affinity(spec, firms[i].sector, firms[j].sector)
            w[i, j] = w[j, i] = v
    index = {f.id: k for k, f in enumerate(firms)}
    for a, b, v in spec.pairs:
        w[index[a], index[b]] = w[index[b], index[a]] = v
    return w


def test_sector_affinity_by_hand():
    firms = _firms(["lab", "works", "office"], [100, 200, 50])
    spec = DemandSpec("sector_affinity", {"lab": {"works": 2.0}, "office": {"lab": 0.0}})
    w = pair_weights(firms, spec)
    assert w[0, 1] == w[1, 0] == 100 * 200 / 1000 * 2.0   # lab-works: 2
    assert w[0, 2] == w[2, 0] == 0.0                        # office-lab given the other way round: 0
    assert w[1, 2] == w[2, 1] == 200 * 50 / 1000            # works-office: not given, 1
    assert (np.diag(w) == 0).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rule", ["employees_product", "sector_affinity", "explicit"])
def test_random_firms_match_the_rule_pair_by_pair(seed, rule):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    names = ["lab", "works", "office", "cafe", "logistics"][: int(rng.integers(1, 6))]
    sectors = [names[k] for k in rng.integers(0, len(names), n)]
    firms = _firms(sectors, [int(e) for e in rng.integers(1, 5000, n)])
    aff: dict[str, dict[str, float]] = {}
    for a in names:
        for b in names:
            if rng.random() < 0.3 and b not in aff.get(a, {}) and a not in aff.get(b, {}):
                aff.setdefault(a, {})[b] = float(rng.choice([0.0, 0.5, 1.5, 3.0]))
    pairs = tuple((firms[i].id, firms[j].id, float(rng.integers(0, 100)))
                  for i, j in rng.integers(0, n, (3, 2)) if i != j)
    spec = DemandSpec(rule, aff, pairs)
    assert np.array_equal(pair_weights(firms, spec), _by_hand(firms, spec))
