"""Write a run directory: metrics.json, layout.geojson, pairs.csv, firms.csv.

Each data file is written to a temporary name in the same folder and renamed into place, so
a killed run never leaves a half-written data file under a final name (plans and the report
are re-drawable from these with ``siteopt render``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimiser.present.geojson import to_wgs84_geojson
from optimiser.present.metrics import RunMetrics

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.pipeline import Prepared
    from optimiser.solve.result import SolveResult
    from optimiser.verify import Verification

_UMASK = os.umask(0)
os.umask(_UMASK)

ROUTES_DRAWN = 6
"""How many most-improved firm pairs get their before/after routes in layout.geojson."""


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; run files are for sharing
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """JSON (inf/nan as null) written atomically."""
    return atomic_write_text(path, json.dumps(_clean(data), indent=2) + "\n")


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if (isinstance(v, float) and not math.isfinite(v)) else (round(v, 2) if isinstance(v, float) else v) for v in r])
    return buf.getvalue()


def layout_features(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification) -> list[dict[str, Any]]:
    """Features (geometry in the working CRS) of the site and the chosen layout."""
    sc = prep.scenario
    site = sc.site
    ctx = prep.context
    net = prep.network
    feats: list[dict[str, Any]] = []

    def add(geom, **props):
        feats.append({"type": "Feature", "geometry": geom, "properties": props})

    for p in site.parcels:
        add(p.polygon, layer="parcel", id=p.id, name=p.name, status=p.status.value, area_ha=round(p.polygon.area / 1e4, 2))
    active = {b.id for b in sc.active_barriers}
    for b in site.barriers:
        add(b.centreline, layer="barrier", id=b.id, name=b.name, kind=b.kind.value, width_m=b.width_m, active=b.id in active,
            layer_name=b.layer)
    for w in site.paths:
        add(w.line, layer="path", id=w.id, name=w.name, kind=w.kind)
    for c in site.crossings:
        add(c.line, layer="existing_crossing", id=c.id, name=c.name, type=c.type, barrier=c.barrier_id)
    chosen = set(res.chosen)
    chosen_cross = {ctx.crossing_decision[c] for c in ctx.crossing_decision if ctx.crossing_decision[c] in chosen}
    for ci, c in enumerate(net.candidates):
        d = ctx.crossing_decision.get(ci)
        is_chosen = d is not None and d in chosen_cross
        add(c.line, layer="candidate_crossing", id=c.id, type=c.type, cost_gbp=c.cost_gbp, penalty_m=c.penalty_m, chosen=is_chosen)
        if is_chosen:
            add(c.line, layer="crossing", id=c.id, name=c.name, type=c.type, cost_gbp=c.cost_gbp, penalty_m=c.penalty_m, barrier=c.barrier_id)
    keys = {prep.problem.decisions[i].key for i in chosen}
    spec_by_type = {s.type: s for s in sc.facilities}
    for s in prep.facility_sites:
        if s.key in keys:
            add(s.point, layer="facility", id=s.key, type=s.type, cost_gbp=s.cost_gbp, parcel=s.parcel_id,
                footprint_m2=spec_by_type[s.type].footprint_m2)
            add(s.footprint, layer="facility_footprint", id=s.key, type=s.type)
    for spec in sc.facilities:
        for p in spec.existing:
            add(p, layer="existing_facility", type=spec.type)
    if sc.social_spaces is not None:
        for s in prep.social_sites:
            if s.key in keys:
                add(s.point, layer="social_space", id=s.key, cost_gbp=s.cost_gbp, parcel=s.parcel_id,
                    coverage_radius_m=sc.social_spaces.coverage_radius_m)
        for p in sc.social_spaces.existing:
            add(p, layer="existing_social_space")
    firms = list(site.firms)
    for i, f in enumerate(firms):
        add(f.location, layer="firm", id=f.id, name=f.name, employees=f.employees, sector=f.sector, fixed=f.fixed,
            accuracy_m=f.provenance.accuracy_m, provenance=f.provenance.source)
        for spec in sc.facilities:
            fb = baseline.facility_walk_m.get(spec.type)
            fa = ver.facility_walk_m.get(spec.type) if ver is not None else fb
            add(f.location, layer="facility_walk", firm=f.id, type=spec.type,
                before_m=float(fb[i]) if fb is not None else None, after_m=float(fa[i]) if fa is not None else None)
    # most improved pairs: before (dashed) and after routes
    if ver is not None and ctx.pair_index:
        on = [net.candidates[c].id for c, d in ctx.crossing_decision.items() if d in chosen]
        gains = []
        for k, (a, b) in enumerate(ctx.pair_index):
            before = baseline.pair_lengths_m[a, b]
            after = ver.pair_lengths_m[a, b]
            if math.isfinite(after) and after < before - 1.0:
                gains.append(((before - after) * ctx.pair_w[k], a, b, k))
        gains.sort(reverse=True)
        for _, a, b, k in gains[:ROUTES_DRAWN]:
            ka, kb = ctx.firm_keys[a], ctx.firm_keys[b]
            pair = f"{firms[a].id}|{firms[b].id}"
            try:
                add(net.route(ka, kb), layer="route_before", pair=pair, a=firms[a].id, b=firms[b].id,
                    walk_m=float(baseline.pair_lengths_m[a, b]), weight=float(ctx.pair_w[k]))
                add(net.route(ka, kb, on), layer="route_after", pair=pair, a=firms[a].id, b=firms[b].id,
                    walk_m=float(ver.pair_lengths_m[a, b]), weight=float(ctx.pair_w[k]))
            except Exception:  # noqa: BLE001 - a route drawing problem must not lose the run
                continue
    return feats


def crossings_used(prep: Prepared, chosen: set[int], a: int, b: int) -> str:
    """Ids of chosen crossings on the (a, b) route, ';'-separated."""
    ctx = prep.context
    net = prep.network
    on = [net.candidates[c].id for c, d in ctx.crossing_decision.items() if d in chosen]
    if not on:
        return ""
    try:
        parts = net.route_parts(ctx.firm_keys[a], ctx.firm_keys[b], on)
    except Exception:  # noqa: BLE001
        return ""
    used = []
    for p in parts:
        ref = p.get("ref") if isinstance(p, dict) else None
        if ref in on and ref not in used:
            used.append(ref)
    return ";".join(used)


def write_run_dir(out: Path, prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
                  metrics: RunMetrics, *, render: bool = True, started: float | None = None) -> list[Path]:
    """Write a whole run directory: data files, then (``render``) plans and report, then
    ``metrics.json`` with the output timings. Returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    written = write_run(out, prep, res, ver, baseline, metrics)
    metrics.timings["outputs_seconds"] = round(time.perf_counter() - t, 3)
    if render:
        from optimiser.present.plan import render_run

        t = time.perf_counter()
        written += render_run(out)
        metrics.timings["render_seconds"] = round(time.perf_counter() - t, 3)
    if started is not None:
        metrics.timings["total_seconds"] = round(time.perf_counter() - started, 3)
    write_json_atomic(out / "metrics.json", metrics.to_json_dict())
    return written


def write_run(out: Path, prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
              metrics: RunMetrics) -> list[Path]:
    """Write the run directory's data files; returns their paths."""
    sc = prep.scenario
    site = sc.site
    ctx = prep.context
    firms = list(site.firms)
    written = [write_json_atomic(out / "metrics.json", metrics.to_json_dict())]
    fc = to_wgs84_geojson(layout_features(prep, res, ver, baseline), site.crs)
    fc["name"] = f"{sc.id} layout"
    fc["run"] = {"scenario": sc.id, "site": site.id, "working_crs": site.crs, "illustrative": site.illustrative}
    written.append(atomic_write_text(out / "layout.geojson", json.dumps(_clean(fc), separators=(",", ":")) + "\n"))
    straight = prep.network.straight_lengths(ctx.firm_keys, ctx.firm_keys)
    chosen = set(res.chosen)
    rows = []
    for k, (a, b) in enumerate(ctx.pair_index):
        before = float(baseline.pair_lengths_m[a, b])
        after = float(ver.pair_lengths_m[a, b]) if ver is not None else before
        st = float(straight[a, b])
        rows.append([firms[a].id, firms[b].id, firms[a].name, firms[b].name, round(float(ctx.pair_w[k]), 4), st, before, after,
                     before / st if st > 0 else float("nan"), after / st if st > 0 else float("nan"), after - before,
                     crossings_used(prep, chosen, a, b) if after < before - 1e-6 else ""])
    written.append(atomic_write_text(out / "pairs.csv", _csv_text(
        ["a", "b", "a_name", "b_name", "weight", "straight_m", "before_m", "after_m", "detour_before", "detour_after", "change_m", "crossings_used"], rows)))
    frows = []
    soc = sc.social_spaces
    for i, f in enumerate(firms):
        fb = [baseline.facility_walk_m[t][i] for t in baseline.facility_walk_m]
        fa = [ver.facility_walk_m[t][i] for t in ver.facility_walk_m] if ver is not None else fb
        sw = ver.social_walk_m[i] if (ver is not None and ver.social_walk_m is not None) else (
            baseline.social_walk_m[i] if baseline.social_walk_m is not None else float("inf"))
        frows.append([f.id, f.name, f.employees, f.sector, round(f.location.x, 1), round(f.location.y, 1),
                      float(min(fb)) if fb else float("inf"), float(min(fa)) if fa else float("inf"), float(sw),
                      bool(soc is not None and sw <= soc.coverage_radius_m + 1e-6)])
    written.append(atomic_write_text(out / "firms.csv", _csv_text(
        ["firm", "name", "employees", "sector", "x", "y", "facility_walk_before_m", "facility_walk_after_m", "social_walk_m", "covered"], frows)))
    return written
