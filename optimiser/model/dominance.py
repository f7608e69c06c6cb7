"""Candidate crossings that another crossing dominates: fixed at 0 before the solve.

Crossing ``c`` dominates crossing ``d`` when building ``c`` instead of ``d`` never lengthens a
walk and never breaks a constraint: for every option ``o`` that needs ``d`` (in any client or
penalty), the decisions ``(o - {d}) | {c}`` open an option of the same client at most as long
(a subset of them is an option with a level at most ``o``'s), and every constraint row has
``0 <= coef(c) <= coef(d)`` with no lower bound (the budget: ``c`` costs no more). Then any
layout with ``d`` built becomes, with ``d`` replaced by ``c`` (or dropped, when ``c`` is built
already), a layout that is feasible and no worse. A crossing every one of whose options has a
sub-option at most as long (it shortens no walk) is dominated by building nothing.

The crossings are ordered by (cost, id); ``d`` is removed when it shortens no walk, or when a
crossing earlier in that order dominates it. Replacing each removed crossing by its dominator,
repeatedly, ends in a layout of the kept crossings (each step moves to an earlier crossing), no
worse and feasible: fixing every removed crossing at 0 keeps an optimal layout, so the optimum
is unchanged, and the LP relaxation and the search lose variables and options. Measured on
benchmarks/realsites' independent seeds at 10 s (wave 46): seed 7's 715k radius levels -> 207k,
proven in 2.3 s after the test instead of 11.2 s (the test itself 2.4-2.9 s); seed 117 1.47 % -> 0.44 %.

The test is exact on options of at most three decisions (every built option here: a site and
up to two crossings); a crossing in a larger option, in a constraint over a conjunction, or in
a row with a lower bound is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from optimiser.model.clients import run_starts
from optimiser.model.flat import flat_clients, flat_options
from optimiser.model.problem import Problem

logger = logging.getLogger(__name__)

__all__ = ["Dominance", "dominated_crossings"]

MAX_OPTION_SIZE = 3
"""Options with more decisions make their crossings ineligible (kept)."""

MAX_USES = 3_000_000
"""Above this many (incidence, crossing) uses the test is skipped (nothing removed): its cost
grows with the uses, about 0.65-1.1 us each on this 2-core machine alone (benchmarks/realsites'
independent seeds 110 1.47M uses 0.96 s, 117 1.74M 1.15 s, 7 2.6M 2.4-2.9 s; unseen 200 2.2M
1.46 s), against a 10 s limit."""


@dataclass(frozen=True)
class Dominance:
    """The crossings :func:`dominated_crossings` removes.

    Attributes:
        removed: decision id of each removed crossing -> the crossing that dominates it
            (earlier in the (cost, id) order), or -1 when it shortens no walk.
        uses: the (client or penalty incidence, crossing in its option) pairs examined.
        skipped: why nothing was examined (too many uses, keys too large), or ``None``.
    """

    removed: dict[int, int]
    uses: int
    skipped: str | None = None


def _sorted_by(key: np.ndarray, length: np.ndarray, span: int) -> np.ndarray:
    """The order of (key, length) pairs (``0 <= length < span``, ``key * span`` within 62 bits):
    one sort of the combined key."""
    return np.argsort(key * span + length)


def _segmented_or(masks: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Prefix OR of the columns of ``masks`` (words x entries) within the runs of entries that begin
    at ``starts`` (ascending, from 0): one step per position in the longest run."""
    out = masks.copy()
    sizes = np.diff(np.r_[starts, out.shape[1]])
    order = np.argsort(-sizes, kind="stable")
    starts, sizes = starts[order], sizes[order]  # longest runs first
    desc = -sizes
    for k in range(1, int(sizes[0]) if sizes.size else 0):
        rows = starts[:np.searchsorted(desc, -k, side="left")] + k  # the runs longer than k
        for w in range(out.shape[0]):
            out[w, rows] |= out[w, rows - 1]
    return out


def _incidences(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, option, length) of every client incidence, then every penalty option at length 0
    (owners numbered after the clients); an option a client lists at several levels appears once
    per level (the lookups take the shortest)."""
    fc = flat_clients(problem)
    n_c = fc.nlev.size
    lev_client = np.repeat(np.arange(n_c, dtype=np.int64), fc.nlev)
    inc_level = np.repeat(np.arange(fc.lev.size, dtype=np.int64), fc.olen)
    owner = [lev_client[inc_level]]
    option = [fc.opt.astype(np.int64)]
    length = [fc.lev[inc_level].astype(np.int64)]
    for k, pen in enumerate(problem.penalties):
        if pen.options:
            option.append(np.asarray(pen.options, dtype=np.int64))
            owner.append(np.full(len(pen.options), n_c + k, dtype=np.int64))
            length.append(np.zeros(len(pen.options), dtype=np.int64))
    return np.concatenate(owner), np.concatenate(option), np.concatenate(length)


def _rows(problem: Problem, is_cross: np.ndarray, xi: np.ndarray, n_x: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept, coefs, lo): the crossings in a conjunction's constraint term (kept whatever the walks
    say), and per row with a crossing its coefficients over the crossings and whether it has a lower bound."""
    n_d = len(problem.decisions)
    kept = np.zeros(n_x, dtype=bool)
    row_coef: list[np.ndarray] = []
    row_lo: list[bool] = []
    for row in problem.constraints:
        coef = np.zeros(n_x, dtype=np.float64)
        touched = False
        for v, a in row.terms:
            if v >= n_d:
                for d in problem.options[v]:
                    if is_cross[d]:
                        kept[xi[d]] = True
            elif is_cross[v]:
                coef[xi[v]] += a
                touched = True
        if touched:
            row_coef.append(coef)
            row_lo.append(row.lo is not None)
    return kept, np.array(row_coef).reshape(len(row_coef), n_x), np.array(row_lo, dtype=bool)


def _dominator_masks(owner: np.ndarray, length: np.ndarray, members: tuple[np.ndarray, np.ndarray, np.ndarray],
                     is_cross: np.ndarray, xi: np.ndarray, n_x: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(dmask, useless, uses): per crossing d, the bits (words of 64) of the crossings c that can take
    its place in every option that needs it, and whether it shortens no walk; ``members``: each
    incidence's option's ids, ascending, padded with ``len(is_cross)``."""
    m0, m1, m2 = members
    pad = is_cross.size  # the padding id: after every decision
    base = pad + 1
    span = int(length.max()) + 1 if length.size else 1
    words = (n_x + 63) // 64
    ones = np.full(words, np.uint64(2**64 - 1), dtype=np.uint64)
    # every option of every owner at its shortest length: (owner, option set) -> length
    set_key = ((owner * base + m0) * base + m1) * base + m2
    order = _sorted_by(set_key, length, span)
    sk, first = np.unique(set_key[order], return_index=True)
    set_len = length[order][first]
    # uses = records: (incidence, crossing x in it) and the rest of the option without x (two ids, padding last)
    is_x = np.r_[is_cross, False]  # the padding id is no crossing
    parts = [(at, x[at], o1[at], o2[at]) for x, o1, o2 in ((m0, m1, m2), (m1, m0, m2), (m2, m0, m1))
             for at in (np.flatnonzero(is_x[x]),)]
    u_inc = np.concatenate([q[0] for q in parts])
    u_d = xi[np.concatenate([q[1] for q in parts])]
    r1, r2 = np.concatenate([q[2] for q in parts]), np.concatenate([q[3] for q in parts])
    u_own, u_len = owner[u_inc], length[u_inc]
    n_u = u_d.size
    # records sorted by (owner, rest, length); per (owner, rest) the prefix OR of their crossings' bits
    g_key = (u_own * base + r1) * base + r2
    order = _sorted_by(g_key, u_len, span)
    g_sorted = g_key[order]
    g_val = g_sorted * span + u_len[order]  # sorted
    g_start = run_starts(g_sorted) if n_u else np.zeros(0, dtype=np.int64)
    r_x = u_d[order]
    word, bit = r_x // 64, np.left_shift(np.uint64(1), (r_x % 64).astype(np.uint64))
    masks = _segmented_or(np.stack([np.where(word == w, bit, np.uint64(0)) for w in range(words)]), g_start)
    none = np.full(n_u, pad, dtype=np.int64)
    # the walk is as short without d: a sub-option of the rest at most as long
    self_dom = np.zeros(n_u, dtype=bool)
    for s1, s2 in ((r1, none), (r2, none), (r1, r2)):
        sel = np.flatnonzero((s1 < pad) & (s2 < pad) if s2 is not none else s1 < pad)
        q = ((u_own[sel] * base + s1[sel]) * base + s2[sel]) * base + pad
        at = np.minimum(np.searchsorted(sk, q), sk.size - 1)
        self_dom[sel[(sk[at] == q) & (set_len[at] <= u_len[sel])]] = True
    # or with c in d's place: (a subset t of the rest, c) is an option at most as long; for the
    # whole rest, the use's own group up to the last record of its (group, length) run
    umask = np.zeros((words, n_u), dtype=np.uint64)
    if n_u:
        run_start = run_starts(g_val)
        bounds = np.append(run_start, n_u)
        src = np.empty(n_u, dtype=np.int64)
        src[order] = np.repeat(bounds[1:] - 1, np.diff(bounds))  # each record's run's last position
        for w in range(words):
            umask[w] |= masks[w, src]
    live = np.flatnonzero(~self_dom)
    with_single = np.zeros(int(owner.max()) + 1 if owner.size else 0, dtype=bool)  # owners with a lone-crossing option
    with_single[u_own[r1 == pad]] = True
    for s1, s2 in ((none, none), (r1, none), (r2, none)):
        if s1 is none:  # not for a rest of padding only (its own group, above)
            sel = live[with_single[u_own[live]] & (r1[live] < pad)]
        else:  # one of a rest of two
            sel = live[(s1[live] < pad) & (r2[live] < pad)]
        q = (u_own[sel] * base + s1[sel]) * base + s2[sel]
        idx = np.searchsorted(g_val, q * span + u_len[sel], side="right") - 1
        hit = idx >= 0
        hit[hit] = g_sorted[idx[hit]] == q[hit]
        rows, src = sel[hit], idx[hit]
        for w in range(words):
            umask[w, rows] |= masks[w, src]
    umask[:, self_dom] = ones[:, None]
    # per crossing: the AND over its uses; useless when every use is as short without it (or none)
    dmask = np.tile(ones, (n_x, 1))
    useless = np.ones(n_x, dtype=bool)
    if n_u:
        order = np.argsort(u_d, kind="stable")
        ud = u_d[order]
        starts = run_starts(ud)
        for w in range(words):
            dmask[ud[starts], w] = np.bitwise_and.reduceat(umask[w, order], starts)
        useless[ud[starts]] = np.logical_and.reduceat(self_dom[order], starts)
    return dmask, useless, n_u


def _choose(crossings: np.ndarray, cost: np.ndarray, dmask: np.ndarray, useless: np.ndarray, kept: np.ndarray,
            coefs: np.ndarray, lo: np.ndarray) -> dict[int, int]:
    """The removed crossings (decision id -> dominator, -1: none needed), in (cost, id) order: a
    dominator earlier in that order, kept by no row, with 0 <= coef(c) <= coef(d) and no lower bound."""
    n_x = crossings.size
    removable_alone = ~kept & ~((coefs != 0) & lo[:, None]).any(axis=0) & (coefs >= 0).all(axis=0)
    by_rank = np.lexsort((crossings, cost))
    rank = np.empty(n_x, dtype=np.int64)
    rank[by_rank] = np.arange(n_x)
    word_of = np.arange(n_x) // 64
    bit_of = np.left_shift(np.uint64(1), (np.arange(n_x) % 64).astype(np.uint64))
    removed: dict[int, int] = {}
    for j in by_rank.tolist():
        d = int(crossings[j])
        if not removable_alone[j]:
            continue
        if useless[j]:
            removed[d] = -1
            continue
        cand = np.flatnonzero((dmask[j][word_of] & bit_of) != 0)
        cand = cand[(rank[cand] < rank[j]) & ~kept[cand]]
        if cand.size and coefs.size:
            c = coefs[:, cand]
            cand = cand[((c >= 0) & (c <= coefs[:, [j]]) & ~((c != 0) & lo[:, None])).all(axis=0)]
        if cand.size:
            removed[d] = int(crossings[cand[np.argmin(rank[cand])]])
    return removed


def dominated_crossings(problem: Problem) -> Dominance:
    """The candidate crossings of ``problem`` that can be fixed at 0 without changing its
    optimum (module docstring): each with the crossing that dominates it, or -1."""
    decisions = problem.decisions
    n_d = len(decisions)
    is_cross = np.fromiter((d.kind == "crossing" for d in decisions), dtype=bool, count=n_d)
    crossings = np.flatnonzero(is_cross)
    n_x = crossings.size
    if n_x == 0:
        return Dominance({}, 0)
    xi = np.full(n_d + 1, -1, dtype=np.int64)
    xi[crossings] = np.arange(n_x)
    kept, coefs, lo = _rows(problem, is_cross, xi, n_x)
    fo = flat_options(problem)
    size = fo.lens
    # the uses, counted before any array of that size is made (the joint benchmark's 500 firms: 9M incidences)
    n_cross_of = np.bincount(fo.owner, weights=is_cross[fo.flat], minlength=size.size).astype(np.int64)
    n_uses = int(n_cross_of[flat_clients(problem).opt].sum()) + sum(int(n_cross_of[list(q.options)].sum())
                                                                    for q in problem.penalties if q.options)
    if n_uses > MAX_USES:
        return Dominance({}, n_uses, f"{n_uses:,} uses, over {MAX_USES:,}")
    # each option's members, padded with n_d to MAX_OPTION_SIZE (larger options: their crossings kept)
    big = size > MAX_OPTION_SIZE
    if big.any():
        in_big = xi[fo.flat[np.repeat(big, size)]]
        kept[in_big[in_big >= 0]] = True
    mem = np.full((size.size, MAX_OPTION_SIZE), n_d, dtype=np.int64)
    small_entry = np.repeat(~big, size)
    pos_in = np.arange(fo.flat.size) - np.repeat(np.cumsum(size) - size, size)
    mem[fo.owner[small_entry], pos_in[small_entry]] = fo.flat[small_entry]
    owner, option, length = _incidences(problem)
    ok_inc = ~big[option]
    owner, option, length = owner[ok_inc], option[ok_inc], length[ok_inc]
    span = int(length.max()) + 1 if length.size else 1
    if (int(owner.max()) + 1 if owner.size else 0) * (n_d + 1) ** 3 >= (2**62) // span:
        return Dominance({}, n_uses, "keys too large for 64 bits")
    members = (mem[:, 0][option], mem[:, 1][option], mem[:, 2][option])
    dmask, useless, n_u = _dominator_masks(owner, length, members, is_cross, xi, n_x)
    cost = np.array([decisions[d].cost for d in crossings.tolist()], dtype=np.float64)
    removed = _choose(crossings, cost, dmask, useless, kept, coefs, lo)
    logger.debug("dominated crossings: %d of %d removed (%d uses examined)", len(removed), n_x, n_u)
    return Dominance(removed, n_u)
