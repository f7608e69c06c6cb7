"""How much the objective's integer weights can change which layout is best.

CP-SAT needs integer coefficients, so every weight ``w`` of the objective is stored as
``q = round(w * s)`` (``s``: :attr:`Problem.weight_scale` ``["all"]``, the largest weight at
``solver.weight_levels``; a positive weight that would round to 0 is 1). A layout that is
optimal for the rounded weights need not be optimal for the exact ones. This module bounds the
difference for the chosen layout ``L``:

For a client (one walking term, or several merged ones with the same routes) ``p`` let
``D_p = s * w_p - q_p``. If ``L`` is optimal for the rounded weights and ``L*`` for the exact
ones, their exact objectives differ by at most ``sum_p D_p * (len_p(L) - len_p(L*)) / s``; each
length lies between the client's shortest level and its base, so the sum is at most
``sum_p [D_p > 0: D_p * (len_p(L) - shortest_p); D_p < 0: -D_p * (longest_p - len_p(L))] / s``.
``D_p`` is known exactly when the scenario's weights are given (:func:`exact_weights`); else
``|D_p|`` is at most 1/2 per client summed into ``p`` (1 where a weight of 1 may have been raised
from near 0) and the worse side is taken. Penalties (a firm outside every catchment) add at
most 1/2 unit each, those rounded to 0 too (their exact weight is below 1/2, not 0). The bound
holds whatever the exact weights were, so it is reported as "at most", on top of the solve's own
gap. It needs ``L`` to be (within that gap) the rounded optimum of this one problem: a futures
run's plan is chosen for all futures at once (:func:`combined` bounds the expected objective).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optimiser.inputs.domain import Scenario
from optimiser.model.build import term_weights
from optimiser.model.clients import WeightScale
from optimiser.model.problem import ClientKey, Problem
from optimiser.model.transforms import MERGED_KEYS


@dataclass(frozen=True)
class WeightRounding:
    """The rounding of the objective's weights and its largest possible effect.

    Attributes:
        weight_levels: integer units of the largest weight; ``None`` when the weights are
            whole numbers as given (a transit-only objective counts employees) and nothing is
            rounded.
        max_gain_weighted_m: the most a layout could improve on the chosen one's objective with
            the exact weights, in weighted metres (on top of the solve's own gap).
        max_gain_pct: the same, in per cent of the chosen layout's objective (``None`` when that
            objective is 0).
    """

    weight_levels: int | None
    max_gain_weighted_m: float
    max_gain_pct: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The ``metrics.json`` form (``model.weight_rounding``): metres to 3 decimals (4 figures
        when smaller), the percentage to 4 figures, rounded up: a bound written shorter must stay
        a bound (0.0004 m was written 0.0)."""
        gain, pct = self.max_gain_weighted_m, self.max_gain_pct
        return {"weight_levels": self.weight_levels, "max_gain_weighted_m": _rounded_up(gain, max(3, _decimals(gain))),
                "max_gain_pct": None if pct is None else _rounded_up(pct, _decimals(pct))}


def _decimals(x: float, significant: int = 4) -> int:
    """Decimals that keep ``significant`` figures of ``x``."""
    return significant - 1 - math.floor(math.log10(abs(x))) if x and math.isfinite(x) else 0


def _rounded_up(x: float, decimals: int) -> float:
    """``x`` rounded up at ``decimals`` (never below ``x``)."""
    if not math.isfinite(x):
        return x
    r = round(x, decimals)
    return r if r >= x else round(r + 10.0 ** -decimals, max(decimals, 0))


def exact_weights(scenario: Scenario, per_unit: float) -> dict[str, float]:
    """Every walking term's exact weight in integer units (``w * s``), by client key text
    (:func:`~optimiser.model.build.term_weights` at ``per_unit``)."""
    ids = [f.id for f in scenario.site.firms]
    pairs, pair_w, per_firm = term_weights(scenario)
    out = {str(ClientKey.pair(ids[a], ids[b])): v for (a, b), v in zip(pairs, (pair_w * per_unit).tolist())}
    for access_type, w in per_firm:
        for fid, v in zip(ids, (w * per_unit).tolist()):
            out[str(ClientKey.social(fid) if access_type is None else ClientKey.access(access_type, fid))] = v
    soc = scenario.social_spaces  # a firm outside every social space's coverage: its penalty (terms.py)
    if soc is not None and soc.coverage == "weighted" and soc.coverage_weight > 0:
        scale = scenario.solver.length_scale_per_m
        for f in scenario.site.firms:
            out[f"uncovered:{f.id}"] = f.employees * soc.coverage_weight * scale * per_unit
    return out


_AS_SCALED = WeightScale(1.0)
"""The objective's rounding rule for weights already in integer units (:func:`exact_weights`)."""


def _client_gain(weight: int, keys: tuple[ClientKey | str, ...], exact: Mapping[str, float] | None,
                 up: int, down: int) -> float:
    """The client's share of the bound (weight units x length units): ``up`` is how much shorter
    its walk could be than now, ``down`` how much longer."""
    vals = [exact.get(str(k)) for k in keys] if exact is not None else []
    known = np.array([v for v in vals if v is not None], dtype=float)
    if vals and len(known) == len(vals) and int(_AS_SCALED.to_int(known).sum()) == weight:
        d = float(known.sum()) - weight
        return d * up if d > 0 else -d * down
    per_part = 0.5 if len(keys) == 1 and weight > 1 else 1.0  # a part of weight 1 may have been raised from near 0
    return len(keys) * per_part * max(up, down)


def weight_rounding(problem: Problem, chosen: Iterable[int], objective: float | None, weight_levels: int | None,
                    exact: Mapping[str, float] | None = None) -> WeightRounding:
    """The bound of the module docstring for the layout ``chosen``.

    Args:
        problem: the built problem.
        chosen: the chosen decision ids.
        objective: the chosen layout's objective (integer units), for the percentage.
        weight_levels: the scenario's ``solver.weight_levels``; ``None``: the weights were not
            rounded (the effect is 0).
        exact: :func:`exact_weights` of the scenario (``None``: each weight's rounding is only
            known to be within 1/2 unit).

    Returns:
        the rounding and its largest possible effect.
    """
    if weight_levels is None:
        return WeightRounding(None, 0.0, 0.0 if objective else None)
    open_options = problem.open_options(set(chosen))
    merged = problem.info.get(MERGED_KEYS, {})
    units = 0.0  # weight units x length units
    for i, c in enumerate(problem.clients):
        if c.weight <= 0 or not c.levels:
            continue
        longest = c.base if c.base is not None else c.levels[-1]
        now = c.length(open_options)
        now = longest if now is None else now
        units += _client_gain(c.weight, merged.get(i, (c.key,)), exact, now - c.levels[0], longest - now)
    per_m = problem.units_per_weighted_m
    gain_m = (units + 0.5 * len(problem.penalties)) / per_m  # a penalty of 0 may be up to 1/2 exactly
    pct = 100.0 * gain_m * per_m / objective if objective else None
    return WeightRounding(weight_levels, gain_m, pct)


def combined(parts: Sequence[WeightRounding], weights: Sequence[float], objective: float | None,
             units_per_weighted_m: float) -> WeightRounding:
    """The bound for a plan chosen by its weighted mean objective over several problems in the
    same units (a futures run's ``expected`` rule): the weighted mean of each problem's bound for
    the plan there. The mean's exact gain is the weighted mean of each problem's exact terms,
    and the plan minimises the mean of the rounded objectives, so the docstring's argument holds
    term by term.

    Args:
        parts: :func:`weight_rounding` of every problem for the plan.
        weights: the problems' weights (probabilities), as the mean takes them.
        objective: the plan's weighted mean objective (integer units), for the percentage.
        units_per_weighted_m: the problems' shared :attr:`Problem.units_per_weighted_m`.
    """
    levels = next((r.weight_levels for r in parts if r.weight_levels is not None), None)
    total = float(sum(weights))
    gain_m = sum(w * r.max_gain_weighted_m for w, r in zip(weights, parts, strict=True)) / total if total > 0 else 0.0
    pct = 100.0 * gain_m * units_per_weighted_m / objective if objective else None
    return WeightRounding(levels, gain_m, pct)


def exact_objective(problem: Problem, chosen: Iterable[int], exact: Mapping[str, float] | None) -> float:
    """A layout's objective with the exact weights (:func:`exact_weights`, in integer units), in
    the problem's integer units as :meth:`Problem.objective_of` (a float): each client's rounded
    weight replaced by its exact one where every term merged into it is known (else kept), and
    each social-coverage penalty's by its exact one (the transit coverage penalties count staff,
    whole); with ``exact`` ``None`` this is the integer objective."""
    chosen = set(chosen)
    lengths, rounded_penalty = problem.lengths_of(chosen)
    penalty = (float(rounded_penalty) if exact is None else
               sum(exact.get(p.key, float(p.weight)) for p in problem.unlifted(problem.open_options(chosen))))
    merged = problem.info.get(MERGED_KEYS, {})
    total = 0.0
    for i, (c, length) in enumerate(zip(problem.clients, lengths, strict=True)):
        vals = [exact.get(str(k)) for k in merged.get(i, (c.key,))] if exact is not None else []
        known = [v for v in vals if v is not None]
        weight = float(sum(known)) if vals and len(known) == len(vals) else float(c.weight)
        total += weight * length
    return total + penalty
