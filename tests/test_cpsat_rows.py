"""The CP-SAT model written in bulk (:mod:`optimiser.solve.cpsat_rows`) is the proto the
``CpModel`` API wrote before: the same variables, constraints, objective and hint in the same
order, so CP-SAT's answers are bit-identical. ``_reference_model`` is the API build as it was
(cpsat_model.add_problem / build_model and site_chains.add_site_chains before the bulk writer)."""

from __future__ import annotations

import pytest

from optimiser.inputs import read_scenario
from optimiser.model.budget_cuts import budget_count_cuts
from optimiser.model.cover_cuts import barrier_cover_cuts
from optimiser.model.problem import Problem
from optimiser.pipeline import prepare
from optimiser.solve import cpsat_model
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import build_model, read_conjunctions
from optimiser.solve.cpsat_rows import RowWriter
from optimiser.solve.heuristic import greedy_layout, hint_values
from optimiser.solve.site_chains import client_assignment, split_clients
from tests.random_problems import random_problem
from tests.zoo_cases import CASES

LE = cp_model.LinearExpr


def _reference_levels(m, problem, opt, x, skip, covers, hint, hu, hint_vars, hint_vals):
    """The radius chains as the API build added them; returns the ``u`` and their coefficients."""
    var: dict = {}
    coef: dict = {}
    seen: set = set()
    upto: frozenset = frozenset()
    prev = None
    for j, (k, lev, step, opts) in enumerate(problem.level_terms()):
        if k in skip:
            continue
        upto = (frozenset() if lev == 0 else upto) | frozenset(opts)
        u = var.get(upto)
        if u is None:
            u = var[upto] = m.new_bool_var(f"u{k}_{lev}")
            coef[u.index] = (u, 0)
            if lev == 0 or prev is None:
                m.add(LE.sum([u] + [opt[o] for o in opts]) >= 1)
            else:
                m.add(LE.weighted_sum([u, prev] + [opt[o] for o in opts], [1, -1] + [1] * len(opts)) >= 0)
            if hint is not None:
                hint_vars.append(u.index)
                hint_vals.append(hu[j])
        coef[u.index] = (u, coef[u.index][1] + step)
        for decs in covers.get((k, lev), ()):
            if (u.index, decs) not in seen:
                seen.add((u.index, decs))
                m.add(LE.sum([u] + [x[d] for d in decs]) >= 1)
        prev = u
    return [(u, c) for u, c in coef.values() if c > 0]


def _reference_chains(m, problem, split, x, opt, chosen, hint_vars, hint_vals):
    """The site chains as the API build added them; returns their objective terms."""
    n_d = len(problem.decisions)
    index = {req: i for i, req in enumerate(problem.options[n_d:], n_d)}
    made: dict = {}

    def literal(route):
        if len(route) == 1:
            return opt[route[0]]
        if route in index:
            return opt[index[route]]
        if route not in made:
            v = made[route] = m.new_bool_var(f"r{len(made)}")
            m.add_bool_and([opt[d] for d in route]).only_enforce_if(v)
            if chosen is not None:
                hint_vars.append(v.index)
                hint_vals.append(int(all(d in chosen for d in route)))
        return made[route]

    terms = []
    for sc in split:
        cl = problem.clients[sc.index]
        w, first = cl.weight, cl.levels[0]
        assign = None if chosen is None else client_assignment(problem, sc, chosen)
        z_top = m.new_bool_var(f"zt{sc.index}")
        zs = [z_top]
        if sc.top > first:
            terms.append((z_top, w * (sc.top - first)))
        for j, ch in enumerate(sc.chains):
            z = m.new_bool_var(f"z{sc.index}_{j}")
            zs.append(z)
            if ch.site is not None:
                m.add_implication(z, x[ch.site])
            if ch.levels[0] > first:
                terms.append((z, w * (ch.levels[0] - first)))
            on = assign is not None and assign[0] == j
            if assign is not None:
                hint_vars.append(z.index)
                hint_vals.append(int(on))
            prev = z
            for k, (length, routes) in enumerate(zip(ch.levels, ch.routes)):
                nxt = ch.levels[k + 1] if k + 1 < len(ch.levels) else sc.top
                if () in routes or nxt <= length:
                    break
                u = m.new_bool_var(f"v{sc.index}_{j}_{k}")
                lits = [literal(r) for r in routes]
                m.add(LE.weighted_sum([u, prev] + lits, [1, -1] + [1] * len(lits)) >= 0)
                terms.append((u, w * (nxt - length)))
                if assign is not None:
                    hint_vars.append(u.index)
                    hint_vals.append(int(on and length < assign[1]))
                prev = u
        m.add_exactly_one(zs)
        if assign is not None:
            hint_vars.append(z_top.index)
            hint_vals.append(int(assign[0] is None))
    return terms


def _reference_model(problem: Problem, hint=None, site_chains=False, cover_cuts=False, budget_cuts=False,
                     all_conjunctions=False):
    """The model the ``CpModel`` API built (without ``enforce_groups``): with the conjunctions the
    model reads (``read_conjunctions``), or with every conjunction (``all_conjunctions``, as before
    wave 27)."""
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{i}") for i in range(len(problem.decisions))]
    opt = dict(enumerate(x))
    split = split_clients(problem) if site_chains else []
    skip = {sc.index for sc in split}
    read = range(len(x), len(problem.options)) if all_conjunctions else read_conjunctions(problem, skip, split)
    for j in read:
        w = m.new_bool_var(f"w{j}")
        m.add_bool_and([x[d] for d in problem.options[j]]).only_enforce_if(w)
        opt[j] = w
    for con in problem.constraints:
        expr = LE.weighted_sum([opt[o] for o, _ in con.terms], [c for _, c in con.terms])
        if con.lo is not None:
            m.add(expr >= con.lo)
        if con.hi is not None:
            m.add(expr <= con.hi)
    hint_vars: list[int] = []
    hint_vals: list[int] = []
    hu: list[int] = []
    if hint is not None:
        hint_vars += [v.index for v in opt.values()]
        hint_vals += [int(hint.open_options[o]) for o in opt]
        hu = [int(v) for v in hint.level_u.tolist()]
    covers: dict = {}
    for cut in barrier_cover_cuts(problem, skip) if cover_cuts else ():
        covers.setdefault((cut.client, cut.level), []).append(cut.decisions)
    terms = _reference_levels(m, problem, opt, x, skip, covers, hint, hu, hint_vars, hint_vals)
    for j, p in enumerate(problem.penalties):
        unc = m.new_bool_var(f"p[{p.key}]")
        m.add_bool_or([unc] + [opt[o] for o in p.options])
        terms.append((unc, p.weight))
        if hint is not None:
            hint_vars.append(unc.index)
            hint_vals.append(int(hint.uncovered[j]))
    if split:
        chosen = None if hint is None else {int(i) for i in hint.x.nonzero()[0]}
        terms += _reference_chains(m, problem, split, x, opt, chosen, hint_vars, hint_vals)
    if hint_vars:
        m.proto.solution_hint.vars.extend(hint_vars)
        m.proto.solution_hint.values.extend(hint_vals)
    for cut in budget_count_cuts(problem) if budget_cuts else ():
        if cut.hi is not None:
            m.add(LE.weighted_sum([x[i] for i, _ in cut.terms], [c for _, c in cut.terms]) <= cut.hi)
    m.minimize(LE.weighted_sum([u for u, _ in terms], [c for _, c in terms]) + problem.constant)
    return m


def _same(problem: Problem, **kw) -> None:
    assert str(build_model(problem, **kw).model.proto) == str(_reference_model(problem, **kw).proto)


_SETTINGS = [{}, {"site_chains": True}, {"cover_cuts": True, "budget_cuts": True},
             {"site_chains": True, "cover_cuts": True, "budget_cuts": True}]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kw", _SETTINGS)
def test_random_problems_build_the_api_models_proto(seed, kw):
    _same(random_problem(seed), **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_zoo_cases_build_the_api_models_proto_hinted_or_not(name):
    problem = prepare(CASES[name]()).problem
    hint = hint_values(problem, greedy_layout(problem)) if problem.is_feasible(set()) else None
    for kw in _SETTINGS:
        _same(problem, **kw)
        if hint is not None:
            _same(problem, hint=hint, **kw)


def test_the_amp_sbp_default_builds_the_api_models_proto():

    problem = prepare(read_scenario(None)).problem
    hint = hint_values(problem, greedy_layout(problem))
    _same(problem, hint=hint, site_chains=True, budget_cuts=True)
    _same(problem, cover_cuts=True)


def test_names_with_quotes_and_non_ascii_letters_are_written_as_the_api_writes_them():
    names = ['p[a"b]', "p[c\\d]", "p[café → 5]", "p[tab\there]"]
    m, ref = cp_model.CpModel(), cp_model.CpModel()
    rows = RowWriter(m)
    for n in names:
        rows.bool_var(n)
        ref.new_bool_var(n)
    rows.flush()
    assert str(m.proto) == str(ref.proto)


def test_rows_with_repeated_variables_and_zero_coefficients_are_written_in_the_apis_normal_form():
    m, ref = cp_model.CpModel(), cp_model.CpModel()
    rows = RowWriter(m)
    xs = [ref.new_bool_var(f"x{i}") for i in range(5)]
    for i in range(5):
        rows.bool_var(f"x{i}")
    rows.at_least([3, 1, 3, 4], [1, -1, 2, 0], 2)
    ref.add(LE.weighted_sum([xs[3], xs[1], xs[3], xs[4]], [1, -1, 2, 0]) >= 2)
    rows.chain(2, 0, [0, 4])
    ref.add(LE.weighted_sum([xs[2], xs[0], xs[0], xs[4]], [1, -1, 1, 1]) >= 0)
    rows.at_least_one_sum([4, 2, 4])
    ref.add(LE.sum([xs[4], xs[2], xs[4]]) >= 1)
    rows.flush()
    assert str(m.proto) == str(ref.proto)


def _optimum(model: cp_model.CpModel) -> float:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    assert status == cp_model.OPTIMAL
    return solver.objective_value


@pytest.mark.parametrize("seed", range(8))
def test_leaving_out_the_conjunctions_nothing_reads_keeps_the_optimum(seed):
    problem = random_problem(seed)
    for kw in ({}, {"site_chains": True}):
        every = _reference_model(problem, all_conjunctions=True, **kw)
        built = build_model(problem, **kw).model
        assert _optimum(built) == _optimum(every)
        assert len(built.proto.variables) <= len(every.proto.variables)


def test_the_site_chains_leave_out_the_walks_to_facilities_conjunctions():
    """With site chains the walks to facilities read route literals, not the problem's
    site-and-crossing conjunctions: those are not built (AMP-SBP: 0 read of hundreds)."""
    problem = prepare(read_scenario(None)).problem
    n_d = len(problem.decisions)
    split = split_clients(problem)
    read = read_conjunctions(problem, {sc.index for sc in split}, split)
    assert len(problem.options) - n_d > 0
    assert len(read) < len(problem.options) - n_d
    names = {v.name for v in build_model(problem, site_chains=True).model.proto.variables}
    assert {f"w{j}" for j in read} <= names
    assert not {f"w{j}" for j in range(n_d, len(problem.options)) if j not in set(read)} & names
    # without the chains, the levels read every conjunction some client reaches
    assert read_conjunctions(problem, set(), []) == sorted(
        {o for cl in problem.clients for opts in cl.level_options for o in opts if o >= n_d}
        | {o for p in problem.penalties for o in p.options if o >= n_d}
        | {o for c in problem.constraints for o, _ in c.terms if o >= n_d})


@pytest.mark.parametrize("seed", range(6))
def test_large_option_sets_keyed_by_hash_code_build_the_same_model(seed, monkeypatch):
    """Sets of options up to a level above ``_SET_KEY_MAX`` are keyed by size and hash code
    (memory linear in the levels); with every set so keyed, and with every option given one code
    (each lookup a collision, settled by the sets themselves), the model is the same."""
    problem = random_problem(seed)
    for kw in ({}, {"site_chains": True}):
        want = str(_reference_model(problem, **kw).proto)
        monkeypatch.setattr(cpsat_model, "_SET_KEY_MAX", 0)
        assert str(build_model(problem, **kw).model.proto) == want
        monkeypatch.setattr(cpsat_model, "_option_code", lambda option: 7)
        assert str(build_model(problem, **kw).model.proto) == want
        monkeypatch.undo()
