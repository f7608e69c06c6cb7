"""The CP-SAT model of a :class:`~optimiser.model.problem.Problem` and the solver parameters.

Shared by the CP-SAT backend (:mod:`optimiser.solve.cpsat`) and the backend-neutral
infeasibility explanation (:mod:`optimiser.solve.explain`), so neither imports the other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import chain

import numpy as np

from optimiser.errors import TimeLimitError
from optimiser.model.budget_cuts import budget_count_cuts
from optimiser.model.cover_cuts import barrier_cover_cuts
from optimiser.model.flat import flat_clients, flat_options
from optimiser.model.problem import Problem
from optimiser.runclock import MAX_WIDENING, load_per_cpu
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_levels import LevelGroups, level_groups
from optimiser.solve.cpsat_rows import RowWriter
from optimiser.solve.heuristic import HintValues
from optimiser.solve.site_chains import Route, SplitClient, add_site_chains, split_clients

logger = logging.getLogger(__name__)

BUILD_CHECK_LEVELS = 4096
"""Radius levels added between two checks of a build's wall-clock deadline (a level takes about
20 us of CPU to add: 613k levels, 13 s; a check costs well under 1 us)."""

BUILD_FINISH_FACTOR = 1.2
"""The rest of a build (its objective) after its radius levels, as a share of the levels' time
(613k levels: 13.6 s for the levels, 2.4 s for the objective)."""

DETERMINISTIC_PER_SECOND = 0.25
"""CP-SAT's deterministic time limit per second of wall-clock time limit. The deterministic
limit is a work limit: it stops the search at the same point on an idle and on a loaded
machine; the wall-clock limit stays as the safety net. Measured on this project's models
(a loaded 2-core machine): CP-SAT counts 0.1-0.3 deterministic units per wall second (AMP-SBP
baseline: proven optimal after 1.6 units in 5-6 s, far inside the 15 units of its 60 s
limit; 100-firm district: 0.17-0.2), more on an idle machine, where the deterministic limit
then ends a time-limited search first."""


class CpModelParts:
    """A built CP-SAT model and its variables.

    Attributes:
        model: the ``CpModel``.
        x: one Boolean per decision (``Problem.decisions`` order).
        options: ``{option id: Boolean}`` of every decision and of the conjunctions the model
            reads (:func:`read_conjunctions`).
        group_literals: ``{constraint group: enforcement literal}`` when built with
            ``enforce_groups`` (else empty).
    """

    def __init__(self, model: cp_model.CpModel, x: list[cp_model.IntVar], options: Mapping[int, cp_model.IntVar],
                 group_literals: dict[str, cp_model.IntVar]) -> None:
        self.model = model
        self.x = x
        self.options = options
        self.group_literals = group_literals


def _add_constraints(m: cp_model.CpModel, problem: Problem, opt: Mapping[int, cp_model.IntVar],
                     enforce_groups: bool) -> dict[str, cp_model.IntVar]:
    """The problem's linear constraints; returns the group literals (when ``enforce_groups``)."""
    lits: dict[str, cp_model.IntVar] = {}

    def lit(group: str) -> cp_model.IntVar:
        if group not in lits:
            lits[group] = m.new_bool_var(f"g[{group}]")
        return lits[group]

    for con in problem.constraints:
        expr = cp_model.LinearExpr.weighted_sum([opt[o] for o, _ in con.terms], [c for _, c in con.terms])
        if con.lo is not None:
            ct = m.add(expr >= con.lo)
            if enforce_groups:
                ct.only_enforce_if(lit(con.group))
        if con.hi is not None:
            ct = m.add(expr <= con.hi)
            if enforce_groups:
                ct.only_enforce_if(lit(con.group))
    return lits


class ProblemTerms:
    """One problem's variables and objective terms inside a CP-SAT model.

    Attributes:
        options: ``{option id: Boolean}`` of every decision and of the conjunctions the model
            reads (:func:`read_conjunctions`).
        group_literals: ``{constraint group: enforcement literal}`` (with ``enforce_groups``).
        tindex, tcoefs: the objective's variables (proto indices) and integer coefficients.
        constant: the objective's constant; the objective is ``constant + sum(tcoefs * tindex's variables)``.
    """

    def __init__(self, model: cp_model.CpModel, options: Mapping[int, cp_model.IntVar],
                 group_literals: dict[str, cp_model.IntVar], tindex: list[int], tcoefs: list[int], constant: int) -> None:
        self.model = model
        self.options = options
        self.group_literals = group_literals
        self.tindex = tindex
        self.tcoefs = tcoefs
        self.constant = constant

    def objective(self) -> cp_model.LinearExpr:
        """The problem's objective as a linear expression (one ``IntVar`` per term, made here)."""
        tvars = [cp_model.IntVar(self.model.proto, i) for i in self.tindex]
        return cp_model.LinearExpr.weighted_sum(tvars, self.tcoefs) + self.constant

    def minimize(self, m: cp_model.CpModel) -> None:
        """Set ``m``'s objective (empty so far) to minimise :meth:`objective`, written into the proto
        as ``m.minimize(self.objective())`` writes it (terms by variable index, repeated ones
        merged, zero coefficients dropped), without a Python object per term."""
        vars_, coefs = _objective_terms(self.tindex, self.tcoefs)
        obj = m.proto.objective
        obj.vars.extend(vars_)
        obj.scaling_factor = 1.0
        obj.offset = int(self.constant)
        obj.coeffs.extend(coefs)


def _objective_terms(tindex: list[int], tcoefs: list[int]) -> tuple[list[int], list[int]]:
    """The objective's variables and coefficients as ``CpModel.minimize`` writes them: by variable
    index, repeated variables merged, zero coefficients dropped. Sorted with numpy when every
    variable is there once and the coefficients fit in 64 bits (relax-first's models), else merged
    in a dict."""
    try:
        idx, coef = np.array(tindex, dtype=np.int64), np.array(tcoefs, dtype=np.int64)
    except OverflowError:
        idx = None
    if idx is not None and idx.ndim == 1 and coef.shape == idx.shape:
        order = np.argsort(idx, kind="stable")
        idx, coef = idx[order], coef[order]
        if not (idx[1:] == idx[:-1]).any():
            keep = coef != 0
            return idx[keep].tolist(), coef[keep].tolist()
    merged: dict[int, int] = {}
    for v, c in zip(tindex, tcoefs):
        merged[v] = merged.get(v, 0) + int(c)
    terms = sorted((v, c) for v, c in merged.items() if c != 0)
    return [v for v, _ in terms], [c for _, c in terms]


def add_problem(m: cp_model.CpModel, problem: Problem, x: list[cp_model.IntVar], *, enforce_groups: bool = False,
                hint: HintValues | None = None, prefix: str = "", hint_decisions: bool = True,
                site_chains: bool = False, deadline: float | None = None, cover_cuts: bool = False) -> ProblemTerms:
    """Add a problem's options, constraints and objective terms over the decision Booleans ``x``
    (several problems may share them: one plan for several futures).

    Args:
        m: the model.
        problem: the problem.
        x: one Boolean (or constant) per decision, in ``problem.decisions`` order.
        enforce_groups: give every constraint group an enforcement literal.
        hint: a feasible layout's values, added as a solution hint.
        prefix: prefix of the new variables' names.
        hint_decisions: also hint ``x`` (off when problems share them and they are hinted once).
        site_chains: split the walks to the nearest facility by site
            (:mod:`optimiser.solve.site_chains`: the same objective, a tighter LP).
        deadline: a ``time.perf_counter()`` time: the radius levels check it every
            ``BUILD_CHECK_LEVELS`` levels (``None``: never).
        cover_cuts: add the barrier cover cuts of the radius chains
            (:mod:`optimiser.model.cover_cuts`: valid rows, a tighter LP).

    Returns:
        The problem's variables and objective terms (:class:`ProblemTerms`).

    Raises:
        TimeLimitError: ``deadline`` passed while adding the radius levels.
    """
    rows = RowWriter(m)
    split = split_clients(problem) if site_chains else []
    skip = {sc.index for sc in split}
    opt_i = {d: v.index for d, v in enumerate(x)}
    read = read_conjunctions(problem, skip, split)
    for j in read:
        w = rows.bool_var(f"{prefix}w{j}")
        rows.bool_and([opt_i[d] for d in problem.options[j]], w)
        opt_i[j] = w
    rows.flush()
    opt = dict(enumerate(x)) | {j: rows.var(opt_i[j]) for j in read}
    lits = _add_constraints(m, problem, opt, enforce_groups)
    rows.next_index = len(m.proto.variables)  # the group literals
    tvars: list[int] = []
    tcoefs: list[int] = []
    hint_vars: list[int] = []
    hint_vals: list[int] = []
    hu: list[int] = []
    if hint is not None:
        hinted = (list(range(len(x))) if hint_decisions else []) + read
        hint_vars += [opt_i[o] for o in hinted]
        open_options = hint.open_options.tolist()
        hint_vals += [int(open_options[o]) for o in hinted]
        hu = [int(v) for v in hint.level_u.tolist()]
    covers: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    for cut in barrier_cover_cuts(problem, skip) if cover_cuts else ():
        covers.setdefault((cut.client, cut.level), []).append(cut.decisions)
    levels = _LevelVars(rows, prefix, problem)
    groups = level_groups(problem, skip) if SHARE_LEVELS else None
    if groups is None or not _add_level_groups(levels, groups, opt_i, hu if hint is not None else None, hint_vars,
                                               hint_vals, deadline, covers):
        _add_levels(levels, skip, opt_i, covers, hu if hint is not None else None, hint_vars, hint_vals, deadline)
    for u, c in levels.terms():
        if c > 0:
            tvars.append(u)
            tcoefs.append(c)
    for j, p in enumerate(problem.penalties):
        unc = rows.bool_var(f"{prefix}p[{p.key}]")
        rows.bool_or([unc] + [opt_i[o] for o in p.options])
        tvars.append(unc)
        tcoefs.append(p.weight)
        if hint is not None:
            hint_vars.append(unc)
            hint_vals.append(int(hint.uncovered[j]))
    if split:
        chosen = None if hint is None else {int(i) for i in hint.x.nonzero()[0]}
        chains = add_site_chains(rows, problem, split, opt_i,
                                 _route_literals(rows, problem, opt_i, chosen, prefix, hint_vars, hint_vals), chosen)
        tvars += chains.tvars
        tcoefs += chains.tcoefs
        hint_vars += chains.hint_vars
        hint_vals += chains.hint_vals
    rows.flush()
    if hint_vars:
        m.proto.solution_hint.vars.extend(hint_vars)
        m.proto.solution_hint.values.extend(hint_vals)
    return ProblemTerms(m, opt, lits, tvars, tcoefs, problem.constant)


def _add_levels(levels: _LevelVars, skip: set[int], opt_i: Mapping[int, int], covers: Mapping[tuple[int, int], list[tuple[int, ...]]],
                hu: list[int] | None, hint_vars: list[int], hint_vals: list[int], deadline: float | None) -> None:
    """The radius levels of the clients not in ``skip``: ``u + sum(options at the level) >= previous u``
    (1 at the first level), once per ``u`` (:class:`_LevelVars`), with their hints (``hu``: each
    level's value, :meth:`Problem.level_terms` order) and cover rows, in :meth:`Problem.level_terms`
    order (its steps)."""
    rows, problem = levels.rows, levels.problem
    t_levels, n_levels = time.perf_counter(), problem.n_levels() if deadline is not None else 0
    get = opt_i.__getitem__
    prev = -1
    for j, (k, lev, step, opts) in enumerate(problem.level_terms()):
        if k in skip:
            continue
        if deadline is not None and j % BUILD_CHECK_LEVELS == 0:
            _check_build(deadline, t_levels, j, n_levels)
        u, new = levels.level(k, lev, opts, step)
        if new:
            if lev == 0 or prev < 0:
                rows.at_least_one_sum([u, *map(get, opts)])
            else:
                rows.chain(u, prev, list(map(get, opts)))
            if hu is not None:
                hint_vars.append(u)
                hint_vals.append(hu[j])
        if covers:
            for decs in covers.get((k, lev), ()):
                if levels.first_cover(u, decs):
                    rows.at_least_one_sum([u, *map(get, decs)])
        prev = u


def _add_level_groups(levels: _LevelVars, groups: LevelGroups, opt_i: Mapping[int, int], hu: list[int] | None,
                      hint_vars: list[int], hint_vals: list[int], deadline: float | None,
                      covers: Mapping[tuple[int, int], list[tuple[int, ...]]] | None = None) -> bool:
    """What :func:`_add_levels` adds, from the levels' groups
    (:func:`~optimiser.solve.cpsat_levels.level_groups`): the same variables, rows (``covers``: each
    level's cover rows after its chain row, once per ``u``), hints and objective coefficients in the
    same order. ``False`` (nothing added) when an option at a level has no Boolean in ``opt_i`` (the
    per-level loop then raises as it did)."""
    rows, problem = levels.rows, levels.problem
    fc = flat_clients(problem)
    omap = np.full(len(problem.options), -1, dtype=np.int64)
    omap[np.fromiter(opt_i.keys(), dtype=np.int64, count=len(opt_i))] = np.fromiter(opt_i.values(), dtype=np.int64,
                                                                                      count=len(opt_i))
    mapped = omap[fc.opt]
    kept = np.zeros(fc.lev.size, dtype=bool)
    kept[groups.levels] = True
    if (mapped[np.repeat(kept, fc.olen)] < 0).any():
        return False
    t_levels, n_levels = time.perf_counter(), problem.n_levels() if deadline is not None else 0
    base = rows.next_index
    u_of = np.full(fc.lev.size, -1, dtype=np.int64)
    u_of[groups.levels] = base + groups.rank
    new_levels = groups.levels[groups.new].tolist()
    u_l, opts_l, lev_l, client_l = u_of.tolist(), mapped.tolist(), groups.level_in_client.tolist(), groups.client.tolist()
    begin_l, end_l = groups.begin.tolist(), groups.end.tolist()
    first_row, chain_row = rows.at_least_one_sum, rows.chain
    names = []
    cov = covers or {}
    # with cover rows every kept level in turn (its chain row when it makes its u, then its cover
    # rows, once per u), else only the levels that make a u
    walk = zip(groups.levels.tolist(), groups.new.tolist()) if cov else ((p, True) for p in new_levels)
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for i, (p, new) in enumerate(walk):
        if deadline is not None and i % BUILD_CHECK_LEVELS == 0:
            _check_build(deadline, t_levels, p, n_levels)
        u, lev = u_l[p], lev_l[p]
        if new:
            names.append(f"{levels.prefix}u{client_l[p]}_{lev}")
            if lev == 0:
                first_row([u, *opts_l[begin_l[p]:end_l[p]]])
            else:
                chain_row(u, u_l[p - 1], opts_l[begin_l[p]:end_l[p]])
            if hu is not None:
                hint_vars.append(u)
                hint_vals.append(hu[p])
        for decs in cov.get((client_l[p], lev), ()):
            if (u, decs) not in seen:
                seen.add((u, decs))
                first_row([u, *(opt_i[d] for d in decs)])
    rows.bool_vars(names)
    levels.coef = dict(zip(range(base, base + groups.coef.size), groups.coef.tolist()))
    return True


def read_conjunctions(problem: Problem, skip: set[int], split: Sequence[SplitClient]) -> list[int]:
    """The conjunctions (option ids past the decisions) a model of ``problem`` reads, ascending:
    those of its constraints, penalties and radius levels (clients not in ``skip``) and those the
    site chains of ``split`` take as route literals (every route of their chains). Only these get
    a Boolean and its ``bool_and`` row: a conjunction nothing reads is free to be 0 whatever the
    decisions, so leaving it out keeps every layout's objective and feasibility. Most of a
    problem's conjunctions are the walks to facilities (a site and the crossings on the way),
    which the site chains replace by their own route literals: rs006's count vector of 689
    levels read 11 of its 35,964 (benchmarks/realsites README, wave 27)."""
    n_d = len(problem.decisions)
    read: set[int] = set()
    for con in problem.constraints:
        read.update(o for o, _ in con.terms)
    for p in problem.penalties:
        read.update(p.options)
    for k, cl in enumerate(problem.clients):
        if k not in skip:
            read.update(chain.from_iterable(cl.level_options))
    if split:
        index = flat_options(problem).index  # options of two or more decisions only
        routes = set(chain.from_iterable(chain.from_iterable(ch.routes for sc in split for ch in sc.chains)))
        read.update(index[r] for r in routes if r in index)
    return sorted(o for o in read if o >= n_d)


_CODE_MASK = (1 << 64) - 1
_SET_KEY_MAX = 256
"""Sets of options up to a radius level larger than this are keyed by hash code (:class:`_LevelVars`)."""


def _option_code(option: int) -> int:
    """A 64-bit hash code of an option id (splitmix64: deterministic, well spread)."""
    z = (option + 0x9E3779B97F4A7C15) & _CODE_MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _CODE_MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _CODE_MASK
    return z ^ (z >> 31)


SHARE_LEVELS = True
"""Radius levels share their variable ``u`` when the same options lie up to them
(:class:`_LevelVars`)."""


class _LevelVars:
    """The variable ``u`` ("not served yet") of each radius level, one per distinct set of
    options up to a level (with ``SHARE_LEVELS``; else one per level).

    A client's ``u`` at level l is 1 exactly when no option of its levels up to l is open: a
    function of that set of options alone. Levels of different clients with the same set (firm
    pairs whose routes share their crossings, facility walks over the same sites and crossings)
    therefore take one variable, whose objective coefficient is the sum of their steps, and one
    chain row ``u + sum(options new at the level) >= u of the level before``, which unrolls to
    ``u >= 1 - sum(options up to the level)`` whichever client it comes from: the same integer
    model and the same LP, with fewer variables and rows. Measured on benchmarks/realsites (README,
    wave 21): relax-first's exact models per count vector keep 3-25 % of their chain levels
    (rs016's six: 5.79 CP-SAT units to prove them all, 1.49 shared).

    A set of at most ``_SET_KEY_MAX`` options is its own key; a larger one is looked up by its size
    and a sum of per-option hash codes (:func:`_option_code`), a match checked against the options
    of the level that made the variable, so memory stays linear in the levels: keyed by the sets
    themselves, a model without site chains held every walk to facilities' growing set (rs005's
    whole problem, 432k levels: killed at 24 GB; 1.0 GB now, and the same build time on the exact
    models of benchmarks/realsites). The same model either way.

    :func:`add_problem` groups the levels at once with numpy (:mod:`optimiser.solve.cpsat_levels`)
    and only keeps the terms here; this per-level loop (:func:`_add_levels`) is its reference
    (``tests/test_cpsat_levels.py``) and its fallback."""

    def __init__(self, rows: RowWriter, prefix: str, problem: Problem) -> None:
        self.rows = rows
        self.prefix = prefix
        self.problem = problem
        self.var: dict[object, int] = {}
        self.made_by: dict[int, tuple[int, int]] = {}  # u -> (client, level) that made it
        self.coef: dict[int, int] = {}  # u's index -> summed steps, in creation order
        self.upto: set[int] = set()
        self.code: int | None = None  # the hash code of ``upto`` once it is larger than _SET_KEY_MAX
        self.covers: set[tuple[int, tuple[int, ...]]] = set()

    def level(self, k: int, lev: int, opts: tuple[int, ...], step: int) -> tuple[int, bool]:
        """Client ``k``'s level ``lev`` (levels in order, each client's from 0) with the options
        ``opts`` new at it and objective ``step``: its ``u`` (a proto index) and whether that is
        new (its chain row still to add)."""
        key: object
        if SHARE_LEVELS:
            if lev == 0:
                upto = self.upto = set(opts)
                self.code = None
            else:
                upto = self.upto
                if self.code is None:
                    upto.update(opts)
                else:
                    for o in opts:
                        if o not in upto:
                            upto.add(o)
                            self.code = (self.code + _option_code(o)) & _CODE_MASK
            if len(upto) <= _SET_KEY_MAX:
                key = frozenset(upto)
                u = self.var.get(key)
            else:
                if self.code is None:
                    self.code = sum(map(_option_code, upto)) & _CODE_MASK
                key = (len(upto), self.code)
                u = self.var.get(key)
                if u is not None and not self._made_of_upto(u):
                    key = frozenset(upto)  # two sets with one code: the set itself (never met)
                    u = self.var.get(key)
        else:
            key = (k, lev)
            u = self.var.get(key)
        if u is None:
            u = self.rows.bool_var(f"{self.prefix}u{k}_{lev}")
            self.var[key] = u
            self.made_by[u] = (k, lev)
            self.coef[u] = step
            return u, True
        self.coef[u] += step
        return u, False

    def _made_of_upto(self, u: int) -> bool:
        """Whether the level that made ``u`` has exactly the options up to the current level."""
        k, lev = self.made_by[u]
        made: set[int] = set()
        for opts in self.problem.clients[k].level_options[:lev + 1]:
            made.update(opts)
        return made == self.upto

    def first_cover(self, u: int, decisions: tuple[int, ...]) -> bool:
        """Whether the cover row ``u + sum(decisions) >= 1`` is new (a shared ``u`` gets it once)."""
        key = (u, decisions)
        new = key not in self.covers
        self.covers.add(key)
        return new

    def terms(self) -> list[tuple[int, int]]:
        """Every ``u`` (proto index) and its objective coefficient, in creation order."""
        return list(self.coef.items())


def _check_build(deadline: float, t_levels: float, done: int, n_levels: int) -> None:
    """Raise :class:`TimeLimitError` when the build, ``done`` of ``n_levels`` radius levels added
    since ``t_levels``, has passed ``deadline`` or would pass it at its pace so far (its levels
    and then its objective, ``BUILD_FINISH_FACTOR``): a model finished past its net is never
    searched."""
    now = time.perf_counter()
    finish = now if done == 0 else now + (now - t_levels) / done * (n_levels - done) * BUILD_FINISH_FACTOR
    if finish > deadline:
        raise TimeLimitError(f"the wall-clock net {'passed' if now > deadline else 'would pass'} while building the "
                             f"CP-SAT model (at radius level {done:,} of {n_levels:,})", "solve")


def _route_literals(rows: RowWriter, problem: Problem, opt: Mapping[int, int], chosen: set[int] | None,
                    prefix: str, hint_vars: list[int], hint_vals: list[int]) -> Callable[[Route], int]:
    """The Boolean (proto index) of a route (all its crossings built): the decision itself, the
    problem's conjunction of them, or a new conjunction (hinted at ``chosen``); each route looked up
    once (the site chains ask for the same routes at many levels)."""
    known: dict[Route, int] = {}
    made = 0  # new conjunctions so far
    index = flat_options(problem).index

    def literal(route: Route) -> int:
        nonlocal made
        v = known.get(route)
        if v is not None:
            return v
        if len(route) == 1:
            v = opt[route[0]]
        elif (o := index.get(route)) is not None:
            v = opt[o]
        else:
            v = rows.bool_var(f"{prefix}r{made}")
            made += 1
            rows.bool_and([opt[d] for d in route], v)
            if chosen is not None:
                hint_vars.append(v)
                hint_vals.append(int(all(d in chosen for d in route)))
        known[route] = v
        return v

    return literal


def build_model(problem: Problem, *, enforce_groups: bool = False, objective: bool = True,
                hint: HintValues | None = None, budget_cuts: bool = False, site_chains: bool = False,
                deadline: float | None = None, cover_cuts: bool = False) -> CpModelParts:
    """The CP-SAT model of a problem.

    Args:
        problem: the problem.
        enforce_groups: give every constraint group an enforcement literal (for the
            infeasibility explanation).
        objective: add the objective (walking, integer-scaled).
        hint: :func:`optimiser.solve.heuristic.hint_values` of a feasible layout; every
            variable gets its value as a solution hint.
        budget_cuts: add the budget's count-hull cuts (:mod:`optimiser.model.budget_cuts`:
            implied by the budget and count constraints, so never with ``enforce_groups``).
        site_chains: split the walks to the nearest facility by site
            (:mod:`optimiser.solve.site_chains`).
        deadline: the wall-clock net as a ``time.perf_counter()`` time (see :func:`add_problem`).
        cover_cuts: add the barrier cover cuts (:mod:`optimiser.model.cover_cuts`).

    Returns:
        The model and its variables (:class:`CpModelParts`).

    Raises:
        TimeLimitError: ``deadline`` passed while building.
    """
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{i}") for i in range(len(problem.decisions))]
    terms = add_problem(m, problem, x, enforce_groups=enforce_groups, hint=hint, site_chains=site_chains, deadline=deadline,
                        cover_cuts=cover_cuts)
    if budget_cuts and not enforce_groups:
        for cut in budget_count_cuts(problem):
            if cut.hi is not None:
                m.add(cp_model.LinearExpr.weighted_sum([x[i] for i, _ in cut.terms], [c for _, c in cut.terms]) <= cut.hi)
    if objective:
        terms.minimize(m)
    return CpModelParts(m, x, terms.options, terms.group_literals)


WALL_CLOCK_SAFETY_FACTOR = 3.0
"""The wall-clock safety net of a CP-SAT search is this many times its time limit. The
deterministic limit (``DETERMINISTIC_PER_SECOND`` units per second of time limit) is what
ends a search on an idle machine; on a loaded one CP-SAT counts fewer units per second
(0.1 measured on 2 busy cores, against 0.25 asked for), so a net at the time limit itself
would end the search first there and give a different answer (the AMP-SBP baseline came back
"feasible, gap 3.3%" instead of "optimal" beside two CPU hogs). At 3x the deterministic limit
still binds first down to 0.083 units per second; below that the net binds and the result says
so (``stopped_by="wall_clock"``). Every net is also multiplied by :func:`load_factor`."""

LOAD_FACTOR_MAX = MAX_WIDENING
"""The most :func:`load_factor` widens a wall-clock safety net (a net of at most 30x the limit)."""


def load_factor() -> float:
    """How much slower than on a core of its own a one-thread solve runs now: the 1-minute load
    average per usable CPU, at least 1, at most ``LOAD_FACTOR_MAX``.

    1.0 on an idle machine and whenever there are cores to spare (our own process alone gives a
    load of 1); 3.5 at load 7 on 2 cores, where a process gets about 2/7 of a core. The wall-clock
    safety nets (the run's, the solver's) are multiplied by it, so that on a busy machine the
    deterministic work limit, not the net, still ends a run and the answer is the one an idle
    machine gives (measured before: a 10 s run of a 25-firm site beside a CPU hog at load 6.3-7
    was ended by its 30 s net with a 2.22 % gap instead of its work limit's 1.18 %). Read once
    when a run or a solve starts; 1.0 where the platform has no load average
    (:func:`optimiser.runclock.load_per_cpu`, capped at :data:`LOAD_FACTOR_MAX`)."""
    return load_per_cpu()


def wall_clock_net_s(time_limit_s: float) -> float:
    """The wall-clock safety net of a time limit: ``WALL_CLOCK_SAFETY_FACTOR`` times it, widened
    by :func:`load_factor` (the run's clock, CP-SAT's, CBC's and relax-first's nets)."""
    return float(time_limit_s) * WALL_CLOCK_SAFETY_FACTOR * load_factor()


def set_params(solver: cp_model.CpSolver, time_limit_s: float, seed: int, workers: int,
               safety_net_s: float | None = None) -> None:
    """The deterministic limit (``DETERMINISTIC_PER_SECOND`` units per second of the time
    limit: the work limit that shapes the answer), the wall-clock safety net (default
    ``WALL_CLOCK_SAFETY_FACTOR`` times the time limit, widened by :func:`load_factor`), seed
    and threads."""
    net = wall_clock_net_s(time_limit_s) if safety_net_s is None else float(safety_net_s)
    solver.parameters.max_time_in_seconds = net
    solver.parameters.max_deterministic_time = float(time_limit_s) * DETERMINISTIC_PER_SECOND
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)
    # SIGINT is ours (optimiser.solve.interrupt): CP-SAT's own handler would end the search as
    # if its limit had been reached, and the run would be reported as solved
    solver.parameters.catch_sigint_signal = False


PORTFOLIO_SUBSOLVERS = ("max_lp", "quick_restart")
"""CP-SAT's subsolvers with more than one worker and the "lp" searches (:func:`set_search_params`)."""


def set_search_params(solver: cp_model.CpSolver, search: str, inprocessing: bool = True) -> None:
    """CP-SAT's search settings for a :class:`~optimiser.model.problem.Problem` (``search``:
    :attr:`~optimiser.inputs.domain.SolveOptions.cpsat_search`; ``inprocessing``:
    :attr:`~optimiser.inputs.domain.SolveOptions.sat_inprocessing`, CP-SAT's
    ``use_sat_inprocessing``, whatever the search).

    "lp": every constraint in the LP relaxation (``linearization_level=2``: the chained
    radius formulation's LP is within 0.2 % of the optimum on AMP-SBP, 1.4-2.5 % on
    benchmarks/realsites, but CP-SAT's default level keeps the radius chains out of it), no
    presolve and no probing (both build large numbers of binary clauses from the chains and
    give back nothing the LP does not: on AMP-SBP probing alone was 72 % of the deterministic
    time). No symmetry detection (``symmetry_level=0``): without presolve and with one worker the
    search never used what it found (the same deterministic time and answer on benchmarks/realsites
    rs001-rs005 and the embedded sites), and finding it took 1.0-4.5 s of CPU on rs005's reduced
    exact model (170k Booleans) before the search started. Measured, seed 0, one worker, deterministic units (CPU seconds): AMP-SBP baseline
    1.84 (4.7) before, 0.04 (0.5) after; Fremont 1.42 (3.3) -> 0.14 (1.0); AMP-SBP HS2
    1.76 (4.9) -> 0.34 (1.6); realsites 20 firms / 74 crossings 4.5 (21.9) -> 2.0 (9.5).
    "lp-eager": "lp" with every constraint in the LP from the start
    (``add_lp_constraints_lazily=False``) instead of added as the LP solution violates it.
    CP-SAT then counts its deterministic time faster per CPU second (measured 0.42-0.83 units per
    CPU second of the call against 0.15-0.2), so a work budget in units must use its own rate
    (relax-first: ``EXACT_EAGER_UNITS_PER_S``). Measured on benchmarks/realsites' reduced exact
    models from a 10 s relax-first run's state, seed 0, one worker, units and CPU seconds to the
    proof (build included; ``benchmarks/realsites/proof_probes.py``, ``probes/``): rs022 0.91 /
    5.7 lazily, 1.92 / 3.0 eager (proven at the root); rs005 1.32 / 8.1 -> 5.39 / 12.7 (the
    exception: relax-first's whole-run figures are in that README, wave 10).
    "cpsat": CP-SAT's own settings.

    With more than one worker CP-SAT runs a portfolio of subsolvers, each with its own
    linearization level: its default two-worker portfolio kept the radius chains out of every
    LP, so its bound barely moved (AMP-SBP HS2 at a 10 s limit: 27.9 % gap with two workers
    against optimal in 0.4 s with one; benchmarks/joint's 50 firms 9.7 % after 51 s against
    optimal in 2.5 s). "lp" and "lp-eager" therefore name the subsolvers: ``max_lp`` (the full
    LP, as one worker searches) and ``quick_restart`` (incumbents): with two workers both rows
    are proven in 0.4 s and 2.4 s, realsites rs004 in 6.5 s (the default portfolio: 6.8 %).
    """
    if search in ("lp", "lp-eager"):
        solver.parameters.linearization_level = 2
        solver.parameters.cp_model_presolve = False
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        if search == "lp-eager":
            solver.parameters.add_lp_constraints_lazily = False
        if solver.parameters.num_workers > 1 and not solver.parameters.subsolvers:
            solver.parameters.subsolvers.extend(PORTFOLIO_SUBSOLVERS)
    elif search != "cpsat":
        raise ValueError(f"unknown CP-SAT search settings {search!r}; choose lp, lp-eager or cpsat")
    if not inprocessing:
        solver.parameters.use_sat_inprocessing = False


def stopped_by_safety_net(solver: cp_model.CpSolver) -> bool:
    """Whether the wall-clock limit (not the deterministic one) stopped the last search."""
    det = solver.response_proto.deterministic_time
    return bool(solver.wall_time >= 0.99 * solver.parameters.max_time_in_seconds
                and det < 0.99 * solver.parameters.max_deterministic_time)
