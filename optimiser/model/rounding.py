"""How much the objective's integer weights can change which layout is best.

CP-SAT needs integer coefficients, so every weight ``w`` of the objective is stored as
``q = round(w * s)`` (``s``: :attr:`Problem.weight_scale` ``["all"]``, the largest weight at
``solver.weight_levels``; a positive weight that would round to 0 is 1). A layout that is
optimal for the rounded weights need not be optimal for the exact ones. This module bounds the
difference, from the problem and the chosen layout alone:

For a client (one walking term) ``p`` with exact weight ``w_p`` and ``d_p = w_p - q_p / s``,
``|d_p| <= e_p / s`` with ``e_p = 1/2`` (``e_p = 1`` where ``q_p = 1``: the weight may have been
raised to 1). If ``L`` is optimal for the rounded weights and ``L*`` for the exact ones, their
exact objectives differ by at most ``sum_p d_p * (len_p(L) - len_p(L*))``; each length lies
between the client's shortest level and its base, so the sum is at most
``sum_p e_p / s * max(len_p(L) - shortest_p, longest_p - len_p(L))``. Penalties (a firm outside
every catchment) add at most ``e`` each (their weight already includes the length scale). The
bound holds whatever the exact weights were, so it is reported as "at most".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from optimiser.model.problem import Problem


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
        """The ``metrics.json`` form (``model.weight_rounding``)."""
        return {"weight_levels": self.weight_levels, "max_gain_weighted_m": round(self.max_gain_weighted_m, 3),
                "max_gain_pct": None if self.max_gain_pct is None else float(f"{self.max_gain_pct:.4g}")}


def _slack(weight: int) -> float:
    """The most ``|w * s - q|`` can be for an integer weight ``q`` (weight units)."""
    return 1.0 if weight == 1 else 0.5


def weight_rounding(problem: Problem, chosen: Iterable[int], objective: float | None, weight_levels: int | None) -> WeightRounding:
    """The bound of the module docstring for the layout ``chosen``.

    Args:
        problem: the built problem.
        chosen: the chosen decision ids.
        objective: the chosen layout's objective (integer units), for the percentage.
        weight_levels: the scenario's ``solver.weight_levels``; ``None``: the weights were not
            rounded (the effect is 0).

    Returns:
        the rounding and its largest possible effect.
    """
    if weight_levels is None:
        return WeightRounding(None, 0.0, 0.0 if objective else None)
    open_options = problem.open_options(set(chosen))
    units = 0.0  # weight units x length units
    for c in problem.clients:
        if c.weight <= 0 or not c.levels:
            continue
        longest = c.base if c.base is not None else c.levels[-1]
        now = c.length(open_options)
        now = longest if now is None else now
        units += _slack(c.weight) * max(now - c.levels[0], longest - now)
    per_m = problem.units_per_weighted_m
    gain_m = units / per_m + sum(_slack(q.weight) for q in problem.penalties if q.weight > 0) / per_m
    pct = 100.0 * gain_m * per_m / objective if objective else None
    return WeightRounding(weight_levels, gain_m, pct)
