"""What the two forked drawing processes share (the render worker of ``siteopt run`` and the
plan's child of :func:`optimiser.present.render.render_run_data`): whether to fork, how to stop
a child, how a child reports a failure. Standard library only, so that the render worker can be
started before anything heavy is imported."""

from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

logger = logging.getLogger(__name__)

FORK_ENABLED = hasattr(os, "fork") and hasattr(os, "sched_getaffinity") and os.environ.get("SITEOPT_RENDER_PROCESSES") != "1"
"""Drawing processes may be forked (POSIX; ``SITEOPT_RENDER_PROCESSES=1`` draws in one process)."""


def fork_helps(enabled: bool) -> bool:
    """Whether a drawing process is worth forking here: ``enabled`` (a module's switch, which
    tests turn off), two or more cores for this process, and not inside a daemon process
    (which may not have children)."""
    return enabled and len(os.sched_getaffinity(0)) >= 2 and not multiprocessing.current_process().daemon


def end_process(process: Any, grace_s: float = 5.0) -> None:
    """Stop ``process`` (SIGTERM, then SIGKILL after ``grace_s``) and wait for it."""
    if process.is_alive():
        process.terminate()
        process.join(grace_s)
        if process.is_alive():  # stuck where SIGTERM cannot reach it
            logger.warning("%s did not stop on SIGTERM within %g s: killed", process.name, grace_s)
            process.kill()
    process.join()


def kill_process(process: Any) -> None:
    """Stop ``process`` with SIGKILL (no grace: for a child that holds nothing to clean up) and
    wait for it."""
    if process.is_alive():
        process.kill()
    process.join()


def send_failure(conn: Any, exc: Exception, what: str) -> None:
    """Send ``(False, exc)`` to the parent, which raises it as if ``what`` failed there; an
    exception that does not pickle is sent as a RuntimeError with its text."""
    try:
        conn.send((False, exc))
    except Exception as unsent:  # noqa: BLE001 - an exception that does not pickle: its text instead
        conn.send((False, RuntimeError(f"{what} failed: {type(exc).__name__}: {exc} ({unsent})")))
