"""Barrier cover cuts: valid rows that count each crossing of a barrier once per client.

A client's radius chain (:meth:`~optimiser.model.problem.Problem.level_terms`) says "served by
level l" (``1 - u_l``) only when some route (option) of a level up to l is open, and the LP of
a route over two crossings is ``y <= x_a, y <= x_b``. When several of those routes share a
crossing (a firm pair separated by two barriers: every pair (a, b) of candidate crossings is a
route), the LP counts a fractional crossing once per route through it: summed over the chain,
``1 - u_l <= sum over routes of y``, and a ninth of each of a few crossings serves the pair
fully. But every route up to level l crosses barrier A by one of its candidate crossings
``S_l(A)`` (when none of them uses an existing crossing of A), so

    u_l + sum_{d in S_l(A)} x_d >= 1

is valid for every layout (served by level l needs one of A's crossings open), and counts each
crossing once. It is implied by the chain when no decision of ``S_l(A)`` lies on two of those
routes, so only the others are cuts. Every level gets its own (the chain does not make u fall
along it, so a later level's row does not imply an earlier one's: keeping only the last level of
each set gave 2.2 % where every level gives 1.1 % on rs014).

Measured (wave 8, the LP of the CP-SAT model with site chains and budget cuts, solved by HiGHS):
realsites held-out rs014 (45 firms, 4 barriers) 13.0 % below the optimum without, 1.14 % with
these rows; the gap was in the anchor firm's pairs across two barriers, which no route reaches
without two new crossings. Where such pairs hold little of the objective the rows change little
(tuned rs001 0.53 -> 0.44 %, rs003 0.34 -> 0.33 %, rs004 0.27 -> 0.27 %) and slow CP-SAT down
(rs003 0.09 -> 0.41 deterministic units, rs004 no longer proven at a 10 s limit), so they are
added by default only when :func:`two_crossing_stake` is at least ``WEAK_LP_STAKE``
(:func:`weak_lp`).
"""

from __future__ import annotations

from dataclasses import dataclass

from optimiser.model.problem import Problem

WEAK_LP_STAKE = 0.075
"""A problem whose :func:`two_crossing_stake` is at least this has a weak LP (:func:`weak_lp`).
Measured: held-out realsites rs014 0.110 (LP 13.0 % below the optimum), rs015 0.081, rs013 0.142;
the tuned rows rs001-rs004 0.001 / 0.030 / 0.056 / 0.000 (LP 0.27-1.0 % below), the embedded
sites 0.000 / 0.002."""


def two_crossing_stake(problem: Problem) -> float:
    """The share of the walking at stake (weight x (base - shortest level), summed) held by clients
    with a base whose every option needs at least two new decisions (firm pairs that only routes
    over two new crossings serve): the LP of their conjunctions is weak (module docstring)."""
    total = two = 0.0
    for cl in problem.clients:
        if not cl.levels or cl.base is None:
            continue
        stake = float(cl.weight) * (cl.base - cl.levels[0])
        total += stake
        if all(len(problem.options[o]) >= 2 for opts in cl.level_options for o in opts):
            two += stake
    return two / total if total > 0 else 0.0


def weak_lp(problem: Problem) -> bool:
    """Whether :func:`two_crossing_stake` reaches ``WEAK_LP_STAKE``: CP-SAT then gets the cover
    cuts and the count split whatever the model's size (:mod:`optimiser.solve.cpsat`)."""
    return two_crossing_stake(problem) >= WEAK_LP_STAKE


@dataclass(frozen=True)
class CoverCut:
    """``u[client, level] + sum(x[d] for d in decisions) >= 1``."""

    client: int
    level: int
    decisions: tuple[int, ...]


def _client_cuts(problem: Problem, k: int, groups: list[str]) -> list[CoverCut]:
    """The cover cuts of one client's chain (module docstring)."""
    cl = problem.clients[k]
    alive: set[str] | None = None  # groups every route so far has a decision of
    members: dict[str, set[int]] = {}
    uses: dict[str, int] = {}  # routes so far through a decision of the group (with repeats)
    out: list[CoverCut] = []
    for lev, opts in enumerate(cl.level_options):
        for o in opts:
            decs = problem.options[o]
            here = {groups[d] for d in decs}
            alive = here if alive is None else alive & here
            for d in decs:
                members.setdefault(groups[d], set()).add(d)
                uses[groups[d]] = uses.get(groups[d], 0) + 1
        if not alive:
            break
        for g in sorted(alive):
            if uses[g] > len(members[g]):  # some crossing on two routes: not implied by the chain
                out.append(CoverCut(k, lev, tuple(sorted(members[g]))))
    return out


def barrier_cover_cuts(problem: Problem, skip: set[int] | frozenset[int] = frozenset()) -> list[CoverCut]:
    """The cover cuts of every client's radius chain (module docstring), grouped by the
    decisions' ``group`` (a crossing's barrier).

    Args:
        problem: the problem.
        skip: clients whose chains the model does not build (walks split by site).

    Returns:
        The cuts, by client and level.
    """
    groups = [d.group for d in problem.decisions]
    out: list[CoverCut] = []
    for k, cl in enumerate(problem.clients):
        if k in skip or not cl.levels:
            continue
        out += _client_cuts(problem, k, groups)
    return out
