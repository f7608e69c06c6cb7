"""Which kind of file a mapping is (site, scenario or batch), and the problem of a file given as
the wrong kind ("this is a site file ...") instead of a page of schema errors."""

from __future__ import annotations

import logging
from typing import Any, Literal

from optimiser.errors import Problem
from optimiser.inputs.schema import BATCH_FORMAT, SCENARIO_FORMAT, SITE_FORMAT

logger = logging.getLogger(__name__)

FileKind = Literal["site", "scenario", "batch"]

_FAMILIES: dict[str, FileKind] = {
    SITE_FORMAT.split("/")[0]: "site",
    SCENARIO_FORMAT.split("/")[0]: "scenario",
    BATCH_FORMAT.split("/")[0]: "batch",
}
_USE = {
    "site": "check it with `siteopt validate FILE`; a scenario names its site in `site:` (e.g. site: ../sites/x/site.yaml)",
    "scenario": "run it with `siteopt run FILE --out DIR`; a batch names its scenario in `base:`",
    "batch": "run it with `siteopt batch FILE --out DIR`",
}


def declared_kind(data: dict[str, Any]) -> FileKind | None:
    """The kind the mapping's ``format`` declares (``placemaking-site/...`` etc.), or ``None``."""
    fmt = data.get("format")
    if not isinstance(fmt, str):
        return None
    return _FAMILIES.get(fmt.split("/")[0])


def detect_kind(data: dict[str, Any]) -> FileKind:
    """Whether a mapping is a site, a scenario or a batch.

    Args:
        data: a loaded file's mapping.

    Returns:
        The kind its ``format`` declares; without one, a batch when it has ``sweep`` or
        ``base``, a scenario when it has ``site``, ``budget`` or ``budget_gbp``, else a site.
    """
    kind = declared_kind(data)
    if kind is not None:
        return kind
    if "sweep" in data or "base" in data:
        return "batch"
    return "scenario" if "site" in data or "budget" in data or "budget_gbp" in data else "site"


def wrong_kind(data: dict[str, Any], expected: FileKind, file: str, given_as: str) -> Problem | None:
    """One problem when the mapping's ``format`` declares another kind than ``expected``.

    Args:
        data: the file's mapping.
        expected: the kind the command needs.
        file: the file name the problem is reported against.
        given_as: how the file was given, e.g. ``"the scenario"`` (for the message).

    Returns:
        ``this is a site file (format placemaking-site/1), not a scenario`` with what to do,
        or ``None`` when the kinds agree (or no format is declared).
    """
    kind = declared_kind(data)
    if kind is None or kind == expected:
        return None
    article = "an" if expected[0] in "aeiou" else "a"
    logger.debug("%s: a %s file given as %s", file, kind, given_as)
    return Problem(file, "format", f"this is a {kind} file (format {data.get('format')}), given as {given_as}; "
                                   f"{article} {expected} file is needed", _USE[kind])
