"""A built :class:`~optimiser.model.problem.Problem`'s options and clients as flat arrays, worked
out once per problem and kept beside it (a side table, not a field: a problem's fields, its
equality and its pickles are unchanged) for the rewrites of :mod:`optimiser.model.transforms`,
which read them on every call: relax-first fixes and relaxes the same problem many times (rs016
at a 60 s limit: 18 relaxations and 7 fixings; flattening the Python tuples was a third of their
CPU).

An entry is used while the problem holds the same lists of options and clients with the same
lengths (a rewrite builds new lists; :meth:`Problem.option_id` only appends), and dropped with
the problem.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import TypeVar

import numpy as np

from optimiser.model.problem import Problem, option_arrays


@dataclass(frozen=True)
class FlatOptions:
    """Every option's decisions, flat.

    Attributes:
        lens: option id -> how many decisions it needs.
        flat: their decision ids, option after option.
        owner: the option of each entry of ``flat``.
        index: required decisions -> option id, for the options of two or more decisions (what
            :meth:`Problem.option_id` looks up; the last of equal options); copy it before use.
    """

    lens: np.ndarray
    flat: np.ndarray
    owner: np.ndarray
    index: dict[tuple[int, ...], int]


@dataclass(frozen=True)
class FlatClients:
    """Every client's levels and their options, flat, in client, level and option order.

    Attributes:
        pair: client -> whether its kind is "pair".
        nlev: client -> its number of levels.
        lev: each level's length.
        olen: each level's number of options.
        opt: each incidence's option id.
    """

    pair: np.ndarray
    nlev: np.ndarray
    lev: np.ndarray
    olen: np.ndarray
    opt: np.ndarray

    def subset(self, clients: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(nlev, lev, olen, opt)`` of the clients where the mask ``clients`` is true."""
        levels = np.repeat(clients, self.nlev)
        return self.nlev[clients], self.lev[levels], self.olen[levels], self.opt[np.repeat(levels, self.olen)]


_lock = threading.Lock()
_entries: dict[int, tuple[weakref.ref[Problem], tuple[object, int, object, int], dict[str, object]]] = {}


def _entry(problem: Problem) -> dict[str, object]:
    """The side-table entry of ``problem`` (a new one when its lists changed)."""
    key = id(problem)
    # the lists themselves, compared by identity (held, so their ids are not reused meanwhile)
    stamp = (problem.options, len(problem.options), problem.clients, len(problem.clients))
    with _lock:
        got = _entries.get(key)
        if got is not None and got[0]() is problem and all(a is b for a, b in zip(got[1][::2], stamp[::2])) \
                and got[1][1::2] == stamp[1::2]:
            return got[2]
        parts: dict[str, object] = {}
        _entries[key] = (weakref.ref(problem, partial(_drop, key)), stamp, parts)
        return parts


def _drop(key: int, _ref: weakref.ref[Problem]) -> None:
    """Drop the entry of a problem that is gone."""
    _entries.pop(key, None)


_T = TypeVar("_T", FlatOptions, FlatClients)


def _kept(problem: Problem, part: str, kind: type[_T], build: Callable[[Problem], _T]) -> _T:
    """``problem``'s side-table ``part`` (of type ``kind``), built by ``build`` the first time."""
    parts = _entry(problem)
    got = parts.get(part)
    if isinstance(got, kind):
        return got
    out = build(problem)
    parts[part] = out
    return out


def flat_options(problem: Problem) -> FlatOptions:
    """``problem``'s options as flat arrays (:class:`FlatOptions`), once per problem."""
    return _kept(problem, "options", FlatOptions, _flatten_options)


def flat_clients(problem: Problem) -> FlatClients:
    """``problem``'s clients as flat arrays (:class:`FlatClients`), once per problem."""
    return _kept(problem, "clients", FlatClients, _flatten_clients)


def _flatten_options(problem: Problem) -> FlatOptions:
    options = problem.options
    return FlatOptions(*option_arrays(options), {req: i for i, req in enumerate(options) if len(req) > 1})


def _flatten_clients(problem: Problem) -> FlatClients:
    cl = problem.clients
    n_c = len(cl)
    pair = np.fromiter((c.kind == "pair" for c in cl), dtype=bool, count=n_c)
    nlev = np.fromiter((len(c.levels) for c in cl), dtype=np.int64, count=n_c)
    n_l = int(nlev.sum())
    lev = np.fromiter(chain.from_iterable(c.levels for c in cl), dtype=np.int64, count=n_l)
    olen = np.fromiter(map(len, chain.from_iterable(c.level_options for c in cl)), dtype=np.int64, count=n_l)
    opt = np.fromiter(chain.from_iterable(chain.from_iterable(c.level_options for c in cl)), dtype=np.int64,
                      count=int(olen.sum()))
    return FlatClients(pair, nlev, lev, olen, opt)


def remember(problem: Problem, clients: FlatClients, options: FlatOptions | None = None) -> None:
    """Keep ``clients`` (and ``options``) as the flat arrays of ``problem``, as it is now (a
    rewrite that has them at hand: :func:`~optimiser.model.transforms.fix_decisions`)."""
    parts = _entry(problem)
    parts["clients"] = clients
    if options is not None:
        parts["options"] = options


def option_sites(options: FlatOptions, is_site: np.ndarray) -> np.ndarray:
    """Each option's one site (the decision id of its one decision where ``is_site``), -1 when it
    needs none, -2 when it needs several."""
    n_o = options.lens.size
    site = is_site[options.flat]
    owner = options.owner[site]
    out = np.full(n_o, -1, dtype=np.int64)
    out[owner] = options.flat[site]
    out[np.bincount(owner, minlength=n_o) > 1] = -2
    return out


def fixed_clients(fc: FlatClients, same: np.ndarray, kc: np.ndarray, kl: np.ndarray, ko: np.ndarray) -> FlatClients:
    """The flat clients of a rewrite of the clients ``fc``: those where ``same`` is true as they
    were, the others' incidences (client, level index in ``fc``, option id) sorted by client,
    level and option, possibly repeated (the rewrite lists each distinct one once)."""
    n_c = fc.nlev.size
    if kc.size:
        new = np.ones(kc.size, dtype=bool)
        new[1:] = (kc[1:] != kc[:-1]) | (kl[1:] != kl[:-1]) | (ko[1:] != ko[:-1])
        kc, kl, ko = kc[new], kl[new], ko[new]
    starts = np.ones(kc.size, dtype=bool)
    starts[1:] = (kc[1:] != kc[:-1]) | (kl[1:] != kl[:-1])
    first = np.nonzero(starts)[0]
    lev_same = np.repeat(same, fc.nlev)
    inc_same = np.repeat(lev_same, fc.olen)
    # the clients kept and the rewritten ones, merged in client order (each client is one or the other)
    lev_client = np.concatenate([np.repeat(np.arange(n_c), fc.nlev)[lev_same], kc[first]])
    by_level = np.argsort(lev_client, kind="stable")
    lev = np.concatenate([fc.lev[lev_same], fc.lev[kl[first]]])[by_level]
    olen = np.concatenate([fc.olen[lev_same], np.diff(np.append(first, kc.size))])[by_level]
    inc_client = np.concatenate([np.repeat(np.arange(n_c), fc.nlev)[lev_same].repeat(fc.olen[lev_same]), kc])
    opt = np.concatenate([fc.opt[inc_same], ko])[np.argsort(inc_client, kind="stable")]
    return FlatClients(fc.pair, np.bincount(lev_client, minlength=n_c), lev, olen, opt)
