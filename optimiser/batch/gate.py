"""The commit gate of a batch on Dask: once the batch stops, none of its items writes a run or a
result into the batch folder.

A Dask task goes on running when its future is cancelled (a thread cannot be stopped), so an item
running when ``siteopt batch --scheduler ...`` was interrupted used to move its run directory
into ``runs/<key>/`` and write its ``result.json`` seconds or minutes after the command had
returned. The batch now opens a gate, an empty file ``OUT/.commit-gate.<token>`` (the workers
see the batch folder), for as long as it runs on Dask:

- an item holds a shared ``flock`` on the gate from just before its run directory moves into
  place (:func:`optimiser.present.staging.before_commit`) until its ``result.json`` is written,
  and goes on only if the gate is still the open one;
- :meth:`CommitGate.close` (on an interruption, and when the batch ends) takes the exclusive
  lock, which waits for the items moving their runs into place now (a rename and a small file),
  and removes the file: every later item finds it closed and raises
  :class:`~optimiser.errors.Interrupted`, leaving its stage removed, no run directory and no
  ``result.json`` (a resume runs it again).

An item already running when the batch stops goes on in its hidden stage folder beside
``runs/<key>/`` until its solve ends, then removes it. A worker that does not see the batch
folder at all (against the rule that workers must see it) is not gated.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from optimiser.errors import Interrupted
from optimiser.present.staging import write_new_file

logger = logging.getLogger(__name__)

__all__ = ["GATE_PREFIX", "CommitGate", "GatePass"]

GATE_PREFIX = ".commit-gate."
"""Name of a gate file in the batch folder, before its random token."""

CLOSE_WAIT_S = 30.0
"""How long :meth:`CommitGate.close` waits for items moving their runs into place (seconds)."""

_STOPPED = "the batch was stopped"


class CommitGate:
    """The batch's side: a gate file opened while the items run and closed when they must stop."""

    def __init__(self, out: Path):
        self.path = out / f"{GATE_PREFIX}{os.urandom(8).hex()}"

    def open(self) -> CommitGate:
        """Remove the gates an earlier run of this batch left (it was killed: its items must not
        write now either) and create this one."""
        for old in self.path.parent.glob(f"{GATE_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        write_new_file(self.path, b"")
        return self

    def close(self) -> None:
        """Close the gate: wait (at most :data:`CLOSE_WAIT_S`) for the items moving their runs into
        place now, then remove the file; no item passes after this returns."""
        import fcntl  # POSIX only; imported here so the module loads everywhere

        try:
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            deadline = time.monotonic() + CLOSE_WAIT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        logger.warning("an item of the batch was still moving its run into place after %.0f s; "
                                       "closing the gate without it", CLOSE_WAIT_S)
                        break
                    time.sleep(0.05)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        finally:
            os.close(fd)


class GatePass:
    """An item's side (in a worker): the gate at ``path`` (``None``: not gated)."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self._fd: int | None = None

    def _gated(self) -> bool:
        # a worker that does not see the batch folder writes elsewhere: not gated (workers must see it)
        return self.path is not None and self.path.parent.is_dir()

    def check(self) -> None:
        """Raise :class:`~optimiser.errors.Interrupted` when the gate is closed (before an item
        touches anything)."""
        if self._fd is None and self._gated() and self.path is not None and not self.path.exists():
            raise Interrupted(_STOPPED, "the batch item's start")

    def enter(self) -> None:
        """Hold the gate (a shared lock) until :meth:`leave`; raise
        :class:`~optimiser.errors.Interrupted` when it is closed. Nothing when held already."""
        if self._fd is not None or not self._gated() or self.path is None:
            return
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                raise Interrupted(_STOPPED, "moving the item's run into place") from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            held = os.fstat(fd)
            try:
                now: os.stat_result | None = os.stat(self.path)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is None or (held.st_ino, held.st_dev) != (now.st_ino, now.st_dev):  # closed while we waited
            os.close(fd)
            raise Interrupted(_STOPPED, "moving the item's run into place")
        self._fd = fd

    def leave(self) -> None:
        """Let go of the gate (the lock goes with the descriptor)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[GatePass]:
        """The gate passed on the way out: :meth:`leave` however the body ends."""
        try:
            yield self
        finally:
            self.leave()
