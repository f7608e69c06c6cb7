"""Seeded synthetic districts for the joint crossings + facilities benchmark.

:func:`make_district` builds a :class:`~optimiser.inputs.domain.Site` in code (working CRS metres,
local coordinates) and wraps it in a :class:`~optimiser.inputs.domain.Scenario`:

- a rectangle of square blocks (``BLOCK_M`` = 100 m) with a footpath along every block edge;
  each block holds one parcel inset ``INSET_M`` from the paths, randomly *occupied* (1 to 4
  firms with their own footprint and entrance), *buildable* (facility candidates) or
  *open space*;
- one horizontal carriageway (20 m band along a block edge, a footway along each side) and,
  with ``n_barriers=2``, a vertical rail corridor the same way; each barrier has one or two
  existing junctions / bridges where a grid footpath used to cross it;
- firms with log-normal employees and one of four sectors (sector-affinity demand);
- one facility type ("hub", 1 to 3 new, none existing unless ``n_existing``) whose
  ``candidate_spacing_m`` is searched so the site yields about ``n_sites`` candidates;
- candidate crossings (footbridge / signalised on the carriageway, footbridge on the rail)
  at a ``spacing_m`` searched so about ``n_crossings`` candidates are generated.

Everything comes from ``numpy.random.default_rng(seed)``: the same arguments always give the
same scenario.
"""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import LineString, Point, box

from optimiser.inputs.domain import (
    Barrier,
    BarrierKind,
    CountRange,
    Crossing,
    CrossingSpec,
    CrossingTypeSpec,
    DemandSpec,
    FacilitySpec,
    Firm,
    ObjectiveWeights,
    Parcel,
    ParcelStatus,
    Scenario,
    Site,
    SolveOptions,
    WalkPath,
)
from optimiser.network.candidates import facility_candidates, generate_candidate_crossings

BLOCK_M = 100.0
INSET_M = 15.0
BAND_M = 20.0
FOOTWAY_OFFSET_M = 14.0
SECTORS = ("manufacturing", "logistics", "research", "services")
AFFINITY = {
    "manufacturing": {"manufacturing": 1.0, "logistics": 1.5, "research": 1.2, "services": 0.6},
    "logistics": {"logistics": 0.8, "research": 0.5, "services": 0.7},
    "research": {"research": 1.4, "services": 0.9},
    "services": {"services": 0.5},
}
CROSSING_TYPES = (
    CrossingTypeSpec("footbridge", cost=1_200_000, penalty_m=30.0),
    CrossingTypeSpec("signalised", cost=250_000, penalty_m=45.0),
)
HUB_COST_GBP = 400_000.0


def _grid_dims(n_parcels: int) -> tuple[int, int]:
    ny = max(4, int(math.ceil(math.sqrt(n_parcels / 1.25))))
    nx = max(5, int(math.ceil(n_parcels / ny)))
    return nx, ny


def _search_spacing(count, target: int, lo: float, hi: float, iters: int = 24) -> tuple[float, int]:
    """Spacing in [lo, hi] whose (decreasing-in-spacing) ``count`` is closest to ``target``."""
    best = None
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        n = count(mid)
        if best is None or abs(n - target) < abs(best[1] - target) or (abs(n - target) == abs(best[1] - target) and n > best[1]):
            best = (mid, n)
        if n == target:
            break
        if n > target:
            lo = mid
        else:
            hi = mid
    return best


def make_district(n_firms: int, n_sites: int, n_crossings: int, n_barriers: int = 1, seed: int = 0,
                  *, n_existing: int = 0, budget_gbp: float = 3_000_000.0, time_limit_s: float = 60.0,
                  workers: int = 2) -> Scenario:
    """A seeded synthetic district scenario (see the module docstring).

    Args:
        n_firms: number of firms.
        n_sites: target number of facility candidate sites (hit to within a few).
        n_crossings: target number of candidate crossings (hit to within a few).
        n_barriers: 1 (carriageway) or 2 (plus a rail corridor).
        seed: random seed.
        n_existing: existing hubs placed on random open-space parcels (always open).
        budget_gbp: capital budget.
    """
    if n_barriers not in (1, 2):
        raise ValueError("n_barriers must be 1 or 2")
    rng = np.random.default_rng(seed)
    per_firm = rng.integers(1, 5, size=n_firms)  # firms per occupied parcel (draw enough)
    n_occ = int(np.searchsorted(np.cumsum(per_firm), n_firms) + 1)
    per_occ = per_firm[:n_occ].copy()
    per_occ[-1] -= int(per_occ.sum() - n_firms)
    n_build = max(2, int(math.ceil(n_sites / 9.0)))
    n_open = max(2, int(round(0.12 * (n_occ + n_build))))
    nx, ny = _grid_dims(n_occ + n_build + n_open)
    W, H = nx * BLOCK_M, ny * BLOCK_M
    statuses = np.array(["occupied"] * n_occ + ["buildable"] * n_build
                        + ["open_space"] * (nx * ny - n_occ - n_build), dtype=object)
    rng.shuffle(statuses)

    # barriers along block edges near the middle
    yb = BLOCK_M * (ny // 2)
    xb = BLOCK_M * (nx // 2) if n_barriers == 2 else None
    barriers = [Barrier("parkway", "Parkway", BarrierKind.CARRIAGEWAY,
                        LineString([(-20, yb), (W + 20, yb)]), BAND_M)]
    if xb is not None:
        barriers.append(Barrier("railway", "Railway", BarrierKind.RAIL_CORRIDOR,
                                LineString([(xb, -20), (xb, H + 20)]), BAND_M))

    # footpaths: block grid plus a footway along each side of each barrier
    paths: list[WalkPath] = []
    for j in range(ny + 1):
        paths.append(WalkPath(f"h{j}", f"y={j * BLOCK_M:g}", "footpath", LineString([(0, j * BLOCK_M), (W, j * BLOCK_M)])))
    for i in range(nx + 1):
        paths.append(WalkPath(f"v{i}", f"x={i * BLOCK_M:g}", "footpath", LineString([(i * BLOCK_M, 0), (i * BLOCK_M, H)])))
    for s in (-1, 1):
        paths.append(WalkPath(f"pw{s:+d}", "Parkway footway", "footway",
                              LineString([(0, yb + s * FOOTWAY_OFFSET_M), (W, yb + s * FOOTWAY_OFFSET_M)])))
        if xb is not None:
            paths.append(WalkPath(f"rw{s:+d}", "Railway footway", "footway",
                                  LineString([(xb + s * FOOTWAY_OFFSET_M, 0), (xb + s * FOOTWAY_OFFSET_M, H)])))

    # existing junctions / bridges where a grid line crosses a barrier
    crossings: list[Crossing] = []
    n_j = int(rng.integers(1, 3))
    xs = sorted(rng.choice(np.arange(1, nx), size=min(n_j, nx - 1), replace=False).tolist())
    for k, i in enumerate(xs):
        x = i * BLOCK_M
        if xb is not None and abs(x - xb) < 1:
            x += BLOCK_M
        crossings.append(Crossing(f"parkway-j{k + 1}", f"Parkway junction {k + 1}", "parkway", "junction",
                                  LineString([(x, yb - FOOTWAY_OFFSET_M), (x, yb + FOOTWAY_OFFSET_M)]),
                                  penalty_m=25.0, existing=True))
    if xb is not None:
        n_j = int(rng.integers(1, 3))
        ys = sorted(rng.choice(np.arange(1, ny), size=min(n_j, ny - 1), replace=False).tolist())
        for k, j in enumerate(ys):
            y = j * BLOCK_M
            if abs(y - yb) < 1:
                y += BLOCK_M
            crossings.append(Crossing(f"railway-br{k + 1}", f"Railway bridge {k + 1}", "railway", "bridge",
                                      LineString([(xb - FOOTWAY_OFFSET_M, y), (xb + FOOTWAY_OFFSET_M, y)]),
                                      penalty_m=0.0, existing=True))

    # parcels and firms
    parcels: list[Parcel] = []
    firms: list[Firm] = []
    open_parcels: list[Parcel] = []
    occ_k = 0
    emp = np.clip(np.rint(rng.lognormal(mean=3.6, sigma=0.8, size=n_firms)), 5, 800).astype(int)
    sector = rng.integers(0, len(SECTORS), size=n_firms)
    fidx = 0
    for j in range(ny):
        for i in range(nx):
            k = j * nx + i
            x0, y0 = i * BLOCK_M, j * BLOCK_M
            poly = box(x0 + INSET_M, y0 + INSET_M, x0 + BLOCK_M - INSET_M, y0 + BLOCK_M - INSET_M)
            st = ParcelStatus(statuses[k])
            pid = f"p{i:02d}_{j:02d}"
            parcel = Parcel(pid, f"Block {i},{j}", st, poly)
            parcels.append(parcel)
            if st == ParcelStatus.OPEN_SPACE:
                open_parcels.append(parcel)
            if st != ParcelStatus.OCCUPIED:
                continue
            quads = rng.permutation(4)[: int(per_occ[occ_k])]
            occ_k += 1
            for q in quads:
                qx, qy = q % 2, q // 2
                cx = x0 + (0.3 if qx == 0 else 0.7) * BLOCK_M
                cy = y0 + (0.3 if qy == 0 else 0.7) * BLOCK_M
                fp = box(cx - 12, cy - 12, cx + 12, cy + 12)
                # entrance on the parcel edge facing the nearer block edge
                ex, ey = (x0 + INSET_M if qx == 0 else x0 + BLOCK_M - INSET_M), cy
                if rng.random() < 0.5:
                    ex, ey = cx, (y0 + INSET_M if qy == 0 else y0 + BLOCK_M - INSET_M)
                fid = f"f{fidx:04d}"
                firms.append(Firm(fid, f"Firm {fidx}", int(emp[fidx]), SECTORS[int(sector[fidx])], Point(cx, cy),
                                  (Point(ex, ey),), footprint=fp, parcel_id=pid))
                fidx += 1
    assert fidx == n_firms, (fidx, n_firms)

    site = Site(id=f"district-{n_firms}-{seed}", name=f"Synthetic district ({n_firms} firms, seed {seed})",
                crs="EPSG:27700", source_crs="EPSG:27700", parcels=tuple(parcels), firms=tuple(firms),
                barriers=tuple(barriers), paths=tuple(paths), crossings=tuple(crossings), illustrative=True,
                description="benchmarks/joint synthetic district")

    # objective balance: facility access worth about as much as firm-to-firm walking
    demand = DemandSpec(rule="sector_affinity", sector_affinity=AFFINITY)
    e = emp.astype(float)
    pair_total = (e.sum() ** 2 - (e ** 2).sum()) / 2.0 / 1000.0
    access_weight = round(0.5 * pair_total / e.sum(), 3)

    existing = tuple(p.polygon.centroid for p in
                     (rng.choice(np.array(open_parcels, dtype=object), size=min(n_existing, len(open_parcels)), replace=False)
                      if n_existing and open_parcels else ()))

    def hub(spacing: float) -> FacilitySpec:
        return FacilitySpec("hub", CountRange(1, 3), footprint_m2=400.0, min_spacing_m=250.0, cost=HUB_COST_GBP,
                            candidate_spacing_m=round(spacing, 3), access_weight=access_weight, existing=existing)

    def scen(spacing_fac: float, spacing_cross: float) -> Scenario:
        return Scenario(
            id=f"district-{n_firms}-{n_sites}-{n_crossings}-{n_barriers}-{seed}", name=site.name, site=site,
            site_ref="(in code)", budget=budget_gbp, facilities=(hub(spacing_fac),),
            crossings=CrossingSpec(types=CROSSING_TYPES, spacing_m=round(spacing_cross, 3), max_route_crossings=2),
            demand=demand, objective=ObjectiveWeights(firm_pairs=1.0, facility_access=1.0),
            solver=SolveOptions(backend="cpsat", time_limit_s=time_limit_s, seed=0, workers=workers),
        )

    fac_sp, _ = _search_spacing(lambda s: len(facility_candidates(scen(s, 100.0))), n_sites, 3.0, 60.0)
    bars = tuple(barriers)
    cr_sp, _ = _search_spacing(
        lambda s: len(generate_candidate_crossings(site, bars, CrossingSpec(types=CROSSING_TYPES, spacing_m=round(s, 3)))),
        n_crossings, 5.0, max(W, H))
    return scen(fac_sp, cr_sp)
