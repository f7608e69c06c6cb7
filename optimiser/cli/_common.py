"""Shared helpers for the thin command modules: print problems and JSON, exit with an
:class:`~optimiser.errors.ExitCode`."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, NoReturn

import click

from optimiser.errors import ExitCode, InputError
from optimiser.present.jsonready import json_ready

logger = logging.getLogger(__name__)


def echo_problems(exc: InputError) -> None:
    """Print every problem of an InputError to stderr, one per line, and a count."""
    for p in exc.problems:
        click.echo(str(p), err=True)
    n = len(exc.problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", err=True)


def echo_json(data: Any) -> None:
    """JSON to stdout (rio style): one document, indented, inf/nan as null."""
    click.echo(json.dumps(json_ready(data), indent=2))


def fail(message: str, code: ExitCode) -> NoReturn:
    """One line ``siteopt: MESSAGE`` to stderr and exit with ``code``."""
    click.echo(f"siteopt: {message}", err=True)
    sys.exit(code)
