"""Reading the run id a binary file of a run directory carries (design brief section 9: "every
file carries the run's id"); the text files' ids are read by :func:`optimiser.present.rundir.run_ids`.

- PNG plans (``plan.png``, ``distance.png``, ``catchment.png``): the ``tEXt`` chunk ``run_id``
  matplotlib writes from ``savefig(metadata=...)``, read from the chunk list (no image decoded);
- ``layout.gpkg``: the GDAL metadata ``run_id`` of every layer (the GeoPackage's
  ``gpkg_metadata`` table; older versions also wrote it as the dataset's), read with sqlite3
  read-only; a GeoPackage whose layers carry different ids lists them joined by ``|``;
- a batch item's ``result.json``: its ``run_id`` field.
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
from pathlib import Path

from optimiser.inputs.safefile import UnsafeFile, read_regular_bytes

__all__ = ["png_run_id", "gpkg_run_id", "result_run_id", "binary_run_ids", "UNREADABLE", "PNG_FILES"]

UNREADABLE = "(unreadable)"
"""The id reported for a file that cannot be read as its kind (it is then not the run's)."""

PNG_FILES = ("plan.png", "distance.png", "catchment.png")
"""The PNG plans of a run directory."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_HEAD = 1 << 20
"""Text chunks come before the image data; only this much of a PNG is read."""
_MDI_RUN_ID = re.compile(r'<MDI key="run_id">([^<]*)</MDI>')


def png_run_id(path: Path) -> str | None:
    """The ``run_id`` text chunk of a PNG (``None`` when it has none; :data:`UNREADABLE` when
    the file is not a PNG)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_MAX_PNG_HEAD)
    except OSError:
        return UNREADABLE
    if not head.startswith(_PNG_SIGNATURE):
        return UNREADABLE
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[pos:pos + 8])
        body = head[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            if key == b"run_id":
                return value.decode("latin-1")
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length  # length, type, data, CRC
    return None


def gpkg_run_id(path: Path) -> str | None:
    """The run id(s) of a GeoPackage's GDAL metadata (``None`` when it carries none;
    :data:`UNREADABLE` when it is not a readable GeoPackage)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return UNREADABLE
    try:
        rows = con.execute("SELECT metadata FROM gpkg_metadata").fetchall()
    except sqlite3.OperationalError as exc:
        return None if "no such table" in str(exc) else UNREADABLE
    except sqlite3.DatabaseError:
        return UNREADABLE
    finally:
        con.close()
    ids = sorted({m.group(1) for (text,) in rows if isinstance(text, str) for m in _MDI_RUN_ID.finditer(text)})
    return "|".join(ids) or None


def result_run_id(path: Path) -> str | None:
    """A batch item's ``result.json`` ``run_id`` (``None`` when it has none)."""
    try:
        rec = json.loads(read_regular_bytes(path, 1 << 20).decode("utf-8"))
    except (OSError, UnsafeFile, UnicodeDecodeError, ValueError):
        return UNREADABLE
    value = rec.get("run_id") if isinstance(rec, dict) else None
    return value if isinstance(value, str) else None


def binary_run_ids(run_dir: Path) -> dict[str, str | None]:
    """The run id of each PNG plan, ``layout.gpkg`` and ``result.json`` present in ``run_dir``
    (a planted symlink is skipped: it is not the run's, and render replaces it). A
    ``result.json`` without an id (a batch item recorded before its run wrote anything, or
    by an older version) is left out: it names no run to disagree with."""
    ids: dict[str, str | None] = {}
    for name in PNG_FILES:
        if _own_file(run_dir / name):
            ids[name] = png_run_id(run_dir / name)
    if _own_file(run_dir / "layout.gpkg"):
        ids["layout.gpkg"] = gpkg_run_id(run_dir / "layout.gpkg")
    if _own_file(run_dir / "result.json") and (rid := result_run_id(run_dir / "result.json")) is not None:
        ids["result.json"] = rid
    return ids


def _own_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()
