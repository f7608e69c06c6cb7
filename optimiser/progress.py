"""Progress of a run on stderr: each phase with its time, and during the solve the incumbent and
the gap at least every :data:`HEARTBEAT_S` seconds.

Progress goes through the logger ``optimiser.progress`` at INFO. Nothing is shown unless a
handler is attached and that logger is enabled: ``siteopt run`` enables it (and ``-q`` turns it
off again, :func:`enable`); a library caller sees nothing unless it configures logging itself.

Backends report what they find with :func:`incumbent` (CP-SAT from a solution callback and a
best-bound callback; the greedy warm start when it finishes; CBC runs as a subprocess and only
its warm start and final answer are known). :func:`solving` runs a heartbeat thread that logs the
latest of these every :data:`HEARTBEAT_S` seconds, whether or not anything changed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

logger = logging.getLogger(__name__)

PROGRESS_LOGGER = "optimiser.progress"
HEARTBEAT_S = 2.0
"""The longest time between two progress lines during a solve (seconds)."""

_log = logging.getLogger(PROGRESS_LOGGER)


@dataclass
class _SolveState:
    """The latest incumbent and bound a backend reported (integer model units)."""

    started: float
    scale: float
    objective: float | None = None
    bound: float | None = None
    source: str = ""


_state: _SolveState | None = None
_lock = threading.Lock()


def enable(on: bool) -> None:
    """Show progress (INFO on ``optimiser.progress``) or hide it (warnings only)."""
    _log.setLevel(logging.INFO if on else logging.WARNING)


def enabled() -> bool:
    """Whether progress lines are shown at all (backends skip their callbacks otherwise)."""
    return _log.isEnabledFor(logging.INFO)


def phase(name: str, detail: str = "", started: float | None = None) -> None:
    """Log one finished phase: ``network: 1,234 nodes (0.12 s)``."""
    if not enabled():
        return
    took = f" ({time.perf_counter() - started:.2f} s)" if started is not None else ""
    _log.info("%s%s%s", name, f": {detail}" if detail else "", took)


def note(text: str) -> None:
    """Log one progress line as it is."""
    _log.info("%s", text)


_hidden = [0, 0]
"""Blocks of :func:`partial_model` open that drop backends' incumbents / bounds."""


@contextmanager
def partial_model(objectives: bool = True, bounds: bool = True) -> Iterator[None]:
    """While the block runs, :func:`incumbent` drops the incumbents (unless ``objectives``) and the
    bounds (unless ``bounds``) reported: a sub-model's that are not the run's (relax-first's access
    relaxation: its objectives are below its layouts' own; a model with sites fixed: its bound holds
    for its own layouts only). Relax-first reports its own incumbents and bounds outside the block."""
    with _lock:
        _hidden[0] += not objectives
        _hidden[1] += not bounds
    try:
        yield
    finally:
        with _lock:
            _hidden[0] -= not objectives
            _hidden[1] -= not bounds


def incumbent(objective: float | None, bound: float | None = None, source: str = "") -> None:
    """A backend found a layout of ``objective`` (and/or proved ``bound``), model units (dropped
    inside :func:`partial_model` as it says)."""
    with _lock:
        st = _state
        if st is None:
            return
        objective = None if _hidden[0] else objective
        bound = None if _hidden[1] else bound
        if objective is not None and (st.objective is None or objective < st.objective):
            # the first to find a layout this good keeps the credit (a warm-started backend re-finds its hint)
            st.objective, st.source = float(objective), source or st.source
        if bound is not None and math.isfinite(bound) and (st.bound is None or bound >= st.bound):
            st.bound = float(bound)


def _solve_line(st: _SolveState) -> str:
    elapsed = time.perf_counter() - st.started
    if st.objective is None:
        found = "no layout yet"
    else:
        found = f"incumbent {st.objective / st.scale:,.0f} weighted m" + (f" ({st.source})" if st.source else "")
    if st.objective is not None and st.bound is not None and st.objective > 0:
        gap = f", gap {100 * max(0.0, st.objective - st.bound) / st.objective:.2f}%"
    elif st.bound is not None:
        gap = f", bound {st.bound / st.scale:,.0f}"
    else:
        gap = ", no bound yet"
    return f"solve: {elapsed:5.1f} s, {found}{gap}"


@contextmanager
def solving(scale: float, what: str) -> Iterator[None]:
    """While the block runs, log the latest incumbent and gap every :data:`HEARTBEAT_S` s.

    Args:
        scale: model units per weighted metre (objectives are shown in weighted metres).
        what: the first line, e.g. ``"solve: cpsat, time limit 60 s"``.
    """
    global _state
    if not enabled():
        yield
        return
    note(what)
    stop = threading.Event()
    with _lock:
        _state = _SolveState(time.perf_counter(), scale)
    st = _state

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with _lock:
                line = _solve_line(st)
            _log.info("%s", line)

    thread = threading.Thread(target=beat, name="siteopt-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with _lock:
            _state = None
