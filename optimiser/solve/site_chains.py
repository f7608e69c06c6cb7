"""Per-site radius chains for the walks to the nearest facility (CP-SAT): a tighter LP.

The chained radius formulation (:mod:`optimiser.model.problem`) gives a walk to the nearest
facility one chain over all its options: "site s", "site s through crossing c", "site s
through c and c'", ... Its LP counts a fractional site once per route to it: with lab 19 open
at 0.05 and three footbridges at 0.05, the options (19, fb-005), (19, fb-006), (19, fb-007)
serve the firm 0.15. Measured on benchmarks/realsites rs004 (40 firms, 1-2 labs of 33 sites):
the LP is 0.62 % below the optimum, and the walks to the lab carry all of that gap.

Here such a client (every option needs at most one site) is split by site: the firm walks to
exactly one of its sites (or to nothing new: ``top``, its base), ``z_s <= x_s``, and each site
has its own chain over its routes (their crossings only), started by ``z_s``:

    u_s1 >= z_s - sum(routes of s at its first level),  u_sk >= u_s(k-1) - sum(routes at k),

its walk ``L_s1 z_s + sum_k (L_s(k+1) - L_sk) u_sk`` (``L`` past the last level: ``top``).
A site reached without a crossing ends its chain (the site alone is open when it is). For
integer decisions the minimum over the assignment is the shortest open option: the same
objective, so the same optimum; in the LP a route to s serves the firm at most ``x_s``. This
is the disaggregated (strong) facility-location formulation, with about as many chain
variables as the merged chain had levels, and no (site, crossing) conjunctions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optimiser.model.clients import level_tuples, run_starts
from optimiser.model.flat import flat_clients, flat_options, option_sites
from optimiser.model.problem import Client, Problem
from optimiser.solve.cpsat_rows import RowWriter

logger = logging.getLogger(__name__)

Route = tuple[int, ...]
"""The crossings (decision ids, sorted) an option needs besides its site; ``()``: the site alone."""


@dataclass(frozen=True)
class SiteChain:
    """One site's part of a split client.

    Attributes:
        site: the site's decision id; ``None`` for the options reaching an existing place
            (always open) through new crossings.
        levels: the chain's strictly increasing lengths, ending at the first level with the
            site alone (when it has one).
        routes: per level, the routes at that length.
    """

    site: int | None
    levels: tuple[int, ...]
    routes: tuple[tuple[Route, ...], ...]


@dataclass(frozen=True)
class SplitClient:
    """A client split by site (module docstring).

    Attributes:
        index: the client's index in ``Problem.clients``.
        top: its length with none of its options open (its base; the last level when it has
            no base: a reach constraint then keeps one option open).
        chains: one per site with an option.
    """

    index: int
    top: int
    chains: tuple[SiteChain, ...]


def _site_and_route(problem: Problem, option: int, crossing: Sequence[bool] | None = None) -> tuple[int | None, Route] | None:
    """An option's site (``None``: none) and its crossings; ``None`` when it needs two sites.
    ``crossing``: whether each decision is a crossing (read from ``problem`` when not given)."""
    if crossing is None:
        crossing = problem.crossing_mask.tolist()
    req = problem.options[option]
    sites = [d for d in req if not crossing[d]]
    if len(sites) > 1:
        return None
    return (sites[0] if sites else None), tuple(d for d in req if crossing[d])


_UNSEEN: tuple[int | None, Route] = (None, (-1,))
"""A memo's default in :func:`split_client`: an option not looked at yet (compared by identity; no
option's route has a decision -1 either)."""


def split_client(problem: Problem, index: int, memo: dict[int, tuple[int | None, Route] | None] | None = None,
                 crossing: Sequence[bool] | None = None) -> SplitClient | None:
    """The client split by site, or ``None`` when it cannot be (an option needs two sites, no
    option needs a site: a firm pair) or gains nothing (a single site). ``memo``: the options'
    sites and routes found so far (shared by the clients of one problem); ``crossing``: whether
    each decision is a crossing (read from ``problem`` when not given)."""
    cl: Client = problem.clients[index]
    if not cl.levels:
        return None
    memo = {} if memo is None else memo
    if crossing is None:
        crossing = problem.crossing_mask.tolist()
    get = memo.get
    # per site (in order of first appearance): its levels and the routes at each, and whether it
    # has ended (the site alone: every longer route to it is never the shortest)
    by_site: dict[int | None, tuple[list[int], list[list[Route]], list[bool]]] = {}
    for length, opts in zip(cl.levels, cl.level_options):  # in increasing length
        for o in opts:
            sr = get(o, _UNSEEN)
            if sr is _UNSEEN:
                sr = memo[o] = _site_and_route(problem, o, crossing)
            if sr is None:
                return None
            site, route = sr
            got = by_site.get(site)
            if got is None:
                got = by_site[site] = ([length], [[route]], [False])
            elif got[2][0]:
                continue
            elif got[0][-1] == length:
                got[1][-1].append(route)
            else:
                got[0].append(length)
                got[1].append([route])
            if not route and site is not None:
                got[2][0] = True
    if len(by_site) - (None in by_site) < 2:
        return None
    chains = [SiteChain(site, tuple(levels), tuple(map(tuple, routes))) for site, (levels, routes, _) in by_site.items()]
    top = cl.base if cl.base is not None else cl.levels[-1]
    return SplitClient(index, top, tuple(chains))


def split_clients(problem: Problem) -> list[SplitClient]:
    """Every client of ``problem`` that is split by site: :func:`split_client` of each one that is
    not a firm pair, worked out on the problem's flat arrays (:mod:`optimiser.model.flat`) for all
    of them at once; the same split clients (``tests/test_site_chains.py`` compares them)."""
    if any(len(c.levels) != len(c.level_options) for c in problem.clients):  # malformed: the flat arrays misalign
        memo: dict[int, tuple[int | None, Route] | None] = {}
        cross = problem.crossing_mask.tolist()
        return [sc for k, cl in enumerate(problem.clients)
                if cl.kind != "pair" and (sc := split_client(problem, k, memo, cross)) is not None]
    fc, fo = flat_clients(problem), flat_options(problem)
    n_c = fc.nlev.size
    crossing = problem.crossing_mask
    if not n_c or not fc.opt.size:
        return []
    # every incidence (client, level, option) of a client that is not a pair, in client, level and option order
    lev_client = np.repeat(np.arange(n_c), fc.nlev)
    inc_level = np.repeat(np.arange(fc.lev.size), fc.olen)
    keep = ~fc.pair[lev_client[inc_level]]
    inc_level = inc_level[keep]
    inc_client, inc_opt = lev_client[inc_level], fc.opt[keep]
    site = option_sites(fo, ~crossing)[inc_opt]  # -1: none, -2: two or more (the client is not split)
    bad = np.zeros(n_c, dtype=bool)
    bad[inc_client[site == -2]] = True
    ok = ~bad[inc_client]
    inc_level, inc_client, inc_opt, site = inc_level[ok], inc_client[ok], inc_opt[ok], site[ok]
    if not inc_opt.size:
        return []
    # per client, its sites in order of first appearance, each site's incidences in order
    key = inc_client * (len(problem.decisions) + 1) + (site + 1)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first[group], kind="stable")
    inc_level, inc_client, inc_opt, site, group = (a[order] for a in (inc_level, inc_client, inc_opt, site, group))
    # a site's chain ends at its first option with the site alone (no crossing)
    n_cross = np.bincount(fo.owner[crossing[fo.flat]], minlength=fo.lens.size)
    alone = (n_cross[inc_opt] == 0) & (site >= 0)
    n = group.size
    starts = np.ones(n, dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    gid = np.cumsum(starts) - 1
    ended = np.zeros(n, dtype=bool)  # past the group's first "alone" incidence
    if alone.any():
        first_alone = np.full(int(gid[-1]) + 1, n, dtype=np.int64)
        pos = np.flatnonzero(alone)
        np.minimum.at(first_alone, gid[pos], pos)
        ended = np.arange(n) > first_alone[gid]
    inc_level, inc_client, inc_opt, site, gid = (a[~ended] for a in (inc_level, inc_client, inc_opt, site, gid))
    # a client is split when at least two of its groups are sites
    gfirst = run_starts(gid)
    g_client, g_site = inc_client[gfirst], site[gfirst]
    split = np.bincount(g_client[g_site >= 0], minlength=n_c) >= 2
    take = split[inc_client]
    if not take.any():
        return []
    inc_level, inc_opt, gid = inc_level[take], inc_opt[take], gid[take]
    gfirst = run_starts(gid)
    g_client, g_site = inc_client[take][gfirst], site[take][gfirst]
    # the chains' levels: a new one where the group or the length changes
    length = fc.lev[inc_level]
    lstart = run_starts(gid, length)
    routes, route_of = _option_routes(problem, crossing, inc_opt)
    level_routes = level_tuples(route_of, lstart, pool=routes)
    level_len = length[lstart].tolist()
    # each group's levels: a slice of the levels
    g_bounds = np.append(np.searchsorted(lstart, gfirst), lstart.size).tolist()
    chains = [SiteChain(st if st >= 0 else None, tuple(level_len[a:b]), tuple(level_routes[a:b]))
              for st, a, b in zip(g_site.tolist(), g_bounds[:-1], g_bounds[1:])]
    out = []
    clients = problem.clients
    c_bounds = run_starts(g_client).tolist() + [g_client.size]
    for a, b in zip(c_bounds[:-1], c_bounds[1:]):
        k = int(g_client[a])
        cl = clients[k]
        out.append(SplitClient(k, cl.base if cl.base is not None else cl.levels[-1], tuple(chains[a:b])))
    return out


def _option_routes(problem: Problem, crossing: np.ndarray, opts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The routes (their crossings, in the option's order) of the options in ``opts``: an object array
    of the distinct options' routes (one tuple per distinct route, shared by every option with those
    crossings) and, for each entry of ``opts``, its index there."""
    uniq, inv = np.unique(opts, return_inverse=True)
    options = problem.options
    cross = crossing.tolist()
    made: dict[Route, Route] = {}
    per = []
    for o in uniq.tolist():
        r = tuple(d for d in options[o] if cross[d])
        per.append(made.setdefault(r, r))
    return np.fromiter(per, dtype=object, count=len(per)), inv


def client_assignment(problem: Problem, sc: SplitClient, chosen: set[int]) -> tuple[int | None, int]:
    """At the layout ``chosen`` (decision ids): the chain the client walks by (its index in
    ``sc.chains``, ``None`` for ``top``) and its length."""
    best, best_len = None, sc.top
    for j, ch in enumerate(sc.chains):
        if ch.site is not None and ch.site not in chosen:
            continue
        for length, routes in zip(ch.levels, ch.routes):
            if length >= best_len:
                break
            if any(all(c in chosen for c in r) for r in routes):
                best, best_len = j, length
                break
    return best, best_len


@dataclass
class ChainTerms:
    """What the split clients add to the objective.

    Attributes:
        tvars, tcoefs: objective variables (proto indices) and integer coefficients (the objective's constant
            is unchanged: each split client's first level is subtracted from its terms).
        hint_vars, hint_vals: hint values of the new variables (when a layout is given).
    """

    tvars: list[int]
    tcoefs: list[int]
    hint_vars: list[int]
    hint_vals: list[int]


def add_site_chains(rows: RowWriter, problem: Problem, split: list[SplitClient], x: Mapping[int, int],
                    route_literal: Callable[[Route], int], chosen: set[int] | None) -> ChainTerms:
    """Add the split clients' assignment and chains to a CP-SAT model (through its ``rows``).

    Args:
        rows: the model's :class:`~optimiser.solve.cpsat_rows.RowWriter`.
        problem: the problem.
        split: its split clients (:func:`split_clients`).
        x: the Boolean (proto index) of every decision, by decision id.
        route_literal: the Boolean (proto index) of a route (all its crossings built; never called with ``()``).
        chosen: a feasible layout to hint (decision ids), or ``None``.

    Returns:
        The objective terms (proto indices) and the hint (:class:`ChainTerms`).
    """
    out = ChainTerms([], [], [], [])
    tvars, tcoefs, hint_vars, hint_vals = out.tvars, out.tcoefs, out.hint_vars, out.hint_vals
    bool_var, bool_and, chain = rows.bool_var, rows.bool_and, rows.chain
    for sc in split:
        i, top = sc.index, sc.top
        cl = problem.clients[i]
        w, first = cl.weight, cl.levels[0]
        assign = None if chosen is None else client_assignment(problem, sc, chosen)
        z_top = bool_var(f"zt{i}")
        zs = [z_top]
        if top > first:
            tvars.append(z_top)
            tcoefs.append(w * (top - first))
        for j, ch in enumerate(sc.chains):
            z = bool_var(f"z{i}_{j}")
            zs.append(z)
            if ch.site is not None:
                bool_and([x[ch.site]], z)  # rows.implication(z, x[site])
            lengths = ch.levels
            if lengths[0] > first:
                tvars.append(z)
                tcoefs.append(w * (lengths[0] - first))
            on = assign is not None and assign[0] == j
            if assign is not None:
                hint_vars.append(z)
                hint_vals.append(int(on))
            prev, n, name = z, len(lengths), f"v{i}_{j}_"
            for k, (length, routes) in enumerate(zip(lengths, ch.routes)):
                if () in routes:
                    break  # the site alone ends the chain
                nxt = lengths[k + 1] if k + 1 < n else top
                if nxt <= length:
                    break
                u = bool_var(name + str(k))
                chain(u, prev, list(map(route_literal, routes)))
                tvars.append(u)
                tcoefs.append(w * (nxt - length))
                if assign is not None:
                    hint_vars.append(u)
                    hint_vals.append(int(on and length < assign[1]))
                prev = u
        rows.exactly_one(zs)
        if assign is not None:
            hint_vars.append(z_top)
            hint_vals.append(int(assign[0] is None))
    return out
