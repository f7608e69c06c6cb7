"""Label placement (optimiser.present.labels) and the tags of new transit stops: a tag or label
never covers a firm's marker when a spot clear of it exists (with a leader line if it is
farther out)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Annotation, Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from shapely.geometry import Point  # noqa: E402

from optimiser.present.labels import Labeler, overlap_area, renderer  # noqa: E402


def _axes() -> tuple[Figure, Labeler]:
    fig = Figure(figsize=(4, 4), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 400)
    ax.set_ylim(0, 400)
    return fig, Labeler(ax)


def test_a_label_moves_out_past_firm_circles_instead_of_covering_one() -> None:
    # firm circles (soft) on every spot of the first two rings around the anchor: the label went
    # to the nearest of them at ring 1.9 and covered a firm; now it goes farther, on a leader
    fig, lab = _axes()
    anchor = (200.0, 200.0)
    for dx in range(-60, 61, 12):
        for dy in range(-36, 37, 12):
            if (dx, dy) != (0, 0):
                lab.add_symbol((anchor[0] + dx, anchor[1] + dy), 5.0, hard=False)
    lab.add_symbol(anchor, 5.0, hard=True)
    lab.request("S2 social space", anchor, 5.0)
    (ann,) = lab.place()
    rend = renderer(fig)
    ann.update_positions(rend)
    box = Text.get_window_extent(ann, rend)
    assert sum(overlap_area(box, s) for s in lab.soft) == 0
    assert ann.arrow_patch is not None  # moved beyond the first ring: a leader to its symbol


def test_a_label_stays_beside_its_symbol_when_that_is_clear() -> None:
    fig, lab = _axes()
    lab.add_symbol((200.0, 200.0), 5.0, hard=True)
    lab.request("X1", (200.0, 200.0), 5.0)
    (ann,) = lab.place()
    assert ann.arrow_patch is None and ann.xyann == (5.0 * 1.0 + 2.5, 0.0)


def test_a_stop_tag_over_a_firm_is_drawn_beside_it(tmp_path: Path) -> None:
    """A new stop drawn on a firm: its tag (T1) in the square covered the firm's marker and
    number; the tag now goes beside the stop (a small square stays on it), clear of the firm,
    on the plan and on the catchment figure."""
    from optimiser.pipeline import run_scenario
    from optimiser.present.plan import plan_figure
    from optimiser.present.rundir import load_run
    from optimiser.present.transit_plan import catchment_figure
    from tests.test_transit import tram_scenario

    run_scenario(tram_scenario(), tmp_path / "run", render=False)
    run = load_run(tmp_path / "run")
    stop = next(f for f in run.layout.layer("transit_stop") if f.text("status") == "new")
    firm = run.layout.layer("firm")[0]
    firm.geometry = Point(stop.geometry.x + 5.0, stop.geometry.y)  # a firm 5 m from the stop
    checked = 0
    for fig in (plan_figure(run), catchment_figure(run.layout, run.metrics)):
        assert fig is not None
        rend = renderer(fig)
        for ax in fig.axes:
            tags = [t for t in ax.texts + ax.get_children() if isinstance(t, Text) and t.get_text() == "T1"]
            marks = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) == 1
                     and abs(ln.get_xdata()[0] - firm.geometry.x) < 1e-6 and abs(ln.get_ydata()[0] - firm.geometry.y) < 1e-6]
            if not tags or not marks:
                continue
            for t in set(tags):
                if isinstance(t, Annotation):
                    t.update_positions(rend)
                patch = t.get_bbox_patch()
                box = patch.get_window_extent(rend) if patch is not None else Text.get_window_extent(t, rend)
                for m in marks:
                    assert isinstance(m, Line2D)
                    mb = m.get_window_extent(rend)
                    shrunk = Bbox.from_extents(mb.x0 + 1, mb.y0 + 1, mb.x1 - 1, mb.y1 - 1)
                    assert overlap_area(box, shrunk) == 0, (ax.get_gid(), box, mb)
                    checked += 1
    assert checked >= 3  # the plan and both catchment panels
