"""Stable keys of batch items: canonical JSON and content hashes.

An item's key is the SHA-256 of the canonical JSON of its fully resolved scenario mapping, the
content hash of its site file and the package version, so the same scenario always gets the
same run directory and a changed site or scenario gets a new one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optimiser import __version__
from optimiser.inputs import schema as S

logger = logging.getLogger(__name__)


def _canon(obj: Any) -> Any:
    """JSON-ready canonical form: integral floats as ints, tuples as lists, keys as text."""
    if isinstance(obj, Mapping):
        return {str(k): _canon(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canon(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj) and obj == int(obj) and abs(obj) < 2**53:
            return int(obj)
        return obj if math.isfinite(obj) else str(obj)
    return str(obj)


def canonical_json(obj: Any) -> str:
    """One canonical JSON text for ``obj``: sorted keys, no spaces, integral floats as ints.

    Args:
        obj: any JSON-like value (mappings, lists, tuples, numbers, strings, None).

    Returns:
        The JSON text; ``1000000.0`` and ``1000000`` give the same text.
    """
    return json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def item_key(scenario: Mapping[str, Any], site_sha256: str | None, version: str | None = None) -> str:
    """The stable key of a resolved scenario mapping.

    Args:
        scenario: the fully resolved scenario mapping (base plus overrides).
        site_sha256: content hash of its site file (``None`` if it could not be found).
        version: the package version (default: the installed one).

    Returns:
        SHA-256 (hex, 64 characters); ``key[:12]`` names the item's run directory.
    """
    payload = {"format": S.BATCH_FORMAT, "scenario": scenario, "site_sha256": site_sha256,
               "version": __version__ if version is None else version}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
