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

A batch is judged as ``siteopt batch`` runs it (:func:`optimiser.batch.spec.check_base`): its
base scenario with each item's values applied. A base invalid on its own that every item mends
(a placeholder budget the sweep replaces) is valid, with one line ``FILE: base: note: ...``
saying so; a base problem some items keep is a problem of each of them (``FILE: item 0 (name):
field: ...``); a swept site's problem is the site's own line, once, naming the items that use it.

``--json`` prints a JSON list of the problems instead (``[]`` when there are none), each
``{"file", "field", "reason", "hint"}``, followed by the warnings, each
``{"file", "field", "reason", "hint", "warning": code}``; a note (neither a problem nor a
warning, even under ``--strict``) is its text line on stderr instead, so the list stays ``[]``
for valid files; the exit status is the same.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import click

from optimiser.checkfiles import FileReport, check_file, unseen_problems
from optimiser.cli.logging_setup import current_settings, report_internal_error
from optimiser.errors import ExitCode, Problem, SiteWarning
from optimiser.inputs.crs import neighbour_zone_reason, parse_crs
from optimiser.inputs.currency import SYMBOLS, money_text
from optimiser.inputs.locate import resolve_input
from optimiser.inputs.plausibility import lonlat_transform
from optimiser.model.constraints import counted

logger = logging.getLogger(__name__)


def _hemisphere(v: float, pos: str, neg: str) -> str:
    return f"{abs(v):.2f}° {pos if v >= 0 else neg}"


def _middle(points: list[Any]) -> tuple[float, float]:
    """The middle of ``points`` (shapely points): the median of their x and of their y."""
    xs = sorted(p.x for p in points)
    ys = sorted(p.y for p in points)
    return xs[len(xs) // 2], ys[len(ys) // 2]


def _site_position(site: Any) -> str:
    """Where the site is, for the summary line: the middle of its firms in latitude and longitude
    and the CRS it is worked in (with the one its file is in when they differ), so a site given
    as [latitude, longitude] or in the neighbouring UTM zone, which no rule can tell from a real
    place, shows where it landed (e.g. "at 8.50° N, 47.40° E" for Zürich given swapped)."""
    points = [f.location for f in site.firms] or [p.geometry.centroid for p in site.parcels]
    if not points:
        return ""
    crs = parse_crs(site.crs)
    if crs is None:
        return ""
    lon, lat = lonlat_transform(crs)(*_middle(points))
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return ""
    worked = f"worked in {site.crs} ({crs.name})"
    if site.source_crs != site.crs:
        worked += f", reprojected from {site.source_crs}"
        source = parse_crs(site.source_crs)
        if source is not None and source.is_geographic and abs(lon) <= 90:
            worked += (f"; read as [longitude, latitude]: given as [latitude, longitude] it would be at "
                       f"{_hemisphere(lon, 'N', 'S')}, {_hemisphere(lat, 'E', 'W')}")
    return f"at {_hemisphere(lat, 'N', 'S')}, {_hemisphere(lon, 'E', 'W')}, {worked}"


def _site_summary(site: Any) -> str:
    active = [b.id for b in site.barriers if b.default_on]
    layers = list(site.layers)
    parts = [
        counted(len(site.firms), "firm"),
        f"{sum(f.employees for f in site.firms)} employee{'' if sum(f.employees for f in site.firms) == 1 else 's'}",
        counted(len(site.parcels), "parcel"),
        counted(len(site.barriers), "barrier") + (f" ({', '.join(active)} on by default)" if active else ""),
        counted(len(site.paths), "path"),
        counted(len(site.crossings), "existing crossing"),
    ]
    if layers:
        parts.append("layers: " + ", ".join(layers))
    text = f"site {site.id!r}: " + ", ".join(parts)
    where = _site_position(site)
    if where:
        text += f"; {where}"
    if site.illustrative:
        text += "; illustrative, not surveyed"
    return text


def _budget_text(budget: float, currency: str) -> str:
    """The budget in full, with the code after an amount written with a symbol (``€3,000,000
    (EUR)``) and not twice when the code is what it is written with (``JPY 420,000,000``)."""
    text = money_text(budget, currency)
    return f"{text} ({currency})" if currency in SYMBOLS else text


def _stops_text(lo: int, hi: int) -> str:
    """'1 new stop', '1-2 new stops' (a transit count range)."""
    return counted(hi, "new stop") if lo == hi else f"{lo}-{hi} new stops"


def _scenario_summary(scn: Any) -> str:
    on = ", ".join(b.id for b in scn.active_barriers) or "none"
    where = _site_position(scn.site)
    zone = _zone_hint(scn)
    return (
        f"scenario {scn.id!r} on site {scn.site.id!r}" + (f" ({where})" if where else "") + f": {counted(len(scn.site.firms), 'firm')}, "
        f"budget {_budget_text(scn.budget, scn.currency)}, {counted(len(scn.facilities), 'facility type')}, "
        f"social spaces {'yes' if scn.social_spaces is not None else 'no'}, "
        f"{counted(len(scn.crossings.types), 'crossing type')}, barriers on: {on}"
        + (f"; transit: {_stops_text(scn.transit.count.min, scn.transit.count.max)}, {scn.transit.objective} within "
           f"{scn.transit.catchment_m:g} m" if scn.transit is not None else "")
        + (f"; {counted(len(scn.futures), 'future')} ({', '.join(f.name for f in scn.futures)}), one plan by {scn.robust}"
           if scn.futures else "")
        + (f"; check the UTM zone: {zone}" if zone else "")
    )


def _zone_hint(scn: Any) -> str | None:
    """:func:`~optimiser.inputs.crs.neighbour_zone_reason` for a scenario's site worked in the CRS
    its file gives (the middle of its firms)."""
    site = scn.site
    if site.source_crs != site.crs or not site.firms:
        return None
    return neighbour_zone_reason(site.crs, _middle([f.location for f in site.firms]), scn.currency)


def _summary(r: FileReport) -> str | None:
    """One-line description of a valid file."""
    if r.scenario is not None:
        return _scenario_summary(r.scenario)
    if r.site is not None:
        return _site_summary(r.site)
    if r.batch is not None:
        dropped = r.batch.duplicates
        same = (f"; {counted(len(dropped), 'duplicate item')} dropped, e.g. {dropped[0][0]!r} is the same run as "
                f"{dropped[0][1]!r}" if dropped else "")
        return f"batch {r.batch.id!r}: {counted(len(r.batch.items), 'item')} over {r.batch.base_path}{same}"
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
        problems = unseen_problems(r, seen)  # a site given before its scenario: its problems once
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
        for note in r.notes:  # not a problem: with --json on stderr, the JSON list stays problems and warnings
            click.echo(f"{path}: base: note: {note}", err=as_json)
        summary = _summary(r) if r.ok and not as_json else None
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
