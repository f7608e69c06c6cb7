"""Labels of the static plan (issue 16, point 3): full names through a numbered key, no overlaps,
the same spots in every scenario of a site, visible 'before' routes, human placement names,
positions in the site file's CRS and the firms' position accuracy.

Overlaps are measured on what matplotlib lays out: every text's window extent from the figure's
own Agg renderer (for a label with a leader line, the text's box: the thin line may cross
others). The fast tests use the synthetic run (tests/runfixture.py, two scenarios of one
site); the slow ones solve both embedded sites (AMP-SBP baseline and HS2, Fremont).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from optimiser.present import plan, style
from optimiser.present.labels import renderer
from optimiser.present.layers import RunData, firm_numbers, point
from optimiser.present.metrics import ItemAttribution
from optimiser.present.rundir import load_run


# ------------------------------------------------------------------ helpers
def _box(t: Text, rend) -> Bbox:
    """The box of a text's characters (an annotation's leader line left out)."""
    if isinstance(t, Annotation):
        t.update_positions(rend)
    return Text.get_window_extent(t, rend)


def _map_texts(fig: Figure) -> list[Text]:
    ax = fig.axes[0]
    return [t for t in ax.texts if t.get_visible() and t.get_text().strip()]


def _key_texts(fig: Figure) -> list[Text]:
    return [t for t in fig.texts if t.get_visible() and t.get_text().strip()]


def _legend_texts(fig: Figure) -> list[Text]:
    leg = fig.axes[0].get_legend()
    return list(leg.get_texts()) if leg is not None else []


def _all_texts(fig: Figure) -> list[Text]:
    ax = fig.axes[0]
    return _map_texts(fig) + _key_texts(fig) + _legend_texts(fig) + [ax.title, ax._left_title]  # type: ignore[attr-defined]


def _overlapping(boxes: list[tuple[str, Bbox]]) -> list[tuple[str, str]]:
    out = []
    for i, (ta, ba) in enumerate(boxes):
        for tb, bb in boxes[i + 1:]:
            if ba.overlaps(bb):
                out.append((ta, tb))
    return out


def _assert_clean_layout(fig: Figure) -> None:
    """No two map labels overlap; none leaves the map or touches the legend or the key; no two
    key or legend texts overlap; the key stays inside the figure."""
    fig.canvas.draw()  # what was drawn: the legend lays its entries out when drawn
    ax = fig.axes[0]
    rend = renderer(fig)
    labels = [(t.get_text(), _box(t, rend)) for t in _map_texts(fig)]
    assert len(labels) >= 5
    assert not _overlapping(labels), _overlapping(labels)
    for text, bb in labels:
        assert ax.bbox.x0 <= bb.x0 and bb.x1 <= ax.bbox.x1 and ax.bbox.y0 <= bb.y0 and bb.y1 <= ax.bbox.y1, text
    side = [(t.get_text(), _box(t, rend)) for t in _key_texts(fig) + _legend_texts(fig)]
    leg = ax.get_legend()
    if leg is not None:
        legbox = leg.get_window_extent(rend)
        for text, bb in labels:
            assert not bb.overlaps(legbox), f"map label {text!r} under the legend"
        for t in _key_texts(fig):
            assert not _box(t, rend).overlaps(legbox), f"key text {t.get_text()!r} under the legend"
    assert not _overlapping(side), _overlapping(side)
    for text, bb in labels:
        for kt, kb in side:
            assert not bb.overlaps(kb), (text, kt)
    for text, bb in side:
        assert 0 <= bb.x0 and bb.x1 <= fig.bbox.x1 and 0 <= bb.y0 and bb.y1 <= fig.bbox.y1, text


def _firm_labels(fig: Figure) -> dict[str, Annotation]:
    out = {}
    for t in fig.axes[0].texts:
        gid = t.get_gid() or ""
        if gid.startswith("label-firm-"):
            assert isinstance(t, Annotation)
            out[gid.removeprefix("label-firm-")] = t
    return out


def _key_text(fig: Figure) -> str:
    return " ".join(" ".join(t.get_text().split()) for t in _key_texts(fig))


@pytest.fixture(scope="module")
def two_scenarios(tmp_path_factory) -> list[RunData]:
    from tests.runfixture import make_run_dir

    base = tmp_path_factory.mktemp("plans")
    return [load_run(make_run_dir(base / "a", variant=0)), load_run(make_run_dir(base / "b", variant=1))]


# ------------------------------------------------------------------ fast: the synthetic site
@pytest.mark.parametrize("variant", [0, 1])
def test_labels_do_not_overlap_each_other_the_legend_or_the_key(two_scenarios, variant: int) -> None:
    _assert_clean_layout(plan.plan_figure(two_scenarios[variant]))


def test_firm_numbers_come_from_the_site_and_stay_put_across_scenarios(two_scenarios) -> None:
    a, b = two_scenarios
    fa, fb = plan.plan_figure(a), plan.plan_figure(b)
    la, lb = _firm_labels(fa), _firm_labels(fb)
    numbers = firm_numbers(a.layout)
    assert set(la) == set(lb) == set(numbers) and len(numbers) == 6
    # numbered 1..n in the site file's order (as the interactive map numbers them)
    assert [numbers[f.id] for f in a.layout.layer("firm")] == list(range(1, len(numbers) + 1))
    ra, rb = renderer(fa), renderer(fb)
    for fid, t in la.items():
        assert t.get_text() == str(numbers[fid]) == lb[fid].get_text()
        ba, bb = _box(t, ra), _box(lb[fid], rb)
        assert abs(ba.x0 - bb.x0) < 0.01 and abs(ba.y0 - bb.y0) < 0.01, (fid, ba, bb)
    # the placements did move (so the check above is not vacuous)
    pa = {f.id: point(f.geometry) for f in a.layout.layer("facility")}
    pb = {f.id: point(f.geometry) for f in b.layout.layer("facility")}
    assert pa["sf1"] != pb["sf1"]


def test_each_number_sits_on_its_own_firm(two_scenarios) -> None:
    """The wrong-marker bug: a label is anchored on its own firm's point, and its text is over
    that firm's circle, or joined to it by a leader line."""
    run = two_scenarios[0]
    fig = plan.plan_figure(run)
    rend = renderer(fig)
    ax = fig.axes[0]
    firms = {f.id: point(f.geometry) for f in run.layout.layer("firm")}
    centres = {fid: ax.transData.transform(xy) for fid, xy in firms.items()}
    for fid, t in _firm_labels(fig).items():
        assert t.xy == pytest.approx(firms[fid])
        bb = _box(t, rend)
        cx, cy = (bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2
        nearest = min(centres, key=lambda k: (centres[k][0] - cx) ** 2 + (centres[k][1] - cy) ** 2)
        assert nearest == fid or t.arrow_patch is not None, (fid, nearest)


def test_key_names_every_firm_and_placement_in_full(two_scenarios) -> None:
    run = two_scenarios[0]
    run.metrics.attribution = [ItemAttribution(id="sf1", name="Shared lab on the east plot of the south park",
                                               kind="facility")]
    fig = plan.plan_figure(run)
    key = _key_text(fig)
    numbers = firm_numbers(run.layout)
    for f in run.layout.layer("firm"):
        name = " ".join(f.text("name").split())
        assert name in key, name
        tag = next(t for t in fig.texts if t.get_gid() == f"key-firm-{f.id}-tag")
        assert tag.get_text() == str(numbers[f.id])
    assert "Shared lab on the east plot of the south park" in key  # the human name, not the id
    assert "F1" in key and "S1" in key and "X1" in key
    # positions in the site file's CRS (British National Grid here)
    assert re.search(r"E 441,150, N 388,350", key), key


def test_no_text_is_cut(two_scenarios) -> None:
    for run in two_scenarios:
        fig = plan.plan_figure(run)
        for t in _all_texts(fig):
            text = t.get_text().rstrip()
            assert "…" not in text and not text.endswith("..."), text


def test_a_lon_lat_site_gets_lat_lon_positions_in_the_key(two_scenarios) -> None:
    run = two_scenarios[0]
    run.metrics.site.source_crs = "EPSG:4326"
    try:
        key = _key_text(plan.plan_figure(run))
    finally:
        run.metrics.site.source_crs = None
    assert "position in EPSG:4326" in key
    assert re.search(r"lat 53\.\d+, lon -1\.\d+", key), key
    assert not re.search(r"E 441,", key)


def test_accuracy_of_each_firm_is_in_the_key(two_scenarios) -> None:
    run = two_scenarios[0]
    for i, f in enumerate(run.layout.layer("firm")):
        f.props["accuracy_m"] = 30.0 + 50 * i
    try:
        fig = plan.plan_figure(run)
    finally:
        for f in run.layout.layer("firm"):
            f.props.pop("accuracy_m")
    for i, f in enumerate(run.layout.layer("firm")):
        entry = next(t for t in fig.texts if t.get_gid() == f"key-firm-{f.id}")
        assert f"±{30 + 50 * i:,} m" in " ".join(entry.get_text().split())
    assert "accurate to ±30–280 m" in _key_text(fig)


def _luminance(colour: str) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_before_routes_are_drawn_to_be_seen(two_scenarios) -> None:
    before, after = style.ROUTE_BEFORE, style.ROUTE_AFTER
    assert before.zorder > after.zorder  # on top: visible where the two share a street
    assert before.lw >= 1.8 and before.dashes is not None and before.dashes[0] >= 4.0
    assert before.halo_lw > before.lw  # a white outline: readable on the dark carriageway too
    for bg in [style.MAP_BACKGROUND, *(s.fc for s in style.PARCEL_STYLE.values())]:
        assert _contrast(before.color, bg) >= 7.0, bg
    assert _contrast(before.color, after.color) >= 3.0
    fig = plan.plan_figure(two_scenarios[0])
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines() if ln.get_gid()}
    assert "route-before-1" in lines and "route-after-1" in lines
    b, a = lines["route-before-1"], lines["route-after-1"]
    assert b.get_zorder() > a.get_zorder() and b.get_linestyle() == "--" and b.get_path_effects()


# ------------------------------------------------------------------ slow: both embedded sites, solved
@pytest.fixture(scope="module")
def embedded_runs(tmp_path_factory) -> dict[str, RunData]:
    from optimiser.pipeline import run_scenario

    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("embedded")
    out = {}
    for name in ("amp_sbp/baseline", "amp_sbp/hs2", "fremont/baseline"):
        d = base / name.replace("/", "_")
        run_scenario(root / "constraints" / f"{name}.yaml", d, seed=1, workers=1, render=False)
        out[name] = load_run(d)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["amp_sbp/baseline", "amp_sbp/hs2", "fremont/baseline"])
def test_embedded_sites_labels_clean_and_full(embedded_runs, name: str) -> None:
    run = embedded_runs[name]
    fig = plan.plan_figure(run)
    _assert_clean_layout(fig)
    for t in _all_texts(fig):
        assert "…" not in t.get_text() and not t.get_text().rstrip().endswith("..."), t.get_text()
    key = _key_text(fig)
    for f in run.layout.layer("firm"):
        assert " ".join(f.text("name").split()) in key
    for a in run.metrics.attribution:
        assert " ".join(a.name.split()) in key, a.name
    src = run.metrics.site.source_crs or run.metrics.site.crs
    assert f"position in {src}" in key


@pytest.mark.slow
def test_embedded_firm_numbers_stay_put_between_amp_sbp_scenarios(embedded_runs) -> None:
    fa = plan.plan_figure(embedded_runs["amp_sbp/baseline"])
    fb = plan.plan_figure(embedded_runs["amp_sbp/hs2"])
    la, lb = _firm_labels(fa), _firm_labels(fb)
    assert set(la) == set(lb) and len(la) >= 20
    ra, rb = renderer(fa), renderer(fb)
    moved = [fid for fid in la if _box(la[fid], ra).extents.tolist() != pytest.approx(_box(lb[fid], rb).extents.tolist())]
    assert not moved, moved
    drawn = {ln.get_gid() for ln in fb.axes[0].get_lines()}
    assert any(g and g.startswith("route-before-") for g in drawn)
    assert isinstance(fa.axes[0].get_lines()[0], Line2D)


def test_existing_crossings_tagged_on_the_map_and_named_in_the_key(two_scenarios) -> None:
    run = two_scenarios[0]
    fig = plan.plan_figure(run)
    feats = run.layout.layer("existing_crossing")
    assert feats
    on_map = {t.get_gid(): t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("label-existing-crossing-")}
    for i, f in enumerate(feats, 1):
        tag = on_map[f"label-existing-crossing-{f.id}"]
        assert tag.get_text() == f"J{i}" and tag.xy == pytest.approx(point(f.geometry))
        entry = next(t for t in fig.texts if t.get_gid() == f"key-existing-crossing-{f.id}")
        assert " ".join(f.text("name").split()) in " ".join(entry.get_text().split())
        assert "beyond the map edge" not in entry.get_text()
