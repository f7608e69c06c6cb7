"""The ``siteopt`` console entry point (``[project.scripts]`` in pyproject.toml), before any heavy
import.

``siteopt`` spends its first tenth of a second or more importing click and the command line
(more on a busy machine). A Ctrl-C then raised ``KeyboardInterrupt`` inside an import and printed
Python's traceback; later, the command line turns it into ``siteopt: interrupted`` and exit 130
(:func:`optimiser.cli.main`). :func:`main` imports the command line itself, so an interrupt there,
or one that escapes the command line anywhere, ends the same way: one line on stderr, exit 130.
This module imports nothing but the standard library's ``os``, ``signal`` and ``sys``.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["main", "INTERRUPTED_LINE"]

INTERRUPTED_LINE = "siteopt: interrupted"
"""What an interrupted ``siteopt`` writes on stderr (exit 130)."""
_INTERRUPTED = 130
"""``optimiser.errors.ExitCode.INTERRUPTED`` (128 + SIGINT), not imported: that would be an import to interrupt."""


def _interrupted() -> None:
    """End the process at once with exit 130 and one line: a half-done import leaves nothing worth
    the interpreter's teardown (in which a second Ctrl-C would print a traceback of its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while leaving: ignored
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written to it
            pass
    try:
        os.write(2, f"\n{INTERRUPTED_LINE}\n".encode())
    except OSError:  # stderr closed: the exit status says it
        pass
    os._exit(_INTERRUPTED)


def main() -> None:
    """``siteopt``: :func:`optimiser.cli.main`, with an interrupt during its imports (or one it
    lets escape) ending quietly with exit 130."""
    try:
        from optimiser.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        _interrupted()
