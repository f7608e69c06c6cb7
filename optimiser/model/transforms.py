"""Exact rewrites of a built :class:`~optimiser.model.problem.Problem`: the client reductions
applied when it is built, the access relaxation (:func:`relax_access_crossings`) and fixing
decisions (:func:`fix_decisions`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from itertools import chain
from typing import Any

import numpy as np

from optimiser.model.clients import client_level_option_order, level_groups, option_costs
from optimiser.model.flat import fixed_clients, flat_clients, flat_options, option_sites, remember
from optimiser.model.problem import Client, ClientKey, Constraint, Problem

logger = logging.getLogger(__name__)


MERGED_KEYS = "_merged_keys"
"""``Problem.info`` key: merged client index -> the keys of the clients summed into it (each
rounded its own weight; :mod:`optimiser.model.rounding`)."""


def reduce_clients(problem: Problem) -> dict[str, int]:
    """Exact reductions of the objective's clients.

    - An option whose decisions cost more together than the budget can never be open: it is
      removed from the levels of clients that have a base (constraints keep it, so an
      infeasibility explanation can still name the budget), and levels left empty go.
      ``options_over_budget`` counts such options among those created (the pair and access walks'
      route options over the budget are not created: :class:`~optimiser.network.routes.CostCap`).
    - Clients with the same kind, base, levels and level options are one term with the summed
      weight (common for firm pairs: the same routes, the same crossings).
    """
    out = {"options_over_budget": 0, "merged_clients": 0}
    budget = next((c for c in problem.constraints if c.key == "budget"), None)
    if budget is not None and budget.hi is not None:
        is_bad = option_costs(problem, np.arange(len(problem.options)), budget) > budget.hi
        out["options_over_budget"] = int(is_bad.sum())
        if is_bad.any():
            # the clients with a bad option, from the flat incidences (a tight budget: 5.8M
            # incidences, most of them built without their bad options: add_clients)
            fc = flat_clients(problem)
            bad_inc = is_bad[fc.opt]
            owner = np.repeat(np.repeat(np.arange(len(problem.clients)), fc.nlev), fc.olen)
            touched = set(np.unique(owner[bad_inc]).tolist())
            bad = set(np.nonzero(is_bad)[0].tolist()) if touched else set()
            clients = []
            for k, c in enumerate(problem.clients):
                if c.base is None or k not in touched:
                    clients.append(c)
                    continue
                lv, lo = [], []
                for lev, opts in zip(c.levels, c.level_options):
                    keep = tuple(o for o in opts if o not in bad)
                    if keep:
                        lv.append(lev)
                        lo.append(keep)
                clients.append(Client(c.key, c.kind, c.weight, c.base, tuple(lv), tuple(lo)))
            problem.clients = clients
    # clients by kind, base, levels and first level's options (hashing every option id of every
    # client took most of the time: 500 firms, 125k clients), then by all level options
    merged: dict[tuple[str, int | None, tuple[int, ...], tuple[int, ...]], list[int]] = {}
    parts: dict[int, list[ClientKey | str]] = {}  # merged client -> the keys of every client in it
    kept: list[Client] = []
    weight: list[int] = []
    for c in problem.clients:
        same = merged.setdefault((c.kind, c.base, c.levels, c.level_options[0] if c.level_options else ()), [])
        j = next((i for i in same if kept[i].level_options == c.level_options), None)
        if j is None:
            same.append(len(kept))
            kept.append(c)
            weight.append(c.weight)
        else:
            weight[j] += c.weight
            parts.setdefault(j, [kept[j].key]).append(c.key)
    for j in parts:
        first = kept[j]
        kept[j] = Client(first.key, first.kind, weight[j], first.base, first.levels, first.level_options)
    out["merged_clients"] = len(problem.clients) - len(kept)
    problem.clients = kept
    problem.info[MERGED_KEYS] = {j: tuple(keys) for j, keys in parts.items()}
    logger.debug("client reduction: %d options over budget, %d clients merged", out["options_over_budget"], out["merged_clients"])
    return out


def _rewritten(problem: Problem, info: dict[str, Any]) -> Problem:
    """A copy of ``problem`` whose clients are to be rewritten: no clients yet, its own lists of
    options and constraints, and the conjunction index rebuilt (a copied problem may carry an
    empty one)."""
    return replace(problem, options=list(problem.options), clients=[], constraints=list(problem.constraints),
                   penalties=list(problem.penalties), groups=dict(problem.groups), info=info,
                   _option_index=dict(flat_options(problem).index))


def relax_access_crossings(problem: Problem, closed: Iterable[int] = (),
                           exact_sites: Iterable[tuple[int, int]] = ()) -> Problem | None:
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

    ``exact_sites``: (client index, site decision id) pairs whose access options keep their
    exact routes (the site *and* its crossings; site -1: the options that need only crossings),
    the client's other sites relaxed. Every client's length is still at most its length in
    ``problem``: a tighter relaxation (:mod:`optimiser.solve.relax_first_refine` grows it).

    Returns ``None`` when there is nothing to relax (no access option needs a crossing).
    """
    crossing = problem.crossing_mask
    shut = np.zeros(len(problem.decisions), dtype=bool)
    shut[list(closed)] = True
    q = _rewritten(problem, {"relaxation": "access over every candidate crossing"})
    relaxed = _relaxed_option_ids(problem, q, crossing, shut)
    rewritten, any_access = _relaxed_access_clients(problem, relaxed, exact_sites)
    if shut.any():  # options needing a closed decision never open: pairs drop them
        rewritten.update(_pairs_without_closed(problem, relaxed))
    q.clients.extend(rewritten.get(k, c) for k, c in enumerate(problem.clients))
    if not any_access:
        logger.debug("access relaxation: no access option needs a crossing")
        return None
    q.info["levels"] = q.n_levels()
    logger.debug("access relaxation: %d options, %d levels", len(q.options), q.info["levels"])
    return q


def _pairs_without_closed(problem: Problem, relaxed: np.ndarray) -> dict[int, Client]:
    """The firm-pair clients (index -> client) without their options that never open
    (``relaxed`` -2) and without the levels that leaves empty; only those that lose an option
    (the others stay as they are; so do their levels that lose none)."""
    fc = flat_clients(problem)
    if not fc.pair.any():
        return {}
    pairs = np.nonzero(fc.pair)[0]
    nlev, levs, per_level, opts = fc.subset(fc.pair)
    keep = relaxed[opts] != -2
    level_of = np.repeat(np.arange(per_level.size), per_level)
    pair_of_level = np.repeat(np.arange(pairs.size), nlev)
    lost = np.zeros(per_level.size, dtype=bool)
    lost[level_of[~keep]] = True
    lose = np.zeros(pairs.size, dtype=bool)
    lose[pair_of_level[lost | (per_level == 0)]] = True  # a level with no options goes too
    if not lose.any():
        return {}
    kept = opts[keep].tolist()
    kept_per_level = np.bincount(level_of[keep], minlength=per_level.size)
    offs = np.concatenate([[0], np.cumsum(kept_per_level)]).tolist()
    # the levels left of the pairs that lose an option: the same tuple where a level loses none
    ids = np.nonzero(lose[pair_of_level] & (kept_per_level > 0))[0]
    every = list(chain.from_iterable(problem.clients[k].level_options for k in pairs.tolist()))
    new = [tuple(kept[offs[i]:offs[i + 1]]) if gone else every[i] for i, gone in zip(ids.tolist(), lost[ids].tolist())]
    lengths = levs[ids].tolist()
    cst = np.concatenate([[0], np.cumsum(np.bincount(pair_of_level[ids], minlength=pairs.size))]).tolist()
    out: dict[int, Client] = {}
    for j in np.nonzero(lose)[0].tolist():
        k = int(pairs[j])
        c = problem.clients[k]
        a, b = cst[j], cst[j + 1]
        out[k] = Client(c.key, c.kind, c.weight, c.base, tuple(lengths[a:b]), tuple(new[a:b]))
    return out


def _relaxed_option_ids(problem: Problem, q: Problem, crossing: np.ndarray, shut: np.ndarray) -> np.ndarray:
    """Option id -> its relaxed option id in ``q`` (its non-crossing decisions; options over
    two or more of them created in ``q`` in option order); -1 when it needs only crossings
    (always open); -2 when it needs a closed decision (never open)."""
    n_d, n_o = len(problem.decisions), len(problem.options)
    fo = flat_options(problem)
    lens, flat = fo.lens, fo.flat
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


def _relaxed_access_clients(problem: Problem, relaxed: np.ndarray,
                            exact_sites: Iterable[tuple[int, int]] = ()) -> tuple[dict[int, Client], bool]:
    """The access clients (every kind but "pair", with levels) rewritten over ``relaxed``
    option ids: a client stops at its first level with an always-open option (its base
    becomes that length); each relaxed option stays at the first level that lists it (below
    the base); options that never open are dropped. The options of ``exact_sites`` (client index,
    site decision id or -1: see :func:`relax_access_crossings`) stay themselves (unless they never open).

    Returns:
        (client index -> rewritten client, whether any access option changed).
    """
    fc = flat_clients(problem)
    access = ~fc.pair & (fc.nlev > 0)
    if not access.any():
        return {}, False
    idx = np.nonzero(access)[0].tolist()
    acl = [problem.clients[k] for k in idx]
    n_c = len(acl)
    nlev, levs, olen, opt = fc.subset(access)
    n_l = int(nlev.sum())
    lev_client = np.repeat(np.arange(n_c), nlev)
    lev_pos = np.arange(n_l) - np.repeat(np.cumsum(nlev) - nlev, nlev)
    inc_level = np.repeat(np.arange(n_l), olen)
    r = relaxed[opt]
    pairs = np.array(sorted(set(exact_sites)), dtype=np.int64).reshape(-1, 2)
    if pairs.size:  # these keep their own routes: (client, site) keys, sites shifted by one (-1: crossings only)
        width = len(problem.decisions) + 1
        site = option_sites(flat_options(problem), ~problem.crossing_mask)[opt]
        inc_key = np.asarray(idx, dtype=np.int64)[np.repeat(lev_client, olen)] * width + site + 1
        exact = (site >= -1) & np.isin(inc_key, pairs[:, 0] * width + pairs[:, 1] + 1) & (r != -2)
        r = np.where(exact, opt, r)
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
    _, first = np.unique(kc * (int(max(relaxed.max(initial=0), r.max(initial=0))) + 1) + kr, return_index=True)
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


_NEVER, _ALWAYS, _PENDING = -2, -1, -3
"""Fates of an option in :func:`fix_decisions` (option ids are at least 0); pending: a new
option, given its id where the walk over the clients first meets it."""


def fix_decisions(problem: Problem, fixed: dict[int, int]) -> Problem:
    """The same problem with some decisions fixed (decision id -> 0/1), substituted into
    every client exactly: options needing a decision fixed at 0 are dropped, decisions fixed
    at 1 are removed from conjunctions, and a client with an option that is now always open
    stops at that level (its base becomes that length). Much smaller than fixing by
    constraints when many conjunctions involve the fixed decisions.

    Worked out on the flat arrays of :mod:`optimiser.model.flat` (the same problem as the walk
    over every client's levels, option by option: each option's fate where the walk first
    meets it, new options numbered in that order; a client none of whose options changes is
    kept as it is)."""
    q = _rewritten(problem, dict(problem.info))
    fate = _option_fates(problem, q, fixed)
    fc = flat_clients(problem)
    n_c, n_l = fc.nlev.size, fc.lev.size
    lev_client = np.repeat(np.arange(n_c), fc.nlev)
    inc_level = np.repeat(np.arange(n_l), fc.olen)
    inc_client = lev_client[inc_level]
    inc_fate = fate[fc.opt]
    # each client's first always-open incidence (the walk stops there: n_inc for none)
    n_inc = fc.opt.size
    first = np.full(n_c, n_inc, dtype=np.int64)
    always = np.nonzero(inc_fate == _ALWAYS)[0]
    np.minimum.at(first, inc_client[always], always)
    pending = np.nonzero((inc_fate == _PENDING) & (np.arange(n_inc) <= first[inc_client]))[0]
    if pending.size:  # new options, numbered in the order the walk first meets them
        met = fc.opt[pending]
        _, at = np.unique(met, return_index=True)
        options = problem.options
        for o in met[np.sort(at)].tolist():
            fate[o] = q.option_id(tuple(d for d in options[o] if d not in fixed))
        inc_fate = fate[fc.opt]
    stops = first < n_inc
    stop_level = np.full(n_c, n_l, dtype=np.int64)
    stop_level[stops] = inc_level[first[stops]]
    # kept as they are: no option changes, every level lists options in increasing order
    same = np.ones(n_c, dtype=bool)
    same[inc_client[inc_fate != fc.opt]] = False
    same[lev_client[fc.olen == 0]] = False
    step = np.nonzero((inc_level[1:] == inc_level[:-1]) & (fc.opt[1:] <= fc.opt[:-1]))[0] + 1
    same[inc_client[step]] = False
    keep = ~same[inc_client] & (inc_level < stop_level[inc_client]) & (inc_fate >= 0)
    kc, kl, kf = inc_client[keep], inc_level[keep], inc_fate[keep]
    order = client_level_option_order(kc, kl, kf)
    kc, kl, kf = kc[order], kl[order], kf[order]
    lvl, lvl_opts, cst = level_groups(kc, kl, kf, n_c)
    lengths = fc.lev[lvl].tolist() if lvl else []
    bases = fc.lev[np.minimum(stop_level, max(n_l - 1, 0))].tolist() if n_l else [0] * n_c
    keep_all, stop_list = same.tolist(), stops.tolist()
    for k, c in enumerate(problem.clients):
        if keep_all[k]:
            q.clients.append(c)
            continue
        a, b = cst[k], cst[k + 1]
        q.clients.append(Client(c.key, c.kind, c.weight, bases[k] if stop_list[k] else c.base,
                                tuple(lengths[a:b]), tuple(lvl_opts[a:b])))
    q.constraints += fix_constraints(fixed)
    # q's flat arrays, from these (the next fixing of q, e.g. per count vector, reads them)
    remember(q, fixed_clients(fc, same, kc, kl, kf), flat_options(problem) if len(q.options) == len(problem.options) else None)
    logger.debug("fixed %d decisions: %d options, %d clients", len(fixed), len(q.options), len(q.clients))
    return q


def fix_constraints(fixed: dict[int, int]) -> list[Constraint]:
    """The constraints :func:`fix_decisions` adds (one per decision fixed, in decision order)."""
    return [Constraint(f"fix:{d}", ((d, 1),), v, v, "fix") for d, v in sorted(fixed.items())]


def close_more(problem: Problem, closed: Iterable[int], reduced: Problem, reduced_closed: Iterable[int]) -> Problem:
    """``fix_decisions(problem, {d: 0 for d in closed})``, worked out on ``reduced``: ``problem``
    with ``reduced_closed`` (some of ``closed``) fixed at 0 by :func:`fix_decisions` (or by this
    function). Fixing at 0 only drops options and the levels left empty, so fixing the rest on
    ``reduced`` gives the same clients, on fewer levels; the fixing constraints are written
    again in decision order and the info is ``problem``'s, so it is the same problem, field by
    field. (When fixing created options, which fixing at 0 does only for options the index
    does not give back as themselves, it falls back to fixing ``problem``.)"""
    zeros = {d: 0 for d in sorted(set(closed))}
    done = set(reduced_closed)
    if not done <= zeros.keys() or len(reduced.options) != len(problem.options):
        return fix_decisions(problem, zeros)
    q = fix_decisions(reduced, {d: 0 for d in zeros if d not in done})
    if len(q.options) != len(problem.options):
        return fix_decisions(problem, zeros)
    q.constraints = list(problem.constraints) + fix_constraints(zeros)
    q.info = dict(problem.info)
    return q


def _option_fates(problem: Problem, q: Problem, fixed: dict[int, int]) -> np.ndarray:
    """Option id -> its fate in :func:`fix_decisions`: ``_NEVER`` (needs a decision fixed at 0),
    ``_ALWAYS`` (every decision it needs fixed at 1), its id in ``q`` (its one decision left, or
    itself unchanged), or ``_PENDING`` (decisions fixed at 1 leave two or more, or an option
    the index does not give back as itself: :meth:`Problem.option_id` decides)."""
    fo = flat_options(problem)
    n_o = fo.lens.size
    size = max(len(problem.decisions), int(fo.flat.max(initial=-1)) + 1)
    val = np.full(size, -1, dtype=np.int8)  # -1 free, 0 fixed at 0, 1 fixed otherwise
    for d, v in fixed.items():
        if 0 <= d < size:
            val[d] = 0 if v == 0 else 1
    mv = val[fo.flat]
    never = np.bincount(fo.owner[mv == 0], minlength=n_o) > 0
    free = mv == -1
    n_rest = np.bincount(fo.owner[free], minlength=n_o)
    fate = np.arange(n_o, dtype=np.int64)
    last = np.zeros(n_o, dtype=np.int64)  # the one decision left, where one is
    last[fo.owner[free]] = fo.flat[free]
    one = n_rest == 1
    fate[one] = last[one]
    # an option kept whole is itself when it is sorted and the index gives it back (no equal option after it)
    conj = fo.lens > 1
    bad = np.zeros(n_o, dtype=bool)
    bad[fo.owner[1:][(fo.owner[1:] == fo.owner[:-1]) & (fo.flat[1:] <= fo.flat[:-1])]] = True
    if len(fo.index) != int(conj.sum()):
        bad |= conj
    fate[(n_rest >= 2) & ((n_rest < fo.lens) | bad)] = _PENDING
    fate[n_rest == 0] = _ALWAYS
    fate[never] = _NEVER
    return fate
