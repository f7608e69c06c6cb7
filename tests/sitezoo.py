"""Tiny sites built in code for tests (working CRS metres; local coordinates, not BNG).

- :func:`square_site`: a 1000 x 600 m square with a 100 m grid of footpaths, one horizontal
  carriageway ("parkway", 30 m wide along y = 300) with one existing junction crossing at
  x = 500 (penalty 20 m), firms on both sides.
- :func:`two_barrier_site`: the square plus a vertical rail corridor ("hs2", 40 m wide along
  x = 700, layer "hs2") with an existing bridge at y = 500.
- :func:`rail_site`: a rail corridor alone.
- :func:`ring_site`: a closed ring barrier fencing in a firm (isolated).
- :func:`open_space_site`: no paths at all (the network is derived from open space).
"""

from __future__ import annotations

from shapely.geometry import LineString, Point, Polygon, box

from optimiser.inputs.domain import (
    Barrier,
    BarrierKind,
    Crossing,
    CrossingRule,
    CrossingSpec,
    CrossingTypeSpec,
    Firm,
    Parcel,
    ParcelStatus,
    Site,
    WalkPath,
)

W, H = 1000.0, 600.0
GRID_M = 100.0


def grid_paths(w: float = W, h: float = H, step: float = GRID_M) -> tuple[WalkPath, ...]:
    """Horizontal and vertical footpaths every ``step`` m over [0, w] x [0, h]."""
    out = []
    y = 0.0
    while y <= h + 1e-9:
        out.append(WalkPath(f"h{int(y)}", f"y={y:g}", "footpath", LineString([(0, y), (w, y)])))
        y += step
    x = 0.0
    while x <= w + 1e-9:
        out.append(WalkPath(f"v{int(x)}", f"x={x:g}", "footpath", LineString([(x, 0), (x, h)])))
        x += step
    return tuple(out)


def firm(fid: str, x: float, y: float, *entrances: tuple[float, float], employees: int = 50,
         fixed: bool = False, footprint: Polygon | None = None) -> Firm:
    ents = tuple(Point(e) for e in entrances) or (Point(x, y),)
    return Firm(fid, fid.upper(), employees, "manufacturing", Point(x, y), ents,
                footprint=footprint, fixed=fixed)


PARKWAY = Barrier(
    "parkway", "Parkway", BarrierKind.CARRIAGEWAY, LineString([(-50, 300), (1050, 300)]), 30.0
)
PARKWAY_JUNCTION = Crossing(
    "parkway-j1", "Junction", "parkway", "junction", LineString([(500, 280), (500, 320)]),
    penalty_m=20.0, existing=True,
)
HS2 = Barrier(
    "hs2", "HS2 corridor", BarrierKind.RAIL_CORRIDOR, LineString([(700, -50), (700, 650)]), 40.0,
    layer="hs2", no_build=True,
)
HS2_BRIDGE = Crossing(
    "hs2-br1", "Road bridge", "hs2", "bridge", LineString([(675, 500), (725, 500)]),
    penalty_m=0.0, existing=True,
)

TYPES = (
    CrossingTypeSpec("footbridge", cost=1_500_000, penalty_m=30.0),
    CrossingTypeSpec("signalised", cost=250_000, penalty_m=45.0),
    CrossingTypeSpec("underpass", cost=3_000_000, penalty_m=15.0),
)


def square_site(extra_firms: tuple[Firm, ...] = ()) -> Site:
    """The 1000 x 600 m grid split by the Parkway at y = 300, one junction at x = 500.

    Firms: ``a`` entrance (200, 100), ``b`` entrance (200, 500) (straight across the
    Parkway from ``a``), ``c`` (850, 100) with two entrances, ``d`` (850, 500), ``e`` in the
    Parkway band (unreachable).
    """
    firms = (
        firm("a", 200, 80, (200, 100)),
        firm("b", 200, 520, (200, 500)),
        firm("c", 850, 50, (800, 50), (850, 100)),
        firm("d", 850, 520, (850, 500), employees=200),
        firm("e", 450, 300, (450, 300), employees=5),
    ) + tuple(extra_firms)
    return Site(
        id="square",
        name="Square test site",
        crs="EPSG:27700",
        source_crs="EPSG:27700",
        parcels=(Parcel("all", "All", ParcelStatus.BUILDABLE, box(0, 0, W, H)),),
        firms=firms,
        barriers=(PARKWAY,),
        paths=grid_paths(),
        crossings=(PARKWAY_JUNCTION,),
        crossing_rules=(CrossingRule("parkway", 100.0, ("footbridge", "signalised", "underpass")),),
        illustrative=True,
    )


def two_barrier_site() -> Site:
    """The square plus the HS2 rail corridor at x = 700 (bridge at y = 500)."""
    s = square_site()
    return Site(
        id="square2", name="Square with HS2", crs=s.crs, source_crs=s.source_crs,
        parcels=s.parcels, firms=tuple(f for f in s.firms if f.id != "e"),
        barriers=(PARKWAY, HS2), paths=s.paths, crossings=(PARKWAY_JUNCTION, HS2_BRIDGE),
        crossing_rules=s.crossing_rules + (CrossingRule("hs2", 100.0, ()),),
    )


def rail_site() -> Site:
    """A rail corridor (vertical, x = 500, 40 m) across a 1000 x 600 grid, no crossing."""
    rail = Barrier("rail", "Rail", BarrierKind.RAIL_CORRIDOR,
                   LineString([(500, -50), (500, 650)]), 40.0)
    return Site(
        id="rail", name="Rail site", crs="EPSG:27700", source_crs="EPSG:27700",
        parcels=(Parcel("all", "All", ParcelStatus.BUILDABLE, box(0, 0, W, H)),),
        firms=(firm("w", 150, 320, (100, 300)), firm("x", 850, 320, (900, 300))),
        barriers=(rail,), paths=grid_paths(),
    )


def ring_site() -> Site:
    """A ring-shaped barrier around (500, 300) radius 150 fencing in firm ``inside``."""
    ring = Barrier("ring", "Ring road", BarrierKind.CARRIAGEWAY,
                   Point(500, 300).buffer(150, quad_segs=16).exterior, 20.0)
    paths = tuple(p for p in grid_paths() if not p.line.intersects(Point(500, 300).buffer(170)))
    # keep the outer grid only: paths crossing the ring area removed, so nothing inside
    return Site(
        id="ring", name="Ring site", crs="EPSG:27700", source_crs="EPSG:27700",
        parcels=(Parcel("all", "All", ParcelStatus.BUILDABLE, box(0, 0, W, H)),),
        firms=(firm("out1", 50, 50, (0, 50)), firm("out2", 950, 550, (1000, 550)),
               firm("inside", 500, 300, (500, 310))),
        barriers=(ring,), paths=paths,
    )


def open_space_site() -> Site:
    """No paths: a 600 x 400 m open parcel cut by a carriageway at y = 200 with a junction."""
    bar = Barrier("road", "Road", BarrierKind.CARRIAGEWAY, LineString([(-10, 200), (610, 200)]), 20.0)
    junction = Crossing("road-j", "Junction", "road", "junction",
                        LineString([(300, 185), (300, 215)]), existing=True)
    return Site(
        id="open", name="Open space site", crs="EPSG:27700", source_crs="EPSG:27700",
        parcels=(Parcel("p", "Open", ParcelStatus.OPEN_SPACE, box(0, 0, 600, 400)),),
        firms=(firm("s", 100, 60, (100, 60), footprint=box(70, 20, 130, 55)),
               firm("n", 500, 340, (500, 340))),
        barriers=(bar,), crossings=(junction,),
    )


def crossing_spec(spacing_m: float | None = 100.0, types=TYPES, **kw) -> CrossingSpec:
    return CrossingSpec(types=tuple(types), spacing_m=spacing_m, **kw)
