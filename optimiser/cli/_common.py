"""Shared helpers for the thin command modules: print problems and JSON, exit with an
:class:`~optimiser.errors.ExitCode`."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from pathlib import Path
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


def refuse_file_out(out: str | Path, writes: str, example: str, command: str = "", *, long_name: bool = True,
                    folder: str = "a new or empty folder") -> None:
    """Exit with :attr:`ExitCode.INPUT` and one line saying what to do when ``--out`` names an
    existing file (or a link to one), before anything is read: ``writes`` says what would go in
    the folder, ``folder`` which folder to give; click's own ``Directory 'x' is a file.`` came with
    a usage block, and compare's ``exists and is not a directory`` said neither why nor what to
    do. ``long_name``: also when the file system refuses the name as too long (batch, network
    and compare ended in 'internal error: OSError: [Errno 36] File name too long', exit 1; run
    says it later, with its limit)."""
    who = f"siteopt {command}" if command else "siteopt"
    try:
        os.stat(out)
    except OSError as exc:
        if long_name and exc.errno == errno.ENAMETOOLONG:
            shown = str(out) if len(str(out)) <= 80 else f"{str(out)[:80]}..."
            click.echo(f"{who}: --out {shown}: the name is too long for the file system (a folder's name may have at "
                       f"most 255 bytes on most): give a shorter --out (nothing was written)", err=True)
            sys.exit(ExitCode.INPUT)
    if os.path.exists(out) and not os.path.isdir(out):  # os.path: a name too long is no error here
        click.echo(f"{who}: --out {out} is a file, not a folder: {writes} written into a folder; give {folder} "
                   f"(e.g. --out {example}), or move or rename the file (nothing was written)", err=True)
        sys.exit(ExitCode.INPUT)
