"""Draw a run: ``plan.png`` / ``plan.svg``, ``distance.png`` / ``distance.svg`` and
``report.html``, from a :class:`~optimiser.present.layers.RunData` in memory.

The one place that puts the plan, the distance map and the report together; it depends on
them (never the other way round) and not on how the run was obtained: the pipeline passes
the run it has just written, ``siteopt render`` the run read back from disk
(:func:`optimiser.present.rundir.render_run`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from optimiser.present.distance import distance_figure
from optimiser.present.figure import figure_png, save_figure
from optimiser.present.layers import RunData
from optimiser.present.plan import plan_figure
from optimiser.present.report import write_report
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
    run_id = run.metrics.run_id
    out: list[Path] = []
    figures = {}
    for name, make in (("plan", plan_figure), ("distance", distance_figure)):
        fig = make(run)
        figures[name] = figure_png(fig, run_id=run_id)
        out.append(write_new_file(folder / f"{name}.png", figures[name]))
        out.append(save_figure(fig, folder / f"{name}.svg", run_id=run_id))
    catchments = catchment_figure(run, run.metrics) if run.layout.layer("transit_catchment") else None
    if catchments is not None:
        figures["catchment"] = figure_png(catchments, run_id=run_id)
        out.append(write_new_file(folder / "catchment.png", figures["catchment"]))
        out.append(save_figure(catchments, folder / "catchment.svg", run_id=run_id))
    out.append(write_report(run, figures["plan"], figures["distance"], folder / "report.html",
                            transit_png=figures.get("catchment")))
    logger.info("rendered %s in %.2f s", run.run_dir, time.perf_counter() - t)
    return out
