"""The ``siteopt`` command line: a thin click group; each command lives in its own module.

Exit codes (design brief section 7; :class:`optimiser.errors.ExitCode`): 0 solved, 2 invalid
input or usage, 3 infeasible, 4 no solution within the time limit, 1 internal error, 130
interrupted (SIGINT / SIGTERM; :mod:`optimiser.solve.interrupt`), 141 when the reader of stdout
went away (``siteopt validate ... | head``: ended quietly, :func:`main`).

The group's options ``-v/--verbose``, ``-q/--quiet`` and ``--debug`` set up logging on stderr
(:mod:`optimiser.cli.logging_setup`); stdout carries the commands' JSON. An unexpected exception
in a command is an internal error: logged in one line (its traceback with ``--debug``), exit 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import select
import sys
from typing import Any

import click

from optimiser.cli import exiting
from optimiser.cli.logging_setup import LogSettings, configure_logging, current_settings, report_internal_error, reset_logging
from optimiser.cli.options import verbosity_options
from optimiser.errors import ExitCode
from optimiser.lazy import imports_frozen

logger = logging.getLogger(__name__)

# command name -> module (lazy: `siteopt validate` does not import OR-Tools)
_COMMANDS = {
    "validate": "optimiser.cli.validate_cmd",
    "schema": "optimiser.cli.schema_cmd",
    "network": "optimiser.cli.network_cmd",
    "run": "optimiser.cli.run_cmd",
    "render": "optimiser.cli.render_cmd",
    "compare": "optimiser.cli.compare_cmd",
    "batch": "optimiser.cli.batch_cmd",
    "convert": "optimiser.cli.convert_cmd",
    "list": "optimiser.cli.list_cmd",
}


_SHORT_HELP = {
    "batch": "Run every scenario of the batch FILE (placemaking-batch/1)...",
    "compare": "Compare two or more run directories side by side (same...",
    "convert": "Convert the site file SRC to DST; the formats come from their...",
    "list": "List the embedded sites and scenarios (give a scenario's name...",
    "network": "Build the walking network of SCENARIO's site and write it as...",
    "render": "Re-render plan.png/.svg, distance.png/.svg and report.html...",
    "run": "Solve SCENARIO and write --out.",
    "schema": "Print the JSON Schema generated from the code...",
    "validate": "Check site, scenario and batch FILEs (each told apart by its...",
}
"""Each command's line in ``siteopt --help`` (its docstring's start, as click shortens it), so
that the list does not import every command (``run`` alone loads OR-Tools, SciPy and pydantic);
a test keeps it equal to the commands' own ``get_short_help_str()``."""


class _StdoutClosed(Exception):  # noqa: N818 - a signal, not an error
    """A command's stdout pipe was closed by its reader (``| head``); :func:`main` ends quietly."""


class _LazyGroup(click.Group):
    """Commands imported on use; an unexpected exception in one is reported as an internal error."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, mod in _COMMANDS.items() if importlib.util.find_spec(mod))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their short help, without importing them."""
        rows = [(name, _SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        mod = _COMMANDS.get(name)
        if mod is None or importlib.util.find_spec(mod) is None:
            return None
        with imports_frozen():  # a command's imports are most of its start-up (optimiser.lazy)
            command: click.Command = importlib.import_module(mod).command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError as exc:
            if not _stdout_gone():  # another pipe (stderr, a child's, a connection): a real error
                report_internal_error(exc, current_settings(ctx))
                ctx.exit(ExitCode.INTERNAL)
            raise _StdoutClosed from exc  # the reader of stdout went away: no bug; past click (which exits 1) to main
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: logged (traceback with --debug), exit 1
            report_internal_error(exc, current_settings(ctx))
            ctx.exit(ExitCode.INTERNAL)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone (``poll`` reports an error or hang-up on
    it); ``False`` for a terminal, a file, or a stream without a file descriptor."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="placemaking-optimiser")
@verbosity_options
@click.pass_context
def cli(ctx: click.Context, log: LogSettings) -> None:
    """Place shared facilities, social spaces and crossings so that walking between firms falls."""
    ctx.obj = log
    configure_logging(log)
    ctx.call_on_close(reset_logging)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors exit 2, internal errors exit 1 (see :class:`_LazyGroup`).

    Called without ``argv`` (the ``siteopt`` command, ``python -m optimiser``), a command that
    allows it ends the process without the interpreter's teardown (:mod:`optimiser.cli.exiting`).

    A closed stdout pipe (``siteopt validate ... | head``) ends the command quietly with exit 141
    (128 + SIGPIPE, what a shell reports for a process the signal ends), stdout sent to
    ``os.devnull`` so that the interpreter's last flush does not complain either."""
    try:
        try:
            _main(argv)
        except SystemExit:
            sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's exit
            raise
    except (BrokenPipeError, _StdoutClosed):
        _stdout_to_devnull()
        done = SystemExit(ExitCode.BROKEN_PIPE)
    except SystemExit as exc:
        done = exc
    if argv is None:
        exiting.leave(done.code)  # returns where that is not safe: the normal exit follows
    raise done


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at ``os.devnull`` (the Python documentation's recipe for
    SIGPIPE): what is still buffered goes nowhere instead of raising again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no file (a test's capture): nothing to redirect
        pass


def _main(argv: list[str] | None) -> None:
    try:
        rv = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:  # click's form of KeyboardInterrupt (a second Ctrl-C: stop at once)
        click.echo("siteopt: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.INPUT)
    sys.exit(rv if isinstance(rv, int) else ExitCode.OK)
