"""report.html and compare.html in real headless Chromium (Playwright, Debian's chromium).

Checks what a designer sees: the title, images decoded (naturalWidth > 0), the tables, a
click on a column heading re-sorting the firm-pair rows, no console errors and no request
other than file:// or data: URLs. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser import BROWSER_MARKS, assert_clean, open_page
from tests.runfixture import make_run_dir

pytestmark = BROWSER_MARKS


def _images_loaded(page) -> list[int]:
    return page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")


def _column(page, table: str, idx: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr", f"rows => rows.map(r => r.cells[{idx}].getAttribute('data-sort') ?? r.cells[{idx}].textContent.trim())")


def test_report_in_chromium(browser, tmp_path: Path) -> None:
    from optimiser.present.rundir import render_run

    run = make_run_dir(tmp_path / "run")
    render_run(run)
    page, events = open_page(browser, run / "report.html")
    assert "Baseline: Parkway only" in page.title()
    assert "Baseline: Parkway only" in page.inner_text("#title")
    widths = _images_loaded(page)
    assert len(widths) == 2 and all(w > 1000 for w in widths), widths
    for tid in ("metrics-table", "placements-table", "pairs-table", "firms-table", "certificate-table",
                "checks-table"):
        assert page.locator(f"#{tid}").is_visible(), tid
    assert page.locator("#pairs-table tbody tr").count() == 15
    # escaped text shows literally
    assert "<with markup & ampersands>" in page.inner_text("#description")

    # sort by "Before (m)" (column 4): ascending, then descending on a second click
    header = page.locator("#pairs-table thead th").nth(4)
    header.click()
    asc = [float(v) for v in _column(page, "pairs-table", 4)]
    assert asc == sorted(asc) and asc != [float(v) for v in sorted(asc, reverse=True)]
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    desc = [float(v) for v in _column(page, "pairs-table", 4)]
    assert desc == sorted(desc, reverse=True)
    # a text column sorts too
    page.locator("#pairs-table thead th").nth(0).click()
    names = [n.lower() for n in _column(page, "pairs-table", 0)]
    assert names == sorted(names)

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.locator("#plans").screenshot(path=str(tmp_path / "report-plans.png"))
    page.locator("#certificate").screenshot(path=str(tmp_path / "report-certificate.png"))
    assert_clean(events)
    assert events["requests"] and all(u.startswith(("file://", "data:")) for u in events["requests"])
    page.close()


def test_compare_in_chromium(browser, tmp_path: Path) -> None:
    from optimiser.present.compare import compare_runs

    runs = [make_run_dir(tmp_path / "a", variant=0), make_run_dir(tmp_path / "b", variant=1)]
    _, html = compare_runs(runs, tmp_path / "cmp")
    page, events = open_page(browser, html)
    assert page.title() == "Scenario comparison"
    widths = _images_loaded(page)
    assert widths and all(w > 1000 for w in widths), widths
    assert page.locator("#compare-table tbody tr").count() >= 6
    assert page.locator("#compare-table td.best").count() >= 6
    assert "★" in page.inner_text("#compare-table")
    # the key-metrics table is shown whole (its last row, Built, is where runs differ), not cut at 560 px
    box = page.eval_on_selector("#key-metrics .scroll", "e => [e.scrollHeight, e.clientHeight, getComputedStyle(e).maxHeight]")
    assert box[0] <= box[1] + 1 and box[2] == "none", box
    built = page.locator("#compare-table tbody tr").last
    assert built.inner_text().startswith("Built") and built.is_visible()
    # runs table sorts by name
    page.locator("#runs-table thead th").nth(1).click()
    page.locator("#runs-table thead th").nth(1).click()
    names = _column(page, "runs-table", 1)
    assert names == sorted(names, reverse=True)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert_clean(events)
    page.close()


def test_numbers_keep_their_unit_on_their_line_on_a_phone(browser, tmp_path: Path) -> None:
    """At 390 px the metrics table broke '1,247 m' into '1,247' over 'm' (AMP-SBP's report):
    a number cell is one line, its table scrolling sideways in its own box, not the page."""
    from optimiser.present.rundir import render_run
    from tests.browser import PHONE

    run = make_run_dir(tmp_path / "run")
    render_run(run)
    page, events = open_page(browser, run / "report.html", PHONE)
    broken = page.eval_on_selector_all("td.n", """cells => cells.filter(td => {
        const r = document.createRange(); r.selectNodeContents(td);
        const tops = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
        return tops.size > 1; }).map(td => td.closest('table').id + ': ' + td.textContent.trim())""")
    assert not broken, broken
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_clean(events)
    page.close()


def test_printed_report_keeps_every_column_on_the_page(browser, tmp_path: Path) -> None:
    """Printed on A4, the placements table (a box scrolling sideways on screen) was cut after its
    fifth column: cost, note and id were lost on paper, and the firm-pair table's box cut its last
    columns (Fremont). Printed, tables wrap to the page."""
    from optimiser.present.rundir import render_run

    run = make_run_dir(tmp_path / "run")
    render_run(run)
    page, events = open_page(browser, run / "report.html", {"width": 718, "height": 1000})  # A4 less margins
    page.emulate_media(media="print")
    cut = page.eval_on_selector_all("body *", """els => els.filter(e => e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflowX !== 'visible').map(e => e.id || e.className)""")  # a box that would scroll
    assert not cut, cut
    assert page.evaluate("document.documentElement.scrollWidth") <= 718
    assert page.locator("#placements-table th").last.is_visible()
    assert_clean(events)
    page.close()


def test_a_long_unbroken_firm_name_does_not_widen_the_page_on_a_phone(browser, tmp_path: Path) -> None:
    """A firm named 'Donaudampfschifffahrts…GmbH' (84 letters, no space) in the interactive plan's
    key widened a 390 px phone's page to 649 px: the page scrolled sideways."""
    import json

    from optimiser.present.rundir import render_run
    from tests.browser import PHONE

    run = make_run_dir(tmp_path / "run")
    layout = json.loads((run / "layout.geojson").read_text())
    firm = next(f for f in layout["features"] if f["properties"].get("layer") == "firm")
    firm["properties"]["name"] = "DonaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaftGmbH"
    (run / "layout.geojson").write_text(json.dumps(layout))
    render_run(run)
    page, events = open_page(browser, run / "report.html", PHONE)
    assert "Donaudampf" in page.inner_text(".map-key")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_clean(events)
    page.close()


LONG_NAME = "DonaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaftGmbH"
LONG_SCENARIO = "Hochgeschwindigkeitsstreckenplanungsalternativenbewertungsverfahrensergebnisvariante"


def _long_named_run(path: Path, variant: int) -> Path:
    """A rendered synthetic run whose first firm has an 84-letter name (in layout.geojson and the
    CSV tables) and, for variant 1, an 84-letter scenario name."""
    import json

    from optimiser.present.rundir import render_run

    run = make_run_dir(path, variant=variant)
    layout = json.loads((run / "layout.geojson").read_text())
    firm = next(f for f in layout["features"] if f["properties"].get("layer") == "firm")
    old, firm["properties"]["name"] = firm["properties"]["name"], LONG_NAME
    (run / "layout.geojson").write_text(json.dumps(layout))
    for table in ("firms.csv", "pairs.csv"):
        (run / table).write_text((run / table).read_text().replace(old, LONG_NAME))
    if variant:
        metrics = json.loads((run / "metrics.json").read_text())
        metrics["scenario"]["name"] = LONG_SCENARIO
        (run / "metrics.json").write_text(json.dumps(metrics))
    render_run(run)
    return run


def test_a_long_unbroken_name_stays_on_the_printed_a4_page(browser, tmp_path: Path) -> None:
    """Printed on A4, an 84-letter firm name (no space) widened the report's firm-pair table to
    1039 px and compare's runs table (an 84-letter scenario name) to 786 px, past the 718 px of A4
    less margins: the page was cut. Printed, a long name breaks within its cell, and a firm name
    column is no narrower than 8em (a word such as 'Technology' is not broken)."""
    from optimiser.present.compare import compare_runs

    runs = [_long_named_run(tmp_path / f"r{v}", v) for v in (0, 1)]
    _, compare = compare_runs(runs, tmp_path / "cmp")
    for page_file in (runs[0] / "report.html", compare):
        page, events = open_page(browser, page_file, {"width": 718, "height": 1000})  # A4 less margins
        page.emulate_media(media="print")
        assert page.evaluate("document.documentElement.scrollWidth") <= 718, page_file.name
        wide = page.eval_on_selector_all("body *", "els => els.filter(e => e.getBoundingClientRect().right > 718.5)"
                                         ".map(e => e.tagName + '#' + e.id)")
        assert not wide, (page_file.name, wide)
        assert LONG_NAME[:20] in page.inner_text("body")
        assert_clean(events)
        page.close()
    page, _ = open_page(browser, runs[0] / "report.html", {"width": 718, "height": 1000})
    page.emulate_media(media="print")
    widths = page.eval_on_selector_all("#pairs-table tbody td:nth-child(2)", "els => els.map(e => e.offsetWidth)")
    em = page.eval_on_selector("#pairs-table", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert min(widths) >= 8 * em
    page.pdf(path=str(tmp_path / "report.pdf"), format="A4")  # Chromium prints it (kept beside the test)
    page.close()


def test_a_column_mixing_units_sorts_each_unit_together(browser, tmp_path: Path) -> None:
    """compare.html's 'What each item buys' mixes metres of walk (a walk run) and staff (a tram
    coverage run) in one Saves column, and £ with $ in Cost: sorted as one number, 300 staff sat
    among the metres. A cell's data-sort-group (its unit or currency) is sorted first."""
    from importlib.resources import files

    from optimiser.present.tables import num_cell

    script = files("optimiser.present").joinpath("templates/sort.js").read_text(encoding="utf-8")
    cells = [num_cell("12.0 m", 12.0, group="m"), num_cell("300 staff", 300, group="staff"),
             num_cell("40.0 m", 40.0, group="m"), num_cell("5 staff", 5, group="staff")]
    rows = "".join(f'<tr><td data-sort="{c.sort}" data-sort-group="{c.group}">{c.text}</td></tr>' for c in cells)
    page_file = tmp_path / "t.html"
    page_file.write_text(f'<!doctype html><table class="sortable" id="t"><thead><tr><th>Saves</th></tr></thead>'
                         f"<tbody>{rows}</tbody></table><script>{script}</script>", encoding="utf-8")
    page, events = open_page(browser, page_file)
    page.locator("#t thead th").click()
    assert page.eval_on_selector_all("#t tbody td", "cs => cs.map(c => c.textContent)") == [
        "12.0 m", "40.0 m", "5 staff", "300 staff"]
    page.locator("#t thead th").click()
    assert page.eval_on_selector_all("#t tbody td", "cs => cs.map(c => c.textContent)") == [
        "300 staff", "5 staff", "40.0 m", "12.0 m"]
    assert_clean(events)
    page.close()
