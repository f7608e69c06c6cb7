"""The problem object's derived views (:class:`optimiser.model.problem.Problem`): which decisions are
crossings, and which decisions are interchangeable (one kind, group and cost), read against the
decisions themselves on a 20-firm district and on a hand-made list."""

from __future__ import annotations

import numpy as np

from benchmarks.joint.generate import make_district
from optimiser.model.problem import Decision, Problem
from optimiser.pipeline import prepare


def _problem(decisions: list[Decision]) -> Problem:
    return Problem(decisions=decisions, options=[(i,) for i in range(len(decisions))], clients=[], constraints=[],
                   penalties=[], groups={}, length_scale_per_m=1, weight_scale={"all": 1.0}, budget=0.0)


def _decision(kind: str, group: str, cost: float, key: str) -> Decision:
    return Decision(key=key, label=key, kind=kind, group=group, cost=cost)


def test_crossing_mask_and_classes_by_hand():
    p = _problem([
        _decision("crossing", "A630", 0.6e6, "c0"),
        _decision("facility", "lab", 3e6, "f0"),
        _decision("crossing", "A630", 0.6e6, "c1"),
        _decision("crossing", "A630", 2.5e6, "c2"),   # same barrier, another cost
        _decision("crossing", "rail", 0.6e6, "c3"),   # same cost, another barrier
        _decision("facility", "lab", 3e6, "f1"),
        _decision("facility", "cafe", 3e6, "f2"),     # same cost, another type
        _decision("social", "lab", 3e6, "s0"),        # same group and cost, another kind
    ])
    assert p.crossing_mask.tolist() == [True, False, True, True, True, False, False, False]
    assert p.crossing_mask.dtype == bool
    assert p.class_ids().tolist() == [0, 1, 0, 2, 3, 1, 4, 5]


def test_empty_problem_has_empty_views():
    p = _problem([])
    assert p.crossing_mask.shape == (0,) and p.class_ids().shape == (0,)


def test_views_on_a_district_match_the_decisions():
    p = prepare(make_district(20, 40, 10, 1, seed=3)).problem
    mask, cls = p.crossing_mask, p.class_ids()
    assert mask.sum() == sum(d.kind == "crossing" for d in p.decisions) > 0
    assert (~mask).sum() > 0
    for i, a in enumerate(p.decisions):
        assert mask[i] == (a.kind == "crossing")
        same = np.flatnonzero(cls == cls[i])
        assert all((p.decisions[j].kind, p.decisions[j].group, p.decisions[j].cost) == (a.kind, a.group, a.cost)
                   for j in same)
    # every distinct (kind, group, cost) has exactly one id, numbered in order of first appearance
    seen = list(dict.fromkeys((d.kind, d.group, d.cost) for d in p.decisions))
    assert int(cls.max()) + 1 == len(seen)
    assert [int(cls[[(d.kind, d.group, d.cost) for d in p.decisions].index(k)]) for k in seen] == list(range(len(seen)))
