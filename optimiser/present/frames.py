"""Runs and sites as GeoDataFrames, in the spirit of osmnx's ``graph_to_gdfs``.

:func:`run_to_gdfs` gives a run directory's layers (``layout.gpkg``; for a run written before it
existed, the same layers rebuilt from ``layout.geojson``); :func:`site_to_gdfs` a site's layers,
either as its file says them (a path: the file's CRS and every attribute, the inverse of
:func:`optimiser.inputs.site.site_from_gdfs`) or from a validated site (working CRS, metres).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimiser.errors import FileReadError
from optimiser.inputs.domain import Site
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.gis import site_to_frames, typed_column
from optimiser.inputs.locate import resolve_input
from optimiser.lazy import lazy_module
from optimiser.present.gpkg import LAYOUT_GPKG, frames_from_features, read_gpkg
from optimiser.present.rundir import load_run

if TYPE_CHECKING:  # the real modules for mypy; loaded on first use at run time (optimiser.lazy)
    import geopandas as gpd
    import pandas as pd
else:
    gpd = lazy_module("geopandas")
    pd = lazy_module("pandas")

logger = logging.getLogger(__name__)

__all__ = ["run_to_gdfs", "site_to_gdfs"]


def run_to_gdfs(run_dir: str | os.PathLike[str]) -> dict[str, gpd.GeoDataFrame]:
    """A run's layers as GeoDataFrames in the site's CRS, by layer name (``firms``, ``parcels``,
    ``new_crossings``, ``existing_crossings``, ``facilities``, ``social_spaces``,
    ``coverage_areas``, ``routes_before``, ``routes_after``, ``candidates_not_chosen``...).

    Raises:
        FileReadError: not a run directory, or its files unreadable.
    """
    gpkg = Path(run_dir) / LAYOUT_GPKG
    if gpkg.is_file():
        return read_gpkg(gpkg)
    run = load_run(Path(run_dir))
    logger.info("%s has no %s; layers rebuilt from layout.geojson", run_dir, LAYOUT_GPKG)
    return frames_from_features(((f.layer, f.geometry, f.props) for f in run.layout.features), run.crs)


def _gdf(rows: list[dict[str, Any]], geoms: list[Any], crs: str) -> gpd.GeoDataFrame:
    cols = list(rows[0]) if rows else []
    return gpd.GeoDataFrame({c: typed_column([r[c] for r in rows]) for c in cols},
                            geometry=gpd.GeoSeries(geoms, crs=crs), index=pd.RangeIndex(len(rows)))


def _from_site(site: Site) -> dict[str, pd.DataFrame]:
    crs = site.crs
    return {
        "parcels": _gdf([{"id": p.id, "name": p.name, "status": p.status.value} for p in site.parcels],
                        [p.polygon for p in site.parcels], crs),
        "firms": _gdf([{"id": f.id, "name": f.name, "employees": f.employees, "sector": f.sector, "fixed": f.fixed,
                        "parcel": f.parcel_id} for f in site.firms], [f.location for f in site.firms], crs),
        "barriers": _gdf([{"id": b.id, "name": b.name, "kind": b.kind.value, "width_m": b.width_m,
                           "scenario_layer": b.layer, "default_on": b.default_on, "no_build": b.no_build}
                          for b in site.barriers], [b.centreline for b in site.barriers], crs),
        "paths": _gdf([{"id": w.id, "name": w.name, "kind": w.kind} for w in site.paths], [w.line for w in site.paths], crs),
        "existing_crossings": _gdf([{"id": c.id, "name": c.name, "barrier": c.barrier_id, "type": c.type,
                                     "penalty_m": c.penalty_m} for c in site.crossings], [c.line for c in site.crossings], crs),
        "exclusion_zones": _gdf([{"id": z.id, "name": z.name, "reason": z.reason} for z in site.exclusion_zones],
                                [z.polygon for z in site.exclusion_zones], crs),
        "crossing_rules": pd.DataFrame({"barrier": [r.barrier_id for r in site.crossing_rules],
                                        "spacing_m": [r.spacing_m for r in site.crossing_rules],
                                        "types": [",".join(r.types) for r in site.crossing_rules]}),
    }


def site_to_gdfs(site: Site | str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """A site's layers as GeoDataFrames (``crossing_rules`` and ``site``: DataFrames).

    Args:
        site: a site file or an embedded site's name (``"fremont"``, ``siteopt list``): its layers
            as the file says them, in its CRS, with the one-row ``site`` table (edit them and pass
            them to :func:`optimiser.inputs.site.site_from_gdfs`); or a validated
            :class:`~optimiser.inputs.domain.Site` (working CRS, metres).

    Raises:
        FileReadError: the file cannot be read.
    """
    if isinstance(site, Site):
        return _from_site(site)
    given = checked_path(site, "site_to_gdfs", "site (a Site or a site file path)")
    data, problems = load_mapping(resolve_input(os.fspath(given), kind="site"))  # a file, or an embedded site's name
    if data is None:
        raise FileReadError(problems)
    return site_to_frames(data)
