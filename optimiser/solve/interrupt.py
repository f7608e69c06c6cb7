"""Clean interruption: SIGINT (Ctrl-C) and SIGTERM stop a run at the next safe point.

The command line installs the handlers for the length of a command (:func:`handle_signals`).
The first signal only *requests* a stop: a flag is set and every registered stopper is called
(CP-SAT's ``stop_search``, terminating the CBC subprocess), the long loops (greedy, Lagrangian,
relax-first phases) look at :func:`requested` and return early, and the pipeline raises
:class:`~optimiser.errors.Interrupted` at its next stage boundary, before anything is written,
so no run directory is left half-written. The command exits 130
(:attr:`~optimiser.errors.ExitCode.INTERRUPTED`) saying it was interrupted. A second signal
stops at once (``KeyboardInterrupt``).

A solve interrupted before it finished reports :attr:`~optimiser.solve.result.Status.INTERRUPTED`:
it has no layout (``has_solution`` is ``False``), because an interrupted search's incumbent is
neither proven nor what the time limit the user chose would have given; the incumbent's
objective, when there was one, is kept in ``stats["incumbent_objective"]`` for the log.

The flag is separate from every time limit: an interruption is never reported as "time limit
reached". Without :func:`handle_signals` (library use, batch workers) nothing changes: the
flag is never set and the signals keep Python's default behaviour.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from optimiser.errors import Interrupted

logger = logging.getLogger(__name__)

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that request a clean stop."""

_event = threading.Event()
_lock = threading.Lock()
_signal_name: list[str] = []
_stoppers: list[Callable[[], None]] = []
_installed = threading.Event()
_forced = threading.Event()


def requested() -> bool:
    """Whether a stop was requested (a signal arrived, or :func:`request` was called)."""
    return _event.is_set()


def signal_name() -> str:
    """The name of the signal that requested the stop (``"SIGINT"``), or ``"a stop request"``."""
    return _signal_name[0] if _signal_name else "a stop request"


def request(name: str = "a stop request") -> None:
    """Request a stop: set the flag and call every registered stopper (once each)."""
    with _lock:
        first = not _event.is_set()
        if first:
            _signal_name[:] = [name]
            _event.set()
        stoppers = list(_stoppers)
    if not first:
        return
    for stop in stoppers:
        _call_stopper(stop)


def forced() -> bool:
    """Whether a second signal stopped the run at once (``KeyboardInterrupt`` raised wherever
    the main thread was: inside an import, a C extension may turn it into another error, e.g.
    OR-Tools' ``ImportError: initialization failed``)."""
    return _forced.is_set()


def reset() -> None:
    """Clear the flag (a new command, or a test)."""
    with _lock:
        _event.clear()
        _forced.clear()
        _signal_name.clear()


def check(stage: str) -> None:
    """Raise :class:`~optimiser.errors.Interrupted` if a stop was requested.

    Args:
        stage: where the run is, for the message (e.g. ``"the solve"``).
    """
    if requested():
        raise Interrupted(signal_name(), stage)


def _call_stopper(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception:  # noqa: BLE001 - a stopper that fails must not hide the interruption; logged with its traceback
        logger.warning("stopping a running solver failed", exc_info=True)


@contextmanager
def stopper(stop: Callable[[], None]) -> Iterator[None]:
    """Register ``stop`` (e.g. ``solver.stop_search``) while the body runs; called at once if a
    stop was already requested."""
    with _lock:
        _stoppers.append(stop)
        already = _event.is_set()
    if already:
        _call_stopper(stop)
    try:
        yield
    finally:
        with _lock:
            _stoppers.remove(stop)


def _handler(signum: int, frame: object) -> None:
    name = signal.Signals(signum).name
    if requested():
        logger.warning("%s received again: stopping at once", name)
        _forced.set()
        raise KeyboardInterrupt(name)
    logger.warning("%s received: stopping cleanly at the next safe point (send it again to stop at once)", name)
    request(name)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Install the SIGINT / SIGTERM handlers for the body (main thread only; elsewhere this
    does nothing) and restore the previous ones after it; the flag is cleared on entry and exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reset()
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    _installed.set()
    try:
        yield
    finally:
        _installed.clear()
        for s, h in previous.items():
            signal.signal(s, h)
        reset()


def _after_fork_in_child() -> None:
    """A process forked while the handlers are installed (``siteopt run``'s render process,
    forked after them) does not keep this one's SIGTERM handler: its parent's SIGTERM (ending it)
    would only set a flag here and the parent would wait 5 s to kill it. It gets the default
    until it installs its own; SIGINT keeps the handler (a terminal's Ctrl-C reaches the whole
    group: the parent decides)."""
    if signal.getsignal(signal.SIGTERM) is _handler:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _installed.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def call_interruptibly(fn: Callable[[], T]) -> T:
    """``fn()``, run so that a signal can stop it while it is inside native code.

    Python runs signal handlers only in the main thread, between bytecodes: a solver call that
    stays in C++ would hold them off until it returns. With the handlers installed and on the
    main thread, ``fn`` runs in a helper thread while the main thread waits (and so runs the
    handler, which calls the registered stoppers); otherwise ``fn()`` is called directly.

    Raises:
        Whatever ``fn`` raises.
    """
    if not _installed.is_set() or threading.current_thread() is not threading.main_thread():
        return fn()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread and re-raised there
            box["error"] = exc

    worker = threading.Thread(target=target, name="siteopt-solver", daemon=True)
    worker.start()
    ticks = 0
    while worker.is_alive():
        worker.join(0.1)
        ticks += 1
        if requested() and ticks % 5 == 0:
            # a stop requested just before the solver was ready (e.g. CP-SAT's stop_search
            # before its search started) is lost: ask again every half second
            with _lock:
                stoppers = list(_stoppers)
            for stop in stoppers:
                _call_stopper(stop)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
