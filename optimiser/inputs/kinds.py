"""Which kind of file a mapping is (site, scenario or batch), and the problem of a file given as
the wrong kind ("this is a site file ...") instead of a page of schema errors."""

from __future__ import annotations

import logging
from typing import Any, Literal

from optimiser.errors import Problem
from optimiser.inputs.schema import BATCH_FORMAT, SCENARIO_FORMAT, SITE_FORMAT, BatchFile, ScenarioFile, SiteFile

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


_FORMATS: dict[FileKind, str] = {"site": SITE_FORMAT, "scenario": SCENARIO_FORMAT, "batch": BATCH_FORMAT}
_KEYS: dict[FileKind, set[str]] = {"site": set(SiteFile.model_fields), "scenario": set(ScenarioFile.model_fields),
                                   "batch": set(BatchFile.model_fields)}
_OWN_KEYS: dict[FileKind, frozenset[str]] = {
    kind: frozenset(keys - set().union(*(v for k, v in _KEYS.items() if k != kind))) for kind, keys in _KEYS.items()}
"""The top-level keys only one kind of file has (a site's ``crs``, ``parcels``; a scenario's ``budget`` ...)."""


def _mislabelled(data: dict[str, Any], declared: FileKind, file: str) -> Problem | None:
    """One problem when the file's keys are all of another kind than its ``format`` declares (a
    site that says ``format: placemaking-scenario/1``, its header copied from a scenario), instead
    of one problem per key."""
    keys = {k for k in data if isinstance(k, str)}
    if keys & _OWN_KEYS[declared]:
        return None
    holds = [kind for kind, own in _OWN_KEYS.items() if kind != declared and keys & own]
    if len(holds) != 1:
        return None
    kind = holds[0]
    shown = sorted(keys & _OWN_KEYS[kind])
    return Problem(file, "format", f"says {data.get('format')}, but the file holds a {kind} ({', '.join(shown[:4])}"
                                   f"{' ...' if len(shown) > 4 else ''}), none of a {declared}'s keys",
                   f"set format: {_FORMATS[kind]}")


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
        ``this is a site file (format placemaking-site/1), not a scenario`` with what to do; a
        file whose keys are all another kind's than its ``format`` says gets ``format: says ...,
        but the file holds a site``; ``None`` when the kinds agree (or no format is declared).
    """
    kind = declared_kind(data)
    if kind == expected:
        return _mislabelled(data, kind, file)
    if kind is None:
        return None
    article = "an" if expected[0] in "aeiou" else "a"
    logger.debug("%s: a %s file given as %s", file, kind, given_as)
    return Problem(file, "format", f"this is a {kind} file (format {data.get('format')}), given as {given_as}; "
                                   f"{article} {expected} file is needed", _USE[kind])
