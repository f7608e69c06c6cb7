"""The one pipeline the CLI and the batch runner call (design brief, section 3).

read -> validate -> candidates -> walk network -> problem -> solve -> verify -> outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import LineString

from optimiser import progress
from optimiser.errors import ExitCode, SiteWarning, ValidationError, VerificationError
from optimiser.inputs.currency import exact_total
from optimiser.inputs.domain import Scenario, SolveOptions
from optimiser.inputs.formats import checked_path
from optimiser.inputs.scenario import read_scenario
from optimiser.model.build import build_problem
from optimiser.model.clients import WeightScale
from optimiser.model.futures import FutureProblem, JointProblem, future_weight_scales, joint_problem, objective_unit
from optimiser.model.problem import Problem, ProblemContext, crossing_of_decision
from optimiser.model.rounding import WeightRounding, combined, exact_weights, weight_rounding
from optimiser.model.size import check_model_size
from optimiser.network.builder import build_walk_network
from optimiser.network.candidates import CandidateSite, build_candidates
from optimiser.network.graph import WalkNetwork
from optimiser.network.sanity import futures_warnings, sanity_warnings
from optimiser.present.attribution import attribute_items, objective_weight, plan_item_names
from optimiser.present.frames import run_to_gdfs
from optimiser.present.futures import RobustSummary, alternative_plans, future_results
from optimiser.present.layers import RunData
from optimiser.present.metrics import (
    CheckRecord,
    CostMetrics,
    Coverage,
    CrossBarrierWalk,
    CrossingPlacement,
    FacilityAccess,
    ItemAttribution,
    Placements,
    RunMetrics,
    ScenarioRef,
    SitePlacement,
    SiteRef,
    VerificationMetrics,
    WalkMetrics,
)
from optimiser.present.notebook import run_html
from optimiser.present.render_worker import RenderWorker
from optimiser.present.rundir import load_run, run_data, write_run_dir
from optimiser.present.staging import StagedDir, new_run_id
from optimiser.present.transit import transit_metrics
from optimiser.present.transit_record import TransitMetrics
from optimiser.present.warning_records import WarningRecord
from optimiser.runclock import RunClock, active
from optimiser.solve import interrupt
from optimiser.solve.cpsat_model import wall_clock_net_s
from optimiser.solve.result import SolveResult, Status
from optimiser.solve.strategy import solve
from optimiser.solve.transit import solve_with_todays_crossings
from optimiser.verify import Verification, verifier_base, verify
from optimiser.verify_graph import GraphBase

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.solve.robust import RobustResult

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Everything built before solving: reusable for several solves of one scenario."""

    scenario: Scenario
    network: WalkNetwork
    facility_sites: list[CandidateSite]
    social_sites: list[CandidateSite]
    problem: Problem
    context: ProblemContext
    timings: dict[str, float]
    warnings: list[SiteWarning] = field(default_factory=list)
    verifier_base: GraphBase | None = None
    """The verifier's graph before new crossings (:func:`optimiser.verify.verifier_base`), once
    built: shared by the verifications of the baseline, the layout and the attribution."""


@dataclass
class RunResult:
    """The outcome of one scenario run.

    Attributes:
        status: the solver status.
        exit_code: the CLI exit code for it (0, 3 or 4).
        metrics: the content of metrics.json, typed.
        out_dir: the run directory, if outputs were written.
        solve: the solver's result; verification: the independent check (None unless solved).
    """

    status: Status
    exit_code: ExitCode
    metrics: RunMetrics
    out_dir: Path | None
    solve: SolveResult
    verification: Verification | None
    prepared: Prepared = field(repr=False, default=None)  # type: ignore[assignment]
    baseline: Verification | None = field(repr=False, default=None)
    """The verification of today's layout (nothing built): with ``prepared``, what
    :meth:`run_data` builds the drawable run from when no run directory was written."""
    _run_data: RunData | None = field(repr=False, default=None, init=False, compare=False)

    def run_data(self) -> RunData:
        """The run as the drawing functions read it (``draw_plan(ax, run, run.metrics)`` and
        ``draw_distance_map`` call this): the run directory read back when one was written,
        else built in memory as it would have been written (:func:`optimiser.present.rundir.run_data`).

        Raises:
            ValueError: a run without a written directory whose inputs were not kept.
        """
        if self._run_data is None:
            if self.out_dir is not None and (self.out_dir / "layout.geojson").is_file():
                self._run_data = load_run(self.out_dir)
            elif self.prepared is not None and self.baseline is not None:
                self._run_data = run_data(self.prepared, self.solve, self.verification, self.baseline, self.metrics)
            else:
                raise ValueError("this run result keeps neither a run directory nor its prepared inputs to draw from")
        return self._run_data

    @property
    def chosen_ids(self) -> tuple[str, ...]:
        """Ids of what was built: new crossings' ids and chosen sites' keys (``solve.chosen`` holds
        the same as indices into the problem's decisions)."""
        return self.solve.chosen_ids

    @property
    def chosen_items(self) -> list[dict[str, Any]]:
        """What was built, one mapping per item: ``kind`` (crossing, facility, social_space), id,
        type, cost and position, from ``metrics.placements``."""
        pl = self.metrics.placements
        groups = (("crossing", pl.crossings), ("facility", pl.shared_facilities), ("social_space", pl.social_spaces))
        return [{"kind": kind, **p.model_dump()} for kind, items in groups for p in items]

    def to_gdfs(self) -> dict[str, Any]:
        """The run's layers as GeoDataFrames (needs ``out_dir``: :func:`optimiser.present.frames.run_to_gdfs`)."""
        if self.out_dir is None:
            raise ValueError("this run wrote no run directory; run it with out_dir to get its layers")
        return run_to_gdfs(self.out_dir)

    def _repr_html_(self) -> str:
        """Jupyter's view: the plan (of the run directory, when one was written) and the key figures."""
        if self.out_dir is not None and (self.out_dir / "layout.geojson").is_file():
            return load_run(self.out_dir)._repr_html_()
        return run_html(self.metrics, None)


def prepare(scenario: Scenario, weight_scale: WeightScale | None = None, clock: RunClock | None = None) -> Prepared:
    """Candidates, walk network and problem for a validated scenario.

    Args:
        scenario: the validated scenario.
        weight_scale: the objective's integer weight scale, default the scenario's own.
        clock: the run's time limit: each stage is entered on it, and its long loops check it
            (:func:`optimiser.runclock.checkpoint`); ``None``: no limit.

    Raises:
        TypeError: ``scenario`` is not a :class:`~optimiser.inputs.domain.Scenario`.
        TimeLimitError: the limit ran out (naming the stage).
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"prepare() takes a validated Scenario (optimiser.read_scenario(path)), got "
                        f"{type(scenario).__name__} {scenario!r}"[:300])
    clock = clock or RunClock(math.inf)
    timings: dict[str, float] = {}
    with active(clock):
        clock.enter("candidates")
        t = time.perf_counter()
        cand = build_candidates(scenario)
        timings["candidates_seconds"] = time.perf_counter() - t
        progress.phase("candidates", f"{len(cand.facility_sites)} facility and {len(cand.social_sites)} social-space "
                       f"sites, {len(cand.crossings)} crossings", t)
        interrupt.check("building the candidates")
        clock.enter("network")
        t = time.perf_counter()
        net = build_walk_network(scenario.site, scenario.active_barriers, points=cand.points,
                                 candidate_crossings=cand.crossings)
        timings["network_seconds"] = time.perf_counter() - t
        interrupt.check("building the walking network")
        progress.phase("walk network", f"{net.n_nodes:,} nodes, {net.n_edges:,} edges", t)
        clock.enter("build")
        t = time.perf_counter()
        problem, ctx = build_problem(scenario, net, cand.facility_sites, cand.social_sites,
                                     existing_facility_keys=cand.existing_facility_keys,
                                     existing_social_keys=cand.existing_social_keys,
                                     stop_sites=cand.stop_sites, existing_stop_keys=cand.existing_stop_keys,
                                     weight_scale=weight_scale)
        timings["problem_seconds"] = time.perf_counter() - t
        progress.phase("problem", f"{len(problem.decisions):,} decisions, {len(problem.clients):,} clients", t)
        clock.check()
    warnings = sanity_warnings(scenario, net, cand.facility_sites + cand.social_sites)
    logger.info("prepared %s: %d facility and %d social-space candidates, %d candidate crossings, %d network nodes",
                scenario.id, len(cand.facility_sites), len(cand.social_sites), len(cand.crossings), net.n_nodes)
    return Prepared(scenario, net, cand.facility_sites, cand.social_sites, problem, ctx, timings, warnings)


def _round(x: float | None, digits: int = 2) -> float | None:
    """``x`` rounded, or None when missing or not finite."""
    return None if x is None or not math.isfinite(float(x)) else round(float(x), digits)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return None
    return float(np.sum(values[ok] * weights[ok]) / np.sum(weights[ok]))


def cross_barrier_pairs(scenario: Scenario, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Which firm pairs are split by an active barrier: the straight line between the two
    firms' locations crosses a barrier's band (for AMP-SBP: AMP to SBP across the Parkway)."""
    firms = scenario.site.firms
    bands = [b.band for b in scenario.active_barriers]
    out = np.zeros(len(pairs), dtype=bool)
    if not bands:
        return out
    for k, (a, b) in enumerate(pairs):
        line = LineString([firms[a].location, firms[b].location])
        out[k] = any(line.intersects(band) for band in bands)
    return out


def _pair_walks(prep: Prepared, ver: Verification | None, baseline: Verification) -> WalkMetrics:
    """Firm-to-firm walking before and after, over pairs with a walk both before and after;
    without a layout (``ver`` None: infeasible, or nothing found in time) the figures after are
    None, not the baseline's."""
    ctx = prep.context
    pairs = ctx.pair_index
    w = ctx.pair_w
    straight = prep.network.straight_lengths(ctx.firm_keys, ctx.firm_keys)
    a_idx = np.array([a for a, _ in pairs], dtype=int)
    b_idx = np.array([b for _, b in pairs], dtype=int)
    before = baseline.pair_lengths_m[a_idx, b_idx] if pairs else np.zeros(0)
    after = ver.pair_lengths_m[a_idx, b_idx] if (ver is not None and pairs) else before
    st = straight[a_idx, b_idx] if pairs else np.zeros(0)
    both = np.isfinite(before) & np.isfinite(after)
    with np.errstate(divide="ignore", invalid="ignore"):
        det_b = np.where(both & (st > 0), before / st, np.nan)
        det_a = np.where(both & (st > 0), after / st, np.nan)
    wb = _weighted_mean(np.where(both, before, np.nan), w)
    wa = _weighted_mean(np.where(both, after, np.nan), w)
    split = cross_barrier_pairs(prep.scenario, pairs)
    cb = _weighted_mean(np.where(both & split, before, np.nan), w)
    ca = _weighted_mean(np.where(both & split, after, np.nan), w)
    new = ~np.isfinite(before) & np.isfinite(after)  # connected by the plan, not in the like-for-like means
    walk = WalkMetrics(
        pairs=len(pairs),
        pairs_compared=int(both.sum()),
        pairs_unreachable_before=int((~np.isfinite(before)).sum()),
        pairs_unreachable_after=int((~np.isfinite(after)).sum()),
        pairs_newly_connected=int(new.sum()),
        newly_connected_weighted_mean_m=_round(_weighted_mean(np.where(new, after, np.nan), w), 1),
        baseline_weighted_mean_m=_round(wb, 1),
        optimised_weighted_mean_m=_round(wa, 1),
        reduction_pct=_round(100.0 * (wb - wa) / wb, 2) if (wb and wa is not None) else None,
        baseline_mean_detour=_round(float(np.nanmean(det_b)) if np.isfinite(det_b).any() else None, 3),
        optimised_mean_detour=_round(float(np.nanmean(det_a)) if np.isfinite(det_a).any() else None, 3),
        facility_access=_facility_access(prep, ver, baseline),
        cross_barrier=CrossBarrierWalk(
            pairs=int(split.sum()),
            baseline_weighted_mean_m=_round(cb, 1),
            optimised_weighted_mean_m=_round(ca, 1),
            reduction_pct=_round(100.0 * (cb - ca) / cb, 2) if (cb and ca is not None) else None,
            pairs_newly_connected=int((new & split).sum()),
            newly_connected_weighted_mean_m=_round(_weighted_mean(np.where(new & split, after, np.nan), w), 1),
        ),
    )
    if ver is None:
        nothing = {"optimised_weighted_mean_m": None, "reduction_pct": None, "pairs_newly_connected": None,
                   "newly_connected_weighted_mean_m": None}
        walk = walk.model_copy(update={**nothing, "optimised_mean_detour": None, "pairs_unreachable_after": None,
                                       "cross_barrier": walk.cross_barrier.model_copy(update=nothing)})
    return walk


def _facility_access(prep: Prepared, ver: Verification | None, baseline: Verification) -> dict[str, FacilityAccess]:
    """Employee-weighted mean walk to the nearest facility of each type, before and after."""
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    out = {}
    for spec in prep.scenario.facilities:
        fb = baseline.facility_walk_m.get(spec.type)
        fa = ver.facility_walk_m.get(spec.type) if ver is not None else None  # no layout: nothing after
        out[spec.type] = FacilityAccess(baseline_mean_m=_weighted_mean(fb, emp) if fb is not None else None,
                                        optimised_mean_m=_weighted_mean(fa, emp) if fa is not None else None)
    return out


def _coverage(prep: Prepared, ver: Verification | None, baseline: Verification) -> Coverage | None:
    """Share of employees within the social spaces' coverage radius, before and after."""
    soc = prep.scenario.social_spaces
    if soc is None:
        return None
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)

    def share(walk_m: np.ndarray | None) -> float:
        if walk_m is None:
            return 0.0
        return float(emp[walk_m <= soc.coverage_radius_m + 1e-6].sum() / emp.sum())

    return Coverage(radius_m=soc.coverage_radius_m, mode=soc.coverage, baseline_share=share(baseline.social_walk_m),
                    optimised_share=share(ver.social_walk_m) if ver is not None else None)  # None: no layout


def _placements(prep: Prepared, res: SolveResult) -> tuple[Placements, CostMetrics]:
    """What was built, by kind, with its capital cost against the budget."""
    sc = prep.scenario
    dec = prep.problem.decisions
    cross = crossing_of_decision(prep.context)
    sites = {s.key: s for s in prep.facility_sites + prep.social_sites}
    placed = Placements()
    cost = CostMetrics(budget=sc.budget)
    stops = 0.0
    for i in sorted(set(res.chosen)):
        d = dec[i]
        if d.kind == "stop":  # listed in metrics.transit
            stops += d.cost
            continue
        if d.kind == "crossing":
            c = cross[i]
            mid = c.line.interpolate(0.5, normalized=True)
            placed.crossings.append(CrossingPlacement(id=c.id, type=c.type, barrier=c.barrier_id, cost=c.cost,
                                                      penalty_m=c.penalty_m, length_m=round(c.length_m, 1),
                                                      x=round(mid.x, 1), y=round(mid.y, 1)))
            cost.crossings += c.cost
            continue
        s = sites[d.key]
        entry = SitePlacement(id=s.key, type=s.type, parcel=s.parcel_id, x=round(s.point.x, 1), y=round(s.point.y, 1),
                              cost=s.cost)
        if d.kind == "facility":
            placed.shared_facilities.append(entry)
            cost.facilities += s.cost
        else:
            placed.social_spaces.append(entry)
            cost.social_spaces += s.cost
    cost.transit_stops = stops
    # the sum of the amounts as written (0.700000444, not 0.7000004439999999): what the budget is checked against
    cost.capital = float(exact_total(dec[i].cost for i in set(res.chosen)))
    return placed, cost


def portable_path(path: Path | str | None) -> str | None:
    """A file path safe to write into a run's outputs: relative to the working folder when
    inside it, else the file name alone (never an absolute path of the machine that ran it)."""
    if path is None:
        return None
    p = Path(path)
    try:
        return Path(os.path.relpath(p.resolve(), Path.cwd().resolve())).as_posix() if p.resolve().is_relative_to(
            Path.cwd().resolve()) else p.name
    except (OSError, ValueError):
        return p.name


def _weight_rounding(prep: Prepared, res: SolveResult) -> dict[str, float | int | None] | None:
    """``model.weight_rounding`` of a run with a layout (:mod:`optimiser.model.rounding`)."""
    if not res.status.has_solution:
        return None
    return _rounding_of(prep, res.chosen, res.objective).as_dict()


def _rounding_of(prep: Prepared, chosen: Iterable[int], objective: float | None) -> WeightRounding:
    """:func:`~optimiser.model.rounding.weight_rounding` of ``chosen`` in ``prep``'s problem."""
    sc = prep.scenario
    if sc.transit is not None and sc.transit.exclusive:  # employees as they are, nothing rounded
        return weight_rounding(prep.problem, chosen, objective, None)
    return weight_rounding(prep.problem, chosen, objective, sc.solver.weight_levels,
                           exact_weights(sc, prep.problem.weight_scale["all"]))


def _futures_weight_rounding(joint: JointProblem, rr: RobustResult,
                             preps: list[Prepared]) -> dict[str, float | int | None] | None:
    """``model.weight_rounding`` of a futures run: for the ``expected`` rule the weighted mean of
    every future's bound for the plan (:func:`~optimiser.model.rounding.combined`, on the
    expected objective); ``None`` for ``min_max_regret`` or without a plan. The reference
    future's own bound is not one: the plan is not that future's optimum (its regret there can
    be far larger), and a regret's optima are rounded too."""
    objs = list(rr.objectives)
    if rr.rule != "expected" or not objs or any(o is None for o in objs):
        return None
    parts = [_rounding_of(p, joint.chosen_in(f, rr.plan), o) for f, (p, o) in enumerate(zip(preps, objs))]
    mean = sum(w * float(o) for w, o in zip(joint.weights, objs) if o is not None) / sum(joint.weights)
    return combined(parts, joint.weights, mean, preps[0].problem.units_per_weighted_m).as_dict()


def summarise(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
              attribution: list[ItemAttribution] | None = None,
              futures: tuple[JointProblem, RobustResult, list[Prepared]] | None = None) -> RunMetrics:
    """The run's metrics (``metrics.json``; design brief section 7 keys, nested); ``attribution``:
    what each built item buys (:func:`optimiser.present.attribution.attribute_items`); ``futures``:
    a futures run's joint problem, result and prepared futures, whose plan the weights' rounding
    is bounded for (:func:`_futures_weight_rounding`) instead of ``res``'s layout alone."""
    sc = prep.scenario
    problem = prep.problem
    scale = problem.units_per_weighted_m
    placements, cost = _placements(prep, res)
    info = {k: v for k, v in problem.info.items() if not k.startswith("_")}
    return RunMetrics(
        status=res.status,
        message=res.message,
        objective=res.objective,
        objective_weighted_m=_round(res.objective / scale, 3) if res.objective is not None else None,
        bound=res.bound,
        gap=res.gap,
        solve_seconds=round(res.solve_seconds, 3),
        backend=res.backend,
        seed=res.seed,
        conflicts=list(res.conflicts),
        scenario=ScenarioRef(id=sc.id, name=sc.name, path=portable_path(sc.path), description=sc.description,
                             layers={layer: any(b.layer == layer for b in sc.active_barriers) for layer in sc.site.layers}),
        site=SiteRef(id=sc.site.id, name=sc.site.name, illustrative=sc.site.illustrative, crs=sc.site.crs,
                     path=portable_path(sc.site.path), source_crs=sc.site.source_crs),
        walk=_pair_walks(prep, ver, baseline),
        coverage=_coverage(prep, ver, baseline),
        cost=cost,
        placements=placements,
        verification=VerificationMetrics(
            passed=bool(ver.passed) if ver is not None else None,
            objective=ver.objective if ver is not None else None,
            checks=[CheckRecord(name=c.name, passed=c.passed, detail=c.detail) for c in ver.checks] if ver is not None else [],
        ),
        timings={k: round(v, 3) for k, v in prep.timings.items()},
        stopped_by=res.stopped_by,
        model={**info, "length_scale_per_m": problem.length_scale_per_m, "weight_scale": problem.weight_scale["all"],
               "network_nodes": prep.network.n_nodes, "network_edges": prep.network.n_edges,
               "facility_candidates": len(prep.facility_sites), "social_candidates": len(prep.social_sites),
               "unreachable": list(prep.network.unreachable),
               "weight_rounding": _futures_weight_rounding(*futures) if futures is not None else _weight_rounding(prep, res)},
        attribution=list(attribution or []),
        warnings=[WarningRecord.of(w, file=portable_path(w.file)) for w in prep.warnings],
        currency=sc.currency,
    )


def _transit(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
             opts: SolveOptions) -> TransitMetrics | None:
    """The transit section: the joint answer beside the best stops with today's crossings only
    (solved here, in the same run, with every new crossing fixed off)."""
    t = time.perf_counter()
    today = solve_with_todays_crossings(prep.problem, opts)
    today_ver = verify(prep.problem, prep.context, today.chosen, today.objective, raise_on_failure=False) \
        if today.status.has_solution else None
    if today_ver is not None and not today_ver.passed:
        logger.error("verification of the stops with today's crossings FAILED: %s",
                     [c.detail for c in today_ver.checks if not c.passed])
    prep.timings["transit_existing_crossings_seconds"] = time.perf_counter() - t
    progress.phase("stops with today's crossings", f"{today.status.value}, objective {today.objective}", t)
    return transit_metrics(prep, res, ver, baseline, today, today_ver)


def check_out_dir(out_dir: str | os.PathLike[str], overwrite: bool, *, create: bool = True) -> Path:
    """Make sure ``out_dir`` may be written: refuse a non-folder, a symlink, or a non-empty
    folder unless overwriting. With ``create=False`` nothing is created (so a failed run leaves
    no folder). The run itself writes through :class:`~optimiser.present.staging.StagedDir`,
    which checks again under the lock."""
    out = Path(out_dir)
    StagedDir(out, overwrite).check()
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _solve_and_verify(prep: Prepared, opts: SolveOptions, clock: RunClock) -> tuple[SolveResult, Verification | None,
                                                                                  Verification, VerificationError | None]:
    """Solve in what is left of the time limit (less a reserve for verification), then verify.

    What is left is the solver's wall-clock safety net (``SolveOptions.wall_limit_s``); its
    deterministic budget still derives from the whole time limit, so the answer does not depend
    on how long the earlier phases took."""
    clock.enter("solve")
    limit_s = clock.solver_limit_s(reserve_s=2.0 * prep.timings.get("network_seconds", 0.0) + 0.1)
    scale = prep.problem.units_per_weighted_m
    what = f"solve: {opts.backend}, time limit {opts.time_limit_s:g} s (wall-clock net {limit_s:.1f} s), seed {opts.seed}"
    with progress.solving(scale, what
                          + (" (CBC runs as a subprocess: only its warm start and final answer are shown)"
                             if opts.backend == "cbc" else "")):
        res = solve(prep.problem, opts.replace(wall_limit_s=limit_s))
    progress.note(f"solve: {res.status}, {res.solve_seconds:.2f} s"
                  + (f", objective {res.objective / scale:,.0f} {objective_unit(prep.scenario)}" if res.objective is not None else "")
                  + (f", gap {100 * res.gap:.2f}%" if res.gap is not None else ""))
    interrupt.check("the solve")  # an interrupted solve's result is never written
    prep.timings["solve_seconds"] = res.solve_seconds
    prep.timings["solver_time_limit_seconds"] = float(opts.time_limit_s)  # the limit asked for (--time-limit)
    prep.timings["solver_wall_clock_net_seconds"] = limit_s  # what the solver's wall-clock safety net was left
    logger.info("solved: %s, objective %s, gap %s, %.2f s", res.status, res.objective, res.gap, res.solve_seconds)
    clock.phase = "verify"
    t = time.perf_counter()
    prep.verifier_base = verifier_base(prep.context)
    baseline = verify(prep.problem, prep.context, (), None, raise_on_failure=False, base=prep.verifier_base)
    ver = None
    failure = None
    if res.status.has_solution:
        ver = verify(prep.problem, prep.context, res.chosen, res.objective, raise_on_failure=False, base=prep.verifier_base)
        if not ver.passed:
            failure = VerificationError("the optimised layout failed independent verification",
                                        [c.detail for c in ver.checks if not c.passed] + list(ver.notes))
            logger.error("verification FAILED: %s", failure)
    prep.timings["verify_seconds"] = time.perf_counter() - t
    progress.phase("verify", "passed" if ver is not None and ver.passed else
                   ("FAILED" if ver is not None else "baseline only (no layout)"), t)
    interrupt.check("verification")
    return res, ver, baseline, failure


def _attribute_and_summarise(prep: Prepared, res: SolveResult, ver: Verification | None,
                             baseline: Verification) -> RunMetrics:
    """Each built item's contribution (when verified), then the run's metrics."""
    attribution: list[ItemAttribution] = []
    total_w = 0
    if ver is not None and ver.passed and res.chosen:
        t = time.perf_counter()
        attribution, total_w = attribute_items(prep, res.chosen, ver, prep.verifier_base)
        prep.timings["attribution_seconds"] = time.perf_counter() - t
        progress.phase("attribution", f"{len(attribution)} items re-evaluated one at a time", t)
    metrics = summarise(prep, res, ver, baseline, attribution)
    total_w = total_w or objective_weight(prep)
    if total_w > 0:
        per_m = prep.problem.length_scale_per_m * total_w
        metrics.model["objective_total_weight"] = total_w
        metrics.baseline_objective_mean_m = round(baseline.objective / per_m, 2)
        if ver is not None:
            metrics.objective_mean_m = round(ver.objective / per_m, 2)
    return metrics


def _check_run_arguments(scenario: object, out_dir: object, options: object) -> None:
    """A TypeError saying what :func:`run_scenario` takes, for an argument of the wrong kind."""
    if scenario is not None and not isinstance(scenario, Scenario) and (
            isinstance(scenario, bytes) or not isinstance(scenario, (str, os.PathLike))):
        raise TypeError(f"run_scenario() takes a Scenario (optimiser.read_scenario(...)), a scenario file or embedded "
                        f"name, or None (the AMP-SBP baseline) as scenario, got {type(scenario).__name__} {scenario!r}"[:300])
    if out_dir is not None:
        checked_path(out_dir, "run_scenario", "out_dir")
    if options is not None and not isinstance(options, SolveOptions):
        hint = f"SolveOptions(**{options!r})" if isinstance(options, dict) else "SolveOptions(...)"
        raise TypeError(f"run_scenario() takes a SolveOptions (or None: the scenario's own) as options, got "
                        f"{type(options).__name__}; pass options={hint}"[:300]
                        + ", or single options as keywords (time_limit_s=..., backend=..., seed=..., workers=...)")


def run_scenario(
    scenario: Scenario | str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    options: SolveOptions | None = None,
    backend: str | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    render: bool = True,
    strict: bool = False,
    render_worker: RenderWorker | None = None,
    started: float | None = None,
) -> RunResult:
    """Run one scenario end to end and (with ``out_dir``) write the run directory.

    The time limit covers the whole run (candidates, network, model build, solve and
    verification: the solver gets what is left); the model's size is estimated first and a
    model that could not be built in memory or in time is refused. The run directory is
    written in a fresh folder beside ``out_dir``, under a lock, and moved into place whole
    (:class:`~optimiser.present.staging.StagedDir`), so it is checked writable before any
    heavy work and a killed run leaves ``out_dir`` as it was.

    Args:
        scenario: a Scenario, a scenario file path, or ``None`` for the AMP-SBP baseline.
        out_dir: where to write metrics.json, layout.geojson, pairs.csv, firms.csv, plans
            and report.html; ``None`` writes nothing.
        overwrite: replace a non-empty ``out_dir`` whole.
        options: the solve options, whole; default the scenario's own (``scenario.solver``).
        backend, time_limit_s, seed, workers: convenience overrides of single options
            (``None`` keeps the option as it is).
        render: also draw plan.png/svg and report.html.
        strict: site sanity warnings (:mod:`optimiser.network.sanity`) are errors: raise
            before solving. Otherwise they are logged and written to metrics.json.
        render_worker: (``render``) a render process started before the solve
            (:mod:`optimiser.present.render_worker`; ``siteopt run`` starts one before its
            imports): it draws the plans and the report while the data files are written.
            The caller stops it; ``None`` draws them here.
        started: when the run began (:func:`time.perf_counter`), when earlier than this call:
            a ``scenario`` read in another process (:mod:`optimiser.inputs.read_ahead`) started
            when its read did. The time limit and the read's progress line count from it.

    Raises:
        TypeError: an argument of the wrong kind (``scenario``, ``out_dir`` or ``options``), saying
            what the function takes.
        InputError: invalid scenario or site, or (``strict``) a sanity warning (nothing written).
        Interrupted: SIGINT / SIGTERM arrived (with the handlers of
            :func:`optimiser.solve.interrupt.handle_signals` installed) before the outputs
            were moved into place: nothing is written.
        OutputExistsError: ``out_dir`` is not empty and ``overwrite`` is False, or cannot be
            written; OutputBusyError: another run is writing it.
        ModelTooLargeError: the model would not fit in memory or be built in time (nothing written).
        TimeLimitError: the time limit ran out before the solve (its ``phase``; nothing written).
        VerificationError: the solved layout failed verification (a bug; outputs are still
            written with ``verification.passed: false`` first).
    """
    t_all = time.perf_counter() if started is None else started
    _check_run_arguments(scenario, out_dir, options)
    sc = scenario if isinstance(scenario, Scenario) else read_scenario(scenario)
    progress.phase("read", f"scenario {sc.id} on site {sc.site.id}", t_all)
    opts = (options or sc.solver).replace(backend=backend, time_limit_s=time_limit_s, seed=seed, workers=workers)
    # the whole run's wall-clock safety net, as the solver's (its work budget comes from the limit)
    clock = RunClock(wall_clock_net_s(opts.time_limit_s), start=t_all)
    logger.info("scenario %s on site %s: %s, time limit %.1f s, seed %d", sc.id, sc.site.id, opts.backend,
                opts.time_limit_s, opts.seed)
    with StagedDir(out_dir, overwrite) if out_dir is not None else contextlib.nullcontext() as stage:
        size = check_model_size(sc, opts.time_limit_s)
        interrupt.check("reading the inputs")
        if sc.futures:
            return run_futures(sc, stage.out if stage is not None else None, opts, render=render, started=t_all,
                               stage=stage, render_worker=render_worker, strict=strict)
        prep = prepare(sc, clock=clock)
        interrupt.check("building the network and the model")
        if strict and prep.warnings:
            raise ValidationError([w.as_problem() for w in prep.warnings])
        res, ver, baseline, failure = _solve_and_verify(prep, opts, clock)
        metrics = _attribute_and_summarise(prep, res, ver, baseline)
        metrics.transit = _transit(prep, res, ver, baseline, opts) if sc.transit is not None else None
        interrupt.check("the attribution and transit")  # the last safe point: nothing is in place yet
        metrics.run_id = stage.run_id if stage is not None else new_run_id()
        metrics.model["size_estimate"] = size.as_dict()
        if res.status in (Status.FEASIBLE, Status.UNKNOWN):
            metrics.stopped_in = "solve"  # the time limit ended the search before a proof
        if stage is not None:
            write_run_dir(stage.out, prep, res, ver, baseline, metrics, render=render, started=t_all, stage=stage.path,
                          worker=render_worker)
            interrupt.check("writing the outputs")  # stopped while rendering: nothing is moved into place
            stage.commit()
        else:
            metrics.timings["total_seconds"] = round(time.perf_counter() - t_all, 3)
    if failure is not None:
        raise failure
    return RunResult(res.status, res.status.exit_code, metrics, stage.out if stage is not None else None, res, ver, prep,
                     baseline)


# ---------------------------------------------------------------- one plan for several futures


def _reference_future(joint: JointProblem, plan: tuple[int, ...]) -> int:
    """The future the run directory's layout shows: the first in which every plan item is
    built (so no item is missing from the plans), else the first."""
    for f, where in enumerate(joint.decision_in):
        if all(k in where for k in plan):
            return f
    return 0


def _futures_metrics(sc: Scenario, joint: JointProblem, rr: RobustResult, preps: list[Prepared],
                     vers: list[Verification | None], ref: int, metrics: RunMetrics) -> None:
    """Add the ``futures``, ``alternatives`` and ``robust`` sections to ``metrics``."""
    units = joint.units_per_weighted_m
    names = joint.names
    from optimiser.solve.robust import exact_figures  # with solve_futures: PuLP loaded only for futures

    exact = exact_figures(joint, rr)  # what the plan costs with the exact weights, not the model's rounded ones
    metrics.futures = future_results(
        names, [f.probability for f in sc.futures], list(exact.optima), [r.status is Status.OPTIMAL for r in rr.alone],
        list(exact.objectives), exact.regrets_pct, units,
        [None if v is None else bool(v.passed) for v in vers], [dict(f.scenario.layers) for f in sc.futures],
        [dict(f.overrides) for f in sc.futures], [[joint.labels[k] for k in rr.plan if k in na] for na in joint.not_applicable])
    metrics.alternatives = alternative_plans(
        names, list(exact.alternatives), [[joint.labels[k] for k in p] for p in rr.alone_plans],
        [{n: [joint.labels[k] for k in p if k not in joint.decision_in[f] and k not in joint.not_applicable[f]]
          for f, n in enumerate(names)} for p in rr.alone_plans])
    objs = [o for o in exact.objectives if o is not None]
    expected = (sum(w * o / u for w, o, u in zip(joint.weights, objs, units)) / sum(joint.weights)
                if len(objs) == len(names) else None)
    regrets = [r for r in exact.regrets_pct if r is not None]
    metrics.robust = RobustSummary(rule=rr.rule, worst_regret_pct=_round(max(regrets), 4) if regrets else None,
                                   expected_weighted_m=_round(expected, 3), gap=rr.gap,
                                   # expected: the bound in weighted metres, as expected_weighted_m (not integer units)
                                   bound=rr.bound / units[0] if rr.bound is not None and rr.rule == "expected" else rr.bound,
                                   reference_future=names[ref], plan=[joint.labels[k] for k in rr.plan], message=rr.message,
                                   objective_unit=objective_unit(preps[ref].scenario),
                                   # the joint model's own value, on its rounded weights: what bound and gap refer to
                                   model_value=_round(rr.value if rr.rule == "min_max_regret" or rr.value is None
                                                      else rr.value / units[0], 4),
                                   item_names=plan_item_names(preps, joint.decision_in, joint.labels,
                                                              sorted({k for p in (rr.plan, *rr.alone_plans) for k in p})))
    metrics.scenario.path = str(sc.path) if sc.path else None
    metrics.scenario.name = sc.name
    metrics.scenario.description = sc.description


def run_futures(sc: Scenario, out: Path | None, opts: SolveOptions, *, render: bool = True,
                started: float | None = None, stage: StagedDir | None = None,
                render_worker: RenderWorker | None = None, strict: bool = False) -> RunResult:
    """Run a scenario with ``futures:``: one plan for every future (:mod:`optimiser.solve.robust`).

    Every future is built on its weight scale (:func:`~optimiser.model.futures.future_weight_scales`:
    one for all under ``expected``) and solved alone, then the joint model chooses the plan.
    The plan's objective in every future is rechecked by :func:`optimiser.verify.verify` on that
    future's own problem. The run directory shows the
    plan in its reference future (:func:`_reference_future`); ``metrics.json`` adds the
    ``futures``, ``alternatives`` and ``robust`` sections.
    """
    t_all = started if started is not None else time.perf_counter()
    scales = future_weight_scales([f.scenario for f in sc.futures], sc.robust)
    preps = [prepare(f.scenario, ws) for f, ws in zip(sc.futures, scales)]
    warnings = futures_warnings([f.name for f in sc.futures], [p.warnings for p in preps])
    if strict and warnings:
        raise ValidationError([w.as_problem() for w in warnings])
    joint = joint_problem([FutureProblem(f.name, f.probability, p.problem, p.context) for f, p in zip(sc.futures, preps)],
                          sc.robust)
    progress.note(f"futures: {', '.join(joint.names)}; each solved alone, then one plan by {sc.robust} "
                  f"({opts.backend}, time limit {opts.time_limit_s:g} s per solve)")
    from optimiser.solve.robust import exact_figures, exact_message, solve_futures  # PuLP, joint models: futures only

    rr = solve_futures(joint, opts)
    # its line with the exact weights' figures (the joint model's were on its rounded weights)
    rr = dataclasses.replace(rr, message=exact_message(joint, rr, exact_figures(joint, rr)))
    interrupt.check("the solve")  # an interrupted solve's result is never written
    progress.note(f"solve: {rr.status}, {rr.solve_seconds:.2f} s; {rr.message}")
    ref = _reference_future(joint, rr.plan)
    prep = preps[ref]
    prep.timings["solve_seconds"] = rr.solve_seconds
    t = time.perf_counter()
    vers: list[Verification | None] = []
    for f, p in enumerate(preps):
        obj = rr.objectives[f]
        vers.append(verify(p.problem, p.context, joint.chosen_in(f, rr.plan), obj, raise_on_failure=False)
                    if obj is not None else None)
    baseline = verify(prep.problem, prep.context, (), None, raise_on_failure=False)
    prep.timings["verify_seconds"] = time.perf_counter() - t
    obj = rr.objectives[ref]
    res = SolveResult(rr.status, float(obj) if obj is not None else None, None, 0.0 if rr.status is Status.OPTIMAL else None,
                      rr.solve_seconds, rr.backend, opts.seed, joint.chosen_in(ref, rr.plan) if obj is not None else (),
                      rr.conflicts or (("no plan found",) if rr.status is Status.INFEASIBLE else ()), rr.message, rr.stats,
                      stopped_by=rr.stopped_by)  # what ended a search of the futures' or the joint one
    progress.phase("verify", "every future: " + ", ".join(  # no plan: nothing to verify, not a failed check
        f"{n} {'no plan' if v is None else 'passed' if v.passed else 'FAILED'}" for n, v in zip(joint.names, vers)), t)
    attribution: list[ItemAttribution] = []
    ver = vers[ref]
    if ver is not None and ver.passed and res.chosen:
        attribution, _ = attribute_items(prep, res.chosen, ver)
    metrics = summarise(prep, res, ver, baseline, attribution, futures=(joint, rr, preps))
    metrics.warnings = [WarningRecord.of(w, file=portable_path(w.file)) for w in warnings]
    if prep.scenario.transit is not None:  # the plan's stops in the reference future, beside today's crossings only
        metrics.transit = _transit(prep, res, ver, baseline, opts)
    _futures_metrics(sc, joint, rr, preps, vers, ref, metrics)
    failed = [n for n, v in zip(joint.names, vers) if v is not None and not v.passed]
    if out is not None and stage is not None:  # staged by run_scenario: moved into place whole
        metrics.run_id = stage.run_id
        write_run_dir(out, prep, res, vers[ref], baseline, metrics, render=render, started=t_all, stage=stage.path,
                      worker=render_worker)
        interrupt.check("writing the outputs")  # stopped while rendering: nothing is moved into place
        stage.commit()
    elif out is not None:
        write_run_dir(out, prep, res, vers[ref], baseline, metrics, render=render, started=t_all)
    else:
        metrics.timings["total_seconds"] = round(time.perf_counter() - t_all, 3)
    if failed:
        raise VerificationError("the robust plan failed independent verification in future(s) " + ", ".join(failed),
                                [c.detail for v in vers if v is not None for c in v.checks if not c.passed])
    return RunResult(res.status, res.status.exit_code, metrics, out, res, vers[ref], prep, baseline)
