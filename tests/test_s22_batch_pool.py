"""The local batch runner when a worker dies (session 22): a pool broken between two waits (a
worker died just as another item finished) must not end the batch with an internal error."""

from __future__ import annotations

import concurrent.futures as cf
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from optimiser.batch import runner
from optimiser.batch.records import ItemStatus, make_record
from optimiser.batch.spec import BatchItem
from optimiser.errors import ExitCode


def _item(i: int) -> BatchItem:
    key = f"{i:02d}" * 32
    return BatchItem(i, key, f"item{i}", {"budget": i}, {}, "/nowhere/scenario.yaml", None)


class _BrokenAfterFirst:
    """A pool whose first submitted item finishes at once and whose worker then dies: every
    later submit raises BrokenProcessPool (what ProcessPoolExecutor does once a worker died)."""

    def __init__(self, first_done: bool):
        self.calls = 0
        self.first_done = first_done

    def submit(self, fn: Any, payload: dict[str, Any], run_dir: str, render: bool) -> cf.Future[Any]:
        self.calls += 1
        if self.calls > 1:
            raise cf.process.BrokenProcessPool("A child process terminated abruptly")
        fut: cf.Future[Any] = cf.Future()
        if self.first_done:
            fut.set_result(make_record(payload["key"], payload["name"], payload["overrides"], ItemStatus.OPTIMAL,
                                       ExitCode.OK, 0.1))
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


@pytest.mark.parametrize("first_done", [True, False])
def test_pool_broken_at_submit_is_sorted_not_raised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    first_done: bool) -> None:
    pool = _BrokenAfterFirst(first_done)
    monkeypatch.setattr(runner, "_pool", lambda jobs: pool)
    items = [_item(i) for i in range(4)]
    pending, suspects = deque(items), deque()
    done: list[tuple[str, str]] = []
    runner._run_pool(pending, suspects, tmp_path, 2, False, lambda it, rec: done.append((it.name, rec["status"])))
    assert pool.calls == 2
    # the item refused by the broken pool stays pending (re-run in a fresh pool), none is lost
    assert [it.name for it in pending] == ["item1", "item2", "item3"]
    if first_done:  # it finished before the worker died: recorded with its own result
        assert done == [("item0", "optimal")]
    else:  # it was the only item in flight when the pool broke: the culprit
        assert done == [("item0", "crashed")]
    assert not suspects



def test_an_item_with_its_result_on_disk_is_not_run_again(tmp_path: Path) -> None:
    """Dask runs an item again when the worker holding its result dies before the batch fetched
    it; the item's result.json (its last step) is on the shared disk: the record is returned, the
    run directory left as it is. A record of another key does not count."""
    from optimiser.batch.records import read_result
    from optimiser.batch.runner import _payload
    from optimiser.batch.worker import run_item
    from optimiser.present.rundir import write_json_atomic

    it = _item(3)  # its scenario is empty: run, it would be recorded as invalid
    run_dir = tmp_path / it.run_id
    run_dir.mkdir()
    done = make_record(it.key, it.name, it.overrides, ItemStatus.OPTIMAL, ExitCode.OK, 1.5)
    write_json_atomic(run_dir / "result.json", done)
    (run_dir / "metrics.json").write_text("{}")
    assert run_item(_payload(it), str(run_dir)) == done
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json", "result.json"]
    other = _item(4)
    rec = run_item(_payload(other), str(run_dir))  # another key: run (and recorded as invalid)
    assert rec["status"] == "invalid" and read_result(run_dir / "result.json", other.key) == rec


def test_more_jobs_than_cpus_is_said(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    with caplog.at_level(logging.WARNING, logger="optimiser"):
        runner._warn_oversubscribed(8, 3)  # three items: three processes at most
        runner._warn_oversubscribed(8, 2)  # two: fits
        runner._warn_oversubscribed(2, 50)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["3 worker processes on 2 CPUs"]


@pytest.mark.parametrize("holder_finishes", [True, False])
def test_an_item_whose_run_directory_is_held_waits_for_its_other_run(tmp_path: Path, holder_finishes: bool) -> None:
    """A Dask task of a stopped batch keeps running when cancelled; the resumed batch runs the
    item again and found its run directory locked: recorded as an error (OutputBusyError, exit
    5). It now waits for that run: takes its record when it wrote one, else runs the item."""
    import threading
    import time

    from optimiser.batch import load_batch
    from optimiser.batch.runner import _payload
    from optimiser.batch.worker import run_item
    from optimiser.present.rundir import write_json_atomic
    from optimiser.present.staging import OutputLock
    from tests.sitefiles import write_files

    _, scen = write_files(tmp_path / "in")
    batch = tmp_path / "in" / "batch.yaml"
    batch.write_text(f"format: placemaking-batch/1\nbase: {scen.name}\nsweep: {{budget_gbp: [1000000]}}\n"
                     "time_limit_s: 10\n", encoding="utf-8")
    (it,) = load_batch(batch).items
    run_dir = tmp_path / "runs" / it.run_id
    run_dir.mkdir(parents=True)
    other = make_record(it.key, it.name, it.overrides, ItemStatus.FEASIBLE, ExitCode.OK, 9.0)
    held = threading.Event()

    def other_run() -> None:
        with OutputLock(run_dir, "the other run"):
            held.set()
            time.sleep(1.5)
            if holder_finishes:
                write_json_atomic(run_dir / "result.json", other)

    t = threading.Thread(target=other_run)
    t.start()
    held.wait(5)
    t0 = time.perf_counter()
    rec = run_item(_payload(it), str(run_dir))
    t.join()
    assert time.perf_counter() - t0 >= 1.0  # it waited
    if holder_finishes:
        assert rec == other
    else:
        assert rec["status"] == "optimal" and rec["error"] is None and (run_dir / "metrics.json").is_file()
