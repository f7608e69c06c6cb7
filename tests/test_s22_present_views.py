"""Session 22, urban designer's view of plans and reports: the static plan's legend keeps its
firm-size circles apart, the firm key's title names position accuracy only when the site gives
it, and the report's interactive plan draws every item as the static plan does (colours and
shapes from optimiser.present.style), with a legend of its symbols and placement tags beside
(not on) their symbols."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from optimiser.present import plan, style
from optimiser.present.interactive import _overlap, _text_box, map_view, place_labels
from optimiser.present.labels import renderer
from optimiser.present.layers import Feature
from optimiser.present.plan_key import firm_section, spaced_handles
from optimiser.present.rundir import load_run
from tests.browser import CHROMIUM, assert_clean, open_page
from tests.runfixture import make_run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from optimiser.present.rundir import render_run

    run = make_run_dir(tmp_path_factory.mktemp("s22") / "run")
    render_run(run)
    return run


# ------------------------------------------------------------------ static plan legend
def test_plan_legend_firm_sizes_do_not_overlap(run_dir: Path) -> None:
    """The legend's firm circles (up to 26 pt in a 7.5 pt legend) reached into the rows above and
    below: 'Firm, 300 employees' circle over 'Firm, 150 employees' and its own text's neighbours."""
    fig = plan.plan_figure(load_run(run_dir))
    fig.canvas.draw()
    rend = renderer(fig)
    leg = fig.axes[0].get_legend()
    rows = [(h, t) for h, t in zip(leg.legend_handles, leg.get_texts(), strict=True) if t.get_text().strip()]
    sizes = [h for h, t in rows if t.get_text().startswith("Firm, ")]
    assert len(sizes) >= 2
    boxes = []
    for h, t in rows:
        hb = h.get_window_extent(rend)
        boxes.append((t.get_text(), hb, t.get_window_extent(rend)))
    for i, (ta, ha, xa) in enumerate(boxes):
        for tb, hb, xb in boxes[i + 1:]:
            # shrink by half a pixel: boxes that only touch are fine
            assert not ha.shrunk(0.98, 0.98).overlaps(hb.shrunk(0.98, 0.98)), (ta, tb)
            assert not ha.shrunk(0.98, 0.98).overlaps(xb), (ta, tb)
            assert not hb.shrunk(0.98, 0.98).overlaps(xa), (tb, ta)


def test_spaced_handles_adds_rows_only_between_big_markers() -> None:
    small = Line2D([], [], color="k", label="line")
    big = [Line2D([], [], marker="o", ms=ms, ls="none", label=f"m{ms}") for ms in (10, 18, 26)]
    out = spaced_handles([small, *big, small], 7.5, 0.7)
    labels = [h.get_label() for h in out]
    # the 10 pt circle fits its row; between 18 and 26 pt circles a blank row (at least one) is added
    assert labels[:3] == ["line", "m10", "m18"] or labels[:2] == ["line", "m10"]
    i18, i26 = labels.index("m18"), labels.index("m26")
    assert i26 - i18 >= 2 and set(labels[i18 + 1:i26]) == {" "}
    assert spaced_handles([small, small], 7.5, 0.7) == [small, small]


# ------------------------------------------------------------------ firm key title
def test_firm_key_title_names_accuracy_only_when_given(run_dir: Path) -> None:
    run = load_run(run_dir)
    with_acc = any(f.props.get("accuracy_m") is not None for f in run.layout.layer("firm"))
    title = firm_section(run.layout).title
    assert ("± position accuracy" in title) is with_acc
    assert not title.endswith("±)")
    bare = [Feature("firm", f.geometry, {k: v for k, v in f.props.items() if k != "accuracy_m"})
            for f in run.layout.layer("firm")]
    from optimiser.present.layers import Layout

    lay = Layout(bare, run.layout.crs)
    assert firm_section(lay).title == "Firms and buildings (number on the map · staff)"


# ------------------------------------------------------------------ interactive plan
def test_placement_tags_sit_beside_their_symbols() -> None:
    """A tag (F1, S1, X1) used to be drawn on its own symbol (dark text on a purple disc)."""
    anchors = [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0)]
    radii = [8.0, 8.0, 12.0]
    texts = ["F1", "S1", "7"]
    spots = place_labels(anchors, radii, texts, 10.0, beside=[True, True, False])
    for k in (0, 1):
        box = _text_box(spots[k].x, spots[k].y, texts[k], 10.0)
        x, y = anchors[k]
        r = radii[k]
        assert _overlap(box, (x - r, y - r, x + r, y + r)) == 0, texts[k]
        assert not spots[k].moved  # right beside: no leader line
        assert math.dist((spots[k].x, spots[k].y), anchors[k]) < 40
    assert (spots[2].x, spots[2].y) == anchors[2]  # a firm's number stays on its circle


def test_interactive_map_draws_the_static_plans_symbols(run_dir: Path) -> None:
    view = map_view(load_run(run_dir))
    svg = view.svg
    assert '<polygon class="facility"' in svg and '<polygon class="xing-mark"' in svg
    assert 'class="tag t-facility"' in svg
    labels = [item.label for item in view.legend]
    assert "New shared facility" in labels and "New crossing (chosen)" in labels and "Route after" in labels




@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian chromium not found at {CHROMIUM}")
def test_interactive_colours_match_the_static_plan_in_chromium(browser, run_dir: Path) -> None:
    page, events = open_page(browser, run_dir / "report.html")
    svg = "#map svg.map-svg"

    def css(sel: str, prop: str) -> str:
        return page.locator(f"{svg} {sel}").first.evaluate(f"e => getComputedStyle(e).{prop}")

    def rgb(hex_c: str) -> str:
        r, g, b = (int(hex_c[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"

    assert css("circle.firm", "fill") == rgb(style.FIRM_C)
    assert css("polygon.facility", "fill") == rgb(style.FACILITY_C)
    assert css("path.xing-new", "stroke") == rgb(style.CROSSING_C)
    assert css("path.route-after", "stroke") == rgb(style.ROUTE_AFTER_C)
    assert css("path.route-before", "stroke") == rgb(style.ROUTE_BEFORE_C)
    assert css("path.parcel.buildable", "fill") == rgb(to_hex(style.parcel_style("buildable").fc))
    # the legend under the map shows the same symbol
    swatch = page.locator("#map .map-legend li", has_text="New shared facility").locator("polygon.facility")
    assert swatch.evaluate("e => getComputedStyle(e).fill") == rgb(style.FACILITY_C)
    assert page.locator(f"{svg}").count() == 1
    # the numbered key's list numbers stay clear of the previous column's text
    gaps = page.evaluate("""() => {
        const lis = [...document.querySelectorAll('#map .map-key li')];
        const probe = document.createElement('span');
        probe.textContent = Math.max(lis.length, 88) + '. ';  // two digits at least: most sites have 10+ firms
        lis[0].appendChild(probe);
        const marker = probe.getBoundingClientRect().width;
        probe.remove();
        const cols = {};
        for (const li of lis) { const r = li.getBoundingClientRect(); (cols[Math.round(r.left)] ??= []).push(r); }
        const lefts = Object.keys(cols).map(Number).sort((a, b) => a - b);
        const out = [];
        for (let i = 1; i < lefts.length; i++) {
          const prevRight = Math.max(...cols[lefts[i - 1]].map(r => r.right));
          out.push(lefts[i] - prevRight - marker);
        }
        return out;
    }""")
    assert gaps and min(gaps) >= 0, gaps
    assert_clean(events)


# ------------------------------------------------------------------ plans in a grid of subplots
@pytest.mark.parametrize("shape,size", [((1, 2), (12.0, 5.0)), ((2, 2), (14.0, 10.0)), ((2, 3), (16.0, 9.0))])
def test_plans_in_subplots_keep_their_legend_and_key_in_their_own_box(run_dir: Path, shape, size) -> None:
    """``draw_plan`` on each axes of ``plt.subplots``: every legend and key text stays inside the
    figure and off every other plan's map (a key too long for its box used to run on down over
    the plan below; the legend too)."""
    from matplotlib.figure import Figure

    run = load_run(run_dir)
    fig = Figure(figsize=size)
    axs = fig.subplots(*shape).ravel()
    boxes_before = [ax.get_position(original=True) for ax in axs]
    for ax in axs:
        plan.draw_plan(ax, run, run.metrics)
    fig.canvas.draw()
    rend = renderer(fig)
    maps = [ax.get_window_extent(rend) for ax in axs]
    fig_box = fig.bbox
    side = [t for t in fig.texts if t.get_visible() and t.get_text().strip()]
    side += [t for ax in axs if ax.get_legend() is not None for t in ax.get_legend().get_texts() if t.get_text().strip()]
    assert side
    for t in side:
        bb = t.get_window_extent(rend)
        assert fig_box.x0 - 1 <= bb.x0 and bb.x1 <= fig_box.x1 + 1 and fig_box.y0 - 1 <= bb.y0, t.get_text()[:40]
        for m in maps:
            assert not bb.overlaps(m), (t.get_text()[:40], "over a map")
    # no key text over a legend
    for ax in axs:
        leg = ax.get_legend()
        if leg is None:
            continue
        lb = leg.get_window_extent(rend)
        for t in fig.texts:
            if t.get_visible() and t.get_text().strip():
                assert not t.get_window_extent(rend).overlaps(lb), (t.get_text()[:40], "over a legend")
    # each plan's side panel stays in its own subplot box (no text below the box's bottom edge)
    h = fig.bbox.height
    for ax, box in zip(axs, boxes_before, strict=True):
        leg = ax.get_legend()
        if leg is not None:
            assert leg.get_window_extent(rend).y0 >= box.y0 * h - 0.1 * fig.dpi


def test_key_wraps_by_display_width_and_never_cuts() -> None:
    """CJK characters are twice as wide as Latin ones: a key line of them was wrapped by
    character count and ran past the figure's right edge."""
    from optimiser.present.plan_key import text_width, wrap_width

    name = "北京城市规划设计研究院 苏黎世分部 (Beijing Municipal Institute of City Planning, Zürich office) · 90 staff"
    lines = wrap_width(name, 30)
    assert all(text_width(ln) <= 30 for ln in lines), lines
    assert "".join(lines).replace(" ", "") == name.replace(" ", "")  # nothing lost
    assert lines[0] == "北京城市规划设计研究院"  # 22 wide: the next word (16 wide) goes on the next line
    assert wrap_width("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert wrap_width("Alpha Works · 120 staff", 40) == ["Alpha Works · 120 staff"]


# ------------------------------------------------------------------ catchment.png
def test_catchment_figure_says_what_it_shows(tmp_path: Path) -> None:
    """catchment.png had two untitled-by-scenario panels with no legend, no north arrow and no
    figures: a designer could not tell the bands, squares and dashes apart or what they cover."""
    from optimiser.pipeline import run_scenario
    from optimiser.present.transit_plan import catchment_figure
    from tests.test_transit import tram_scenario

    r = run_scenario(tram_scenario(), tmp_path / "run", render=False)
    run = load_run(tmp_path / "run")
    t = r.metrics.transit
    assert t is not None and t.covered_employees is not None
    fig = catchment_figure(run, run.metrics)
    assert fig is not None
    heading = fig._suptitle.get_text()  # type: ignore[attr-defined]
    assert f"{t.catchment_m:g} m" in heading and f"{t.covered_employees:,} of {t.total_employees:,}" in heading
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    assert "Transit alignment" in labels and any(lbl.startswith("Catchment: streets within") for lbl in labels)
    assert all(any(tx.get_text() == "N" for tx in ax.texts) for ax in fig.axes)  # a north arrow on each panel


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian chromium not found at {CHROMIUM}")
def test_compare_key_metrics_give_every_run_an_equal_column(browser, tmp_path: Path) -> None:
    """The 'Built' row's long list widened one run's column and squeezed another's (and the
    metric names) in compare.html's key-metrics table."""
    from optimiser.present.compare import compare_runs

    runs = [make_run_dir(tmp_path / "a", variant=0), make_run_dir(tmp_path / "b", variant=1),
            make_run_dir(tmp_path / "c", variant=1)]
    _, html = compare_runs(runs, tmp_path / "cmp")
    page, events = open_page(browser, html)
    # one run's 'Built' list made long: its column must not grow
    page.evaluate("""() => { const row = [...document.querySelectorAll('#compare-table tbody tr')].pop();
        row.cells[1].textContent = 'Shared workshop on a very long parcel name, '.repeat(12); }""")
    widths = page.eval_on_selector_all("#compare-table thead th", "ths => ths.map(t => t.getBoundingClientRect().width)")
    runs_w = widths[1:]
    assert len(runs_w) == 3 and max(runs_w) - min(runs_w) <= 2, widths
    assert widths[0] >= 0.8 * 12 * 14  # the metric names keep their column (12em)
    assert_clean(events)


def test_compare_of_different_sites_sizes_each_sites_firms_on_its_own_scale(run_dir: Path, tmp_path: Path) -> None:
    """Fremont's 20,000-staff firm set the one firm-size scale of a comparison with AMP-SBP, whose
    300-staff firms became dots too small for their numbers: on different sites each site's
    largest firm gets the largest circle, and the legend says each site has its own scale."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from optimiser.present.compare import compare_figure
    from tests.sitefiles import write_files

    _site, scen = write_files(tmp_path / "tiny")
    run_scenario(read_scenario(scen), tmp_path / "tiny_run", render=False)
    runs = [load_run(run_dir), load_run(tmp_path / "tiny_run")]
    assert runs[0].metrics.site.id != runs[1].metrics.site.id
    fig, plan_axes, _ = compare_figure(runs, distance=False)
    biggest = []
    for i, (ax, run) in enumerate(zip(plan_axes, runs, strict=True)):
        top = max(run.layout.layer("firm"), key=lambda f: f.number("employees"))
        marker = [ln for ln in ax.lines if ln.get_gid() == f"run{i}-firm-{top.id}"]
        assert marker, top.id
        biggest.append(marker[0].get_markersize())
    assert biggest[0] == pytest.approx(biggest[1])  # both sites' largest firms: the largest circle
    labels = [" ".join(t.get_text().split()) for t in fig.legends[0].get_texts()]  # wrapped to the legend's column
    assert "Firm (circle area by staff; each site on its own scale)" in labels
    assert not any(lbl.startswith("Firm, ") for lbl in labels)


def test_plan_key_says_when_nothing_was_built(tmp_path: Path) -> None:
    """A run that builds nothing had no 'Built' section at all: the plan did not say so."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from optimiser.present.plan_key import key_sections
    from tests.sitefiles import write_files

    facilities = [{"type": "workshop", "count": {"min": 0, "max": 1}, "footprint_m2": 900, "min_spacing_m": 0,
                   "cost_gbp": 400_000, "candidate_spacing_m": 150}]
    _site, scen = write_files(tmp_path / "f", budget_gbp=1000, facilities=facilities)
    run_scenario(read_scenario(scen), tmp_path / "run", render=False)
    run = load_run(tmp_path / "run")
    assert not run.layout.layer("facility", "social_space", "crossing")
    built = key_sections(run.layout, run.metrics, {})[0]
    assert built.title == "Built in this scenario"
    assert built.entries[0].text == "Nothing: the layout is today's (capital £0 of a £1k budget)"


def test_parcel_colours_stay_apart_for_colour_blind_readers() -> None:
    """Occupied plots and open space were 7 ΔE (CIELAB) apart for a deuteranope (Machado 2009
    simulation): the same beige. Every two parcel fills stay at least 10 apart, seen normally,
    with deuteranopia and with protanopia."""
    import itertools

    import numpy as np

    sims = {"normal": np.eye(3),
            "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                                      [-0.011820, 0.042940, 0.968881]]),
            "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                                    [-0.003882, -0.048116, 1.051998]])}

    def lin(c):
        return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)

    def lab(rgb_lin):
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb_lin
        xyz = xyz / np.array([0.95047, 1.0, 1.08883])
        f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    def rgb(h: str):
        return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)]) / 255

    fills = {k: rgb(v.fc) for k, v in style.PARCEL_STYLE.items()}
    for name, m in sims.items():
        for (a, ca), (b, cb) in itertools.combinations(fills.items(), 2):
            d = float(np.linalg.norm(lab(np.clip(m @ lin(ca), 0, 1)) - lab(np.clip(m @ lin(cb), 0, 1))))
            assert d >= 10, (name, a, b, round(d, 1))


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian chromium not found at {CHROMIUM}")
def test_report_plan_opens_at_full_size_in_its_own_box(browser, run_dir: Path) -> None:
    """plan.png (2,400 px) was only shown fitted to the page, its key text about 8 px high: a
    click shows it at full size, scrolling sideways in its figure, not the page."""
    page, events = open_page(browser, run_dir / "report.html")
    img = page.locator("#plan-img")
    fitted = img.evaluate("e => e.getBoundingClientRect().width")
    natural = img.evaluate("e => e.naturalWidth")
    assert fitted < natural
    img.click()
    assert img.evaluate("e => e.getBoundingClientRect().width") == pytest.approx(natural, abs=3)  # + its border
    assert img.get_attribute("aria-pressed") == "true"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    img.press("Enter")
    assert img.evaluate("e => e.getBoundingClientRect().width") == pytest.approx(fitted, abs=1)
    assert_clean(events)


def test_distance_map_marks_new_crossings_as_the_plan_does(run_dir: Path) -> None:
    from optimiser.present.distance import distance_figure

    run = load_run(run_dir)
    fig = distance_figure(run)
    crossings = run.layout.layer("crossing")
    assert crossings
    ax = fig.axes[0]
    for f in crossings:
        marks = [ln for ln in ax.lines if (ln.get_gid() or "").endswith(f"dist-crossing-{f.id}")]
        assert marks and marks[0].get_marker() == "D"
    assert any(t.get_text().startswith("X") for t in ax.texts)


def test_compare_panels_tag_existing_crossings_as_the_plan_does(run_dir: Path, tmp_path: Path) -> None:
    """plan.png tags existing crossings J1, J2 (named in its key); the compare panels wrote their
    full names on the map instead: the same item drawn two ways, and long italic names crowding
    the panels."""
    from optimiser.present.compare import compare_figure, firm_keys
    from optimiser.present.layers import site_tags

    runs = [load_run(run_dir), load_run(make_run_dir(tmp_path / "b", variant=1))]
    _fig, plan_axes, _ = compare_figure(runs, distance=False)
    tags = site_tags(runs[0].layout)
    crossings = runs[0].layout.layer("existing_crossing")
    assert crossings
    for ax in plan_axes:
        texts = {t.get_text() for t in ax.texts}
        for f in crossings:
            assert tags[f.id] in texts
            assert f.text("name") not in texts
    keyed = {e.tag for s in firm_keys(runs) for e in s.entries}
    assert {tags[f.id] for f in crossings} <= keyed


def test_interactive_firm_numbers_sit_beside_circles_too_small_to_hold_them(run_dir: Path) -> None:
    """On Fremont (one 20,000-staff firm) most circles were dots with a white number drawn over
    them, unreadable on the parcels: a number goes on its circle (white) only where the circle
    holds it, else beside it (dark, with a white halo)."""
    import re

    run = load_run(run_dir)
    run.layout.layer("firm")[0].props["employees"] = 20_000  # heavy-tailed staff, as on Fremont
    svg = map_view(run).svg
    u = float(re.search(r"--u:([0-9.]+)", svg).group(1))
    circles = {m.group(2): float(m.group(1)) for m in re.finditer(
        r'<circle class="firm[^"]*" cx="[^"]+" cy="[^"]+" r="([0-9.]+)"[^>]*data-firm="([^"]+)"', svg)}
    on = re.findall(r'<text class="num on" x="[^"]+" y="[^"]+" font-size="[^"]+">(\d+)</text>', svg)
    beside = re.findall(r'<text class="num" x="[^"]+" y="[^"]+" font-size="[^"]+">(\d+)</text>', svg)
    assert on and beside and len(on) + len(beside) == len(run.layout.layer("firm"))
    from optimiser.present.layers import firm_numbers

    by_number = {str(n): fid for fid, n in firm_numbers(run.layout).items()}
    for text in on:  # each white number fits inside its circle
        r = circles[by_number[text]]
        assert r >= 0.33 * len(text) * 3.0 * u - 0.05, (text, r)


def test_a_short_key_section_is_not_split_backwards_over_two_columns() -> None:
    """Fremont's 'Existing crossings and junctions' began at the foot of the right column (J1)
    and went on in the left one, above and left of its start: a section that a later column holds
    whole starts there."""
    from matplotlib.figure import Figure

    from optimiser.present.plan_key import KeyColumn, KeyEntry, KeySection, _flow, _measure

    fig = Figure(figsize=(10, 6))
    m = _measure(fig, 7.0)
    col_b, col_a = KeyColumn(6.0, 3.0, 5.0, 1.0), KeyColumn(3.0, 2.5, 5.0, 1.0)
    firms = KeySection("Firms", [KeyEntry(str(i), f"Firm number {i}", f"f{i}") for i in range(1, 23)])
    junctions = KeySection("Existing crossings", [KeyEntry(f"J{i}", f"Junction {i}", f"j{i}") for i in range(1, 7)])
    placed = _flow([(firms, [col_b, col_a]), (junctions, [col_b, col_a])], m, 0.3)
    assert placed is not None
    cols = {p.col.x_in for p in placed if p.entry is not None and p.entry.tag.startswith("J")}
    assert cols == {col_a.x_in}, cols
    assert not any(p.entry is None and "(continued)" in p.text and "crossings" in p.text for p in placed)


def test_plan_key_of_an_infeasible_run_says_there_is_no_layout(tmp_path: Path) -> None:
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from optimiser.present.plan_key import key_sections
    from tests.sitefiles import write_files

    _site, scen = write_files(tmp_path / "f", budget_gbp=1000)  # a workshop is required, none affordable
    run_scenario(read_scenario(scen), tmp_path / "run", render=False)
    run = load_run(tmp_path / "run")
    assert str(run.metrics.status) == "infeasible"
    built = key_sections(run.layout, run.metrics, {})[0]
    assert built.entries[0].text.startswith("No layout: the scenario is infeasible")


def test_distance_map_of_a_run_without_a_layout_says_so(tmp_path: Path) -> None:
    """An infeasible run's distance panel in compare labelled every firm 'no change'."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from optimiser.present.distance import distance_figure
    from tests.sitefiles import write_files

    _site, scen = write_files(tmp_path / "f", budget_gbp=1000)
    run_scenario(read_scenario(scen), tmp_path / "run", render=False)
    run = load_run(tmp_path / "run")
    texts = [t.get_text() for t in distance_figure(run).axes[0].texts]
    assert "No layout (infeasible): no change to show" in texts
    assert not any("no change" == t.split(": ")[-1] for t in texts)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian chromium not found at {CHROMIUM}")
def test_report_prints_plans_whole(browser, run_dir: Path, tmp_path: Path) -> None:
    """Printed (or saved as PDF), a plan is never split over two pages and the map's buttons are
    not printed."""
    page, events = open_page(browser, run_dir / "report.html")
    page.emulate_media(media="print")
    for sel in ("#plan-img", "#plan-img >> xpath=..", "#map .map-box"):
        assert page.locator(sel).first.evaluate("e => getComputedStyle(e).breakInside") == "avoid", sel
    assert page.locator("#map .map-tools").evaluate("e => getComputedStyle(e).display") == "none"
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.stat().st_size > 100_000
    assert_clean(events)


def test_legend_names_the_tags_it_stands_for(run_dir: Path) -> None:
    """'Existing crossing / junction (J1, J2 in the key)' on a site with one junction, or three."""
    from optimiser.present.layers import site_tags

    run = load_run(run_dir)
    fig = plan.plan_figure(run)
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[0].get_legend().get_texts()]
    tags = site_tags(run.layout)
    js = [tags[f.id] for f in run.layout.layer("existing_crossing")]
    want = f"({js[0]} in the key)" if len(js) == 1 else f"({js[0]}–{js[-1]} in the key)"
    assert any(lbl.startswith("Existing crossing / junction") and lbl.endswith(want) for lbl in labels), labels


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian chromium not found at {CHROMIUM}")
def test_what_each_item_buys_is_shown_whole(browser, tmp_path: Path) -> None:
    """The AMP-SBP baseline's seven items were cut at the fifth by a 560 px inner scroll box."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from tests.sitefiles import write_files

    _site, scen = write_files(tmp_path / "f")
    run_scenario(read_scenario(scen), tmp_path / "run", render=True)
    page, events = open_page(browser, tmp_path / "run" / "report.html")
    # as tall as AMP-SBP's seven items with the pairs each serves
    page.evaluate("""() => { const body = document.querySelector('#buys-table tbody');
        const rows = [...body.rows];
        for (let i = 0; i < 3; i++) rows.forEach(r => body.appendChild(r.cloneNode(true)));
        [...body.rows].forEach(r => { r.lastElementChild.style.height = '90px'; }); }""")
    box = page.eval_on_selector("#buys .scroll", "e => [e.scrollHeight, e.clientHeight]")
    assert box[0] <= box[1] + 1, box
    assert_clean(events)


def test_one_size_row_puts_the_firm_sizes_in_one_row_where_the_first_was():
    from matplotlib.lines import Line2D

    from optimiser.present.plan_key import one_size_row

    def size(n):
        return Line2D([], [], marker="o", ms=n / 20, mfc="#123456", ls="none", label=f"Firm, {n} employees")

    before, after = Line2D([], [], label="Lab"), Line2D([], [], label="Crossing")
    handles = [before, size(30), size(300), after]
    labels = [h.get_label() for h in one_size_row(handles)]
    assert labels == ["Lab", "Firm (circle area by staff: 30 to 300)", "Crossing"]
    labelled = one_size_row(handles, "Firm (each site on its own scale)")
    assert [h.get_label() for h in labelled] == ["Lab", "Firm (each site on its own scale)", "Crossing"]
    assert labelled[1].get_markerfacecolor() == "#123456"
    one = [before, size(30)]
    assert one_size_row(one) == one  # one size: a row of its own already
    assert [h.get_label() for h in one_size_row(one, "Firm")] == ["Lab", "Firm"]
    assert one_size_row([before, after], "Firm") == [before, after]


def test_the_interactive_firm_tooltip_counts_one_employee_in_the_singular() -> None:
    """The plan's key said 'Firm, 1 employee' (d979326) while the interactive plan's tooltip still
    read '1 employees'."""
    from shapely.geometry import Point

    from optimiser.present.interactive import _firm_title
    from optimiser.present.layers import Feature

    one = Feature("firm", Point(0, 0), {"id": "a", "name": "Lab", "employees": 1, "sector": "R&D"})
    many = Feature("firm", Point(0, 0), {"id": "b", "name": "Works", "employees": 30, "sector": "R&D"})
    assert _firm_title(1, one).splitlines()[1] == "1 employee · R&D"
    assert _firm_title(2, many).splitlines()[1] == "30 employees · R&D"
