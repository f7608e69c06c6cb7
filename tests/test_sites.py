"""The embedded AMP-SBP site and its scenarios: valid, plausible and consistent with the sources.

The geometry is an illustrative sketch (see sites/README.md); these tests check it against the
published figures it was drawn from and the rules the optimiser relies on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon

from optimiser.inputs import read_scenario, read_site, validate_files

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "sites" / "amp_sbp" / "site.yaml"
SCENARIOS = [ROOT / "constraints" / "amp_sbp" / f"{n}.yaml" for n in ("baseline", "hs2", "tight_budget")]


@pytest.fixture(scope="module")
def site():
    return read_site(SITE)


def _ha(site, prefix: str) -> float:
    return sum(p.polygon.area for p in site.parcels if p.id.startswith(prefix)) / 1e4


def test_three_scenarios_validate():
    assert all(p.is_file() for p in SCENARIOS)
    assert validate_files([SITE, *SCENARIOS]) == []
    for p in SCENARIOS:
        scn = read_scenario(p)
        assert scn.site.id == "amp_sbp"
        assert scn.solver.backend == "cpsat" and scn.solver.seed == 0 and scn.solver.workers == 1


def test_site_is_labelled_illustrative(site):
    assert site.illustrative is True
    assert site.crs == "EPSG:27700"
    assert "not surveyed" in site.description.lower()


def test_enough_firms_with_provenance(site):
    assert len(site.firms) >= 15
    assert len({f.id for f in site.firms}) == len(site.firms)
    for f in site.firms:
        assert f.employees > 0
        assert f.provenance.source and "amp_sbp_geometry.md" in f.provenance.source, f.id
        assert f.provenance.accuracy_m is not None and f.provenance.status in ("sourced", "estimated"), f.id
    emp = {f.id: f.employees for f in site.firms}
    assert emp["nuclear-amrc"] == 80 and emp["factory-2050"] == 70
    assert emp["boeing-sheffield"] == 100 and emp["mclaren"] == 200


def test_factory_2050_is_fixed(site):
    f = site.firm("factory-2050")
    assert f.fixed and f.footprint is not None
    assert [x.id for x in site.firms if x.fixed] == ["factory-2050"]


def test_areas_match_published_figures(site):
    assert 50 <= _ha(site, "amp-") <= 75  # AMP 61 ha published, 65.7 ha sketch
    assert 80 <= _ha(site, "sbp-") <= 140  # SBP 81 ha + Runway Park 40 ha (overlap unclear)
    assert 6 <= _ha(site, "p4-") <= 9  # SBP Phase 4: 7.3 ha


def test_parcels_valid_and_clear_of_the_parkway(site):
    parkway = site.barrier("parkway")
    band = parkway.band
    statuses = {p.status.value for p in site.parcels}
    assert statuses == {"occupied", "buildable", "reserved", "open_space"}
    for p in site.parcels:
        assert p.polygon.is_valid and p.polygon.area > 0, p.id
        assert not p.polygon.intersects(band), p.id
        assert p.polygon.distance(parkway.centreline) >= 25, p.id
        assert p.provenance.source, p.id
    # parcels do not overlap one another (beyond rounding slivers)
    polys = [p.polygon for p in site.parcels]
    tree = shapely.STRtree(polys)
    for i, j in zip(*tree.query(polys, predicate="intersects")):
        if i < j:
            assert polys[i].intersection(polys[j]).area < 50, (site.parcels[i].id, site.parcels[j].id)


def _side(line: LineString, pt: Point) -> int:
    """+1 left of the line, -1 right, by the nearest segment's cross product."""
    coords = list(line.coords)
    best = None
    for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
        seg = LineString([(x0, y0), (x1, y1)])
        d = seg.distance(pt)
        if best is None or d < best[0]:
            cross = (x1 - x0) * (pt.y - y0) - (y1 - y0) * (pt.x - x0)
            best = (d, 1 if cross > 0 else -1)
    return best[1]


def test_parkway_separates_amp_from_sbp(site):
    parkway = site.barrier("parkway").centreline
    amp = {p.id for p in site.parcels if p.id.startswith("amp-")}
    sbp = {p.id for p in site.parcels if p.id.startswith(("sbp-", "p4-", "bw-"))}
    amp_firms = [f for f in site.firms if f.parcel_id in amp]
    sbp_firms = [f for f in site.firms if f.parcel_id in sbp]
    assert len(amp_firms) >= 10 and len(sbp_firms) >= 8
    assert {_side(parkway, f.location) for f in amp_firms} == {-1}  # south (right, going east)
    assert {_side(parkway, f.location) for f in sbp_firms} == {1}  # north
    assert site.firm("factory-2050") in sbp_firms and site.firm("amrc-fof") in amp_firms
    # the same answer by splitting a big box with the centreline
    box = Polygon([(439000, 386000), (443000, 386000), (443000, 390500), (439000, 390500)])
    c = list(parkway.coords)
    (x0, y0), (x1, y1), (xa, ya), (xb, yb) = c[0], c[1], c[-2], c[-1]
    ext = [(x0 - 5 * (x1 - x0), y0 - 5 * (y1 - y0)), *c, (xb + 20 * (xb - xa), yb + 20 * (yb - ya))]
    halves = shapely.get_parts(shapely.ops.split(box, LineString(ext)))
    assert len(halves) == 2
    north = max(halves, key=lambda g: g.centroid.y)
    assert all(north.contains(f.location) for f in sbp_firms)
    assert not any(north.contains(f.location) for f in amp_firms)


def test_every_firm_sits_in_its_parcel(site):
    by_id = {p.id: p for p in site.parcels}
    for f in site.firms:
        assert f.parcel_id in by_id, f.id
        assert by_id[f.parcel_id].polygon.contains(f.location), f.id


def test_hs2_layer_off_by_default_and_switchable(site):
    hs2 = site.barrier("hs2")
    assert hs2.layer == "hs2" and hs2.default_on is False and hs2.no_build is True
    assert hs2.width_m == 200
    assert "hs2" in site.layers
    assert [b.id for b in site.active_barriers()] == ["parkway"]
    assert {b.id for b in site.active_barriers({"hs2": True})} == {"parkway", "hs2"}
    scn = {p.stem: read_scenario(p) for p in SCENARIOS}
    assert [b.id for b in scn["baseline"].active_barriers] == ["parkway"]
    assert {b.id for b in scn["hs2"].active_barriers} == {"parkway", "hs2"}
    assert scn["tight_budget"].budget < scn["baseline"].budget


def test_no_firm_or_entrance_in_any_barrier_band(site):
    for b in site.barriers:
        band = b.band
        for f in site.firms:
            assert not band.contains(f.location), (f.id, b.id)
            for e in f.entrances:
                assert not band.contains(e), (f.id, b.id)
    hs2 = site.barrier("hs2").centreline
    assert min(min(hs2.distance(e) for e in f.entrances) for f in site.firms) > 100


def test_entrances_near_paths(site):
    paths = shapely.union_all([p.line for p in site.paths])
    for f in site.firms:
        assert 1 <= len(f.entrances) <= 2, f.id
        for e in f.entrances:
            assert paths.distance(e) <= 80, (f.id, paths.distance(e))
            assert 15 <= f.location.distance(e) <= 60 or e.equals(f.location), f.id


def test_paths_stay_out_of_the_parkway_band(site):
    band = site.barrier("parkway").band
    names = {p.id for p in site.paths}
    for required in ("europa-link", "europa-avenue", "europa-view", "britannia-way", "poplar-way",
                     "brunel-way", "wallis-way", "whittle-way", "highfield-spring"):
        assert required in names
    for p in site.paths:
        assert not p.line.intersects(band), p.id


def test_junction_crossings(site):
    band = site.barrier("parkway").band
    paths = shapely.union_all([p.line for p in site.paths])
    junctions = {c.id: c for c in site.crossings if c.barrier_id == "parkway"}
    assert set(junctions) == {"catcliffe-junction", "handsworth-junction"}
    for c in junctions.values():
        assert c.type == "junction" and c.existing
        assert 60 <= c.penalty_m <= 100
        assert c.line.crosses(band) or c.line.intersects(band)
        start, end = Point(c.line.coords[0]), Point(c.line.coords[-1])
        assert paths.distance(start) < 5 and paths.distance(end) < 5, c.id
        assert not band.contains(start) and not band.contains(end)
        assert _side(site.barrier("parkway").centreline, start) != _side(site.barrier("parkway").centreline, end)
    assert not any("footbridge" in c.id for c in site.crossings)  # B20 is unverified
    assert "B20" in site.description


def test_crossing_rules_and_exclusions(site):
    rules = {r.barrier_id: r for r in site.crossing_rules}
    assert rules["parkway"].spacing_m == 150
    assert set(rules["parkway"].types) == {"footbridge", "signalised", "underpass"}
    assert rules["hs2"].spacing_m == 250 and set(rules["hs2"].types) == {"footbridge", "underpass"}
    zones = {z.id: z for z in site.exclusion_zones}
    assert "fof-wind-turbine" in zones and zones["fof-wind-turbine"].reason
    assert not zones["fof-wind-turbine"].polygon.contains(site.firm("amrc-fof").location)


def test_model_size_stays_modest():
    from optimiser.network.crossings import generate_candidate_crossings

    for p in SCENARIOS:
        scn = read_scenario(p)
        cands = generate_candidate_crossings(scn.site, scn.active_barriers, scn.crossings)
        assert len(cands) <= 50, (p.name, len(cands))
        for f in scn.facilities:
            assert 120 <= f.candidate_spacing_m <= 150


def test_walk_network_connects_every_firm():
    import numpy as np

    from optimiser.network.builder import build_walk_network

    for p in SCENARIOS:
        scn = read_scenario(p)
        net = build_walk_network(scn.site, scn.active_barriers)
        assert net.unreachable == (), p.name
        lengths = net.key_lengths(list(net.firm_keys))
        assert np.isfinite(lengths).all(), p.name


def test_the_worked_example_in_the_sites_readme_is_valid_without_warnings(tmp_path):
    from optimiser.checkfiles import check_file

    text = (ROOT / "sites" / "README.md").read_text(encoding="utf-8")
    start = text.index("## Worked example (YAML)")
    block = text[text.index("```yaml\n", start) + 8: text.index("```", text.index("```yaml\n", start) + 8)]
    f = tmp_path / "worked.yaml"
    f.write_text(block, encoding="utf-8")
    report = check_file(f)
    assert not report.problems and not report.warnings, (report.problems, report.warnings)
    assert len(read_site(f).firms) == 2
