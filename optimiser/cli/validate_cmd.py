"""``siteopt validate FILE...``: check site and scenario files and report every problem.

Each problem is printed to standard output as one line ``FILE: field.path: reason (hint)``;
a file without problems gets one summary line ``FILE: ok (site 'x': N firms, ...)``. Nothing is
written to disk. Exit status: 0 when every file is valid, 2 when any file has a problem, 1 on
an internal error (a bug; reported in one line, with its traceback under ``siteopt --debug``).

``--json`` prints a JSON list of the problems instead (``[]`` when there are none), each
``{"file", "field", "reason", "hint"}``; the exit status is the same.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from optimiser.cli.logging_setup import current_settings, report_internal_error
from optimiser.errors import ExitCode, InputError, Problem
from optimiser.inputs import load_mapping, read_scenario, read_site, validate_files
from optimiser.inputs.currency import money_text
from optimiser.inputs.validate import detect_kind

logger = logging.getLogger(__name__)


def _site_summary(site: Any) -> str:
    active = [b.id for b in site.barriers if b.default_on]
    layers = list(site.layers)
    parts = [
        f"{len(site.firms)} firm{'s' if len(site.firms) != 1 else ''}",
        f"{sum(f.employees for f in site.firms)} employees",
        f"{len(site.parcels)} parcels",
        f"{len(site.barriers)} barriers" + (f" ({', '.join(active)} on by default)" if active else ""),
        f"{len(site.paths)} paths",
        f"{len(site.crossings)} existing crossings",
    ]
    if layers:
        parts.append("layers: " + ", ".join(layers))
    text = f"site {site.id!r}: " + ", ".join(parts)
    if site.illustrative:
        text += "; illustrative, not surveyed"
    return text


def _scenario_summary(scn: Any) -> str:
    on = ", ".join(b.id for b in scn.active_barriers) or "none"
    return (
        f"scenario {scn.id!r} on site {scn.site.id!r}: {len(scn.site.firms)} firms, "
        f"budget {money_text(scn.budget, scn.currency)} ({scn.currency}), {len(scn.facilities)} facility type(s), "
        f"social spaces {'yes' if scn.social_spaces is not None else 'no'}, "
        f"{len(scn.crossings.types)} crossing type(s), barriers on: {on}"
    )


def _summary(path: str) -> str:
    """One-line description of a valid file (it is read again, which is cheap)."""
    data, _ = load_mapping(path)
    if data is not None and detect_kind(data) == "scenario":
        return _scenario_summary(read_scenario(path))
    return _site_summary(read_site(path))


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.pass_context
def command(ctx: click.Context, files: tuple[str, ...], as_json: bool) -> None:
    """Check site and scenario FILEs; print every problem as FILE: field: reason (hint).

    Sites and scenarios are told apart by their `format` key. Exit status 0 when all are
    valid, 2 when any has a problem. Nothing is written.
    """
    all_problems: list[Problem] = []
    internal = False
    for path in files:
        try:
            problems = validate_files([path])
            summary = None if problems else _summary(path)
        except InputError as exc:  # a file that changed between the two reads
            problems, summary = list(exc.problems), None
        except Exception as exc:  # noqa: BLE001 - a bug: logged (traceback with --debug), exit 1 after the other files
            report_internal_error(exc, current_settings(ctx), f"{path}: internal error while validating", "the file")
            internal = True
            continue
        logger.info("%s: %d problem%s", path, len(problems), "" if len(problems) == 1 else "s")
        all_problems.extend(problems)
        if not as_json:
            for p in problems:
                click.echo(str(p))
            if summary is not None:
                click.echo(f"{path}: ok ({summary})")
    if as_json:
        click.echo(
            json.dumps(
                [{"file": p.file, "field": p.field, "reason": p.reason, "hint": p.hint} for p in all_problems],
                indent=2,
            )
        )
    if internal:
        ctx.exit(ExitCode.INTERNAL)
    ctx.exit(ExitCode.INPUT if all_problems else ExitCode.OK)
