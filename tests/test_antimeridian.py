"""Lines and polygons across the antimeridian are cut there in layout.geojson (RFC 7946 3.1.9)
and joined again when a run directory is read back."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box, shape

from optimiser.present.antimeridian import crosses_antimeridian, cut_antimeridian, join_antimeridian
from optimiser.present.geojson import to_wgs84_geojson
from optimiser.present.layers import project_geojson


def _parts_coords(geom) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, c)) for c in g.coords] for g in geom.geoms]


def test_a_line_across_is_cut_at_180_with_the_latitude_halfway():
    cut = cut_antimeridian(LineString([(179.0, 10.0), (-179.0, 20.0)]))
    assert cut.geom_type == "MultiLineString"
    # 1 degree east to 180 of 2 in all: half the way from 10 to 20
    assert _parts_coords(cut) == [[(179.0, 10.0), (180.0, 15.0)], [(-180.0, 15.0), (-179.0, 20.0)]]


def test_a_line_crossing_westwards_and_back_gives_three_pieces():
    cut = cut_antimeridian(LineString([(-179.5, 0.0), (179.5, 2.0), (-179.5, 4.0)]))
    assert _parts_coords(cut) == [[(-179.5, 0.0), (-180.0, 1.0)], [(180.0, 1.0), (179.5, 2.0), (180.0, 3.0)],
                                  [(-180.0, 3.0), (-179.5, 4.0)]]


def test_the_cut_latitude_is_interpolated_not_split_evenly():
    # 0.25 degree to the meridian of 1 degree in all: a quarter of the way from 0 to 8
    cut = cut_antimeridian(LineString([(179.75, 0.0), (-179.25, 8.0)]))
    assert _parts_coords(cut) == [[(179.75, 0.0), (180.0, 2.0)], [(-180.0, 2.0), (-179.25, 8.0)]]


def test_a_polygon_across_becomes_two_with_the_hole_kept():
    ring = [(179.0, -1.0), (-179.0, -1.0), (-179.0, 1.0), (179.0, 1.0)]
    hole = [(179.5, -0.5), (179.5, 0.5), (-179.5, 0.5), (-179.5, -0.5)]
    cut = cut_antimeridian(Polygon(ring, [hole]))
    assert cut.geom_type == "MultiPolygon" and len(cut.geoms) == 2
    east, west = sorted(cut.geoms, key=lambda p: -p.bounds[0])
    assert east.bounds == (179.0, -1.0, 180.0, 1.0) and west.bounds == (-180.0, -1.0, -179.0, 1.0)
    # each half keeps half the hole: 2 x 1 degree less 0.5 x 1
    assert east.area == pytest.approx(1.5) and west.area == pytest.approx(1.5)
    assert east.equals(box(179.0, -1.0, 180.0, 1.0).difference(box(179.5, -0.5, 180.0, 0.5)))


def test_geometry_not_across_is_left_as_it_is():
    line = LineString([(-0.5, 51.0), (0.5, 51.0)])  # the Greenwich meridian is no cut
    near = LineString([(179.1, -17.0), (179.9, -17.1)])
    assert cut_antimeridian(line) is line and cut_antimeridian(near) is near
    assert cut_antimeridian(Point(180.0, 0.0)).equals(Point(180.0, 0.0))
    assert not crosses_antimeridian(MultiLineString([[(179.0, 0.0), (180.0, 0.0)], [(-180.0, 0.0), (-179.0, 0.0)]]))


def test_join_puts_the_pieces_back_as_one_past_180():
    line = join_antimeridian(cut_antimeridian(LineString([(179.0, 10.0), (-179.0, 20.0)])))
    assert line.geom_type == "LineString"
    assert [tuple(c) for c in line.coords] == [(179.0, 10.0), (180.0, 15.0), (181.0, 20.0)]
    poly = join_antimeridian(cut_antimeridian(Polygon([(179.0, -1.0), (-179.0, -1.0), (-179.0, 1.0), (179.0, 1.0)])))
    assert poly.geom_type == "Polygon" and poly.equals(box(179.0, -1.0, 181.0, 1.0))
    two = MultiLineString([[(10.0, 0.0), (11.0, 0.0)], [(12.0, 0.0), (13.0, 0.0)]])
    assert join_antimeridian(two) is two  # a MultiLineString of its own is kept


# a site straddling 180 degrees at 17.8 S (Fiji's Taveuni) in UTM zone 1S, metres
_UTM1S = "EPSG:32701"
_X180, _Y = Transformer.from_crs("EPSG:4326", _UTM1S, always_xy=True).transform(180.0, -17.8)


def test_layout_across_the_antimeridian_is_written_cut_and_read_back_whole():
    road = LineString([(_X180 - 500.0, _Y), (_X180 + 500.0, _Y)])
    parcel = box(_X180 - 300.0, _Y - 200.0, _X180 + 300.0, _Y + 200.0)
    feats = [{"type": "Feature", "geometry": road, "properties": {"layer": "barrier", "id": "road"}},
             {"type": "Feature", "geometry": parcel, "properties": {"layer": "parcel", "id": "p"}}]
    fc = to_wgs84_geojson(feats, _UTM1S)
    written = [shape(f["geometry"]) for f in fc["features"]]
    assert [g.geom_type for g in written] == ["MultiLineString", "MultiPolygon"]
    for g in written:
        for part in g.geoms:
            xy = shapely.get_coordinates(part)
            assert np.abs(np.diff(xy[:, 0])).max() < 1.0  # no segment the long way round
            assert (np.abs(xy[:, 0]) > 179.9).all()
        lons = shapely.get_coordinates(g)[:, 0]
        assert 180.0 in lons and -180.0 in lons
    # the two pieces of the road meet at one latitude on the meridian
    (east_end, west_start) = (written[0].geoms[0].coords[-1], written[0].geoms[1].coords[0])
    assert east_end[0] == 180.0 and west_start[0] == -180.0 and east_end[1] == west_start[1]
    assert east_end[1] == pytest.approx(-17.8, abs=1e-4)
    # read back in the site CRS: one road 1000 m long and one 600 x 400 m parcel again
    layout = project_geojson(fc, _UTM1S)
    back_road, back_parcel = (f.geometry for f in layout.features)
    assert back_road.geom_type == "LineString" and back_road.length == pytest.approx(1000.0, abs=0.05)
    assert back_parcel.geom_type == "Polygon" and back_parcel.area == pytest.approx(240_000.0, abs=5.0)
    assert back_parcel.hausdorff_distance(parcel) < 0.05  # coordinates rounded to 7 decimals (~1 cm)
