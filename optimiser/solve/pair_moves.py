"""Pairs of decisions worth more together than apart: the greedy's two-decision additions.

The greedy (:func:`~optimiser.solve.heuristic.add_greedy`) adds one decision at a time, priced by
:meth:`~optimiser.solve.heuristic.Evaluator.gains`: the options one decision short of open. An
option that needs two decisions not yet chosen is invisible to it: a walk that crosses two barriers
(a crossing on each), or a facility site reached over a barrier (the site and a crossing). Each of
the two alone gains nothing, so the greedy never starts either. Measured on the independent
generator's seed 117 (``benchmarks/realsites/independent.py``; 60 firms, 131 candidate crossings, a
loose budget): the best known layout builds a footbridge and an underpass on two barriers that are
each worth 836M only with the other (about a third of the objective); the greedy's layout has
neither and is 38 % above it.

:func:`best_pair` prices every such pair: the options exactly two decisions short of open give each
pair's *synergy* (the improvements of those options' levels, summed: an estimate), the best-scoring
few are confirmed on the exact objective and every upper-bound constraint, and the best confirmed
pair whose exact gain exceeds the two decisions' gains alone is returned. Its work is counted
(entries read, evaluations), never timed, so the greedy stays deterministic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from optimiser.solve.csr_rows import row_entries

if TYPE_CHECKING:
    from optimiser.solve.heuristic import Evaluator

PAIR_CONFIRM = 3
"""Pairs confirmed on the exact objective per call (best estimated score first)."""


class Additions(NamedTuple):
    """What :meth:`~optimiser.solve.heuristic.Evaluator.addition_state` read of a layout ``x``: its
    :meth:`~optimiser.solve.heuristic.Evaluator.additions` and, for :func:`best_pair` to reuse
    rather than compute again, what it read on the way.

    Attributes:
        objective: the exact objective of ``x``.
        gain: each decision's exact objective decrease when added (0 for chosen ones).
        allowed: whether adding each decision keeps every upper-bound constraint.
        option_counts: each option's chosen decisions (``A @ x``; open where it equals ``req``).
        length: each client's length in ``x`` (:meth:`~optimiser.solve.heuristic.Evaluator.client_lengths`),
            length units.
    """

    objective: int
    gain: np.ndarray
    allowed: np.ndarray
    option_counts: np.ndarray
    length: np.ndarray


class PairMove(NamedTuple):
    """A confirmed two-decision addition.

    Attributes:
        first, second: the two decisions (ids, ``first < second``).
        gain: the exact objective decrease of adding both.
        score: ``gain``, or ``gain`` per unit of their joint cost (``per_cost``).
    """

    first: int
    second: int
    gain: int
    score: float


class PairIndex:
    """The level entries of every option in option order (its client and length beside each), so
    that an option's levels are one contiguous slice: 8 bytes per incidence of the level matrix,
    the evaluator's :meth:`~optimiser.solve.heuristic.Evaluator.level_runs` where it keeps them, else
    built for the greedy's first completion and dropped after it. ``work`` counts what building it
    and the synergies read (entries gathered); the exact confirmations count in the evaluator's
    :attr:`~optimiser.solve.heuristic.Evaluator.work`."""

    def __init__(self, ev: Evaluator):
        self.ev = ev
        runs = ev.level_runs()  # the evaluator's own when it keeps them, else built for the greedy's first completion
        self.client, self.length = runs if runs is not None else ev.level_entries()
        self.work = self.build_work(ev)

    @staticmethod
    def build_work(ev: Evaluator) -> int:
        """The entries building the index of ``ev`` gathers (:attr:`work` after the build)."""
        return 3 * int(ev.MT.indices.size)


def _short_by_two(ev: Evaluator, x: np.ndarray, banned: np.ndarray, count: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Options exactly two decisions short of open with neither banned: (options, first, second
    missing decision, ascending). ``count``: each option's chosen decisions (``A @ x``) when the
    caller has them (:attr:`Additions.option_counts`: neither computed nor counted again)."""
    cnt = ev.counts_given(x, count)
    near = np.flatnonzero(ev.req - cnt == 2)
    ev.work += ev.n_o
    if near.size == 0:
        return near, near, near
    pos, row = row_entries(ev.A.indptr, near)
    dec = ev.A.indices[pos]
    miss = x[dec] == 0
    row, dec = row[miss], dec[miss]
    # two missing per row (a decision listed twice in an option counts once: such rows are dropped)
    first = np.full(near.size, -1, dtype=np.int64)
    second = np.full(near.size, -1, dtype=np.int64)
    first_at = np.ones(row.size, dtype=bool)
    first_at[1:] = row[1:] != row[:-1]
    first[row[first_at]] = dec[first_at]
    second[row[~first_at]] = dec[~first_at]
    a, b = np.minimum(first, second), np.maximum(first, second)
    ok = (a >= 0) & (a != b)
    ok[ok] &= ~banned[a[ok]] & ~banned[b[ok]]
    return near[ok], a[ok], b[ok]


def pair_synergy(index: PairIndex, x: np.ndarray, length: np.ndarray, banned: np.ndarray,
                 count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair of decisions not chosen (``first < second``), the objective decrease of the options
    that need both, summed over the options' levels (the options one short are left out:
    :meth:`Evaluator.gains` prices them). A client with two options short by the same pair counts
    twice: an estimate, which :func:`best_pair` confirms exactly.

    Args:
        index: the :class:`PairIndex` of the evaluator.
        x: the layout (0/1 per decision).
        length: each client's length in ``x`` (:meth:`Evaluator.client_lengths`).
        banned: decisions that may not be added.
        count: each option's chosen decisions in ``x`` (``A @ x``) when known (else computed).

    Returns:
        ``(first, second, synergy)`` arrays, one entry per pair with a positive synergy.
    """
    ev = index.ev
    empty = np.zeros(0, dtype=np.int64)
    opts, a, b = _short_by_two(ev, x, banned, count)
    if opts.size == 0:
        return empty, empty, empty
    pos, rows = row_entries(ev.MT.indptr, opts)
    index.work += 4 * int(pos.size) + 3 * int(opts.size)
    cli = index.client[pos]
    imp = length[cli] - index.length[pos]
    keep = imp > 0
    if not keep.any():
        return empty, empty, empty
    rows, val = rows[keep], imp[keep] * ev.w[cli[keep]]
    upair, inv = np.unique(a * ev.n_d + b, return_inverse=True)
    syn = np.bincount(inv[rows], weights=val, minlength=upair.size).astype(np.int64)
    has = syn > 0
    upair, syn = upair[has], syn[has]
    return upair // ev.n_d, upair % ev.n_d, syn


def best_pair(index: PairIndex, x: np.ndarray, objective: int, gain: np.ndarray, banned: np.ndarray,
              per_cost: bool, floor: float = 0.0, confirm: int = PAIR_CONFIRM,
              state: Additions | None = None) -> PairMove | None:
    """The best confirmed two-decision addition worth more than its decisions apart, or ``None``.

    Args:
        index: the :class:`PairIndex` of the evaluator (its ``work`` grows).
        x: the layout (0/1 per decision).
        objective: its exact objective.
        gain: each decision's exact gain alone (:meth:`Evaluator.additions`).
        banned: decisions that may not be added.
        per_cost: score by gain per unit of joint cost (else by gain).
        floor: the score to beat (the best single decision's): pairs whose estimate is not above it
            are not confirmed. The estimate (synergy plus both gains alone) is at least the exact
            gain but for penalties, which only the exact evaluation counts.
        confirm: how many pairs (best estimated score first) to evaluate exactly.
        state: what :meth:`~optimiser.solve.heuristic.Evaluator.addition_state` read of ``x`` (the
            call that gave ``objective`` and ``gain``): its client lengths and option counts are
            reused, neither computed nor counted again; without it both are computed.

    Returns:
        A :class:`PairMove` whose exact gain exceeds ``gain[first] + gain[second]`` and that keeps
        every upper-bound constraint, the best scoring of those confirmed; ``None`` when none.
    """
    ev = index.ev
    if state is None:
        length, count = ev.client_lengths(ev.open_options(x))[0], None
    else:  # reused: neither computed nor counted again (the greedy is charged by its counts)
        length, count = state.length, state.option_counts
    first, second, syn = pair_synergy(index, x, length, banned, count)
    if syn.size == 0:
        return None
    joint = np.maximum(ev.cost[first] + ev.cost[second], 1.0)
    est = (syn + gain[first] + gain[second]).astype(float)
    score = est / joint if per_cost else est
    best: PairMove | None = None
    for i in np.argsort(-score, kind="stable")[:confirm].tolist():
        if score[i] <= max(floor, best.score if best is not None else 0.0):
            break
        d, e = int(first[i]), int(second[i])
        y = x.copy()
        y[d] = y[e] = 1
        ov = ev.open_options(y)
        if not ev.upper_ok(ov):
            continue
        g = objective - ev.objective(y, ov)
        if g <= int(gain[d]) + int(gain[e]):
            continue
        s = g / float(joint[i]) if per_cost else float(g)
        if best is None or s > best.score:
            best = PairMove(d, e, int(g), s)
    return best
