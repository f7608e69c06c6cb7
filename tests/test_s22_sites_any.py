"""Any site, checked against answers computed here independently (s22).

Tiny sites written from the documentation alone, in other countries, CRSs and currencies: a canal
(``water``) with one bridge between two footways, 4 firms on the footways, 3 explicit candidate
crossings. Walks are worked out here by hand (along the footway to a crossing, over it: its length
plus its penalty, along the other footway), every affordable set of crossings is enumerated and
the optimum, its objective in weighted metres, its cost and the walk figures of ``metrics.json``
are compared with the run's.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import shapely
import yaml
from click.testing import CliRunner
from pyproj import Transformer

from optimiser.cli import cli

COSTS = {"footbridge": 1_800_000, "bascule": 1_100_000}
PENS = {"footbridge": 20, "bascule": 60}


def layout(x0: float, y0: float, k: float = 1.0) -> dict:
    """The local layout in metres, ``k`` times the 600 x 400 m original (canal 20k m wide)."""
    X = lambda d: x0 + d * k  # noqa: E731
    Y = lambda d: y0 + d * k  # noqa: E731
    return dict(
        parcels=[dict(id="zuid", status="buildable", poly=[(X(0), Y(0)), (X(600), Y(0)), (X(600), Y(190)), (X(0), Y(190))]),
                 dict(id="noord", status="occupied", poly=[(X(0), Y(210)), (X(600), Y(210)), (X(600), Y(400)), (X(0), Y(400))])],
        firms=[dict(id="a", employees=100, x=X(200), y=Y(150)), dict(id="b", employees=50, x=X(500), y=Y(150)),
               dict(id="c", employees=80, x=X(300), y=Y(250)), dict(id="d", employees=40, x=X(550), y=Y(250))],
        barrier=dict(id="kanaal", kind="water", width_m=20 * k, line=[(X(-100), Y(200)), (X(700), Y(200))]),
        paths=[dict(id="zuidpad", line=[(X(0), Y(150)), (X(600), Y(150))]), dict(id="noordpad", line=[(X(0), Y(250)), (X(600), Y(250))])],
        existing=[dict(id="brug", x=X(50), penalty=0)],
        cands=[dict(id="k1", x=X(250), type="footbridge"), dict(id="k2", x=X(500), type="footbridge"),
               dict(id="k3", x=X(400), type="bascule")],
        S=Y(150), N=Y(250), k=k,
    )


def site_doc(L: dict, crs: str, fwd, sid: str) -> dict:
    P = lambda x, y: list(fwd(x, y))  # noqa: E731
    line = lambda pts: {"type": "LineString", "coordinates": [P(*p) for p in pts]}  # noqa: E731
    return {
        "format": "placemaking-site/1", "id": sid, "crs": crs,
        "parcels": [{"id": p["id"], "status": p["status"],
                     "geometry": {"type": "Polygon", "coordinates": [[P(*q) for q in p["poly"]] + [P(*p["poly"][0])]]}}
                    for p in L["parcels"]],
        "firms": [{"id": f["id"], "employees": f["employees"], "location": P(f["x"], f["y"])} for f in L["firms"]],
        "barriers": [{"id": "kanaal", "kind": "water", "width_m": L["barrier"]["width_m"], "geometry": line(L["barrier"]["line"])}],
        "paths": [{"id": p["id"], "geometry": line(p["line"])} for p in L["paths"]],
        "crossings": [{"id": e["id"], "barrier": "kanaal", "type": "bridge", "penalty_m": e["penalty"],
                       "geometry": line([(e["x"], L["S"]), (e["x"], L["N"])])} for e in L["existing"]],
    }


def scen_doc(L: dict, fwd, currency: str, budget: float, money: float = 1.0) -> dict:
    P = lambda x, y: list(fwd(x, y))  # noqa: E731
    return {
        "format": "placemaking-scenario/1", "id": "s", "site": "site.yaml", "currency": currency, "budget": budget,
        "crossings": {"spacing_m": 0, "types": {
            "footbridge": {"cost": COSTS["footbridge"] * money, "penalty_m": PENS["footbridge"]},
            "bascule": {"cost": COSTS["bascule"] * money, "penalty_m": PENS["bascule"], "at_grade": False}},
            "explicit": [{"id": c["id"], "barrier": "kanaal", "type": c["type"],
                          "geometry": {"type": "LineString", "coordinates": [P(c["x"], L["S"]), P(c["x"], L["N"])]}}
                         for c in L["cands"]]},
        "objective": {"firm_pairs": 1, "facility_access": 0, "social_access": 0},
        "solver": {"time_limit_s": 20},
    }


def brute(L: dict, budget: float) -> list[tuple]:
    """Every affordable set of candidates: (objective in weighted m, cost, ids, walks, total weight),
    best first (fewest items among equals)."""
    mid = (L["S"] + L["N"]) / 2
    out = []
    for r in range(len(L["cands"]) + 1):
        for sub in itertools.combinations(L["cands"], r):
            cost = sum(COSTS[c["type"]] for c in sub)
            if cost > budget:
                continue
            over = [(e["x"], e["penalty"]) for e in L["existing"]] + [(c["x"], PENS[c["type"]]) for c in sub]
            walks, obj, wsum = {}, 0.0, 0.0
            for fa, fb in itertools.combinations(L["firms"], 2):
                w = fa["employees"] * fb["employees"] / 1000
                if (fa["y"] < mid) == (fb["y"] < mid):
                    d = abs(fa["x"] - fb["x"])
                else:
                    d = min(abs(fa["x"] - x) + (L["N"] - L["S"]) + p + abs(x - fb["x"]) for x, p in over)
                walks[(fa["id"], fb["id"])] = (w, d, math.hypot(fa["x"] - fb["x"], fa["y"] - fb["y"]))
                obj += w * d
                wsum += w
            out.append((obj, cost, [c["id"] for c in sub], walks, wsum))
    out.sort(key=lambda t: (round(t[0], 6), len(t[2]), t[1]))
    return out


def _write(folder: Path, site: dict, scen: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    (folder / "scen.yaml").write_text(yaml.safe_dump(scen, sort_keys=False))
    return folder / "scen.yaml"


def _run(scen: Path, out: Path) -> dict:
    r = CliRunner().invoke(cli, ["run", str(scen), "--out", str(out), "--time-limit", "20", "--no-render"])
    assert r.exit_code == 0, r.output
    return json.loads((out / "metrics.json").read_text())


def _validate(*files: Path) -> str:
    r = CliRunner().invoke(cli, ["validate", *map(str, files)])
    assert r.exit_code == 0, r.output
    return r.output


def _ids(m: dict) -> list[str]:
    return sorted(c["id"] for c in m["placements"]["crossings"])


def _same_as_brute(m: dict, L: dict, budget: float, tol: float = 0.01) -> None:
    best, base = brute(L, budget)[0], next(t for t in brute(L, budget) if not t[2])
    assert m["status"] == "optimal"
    assert m["objective_weighted_m"] == pytest.approx(best[0], abs=tol * max(1.0, best[0] / 1000))
    assert _ids(m) == best[2]
    assert m["cost"]["capital"] == pytest.approx(best[1] * m["cost"]["budget"] / budget)
    for key, t in (("baseline", base), ("optimised", best)):
        mean = sum(w * d for w, d, _ in t[3].values()) / t[4]
        detour = sum(d / s for _, d, s in t[3].values()) / len(t[3])
        assert m["walk"][f"{key}_weighted_mean_m"] == pytest.approx(mean, abs=0.06)
        assert m["walk"][f"{key}_mean_detour"] == pytest.approx(detour, abs=0.001)
    assert m["walk"]["cross_barrier"]["pairs"] == 4  # a,b south; c,d north


def test_dutch_site_in_rd_new_with_euros(tmp_path):
    L = layout(159800, 382800)
    scen = _write(tmp_path / "nl", site_doc(L, "EPSG:28992", lambda x, y: (x, y), "eindhoven"),
                  scen_doc(L, lambda x, y: (x, y), "EUR", 3_000_000))
    m = _run(scen, tmp_path / "run")
    _same_as_brute(m, L, 3_000_000)
    assert m["objective_weighted_m"] == 8200.0 and m["currency"] == "EUR" and m["cost"]["capital"] == 2_900_000
    text = _validate(scen)
    assert "budget €3,000,000 (EUR)" in text and "£" not in text and "51.44° N, 5.46° E" in text


def test_japanese_site_in_lonlat_with_yen(tmp_path):
    L = layout(388000, 3949000)  # Tokyo in UTM 54N
    t = Transformer.from_crs("EPSG:32654", "EPSG:4326", always_xy=True)
    fwd = lambda x, y: tuple(round(v, 9) for v in t.transform(x, y))  # noqa: E731
    budget = 420_000_000
    scen = _write(tmp_path / "jp", site_doc(L, "EPSG:4326", fwd, "tokyo"), scen_doc(L, fwd, "JPY", budget, money=140))
    m = _run(scen, tmp_path / "run")
    assert m["currency"] == "JPY" and m["cost"]["capital"] == 2_900_000 * 140
    _same_as_brute(m, L, budget / 140)
    text = _validate(scen)
    assert "budget JPY 420,000,000," in text and "(JPY)" not in text  # the code once, no symbol
    assert "35.68° N, 139.77° E, worked in EPSG:32654" in text


def test_state_plane_site_in_us_survey_feet_is_worked_in_its_metre_twin(tmp_path):
    L = layout(595000, 4150000)  # Fremont in UTM 10N
    runs = {}
    for crs in ("EPSG:2227", "EPSG:26943"):  # NAD83 / California zone 3, in US survey feet and in metres
        t = Transformer.from_crs("EPSG:32610", crs, always_xy=True)
        fwd = lambda x, y, t=t: tuple(round(v, 5) for v in t.transform(x, y))  # noqa: E731
        scen = _write(tmp_path / crs[5:], site_doc(L, crs, fwd, "fremont"), scen_doc(L, fwd, "USD", 3_000_000))
        runs[crs] = _run(scen, tmp_path / f"run{crs[5:]}")
        if crs == "EPSG:2227":
            assert "worked in EPSG:26943 (NAD83 / California zone 3), reprojected from EPSG:2227" in _validate(scen)
    feet, metres = runs["EPSG:2227"], runs["EPSG:26943"]
    assert feet["objective_weighted_m"] == pytest.approx(metres["objective_weighted_m"], abs=0.02)
    assert _ids(feet) == _ids(metres) == ["k1", "k3"]
    # the state plane's scale at Fremont differs from UTM's by 0.02 %: the same answer, in metres
    assert feet["objective_weighted_m"] == pytest.approx(8200.0, rel=5e-4)


@pytest.mark.parametrize("k", [0.3, 30.0])
def test_tiny_and_huge_sites_are_not_tied_to_one_scale(tmp_path, k):
    L = layout(159800, 382800, k)  # 180 m and 18 km across
    scen = _write(tmp_path / "s", site_doc(L, "EPSG:28992", lambda x, y: (x, y), "scaled"),
                  scen_doc(L, lambda x, y: (x, y), "EUR", 3_000_000))
    m = _run(scen, tmp_path / "run")
    _same_as_brute(m, L, 3_000_000)
    assert not m.get("warnings")


def test_river_and_canal_with_only_bridges(tmp_path):
    """A river across the canal, bridged on the south footway only: d reaches the others only
    over k2, the one candidate east of the river (worked by hand in the comments)."""
    L = layout(159800, 382800)
    site = site_doc(L, "EPSG:28992", lambda x, y: (x, y), "twee")
    site["barriers"].append({"id": "rivier", "kind": "water", "width_m": 30,
                             "geometry": {"type": "LineString", "coordinates": [[160250, 382700], [160250, 383300]]}})
    site["crossings"].append({"id": "brug2", "barrier": "rivier", "type": "bridge",
                              "geometry": {"type": "LineString", "coordinates": [[160200, 382950], [160300, 382950]]}})
    scen = _write(tmp_path / "r", site, scen_doc(L, lambda x, y: (x, y), "EUR", 3_000_000))
    m = _run(scen, tmp_path / "run")
    # a-b 300 (over brug2); a-c via k3: 200+100+60+100 = 460; a-d via k2: 300+120+50 = 470;
    # b-c via k3: 100+160+100 = 360; b-d via k2: 170; c-d down k3, along, up k2: 100+160+100+120+50 = 530
    expected = 5 * 300 + 8 * 460 + 4 * 470 + 4 * 360 + 2 * 170 + 3.2 * 530
    assert m["objective_weighted_m"] == pytest.approx(expected) == 10536
    assert _ids(m) == ["k2", "k3"] and m["cost"]["capital"] == 2_900_000
    assert m["walk"]["cross_barrier"]["pairs"] == 6  # the river splits a|b and c|d too


def test_swapped_lonlat_site_shows_both_readings(tmp_path):
    L = layout(683000, 5248000)  # in UTM 32N, 47.4 N
    t = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    swapped = lambda x, y: tuple(reversed(t.transform(x, y)))  # noqa: E731
    scen = _write(tmp_path / "zh", site_doc(L, "EPSG:4326", swapped, "zh"), scen_doc(L, swapped, "USD", 3_000_000))
    text = _validate(scen)
    assert "at 11.43° N, 47.36° E, worked in EPSG:32638" in text
    assert "given as [latitude, longitude] it would be at 47.36° N, 11.43° E" in text


def test_network_features_never_guess_the_pound():
    from optimiser.inputs.domain import Crossing
    from optimiser.network.features import crossing_features

    c = Crossing(id="k", name="k", barrier_id="kanaal", type="footbridge", line=shapely.LineString([(0, 0), (0, 30)]),
                 cost=1_800_000.0)
    assert crossing_features([c])[0]["properties"]["currency"] is None
    assert crossing_features([c], currency="EUR")[0]["properties"]["currency"] == "EUR"


def test_neighbour_utm_zone_is_hinted_by_a_one_country_currency(tmp_path):
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(8.54, 47.37)  # Zürich, zone 32
    L = layout(round(x), round(y))
    same = lambda a, b: (a, b)  # noqa: E731
    texts = {}
    for crs in ("EPSG:32632", "EPSG:32633"):
        texts[crs] = _validate(_write(tmp_path / crs[5:], site_doc(L, crs, same, "zh"), scen_doc(L, same, "CHF", 3e6)))
    assert "check the UTM zone" not in texts["EPSG:32632"]
    hint = texts["EPSG:32633"]
    assert "check the UTM zone: in EPSG:32633 (UTM zone 33N) the site is at lon/lat (14.54" in hint
    assert "the same coordinates in EPSG:32632 (UTM zone 32N) would be at (8.54" in hint and "Switzerland" in hint
    # a currency spent far and wide says nothing
    assert "check the UTM zone" not in _validate(_write(tmp_path / "usd", site_doc(L, "EPSG:32633", same, "zh"),
                                                        scen_doc(L, same, "USD", 3e6)))
