"""Walking network: distances against networkx, barriers respected, crossings, candidates."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from optimiser.errors import ModelError
from optimiser.inputs.domain import Barrier, BarrierKind, Crossing, CrossingRule, Site, WalkPath
from optimiser.network.builder import build_walk_network
from optimiser.network.crossings import generate_candidate_crossings
from optimiser.network.csr import EDGE_KINDS, build_csr
from optimiser.network.distances import detour_ratios
from optimiser.network.features import edge_features, network_summary
from optimiser.network.graph import WalkNetwork
from tests.sitezoo import (
    TYPES,
    crossing_spec,
    firm,
    grid_paths,
    open_space_site,
    rail_site,
    ring_site,
    square_site,
    two_barrier_site,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ helpers


def nx_graph(net: WalkNetwork, crossings_on=()) -> nx.Graph:
    """The network's base edges (+ switched-on candidates) as a networkx graph."""
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for u, v, w in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length_m.tolist()):
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > w):
            g.add_edge(u, v, weight=w)
    for c in net.candidate_index(crossings_on):
        u, v = (int(x) for x in net.candidate_ends[c])
        w = net.candidates[c].length_m
        if not g.has_edge(u, v) or g[u][v]["weight"] > w:
            g.add_edge(u, v, weight=w)
    return g


def nx_key_lengths(net: WalkNetwork, keys, crossings_on=()) -> np.ndarray:
    g = nx_graph(net, crossings_on)
    out = np.full((len(keys), len(keys)), np.inf)
    for i, a in enumerate(keys):
        if not net.access[a]:
            continue
        d = nx.multi_source_dijkstra_path_length(g, set(net.access[a]))
        for j, b in enumerate(keys):
            vals = [d[n] for n in net.access[b] if n in d]
            if vals:
                out[i, j] = min(vals)
    return out


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert np.array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-9, atol=1e-6)


def route_enters_band(net: WalkNetwork, parts) -> list[str]:
    """Route parts (other than crossings) that enter the interior of an active band."""
    bad = []
    if not net.barriers:
        return bad
    inner = shapely.union_all([b.band for b in net.barriers]).buffer(-0.01)
    for p in parts:
        if p["kind"] in ("crossing", "candidate"):
            continue
        if p["geometry"].intersects(inner):
            bad.append(f"{p['kind']} {p['ref']} {p['geometry'].wkt}")
    return bad


@pytest.fixture(scope="module")
def square():
    s = square_site()
    cands = generate_candidate_crossings(s, s.barriers, crossing_spec())
    return s, build_walk_network(s, s.barriers, candidate_crossings=cands,
                                 points={"social:1": Point(300, 450)})


# ------------------------------------------------------------------ the zoo


def test_hand_computed_lengths(square):
    _, net = square
    k = net.key_lengths(["firm:a", "firm:b", "firm:c", "firm:d"])
    # a (200,100) -> junction at x=500 (40 m + 20 m penalty) -> b (200,500)
    assert k[0, 1] == pytest.approx(300 + 180 + 60 + 180 + 300)
    # a -> c: c's nearer entrance (850,100) along y=100
    assert k[0, 2] == pytest.approx(650)
    assert k[1, 3] == pytest.approx(650)
    assert np.allclose(np.diag(k), 0)
    assert np.allclose(k, k.T)


def test_candidate_crossing_shortens_walk_by_hand_computed_amount(square):
    _, net = square
    assert "parkway-fb-003" in [c.id for c in net.candidates]
    before = net.lengths(["firm:a"], ["firm:b"])[0, 0]
    after = net.lengths(["firm:a"], ["firm:b"], crossings_on=["parkway-fb-003"])[0, 0]
    # footbridge at x = 200 from y = 283 to 317 (band 285..315 plus 2 m), penalty 30 m
    assert after == pytest.approx(183 + 34 + 30 + 183)
    assert before - after == pytest.approx(1020 - 430)
    # the signalised one at the same place: penalty 45
    sig = net.lengths(["firm:a"], ["firm:b"], crossings_on=["parkway-sig-003"])[0, 0]
    assert sig == pytest.approx(183 + 34 + 45 + 183)
    # both on: the cheaper walk wins
    both = net.key_lengths(["firm:a", "firm:b"], crossings_on=["parkway-sig-003", "parkway-fb-003"])
    assert both[0, 1] == pytest.approx(430)
    # the route uses the candidate and nothing else crosses the band
    parts = net.route_parts("firm:a", "firm:b", ["parkway-fb-003"])
    assert [p["ref"] for p in parts if p["kind"] == "candidate"] == ["parkway-fb-003"]
    assert not route_enters_band(net, parts)
    assert net.route("firm:a", "firm:b", ["parkway-fb-003"]).length == pytest.approx(400)


def test_lengths_match_networkx_on_zoo(square):
    _, net = square
    keys = list(net.keys)
    assert_same(net.key_lengths(keys), nx_key_lengths(net, keys))
    rng = np.random.default_rng(3)
    for _ in range(5):
        on = sorted(rng.choice(len(net.candidates), size=rng.integers(1, 5), replace=False).tolist())
        assert_same(net.key_lengths(keys, crossings_on=on), nx_key_lengths(net, keys, on))
        assert_same(net.lengths(keys[:3], keys[2:], crossings_on=on),
                    nx_key_lengths(net, keys, on)[:3, 2:])


@pytest.mark.parametrize("make", [two_barrier_site, rail_site, ring_site, open_space_site])
def test_zoo_sites_match_networkx(make):
    s = make()
    net = build_walk_network(s, s.barriers)
    keys = list(net.keys)
    assert_same(net.key_lengths(keys), nx_key_lengths(net, keys))


def test_two_barriers_and_layers():
    s = two_barrier_site()
    on_both = build_walk_network(s, s.active_barriers())
    # c (south-east) is fenced by the Parkway and HS2 with no crossing into its quadrant
    k = on_both.key_lengths(["firm:a", "firm:c", "firm:d"])
    assert math.isinf(k[0, 1]) and math.isinf(k[1, 2])
    assert network_summary(on_both)["pairs_unreachable"] == 3
    hs2_off = build_walk_network(s, s.active_barriers({"hs2": False}))
    assert [b.id for b in hs2_off.barriers] == ["parkway"]
    assert hs2_off.key_lengths(["firm:a", "firm:c"])[0, 1] == pytest.approx(650)
    # d (north-east) reaches b across HS2 by the bridge at y = 500
    assert on_both.key_lengths(["firm:b", "firm:d"])[0, 1] == pytest.approx(650)


def test_rail_corridor_candidates_and_walk():
    s = rail_site()
    spec = crossing_spec(200.0)
    cands = generate_candidate_crossings(s, s.barriers, spec)
    assert {c.type for c in cands} == {"footbridge", "underpass"}  # no signalised over rail
    net = build_walk_network(s, s.barriers, candidate_crossings=cands)
    assert math.isinf(net.key_lengths(["firm:w", "firm:x"])[0, 1])
    fb = next(c for c in cands if c.type == "footbridge" and c.line.centroid.y == pytest.approx(300))
    d = net.key_lengths(["firm:w", "firm:x"], crossings_on=[fb.id])[0, 1]
    # (100,300) -> (478,300) on y=300, bridge 44 m + 30 m, -> (900,300)
    assert d == pytest.approx(378 + 44 + 30 + 378)


def test_isolated_firms_reported():
    s = ring_site()
    net = build_walk_network(s, s.barriers)
    assert net.unreachable == ("firm:inside",)
    k = net.key_lengths(list(net.firm_keys))
    assert np.isinf(k[2]).all() and np.isinf(k[:, 2]).all()
    assert network_summary(net)["pairs_unreachable"] == 2
    # an entrance drawn inside a band is unreachable too
    sq = build_walk_network(square_site(), square_site().barriers)
    assert "firm:e" in sq.unreachable
    with pytest.raises(ModelError):
        sq.route("firm:a", "firm:e")


def test_connectors_stay_on_their_side():
    # entrance 2 m south of the band: the north-side path ends (y = 315) are across it
    s = square_site(extra_firms=(firm("f", 240, 283, (240, 283)),))
    net = build_walk_network(s, s.barriers)
    parts = net.route_parts("firm:f", "firm:a")
    assert not route_enters_band(net, parts)
    assert parts[0]["kind"] == "connector" and parts[0]["length_m"] == pytest.approx(40)
    assert net.key_lengths(["firm:f", "firm:a"])[0, 1] == pytest.approx(40 + 183)
    # it is on the south side: reaching b needs the junction
    assert net.key_lengths(["firm:f", "firm:b"])[0, 1] > 600


def test_open_space_network_is_derived_and_routes_via_junction():
    s = open_space_site()
    net = build_walk_network(s, s.barriers)
    assert net.derived and network_summary(net)["components"] == 1
    parts = net.route_parts("firm:s", "firm:n")
    assert any(p["kind"] == "crossing" and p["ref"] == "road-j" for p in parts)
    assert not route_enters_band(net, parts)
    walk = net.key_lengths(["firm:s", "firm:n"])[0, 1]
    straight = net.straight_lengths(["firm:s"], ["firm:n"])[0, 0]
    assert 1.0 < walk / straight < 1.3
    # no derived edge enters a firm footprint
    fp = s.firms[0].footprint.buffer(-0.01)
    path_edges = [e for e in range(net.n_edges) if EDGE_KINDS[net.edge_kind[e]] == "path"]
    assert not any(net.edge_geometry(e).intersects(fp) for e in path_edges[:5000])


def test_detour_ratios_and_straight_lengths(square):
    _, net = square
    r = detour_ratios(net, ["firm:a", "firm:b"], ["firm:a", "firm:b"])
    assert np.isnan(r[0, 0])
    assert r[0, 1] == pytest.approx(1020 / 400)
    r2 = detour_ratios(net, ["firm:a"], ["firm:b"], crossings_on=["parkway-fb-003"])
    assert r2[0, 0] == pytest.approx(430 / 400)
    # c has two entrances: the straight line is the closest pair
    assert net.straight_lengths(["firm:a"], ["firm:c"])[0, 0] == pytest.approx(
        min(math.hypot(600, 50), 650))


def test_crossing_end_lengths_and_points(square):
    _, net = square
    ce = net.crossing_end_lengths(["firm:a", "social:1"])
    assert ce.shape == (2, len(net.candidates), 2)
    i = net.candidate_index(["parkway-fb-003"])[0]
    ends = sorted(ce[0, i].tolist())
    assert ends[0] == pytest.approx(183)  # south end (200, 283)
    # north end (200, 317) on the base graph: via the junction (60 m), y = 400 and x = 200
    assert ends[1] == pytest.approx(300 + 180 + 60 + 80 + 300 + 83)
    # the point (on the x = 300 path) is connected
    assert net.key_lengths(["social:1", "firm:b"])[0, 1] == pytest.approx(50 + 100)
    assert net.node_of["social:1"] in net.access["social:1"]


def test_geojson_features_and_summary(square, tmp_path):
    from optimiser.present.geojson import to_wgs84_geojson

    site, net = square
    feats = edge_features(net)
    kinds = {f["properties"]["kind"] for f in feats}
    assert kinds == {"path", "connector", "crossing", "candidate"}
    # square coords are metres offsets: put them in BNG near the AMP so WGS84 is sane
    shifted = [
        {**f, "geometry": shapely.affinity.translate(f["geometry"], 440000, 387000)} for f in feats
    ]
    fc = to_wgs84_geojson(shifted, "EPSG:27700")
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0]
    assert -1.5 < lon < -1.2 and 53.3 < lat < 53.5
    json.dumps(fc)
    s = network_summary(net)
    assert s["firms"] == 5 and s["unreachable"] == ["firm:e"] and s["candidate_crossings"] == 30


# ------------------------------------------------------------------ candidate generation


def test_generate_candidates_spacing_types_ids():
    s = square_site()
    cands = generate_candidate_crossings(s, s.barriers, crossing_spec(100.0))
    # Parkway centreline 1100 m: 11 positions at x = 0..1000; x = 500 is the junction
    xs = sorted({round(c.line.centroid.x) for c in cands})
    assert xs == [0, 100, 200, 300, 400, 600, 700, 800, 900, 1000]
    assert len(cands) == 10 * 3
    c = next(c for c in cands if c.id == "parkway-fb-003")
    assert c.type == "footbridge" and c.cost == 1_500_000 and c.penalty_m == 30
    assert c.line.length == pytest.approx(34) and c.length_m == pytest.approx(64)
    assert not c.existing and c.barrier_id == "parkway"
    band = s.barriers[0].band
    for c in cands:
        a, b = shapely.get_coordinates(c.line)[[0, -1]]
        assert not band.contains(Point(a)) and not band.contains(Point(b))
        assert c.line.crosses(band.exterior) or c.line.intersects(s.barriers[0].centreline)
    assert {c.id.split("-")[1] for c in cands} == {"fb", "sig", "up"}
    # spacing 0: none; explicit are always added
    expl = Crossing("my-bridge", "Mine", "parkway", "footbridge",
                    LineString([(250, 280), (250, 320)]), cost=1.0)
    only = generate_candidate_crossings(s, s.barriers, crossing_spec(0, explicit=(expl,)))
    assert only == (expl,)
    # None: the site's rule as it is (100 m, its three types)
    rule = generate_candidate_crossings(s, s.barriers, crossing_spec(None))
    assert {c.type for c in rule} == {"footbridge", "signalised", "underpass"} and len(rule) == 30
    # a narrower site rule bounds the scenario: its types only, never closer than its spacing
    narrow = dataclasses.replace(s, crossing_rules=(CrossingRule("parkway", 200.0, ("footbridge", "signalised")),))
    bounded = generate_candidate_crossings(narrow, narrow.barriers, crossing_spec(100.0))
    assert {c.type for c in bounded} == {"footbridge", "signalised"}
    # every 200 m along the 1100 m centre line from x = 100; the one at the junction (x = 500) is skipped
    assert sorted({round(c.line.centroid.x) for c in bounded}) == [100, 300, 700, 900]
    # one type only, one barrier only
    fb = generate_candidate_crossings(s, s.barriers, crossing_spec(250.0, types=TYPES[:1],
                                                                   barriers=("parkway",)))
    assert all(c.type == "footbridge" for c in fb) and len(fb) == 4  # 1100/250 -> 4, none at 500
    with pytest.raises(ModelError):
        generate_candidate_crossings(s, s.barriers, crossing_spec(100.0, barriers=("nope",)))
    with pytest.raises(ModelError):
        generate_candidate_crossings(s, s.barriers, crossing_spec(100.0, explicit=(
            Crossing("parkway-fb-003", "dup", "parkway", "footbridge", LineString([(0, 0), (1, 1)])),)))


def test_candidates_skip_other_bands_and_inactive_barriers():
    s = two_barrier_site()
    cands = generate_candidate_crossings(s, s.barriers, crossing_spec(100.0))
    # parkway candidates at x = 700 would end inside the HS2 band
    assert not any(c.barrier_id == "parkway" and round(c.line.centroid.x) == 700 for c in cands)
    hs2 = [c for c in cands if c.barrier_id == "hs2"]
    assert hs2 and {c.type for c in hs2} == {"footbridge", "underpass"}
    # HS2 switched off: no candidates across it, and naming it in spec.barriers is not an error
    off = s.active_barriers({"hs2": False})
    c2 = generate_candidate_crossings(s, off, crossing_spec(100.0, barriers=("parkway", "hs2")))
    assert all(c.barrier_id == "parkway" for c in c2)


def test_candidates_skip_exclusion_zones_where_nothing_may_be_placed():
    from optimiser.inputs.domain import ExclusionZone

    s = square_site()
    before = generate_candidate_crossings(s, s.barriers, crossing_spec(100.0))
    assert {round(c.line.centroid.x) for c in before} >= {200, 300}
    # a topple zone over the carriageway between x = 150 and 250 (the x = 200 crossings enter it);
    # one that only touches the x = 300 crossings' line leaves them
    zone = ExclusionZone("topple", "Topple zone", shapely.box(150, 250, 250, 350), "wind-turbine topple zone")
    edge = ExclusionZone("edge", "Edge", shapely.box(300, 317, 340, 360))  # its corner at the x = 300 crossing's end
    zoned = dataclasses.replace(s, exclusion_zones=(zone, edge))
    after = generate_candidate_crossings(zoned, zoned.barriers, crossing_spec(100.0))
    xs = {round(c.line.centroid.x) for c in after}
    assert 200 not in xs and 300 in xs
    assert len(after) == len(before) - 3  # the three types at x = 200


# ------------------------------------------------------------------ random graphs


@pytest.mark.parametrize("seed", range(4))
def test_random_graph_lengths_match_networkx(seed):
    """Random line networks cut by a random barrier, random crossings on/off."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(40):
        pts = rng.uniform(0, 1000, size=(rng.integers(2, 5), 2))
        lines.append(LineString(pts))
    paths = tuple(WalkPath(f"p{i}", "", "footpath", line) for i, line in enumerate(lines))
    y = rng.uniform(300, 700)
    bar = Barrier("b", "B", BarrierKind.CARRIAGEWAY, LineString([(-100, y), (1100, y + 50)]), 20)
    firms = tuple(firm(f"f{i}", *rng.uniform(0, 1000, 2)) for i in range(12))
    s = Site("r", "R", "EPSG:27700", "EPSG:27700", (), firms, (bar,), paths)
    cands = generate_candidate_crossings(s, s.barriers, crossing_spec(150.0, types=TYPES[:2]))
    net = build_walk_network(s, s.barriers, candidate_crossings=cands)
    keys = list(net.keys)
    assert_same(net.key_lengths(keys), nx_key_lengths(net, keys))
    for _ in range(3):
        on = rng.choice(len(net.candidates), size=min(4, len(net.candidates)), replace=False).tolist()
        assert_same(net.key_lengths(keys, crossings_on=on), nx_key_lengths(net, keys, on))


def test_build_csr_keeps_min_and_zero_lengths():
    csr = build_csr(np.array([0, 1, 0]), np.array([1, 0, 2]), np.array([5.0, 3.0, 0.0]), 3)
    assert csr[0, 1] == 3.0 and csr[1, 0] == 3.0
    assert csr.nnz == 4  # the zero-length 0-2 edge is an edge
    from scipy.sparse.csgraph import dijkstra
    assert dijkstra(csr, indices=[1])[0, 2] == 3.0


# ------------------------------------------------------------------ property: barriers respected


@st.composite
def barrier_sites(draw):
    step = draw(st.sampled_from([50.0, 80.0, 100.0, 125.0]))
    y0 = draw(st.floats(100, 500))
    y1 = draw(st.floats(100, 500))
    width = draw(st.floats(10, 60))
    n_firms = draw(st.integers(2, 6))
    pts = draw(st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 600)),
                        min_size=n_firms, max_size=n_firms))
    cx = draw(st.floats(50, 950))
    return step, y0, y1, width, pts, cx


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(barrier_sites(), st.integers(0, 2**16))
def test_property_routes_never_cross_a_band_except_by_a_crossing(params, seed):
    step, y0, y1, width, pts, cx = params
    bar = Barrier("b", "B", BarrierKind.CARRIAGEWAY, LineString([(-50, y0), (1050, y1)]), width)
    # an existing crossing somewhere along it, drawn across the band
    cl = bar.centreline
    s_along = cl.project(Point(cx, (y0 + y1) / 2))
    mid = np.asarray(cl.interpolate(s_along).coords[0])
    nrm = np.array([-(y1 - y0), 1100.0]) / math.hypot(1100.0, y1 - y0)
    half = width / 2 + 3
    junction = Crossing("j", "J", "b", "junction",
                        LineString([mid + nrm * half, mid - nrm * half]), penalty_m=10, existing=True)
    firms = tuple(firm(f"f{i}", x, y) for i, (x, y) in enumerate(pts))
    s = Site("p", "P", "EPSG:27700", "EPSG:27700", (), firms, (bar,),
             grid_paths(step=step), (junction,))
    cands = generate_candidate_crossings(s, s.barriers, crossing_spec(200.0, types=TYPES[:1]))
    net = build_walk_network(s, s.barriers, candidate_crossings=cands)
    rng = np.random.default_rng(seed)
    on = []
    if len(net.candidates):
        on = rng.choice(len(net.candidates), size=rng.integers(0, len(net.candidates) + 1),
                        replace=False).tolist()
    keys = [k for k in net.firm_keys if k not in net.unreachable]
    lengths = net.key_lengths(keys, crossings_on=on)
    band = bar.band
    for i, j in itertools.combinations(range(len(keys)), 2):
        if not np.isfinite(lengths[i, j]):
            continue
        parts = net.route_parts(keys[i], keys[j], on)
        assert not route_enters_band(net, parts)
        assert sum(p["length_m"] for p in parts) == pytest.approx(lengths[i, j], abs=1e-6)
        # the route changes side only by crossings
        a_side = np.sign(_side(cl, net.coords[net.access[keys[i]][0]]))
        b_side = np.sign(_side(cl, net.coords[net.access[keys[j]][0]]))
        n_cross = sum(p["kind"] in ("crossing", "candidate") for p in parts)
        if a_side != b_side:
            assert n_cross % 2 == 1
        assert route_band_ok(parts, band)


def _side(line: LineString, xy) -> float:
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    return (x1 - x0) * (xy[1] - y0) - (y1 - y0) * (xy[0] - x0)


def _local_side(line: LineString, xy) -> float:
    """> 0 left of the line (looking along it) at its nearest point, < 0 right."""
    s = line.project(Point(xy))
    a = np.asarray(line.interpolate(max(0.0, s - 1.0)).coords[0])
    b = np.asarray(line.interpolate(min(line.length, s + 1.0)).coords[0])
    return float((b[0] - a[0]) * (xy[1] - a[1]) - (b[1] - a[1]) * (xy[0] - a[0]))


def route_band_ok(parts, band) -> bool:
    inner = band.buffer(-0.01)
    return all(p["kind"] in ("crossing", "candidate") or not p["geometry"].intersects(inner)
               for p in parts)


# ------------------------------------------------------------------ AMP-SBP default


AMP_SITE = ROOT / "sites" / "amp_sbp" / "site.yaml"


@pytest.mark.skipif(not AMP_SITE.exists(), reason="sites/amp_sbp/site.yaml not written yet")
def test_amp_sbp_default_routes_use_a_real_junction():
    from optimiser.inputs import read_site

    site = read_site(AMP_SITE)
    barriers = site.active_barriers()
    net = build_walk_network(site, barriers)
    assert not net.unreachable, net.unreachable
    north = [b for b in barriers if b.kind == BarrierKind.CARRIAGEWAY]
    assert north, "the default site has the Parkway"
    parkway = north[0]
    existing = [c for c in site.crossings if c.existing and c.barrier_id == parkway.id]
    assert existing
    park = {f"firm:{f.id}": (f.parcel_id or "").split("-")[0] for f in site.firms}
    amp = [k for k in net.firm_keys if park[k] == "amp"]
    sbp = [k for k in net.firm_keys if park[k] == "sbp"]
    assert amp and sbp
    # AMP is south of the Parkway, SBP north: every such pair must cross it
    for k in amp:
        assert _local_side(parkway.centreline, net.access_xy[k][0]) < 0, k
    for k in sbp:
        assert _local_side(parkway.centreline, net.access_xy[k][0]) > 0, k
    pairs = [(a, b) for a in amp for b in sbp]
    ratios = []
    for a, b in pairs:
        route = net.route(a, b)
        assert any(route.intersects(c.line) for c in existing), (a, b)
        ratios.append(detour_ratios(net, [a], [b])[0, 0])
    ratios = np.asarray(ratios)
    assert np.all(np.isfinite(ratios)) and np.all(ratios > 1.0)
    print(f"AMP-SBP cross-Parkway pairs: {len(pairs)}, detour ratio mean {ratios.mean():.2f}, "
          f"max {ratios.max():.2f}")


# ------------------------------------------------------------------ CLI: siteopt network


def _zoo_scenario():
    from optimiser.inputs.domain import Scenario

    return Scenario(id="zoo", name="Zoo", site=two_barrier_site(), site_ref="zoo",
                    budget=1e6, crossings=crossing_spec(100.0), layers={"hs2": True})


def test_cli_network_writes_wgs84_geojson_and_summary(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import optimiser.cli.network_cmd
    from optimiser.cli.network_cmd import command

    sc = _zoo_scenario()
    # the zoo is in local metres: move it to BNG near the AMP so the WGS84 output is sane
    monkeypatch.setattr(optimiser.cli.network_cmd, "read_scenario", lambda path: _shift_scenario(sc))
    out = tmp_path / "net"
    res = CliRunner().invoke(command, ["scenario.yaml", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["components"] == 2 and summary["firms"] == 4
    assert summary["pairs_unreachable"] == 3 and summary["candidate_crossings"] > 0
    assert json.loads((out / "summary.json").read_text()) == summary
    # the zoo's entrances stand on its paths: their connectors have zero length and are left out
    assert summary["zero_length_edges"] == summary["edges_by_kind"]["connector"] > 0
    assert json.loads((out / "connectors.geojson").read_text())["features"] == []
    for name in ("network.geojson", "candidate_crossings.geojson"):
        fc = json.loads((out / name).read_text())
        assert fc["type"] == "FeatureCollection" and "crs" not in fc and fc["features"]
        assert all(shapely.geometry.shape(f["geometry"]).length > 0 for f in fc["features"])
        xy = np.array([c for f in fc["features"] for c in f["geometry"]["coordinates"]])
        assert np.all((xy[:, 0] > -1.5) & (xy[:, 0] < -1.2) & (xy[:, 1] > 53.3) & (xy[:, 1] < 53.5))
    feats = json.loads((out / "network.geojson").read_text())["features"]
    assert {f["properties"]["kind"] for f in feats} == {"path", "crossing"}
    # an existing crossing's charge is its line plus its penalty, both given (the junction: 40 m + 20 m)
    junction = next(f["properties"] for f in feats if f["properties"]["ref"] == "parkway-j1")
    assert (junction["line_length_m"], junction["penalty_m"], junction["length_m"]) == pytest.approx((40.0, 20.0, 60.0), abs=0.01)
    # a non-empty --out is refused unless --overwrite
    res2 = CliRunner().invoke(command, ["scenario.yaml", "--out", str(out)])
    assert res2.exit_code == 2 and "not empty" in res2.output
    res3 = CliRunner().invoke(command, ["scenario.yaml", "--out", str(out), "--overwrite"])
    assert res3.exit_code == 0


def test_cli_network_reports_input_problems(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import optimiser.cli.network_cmd
    from optimiser.cli.network_cmd import command
    from optimiser.errors import InputError, Problem

    def bad(path):
        raise InputError([Problem("s.yaml", "budget_gbp", "must be >= 0"),
                          Problem("s.yaml", "site", "file not found")])

    monkeypatch.setattr(optimiser.cli.network_cmd, "read_scenario", bad)
    res = CliRunner().invoke(command, ["s.yaml", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "s.yaml: budget_gbp: must be >= 0" in res.output and "file not found" in res.output
    assert not (tmp_path / "o").exists()


def _shift_scenario(sc):
    """The scenario with every site geometry moved by (440000, 387000) m."""
    import dataclasses

    from shapely import affinity

    def mv(g):
        return affinity.translate(g, 440000, 387000)

    s = sc.site
    site = dataclasses.replace(
        s,
        parcels=tuple(dataclasses.replace(p, polygon=mv(p.polygon)) for p in s.parcels),
        firms=tuple(dataclasses.replace(f, location=mv(f.location),
                                        entrances=tuple(mv(e) for e in f.entrances))
                    for f in s.firms),
        barriers=tuple(dataclasses.replace(b, centreline=mv(b.centreline)) for b in s.barriers),
        paths=tuple(dataclasses.replace(p, line=mv(p.line)) for p in s.paths),
        crossings=tuple(dataclasses.replace(c, line=mv(c.line)) for c in s.crossings),
    )
    return dataclasses.replace(sc, site=site)


@pytest.mark.slow
def test_parallel_rows_equal_serial():
    rng = np.random.default_rng(7)
    pts = {f"p{i}": Point(*rng.uniform(0, 1000, 1), *rng.uniform(0, 600, 1)) for i in range(160)}
    s = square_site()
    net = build_walk_network(s, s.barriers, points=pts)
    keys = list(pts)
    serial = net.lengths(keys, keys[:20], workers=1)
    net.cache.clear()
    parallel = net.lengths(keys, keys[:20], workers=2)
    assert_same(serial, parallel)
    assert_same(serial, nx_key_lengths(net, keys)[:, :20])


# ------------------------------------------------------------------ equally near points


def _midway_site() -> tuple[Site, Crossing]:
    """Two footpaths 60 m apart south of a carriageway, joined only 250 m further south, and a
    candidate crossing whose south end is midway between them (30 m from each)."""
    bar = Barrier("road", "Road", BarrierKind.CARRIAGEWAY, LineString([(-10, 300), (310, 300)]), 30.0)
    paths = (
        WalkPath("w", "West", "footpath", LineString([(100, 0), (100, 270)])),
        WalkPath("e", "East", "footpath", LineString([(160, 0), (160, 270)])),
        WalkPath("s", "South", "footpath", LineString([(100, 0), (160, 0)])),
        WalkPath("n", "North", "footpath", LineString([(0, 400), (300, 400)])),
    )
    site = Site(
        id="midway", name="Midway", crs="EPSG:27700", source_crs="EPSG:27700", parcels=(),
        firms=(firm("w", 90, 250, (100, 250)), firm("e", 170, 250, (160, 250)), firm("n", 130, 420, (130, 400))),
        barriers=(bar,), paths=paths,
    )
    cand = Crossing("road-fb-1", "Footbridge", "road", "footbridge", LineString([(130, 250), (130, 350)]), penalty_m=10.0)
    return site, cand


def test_candidate_end_between_two_paths_is_no_path_between_them():
    """A candidate's end as near to two paths gets one connector (the least x): its connectors are
    in the network built or not, so two would join the paths through a crossing no one built."""
    from optimiser.inputs.domain import Scenario
    from optimiser.verify_graph import build_plain_graph, walk_lengths_m

    site, cand = _midway_site()
    net = build_walk_network(site, site.barriers, candidate_crossings=[cand])
    keys = ["firm:w", "firm:e", "firm:n"]
    before = net.key_lengths(keys)
    assert before[0, 1] == pytest.approx(250 + 60 + 250)  # round by the south path, not 30 + 30
    assert math.isinf(before[0, 2])
    after = net.key_lengths(keys, crossings_on=["road-fb-1"])
    assert after[0, 1] == pytest.approx(560)
    assert after[0, 2] == pytest.approx(30 + 100 + 10 + 50)  # the end joins the west path (least x)
    assert after[1, 2] == pytest.approx(560 + 190)
    assert_same(after, nx_key_lengths(net, keys, ["road-fb-1"]))
    # the verifier's own graph gives the same walks, with the crossing and without
    points = {k: [Point(site.firm(k.split(":")[1]).entrances[0].coords[0])] for k in keys}
    scenario = Scenario(id="midway", name="Midway", site=site, site_ref="midway", budget=1e6)
    for built in ([], [cand]):
        graph = build_plain_graph(scenario, points, built)
        assert_same(walk_lengths_m(graph, keys, keys), after if built else before)


@pytest.mark.parametrize("dx", [0.0, 0.0008, -0.0008])
def test_entrance_as_near_to_two_paths_within_a_millimetre_joins_both(dx):
    """An entrance midway between two paths, moved by up to a millimetre (what a round trip
    through GeoJSON's lon/lat may do), still joins both: the walks do not jump by the detour."""
    site, _ = _midway_site()
    site = dataclasses.replace(site, firms=site.firms + (firm("m", 130, 240, (130 + dx, 250)),))
    net = build_walk_network(site, site.barriers)
    k = net.key_lengths(["firm:m", "firm:w", "firm:e"])
    assert k[0, 1] == pytest.approx(30 + dx, abs=1e-6)
    assert k[0, 2] == pytest.approx(30 - dx, abs=1e-6)


def test_an_entrance_between_two_paths_is_no_walk_between_them_for_other_firms():
    """A firm's entrance exactly midway between two paths reaches either (30 m), but other firms
    do not walk from one path to the other through its door: w -> e stays 250 + 60 + 250 m round
    by the south path (one node joined to both made it 30 + 30 m through the firm's plot), in
    the network and the verifier alike; the entrance is one access node per path."""
    from optimiser.inputs.domain import Scenario
    from optimiser.verify_graph import build_plain_graph, walk_lengths_m

    site, _ = _midway_site()
    site = dataclasses.replace(site, firms=site.firms + (firm("m", 130, 240, (130, 250)),))
    net = build_walk_network(site, site.barriers)
    keys = ["firm:w", "firm:e", "firm:m"]
    lengths = net.key_lengths(keys)
    assert lengths[0, 1] == pytest.approx(560)
    assert (lengths[2, 0], lengths[2, 1]) == (pytest.approx(30), pytest.approx(30))
    assert len(net.access["firm:m"]) == 2 and len(net.access["firm:w"]) == 1
    assert_same(lengths, nx_key_lengths(net, keys))
    points = {k: [Point(site.firm(k.split(":")[1]).entrances[0].coords[0])] for k in keys}
    scenario = Scenario(id="midway", name="Midway", site=site, site_ref="midway", budget=1e6)
    graph = build_plain_graph(scenario, points, [], tied_keys=set(keys))
    assert_same(walk_lengths_m(graph, keys, keys), lengths)


def test_geojson_polygons_follow_the_right_hand_rule():
    """RFC 7946: exteriors counter-clockwise, holes clockwise, whatever the winding given."""
    from optimiser.present.geojson import to_wgs84_geojson

    cw = shapely.Polygon([(430000, 388000), (430000, 388100), (430100, 388100), (430100, 388000)],
                         [[(430010, 388010), (430090, 388010), (430090, 388090), (430010, 388090)]])
    assert not cw.exterior.is_ccw and cw.interiors[0].is_ccw
    fc = to_wgs84_geojson([{"type": "Feature", "geometry": cw, "properties": {}},
                           {"type": "Feature", "geometry": shapely.MultiPolygon([cw, shapely.box(430200, 388000, 430300, 388100)]),
                            "properties": {}}], "EPSG:27700")
    polys = [p for f in fc["features"] for p in shapely.get_parts(shapely.geometry.shape(f["geometry"]))]
    assert len(polys) == 3
    assert all(p.exterior.is_ccw and not any(r.is_ccw for r in p.interiors) for p in polys)


def test_a_site_equally_near_two_paths_is_no_walk_between_them(tmp_path):
    """A social-space candidate exactly as near two paths meeting at an acute angle (a grid point on
    the bisector) was joined to both, and the walk between two firms on those paths went through
    it, across land nothing is built on: offering social spaces cut the walk before anything was
    chosen from 1,879 m to 572 m. A site joins one path, as a candidate crossing's end does
    (builder and verifier alike); a firm's entrance still joins each."""
    import yaml

    from optimiser import read_scenario, run_scenario

    p = lambda x, y: [513000.0 + x, 5403000.0 + y]  # noqa: E731 - a site in EPSG:25832
    site = {"format": "placemaking-site/1", "id": "wedge", "crs": "EPSG:25832",
            "parcels": [{"id": "green", "status": "open_space", "geometry": {"type": "Polygon", "coordinates": [
                [p(100, 5), p(1000, -225), p(1000, 275), p(100, 45), p(100, 5)]]}}],
            "firms": [{"id": "a", "employees": 100, "location": p(900, -245)},
                      {"id": "b", "employees": 100, "location": p(900, 295)}],
            "paths": [{"id": "p1", "geometry": {"type": "LineString", "coordinates": [p(0, 25), p(1000, -275)]}},
                      {"id": "p2", "geometry": {"type": "LineString", "coordinates": [p(0, 25), p(1000, 325)]}}]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    scen = {"format": "placemaking-scenario/1", "id": "w", "site": "site.yaml", "currency": "EUR", "budget": 1e6,
            "social_spaces": {"count": {"min": 0, "max": 1}, "cost": 1000, "candidate_spacing_m": 50,
                              "noise_buffer_m": 0, "building_clearance_m": 0, "min_spacing_m": 0},
            "solver": {"time_limit_s": 5}}
    (tmp_path / "scen.yaml").write_text(yaml.safe_dump(scen))
    run = run_scenario(read_scenario(tmp_path / "scen.yaml"), tmp_path / "run", render=False)
    walk = run.metrics.walk
    assert (walk.baseline_weighted_mean_m, walk.optimised_weighted_mean_m) == (1879.3, 1879.3)
    assert run.metrics.verification.passed


def test_copies_of_a_path_are_noded_once_in_bounded_memory():
    """A path layer imported many times (1,000 copies of a path of the square site) took 2 GB or so to node, growing
    with the square of the copies (a 24 MB file of 180,000: killed at 23 GB); the copies add
    nothing to walk on. The network is the one of the site without them, built in bounded memory
    (the peak of a fresh process, a deterministic measure, not a time)."""
    import subprocess
    import sys
    import textwrap

    if not Path("/proc/self/status").exists():
        pytest.skip("measures the peak memory in /proc/self/status (Linux)")
    code = textwrap.dedent("""
        import dataclasses
        from tests.sitezoo import square_site
        from optimiser.network.builder import build_walk_network
        s = square_site()
        copies = [dataclasses.replace(s.paths[0], id=f"copy{i}") for i in range(1000)]
        net = build_walk_network(dataclasses.replace(s, paths=s.paths + tuple(copies)), s.barriers)
        one = build_walk_network(s, s.barriers)
        keys = ["firm:a", "firm:b", "firm:c", "firm:d"]
        assert (net.key_lengths(keys) == one.key_lengths(keys)).all() and net.n_nodes == one.n_nodes
        # VmHWM: this process's peak (ru_maxrss keeps the parent's across exec: pytest's, 666 MB once)
        print(next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) < 500, out.stdout  # MB; about 2,200 before (3,000 copies: 19,500)


def test_overlapping_paths_are_noded_once_in_bounded_memory():
    """1,000 paths that are sub-lengths of one path of the square site (each from a point along it
    to its end), like a footway an export draws many times: noding them went past 4 GB
    (``std::bad_alloc`` under a 4 GB cap). Each stretch is noded once: the same walks as the site
    without them, in a child capped at 2 GB address space, its own peak (VmHWM) measured."""
    import resource
    import subprocess
    import sys
    import textwrap

    if not Path("/proc/self/status").exists():
        pytest.skip("measures the peak memory in /proc/self/status (Linux)")
    code = textwrap.dedent("""
        import dataclasses
        from shapely.geometry import LineString
        from tests.sitezoo import square_site
        from optimiser.network.builder import build_walk_network
        s = square_site()
        (x0, y0), (x1, y1) = s.paths[0].line.coords[0], s.paths[0].line.coords[-1]
        subs = [dataclasses.replace(s.paths[0], id=f"sub{i}", line=LineString(
            [(x0 + (x1 - x0) * i / 2000, y0 + (y1 - y0) * i / 2000), (x1, y1)])) for i in range(1, 1001)]
        net = build_walk_network(dataclasses.replace(s, paths=s.paths + tuple(subs)), s.barriers)
        one = build_walk_network(s, s.barriers)
        keys = ["firm:a", "firm:b", "firm:c", "firm:d"]
        assert (net.key_lengths(keys) == one.key_lengths(keys)).all()
        assert (net.n_nodes, len(net.edge_u)) == (one.n_nodes, len(one.edge_u)) == (100, 139)
        print(next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")) // 1024)
    """)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1], preexec_fn=cap)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) < 300, out.stdout  # MB; 90 measured, > 4 GB before


def test_a_few_overlapping_paths_walk_as_if_drawn_once():
    """A diagonal drawn twice in part (the second copy turning off it at a point of its own), a
    top path's sub-length drawn backwards: the walks are those of the site with the overlaps
    removed by hand (the spur kept), and so is the verifier's footpath length."""
    from types import SimpleNamespace

    from optimiser.verify_graph import _footpath_segments

    s = square_site()
    diag = WalkPath("diag", "diag", "footpath", LineString([(0, 0), (100, 100), (200, 200)]))
    by_hand = s.paths + (diag, WalkPath("spur", "spur", "footpath", LineString([(150, 150), (150, 250)])))
    overlaps = s.paths + (diag, WalkPath("diag2", "d2", "footpath", LineString([(50, 50), (150, 150), (150, 250)])),
                          WalkPath("top2", "t2", "footpath", LineString([(900, 600), (150, 600)])))
    points = {"p": Point(150, 240), "q": Point(60, 45), "r": Point(520, 590)}
    keys = ["firm:a", "firm:b", "firm:c", "firm:d", "p", "q", "r"]
    nets = [build_walk_network(dataclasses.replace(s, paths=paths), s.barriers, points=points)
            for paths in (by_hand, overlaps)]
    lengths = [net.key_lengths(keys) for net in nets]
    np.testing.assert_allclose(lengths[1], lengths[0], rtol=0, atol=1e-9)
    assert lengths[0][keys.index("q"), keys.index("p")] == pytest.approx(
        math.dist((60, 45), (52.5, 52.5)) + math.dist((52.5, 52.5), (150, 150)) + 90, abs=1e-6)
    totals = []
    for paths in (by_hand, overlaps):
        seg = _footpath_segments(SimpleNamespace(site=dataclasses.replace(s, paths=paths)), None)
        totals.append(float(np.hypot(*(seg[:, 1] - seg[:, 0]).T).sum()))
    assert totals[1] == pytest.approx(totals[0], abs=1e-6)
    assert totals[0] == pytest.approx(7 * 1000 + 11 * 600 + 200 * math.sqrt(2) + 100, abs=1e-6)
