"""Reading a file the user named, safely: only regular files, never more than a size limit,
never hanging on a FIFO, never recursing without bound.

- :func:`read_regular_bytes` opens without blocking (``O_NONBLOCK``), refuses anything but a
  regular file (a folder, ``/dev/zero``, a FIFO, a socket) from ``fstat`` before reading a
  byte, and refuses a file over the limit from its size, without reading it;
- :func:`nesting_depth` measures how deeply a parsed value nests, without recursion;
- :func:`json_depth` measures the bracket depth of JSON text before it is parsed;
- :func:`atomic_write_text` writes a text file whole or not at all, replacing (never writing
  through) a symlink at its path; :func:`write_renamed` does the same for any writer (a
  GeoPackage's).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAX_INPUT_BYTES", "MAX_NESTING", "UnsafeFile", "read_regular_bytes", "nesting_depth", "json_depth",
           "file_kind", "atomic_write_text", "write_renamed"]

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Largest site, scenario, batch or run file read (64 MiB); larger ones are refused unread."""
MAX_NESTING = 64
"""Deepest nesting of lists and mappings accepted in an input file (GeoJSON needs 4-6)."""


class UnsafeFile(Exception):
    """A file that must not be read: ``reason`` and ``hint`` say why and what to do."""

    def __init__(self, reason: str, hint: str):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_bytes(path: str | os.PathLike[str], limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Raises:
        FileNotFoundError / PermissionError / OSError: it cannot be opened.
        UnsafeFile: it is not a regular file (nothing read), or it is larger than ``limit``
            (nothing read), or it grew past ``limit`` while being read.
    """
    fd = os.open(Path(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"is {file_kind(st.st_mode)}, not a regular file", "name a site or scenario file")
        if st.st_size > limit:
            raise UnsafeFile(f"is {st.st_size / 2**20:.1f} MiB, larger than the {limit / 2**20:.0f} MiB limit",
                             "split the file, or simplify its geometry")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnsafeFile(f"grew past the {limit / 2**20:.0f} MiB limit while being read",
                                 "do not write to the file while it is read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def nesting_depth(value: Any) -> int:
    """How deeply lists and mappings nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen: set[int] = set()
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list | tuple):
            if id(v) in seen:  # a YAML alias: shared, measured once
                continue
            seen.add(id(v))
            deepest = max(deepest, d + 1)
            items: Iterable[Any] = v.values() if isinstance(v, dict) else v
            stack.extend((x, d + 1) for x in items)
    return deepest


DEPTH_CHUNK_BYTES = 1 << 22
""":func:`json_depth` measures the text this many bytes at a time (4 MiB), carrying what is open
from one piece to the next, so a 64 MiB file needs tens of megabytes, not gigabytes."""


def json_object_no_dupes(pairs: list[tuple[str, Any]], dupes: list[str]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook``: the object, with every key given twice put on
    ``dupes`` (the last value kept, as ``json`` does)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            dupes.append(k)
        out[k] = v
    return out


def json_depth(text: str) -> int:
    """The deepest bracket nesting (``[``/``{``) of JSON ``text``, strings skipped; vectorised,
    so a file of thousands of brackets is measured without parsing it, and measured piece by
    piece (:data:`DEPTH_CHUNK_BYTES`), so a large file takes little memory."""
    raw_all = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    deepest = depth = 0
    in_string = escape_next = False
    for start in range(0, raw_all.size, DEPTH_CHUNK_BYTES):
        raw = raw_all[start:start + DEPTH_CHUNK_BYTES]
        quote = raw == ord('"')
        escaped = np.zeros(raw.size, dtype=bool)
        escaped[0] = escape_next
        escape_next = False
        backslash = raw == ord("\\")
        if backslash.any():  # a quote preceded by an odd run of backslashes is escaped
            for i in np.flatnonzero(backslash):  # only files with escapes take this loop, over their backslashes
                if not escaped[i]:
                    if i + 1 < raw.size:
                        escaped[i + 1] = True
                    else:
                        escape_next = True
        quote &= ~escaped
        parity = np.bitwise_xor.accumulate(quote.view(np.uint8)).astype(bool) ^ in_string
        inside = parity & ~quote
        step = ((raw == ord("[")) | (raw == ord("{"))).view(np.int8) - ((raw == ord("]")) | (raw == ord("}"))).view(np.int8)
        step[inside] = 0
        levels = np.cumsum(step, dtype=np.int64 if raw.size > 1 << 31 else np.int32) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
        in_string = bool(parity[-1])
    return deepest


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename.

    The file is created with mode 0o666 less the process umask (like ``open``), so files are
    readable by others where the umask allows it; a symlink at ``path`` is replaced, never
    written through, and a failed write leaves the old file whole.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path


def write_renamed(path: str | os.PathLike[str], write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call ``write`` on a temporary path beside ``path`` (not yet there; ending ``suffix``, for a
    writer that goes by it, e.g. ``.gpkg``), then rename it into place: a failure leaves ``path``
    as it was, and no temporary file."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp{suffix}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
