"""The run directory, written and read in one place: ``metrics.json``, ``layout.geojson``, ``layout.gpkg``,
``pairs.csv`` and ``firms.csv``.

Writing (:func:`write_run_dir`, called by :func:`optimiser.pipeline.run_scenario`): each data
file is written to a temporary name in the same folder and renamed into place, so a killed run
never leaves a half-written data file under a final name. The plans and the report are then
drawn from the :class:`~optimiser.present.layers.RunData` built in memory from what was just
written (not re-read from disk).

Reading (:func:`load_run`, for ``siteopt render`` and ``siteopt compare``): the same
:class:`~optimiser.present.layers.RunData`, with ``metrics.json`` read into a typed
:class:`~optimiser.present.metrics.RunMetrics`; a missing file or a wrong type raises
:class:`~optimiser.errors.FileReadError` naming the file and the field.
"""

from __future__ import annotations

import csv
import errno
import html
import io
import json
import logging
import math
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from optimiser import progress
from optimiser.errors import FileReadError, ModelError, Problem
from optimiser.inputs.messages import suggest_path
from optimiser.inputs.safefile import (
    MAX_NESTING,
    UnsafeFile,
    atomic_write_text,
    file_kind,
    json_depth,
    json_object_no_dupes,
    read_regular_bytes,
)
from optimiser.present.csv_cells import guard_cell, read_cell
from optimiser.present.geojson import to_wgs84_geojson
from optimiser.present.gpkg import LAYOUT_GPKG, write_run_gpkg
from optimiser.present.jsonready import json_ready
from optimiser.present.layers import Layout, RunData, layout_from_features, project_geojson
from optimiser.present.metrics import RunMetrics
from optimiser.present.runid import binary_run_ids
from optimiser.present.staging import (
    OutputLock,
    StagedDir,
    move_into,
    new_run_id,
    refused_write,
    remove_stage,
    stage_for_render,
)
from optimiser.present.transit import transit_features

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.pipeline import Prepared
    from optimiser.present.render_worker import RenderWorker
    from optimiser.solve.result import SolveResult
    from optimiser.verify import Verification

logger = logging.getLogger(__name__)

__all__ = ["RUN_FILES", "REQUIRED_FILES", "ROUTES_DRAWN", "PAIRS_HEADER", "FIRMS_HEADER", "json_ready",
           "atomic_write_text", "write_json_atomic", "layout_features", "crossings_used", "write_run", "write_run_dir",
           "run_data", "load_run", "read_metrics", "render_run"]

RUN_FILES = ("metrics.json", "layout.geojson", "pairs.csv", "firms.csv", LAYOUT_GPKG)
"""Files a run directory holds; the first two are required to render."""
REQUIRED_FILES = ("metrics.json", "layout.geojson")

ROUTES_DRAWN = 6
"""How many most-improved firm pairs get their before/after routes in layout.geojson."""

PAIRS_HEADER = ["a", "b", "a_name", "b_name", "weight", "straight_m", "before_m", "after_m", "detour_before",
                "detour_after", "change_m", "crossings_used"]
FIRMS_HEADER = ["firm", "name", "employees", "sector", "x", "y", "facility_walk_before_m", "facility_walk_after_m",
                "social_walk_m", "covered"]
_TEXT_COLUMNS = frozenset({"a", "b", "firm", "id", "name", "a_name", "b_name", "crossings_used", "sector", "run_id"})
"""CSV columns read as text even when they look like numbers."""
_NUMERIC_COLUMNS = frozenset(PAIRS_HEADER + FIRMS_HEADER) - _TEXT_COLUMNS
"""CSV columns that must hold numbers (or booleans, or be empty) when read back."""


# --------------------------------------------------------------------------- writing
def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """``data`` as indented JSON (inf/nan as null), written atomically; returns ``path``."""
    return atomic_write_text(path, json.dumps(json_ready(data), indent=2) + "\n")


def _cell_text(value: Any) -> str:
    """How a value is written in the run's CSV files (floats to 2 decimals, inf/nan empty; text
    that starts like a spreadsheet formula after a single quote: :mod:`~optimiser.present.csv_cells`)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return guard_cell(value) if isinstance(value, str) else str(round(value, 2) if isinstance(value, float) else value)


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell_text(v) for v in r])
    return buf.getvalue()


def _as_records(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows as :func:`load_run` reads them back from the CSV text (same rounding and types)."""
    return [{k: _parse_cell(k, _cell_text(v)) for k, v in zip(header, r, strict=True)} for r in rows]


Feature = dict[str, Any]
"""A GeoJSON-like feature whose geometry is a shapely geometry in the site CRS."""


def _feature(geom: BaseGeometry, **props: Any) -> Feature:
    return {"type": "Feature", "geometry": geom, "properties": props}


def _site_features(prep: Prepared, chosen: set[int]) -> list[Feature]:
    """Parcels, barriers, paths, existing crossings and the candidate crossings (chosen marked)."""
    sc, ctx, net = prep.scenario, prep.context, prep.network
    site = sc.site
    feats = [_feature(p.polygon, layer="parcel", id=p.id, name=p.name, status=p.status.value,
                      area_ha=round(p.polygon.area / 1e4, 2)) for p in site.parcels]
    active = {b.id for b in sc.active_barriers}
    feats += [_feature(b.centreline, layer="barrier", id=b.id, name=b.name, kind=b.kind.value, width_m=b.width_m,
                       active=b.id in active, layer_name=b.layer, no_build=b.no_build) for b in site.barriers]
    feats += [_feature(w.line, layer="path", id=w.id, name=w.name, kind=w.kind) for w in site.paths]
    feats += [_feature(c.line, layer="existing_crossing", id=c.id, name=c.name, type=c.type, barrier=c.barrier_id)
              for c in site.crossings]
    chosen_cross = {d for d in ctx.crossing_decision.values() if d in chosen}
    for ci, c in enumerate(net.candidates):
        d = ctx.crossing_decision.get(ci)
        is_chosen = d is not None and d in chosen_cross
        feats.append(_feature(c.line, layer="candidate_crossing", id=c.id, type=c.type, cost=c.cost, currency=sc.currency,
                              penalty_m=c.penalty_m, chosen=is_chosen))
        if is_chosen:
            feats.append(_feature(c.line, layer="new_crossing", id=c.id, name=c.name, type=c.type, cost=c.cost, currency=sc.currency,
                                  penalty_m=c.penalty_m, barrier=c.barrier_id))
    return feats


def _placement_features(prep: Prepared, chosen: set[int]) -> list[Feature]:
    """Chosen facilities (with footprints) and social spaces, and the existing ones."""
    sc = prep.scenario
    keys = {prep.problem.decisions[i].key for i in chosen}
    spec_by_type = {s.type: s for s in sc.facilities}
    feats: list[Feature] = []
    for s in prep.facility_sites:
        if s.key in keys:
            feats.append(_feature(s.point, layer="facility", id=s.key, type=s.type, cost=s.cost, currency=sc.currency,
                                  parcel=s.parcel_id, footprint_m2=spec_by_type[s.type].footprint_m2))
            feats.append(_feature(s.footprint, layer="facility_footprint", id=s.key, type=s.type))
    feats += [_feature(p, layer="existing_facility", type=spec.type) for spec in sc.facilities for p in spec.existing]
    if sc.social_spaces is not None:
        for s in prep.social_sites:
            if s.key in keys:
                feats.append(_feature(s.point, layer="social_space", id=s.key, cost=s.cost, currency=sc.currency,
                                      parcel=s.parcel_id,
                                      coverage_radius_m=sc.social_spaces.coverage_radius_m))
        feats += [_feature(p, layer="existing_social_space") for p in sc.social_spaces.existing]
    return feats


def _firm_features(prep: Prepared, ver: Verification | None, baseline: Verification) -> list[Feature]:
    """Firms, and per firm and facility type its walk (m) to the nearest facility before and after."""
    sc = prep.scenario
    feats: list[Feature] = []
    for i, f in enumerate(sc.site.firms):
        feats.append(_feature(f.location, layer="firm", id=f.id, name=f.name, employees=f.employees, sector=f.sector,
                              fixed=f.fixed, accuracy_m=f.provenance.accuracy_m, provenance=f.provenance.source))
        for spec in sc.facilities:
            fb = baseline.facility_walk_m.get(spec.type)
            fa = ver.facility_walk_m.get(spec.type) if ver is not None else fb
            feats.append(_feature(f.location, layer="facility_walk", firm=f.id, type=spec.type,
                                  before_m=float(fb[i]) if fb is not None else None,
                                  after_m=float(fa[i]) if fa is not None else None))
    return feats


def _chosen_crossing_ids(prep: Prepared, chosen: set[int]) -> list[str]:
    ctx, net = prep.context, prep.network
    return [net.candidates[c].id for c, d in ctx.crossing_decision.items() if d in chosen]


def _pair_lengths_m(v: Verification) -> np.ndarray:
    """The verification's (firm, firm) walking lengths (m); every verification of a run has them."""
    if v.pair_lengths_m is None:
        raise ValueError("a verification without pair lengths cannot be written to a run directory")
    return v.pair_lengths_m


def most_improved_pairs(walk_before: np.ndarray, walk_after: np.ndarray, pair_index: Sequence[tuple[int, int]],
                        pair_w: Sequence[float] | np.ndarray, n: int) -> list[tuple[int, int, int]]:
    """The ``n`` most improved firm pairs ``(a, b, k)`` (``k``: the pair's place in ``pair_index``):
    the walks shortened by more than a metre, by weighted gain (metres x weight), then the pairs
    with no walk before (``walk_before`` infinite), by weight. Walks in metres, firm by firm."""
    ranked = []
    for k, (a, b) in enumerate(pair_index):
        before, after = walk_before[a, b], walk_after[a, b]
        if math.isfinite(after) and after < before - 1.0:
            shortened = math.isfinite(before)
            ranked.append((shortened, (before - after) * pair_w[k] if shortened else pair_w[k], a, b, k))
    ranked.sort(reverse=True)
    return [(a, b, k) for _, _, a, b, k in ranked[:n]]


def _route_features(prep: Prepared, chosen: set[int], ver: Verification, baseline: Verification) -> list[Feature]:
    """Before and after routes of the :data:`ROUTES_DRAWN` most improved firm pairs: the walks
    shortened, by weighted gain, then the pairs the new crossings connect (no walking route
    before), by weight, as the plan ranks them (:func:`optimiser.present.plan._most_improved`).

    A newly connected pair gets its route after only; a pair whose route cannot be traced is left
    out with a warning. (Ranked first as infinitely improved, the newly connected pairs of a
    generated site took every route drawn, and its real shortenings were never shown.)
    """
    ctx, net = prep.context, prep.network
    firms = list(prep.scenario.site.firms)
    on = _chosen_crossing_ids(prep, chosen)
    walk_before, walk_after = _pair_lengths_m(baseline), _pair_lengths_m(ver)
    feats: list[Feature] = []
    for a, b, k in most_improved_pairs(walk_before, walk_after, ctx.pair_index, ctx.pair_w, ROUTES_DRAWN):
        ka, kb = ctx.firm_keys[a], ctx.firm_keys[b]
        common = {"pair": f"{firms[a].id}|{firms[b].id}", "a": firms[a].id, "b": firms[b].id}
        try:
            route_after = net.route(ka, kb, on, prep.scenario.crossings.max_route_crossings)
            # a pair the new crossings connect had no route before: its route after is drawn alone
            route_before = net.route(ka, kb) if math.isfinite(walk_before[a, b]) else None
        except ModelError as exc:
            logger.warning("no route drawn for firm pair %s: %s", common["pair"], exc)
            continue
        if route_before is not None:
            feats.append(_feature(route_before, layer="route_before", **common, walk_m=float(walk_before[a, b]),
                                  weight=float(ctx.pair_w[k])))
        feats.append(_feature(route_after, layer="route_after", **common, walk_m=float(walk_after[a, b]),
                              weight=float(ctx.pair_w[k])))
    return feats


def layout_features(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification) -> list[Feature]:
    """Features (geometry in the working CRS) of the site and the chosen layout, as written to
    ``layout.geojson``: site, placements, firms with their facility walks, most improved routes."""
    chosen = set(res.chosen)
    feats = _site_features(prep, chosen) + _placement_features(prep, chosen) + _firm_features(prep, ver, baseline)
    if ver is not None and prep.context.pair_index:
        feats += _route_features(prep, chosen, ver, baseline)
    return feats + transit_features(prep, chosen)


def crossings_used(prep: Prepared, chosen: set[int], a: int, b: int) -> str:
    """Ids of the chosen crossings on the walking route from firm ``a`` to firm ``b``, ';'-separated
    (empty when none is used, or with a warning when the route cannot be traced)."""
    ctx, net = prep.context, prep.network
    on = _chosen_crossing_ids(prep, chosen)
    if not on:
        return ""
    try:
        parts = net.route_parts(ctx.firm_keys[a], ctx.firm_keys[b], on, prep.scenario.crossings.max_route_crossings,
                                geometry=False)
    except ModelError as exc:
        logger.warning("crossings used by firm pair %s|%s not traced: %s", ctx.firm_keys[a], ctx.firm_keys[b], exc)
        return ""
    used: list[str] = []
    for p in parts:
        ref = p.get("ref")
        if ref in on and ref not in used:
            used.append(ref)
    return ";".join(used)


def _pair_rows(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification) -> list[list[Any]]:
    """``pairs.csv`` rows: weight, straight, before and after walks (m), detours and crossings used."""
    ctx = prep.context
    firms = list(prep.scenario.site.firms)
    straight = prep.network.straight_lengths(ctx.firm_keys, ctx.firm_keys)
    chosen = set(res.chosen)
    walk_before = _pair_lengths_m(baseline)
    walk_after = _pair_lengths_m(ver) if ver is not None else walk_before
    rows = []
    for k, (a, b) in enumerate(ctx.pair_index):
        before = float(walk_before[a, b])
        after = float(walk_after[a, b])
        st = float(straight[a, b])
        rows.append([firms[a].id, firms[b].id, firms[a].name, firms[b].name, round(float(ctx.pair_w[k]), 4), st, before,
                     after, before / st if st > 0 else float("nan"), after / st if st > 0 else float("nan"),
                     after - before, crossings_used(prep, chosen, a, b) if after < before - 1e-6 else ""])
    return rows


def _firm_rows(prep: Prepared, ver: Verification | None, baseline: Verification) -> list[list[Any]]:
    """``firms.csv`` rows: position, nearest facility walk before and after, social-space walk (m)."""
    soc = prep.scenario.social_spaces
    rows = []
    for i, f in enumerate(prep.scenario.site.firms):
        fb = [baseline.facility_walk_m[t][i] for t in baseline.facility_walk_m]
        fa = [ver.facility_walk_m[t][i] for t in ver.facility_walk_m] if ver is not None else fb
        if ver is not None and ver.social_walk_m is not None:
            sw = ver.social_walk_m[i]
        else:
            sw = baseline.social_walk_m[i] if baseline.social_walk_m is not None else float("inf")
        rows.append([f.id, f.name, f.employees, f.sector, round(f.location.x, 1), round(f.location.y, 1),
                     float(min(fb)) if fb else float("inf"), float(min(fa)) if fa else float("inf"), float(sw),
                     bool(soc is not None and sw <= soc.coverage_radius_m + 1e-6)])
    return rows


def _with_run_id(header: Sequence[str], rows: list[list[Any]], run_id: str | None) -> tuple[list[str], list[list[Any]]]:
    """A CSV table with the run id as its last column (every row carries it)."""
    return [*header, "run_id"], [[*r, run_id or ""] for r in rows]


@dataclass
class _RunTables:
    """What a run directory's data files hold, in memory, and the :class:`RunData` drawn from it."""

    feats: list[Feature]
    metrics_json: dict[str, Any]
    pairs_header: list[str]
    pairs: list[list[Any]]
    firms_header: list[str]
    firms: list[list[Any]]
    run: RunData


def _run_tables(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
                metrics: RunMetrics, run_dir: Path) -> _RunTables:
    run_id = metrics.run_id
    metrics_json = metrics.to_json_dict()
    feats = layout_features(prep, res, ver, baseline)
    pairs_header, pairs = _with_run_id(PAIRS_HEADER, _pair_rows(prep, res, ver, baseline), run_id)
    firms_header, firms = _with_run_id(FIRMS_HEADER, _firm_rows(prep, ver, baseline), run_id)
    layout = layout_from_features(({**f, "properties": json_ready(f["properties"])} for f in feats), prep.scenario.site.crs)
    run = RunData(run_dir, RunMetrics.from_json_dict(metrics_json), layout, _as_records(pairs_header, pairs),
                  _as_records(firms_header, firms))
    return _RunTables(feats, metrics_json, pairs_header, pairs, firms_header, firms, run)


def run_data(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
             metrics: RunMetrics, run_dir: Path | None = None) -> RunData:
    """The run as the renderers draw it, built in memory exactly as :func:`write_run` builds it
    (and :func:`load_run` reads it back), without writing anything: the drawing of a run made
    with ``out_dir=None`` (:meth:`optimiser.pipeline.RunResult.run_data`).

    Args:
        run_dir: the folder the run would be written to (names the run; default: the scenario id).
    """
    return _run_tables(prep, res, ver, baseline, metrics, run_dir or Path(prep.scenario.id)).run


def write_run(out: Path, prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
              metrics: RunMetrics, *, run_dir: Path | None = None,
              on_run_data: Callable[[RunData], None] | None = None) -> tuple[RunData, list[Path]]:
    """Write the run directory's data files into ``out``, each carrying ``metrics.run_id``
    (metrics.json field ``run_id``, GeoJSON foreign member ``run_id``, CSV column ``run_id``).

    Args:
        out: the folder to write into: a staging folder this run created (:class:`StagedDir`).
        run_dir: the run directory the files will be moved to (default ``out``): the
            :class:`RunData` returned names it.
        on_run_data: called with the :class:`RunData` as soon as it is built, before the files
            are written (the render worker draws while they are written).

    Returns:
        The run as the renderers draw it (built in memory from what was written, as
        :func:`load_run` would read it back) and the paths written.
    """
    sc = prep.scenario
    site = sc.site
    run_id = metrics.run_id
    t = _run_tables(prep, res, ver, baseline, metrics, run_dir or out)
    feats, pairs_header, pairs, firms_header, firms, run = t.feats, t.pairs_header, t.pairs, t.firms_header, t.firms, t.run
    if on_run_data is not None:
        on_run_data(run)
    written = [write_json_atomic(out / "metrics.json", t.metrics_json)]
    fc = to_wgs84_geojson(feats, site.crs)
    fc["name"] = f"{sc.id} layout"
    fc["run_id"] = run_id
    fc["run"] = {"scenario": sc.id, "site": site.id, "working_crs": site.crs, "illustrative": site.illustrative}
    written.append(atomic_write_text(out / "layout.geojson", json.dumps(json_ready(fc), separators=(",", ":")) + "\n"))
    written.append(write_run_gpkg(out / LAYOUT_GPKG, prep, res.chosen, feats, site.crs, run_id=run_id))
    written.append(atomic_write_text(out / "pairs.csv", _csv_text(pairs_header, pairs)))
    written.append(atomic_write_text(out / "firms.csv", _csv_text(firms_header, firms)))
    logger.info("wrote %s: %d features, %d pairs, %d firms", out, len(feats), len(pairs), len(firms))
    return run, written


def write_run_dir(out: Path, prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
                  metrics: RunMetrics, *, render: bool = True, started: float | None = None, stage: Path | None = None,
                  overwrite: bool = False, worker: RenderWorker | None = None) -> list[Path]:
    """Write a whole run directory: data files, then (``render``) plans and report drawn from the
    run in memory, then ``metrics.json`` again with the output timings.

    Everything is written into a fresh staging folder and moved into place whole
    (:class:`~optimiser.present.staging.StagedDir`): a killed run leaves ``out`` as it was.

    Args:
        out: the run directory.
        prep, res, ver, baseline: the prepared scenario, the solve result, the verification of
            the layout (None when nothing was solved) and of the baseline.
        metrics: the run's metrics; its ``timings`` gain ``outputs_seconds``, ``render_seconds``
            and ``total_seconds``; a missing ``run_id`` is set.
        render: also draw ``plan.png/svg``, ``distance.png/svg`` and ``report.html``.
        started: ``time.perf_counter()`` at the start of the run, for ``total_seconds``.
        stage: a staging folder the caller created and will commit (the pipeline, which
            stages before solving); ``None`` stages and commits here.
        overwrite: (``stage=None``) replace a non-empty ``out`` whole.
        worker: (``render``) a render process started earlier
            (:mod:`optimiser.present.render_worker`): it draws the plans and the report while
            the data files are written here; ``None`` draws them here after the data files.

    Returns:
        The paths of the run directory's files.
    """
    if metrics.run_id is None:
        metrics.run_id = new_run_id()
    if stage is None:
        with StagedDir(out, overwrite, metrics.run_id) as st:
            names = [p.name for p in write_run_dir(out, prep, res, ver, baseline, metrics, render=render, started=started,
                                                   stage=st.path, worker=worker)]
            st.commit()
        return [out / n for n in names]
    t = time.perf_counter()
    aside = worker if render else None
    sent: list[float] = []

    def submit(run: RunData) -> None:
        assert aside is not None and stage is not None
        if aside.submit(run, stage):
            sent.append(time.perf_counter())

    try:
        run, written = write_run(stage, prep, res, ver, baseline, metrics, run_dir=out,
                                 on_run_data=submit if aside is not None else None)
        metrics.timings["outputs_seconds"] = round(time.perf_counter() - t, 3)
        progress.phase("outputs", "metrics.json, layout.geojson, pairs.csv, firms.csv", t)
        if render:
            t = sent[0] if sent else time.perf_counter()
            written += aside.result() if (aside is not None and sent) else _render(run, stage)
    except BaseException:
        if aside is not None:  # stopped before the staging folder it draws into is removed
            aside.stop()
        raise
    if render:
        metrics.timings["render_seconds"] = round(time.perf_counter() - t, 3)
        progress.phase("render", "plans and report.html", t)
    if started is not None:
        metrics.timings["total_seconds"] = round(time.perf_counter() - started, 3)
    write_json_atomic(stage / "metrics.json", metrics.to_json_dict())
    return [out / p.name for p in written]


def _render(run: RunData, into: Path) -> list[Path]:
    # matplotlib and jinja2 are loaded only when something is drawn (a run without plans, or a
    # batch worker that does not render, does not pay for them); render never imports rundir.
    from optimiser.present.render import render_run_data

    return render_run_data(run, into)


def render_run(run_dir: str | Path) -> list[Path]:
    """Re-render a run directory from its files (``siteopt render``): ``plan.png``, ``plan.svg``,
    ``distance.png``, ``distance.svg`` and ``report.html``.

    The files are drawn into a private staging folder and renamed into ``run_dir`` (a planted
    symlink is replaced, never followed), under the run directory's lock.

    Returns:
        The paths written.

    Raises:
        FileReadError: ``run_dir`` is not a run directory, is a symbolic link (written into,
            so never followed: give the real folder), a file in it is unreadable, or its files
            carry different run ids (a mix of two runs).
        OutputBusyError: another process is writing ``run_dir``.
        OutputWriteError: the disk is full (or a quota reached, the file system read-only): the
            run directory's files are as they were.
    """
    if Path(run_dir).is_symlink():
        raise FileReadError([Problem(str(run_dir), "", f"is a symbolic link (to {os.readlink(run_dir)}); render writes into the "
                                                       "run directory and follows no symlink: give the real folder")])
    run = load_run(run_dir)
    with OutputLock(run.run_dir, run.metrics.run_id or new_run_id()):
        stage = stage_for_render(run.run_dir)
        try:
            _render(run, stage)
            return move_into(stage, run.run_dir)
        except Exception as exc:  # noqa: BLE001 - only a refused write is turned into OutputWriteError; anything else re-raised
            refused = refused_write(exc)
            if refused is None:
                raise
            room = "make room on that disk, or " if refused.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise refused.error(f"cannot write the new plans into {run.run_dir}: {refused.why}; its files are as they "
                                f"were ({room}copy the run directory to another disk and render it there)") from exc
        finally:
            remove_stage(stage)


# --------------------------------------------------------------------------- reading
def _parse_cell(column: str, text: str | None) -> Any:
    """A CSV cell as int / float / bool / None / str (text columns stay text)."""
    if column in _TEXT_COLUMNS:
        return read_cell(text or "")
    if text is None:
        return None
    s = text.strip()
    if s == "":
        return None
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("inf", "-inf"):
        return float(low)
    if low in ("nan", "none", "null"):
        return None
    try:
        return int(s) if s.lstrip("-").isdigit() else float(s)
    except ValueError:
        return s


_REWRITE = "re-run `siteopt run --overwrite` to write the directory whole"


def _read_run_text(path: Path) -> str:
    """A run file's text: a regular file within the size limit (never a FIFO or a device), in UTF-8."""
    try:
        raw = read_regular_bytes(path)
    except UnsafeFile as exc:
        raise FileReadError([Problem(str(path), "", exc.reason, "pass a run directory written by `siteopt run`")]) from exc
    except OSError as exc:
        raise FileReadError([Problem(str(path), "", f"cannot be read: {exc.strerror or exc}", "check its permissions")]) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = ("UTF-16 text" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else
                "binary data" if b"\x00" in raw[:4096] else f"not UTF-8 text (byte {exc.start})")
        raise FileReadError([Problem(str(path), "", f"{what}: not as `siteopt run` writes it (the file was replaced or "
                                     "re-saved by another program)", _REWRITE)]) from exc


def _read_csv(path: Path) -> list[dict[str, Any]]:
    text = _read_run_text(path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        raw = list(reader)
        header = list(reader.fieldnames or [])
    except (csv.Error, AttributeError) as exc:
        raise FileReadError([Problem(str(path), "", f"not a readable CSV file: {exc}")]) from exc
    for i, row in enumerate(raw):  # a row cut short (a truncated file) or with extra cells (an edit) is not the run's
        extra = row.get(None)
        cells = len(header) - sum(1 for k in header if row.get(k) is None) + (len(extra) if extra else 0)
        if cells != len(header):
            raise FileReadError([Problem(str(path), f"row {i + 2}",
                                         f"has {cells} of the {len(header)} columns of the header: the file was cut short or edited",
                                         "re-run `siteopt run --overwrite` to write the directory whole")])
    rows = [{k: _parse_cell(k, v) for k, v in row.items()} for row in raw]
    problems = [Problem(str(path), f"row {i + 2}.{k}", f"expected a number, not {v!r}")
                for i, row in enumerate(rows) for k, v in row.items()
                if isinstance(v, str) and k in _NUMERIC_COLUMNS]
    if problems:
        raise FileReadError(problems[:20])
    return rows


def _read_json(path: Path) -> Any:
    text = _read_run_text(path)
    if (depth := json_depth(text)) > MAX_NESTING:
        raise FileReadError([Problem(str(path), "", f"nested {depth} levels deep, more than the {MAX_NESTING} allowed")])
    dupes: list[str] = []
    odd: list[str] = []

    def constant(name: str) -> float:
        odd.append(name)
        return float(name.replace("Infinity", "inf"))

    try:
        data = json.loads(text, object_pairs_hook=lambda kv: json_object_no_dupes(kv, dupes), parse_constant=constant)
    except ValueError as exc:
        raise FileReadError([Problem(str(path), "", f"not readable JSON: {exc}", _REWRITE)]) from exc
    problems = [Problem(str(path), k, "key given twice: the file was edited (`siteopt run` writes each key once)", _REWRITE)
                for k in dict.fromkeys(dupes)]
    problems += [Problem(str(path), "", f"holds {n}, which JSON does not have (`siteopt run` writes null): the file was "
                         "edited", _REWRITE) for n in dict.fromkeys(odd)]
    if problems:
        raise FileReadError(problems[:20])
    return data


_SVG_ID = re.compile(r"<dc:identifier>([^<]*)</dc:identifier>")
_HTML_ID = re.compile(r'<meta name="siteopt-run-id" content="([^"]*)">')


def _rendered_run_id(path: Path) -> str | None:
    """The run id an SVG plan or the HTML report carries (``None`` when it carries none)."""
    head = _read_run_text(path)[:20000]
    m = (_SVG_ID if path.suffix == ".svg" else _HTML_ID).search(head)
    return html.unescape(m.group(1)) if m else None


def run_ids(run_dir: Path, metrics: RunMetrics, layout_fc: Mapping[str, Any], tables: Mapping[str, list[dict[str, Any]]]
            ) -> dict[str, str | None]:
    """The run id each file of a run directory carries, by file name (``None``: it carries none).
    A CSV whose rows carry different ids is listed with them joined by ``|``; the PNG plans,
    ``layout.gpkg`` and a batch item's ``result.json`` are read by :mod:`optimiser.present.runid`."""
    ids: dict[str, str | None] = {"metrics.json": metrics.run_id}
    fc_id = layout_fc.get("run_id")
    ids["layout.geojson"] = fc_id if isinstance(fc_id, str) else None
    for name, rows in tables.items():
        found = sorted({str(r.get("run_id") or "") for r in rows}) if rows else [metrics.run_id or ""]
        ids[name] = "|".join(found) or None
    for name in ("plan.svg", "distance.svg", "catchment.svg", "report.html"):  # a planted symlink is not the run's: render replaces it
        if (run_dir / name).is_file() and not (run_dir / name).is_symlink():
            ids[name] = _rendered_run_id(run_dir / name)
    ids.update(binary_run_ids(run_dir))
    return ids


def _check_one_run(run_dir: Path, ids: Mapping[str, str | None]) -> None:
    """Refuse a directory whose files carry different run ids (files of two runs mixed)."""
    distinct = set(ids.values())
    if len(distinct) <= 1:
        return
    expected = ids["metrics.json"]
    odd = {k: v for k, v in ids.items() if v != expected}
    listing = ", ".join(f"{k}: {v or 'none'}" for k, v in odd.items())
    raise FileReadError([Problem(str(run_dir), "run_id",
                                 f"files of different runs are mixed: metrics.json has run {expected or 'none'} but {listing}",
                                 "re-run `siteopt run --overwrite` to write the directory whole")])


def _check_row_counts(run_dir: Path, metrics: RunMetrics, fc: Mapping[str, Any],
                      tables: Mapping[str, list[dict[str, Any]]]) -> None:
    """Refuse a ``pairs.csv`` or ``firms.csv`` with rows removed or added: one row per firm pair of
    ``metrics.json`` (``walk.pairs``) and one per firm of ``layout.geojson`` (its ``firm`` features)."""
    feats = fc.get("features")
    firm_feats = sum(1 for f in feats if isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping)
                     and f["properties"].get("layer") == "firm") if isinstance(feats, list) else 0
    expected = {"pairs.csv": (metrics.walk.pairs, "firm pairs in metrics.json (walk.pairs)"),
                "firms.csv": (firm_feats, "firms in layout.geojson")}
    for name, rows in tables.items():
        want, what = expected[name]
        if want and len(rows) != want:
            raise FileReadError([Problem(str(run_dir / name), "rows",
                                         f"has {len(rows)} rows but the run has {want} {what}: the file was cut short or edited",
                                         "re-run `siteopt run --overwrite` to write the directory whole")])


_PLACEMENT_WORDS = {"facility": "facility", "social_space": "social space", "crossing": "new crossing"}


def _check_placements_drawn(run_dir: Path, metrics: RunMetrics, layout: Layout) -> None:
    """Refuse a ``layout.geojson`` that lacks something ``metrics.json`` says was built (a feature
    deleted or the file edited): the plans would show less than the report's figures count."""
    pl = metrics.placements
    for layer, placed in (("facility", pl.shared_facilities), ("social_space", pl.social_spaces), ("crossing", pl.crossings)):
        feats = layout.layer(layer)
        if not all("id" in f.props for f in feats):
            continue  # an earlier writer's features without ids: nothing to match
        drawn = {str(f.props["id"]) for f in feats}
        if lost := [p.id for p in placed if p.id not in drawn]:
            raise FileReadError([Problem(str(run_dir / "layout.geojson"), "features",
                                         f"lacks {len(lost)} of the {len(placed)} {_PLACEMENT_WORDS[layer]} placements of "
                                         f"metrics.json ({', '.join(lost[:5])}): the file was cut short or edited",
                                         "re-run `siteopt run --overwrite` to write the directory whole")])


def read_metrics(path: str | Path) -> RunMetrics:
    """Read a run's ``metrics.json`` into :class:`RunMetrics`.

    Raises:
        FileReadError: the file is unreadable, not JSON, or a field has the wrong type (one
            problem per field, naming it, e.g. ``walk.pairs``).
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise FileReadError([Problem(str(path), "", "expected a JSON object")])
    try:
        return RunMetrics.from_json_dict(data)
    except ValidationError as exc:
        edited = "(not as siteopt run writes it: the file was edited or damaged)"
        raise FileReadError([Problem(str(path), ".".join(str(p) for p in err["loc"]),
                                     f"{err['msg'][:1].lower()}{err['msg'][1:]} {edited}", _REWRITE)
                             for err in exc.errors()]) from exc


def _missing(run_dir: Path, name: str) -> FileReadError:
    """The error for a required file of ``run_dir`` that is missing, or there but not a file."""
    path = run_dir / name
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return FileReadError([Problem(str(path), "", f"is {'a folder' if stat.S_ISDIR(mode) else file_kind(mode)}, not the "
                                      "file a run writes", _REWRITE)])
    return FileReadError([Problem(str(path), "", f"missing file: {run_dir} is not a run directory",
                                  _batch_hint(run_dir) or "run `siteopt run --out DIR` first, or pass a run directory")])


def _batch_hint(folder: Path) -> str | None:
    """What to pass instead when ``folder`` is a batch's output folder (``batch.json`` and
    ``runs/``): its items' run directories, a few named."""
    runs = folder / "runs"
    try:
        if not (folder / "batch.json").is_file() or not runs.is_dir():
            return None
        items = sorted(d.name for d in runs.iterdir() if (d / "metrics.json").is_file())
    except OSError:
        return None
    if not items:
        return f"{folder} is a batch's folder with no finished run yet: pass one of {runs}/*/ once its items finish"
    shown = ", ".join(str(runs / n) for n in items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
    return f"{folder} is a batch's folder (siteopt batch): pass its items' run directories, e.g. {shown}"


def _layout(run_dir: Path, fc: Mapping[str, Any], crs: str) -> Layout:
    """The layout of ``layout.geojson``; a malformed feature is a problem with the file, not a crash."""
    try:
        return project_geojson(fc, crs)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise FileReadError([Problem(str(run_dir / "layout.geojson"), "features", f"not a valid layout: {exc}",
                                     "pass a run directory written by `siteopt run`")]) from exc


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory (``metrics.json`` and ``layout.geojson`` required; ``pairs.csv`` and
    ``firms.csv`` used when present, else listed in ``RunData.missing``).

    Raises:
        FileReadError: not a directory, a required file missing, a file unreadable or of the
            wrong shape (naming the file and the field), or files of different runs mixed
            (their ``run_id`` disagree).
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        near = suggest_path(run_dir)
        raise FileReadError([Problem(str(run_dir), "", "does not exist (expected a run directory)",
                                     f"did you mean {str(near)!r}?" if near else "give the folder `siteopt run --out DIR` wrote")])
    if not run_dir.is_dir():
        raise FileReadError([Problem(str(run_dir), "", "is a file, not a directory (expected a run directory)",
                                     "give the folder `siteopt run --out DIR` wrote, not a file in it")])
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise _missing(run_dir, name)
    metrics = read_metrics(run_dir / "metrics.json")
    fc = _read_json(run_dir / "layout.geojson")
    if not isinstance(fc, Mapping) or fc.get("type") != "FeatureCollection":
        raise FileReadError([Problem(str(run_dir / "layout.geojson"), "type", "expected a FeatureCollection")])
    optional = {name: _read_csv(run_dir / name) for name in ("pairs.csv", "firms.csv") if (run_dir / name).is_file()}
    _check_row_counts(run_dir, metrics, fc, optional)
    _check_one_run(run_dir, run_ids(run_dir, metrics, fc, optional))
    layout = _layout(run_dir, fc, metrics.site.crs or "EPSG:27700")
    _check_placements_drawn(run_dir, metrics, layout)
    missing = tuple(name for name in ("pairs.csv", "firms.csv") if name not in optional)
    logger.debug("read %s: %d features, missing %s", run_dir, len(layout.features), missing or "nothing")
    return RunData(run_dir, metrics, layout, optional.get("pairs.csv", []), optional.get("firms.csv", []), missing)
