"""The shared radius-level variables of a CP-SAT model, worked out with numpy over a problem's flat
clients (:func:`optimiser.model.flat.flat_clients`) instead of one Python call per level.

:class:`optimiser.solve.cpsat_model._LevelVars` gives the levels with the same set of options up to
them (a client's options at its levels so far) one variable ``u``, made by the first such level in
:meth:`Problem.level_terms` order, with the summed steps as its objective coefficient.
:func:`level_groups` finds the same grouping at once: each set is keyed by its size and two 64-bit
sums of per-option hash codes (splitmix64 of the option id and of the id xor a constant), so two
levels share a key when their sets are equal, and two different sets share one only when both
sums agree by chance (about 2^-128 per pair of sets of one size). Measured on rs016's 11 exact
models at a 60 s limit (benchmarks/realsites): 140,595 levels of the clients not split by site,
46,686 distinct sets (the rest shared), about 3 us of CPU per level in the per-level loop; the
levels took 0.45 s of CPU there and 0.22 s here (0.09 s of it the grouping), the same protos
(``time.process_time`` around each part, the models pickled from a run, load 1.5-2.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimiser.model.flat import flat_clients
from optimiser.model.problem import Problem

_SUM_MAX = 1 << 62
"""A bound on the objective steps (weight times length gap) summed in 64 bits: when the largest
step times the number of levels reaches it, the levels are left to the per-level loop (Python
integers)."""

_SECOND_CODE = np.uint64(0x5851F42D4C957F2D)
"""XORed into the option id for the second hash code."""


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 of each entry (uint64, wrapping), as ``cpsat_model._option_code``."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class LevelGroups:
    """The radius levels of the clients kept, grouped by their set of options up to them.

    Attributes:
        levels: the kept levels' positions in the flat levels (:meth:`Problem.level_terms` order;
            also the index into a hint's ``level_u``), ascending.
        level_in_client: each flat level's index within its client.
        client: each flat level's client.
        begin, end: each flat level's incidences (into the flat clients' ``opt``).
        rank: per kept level, its group's rank in order of first appearance (its ``u`` is the
            model's next variable plus the rank).
        new: per kept level, whether it is its group's first (it makes ``u`` and its chain row).
        coef: per group (by rank), the summed steps of its levels.
    """

    levels: np.ndarray
    level_in_client: np.ndarray
    client: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    rank: np.ndarray
    new: np.ndarray
    coef: np.ndarray


def level_groups(problem: Problem, skip: set[int]) -> LevelGroups | None:
    """The levels of the clients not in ``skip``, grouped (module docstring); ``None`` when a client's
    levels and level options differ in number or the steps' sums might not fit in 64 bits."""
    clients = problem.clients
    if any(len(c.levels) != len(c.level_options) for c in clients):
        return None
    fc = flat_clients(problem)
    n_c, n_l = fc.nlev.size, fc.lev.size
    weights = [c.weight for c in clients]
    tops = [(c.base if c.base is not None else c.levels[-1]) if c.levels else 0 for c in clients]
    if n_l and max(map(abs, weights)) * (max(map(abs, tops)) + int(np.abs(fc.lev).max())) * n_l >= _SUM_MAX:
        return None
    client = np.repeat(np.arange(n_c), fc.nlev)
    start = np.cumsum(fc.nlev) - fc.nlev  # each client's first flat level
    level_in_client = np.arange(n_l) - start[client]
    last = level_in_client + 1 == fc.nlev[client]
    nxt = np.where(last, np.asarray(tops, dtype=np.int64)[client], np.append(fc.lev[1:], 0))
    steps = np.asarray(weights, dtype=np.int64)[client] * (nxt - fc.lev)
    end = np.cumsum(fc.olen)
    begin = end - fc.olen
    # the options first met in their client (an option met again adds nothing to the set)
    inc_client = np.repeat(client, fc.olen)
    _, first_at = np.unique(inc_client * (int(fc.opt.max(initial=0)) + 1) + fc.opt, return_index=True)
    first = np.zeros(fc.opt.size, dtype=bool)
    first[first_at] = True
    opt = fc.opt.astype(np.uint64)
    sums = []
    for part in (first.astype(np.uint64), _splitmix64(opt), _splitmix64(opt ^ _SECOND_CODE)):
        with np.errstate(over="ignore"):
            run = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(np.where(first, part, np.uint64(0)))])
            sums.append(run[end] - run[begin[start[client]]])
    keep = np.ones(n_c, dtype=bool)
    keep[list(skip)] = False
    levels = np.nonzero(keep[client])[0]
    size, code1, code2 = (s[levels] for s in sums)
    order = np.lexsort((code2, code1, size))  # stable: equal keys in level order
    starts = np.ones(levels.size, dtype=bool)
    starts[1:] = (size[order][1:] != size[order][:-1]) | (code1[order][1:] != code1[order][:-1]) \
        | (code2[order][1:] != code2[order][:-1])
    group = np.empty(levels.size, dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    first_level = order[starts]  # each group's first kept level (its smallest position)
    rank_of_group = np.empty(first_level.size, dtype=np.int64)
    rank_of_group[np.argsort(first_level, kind="stable")] = np.arange(first_level.size)
    rank = rank_of_group[group]
    new = np.zeros(levels.size, dtype=bool)
    new[first_level] = True
    coef = np.zeros(first_level.size, dtype=np.int64)
    np.add.at(coef, rank, steps[levels])
    return LevelGroups(levels, level_in_client, client, begin, end, rank, new, coef)
