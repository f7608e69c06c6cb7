"""A scenario read in another process while this one imports the solver (issue 17).

``siteopt run`` forks its render process before it imports OR-Tools and SciPy (about a second
of CPU); the render process reads the scenario first (its file, the site it names, every check:
0.2-0.5 s of CPU, most of it pyproj's transformations and pydantic's validation), then warms up
for drawing. The main process takes the :class:`ReadAhead` once its imports are done instead of
reading the file again itself: the same :class:`~optimiser.inputs.domain.Scenario`, pickled
(floats and geometries exactly), with the log lines and Python warnings the read gave, which
:meth:`ReadAhead.replay` gives again here, in order, as if the read had run here.

Only a read that succeeded is handed over: on any failure (a bad file, a missing site, a bug)
:func:`read_ahead` returns ``None`` and the main process reads the file itself, so every error
message, exit code and traceback is the one a read here gives.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.inputs.domain import Scenario

logger = logging.getLogger(__name__)

__all__ = ["ReadAhead", "read_ahead"]

PACKAGE_LOGGER = "optimiser"
"""The logger whose records the read captures (every module's logger is below it)."""


@dataclass
class ReadAhead:
    """A scenario read in another process, and what the read said while it ran.

    Attributes:
        scenario: the validated scenario.
        seconds: the read's wall-clock time there.
        records: the log records the read emitted (below :data:`PACKAGE_LOGGER`), their
            messages formatted.
        warned: the Python warnings it gave: ``(message, category, filename, lineno)``.
    """

    scenario: Scenario
    seconds: float
    records: list[logging.LogRecord] = field(default_factory=list)
    warned: list[tuple[str, type[Warning], str, int]] = field(default_factory=list)

    def replay(self) -> None:
        """Emit the read's log records and warnings in this process, in their order."""
        for record in self.records:
            target = logging.getLogger(record.name)
            if target.isEnabledFor(record.levelno):
                target.handle(record)
        for message, category, filename, lineno in self.warned:
            warnings.warn_explicit(message, category, filename, lineno)


class _Capture(logging.Handler):
    """Keeps records (their messages formatted, so they pickle) instead of writing them."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        record.exc_info = record.exc_text = None
        self.records.append(record)


@contextmanager
def _captured() -> Iterator[_Capture]:
    """The package logger's records go to the capture, not to its handlers (nor its
    ancestors'), for the body."""
    pkg = logging.getLogger(PACKAGE_LOGGER)
    capture = _Capture()
    handlers, propagate = pkg.handlers[:], pkg.propagate
    pkg.handlers[:], pkg.propagate = [capture], False
    try:
        yield capture
    finally:
        pkg.handlers[:], pkg.propagate = handlers, propagate


def read_ahead(path: str | os.PathLike[str] | None) -> ReadAhead | None:
    """Read the scenario ``path`` (``None``: the embedded AMP-SBP baseline) as
    :func:`~optimiser.inputs.scenario.read_scenario` does, capturing its log records and
    warnings; ``None`` when the read failed in any way (the caller reads the file itself and
    reports the failure as a read there does)."""
    t = time.perf_counter()
    failed: Exception | None = None
    with _captured() as capture, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # what the other process's filters drop, replay drops there
        try:
            from optimiser.inputs.scenario import read_scenario  # here: after the fork (module docstring)

            scenario = read_scenario(path)
        except Exception as exc:  # noqa: BLE001 - read again by the caller, which reports it
            failed = exc
    if failed is not None:
        logger.debug("reading ahead failed (%s: %s): the scenario is read again", type(failed).__name__, failed)
        return None
    warned = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    return ReadAhead(scenario, time.perf_counter() - t, capture.records, warned)
