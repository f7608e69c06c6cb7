"""``siteopt compare RUN RUN... --out DIR``: plans side by side on one extent and one scale."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from optimiser.cli._common import refuse_file_out
from optimiser.errors import ExitCode, InputError, OutputExistsError, OutputWriteError

logger = logging.getLogger(__name__)

__all__ = ["command"]


@click.command("compare")
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Directory for compare.png, compare.svg and compare.html.")
@click.option("--overwrite", is_flag=True, help="Write into OUT even if it is not empty.")
@click.pass_context
def command(ctx: click.Context, runs: tuple[Path, ...], out: Path, overwrite: bool) -> None:
    """Compare two or more run directories side by side (same extent, same colour scales) with a
    table of key metrics, the best run per row marked among runs with a layout on one site and
    one baseline. Prints the written files as JSON."""
    # lazy: the renderer (matplotlib, pyproj) loads only for this command
    from optimiser.present.compare import compare_runs
    from optimiser.present.staging import cli_wording

    if len(runs) < 2:
        click.echo("siteopt compare: give at least two run directories to compare", err=True)
        ctx.exit(ExitCode.INPUT)
        return
    refuse_file_out(out, "compare.png, compare.svg and compare.html are", "compare1", "compare")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        click.echo(f"siteopt compare: --out {out}: directory is not empty (pass --overwrite to write into it)",
                   err=True)
        ctx.exit(ExitCode.INPUT)
        return
    try:
        with cli_wording():  # a full disk is said with --out
            png, html = compare_runs(list(runs), out)
    except InputError as exc:
        for p in exc.problems:
            click.echo(f"siteopt compare: {p}", err=True)
        ctx.exit(ExitCode.INPUT)
        return
    except (OutputExistsError, OutputWriteError) as exc:  # --out cannot be made, or a full disk: nothing written
        click.echo(f"siteopt compare: {exc}", err=True)
        ctx.exit(ExitCode.INPUT)
        return
    logger.debug("compared %d runs into %s", len(runs), out)
    click.echo(json.dumps({"runs": [str(r) for r in runs],
                           "written": [str(png), str(out / "compare.svg"), str(html)]}, indent=2))
