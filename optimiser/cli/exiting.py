"""Leaving ``siteopt run`` without the interpreter's teardown (issue 17).

Once a run has written its directory and printed its summary, all that is left is the
interpreter's own exit: clearing every module (OR-Tools, SciPy, pydantic, matplotlib's font
cache...), collecting and freeing every object, about 0.1 s of CPU (more on a busy machine)
that nobody waits for usefully. :func:`leave` does what matters of a normal exit (the
:mod:`atexit` handlers: logging is flushed and closed, temporary files removed, finalizers
run; stdout and stderr flushed) and then ends the process at once with :func:`os._exit`.

Only where it is safe: a command allows it (:func:`allow`; ``siteopt run`` does, once its
render process is stopped), the exit code is an integer, no child process is running and no
non-daemon thread is left; otherwise the normal exit happens. Only the console entry point
(:func:`optimiser.cli.main` without arguments) calls it, never a caller that runs the CLI in
its own process (tests, notebooks).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading

__all__ = ["allow", "leave"]

_allowed = False


def allow() -> None:
    """Let this process end with :func:`leave` (a command that leaves nothing running)."""
    global _allowed
    _allowed = True


def _safe() -> bool:
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    return _allowed and not others and not multiprocessing.active_children()


def leave(code: object) -> None:
    """End the process now with exit status ``code`` (None or an int) after the :mod:`atexit`
    handlers and a flush of stdout and stderr; returns (doing nothing) where that is not safe
    (module docstring), for the caller to exit normally."""
    if code is not None and not isinstance(code, int):
        return
    if not _safe():
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: the normal exit would not write it either
            pass
    os._exit(code or 0)
