"""``siteopt network SCENARIO --out DIR``: build and export the barrier-aware walking network.

Writes (all GeoJSON RFC 7946, WGS84 lon/lat):

- ``network.geojson``: every base-graph edge with ``kind`` (path, connector, crossing);
- ``connectors.geojson``: the connectors alone (entrances, points and crossing ends to the
  nearest walkable point on their side);
- ``candidate_crossings.geojson``: generated and explicit candidate crossings with type,
  cost and penalty;
- ``summary.json``: nodes, edges, components, firms, unreachable firms and pairs, candidate
  crossings, build seconds (also printed to stdout).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from optimiser.cli._common import echo_problems

EXIT_INPUT = 2


@click.command("network")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (created; must be empty unless --overwrite).")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty output directory.")
def command(scenario: Path, out_dir: Path, overwrite: bool) -> None:
    """Build the walking network of SCENARIO's site and write it as GeoJSON with a summary."""
    from optimiser.errors import InputError, ModelError
    from optimiser.inputs.reading import read_scenario
    from optimiser.network.graph import (
        build_walk_network,
        crossing_features,
        generate_candidate_crossings,
    )
    from optimiser.present.geojson import write_geojson

    if out_dir.exists() and not out_dir.is_dir():
        click.echo(f"siteopt network: --out {out_dir} exists and is not a directory", err=True)
        sys.exit(EXIT_INPUT)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        click.echo(
            f"siteopt network: output directory {out_dir} is not empty; "
            "choose another or pass --overwrite",
            err=True,
        )
        sys.exit(EXIT_INPUT)

    try:
        sc = read_scenario(scenario)
    except InputError as exc:
        echo_problems(exc)
        sys.exit(EXIT_INPUT)

    t0 = time.perf_counter()
    site = sc.site
    active = sc.active_barriers
    try:
        cands = generate_candidate_crossings(site, active, sc.crossings)
        net = build_walk_network(site, active, candidate_crossings=cands)
    except ModelError as exc:
        click.echo(f"siteopt network: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    total = time.perf_counter() - t0

    out_dir.mkdir(parents=True, exist_ok=True)
    write_geojson(out_dir / "network.geojson",
                  net.to_geojson_features(kinds=("path", "connector", "crossing")), site.crs)
    write_geojson(out_dir / "connectors.geojson",
                  net.to_geojson_features(kinds=("connector",)), site.crs)
    write_geojson(out_dir / "candidate_crossings.geojson",
                  crossing_features(net.candidates, kind="candidate"), site.crs)

    summary = {"scenario": sc.id, "site": site.id, **net.summary()}
    summary["candidate_crossings_generated"] = len(cands)
    summary["seconds_total"] = round(total, 4)
    text = json.dumps(summary, indent=2)
    (out_dir / "summary.json").write_text(text + "\n", encoding="utf-8")
    click.echo(text)
