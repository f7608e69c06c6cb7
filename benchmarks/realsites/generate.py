"""Seeded problems with the shape of real districts, written as real site and scenario files.

Issue 17, point 1. A real site, as a new user writes it, differs from ``benchmarks/joint``'s
regular grid: a few firms with heavy-tailed staff numbers (one anchor firm of thousands, most
under 500), several barriers of different kinds (motorway, dual carriageway, railway), many
candidate crossings of two or three types whose costs span 20x (a signalised crossing at
£0.6m, a footbridge at a few million, an underpass at £12m), a sparse road network so that
entrances and crossings reach it by long connectors, and facility candidates on irregular
parcels. :func:`make_problem` draws all of that from ``numpy.random.default_rng(seed)`` as the
two mappings of the documented file formats (``sites/README.md``, ``constraints/README.md``);
:func:`write_problem` writes them as ``site.yaml`` and ``scenario.yaml``, which are then read,
validated and solved exactly as a user's files are (``siteopt validate`` / ``siteopt run`` /
``optimiser.run_scenario``).

What is drawn (local metres, shifted to British National Grid coordinates):

- a district of 1.8-3.0 km by 1.4-2.4 km with a jittered, slightly bent road grid every
  260-420 m (``kind: road``; paths are joined where they cross);
- 2-4 barriers crossing it at random angles, each a gently bent centre line: always one dual
  carriageway (30 m band), the others motorway (45 m) or railway (25 m); each has 1-2 existing
  crossings where a road crosses it (a junction with a 40-120 m penalty, or a rail bridge);
- parcels: the land between the roads (inset 12 m) and outside the barrier bands, so their
  shapes are irregular wherever a barrier cuts a block; most occupied, some buildable (facility
  candidates), open space and reserved;
- firms: ``n_firms`` (10-60; drawn when not given) with log-normal staff numbers (median about
  90, clipped to 5-1,500) and one anchor firm of 2,000-20,000 on its own parcel, each located
  inside its parcel (not on a road: the connector to the network may be 100-200 m), with a
  square footprint where one fits; five sectors with an affinity table;
- candidate crossings from the site's ``crossing_rules``: signalised (at grade, dual
  carriageways only), footbridge and underpass (motorway and rail: grade separated only, as
  ``optimiser.inputs.crossing_rules`` enforces); the spacing is set so that about
  ``n_crossings`` (30-150) candidates are generated in all;
- one or two facility types (a shared lab, 1-2 new; a cafe hub, exactly 1 in half the
  problems) with candidate spacing set for about 25-60 candidate sites;
- a budget of the cheapest facilities plus £8-30m.

The same ``(seed, n_firms, n_crossings)`` always gives byte-identical files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

ORIGIN = (431_000.0, 386_000.0)
"""Local (0, 0) in British National Grid metres (an arbitrary inland point of England)."""

ROAD_INSET_M = 12.0
BAND_M = {"dual_carriageway": 30.0, "motorway": 45.0, "rail": 25.0}
EXISTING = {"dual_carriageway": ("junction", (40.0, 80.0)), "motorway": ("junction", (80.0, 120.0)),
            "rail": ("bridge", (0.0, 20.0))}
TYPES_BY_KIND = {"dual_carriageway": ("signalised", "footbridge", "underpass"), "motorway": ("footbridge", "underpass"),
                 "rail": ("footbridge", "underpass")}
ID_PREFIX = {"dual_carriageway": "dc", "motorway": "mw", "rail": "rail"}
SECTORS = ("manufacturing", "research", "logistics", "services", "energy")
AFFINITY = {
    "manufacturing": {"manufacturing": 1.2, "research": 1.5, "logistics": 1.3, "energy": 1.1, "services": 0.5},
    "research": {"research": 1.6, "energy": 1.4, "services": 0.7},
    "logistics": {"logistics": 0.8, "services": 0.6},
    "energy": {"energy": 1.2},
    "services": {"services": 0.5},
}
MAX_SPACING_M = 320.0
"""Candidate positions at least this often along every barrier (more than ``n_crossings`` then)."""
SIGNAL_COST_GBP = 600_000.0
UNDERPASS_COST_GBP = 12_000_000.0


@dataclass(frozen=True)
class RealSiteProblem:
    """One generated problem: the two file mappings and a few facts for the benchmark table."""

    id: str
    seed: int
    site: dict[str, Any]
    scenario: dict[str, Any]
    n_firms: int
    n_barriers: int
    barrier_kinds: tuple[str, ...]
    target_crossings: int
    anchor_staff: int


def _r(v: float) -> float:
    return round(float(v), 1)


def _xy(x: float, y: float) -> list[float]:
    return [_r(x + ORIGIN[0]), _r(y + ORIGIN[1])]


def _line(geom: LineString) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [_xy(x, y) for x, y in geom.coords]}


def _poly(geom: Polygon) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[_xy(x, y) for x, y in geom.exterior.coords]]}


def _rounded(geom: Polygon) -> Polygon:
    """The polygon as it will be read back from the file (0.1 m), fixed if rounding broke it."""
    g = Polygon([(_r(x), _r(y)) for x, y in geom.exterior.coords])
    if not g.is_valid:
        g = g.buffer(0)
        if g.geom_type != "Polygon":
            g = max(shapely.get_parts(g), key=lambda p: p.area)
    return shapely.simplify(g, 0.5)


def _roads(rng: np.random.Generator, w: float, h: float) -> list[LineString]:
    """A jittered road grid: bent lines across the district every 260-420 m each way."""
    roads = []
    for horizontal in (False, True):
        span, across = (h, w) if horizontal else (w, h)
        pos = 0.0
        while True:
            pos += float(rng.uniform(260.0, 420.0))
            if pos > span - 150.0:
                break
            n = 4
            ts = np.linspace(0.0, across, n)
            off = pos + rng.uniform(-35.0, 35.0, size=n)
            pts = [(t, o) if horizontal else (o, t) for t, o in zip(ts, off)]
            roads.append(LineString(pts))
    # a ring road along the edge so that every block has a road
    roads.append(LineString([(0, 0), (w, 0), (w, h), (0, h), (0, 0)]))
    return roads


def _barrier_line(rng: np.random.Generator, w: float, h: float, k: int, n: int) -> LineString:
    """A bent centre line right across the district: even ``k`` run roughly east-west, odd
    ``k`` roughly north-south, parallel ones spread apart so that no pocket between two of
    them is too thin to hold a crossing."""
    n_same = (n + 1 - k % 2) // 2
    at = 0.2 + 0.6 * (k // 2 + float(rng.uniform(0.3, 0.7))) / n_same
    tilt = float(rng.uniform(-math.pi / 7, math.pi / 7))
    if k % 2 == 0:
        cx, cy, ang = w * float(rng.uniform(0.4, 0.6)), h * at, tilt
    else:
        cx, cy, ang = w * at, h * float(rng.uniform(0.4, 0.6)), math.pi / 2 + tilt
    d = np.array([math.cos(ang), math.sin(ang)])
    nrm = np.array([-d[1], d[0]])
    big = 2.0 * (w + h)
    bend = float(rng.uniform(-60.0, 60.0))
    pts = [np.array([cx, cy]) + d * s + nrm * (bend if abs(s) < 1 else 0.0) for s in (-big, 0.0, big)]
    district = box(-60, -60, w + 60, h + 60)
    clipped = LineString(pts).intersection(district)
    if clipped.geom_type != "LineString":
        clipped = max(shapely.get_parts(clipped), key=lambda g: g.length)
    return LineString([(float(x), float(y)) for x, y in clipped.coords])


def _existing_crossings(rng: np.random.Generator, bid: str, kind: str, centre: LineString, bands: dict[str, BaseGeometry],
                        roads: list[LineString]) -> list[dict[str, Any]]:
    """1-2 existing crossings where a road crosses the barrier, each a piece of that road."""
    half = BAND_M[kind] / 2.0
    found = []
    for road in roads[:-1]:  # not the ring road: its corners are outside the district's middle
        hit = road.intersection(centre)
        for p in shapely.get_parts(hit):
            if p.geom_type != "Point":
                continue
            s = road.project(p)
            # along the road far enough to leave the band whatever the angle between them
            tan = np.subtract(road.interpolate(min(road.length, s + 1)).coords[0], road.interpolate(max(0, s - 1)).coords[0])
            btan = np.subtract(centre.interpolate(min(centre.length, centre.project(p) + 1)).coords[0],
                               centre.interpolate(max(0, centre.project(p) - 1)).coords[0])
            t, bt = tan / np.linalg.norm(tan), btan / np.linalg.norm(btan)
            sin = abs(float(t[0] * bt[1] - t[1] * bt[0]))
            if sin < 0.35:
                continue
            reach = (half + 4.0) / sin
            if s - reach < 0 or s + reach > road.length:
                continue
            line = LineString([road.interpolate(s - reach), road.interpolate(s + reach)])
            ends = [Point(line.coords[0]), Point(line.coords[-1])]
            if any(e.intersects(b) for e in ends for b in bands.values()):
                continue
            found.append(line)
    if not found:
        return []
    n = min(len(found), int(rng.integers(1, 3)))
    pick = sorted(rng.choice(len(found), size=n, replace=False).tolist())
    ctype, (lo, hi) = EXISTING[kind]
    out = []
    for j, i in enumerate(pick, start=1):
        out.append({"id": f"{bid}-x{j}", "name": f"{'Junction' if ctype == 'junction' else 'Bridge'} {j} over {bid}",
                    "barrier": bid, "type": ctype, "penalty_m": round(float(rng.uniform(lo, hi))),
                    "geometry": _line(found[i])})
    return out


def _inside(rng: np.random.Generator, poly: Polygon, margin_m: float, tries: int = 60) -> Point | None:
    """A random point of ``poly`` at least ``margin_m`` inside it."""
    core = poly.buffer(-margin_m)
    if core.is_empty:
        return None
    x0, y0, x1, y1 = core.bounds
    for _ in range(tries):
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if core.contains(p):
            return p
    return None


def _staff(rng: np.random.Generator, n_firms: int) -> np.ndarray:
    """Heavy-tailed staff numbers: one anchor of 2,000-20,000, the rest log-normal, most < 500."""
    rest = np.clip(np.rint(rng.lognormal(mean=math.log(90.0), sigma=1.1, size=n_firms - 1)), 5, 1500).astype(int)
    anchor = int(round(math.exp(rng.uniform(math.log(2000.0), math.log(20000.0)))))
    return np.concatenate([[anchor], rest])


def _parcels(rng: np.random.Generator, w: float, h: float, roads: list[LineString],
             bands: dict[str, BaseGeometry]) -> list[Polygon]:
    land = box(0, 0, w, h).difference(shapely.union_all([r.buffer(ROAD_INSET_M, cap_style="flat") for r in roads]))
    land = land.difference(shapely.union_all([b.buffer(6.0) for b in bands.values()]))
    parts = [_rounded(p) for p in shapely.get_parts(land) if p.area >= 4000.0]
    return [p for p in parts if p.is_valid and p.area >= 4000.0]


def _firms(rng: np.random.Generator, staff: np.ndarray, occupied: list[tuple[str, Polygon]]) -> list[dict[str, Any]]:
    """Firms placed inside occupied parcels: the anchor alone on the largest, the rest 1-3 a parcel."""
    by_size = sorted(occupied, key=lambda t: -t[1].area)
    slots: list[tuple[str, Polygon]] = [by_size[0]]
    rest = by_size[1:]
    order = rng.permutation(len(rest))
    k = 0
    while len(slots) < len(staff):
        pid, poly = rest[order[k % len(rest)]]
        slots.append((pid, poly))
        k += 1
    firms = []
    sectors = rng.integers(0, len(SECTORS), size=len(staff))
    for i, (emp, (pid, poly)) in enumerate(zip(staff.tolist(), slots)):
        side = min(220.0, max(20.0, math.sqrt(emp * 18.0)))
        loc = None
        while loc is None and side >= 10.0:
            loc = _inside(rng, poly, side / 2.0 + 3.0)
            if loc is None:
                side *= 0.6
        if loc is None:
            loc = _inside(rng, poly, 1.0) or poly.representative_point()
            fp = None
        else:
            fp = box(loc.x - side / 2, loc.y - side / 2, loc.x + side / 2, loc.y + side / 2)
        name = "Anchor works" if i == 0 else f"Firm {i}"
        firm: dict[str, Any] = {"id": f"f{i:02d}", "name": name, "employees": int(emp),
                                "sector": SECTORS[0] if i == 0 else SECTORS[int(sectors[i])],
                                "location": _xy(loc.x, loc.y), "parcel": pid}
        if fp is not None:
            firm["footprint"] = _poly(fp)
        firms.append(firm)
    return firms


def _overlapping(firms: list[dict[str, Any]]) -> set[int]:
    """Firms whose footprint overlaps an earlier firm's (their footprint is dropped)."""
    seen: list[Polygon] = []
    drop = set()
    for i, f in enumerate(firms):
        if "footprint" not in f:
            continue
        g = Polygon(f["footprint"]["coordinates"][0])
        if any(g.intersects(s) for s in seen):
            drop.add(i)
        else:
            seen.append(g)
    return drop


FIRMS_RANGE = (2, 200)
CROSSINGS_RANGE = (4, 400)
"""The firms and target crossings :func:`make_problem` accepts when given (drawn: 10-60 and 30-150)."""


def in_range(n_firms: int, n_crossings: int) -> bool:
    """Whether :func:`make_problem` accepts ``n_firms`` and ``n_crossings`` (``FIRMS_RANGE``,
    ``CROSSINGS_RANGE``)."""
    return FIRMS_RANGE[0] <= n_firms <= FIRMS_RANGE[1] and CROSSINGS_RANGE[0] <= n_crossings <= CROSSINGS_RANGE[1]


def make_problem(seed: int, n_firms: int | None = None, n_crossings: int | None = None) -> RealSiteProblem:
    """A real-shaped problem drawn from ``seed`` (see the module docstring).

    Args:
        seed: random seed; everything below is drawn from ``numpy.random.default_rng(seed)``.
        n_firms: 10-60 (drawn when None).
        n_crossings: target number of candidate crossings, 30-150 (drawn when None).
    """
    rng = np.random.default_rng(seed)
    n_firms = int(rng.integers(10, 61)) if n_firms is None else int(n_firms)
    n_crossings = int(rng.integers(30, 151)) if n_crossings is None else int(n_crossings)
    if not in_range(n_firms, n_crossings):
        raise ValueError(f"n_firms must be {FIRMS_RANGE[0]}-{FIRMS_RANGE[1]} and n_crossings {CROSSINGS_RANGE[0]}-{CROSSINGS_RANGE[1]}")
    w, h = float(rng.uniform(1800, 3000)), float(rng.uniform(1400, 2400))
    roads = _roads(rng, w, h)
    n_bar = int(rng.integers(2, 5))
    kinds = ["dual_carriageway"] + [str(k) for k in rng.choice(["motorway", "rail", "rail", "dual_carriageway", "motorway"],
                                                             size=n_bar - 1)]
    centres: dict[str, LineString] = {}
    barrier_maps = []
    for k, kind in enumerate(kinds):
        bid = f"{ID_PREFIX[kind]}{k + 1}"
        centre = _barrier_line(rng, w, h, k, n_bar)
        centres[bid] = centre
        barrier_maps.append({"id": bid, "name": f"{kind.replace('_', ' ').title()} {k + 1}", "kind": kind,
                             "width_m": BAND_M[kind], "geometry": _line(centre)})
    bands = {b["id"]: centres[b["id"]].buffer(b["width_m"] / 2.0, cap_style="flat") for b in barrier_maps}
    crossings = []
    for b in barrier_maps:
        others = {k: v for k, v in bands.items() if k != b["id"]}
        crossings += _existing_crossings(rng, b["id"], b["kind"], centres[b["id"]], others, roads)

    polys = _parcels(rng, w, h, roads, bands)
    n_p = len(polys)
    status = np.array(["occupied"] * n_p, dtype=object)
    # pockets between barriers (< 4 % of the district) are reserved land: no firm or facility
    # there, where a candidate crossing might not reach
    regions = [r for r in shapely.get_parts(box(0, 0, w, h).difference(shapely.union_all(list(bands.values()))))
               if r.area >= 0.04 * w * h]
    pocket = np.array([not any(r.contains(p.representative_point()) for r in regions) for p in polys])
    status[pocket] = "reserved"
    idx = rng.permutation(np.flatnonzero(~pocket))
    n_p = len(idx)
    n_build = max(3, int(round(0.2 * n_p)))
    n_open = max(2, int(round(0.1 * n_p)))
    n_res = int(round(0.05 * n_p))
    status[idx[:n_build]] = "buildable"
    status[idx[n_build:n_build + n_open]] = "open_space"
    status[idx[n_build + n_open:n_build + n_open + n_res]] = "reserved"
    parcels = [{"id": f"p{i:03d}", "status": str(status[i]), "geometry": _poly(p)} for i, p in enumerate(polys)]
    occupied = [(f"p{i:03d}", p) for i, p in enumerate(polys) if status[i] == "occupied"]
    staff = _staff(rng, n_firms)
    firms = _firms(rng, staff, occupied)
    for i in _overlapping(firms):
        del firms[i]["footprint"]

    # crossing rules: spacing for about n_crossings candidates over every barrier and its types
    per_m = sum(centres[b["id"]].length * len(TYPES_BY_KIND[b["kind"]]) for b in barrier_maps)
    spacing = max(40.0, round(per_m / n_crossings / 5.0) * 5.0)
    rules = [{"barrier": b["id"], "spacing_m": min(spacing, MAX_SPACING_M), "types": list(TYPES_BY_KIND[b["kind"]])}
             for b in barrier_maps]
    site_id = f"realsite-{seed}"
    site = {
        "format": "placemaking-site/1", "id": site_id,
        "name": f"Real-shaped district (seed {seed}, {n_firms} firms, {n_bar} barriers)",
        "description": "benchmarks/realsites: generated, illustrative", "crs": "EPSG:27700", "illustrative": True,
        "parcels": parcels, "firms": firms, "barriers": barrier_maps,
        "paths": [{"id": f"r{i:02d}", "kind": "road", "geometry": _line(r)} for i, r in enumerate(roads)],
        "crossings": crossings, "crossing_rules": rules,
    }

    footbridge = float(rng.uniform(2.5e6, 6.0e6))
    types = {"signalised": {"cost": SIGNAL_COST_GBP, "penalty_m": round(float(rng.uniform(35, 60)))},
             "footbridge": {"cost": round(footbridge, -4), "penalty_m": round(float(rng.uniform(25, 45)))},
             "underpass": {"cost": UNDERPASS_COST_GBP, "penalty_m": round(float(rng.uniform(10, 25)))}}
    buildable_m2 = sum(p.area for p, s in zip(polys, status) if s == "buildable")
    target_sites = int(rng.integers(25, 61))
    lab_cost = round(float(rng.uniform(3e6, 6e6)), -4)
    facilities = [{"type": "shared_lab", "count": {"min": 1, "max": 2}, "footprint_m2": 900, "min_spacing_m": 500,
                   "cost": lab_cost, "candidate_spacing_m": round(max(40.0, math.sqrt(buildable_m2 / target_sites)), 0),
                   "access_weight": 1.0}]
    min_fac = lab_cost
    if rng.random() < 0.5:
        hub_cost = round(float(rng.uniform(1e6, 2e6)), -4)
        facilities.append({"type": "cafe_hub", "count": 1, "footprint_m2": 400, "cost": hub_cost,
                           "candidate_spacing_m": round(max(60.0, math.sqrt(2 * buildable_m2 / target_sites)), 0),
                           "access_weight": 0.5})
        min_fac += hub_cost
    budget = round(min_fac + float(rng.uniform(8e6, 30e6)), -5)
    sectors_used = {f["sector"] for f in firms}
    affinity = {a: {b: v for b, v in row.items() if b in sectors_used} for a, row in AFFINITY.items() if a in sectors_used}
    pid = f"rs{seed:03d}-f{n_firms}"
    scenario = {
        "format": "placemaking-scenario/1", "id": pid, "name": site["name"], "site": "site.yaml",
        "currency": "GBP", "budget": budget, "facilities": facilities,
        "crossings": {"spacing_m": None, "types": types, "max_route_crossings": 2},
        "demand": {"rule": "sector_affinity", "sector_affinity": {a: r for a, r in affinity.items() if r}},
        "objective": {"firm_pairs": 1.0, "facility_access": 1.0, "social_access": 0.0},
        "solver": {"backend": "cpsat", "time_limit_s": 60, "seed": 0, "workers": 1, "length_scale_per_m": 10},
    }
    return RealSiteProblem(pid, seed, site, scenario, n_firms, n_bar, tuple(kinds), n_crossings, int(staff[0]))


def dump(data: dict[str, Any]) -> str:
    """YAML text of a file mapping (keys in the order given, block style)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=160)


def write_problem(problem: RealSiteProblem, folder: str | Path) -> Path:
    """Write ``site.yaml`` and ``scenario.yaml`` into ``folder`` (created); returns the scenario path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "site.yaml").write_text(dump(problem.site), encoding="utf-8")
    path = out / "scenario.yaml"
    path.write_text(dump(problem.scenario), encoding="utf-8")
    return path


DEFAULT_PROBLEMS: tuple[tuple[int, int | None, int | None], ...] = (
    (1, 12, 40), (2, 20, 74), (3, 30, 60), (4, 40, 110), (5, 50, 90), (6, 60, 150),
)
"""(seed, firms, target crossings) of the benchmark's generated problems: 12-60 firms, 40-150 crossings."""
QUICK_PROBLEMS: tuple[tuple[int, int | None, int | None], ...] = ((1, 12, 40), (2, 20, 74))
HELDOUT_PROBLEMS: tuple[tuple[int, int | None, int | None], ...] = (
    (11, 15, 50), (12, 25, 90), (13, 35, 120), (14, 45, 70), (15, 55, 130), (16, 60, 100), (17, 30, 150), (18, 50, 140),
)
"""(seed, firms, target crossings) of the held-out problems (``run.py --heldout``): generated the same way, never
used to tune the solver (wave 8 on; the six of ``DEFAULT_PROBLEMS`` were tuned over waves 4-7)."""


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/realsites/generate.py SEED [FIRMS [CROSSINGS]] OUT_DIR``: write one problem."""
    import argparse

    ap = argparse.ArgumentParser(prog="python benchmarks/realsites/generate.py",
                                 usage="%(prog)s [-h] SEED [FIRMS [CROSSINGS]] OUT_DIR",
                                 description="Write one generated real-shaped problem (site.yaml, scenario.yaml) into OUT_DIR.")
    ap.add_argument("numbers", nargs="+", type=int, metavar="N",
                    help="the seed; firms (10-60) and target candidate crossings (30-150), drawn from the seed if left out")
    ap.add_argument("out_dir", metavar="OUT_DIR")
    args = ap.parse_args(argv)
    if len(args.numbers) > 3:
        ap.error("at most three numbers: SEED [FIRMS [CROSSINGS]]")
    prob = make_problem(args.numbers[0], *args.numbers[1:3])
    print(write_problem(prob, args.out_dir))


if __name__ == "__main__":
    main()
