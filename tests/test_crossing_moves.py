"""Crossings moved with their sites (:mod:`optimiser.solve.crossing_moves`) on 20-firm districts, against
brute force over the moves, the walking lengths against :func:`~optimiser.solve.site_interchange._site_matrix`,
and relax-first's step (:func:`~optimiser.solve.relax_first_sites.crossings_moved`) on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.inputs.domain import SolveOptions
from optimiser.model.flat import flat_options, option_sites
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve import crossing_moves, relax_first_sites
from optimiser.solve import relax_first as rf
from optimiser.solve.crossing_moves import _SiteLengths, move_crossings
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator, greedy_search
from optimiser.solve.registry import backend as backend_module
from optimiser.solve.site_interchange import _site_matrix, improve_sites


def _district(seed: int):
    p = prepare(make_district(20, 40, 10, 1, seed=seed)).problem
    ev = Evaluator(p)
    return p, ev, greedy_search(p, evaluator=ev, safety_net_s=60).layout


def _key(p, i):
    return p.decisions[i].group, p.decisions[i].cost


def _moves(p, layout):
    """Every move of a built crossing to an unbuilt one of the same group and cost."""
    crossing = [d.kind == "crossing" for d in p.decisions]
    built = [i for i in layout if crossing[i]]
    spare = [i for i, c in enumerate(crossing) if c and i not in layout]
    return [(o, n) for o in built for n in spare if _key(p, n) == _key(p, o)]


def _starts(p, ev, greedy):
    """Local optima of interchange one move away from the greedy layout (its sites re-chosen)."""
    out = []
    for o, n in _moves(p, greedy):
        start = [i for i in greedy if i != o] + [n]
        if p.is_feasible(set(start)):
            out.append(tuple(sorted(improve_sites(p, start, evaluator=ev))))
    return sorted(set(out))


def _brute_force(p, ev, layout) -> int:
    """The best objective over every move of ``layout`` followed by interchange."""
    best = p.objective_of(set(layout))
    for o, n in _moves(p, layout):
        moved = [i for i in layout if i != o] + [n]
        if p.is_feasible(set(moved)):
            best = min(best, p.objective_of(set(improve_sites(p, moved, evaluator=ev))))
    return best


@pytest.fixture(scope="module")
def district0():
    return _district(0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_move_confirmed_reaches_the_brute_force_best_of_the_moves(seed):
    p, ev, greedy = _district(seed)
    improved = 0
    for start in _starts(p, ev, greedy):
        x = ev.layout(start)
        obj = ev.objective(x)
        assert obj == p.objective_of(set(start))
        want = _brute_force(p, ev, start)
        got = move_crossings(ev, x, obj, confirm=1000, below_own=False)
        assert got.screened == len(_moves(p, start))
        if want < obj:
            improved += 1
            assert got.layout is not None and got.objective == want
            chosen = set(np.flatnonzero(got.layout).tolist())
            assert p.is_feasible(chosen) and p.objective_of(chosen) == want
        else:
            assert got.layout is None and got.objective == obj
    assert improved >= 3


def test_the_screen_confirms_its_best_estimates_below_the_layouts_own(district0):
    """With two confirmations, only of moves estimated below the layout's own estimate, the search
    still improves most starts, never worsens one, and reports its best estimates ascending."""
    p, ev, greedy = district0
    starts = _starts(p, ev, greedy)
    better = 0
    for start in starts:
        x = ev.layout(start)
        obj = ev.objective(x)
        got = move_crossings(ev, x, obj)
        assert got.confirmed <= crossing_moves.MOVE_CONFIRM and got.cells > 0
        assert list(got.estimates) == sorted(got.estimates) and len(got.estimates) == crossing_moves.MOVE_CONFIRM
        assert got.confirmed <= sum(e < obj for e in got.estimates)
        assert got.objective <= obj
        if got.layout is not None:
            better += 1
            assert got.objective == p.objective_of(set(np.flatnonzero(got.layout).tolist())) < obj
    assert better >= len(starts) // 2
    # the layout's own estimate: the lengths of the layout itself, no move
    x = ev.layout(starts[0])
    sl = _SiteLengths(ev, x, np.array([d.kind == "crossing" for d in p.decisions]))
    gain, cells = sl.class_gain(sl.lengths(sl.unbuilt), x[sl.sites] == 1)
    assert gain >= 0 and cells > 0


@pytest.mark.parametrize("seed", [0, 3])
def test_the_lengths_after_a_move_are_the_site_matrix_of_the_moved_layout(seed):
    p, ev, greedy = _district(seed)
    crossing = np.array([d.kind == "crossing" for d in p.decisions])
    x = ev.layout(greedy)
    sl = _SiteLengths(ev, x, crossing)
    checked = 0
    for o, n in _moves(p, greedy):
        without, near, near_key = sl.without(x, o)
        L = sl.moved(without, near, near_key, n).reshape(sl.shape)
        base = np.minimum(sl.base, L[:, -1])
        mine = np.minimum(L[:, :-1], base[:, None])
        y = x.copy()
        y[o], y[n] = 0, 1
        sm = _site_matrix(ev, y)
        assert sm is not None and np.array_equal(sm.sites, sl.sites)
        clients = np.flatnonzero(np.isin(sl.clients, sm_clients := _matrix_clients(ev, y)))
        assert clients.size == sm.D.shape[0] == sm_clients.size
        assert np.array_equal(mine[clients], sm.D)
        # the clients the site matrix leaves out reach no site: each at its base
        rest = np.setdiff1d(np.arange(sl.clients.size), clients)
        assert np.all(mine[rest] == base[rest, None])
        checked += 1
    assert checked >= 8


def _matrix_clients(ev, y):
    """The clients of :func:`_site_matrix` for layout ``y`` (those reaching a site by built crossings)."""
    is_site = np.array([d.kind != "crossing" for d in ev.problem.decisions])
    opt_site = option_sites(flat_options(ev.problem), is_site)
    blocked = (ev.A @ ((~is_site) & (y == 0)).astype(np.int32)) > 0
    M = ev.M.tocoo()
    ok = ~blocked[M.col] & (opt_site[M.col] >= 0)
    return np.unique(ev.lev_client[M.row][ok])


def _runner(p, ev, backend):
    opts = SolveOptions(backend=backend, strategy="relax-first", time_limit_s=10.0, seed=0, workers=1, wall_limit_s=600.0)
    return rf.RelaxFirst(p, relax_access_crossings(p), backend_module(backend), opts, Deadline(10.0), ev)


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_relax_first_moves_the_incumbents_crossings_within_its_charge(district0, backend, monkeypatch):
    p, ev, greedy = district0
    start = next(s for s in _starts(p, ev, greedy) if _brute_force(p, ev, s) < p.objective_of(set(s)))
    r = _runner(p, ev, backend)
    r.offer(start, "start")
    assert relax_first_sites.crossings_moved(r, "moved") is False and "crossings_moved" not in r.info
    r.info["sites_exact"] = {"gain": 1}  # the step follows a site re-choice that moved the greedy's sites
    before, work = r.best, r.work_s
    assert before is not None
    estimate = relax_first_sites.move_charge(r, len(_moves(p, start)), 10**9, 1, crossing_moves.MOVE_CONFIRM)
    assert relax_first_sites.crossings_moved(r, "moved") is True
    assert r.best is not None and r.best < before and r.best == p.objective_of(set(r.layout))
    assert p.is_feasible(set(r.layout))
    info = r.info["crossings_moved"]
    assert info["gain"] == before - r.best and info["screened"] == info["moves"] == len(_moves(p, start))
    charged = r.work_s - work
    assert r.info["work_s"]["crossings moved"] == round(charged, 3)
    floor = relax_first_sites.move_charge(r, info["screened"], 0, 1, info["confirmed"])
    assert floor < charged < estimate
    assert tuple(r.layout) in r._improved  # not handed to interchange again
    # turned off, or when the charge is over its share: nothing runs, nothing is charged
    for share in (0.0, 1e-9):
        monkeypatch.setattr(relax_first_sites, "MOVE_SHARE", share)
        r2 = _runner(p, ev, backend)
        r2.offer(start, "start")
        r2.info["sites_exact"] = {"gain": 1}
        w2 = r2.work_s
        assert relax_first_sites.crossings_moved(r2, "moved") is False
        assert r2.work_s == w2 and r2.best == before
        assert share == 0.0 or r2.info["crossings_moved"]["skipped"] == "over its share"


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_the_incumbent_phase_moves_crossings_unless_the_relaxation_is_large(district0, backend, monkeypatch):
    p, ev, _ = district0
    calls = []
    real = relax_first_sites.crossings_moved

    def spy(run, where):
        calls.append(where)
        return real(run, where)

    monkeypatch.setattr(rf, "crossings_moved", spy)
    r = _runner(p, ev, backend)
    r.incumbent_phase()
    assert calls == ["greedy, crossing moved with its sites"]
    assert ("crossings_moved" in r.info) == bool(r.info["sites_exact"].get("gain"))
    monkeypatch.setattr(relax_first_sites, "SITES_EXACT_SHARE", 0.0)  # interchange: then no gain is known
    r1 = _runner(p, ev, backend)
    r1.incumbent_phase()
    assert "crossings_moved" not in r1.info
    r2 = _runner(p, ev, backend)
    r2.large = True
    r2.info["sites_exact"] = {"gain": 1}
    r2.incumbent_phase()
    assert "crossings_moved" not in r2.info
