"""Rendered plans, distance maps, comparison and the CLI around them (issue 5).

Image checks that can fail: the plan is not blank; each chosen placement is drawn where the
run puts it (SVG element position and PNG pixel colour against the data->display transform
of the coordinates in metrics.json); labels do not cover placement symbols; the comparison
has one panel per run on one extent and one marker scale.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgb
from matplotlib.transforms import Bbox

from optimiser.cli import cli
from optimiser.present import distance, figure, plan, style
from optimiser.present.compare import best_indices, compare_figure, compare_runs
from optimiser.present.labels import Labeler, renderer
from optimiser.present.metrics import RunMetrics
from optimiser.present.rundir import load_run, render_run
from tests.runfixture import make_run_dir

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    run = make_run_dir(tmp_path_factory.mktemp("run") / "baseline", variant=0)
    render_run(run)
    return run


@pytest.fixture(scope="module")
def run_pair(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    return [make_run_dir(base / "a", variant=0), make_run_dir(base / "b", variant=1)]


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _placements(run: Path) -> dict[str, tuple[float, float]]:
    """Expected positions (metres) of every chosen placement symbol, by SVG id."""
    m = _metrics(run)
    out = {f"facility-{p['id']}": (p["x"], p["y"]) for p in m["placements"]["shared_facilities"]}
    out.update({f"social-{p['id']}": (p["x"], p["y"]) for p in m["placements"]["social_spaces"]})
    data = load_run(run)
    for f in data.layout.layer("crossing"):  # crossings are lines: the symbol sits at the midpoint
        mid = f.geometry.interpolate(0.5, normalized=True)
        out[f"crossing-{f.id}"] = (mid.x, mid.y)
    assert len(out) == 3
    return out


def _svg_use_xy(svg: Path, gid: str) -> tuple[float, float]:
    root = ET.parse(svg).getroot()
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("id") == gid:
            uses = list(g.iter(f"{SVG_NS}use"))
            assert uses, f"{gid}: no marker element"
            return float(uses[0].get("x")), float(uses[0].get("y"))
    raise AssertionError(f"no SVG element with id {gid!r}")


# ------------------------------------------------------------------ files and pixels
def test_render_writes_all_files(rendered: Path) -> None:
    for name in ("plan.png", "plan.svg", "distance.png", "distance.svg", "report.html"):
        assert (rendered / name).stat().st_size > 1000, name


def test_plan_png_is_not_blank(rendered: Path) -> None:
    img = mpimg.imread(rendered / "plan.png")[..., :3]
    assert img.shape[0] > 1000 and img.shape[1] > 1500  # ~150 dpi
    non_bg = np.mean(np.any(img < 0.97, axis=-1))
    assert non_bg > 0.3, f"only {non_bg:.1%} of the plan is drawn"
    assert img.std() > 0.08
    # several distinct colours (parcels, barrier, placements), not a one-colour fill
    q = (img[::3, ::3] * 15).round().astype(int)
    codes = np.unique(q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2])
    assert len(codes) > 40


def test_distance_png_is_not_blank(rendered: Path) -> None:
    img = mpimg.imread(rendered / "distance.png")[..., :3]
    assert np.mean(np.any(img < 0.97, axis=-1)) > 0.3
    # the diverging colormap is used: some strongly blue firm (shorter walk) exists
    blue = (img[..., 2] > 0.35) & (img[..., 0] < 0.15) & (img[..., 1] < 0.3)
    assert blue.sum() > 100


def test_placements_drawn_where_the_run_puts_them(rendered: Path) -> None:
    data = load_run(rendered)
    fig = plan.plan_figure(data)
    ax = fig.axes[0]
    scale = 72.0 / fig.dpi  # the SVG is in points
    height_px = fig.bbox.height
    img = mpimg.imread(rendered / "plan.png")[..., :3]
    colours = {"facility": style.FACILITY_C, "social": style.SOCIAL_C, "crossing": style.CROSSING_C}
    for gid, xy in _placements(rendered).items():
        px, py = ax.transData.transform(xy)
        # inside the map
        assert ax.bbox.contains(px, py), gid
        sx, sy = _svg_use_xy(rendered / "plan.svg", gid)
        assert abs(sx - px * scale) < 2.0 and abs(sy - (height_px - py) * scale) < 2.0, (
            gid, (sx, sy), (px * scale, (height_px - py) * scale))
        # PNG: the pixel at the symbol centre has the symbol's colour
        row, col = int(round(height_px - py)), int(round(px))
        patch = img[row - 1: row + 2, col - 1: col + 2].reshape(-1, 3)
        want = np.array(to_rgb(colours[gid.split("-")[0]]))
        assert np.min(np.abs(patch - want).sum(axis=1)) < 0.12, (gid, patch.mean(axis=0), want)


def test_placements_move_with_the_run(synthetic_run) -> None:
    """A different run draws its facility somewhere else (the check above is not vacuous)."""
    a = synthetic_run("a", variant=0)
    b = synthetic_run("b", variant=1)
    render_run(a)
    render_run(b)
    fa = _svg_use_xy(a / "plan.svg", "facility-sf1")
    fb = _svg_use_xy(b / "plan.svg", "facility-sf1")
    assert np.hypot(fa[0] - fb[0], fa[1] - fb[1]) > 30


def test_labels_do_not_cover_placements_or_each_other(rendered: Path) -> None:
    data = load_run(rendered)
    fig = plan.plan_figure(data)
    ax = fig.axes[0]
    r = renderer(fig)
    symbols = {a.get_gid(): a.get_window_extent(r) for a in ax.get_lines()
               if a.get_gid() and re.match(r"(facility|social|crossing)-[^-]+$", a.get_gid())}
    assert set(symbols) == set(_placements(rendered))
    labels = [t for t in ax.texts if t.get_gid() and t.get_gid().startswith("label-")]
    assert len(labels) >= 3 + 6  # three placements, six firms
    boxes = []
    for t in labels:
        bb = t.get_window_extent(r)
        for gid, sb in symbols.items():
            assert not bb.overlaps(sb), f"label {t.get_text()!r} covers {gid}"
        assert ax.bbox.contains(bb.x0, bb.y0) and ax.bbox.contains(bb.x1, bb.y1), t.get_text()
        boxes.append((t.get_text(), bb))
    for i, (ta, ba) in enumerate(boxes):
        for tb, bb in boxes[i + 1:]:
            assert not ba.overlaps(bb), f"labels overlap: {ta!r} / {tb!r}"


def test_labeler_avoids_a_crowded_spot() -> None:
    """Unit check of the repel routine: with the east side blocked, the label goes elsewhere."""
    fig = figure.new_figure((4, 4), 100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    lab = Labeler(ax)
    lab.add_symbol((50, 50), 5)
    x, y = ax.transData.transform((50, 50))
    blocker = Bbox.from_extents(x + 5, y - 40, x + 200, y + 40)
    lab.add_box(blocker)
    lab.request("Some label", (50, 50), 5)
    (ann,) = lab.place()
    bb = ann.get_window_extent(renderer(fig))
    assert not bb.overlaps(blocker)
    assert not bb.overlaps(lab.marker_box((50, 50), 5))


def _with_holed_amp(run_dir: Path):
    """The run with its buildable ``amp`` parcel given a 140 m x 110 m courtyard, both rings wound
    anticlockwise (as a site file may give them: GeoJSON's winding rule is a should, not a must)."""
    import dataclasses

    from shapely.geometry import Polygon

    from optimiser.present.layers import Layout

    run = load_run(run_dir)
    hole = [(440500, 388110), (440640, 388110), (440640, 388220), (440500, 388220)]
    amp = Polygon([(440450, 388080), (441550, 388080), (441550, 388480), (440450, 388400)], [hole])
    assert amp.exterior.is_ccw and amp.interiors[0].is_ccw
    feats = [dataclasses.replace(f, geometry=amp) if f.layer == "parcel" and f.id == "amp" else f
             for f in run.layout.features]
    return dataclasses.replace(run, layout=Layout(feats, run.layout.crs))


def test_plan_draws_a_parcels_hole_as_a_hole(rendered: Path) -> None:
    """The courtyard's centre shows the map background, not the buildable plot's yellow (the
    rings were filled under the non-zero rule with the hole wound like its exterior)."""
    run = _with_holed_amp(rendered)
    fig = plan.plan_figure(run)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    ax = fig.axes[0]
    height = fig.bbox.height

    def pixel(xy: tuple[float, float]) -> np.ndarray:
        px, py = ax.transData.transform(xy)
        return img[int(round(height - py)), int(round(px))]

    hole_centre, body = pixel((440570, 388165)), pixel((440800, 388120))
    assert np.abs(hole_centre - np.array(to_rgb(style.MAP_BACKGROUND))).max() < 0.02, hole_centre
    assert np.abs(body - np.array(to_rgb(style.parcel_style("buildable").fc))).max() < 0.05, body


def test_polygon_rings_wind_holes_against_their_exterior() -> None:
    """One way of drawing a polygon for every map: the plan's path and the report's SVG path."""
    from shapely.geometry import LinearRing, Polygon

    from optimiser.present.interactive import _Svg
    from optimiser.present.layers import polygon_rings

    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    hole = [(4, 4), (6, 4), (6, 6), (4, 6)]
    for outer, inner in ((square, hole), (square[::-1], hole[::-1]), (square, hole[::-1])):
        rings = polygon_rings(Polygon(outer, [inner]))
        assert [LinearRing(r).is_ccw for r in rings] == [True, False]
        path = figure.poly_path(Polygon(outer, [inner]))
        assert path is not None and np.array_equal(path.vertices, np.concatenate(rings))
        d = _Svg((0, 0, 10, 10)).path_d(Polygon(outer, [inner]))
        svg_rings = [[tuple(map(float, xy.split(","))) for xy in part.rstrip("Z").split("L")]
                     for part in d.split("M")[1:]]
        # SVG's y is flipped, so both windings flip: still opposite to each other
        assert [LinearRing(r).is_ccw for r in svg_rings] == [False, True]


def _newly_connected_metrics(rendered: Path) -> RunMetrics:
    """The run's metrics as if 2 of its 3 pairs had no walk before (the split site of
    tests/test_cli_run.py: 200 m -> 200 m over the one pair connected before; 563.3 m after
    for the two the footbridge connects)."""
    m = _metrics(rendered)
    m["walk"].update(pairs=3, pairs_compared=1, pairs_unreachable_before=2, pairs_unreachable_after=0,
                     pairs_newly_connected=2, newly_connected_weighted_mean_m=563.3, baseline_weighted_mean_m=200.0,
                     optimised_weighted_mean_m=200.0, reduction_pct=0.0)
    m["walk"]["cross_barrier"] = {"pairs": 2, "baseline_weighted_mean_m": None, "optimised_weighted_mean_m": None,
                                  "reduction_pct": None, "pairs_newly_connected": 2, "newly_connected_weighted_mean_m": 563.3}
    return RunMetrics.from_json_dict(m)


def test_plan_title_says_which_pairs_are_newly_connected(rendered: Path) -> None:
    _, line = plan.plan_title(_newly_connected_metrics(rendered))
    assert line.startswith("Weighted mean walk (1 pair connected before) 200 m → 200 m (no change) · "
                           "2 of 3 firm pairs newly connected (mean walk 563 m) · capital "), line
    # a run that connects nothing new keeps its title
    _, same = plan.plan_title(RunMetrics.from_json_dict(_metrics(rendered)))
    assert "newly" not in same and same.startswith("Weighted mean walk 1,003 m → 752 m (−25.1%) · capital")
    # every pair newly connected: no before to compare, only the new walks
    m = _newly_connected_metrics(rendered).model_copy(deep=True)
    m.walk.pairs_compared, m.walk.pairs_newly_connected = 0, 3
    m.walk.baseline_weighted_mean_m = m.walk.optimised_weighted_mean_m = m.walk.reduction_pct = None
    assert plan.plan_title(m)[1].startswith("3 of 3 firm pairs newly connected (mean walk 563 m) · capital")


def test_report_counts_the_newly_connected_pairs(rendered: Path) -> None:
    from optimiser.present.report import metrics_table, summary_cards

    m = _newly_connected_metrics(rendered)
    cards = {c.key: c for c in summary_cards(m)}
    assert cards["Reduction"].value == "0.0%" and cards["Reduction"].sub == "over the 1 of 3 firm pairs connected before"
    assert cards["Newly connected"].value == "2 of 3 pairs"
    assert cards["Newly connected"].sub == "no walk before; mean walk after 563 m"
    rows = [[c.text for c in row] for row in metrics_table(m).rows]
    assert rows[0] == ["Weighted mean walk between firms (1 pair connected before)", "200 m", "200 m"]
    assert ["Weighted mean walk of the firm pairs newly connected (2 of 3)", "no walk", "563 m"] in rows
    assert ["Weighted mean walk across a barrier (2 pairs; 2 newly connected, not in this mean)", "–", "–"] in rows
    assert "Newly connected" not in {c.key for c in summary_cards(RunMetrics.from_json_dict(_metrics(rendered)))}


def test_title_and_illustrative_note(rendered: Path) -> None:
    svg = (rendered / "plan.svg").read_text()
    assert "Baseline: Parkway only" in svg
    assert "1,003 m → 752 m" in svg and "25.1%" in svg and "£2.55m" in svg and "gap 0.0%" in svg
    assert 'id="illustrative-note"' in svg
    m = _metrics(rendered)
    m["site"]["illustrative"] = False
    fig = figure.new_figure()
    ax = fig.add_axes(style.MAP_RECT)
    plan.draw_plan(ax, load_run(rendered).layout, RunMetrics.from_json_dict(m))
    assert not any(t.get_gid() == "illustrative-note" for t in ax.texts)


def test_draw_plan_accepts_raw_geojson_and_returns_figure(rendered: Path) -> None:
    fc = json.loads((rendered / "layout.geojson").read_text())
    fig = figure.new_figure()
    ax = fig.add_axes(style.MAP_RECT)
    out = plan.draw_plan(ax, fc, RunMetrics.from_json_dict(_metrics(rendered)), extent=(440000, 388000, 442000, 389200), title=False)
    assert out is fig
    x0, x1 = ax.get_xlim()
    assert x0 <= 440000 and x1 >= 442000


def test_load_run_projects_to_site_crs(rendered: Path) -> None:
    data = load_run(rendered)
    assert data.crs == "EPSG:27700"
    firms = {f.id: f.geometry for f in data.layout.layer("firm")}
    for row in data.firms:
        g = firms[row["firm"]]
        assert abs(g.x - row["x"]) < 0.05 and abs(g.y - row["y"]) < 0.05
    assert len(data.pairs) == 15 and isinstance(data.pairs[0]["before_m"], float)


def test_distance_map_kinds(rendered: Path) -> None:
    data = load_run(rendered)
    ch = distance.firm_change_values(data, data.metrics, "change")
    assert ch["mclaren"] < 0 and ch["f2050"] == 0
    pairs = distance.firm_change_values(data, data.metrics, "pairs")
    assert set(pairs) == set(ch)
    fig = figure.new_figure()
    ax = fig.add_axes((0.05, 0.05, 0.7, 0.85))
    distance.draw_distance_map(ax, data, data.metrics, kind="pairs")
    with pytest.raises(ValueError):
        distance.draw_distance_map(ax, data, data.metrics, kind="bogus")


def test_distance_legend_names_grey_firms_only_when_one_is_drawn(rendered: Path) -> None:
    """'Firm (no value)' was in every distance map's legend, though every firm had a value."""
    data = load_run(rendered)

    def labels(metrics: RunMetrics) -> list[str]:
        fig = figure.new_figure()
        ax = fig.add_axes((0.05, 0.05, 0.6, 0.85))
        distance.draw_distance_map(ax, data, metrics, kind="pairs")
        legend = ax.get_legend()
        return [t.get_text() for t in legend.get_texts()] if legend is not None else []

    assert set(distance.firm_change_values(data, data.metrics, "pairs")) == {f.id for f in data.layout.layer("firm")}
    assert "Firm (no value)" not in labels(data.metrics)
    unsolved = data.metrics.model_copy(deep=True)
    unsolved.status = type(unsolved.status)("infeasible")  # no layout: every firm grey
    assert "Firm (no value)" in labels(unsolved)


def test_distance_map_says_newly_connected_pairs_are_in_no_value(rendered: Path) -> None:
    """A generated site (seed 16) where 336 pairs had no walk before: the map read 'no change'
    beside firms whose only gains were those new walks, and did not say they were left out."""
    data = load_run(rendered)

    def title(metrics: RunMetrics) -> str:
        fig = figure.new_figure()
        ax = fig.add_axes((0.05, 0.05, 0.6, 0.8))
        distance.draw_distance_map(ax, data, metrics, kind="pairs")
        return ax.get_title(loc="left")

    assert "newly connected" not in title(data.metrics)
    assert title(_newly_connected_metrics(rendered)).endswith(
        "\n2 firm pairs are newly connected (no walk before): in no firm's value.")


def test_missing_file_is_named(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "r")
    (run / "layout.geojson").unlink()
    from optimiser.errors import FileReadError

    with pytest.raises(FileReadError, match="layout.geojson"):
        load_run(run)


# ------------------------------------------------------------------ report
def test_report_is_self_contained_and_escaped(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    assert "&lt;with markup &amp; ampersands&gt;" in html and "<with markup" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    # url(#id) names a pattern inside the page (the hatches of the interactive plan); nothing else
    assert "@import" not in html and not re.search(r"url\((?!#[\w-]+\))", html)
    for tid in ("metrics-table", "placements-table", "pairs-table", "certificate-table", "checks-table"):
        assert f'id="{tid}"' in html
    assert html.count("data:image/png;base64,") == 2
    assert "optimal" in html and "cpsat" in html


# ------------------------------------------------------------------ compare
def test_compare_one_panel_per_run_same_extent_and_scales(run_pair: list[Path], tmp_path: Path) -> None:
    runs = [*run_pair, make_run_dir(tmp_path / "c", variant=2)]
    png, html = compare_runs(runs, tmp_path / "cmp")
    svg = (tmp_path / "cmp" / "compare.svg").read_text()
    assert len(set(re.findall(r'id="compare-plan-(\d+)"', svg))) == len(runs)
    assert len(set(re.findall(r'id="compare-distance-(\d+)"', svg))) == len(runs)
    img = mpimg.imread(png)[..., :3]
    assert np.mean(np.any(img < 0.97, axis=-1)) > 0.25

    data = [load_run(r) for r in runs]
    fig, plans, dists = compare_figure(data)
    assert len(plans) == len(dists) == len(runs)
    lims = {(ax.get_xlim(), ax.get_ylim()) for ax in plans + dists}
    assert len(lims) == 1, "panels do not share one extent"
    # the same firm is drawn at the same marker size in every panel
    sizes = {ax.get_gid(): {ln.get_gid(): ln.get_markersize() for ln in ax.get_lines()
                            if (ln.get_gid() or "").endswith("firm-amrc")} for ax in plans}
    assert len({tuple(v.values()) for v in sizes.values()}) == 1
    # the same colour limits on every distance map
    norms = {(ax._siteopt_norm.vmin, ax._siteopt_norm.vmax) for ax in dists}
    assert len(norms) == 1

    text = html.read_text()
    assert 'id="compare-table"' in text and "★" in text
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", text)


def test_compare_marks_best_per_row(run_pair: list[Path], tmp_path: Path) -> None:
    _, html = compare_runs(run_pair, tmp_path / "cmp")
    text = html.read_text()
    m0, m1 = _metrics(run_pair[0]), _metrics(run_pair[1])
    # variant 0 walks less and is proven optimal; variant 1 is cheaper
    assert m0["walk"]["optimised_weighted_mean_m"] < m1["walk"]["optimised_weighted_mean_m"]
    row = re.search(r"Weighted mean walk after</th>(.*?)</tr>", text, re.S).group(1)
    cells = re.findall(r"<td.*?</td>", row, re.S)
    assert "★" in cells[0] and "★" not in cells[1]
    row = re.search(r"Capital cost</th>(.*?)</tr>", text, re.S).group(1)
    cells = re.findall(r"<td.*?</td>", row, re.S)
    assert "★" not in cells[0] and "★" in cells[1]
    assert best_indices([3.0, 1.0, 1.0], True) == {1, 2}
    assert best_indices([3.0, None, 5.0], False) == {2}
    assert best_indices([None, None], True) == set()
    assert best_indices([1, 2], None) == set()


# ------------------------------------------------------------------ CLI
def test_cli_render_recreates_files(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "r")
    before = (run / "metrics.json").read_bytes()
    res = CliRunner().invoke(cli, ["render", str(run)])
    assert res.exit_code == 0, res.output
    written = json.loads(res.stdout)["written"]
    assert {Path(p).name for p in written} == {"plan.png", "plan.svg", "distance.png", "distance.svg",
                                               "report.html"}
    for name in ("plan.png", "report.html"):
        (run / name).unlink()
    res = CliRunner().invoke(cli, ["render", str(run)])
    assert res.exit_code == 0
    assert (run / "plan.png").is_file() and (run / "report.html").is_file()
    assert (run / "metrics.json").read_bytes() == before


def test_cli_render_missing_metrics_exits_2(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "r")
    (run / "metrics.json").unlink()
    res = CliRunner().invoke(cli, ["render", str(run)])
    assert res.exit_code == 2
    assert "metrics.json" in res.stderr and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["render", str(tmp_path / "nowhere")])
    assert res.exit_code == 2


def test_cli_compare_exit_codes(run_pair: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", *map(str, run_pair), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert {Path(p).name for p in json.loads(res.stdout)["written"]} >= {"compare.png", "compare.html"}
    res = CliRunner().invoke(cli, args)  # now non-empty
    assert res.exit_code == 2 and "--overwrite" in res.stderr
    res = CliRunner().invoke(cli, args + ["--overwrite"])
    assert res.exit_code == 0
    res = CliRunner().invoke(cli, ["compare", str(run_pair[0]), "--out", str(tmp_path / "one")])
    assert res.exit_code == 2
    bad = tmp_path / "notarun"
    bad.mkdir()
    res = CliRunner().invoke(cli, ["compare", str(run_pair[0]), str(bad), "--out", str(tmp_path / "c2")])
    assert res.exit_code == 2 and "metrics.json" in res.stderr


def test_cli_compare_refuses_the_same_run_twice(run_pair: list[Path], tmp_path: Path) -> None:
    """The same folder twice: refused with exit 2 naming both, nothing written (it was compared with
    itself, marked best on every row under one title twice). A copy: test_rundir_guards."""
    out = tmp_path / "cmp"
    res = CliRunner().invoke(cli, ["compare", str(run_pair[0]), str(run_pair[1]), str(run_pair[0]), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (f"siteopt compare: {run_pair[0]}: run_id: is the same run as {run_pair[0]} "
                                  "(the same folder, run without an id) (give each run once: compare different runs)")
    assert not out.exists() or not any(out.iterdir())
    res = CliRunner().invoke(cli, ["compare", str(run_pair[0]), str(run_pair[1]), "--out", str(out)])  # still compare
    assert res.exit_code == 0, res.output


def test_compare_built_row_names_the_transit_stops_a_run_built(run_pair: list[Path], tmp_path: Path) -> None:
    """A transit run's new stops (and its crossings) are what it built: the Built row said "nothing"
    for the AMP-SBP tram run that built three stops for £2.40m."""
    from optimiser.present.compare import built_text

    m = _metrics(run_pair[0])
    m["placements"] = {"shared_facilities": [], "social_spaces": [], "crossings": []}
    m["attribution"] = [{"id": "stop:47", "name": "stop 47 on tram-amp", "kind": "transit_stop", "cost": 800000.0}]
    stop = {"line": "tram-amp", "x": 440242.7, "y": 389375.4, "cost": 800000.0}
    m["transit"] = {"objective": "max_coverage", "catchment_m": 400.0, "capital": 1600000.0, "crossings": ["x-7"],
                    "stops": [{**stop, "id": "stop:47", "name": "Supertram stop 47"},
                              {**stop, "id": "stop:61", "name": "Supertram stop 61"}],
                    "existing_stops": [{**stop, "id": "tinsley", "name": "Tinsley", "cost": 0.0, "existing": True}]}
    # stop 47 by the transit section's name, as the report names it, not the attribution's generated label
    assert built_text(RunMetrics.from_json_dict(m)) == "Supertram stop 47; Supertram stop 61; x-7"
    del m["transit"]
    assert built_text(RunMetrics.from_json_dict(m)) == "nothing"


def test_render_refuses_a_layout_missing_what_metrics_says_was_built(tmp_path: Path) -> None:
    """A layout.geojson with a built crossing deleted was drawn without it beside a report counting
    it; now exit 2 naming the file, the placement and what to do."""
    run = make_run_dir(tmp_path / "run")
    fc = json.loads((run / "layout.geojson").read_text())
    fc["features"] = [f for f in fc["features"] if f["properties"].get("id") != "c2"]
    (run / "layout.geojson").write_text(json.dumps(fc))
    res = CliRunner().invoke(cli, ["render", str(run)])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (f"siteopt render: {run / 'layout.geojson'}: features: lacks 1 of the 1 new crossing "
                                  "placements of metrics.json (c2): the file was cut short or edited "
                                  "(re-run `siteopt run --overwrite` to write the directory whole)")
    assert not (run / "plan.png").exists()
    fc = json.loads((make_run_dir(tmp_path / "whole") / "layout.geojson").read_text())
    for f in fc["features"]:  # features without ids (an earlier writer): nothing to match, still drawn
        f["properties"].pop("id", None)
    (run / "layout.geojson").write_text(json.dumps(fc))
    assert [len(load_run(run).layout.layer(k)) for k in ("facility", "social_space", "crossing")] == [1, 1, 1]


def test_compare_titles_runs_of_one_scenario_by_their_folder(run_pair: list[Path], tmp_path: Path) -> None:
    """Two runs of one scenario (say two seeds) had the same column and panel title; each now
    names its folder too, and a run of another scenario keeps its plain name."""
    seed1 = make_run_dir(tmp_path / "seed1", variant=2)  # the scenario of run_pair[0], another run
    _, html = compare_runs([run_pair[0], seed1, run_pair[1]], tmp_path / "cmp")
    head = re.search(r'<table id="compare-table".*?</tr>', html.read_text(), re.S).group(0)
    assert [re.sub(r"<.*?>", "", h).strip() for h in re.findall(r"<th.*?</th>", head, re.S)] == [
        "Metric", "Baseline: Parkway only (a)", "Baseline: Parkway only (seed1)", "HS2 2013 corridor active"]
    svg = (tmp_path / "cmp" / "compare.svg").read_text()
    assert "Baseline: Parkway only (seed1)" in svg and "Baseline: Parkway only (a)" in svg
    assert load_run(seed1).name == "Baseline: Parkway only"  # a run read alone keeps the scenario's name


def test_wrong_type_in_metrics_names_file_and_field(tmp_path: Path) -> None:
    from optimiser.errors import FileReadError

    run = make_run_dir(tmp_path / "r")
    m = _metrics(run)
    m["walk"]["pairs"] = "fifteen"
    (run / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(FileReadError) as info:
        load_run(run)
    (problem,) = info.value.problems
    assert problem.file.endswith("metrics.json") and problem.field == "walk.pairs"
    # says what happened and what to do, not pydantic's sentence alone
    assert problem.reason.startswith("input should be a valid integer") and "the file was edited or damaged" in problem.reason
    assert problem.hint == "re-run `siteopt run --overwrite` to write the directory whole"
    res = CliRunner().invoke(cli, ["render", str(run)])
    assert res.exit_code == 2 and "walk.pairs" in res.stderr


def test_names_the_plan_font_cannot_draw_are_found_and_not_warned_per_glyph():
    """Latin with accents draws; emoji do not (DejaVu Sans, and no CJK font has them), CJK only
    with a CJK font installed: said once per run by the renderer, not as matplotlib's per-glyph
    warnings with source paths on stderr."""
    import subprocess
    import sys

    from optimiser.present.figure import names_without_glyphs

    cjk = len(style.font_families()) > 1
    assert names_without_glyphs(["Müller GmbH – Rotherham", "株式会社", "works 🏭", "AMRC"]) == (
        ["works 🏭"] if cjk else ["株式会社", "works 🏭"])
    script = ("import io\nimport optimiser.present.figure\nfrom matplotlib.figure import Figure\n"
              "fig = Figure(); fig.text(0.5, 0.5, '株式会社 🏭'); fig.savefig(io.BytesIO(), format='png')\n")
    r = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Glyph" not in r.stderr, r.stderr


def test_font_families_name_only_fonts_matplotlib_has():
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    fams = style.font_families()
    assert fams[0] == "DejaVu Sans" and set(fams) <= have and len(fams) <= 2
    assert style.text_rc()["font.family"] == list(fams)


def test_a_chinese_or_japanese_firm_name_draws_in_the_cjk_font(rendered: Path) -> None:
    """With a CJK font installed (Debian fonts-noto-cjk, as .ci/run installs), a firm named in
    Chinese or Japanese is drawn in it on the plan: no glyph is missing (matplotlib would warn for
    each and draw a box), and two different characters draw differently (boxes are all alike)."""
    import warnings

    from matplotlib import font_manager

    if not {f.name for f in font_manager.fontManager.ttflist} & set(style.CJK_FONTS):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    run = load_run(rendered)
    for f in run.layout.layer("firm")[:2]:
        f.props["name"] = "株式会社トヨタ" if f.props["name"].startswith("AMRC") else "北京精密机械有限公司"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # figure.py ignores the per-glyph warning: here it is wanted
        fig = plan.plan_figure(run)
        figure.figure_png(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert any("株式会社トヨタ" in t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text")))

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def drawn(char: str) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import matplotlib

            with matplotlib.rc_context(style.text_rc()):
                f = Figure(figsize=(0.5, 0.5), dpi=100)
                canvas = FigureCanvasAgg(f)
                f.text(0.1, 0.2, char, fontsize=20)
                canvas.draw()
                return np.asarray(canvas.buffer_rgba())[..., 0].copy()

    assert (drawn("株") != drawn("京")).any()


def test_notebook_thumbnail_keeps_a_parcels_hole(rendered: Path) -> None:
    """The Jupyter drawing of a layout fills parcels with the plan's path (hole included)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch
    from shapely.geometry import LinearRing

    from optimiser.present.notebook import draw_layout_features

    run = _with_holed_amp(rendered)
    ax = Figure().add_subplot()
    draw_layout_features(ax, run.layout.features)
    rings = [p.get_path().to_polygons(closed_only=True) for p in ax.patches if isinstance(p, PathPatch)]
    holed = [r for r in rings if len(r) == 2]
    assert len(holed) == 1 and [LinearRing(r).is_ccw for r in holed[0]] == [True, False]


def _without_facilities_before(rendered: Path, into: Path) -> Path:
    """A copy of the synthetic run as on a site with no shared facility before: every facility
    walk before is missing (None in layout.geojson, empty in firms.csv)."""
    import csv
    import shutil

    run = into / "no_facilities_before"
    shutil.copytree(rendered, run)
    fc = json.loads((run / "layout.geojson").read_text())
    for f in fc["features"]:
        if f["properties"].get("layer") == "facility_walk":
            f["properties"]["before_m"] = None
    (run / "layout.geojson").write_text(json.dumps(fc))
    with (run / "firms.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["facility_walk_before_m"] = ""
    with (run / "firms.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return run


def test_distance_map_without_facilities_before_shows_pairs_as_the_figure_does(rendered: Path, tmp_path: Path) -> None:
    from optimiser.present.layers import firm_numbers

    data = load_run(_without_facilities_before(rendered, tmp_path))
    assert distance.firm_change_values(data, data.metrics, "change") == {}
    pairs = distance.firm_change_values(data, data.metrics, "pairs")
    assert len(pairs) == 6 and pairs["mclaren"] < -1
    assert distance.distance_values(data, data.metrics) == ("pairs", pairs)
    numbers = firm_numbers(data.layout)
    drawn = {}
    for maker in ("draw_distance_map", "distance_figure"):
        if maker == "draw_distance_map":
            fig = figure.new_figure()
            ax = fig.add_axes((0.05, 0.05, 0.6, 0.85))
            distance.draw_distance_map(ax, data, data.metrics)  # default kind="change"
        else:
            fig = distance.distance_figure(data)
            ax = next(a for a in fig.axes if a.get_gid() == "distance")
        fig.canvas.draw()
        texts = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("dist-label-firm-")}
        assert not any("n/a" in t for t in texts.values()), texts
        for fid, v in pairs.items():
            if abs(v) >= 0.5:
                want = f"{numbers[fid]}: {v:+,.0f} m".replace("-", "−")
                assert texts[f"dist-label-firm-{fid}"] == want
        lim = max(abs(v) for v in pairs.values())
        assert ax._siteopt_norm.vmin == pytest.approx(-lim) and ax._siteopt_norm.vmax == pytest.approx(lim)
        (cax,) = ax.child_axes
        assert cax.get_ylabel() == distance.DISTANCE_LABELS["pairs"]
        assert "weighted mean walk to the other firms" in ax.get_title(loc="left")
        drawn[maker] = texts
    assert drawn["draw_distance_map"] == drawn["distance_figure"]


def test_compare_keeps_one_kind_on_its_shared_scale(rendered: Path, tmp_path: Path) -> None:
    """A comparison draws every distance panel in the kind its one colour scale is for: a run
    without facility walks before stays "n/a" under "change", not its pair changes on that scale."""
    from optimiser.present.layers import firm_numbers

    with_fac = load_run(rendered)
    without = load_run(_without_facilities_before(rendered, tmp_path))
    assert distance.distance_values(without, without.metrics, fallback=False) == ("change", {})
    fig, _, dists = compare_figure([with_fac, without])
    fig.canvas.draw()
    numbers = firm_numbers(without.layout)
    labels = [{t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith(f"run{i}-dist-label-firm-")}
              for i, ax in enumerate(dists)]
    assert labels[0] and not any("n/a" in t for t in labels[0].values())
    assert labels[1] and all(t == f"{numbers[k.rsplit('firm-', 1)[1]]}: n/a" for k, t in labels[1].items()), labels[1]


def test_distance_map_with_no_values_warns(rendered: Path, tmp_path: Path, caplog) -> None:
    data = load_run(_without_facilities_before(rendered, tmp_path))
    fig = figure.new_figure()
    ax = fig.add_axes((0.05, 0.05, 0.6, 0.85))
    with caplog.at_level("WARNING", logger="optimiser.present.distance"):
        distance.draw_distance_map(ax, data.layout, data.metrics)  # a layout: no pairs to fall back on
    assert "no firm has a value for the distance map" in caplog.text


def test_compare_names_every_broken_run_directory_at_once(run_pair: list[Path], tmp_path: Path) -> None:
    """A missing metrics.json, a corrupt one and a directory mixing two runs' files are three
    problems in one message (compare had stopped at the first directory)."""
    import shutil

    missing, corrupt, mixed = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    missing.mkdir()
    shutil.copytree(run_pair[0], corrupt)
    (corrupt / "metrics.json").write_text('{"status": "optimal"\n"x": 1}')
    shutil.copytree(run_pair[0], mixed)  # metrics.json of another run (one with a run id) among these files
    (mixed / "metrics.json").write_text(json.dumps({**_metrics(run_pair[0]), "run_id": "20261205T092256Z-4efeb558"}))
    res = CliRunner().invoke(cli, ["compare", str(missing), str(corrupt), str(mixed), str(run_pair[1]),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 3, lines
    assert f"{missing}/metrics.json: (file): missing file: {missing} is not a run directory" in lines[0]
    assert f"{corrupt}/metrics.json: (file): not readable JSON: Expecting ',' delimiter: line 2" in lines[1]
    assert f"{mixed}: run_id: files of different runs are mixed: metrics.json has run 20261205T092256Z-4efeb558" in lines[2]
    assert not (tmp_path / "out").exists()


def test_side_by_side_plans_keep_their_keys_to_themselves(rendered: Path) -> None:
    """``plt.subplots(1, 2)``: the plan's legend, key and title stay left of the second axes."""
    data = load_run(rendered)
    fig = figure.new_figure((16.0, 7.0))
    left, right = fig.subplots(1, 2)
    box = left.get_position(original=True)
    plan.draw_plan(left, data, data.metrics)
    distance.draw_distance_map(right, data, data.metrics)
    fig.canvas.draw()
    rend = renderer(fig)
    limit = right.get_window_extent(rend).x0
    assert left.get_position(original=True).x1 < box.x1  # the map shares its box with the key
    share = right.get_position().x0 - style.SIDE_GAP_IN / 16.0 - box.x0  # the left box and the gap after it
    assert left.get_position(original=True).width == pytest.approx(0.5 * share)  # half of it each: map, key
    key = [t for t in fig.texts if t.get_text().strip()]
    assert any("McLaren" in t.get_text() for t in key)  # the firms' key is drawn...
    for t in key:
        assert t.get_window_extent(rend).x1 <= limit, t.get_text()  # ...left of the neighbour
    assert left.get_legend().get_window_extent(rend).x1 <= limit
    assert left.title.get_window_extent(rend).x1 <= limit
    assert left.get_tightbbox(rend).x1 <= limit


def test_plan_figure_is_not_narrowed(rendered: Path) -> None:
    fig = plan.plan_figure(load_run(rendered))
    (ax,) = [a for a in fig.axes if a.get_gid() == "plan"]
    assert tuple(ax.get_position(original=True).bounds) == pytest.approx(style.MAP_RECT)


@pytest.mark.parametrize("written", [False, True])
def test_draw_plan_and_distance_map_take_a_run_result(tiny_files, tmp_path: Path, written: bool) -> None:
    from optimiser import run_scenario

    out = tmp_path / "run" if written else None
    run = run_scenario(tiny_files[1], out, time_limit_s=5, workers=1, render=False)
    assert run.metrics.solved
    data = run.run_data()
    assert data is run.run_data()  # converted once
    fig = figure.new_figure()
    ax = fig.add_axes(style.MAP_RECT)
    assert plan.draw_plan(ax, run, run.metrics) is fig
    drawn = {ln.get_gid() for ln in ax.lines if ln.get_gid()}
    firms = {f"firm-{f.id}" for f in data.layout.layer("firm")}
    assert firms and firms <= drawn
    built = {p.id for p in run.metrics.placements.crossings} | {p.id for p in run.metrics.placements.shared_facilities}
    assert built and {g.split("-", 1)[1] for g in drawn if g.startswith(("crossing-", "facility-"))} >= built
    ax2 = figure.new_figure().add_axes(style.MAP_RECT)
    distance.draw_distance_map(ax2, run, run.metrics)
    assert distance.distance_values(run, run.metrics) == distance.distance_values(data, data.metrics)
    if written:
        back = load_run(out)
        assert {f.layer for f in back.layout.features} == {f.layer for f in data.layout.features}
    else:  # built in memory as write_run builds it: the same tables a run directory would hold
        assert len(data.pairs) == len(run.prepared.context.pair_index)
        assert [r["firm"] for r in data.firms] == [f.id for f in run.prepared.scenario.site.firms]


def _table_header(fig) -> str:
    (tab_ax,) = [a for a in fig.axes if a.get_gid() == "compare-table"]
    return tab_ax.tables[0].get_celld()[(0, 0)].get_text().get_text()


def test_compare_star_note_only_where_a_star_is_drawn(run_pair: list[Path], tmp_path: Path) -> None:
    from optimiser.present.compare import metric_rows

    runs = [load_run(p) for p in run_pair]
    fig, _, _ = compare_figure(runs)
    assert any(best for _, _, best in metric_rows(runs)) and _table_header(fig) == "Metric (★ best)"
    _, html = compare_runs(run_pair, tmp_path / "starred")
    assert "★ marks the best run with a layout per row (Weighted mean walk after: lower is better;" in html.read_text()
    # different baselines: no ★ anywhere, and neither the figure nor the page says there are
    other = make_run_dir(tmp_path / "other", variant=1)
    m = _metrics(other)
    m["walk"]["baseline_weighted_mean_m"] += 100.0
    (other / "metrics.json").write_text(json.dumps(m))
    runs = [load_run(run_pair[0]), load_run(other)]
    assert not any(best for _, _, best in metric_rows(runs))
    fig, _, _ = compare_figure(runs)
    assert _table_header(fig) == "Metric"
    cells = [c.get_text().get_text() for c in next(a for a in fig.axes if a.get_gid() == "compare-table").tables[0].get_celld().values()]
    assert not any("★" in c for c in cells)
    _, html = compare_runs([run_pair[0], other], tmp_path / "unstarred")
    text = html.read_text()
    assert "★ marks the best" not in text and "No ★ marks: these runs start from different baselines" in text
    assert re.search(r'<div class="scroll whole"[^>]*><table id="compare-table"', text)  # key metrics shown whole, not in a 560 px box


def test_compare_shows_newly_connected_pairs_when_a_run_has_them(run_pair: list[Path], tmp_path: Path) -> None:
    from optimiser.present.compare import metric_rows

    labels = ("Firm pairs newly connected (no walk before)", "Weighted mean walk of the pairs newly connected")
    runs = [load_run(p) for p in run_pair]
    assert not {r.label for r, _, _ in metric_rows(runs)} & set(labels)  # none newly connected: no rows
    split = make_run_dir(tmp_path / "split", variant=1)
    m = _metrics(split)
    m["walk"].update(pairs_newly_connected=2, newly_connected_weighted_mean_m=563.3)
    (split / "metrics.json").write_text(json.dumps(m))
    runs = [load_run(run_pair[0]), load_run(split)]
    rows = {r.label: [r.text(v, runs[j].metrics) for j, v in enumerate(vals)] for r, vals, _ in metric_rows(runs)}
    # the fixture's metrics.json predates the count: not known ("–"), not 0
    assert rows[labels[0]] == ["–", "2"] and rows[labels[1]] == ["–", "563 m"]
    fig, _, _ = compare_figure(runs)
    (tab_ax,) = [a for a in fig.axes if a.get_gid() == "compare-table"]
    cells = {(r, c): cell.get_text().get_text() for (r, c), cell in tab_ax.tables[0].get_celld().items()}
    row = next(r for (r, c), t in cells.items() if c == 0 and t == labels[0])
    assert cells[(row, 1)].lstrip("★ ") == "–" and cells[(row, 2)].lstrip("★ ") == "2"
    row = next(r for (r, c), t in cells.items() if c == 0 and t == labels[1])
    assert [cells[(row, 1)], cells[(row, 2)]] == ["–", "563 m"]
    _, html = compare_runs([run_pair[0], split], tmp_path / "cmp")
    row = re.search(r"Weighted mean walk of the pairs newly connected</th>(.*?)</tr>", html.read_text(), re.S).group(1)
    assert [re.sub(r"<.*?>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)] == ["–", "563 m"]


def test_metrics_written_before_the_newly_connected_count_read_it_as_unknown(run_pair: list[Path]) -> None:
    from optimiser.present.metrics import RunMetrics

    m = _metrics(run_pair[0])
    m["walk"].pop("pairs_newly_connected", None)
    m["walk"].get("cross_barrier", {}).pop("pairs_newly_connected", None)
    back = RunMetrics.from_json_dict(m)
    assert back.walk.pairs_newly_connected is None
    assert back.walk.cross_barrier is None or back.walk.cross_barrier.pairs_newly_connected is None


def test_plan_title_names_a_site_named_as_its_scenario_once(rendered: Path) -> None:
    """A generated site and scenario share one name: the title said it twice, on two lines."""
    m = RunMetrics.from_json_dict(_metrics(rendered)).model_copy(deep=True)
    m.scenario.name = "Real-shaped district (seed 16, 55 firms, 3 barriers)"
    m.site.name = "Real-shaped  district (seed 16, 55 firms, 3 barriers)"
    assert plan.plan_title(m)[0] == "Real-shaped district (seed 16, 55 firms, 3 barriers)"
    m.site.name = "Tiny test site"
    assert plan.plan_title(m)[0] == "Real-shaped district (seed 16, 55 firms, 3 barriers) — Tiny test site"


def test_plan_title_of_a_run_with_no_layout_says_why(rendered: Path) -> None:
    """An infeasible run's plan said 'Weighted mean walk 988 m → – · capital £0 of £100k · gap –
    (infeasible)': dashes, and not the conflict the run found. It now leads with the conflict."""
    m = _metrics(rendered)
    m.update(status="infeasible", message="No layout meets every requirement", gap=None,
             conflicts=["the budget (£100,000) is below £400,000, the cheapest way to meet: at least 1 new workshop"])
    _, line = plan.plan_title(RunMetrics.from_json_dict(m))
    assert " ".join(line.split()) == ("No layout (infeasible): the budget (£100,000) is below £400,000, the cheapest way to "
                                      "meet: at least 1 new workshop · weighted mean walk today 1,003 m")
    m.update(status="unknown", message="no solution within the time limit (10 s)", conflicts=[])
    assert plan.plan_title(RunMetrics.from_json_dict(m))[1].startswith(
        "No layout (unknown): no solution within the time limit (10 s) · weighted mean walk today")


def test_report_plan_image_alt_says_what_the_plan_decided(rendered: Path) -> None:
    """Every report's plan image had the alt text 'Optimised plan: placements, crossings and most
    improved routes', whatever it showed: a reader who cannot see it learnt nothing of the run."""
    html = (rendered / "report.html").read_text()
    alt = re.search(r'<img id="plan-img" alt="([^"]*)"', html)
    assert alt is not None
    assert alt.group(1).startswith("Plan of Baseline: Parkway only")
    assert "Weighted mean walk 1,003 m → 752 m (−25.1%) · capital £2.55m" in alt.group(1) and "\n" not in alt.group(1)


def test_titles_of_names_at_the_200_character_limit_stay_on_the_figure(rendered: Path) -> None:
    """A scenario and a site named at the format's 200-character limit ran the plan's and the
    distance map's titles off the right edge of the figure."""
    from dataclasses import replace

    data = load_run(rendered)
    m = data.metrics.model_copy(deep=True)
    m.scenario.name = ("Masterplan option C: phase two with the northern spine and the enlarged innovation hub, " * 3)[:200]
    m.site.name = ("Site with a long name: " + "Ünterwëgs " * 30)[:200]
    long_run = replace(data, metrics=m)
    for fig in (plan.plan_figure(long_run), distance.distance_figure(long_run)):
        fig.draw_without_rendering()
        rend = renderer(fig)
        w, h = fig.get_size_inches() * fig.dpi
        titles = [t for ax in fig.axes for t in (ax.title, ax._left_title) if t.get_text()]  # type: ignore[attr-defined]
        assert titles
        for t in titles:
            box = t.get_window_extent(rend)
            assert box.x0 >= 0 and box.x1 <= w and box.y1 <= h, (box, w, h, t.get_text()[:40])

def test_compare_out_under_a_file_is_refused_naming_the_file(synthetic_run, tmp_path) -> None:
    """siteopt compare --out afile/sub was 'internal error: NotADirectoryError ... This is a bug'
    (exit 1); it names the file and the way on, as siteopt run and batch do (exit 2)."""
    a, b = synthetic_run("a", variant=0), synthetic_run("b", variant=1)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "sub"
    res = CliRunner().invoke(cli, ["compare", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert (f"siteopt compare: cannot create {out} for --out {out}: {tmp_path / 'afile'} is a file, not a folder; "
            "choose another --out") in res.output, res.output
    assert (tmp_path / "afile").read_text() == "x"


def test_plan_legend_has_no_route_before_when_none_is_drawn(tmp_path: Path) -> None:
    """Where the most improved pairs are all newly connected (no walk before; generated seed 16)
    the plan drew only routes after but its legend still listed 'Route before (most improved pairs)'."""
    run = make_run_dir(tmp_path / "run")
    layout = json.loads((run / "layout.geojson").read_text())
    assert any(f["properties"].get("layer") == "route_before" for f in layout["features"])

    def labels() -> list[str]:
        fig = plan.plan_figure(load_run(run))
        return [" ".join(t.get_text().split()) for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]

    assert {"Route before (most improved pairs)", "Route after"} <= set(labels())
    layout["features"] = [f for f in layout["features"] if f["properties"].get("layer") != "route_before"]
    (run / "layout.geojson").write_text(json.dumps(layout))
    got = labels()
    assert "Route before (most improved pairs)" not in got and "Route after" in got, got  # one label in every plan (compare merges them)


def test_report_caption_of_routes_with_no_walk_before(tmp_path: Path) -> None:
    """With only newly connected pairs among the most improved (no route before drawn), the
    report's caption still described a dashed-black route before."""
    run = make_run_dir(tmp_path / "run")
    layout = json.loads((run / "layout.geojson").read_text())
    layout["features"] = [f for f in layout["features"] if f["properties"].get("layer") != "route_before"]
    (run / "layout.geojson").write_text(json.dumps(layout))
    render_run(run)
    html = (run / "report.html").read_text()
    assert "Dashed black: walking route before" not in html
    assert "Solid blue: walking route of the most improved firm pairs" in html and "they had no walk before" in html


def test_report_header_names_a_site_named_as_its_scenario_once(tmp_path: Path) -> None:
    """A generated problem's report said 'Real-shaped district (…) — site layout report' over
    'Real-shaped district (…) · CRS EPSG:27700': the one name twice."""
    run = make_run_dir(tmp_path / "run")
    m = json.loads((run / "metrics.json").read_text())
    m["site"]["name"] = m["scenario"]["name"]
    (run / "metrics.json").write_text(json.dumps(m))
    render_run(run)
    html = (run / "report.html").read_text()
    name = m["scenario"]["name"]
    assert html.count(f"{name} · CRS") == 0 and "<p>CRS EPSG:27700" in html
