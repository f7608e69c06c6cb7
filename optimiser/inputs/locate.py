"""Finding data files: the data folders, the embedded baseline scenario, the site a scenario names."""

from __future__ import annotations

import importlib.resources
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from optimiser.errors import FileReadError, Problem
from optimiser.inputs.formats import load_mapping, site_file_in
from optimiser.inputs.gis import SITE_FILE_NAMES, SITE_SUFFIXES

logger = logging.getLogger(__name__)

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


def embedded_root() -> Path | None:
    """The package's own data folder (``optimiser/_embedded``) when it holds ``sites/`` or
    ``constraints/``: the case of an installed wheel; ``None`` in a source checkout."""
    try:
        root = Path(str(importlib.resources.files("optimiser._embedded")))
    except ModuleNotFoundError:  # a package built before the data moved in
        return None
    return root if (root / "sites").is_dir() or (root / "constraints").is_dir() else None


def data_roots() -> list[Path]:
    """Folders that may hold ``sites/`` and ``constraints/``, most specific first.

    The ``SITEOPT_HOME`` environment variable, then the data an installed wheel carries
    (``optimiser/_embedded``, found with :mod:`importlib.resources`), then the source checkout
    this package was imported from, then the shared data folder older installs wrote
    (``<prefix>/share/placemaking-optimiser``).

    Returns:
        Those of the folders that exist and hold ``sites/`` or ``constraints/``.
    """
    roots = []
    if os.environ.get("SITEOPT_HOME"):
        roots.append(Path(os.environ["SITEOPT_HOME"]))
    embedded = embedded_root()
    if embedded is not None:
        roots.append(embedded)
    roots.append(Path(__file__).resolve().parents[2])
    roots.append(Path(sys.prefix) / "share" / "placemaking-optimiser")
    return [r for r in roots if (r / "sites").is_dir() or (r / "constraints").is_dir()]


DEFAULT_SCENARIO = "amp_sbp/baseline"
"""The embedded scenario ``siteopt run`` uses when given no file."""


@dataclass(frozen=True)
class EmbeddedFile:
    """An embedded site or scenario: the name to give ``siteopt run`` / ``validate`` and its file.

    Attributes:
        name: ``<site>`` for a site, ``<site>/<scenario>`` for a scenario or batch (e.g.
            ``fremont/baseline``).
        path: the file.
        kind: ``"site"``, ``"scenario"`` or ``"batch"`` (from the file's ``format``).
    """

    name: str
    path: Path
    kind: str = "scenario"


def _first_root_with(sub: str) -> Path | None:
    return next((r / sub for r in data_roots() if (r / sub).is_dir()), None)


def embedded_sites() -> list[EmbeddedFile]:
    """Every embedded site (``sites/<id>/site.<ext>``), sorted by name."""
    folder = _first_root_with("sites")
    out = []
    for d in sorted(folder.iterdir()) if folder is not None else ():
        f = site_file_in(d)
        if f is not None:
            out.append(EmbeddedFile(d.name, f, "site"))
    return out


def _scenario_or_batch(path: Path) -> str:
    """``"batch"`` for a batch file (its ``format``), else ``"scenario"``."""
    data, _ = load_mapping(path)
    fmt = (data or {}).get("format")
    return "batch" if isinstance(fmt, str) and fmt.startswith("placemaking-batch/") else "scenario"


def embedded_scenarios() -> list[EmbeddedFile]:
    """Every embedded scenario and batch file (``constraints/<site>/<name>.<ext>``), sorted by name."""
    folder = _first_root_with("constraints")
    out = []
    for d in sorted(folder.iterdir()) if folder is not None else ():
        if d.is_dir():
            out += [EmbeddedFile(f"{d.name}/{f.stem}", f, _scenario_or_batch(f)) for f in sorted(d.iterdir())
                    if f.is_file() and f.suffix.lower() in SCENARIO_SUFFIXES]
    return out


def embedded_scenario_path(name: str) -> Path | None:
    """The file of the embedded scenario ``<site>/<scenario>`` (``None`` if there is none)."""
    return next((e.path for e in embedded_scenarios() if e.name == name.strip("/")), None)


def resolve_input(arg: str, kind: str = "any") -> Path:
    """A file named on the command line: an existing path as given, else an embedded name
    (``amp_sbp/baseline`` for a scenario, ``fremont`` for a site); ``kind`` "scenario" or
    "site" looks among those embedded names only ("any": scenarios first, then sites).

    Returns:
        The path (as given when it is not an embedded name, so a missing file is reported
        under the name the user typed).
    """
    p = Path(arg)
    try:
        if p.exists() or p.suffix.lower() in SITE_SUFFIXES:
            return p
        scenario = embedded_scenario_path(arg) if kind in ("any", "scenario") else None
        found = scenario or (next((e.path for e in embedded_sites() if e.name == arg.strip("/")), None)
                             if kind in ("any", "site") else None)
    except OSError:  # a name too long for the file system, say: the reader says what it is
        return p
    if found is not None:
        logger.debug("%s is the embedded %s", arg, found)
        return found
    return p


def embedded_names_hint() -> str:
    """A hint listing the embedded scenario names (every one)."""
    names = [e.name for e in embedded_scenarios() if e.kind == "scenario"]
    if not names:
        return "check the path"
    return "give a scenario file, or one of the embedded scenarios: " + ", ".join(names) + " (siteopt list)"


def default_scenario_path() -> Path:
    """The embedded AMP-SBP baseline scenario file.

    Raises:
        FileReadError: no data folder holds ``constraints/amp_sbp/baseline.yaml``.
    """
    for root in data_roots():
        p = root / "constraints" / f"{DEFAULT_SCENARIO}.yaml"
        if p.is_file():
            return p
    raise FileReadError(
        [
            Problem(
                "constraints/amp_sbp/baseline.yaml",
                "",
                "the embedded AMP-SBP baseline was not found",
                "install the wheel (it carries the sites), install from a source checkout (pip install -e .) or set SITEOPT_HOME",
            )
        ]
    )


def _site_roots(scenario_path: Path | None) -> list[Path]:
    """The folders whose ``sites/`` a site id is looked up in, in order: the scenario's folder and
    those above it that have one, then the data roots."""
    base = scenario_path.parent if scenario_path is not None else Path.cwd()
    return [d for d in [base, *base.parents] if (d / "sites").is_dir()] + data_roots()


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
    for root in _site_roots(scenario_path):
        for fname in SITE_FILE_NAMES:
            p = root / "sites" / ref / fname
            looked.append(p)
            if p.is_file():
                logger.debug("site %r is %s", ref, p)
                return p, looked
    return None, looked


def site_ids(scenario_path: Path | None) -> list[str]:
    """The site ids a scenario's ``site`` may name, where :func:`resolve_site_ref` looks: each
    ``sites/<id>/`` holding a site file, beside the scenario (or above it) and in the data roots."""
    ids: list[str] = []
    for root in _site_roots(scenario_path):
        try:
            folders = sorted((root / "sites").iterdir())
        except OSError:
            continue
        ids += [d.name for d in folders if d.is_dir() and any((d / n).is_file() for n in SITE_FILE_NAMES)]
    return list(dict.fromkeys(ids))


def display_path(path: Path) -> Path:
    """``path`` relative to the working folder when it lies inside it (as users type it)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows: no relative path exists
        return path
    return Path(rel) if not rel.startswith("..") else path
