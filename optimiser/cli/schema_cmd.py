"""``siteopt schema``: print the JSON Schema of the site and scenario formats."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from optimiser.errors import ExitCode
from optimiser.inputs.safefile import UnsafeFile, read_regular_bytes
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
            raw = read_regular_bytes(p)  # never a FIFO or a device: read_bytes() waited on a FIFO for ever
        except UnsafeFile as exc:  # a FIFO, a device, a file of 64 MiB: given by mistake, never a copy
            click.echo(f"siteopt: {check_path} {exc.reason}: not a copy of the JSON Schema; --check compares a "
                       "committed schema file, e.g. constraints/schema.json", err=True)
            sys.exit(ExitCode.INPUT)
        except FileNotFoundError:
            click.echo(f"siteopt: {check_path} does not exist; write it with: siteopt schema > {check_path}", err=True)
            sys.exit(ExitCode.INTERNAL)  # 1, as documented: there is no committed schema matching the code's
        except OSError as exc:  # no permission, a path through a file ...: not the code's schema either
            click.echo(f"siteopt: {check_path} cannot be read ({exc.strerror or exc}); regenerate with: siteopt schema "
                       f"> {check_path}", err=True)
            sys.exit(ExitCode.INTERNAL)
        if not _is_schema_copy(raw):  # a site or scenario file given by mistake: never advise writing over it
            click.echo(f"siteopt: {check_path} is not a copy of the JSON Schema (its $schema member is missing); "
                       "--check compares a committed schema file, e.g. constraints/schema.json", err=True)
            sys.exit(ExitCode.INPUT)
        if raw.decode("utf-8", errors="replace") != text:  # not UTF-8 (an editor's UTF-16 save): stale too
            click.echo(f"siteopt: {check_path} is stale; regenerate with: siteopt schema > {check_path}", err=True)
            sys.exit(ExitCode.INTERNAL)  # 1, as documented: the committed schema is not the code's
        click.echo(f"{check_path}: up to date")
        return
    click.echo(text, nl=False)


def _is_schema_copy(raw: bytes) -> bool:
    """Whether ``raw`` may be a copy of the schema, stale or not: JSON with a ``$schema`` member,
    text naming the schema's members that is no JSON (a copy with git's conflict markers, or cut
    short), an empty file (a ``siteopt schema >`` that failed), or text that is not UTF-8 at all
    (an editor's UTF-16 save of the copy); a site or scenario file (YAML, JSON without
    ``$schema``) is not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    try:
        data = json.loads(text)
    except ValueError:  # a damaged copy (merge conflict markers, cut short, left empty) is a stale one
        return not text.strip() or '"$schema"' in text or '"$defs"' in text
    return isinstance(data, dict) and "$schema" in data
