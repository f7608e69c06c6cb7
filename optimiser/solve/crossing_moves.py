"""A built crossing moved to another place, the facility sites moved with it: a local search move.

:func:`~optimiser.solve.local_search.swap_crossings` exchanges a built crossing for one not built
with the sites fixed, and :func:`~optimiser.solve.site_interchange.improve_sites` moves the sites with
the crossings fixed. A layout can be a local optimum of both and still far from the optimum when a
crossing and the sites it serves must move together. Measured on benchmarks/realsites' independent
seed 11 (README there, wave 36): relax-first's 10 s incumbent (1,689.7M, its sites proven best for
its crossings) has the optimum's crossings but one, a footbridge over the rail; with that
footbridge moved to another footbridge place and the sites fixed the layout is 8 % worse
(1,824.2M), with its sites then re-chosen by interchange it is the optimum (1,679.0M: a cafe hub
and a creche move too).

:func:`move_crossings` screens every such move (a built crossing for one not built of the same
group and cost, so the budget and the counts stay as they are) with an estimate: the exact
objective with the sites fixed, less the best single interchange of each site class
(kind, group and cost) on the clients x sites walking lengths after the move; a move is confirmed
only when its estimate is below the layout's own (the same estimate without a move). The lengths come
from the incidences of single-site options, sorted once by (client, site, length): after a move
only the options over the moved crossings change. The best estimates are confirmed by
:func:`~optimiser.solve.site_interchange.improve_sites` on the exact objective and constraints. The work
is bounded by counts (moves screened, confirmations), never by the clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimiser.model.flat import flat_options, option_sites
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.heuristic import Evaluator
from optimiser.solve.site_interchange import improve_sites

logger = logging.getLogger(__name__)

MOVE_CONFIRM = 2
"""Moves confirmed by :func:`~optimiser.solve.site_interchange.improve_sites` (best estimates first)."""

MOVE_MAX_SCREENED = 600
"""At most this many moves screened per search (the first built crossings' first)."""

MOVE_MAX_CELLS = 2_000_000
"""No search when the clients x sites matrix has more cells (the screen reads it once per open
site and move)."""


@dataclass(frozen=True)
class MoveSearch:
    """What one :func:`move_crossings` found and read.

    Attributes:
        layout: the improved layout (0/1 per decision), or ``None`` when no move improves.
        objective: its exact objective (the given one when ``layout`` is ``None``).
        screened: moves screened (each one exact evaluation and one pass over the matrix per open site).
        confirmed: moves whose sites were re-chosen (:func:`~optimiser.solve.site_interchange.improve_sites`).
        cells: clients x sites cells of the matrix read (per open site, for each move screened and the
            layout's own estimate).
        estimates: the best estimates screened (objective after the move, sites re-chosen), at
            most ``confirm``, ascending.
    """

    layout: np.ndarray | None
    objective: int
    screened: int
    confirmed: int
    cells: int
    estimates: tuple[float, ...] = ()


class _SiteLengths:
    """Clients x sites walking lengths of a layout and of its crossing moves (module docstring).

    The incidences (client level, option) of options with one site (column: the site) or none
    (column ``ns``: an existing place, the client's base at most) are kept sorted by cell and
    length, so a cell's length is its first incidence whose option's crossings are all built."""

    def __init__(self, ev: Evaluator, x: np.ndarray, crossing: np.ndarray) -> None:
        is_site = ~crossing
        opt_site = option_sites(flat_options(ev.problem), is_site)
        M = ev.M.tocoo()
        client, length, opt = ev.lev_client[M.row], ev.lev_len[M.row].astype(float), M.col.astype(np.int64)
        keep = opt_site[opt] != -2
        self.sites = np.nonzero(is_site)[0]
        self.clients = np.unique(client[keep & (opt_site[opt] >= 0)])
        ns = self.sites.size
        row_of = np.full(ev.w.size, -1, dtype=np.int64)
        row_of[self.clients] = np.arange(self.clients.size)
        col_of = np.full(ev.n_d, -1, dtype=np.int64)
        col_of[self.sites] = np.arange(ns)
        keep &= row_of[client] >= 0
        site = opt_site[opt[keep]]
        cell = row_of[client[keep]] * (ns + 1) + np.where(site >= 0, col_of[np.maximum(site, 0)], ns)
        order = np.lexsort((length[keep], cell))
        self.cell, self.length, self.opt = cell[order], length[keep][order], opt[keep][order]
        self.shape = (self.clients.size, ns + 1)
        self.A = ev.A
        self.AT = sp.csc_matrix(ev.A)
        self.ids = np.where(crossing, np.arange(ev.n_d) + 1, 0).astype(np.int64)
        self.base = ev.base[self.clients].astype(float)
        self.w = ev.w[self.clients].astype(float)
        self.kind = ev.problem.class_ids()[self.sites]
        self.unbuilt = np.asarray(ev.A @ (crossing & (x == 0)).astype(np.int32)).ravel()

    def without(self, x: np.ndarray, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Layout ``x`` without its crossing ``out``: the flat lengths (:meth:`lengths`), and the
        incidences one crossing away from open, as positions sorted by that crossing, with the
        crossing of each (``searchsorted`` by id)."""
        unbuilt = self.unbuilt.copy()
        unbuilt[self.AT.indices[self.AT.indptr[out]:self.AT.indptr[out + 1]]] += 1
        flat = self.lengths(unbuilt)
        missing_ids = self.ids * ((x == 0) | (np.arange(x.size) == out))
        one = np.flatnonzero(unbuilt[self.opt] == 1)
        # an option with one unbuilt crossing: the sum of its unbuilt crossings' ids is that one's
        key = np.asarray(self.A @ missing_ids).ravel()[self.opt[one]] - 1
        order = np.argsort(key, kind="stable")
        return flat, one[order], key[order]

    def moved(self, without: np.ndarray, near: np.ndarray, near_key: np.ndarray, into: int) -> np.ndarray:
        """The flat lengths after crossing ``into`` is built, from :meth:`without`'s lengths and
        incidences one crossing away (those whose one unbuilt crossing is ``into`` open)."""
        pos = near[np.searchsorted(near_key, into):np.searchsorted(near_key, into, side="right")]
        flat = without.copy()
        if pos.size:
            np.minimum.at(flat, self.cell[pos], self.length[pos])
        return flat

    def lengths(self, unbuilt: np.ndarray) -> np.ndarray:
        """The (clients, sites + 1) lengths with ``unbuilt`` unbuilt crossings per option (``inf``: none)."""
        ok = np.flatnonzero(unbuilt[self.opt] == 0)
        out = np.full(self.shape[0] * self.shape[1], np.inf)
        if ok.size:
            cells = self.cell[ok]
            first = np.empty(ok.size, dtype=bool)
            first[0] = True
            np.not_equal(cells[1:], cells[:-1], out=first[1:])
            out[cells[first]] = self.length[ok[first]]
        return out

    def class_gain(self, flat: np.ndarray, is_open: np.ndarray) -> tuple[float, int]:
        """The summed best single interchange gain of each site class at the lengths ``flat``
        (see :meth:`lengths`) with the sites ``is_open`` (per column), and the cells read."""
        L = flat.reshape(self.shape)
        base = np.minimum(self.base, L[:, -1])
        D = np.minimum(L[:, :-1], base[:, None])
        open_cols = np.flatnonzero(is_open)
        if not open_cols.size:
            return 0.0, 0
        Do = D[:, open_cols]  # at most base: a client's base bounds every site
        arg = Do.argmin(axis=1)
        m1 = Do[np.arange(D.shape[0]), arg]
        m2 = np.partition(Do, 1, axis=1)[:, 1] if open_cols.size > 1 else base
        now = float(self.w @ m1)
        gains: dict[int, float] = {}
        cells = 0
        for j, col in enumerate(open_cols.tolist()):
            k = int(self.kind[col])
            cand = np.flatnonzero((self.kind == k) & ~is_open)
            if not cand.size:
                continue
            rest = np.where(arg == j, m2, m1)
            cost = self.w @ np.minimum(rest[:, None], D[:, cand])
            cells += D.shape[0] * cand.size
            gains[k] = max(gains.get(k, 0.0), now - float(cost.min()))
        return sum(gains.values()), cells


def move_targets(problem: Problem, x: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Each built crossing of layout ``x`` (ascending) with the places not built it can move to:
    crossings of the same group and cost (:meth:`~optimiser.model.problem.Problem.class_ids`), so the
    budget and the counts stay as they are (those without any left out)."""
    crossing = problem.crossing_mask
    spare = np.flatnonzero((x == 0) & crossing)
    cls = problem.class_ids()
    out = []
    for built in np.flatnonzero((x == 1) & crossing).tolist():
        same = spare[cls[spare] == cls[built]]
        if same.size:
            out.append((built, same))
    return out


def move_crossings(ev: Evaluator, x: np.ndarray, objective: int, *, confirm: int = MOVE_CONFIRM,
                   max_screened: int = MOVE_MAX_SCREENED, below_own: bool = True, safety_net_s: float = 60.0) -> MoveSearch:
    """The best confirmed move of one built crossing to a place not built, the sites re-chosen with it.

    Args:
        ev: the evaluator of the problem.
        x: a feasible layout (0/1 per decision).
        objective: its exact objective.
        confirm: moves confirmed (best estimates first; see the module docstring).
        max_screened: at most this many moves screened.
        below_own: confirm only moves estimated below the layout's own estimate (else below its objective).
        safety_net_s: the wall-clock safety net of each confirmation.

    Returns:
        A :class:`MoveSearch`; its layout is feasible and better than ``x``, or ``None``.
    """
    problem = ev.problem
    crossing = problem.crossing_mask
    targets = move_targets(problem, x)
    if not targets or crossing.all():
        return MoveSearch(None, objective, 0, 0, 0)
    sl = _SiteLengths(ev, x, crossing)
    if sl.shape[0] * sl.shape[1] > MOVE_MAX_CELLS or not sl.clients.size:
        return MoveSearch(None, objective, 0, 0, 0)
    is_open = x[sl.sites] == 1
    # the layout's own estimate: a move is confirmed only when its estimate is below it (the single
    # interchanges ignore spacing, footprints and the like, so the estimates run low by about as much)
    own, cells = float(objective), 0
    if below_own:
        own_gain, cells = sl.class_gain(sl.lengths(sl.unbuilt), is_open)
        own -= own_gain
    screened = 0
    moves: list[tuple[float, int, int]] = []
    for out, same in targets:
        without, near, near_key = sl.without(x, out)
        for into in same.tolist():
            if screened >= max_screened or interrupt.requested():
                break
            y = x.copy()
            y[out], y[into] = 0, 1
            screened += 1
            if (oy := ev.feasible_open(y)) is None:
                continue
            gain, read = sl.class_gain(sl.moved(without, near, near_key, into), is_open)
            cells += read
            moves.append((ev.objective(y, oy) - gain, out, into))
    best, best_layout, confirmed = objective, None, 0
    moves.sort()
    for estimate, out, into in moves[:confirm]:
        if estimate >= min(objective, own) or interrupt.requested():
            break
        y = x.copy()
        y[out], y[into] = 0, 1
        z = ev.layout(improve_sites(problem, np.flatnonzero(y).tolist(), evaluator=ev, safety_net_s=safety_net_s))
        confirmed += 1
        if (oz := ev.feasible_open(z)) is not None and (obj := ev.objective(z, oz)) < best:
            best, best_layout = obj, z
    logger.debug("move_crossings: %d moves screened, %d confirmed: %s -> %s", screened, confirmed, objective, best)
    return MoveSearch(best_layout, int(best), screened, confirmed, cells, tuple(float(m[0]) for m in moves[:confirm]))
