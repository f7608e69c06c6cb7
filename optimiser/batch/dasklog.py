"""The log lines of batch items run on Dask workers, shown by the batch at its own verbosity.

A local batch worker writes its log lines to the batch's stderr from the batch's level
(:mod:`optimiser.batch.lifeline`). A Dask worker is another process, often on another machine:
its ``optimiser`` logger has no handler and its own level, so ``siteopt -v batch`` showed none of
its items' progress and a warning went, unformatted, to the worker's stderr whatever the batch's
verbosity. Here each item run on Dask logs from the batch's level (``payload["log"]``) and sends
its records as Dask events on a topic of the batch; the batch subscribes to that topic and
re-emits them through its own ``optimiser`` loggers, which apply ``-q`` / ``-v`` as for a local
worker's lines, marked with the worker (``Dask worker tcp://...: message``).

Only the item's own thread is forwarded (a Dask worker may run several items in threads), and
nothing is forwarded when the worker is the batch's own process (a threaded ``LocalCluster``:
the batch's handlers see those records already). Records that arrive after their item's result
are fetched from the scheduler when the batch ends (:meth:`LogRelay.close`), once each.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

logger = logging.getLogger(__name__)

PACKAGE_LOGGER = "optimiser"
TOPIC_PREFIX = "siteopt-batch-log-"

_level_lock = threading.Lock()
_level_state: dict[str, Any] = {"depth": 0, "saved": logging.NOTSET}
_seq = itertools.count()


class _EventHandler(logging.Handler):
    """Sends the records of one thread (one item) to the batch as Dask events."""

    def __init__(self, worker: Any, topic: str, level: int, thread: int):
        super().__init__(level)
        self.worker, self.topic, self.thread = worker, topic, thread
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            message = record.getMessage()
        except (TypeError, ValueError) as exc:  # a malformed log call must not break the item (as stdlib handlers)
            message = f"{record.msg!r} % {record.args!r} (cannot be formatted: {exc})"
        try:
            self.worker.log_event(self.topic, {
                "id": f"{self.tag}-{next(_seq)}", "name": record.name, "level": record.levelno,
                "message": message, "worker": str(getattr(self.worker, "address", "") or ""),
                "pid": os.getpid()})
        except Exception as exc:  # noqa: BLE001 - logging must never break the item: told on the worker's stderr
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f"siteopt batch item on Dask: cannot send a log line to the batch "
                                 f"({type(exc).__name__}: {exc}): {record.levelname.lower()}: {message}\n")


def _lower_level(level: int) -> None:
    with _level_lock:
        pkg = logging.getLogger(PACKAGE_LOGGER)
        if _level_state["depth"] == 0:
            _level_state["saved"] = pkg.level
        _level_state["depth"] += 1
        pkg.setLevel(level)


def _restore_level() -> None:
    with _level_lock:
        _level_state["depth"] -= 1
        if _level_state["depth"] == 0:
            logging.getLogger(PACKAGE_LOGGER).setLevel(_level_state["saved"])


@contextlib.contextmanager
def forwarded(log: Mapping[str, Any] | None) -> Iterator[None]:
    """While an item runs on a Dask worker: its ``optimiser`` records from the batch's level
    (``log["level"]``) go to the batch as events on ``log["topic"]``.

    A no-op without ``log`` (a local worker), outside a Dask worker, or in the batch's own
    process (``log["pid"]`` on ``log["host"]``: a worker in a container on another machine may
    have the batch's process id).
    """
    if not log or (int(log.get("pid", -1)) == os.getpid() and log.get("host", socket.gethostname()) == socket.gethostname()):
        yield
        return
    try:
        worker = importlib.import_module("distributed").get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        yield
        return
    level = int(log["level"])
    handler = _EventHandler(worker, str(log["topic"]), level, threading.get_ident())
    pkg = logging.getLogger(PACKAGE_LOGGER)
    _lower_level(level)
    pkg.addHandler(handler)
    try:
        yield
    finally:
        pkg.removeHandler(handler)
        _restore_level()


class LogRelay:
    """The batch's side: the events of its items' Dask workers re-emitted as log records.

    Args:
        client: the ``distributed.Client`` the items run on.
        level: the level from which the items log (the batch's, at most ``WARNING``).
    """

    def __init__(self, client: Any, level: int):
        self.client = client
        self.topic = f"{TOPIC_PREFIX}{uuid.uuid4().hex}"
        self.level = level
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        client.subscribe_topic(self.topic, self._on_event)

    def payload(self) -> dict[str, Any]:
        """What each item's payload carries as ``log`` (see :func:`forwarded`)."""
        return {"topic": self.topic, "level": self.level, "pid": os.getpid(), "host": socket.gethostname()}

    def _on_event(self, event: Any) -> None:
        msg = event[1] if isinstance(event, tuple | list) and len(event) == 2 else event
        if not isinstance(msg, Mapping):
            return
        with self._lock:
            if msg.get("id") in self._seen:
                return
            self._seen.add(str(msg.get("id")))
        level = int(msg.get("level", logging.INFO))
        target = logging.getLogger(str(msg.get("name") or PACKAGE_LOGGER))
        if not target.isEnabledFor(level):
            return
        who = msg.get("worker") or f"pid {msg.get('pid')}"
        target.handle(logging.makeLogRecord({
            "name": target.name, "levelno": level, "levelname": logging.getLevelName(level),
            "msg": "Dask worker %s: %s", "args": (who, msg.get("message", "")), "dask_worker": who}))

    def close(self) -> None:
        """Re-emit the events that arrived after their items' results, then unsubscribe."""
        try:
            for event in self.client.get_events(self.topic):
                self._on_event(event)
        except (OSError, TimeoutError, RuntimeError) as exc:  # the cluster went away: what arrived was shown
            logger.debug("cannot fetch the Dask workers' last log lines: %s", exc)
        with contextlib.suppress(OSError, TimeoutError, RuntimeError, KeyError, ValueError):
            self.client.unsubscribe_topic(self.topic)
