"""Independent generator of real-shaped district problems (site.yaml + scenario.yaml).

Written from the documented formats only (sites/README.md, constraints/README.md,
constraints/schema.json, the README's "Site and scenario files" and the embedded examples),
without reading benchmarks/realsites/generate.py, to stress issue 17's target ("every
real-shaped problem with up to 60 firms proven optimal within 10 s") on unseen sites.

    python benchmarks/realsites/independent.py SEED OUTDIR [--firms N] [--crossings N]
                                               [--barriers N] [--budget tight|loose]

Seeds below 100 draw every setting across the issue's ranges (10-60 firms, 2-4 barriers,
30-150 candidate crossings, counted as position x type); seeds from 100 are drawn at the
hardest end (55-60 firms, 120-150 candidate crossings, 4 barriers). The options force one
setting. What the seed varies:
the CRS (British National Grid, UTM 32N with EUR, California State Plane in US survey feet with
USD, lon/lat with CHF, GBP or USD), the barriers (kinds, widths, straight, diagonal, curved,
meandering, ending inside the site, crossing each other), the street grid (skewed, uneven, with
gaps and a street-less area that gives long connectors), irregular parcels (blocks cut by the
barriers, optionally split into many small lots), clustered firms with one anchor of up to
20,000 staff and a heavy tail, footprints and entrances, existing junctions and bridges,
exclusion zones, 2-3 crossing types whose costs span about 20x (site rules or a scenario
spacing), 1-4 facility types with counts, social spaces, tight or loose budgets and the
demand rule.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path
from typing import Any

import yaml
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.ops import linemerge, polygonize, unary_union

# CRS choices: (name, crs, working frame for generation, origin in that frame, currency)
FRAMES = [
    ("bng", "EPSG:27700", "EPSG:27700", (430000.0, 386000.0), "GBP"),
    ("utm32_munich", "EPSG:32632", "EPSG:32632", (684000.0, 5330000.0), "EUR"),
    ("ftus_fremont", "EPSG:2227", "EPSG:26943", (1868000.0, 608000.0), "USD"),
    ("lonlat_zurich", "EPSG:4326", "EPSG:32632", (462000.0, 5243000.0), "CHF"),
    ("lonlat_manchester", "EPSG:4326", "EPSG:32630", (547000.0, 5922000.0), "GBP"),
    ("lonlat_austin", "EPSG:4326", "EPSG:32614", (617000.0, 3345000.0), "USD"),
]

KIND_WIDTH = {
    "dual_carriageway": (25, 40),
    "motorway": (40, 80),
    "arterial": (15, 30),
    "rail": (20, 60),
    "water": (25, 110),
}
# crossing types each kind can take (sites/README.md, "What each kind means")
KIND_TYPES = {
    "dual_carriageway": {"zebra", "signalised", "footbridge", "underpass", "toucan"},
    "arterial": {"zebra", "signalised", "footbridge", "underpass", "toucan"},
    "motorway": {"footbridge", "underpass"},
    "rail": {"footbridge", "underpass"},
    "water": {"footbridge"},
}
AT_GRADE = {"zebra", "signalised", "toucan"}
SECTORS = ["research", "manufacturing", "logistics", "office", "life_sciences", "training",
           "hospitality", "retail", "energy"]


def _rng_between(rng: random.Random, lo: float, hi: float) -> float:
    return lo + (hi - lo) * rng.random()


class Gen:
    """Builds one problem in a local metric frame [0, W] x [0, H], then writes it out."""

    def __init__(self, seed: int, firms: int | None, crossings: int | None,
                 barriers: int | None, budget: str | None = None) -> None:
        self.seed = seed
        self.budget_kind = budget
        self.rng = random.Random(seed * 7919 + 17)
        rng = self.rng
        hard = seed >= 100
        self.n_firms = firms or (rng.randint(55, 60) if hard else rng.randint(10, 60))
        self.n_cross = crossings or (rng.randint(120, 150) if hard else rng.randint(30, 150))
        self.n_barriers = barriers or (4 if hard else rng.randint(2, 4))
        self.frame = FRAMES[seed % len(FRAMES)]
        self.W = _rng_between(rng, 1800, 4500)
        self.H = _rng_between(rng, 1500, 4000)
        self.site_box = box(0, 0, self.W, self.H)
        self.small_lots = rng.random() < 0.35
        self.notes: list[str] = []

    # ---- barriers -------------------------------------------------------------------------
    def _barrier_line(self, shape: str) -> LineString:
        rng, W, H = self.rng, self.W, self.H
        cx, cy = _rng_between(rng, 0.2, 0.8) * W, _rng_between(rng, 0.2, 0.8) * H
        ang = rng.uniform(0, math.pi)
        if shape == "axis":  # nearly along an axis, as a real grid-aligned road
            ang = rng.choice([0.0, math.pi / 2]) + rng.uniform(-0.08, 0.08)
        dx, dy = math.cos(ang), math.sin(ang)
        nx, ny = -dy, dx
        half = math.hypot(W, H)
        amp = 0.0
        wave = 1.0
        if shape in ("curved", "meander"):
            amp = _rng_between(rng, 80, 350)
            wave = _rng_between(rng, 900, 2600)
        phase = rng.uniform(0, 2 * math.pi)
        pts = []
        t = -half
        step = 60.0 if amp else 2 * half
        while t <= half + 1e-6:
            off = amp * math.sin(2 * math.pi * t / wave + phase)
            if shape == "meander":
                off += 0.4 * amp * math.sin(2 * math.pi * t / (wave * 0.37) + 2 * phase)
            pts.append((cx + dx * t + nx * off, cy + dy * t + ny * off))
            t += step
        line = LineString(pts).intersection(self.site_box.buffer(40, join_style="mitre"))
        if line.geom_type != "LineString":
            parts = [g for g in getattr(line, "geoms", []) if g.geom_type == "LineString"]
            line = max(parts, key=lambda g: g.length) if parts else LineString()
        if shape == "partial" and not line.is_empty:  # ends inside the site
            frac = _rng_between(rng, 0.55, 0.8)
            line = LineString([line.interpolate(d).coords[0]
                               for d in _frange(0, line.length * frac, 60)]
                              + [line.interpolate(line.length * frac).coords[0]])
        return line

    def make_barriers(self) -> None:
        rng = self.rng
        kinds = list(KIND_WIDTH)
        self.barriers: list[dict[str, Any]] = []
        bands: list[Any] = []
        tries = 0
        while len(self.barriers) < self.n_barriers:
            tries += 1
            kind = rng.choice(kinds)
            if len(self.barriers) == self.n_barriers - 1 and not any(
                    b["kind"] in ("dual_carriageway", "arterial") for b in self.barriers):
                kind = rng.choice(["dual_carriageway", "arterial"])  # an at-grade type fits
            shape = rng.choice(["straight", "straight", "axis", "curved", "partial"])
            if kind == "water":
                shape = rng.choice(["meander", "curved"])
            line = self._barrier_line(shape)
            if line.is_empty or line.length < 0.6 * min(self.W, self.H):
                continue
            width = round(_rng_between(rng, *KIND_WIDTH[kind]), 1)
            band = line.buffer(width / 2, cap_style="flat")
            # keep barriers apart except where they cross (no long shared stretch)
            if any(band.buffer(60).intersection(b).area > 0.25 * min(band.area, b.area)
                   for b in bands) and tries < 200:
                continue
            if any(line.distance(b["line"]) < 1e-6 for b in self.barriers):
                self.notes.append(f"barrier {len(self.barriers)} crosses another")
            idx = len(self.barriers)
            self.barriers.append({"id": f"b{idx}-{kind[:4]}", "kind": kind, "width": width,
                                  "line": line, "band": band, "shape": shape})
            bands.append(band)
        self.all_bands = unary_union(bands)

    # ---- streets and parcels --------------------------------------------------------------
    def make_streets(self) -> None:
        rng, W, H = self.rng, self.W, self.H
        theta = rng.uniform(-0.5, 0.5)
        spacing = _rng_between(rng, 160, 380)
        lines = []
        diag = math.hypot(W, H)
        for fam_ang in (theta, theta + math.pi / 2):
            dx, dy = math.cos(fam_ang), math.sin(fam_ang)
            nx, ny = -dy, dx
            off = -diag
            while off < diag:
                a = fam_ang + rng.uniform(-0.06, 0.06)
                ddx, ddy = math.cos(a), math.sin(a)
                px, py = W / 2 + nx * off, H / 2 + ny * off
                seg = LineString([(px - ddx * diag, py - ddy * diag),
                                  (px + ddx * diag, py + ddy * diag)])
                seg = seg.intersection(self.site_box)
                if not seg.is_empty and seg.length > 50:
                    lines.append(seg)
                off += spacing * _rng_between(rng, 0.7, 1.35)
        self.street_lines = lines
        noded = unary_union(lines + [self.site_box.exterior])
        self.blocks = [p for p in polygonize(noded) if p.area > 3000]
        # street segments: drop some (cul-de-sacs) and a whole street-less area (long connectors)
        segs = [s for s in unary_union(lines).geoms] if hasattr(unary_union(lines), "geoms") else []
        hole = None
        if rng.random() < 0.5:
            hx, hy = rng.uniform(0, W), rng.uniform(0, H)
            hole = Point(hx, hy).buffer(_rng_between(rng, 250, 600))
            self.notes.append("street-less area")
        keep = []
        for s in segs:
            if hole is not None and s.intersects(hole):
                continue
            if rng.random() < 0.08:
                continue
            keep.append(s)
        merged = linemerge(keep)
        parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
        self.paths = [p for p in parts if p.length > 20]

    def make_parcels(self) -> None:
        rng = self.rng
        setback = _rng_between(rng, 9, 16)
        cut = self.all_bands.buffer(3)
        shapes = []
        for blk in self.blocks:
            core = blk.buffer(-setback, join_style="mitre")
            if core.is_empty:
                continue
            pieces = [core]
            if self.small_lots and core.area > 12000:
                pieces = _split(core, rng, rng.randint(2, 5))
            for pc in pieces:
                rest = pc.difference(cut)
                for g in _polys(rest):
                    g = g.simplify(0.5)
                    if g.is_valid and g.area > 1500:
                        shapes.append(g)
        statuses = []
        for _g in shapes:
            r = rng.random()
            statuses.append("occupied" if r < 0.55 else "buildable" if r < 0.78
                            else "open_space" if r < 0.92 else "reserved")
        # at least two of each needed status, the largest shapes
        order = sorted(range(len(shapes)), key=lambda i: -shapes[i].area)
        for need, at in (("buildable", 1), ("open_space", 5)):
            if statuses.count(need) < 2:
                for i in order[at:at + 2]:
                    statuses[i] = need
        self.parcels = [{"id": f"p{i:03d}", "status": s, "geom": g}
                        for i, (g, s) in enumerate(zip(shapes, statuses))]

    def make_zones(self) -> None:
        rng = self.rng
        self.zones = []
        for k in range(rng.randint(0, 3)):
            p = rng.choice(self.parcels)["geom"].representative_point()
            self.zones.append({"id": f"ez{k}", "geom": p.buffer(_rng_between(rng, 25, 70), 12),
                               "reason": rng.choice(["substation", "contaminated land",
                                                     "flood storage", "gas governor"])})

    # ---- firms ---------------------------------------------------------------------------
    def make_firms(self) -> None:
        rng = self.rng
        occ = [p for p in self.parcels if p["status"] == "occupied"]
        zones = unary_union([z["geom"] for z in self.zones]) if self.zones else None
        k = rng.randint(1, 4)
        centres = [(rng.uniform(0, self.W), rng.uniform(0, self.H)) for _ in range(k)]
        sigma = _rng_between(rng, 150, 450)
        far_share = rng.choice([0.0, 0.1, 0.2])
        sectors = rng.sample(SECTORS, rng.randint(3, 7))
        firms: list[dict[str, Any]] = []
        placed: list[Point] = []
        tries = 0
        while len(firms) < self.n_firms and tries < 20000:
            tries += 1
            if rng.random() < far_share or tries > 8000:
                pt = Point(rng.uniform(0, self.W), rng.uniform(0, self.H))
            else:
                cx, cy = rng.choice(centres)
                pt = Point(rng.gauss(cx, sigma), rng.gauss(cy, sigma))
            host = next((p for p in occ if p["geom"].buffer(-6).contains(pt)), None)
            if host is None or (zones is not None and zones.buffer(10).contains(pt)):
                continue
            if any(pt.distance(q) < 45 for q in placed):
                continue
            placed.append(pt)
            firms.append({"pt": pt, "parcel": host})
        if len(firms) < self.n_firms:
            raise SystemExit(f"seed {self.seed}: placed {len(firms)} of {self.n_firms} firms")
        # staff: one anchor (2,000-20,000), a heavy tail, most under 500
        anchor = int(_rng_between(self.rng, 2000, 20000))
        for i, f in enumerate(firms):
            if i == 0:
                f["employees"] = anchor
            else:
                f["employees"] = max(3, min(4000, int(8 * rng.paretovariate(1.1))))
            f["sector"] = rng.choice(sectors)
            f["id"] = f"firm-{i:02d}" if rng.random() < 0.8 else f"F{i}.{rng.randint(1, 9)}"
        for i, f in enumerate(firms):
            pt = f["pt"]
            par = f["parcel"]["geom"]
            if rng.random() < 0.4:  # footprint
                half = 12 + min(60, f["employees"] ** 0.5)
                fp = box(pt.x - half, pt.y - half * 0.7, pt.x + half, pt.y + half * 0.7)
                fp = fp.intersection(par.buffer(-2))
                others = [g["pt"] for j, g in enumerate(firms) if j != i]
                if (fp.geom_type == "Polygon" and fp.is_valid and fp.contains(pt)
                        and not any(fp.buffer(3).contains(o) for o in others)):
                    f["footprint"] = fp
            if rng.random() < 0.35:  # entrances toward the parcel's edge
                ents = []
                for _ in range(rng.randint(1, 2)):
                    b = par.exterior.interpolate(par.exterior.project(pt)
                                                 + rng.uniform(-40, 40))
                    e = Point(pt.x + 0.8 * (b.x - pt.x), pt.y + 0.8 * (b.y - pt.y))
                    if par.buffer(-1).contains(e) and not self.all_bands.buffer(2).contains(e):
                        ents.append(e)
                if ents:
                    f["entrances"] = ents
        self.firms = firms
        self.sectors = sorted({f["sector"] for f in firms})

    # ---- existing crossings --------------------------------------------------------------
    def make_existing(self) -> None:
        rng = self.rng
        self.existing = []
        for b in self.barriers:
            others = unary_union([o["band"] for o in self.barriers if o is not b])
            cands = []
            for s in self.street_lines:
                x = s.intersection(b["line"])
                for p in ([x] if x.geom_type == "Point" else getattr(x, "geoms", [])):
                    if p.geom_type != "Point":
                        continue
                    d = s.project(p)
                    reach = b["width"] / 2 + 14
                    a, c = s.interpolate(max(0, d - reach)), s.interpolate(min(s.length, d + reach))
                    ln = LineString([a, c])
                    if b["band"].buffer(1).contains(a) or b["band"].buffer(1).contains(c):
                        continue
                    if not others.is_empty and ln.intersects(others.buffer(2)):
                        continue
                    cands.append(ln)
            rng.shuffle(cands)
            for j, ln in enumerate(cands[:rng.choice([0, 1, 1, 2, 2, 3])]):
                typ = "junction" if b["kind"] in ("dual_carriageway", "arterial", "motorway") \
                    else "bridge"
                self.existing.append({"id": f"{b['id']}-x{j}", "barrier": b["id"], "type": typ,
                                      "line": ln, "penalty": rng.choice([0, 20, 40, 80])})

    # ---- output --------------------------------------------------------------------------
    def _transform(self):
        name, crs, frame_crs, (e0, n0), _ = self.frame
        if crs == frame_crs:
            return lambda x, y: [round(x + e0, 1), round(y + n0, 1)]
        tr = Transformer.from_crs(frame_crs, crs, always_xy=True)
        nd = 7 if crs == "EPSG:4326" else 1

        def f(x: float, y: float) -> list[float]:
            a, b = tr.transform(x + e0, y + n0)
            return [round(a, nd), round(b, nd)]
        return f

    def site_dict(self) -> dict[str, Any]:
        T = self._transform()
        rng = self.rng

        def line(g: LineString) -> dict[str, Any]:
            return {"type": "LineString", "coordinates": [T(x, y) for x, y in g.coords]}

        def poly(g: Polygon) -> dict[str, Any]:
            rings = [[T(x, y) for x, y in g.exterior.coords]]
            rings += [[T(x, y) for x, y in r.coords] for r in g.interiors]
            for r in rings:
                r[-1] = list(r[0])
            return {"type": "Polygon", "coordinates": rings}

        site: dict[str, Any] = {
            "format": "placemaking-site/1",
            "id": f"ind{self.seed:03d}",
            "name": f"Independent district {self.seed}",
            "description": "Generated by benchmarks/realsites/independent.py (synthetic, "
                           + self.frame[0] + ")",
            "crs": self.frame[1],
            "illustrative": True,
            "parcels": [{"id": p["id"], "status": p["status"], "geometry": poly(p["geom"])}
                        for p in self.parcels],
        }
        firms = []
        for f in self.firms:
            d: dict[str, Any] = {"id": f["id"], "employees": f["employees"],
                                 "sector": f["sector"], "location": T(f["pt"].x, f["pt"].y),
                                 "parcel": f["parcel"]["id"]}
            if "entrances" in f:
                d["entrances"] = [T(e.x, e.y) for e in f["entrances"]]
            if "footprint" in f:
                d["footprint"] = poly(f["footprint"])
            firms.append(d)
        site["firms"] = firms
        site["barriers"] = [{"id": b["id"], "kind": b["kind"], "width_m": b["width"],
                             "geometry": line(b["line"])} for b in self.barriers]
        site["paths"] = [{"id": f"s{i:03d}", "kind": rng.choice(["road", "footway", "road"]),
                          "geometry": line(p)} for i, p in enumerate(self.paths)]
        if self.existing:
            site["crossings"] = [{"id": c["id"], "barrier": c["barrier"], "type": c["type"],
                                  "penalty_m": c["penalty"], "geometry": line(c["line"])}
                                 for c in self.existing]
        if self.zones:
            site["exclusion_zones"] = [{"id": z["id"], "reason": z["reason"],
                                        "geometry": poly(z["geom"])} for z in self.zones]
        if self.rules:
            site["crossing_rules"] = self.rules
        return site

    def make_crossing_plan(self) -> None:
        """Types, costs (about 20x apart) and spacing: site rules or a scenario spacing."""
        rng = self.rng
        road = any(b["kind"] in ("dual_carriageway", "arterial") for b in self.barriers)
        nonwater = any(b["kind"] != "water" for b in self.barriers)
        pool = ["footbridge"] + (["underpass"] if nonwater else [])
        if road:
            pool += ["zebra", "signalised"]
        k = rng.choice([2, 3, 3])
        grade_sep = [t for t in pool if t not in AT_GRADE]
        at_grade = [t for t in pool if t in AT_GRADE]
        types = [rng.choice(at_grade), rng.choice(grade_sep)]
        rest = [t for t in pool if t not in types]
        if k == 3 and rest:
            types.append(rng.choice(rest))
        self.use_rules = rng.random() < 0.5
        if road and not self.use_rules and rng.random() < 0.3:  # a type of the author's own
            types = [t for t in types if t not in ("zebra", "signalised")] + ["toucan"]
        # the cheapest type costs c0, the dearest 20 c0, the others in between (geometric)
        order = ["zebra", "toucan", "signalised", "footbridge", "underpass"]
        chosen = sorted(set(types), key=order.index)
        c0 = _rng_between(rng, 0.45, 0.8) * 1e6
        span = 20.0 if len(chosen) > 1 else 1.0
        self.types = {}
        for i, t in enumerate(chosen):
            frac = i / (len(chosen) - 1) if len(chosen) > 1 else 0.0
            d: dict[str, Any] = {"cost": round(c0 * span ** frac, -3),
                                 "penalty_m": rng.choice([0, 15, 30, 45, 60])}
            if t == "toucan":
                d["at_grade"] = True
            self.types[t] = d
        # n_cross is the target of candidate crossings (position x type, as metrics.json's
        # model.candidate_crossings counts them); each barrier takes the types its kind allows
        ks = [len(set(self.types) & KIND_TYPES[b["kind"]]) for b in self.barriers]
        weights = [_rng_between(rng, 0.6, 1.6) if self.use_rules else 1.0
                   for _ in self.barriers]
        eff = sum(b["line"].length * k * w for b, k, w in zip(self.barriers, ks, weights))
        spacing = eff / self.n_cross
        self.rules = []
        self.scn_spacing: float | None = round(spacing, 1)
        if self.use_rules:
            self.scn_spacing = None
            for w, b in zip(weights, self.barriers):
                allowed = sorted(set(self.types) & KIND_TYPES[b["kind"]])
                if allowed:
                    self.rules.append({"barrier": b["id"], "spacing_m": round(spacing / w, 1),
                                       "types": allowed})

    def scenario_dict(self) -> dict[str, Any]:
        rng = self.rng
        cur = self.frame[4]
        facs = []
        min_cost = 0.0
        names = ["shared_workshop", "cafe_hub", "prototyping_lab", "training_centre",
                 "logistics_hub", "creche"]
        for t in rng.sample(names, rng.randint(1, 4)):
            lo = rng.choice([0, 0, 1])
            hi = rng.randint(max(1, lo), 3)
            cost = round(_rng_between(rng, 0.3, 6.0) * 1e6, -3)
            fp = round(_rng_between(rng, 250, 2200), -1)
            d: dict[str, Any] = {"type": t, "count": hi if lo == hi else {"min": lo, "max": hi},
                                 "footprint_m2": fp, "cost": cost,
                                 "min_spacing_m": rng.choice([0, 200, 400, 600]),
                                 "candidate_spacing_m": rng.choice([100, 120, 150, 200, 250]),
                                 "access_weight": rng.choice([0.5, 1.0, 1.0, 2.0])}
            facs.append(d)
            min_cost += lo * cost
        scn: dict[str, Any] = {
            "format": "placemaking-scenario/1",
            "id": f"ind{self.seed:03d}_scn",
            "site": "site.yaml",
            "currency": cur,
        }
        social = None
        if rng.random() < 0.75:
            lo = rng.choice([0, 1])
            hi = rng.randint(max(1, lo), 3)
            social = {"count": hi if lo == hi else {"min": lo, "max": hi},
                      "cost": round(_rng_between(rng, 0.1, 0.9) * 1e6, -3),
                      "footprint_m2": rng.choice([300, 400, 600]),
                      "noise_buffer_m": rng.choice([30, 50, 60]),
                      "coverage_radius_m": rng.choice([300, 400, 500]),
                      "coverage": rng.choice(["weighted", "weighted", "off"]),
                      "candidate_spacing_m": rng.choice([80, 120, 150]),
                      "min_spacing_m": rng.choice([100, 150, 300])}
            min_cost += lo * social["cost"]
        cheapest = min(t["cost"] for t in self.types.values())
        dearest = max(t["cost"] for t in self.types.values())
        tight = rng.random() < 0.45
        if self.budget_kind is not None:  # forced; the draw above keeps the seed's stream
            tight = self.budget_kind == "tight"
        extra = cheapest * rng.choice([1.5, 3, 5]) if tight else dearest * rng.choice([2, 4, 8])
        scn["budget"] = round(min_cost + extra + 1e5, -3)
        if facs:
            scn["facilities"] = facs
        if social:
            scn["social_spaces"] = social
        cross: dict[str, Any] = {"spacing_m": self.scn_spacing, "types": self.types}
        scn["crossings"] = cross
        if rng.random() < 0.5:
            scn["demand"] = {"rule": "employees_product"}
        else:
            aff: dict[str, dict[str, float]] = {}
            secs = self.sectors
            for _ in range(rng.randint(2, 6)):
                a, b = sorted((rng.choice(secs), rng.choice(secs)))  # each pair once
                aff.setdefault(a, {})[b] = rng.choice([0.3, 0.5, 1.5, 2.0])
            scn["demand"] = {"rule": "sector_affinity", "sector_affinity": aff}
        scn["objective"] = {"firm_pairs": 1.0, "facility_access": rng.choice([0.5, 1.0, 2.0]),
                            "social_access": rng.choice([0.0, 0.0, 0.5]) if social else 0.0}
        scn["solver"] = {"backend": "cpsat", "time_limit_s": 60, "seed": 0, "workers": 1}
        self.tight = tight
        return scn

    def build(self) -> tuple[dict[str, Any], dict[str, Any]]:
        self.make_barriers()
        self.make_streets()
        self.make_parcels()
        self.make_zones()
        self.make_firms()
        self.make_existing()
        self.make_crossing_plan()
        scn = self.scenario_dict()
        return self.site_dict(), scn


def _frange(a: float, b: float, step: float) -> list[float]:
    out, t = [], a
    while t < b:
        out.append(t)
        t += step
    return out


def _polys(g: Any) -> list[Polygon]:
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon) or hasattr(g, "geoms"):
        return [p for p in g.geoms if isinstance(p, Polygon)]
    return []


def _split(poly: Polygon, rng: random.Random, n: int) -> list[Polygon]:
    """Cut a block into about n lots by random lines through it, with 4 m gaps."""
    pieces = [poly]
    for _ in range(n - 1):
        big = max(pieces, key=lambda p: p.area)
        c = big.representative_point()
        a = rng.uniform(0, math.pi)
        r = 5000
        cutter = LineString([(c.x - r * math.cos(a), c.y - r * math.sin(a)),
                             (c.x + r * math.cos(a), c.y + r * math.sin(a))]).buffer(2)
        pieces.remove(big)
        pieces += _polys(big.difference(cutter))
    return pieces


class _Dumper(yaml.SafeDumper):
    pass


def _repr_float(dumper: yaml.SafeDumper, value: float) -> Any:
    text = repr(float(value))
    if "e" in text or "inf" in text or "nan" in text:
        text = f"{value:.7f}"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


_Dumper.add_representer(float, _repr_float)


def write(seed: int, out: Path, firms: int | None = None, crossings: int | None = None,
          barriers: int | None = None, budget: str | None = None) -> dict[str, Any]:
    gen = Gen(seed, firms, crossings, barriers, budget)
    site, scn = gen.build()
    out.mkdir(parents=True, exist_ok=True)
    dump = {"Dumper": _Dumper, "sort_keys": False, "default_flow_style": None, "width": 120}
    (out / "site.yaml").write_text(yaml.dump(site, **dump), encoding="utf-8")
    (out / "scenario.yaml").write_text(yaml.dump(scn, **dump), encoding="utf-8")
    summary = {
        "seed": seed, "frame": gen.frame[0], "firms": gen.n_firms,
        "anchor": gen.firms[0]["employees"], "crossings_target": gen.n_cross,
        "barriers": "+".join(f"{b['kind']}/{b['shape']}" for b in gen.barriers),
        "types": "+".join(sorted(gen.types)), "rules": gen.use_rules,
        "parcels": len(gen.parcels), "paths": len(gen.paths), "existing": len(gen.existing),
        "tight": gen.tight, "small_lots": gen.small_lots, "notes": ";".join(gen.notes),
        "W": round(gen.W), "H": round(gen.H),
    }
    (out / "summary.yaml").write_text(yaml.safe_dump(summary, sort_keys=False), encoding="utf-8")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--firms", type=int)
    ap.add_argument("--crossings", type=int, help="target candidate crossings (position x type)")
    ap.add_argument("--barriers", type=int)
    ap.add_argument("--budget", choices=["tight", "loose"],
                    help="tight: the required facilities and a few cheap crossings; "
                         "loose: several of the dearest crossings")
    a = ap.parse_args()
    print(write(a.seed, a.out, a.firms, a.crossings, a.barriers, a.budget))


if __name__ == "__main__":
    main()
