"""``siteopt validate FILE...``: check site, scenario and batch files and report every problem.

Each file's kind comes from its ``format`` (:func:`optimiser.checkfiles.check_files`); every
problem of every file is reported in one pass, a scenario's references into its site included.
Each problem is printed to standard output as one line ``FILE: field.path: reason (hint)``;
each site sanity warning as ``FILE: field.path: warning [code]: message (fix)``; a file without
problems gets one summary line ``FILE: ok (site 'x': N firms, ...)``. A FILE may also be the name
of an embedded site or scenario (``siteopt list``). Nothing is written to disk. Exit status: 0
when every file is valid (warnings allowed), 2 when any file has a problem (or, with
``--strict``, a warning), 1 on an internal error (a bug; reported in one line, with its
traceback under ``siteopt --debug``).

``--json`` prints a JSON list of the problems instead (``[]`` when there are none), each
``{"file", "field", "reason", "hint"}``, followed by the warnings, each
``{"file", "field", "reason", "hint", "warning": code}``; the exit status is the same.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from optimiser.checkfiles import FileReport, check_file
from optimiser.cli.logging_setup import current_settings, report_internal_error
from optimiser.errors import ExitCode, Problem, SiteWarning
from optimiser.inputs.currency import money_text
from optimiser.inputs.locate import resolve_input

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
        + (f"; transit: {scn.transit.count.min}-{scn.transit.count.max} new stop(s), {scn.transit.objective} within "
           f"{scn.transit.catchment_m:g} m" if scn.transit is not None else "")
        + (f"; {len(scn.futures)} futures ({', '.join(f.name for f in scn.futures)}), one plan by {scn.robust}"
           if scn.futures else "")
    )


def _summary(r: FileReport) -> str | None:
    """One-line description of a valid file."""
    if r.scenario is not None:
        return _scenario_summary(r.scenario)
    if r.site is not None:
        return _site_summary(r.site)
    if r.batch is not None:
        dropped = r.batch.duplicates
        same = (f"; {len(dropped)} duplicate item(s) dropped, e.g. {dropped[0][0]!r} is the same run as {dropped[0][1]!r}"
                if dropped else "")
        return f"batch {r.batch.id!r}: {len(r.batch.items)} item(s) over {r.batch.base_path}{same}"
    return None


def _json_entries(problems: list[Problem], warnings: list[SiteWarning]) -> list[dict[str, Any]]:
    return ([{"file": p.file, "field": p.field, "reason": p.reason, "hint": p.hint} for p in problems]
            + [{"file": w.file, "field": w.field, "reason": w.message, "hint": w.fix, "warning": w.code} for w in warnings])


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems (then the warnings) as a JSON list.")
@click.option("--strict", is_flag=True, help="Site sanity warnings are errors (exit 2).")
@click.pass_context
def command(ctx: click.Context, files: tuple[str, ...], as_json: bool, strict: bool) -> None:
    """Check site, scenario and batch FILEs (each told apart by its `format`); print every
    problem as FILE: field: reason (hint) and every site sanity warning as
    FILE: field: warning [code]: message (fix).

    A FILE may be an embedded name (siteopt list), e.g. fremont/baseline. Exit status 0 when
    all are valid (warnings allowed), 2 when any has a problem or, with --strict, a warning.
    Nothing is written.
    """
    all_problems: list[Problem] = []
    all_warnings: list[SiteWarning] = []
    seen: set[Problem | SiteWarning] = set()
    internal = False
    for path in files:
        given = resolve_input(path)
        try:
            r = check_file(given, name=path)
        except Exception as exc:  # noqa: BLE001 - a bug: logged (traceback with --debug), exit 1 after the other files
            report_internal_error(exc, current_settings(ctx), f"{path}: internal error while validating", "the file")
            internal = True
            continue
        problems = [p for p in dict.fromkeys(r.problems) if p not in seen]
        warnings = [w for w in dict.fromkeys(r.warnings) if w not in seen]
        seen.update(problems)
        seen.update(warnings)
        logger.info("%s (%s): %d problem%s, %d warning%s", path, r.kind or "unreadable", len(problems),
                    "" if len(problems) == 1 else "s", len(warnings), "" if len(warnings) == 1 else "s")
        all_problems.extend(problems)
        all_warnings.extend(warnings)
        if not as_json:
            for p in problems:
                click.echo(str(p))
            for w in warnings:
                click.echo(str(w))
            summary = _summary(r) if r.ok else None
            if summary is not None:
                click.echo(f"{path}: ok ({summary})")
    if as_json:
        click.echo(json.dumps(_json_entries(all_problems, all_warnings), indent=2))
    elif all_warnings:
        n = len(all_warnings)
        click.echo(f"{n} warning{'s' if n != 1 else ''}" + (" (errors under --strict)" if strict else "; --strict makes them errors"))
    if internal:
        ctx.exit(ExitCode.INTERNAL)
    ctx.exit(ExitCode.INPUT if all_problems or (strict and all_warnings) else ExitCode.OK)
