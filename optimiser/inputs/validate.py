"""Checking any input file: a site or a scenario, told apart per file, every problem listed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from optimiser.errors import Problem
from optimiser.inputs.formats import load_mapping
from optimiser.inputs.scenario import check_scenario
from optimiser.inputs.schema import SCENARIO_FORMAT, SITE_FORMAT
from optimiser.inputs.site import check_site

logger = logging.getLogger(__name__)

_SCENARIO_FAMILY = SCENARIO_FORMAT.split("/")[0]
_SITE_FAMILY = SITE_FORMAT.split("/")[0]


def detect_kind(data: dict[str, Any]) -> Literal["site", "scenario"]:
    """Whether a mapping is a site or a scenario.

    Args:
        data: a loaded file's mapping.

    Returns:
        ``"scenario"`` or ``"site"``: from the ``format`` key, else a scenario when the mapping
        has ``site``, ``budget`` or ``budget_gbp``.
    """
    fmt = data.get("format")
    if isinstance(fmt, str) and fmt.startswith(_SCENARIO_FAMILY):
        return "scenario"
    if isinstance(fmt, str) and fmt.startswith(_SITE_FAMILY):
        return "site"
    return "scenario" if "site" in data or "budget" in data or "budget_gbp" in data else "site"


def validate_files(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Check files (sites or scenarios, detected per file); return every problem found.

    Args:
        paths: the files to check; nothing is written.

    Returns:
        Every problem, in file order, each once (a site named by two scenarios is reported once).
    """
    problems: list[Problem] = []
    for path in paths:
        data, found = load_mapping(path)
        problems.extend(found)
        if data is None:
            continue
        kind = detect_kind(data)
        check = check_scenario if kind == "scenario" else check_site
        _, more = check(data, str(path), Path(path).resolve())
        problems.extend(more)
        logger.debug("validated %s (%s): %d problems", path, kind, len(found) + len(more))
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique
