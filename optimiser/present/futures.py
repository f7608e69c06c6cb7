"""The ``futures``, ``alternatives`` and ``robust`` sections of ``metrics.json`` (one plan for
several futures), and their tables for the report and the comparison page.

Objectives here are in weighted metres (the integer objective over the future's weight and
length scales: shared by the futures under ``expected``, each future's own under
``min_max_regret``); regrets are per cent of a future's optimum alone.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FutureResult(_Record):
    """One future under the robust plan.

    Attributes:
        name, probability: the future (probability ``None`` when not given).
        optimum_alone: the future's own optimum (weighted metres); best known when not proven.
        optimum_proven: whether that optimum is proven.
        with_plan: the robust plan's objective in this future (weighted metres).
        Both (and so ``regret_pct`` and ``gives_up``) are the plans re-scored with the exact
        weights (:func:`optimiser.solve.robust.exact_figures`), not the model's rounded ones.
        regret_pct: ``100 * (with_plan - optimum_alone) / optimum_alone`` (in integer objective
            units, an optimum of 0 counting as one: :func:`optimiser.model.futures.regret_pct`).
        gives_up: ``with_plan - optimum_alone`` (weighted metres): what the plan gives up here.
        verified: the plan's objective and constraints in this future rechecked by
            :mod:`optimiser.verify`.
        layers, overrides: the future's layers and the overrides that made it.
        not_built: plan items that do not apply in this future (a crossing of a barrier it
            does not have).
    """

    name: str
    probability: float | None = None
    optimum_alone: float | None = None
    optimum_proven: bool = False
    with_plan: float | None = None
    regret_pct: float | None = None
    gives_up: float | None = None
    verified: bool | None = None
    layers: dict[str, bool] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)
    not_built: list[str] = Field(default_factory=list)


class AlternativePlan(_Record):
    """A future's own optimal plan scored in every future (``None``: it cannot be built there
    or breaks a constraint)."""

    plan: str
    regret_pct: dict[str, float | None] = Field(default_factory=dict)
    worst_regret_pct: float | None = None
    items: list[str] = Field(default_factory=list)
    """The plan's items."""
    not_buildable: dict[str, list[str]] = Field(default_factory=dict)
    """Future -> the plan's items that cannot be built there (e.g. inside a no-build corridor)."""


class RobustSummary(_Record):
    """How the plan was chosen and how good it is.

    Attributes:
        rule: "min_max_regret" or "expected".
        worst_regret_pct: the plan's worst regret over the futures.
        expected_weighted_m: its probability-weighted objective (equal weights when none given).
        bound, gap: a proven lower bound on the rule's value (the worst regret in per cent
            for min_max_regret; the expected objective in weighted metres, as
            ``expected_weighted_m``, for expected) and value - bound (per cent points for
            min_max_regret, relative for expected); ``None`` when not proven.
        reference_future: the future whose layout, walks and checks the rest of metrics.json
            and the plans show.
        plan: the plan's items.
        message: one line for humans.
        objective_unit: the unit of the objectives (optimum alone, with the plan, gives up,
            expected): "weighted m", or "staff outside every catchment" when the objective is
            transit ``max_coverage`` (the staff left uncovered).
        model_value: the rule's value of the plan in the joint model, on its rounded integer
            weights (worst regret in per cent, or the expected objective in ``objective_unit``):
            what ``bound``, ``gap`` and "proven optimal" refer to. ``worst_regret_pct`` and
            ``expected_weighted_m`` are re-scored with the exact weights and may differ from it
            (``None`` in run directories written before it, or without a plan).
        item_names: each item of ``plan`` and of the alternatives (as ``plan`` names it) -> the
            human name the report's other tables use; the futures section shows those.
    """

    rule: str
    worst_regret_pct: float | None = None
    expected_weighted_m: float | None = None
    bound: float | None = None
    gap: float | None = None
    reference_future: str = ""
    plan: list[str] = Field(default_factory=list)
    message: str = ""
    objective_unit: str = "weighted m"
    model_value: float | None = None
    item_names: dict[str, str] = Field(default_factory=dict)


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _fmt_pct(x: float | None) -> str:
    return "not feasible" if x is None else f"{x:.2f}%"


def how_chosen(robust: RobustSummary, proven: bool | None = None) -> str:
    """How the plan was chosen and how good it is, in words for a reader of the report (the
    solver's ``message`` says "robust plan (min_max_regret): worst regret 4.250%; ...");
    ``proven``: the run's status is optimal (``None``: not said)."""
    if robust.rule == "min_max_regret":
        how = "chosen so that its worst regret over the futures is as small as possible"
        value = f"worst regret {_fmt_pct(robust.worst_regret_pct)}" if robust.worst_regret_pct is not None else ""
    else:
        how = "chosen for the best expected objective over the futures, weighted by their probabilities"
        exp = robust.expected_weighted_m
        value = f"expected {exp:,.0f} {robust.objective_unit}" if exp is not None else ""
    proof = {True: "proven optimal", False: "not proven optimal", None: ""}[proven]
    model = robust.model_value
    exact = robust.worst_regret_pct if robust.rule == "min_max_regret" else robust.expected_weighted_m
    if proof and model is not None and exact is not None:
        def shown(x: float) -> str:  # as the report writes it
            return _fmt_pct(x) if robust.rule == "min_max_regret" else f"{x:,.0f} {robust.objective_unit}"

        if shown(model) != shown(exact):  # said wherever the figures shown differ (a 0.5 % rule missed 4.25% / 4.26%)
            proof += f" on the model's rounded weights (there {shown(model)}; the figures here use the exact weights)"
    return how + "".join(f"; {bit}" for bit in (value, proof) if bit)


def futures_view(futures: list[FutureResult] | None, alternatives: list[AlternativePlan] | None,
                 robust: RobustSummary | None, proven: bool | None = None) -> dict[str, Any] | None:
    """The report's futures section: the regret table (per future: optimum alone, with the
    robust plan, what it gives up, regret) and the alternatives table (each future's own plan
    in every future). ``None`` for a run without futures. ``proven``: the run's status is
    optimal (:func:`how_chosen`)."""
    if not futures or robust is None:
        return None
    names = [f.name for f in futures]
    rows = []
    for f in futures:
        rows.append([f.name, "–" if f.probability is None else f"{f.probability:g}",
                     "–" if f.optimum_alone is None else f"{f.optimum_alone:,.0f}" + ("" if f.optimum_proven else " (best known)"),
                     "–" if f.with_plan is None else f"{f.with_plan:,.0f}",
                     "–" if f.gives_up is None else f"{f.gives_up:,.0f}", _fmt_pct(f.regret_pct),
                     {True: "verified", False: "FAILED", None: "–"}[f.verified]])
    alt_rows = [[f"plan for {a.plan}"] + [_fmt_pct(a.regret_pct.get(n)) for n in names] + [_fmt_pct(a.worst_regret_pct)]
                for a in alternatives or []]
    human = robust.item_names
    blocked = [f"The plan for {a.plan} cannot be built in {f}: {', '.join(human.get(i, i) for i in items)}"
               for a in alternatives or [] for f, items in a.not_buildable.items()]
    robust_row = ["robust plan"] + [_fmt_pct(f.regret_pct) for f in futures] + [_fmt_pct(robust.worst_regret_pct)]
    return {
        "rule": robust.rule, "how": how_chosen(robust, proven), "reference": robust.reference_future, "plan": robust.plan,
        # an empty plan builds nothing (it was "Plan: ."); with no worst regret no plan was found
        "plan_text": "; ".join(human.get(i, i) for i in robust.plan)
                     or ("nothing built" if robust.worst_regret_pct is not None else "none found"),
        "unit": robust.objective_unit,
        "headers": ["Future", "Probability", f"Optimum alone ({robust.objective_unit})",
                    f"With the robust plan ({robust.objective_unit})", f"Gives up ({robust.objective_unit})", "Regret",
                    "Verification"],
        "rows": rows,
        "alt_headers": ["Plan"] + [f"regret in {n}" for n in names] + ["worst"],
        "alt_rows": [robust_row] + alt_rows,
        "blocked": blocked,
    }


def future_results(names: list[str], probabilities: list[float | None], optima: list[float], proven: list[bool],
                   with_plan: list[float | None], regrets: list[float | None], scale: list[float], verified: list[bool | None],
                   layers: list[dict[str, bool]], overrides: list[dict[str, Any]],
                   not_built: list[list[str]]) -> list[FutureResult]:
    """The ``futures`` section from integer objectives (``scale``: each future's integer units per
    weighted metre) and the plan's regret in each future (per cent, ``RobustResult.regrets_pct``)."""
    out = []
    for f, name in enumerate(names):
        opt, obj, regret, per_m = optima[f], with_plan[f], regrets[f], scale[f]
        out.append(FutureResult(
            name=name, probability=probabilities[f], optimum_alone=_r(opt / per_m), optimum_proven=proven[f],
            with_plan=_r(obj / per_m) if obj is not None else None, regret_pct=_r(regret, 4),
            gives_up=_r((obj - opt) / per_m) if obj is not None else None, verified=verified[f],
            layers=layers[f], overrides=overrides[f], not_built=not_built[f]))
    return out


def alternative_plans(names: list[str], table: list[dict[str, float | None]], items: list[list[str]],
                      not_buildable: list[dict[str, list[str]]]) -> list[AlternativePlan]:
    """The ``alternatives`` section from each future's own plan: its regrets in every future,
    its items, and which of them cannot be built in which future."""
    out = []
    for name, row, its, nb in zip(names, table, items, not_buildable):
        vals = [v for v in row.values()]
        worst = None if any(v is None for v in vals) else max(v for v in vals if v is not None)
        out.append(AlternativePlan(plan=name, regret_pct={k: _r(v, 4) for k, v in row.items()}, worst_regret_pct=_r(worst, 4),
                                   items=its, not_buildable={k: v for k, v in nb.items() if v}))
    return out
