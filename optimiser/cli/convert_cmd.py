"""``siteopt convert SRC DST``: convert a site between formats, chosen by the files' suffixes.

Reads ``.yaml``, ``.yml``, ``.json``, ``.toml``, ``.geojson``, ``.gpkg``, ``.shp`` and ``.fgb``;
writes ``.yaml``, ``.yml``, ``.json``, ``.toml``, ``.geojson`` and ``.gpkg`` (one layer per feature
kind and a ``site`` table: open it in QGIS). The source is validated first (every problem printed,
exit 2, nothing written); the written file is read back and validated. Prints one JSON line
saying what was written.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from optimiser.cli._common import echo_json, echo_problems, fail
from optimiser.errors import ExitCode, InputError
from optimiser.inputs.convert import WRITE_SUFFIXES, convert_site

logger = logging.getLogger(__name__)


@click.command("convert")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@click.option("--id", "site_id", default=None, help="Set the site's id (e.g. for a GIS file without a site table).")
@click.option("--name", default=None, help="Set the site's display name.")
@click.option("--crs", default=None, help="Declare the CRS of SRC's coordinates (when the file does not say).")
@click.option("--working-crs", default=None,
              help="Set the site's working_crs: the projected CRS in metres it is worked in and its runs' layers are "
                   "written in (its coordinates stay in its crs).")
def command(src: Path, dst: Path, overwrite: bool, site_id: str | None, name: str | None, crs: str | None,
            working_crs: str | None) -> None:
    """Convert the site file SRC to DST; the formats come from their suffixes.

    \b
    siteopt convert sites/amp_sbp/site.yaml amp_sbp.gpkg     # edit it in QGIS
    siteopt convert amp_sbp.gpkg site.yaml                   # and back
    siteopt convert site.yaml site_bng.yaml --working-crs EPSG:27700
    """
    if dst.suffix.lower() not in WRITE_SUFFIXES:
        fail(f"cannot write a site as {dst.suffix or '(no suffix)'!r}; use one of {', '.join(WRITE_SUFFIXES)}", ExitCode.INPUT)
    try:
        out = convert_site(src, dst, overwrite=overwrite, id=site_id, name=name, crs=crs,
                           working_crs=working_crs)
    except InputError as exc:
        echo_problems(exc)
        sys.exit(ExitCode.INPUT)
    logger.info("converted %s to %s", src, out)
    echo_json({"source": str(src), "written": str(out), "format": out.suffix.lower().lstrip(".")})
