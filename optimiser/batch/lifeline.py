"""A local batch worker dies with its batch parent, however the parent ends (even SIGKILL).

This module is the pool's initialiser, and imports only the standard library on purpose: a
spawned worker unpickles its initialiser before anything else of ours, so the parent-death
signal is armed a fraction of a second after the worker starts, not after the seconds of
importing the pipeline (OR-Tools, geopandas...) that :mod:`optimiser.batch.worker` costs.
Found by ``tests/test_batch_kill.py``: with the initialiser in the worker module, a parent
killed while its workers were still importing left them running (at full CPU, importing) for
16-18 s at load average 7 before they noticed.

- SIGINT is ignored: a Ctrl-C reaches the whole process group, and the parent decides (it keeps
  the finished items and terminates its workers);
- SIGTERM (the parent's stop, or the kernel's parent-death signal) ends the worker at once,
  after terminating its own children (a CBC subprocess would otherwise run on to its time limit);
- the kernel sends SIGTERM when the parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), and a
  watchdog thread polls ``os.getppid()`` every :data:`PARENT_POLL_S` seconds (everywhere,
  and for a main thread stuck in native code, where a signal handler cannot run).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

logger = logging.getLogger(__name__)

PARENT_POLL_S = 0.5
"""How often a worker's watchdog looks whether its batch parent is still alive (seconds)."""

EXIT_PARENT_GONE = 130
"""Exit status of a worker that ended because its parent did (:attr:`optimiser.errors.ExitCode.INTERRUPTED`)."""

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def own_children(pid: int | None = None) -> list[int]:
    """The pids of the direct children of ``pid`` (default: this process), from ``/proc``
    (Linux); an empty list elsewhere."""
    pid = os.getpid() if pid is None else pid
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                kids.extend(int(k) for k in fh.read().split())
    return kids


def end_worker(reason: str) -> None:
    """Terminate this worker's children (SIGTERM, then SIGKILL to those left after 1 s) and exit
    at once with :data:`EXIT_PARENT_GONE`; nothing of the item in flight is kept (it has no
    ``result.json``, so a resumed batch runs it again)."""
    kids = own_children()
    for k in kids:
        with contextlib.suppress(OSError):
            os.kill(k, signal.SIGTERM)
    deadline = time.monotonic() + 1.0
    while kids and time.monotonic() < deadline:
        kids = [k for k in kids if _running_child(k)]
        time.sleep(0.05)
    for k in kids:
        with contextlib.suppress(OSError):
            os.kill(k, signal.SIGKILL)
    with contextlib.suppress(Exception):  # best effort: stderr may be gone with the parent
        sys.stderr.write(f"siteopt batch worker {os.getpid()}: {reason}; stopping\n")
    os._exit(EXIT_PARENT_GONE)


def _running_child(pid: int) -> bool:
    """Whether child ``pid`` still runs (reaped when it has ended)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def _die_with_parent() -> None:
    """Linux: ask the kernel to send this process SIGTERM when its parent dies (prctl
    PR_SET_PDEATHSIG); elsewhere a no-op (the watchdog thread covers it)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            logger.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError) as exc:  # no libc / no prctl: the watchdog still covers it
        logger.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    end_worker("SIGTERM (the batch stopped, or its parent process died)")


def _watch_parent(parent_pid: int) -> None:
    """End this worker at once when the parent is gone (this process was re-parented)."""
    while True:
        if os.getppid() != parent_pid:
            end_worker(f"the batch parent (pid {parent_pid}) is gone")
        time.sleep(PARENT_POLL_S)


def init_worker(parent_pid: int) -> None:
    """Initialiser of a local batch worker process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        end_worker(f"the batch parent (pid {parent_pid}) died while this worker started")
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="siteopt-parent-watchdog", daemon=True).start()
