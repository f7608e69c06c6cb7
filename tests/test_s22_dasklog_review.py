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
