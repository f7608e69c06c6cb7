"""Logging for the ``siteopt`` command line, configured once per invocation by the group.

Library modules only create loggers (``logging.getLogger(__name__)``); this module is the one
place that attaches a handler. Logs go to stderr, so stdout stays one JSON document.

- default: warnings and errors, as ``siteopt: warning: ...``;
- ``-v``: also info lines; ``-vv``: also debug lines (with time, level and logger name);
- ``-q``: warnings and errors only, even with ``-v`` (and no progress bar);
- ``--debug``: debug lines, and the full traceback of an internal error instead of one line.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TextIO

import click

from optimiser.progress import PROGRESS_LOGGER, enable

logger = logging.getLogger(__name__)

PACKAGE_LOGGER = "optimiser"
"""The logger the CLI's handler is attached to (every module's logger is below it)."""


@dataclass(frozen=True)
class LogSettings:
    """What the verbosity options asked for.

    Attributes:
        verbosity: how often ``-v`` was given (1 info, 2 or more debug).
        quiet: ``-q``: warnings and errors only, and no progress bar.
        debug: ``--debug``: debug logging and tracebacks of internal errors.
    """

    verbosity: int = 0
    quiet: bool = False
    debug: bool = False

    @property
    def level(self) -> int:
        """The logging level these settings ask for."""
        if self.debug:
            return logging.DEBUG
        if self.quiet or self.verbosity <= 0:
            return logging.WARNING
        return logging.INFO if self.verbosity == 1 else logging.DEBUG

    @property
    def progress(self) -> bool:
        """Whether progress bars may be shown."""
        return not self.quiet


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of the record (so a test runner's or a
    progress bar's replacement stream is honoured)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # the base class assigns it once; always stderr
        pass


class _Formatter(logging.Formatter):
    """``%(level)s``: the level name in lower case; progress lines (logger
    ``optimiser.progress``) as ``siteopt: <line>`` when ``plain_progress``."""

    def __init__(self, fmt: str, datefmt: str | None = None, *, plain_progress: bool = False) -> None:
        super().__init__(fmt, datefmt=datefmt)
        self.plain_progress = plain_progress

    def format(self, record: logging.LogRecord) -> str:
        record.level = record.levelname.lower()
        if self.plain_progress and record.name == PROGRESS_LOGGER and record.levelno == logging.INFO:
            return f"siteopt: {record.getMessage()}"
        return super().format(record)


_handler: _StderrHandler | None = None


def configure_logging(settings: LogSettings) -> None:
    """Attach the CLI's stderr handler to the package logger at the level ``settings`` ask for.

    Calling it again replaces the handler (one handler, whatever the number of calls).

    Args:
        settings: the verbosity options.
    """
    global _handler
    pkg = logging.getLogger(PACKAGE_LOGGER)
    reset_logging()
    handler = _StderrHandler()
    if settings.level < logging.WARNING:
        handler.setFormatter(_Formatter("%(asctime)s %(level)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    else:
        handler.setFormatter(_Formatter("siteopt: %(level)s: %(message)s", plain_progress=True))
    pkg.addHandler(handler)
    pkg.setLevel(settings.level)
    _handler = handler
    logger.debug("logging at level %s", logging.getLevelName(settings.level))


def reset_logging() -> None:
    """Remove the CLI's handler and level from the package logger (when the command ends)."""
    global _handler
    pkg = logging.getLogger(PACKAGE_LOGGER)
    if _handler is not None:
        pkg.removeHandler(_handler)
        _handler = None
    pkg.setLevel(logging.NOTSET)
    logging.getLogger(PROGRESS_LOGGER).setLevel(logging.NOTSET)


def show_progress(settings: LogSettings) -> None:
    """Show the run's progress on stderr (phases, incumbent and gap) unless ``-q``."""
    enable(settings.progress)


def current_settings(ctx: click.Context | None = None) -> LogSettings:
    """The settings of the running ``siteopt`` invocation (defaults outside the group, e.g. a
    command invoked on its own in a test)."""
    ctx = ctx if ctx is not None else click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, LogSettings) else LogSettings()


def report_internal_error(exc: BaseException, settings: LogSettings, what: str = "internal error",
                          report_with: str = "the command you ran") -> None:
    """Log an unexpected exception: its traceback under ``--debug``, else one line.

    Args:
        exc: the exception.
        settings: the verbosity options (``debug`` decides on the traceback).
        what: what failed, e.g. ``"FILE: internal error while validating"``.
        report_with: what to attach to a bug report.
    """
    if settings.debug:
        logger.error("%s: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
    else:
        logger.error("%s: %s: %s", what, type(exc).__name__, exc)
    logger.error("This is a bug; please report it with %s%s.", report_with,
                 "" if settings.debug else " (re-run with --debug for the traceback)")
