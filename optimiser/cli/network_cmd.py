"""``siteopt network SCENARIO --out DIR``: build and export the barrier-aware walking network.

Writes (all GeoJSON RFC 7946, WGS84 lon/lat):

- ``network.geojson``: every base-graph edge with ``kind`` (path, connector, crossing);
- ``connectors.geojson``: the connectors alone (entrances, points and crossing ends to the
  nearest walkable point on their side);
- ``candidate_crossings.geojson``: generated and explicit candidate crossings with type,
  cost and penalty;
- ``network.gpkg``: the same in the site's CRS as GeoPackage layers ``network_edges``,
  ``network_nodes`` (with degree and the entrances/points they serve), ``connectors``,
  ``candidate_crossings`` and ``existing_crossings``, with QGIS styles;
- ``summary.json``: nodes, edges, components, firms, unreachable firms and pairs, candidate
  crossings, build seconds (also printed to stdout).

Edges of zero length (an entrance standing exactly on a path) join two nodes at one place; they
are left out of the files (invalid line geometry in GIS) and counted in ``zero_length_edges``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from optimiser.cli._common import echo_problems, refuse_file_out
from optimiser.errors import ExitCode, InputError, ModelError, OutputWriteError
from optimiser.inputs import read_scenario
from optimiser.inputs.domain import Site
from optimiser.inputs.locate import resolve_input
from optimiser.model.size import check_model_size
from optimiser.network.builder import build_walk_network
from optimiser.network.crossings import generate_candidate_crossings
from optimiser.network.features import crossing_features, edge_features, network_summary
from optimiser.network.graph import WalkNetwork
from optimiser.present.geojson import write_geojson
from optimiser.present.gpkg import network_frames, write_gpkg
from optimiser.present.staging import (
    cli_wording,
    created_parents,
    is_disk_full,
    move_into,
    output_write_errors,
    parents_error,
    remove_stage,
    stage_for_render,
    write_new_file,
)

logger = logging.getLogger(__name__)


def _fail(message: str) -> NoReturn:
    """``siteopt network: <message>`` to stderr and exit with :attr:`ExitCode.INPUT`."""
    click.echo(f"siteopt network: {message}", err=True)
    sys.exit(ExitCode.INPUT)


@click.command("network")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output directory (created; must be empty unless --overwrite).")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty output directory.")
def command(scenario: Path, out_dir: Path, overwrite: bool) -> None:
    """Build the walking network of SCENARIO's site and write it as GeoJSON with a summary."""
    refuse_file_out(out_dir, "the network's GeoJSON files and summary are", "network1", "network")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        _fail(f"output directory {out_dir} is not empty; choose another or pass --overwrite")

    try:
        sc = read_scenario(resolve_input(str(scenario)))
    except InputError as exc:
        echo_problems(exc)
        sys.exit(ExitCode.INPUT)

    t0 = time.perf_counter()
    site = sc.site
    active = sc.active_barriers
    try:
        # candidates are laid out one by one: a spacing siteopt run refuses (crossings every 1e-300 m)
        # is refused here too, before it fills the memory (the facility grids are not built here).
        # By memory only: no model is built or solved here, so the solver's time limit (which a run's
        # --time-limit may raise; this command has none) does not apply, nor the firm pairs' share
        check_model_size(dataclasses.replace(sc, facilities=(), social_spaces=None, transit=None), math.inf,
                         network_only=True)
        cands = generate_candidate_crossings(site, active, sc.crossings)
        net = build_walk_network(site, active, candidate_crossings=cands)
    except ModelError as exc:
        _fail(str(exc))
    total = time.perf_counter() - t0

    edges = edge_features(net, kinds=("path", "connector", "crossing"))
    kept = [f for f in edges if f["geometry"].length > 0]
    summary = {"scenario": sc.id, "site": site.id, **network_summary(net)}
    summary["zero_length_edges"] = len(edges) - len(kept)
    summary["candidate_crossings_generated"] = len(cands)
    summary["seconds_total"] = round(total, 4)
    text = json.dumps(summary, indent=2)
    # written new in a private folder, then renamed in: a planted symlink (summary.json -> elsewhere)
    # in an --overwrite folder is replaced, never followed
    try:  # on a full disk, an --out folder made for it is removed again (output_write_errors)
        with cli_wording(), output_write_errors("the network", out_dir):
            _write_network(out_dir, kept, net, site, sc.currency, text)
    except OutputWriteError as exc:
        _fail(str(exc))
    logger.info("network of %s written to %s", site.id, out_dir)
    click.echo(text)


def _write_network(out_dir: Path, kept: list[dict[str, Any]], net: WalkNetwork, site: Site, currency: str, text: str) -> None:
    """The network's files, written new in a private folder and renamed into ``out_dir`` (made
    when absent)."""
    try:
        created_parents(out_dir)
    except OSError as exc:  # a full disk: said by output_write_errors; else the file on the path named
        if is_disk_full(exc):
            raise
        _fail(str(parents_error(exc, out_dir, out_dir)))
    stage = stage_for_render(out_dir)
    try:
        write_geojson(stage / "network.geojson", kept, site.crs)
        write_geojson(stage / "connectors.geojson", [f for f in kept if f["properties"]["kind"] == "connector"], site.crs)
        write_geojson(stage / "candidate_crossings.geojson",
                      crossing_features(net.candidates, kind="candidate", currency=currency), site.crs)
        write_gpkg(stage / "network.gpkg", network_frames(net, kept, site))
        write_new_file(stage / "summary.json", (text + "\n").encode("utf-8"))
        move_into(stage, out_dir)
    finally:
        remove_stage(stage)
