"""``siteopt list``: the embedded sites and scenarios, by the names ``run`` and ``validate`` take.

An installed wheel carries them (``optimiser/_embedded``); a source checkout reads ``sites/`` and
``constraints/``. ``siteopt run fremont/baseline`` runs an embedded scenario from any directory.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from optimiser.cli._common import echo_json
from optimiser.inputs.formats import load_mapping
from optimiser.inputs.locate import DEFAULT_SCENARIO, EmbeddedFile, data_roots, embedded_scenarios, embedded_sites

logger = logging.getLogger(__name__)


def _describe(entry: EmbeddedFile, kind: str) -> dict[str, Any]:
    data, _ = load_mapping(entry.path)
    data = data or {}
    out: dict[str, Any] = {"name": entry.name, "kind": kind, "title": str(data.get("name") or data.get("id") or ""),
                           "path": str(entry.path)}
    if kind == "site":
        out["illustrative"] = bool(data.get("illustrative", False))
    out["default"] = entry.name == DEFAULT_SCENARIO
    return out


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def command(as_json: bool) -> None:
    """List the embedded sites and scenarios (give a scenario's name to `siteopt run`)."""
    rows = [_describe(e, e.kind) for e in [*embedded_sites(), *embedded_scenarios()]]
    if as_json:
        echo_json(rows)
        return
    width = max((len(r["name"]) for r in rows), default=10) + 2
    for kind, head in (("site", "Embedded sites (siteopt validate NAME)"), ("scenario", "Embedded scenarios (siteopt run NAME)"),
                       ("batch", "Embedded batches (siteopt batch NAME --out DIR)")):
        click.echo(f"{head}:")
        for r in (r for r in rows if r["kind"] == kind):
            note = " [illustrative]" if r.get("illustrative") else (" [default]" if r.get("default") else "")
            click.echo(f"  {r['name']:<{width}}{r['title']}{note}")
    roots = data_roots()
    click.echo(f"Data folder: {roots[0] if roots else '(none found: install the wheel or set SITEOPT_HOME)'}")
