"""Finding data files: the data folders, the embedded baseline scenario, the site a scenario names."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from optimiser.errors import FileReadError, Problem

logger = logging.getLogger(__name__)

SITE_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".geojson", ".gpkg", ".shp", ".fgb")
SCENARIO_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_SITE_FILE_NAMES = tuple(f"site{s}" for s in SITE_SUFFIXES)
"""File names a site folder ``sites/<id>/`` may use, in the order they are looked for."""


def data_roots() -> list[Path]:
    """Folders that may hold ``sites/`` and ``constraints/``, most specific first.

    The ``SITEOPT_HOME`` environment variable, then the source checkout this package was
    imported from, then the shared data folder a wheel install writes
    (``<prefix>/share/placemaking-optimiser``).

    Returns:
        Those of the folders that exist and hold ``sites/`` or ``constraints/``.
    """
    roots = []
    if os.environ.get("SITEOPT_HOME"):
        roots.append(Path(os.environ["SITEOPT_HOME"]))
    roots.append(Path(__file__).resolve().parents[2])
    roots.append(Path(sys.prefix) / "share" / "placemaking-optimiser")
    return [r for r in roots if (r / "sites").is_dir() or (r / "constraints").is_dir()]


def default_scenario_path() -> Path:
    """The embedded AMP-SBP baseline scenario file.

    Raises:
        FileReadError: no data folder holds ``constraints/amp_sbp/baseline.yaml``.
    """
    for root in data_roots():
        p = root / "constraints" / "amp_sbp" / "baseline.yaml"
        if p.is_file():
            return p
    raise FileReadError(
        [
            Problem(
                "constraints/amp_sbp/baseline.yaml",
                "",
                "the embedded AMP-SBP baseline was not found",
                "install from a source checkout (pip install -e .) or set SITEOPT_HOME",
            )
        ]
    )


def resolve_site_ref(ref: str, scenario_path: Path | None) -> tuple[Path | None, list[Path]]:
    """Find the site file a scenario names: a path relative to the scenario, or a site id.

    Args:
        ref: the scenario's ``site`` value: a file path (with a site suffix or a folder
            separator) or the id of a site under ``sites/``.
        scenario_path: the scenario file (``None``: resolve from the working folder).

    Returns:
        ``(path or None, places looked)``.
    """
    looked: list[Path] = []
    base = scenario_path.parent if scenario_path is not None else Path.cwd()
    cand = Path(ref)
    if cand.suffix.lower() in SITE_SUFFIXES or "/" in ref or os.sep in ref:
        p = cand if cand.is_absolute() else base / cand
        looked.append(p)
        return (p if p.is_file() else None), looked
    roots = [d for d in [base, *base.parents] if (d / "sites").is_dir()] + data_roots()
    for root in roots:
        for fname in _SITE_FILE_NAMES:
            p = root / "sites" / ref / fname
            looked.append(p)
            if p.is_file():
                logger.debug("site %r is %s", ref, p)
                return p, looked
    return None, looked


def display_path(path: Path) -> Path:
    """``path`` relative to the working folder when it lies inside it (as users type it)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows: no relative path exists
        return path
    return Path(rel) if not rel.startswith("..") else path
