"""The joint model of several futures (:class:`~optimiser.model.futures.JointProblem`) for
CP-SAT and CBC: one Boolean per plan decision, a copy of every future's constraints and
objective terms over them, and the rule's objective.

- ``expected``: minimise ``sum_f w_f * obj_f`` (integer probability weights).
- ``min_max_regret``: minimise R subject to ``obj_f - opt_f <= R * max(opt_f, 1)`` for every future
  (CP-SAT: R an integer in units of ``1 / scale`` of a fraction, the constraint multiplied
  out in integers; CBC: R continuous, the constraint divided by ``opt_f``). A second phase
  keeps R at its optimum and minimises the expected objective among the plans that reach it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import pulp

from optimiser.inputs.domain import SolveOptions
from optimiser.model.futures import REGRET_FLOOR, JointProblem
from optimiser.solve.cbc import NODES_PER_SECOND, cbc_outcome, has_incumbent_in, run_cbc, stopped_by_of_log
from optimiser.solve.cbc import add_problem as add_lp_problem
from optimiser.solve.cpsat_api import cp_model
from optimiser.solve.cpsat_model import add_problem, set_params, stopped_by_safety_net, wall_clock_net_s
from optimiser.solve.heuristic import hint_values
from optimiser.solve.result import combine_stopped_by

logger = logging.getLogger(__name__)

REGRET_SCALE = 1_000_000
"""CP-SAT's worst regret is an integer number of millionths (0.0001 per cent)."""
JOINT_SAFETY_NET = 5.0
"""The joint model's wall-clock limit, in multiples of the time limit (its deterministic work
limit is the time limit's, as for one future)."""
INT_LIMIT = 2**61
"""Largest magnitude of an integer product in the CP-SAT model (int64 with headroom)."""
TIE_PRECISION = 1000
"""Parts of a probability weight kept when futures' objectives in different units are added up
(:func:`objective_weights`)."""


@dataclass(frozen=True)
class JointSolve:
    """What one joint solve found.

    Attributes:
        plan: the chosen plan decisions (shared indices), or ``None`` when nothing was found.
        proven: the plan is proven optimal for the rule.
        bound: a proven lower bound on the rule's value: worst regret as a fraction (not
            per cent), or the weighted objective divided by the weights' sum.
        seconds: wall seconds.
        stopped_by: what ended a phase that did not finish (``work_limit`` or ``wall_clock``,
            :func:`~optimiser.solve.result.combine_stopped_by` over the phases); ``None``
            when every phase finished.
    """

    plan: tuple[int, ...] | None
    proven: bool
    bound: float | None
    seconds: float
    stopped_by: str | None = None


def _upper(joint: JointProblem, f: int) -> int:
    """An upper bound on future ``f``'s objective (every term at its largest)."""
    p = joint.futures[f].problem
    return p.constant + sum(step for _, _, step, _ in p.level_terms()) + sum(q.weight for q in p.penalties)


def objective_weights(joint: JointProblem) -> list[int]:
    """Integer weights of the futures' objectives in the expected objective (``expected``'s
    objective, ``min_max_regret``'s tie-break): the probability weights, divided by each
    future's units per weighted metre when they differ (``min_max_regret``: each future on its
    own weight scale), to :data:`TIE_PRECISION` parts or as many as fit in :data:`INT_LIMIT`."""
    units = joint.units_per_weighted_m
    low = min(units)
    if max(units) <= low * (1 + 1e-12):
        return list(joint.weights)
    top = sum(w * _upper(joint, f) for f, w in enumerate(joint.weights))
    precision = max(1, min(TIE_PRECISION, INT_LIMIT // max(top, 1)))
    return [max(1, round(w * precision * low / u)) for w, u in zip(joint.weights, units)]


def regret_scale(joint: JointProblem) -> int:
    """The CP-SAT regret scale: :data:`REGRET_SCALE`, less when objectives are so large that
    ``scale * objective`` would not fit in :data:`INT_LIMIT`."""
    top = max(_upper(joint, f) for f in range(len(joint.futures)))
    return max(1, min(REGRET_SCALE, INT_LIMIT // max(top, 1)))


def _cpsat_model(joint: JointProblem, refs: list[int], phase: int, r_cap: int | None, hint: tuple[int, ...] | None,
                 scale: int) -> tuple[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar | None]:
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{j}") for j in range(len(joint.keys))]
    for j in joint.blocked:
        m.add(x[j] == 0)
    objs = []
    for f, fp in enumerate(joint.futures):
        shared = joint.shared_of(f)
        values = hint_values(fp.problem, joint.chosen_in(f, hint)) if hint is not None else None
        obj = add_problem(m, fp.problem, [x[shared[d]] for d in range(len(shared))], prefix=f"f{f}_",
                          hint=values, hint_decisions=False).objective()
        m.add(obj >= refs[f])  # valid (refs are optima or bounds), and it tightens the relaxation
        objs.append(obj)
    expected = cp_model.LinearExpr.weighted_sum(objs, objective_weights(joint))
    r = None
    if joint.rule == "min_max_regret":
        r_ub = max(0, max(math.ceil(scale * (_upper(joint, f) - refs[f]) / max(refs[f], REGRET_FLOOR)) for f in range(len(refs))))
        r = m.new_int_var(0, r_ub if r_cap is None else min(r_cap, r_ub), "R")
        for f, obj in enumerate(objs):
            m.add(scale * obj - max(refs[f], REGRET_FLOOR) * r <= scale * refs[f])
        if hint is not None and r_cap is not None:
            m.add_hint(r, min(r_cap, r_ub))
    if r is not None and phase == 1:
        m.minimize(r)
    else:
        m.minimize(expected)
    if hint is not None:
        for j, v in enumerate(x):
            m.add_hint(v, j in hint)
    return m, x, r


def _regret_units(joint: JointProblem, refs: list[int], plan: tuple[int, ...], scale: int) -> int | None:
    """A plan's worst regret in CP-SAT's units (rounded up), ``None`` if it does not fit."""
    worst = 0
    for f in range(len(joint.futures)):
        obj = joint.objective_in(f, plan)
        if obj is None:
            return None
        worst = max(worst, -((-scale * (obj - refs[f])) // max(refs[f], REGRET_FLOOR)))
    return worst


def solve_cpsat(joint: JointProblem, refs: list[int], options: SolveOptions, hint: tuple[int, ...] | None) -> JointSolve:
    """The joint problem with CP-SAT (two phases for min-max regret, module docstring).

    Args:
        joint: the joint problem.
        refs: each future's optimum alone (integer objective; its bound when not proven).
        options: time limit (per phase), seed, workers.
        hint: a plan feasible in every future: every variable is hinted at it, it caps the
            regret, and it is returned when CP-SAT finds nothing better in time.
    """
    scale = regret_scale(joint)
    phases = (1, 2) if joint.rule == "min_max_regret" else (2,)
    plan, proven, bound, secs = hint, False, None, 0.0
    stopped: list[str] = []
    r_cap = _regret_units(joint, refs, hint, scale) if hint is not None else None
    for phase in phases:
        m, x, r = _cpsat_model(joint, refs, phase, r_cap, plan, scale)
        solver = cp_model.CpSolver()
        set_params(solver, options.time_limit_s, options.seed, options.workers)
        # the deterministic limit (from the time limit) ends the search; the joint model is
        # several futures' size, so its wall-clock safety net is wider
        solver.parameters.max_time_in_seconds = JOINT_SAFETY_NET * options.time_limit_s
        code = solver.solve(m)
        secs += solver.wall_time
        if code != cp_model.OPTIMAL and stopped_by_safety_net(solver):
            logger.info("joint CP-SAT phase %d: the wall-clock safety net (%.0f s), not the work limit, ended the search",
                        phase, solver.parameters.max_time_in_seconds)
            stopped.append("wall_clock")
        elif code in (cp_model.FEASIBLE, cp_model.UNKNOWN):
            stopped.append("work_limit")
        logger.info("joint CP-SAT phase %d: %s, objective %s, bound %s, %.2f s", phase, solver.status_name(code),
                    solver.objective_value if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None,
                    solver.best_objective_bound, solver.wall_time)
        if code == cp_model.INFEASIBLE and plan is None:
            return JointSolve(None, True, None, secs, combine_stopped_by(*stopped))
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            plan = tuple(j for j, v in enumerate(x) if solver.value(v))
        if phase == 1:
            proven = code == cp_model.OPTIMAL
            # R is the regret rounded up to 1 / scale: the true optimum is at least R_lb - 1
            bound = max(0.0, solver.best_objective_bound - 1) / scale
            r_cap = _regret_units(joint, refs, plan, scale) if plan is not None else None
        elif joint.rule == "expected":
            proven = code == cp_model.OPTIMAL
            bound = solver.best_objective_bound / sum(joint.weights)
        if plan is None:
            break
    return JointSolve(plan, proven, bound, secs, combine_stopped_by(*stopped))


def _cbc_model(joint: JointProblem, refs: list[int], phase: int,
               r_cap: float | None) -> tuple[pulp.LpProblem, list[pulp.LpVariable], pulp.LpVariable | None]:
    lp = pulp.LpProblem("siteopt_futures", pulp.LpMinimize)
    # integer 0..1 (a binary's bounds cannot be narrowed): blocked decisions are fixed at 0
    x = [pulp.LpVariable(f"x{j}", lowBound=0, upBound=0 if j in joint.blocked else 1, cat=pulp.LpInteger)
         for j in range(len(joint.keys))]
    objs = []
    for f, fp in enumerate(joint.futures):
        shared = joint.shared_of(f)
        objs.append(add_lp_problem(lp, fp.problem, [x[shared[d]] for d in range(len(shared))], prefix=f"f{f}_"))
    r = None
    if joint.rule == "min_max_regret":
        r = pulp.LpVariable("R", lowBound=0, upBound=r_cap)
        for f, obj in enumerate(objs):
            ref = max(refs[f], REGRET_FLOOR)
            lp += (1.0 / ref) * obj - refs[f] / ref <= r, f"regret{f}"
    if r is not None and phase == 1:
        lp += r
    else:
        low = min(joint.units_per_weighted_m)
        lp += pulp.lpSum(w * low / u * o for w, u, o in zip(joint.weights, joint.units_per_weighted_m, objs))
    return lp, x, r


def solve_cbc(joint: JointProblem, refs: list[int], options: SolveOptions, exact_regret: Callable[[tuple[int, ...]], float],
              hint: tuple[int, ...] | None = None) -> JointSolve:
    """The joint problem with CBC (same phases as :func:`solve_cpsat`).

    Args:
        joint: the joint problem.
        refs: each future's optimum alone.
        options: time limit (per phase), seed, workers.
        exact_regret: plan -> its exact worst regret as a fraction (caps phase 2).
        hint: a plan feasible in every future: CBC's MIP start, and the answer when CBC
            finds nothing in time.
    """
    phases = (1, 2) if joint.rule == "min_max_regret" else (2,)
    plan: tuple[int, ...] | None = hint
    proven, bound, secs = False, None, 0.0
    stopped: list[str] = []
    r_cap = exact_regret(hint) + 1e-9 if hint is not None and joint.rule == "min_max_regret" else None
    for phase in phases:
        lp, x, r = _cbc_model(joint, refs, phase, r_cap)
        if plan is not None:
            for j, v in enumerate(x):
                v.setInitialValue(1 if j in plan else 0)
        # the node limit (the work limit, as for a single scenario) shapes the answer; the
        # wall clock is the safety net
        net, t_cbc = wall_clock_net_s(options.time_limit_s), time.perf_counter()
        log = run_cbc(lp, net, options.seed, options.workers, plan is not None,
                      max_nodes=max(1, round(options.time_limit_s * NODES_PER_SECOND)))
        secs += float(lp.solutionTime or 0.0)
        st, sol = pulp.LpStatus[lp.status], lp.sol_status
        outcome = cbc_outcome(log)
        logger.info("joint CBC phase %d: %s (solution %s, %s)", phase, st, sol, outcome)
        found = has_incumbent_in(lp, log) and st != "Infeasible"
        done = outcome == "optimal" or (outcome == "other" and sol == pulp.LpSolutionOptimal)
        # "Pre-processing says infeasible" when the safety net ends CBC's preprocessing is no
        # proof (as in cbc.solve): only CBC's own result or a search that ended before the net
        infeasible = st == "Infeasible" and (outcome == "infeasible" or time.perf_counter() - t_cbc < net)
        if infeasible and plan is None:
            return JointSolve(None, True, None, secs, combine_stopped_by(*stopped))
        if not infeasible and not done:
            stopped.append(stopped_by_of_log(log))
        if not found:
            if plan is None:
                break
            continue  # keep the start; nothing proven
        found_plan = tuple(j for j, v in enumerate(x) if (v.value() or 0) > 0.5)
        exact = float(exact_regret(found_plan)) if joint.rule == "min_max_regret" else 0.0
        if not math.isfinite(exact):
            continue
        plan = found_plan
        if phase == 1:
            proven = done
            bound = min(exact, float(pulp.value(lp.objective) or 0.0)) if done else None
            r_cap = exact + 1e-9
        elif joint.rule == "expected":
            proven = done
            bound = float(pulp.value(lp.objective) or 0.0) / sum(joint.weights) if done else None
    return JointSolve(plan, proven, bound, secs, combine_stopped_by(*stopped))
