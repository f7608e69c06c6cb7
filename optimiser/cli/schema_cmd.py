"""``siteopt schema``: print the JSON Schema of the site and scenario formats."""

from __future__ import annotations

import click


@click.command("schema")
@click.option("--check", "check_path", type=click.Path(dir_okay=False), default=None,
              help="Exit 1 if this committed schema file differs from the code's.")
def command(check_path):
    """Print the JSON Schema generated from the code (constraints/schema.json is this)."""
    import sys
    from pathlib import Path

    from optimiser.inputs.schema import json_schema_text

    text = json_schema_text()
    if check_path:
        p = Path(check_path)
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            click.echo(f"siteopt: {check_path} is stale; regenerate with: siteopt schema > {check_path}", err=True)
            sys.exit(1)
        click.echo(f"{check_path}: up to date")
        return
    click.echo(text, nl=False)
