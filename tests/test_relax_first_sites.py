"""Relax-first's exact site re-choice (:mod:`optimiser.solve.relax_first_sites`) on a 20-firm district,
against brute force over its sites, on both backends."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import relax_first as rf
from optimiser.solve import relax_first_sites
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator, greedy_search
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.site_interchange import improve_sites


@pytest.fixture(scope="module")
def district():
    """(problem, its access relaxation, evaluator, the greedy's crossings, every site decision): one
    kind of hub, 1-3 of them, 39 candidate sites, 10 candidate crossings."""
    p = prepare(make_district(20, 40, 10, 1, seed=0)).problem
    ev = Evaluator(p)
    g = greedy_search(p, evaluator=ev, safety_net_s=60)
    crossings = [i for i in g.layout if p.decisions[i].kind == "crossing"]
    sites = [i for i, d in enumerate(p.decisions) if d.kind != "crossing"]
    assert crossings and len(sites) == 39
    return p, relax_access_crossings(p), ev, crossings, sites


def _best_sites(p, crossings, sites) -> int:
    """The best objective with these crossings, by brute force over every set of 1-3 hubs."""
    best = None
    for k in (1, 2, 3):
        for combo in itertools.combinations(sites, k):
            cand = set(crossings) | set(combo)
            if p.is_feasible(cand):
                obj = p.objective_of(cand)
                best = obj if best is None else min(best, obj)
    assert best is not None
    return best


def _runner(p, q, ev, backend="cpsat", limit_s=10.0):
    opts = SolveOptions(backend=backend, strategy="relax-first", time_limit_s=limit_s, seed=0, workers=1,
                        wall_limit_s=600.0)
    return rf.RelaxFirst(p, q, backend_module(backend), opts, Deadline(limit_s), ev)


def _worst_single(p, crossings, sites) -> tuple[int, ...]:
    """The crossings with the one hub that serves them worst (a feasible layout)."""
    singles = [(p.objective_of(set(crossings) | {s}), s) for s in sites if p.is_feasible(set(crossings) | {s})]
    return tuple(sorted(crossings + [max(singles)[1]]))


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_the_sites_re_chosen_exactly_are_the_best_for_the_crossings(district, backend, monkeypatch):
    p, q, ev, crossings, sites = district
    start = _worst_single(p, crossings, sites)
    best = _best_sites(p, crossings, sites)
    # interchange keeps the number of hubs: from one hub it cannot reach the best layout (three)
    interchanged = improve_sites(p, start, evaluator=ev)
    assert p.objective_of(set(interchanged)) > best
    r = _runner(p, q, ev, backend)
    r.offer(start, "start")
    charged: dict[str, float] = {}
    charge = r.charge

    def spy(seconds: float, what: str) -> None:
        charged[what] = charged.get(what, 0.0) + seconds
        charge(seconds, what)

    monkeypatch.setattr(r, "charge", spy)
    assert relax_first_sites.sites_exact(r, "sites exact") is True
    assert r.best == best == p.objective_of(set(r.layout)) and p.is_feasible(set(r.layout))
    assert {i for i in r.layout if p.decisions[i].kind == "crossing"} == set(crossings)
    info = r.info["sites_exact"]
    assert info["status"] == "optimal" and info["gain"] == p.objective_of(set(start)) - best > 0
    # fewer levels than the problem, at most the count made before building it
    assert 0 < info["levels"] <= info["levels_at_most"] < p.n_levels()
    # charged: the fixing by the problem's levels, then the backend's set-up and search
    fix_s = p.n_levels() * relax_first_sites.FIX_CROSSINGS_SECONDS_PER_LEVEL
    assert charged["sites exact"] >= fix_s + r.backend_cost(info["levels"])
    assert charged["sites exact"] <= fix_s + relax_first_sites.SITES_EXACT_SHARE * r.limit_s + 1e-9
    # proven the best for its crossings: interchange is not run on it again
    assert r.layout in r._improved


def test_skipped_when_its_share_leaves_no_minimum_search(district, monkeypatch):
    p, q, ev, crossings, sites = district
    start = _worst_single(p, crossings, sites)
    r = _runner(p, q, ev)
    r.offer(start, "start")
    work = r.work_s
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.5 * rf.BACKEND_MIN_SEARCH_SHARE)
    assert relax_first_sites.sites_exact(r, "sites exact") is False
    assert r.info["sites_exact"]["skipped"] == "budget below its set-up"
    assert r.best == p.objective_of(set(start)) and r.work_s == work  # nothing charged, nothing changed
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.0)
    assert relax_first_sites.sites_exact(r, "sites exact") is False


@pytest.mark.parametrize("share", [0.0, relax_first_sites.SITES_EXACT_SHARE])
def test_the_incumbent_phase_re_chooses_the_greedy_sites_exactly_or_by_interchange(district, monkeypatch, share):
    p, q, ev, crossings, sites = district
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", share)
    r = _runner(p, q, ev)
    r.incumbent_phase()
    work = r.info["work_s"]
    if share:
        assert r.info["sites_exact"]["status"] == "optimal" and "sites exact" in work and "sites re-chosen" not in work
        # the greedy's crossings kept their best sites (and the polish found no better exchange from there)
        assert r.best <= _best_sites(p, crossings, sites)
    else:
        assert "sites_exact" not in r.info and "sites exact" not in work and "sites re-chosen" in work
    assert r.best == p.objective_of(set(r.layout)) and p.is_feasible(set(r.layout))
