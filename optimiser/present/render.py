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
from optimiser.present.transit_plan import catchment_figure

logger = logging.getLogger(__name__)

__all__ = ["render_run_data", "RENDERED_FILES"]

RENDERED_FILES = ("plan.png", "plan.svg", "distance.png", "distance.svg", "report.html")


def _write_png(png: bytes, path: Path) -> Path:
    path.write_bytes(png)
    return path


def render_run_data(run: RunData) -> list[Path]:
    """Draw the plan, the distance map and the report of ``run`` into ``run.run_dir``.

    With transit catchments in the layout, ``catchment.png`` / ``catchment.svg`` too (before
    ``report.html``).

    Returns:
        The paths written, in :data:`RENDERED_FILES` order.
    """
    t = time.perf_counter()
    out: list[Path] = []
    figures = {}
    for name, make in (("plan", plan_figure), ("distance", distance_figure)):
        fig = make(run)
        figures[name] = figure_png(fig)
        out.append(_write_png(figures[name], run.run_dir / f"{name}.png"))
        out.append(save_figure(fig, run.run_dir / f"{name}.svg"))
    catchments = catchment_figure(run, run.metrics) if run.layout.layer("transit_catchment") else None
    if catchments is not None:
        figures["catchment"] = figure_png(catchments)
        out.append(_write_png(figures["catchment"], run.run_dir / "catchment.png"))
        out.append(save_figure(catchments, run.run_dir / "catchment.svg"))
    out.append(write_report(run, figures["plan"], figures["distance"], transit_png=figures.get("catchment")))
    logger.info("rendered %s in %.2f s", run.run_dir, time.perf_counter() - t)
    return out
