"""``siteopt render RUN_DIR``: re-render the plans and report of a run from its files only."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from optimiser.errors import ExitCode, InputError, OutputWriteError

logger = logging.getLogger(__name__)

__all__ = ["command"]


@click.command("render")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.pass_context
def command(ctx: click.Context, run_dir: Path) -> None:
    """Re-render plan.png/.svg, distance.png/.svg and report.html for RUN_DIR (no solving).

    RUN_DIR is a directory written by `siteopt run` (it needs metrics.json and layout.geojson;
    pairs.csv and firms.csv are used when present). Prints the written files as JSON.
    """
    # lazy: the renderer (matplotlib, pyproj) loads only for this command
    from optimiser.present.rundir import render_run

    try:
        written = render_run(run_dir)
    except InputError as exc:
        for p in exc.problems:
            click.echo(f"siteopt render: {p}", err=True)
        ctx.exit(ExitCode.INPUT)
        return
    except OutputWriteError as exc:  # a full disk: the run directory's files are as they were
        click.echo(f"siteopt render: {exc}", err=True)
        ctx.exit(ExitCode.INPUT)
        return
    logger.debug("rendered %d files in %s", len(written), run_dir)
    click.echo(json.dumps({"run_dir": str(run_dir), "written": [str(p) for p in written]}, indent=2))
