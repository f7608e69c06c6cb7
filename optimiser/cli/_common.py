"""Shared helpers for the thin command modules: print problems, map errors to exit codes."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from optimiser.errors import InputError


def echo_problems(exc: InputError) -> None:
    """Print every problem of an InputError to stderr, one per line."""
    for p in exc.problems:
        click.echo(str(p), err=True)
    n = len(exc.problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)


def echo_json(data: Any) -> None:
    """JSON to stdout (rio style): one document, indented, inf/nan as null."""
    from optimiser.present.rundir import _clean

    click.echo(json.dumps(_clean(data), indent=2))


def fail(message: str, code: int) -> None:
    """One line to stderr and exit with ``code``."""
    click.echo(f"siteopt: {message}", err=True)
    sys.exit(code)
