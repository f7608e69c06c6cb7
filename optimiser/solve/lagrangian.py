"""A Lagrangian lower bound and reduction tests for a :class:`~optimiser.model.problem.Problem`.

The problem, written with assignment variables: client c takes exactly one of its options o
(length ``d_co``) or its base; an option can be taken only if open (``x_co <= z_o``); a
single-decision option is its decision (``z_o = y_o``) and a conjunction needs all of its
decisions (``z_o <= y_i`` for each member i); the decisions meet the budget and the count
ranges. Relaxing "exactly one" with multipliers ``lam_c`` and the conjunction links with
``mu_oi >= 0`` leaves, for fixed multipliers,

    L(lam, mu) = sum_c lam_c + sum_c min(0, w_c base_c - lam_c)
                 + sum_conj min(0, r_o + sum_i mu_oi)
                 + min { sum_i v_i y_i : y meets the budget and the count ranges }

with ``r_o = sum_c min(0, w_c d_co - lam_c)`` and ``v_i = r_i - sum mu_oi`` (Beasley 1993
for the p-median; the conjunction split as in Lagrangian decomposition). Every other
constraint (spacing, coverage, directness, exclusions, must-serve) is dropped, and costs are
rounded down to a common unit, so each ``L`` is a valid lower bound on the optimum. The last
term is a knapsack with cardinality ranges per group, solved exactly by dynamic programming
over the budget in cost units (a group whose decisions share one price is a chain of its best
j decisions, and groups combine over the costs they can reach: real sites have a price per
crossing or facility type, so a few of the 1,001 costs); subgradient steps (Polyak, with the
step halved when the bound stalls) maximise ``L``.

Star rows: a client takes one option, so at most one through decision d, and only if d is built:
``sum over c's options o containing d of x_co <= y_d``. Dualised with ``nu_cd >= 0`` (an option's
reduced cost gains ``sum_{d in o} nu_cd``, decision d's knapsack value loses ``sum_c nu_cd``) for
every decision of a client's conjunctions. The conjunction links count a fractional decision once
per option through it (a ninth of three crossings of each of two barriers serves a pair that needs
one of each, 2/3 of a crossing's budget); a star row counts it once per client. Measured at a 10 s
limit on benchmarks/realsites' generated rows (README there, wave 12): rs015 1.55 % -> proven,
rs026 4.72 % -> proven, rs006 1.04 -> 0.31 %, rs021 0.83 -> 0.22 %.

Reduction tests (Beasley's, on the same multipliers): forcing decision i open gives the bound
``L - S + v_i + S_i`` where ``S_i`` bounds the rest of the knapsack with less budget and one
place of i's group taken; when that exceeds a known layout's objective, every better layout
keeps i closed. Tests at any multipliers are valid, so the fixes accumulate.

On the access relaxation (:func:`~optimiser.model.transforms.relax_access_crossings`) of the joint
model this bounds the firm pairs (a budgeted median over crossings) and the walks to
facilities (a p-median over sites) together, without the hundreds of thousands of radius
levels the LP would need.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain

import numpy as np

from optimiser.model.flat import flat_clients
from optimiser.model.problem import Problem
from optimiser.solve import interrupt
from optimiser.solve.access_routes import AccessRoutes, RouteDual, concat_ranges
from optimiser.solve.lagrangian_knapsack import Knapsack

logger = logging.getLogger(__name__)

_INF = np.inf

PRUNE_FLOAT_SLACK = 0.1
"""A bound prunes (nothing better than the upper bound ``ub``) only above ``ub - 1`` by this many
objective units plus 1e-12 of ``ub``: the rounding error of a Lagrangian value summed in floats."""

ACTIVE_MARGIN = 0.05
"""An incidence takes part in an iteration only while its cost is below its client's
multiplier plus this share of it (plus 1); a multiplier that outgrows its limit rebuilds the
active set, and that client's share doubles (exact either way: see :meth:`_Dual._activate`)."""

STAR_ROWS = True
"""Dualise the star rows of the clients' conjunctions (module docstring, :meth:`_Dual._add_stars`)."""

PACKING_ROWS = True
"""Dualise the packing rows among the decisions (``sum a_i y_i <= hi`` over decisions only, outside the
knapsack's budget and count groups: sites that overlap, crossings or sites closer than their spacing),
each with a multiplier ``pi >= 0`` (decision i's knapsack value gains ``sum pi a_i``, ``L`` loses
``sum pi hi``): see :meth:`_Dual._add_packing`."""

PACKING_ACROSS_GROUPS = True
"""Only the packing rows whose decisions are of two or more groups (a site's footprint shared by two
facility types), which the knapsack's counts per group cannot see; not those within one group (the
spacing of one type's sites or of crossings). Seed 116's access relaxation (CP-SAT, 1.2 units):
592.99M with the overlap rows alone, 552.61M with the spacing rows alone, 554.88M with neither; seed
16: 505.0M with the overlap rows, 499.0M without. With the spacing rows too, realsites rs018 (122
spacing rows, no others) lost its proof at 10 s (round 1 ended 217 iterations sooner, 0.02 % lower,
and the exact model on a slightly larger reduced model did not prove in 11.4 nominal s)."""

PACKING_SCALE = 0.05
"""A packing row's multiplier moves on this many times the largest client weight (``mscale``)."""

STAR_MAX_KEYS = 1_000_000
"""Star rows only when clients x decisions (of the relaxation) is at most this; their multipliers
are handed between calls as one dense array per client and decision (8 MB at this size).
benchmarks/realsites' relax-first rows have 93k-278k (rs013, rs006). benchmarks/joint's 200 firms
have 4.7M (10,169 clients, 466 decisions, 191k conjunctions): with star rows its work limit
allowed 354 Lagrangian iterations instead of 1,591 and the gap rose from 0.95 % to 1.33 %, so
above this they keep the links only (500 firms: 31.8M)."""

SHRINK_EVERY = 200
"""The active set is also rebuilt every this many evaluations, so it shrinks when multipliers fall."""

WORK_PER_ITERATION = 58_000.0
WORK_PER_CLIENT = 2.0
WORK_PER_OPTION = 1.5
WORK_PER_DECISION = 14.0
WORK_PER_KNAPSACK_OP = 1_250.0
WORK_PER_REBUILD_INCIDENCE = 1.0
WORK_PER_SETUP_INCIDENCE = 50.0
WORK_PER_ROUTE = 3.5
WORK_PER_ROUTE_MULTIPLIER = 3.0
WORK_PER_STAR_INCIDENCE = 3.0
WORK_PER_STAR = 2.0
"""Work units of one iteration (an evaluation and a step), besides one per active incidence:
a constant, per client (the multipliers), per option (the sums per option), per decision, per
vector operation of the knapsack (:attr:`~optimiser.solve.lagrangian_knapsack.Knapsack.ops`: its
group tables and their convolutions), per active route and per route multiplier (the walks to
facilities with exact routes), per star row's term on an active incidence and per star row; per
incidence of a rebuild of the active set; and, once, per incidence read when the dual is set up.
One unit is about 6 ns of CPU on the benchmark machine (``LAGRANGIAN_UNITS_PER_S`` in
:mod:`optimiser.solve.relax_first`; benchmarks/joint README). The per-iteration terms were
fitted (least squares, non-negative) to 59,594 timed evaluations and their steps on 15 realsites
problems at a 10 s limit (benchmarks/realsites README, wave 11); the knapsack's operations are
most of the constant part. The star rows' two terms were checked the same way (wave 12: 10 rows
with star rows, each row's Lagrangian CPU 0.67-1.19x its charge).
Deterministic: :attr:`LagrangianResult.work` is the same on an idle and a loaded machine."""


@dataclass(frozen=True)
class LagrangianResult:
    """What :func:`lagrangian_bound` proved.

    Attributes:
        bound: a lower bound on the problem's optimum (integer objective units, rounded up),
            at most ``upper_bound``; ``math.inf`` when no layout meets the budget and counts
            (with ``closed`` and no ``upper_bound``: none with those decisions closed).
        fixed_zero: decisions closed in every layout whose objective is below ``upper_bound``
            (reduction tests).
        layout: the knapsack's decisions at the best multipliers (a heuristic start; it meets
            the budget and count ranges, not necessarily every constraint).
        iterations: subgradient iterations run.
        seconds: wall time.
        multipliers: ``(lam, mu, pi)`` at the best bound, to continue from: ``mu`` holds the
            conjunction links' multipliers (one per member of every conjunction), then, with
            star rows, one per client and decision (``client * n_decisions + decision``; 0
            where a client has no row); ``pi`` the packing rows' (one per row, in constraint
            order; empty without them).
        access_multipliers: with ``routes``, the multipliers ``M`` of the access clients'
            crossing links at the best bound (one row per ``routes.clients``), to continue from.
        step: the step factor reached.
        work: work units of the dual's set-up and iterations (active incidences, the
            per-iteration constant, the per-client, per-option and per-decision terms, the
            knapsack's vector operations and the routes' terms of ``WORK_PER_*``; deterministic).
        stopped_by: "converged" (target reached, step exhausted or the relaxed solution
            feasible), "work limit" (``max_iterations`` or ``max_work``), "safety net" (the wall clock) or
            "no layout" (none meets the budget and counts, or none is left below ``upper_bound``)
            or "interrupted" (:mod:`optimiser.solve.interrupt`).
    """

    bound: float
    fixed_zero: frozenset[int]
    layout: tuple[int, ...]
    iterations: int
    seconds: float
    multipliers: tuple[np.ndarray, ...] = (np.zeros(0), np.zeros(0), np.zeros(0))
    step: float = 2.0
    stopped_by: str = "work limit"
    work: float = 0.0
    access_multipliers: np.ndarray | None = None


class _Dual:
    """The Lagrangian dual of a problem: its data as arrays, and ``L`` at given multipliers.

    Clients, and penalties as clients of length 0 when covered (base: their weight), with
    their option incidences (in client order); the conjunctions' members; the knapsack.
    """

    def __init__(self, problem: Problem, closed: Iterable[int], routes: AccessRoutes | None = None) -> None:
        n_d = len(problem.decisions)
        cl = problem.clients
        pens = problem.penalties
        self.n_d, self.n_clients = n_d, len(cl)
        self.w = np.array([c.weight for c in cl] + [1] * len(pens), dtype=float)
        self.base = np.array([(c.base if c.base is not None else (c.levels[-1] if c.levels else 0)) for c in cl]
                             + [p.weight for p in pens], dtype=float)
        # the incidences (client, option, length), in client, level and option order, from the
        # problem's flat arrays (model.flat: kept for the problem, a relaxation's read once)
        fc = flat_clients(problem)
        ic = np.repeat(np.repeat(np.arange(len(cl), dtype=np.int64), fc.nlev), fc.olen)
        io = fc.opt
        il = np.repeat(fc.lev, fc.olen).astype(float)
        if pens:
            n_c = len(cl)
            ic = np.concatenate([ic, np.fromiter((n_c + k for k, p in enumerate(pens) for _ in p.options), dtype=np.int64)])
            io = np.concatenate([io, np.fromiter((o for p in pens for o in p.options), dtype=np.int64)])
            il = np.concatenate([il, np.zeros(sum(len(p.options) for p in pens))])
        self.n_c = self.w.size
        n_o = len(problem.options)
        self.per_client = np.bincount(ic, minlength=self.n_c)  # incidences are in client order
        self.inc_cost = self.w[ic] * il
        self.wbase = self.w * self.base
        # members of the conjunctions some client or penalty lists (an unlisted one adds
        # nothing to L with its multipliers at 0, their best value: 200 firms' access
        # relaxation lists 1% of the exact model's 554k members)
        lens = np.fromiter(map(len, problem.options[n_d:]), dtype=np.int64, count=n_o - n_d)
        offs = np.concatenate([[0], np.cumsum(lens)])
        listed = np.zeros(n_o - n_d, dtype=bool)
        listed[io[io >= n_d] - n_d] = True
        uc = np.nonzero(listed)[0]
        ulen = lens[uc]
        total = int(ulen.sum())
        # options are renumbered: the decisions, then the listed conjunctions only
        compact = np.full(n_o, -1, dtype=np.int64)
        compact[:n_d] = np.arange(n_d)
        compact[n_d + uc] = n_d + np.arange(uc.size)
        io = compact[io]
        self.ic, self.io = ic, io
        self.n_o = n_o = n_d + int(uc.size)
        self.m_opt = np.repeat(np.arange(uc.size), ulen)
        self.m_start = np.concatenate([[0], np.cumsum(ulen)])  # listed conjunction j's members: m_start[j]:m_start[j + 1]
        self.m_dec = np.fromiter(chain.from_iterable(map(problem.options.__getitem__, (n_d + uc).tolist())), dtype=np.int64,
                                 count=total)
        # their places among all members (the multipliers' layout outside, see start / outside)
        self.m_sel = concat_ranges(offs[uc], ulen)
        self.n_members = int(offs[-1])
        self.knap = Knapsack(problem)
        self.mscale = np.zeros(self.m_opt.size)
        if self.m_opt.size:  # a conjunction's multipliers move on the scale of its clients' weights
            wmax = np.zeros(n_o)
            np.maximum.at(wmax, io, self.w[ic])
            self.mscale = wmax[n_d + self.m_opt]
        self.fixed = np.zeros(n_d, dtype=bool)
        self.fixed[list(closed)] = True
        self.deflection = 0.0  # > 0: deflected subgradient steps (see _deflected)
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        # the active incidences: those that can have a negative reduced cost (see _activate)
        self.limit = np.full(self.n_c, -_INF)
        self.margin = np.full(self.n_c, ACTIVE_MARGIN)
        self.a_ic, self.a_io, self.a_cost = ic[:0], io[:0], self.inc_cost[:0]
        self.work = WORK_PER_SETUP_INCIDENCE * ic.size  # work units so far (see evaluate)
        self.evaluations = 0
        # the walks to facilities with exact routes (see optimiser.solve.access_routes)
        self.routes: RouteDual | None = None
        self.lam_cap = np.full(self.n_c, _INF)
        self.routes_w = np.zeros((0, 1))
        if routes is not None and routes.size:
            self.routes = RouteDual(routes, ic, io, self.fixed)
            self.routes_w = self.w[routes.clients][:, None]  # the weights of M's rows (step)
            self.lam_cap[:routes.cap.size] = routes.cap
            self.work += WORK_PER_SETUP_INCIDENCE * routes.size
        self.n_mc = int(self.m_opt.size)  # conjunction multipliers; the star rows' follow in mu
        self.star_key = np.zeros(0, dtype=np.int64)
        self.star_dec = np.zeros(0, dtype=np.int64)
        self.sk_inc = self.sk_s = np.zeros(0, dtype=np.int64)
        self.a_sk_pos = self.a_sk_s = np.zeros(0, dtype=np.int64)
        # whether mu's outside layout has the star rows' dense part (every dual of a problem
        # with these clients and decisions agrees, with or without rows of its own)
        self.stars_on = STAR_ROWS and self.n_c * n_d <= STAR_MAX_KEYS
        if self.stars_on:
            self._add_stars()
        # a star row's multiplier moves on the scale of its client's weight
        self.mscale = np.concatenate([self.mscale, self.w[self.star_key // max(n_d, 1)]])
        self.n_mcs = self.n_mc + int(self.star_key.size)  # the packing rows' multipliers follow in mu
        self.p_row = self.p_dec = np.zeros(0, dtype=np.int64)
        self.p_coef = self.p_hi = np.zeros(0)
        if PACKING_ROWS:
            self._add_packing(problem)
        self.n_pk = int(self.p_hi.size)
        self.mscale = np.concatenate([self.mscale, np.full(self.n_pk, PACKING_SCALE * float(self.w.max(initial=1.0)))])

    def _add_packing(self, problem: Problem) -> None:
        """The packing rows: every constraint ``sum a_i y_i <= hi`` over two or more decisions with
        ``a_i > 0`` that the knapsack leaves out (:attr:`Knapsack.enforced`: not the budget, not a
        count group it keeps; one it drops as overlapping another is a packing row). Dualised with
        ``pi >= 0``: ``L = ... - sum pi hi`` and ``v_i += sum pi a_i``, a valid bound at any ``pi``.
        Benchmarks/realsites' independent seed 116: without its 266 overlap rows (two facility types
        on one site) the access relaxation's optimum is 554.4M, with them 593.7M; the Lagrangian
        without them levels off at 547M."""
        n_d = self.n_d
        rows: list[int] = []
        decs: list[int] = []
        coefs: list[float] = []
        his: list[float] = []
        for k, con in enumerate(problem.constraints):
            if (con.hi is None or len(con.terms) < 2 or k in self.knap.enforced
                    or any(o >= n_d or a <= 0 for o, a in con.terms)):
                continue
            if PACKING_ACROSS_GROUPS and len({problem.decisions[o].group for o, _ in con.terms}) < 2:
                continue
            rows += [len(his)] * len(con.terms)
            decs += [o for o, _ in con.terms]
            coefs += [float(a) for _, a in con.terms]
            his.append(float(con.hi))
        self.p_row, self.p_dec = np.array(rows, dtype=np.int64), np.array(decs, dtype=np.int64)
        self.p_coef, self.p_hi = np.array(coefs), np.array(his)

    def _add_stars(self) -> None:
        """The star rows: for client c and a decision d of one of its conjunctions,
        ``sum over c's options o containing d of x_co <= y_d`` (c takes at most one option, so
        at most one through d, and only if d is built), dualised with ``nu_cd >= 0``: an
        option's reduced cost gains ``sum_{d in o} nu_cd`` and decision d's knapsack value
        loses ``sum_c nu_cd``. Unlike the conjunction links ``z_o <= y_d`` they count a
        fractional decision once per client, not once per option through it."""
        n_d = self.n_d
        conj = np.nonzero(self.io >= n_d)[0]
        if conj.size == 0:
            return
        # the members of each incidence's conjunction
        j = self.io[conj] - n_d
        lo = self.m_start[j]
        n = self.m_start[j + 1] - lo
        mem = concat_ranges(lo, n)
        inc = np.repeat(conj, n)
        dec = self.m_dec[mem]
        keys = self.ic[inc] * n_d + dec
        # single-decision incidences of the same (client, decision): in the row too
        single = np.nonzero(self.io < n_d)[0]
        if self.routes is not None:
            single = single[~self.routes.routed[single]]
        skeys = self.ic[single] * n_d + self.io[single]
        ukeys = np.unique(keys)
        hit = np.isin(skeys, ukeys)
        inc = np.concatenate([inc, single[hit]])
        keys = np.concatenate([keys, skeys[hit]])
        order = np.argsort(inc, kind="stable")
        self.sk_inc = inc[order]
        self.sk_s = np.searchsorted(ukeys, keys[order])
        self.star_key = ukeys
        self.star_dec = ukeys % n_d

    def with_knapsack(self, problem: Problem | None) -> _Dual:
        """The same dual with the knapsack of ``problem`` (the same decisions, other budget or
        count constraints, e.g. a count vector's class caps: :mod:`optimiser.solve.lagrangian_split`;
        ``None``: a copy of this one's, its closed and forced-open decisions its own), its own
        active set, closed decisions, deflection direction and work account (0: the data is
        shared)."""
        out = copy.copy(self)
        out.knap = Knapsack(problem) if problem is not None else self.knap.copy()
        out.fixed = self.fixed.copy()
        out._previous = None
        out.limit = np.full(self.n_c, -_INF)
        out.margin = np.full(self.n_c, ACTIVE_MARGIN)
        out.a_ic, out.a_io, out.a_cost = self.ic[:0], self.io[:0], self.inc_cost[:0]
        out.a_sk_pos, out.a_sk_s = self.sk_inc[:0], self.sk_s[:0]
        out.work, out.evaluations = 0.0, 0
        if self.routes is not None:
            out.routes = copy.copy(self.routes)  # its active routes are its own (reassigned, never changed in place)
        return out

    def _activate(self, lam: np.ndarray) -> None:
        """Keep only the incidences whose cost is below their client's limit, a margin above
        its multiplier (``ACTIVE_MARGIN``). Every other incidence has a reduced cost >= 0, so
        it adds exactly 0 to ``L`` and to the subgradient: the sums are the same floats (in
        the same order) as over every incidence, in a fraction of the work."""
        over = lam > self.limit
        self.margin[over & (self.evaluations > 1)] *= 2.0  # a client that outgrew its limit gets a wider one
        self.limit = lam + self.margin * np.abs(lam) + 1.0
        keep = self.inc_cost < self.limit[self.ic]
        self.a_ic, self.a_io, self.a_cost = self.ic[keep], self.io[keep], self.inc_cost[keep]
        self.work += WORK_PER_REBUILD_INCIDENCE * self.ic.size
        if self.sk_inc.size:
            pos = np.cumsum(keep) - 1
            sel = keep[self.sk_inc]
            self.a_sk_pos, self.a_sk_s = pos[self.sk_inc[sel]], self.sk_s[sel]
            self.work += WORK_PER_REBUILD_INCIDENCE * self.sk_inc.size
        if self.routes is not None:
            self.routes.activate(np.nonzero(keep)[0], self.limit[self.a_ic])

    def start(self, start_lengths: np.ndarray | None,
              multipliers: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, np.ndarray]:
        """The first multipliers: ``multipliers`` when given (``(lam, mu)`` or ``(lam, mu, pi)``,
        see :attr:`LagrangianResult.multipliers`: the star rows' from ``mu``'s dense part, 0
        without one; the packing rows' from ``pi`` when it has one per row, else 0); else each
        client at its weighted length in the start layout (penalties uncovered), else at its
        shortest option (then ``L`` starts at the objective constant)."""
        if multipliers is not None:
            lam, mu_all, *rest = (np.array(a, dtype=float) for a in multipliers)
            pk = rest[0] if rest and rest[0].size == self.n_pk else np.zeros(self.n_pk)
            nu = np.zeros(self.star_key.size)
            dense = self.n_c * self.n_d
            if self.stars_on and mu_all.size >= dense:
                nu = mu_all[mu_all.size - dense:][self.star_key]
                mu_all = mu_all[:mu_all.size - dense]
            # from a problem with other conjunctions: theirs start at 0
            mu = mu_all[self.m_sel] if mu_all.size == self.n_members else np.zeros(self.m_opt.size)
            return np.minimum(lam, self.lam_cap), np.concatenate([mu, nu, pk])
        lam = self.wbase.copy()
        if start_lengths is not None:
            k = self.n_clients
            lam[:k] = self.w[:k] * np.minimum(np.asarray(start_lengths, dtype=float), self.base[:k])
        elif self.ic.size:
            np.minimum.at(lam, self.ic, self.inc_cost)
        return np.minimum(lam, self.lam_cap), np.zeros(self.n_mcs + self.n_pk)

    def start_routes(self, access_multipliers: np.ndarray | None) -> np.ndarray:
        """The first multipliers of the routes' crossing links: ``access_multipliers`` when
        they fit, else 0 (then ``L`` is the relaxation's)."""
        if self.routes is None:
            return np.zeros((0, 1))
        shape = (self.routes.routes.clients.size, self.routes.n_k + 1)
        if access_multipliers is not None and access_multipliers.shape == shape:
            return np.array(access_multipliers, dtype=float)
        return np.zeros(shape)

    def outside(self, lam: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lam, mu, pi)`` in the layout :meth:`start` reads (:attr:`LagrangianResult.multipliers`)
        from this object's ``lam`` and ``mu``: the listed members' multipliers as multipliers of
        every member (0 for the unlisted), then the star rows' as one dense part per client and
        decision; the packing rows' apart."""
        out = np.zeros(self.n_members + (self.n_c * self.n_d if self.stars_on else 0))
        out[self.m_sel] = mu[:self.n_mc]
        if self.star_key.size:
            out[self.n_members + self.star_key] = mu[self.n_mc:self.n_mcs]
        return lam, out, mu[self.n_mcs:].copy()

    def evaluate(self, lam: np.ndarray, mu: np.ndarray, upper_bound: float | None,
                 M: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(L, knapsack decisions, reduced incidence costs, conjunctions taken) at the
        multipliers (``M``: the routes' crossing links, see :meth:`start_routes`); with an
        ``upper_bound``, the reduction tests close decisions too."""
        n_d, n_o = self.n_d, self.n_o
        self.evaluations += 1
        if self.evaluations % SHRINK_EVERY == 0 or (lam > self.limit).any():
            self._activate(lam)
        self.work += (self.a_ic.size + WORK_PER_ITERATION + WORK_PER_CLIENT * self.n_c + WORK_PER_OPTION * n_o
                      + WORK_PER_DECISION * n_d)
        ops = self.knap.ops
        cost = self.a_cost
        pi = mu[self.n_mcs:]
        nu = mu[self.n_mc:self.n_mcs]
        mu = mu[:self.n_mc]
        if nu.size:
            self.work += WORK_PER_STAR_INCIDENCE * self.a_sk_pos.size + WORK_PER_STAR * nu.size
            cost = cost + np.bincount(self.a_sk_pos, nu[self.a_sk_s], minlength=cost.size)
        if self.routes is not None and M is not None:
            self.work += WORK_PER_ROUTE * self.routes.a_route.size + WORK_PER_ROUTE_MULTIPLIER * M.size
            self.seg_min, self.adj = self.routes.route_costs(M)
            if cost is self.a_cost:  # (else already a new array: the star rows' sums)
                cost = cost.copy()
            cost[self.routes.a_pos] = self.seg_min  # (a routed incidence has no star row)
        if cost is self.a_cost:
            rc = cost - lam[self.a_ic]
        else:  # the same differences, into the new array
            rc = np.subtract(cost, lam[self.a_ic], out=cost)
        r = np.bincount(self.a_io, np.minimum(rc, 0.0), minlength=n_o)
        s_conj = r[n_d:] + np.bincount(self.m_opt, mu, minlength=n_o - n_d)
        v = r[:n_d] - np.bincount(self.m_dec, mu, minlength=n_d)
        if nu.size:
            v = v - np.bincount(self.star_dec, nu, minlength=n_d)
        if self.routes is not None and M is not None:
            v = v - self.routes.credit(M, n_d)  # not in place: v is int64 when no incidence is active
        if self.n_pk:
            self.work += WORK_PER_STAR * (self.p_dec.size + self.n_pk)
            v = v + np.bincount(self.p_dec, self.p_coef * pi[self.p_row], minlength=n_d)
        self.knap.closed |= self.fixed
        S, y_ids, t = self.knap.solve(v, want_tests=upper_bound is not None)
        self.work += WORK_PER_KNAPSACK_OP * (self.knap.ops - ops)
        L = float(lam.sum() + np.minimum(0.0, self.wbase - lam).sum() + np.minimum(s_conj, 0.0).sum() + S
                  - (pi * self.p_hi).sum())
        if t is not None and upper_bound is not None:
            self.fixed |= (L - S + t) > upper_bound + 1e-9 * abs(upper_bound) + 1e-6
        return L, y_ids, rc, s_conj < 0

    def step(self, lam: np.ndarray, mu: np.ndarray, L: float, target: float, step: float, y_ids: np.ndarray,
             rc: np.ndarray, z: np.ndarray,
             M: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """One Polyak subgradient step, in per-unit-weight coordinates (``lam = w * ell``,
        which keeps heavy and light clients on the same footing; the same for ``M``, whose
        rows are clients); ``None`` when the relaxed solution meets the relaxed constraints
        (``L`` is then optimal). Multipliers of clients with routes stay at most their cap."""
        y = np.zeros(self.n_d, dtype=bool)
        y[y_ids] = True
        took = (rc < 0) & np.concatenate([y, z])[self.a_io]
        g = 1.0 - (self.wbase < lam) - np.bincount(self.a_ic[took], minlength=self.n_c)
        g[(lam >= self.lam_cap) & (g > 0)] = 0.0  # at its cap: projected
        # the conjunction links' part, then the star rows' (whole counts: the same floats as
        # the int64 differences concatenated)
        gm = np.empty(self.n_mcs + self.n_pk)
        np.subtract(z[self.m_opt], y[self.m_dec], out=gm[:self.n_mc], dtype=float)
        if self.star_key.size:
            np.subtract(np.bincount(self.a_sk_s[took[self.a_sk_pos]], minlength=self.star_key.size), y[self.star_dec],
                        out=gm[self.n_mc:self.n_mcs], dtype=float)
        if self.n_pk:
            gm[self.n_mcs:] = np.bincount(self.p_row, self.p_coef * y[self.p_dec], minlength=self.n_pk) - self.p_hi
        gm[(mu <= 0) & (gm < 0)] = 0.0
        gw, gmw = g * self.w, gm * self.mscale
        norm = float((gw * gw).sum() + (gmw * gmw).sum())
        gMw = wr = None
        if self.routes is not None and M is not None:
            wr = self.routes_w
            gMw = self.routes.subgradient(M, took[self.routes.a_pos], self.seg_min, self.adj, y) * wr
            norm += float((gMw * gMw).sum())
        if norm <= 0:
            return None
        if self.deflection > 0.0:
            gw, gmw, gMw, norm = self._deflected(lam, mu, M, gw, gmw, gMw)
            if norm <= 0:
                return None
        t = step * max(target - L, 1e-9 * abs(target)) / norm
        # lam + t * w * gw capped, mu + t * mscale * gmw and M + t * wr * gMw at least 0, each
        # computed in one new array (the same operations in the same order, no temporaries)
        M2 = None
        if gMw is not None and M is not None and wr is not None:
            M2 = np.multiply(t * wr, gMw)
            np.add(M, M2, out=M2)
            np.maximum(0.0, M2, out=M2)
        lam2 = np.multiply(t, self.w)
        lam2 *= gw
        np.add(lam, lam2, out=lam2)
        np.minimum(lam2, self.lam_cap, out=lam2)
        mu2 = np.multiply(t, self.mscale)
        mu2 *= gmw
        np.add(mu, mu2, out=mu2)
        np.maximum(0.0, mu2, out=mu2)
        return lam2, mu2, M2


    def _deflected(self, lam: np.ndarray, mu: np.ndarray, M: np.ndarray | None, gw: np.ndarray, gmw: np.ndarray,
                   gMw: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
        """The direction ``g + deflection * previous direction`` (Camerini, Fratta and Maffioli),
        projected like the subgradient, and its squared norm; kept as the next previous one."""
        if self._previous is not None:
            pw, pmw, pMw = self._previous
            # g + deflection * previous, each into the product's array (the same floats)
            dw, dmw = np.multiply(self.deflection, pw), np.multiply(self.deflection, pmw)
            gw, gmw = np.add(gw, dw, out=dw), np.add(gmw, dmw, out=dmw)
            gw[(lam >= self.lam_cap) & (gw > 0)] = 0.0
            gmw[(mu <= 0) & (gmw < 0)] = 0.0
            if gMw is not None and pMw is not None and M is not None:
                dMw = np.multiply(self.deflection, pMw)
                gMw = np.add(gMw, dMw, out=dMw)
                gMw[(M <= 0) & (gMw < 0)] = 0.0
        self._previous = (gw, gmw, gMw)
        norm = float((gw * gw).sum() + (gmw * gmw).sum()) + (float((gMw * gMw).sum()) if gMw is not None else 0.0)
        return gw, gmw, gMw, norm


def lagrangian_bound(problem: Problem, upper_bound: float | None = None, *, max_iterations: int = 3000,
                     max_work: float | None = None, safety_net_s: float = 60.0, test_every: int = 20,
                     start_lengths: np.ndarray | None = None,
                     multipliers: tuple[np.ndarray, ...] | None = None, initial_step: float = 2.0,
                     min_step: float = 1e-4,
                     on_layout: Callable[[tuple[int, ...]], float | None] | None = None,
                     closed: Iterable[int] = (), routes: AccessRoutes | None = None,
                     access_multipliers: np.ndarray | None = None,
                     outside_work: Callable[[], float] | None = None) -> LagrangianResult:
    """A Lagrangian lower bound on ``problem``'s optimum, and the decisions it proves closed.

    Args:
        problem: any problem; constraints other than the budget, count ranges and fixes are
            dropped (a relaxation).
        upper_bound: the objective of a known feasible layout (step size target, and the
            threshold of the reduction tests; ``None``: no tests, target from the base).
        max_iterations: the work limit: subgradient iterations (deterministic: the same
            bound on an idle and a loaded machine).
        max_work: a second work limit, in the work units of :attr:`LagrangianResult.work`
            (no further iteration starts once they are spent; ``None``: none).
        safety_net_s: wall-clock safety net, seconds; :attr:`LagrangianResult.stopped_by`
            says when it, not the work limit, ended the iterations.
        test_every: run the reduction tests every this many iterations and at the best
            multipliers at the end.
        start_lengths: each client's length (units, in ``problem.clients`` order) in a good
            layout; its multiplier starts at its weighted length. Measured on the 500-firm
            district: lengths in the exact model (longer than in its access relaxation) reach
            in 2,000 iterations (32 s) a bound 0.86% below the incumbent, which the start at
            the objective constant reaches only after 3,000 iterations.
        multipliers: ``multipliers`` of an earlier call on the same problem (or one with the
            same clients and decisions, e.g. a tighter relaxation), to continue from (with
            ``initial_step`` its final :attr:`LagrangianResult.step`).
        initial_step: the Polyak step factor to start with (halved after 100 iterations
            without a better bound).
        min_step: the iterations end ("converged") once the step factor falls below this.
        closed: decisions already proven closed in every layout below ``upper_bound`` (by
            an earlier call): kept closed, and reported in :attr:`LagrangianResult.fixed_zero`.
        on_layout: called every ``test_every`` iterations with the knapsack's decisions (a
            candidate layout); it returns the best known objective so far (or ``None``),
            which then becomes ``upper_bound`` (a closer step target and sharper tests).
        routes: the exact routes of the walks to facilities
            (:func:`~optimiser.solve.access_routes.access_routes`, of the exact problem that
            ``problem`` relaxes, e.g. its access relaxation): those walks then pay for their
            crossings through the multipliers of their crossing links, which makes the bound
            tighter than the relaxation's (200 firms: above the relaxation's optimum). The
            multipliers of those clients stay at most the routes' caps.
        access_multipliers: ``M`` of an earlier call with the same ``routes``, to continue from.
        outside_work: the work done so far in this call outside the dual (e.g. ``on_layout``
            evaluating its layouts), in the units of ``max_work``, which counts it: the call's
            whole work stays within ``max_work`` (joint 200 firms at a 60 s limit: 8.5 nominal s
            of layouts offered on top of round 2's iterations left the last crossing exchanges
            no budget, and the layout stayed 0.26 % worse than at 36 s).

    Returns:
        A :class:`LagrangianResult`; its bound is at most ``upper_bound`` when one is given
        (a bound above it only says that layout is optimal).
    """
    ascent = _Ascent(_Dual(problem, closed, routes), upper_bound, start_lengths=start_lengths, multipliers=multipliers,
                     initial_step=initial_step, min_step=min_step, on_layout=on_layout, test_every=test_every,
                     access_multipliers=access_multipliers, safety_net_s=safety_net_s)
    ascent.outside_work = outside_work
    ascent.run(max_iterations, max_work)
    return ascent.result()


class _Ascent:
    """The subgradient ascent of :func:`lagrangian_bound` on one dual, resumable: :meth:`run`
    continues the iterations up to a total, :meth:`result` tests at the best multipliers and
    reports. One :meth:`run` to ``max_iterations`` is :func:`lagrangian_bound` (the same floats);
    several in turn let :mod:`optimiser.solve.lagrangian_split` share a work limit between duals."""

    def __init__(self, dual: _Dual, upper_bound: float | None, *, start_lengths: np.ndarray | None = None,
                 multipliers: tuple[np.ndarray, ...] | None = None, initial_step: float = 2.0,
                 min_step: float = 1e-4, on_layout: Callable[[tuple[int, ...]], float | None] | None = None,
                 test_every: int = 20, access_multipliers: np.ndarray | None = None, safety_net_s: float = 60.0) -> None:
        self.t0 = time.perf_counter()
        self.dual = dual
        self.lam, self.mu = dual.start(start_lengths, multipliers)
        self.M = dual.start_routes(access_multipliers) if dual.routes is not None else None
        self.upper_bound = upper_bound
        self.target = float(upper_bound) if upper_bound is not None else float(dual.wbase.sum())
        self.best = -_INF
        self.best_layout: tuple[int, ...] = ()
        self.best_mult = (self.lam, self.mu, self.M)
        self.step, self.stall, self.it = float(initial_step), 0, 0
        self.min_step, self.on_layout, self.test_every, self.safety_net_s = min_step, on_layout, test_every, safety_net_s
        self.stopped_by = "work limit"
        self.outside_work: Callable[[], float] | None = None  # work outside the dual, counted by max_work
        self.done = False  # ended for good (converged, no layout, safety net, interrupted)
        self.y_ids = np.zeros(0, dtype=np.int64)
        self.pending: tuple[float, np.ndarray, np.ndarray] | None = None
        # with ``track`` > 0: each decision's knapsack value averaged over the iterations
        # (exponentially, weight ``track`` for the newest; a fractional one is a branching
        # candidate, see optimiser.solve.lagrangian_split)
        self.track = 0.0
        self.y_mean = np.zeros(dual.n_d)

    def run(self, max_iterations: int, max_work: float | None = None) -> None:
        """Iterations until ``max_iterations`` in all (or ``max_work`` work units of the dual, or
        an end for good: :attr:`done`)."""
        dual = self.dual
        if self.pending is not None and not self.done:
            L, rc, z = self.pending
            self.pending = None
            if not self._step(L, rc, z):
                return
        while not self.done and self.it < max_iterations:
            self.it = it = self.it + 1
            if self.on_layout is not None and it % self.test_every == 1 and it > 1:
                ub = self.on_layout(tuple(int(i) for i in self.y_ids))
                if ub is not None and (self.upper_bound is None or ub < self.upper_bound):
                    self.upper_bound = self.target = float(ub)
            L, self.y_ids, rc, z = dual.evaluate(self.lam, self.mu, self.upper_bound if it % self.test_every == 0 else None,
                                                 self.M)
            if self.track > 0.0:
                self.y_mean *= 1.0 - self.track
                self.y_mean[self.y_ids] += self.track
            if not math.isfinite(L):
                self.stopped_by, self.done = "no layout", True
                if dual.fixed.any() and self.upper_bound is not None:
                    self.best = max(self.best, float(self.upper_bound))  # no layout below the upper bound is left
                return  # else the budget and counts alone cannot be met: the bound is +inf below
            if L > self.best + 1e-9 * abs(self.best if math.isfinite(self.best) else 1.0):
                self.best, self.best_layout, self.best_mult, self.stall = L, tuple(int(i) for i in self.y_ids), \
                    (self.lam, self.mu, self.M), 0
            else:
                self.stall += 1
                if self.stall >= 100:
                    self.step, self.stall = self.step / 2, 0
            if self.best >= self.target - 1e-9 or self.step < self.min_step:
                self.stopped_by, self.done = "converged", True
                return
            if max_work is not None and dual.work + (self.outside_work() if self.outside_work else 0.0) >= max_work:
                self.stopped_by, self.pending = "work limit", (L, rc, z)  # a later run takes the step first
                return
            if time.perf_counter() - self.t0 > self.safety_net_s:
                self.stopped_by, self.done = "safety net", True
                logger.info("Lagrangian: the wall-clock safety net (%.1f s) stopped it after %d iterations",
                            self.safety_net_s, it)
                return
            if interrupt.requested():
                self.stopped_by, self.done = "interrupted", True
                return
            if not self._step(L, rc, z):
                return

    def _step(self, L: float, rc: np.ndarray, z: np.ndarray) -> bool:
        """The step from the multipliers just evaluated; ``False`` when there is none (then ``L`` is optimal)."""
        nxt = self.dual.step(self.lam, self.mu, L, self.target, self.step, self.y_ids, rc, z, self.M)
        if nxt is None:
            self.stopped_by, self.done = "converged", True
            return False  # the relaxed solution meets the relaxed constraints: L is optimal
        self.lam, self.mu, self.M = nxt
        return True

    @property
    def pruned(self) -> bool:
        """Whether the bound is above the upper bound less one (or no layout is left): objectives
        are whole numbers, so nothing better is here. (A relative slack of 1e-9, as before, is 2-5
        units at real sites' objectives of 2-5e9: a vector whose best layout is 1-2 below the
        upper bound could have been pruned.)"""
        return (self.upper_bound is not None
                and self.best > self.upper_bound - 1.0 + PRUNE_FLOAT_SLACK + 1e-12 * abs(self.upper_bound))

    def result(self) -> LagrangianResult:
        """The reduction tests once more at the best multipliers, and the result."""
        dual, best, upper_bound = self.dual, self.best, self.upper_bound
        if math.isfinite(best) and upper_bound is not None:
            dual.evaluate(self.best_mult[0], self.best_mult[1], upper_bound, self.best_mult[2])
        bound: float = math.inf  # no layout meets the budget and count ranges
        if math.isfinite(best):
            bound = math.ceil(best - 1e-9 * max(1.0, abs(best)))
            if upper_bound is not None:
                bound = min(bound, int(upper_bound))
        secs = time.perf_counter() - self.t0
        logger.debug("Lagrangian: bound %s after %d iterations (%s), %d closed, %.2f s", bound, self.it, self.stopped_by,
                     int(dual.fixed.sum()), secs)
        return LagrangianResult(bound=bound, fixed_zero=frozenset(np.nonzero(dual.fixed)[0].tolist()),
                                layout=self.best_layout, iterations=self.it, seconds=secs,
                                multipliers=dual.outside(self.best_mult[0], self.best_mult[1]), step=self.step,
                                stopped_by=self.stopped_by, work=dual.work, access_multipliers=self.best_mult[2])
