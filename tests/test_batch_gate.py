"""A batch stopped on Dask leaves nothing of its running items in the batch folder
(optimiser.batch.gate): a cancelled Dask task goes on running, and moved its run into
``runs/<key>/`` and wrote its result.json after ``siteopt batch`` had returned (session 25)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from optimiser.batch.gate import GATE_PREFIX, CommitGate, GatePass
from optimiser.errors import Interrupted
from optimiser.present.staging import StagedDir, before_commit
from tests.test_batch import write_budget_sweep


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_an_item_passes_an_open_gate_and_not_a_closed_one(tmp_path: Path) -> None:
    gate = CommitGate(tmp_path).open()
    item = GatePass(str(gate.path))
    item.check()
    with item.held():
        item.enter()
        item.enter()  # held already: nothing more
    gate.close()
    assert not gate.path.exists()
    with pytest.raises(Interrupted, match="the batch was stopped"):
        GatePass(str(gate.path)).check()
    with pytest.raises(Interrupted, match="moving the item's run into place"):
        GatePass(str(gate.path)).enter()
    GatePass(None).enter()  # not on Dask: not gated
    GatePass(str(tmp_path / "not-seen" / "gate")).enter()  # a worker that does not see the batch folder


def test_closing_waits_for_an_item_moving_its_run_into_place(tmp_path: Path) -> None:
    gate = CommitGate(tmp_path).open()
    item = GatePass(str(gate.path))
    item.enter()
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (gate.close(), closed.set()))
    closer.start()
    time.sleep(0.3)
    assert not closed.is_set() and gate.path.exists()  # the item writes its result.json first
    item.leave()
    closer.join(5)
    assert closed.is_set() and not gate.path.exists()


def test_a_new_gate_removes_the_gates_of_a_killed_batch(tmp_path: Path) -> None:
    stale = tmp_path / f"{GATE_PREFIX}0123456789abcdef"
    stale.write_bytes(b"")
    gate = CommitGate(tmp_path).open()
    assert [p.name for p in tmp_path.iterdir()] == [gate.path.name]
    gate.close()
    assert not list(tmp_path.iterdir())


def test_a_closed_gate_keeps_a_staged_run_out_of_place(tmp_path: Path) -> None:
    gate = CommitGate(tmp_path).open()
    item = GatePass(str(gate.path))
    gate.close()
    out = tmp_path / "runs" / "abc"
    with pytest.raises(Interrupted), before_commit(item.enter), StagedDir(out, overwrite=False) as stage:
        stage.file("metrics.json").write_text("{}", encoding="utf-8")
        stage.commit()
    assert _listing(tmp_path) == []  # no run, no stage, no lock (nor the folder made for them)


def _stop_once_running(out: Path, n: int) -> threading.Thread:
    """Request a stop once ``n`` items have started (made their folders), as a Ctrl-C would."""
    from optimiser.solve import interrupt

    def watch() -> None:
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline and len(list((out / "runs").glob("*"))) < n:
            time.sleep(0.05)
        interrupt.request("SIGINT")

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def _wait_idle(cluster: Any, timeout_s: float = 120.0) -> None:
    """Until no task runs on the cluster's (in-process) workers: the cancelled items have ended."""
    deadline = time.monotonic() + timeout_s
    while any(w.state.executing_count for w in cluster.workers.values()):
        assert time.monotonic() < deadline, "the cancelled items did not end"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_dask_batch_stopped_mid_item_writes_nothing_after_and_a_resume_finishes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both items are running (sleeping 4 s, then solving) when the batch is stopped. The
    workers are threads of this process, so the stop request reaches their solves too: neither
    may leave an ``error`` record (Interrupted was recorded as one) nor a run. Before the gate,
    both items moved their runs into place and wrote result.json (optimal) seconds after
    run_batch had returned."""
    distributed = pytest.importorskip("distributed")
    from optimiser.batch import run_batch
    from optimiser.batch.worker import FAULTS_ENV
    from optimiser.solve import interrupt

    b = write_budget_sweep(tmp_path, [1_000_000, 2_000_000])
    out = tmp_path / "out"
    monkeypatch.setenv(FAULTS_ENV, '{"sleep": 4}')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        watcher = _stop_once_running(out, 2)
        try:
            with pytest.raises(Interrupted, match=r"0 of 2 items finished"):
                run_batch(b, out, scheduler=cluster, progress=False)
            assert _listing(out) == ["batch.json", "results.csv", "runs"]
            _wait_idle(cluster)  # the stop is still requested while the items end
        finally:
            watcher.join()
            interrupt.reset()
        assert _listing(out) == ["batch.json", "results.csv", "runs"]
        monkeypatch.delenv(FAULTS_ENV)
        s = run_batch(b, out, scheduler=cluster, progress=False)
    assert (s.ran, s.skipped, s.counts) == (2, 0, {"optimal": 2})
    assert not list(out.glob(f"{GATE_PREFIX}*"))


@pytest.mark.slow
def test_a_dask_batch_on_worker_processes_stopped_mid_item_writes_nothing_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above on a worker process (the stop request does not reach it: only the gate does),
    and resumed while the stopped items still run: the resumed runs wait for them, then run."""
    distributed = pytest.importorskip("distributed")
    from optimiser.batch import run_batch
    from optimiser.batch.worker import FAULTS_ENV
    from optimiser.solve import interrupt

    b = write_budget_sweep(tmp_path, [1_000_000, 2_000_000])
    out = tmp_path / "out"
    monkeypatch.setenv(FAULTS_ENV, '{"sleep": 4}')  # the worker process inherits it: every item sleeps
    with distributed.LocalCluster(n_workers=1, threads_per_worker=4, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            client.wait_for_workers(1)
            watcher = _stop_once_running(out, 2)
            try:
                with pytest.raises(Interrupted, match=r"0 of 2 items finished"):
                    run_batch(b, out, scheduler=client, progress=False)
            finally:
                watcher.join()
                interrupt.reset()
            assert _listing(out) == ["batch.json", "results.csv", "runs"]
            s = run_batch(b, out, scheduler=client, progress=False)  # the stopped items are still sleeping
            assert (s.ran, s.counts) == (2, {"optimal": 2})
            time.sleep(1.0)
            finished = _listing(out)
            # the stopped items ended meanwhile: nothing of theirs was moved in or left behind
            assert not [p for p in finished if p.endswith((".partial", ".lock")) or GATE_PREFIX in p]
            assert all((out / "runs" / r["run_dir"].rsplit("/", 1)[-1] / "result.json").is_file() for r in s.records)
