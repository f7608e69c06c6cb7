"""``siteopt schema``: print the JSON Schema of the site and scenario formats."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from optimiser.errors import ExitCode
from optimiser.inputs.schema import json_schema_text

logger = logging.getLogger(__name__)


@click.command("schema")
@click.option("--check", "check_path", type=click.Path(dir_okay=False), default=None,
              help="Exit 1 if this committed schema file differs from the code's.")
def command(check_path: str | None) -> None:
    """Print the JSON Schema generated from the code (constraints/schema.json is this)."""
    text = json_schema_text()
    if check_path:
        p = Path(check_path)
        try:
            stale = p.read_text(encoding="utf-8", errors="replace") != text  # not UTF-8: stale too
            why = "is stale"
        except FileNotFoundError:
            stale, why = True, "does not exist"
        except OSError as exc:  # a folder, no permission ...: not the code's schema either
            stale, why = True, f"cannot be read ({exc.strerror or exc})"
        if stale:
            click.echo(f"siteopt: {check_path} {why}; regenerate with: siteopt schema > {check_path}", err=True)
            sys.exit(ExitCode.INTERNAL)  # 1, as documented: the committed schema is not the code's
        click.echo(f"{check_path}: up to date")
        return
    click.echo(text, nl=False)
