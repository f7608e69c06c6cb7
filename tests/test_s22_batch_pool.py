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

