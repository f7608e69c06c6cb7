"""One plan for several futures (:mod:`optimiser.model.futures`): each future solved alone for
its optimum, then one joint model (:mod:`optimiser.solve.robust_models`) for the plan that
minimises the worst regret, or the expected objective, over every future.

A future's regret is ``100 * (plan's objective there - its optimum alone) / optimum`` per
cent. Regrets are measured against each future's optimum alone when it is proven; otherwise
against the best objective known for that future (its solve's incumbent, or a better plan
found here), and the result is "feasible" with that future's gap, never "optimal".
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from optimiser.inputs.domain import SolveOptions
from optimiser.model.futures import JointProblem, objective_unit, regret_pct
from optimiser.model.rounding import exact_objective, exact_weights
from optimiser.solve.result import SolveResult, Status, combine_stopped_by, relative_gap
from optimiser.solve.robust_models import JointSolve, solve_cbc, solve_cpsat
from optimiser.solve.strategy import solve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RobustResult:
    """What :func:`solve_futures` found.

    Attributes:
        rule: "min_max_regret" or "expected".
        status: "optimal" (the plan is proven best for the rule and every future's optimum
            is proven), "feasible", "infeasible" (no plan fits every future) or "unknown".
        plan: the chosen plan decisions (indices into ``JointProblem.keys``), sorted.
        objectives: the plan's integer objective in each future (``None`` without a plan).
        optima: each future's optimum alone (best known when not proven), integer units.
        alone: each future's own solve.
        alone_plans: each future's own optimal plan, as plan decisions.
        value: the rule's value of the plan (worst regret in per cent, or the weighted mean
            objective in integer units); ``None`` without a plan.
        bound: a proven lower bound on that value (same units), ``None`` if none.
        gap: value - bound (per cent points for regret; relative for expected).
        solve_seconds: wall seconds of every solve.
        backend: the backend.
        message: one line for humans.
        conflicts: why no plan exists, by future.
        stopped_by: what ended a search that did not finish, the futures' own and the joint
            one (:func:`~optimiser.solve.result.combine_stopped_by`): ``work_limit`` (the same
            answer on any machine) or ``wall_clock``; ``None`` when every search finished.
    """

    rule: str
    status: Status
    plan: tuple[int, ...]
    objectives: tuple[int | None, ...]
    optima: tuple[float, ...]
    alone: tuple[SolveResult, ...]
    alone_plans: tuple[tuple[int, ...], ...]
    value: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    backend: str
    message: str
    conflicts: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    stopped_by: str | None = None

    @property
    def regrets_pct(self) -> list[float | None]:
        """The plan's regret in each future, per cent."""
        return [None if o is None else regret_pct(o, opt) for o, opt in zip(self.objectives, self.optima)]


def alternatives(joint: JointProblem, res: RobustResult) -> list[dict[str, float | None]]:
    """Each future's own optimal plan scored in every future on the model's rounded weights:
    regret per cent, ``None`` where that plan cannot be built or breaks a constraint (list in
    future order). A run reports :func:`exact_figures`' ``alternatives`` instead (exact weights)."""
    out = []
    for plan in res.alone_plans:
        row: dict[str, float | None] = {}
        for f, name in enumerate(joint.names):
            obj = joint.objective_in(f, plan)
            row[name] = None if obj is None else regret_pct(obj, res.optima[f])
        out.append(row)
    return out


@dataclass(frozen=True)
class ExactFigures:
    """A plan's figures re-scored with the exact (unrounded) weights, in each future's integer
    units (floats): its objective in every future (``None`` where it does not fit), each
    future's best known optimum (the least of its own plan and every plan met), the regrets, and
    each future's own plan scored in every future (:func:`alternatives`, exact)."""

    objectives: tuple[float | None, ...]
    optima: tuple[float, ...]
    alternatives: tuple[dict[str, float | None], ...] = ()

    @property
    def regrets_pct(self) -> list[float | None]:
        """The plan's regret in each future, per cent."""
        return [None if o is None else regret_pct(o, opt) for o, opt in zip(self.objectives, self.optima)]


def exact_figures(joint: JointProblem, res: RobustResult) -> ExactFigures:
    """``res``'s plan and the futures' own plans scored with the exact weights
    (:func:`~optimiser.model.rounding.exact_objective`): what a plan chosen on rounded weights
    costs in each future, as the figures of a futures run report it (today's 5-staff firms beside
    a future of 5,000-staff ones were shown at 54 times their cost)."""
    weights = [None if fp.scenario.transit is not None and fp.scenario.transit.exclusive  # employees, nothing rounded
               else exact_weights(fp.scenario, fp.problem.weight_scale["all"]) for fp in joint.futures]

    def score(f: int, plan: tuple[int, ...]) -> float | None:
        if not joint.feasible_in(f, plan):
            return None
        return exact_objective(joint.futures[f].problem, joint.chosen_in(f, plan), weights[f])

    n = len(joint.futures)
    scores = {p: [score(f, p) for f in range(n)] for p in (res.plan, *res.alone_plans)}
    optima: list[float] = []
    for f in range(n):
        known = [x for v in scores.values() if (x := v[f]) is not None]
        optima.append(min(known) if known else math.nan)
    alts = tuple({name: None if (o := scores[p][f]) is None else regret_pct(o, optima[f])
                  for f, name in enumerate(joint.names)} for p in res.alone_plans)
    return ExactFigures(tuple(scores[res.plan]), tuple(optima), alts)


def exact_message(joint: JointProblem, res: RobustResult, exact: ExactFigures) -> str:
    """The robust plan's one line with its exact figures (:func:`exact_figures`): the worst
    regret, or the expected objective, with the exact weights; and, where the joint model's own
    value on its rounded weights differs, that value, to which the bound and gap refer."""
    if res.value is None:
        return res.message
    units = joint.units_per_weighted_m
    objs = exact.objectives
    if joint.rule == "min_max_regret":
        regrets = [r for r in exact.regrets_pct if r is not None]
        value, model = (max(regrets) if regrets else math.nan), res.value
        text, model_text = f"worst regret {value:.3f}%", f"{model:.3f}%"
    else:
        mean = (sum(w * float(o) / u for w, o, u in zip(joint.weights, objs, units) if o is not None)
                / sum(joint.weights))
        unit = objective_unit(joint.futures[0].scenario)
        value, model = mean, res.value / units[0]
        text, model_text = f"expected objective {value:,.0f} {unit}", f"{model:,.0f} {unit}"
    head = f"robust plan ({joint.rule}): {text} with the exact weights"
    tail = res.message.split("; ", 1)[1] if "; " in res.message else ""
    same = f"{value:.3f}" == f"{model:.3f}" if joint.rule == "min_max_regret" else round(value) == round(model)
    if not same:
        tail = f"on the model's rounded weights {model_text}, " + tail
    return f"{head}; {tail}" if tail else head


def _value(joint: JointProblem, plan: tuple[int, ...], optima: list[float]) -> float | None:
    objs = [joint.objective_in(f, plan) for f in range(len(joint.futures))]
    if any(o is None for o in objs):
        return None
    return joint.value([int(o) for o in objs if o is not None], optima)


def _fraction(value_pct: float | None) -> float:
    """A worst regret in per cent as a fraction (infinite for a plan that does not fit)."""
    return math.inf if value_pct is None else value_pct / 100.0


def drop_unneeded(joint: JointProblem, plan: tuple[int, ...]) -> tuple[int, ...]:
    """The plan without decisions no future needs: each, dearest first, is dropped when the
    plan stays feasible everywhere and no future's objective rises."""
    objs = [joint.objective_in(f, plan) for f in range(len(joint.futures))]
    cost = {k: max(fp.problem.decisions[where[k]].cost for fp, where in zip(joint.futures, joint.decision_in)
                   if k in where) for k in plan}
    cur = set(plan)
    for k in sorted(plan, key=lambda j: (-cost[j], j)):
        trial = tuple(sorted(cur - {k}))
        tobjs = [joint.objective_in(f, trial) for f in range(len(joint.futures))]
        if all(t is not None and o is not None and t <= o for t, o in zip(tobjs, objs)):
            cur, objs = set(trial), tobjs
    return tuple(sorted(cur))


def _no_plan(joint: JointProblem, alone: list[SolveResult], secs: float, backend: str, why: str,
             status: Status, conflicts: tuple[str, ...] = (), joint_stopped_by: str | None = None) -> RobustResult:
    optima = tuple(float(r.objective) if r.objective is not None else math.nan for r in alone)
    plans = tuple(joint.plan_of(f, r.chosen) for f, r in enumerate(alone))
    return RobustResult(joint.rule, status, (), tuple(None for _ in alone), optima, tuple(alone), plans, None, None, None,
                        secs, backend, why, conflicts,
                        stopped_by=combine_stopped_by(joint_stopped_by, *(r.stopped_by for r in alone)))


def solve_futures(joint: JointProblem, options: SolveOptions) -> RobustResult:
    """Choose one plan for every future of ``joint`` by its rule (module docstring).

    Args:
        joint: the futures' problems over shared plan decisions.
        options: backend, strategy, time limit (each solve's), seed, workers.

    Returns:
        A complete :class:`RobustResult`.
    """
    t0 = time.perf_counter()
    alone = [solve(fp.problem, options) for fp in joint.futures]
    for fp, r in zip(joint.futures, alone):
        logger.info("future %s alone: %s, objective %s", fp.name, r.status, r.objective)
    if any(not r.status.has_solution for r in alone):
        bad = [(fp.name, r) for fp, r in zip(joint.futures, alone) if not r.status.has_solution]
        # "in future cut: the budget (...) is below ...", not "cut: the budget": a future's name is any id
        conflicts = tuple(f"in future {name}: {c}" for name, r in bad for c in (r.conflicts or (r.message,)))
        status = Status.INFEASIBLE if any(r.status is Status.INFEASIBLE for _, r in bad) else Status.UNKNOWN
        return _no_plan(joint, alone, time.perf_counter() - t0, options.backend,
                        "no plan: " + "; ".join(f"future {n} has no layout ({r.message})" for n, r in bad), status, conflicts)
    plans = [joint.plan_of(f, r.chosen) for f, r in enumerate(alone)]
    refs = [int(round(r.objective)) if r.status is Status.OPTIMAL or r.bound is None  # type: ignore[arg-type]
            else int(math.floor(r.bound)) for r in alone]
    starts = [(v, p) for p in plans if (v := _value(joint, p, [float(x) for x in refs])) is not None]
    hint = min(starts)[1] if starts else None

    def regret(plan: tuple[int, ...]) -> float:
        return _fraction(_value(joint, plan, [float(x) for x in refs]))

    if hint is None and joint.rule == "min_max_regret":
        # no future's own plan fits every future: the expected-objective plan is a start
        expected = dataclasses.replace(joint, rule="expected")
        hint = (solve_cbc(expected, refs, options, regret) if options.backend == "cbc"
                else solve_cpsat(expected, refs, options, None)).plan
    if options.backend == "cbc":
        js = solve_cbc(joint, refs, options, regret, hint)
    else:
        js = solve_cpsat(joint, refs, options, hint)
    return _result(joint, options, alone, plans, refs, js, time.perf_counter() - t0)


def _result(joint: JointProblem, options: SolveOptions, alone: list[SolveResult], plans: list[tuple[int, ...]],
            refs: list[int], js: JointSolve, secs: float) -> RobustResult:
    """The result of a joint solve: the plan's exact objectives, regrets against the best
    known optima, bound and gap in the rule's units."""
    if js.plan is None or any(joint.objective_in(f, js.plan) is None for f in range(len(joint.futures))):
        status = Status.INFEASIBLE if js.proven else Status.UNKNOWN
        why = "no plan can be built in every future and meet each future's constraints"
        return _no_plan(joint, alone, secs, options.backend, why if js.proven else "no plan found within the time limit",
                        status, (why,) if status is Status.INFEASIBLE else (), js.stopped_by)
    plan = drop_unneeded(joint, js.plan)
    objs = [int(joint.objective_in(f, plan) or 0) for f in range(len(joint.futures))]
    # the best known optimum of each future: its own solve, or a better plan met here
    optima = [float(r.objective) for r in alone]  # type: ignore[arg-type]
    for f in range(len(joint.futures)):
        for p in [plan, *plans]:
            o = joint.objective_in(f, p)
            if o is not None and o < optima[f]:
                optima[f] = float(o)
    value = joint.value(objs, optima)
    every_proven = all(r.status is Status.OPTIMAL for r in alone)
    if joint.rule == "min_max_regret":
        bound = 100.0 * js.bound if js.bound is not None and every_proven else None
        gap = max(0.0, value - bound) if bound is not None else None
    else:
        bound = js.bound
        gap = relative_gap(value, bound)
    status = Status.OPTIMAL if js.proven and every_proven else Status.FEASIBLE
    p0 = joint.futures[0].problem
    per_m = p0.units_per_weighted_m
    unit = (f"worst regret {value:.3f}%" if joint.rule == "min_max_regret"
            else f"expected objective {value / per_m:,.0f} {objective_unit(joint.futures[0].scenario)}")
    if gap is None:
        open_text = ""
    elif joint.rule == "min_max_regret":  # bound and gap in percentage points of regret, not a relative gap
        open_text = f" (best bound on the worst regret {bound:.3f}%, {gap:.3g} percentage points below it)"
    else:
        open_text = f" (relative gap {100 * gap:.3g}%)"
    msg = f"robust plan ({joint.rule}): {unit}; " + ("proven optimal" if status is Status.OPTIMAL else "not proven optimal" + open_text)
    if not every_proven:
        msg += "; futures not proven optimal alone: " + ", ".join(n for n, r in zip(joint.names, alone) if r.status is not Status.OPTIMAL)
    logger.info(msg)
    stopped_by = None if status is Status.OPTIMAL else combine_stopped_by(js.stopped_by, *(r.stopped_by for r in alone))
    return RobustResult(joint.rule, status, plan, tuple(objs), tuple(optima), tuple(alone), tuple(plans), value, bound, gap,
                        secs, options.backend, msg, (), {"joint_seconds": round(js.seconds, 3), "refs": refs}, stopped_by)
