"""Relax-first's polish (crossing exchanges from the incumbent) and its work account."""

from __future__ import annotations

import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import relax_first as rf
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.site_interchange import improve_sites


@pytest.fixture(scope="module")
def district():
    p = prepare(make_district(20, 40, 10, 1, seed=0)).problem
    return p, relax_access_crossings(p), Evaluator(p)


def _runner(p, q, ev, limit_s=30.0):
    opts = SolveOptions(backend="cpsat", strategy="relax-first", time_limit_s=limit_s, seed=0, workers=1,
                        wall_limit_s=600.0)
    return rf.RelaxFirst(p, q, backend_module("cpsat"), opts, Deadline(limit_s), ev)


def _exchanges(p, layout):
    """Every feasible layout one crossing exchange away (brute force on the problem itself)."""
    built = [i for i in layout if p.decisions[i].kind == "crossing"]
    free = [i for i, d in enumerate(p.decisions) if d.kind == "crossing" and i not in layout]
    for out in built:
        for into in free:
            cand = (set(layout) - {out}) | {into}
            if p.is_feasible(cand):
                yield p.objective_of(cand)


def _poor_start(p, ev):
    """The greedy's sites re-chosen, with the one crossing that helps least (feasible)."""
    from optimiser.solve.heuristic import greedy_search

    g = greedy_search(p, evaluator=ev, safety_net_s=60)
    sites = [i for i in improve_sites(p, g.layout, evaluator=ev) if p.decisions[i].kind != "crossing"]
    singles = [(p.objective_of(set(sites) | {c}), c) for c, d in enumerate(p.decisions)
               if d.kind == "crossing" and p.is_feasible(set(sites) | {c})]
    return tuple(sorted(sites + [max(singles)[1]]))


def test_polish_reaches_a_layout_no_crossing_exchange_improves(district, monkeypatch):
    p, q, ev = district
    start = _poor_start(p, ev)
    r = _runner(p, q, ev)
    r.offer(start, "start")
    charged: list[float] = []  # the raw seconds of each search (info["work_s"] shows totals to 1 ms)
    charge = r.charge

    def spy(seconds: float, what: str) -> None:
        if what == "crossings exchanged":
            charged.append(seconds)
        charge(seconds, what)

    monkeypatch.setattr(r, "charge", spy)
    before = r.best
    assert before == p.objective_of(set(start))
    best_exchange = min(_exchanges(p, start))
    assert best_exchange < before  # the start can be improved by one exchange
    r.polish("polished", rechoose=False)
    assert r.info["crossings_exchanged"][0] >= 1
    assert r.best <= best_exchange and r.best == p.objective_of(set(r.layout)) and p.is_feasible(set(r.layout))
    # a local optimum of the exchange, checked by brute force
    assert all(obj >= r.best for obj in _exchanges(p, r.layout))
    # the searches were charged: one per exchange made, and the last one that found none
    n = r.info["crossings_exchanged"][0] + 1
    built = sum(1 for i in r.layout if p.decisions[i].kind == "crossing")
    per_search = max(1, built) * (ev.size * rf.SWAP_SECONDS_PER_INCIDENCE
                                  + len(p.decisions) ** 2 * rf.SWAP_SECONDS_PER_DECISION_PAIR)
    assert per_search > 0 and len(charged) == n
    assert sum(charged) == pytest.approx(n * per_search, rel=1e-9)


def test_polish_stops_when_the_budget_is_spent(district):
    p, q, ev = district
    start = _poor_start(p, ev)
    r = _runner(p, q, ev, limit_s=1.0)
    r.offer(start, "start")
    r.charge(r.remaining() - 0.5 * r.swap_cost(), "spent")  # less than one search left
    r.polish("polished")
    assert r.layout == start and r.info["crossings_exchanged"] == [0]
    assert "crossings exchanged" not in r.info["work_s"]


def test_set_up_is_charged_from_the_evaluator_size(district):
    p, q, ev = district
    r = _runner(p, q, ev)
    assert r.info["work_s"]["set-up"] == pytest.approx(ev.size / rf.SETUP_INCIDENCES_PER_S, abs=1e-3)
    # before the exact phase the work left is the planned limit's (PLAN_HORIZON_S)
    assert r.limit_s == min(30.0, rf.PLAN_HORIZON_S or 30.0)
    assert r.remaining() == pytest.approx(r.limit_s - ev.size / rf.SETUP_INCIDENCES_PER_S)
