"""The transit section of a run: ``metrics.json``'s ``transit`` (:class:`TransitMetrics`) and the
stops' walking catchments drawn along the network (``layout.geojson`` layers ``transit_line``,
``transit_stop`` and ``transit_catchment``).

Every figure here comes from the independent verifier's walks (:mod:`optimiser.verify`): the
covered staff and mean walks of the chosen stops with the new crossings, of the best stops with
today's crossings only (solved in the same run, :mod:`optimiser.solve.transit`), and of today
(existing stops only). A catchment is the part of the walking network within ``catchment_m`` of
a stop (street segments cut where the walk runs out), buffered by :data:`CATCHMENT_BUFFER_M`:
not a circle. It is drawn before (today's crossings) and after (with the new crossings).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.geometry.base import BaseGeometry

from optimiser.present.transit_record import TransitMetrics, TransitStopRecord, stop_name
from optimiser.verify import Verification, layout_graph
from optimiser.verify_graph import PlainGraph

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.pipeline import Prepared
    from optimiser.solve.result import SolveResult

logger = logging.getLogger(__name__)

CATCHMENT_BUFFER_M = 25.0
"""Half-width of the band drawn along the reachable streets of a catchment (m)."""


def covered_employees(employees: np.ndarray, walk_m: np.ndarray | None, catchment_m: float) -> int | None:
    """Staff whose walk to the nearest stop is within the catchment (None without walks)."""
    if walk_m is None:
        return None
    return int(employees[walk_m <= catchment_m + 1e-6].sum())


def mean_walk_m(employees: np.ndarray, walk_m: np.ndarray | None) -> float | None:
    """Staff-weighted mean walk (m) over firms with a walk; None when no firm has one."""
    if walk_m is None:
        return None
    ok = np.isfinite(walk_m) & (employees > 0)
    return round(float(np.sum(walk_m[ok] * employees[ok]) / np.sum(employees[ok])), 1) if ok.any() else None


def _stop_records(prep: Prepared, chosen: tuple[int, ...]) -> list[TransitStopRecord]:
    by_key = {s.key: s for s in prep.context.stop_sites}
    names = {t.id: t.name for t in prep.scenario.site.transit}
    out = []
    for i in sorted(chosen):
        d = prep.problem.decisions[i]
        if d.kind == "stop":
            s = by_key[d.key]
            out.append(TransitStopRecord(id=s.key, name=stop_name(names.get(s.type) or s.type, s.key), line=s.type,
                                         x=round(s.point.x, 1), y=round(s.point.y, 1), cost=s.cost))
    return out


def transit_metrics(prep: Prepared, res: SolveResult, ver: Verification | None, baseline: Verification,
                    today_res: SolveResult | None, today_ver: Verification | None) -> TransitMetrics | None:
    """The ``transit`` section of metrics.json (None without ``transit``).

    Args:
        prep: the prepared run; res, ver: the joint solve and its verification.
        baseline: today's layout verified (existing stops, today's crossings).
        today_res, today_ver: the solve with today's crossings only, and its verification.
    """
    tr = prep.scenario.transit
    if tr is None:
        return None
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    walk = ver.transit_walk_m if ver is not None else None
    today_walk = today_ver.transit_walk_m if today_ver is not None else None
    stops = _stop_records(prep, res.chosen) if res.status.has_solution else []
    crossings = [prep.problem.decisions[i].key.split(":", 1)[1] for i in res.chosen
                 if prep.problem.decisions[i].kind == "crossing"] if res.status.has_solution else []
    existing = [TransitStopRecord(id=s.id, name=s.name, line=t.id, x=round(s.point.x, 1), y=round(s.point.y, 1), existing=True)
                for t in prep.scenario.transit_lines for s in t.stops]
    return TransitMetrics(
        objective=tr.objective, catchment_m=tr.catchment_m, stops=stops, existing_stops=existing, crossings=crossings,
        capital=sum(s.cost for s in stops), total_employees=int(emp.sum()),
        covered_employees=covered_employees(emp, walk, tr.catchment_m),
        covered_employees_existing_crossings_only=covered_employees(emp, today_walk, tr.catchment_m),
        covered_employees_today=covered_employees(emp, baseline.transit_walk_m, tr.catchment_m) or 0,
        mean_walk_m=mean_walk_m(emp, walk),
        mean_walk_existing_crossings_only_m=mean_walk_m(emp, today_walk),
        mean_walk_today_m=mean_walk_m(emp, baseline.transit_walk_m),
        employees_without_walk=int(emp[~np.isfinite(walk)].sum()) if walk is not None else None,
        stops_existing_crossings_only=_stop_records(prep, today_res.chosen) if today_res is not None and today_res.status.has_solution
        else [],
        existing_crossings_only_status=str(today_res.status.value) if today_res is not None else None,
    )


# ----------------------------------------------------------------------------- catchments


def network_catchment(graph: PlainGraph, key: str, reach_m: float) -> tuple[BaseGeometry, float]:
    """The network within ``reach_m`` walk of ``key``'s nodes: every edge's reachable part (cut
    where the walk runs out, from either end), as lines.

    Returns:
        (the reachable lines, their walking length in m).
    """
    nodes = graph.access.get(key, ())
    if not nodes or graph.csr.shape[0] == 0:
        return MultiLineString(), 0.0
    dist = np.asarray(dijkstra(graph.csr, directed=False, indices=list(nodes), limit=reach_m + 1e-6)).reshape(len(nodes), -1).min(axis=0)
    edges = sp.triu(graph.csr).tocoo()
    u, v, w = edges.row, edges.col, edges.data
    a = np.clip(reach_m - dist[u], 0.0, w)  # reach along the edge from u (0 when u is out of reach)
    b = np.clip(reach_m - dist[v], 0.0, w)
    a[~np.isfinite(dist[u])] = 0.0
    b[~np.isfinite(dist[v])] = 0.0
    parts: list[LineString] = []
    total = 0.0
    xy = graph.xy
    for k in np.nonzero((a > 0) | (b > 0))[0].tolist():
        p, q, wk = xy[u[k]], xy[v[k]], float(w[k])
        if a[k] + b[k] >= wk:
            parts.append(LineString([p, q]))
            total += wk
            continue
        if a[k] > 0:
            parts.append(LineString([p, p + (q - p) * a[k] / wk]))
        if b[k] > 0:
            parts.append(LineString([q, q + (p - q) * b[k] / wk]))
        total += float(a[k] + b[k])
    return MultiLineString(parts), total


def catchment_polygons(prep: Prepared, chosen: tuple[int, ...], buffer_m: float = CATCHMENT_BUFFER_M) -> list[dict[str, Any]]:
    """Each new and existing stop's walking catchment before (today's crossings) and after (the
    chosen crossings): ``{"stop", "phase", "geometry", "street_m"}`` records."""
    tr = prep.scenario.transit
    if tr is None:
        return []
    ctx = prep.context
    keys = [prep.problem.decisions[i].key for i in sorted(chosen) if prep.problem.decisions[i].kind == "stop"]
    keys += list(ctx.existing_stop_keys)
    no_crossing = tuple(i for i in chosen if prep.problem.decisions[i].kind != "crossing")
    out = []
    for phase, graph in (("before", layout_graph(ctx, no_crossing)), ("after", layout_graph(ctx, chosen))):
        for key in keys:
            lines, street_m = network_catchment(graph, key, tr.catchment_m)
            geom = lines.buffer(buffer_m) if street_m > 0 else Polygon()
            out.append({"stop": key, "phase": phase, "geometry": shapely.normalize(geom), "street_m": round(street_m, 1)})
    return out


def transit_features(prep: Prepared, chosen: set[int]) -> list[dict[str, Any]]:
    """``layout.geojson`` features: alignments, stops (new and existing) and catchments."""
    tr = prep.scenario.transit
    if tr is None:
        return []

    def feature(geom: BaseGeometry, **props: Any) -> dict[str, Any]:
        return {"type": "Feature", "geometry": geom, "properties": props}

    feats = [feature(t.line, layer="transit_line", id=t.id, name=t.name, mode=t.mode) for t in prep.scenario.transit_lines]
    by_key = {s.key: s for s in prep.context.stop_sites}
    lines = {t.id: t.name for t in prep.scenario.transit_lines}
    for i in sorted(chosen):
        d = prep.problem.decisions[i]
        if d.kind == "stop":
            s = by_key[d.key]
            feats.append(feature(s.point, layer="transit_stop", id=s.key, name=stop_name(lines.get(s.type) or s.type, s.key),
                                 line=s.type, status="new", cost=s.cost,
                                 currency=prep.scenario.currency))
    for t in prep.scenario.transit_lines:
        for st in t.stops:
            feats.append(feature(st.point, layer="transit_stop", id=f"existing:stop:{st.id}", name=st.name, line=t.id,
                                 status="existing"))
    for c in catchment_polygons(prep, tuple(sorted(chosen))):
        if not c["geometry"].is_empty:
            feats.append(feature(c["geometry"], layer="transit_catchment", id=f"{c['stop']}:{c['phase']}", stop=c["stop"],
                                 phase=c["phase"], catchment_m=tr.catchment_m, street_m=c["street_m"]))
    return feats
