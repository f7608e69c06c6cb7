"""Review of the Dask log relay: a worker on another machine whose process has the batch's
process id (common in containers, where ids start at 1) still forwards its item's records."""

from __future__ import annotations

import logging

import pytest

from optimiser.batch import dasklog
from tests.test_s22_batch_dask import _FakeClient, _FakeWorker


def test_a_worker_elsewhere_with_the_batchs_pid_forwards(monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    worker = _FakeWorker()
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    relay = dasklog.LogRelay(_FakeClient(), logging.INFO)
    log = {**relay.payload(), "host": "another-machine"}  # the same pid, another host
    with dasklog.forwarded(log):
        logging.getLogger("optimiser.pipeline").warning("from the worker")
    assert [m["message"] for _, m in worker.events] == ["from the worker"]
    with dasklog.forwarded(relay.payload()):  # this very process: not forwarded (its handlers see it)
        logging.getLogger("optimiser.pipeline").warning("seen here")
    assert len(worker.events) == 1


def test_a_malformed_log_call_does_not_break_the_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """logger.warning('%d firms', 'x') raised TypeError out of the forwarding handler into the
    item (stdlib handlers report it and go on): the line is sent as written instead."""
    distributed = pytest.importorskip("distributed")
    worker = _FakeWorker()
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    monkeypatch.setattr(logging.getLogger("optimiser"), "propagate", False)  # pytest's own handlers re-raise
    relay = dasklog.LogRelay(_FakeClient(), logging.INFO)
    with dasklog.forwarded({**relay.payload(), "pid": -1}):
        logging.getLogger("optimiser.pipeline").warning("%d firms", "x")
    (_, msg), = worker.events
    assert msg["message"].startswith("'%d firms' % ('x',) (cannot be formatted")
