"""One plan for several futures: the futures' problems over one shared set of decisions.

Each future is a whole scenario (its own site changes, layers, budget); its problem is built
as usual (:func:`optimiser.model.build.build_problem`, on the weight scale
:func:`future_weight_scales` gives it: one for every future under ``expected``, so objectives
share units; under ``min_max_regret`` a finer one for a future of much smaller weights, as a
regret is a ratio within one future). A decision is shared across futures by what it builds, not
by its key: candidate site keys number the sites that fit, so a no-build corridor in one
future renumbers them. The plan key of a site is its kind, type and centre; of a crossing its
barrier, type and centre line.

A plan decision absent from a future is:

- *blocked* (never chosen) when it is a site, or a crossing of a barrier that future has: it
  cannot be built there, and the plan must be feasible in every future;
- *not applicable* there when it is a crossing of a barrier that future does not have (an HS2
  crossing in a future without HS2): it is built only if its barrier comes, so it costs and
  changes nothing in that future.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from optimiser.inputs.domain import MAX_WEIGHT_LEVELS, RobustRule, Scenario
from optimiser.model.build import objective_weight_scale
from optimiser.model.clients import WeightScale
from optimiser.model.problem import Problem, ProblemContext, crossing_of_decision

logger = logging.getLogger(__name__)

PROBABILITY_DENOMINATOR = 10_000
"""Probabilities are read in units of 1 / this (0.0001), one common denominator, so the
expected objective has exact integer weights of at most this size (a probability below one
unit weighs one unit)."""


@dataclass
class FutureProblem:
    """One future's built problem.

    Attributes:
        name: the future's name.
        probability: its probability, ``None`` when not given.
        problem, context: its problem and what it was built from.
    """

    name: str
    probability: float | None
    problem: Problem
    context: ProblemContext

    @property
    def scenario(self) -> Scenario:
        """The future's scenario."""
        return self.context.scenario


def plan_keys(problem: Problem, ctx: ProblemContext) -> list[str]:
    """The plan key of every decision of a problem (module docstring), in decision order."""
    crossings = crossing_of_decision(ctx)
    sites = {s.key: s for s in ctx.facility_sites + ctx.social_sites + ctx.stop_sites}
    out = []
    for i, d in enumerate(problem.decisions):
        if d.kind == "crossing":
            c = crossings[i]
            ends = ";".join(f"{x:.1f},{y:.1f}" for x, y in c.line.coords)
            out.append(f"crossing:{c.barrier_id}:{c.type}:{ends}")
        else:
            s = sites[d.key]
            out.append(f"{d.kind}:{s.type}:{s.point.x:.1f},{s.point.y:.1f}")
    return out


def objective_unit(scenario: Scenario) -> str:
    """The unit a future's objective is shown in (integer objective / length and weight scale):
    the staff left outside every catchment for transit ``max_coverage`` (its whole objective),
    else weighted metres."""
    if scenario.transit is not None and scenario.transit.objective == "max_coverage":
        return "staff outside every catchment"
    return "weighted m"


def integer_weights(probabilities: Iterable[float | None]) -> list[int]:
    """Integer weights proportional to the futures' probabilities (all 1 when none is given):
    each probability in units of ``1 / PROBABILITY_DENOMINATOR`` (at least one unit), over
    their greatest common divisor. (Each probability used to be rounded to a fraction of
    denominator up to 1,000 on its own: 0.0001 became 0, then 1 over a gcd of 500, so
    probabilities 0.0001 / 0.4999 / 0.5 weighed equally.)"""
    probs = list(probabilities)
    if not probs or any(p is None for p in probs):
        return [1] * len(probs)
    ints = [max(1, round(p * PROBABILITY_DENOMINATOR)) for p in probs if p is not None]
    g = math.gcd(*ints)
    return [v // g for v in ints]


LEVELS_KEPT = 10
"""Every future's weights keep at least a tenth of ``solver.weight_levels`` for its own largest
weight (:func:`future_weight_scales`), as far as :data:`MAX_WEIGHT_LEVELS` allows."""


def future_weight_scales(scenarios: list[Scenario], rule: RobustRule) -> list[WeightScale]:
    """The integer weight scale of each future's objective.

    The shared scale puts the largest weight of any future at ``solver.weight_levels``; a
    future whose own largest weight it would put below a tenth of the levels
    (:data:`LEVELS_KEPT`) is too coarse on it: today's small firms beside a future in which two
    grow to 5,000 staff rounded to one level alike.

    - ``min_max_regret``: a regret is a ratio within one future, so such a future gets a finer
      scale of its own; futures of one size keep the shared scale (the joint model is easiest on
      one scale).
    - ``expected`` adds the futures' objectives up, so every future keeps one scale (the sum is
      then exact in integers), made as fine as the smallest future needs: its largest weight at a
      tenth of the levels or more, and no weight of any future above :data:`MAX_WEIGHT_LEVELS`
      (as ``solver.weight_levels`` allows for one scenario). On the shared scale both crossings of
      the small firms' site weighed one level per pair and tied, and the plan was the wrong one
      of the two by the exact expected cost (``model.weight_rounding`` bounded it at 4.6 %).
    """
    own = [objective_weight_scale(s).per_unit for s in scenarios]
    shared = min(own)
    if rule == "expected":
        levels = max(s.solver.weight_levels for s in scenarios)
        fine = min(max(shared, max(own) / LEVELS_KEPT), shared * MAX_WEIGHT_LEVELS / levels)
        return [WeightScale(max(shared, fine)) for _ in own]
    return [WeightScale(max(shared, k / LEVELS_KEPT)) for k in own]


REGRET_FLOOR = 1
"""The least denominator of a regret, in integer objective units: a future whose optimum is 0
(a transit ``max_coverage`` future in which every employee can be covered) has its regret in
per cent of one unit (one employee left uncovered is 100 %), not an undefined or infinite
per cent of 0 (every plan short of that future's optimum would be equally, infinitely bad)."""


def regret_pct(objective: float, optimum: float) -> float:
    """A plan's regret in a future: ``100 * (objective - optimum) / max(optimum, 1)`` (per
    cent; integer objective units, :data:`REGRET_FLOOR`)."""
    return 100.0 * (objective - optimum) / max(optimum, REGRET_FLOOR)


@dataclass
class JointProblem:
    """Several futures' problems over one shared set of plan decisions.

    Attributes:
        futures: the futures' problems, in scenario order.
        rule: "min_max_regret" or "expected".
        keys: the plan keys of the shared decisions (sorted).
        labels: a readable label per shared decision ("signalised parkway-sig-008").
        decision_in: per future, shared index -> that future's decision id.
        blocked: shared indices that may not be chosen (absent where they would be needed).
        weights: integer probability weights of the futures (:func:`integer_weights`).
    """

    futures: list[FutureProblem]
    rule: RobustRule
    keys: list[str]
    labels: list[str]
    decision_in: list[dict[int, int]]
    blocked: frozenset[int]
    weights: list[int]
    not_applicable: list[set[int]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The futures' names."""
        return [f.name for f in self.futures]

    def shared_of(self, f: int) -> list[int]:
        """Future ``f``'s decision id -> shared index, as a list in decision order."""
        out = [0] * len(self.futures[f].problem.decisions)
        for k, d in self.decision_in[f].items():
            out[d] = k
        return out

    def chosen_in(self, f: int, plan: Iterable[int]) -> tuple[int, ...]:
        """The decisions of future ``f`` a plan (shared indices) builds there (sorted)."""
        where = self.decision_in[f]
        return tuple(sorted(where[k] for k in plan if k in where))

    def plan_of(self, f: int, chosen: Iterable[int]) -> tuple[int, ...]:
        """The plan (shared indices, sorted) of future ``f``'s chosen decisions."""
        shared = self.shared_of(f)
        return tuple(sorted(shared[d] for d in chosen))

    def feasible_in(self, f: int, plan: Iterable[int]) -> bool:
        """Whether a plan can be built in future ``f`` and meets its every constraint."""
        plan = set(plan)
        where = self.decision_in[f]
        if any(k not in where and k not in self.not_applicable[f] for k in plan):
            return False
        return self.futures[f].problem.is_feasible(set(self.chosen_in(f, plan)))

    def objective_in(self, f: int, plan: Iterable[int]) -> int | None:
        """A plan's exact integer objective in future ``f``; ``None`` when infeasible there."""
        if not self.feasible_in(f, plan):
            return None
        return self.futures[f].problem.objective_of(set(self.chosen_in(f, plan)))

    @property
    def units_per_weighted_m(self) -> list[float]:
        """Each future's integer objective units per weighted metre: one for every future under
        ``expected`` (one weight scale, so objectives add up); under ``min_max_regret`` a finer
        one for a future of small firms beside one of grown firms (:func:`future_weight_scales`)."""
        return [fp.problem.units_per_weighted_m for fp in self.futures]

    def value(self, objectives: list[int], optima: list[float]) -> float:
        """The rule's value of a plan: its worst regret (per cent), or its probability-weighted
        mean objective (integer units, weights :attr:`weights` normalised)."""
        if self.rule == "expected":
            return sum(w * o for w, o in zip(self.weights, objectives)) / sum(self.weights)
        return max(regret_pct(o, opt) for o, opt in zip(objectives, optima))


def _label(problem: Problem, ctx: ProblemContext, i: int) -> str:
    d = problem.decisions[i]
    return d.label if d.kind == "crossing" else f"{d.label} ({d.key})"


def joint_problem(futures: list[FutureProblem], rule: RobustRule) -> JointProblem:
    """The futures' problems over one shared set of plan decisions (module docstring).

    Args:
        futures: every future's built problem (on :func:`future_weight_scales`'s scale).
        rule: how the plan is chosen.

    Returns:
        The joint problem.
    """
    keys_f = [plan_keys(fp.problem, fp.context) for fp in futures]
    labels: dict[str, str] = {}
    for fp, keys in zip(futures, keys_f):
        for i, k in enumerate(keys):
            labels.setdefault(k, _label(fp.problem, fp.context, i))
    keys = sorted(labels)
    index = {k: j for j, k in enumerate(keys)}
    decision_in = [{index[k]: i for i, k in enumerate(kf)} for kf in keys_f]
    not_applicable: list[set[int]] = []
    blocked: set[int] = set()
    for fp, where in zip(futures, decision_in):
        active = {b.id for b in fp.scenario.active_barriers}
        na = set()
        for j, k in enumerate(keys):
            if j in where:
                continue
            if k.startswith("crossing:") and k.split(":")[1] not in active:
                na.add(j)
            else:
                blocked.add(j)
        not_applicable.append(na)
    joint = JointProblem(futures, rule, keys, [labels[k] for k in keys], decision_in, frozenset(blocked),
                         integer_weights(fp.probability for fp in futures), not_applicable)
    logger.info("%d futures over %d plan decisions (%d blocked in some future)", len(futures), len(keys), len(blocked))
    return joint
