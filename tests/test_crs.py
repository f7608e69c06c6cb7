"""The site's CRS checks (:mod:`optimiser.inputs.crs`, :mod:`optimiser.inputs.plausibility`):
``crs`` and ``working_crs`` get the same unit, area-of-use and scale checks, a ``working_crs`` is
honoured whatever ``crs`` is, and coordinates in messages are whole metres or fixed degrees."""

from __future__ import annotations

import pytest
import yaml
from pyproj import Transformer

from optimiser.inputs import read_site, validate_files
from optimiser.inputs.messages import format_xy
from tests.sitefiles import site_dict


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def _moved(data, fn):
    """``data`` with every position passed through ``fn(x, y) -> (x, y)``."""
    if isinstance(data, list) and data and isinstance(data[0], (int, float)):
        return list(fn(data[0], data[1]))
    if isinstance(data, list):
        return [_moved(d, fn) for d in data]
    if isinstance(data, dict):
        return {k: _moved(v, fn) if isinstance(v, (dict, list)) else v for k, v in data.items()}
    return data


def test_format_xy_is_whole_metres_or_fixed_degrees():
    assert format_xy(690280.4, 5335610.2) == "(690280, 5335610)"
    assert format_xy(8.5, 47.4, degrees=True) == "(8.50000, 47.40000)"
    assert format_xy(1e308, 387850) == "(1e+308, 387850)"


def test_outside_the_area_of_use_is_in_whole_metres(tmp_path):
    d = _moved(site_dict(), lambda x, y: (x + 250000, y + 4948000))  # a Munich-sized northing in EPSG:27700
    probs = validate_files([_write(tmp_path / "far.yaml", d)])
    msg = next(p.reason for p in probs if p.field == "parcels[0].geometry")
    assert msg == ("coordinates (690000, 5335000) lie outside the area of use of crs EPSG:27700 "
                   "(lon -9.01..2.01, lat 49.75..61.01, give or take 1°): lon/lat (159.40561, 81.83077)")


def test_coordinates_written_as_text_get_the_area_and_span_checks_too(tmp_path):
    """YAML 1.1 reads ``1e7`` (no decimal point) as text, and GIS exports quote numbers: the
    schema reads both as numbers, so the area-of-use and 50 km checks must see them too (a firm
    at ``1e7`` or ``1e300`` was accepted, with a 300-digit connector warning)."""
    text = yaml.safe_dump(site_dict(), default_flow_style=None).replace("[440850.0, 387060.0]", "[1e7, 387060.0]", 1)
    assert "[1e7, 387060.0]" in text
    (tmp_path / "exp.yaml").write_text(text)
    d = site_dict()
    d["firms"][2]["location"] = ["1e300", "387060"]
    d["firms"][3]["location"] = ["440850", "407000"]  # 20 km north of the others: inside the area, within 50 km
    probs = validate_files([tmp_path / "exp.yaml", _write(tmp_path / "quoted.yaml", d)])
    got = [(p.file.rsplit("/", 1)[-1], p.field, p.reason.split(" lie ")[0]) for p in probs]
    assert got == [("exp.yaml", "firms[2].location", "coordinates (10000000, 387060)"),
                   ("quoted.yaml", "firms[2].location", "coordinates (1e+300, 387060)")]
    d["firms"][2]["location"] = ["440850", "387060"]
    d["firms"][3]["location"] = ["440850", "447000"]  # 60 km north: wider than a walkable site
    (field, reason, _), = _problems(tmp_path, d)
    assert (field, reason.split(";")[0]) == ("firms[3].location", "lies 59.7 km from the middle of the site")


def test_a_whole_number_coordinate_too_large_for_numpy_is_checked_too(tmp_path):
    """A JSON whole number such as 10**30 (no decimal point) is no float: the CRS checks dropped
    its positions (numpy cannot take it), so a GeoJSON firm at longitude 10**30 validated and the
    site sanity warnings then failed with an internal OverflowError."""
    import json

    d = site_dict()
    text = json.dumps(d).replace(json.dumps(d["firms"][2]["location"]), f"[{10**30}, 387060.0]", 1)
    (tmp_path / "site.json").write_text(text)
    (field, reason, _), = [(p.field, p.reason, p.hint) for p in validate_files([tmp_path / "site.json"])]
    assert (field, reason.split(" lie ")[0]) == ("firms[2].location", "coordinates (1e+30, 387060)")


def test_a_southern_site_in_a_northern_utm_zone_is_one_problem_naming_the_southern_zone(tmp_path):
    """A site near Cape Town given in EPSG:32634 with northings below zero (from the equator) was one
    'outside the area of use' problem per feature, none saying what was wrong."""
    d = _moved(site_dict(), lambda x, y: (x - 440000 + 260000, y - 387000 - 3760000))
    d["crs"] = "EPSG:32634"
    assert _problems(tmp_path, d) == [
        ("crs", "every northing is below zero: crs EPSG:32634 (WGS 84 / UTM zone 34N) is a northern zone, so the site "
         "lies south of the equator, outside its area of use",
         "for a site south of the equator use the southern zone, crs: EPSG:32734, whose northings are 10,000,000 at "
         "the equator: add 10,000,000 to every northing")]
    fixed = _moved(d, lambda x, y: (x, y + 10_000_000))
    fixed["crs"] = "EPSG:32734"
    assert _problems(tmp_path, fixed) == []


def test_a_span_far_beyond_the_earth_is_written_with_an_exponent(tmp_path):
    """In a CRS without an area of use (a PROJ string) only the 50 km check sees a firm at 1e300:
    its message wrote both distances out in 300 digits."""
    d = site_dict()
    d["crs"] = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps=airy +units=m"
    d["firms"][2]["location"] = [1e300, 387060]
    (field, reason, _), = _problems(tmp_path, d)
    assert (field, reason) == ("firms[2].location", "lies 1e+297 km from the middle of the site; the site spans 1e+297 km, "
                               "more than the 50 km a walkable site can")


def _lonlat_site(**site_fields):
    """The tiny site (Sheffield, EPSG:27700) given in lon/lat, with ``site_fields`` set."""
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    d = _moved(site_dict(), tr.transform)
    d.update(crs="EPSG:4326", **site_fields)
    return d


def _problems(tmp_path, data):
    return [(p.field, p.reason, p.hint) for p in validate_files([_write(tmp_path / "site.yaml", data)])]


def test_a_working_crs_in_feet_is_refused_a_crs_in_feet_is_converted(tmp_path):
    assert _problems(tmp_path, _lonlat_site(working_crs="EPSG:2263")) == [
        ("working_crs", "CRS 'EPSG:2263' is in US survey foot, not metres",
         "use EPSG:32118 (NAD83 / New York Long Island), the same grid in metres, or leave working_crs out")]
    crs_feet = site_dict()  # Sheffield's BNG metres declared as New York feet: not there
    crs_feet["crs"] = "EPSG:2263"
    problems = _problems(tmp_path, crs_feet)
    assert problems and all("outside the area of use of crs EPSG:2263" in r for _, r, _ in problems), problems
    (field, reason, _), = _problems(tmp_path, _lonlat_site(working_crs="EPSG:4326"))
    assert field == "working_crs" and reason.startswith("CRS 'EPSG:4326' is geographic (degrees)")


def test_a_working_crs_must_hold_the_site_in_its_area_of_use(tmp_path):
    (field, reason, hint), = _problems(tmp_path, _lonlat_site(working_crs="EPSG:2056"))  # Swiss grid, Sheffield site
    assert field == "working_crs"
    assert reason == ("the site lies outside the area of use of working_crs EPSG:2056 (lon 5.96..10.49, lat 45.82..47.81, "
                      "give or take 1°): parcels[0].geometry is at (-1.40018, 53.37835)")
    assert hint.endswith("if the site is in that area, give positions as [longitude, latitude]")
    # a Zürich site (8.5 E, 47.4 N) given as [latitude, longitude]: off Somalia, outside the Swiss grid's area
    swapped = _moved(_lonlat_site(working_crs="EPSG:2056"), lambda x, y: (y - 6.0, x + 9.9))
    (field, reason, _), = _problems(tmp_path, swapped)
    assert field == "working_crs" and reason.startswith("the site lies outside the area of use of working_crs EPSG:2056")
    assert reason.endswith("parcels[0].geometry is at (47.37835, 8.49982)")
    # the same check on a projected site: Sheffield cannot be worked in UTM zone 32N (6-12 E)
    projected = site_dict()
    projected["working_crs"] = "EPSG:32632"
    (field, reason, _), = _problems(tmp_path, projected)
    assert field == "working_crs" and reason.endswith(
        "(lon 6.00..12.00, lat 0.00..84.00, give or take 1°): parcels[0].geometry is at (440000, 387000) in crs EPSG:27700, "
        "lon/lat (-1.40018, 53.37835)")


def test_a_working_crs_must_be_true_to_scale_at_the_site(tmp_path):
    (field, reason, _), = _problems(tmp_path, _lonlat_site(working_crs="EPSG:3857"))
    assert field == "working_crs" and reason.startswith("working_crs EPSG:3857 measures 1.676 m for every metre on the ground")
    assert "more than 0.5% off" in reason


def test_a_working_crs_is_honoured_on_a_projected_site(tmp_path):
    d = site_dict()
    d["working_crs"] = "EPSG:32630"  # UTM 30N: Sheffield (1.4 W) is in its zone
    site = read_site(_write(tmp_path / "utm.yaml", d))
    ref = read_site(_write(tmp_path / "bng.yaml", site_dict()))
    assert (site.crs, site.source_crs) == ("EPSG:32630", "EPSG:27700")
    to_utm = Transformer.from_crs("EPSG:27700", "EPSG:32630", always_xy=True)
    for f, g in zip(site.firms, ref.firms):
        assert abs(f.location.x - to_utm.transform(g.location.x, g.location.y)[0]) < 0.01
    assert abs(site.firms[0].location.distance(site.firms[1].location)
               - ref.firms[0].location.distance(ref.firms[1].location)) < 1.0  # both within 0.1 % of true metres


def test_one_feature_outside_the_working_crs_is_named(tmp_path):
    d = _lonlat_site(working_crs="EPSG:27700")
    d["firms"][0]["location"] = [3.0, 47.0]  # in France: inside EPSG:4326's area, outside the British grid's
    assert ("firms[0].location", "coordinates (3.00000, 47.00000) lie outside the area of use of working_crs EPSG:27700 "
            "(lon -9.01..2.01, lat 49.75..61.01, give or take 1°)", "check the coordinates (a shifted or mistyped value?) "
            "and the declared working_crs") in _problems(tmp_path, d)


def _placed(lon, lat, crs, **site_fields):
    """The tiny site moved to ``(lon, lat)`` and given in ``crs`` (whole metres)."""
    from tests.sitefiles import E0, N0

    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    d = _moved(site_dict(), lambda x, y: (round(x - E0 + x0), round(y - N0 + y0)))
    d.update(crs=crs, **site_fields)
    return d


def test_the_area_of_use_is_compared_in_lonlat_give_or_take_a_degree(tmp_path):
    """One rule for crs and working_crs: a position more than 1 degree beyond the CRS's area of use
    (in lon/lat) is elsewhere; a site a little past a UTM zone's edge, true to scale there, is fine.
    (The 5 % margin in projected coordinates let UTM 33N take a site at 10.5 E, 1.5 degrees outside.)"""
    from pyproj import CRS

    from optimiser.inputs.crs import MAX_SCALE_ERROR, scale_error

    probs = _problems(tmp_path, _placed(10.5, 48.1, "EPSG:32633"))
    assert probs[0] == ("parcels[0].geometry", "coordinates (165007, 5337216) lie outside the area of use of crs EPSG:32633 "
                        "(lon 12.00..18.00, lat 0.00..84.00, give or take 1°): lon/lat (10.50001, 48.10000)",
                        "check the coordinates (a shifted or mistyped value?) and the declared crs")
    # Munich (11.55 E) is 0.45 degrees west of UTM 33N's edge, and within 0.05 % of true scale there
    munich = _placed(11.55, 48.14, "EPSG:32633")
    assert _problems(tmp_path, munich) == []
    assert scale_error(CRS.from_epsg(32633), [munich["firms"][0]["location"]]) < MAX_SCALE_ERROR / 10
    site = read_site(_write(tmp_path / "wc.yaml", _placed(11.55, 48.14, "EPSG:25832", working_crs="EPSG:32633")))
    assert (site.crs, site.source_crs) == ("EPSG:32633", "EPSG:25832")
    assert _problems(tmp_path, _placed(11.55, 48.14, "EPSG:25832", working_crs="EPSG:32634")) == [
        ("working_crs", "the site lies outside the area of use of working_crs EPSG:32634 (lon 18.00..24.00, lat 0.00..84.00, "
         "give or take 1°): parcels[0].geometry is at (689697, 5335006) in crs EPSG:25832, lon/lat (11.55001, 48.14000)",
         "choose a working_crs made for the site's area (its national grid or UTM zone), or leave working_crs out to have "
         "one chosen")]


def test_degrees_outside_an_area_go_round_the_antimeridian():
    from optimiser.inputs.plausibility import degrees_outside

    utm1 = (-180.0, 0.0, -174.0, 84.0)
    assert degrees_outside(-177.0, 10.0, utm1) == 0.0
    assert degrees_outside(179.5, 10.0, utm1) == 0.5  # across the antimeridian, not 353.5
    assert degrees_outside(-172.0, -2.0, utm1) == 2.0
    fiji = (176.0, -20.0, -178.0, -12.0)  # crosses the antimeridian: west > east
    assert degrees_outside(179.0, -17.0, fiji) == 0.0 and degrees_outside(-179.0, -17.0, fiji) == 0.0
    assert degrees_outside(174.0, -17.0, fiji) == 2.0
    assert degrees_outside(float("inf"), 0.0, utm1) == float("inf")


def test_lonlat_given_as_latlon_with_a_latitude_beyond_90_is_named_so(tmp_path):
    d = _moved(_lonlat_site(), lambda x, y: (y - 17.7, x + 141.2))  # Tokyo (139.8 E, 35.7 N) as [latitude, longitude]
    probs = _problems(tmp_path, d)
    assert probs[0] == ("parcels[0].geometry", "coordinates (35.67835, 139.79982) look like [latitude, longitude]: "
                        "read as [longitude, latitude], a latitude is beyond 90 degrees",
                        "give positions as [longitude, latitude] (x first), as GeoJSON does")
    assert not any("are not longitude/latitude degrees" in reason for _, reason, _ in probs)  # was: declare a projected CRS


def test_swapped_lonlat_reason_uses_the_currency_or_a_polar_latitude():
    """Both readings of a site within +-90 degrees are places: only a hint tells them apart."""
    from optimiser.inputs.crs import swapped_lonlat_reason

    zurich = [(8.50, 47.40), (8.51, 47.41)]
    swapped = [(y, x) for x, y in zurich]
    assert swapped_lonlat_reason(swapped, "CHF") == (
        "read as [longitude, latitude] the site is at lon/lat (47.40500, 8.50500), far from Switzerland and "
        "Liechtenstein, where its currency CHF is spent; read as [latitude, longitude] it would be at "
        "(8.50500, 47.40500), inside")
    assert swapped_lonlat_reason(zurich, "CHF") is None
    assert swapped_lonlat_reason(swapped, None) is None  # no hint: Ethiopia is a place too
    assert swapped_lonlat_reason(swapped, "GBP") is None  # the default currency is no hint
    assert swapped_lonlat_reason([(55.45, -20.88)], "EUR") is None  # Saint-Denis, Réunion: the euro abroad is fine
    assert swapped_lonlat_reason([(-9.14, 38.72)], "CHF") is None  # Lisbon with a Swiss budget: swapped is not Swiss
    kolkata = [(88.36, 22.57)]
    assert swapped_lonlat_reason(kolkata, None) is None
    assert swapped_lonlat_reason([(22.57, 88.36)], None) == (
        "read as [longitude, latitude] the site is at lon/lat (22.57000, 88.36000), beyond 75 degrees of latitude where "
        "hardly any workplace stands; read as [latitude, longitude] it would be at (88.36000, 22.57000)")
    # a real place of work in Svalbard (78 N): a currency that names an area decides, so kroner clear it;
    # without one the polar rule warns (a warning, not an error)
    longyearbyen = [(15.63, 78.22)]
    assert swapped_lonlat_reason(longyearbyen, "NOK") is None and swapped_lonlat_reason(longyearbyen, "EUR") is None
    assert swapped_lonlat_reason(longyearbyen, None) is not None


def test_a_swapped_site_is_a_sanity_warning_from_its_scenario_currency(tmp_path):
    from click.testing import CliRunner

    from optimiser.cli import cli

    to_zurich = (lambda x, y: (x + 9.9, y - 6.0))  # the tiny site's lon/lat moved to Zürich
    scen = {"format": "placemaking-scenario/1", "id": "zh", "site": "site.yaml", "currency": "CHF", "budget": 5_000_000,
            "facilities": [{"type": "workshop", "count": 1, "footprint_m2": 600, "cost": 2_000_000,
                            "candidate_spacing_m": 150}],
            "crossings": {"spacing_m": 0, "types": {}}, "solver": {"time_limit_s": 5}}
    _write(tmp_path / "scenario.yaml", scen)
    outputs = {}
    for name, fn in (("right", to_zurich), ("swapped", lambda x, y: to_zurich(x, y)[::-1])):
        _write(tmp_path / "site.yaml", _moved(_lonlat_site(), fn))
        r = CliRunner().invoke(cli, ["validate", str(tmp_path / "scenario.yaml")])
        assert r.exit_code == 0, r.output
        outputs[name] = r.output
    assert "lat_lon_swapped" not in outputs["right"]
    assert ("site.yaml: firms[0].location: warning [lat_lon_swapped]: read as [longitude, latitude] the site is at lon/lat "
            "(47.38" in outputs["swapped"])
    assert "far from Switzerland and Liechtenstein, where its currency CHF is spent" in outputs["swapped"]


def test_scenario_points_in_metres_for_a_lon_lat_site_say_so_and_what_to_do(tmp_path):
    """A scenario's existing point given in the working CRS's metres where the site is lon/lat:
    one problem saying the values look like metres in a projected CRS (here the site's own
    working_crs) and what to do, not "outside the area of use ... lon -180..180"."""
    from tests.sitefiles import E0, N0, scenario_dict

    _write(tmp_path / "site.yaml", _lonlat_site(working_crs="EPSG:27700"))
    scen = scenario_dict()
    scen["social_spaces"]["existing"] = [[E0 + 150, N0 + 150]]
    probs = validate_files([_write(tmp_path / "scenario.yaml", scen)])
    lonlat = format_xy(*Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(E0 + 150, N0 + 150), degrees=True)
    assert [(p.field, p.reason, p.hint) for p in probs] == [(
        "social_spaces.existing[0]",
        f"coordinates {format_xy(E0 + 150, N0 + 150)} look like metres in a projected CRS (they fit the site's working_crs "
        f"EPSG:27700, at lon/lat {lonlat}), "
        "but the site's crs EPSG:4326 is longitude/latitude degrees, and scenario positions are read in it",
        "give [longitude, latitude] as the site's own coordinates are, or give the whole site in that projected CRS "
        "and declare it as the site's crs, e.g. crs: EPSG:27700")]


def test_transit_stops_in_another_crs_are_refused_like_any_position(tmp_path):
    """Transit lines and their stops escaped the CRS checks: a GeoPackage reprojected to EPSG:4326
    in QGIS keeps its stops (JSON text) in metres, and a stop at [440300, 387100] read as lon/lat
    was a point at infinity (warning "lies inf m from its line", then an internal GEOS error in
    the run). Now one problem naming the stop, as for a firm."""
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    line = {"type": "LineString", "coordinates": [list(tr.transform(440000, 387100)), list(tr.transform(440600, 387100))]}
    good = _lonlat_site(transit=[{"id": "tram", "geometry": line,
                                  "stops": [{"id": "s1", "location": list(tr.transform(440300, 387100))}]}])
    assert _problems(tmp_path, good) == []
    bad = _lonlat_site(transit=[{"id": "tram", "geometry": line, "stops": [{"id": "s1", "location": [440300, 387100]}]}])
    assert _problems(tmp_path, bad) == [
        ("transit[0].stops[0].location", "coordinates [440300, 387100] are not longitude/latitude degrees but crs EPSG:4326 is "
         "geographic, while its line's own coordinates fit crs EPSG:4326",
         # the stop is wrong, not the crs: 'declare the projected CRS ..., e.g. crs: EPSG:27700' relabelled the whole site
         "give the stop's location in EPSG:4326, as its line is (in a GeoPackage or GeoJSON layer the stops are JSON text, "
         "which QGIS does not reproject when the layer is saved in another CRS)")]
    metres = {"type": "LineString", "coordinates": [[440000, 387100], [440600, 387100]]}
    bad_line = _lonlat_site(transit=[{"id": "tram", "geometry": metres}])
    assert [p[0] for p in _problems(tmp_path, bad_line)] == ["transit[0].geometry"]


# ---------------------------------------------------------------- s22: a projected CRS in feet


def _in_new_york_feet(data, dx=0.0):
    """The test site moved to Long Island (UTM 18N) and written in EPSG:2263, NAD83 / New York
    Long Island in US survey feet; ``dx`` metres added to the first firm's easting."""
    to_ft = Transformer.from_crs("EPSG:32618", "EPSG:2263", always_xy=True)
    moved = _moved(data, lambda x, y: to_ft.transform(x - 440000 + 600000, y - 387000 + 4510000))
    if dx:
        x, y = data["firms"][0]["location"]
        moved["firms"][0]["location"] = list(to_ft.transform(x - 440000 + 600000 + dx, y - 387000 + 4510000))
    moved["crs"] = "EPSG:2263"
    return moved


def test_site_in_us_survey_feet_is_worked_in_the_same_grid_in_metres(tmp_path):
    data = site_dict()
    site = read_site(_write(tmp_path / "ny.yaml", _in_new_york_feet(data)))
    assert site.crs == "EPSG:32118" and site.source_crs == "EPSG:2263"  # NAD83 / New York Long Island (metres)
    a, b = (f.location for f in site.firms[:2])
    (ax, ay), (bx, by) = (data["firms"][i]["location"] for i in (0, 1))
    # distances are metres again: the UTM layout's within the two grids' scale difference (< 0.1 %)
    assert a.distance(b) == pytest.approx(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5, rel=1e-3)
    assert site.barriers[0].width_m == data["barriers"][0]["width_m"]  # *_m fields stay metres


def test_site_span_in_feet_is_measured_in_metres(tmp_path):
    data = site_dict()
    ok = validate_files([_write(tmp_path / "ok.yaml", _in_new_york_feet(data, dx=20_000))])  # 21 km: 69,000 ft
    assert not ok, ok
    far = [str(p) for p in validate_files([_write(tmp_path / "far.yaml", _in_new_york_feet(data, dx=60_000))])]
    assert len(far) == 1 and "the site spans 60." in far[0] and "lies 59." in far[0], far


def test_working_crs_in_feet_is_refused_naming_its_metre_twin(tmp_path):
    data = _in_new_york_feet(site_dict())
    data["working_crs"] = "EPSG:2263"
    problems = [str(p) for p in validate_files([_write(tmp_path / "w.yaml", data)])]
    assert len(problems) == 1 and "working_crs: CRS 'EPSG:2263' is in US survey foot, not metres" in problems[0]
    assert "use EPSG:32118 (NAD83 / New York Long Island), the same grid in metres" in problems[0]


def test_state_plane_metres_and_feet_mixed_up_is_one_problem_naming_the_unit(tmp_path):
    feet = _in_new_york_feet(site_dict())
    as_metres = dict(feet, crs="EPSG:32118")  # US survey feet declared as the metre grid
    to_m = Transformer.from_crs("EPSG:2263", "EPSG:32118", always_xy=True)
    metres = dict(_moved(feet, to_m.transform), crs="EPSG:2263")  # metres declared as the feet grid
    for data, said, meant in ((as_metres, "EPSG:32118", "EPSG:2263"), (metres, "EPSG:2263", "EPSG:32118")):
        problems = _problems(tmp_path, data)
        assert len(problems) == 1, problems
        field, reason, hint = problems[0]
        assert field == "crs" and f"outside the area of use of crs {said}" in reason and f"inside that of {meant}" in reason
        assert hint.startswith(f"set crs: {meant} if the coordinates are in ")


def test_a_crs_copied_from_qgis_with_its_name_points_to_the_code(tmp_path):
    d = site_dict()
    d["crs"] = "EPSG:27700 - OSGB36 / British National Grid"  # QGIS's CRS selector and status bar
    d["working_crs"] = "EPSG:32630 - WGS 84 / UTM zone 30N"
    probs = validate_files([_write(tmp_path / "s.yaml", d)])
    assert [(p.field, p.reason, p.hint) for p in probs] == [
        ("crs", "unknown CRS 'EPSG:27700 - OSGB36 / British National Grid'",
         "did you mean 'EPSG:27700'? (QGIS shows a CRS as 'code - name': give the code alone)"),
        ("working_crs", "unknown CRS 'EPSG:32630 - WGS 84 / UTM zone 30N'",
         "did you mean 'EPSG:32630'? (QGIS shows a CRS as 'code - name': give the code alone)")]
