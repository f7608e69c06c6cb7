"""Exact rewrites of a built :class:`~optimiser.model.problem.Problem`: the client reductions
applied when it is built, the access relaxation (:func:`relax_access_crossings`) and fixing
decisions (:func:`fix_decisions`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from optimiser.model.problem import Client, Constraint, Problem

logger = logging.getLogger(__name__)


def reduce_clients(problem: Problem) -> dict[str, int]:
    """Exact reductions of the objective's clients.

    - An option whose decisions cost more together than the budget can never be open: it is
      removed from the levels of clients that have a base (constraints keep it, so an
      infeasibility explanation can still name the budget), and levels left empty go.
    - Clients with the same kind, base, levels and level options are one term with the summed
      weight (common for firm pairs: the same routes, the same crossings).
    """
    out = {"options_over_budget": 0, "merged_clients": 0}
    budget = next((c for c in problem.constraints if c.key == "budget"), None)
    if budget is not None and budget.hi is not None:
        cost = np.zeros(len(problem.decisions))
        for o, v in budget.terms:
            cost[o] = v
        lens = np.fromiter((len(r) for r in problem.options), dtype=np.int64, count=len(problem.options))
        flat = np.fromiter((d for r in problem.options for d in r), dtype=np.int64, count=int(lens.sum()))
        opt_cost = np.add.reduceat(cost[flat], np.concatenate([[0], np.cumsum(lens)[:-1]])) if flat.size else np.zeros(0)
        bad = set(np.nonzero(opt_cost > budget.hi)[0].tolist())
        out["options_over_budget"] = len(bad)
        if bad:
            clients = []
            for c in problem.clients:
                if c.base is None or not any(o in bad for opts in c.level_options for o in opts):
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
    merged: dict[tuple[str, int | None, tuple[int, ...], tuple[tuple[int, ...], ...]], int] = {}
    clients = []
    for c in problem.clients:
        k = (c.kind, c.base, c.levels, c.level_options)
        j = merged.get(k)
        if j is None:
            merged[k] = len(clients)
            clients.append(c)
        else:
            first = clients[j]
            clients[j] = Client(first.key, first.kind, first.weight + c.weight, first.base, first.levels, first.level_options)
    out["merged_clients"] = len(problem.clients) - len(clients)
    problem.clients = clients
    logger.debug("client reduction: %d options over budget, %d clients merged", out["options_over_budget"], out["merged_clients"])
    return out


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
    # option id -> relaxed option id: its non-crossing decisions; -1 when there are none
    # (always open); -2 when it needs a closed decision (never open)
    relaxed = np.arange(len(problem.options), dtype=np.int64)
    relaxed[np.nonzero(crossing)[0]] = -1
    relaxed[np.nonzero(shut)[0]] = -2
    for o in range(len(problem.decisions), len(problem.options)):
        req = problem.options[o]
        if shut[list(req)].any():
            relaxed[o] = -2
            continue
        rest = tuple(d for d in req if not crossing[d])
        if len(rest) < len(req):
            relaxed[o] = q.option_id(rest) if rest else -1
    any_access = False
    for c in problem.clients:
        if c.kind == "pair" and shut.any():
            # options needing a closed decision never open: drop them (and emptied levels)
            kept = [(lev, tuple(o for o in opts if relaxed[o] != -2)) for lev, opts in zip(c.levels, c.level_options)]
            kept = [(lev, opts) for lev, opts in kept if opts]
            q.clients.append(Client(c.key, c.kind, c.weight, c.base, tuple(v for v, _ in kept), tuple(o for _, o in kept)))
            continue
        if c.kind == "pair" or not c.levels:
            q.clients.append(c)
            continue
        first: dict[int, int] = {}
        base = c.base
        for lev, opts in zip(c.levels, c.level_options):
            if any(relaxed[o] == -1 for o in opts):
                base = lev  # always open from here on
                any_access = True
                break
            for o in opts:
                r = int(relaxed[o])
                if r == -2:
                    continue
                any_access |= r != o
                first.setdefault(r, lev)
        by_level: dict[int, list[int]] = {}
        for r, lev in first.items():
            if base is None or lev < base:
                by_level.setdefault(lev, []).append(r)
        levels = tuple(sorted(by_level))
        q.clients.append(Client(c.key, c.kind, c.weight, base, levels, tuple(tuple(sorted(by_level[v])) for v in levels)))
    if not any_access:
        logger.debug("access relaxation: no access option needs a crossing")
        return None
    q.info["levels"] = sum(len(c.levels) for c in q.clients)
    logger.debug("access relaxation: %d options, %d levels", len(q.options), q.info["levels"])
    return q


def fix_decisions(problem: Problem, fixed: dict[int, int]) -> Problem:
    """The same problem with some decisions fixed (decision id -> 0/1), substituted into
    every client exactly: options needing a decision fixed at 0 are dropped, decisions fixed
    at 1 are removed from conjunctions, and a client with an option that is now always open
    stops at that level (its base becomes that length). Much smaller than fixing by
    constraints when many conjunctions involve the fixed decisions."""
    q = _rewritten(problem, dict(problem.info))
    for c in problem.clients:
        levels, lopts, base = [], [], c.base
        for lev, opts in zip(c.levels, c.level_options):
            keep: set[int] = set()
            always = False
            for o in opts:
                req = problem.options[o]
                if any(fixed.get(d) == 0 for d in req):
                    continue
                rest = tuple(d for d in req if d not in fixed)
                if not rest:
                    always = True
                    break
                keep.add(q.option_id(rest))
            if always:
                base = lev
                break
            if keep:
                levels.append(lev)
                lopts.append(tuple(sorted(keep)))
        q.clients.append(Client(c.key, c.kind, c.weight, base, tuple(levels), tuple(lopts)))
    q.constraints += [Constraint(f"fix:{d}", ((d, 1),), v, v, "fix") for d, v in sorted(fixed.items())]
    logger.debug("fixed %d decisions: %d options, %d clients", len(fixed), len(q.options), len(q.clients))
    return q
