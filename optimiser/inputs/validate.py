"""Checking any input file: a site or a scenario, told apart per file, every problem listed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from optimiser.errors import Problem
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.kinds import detect_kind
from optimiser.inputs.locate import resolve_input
from optimiser.inputs.scenario import check_scenario
from optimiser.inputs.site import check_site

logger = logging.getLogger(__name__)

__all__ = ["detect_kind", "validate_files"]


def validate_files(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Problem]:
    """Check files (sites or scenarios, detected per file); return every problem found.

    Args:
        paths: the files to check, or one file; a file may be an embedded name (``siteopt
            list``: ``"fremont/baseline"``, ``"amp_sbp"``), as ``siteopt validate`` takes it.
            Nothing is written.

    Returns:
        Every problem, in file order, each once (a site named by two scenarios is reported once).

    Raises:
        TypeError: ``paths`` is neither a path nor a collection of paths.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one file, not its characters
    elif isinstance(paths, bytes) or not isinstance(paths, Iterable):
        raise TypeError(f"validate_files() takes a path or a list of paths, got {type(paths).__name__}")
    paths = list(paths)
    for path in paths:
        checked_path(path, "validate_files", "paths")  # each a path (the names shown stay as given)
    problems: list[Problem] = []
    for path in paths:
        file = resolve_input(os.fspath(path))  # a file, or an embedded name
        name = str(path) if file == Path(path) else str(file)
        data, found = load_mapping(file)
        problems.extend(found)
        if data is None:
            continue
        kind = detect_kind(data)
        if kind == "batch":
            problems.append(Problem(name, "format", "this is a batch file; validate_files checks sites and scenarios",
                                    "check it with `siteopt validate FILE` (optimiser.checkfiles.check_files)"))
            continue
        check = check_scenario if kind == "scenario" else check_site
        _, more = check(data, name, file.resolve())
        problems.extend(more)
        logger.debug("validated %s (%s): %d problems", path, kind, len(found) + len(more))
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique
