"""A fast greedy layout: an incumbent for the exact solvers (warm start / fallback).

The evaluator is vectorised over the whole problem with scipy.sparse incidence matrices
(options x decisions, levels x options, penalties x options, constraints x options) and
computes exactly :meth:`Problem.objective_of`: a client's length is its first open level,
else its base; an uncovered penalty adds its weight.

The greedy (deterministic, no randomness):

(a) satisfy the lower-bound constraints (count minimums, coverage, directness, must-reach)
    by opening, one at a time, the option of a violated constraint that reduces the total
    shortfall most (ties: lower objective, then lower cost), never breaking an upper-bound
    constraint (budget, count maximums, spacing / overlap pairs);
(b) add the single decision with the largest objective decrease that keeps every
    upper-bound constraint, until none decreases it (run once by decrease and once by
    decrease per pound; the better is kept). The first completion also runs both with pairs
    of decisions worth more together than apart (:mod:`optimiser.solve.pair_moves`: a walk
    over two barriers) and keeps the best of the four: independent seeds 3, 6, 112 and 117
    (``benchmarks/realsites/independent.py``) 75 %, 77 %, 18 % and 26 % lower, none of 14
    others worse after (c);
(c) a bounded swap pass: drop each chosen decision, re-complete with (a) and (b) without it,
    keep the change if the objective falls.

All constraint coefficients in the model are non-negative, so opening more can only raise
constraint sums; with a negative coefficient anywhere the greedy still returns only layouts
that :meth:`Problem.is_feasible` accepts (or ``None``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from optimiser.model.flat import flat_clients, flat_options
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.csr_rows import row_entries, row_of_nonzero
from optimiser.solve.pair_moves import Additions, PairIndex, best_pair

logger = logging.getLogger(__name__)

_BIG = np.iinfo(np.int64).max // 4

LEVEL_RUNS_MAX_ENTRIES = 4_000_000
""":meth:`Evaluator.level_runs` keeps its 8 bytes an entry (32 MB) up to this many entries of the level
matrix. benchmarks/realsites' problems have at most 3.9M (independent seed 115; the median 50k); the
joint benchmark's 200 and 500 firms 9.5M and 8.3M: kept there, its 60 s run's peak rose 1,400 -> 1,466 MB
(the 1.5 GB target), so they gather instead."""


class Evaluator:
    """Vectorised exact objective and constraint sums of a :class:`Problem`."""

    def __init__(self, problem: Problem):
        self.problem = problem
        n_d = len(problem.decisions)
        n_o = len(problem.options)
        self.n_d, self.n_o = n_d, n_o
        # options x decisions (the flat arrays the problem's other readers share: built once per problem)
        fo, fc = flat_options(problem), flat_clients(problem)
        lens, idx = fo.lens, fo.flat
        ptr = np.concatenate([[0], np.cumsum(lens)])
        self.A = sp.csr_matrix((np.ones(idx.size, dtype=np.int32), idx, ptr), shape=(n_o, n_d))
        self.req = lens.astype(np.int32)
        # levels x options
        cl = problem.clients
        n_c = len(cl)
        self.w = np.fromiter((c.weight for c in cl), dtype=np.int64, count=n_c)
        nlev = fc.nlev
        self.nlev = nlev
        n_l = int(nlev.sum())
        self.lev_len = fc.lev
        self.lev_client = np.repeat(np.arange(n_c, dtype=np.int64), nlev)
        olen, oidx = fc.olen, fc.opt
        self.M = sp.csr_matrix((np.ones(oidx.size, dtype=np.int32), oidx, np.concatenate([[0], np.cumsum(olen)])),
                               shape=(n_l, n_o))
        self.MT = self.M.T.tocsr()
        # MT's entries' clients and lengths, in MT's order (gains and client_lengths read them row after
        # row instead of gathering them level by level; built on the first call: level_runs)
        self._mt: tuple[np.ndarray, np.ndarray] | None = None
        self._mt_keep = self.MT.indices.size <= LEVEL_RUNS_MAX_ENTRIES
        # M's entries option by option (stable: levels ascending), and each option's start (removals builds them)
        self._m_pos: np.ndarray | None = None
        self._m_pos_ptr = np.zeros(0, dtype=np.int64)
        # base: None -> the last level (as objective_of does), flagged as must-serve
        self.must = np.array([c.base is None for c in cl], dtype=bool)
        self.base = np.array([(c.base if c.base is not None else (c.levels[-1] if c.levels else 0)) for c in cl],
                             dtype=np.int64)
        # penalties x options
        pens = problem.penalties
        plen = np.fromiter((len(p.options) for p in pens), dtype=np.int64, count=len(pens))
        pidx = np.fromiter((o for p in pens for o in p.options), dtype=np.int64, count=int(plen.sum()))
        self.P = sp.csr_matrix((np.ones(pidx.size, dtype=np.int32), pidx, np.concatenate([[0], np.cumsum(plen)])),
                               shape=(len(pens), n_o))
        self.PT = self.P.T.tocsr()
        self.pw = np.fromiter((p.weight for p in pens), dtype=np.int64, count=len(pens))
        # constraints x options
        cons = problem.constraints
        tl = np.fromiter((len(c.terms) for c in cons), dtype=np.int64, count=len(cons))
        tidx = np.fromiter((o for c in cons for o, _ in c.terms), dtype=np.int64, count=int(tl.sum()))
        tval = np.fromiter((v for c in cons for _, v in c.terms), dtype=np.int64, count=int(tl.sum()))
        self.C = sp.csr_matrix((tval, tidx, np.concatenate([[0], np.cumsum(tl)])), shape=(len(cons), n_o))
        self.lo = np.array([c.lo if c.lo is not None else -_BIG for c in cons], dtype=np.int64)
        self.hi = np.array([c.hi if c.hi is not None else _BIG for c in cons], dtype=np.int64)
        self.has_lo = np.array([c.lo is not None for c in cons], dtype=bool)
        self.has_hi = np.array([c.hi is not None for c in cons], dtype=bool)
        self.Chi = self.C[np.nonzero(self.has_hi)[0]]
        self.hi_only = self.hi[self.has_hi]
        self.monotone = bool((tval >= 0).all()) if tval.size else True
        self.cost = np.array([d.cost for d in problem.decisions], dtype=float)
        self.size = int(self.A.nnz + self.M.nnz + self.P.nnz + self.C.nnz)
        """Incidences (non-zeros of the four matrices): the unit of the greedy's work limit."""
        self.work = 0
        """What the evaluations so far read in sparse products (matrix non-zeros and rows): a count,
        the same on an idle and a loaded machine. A caller's work is the difference across its calls
        (:class:`GreedyResult`)."""
        self.gathered = 0
        """Entries the evaluations so far gathered or sorted by index (slower per entry than a product's)."""
        self.calls = 0
        """Evaluations so far (each with its Python overhead)."""

    # ------------------------------------------------------------------ evaluation
    def layout(self, chosen) -> np.ndarray:
        """The 0/1 decision vector of a layout given as decision ids."""
        x = np.zeros(self.n_d, dtype=np.int8)
        x[list(chosen)] = 1
        return x

    def open_options(self, x: np.ndarray) -> np.ndarray:
        return self.option_counts(x) == self.req

    def option_counts(self, x: np.ndarray) -> np.ndarray:
        """Each option's chosen decisions in ``x`` (``A @ x``; open where it equals ``req``), counted
        as one evaluation (entries, rows): the greedy's charge (``greedy_charge_s``) is fitted to these
        counts, so counts reused by a caller are not counted again."""
        self.work += self.A.nnz + self.n_o
        self.calls += 1
        return self.A @ x.astype(np.int32)

    def counts_given(self, x: np.ndarray, count: np.ndarray | None) -> np.ndarray:
        """``count`` when given (``A @ x``: not counted again), else ``A @ x`` here, its entries counted."""
        if count is not None:
            return count
        self.work += self.A.nnz
        return self.A @ x.astype(np.int32)

    def layout_lengths(self, chosen) -> np.ndarray:
        """Each client's length (units) under the layout ``chosen`` (decision ids); its base where no option is open."""
        return self.client_lengths(self.open_options(self.layout(chosen)))[0]

    def client_lengths(self, ov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(length per client, whether some level is open) for open options ``ov`` (Booleans).

        Read from the levels of the open options only (rows of ``MT``, their clients and lengths in
        runs: :meth:`level_runs`), not from every level: a layout opens a few hundred of tens of
        thousands of options (rs028's exact problem: 383k levels, 2.0 ms per call over every level,
        0.1-0.5 ms so; the same integers)."""
        length = self.base.copy()
        served = np.zeros(self.base.size, dtype=bool)
        opened = np.flatnonzero(ov)
        if not self.lev_len.size or not opened.size:
            return length, served
        lev_open = np.zeros(self.lev_len.size, dtype=bool)
        pos = row_entries(self.MT.indptr, opened)[0]
        lev = self.MT.indices[pos]
        lev_open[lev] = True
        # counted as read level by level (the distinct open levels), as before their runs were read
        self.gathered += pos.size + self.lev_len.size // 8 + 2 * int(np.count_nonzero(lev_open))
        cli, ln = self._entries_at(pos, lev)
        ok = ln < _BIG
        cli = cli[ok]
        # in the lengths' own dtype: ufunc.at with a cast (32-bit lengths into 64-bit) takes numpy's
        # slow path, about 30x (seed 7 at 10 s: 1.19 s in 1,125 calls)
        np.minimum.at(length, cli, ln[ok].astype(length.dtype, copy=False))
        served[cli] = True
        return length, served

    def uncovered(self, ov: np.ndarray) -> np.ndarray:
        self.work += self.P.nnz + self.P.shape[0]
        return (self.P @ ov.astype(np.int32)) == 0

    def objective(self, x: np.ndarray, ov: np.ndarray | None = None) -> int:
        """The exact objective of layout ``x`` (0/1 per decision); ``ov``: its open options when the
        caller has them (:meth:`open_options` of ``x``: neither recomputed nor counted)."""
        if ov is None:
            ov = self.open_options(x)
        length, _ = self.client_lengths(ov)
        return self._total(length, self.uncovered(ov))

    def _total(self, length: np.ndarray, unc: np.ndarray) -> int:
        """The objective of client lengths ``length`` with penalties ``unc`` uncovered."""
        return int((self.w * length).sum() + self.pw[unc].sum())

    def feasible(self, x: np.ndarray) -> bool:
        return self.feasible_open(x) is not None

    def feasible_open(self, x: np.ndarray) -> np.ndarray | None:
        """The open options of ``x`` if it is feasible (for its :meth:`objective`), else ``None``."""
        ov = self.open_options(x)
        s = self.C @ ov.astype(np.int64)
        self.work += self.C.nnz
        if ((s < self.lo) | (s > self.hi)).any():
            return None
        _, served = self.client_lengths(ov)
        return ov if served[self.must].all() else None

    def shortfall(self, ov: np.ndarray) -> int:
        self.work += self.C.nnz
        s = self.C @ ov.astype(np.int64)
        return int(np.maximum(0, self.lo - s)[self.has_lo].sum())

    def upper_ok(self, ov: np.ndarray) -> bool:
        if self.Chi.shape[0] == 0:
            return True
        self.work += self.Chi.nnz
        return bool(((self.Chi @ ov.astype(np.int64)) <= self.hi_only).all())

    # ------------------------------------------------------------------ greedy pieces
    def _near(self, x: np.ndarray, count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Options one decision short of open, and that decision (``count``: see :meth:`counts_given`)."""
        cnt = self.counts_given(x, count)
        near = np.nonzero(self.req - cnt == 1)[0]
        self.work += self.n_o
        if near.size == 0:
            return near, near
        sub = self.A[near]
        self.gathered += 2 * sub.nnz
        rows = row_of_nonzero(sub)
        miss = x[sub.indices] == 0
        dec = np.empty(near.size, dtype=np.int64)
        dec[rows[miss]] = sub.indices[miss]
        return near, dec

    def _upper_allowed(self, ov: np.ndarray, near: np.ndarray, dec: np.ndarray) -> np.ndarray:
        """Decisions whose addition keeps every upper-bound constraint."""
        ok = np.ones(self.n_d, dtype=bool)
        if self.Chi.shape[0] == 0 or near.size == 0:
            return ok
        s = self.Chi @ ov.astype(np.int64)
        N = sp.csr_matrix((np.ones(near.size, dtype=np.int64), (near, dec)), shape=(self.n_o, self.n_d))
        delta = (self.Chi @ N).tocoo()
        self.work += self.n_o + near.size + self.Chi.nnz + delta.nnz
        bad = s[delta.row] + delta.data > self.hi_only[delta.row]
        ok[delta.col[bad]] = False
        # decisions that open nothing new still may not be chosen if an upper bound is broken already
        if (s > self.hi_only).any():
            ok[:] = False
        return ok

    def additions(self, x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """``(objective of x, exact objective decrease of adding each decision (0 for chosen
        ones), whether adding it keeps every upper-bound constraint)``."""
        a = self.addition_state(x)
        return a.objective, a.gain, a.allowed

    def addition_state(self, x: np.ndarray) -> Additions:
        """:meth:`additions` with what it read (:class:`~optimiser.solve.pair_moves.Additions`);
        ``A @ x`` once for the open options and those one short (counted once)."""
        cnt = self.option_counts(x)
        ov = cnt == self.req
        length, _ = self.client_lengths(ov)
        unc = self.uncovered(ov)
        near, dec = self._near(x, cnt)
        return Additions(self._total(length, unc), self.gains(x, length, unc, near, dec),
                         self._upper_allowed(ov, near, dec), cnt, length)

    def removals(self, x: np.ndarray) -> tuple[int, np.ndarray]:
        """``(objective of x, exact objective increase of removing each chosen decision (0 for
        the others))``: what :meth:`objective` of ``x`` without that decision gives, less the
        objective of ``x``, for every decision at the cost of a few evaluations. No constraint is
        checked (:meth:`feasible`): a must-serve client that loses its only open option is priced
        at its base (its last level), as :meth:`objective` prices it. A client's length can only change when
        every open option at its shortest open length contains the decision (then it is the
        shortest open length of an option without it, or its base); a penalty is incurred when
        every open option covering it contains the decision."""
        ov = self.open_options(x)
        length, _ = self.client_lengths(ov)
        unc = self.uncovered(ov)
        loss = np.zeros(self.n_d, dtype=np.int64)
        opened = np.nonzero(ov)[0]
        if opened.size == 0:
            return self._total(length, unc), loss
        # the decisions of each open option, padded with -1 (an open option's are all chosen)
        sub = self.A[opened]
        k = int(np.diff(sub.indptr).max())
        dec = np.full((self.n_o, k), -1, dtype=np.int64)
        row = row_of_nonzero(sub)
        dec[opened[row], np.arange(sub.nnz) - sub.indptr[row]] = sub.indices
        # open (level, option) pairs in the level matrix's order: by client, then length (its
        # levels are strictly increasing), so the first pair of a client is its shortest
        # (their places in M: those of the open options' entries, from the option-major index,
        # sorted; not a pass over every entry of M)
        if self._m_pos is None:  # built on first use: 4 bytes per incidence (200 firms: 38 MB)
            self._m_pos = np.argsort(self.M.indices, kind="stable").astype(np.int32 if self.M.nnz < 2**31 else np.int64)
            self._m_pos_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.M.indices, minlength=self.n_o))])
        keep = np.sort(self._m_pos[row_entries(self._m_pos_ptr, opened)[0]])
        lev = np.searchsorted(self.M.indptr, keep, side="right") - 1
        loss += self._losses(self.lev_client[lev], self.M.indices[keep], self.lev_len[lev], dec, length, self.base, self.w)
        if self.pw.size:  # a penalty's open options (value 0: covered; its base 1: uncovered)
            keep = ov[self.P.indices]
            pen = row_of_nonzero(self.P)[keep]
            none = np.zeros(self.pw.size, dtype=np.int64)
            loss += self._losses(pen, self.P.indices[keep], none[pen], dec, none, none + 1, self.pw)
        return self._total(length, unc), loss

    def _losses(self, who: np.ndarray, opt: np.ndarray, val: np.ndarray, dec: np.ndarray, now: np.ndarray,
                base: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Per decision d, the sum over rows r (clients or penalties) of ``weight[r] * (r's value
        without d - now[r])``. ``who``, ``opt``, ``val``: the open pairs (row, option, value),
        grouped by row, best value first; ``dec``: each option's decisions (-1 padded). Without
        d a row takes the value of its first pair whose option lacks d, at most ``base[r]``,
        or ``base[r]`` when none does; only the decisions of a row's first pair can move it."""
        loss = np.zeros(self.n_d, dtype=np.int64)
        if who.size == 0:
            return loss
        first = np.ones(who.size, dtype=bool)
        first[1:] = who[1:] != who[:-1]
        rows, starts = who[first], np.nonzero(first)[0]
        pos = np.cumsum(first) - 1  # each pair's index into rows
        live = val[starts] < base[rows]  # a row at its base or beyond loses nothing
        has = dec[opt]
        cand = dec[opt[starts]]  # each row's first option's decisions
        for j in range(cand.shape[1]):
            d = cand[:, j]
            ok = live & (d >= 0) & (cand[:, :j] != d[:, None]).all(axis=1)  # a decision listed twice counts once
            lacks = np.nonzero(ok[pos] & ~(has == d[pos][:, None]).any(axis=1))[0]
            without = base[rows].copy()
            r, at = np.unique(pos[lacks], return_index=True)  # each row's first pair lacking d
            without[r] = np.minimum(val[lacks[at]], without[r])
            inc = (without - now[rows]) * weight[rows]
            sel = ok & (inc != 0)
            np.add.at(loss, d[sel], inc[sel])
        return loss

    def level_runs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The client and length of each entry of ``MT`` (in storage order), built once: :meth:`gains`
        and :meth:`client_lengths` read them in runs of positions instead of gathering ``lev_client`` and
        ``lev_len`` at random levels (the same integers; seed 7 of benchmarks/realsites' independent
        generator at 10 s: 42M positions in 246 calls, 0.84 s of gathers), and the greedy's pair index
        shares them (:class:`~optimiser.solve.pair_moves.PairIndex`). ``None`` above
        ``LEVEL_RUNS_MAX_ENTRIES`` entries: the gathers then, and no memory kept."""
        if not self._mt_keep:
            return None
        if self._mt is None:  # both at once (one assignment: an evaluator read by two threads sees both or none)
            self._mt = self.level_entries()
        return self._mt

    def level_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """The client and length of each entry of ``MT`` (in storage order), built afresh: 32-bit
        clients, and 32-bit lengths when every length fits (decimetres: up to 214,748 km), else 64-bit."""
        lev = self.MT.indices
        client = (self.lev_client.astype(np.int32) if self.w.size < np.iinfo(np.int32).max else self.lev_client)[lev]
        small = not self.lev_len.size or int(self.lev_len.max()) < 2**31
        return client, (self.lev_len[lev].astype(np.int32) if small else self.lev_len[lev])

    def _entries_at(self, pos: np.ndarray, lev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The client and length of ``MT``'s entries at positions ``pos`` (their levels ``lev`` when the
        caller has them): read from :meth:`level_runs`, else gathered at their levels."""
        runs = self.level_runs()
        if runs is not None:
            return runs[0][pos], runs[1][pos]
        if lev is None:
            lev = self.MT.indices[pos]
        return self.lev_client[lev], self.lev_len[lev]

    def gains(self, x: np.ndarray, length: np.ndarray, unc: np.ndarray, near: np.ndarray, dec: np.ndarray) -> np.ndarray:
        """Exact objective decrease of adding each decision (0 for chosen ones)."""
        g = np.zeros(self.n_d, dtype=np.int64)
        self.work += self.n_d
        if near.size == 0:
            return g
        nc = length.size
        pos, rows = row_entries(self.MT.indptr, near)  # MT[near]'s levels, without the matrix
        self.gathered += 3 * pos.size
        if pos.size:
            cli, ln = self._entries_at(pos)
            imp = length[cli] - ln
            keep = imp > 0
            if keep.any():
                d = dec[rows[keep]]
                cli = cli[keep]
                val = imp[keep] * self.w[cli]
                key = d * nc + cli
                # the best level of each (decision, client), keys ascending
                self.gathered += key.size * (1 + int(np.log2(key.size)))
                order = np.argsort(key, kind="stable")
                key, val = key[order], val[order]
                first = np.ones(key.size, dtype=bool)
                first[1:] = key[1:] != key[:-1]
                starts = np.flatnonzero(first)
                best = np.maximum.reduceat(val, starts)
                g += np.bincount(key[starts] // nc, weights=best, minlength=self.n_d).astype(np.int64)
        if self.pw.size:
            pos, rows = row_entries(self.PT.indptr, near)  # PT[near]'s penalties, as for the levels above
            self.gathered += 3 * pos.size
            if pos.size:
                pen = self.PT.indices[pos]
                keep = unc[pen]
                if keep.any():
                    d = dec[rows[keep]]
                    pen = pen[keep]
                    key = d * max(1, self.pw.size) + pen
                    _, ui = np.unique(key, return_index=True)
                    g += np.bincount(d[ui], weights=self.pw[pen[ui]], minlength=self.n_d).astype(np.int64)
        g[x > 0] = 0
        return g


def _satisfy_lower(ev: Evaluator, x: np.ndarray, banned: np.ndarray, max_moves: int = 64) -> np.ndarray | None:
    """Phase (a): open options of violated lower-bound constraints until none is violated."""
    p = ev.problem
    lo_rows = np.nonzero(ev.has_lo)[0]
    for _ in range(10 * len(p.decisions) + 10):
        ov = ev.open_options(x)
        s = ev.C @ ov.astype(np.int64)
        viol = lo_rows[s[lo_rows] < ev.lo[lo_rows]]
        if viol.size == 0:
            return x
        total = int(np.maximum(0, ev.lo - s)[ev.has_lo].sum())
        # candidate moves: missing decisions of each closed option in a violated constraint
        moves: dict[tuple[int, ...], float] = {}
        for k in viol.tolist():
            row = ev.C.indices[ev.C.indptr[k]:ev.C.indptr[k + 1]]
            for o in row.tolist():
                if ov[o]:
                    continue
                miss = tuple(d for d in p.options[o] if not x[d])
                if any(banned[d] for d in miss):
                    continue
                if miss not in moves:
                    moves[miss] = float(ev.cost[list(miss)].sum())
        cand = sorted(moves, key=lambda m: (moves[m], m))[:max_moves]
        best = None
        for m in cand:
            y = x.copy()
            y[list(m)] = 1
            oy = ev.open_options(y)
            if not ev.upper_ok(oy):
                continue
            red = total - ev.shortfall(oy)
            if red <= 0:
                continue
            key = (-red, ev.objective(y, oy), moves[m], m)
            if best is None or key < best[0]:
                best = (key, y)
        if best is None:
            return None
        x = best[1]
    return None


def add_greedy(ev: Evaluator, x: np.ndarray, banned: np.ndarray, per_cost: bool,
               pairs: PairIndex | None = None) -> np.ndarray:
    """Phase (b): add the decision with the best objective decrease while any decreases it; with
    ``pairs`` (a :class:`~optimiser.solve.pair_moves.PairIndex` of ``ev``), two decisions at once
    when together they score better and are worth more than apart
    (:func:`~optimiser.solve.pair_moves.best_pair`: a walk over two barriers, a site over one)."""
    for _ in range(len(ev.problem.decisions) + 1):
        state = ev.addition_state(x)
        obj, g, allowed = state.objective, state.gain, state.allowed
        ok = allowed & ~banned & (x == 0) & (g > 0)
        score = g.astype(float)
        if per_cost:
            score = score / np.maximum(ev.cost, 1.0)
        score[~ok] = -np.inf
        d = int(np.argmax(score)) if score.size else -1
        floor = max(float(score[d]), 0.0) if d >= 0 else 0.0
        pair = None if pairs is None else best_pair(pairs, x, obj, g, banned, per_cost, floor=floor, state=state)
        if pair is not None and (not ok.any() or pair.score > score[d]):
            x = x.copy()
            x[[pair.first, pair.second]] = 1
            continue
        if not ok.any():
            return x
        x = x.copy()
        x[d] = 1
    return x


def _complete(ev: Evaluator, x: np.ndarray, banned: np.ndarray,
              pairs: PairIndex | None = None) -> tuple[np.ndarray, int] | None:
    y = _satisfy_lower(ev, x, banned)
    if y is None:
        return None
    best = None
    for per_cost, use_pairs in ((False, None), (True, None), (False, pairs), (True, pairs))[:2 if pairs is None else 4]:
        z = add_greedy(ev, y, banned, per_cost, use_pairs)
        if (oz := ev.feasible_open(z)) is not None:
            obj = ev.objective(z, oz)
            if best is None or obj < best[1]:
                best = (z, obj)
    return best


GREEDY_SWAP_WORK = 50_000_000
"""The greedy's work limit: its swap pass re-completes at most this many incidences in total
(each re-completion counts the problem's incidences, ``Evaluator.size``). A count, not a
clock, so the layout is the same on an idle and a loaded machine; measured: the swap pass
ends by itself after 15-30 re-completions at 40-100 firms (at most 1 s), well inside it."""

GREEDY_PAIRS = True
"""Whether the first completion also runs with two-decision additions (:mod:`optimiser.solve.pair_moves`);
off only to measure, or to test what follows a one-at-a-time greedy."""

GREEDY_MIN_SWAPS = 8
"""...but the swap pass may always try this many re-completions."""


@dataclass(frozen=True)
class GreedyResult:
    """What :func:`greedy_search` found.

    Attributes:
        layout: sorted decision ids of a feasible layout, or ``None``.
        swaps_tried: re-completions the swap pass ran.
        stopped_by: "done" (no swap improves), "work limit" (``GREEDY_SWAP_WORK``),
            "safety net" (the wall-clock ``safety_net_s``: the layout may differ from an
            idle machine's) or "interrupted" (:mod:`optimiser.solve.interrupt`).
        seconds: wall seconds.
        work, gathered, calls: what its evaluations read in sparse products and gathered
            (:attr:`Evaluator.work`, :attr:`Evaluator.gathered`, with the two-decision additions'
            :attr:`~optimiser.solve.pair_moves.PairIndex.work`), and how many they were: the
            measure of its work that :mod:`optimiser.solve.relax_first` charges.
    """

    layout: tuple[int, ...] | None
    swaps_tried: int
    stopped_by: str
    seconds: float
    work: int = 0
    gathered: int = 0
    calls: int = 0


def _swap_pass(ev: Evaluator, x: np.ndarray, obj: int, max_swaps: int, t0: float,
               safety_net_s: float) -> tuple[np.ndarray, int, int, str]:
    """Phase (c): drop one chosen decision, re-complete without it, keep the change if the
    objective falls; up to 3 rounds. Returns (x, objective, swaps tried, stopped by)."""
    banned = np.zeros(ev.n_d, dtype=bool)
    tried = 0
    improved = True
    rounds = 0
    while improved and rounds < 3:
        improved = False
        rounds += 1
        for d in np.nonzero(x)[0].tolist():
            if tried >= max_swaps:
                return x, obj, tried, "work limit"
            if time.perf_counter() - t0 > safety_net_s:
                return x, obj, tried, "safety net"
            if interrupt.requested():
                return x, obj, tried, "interrupted"
            y = x.copy()
            y[d] = 0
            ban = banned.copy()
            ban[d] = True
            tried += 1
            r = _complete(ev, y, ban)
            if r is not None and r[1] < obj:
                x, obj = r
                improved = True
                break
    return x, obj, tried, "done"


def greedy_search(problem: Problem, *, evaluator: Evaluator | None = None, max_work: int = GREEDY_SWAP_WORK,
                  safety_net_s: float = 60.0) -> GreedyResult:
    """A feasible layout found greedily (phases (a)-(c) of the module docstring).

    Deterministic: the swap pass is bounded by a work limit (``max_work`` incidences
    re-completed, at least ``GREEDY_MIN_SWAPS`` re-completions); the wall-clock
    ``safety_net_s`` only stops it on a very large or badly overloaded run, and the result
    says so (``stopped_by``).

    Args:
        problem: the problem.
        evaluator: an :class:`Evaluator` of ``problem`` (built when not given).
        max_work: the work limit of the swap pass, incidences.
        safety_net_s: wall-clock safety net, seconds.

    Returns:
        A :class:`GreedyResult` (``layout`` is ``None`` when the greedy finds nothing feasible).
    """
    t0 = time.perf_counter()
    ev = evaluator or Evaluator(problem)
    work0, gathered0, calls0 = ev.work, ev.gathered, ev.calls
    n = len(problem.decisions)
    pairs = PairIndex(ev) if GREEDY_PAIRS else None
    res = _complete(ev, np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool), pairs)
    pair_work = 0 if pairs is None else pairs.work
    del pairs  # its 8 bytes per level incidence freed
    if res is None:
        logger.debug("greedy: no feasible layout found")
        return GreedyResult(None, 0, "done", time.perf_counter() - t0, ev.work - work0,
                            ev.gathered - gathered0 + pair_work, ev.calls - calls0)
    max_swaps = max(GREEDY_MIN_SWAPS, max_work // max(ev.size, 1))
    x, obj, tried, stopped_by = _swap_pass(ev, res[0], res[1], max_swaps, t0, safety_net_s)
    if stopped_by == "safety net":
        logger.info("greedy: the wall-clock safety net (%.1f s) stopped the swap pass after %d swaps", safety_net_s,
                    tried)
    # drop what nothing needs (cheaper, same or better objective)
    for d in sorted(np.nonzero(x)[0].tolist(), key=lambda i: -problem.decisions[i].cost):
        y = x.copy()
        y[d] = 0
        if (oy := ev.feasible_open(y)) is not None:
            o = ev.objective(y, oy)
            if o <= obj:
                x, obj = y, o
    layout = tuple(int(i) for i in np.nonzero(x)[0]) if ev.feasible(x) else None
    secs = time.perf_counter() - t0
    logger.debug("greedy: objective %s, %d swaps tried, stopped by %s, %.2f s", obj, tried, stopped_by, secs)
    return GreedyResult(layout, tried, stopped_by, secs, ev.work - work0, ev.gathered - gathered0 + pair_work,
                        ev.calls - calls0)


def greedy_layout(problem: Problem, *, evaluator: Evaluator | None = None, max_work: int = GREEDY_SWAP_WORK,
                  safety_net_s: float = 60.0) -> tuple[int, ...] | None:
    """The layout of :func:`greedy_search` (sorted decision ids), or ``None`` if the greedy
    finds none."""
    return greedy_search(problem, evaluator=evaluator, max_work=max_work, safety_net_s=safety_net_s).layout


class HintValues(NamedTuple):
    """Values of every model variable at a layout (what a backend's warm start sets).

    Attributes:
        x: 0/1 per decision.
        open_options: whether each option is open.
        level_u: the level variable ``u`` per radius level, in ``Problem.level_terms`` order
            (1 while no option at or below the level is open).
        uncovered: whether each penalty is uncovered.
    """

    x: np.ndarray
    open_options: np.ndarray
    level_u: np.ndarray
    uncovered: np.ndarray


def hint_values(problem: Problem, chosen: Iterable[int], evaluator: Evaluator | None = None) -> HintValues:
    """Values of every model variable at the layout ``chosen`` (decision ids)."""
    ev = evaluator or Evaluator(problem)
    x = ev.layout(chosen)
    ov = ev.open_options(x)
    length, _ = ev.client_lengths(ov)
    # u = 1 iff no option at or below this level is open, i.e. the level is shorter than the length
    u = ev.lev_len < length[ev.lev_client]
    return HintValues(x, ov, u, ev.uncovered(ov))
