"""Batch items on Dask log at the batch's verbosity (session 22; the left item "Dask workers
ignore -q"): a Dask worker's ``optimiser`` records are sent to the batch as events and
re-emitted there, so ``siteopt -v batch --scheduler ...`` shows the items' progress and ``-q``
(or the default) does not, as for local workers."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from optimiser.batch import dasklog
from tests.test_batch import SCENARIO, SITE, write_batch


class _FakeWorker:
    address = "tcp://10.0.0.7:4242"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def log_event(self, topic: str, msg: dict[str, Any]) -> None:
        self.events.append((topic, msg))


class _FakeClient:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}
        self.stored: list[tuple[float, dict[str, Any]]] = []
        self.unsubscribed: list[str] = []

    def subscribe_topic(self, topic: str, handler: Any) -> None:
        self.handlers[topic] = handler

    def get_events(self, topic: str) -> list[tuple[float, dict[str, Any]]]:
        return list(self.stored)

    def unsubscribe_topic(self, topic: str) -> None:
        self.unsubscribed.append(topic)


def test_an_items_records_travel_from_the_worker_at_the_batch_level(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    distributed = pytest.importorskip("distributed")
    worker = _FakeWorker()
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    client = _FakeClient()
    relay = dasklog.LogRelay(client, logging.WARNING)  # the batch runs at the default level (or -q)
    log = {**relay.payload(), "pid": -1}  # as from another process
    item_log = logging.getLogger("optimiser.pipeline")
    other: list[None] = []

    def another_item() -> None:  # another item on the same worker, in another thread: not this one's
        item_log.warning("from another item")
        other.append(None)

    with dasklog.forwarded(log):
        assert logging.getLogger("optimiser").level == logging.WARNING
        item_log.info("solve: optimal")
        item_log.warning("no route drawn for firm pair a|b")
        t = threading.Thread(target=another_item)
        t.start()
        t.join()
    assert other and logging.getLogger("optimiser").level == logging.NOTSET  # restored
    assert [(m["name"], m["level"], m["message"]) for _, m in worker.events] == [
        ("optimiser.pipeline", logging.WARNING, "no route drawn for firm pair a|b")]
    assert {topic for topic, _ in worker.events} == {relay.topic}

    caplog.clear()  # the worker is this process here: what follows is what the batch shows
    with caplog.at_level(logging.WARNING, logger="optimiser"):
        for _, msg in worker.events:
            client.handlers[relay.topic]((1.0, msg))
        client.stored = [(1.0, msg) for _, msg in worker.events]  # the same event fetched at the end: once
        relay.close()
    shown = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("optimiser")]
    assert shown == [("optimiser.pipeline", logging.WARNING,
                      "Dask worker tcp://10.0.0.7:4242: no route drawn for firm pair a|b")]
    assert client.unsubscribed == [relay.topic]

    with dasklog.forwarded({**log, "level": logging.INFO}):  # siteopt -v batch: info lines too
        item_log.info("solve: optimal")
    assert worker.events[-1][1]["message"] == "solve: optimal" and worker.events[-1][1]["level"] == logging.INFO


def test_nothing_is_forwarded_in_the_batchs_own_process_or_off_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    worker = _FakeWorker()
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    relay = dasklog.LogRelay(_FakeClient(), logging.INFO)
    with dasklog.forwarded(relay.payload()):  # a threaded LocalCluster: the batch's handlers see the records
        logging.getLogger("optimiser.pipeline").warning("seen by the batch directly")
    with dasklog.forwarded(None):  # a local worker
        logging.getLogger("optimiser.pipeline").warning("written by the local worker")
    assert worker.events == []


def test_siteopt_v_shows_dask_items_progress_and_the_default_does_not(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    distributed = pytest.importorskip("distributed")
    from optimiser.batch import run_batch

    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    b = write_batch(d, sweep={"budget_gbp": [1_000_000]})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with caplog.at_level(logging.INFO, logger="optimiser"):
            s = run_batch(b, tmp_path / "v", scheduler=cluster, progress=False)
        lines = [r.getMessage() for r in caplog.records]
        assert s.ran == 1
        key = s.records[0]["key"][:12]
        assert any(ln.startswith("Dask worker tcp://") and f"item {key} (budget=£1m): optimal in " in ln for ln in lines)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="optimiser"):
            run_batch(b, tmp_path / "q", scheduler=cluster, progress=False)
        assert not [r for r in caplog.records if "Dask worker" in r.getMessage()]


@pytest.mark.slow
def test_a_stop_on_dask_is_seen_at_once_not_after_the_next_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C of a batch on Dask waited for the next item to finish (``as_completed`` blocked):
    a 12 s item kept ``siteopt batch`` running for 10 s after the signal."""
    import time

    distributed = pytest.importorskip("distributed")
    from optimiser.batch import run_batch
    from optimiser.batch.worker import FAULTS_ENV
    from optimiser.errors import Interrupted
    from optimiser.solve import interrupt

    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    b = write_batch(d, sweep={"budget_gbp": [1_000_000, 2_000_000]})
    monkeypatch.setenv(FAULTS_ENV, '{"sleep": 12}')  # the workers inherit it: every item takes 12 s
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        timer = threading.Timer(2.0, interrupt.request, args=("SIGINT",))
        t0 = time.perf_counter()
        timer.start()
        try:
            with pytest.raises(Interrupted, match=r"0 of 2 items finished"):
                run_batch(b, tmp_path / "out", scheduler=cluster, progress=False)
            took = time.perf_counter() - t0
        finally:
            timer.cancel()
            interrupt.reset()
    assert took < 5.0, took
    assert [ln.split(",")[3] for ln in (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]] == ["pending"] * 2


@pytest.mark.slow
def test_a_dying_dask_worker_crashes_its_item_only_and_finished_items_are_not_run_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """An item that kills every worker it runs on is recorded as crashed (KilledWorker) and the
    rest solve; items already recorded are released, so a worker lost later (holding their
    results) does not make the cluster run them again (it did: 'which will be recomputed
    elsewhere', each re-run rewriting its run directory)."""
    import collections
    import re

    distributed = pytest.importorskip("distributed")
    from optimiser.batch import run_batch
    from optimiser.batch.worker import FAULTS_ENV

    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    b = write_batch(d, sweep={"budget_gbp": [1_000_000, 1_100_000, 1_200_000, 1_300_000, 2_000_000, 2_100_000]})
    monkeypatch.setenv(FAULTS_ENV, '{"crash": "£2m"}')
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with caplog.at_level(logging.INFO, logger="optimiser"):
            s = run_batch(b, tmp_path / "out", scheduler=cluster, progress=False)
    assert s.counts == {"crashed": 1, "optimal": 5} and s.exit_code == 5
    (crashed,) = [r for r in s.records if r["status"] == "crashed"]
    assert crashed["name"] == "budget=£2m" and "the Dask worker died while running this item" in crashed["error"]
    runs = collections.Counter(m.group(1) for r in caplog.records
                               if (m := re.search(r"Dask worker .*: item (\w{12}) \(.*\): optimal in", r.getMessage())))
    # no item ran twice (an item's last lines may be lost with a worker that died just after it)
    assert runs and set(runs.values()) == {1}, runs


def test_an_unreachable_scheduler_leaves_no_batch_folder(tmp_path: Path) -> None:
    """The scheduler is reached before the batch folder is made: an unreachable one (siteopt
    batch: exit 2) left batch.json, a results.csv of pending items and runs/ behind."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from optimiser.batch import run_batch

    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    b = write_batch(d, sweep={"budget_gbp": [1_000_000]})
    out = tmp_path / "out"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(OSError, match="127.0.0.1:1"):
        run_batch(b, out, scheduler="tcp://127.0.0.1:1", progress=False)
    assert not out.exists() and not Path(f"{out}.lock").exists()


def test_jobs_with_a_scheduler_is_said_to_be_unused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from optimiser.batch import run_batch

    batch = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6]}}
    with caplog.at_level(logging.WARNING, logger="optimiser"), dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(OSError):
            run_batch(batch, tmp_path / "out", jobs=4, scheduler="tcp://127.0.0.1:1", progress=False)
    assert "jobs=4 is not used: the items run on the Dask cluster" in caplog.text
