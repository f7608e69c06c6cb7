"""Draw a run: ``plan.png`` / ``plan.svg``, ``distance.png`` / ``distance.svg`` and
``report.html``, from a :class:`~optimiser.present.layers.RunData` in memory.

The one place that puts the plan, the distance map and the report together; it depends on
them (never the other way round) and not on how the run was obtained: the pipeline passes
the run it has just written, ``siteopt render`` the run read back from disk
(:func:`optimiser.present.rundir.render_run`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optimiser.present.distance import distance_figure
from optimiser.present.figure import figure_png, names_without_glyphs, save_figure
from optimiser.present.forking import FORK_ENABLED, end_process, fork_helps, send_failure
from optimiser.present.layers import RunData
from optimiser.present.plan import plan_figure
from optimiser.present.report import look_up_crs, report_awaiting_plan
from optimiser.present.staging import write_new_file
from optimiser.present.transit_plan import catchment_figure

logger = logging.getLogger(__name__)

__all__ = ["render_run_data", "RENDERED_FILES"]

RENDERED_FILES = ("plan.png", "plan.svg", "distance.png", "distance.svg", "report.html")


def render_run_data(run: RunData, into: Path | None = None) -> list[Path]:
    """Draw the plan, the distance map and the report of ``run`` into ``into`` (default
    ``run.run_dir``), each file carrying the run's id (PNG text chunk, SVG ``dc:identifier``,
    HTML ``<meta name="siteopt-run-id">``).

    ``into`` must be a folder this run created (a staging folder): every file is created new
    there (``O_EXCL | O_NOFOLLOW``), so nothing is written through a planted symlink.

    With transit catchments in the layout, ``catchment.png`` / ``catchment.svg`` too (before
    ``report.html``).

    Returns:
        The paths written, in :data:`RENDERED_FILES` order.
    """
    t = time.perf_counter()
    folder = into if into is not None else run.run_dir
    figures: dict[str, bytes] = {}
    boxed = names_without_glyphs(sorted({str(f.props.get("name")) for f in run.layout.features if f.props.get("name")}))
    if boxed:
        logger.warning("%d name(s) hold characters the plans' font cannot draw (shown as boxes in plan.png/.svg; the report "
                       "shows them): %s", len(boxed), ", ".join(repr(n) for n in boxed[:5]) + (" ..." if len(boxed) > 5 else ""))
    look_up_crs(run.metrics)  # before the plan's process is forked: it inherits what was looked up
    with _plan_drawn_aside(run, folder) as plan_files:
        out = [] if plan_files is not None else _draw_map(run, "plan", folder, figures)
        out += _draw_map(run, "distance", folder, figures)
        out += _draw_catchments(run, folder, figures)
        # the page is rendered while the plan may still be drawn aside; its image goes in last
        report_page = report_awaiting_plan(run, figures["distance"], transit_png=figures.get("catchment"))
        if plan_files is not None:
            paths, figures["plan"] = plan_files.result()
            out = [*paths, *out]
    out.append(write_new_file(folder / "report.html", report_page(figures["plan"]).encode("utf-8")))
    logger.info("rendered %s in %.2f s", run.run_dir, time.perf_counter() - t)
    return out


_MAPS = {"plan": plan_figure, "distance": distance_figure}


def _draw_catchments(run: RunData, folder: Path, figures: dict[str, bytes]) -> list[Path]:
    """With transit catchments in the layout, ``catchment.png`` / ``.svg`` (its PNG bytes also
    into ``figures``); nothing otherwise."""
    catchments = catchment_figure(run, run.metrics) if run.layout.layer("transit_catchment") else None
    if catchments is None:
        return []
    figures["catchment"] = figure_png(catchments, run_id=run.metrics.run_id)
    return [write_new_file(folder / "catchment.png", figures["catchment"]),
            save_figure(catchments, folder / "catchment.svg", run_id=run.metrics.run_id)]


def _draw_map(run: RunData, name: str, folder: Path, figures: dict[str, bytes] | None = None) -> list[Path]:
    """Draw the map ``name`` (plan or distance) into ``folder`` as PNG and SVG; its PNG bytes
    also into ``figures``."""
    fig = _MAPS[name](run)
    png = figure_png(fig, run_id=run.metrics.run_id)
    if figures is not None:
        figures[name] = png
    return [write_new_file(folder / f"{name}.png", png), save_figure(fig, folder / f"{name}.svg", run_id=run.metrics.run_id)]


class _Aside:
    """The plan drawn by a forked child process (:func:`_plan_drawn_aside`)."""

    def __init__(self, process: Any, conn: Any):
        self.process, self.conn = process, conn

    def result(self) -> tuple[list[Path], bytes]:
        """The files the child wrote and the plan's PNG; its exception raised here if it failed."""
        ok, value = self.conn.recv()
        self.process.join()
        if not ok:
            raise value
        paths, png = value
        return [Path(v) for v in paths], png

    def stop(self) -> None:
        end_process(self.process)
        self.conn.close()


def _child_draws_plan(run: RunData, folder: Path, conn: Any) -> None:
    """In the child: draw the plan, send back the paths written (or the exception). A Ctrl-C
    reaches the parent, which stops this child (SIGTERM); it never prints a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        figures: dict[str, bytes] = {}
        paths = _draw_map(run, "plan", folder, figures)
        conn.send((True, ([str(p) for p in paths], figures["plan"])))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it as if drawn there
        send_failure(conn, exc, "drawing the plan")
    finally:
        conn.close()


@contextlib.contextmanager
def _plan_drawn_aside(run: RunData, folder: Path) -> Iterator[_Aside | None]:
    """The plan drawn in a forked child process while this one draws the distance map, when
    the machine has two or more cores for this process (the figures are the same either way:
    the child runs the same code on the same data); ``None`` when drawn here. The child is
    stopped if this process leaves early (an error, a second Ctrl-C)."""
    aside = None
    if fork_helps(_PARALLEL):
        ctx = multiprocessing.get_context("fork")
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child_draws_plan, args=(run, folder, child_conn), name="siteopt-plan")
        try:
            process.start()
            aside = _Aside(process, parent_conn)
        except OSError as exc:  # no fork (resource limits): draw it here
            logger.info("plan drawn in this process (%s)", exc)
        child_conn.close()
    try:
        yield aside
    finally:
        if aside is not None:
            aside.stop()


_PARALLEL = FORK_ENABLED
"""Draw the plan in a child process (:data:`~optimiser.present.forking.FORK_ENABLED`)."""
