"""The rewrites of :mod:`optimiser.model.transforms` as they were before they read the flat
arrays of :mod:`optimiser.model.flat` (session 27): fixing decisions by the walk over every
client's levels, option by option, and the access relaxation flattening each problem's tuples
on every call and rewriting every firm pair. The reference of tests/test_transforms_flat.py: the
rewrites must give the same problems, field by field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from itertools import chain
from typing import Any

import numpy as np

from optimiser.model.clients import client_level_option_order, level_groups
from optimiser.model.problem import Client, Constraint, Problem


def _rewritten(problem: Problem, info: dict[str, Any]) -> Problem:
    """A copy of ``problem`` whose clients are to be rewritten: no clients yet, its own lists of
    options and constraints, and the conjunction index rebuilt (a copied problem may carry an
    empty one)."""
    return replace(problem, options=list(problem.options), clients=[], constraints=list(problem.constraints),
                   penalties=list(problem.penalties), groups=dict(problem.groups), info=info,
                   _option_index={req: i for i, req in enumerate(problem.options) if len(req) > 1})


def relax_access_crossings(problem: Problem, closed: Iterable[int] = ()) -> Problem | None:
    """A relaxation: every walk to a facility or social space may use every candidate crossing
    for free (firm pairs and every constraint are unchanged).

    Each access option "site s AND crossings R" becomes "site s" at the same length, and an
    option needing only crossings (an existing facility reached over a new crossing) is always
    open. No layout walks further in the relaxation than in ``problem`` and the feasible
    layouts are the same, so the relaxation's optimum, and any lower bound proven on it, is a
    lower bound for ``problem``. It is much smaller: access levels become firms x sites
    instead of firms x sites x crossing sets, and access no longer links sites to crossings.

    ``closed``: decision ids known to be closed in every layout of interest (e.g. by the
    reduction tests of :mod:`optimiser.solve.lagrangian`, for layouts better than an incumbent).
    Access options needing one of them are dropped instead of relaxed, which makes the
    relaxation tighter; it is then a relaxation of ``problem`` with those decisions at 0.

    Returns ``None`` when there is nothing to relax (no access option needs a crossing).
    """
    crossing = np.array([d.kind == "crossing" for d in problem.decisions], dtype=bool)
    shut = np.zeros(len(problem.decisions), dtype=bool)
    shut[list(closed)] = True
    q = _rewritten(problem, {"relaxation": "access over every candidate crossing"})
    relaxed = _relaxed_option_ids(problem, q, crossing, shut)
    rewritten, any_access = _relaxed_access_clients(problem, relaxed)
    if shut.any():  # options needing a closed decision never open: pairs drop them
        rewritten.update(_pairs_without_closed(problem, relaxed))
    q.clients.extend(rewritten.get(k, c) for k, c in enumerate(problem.clients))
    if not any_access:
        return None
    q.info["levels"] = q.n_levels()
    return q


def _pairs_without_closed(problem: Problem, relaxed: np.ndarray) -> dict[int, Client]:
    """The firm-pair clients (index -> client) without their options that never open
    (``relaxed`` -2) and without the levels that leaves empty."""
    pairs = [k for k, c in enumerate(problem.clients) if c.kind == "pair"]
    if not pairs:
        return {}
    lopts = [problem.clients[k].level_options for k in pairs]
    per_level = np.fromiter(map(len, chain.from_iterable(lopts)), dtype=np.int64)
    n_levels = np.fromiter(map(len, lopts), dtype=np.int64, count=len(pairs))
    opts = np.fromiter(chain.from_iterable(chain.from_iterable(lopts)), dtype=np.int64, count=int(per_level.sum()))
    keep = relaxed[opts] != -2
    kept = opts[keep].tolist()
    kept_per_level = np.bincount(np.repeat(np.arange(per_level.size), per_level)[keep], minlength=per_level.size)
    offs = np.concatenate([[0], np.cumsum(kept_per_level)]).tolist()
    first_level = np.concatenate([[0], np.cumsum(n_levels)]).tolist()
    out: dict[int, Client] = {}
    for j, k in enumerate(pairs):
        c = problem.clients[k]
        lo = first_level[j]
        levels = [(lev, tuple(kept[offs[lo + i]:offs[lo + i + 1]])) for i, lev in enumerate(c.levels)
                  if offs[lo + i + 1] > offs[lo + i]]
        out[k] = Client(c.key, c.kind, c.weight, c.base, tuple(v for v, _ in levels), tuple(o for _, o in levels))
    return out


def _relaxed_option_ids(problem: Problem, q: Problem, crossing: np.ndarray, shut: np.ndarray) -> np.ndarray:
    """Option id -> its relaxed option id in ``q`` (its non-crossing decisions; options over
    two or more of them created in ``q`` in option order); -1 when it needs only crossings
    (always open); -2 when it needs a closed decision (never open)."""
    n_d, n_o = len(problem.decisions), len(problem.options)
    lens = np.fromiter(map(len, problem.options), dtype=np.int64, count=n_o)
    flat = np.fromiter(chain.from_iterable(problem.options), dtype=np.int64, count=int(lens.sum()))
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    cross_flat = crossing[flat]
    any_shut = np.logical_or.reduceat(shut[flat], starts) if n_o else np.zeros(0, dtype=bool)
    n_rest = lens - (np.add.reduceat(cross_flat.astype(np.int64), starts) if n_o else 0)
    last_rest = np.maximum.reduceat(np.where(cross_flat, -1, flat), starts) if n_o else np.zeros(0, dtype=np.int64)
    relaxed = np.arange(n_o, dtype=np.int64)
    conj = relaxed >= n_d
    relaxed[np.nonzero(crossing)[0]] = -1
    relaxed[np.nonzero(shut)[0]] = -2
    part = conj & ~any_shut & (n_rest < lens)  # conjunctions over some crossing
    relaxed[part & (n_rest == 0)] = -1
    one = part & (n_rest == 1)
    relaxed[one] = last_rest[one]
    for o in np.nonzero(part & (n_rest >= 2))[0].tolist():  # in option order, as option ids are created
        relaxed[o] = q.option_id(tuple(d for d in problem.options[o] if not crossing[d]))
    relaxed[conj & any_shut] = -2
    return relaxed


def _relaxed_access_clients(problem: Problem, relaxed: np.ndarray) -> tuple[dict[int, Client], bool]:
    """The access clients (every kind but "pair", with levels) rewritten over ``relaxed``
    option ids: a client stops at its first level with an always-open option (its base
    becomes that length); each relaxed option stays at the first level that lists it (below
    the base); options that never open are dropped.

    Returns:
        (client index -> rewritten client, whether any access option changed).
    """
    idx = [k for k, c in enumerate(problem.clients) if c.kind != "pair" and c.levels]
    if not idx:
        return {}, False
    acl = [problem.clients[k] for k in idx]
    n_c = len(acl)
    nlev = np.fromiter((len(c.levels) for c in acl), dtype=np.int64, count=n_c)
    n_l = int(nlev.sum())
    levs = np.fromiter(chain.from_iterable(c.levels for c in acl), dtype=np.int64, count=n_l)
    olen = np.fromiter(map(len, chain.from_iterable(c.level_options for c in acl)), dtype=np.int64, count=n_l)
    opt = np.fromiter(chain.from_iterable(chain.from_iterable(c.level_options for c in acl)), dtype=np.int64,
                      count=int(olen.sum()))
    lev_client = np.repeat(np.arange(n_c), nlev)
    lev_pos = np.arange(n_l) - np.repeat(np.cumsum(nlev) - nlev, nlev)
    inc_level = np.repeat(np.arange(n_l), olen)
    r = relaxed[opt]
    # each client's first level with an always-open option (nlev: none)
    stop = nlev.copy()
    opens = np.unique(inc_level[r == -1])
    np.minimum.at(stop, lev_client[opens], lev_pos[opens])
    inc_client = lev_client[inc_level]
    before = lev_pos[inc_level] < stop[inc_client]
    any_access = bool(opens.size) or bool((before & (r >= 0) & (r != opt)).any())
    keep = before & (r >= 0)
    kc, kr, kl = inc_client[keep], r[keep], levs[inc_level[keep]]
    # the first level of each (client, relaxed option): incidences are in client, level order
    _, first = np.unique(kc * (int(relaxed.max(initial=0)) + 1) + kr, return_index=True)
    kc, kr, kl = kc[first], kr[first], kl[first]
    big = np.iinfo(np.int64).max
    base = [c.base for c in acl]
    new_base = np.array([big if b is None else b for b in base], dtype=np.int64)
    has_stop = stop < nlev
    starts = np.cumsum(nlev) - nlev
    new_base[has_stop] = levs[(starts + stop)[has_stop]]
    below = kl < new_base[kc]
    kc, kr, kl = kc[below], kr[below], kl[below]
    order = client_level_option_order(kc, kl, kr)
    lvl_len, lvl_opts, cst = level_groups(kc[order], kl[order], kr[order], n_c)
    out: dict[int, Client] = {}
    nb = new_base.tolist()
    for j, (k, c) in enumerate(zip(idx, acl)):
        a, b = cst[j], cst[j + 1]
        out[k] = Client(c.key, c.kind, c.weight, None if nb[j] == big else nb[j], tuple(lvl_len[a:b]), tuple(lvl_opts[a:b]))
    return out, any_access


_NEVER, _ALWAYS = -2, -1
"""Fates of an option in :func:`fix_decisions` (option ids are at least 0)."""


def fix_decisions(problem: Problem, fixed: dict[int, int]) -> Problem:
    """The same problem with some decisions fixed (decision id -> 0/1), substituted into
    every client exactly: options needing a decision fixed at 0 are dropped, decisions fixed
    at 1 are removed from conjunctions, and a client with an option that is now always open
    stops at that level (its base becomes that length). Much smaller than fixing by
    constraints when many conjunctions involve the fixed decisions."""
    q = _rewritten(problem, dict(problem.info))
    # each option's fate, worked out where the walk over the clients first meets it (so new
    # options get the same ids, in the same order, as when worked out at every meeting):
    # _NEVER (needs a decision fixed at 0), _ALWAYS (every decision it needs fixed at 1) or
    # its id in q
    fate: dict[int, int] = {}
    options = problem.options
    for c in problem.clients:
        levels, lopts, base = [], [], c.base
        for lev, opts in zip(c.levels, c.level_options):
            keep: set[int] = set()
            always = False
            for o in opts:
                f = fate.get(o)
                if f is None:
                    req = options[o]
                    if any(fixed.get(d) == 0 for d in req):
                        f = _NEVER
                    else:
                        rest = tuple(d for d in req if d not in fixed)
                        f = q.option_id(rest) if rest else _ALWAYS
                    fate[o] = f
                if f == _NEVER:
                    continue
                if f == _ALWAYS:
                    always = True
                    break
                keep.add(f)
            if always:
                base = lev
                break
            if keep:
                levels.append(lev)
                lopts.append(tuple(sorted(keep)))
        q.clients.append(Client(c.key, c.kind, c.weight, base, tuple(levels), tuple(lopts)))
    q.constraints += [Constraint(f"fix:{d}", ((d, 1),), v, v, "fix") for d, v in sorted(fixed.items())]
    return q
