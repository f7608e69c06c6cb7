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

A worker follows the parent's verbosity (``log_level``, the ``optimiser`` logger's level in
the parent): its log lines go to stderr as ``siteopt batch worker PID: level: message`` from
that level up. Being stopped by the batch (Ctrl-C, SIGTERM, an item run alone after a crash)
is the normal end of a worker and is said at info level (``siteopt -v``); a parent that died
without stopping its workers is a warning (shown with ``-q`` too).
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

_state = {"parent": 0, "level": logging.WARNING}
"""This worker's batch parent (pid) and the level from which it writes to stderr."""


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


def end_worker(reason: str, level: int = logging.WARNING) -> None:
    """Terminate this worker's children (SIGTERM, then SIGKILL to those left after 1 s) and exit
    at once with :data:`EXIT_PARENT_GONE`; nothing of the item in flight is kept (it has no
    ``result.json``, so a resumed batch runs it again). ``reason`` goes to stderr when ``level``
    is at least the worker's log level (:func:`init_worker`)."""
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
    if level >= _state["level"]:
        with contextlib.suppress(Exception):  # best effort: stderr may be gone with the parent
            sys.stderr.write(f"siteopt batch worker {os.getpid()}: {logging.getLevelName(level).lower()}: {reason}\n")
            sys.stderr.flush()
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


def _parent_gone(parent_pid: int) -> str:
    return f"the batch (pid {parent_pid}) ended without stopping this worker; stopping (its item re-runs on resume)"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    parent = _state["parent"]
    if parent and os.getppid() != parent:  # the kernel's parent-death signal
        end_worker(_parent_gone(parent))
    end_worker("stopped by the batch (its item in flight re-runs on resume)", logging.INFO)


def _watch_parent(parent_pid: int) -> None:
    """End this worker at once when the parent is gone (this process was re-parented)."""
    while True:
        if os.getppid() != parent_pid:
            end_worker(_parent_gone(parent_pid))
        time.sleep(PARENT_POLL_S)


class _WorkerFormatter(logging.Formatter):
    """``%(level)s``: the level name in lower case, as the command line writes it."""

    def format(self, record: logging.LogRecord) -> str:
        record.level = record.levelname.lower()
        return super().format(record)


def _log_to_stderr(level: int) -> None:
    """This worker's ``optimiser`` log lines from ``level`` up to stderr, marked as the worker's."""
    pkg = logging.getLogger("optimiser")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WorkerFormatter(f"siteopt batch worker {os.getpid()}: %(level)s: %(message)s"))
    handler.setLevel(level)
    pkg.addHandler(handler)
    pkg.setLevel(level)


def init_worker(parent_pid: int, log_level: int = logging.WARNING) -> None:
    """Initialiser of a local batch worker process (see the module docstring).

    Args:
        parent_pid: the batch parent's pid.
        log_level: the parent's log level (``logging.WARNING`` by default and with ``-q``).
    """
    _state["parent"], _state["level"] = parent_pid, log_level
    _log_to_stderr(log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        end_worker(f"the batch parent (pid {parent_pid}) died while this worker started")
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="siteopt-parent-watchdog", daemon=True).start()
