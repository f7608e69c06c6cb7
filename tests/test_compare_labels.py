"""Firm labels of the distance map and of the compare panels (issue 16, point 3): the plan's site
numbers (one numbering, :func:`optimiser.present.layers.firm_numbers`), a key of full names,
nothing cut, no two label texts overlapping, the same spots in every panel of one site.

Extents are measured as in tests/test_plan_labels.py: each text's window extent from the
figure's own Agg renderer (for a label with a leader line, the text's box only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from optimiser.present.compare import _panel_title, compare_figure, compare_html, firm_keys
from optimiser.present.distance import distance_figure
from optimiser.present.labels import renderer
from optimiser.present.layers import RunData, firm_numbers
from optimiser.present.rundir import load_run


def _box(t: Text, rend) -> Bbox:
    if isinstance(t, Annotation):
        t.update_positions(rend)
    return Text.get_window_extent(t, rend)


def _texts(ax: Axes) -> list[Text]:
    return [t for t in ax.texts if t.get_visible() and t.get_text().strip()]


def _every_text(fig: Figure) -> list[Text]:
    out = [t for t in fig.texts if t.get_text().strip()]
    for ax in fig.axes:
        out += _texts(ax) + [ax.title, ax._left_title]  # type: ignore[attr-defined]
        leg = ax.get_legend()
        out += list(leg.get_texts()) if leg is not None else []
    return out


def _overlaps(boxes: list[tuple[str, Bbox]]) -> list[tuple[str, str]]:
    return [(ta, tb) for i, (ta, ba) in enumerate(boxes) for tb, bb in boxes[i + 1:] if ba.overlaps(bb)]


def _by_gid(texts: list[Text], prefix: str) -> dict[str, Text]:
    return {(t.get_gid() or "").removeprefix(prefix): t for t in texts if (t.get_gid() or "").startswith(prefix)}


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def runs(synthetic_run: Callable[..., Path]) -> list[RunData]:
    return [load_run(synthetic_run("a", variant=0)), load_run(synthetic_run("b", variant=1))]


def test_distance_map_labels_are_the_plan_numbers_never_cut(runs: list[RunData]) -> None:
    run = runs[0]
    fig = distance_figure(run)
    fig.canvas.draw()
    numbers = firm_numbers(run.layout)
    for t in _every_text(fig):
        assert "…" not in t.get_text() and "..." not in t.get_text(), t.get_text()
    ax = fig.axes[0]
    labels = _by_gid(_texts(ax), "dist-label-firm-")
    assert set(labels) == set(numbers) and len(numbers) == 6
    for fid, t in labels.items():
        number, _, value = t.get_text().partition(": ")
        assert number == str(numbers[fid]) and (value.endswith(" m") or value == "no change"), t.get_text()
    # the key: each number beside its firm's full name, as in the plan's key
    key = _by_gid(list(fig.texts), "key-firm-")
    for f in run.layout.layer("firm"):
        assert key[f"{f.id}-tag"].get_text() == str(numbers[f.id])
        assert _flat(f.text("name")) in _flat(key[f.id].get_text())
    rend = renderer(fig)
    boxes = [(t.get_text(), _box(t, rend)) for t in _texts(ax) + list(fig.texts)]
    assert not _overlaps(boxes), _overlaps(boxes)
    for text, bb in boxes:  # everything inside the figure
        assert 0 <= bb.x0 and bb.x1 <= fig.bbox.x1 and 0 <= bb.y0 and bb.y1 <= fig.bbox.y1, text


def test_compare_panels_number_the_firms_with_one_key_and_no_overlaps(runs: list[RunData]) -> None:
    fig, plans, dists = compare_figure(runs)
    fig.canvas.draw()
    rend = renderer(fig)
    numbers = firm_numbers(runs[0].layout)
    assert len(plans) == len(dists) == 2
    key = [(t.get_text(), _box(t, rend)) for t in fig.texts if t.get_text().strip()]
    assert not _overlaps(key), _overlaps(key)
    positions = []
    for i, ax in enumerate(plans + dists):
        labels = [(t.get_text(), _box(t, rend)) for t in _texts(ax)]
        assert len(labels) >= 8
        assert not _overlaps(labels), (i, _overlaps(labels))
        for text, bb in labels:
            assert not any(bb.overlaps(kb) for _, kb in key), text
            assert "…" not in text and "..." not in text
    for i, ax in enumerate(plans):
        firms = _by_gid(_texts(ax), f"run{i}-label-firm-")
        assert {fid: t.get_text() for fid, t in firms.items()} == {fid: str(n) for fid, n in numbers.items()}
        positions.append({fid: tuple(_box(t, rend).extents - ax.bbox.extents) for fid, t in firms.items()})
    for i, ax in enumerate(dists):
        firms = _by_gid(_texts(ax), f"run{i}-dist-label-firm-")
        assert firms and all(t.get_text().split(":")[0] == str(numbers[fid]) for fid, t in firms.items())
    # stable across the panels of one site: the same offset in each panel
    assert positions[0].keys() == positions[1].keys()
    for fid in positions[0]:
        assert positions[0][fid] == pytest.approx(positions[1][fid], abs=0.01), fid
    # one shared key of full names, numbered as the plans
    tags = _by_gid(list(fig.texts), "compare-site0-key-firm-")
    for f in runs[0].layout.layer("firm"):
        assert tags[f"{f.id}-tag"].get_text() == str(numbers[f.id])
        assert _flat(f.text("name")) in _flat(tags[f.id].get_text())
    assert not any(k.startswith("compare-site1-") for k in (t.get_gid() or "" for t in fig.texts))


def test_compare_html_lists_the_firms_by_number(runs: list[RunData], tmp_path: Path) -> None:
    html = compare_html(runs, b"not a png", tmp_path)
    sections = [s for s in firm_keys(runs) if s.title.startswith("Firms")]
    assert len(sections) == 1
    # the panels tag existing crossings and facilities (J1, E1) as plan.png does: named in the page
    site = [s for s in firm_keys(runs) if not s.title.startswith("Firms")]
    assert site and all(e.tag[0] in "JE" for s in site for e in s.entries)
    for s in site:
        for e in s.entries:
            assert f"<dt>{e.tag}</dt><dd>{e.text}</dd>" in html
    numbers = firm_numbers(runs[0].layout)
    for f in runs[0].layout.layer("firm"):
        assert f'<li value="{numbers[f.id]}">{f.text("name")}' in html, f.text("name")


def test_compare_colour_bar_clears_a_long_legend(runs: list[RunData], monkeypatch: pytest.MonkeyPatch) -> None:
    """Four AMP-SBP runs (baseline, HS2, tight budget, tram) gave a legend of 30 symbols that ran
    down into the colour bar of the distance maps: the bar now starts below the legend."""
    from matplotlib.lines import Line2D

    import optimiser.present.compare as compare

    many = [Line2D([], [], color="k", label=f"Symbol {k} of a long legend") for k in range(30)]
    monkeypatch.setattr(compare, "_merge_handles", lambda axes, one_scale=True: list(many))
    fig, _, dists = compare_figure(runs)
    assert dists, "the synthetic runs have distance maps, so a colour bar"
    rend = renderer(fig)
    legend = fig.legends[0].get_window_extent(rend)
    bars = [ax for ax in fig.axes if ax.get_ylabel().startswith("Change in")]
    assert len(bars) == 1
    bar = bars[0].get_tightbbox(rend)  # its ticks and label too
    assert not legend.overlaps(bar), (legend, bar)
    table = next(ax for ax in fig.axes if ax.get_gid() == "compare-table").get_window_extent(rend)
    assert bar.y0 > table.y1


def test_compare_legend_of_different_sites_stays_in_its_column(synthetic_run: Callable[..., Path], tmp_path: Path) -> None:
    """Fremont, a generated site and a tiny site side by side: 'Firm (circle area by staff; each
    site on its own scale)' ran into the key of firms, and 'Existing crossing / junction' came
    three times ('J1–J8', 'J1–J5', 'J1 in the key') for one symbol."""
    from optimiser.inputs import read_scenario
    from optimiser.pipeline import run_scenario
    from tests.sitefiles import write_files

    _site, scen = write_files(tmp_path / "tiny")
    run_scenario(read_scenario(scen), tmp_path / "tiny_run", render=False)
    runs = [load_run(synthetic_run("a")), load_run(tmp_path / "tiny_run")]
    assert runs[0].metrics.site.id != runs[1].metrics.site.id
    fig, _, _ = compare_figure(runs, distance=False)
    fig.draw_without_rendering()  # the legend is placed when drawn
    rend = renderer(fig)
    legend = fig.legends[0]
    labels = [_flat(t.get_text()) for t in legend.get_texts()]
    assert sum(lbl.startswith("Existing crossing / junction") for lbl in labels) == 1, labels
    key = [t for t in fig.texts if (t.get_gid() or "").startswith("compare-site")]
    assert key
    key_left = min(t.get_window_extent(rend).x0 for t in key)
    assert max(t.get_window_extent(rend).x1 for t in legend.get_texts()) < key_left


def test_compare_legend_gives_a_symbol_tagged_per_site_once() -> None:
    """'Existing crossing / junction' came three times (Fremont's 'J1–J8', a generated site's
    'J1–J5', a tiny site's 'J1 in the key') for one black bar."""
    from types import SimpleNamespace

    from matplotlib.lines import Line2D

    from optimiser.present.compare import _merge_handles

    def panel(*labels: str) -> SimpleNamespace:
        return SimpleNamespace(_siteopt_handles=[Line2D([], [], color="k", label=lbl) for lbl in labels])

    axes = [panel("Footpath / footway", "Existing crossing / junction (J1–J8 in the key)"),
            panel("Existing crossing / junction (J1–J5 in the key)"), panel("Existing crossing / junction (J1 in the key)")]
    labels = [_flat(str(h.get_label())) for h in _merge_handles(axes)]  # type: ignore[arg-type]
    assert labels == ["Footpath / footway", "Existing crossing / junction (J1, J2, … in the key)"]
    mixed = [panel("Existing crossing / junction (J1–J8 in the key)"), panel("Existing crossing / junction")]
    assert [_flat(str(h.get_label())) for h in _merge_handles(mixed)] == [  # type: ignore[arg-type]
        "Existing crossing / junction (J1–J8 in the key)"]  # an untagged panel does not drop the tags
    same = [panel("Existing crossing / junction (J1 in the key)"), panel("Existing crossing / junction (J1 in the key)")]
    assert [_flat(str(h.get_label())) for h in _merge_handles(same)] == ["Existing crossing / junction (J1 in the key)"]  # type: ignore[arg-type]


def test_compare_titles_of_a_long_name_keep_to_their_panel_and_column(runs: list[RunData]) -> None:
    """A scenario named at the 200-character limit ran its panel titles into the next panel's and
    its heading in the metrics table across the other runs' columns."""
    from dataclasses import replace

    m = runs[0].metrics.model_copy(deep=True)
    m.scenario.name = ("Masterplan option C: phase two with the northern spine and the enlarged innovation hub, " * 3)[:200]
    fig, plans, dists = compare_figure([replace(runs[0], metrics=m), runs[1]])
    fig.draw_without_rendering()
    rend = renderer(fig)
    for row in (plans, dists):
        left, right = (ax._left_title.get_window_extent(rend) for ax in row)  # type: ignore[attr-defined]
        assert not left.overlaps(right) and left.x1 < right.x0, (left, right)
    table = next(ax for ax in fig.axes if ax.get_gid() == "compare-table")
    cells = table.tables[0].get_celld()
    for col in (1, 2):
        text = cells[0, col].get_text().get_window_extent(rend)
        assert text.x1 <= cells[0, col + 1].get_window_extent(rend).x0 if col == 1 else text.x1 <= fig.bbox.x1
    assert cells[0, 1].get_text().get_text().endswith("…")

def test_a_panel_whose_pairs_were_all_newly_connected_says_so_not_dashes(runs: list[RunData]) -> None:
    """A run whose one firm pair had no walk before (a river, no crossing) was titled 'walk – → –
    · $9.00m' in compare, while its own plan says '1 of 1 firm pair newly connected (mean walk
    526 m)'."""
    run = runs[0]
    walk = run.metrics.walk
    walk.pairs, walk.pairs_compared, walk.pairs_newly_connected = 1, 0, 1
    walk.newly_connected_weighted_mean_m, walk.baseline_weighted_mean_m, walk.optimised_weighted_mean_m = 525.8, None, None
    walk.reduction_pct = None
    head, line = _panel_title(run).split("\n")
    assert line.startswith("1 pair newly connected (mean 526 m) · "), line
    walk.pairs, walk.pairs_compared, walk.baseline_weighted_mean_m, walk.optimised_weighted_mean_m = 3, 2, 800.0, 600.0
    walk.reduction_pct, walk.pairs_newly_connected = 25.0, 2
    assert _panel_title(run).split("\n")[1].startswith("walk 800 → 600 m (−25.0%) · 2 pairs newly connected (mean 526 m) · ")


def test_compare_buys_cells_sort_within_their_currency(runs: list[RunData]) -> None:
    """Two runs in £ and $: the Cost and cost-per-metre cells carry their currency as the sort
    group (sort.js orders each currency by itself); runs in one currency carry none."""
    from dataclasses import replace

    from optimiser.present.buys import compare_buys_table
    from optimiser.present.metrics import ItemAttribution

    items = [ItemAttribution(id="x1", name="Footbridge", kind="crossing", cost=2.5e6, saving_m=12.0),
             ItemAttribution(id="x2", name="Signals", kind="crossing", cost=4.5e5, saving_m=3.0)]
    runs = [replace(r, metrics=r.metrics.model_copy(update={"attribution": items})) for r in runs]
    same = compare_buys_table(runs)
    assert same.rows and all(c.group == "" for row in same.rows for c in row)
    dollars = replace(runs[1], metrics=runs[1].metrics.model_copy(update={"currency": "USD"}))
    mixed = compare_buys_table([runs[0], dollars])
    groups = {(row[0].text, row[2].group, row[4].group) for row in mixed.rows}
    assert groups == {(run_title, cur, cur) for run_title, cur in ((runs[0].name, "GBP"), (dollars.name, "USD"))}, groups
    assert {row[3].group for row in mixed.rows} == {""}  # the savings are all metres


def test_the_firm_size_key_of_one_employee_is_singular(runs: list[RunData]) -> None:
    """A site of small firms (10 staff at most) had 'Firm, 1 employees' in its plan's key and
    compare's; the one-row key still reads its counts ('1 to 10')."""
    from matplotlib.figure import Figure

    from optimiser.present.plan import draw_plan
    from optimiser.present.plan_key import one_size_row
    from optimiser.present.style import PlanStyle

    ax = Figure().add_subplot()
    draw_plan(ax, runs[0].layout, runs[0].metrics, style=PlanStyle(employees_max=10))
    sizes = [str(h.get_label()) for h in ax._siteopt_handles if str(h.get_label()).startswith("Firm, ")]  # type: ignore[attr-defined]
    assert sizes == ["Firm, 1 employee", "Firm, 5 employees", "Firm, 10 employees"]
    row = [str(h.get_label()) for h in one_size_row(ax._siteopt_handles)]  # type: ignore[attr-defined]
    assert "Firm (circle area by staff: 1 to 10)" in row


def test_four_runs_are_two_by_two_and_the_caption_does_not_say_top_and_bottom(runs: list[RunData]) -> None:
    """Four AMP-SBP runs were three panels across and the fourth alone below with two empty
    slots, under a caption 'Top: optimised plans ... Bottom: change in walk per firm' that was
    wrong once the runs wrapped (plan, maps, plan, maps): now two by two, each plan above its map."""
    from optimiser.present.compare import _Grid

    ex = (0.0, 0.0, 1000.0, 600.0)
    assert [_Grid(n, ex, 5, 2).ncols for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 3, 2, 3, 3]
    page = compare_html(runs, b"", Path("out"))
    assert "Top: optimised plans" not in page and "above its change in walk per firm" in page


def test_compare_html_names_a_sites_firms_once_not_once_per_run(runs: list[RunData], tmp_path: Path) -> None:
    """Every interactive map of compare.html had its own 'Key: N numbered firms' under it, so two
    runs of one site listed its firms three times (two map keys and the site's key): now the
    maps point to the one key of each site."""
    import re

    html = compare_html(runs, b"not a png", tmp_path)
    assert len(runs) == 2 and runs[0].metrics.site.id == runs[1].metrics.site.id
    assert 'class="map-key"' not in html and html.count('<section id="firm-keys">') == 1
    assert html.count('<ol class="firm-key">') == 1
    numbers = firm_numbers(runs[0].layout)
    for f in runs[0].layout.layer("firm"):
        assert len(re.findall(rf'<li value="{numbers[f.id]}"[^>]*>{re.escape(f.text("name"))}', html)) == 1
    assert 'named once in the <a href="#firm-keys">key</a>' in html


def test_a_single_runs_report_keeps_the_key_under_its_map(runs: list[RunData]) -> None:
    from optimiser.present.report import render_report

    assert 'class="map-key"' in render_report(runs[0], b"", b"")


def test_compare_html_shows_one_symbol_legend_for_every_map(runs: list[RunData], tmp_path: Path) -> None:
    """Session 26 left compare.html with a symbol legend under each interactive map (two runs: the
    same 'Route after', 'Firm' ... twice); like the key of firms it is now drawn once above the
    maps, every symbol any of them draws named once, in the static plan's order."""
    import re

    from optimiser.present.interactive import map_views

    html = compare_html(runs, b"not a png", tmp_path)
    assert html.count('class="map-legend"') == 1
    legend = html[html.index('class="map-legend"'):html.index('<div class="map-grid">')]
    labels = re.findall(r"</svg> ([^<]+)</li>", legend)
    assert len(labels) == len(set(labels)) and "Route after" in labels
    order = {item.label: item.order for view in map_views(runs) for item in view.legend}
    assert set(labels) == set(order)  # nothing dropped: the union of the maps' legends
    assert [order[t] for t in labels] == sorted(order.values())  # in the static plan's order
    from optimiser.present.report import render_report

    assert render_report(runs[0], b"", b"").count('class="map-legend"') == 1  # a run's report keeps its own
