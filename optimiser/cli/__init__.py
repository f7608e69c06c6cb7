"""The ``siteopt`` command line: a thin click group; each command lives in its own module.

Exit codes (design brief section 7): 0 solved, 2 invalid input or usage, 3 infeasible,
4 no solution within the time limit, 1 internal error.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4

# command name -> module (lazy: `siteopt validate` does not import OR-Tools)
_COMMANDS = {
    "validate": "optimiser.cli.validate_cmd",
    "schema": "optimiser.cli.schema_cmd",
    "network": "optimiser.cli.network_cmd",
    "run": "optimiser.cli.run_cmd",
    "render": "optimiser.cli.render_cmd",
    "compare": "optimiser.cli.compare_cmd",
    "batch": "optimiser.cli.batch_cmd",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, mod in _COMMANDS.items() if importlib.util.find_spec(mod))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        mod = _COMMANDS.get(name)
        if mod is None or importlib.util.find_spec(mod) is None:
            return None
        return importlib.import_module(mod).command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="placemaking-optimiser")
def cli() -> None:
    """Place shared facilities, social spaces and crossings so that walking between firms falls."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors exit 2, unexpected errors exit 1 with one line."""
    try:
        rv = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERNAL)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except Exception as exc:  # noqa: BLE001 - last-resort guard: never a traceback
        click.echo(f"siteopt: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("This is a bug; please report it with the command you ran.", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)
