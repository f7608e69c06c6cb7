"""A small but realistic synthetic run directory, written in the run-directory contract.

``make_run_dir(path, variant=0)`` writes ``metrics.json``, ``layout.geojson`` (RFC 7946, WGS84),
``pairs.csv`` and ``firms.csv`` for a toy site around E 441000 / N 388500 (EPSG:27700): a
parcel north and south of a dual carriageway, an open-space strip, six firms, a junction
crossing at the west end, three candidate crossings (one chosen), one new shared facility and
one social space. ``variant`` moves the placements, switches on a 200 m rail corridor (odd
variants) and changes the metrics, so comparisons have differences to show.

``metrics.json`` is a :class:`~optimiser.present.metrics.RunMetrics` written with
``to_json_dict()``, so the fixture cannot drift from the real shape. The renderers read only
these files, so the tests exercise exactly what ``siteopt render``
sees after a real run.
"""

from __future__ import annotations

import csv
import json
import math
from itertools import combinations
from pathlib import Path
from typing import Any

from pyproj import Transformer

from optimiser.present.metrics import (
    CheckRecord,
    CostMetrics,
    Coverage,
    CrossingPlacement,
    Placements,
    RunMetrics,
    ScenarioRef,
    SitePlacement,
    SiteRef,
    VerificationMetrics,
    WalkMetrics,
)
from optimiser.solve.result import Status

CRS = "EPSG:27700"
_TO_WGS84 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

FIRMS = [
    # id, name, employees, sector, x, y, fixed
    ("f2050", "AMRC Factory 2050", 70, "research", 440700.0, 388800.0, True),
    ("boeing", "Boeing Sheffield", 100, "aerospace", 440950.0, 388860.0, False),
    ("lvv", "Laboratory for Verification and Validation", 40, "research", 441250.0, 388780.0, False),
    ("amrc", "AMRC with Boeing", 300, "research", 440750.0, 388250.0, False),
    ("nuclear", "Nuclear AMRC", 80, "energy", 441050.0, 388180.0, False),
    ("mclaren", "McLaren Composites Technology Centre", 200, "automotive", 441350.0, 388300.0, False),
]

# the carriageway runs west-east with a slight rise; y on its centreline at x
_ROAD_W = (440400.0, 388470.0)
_ROAD_E = (441600.0, 388560.0)


def road_y(x: float) -> float:
    (x0, y0), (x1, y1) = _ROAD_W, _ROAD_E
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _crossing_line(x: float, half: float = 35.0) -> list[tuple[float, float]]:
    return [(x, road_y(x) - half), (x, road_y(x) + half)]


EXISTING_CROSSING_X = 440480.0
CANDIDATES = [("c1", "signalised", 440850.0, 350_000, 60.0),
              ("c2", "footbridge", 441050.0, 1_500_000, 40.0),
              ("c3", "underpass", 441300.0, 2_200_000, 30.0)]

VARIANTS: dict[int, dict[str, Any]] = {
    0: {"crossing": "c2", "facility": ("sf1", "shared_lab", 441150.0, 388350.0, 900_000),
        "social": ("ss1", 441000.0, 388650.0, 150_000), "rail": False,
        "name": "Baseline: Parkway only", "id": "baseline", "status": "optimal", "gap": 0.0},
    1: {"crossing": "c1", "facility": ("sf1", "canteen_hub", 440900.0, 388720.0, 600_000),
        "social": ("ss1", 441200.0, 388420.0, 150_000), "rail": True,
        "name": "HS2 2013 corridor active", "id": "hs2", "status": "feasible", "gap": 0.034},
}


def _wgs(coords: list[tuple[float, float]]) -> list[list[float]]:
    out = []
    for x, y in coords:
        lon, lat = _TO_WGS84.transform(x, y)
        out.append([round(lon, 7), round(lat, 7)])
    return out


def _feature(kind: str, coords: Any, props: dict[str, Any]) -> dict[str, Any]:
    if kind == "Point":
        geom = {"type": "Point", "coordinates": _wgs([coords])[0]}
    elif kind == "LineString":
        geom = {"type": "LineString", "coordinates": _wgs(coords)}
    else:  # Polygon, one ring
        ring = list(coords) + [coords[0]]
        geom = {"type": "Polygon", "coordinates": [_wgs(ring)]}
    return {"type": "Feature", "geometry": geom, "properties": props}


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _north(p: tuple[float, float]) -> bool:
    return p[1] > road_y(p[0])


def _walk(a: tuple[float, float], b: tuple[float, float], crossings_x: list[float]):
    """Walk length and polyline: direct-ish on one side, else via the best crossing."""
    if _north(a) == _north(b):
        return 1.25 * _dist(a, b), [a, b], []
    best = None
    for x in crossings_x:
        s, n = _crossing_line(x)
        p, q = (s, n) if not _north(a) else (n, s)
        length = 1.15 * (_dist(a, p) + _dist(q, b)) + _dist(p, q) + 40.0
        if best is None or length < best[0]:
            best = (length, [a, (a[0], p[1]) if abs(a[0] - p[0]) > 5 else a, p, q, b], x)
    return best[0], best[1], [best[2]]


def make_run_dir(path: str | Path, *, variant: int = 0) -> Path:
    """Write a synthetic run directory at ``path`` (created if needed) and return it."""
    run = Path(path)
    run.mkdir(parents=True, exist_ok=True)
    v = VARIANTS[variant % 2]
    chosen = next(c for c in CANDIDATES if c[0] == v["crossing"])
    fac_id, fac_type, fx, fy, fcost = v["facility"]
    ss_id, sx, sy, scost = v["social"]

    feats: list[dict[str, Any]] = []
    # parcels
    feats.append(_feature("Polygon", [(440450, 388620), (441550, 388680), (441550, 389000), (440450, 389000)],
                          {"layer": "parcel", "id": "sbp", "name": "Sheffield Business Park", "status": "occupied"}))
    feats.append(_feature("Polygon", [(440450, 388080), (441550, 388080), (441550, 388480), (440450, 388400)],
                          {"layer": "parcel", "id": "amp", "name": "Advanced Manufacturing Park", "status": "buildable"}))
    feats.append(_feature("Polygon", [(441100, 388850), (441400, 388850), (441400, 389000), (441100, 389000)],
                          {"layer": "parcel", "id": "ph4", "name": "SBP Phase 4", "status": "reserved"}))
    feats.append(_feature("Polygon", [(440450, 388420), (441550, 388500), (441550, 388520), (440450, 388440)],
                          {"layer": "parcel", "id": "verge", "name": "Parkway verge", "status": "open_space"}))
    # firms
    for fid, name, emp, sector, x, y, fixed in FIRMS:
        feats.append(_feature("Point", (x, y), {"layer": "firm", "id": fid, "name": name, "employees": emp,
                                                "sector": sector, "fixed": fixed}))
    # barriers
    feats.append(_feature("LineString", [(440300, road_y(440300)), (441700, road_y(441700))],
                          {"layer": "barrier", "id": "parkway", "name": "A630 Sheffield Parkway",
                           "kind": "carriageway", "width_m": 32.0, "active": True}))
    feats.append(_feature("LineString", [(441450, 388000), (440650, 389100)],
                          {"layer": "barrier", "id": "hs2", "name": "HS2 2013 route", "kind": "rail_corridor",
                           "width_m": 200.0, "active": bool(v["rail"])}))
    # paths: a spine each side plus spurs to firms
    feats.append(_feature("LineString", [(440450, 388660), (441550, 388720)], {"layer": "path", "id": "p_n"}))
    feats.append(_feature("LineString", [(440450, 388380), (441550, 388440)], {"layer": "path", "id": "p_s"}))
    for fid, _n, _e, _s, x, y, _f in FIRMS:
        feats.append(_feature("LineString", [(x, y), (x, 388690 if y > 388500 else 388410)],
                              {"layer": "path", "id": f"spur_{fid}"}))
    feats.append(_feature("LineString", _crossing_line(EXISTING_CROSSING_X),
                          {"layer": "existing_crossing", "id": "x_catcliffe", "name": "Catcliffe junction",
                           "type": "junction"}))
    for cid, ctype, cx, cost, _pen in CANDIDATES:
        feats.append(_feature("LineString", _crossing_line(cx),
                              {"layer": "candidate_crossing", "id": cid, "type": ctype, "cost_gbp": cost,
                               "chosen": cid == chosen[0]}))
    feats.append(_feature("LineString", _crossing_line(chosen[2]),
                          {"layer": "crossing", "id": chosen[0], "type": chosen[1], "cost_gbp": chosen[3]}))
    feats.append(_feature("Point", (fx, fy), {"layer": "facility", "id": fac_id, "type": fac_type,
                                              "cost_gbp": fcost, "footprint_m2": 800.0}))
    feats.append(_feature("Point", (440600.0, 388900.0), {"layer": "existing_facility", "type": "cafe"}))
    feats.append(_feature("Point", (sx, sy), {"layer": "social_space", "id": ss_id, "cost_gbp": scost,
                                              "coverage_radius_m": 400.0}))

    # pairs, with weights employees x employees (scaled)
    pos = {f[0]: (f[4], f[5]) for f in FIRMS}
    names = {f[0]: f[1] for f in FIRMS}
    emp = {f[0]: f[2] for f in FIRMS}
    rows = []
    routes = []
    for a, b in combinations(pos, 2):
        w = emp[a] * emp[b] / 1000.0
        straight = _dist(pos[a], pos[b])
        before, rb, _ = _walk(pos[a], pos[b], [EXISTING_CROSSING_X])
        after, ra, used = _walk(pos[a], pos[b], [EXISTING_CROSSING_X, chosen[2]])
        used_ids = [chosen[0]] if used and used[0] == chosen[2] else []
        rows.append({"a": a, "b": b, "a_name": names[a], "b_name": names[b], "weight": round(w, 3),
                     "straight_m": round(straight, 1), "before_m": round(before, 1), "after_m": round(after, 1),
                     "detour_before": round(before / straight, 3), "detour_after": round(after / straight, 3),
                     "change_m": round(after - before, 1), "crossings_used": ";".join(used_ids)})
        routes.append((after - before, a, b, rb, ra, before, after, w))
    routes.sort()
    for _chg, a, b, rb, ra, before, after, w in routes[:3]:
        common = {"pair": f"{a}|{b}", "a": a, "b": b, "weight": round(w, 3)}
        feats.append(_feature("LineString", rb, {"layer": "route_before", **common, "walk_m": round(before, 1)}))
        feats.append(_feature("LineString", ra, {"layer": "route_after", **common, "walk_m": round(after, 1)}))

    # facility walks: before = to the existing cafe; after = nearest of cafe and the new facility
    cafe = (440600.0, 388900.0)
    firm_rows = []
    for fid, name, e, sector, x, y, _f in FIRMS:
        before, _, _ = _walk((x, y), cafe, [EXISTING_CROSSING_X])
        after_new, _, _ = _walk((x, y), (fx, fy), [EXISTING_CROSSING_X, chosen[2]])
        after_old, _, _ = _walk((x, y), cafe, [EXISTING_CROSSING_X, chosen[2]])
        after = min(after_new, after_old)
        social = _walk((x, y), (sx, sy), [EXISTING_CROSSING_X, chosen[2]])[0]
        feats.append(_feature("Point", (x, y), {"layer": "facility_walk", "firm": fid,
                                                "before_m": round(before, 1), "after_m": round(after, 1)}))
        firm_rows.append({"firm": fid, "name": name, "employees": e, "sector": sector, "x": x, "y": y,
                          "facility_walk_before_m": round(before, 1), "facility_walk_after_m": round(after, 1),
                          "social_walk_m": round(social, 1), "covered": str(_dist((x, y), (sx, sy)) <= 400.0).lower()})

    sw = sum(r["weight"] for r in rows)
    base = sum(r["weight"] * r["before_m"] for r in rows) / sw
    opt = sum(r["weight"] * r["after_m"] for r in rows) / sw
    capital = chosen[3] + fcost + scost
    emp_total = sum(emp.values())
    covered = sum(e for r, e in zip(firm_rows, emp.values()) if r["covered"] == "true")
    status, gap = v["status"], v["gap"]
    objective = round(opt * sw, 3)
    metrics = RunMetrics(
        status=Status(status), objective=objective, bound=round(objective * (1 - gap), 3), gap=gap,
        solve_seconds=1.234 + variant, backend="cpsat" if variant % 2 == 0 else "cbc", seed=7,
        scenario=ScenarioRef(id=v["id"], name=v["name"], path=f"constraints/toy/{v['id']}.yaml",
                             description="Synthetic test scenario <with markup & ampersands>"),
        site=SiteRef(id="toy", name="Toy AMP-SBP site", illustrative=True, crs=CRS),
        walk=WalkMetrics(baseline_weighted_mean_m=round(base, 1), optimised_weighted_mean_m=round(opt, 1),
                         reduction_pct=round(100 * (base - opt) / base, 2),
                         baseline_mean_detour=round(sum(r["detour_before"] for r in rows) / len(rows), 3),
                         optimised_mean_detour=round(sum(r["detour_after"] for r in rows) / len(rows), 3),
                         pairs=len(rows), pairs_compared=len(rows)),
        coverage=Coverage(radius_m=400.0, mode="hard", baseline_share=0.0, optimised_share=round(covered / emp_total, 3)),
        cost=CostMetrics(capital=capital, budget=4_000_000, crossings=chosen[3], facilities=fcost, social_spaces=scost),
        placements=Placements(
            shared_facilities=[SitePlacement(id=fac_id, type=fac_type, x=fx, y=fy, cost=fcost)],
            social_spaces=[SitePlacement(id=ss_id, type="social_space", x=sx, y=sy, cost=scost)],
            crossings=[CrossingPlacement(id=chosen[0], type=chosen[1], barrier="parkway", cost=chosen[3],
                                         penalty_m=chosen[4], length_m=70.0, x=chosen[2], y=road_y(chosen[2]))],
        ),
        verification=VerificationMetrics(passed=True, objective=objective, checks=[
            CheckRecord(name="objective recomputed", passed=True, detail="match to 0.1 m"),
            CheckRecord(name="budget", passed=True, detail=f"{capital} <= 4000000"),
            CheckRecord(name="crossings built for every used route", passed=True)]),
        timings={"read_s": 0.01, "network_s": 0.05, "solve_s": 1.234, "verify_s": 0.02},
        model={"variables": 42, "constraints": 57, "route_options": 30, "length_scale": "dm"},
    ).to_json_dict()
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (run / "layout.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                        encoding="utf-8")
    with open(run / "pairs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(run / "firms.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(firm_rows[0]))
        w.writeheader()
        w.writerows(firm_rows)
    return run
