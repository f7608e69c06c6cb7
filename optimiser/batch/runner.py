"""Running a batch: items in a local process pool or on a Dask cluster, resumably, with a
progress bar; results.csv rewritten after each completion, then pareto.csv, pareto.png and
summary.json.

Every item's run directory is ``OUT/runs/<key[:12]>/``; ``result.json`` there is written
atomically as the item's very last step and is the only thing that marks it finished, so an
interrupted batch resumes where it stopped and a changed site or scenario re-runs.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from optimiser import __version__
from optimiser.batch.dasklog import LogRelay
from optimiser.batch.gate import CommitGate
from optimiser.batch.lifeline import init_worker
from optimiser.batch.records import ItemRecord, ItemStatus, is_solved, make_record, read_result
from optimiser.batch.results import csv_text, pareto_table, plot_pareto, results_header, results_rows, swept_headers
from optimiser.batch.scheduler import client_security, parse_scheduler_address
from optimiser.batch.spec import BatchItem, BatchSource, BatchSpec, load_batch
from optimiser.batch.worker import run_item
from optimiser.errors import ArgumentError, ExitCode, Interrupted, OutputExistsError, Problem
from optimiser.inputs import schema as S
from optimiser.inputs.formats import checked_path
from optimiser.inputs.limits import whole_number_problem
from optimiser.present.rundir import atomic_write_text, write_json_atomic
from optimiser.present.staging import (
    OutputLock,
    cli_words,
    created_parents,
    drop_unfinished,
    out_word,
    overwrite_word,
    parents_error,
    refused_write,
    remove_made,
)
from optimiser.runclock import usable_cpus
from optimiser.solve import interrupt

logger = logging.getLogger(__name__)

OnDone = Callable[[BatchItem, ItemRecord], None]
"""Called in the parent once per finished item with its record."""

_DIED = "the worker process died while running this item"


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes:
        batch_id, out_dir: the batch and its output folder.
        records: one result record per item, in item order (the content of each result.json
            plus ``index`` and ``run_dir``).
        counts: items per status.
        ran, skipped: items run now, and finished items skipped on resume.
        seconds: wall time of this call.
        results_csv, pareto_csv, pareto_png, summary_json: output paths.
        duplicates: items dropped because they resolve to the same scenario as another.
    """

    batch_id: str
    out_dir: Path
    records: list[ItemRecord]
    counts: dict[str, int]
    ran: int
    skipped: int
    seconds: float
    results_csv: Path
    pareto_csv: Path
    pareto_png: Path
    summary_json: Path
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        """True when every item was solved."""
        return all(is_solved(r["status"]) for r in self.records)

    @property
    def problems(self) -> dict[str, int]:
        """Items per status that gave no answer to their scenario (invalid, error, crashed,
        verification_failed; :attr:`ItemStatus.is_problem`)."""
        return {s: n for s, n in self.counts.items() if s in ItemStatus.__members__.values() and ItemStatus(s).is_problem}

    @property
    def exit_code(self) -> ExitCode:
        """What ``siteopt batch`` exits with: :attr:`ExitCode.ITEMS_FAILED` (5) when any item is
        invalid, errored, crashed or failed verification, else :attr:`ExitCode.OK` (infeasible
        and unsolved items are answers of a sweep, not failures)."""
        return ExitCode.ITEMS_FAILED if self.problems else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (summary.json, and what ``siteopt batch`` prints)."""
        return {
            "batch": self.batch_id,
            "out_dir": str(self.out_dir),
            "items": len(self.records),
            "counts": dict(self.counts),
            "solved": sum(n for s, n in self.counts.items() if is_solved(s)),
            "failed": sum(self.problems.values()),
            "exit_code": int(self.exit_code),
            "ran": self.ran,
            "skipped": self.skipped,
            "duplicates_dropped": self.duplicates,
            "seconds": round(self.seconds, 3),
            "scenarios_per_minute": round(60.0 * self.ran / self.seconds, 2) if self.seconds > 0 and self.ran else None,
            "paths": {
                "results_csv": str(self.results_csv),
                "pareto_csv": str(self.pareto_csv),
                "pareto_png": str(self.pareto_png),
                "summary_json": str(self.summary_json),
                "runs": str(self.out_dir / "runs"),
            },
        }


# ---------------------------------------------------------------- progress and workers


class _Progress:
    """A rich progress bar on stderr (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int, label: str):
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if not enabled:
            return
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task(label, total=total, completed=done, counts="")
        self.bar.start()

    def update(self, counts: Mapping[str, int]) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, counts=" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _pool(jobs: int) -> cf.ProcessPoolExecutor:
    # spawn: fresh interpreters, never a fork of a process with OR-Tools threads; each worker
    # ignores SIGINT and dies with this process (batch.lifeline.init_worker: a light module, so
    # the parent-death signal is armed before the worker imports the pipeline)
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=init_worker, initargs=(os.getpid(), _worker_log_level()))


def _worker_log_level() -> int:
    """The level from which workers write their log lines: the parent's (``siteopt -v`` / ``-q``)."""
    return min(logging.getLogger("optimiser").getEffectiveLevel(), logging.WARNING)


@contextlib.contextmanager
def _main_script_not_rerun() -> Iterator[None]:
    """While workers are started: a spawned worker does not re-run the main script.

    ``spawn`` makes every worker run the parent's main script (as ``__mp_main__``) before it
    unpickles its initialiser, when the parent was started as a script (the ``siteopt``
    console script, which imports the whole command line: seconds under load, with the
    parent-death signal not yet armed). Nothing a worker runs lives in the main script, so
    its ``__file__`` is hidden while the pool starts processes (only in :func:`_submit`, on
    this thread: ``ProcessPoolExecutor`` with ``spawn`` starts them in ``submit``).
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield  # `python -m optimiser`: spawn does not re-run a package's __main__
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _submit(ex: cf.ProcessPoolExecutor, it: BatchItem, runs: Path, render: bool) -> cf.Future[ItemRecord]:
    """Submit item ``it`` to the pool (which may start a worker process for it)."""
    with _main_script_not_rerun():
        return ex.submit(run_item, _payload(it), str(runs / it.run_id), render)


WAIT_S = 0.25
"""How often the parent looks for an interruption while items run (seconds)."""


def _stop_workers(ex: cf.ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes and their children (a CBC subprocess), then shut
    the pool down: the items in flight are dropped (no result.json: they re-run on resume)."""
    psutil = importlib.import_module("psutil")  # installed with dask[distributed]
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        try:
            kids = psutil.Process(p.pid).children(recursive=True)
        except psutil.Error:
            kids = []
        for k in kids:
            with contextlib.suppress(psutil.Error):
                k.terminate()
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(5.0)
        if p.is_alive():
            p.kill()
    ex.shutdown(wait=True, cancel_futures=True)
    logger.info("stopped %d worker process(es)", len(procs))


def _wait(futures: Any) -> set[Any]:
    """The futures done, waiting until one is or a stop is requested."""
    while True:
        done, _ = cf.wait(futures, timeout=WAIT_S, return_when=cf.FIRST_COMPLETED)
        if done or interrupt.requested():
            return done


def _payload(it: BatchItem) -> dict[str, Any]:
    """What a worker gets to run ``it``; ``cli_words``: its messages name ``--out`` as the batch's
    own do (from ``siteopt batch``), not ``out_dir``."""
    return {"key": it.key, "name": it.name, "overrides": it.overrides, "scenario": it.scenario, "base_path": it.base_path,
            "cli_words": cli_words()}


def _crash_record(it: BatchItem, reason: str, seconds: float = 0.0) -> ItemRecord:
    logger.warning("item %s (%s) crashed: %s", it.run_id, it.name, reason)
    return make_record(it.key, it.name, it.overrides, ItemStatus.CRASHED, ExitCode.INTERNAL, seconds, error=reason)


def _error_record(it: BatchItem, exc: BaseException, seconds: float) -> ItemRecord:
    logger.warning("item %s (%s) failed in the parent: %s: %s", it.run_id, it.name, type(exc).__name__, exc)
    return make_record(it.key, it.name, it.overrides, ItemStatus.ERROR, ExitCode.INTERNAL, seconds,
                       error=f"{type(exc).__name__}: {exc}")


def _warn_oversubscribed(jobs: int, n_items: int) -> None:
    """Warn when more worker processes would run at once than this process may use CPUs: each
    item's work limit keeps its answer, but the items share the CPUs (each takes longer, may hit
    its wall-clock safety net, which the record then says) and each process holds its own memory."""
    cpus = usable_cpus()
    running = min(jobs, n_items)
    if running > cpus:
        logger.warning("%d worker processes on %d CPUs: the items share them and each takes longer (the same "
                       "answers while their work limits end them; stopped_by says when the wall clock did)",
                       running, cpus)


def _run_isolated(it: BatchItem, runs: Path, render: bool) -> ItemRecord | None:
    """Run one item alone in a fresh pool, so a dying worker names its culprit (``None`` when
    interrupted: it is not finished)."""
    t0 = time.perf_counter()
    with _pool(1) as ex:
        fut = _submit(ex, it, runs, render)
        if not _wait({fut}):
            _stop_workers(ex)
            return None
        try:
            return fut.result()
        except cf.process.BrokenProcessPool:
            return _crash_record(it, _DIED, time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled: recorded as "error"
            return _error_record(it, exc, time.perf_counter() - t0)


def _settle(fut: cf.Future[ItemRecord], it: BatchItem, t0: float, suspects: deque[BatchItem], on_done: OnDone) -> bool:
    """Record the item of a finished future (an exception, e.g. a result that cannot be pickled,
    as an error); one whose worker died, or left unfinished when the pool broke, goes to
    ``suspects`` instead (one of them the culprit, to be re-run one by one): returns False then."""
    if not fut.done() or fut.cancelled():
        suspects.append(it)
        return False
    try:
        rec = fut.result()
    except cf.process.BrokenProcessPool:
        suspects.append(it)
        return False
    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled: recorded as "error"
        rec = _error_record(it, exc, time.perf_counter() - t0)
    on_done(it, rec)
    return True


def _run_pool(pending: deque[BatchItem], suspects: deque[BatchItem], runs: Path, jobs: int, render: bool,
              on_done: OnDone) -> None:
    """Run ``pending`` in one pool until it is empty or a worker dies; the items in flight when
    a worker died go to ``suspects`` (or, if only one was running, are recorded as crashed)."""
    ex = _pool(jobs)
    inflight: dict[cf.Future[ItemRecord], tuple[BatchItem, float]] = {}
    broken = False
    try:
        while (pending or inflight) and not broken:
            while pending and len(inflight) < jobs:
                try:  # a worker that died since the last wait breaks the pool: submit refuses
                    fut = _submit(ex, pending[0], runs, render)
                except cf.process.BrokenProcessPool:
                    broken = True
                    break
                inflight[fut] = (pending.popleft(), time.perf_counter())
            if broken:
                break
            done = _wait(inflight)
            if not done:  # interrupted: the items in flight are not finished
                break
            for fut in done:
                if not _settle(fut, *inflight.pop(fut), suspects, on_done):
                    broken = True
        if broken:  # the items in flight that finished anyway are recorded, the others are suspects
            for fut, (it, t0) in inflight.items():
                _settle(fut, it, t0, suspects, on_done)
            inflight.clear()
            logger.info("a worker died: %d item(s) in flight are re-run one by one", len(suspects))
            if len(suspects) == 1:  # it ran alone: it is the culprit
                it = suspects.popleft()
                on_done(it, _crash_record(it, _DIED))
    finally:
        if interrupt.requested():
            _stop_workers(ex)
            for it, _ in inflight.values():  # killed part-way: no empty folder, stage or lock left behind
                drop_unfinished(runs / it.run_id)
        else:
            ex.shutdown(wait=True, cancel_futures=True)


def _run_local(todo: list[BatchItem], runs: Path, jobs: int, render: bool, on_done: OnDone) -> None:
    """Run items in a process pool; a dying worker breaks the pool: the items in flight are
    re-run one by one in isolation (so the culprit is known) and the rest resubmitted."""
    pending = deque(todo)
    suspects: deque[BatchItem] = deque()
    while (pending or suspects) and not interrupt.requested():
        if suspects:
            it = suspects.popleft()
            rec = _run_isolated(it, runs, render)
            if rec is not None:
                on_done(it, rec)
        else:
            _run_pool(pending, suspects, runs, jobs, render, on_done)


@contextlib.contextmanager
def _dask_client(scheduler: Any, security: Any) -> Iterator[Any]:
    """The ``distributed.Client`` of ``scheduler`` (an address, a Client or a cluster), connected
    before the batch folder is touched (an unreachable scheduler leaves nothing behind); ``None``
    without a scheduler. A client made here is closed at the end.

    Raises:
        OSError: the scheduler cannot be reached (``siteopt batch``: exit 2).
    """
    if scheduler is None:
        yield None
        return
    from distributed import Client  # lazy: an optional, slow import

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if isinstance(scheduler, str):
        address = parse_scheduler_address(scheduler)
        client = Client(str(address), security=client_security(address, security))
    elif hasattr(scheduler, "scheduler_address"):
        client = Client(scheduler, security=security)
    else:
        raise TypeError(f"scheduler must be an address, a distributed.Client or a cluster, not {type(scheduler).__name__}")
    try:
        yield client
    finally:
        client.close()


def _run_dask(todo: list[BatchItem], runs: Path, client: Any, render: bool, on_done: OnDone) -> None:
    """Run items on a Dask cluster through ``client``; the items move their runs into place only
    while the batch's commit gate is open (:mod:`optimiser.batch.gate`: a cancelled Dask task goes
    on running)."""
    from distributed import as_completed  # lazy: an optional, slow import

    logger.info("running %d items on Dask", len(todo))
    relay = None
    gate = CommitGate(runs.parent).open()
    try:
        relay = LogRelay(client, _worker_log_level())  # the workers' log lines, at this batch's verbosity
        payload = {"log": relay.payload(), "gate": str(gate.path)}

        def submit(it: BatchItem) -> Any:
            return client.submit(run_item, {**_payload(it), **payload}, str(runs / it.run_id), render,
                                 pure=False, key=f"siteopt-item-{it.key[:16]}-{time.time_ns()}")

        rounds = _DaskRounds(client, gate, runs, on_done, as_completed)
        suspects = rounds.run({submit(it): it for it in todo}, final=False)
        if suspects and not interrupt.requested():
            logger.info("%d item(s) were on Dask workers that died: re-run one at a time", len(suspects))
        for it in suspects:  # alone on the cluster, so a worker that dies now names its culprit
            if interrupt.requested():
                break
            rounds.run({submit(it): it}, final=True)
    finally:
        gate.close()  # nothing of this batch moves into place from now on
        if relay is not None:
            relay.close()


@dataclass
class _DaskRounds:
    """Running items on Dask and recording them as they finish."""

    client: Any
    gate: CommitGate
    runs: Path
    on_done: OnDone
    as_completed: Any

    def run(self, futs: dict[Any, BatchItem], final: bool) -> list[BatchItem]:
        """Record the items of ``futs`` as they finish, until all have or a stop is requested (the
        gate is closed, the rest are cancelled and their empty folders removed); returns the items
        whose workers died (``KilledWorker``), recorded as crashed only when ``final`` (Dask counts
        a death against every item on that worker, the innocent ones queued beside the culprit too)."""
        suspects: list[BatchItem] = []
        stopped: list[BatchItem] = []
        ac = self.as_completed(list(futs))
        while not ac.is_empty():
            finished = ac.next_batch(block=False)  # not blocking: a stop is seen within WAIT_S, not after an item
            for f in finished:
                it = futs.pop(f)
                exc = f.exception() if f.status == "error" else None
                if type(exc).__name__ == "KilledWorker" and not final:
                    suspects.append(it)
                elif isinstance(exc, Interrupted) and interrupt.requested():
                    stopped.append(it)  # stopped with the batch (a worker in this process): not finished
                else:
                    self.on_done(it, _dask_record(it, f))
                f.release()  # recorded: a worker lost later must not make the cluster run the item again
            if interrupt.requested():  # the items not yet finished are cancelled, not recorded
                self.gate.close()  # items running on go on in their stages, and move nothing into place
                self.client.cancel(list(futs))
                for it in [*futs.values(), *stopped]:  # not started, or stopped: no empty folder left behind
                    drop_unfinished(self.runs / it.run_id)
                break
            if not finished:
                time.sleep(WAIT_S)
        return suspects


def _dask_record(it: BatchItem, fut: Any) -> ItemRecord:
    """The record of an item run on Dask: its result, or why it has none."""
    try:
        rec: ItemRecord = fut.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker and friends: recorded as "crashed" or "error"
        if type(exc).__name__ == "KilledWorker":
            return _crash_record(it, f"the Dask worker died while running this item ({exc})")
        return _error_record(it, exc, 0.0)
    return rec


# ---------------------------------------------------------------- the batch


_OUTPUTS = ("batch.json", "results.csv", "pareto.csv", "pareto.png", "summary.json")
"""A batch folder's own files (besides ``runs/``): what ``overwrite`` removes."""


def _earlier_batch(out: Path) -> tuple[str | None, str]:
    """The id of the batch whose batch.json is in ``out`` (None when it cannot be read) and a
    readable description of it."""
    try:
        old = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    old_id = old.get("id") if isinstance(old, dict) else None
    if not isinstance(old_id, str):
        return None, "names no batch id"
    n = len(old.get("items") or [])
    return old_id, f"holds the batch {old_id!r} ({n} item{'s' if n != 1 else ''}, from {old.get('batch_file') or 'a mapping'})"


def _prepare_out(out: Path, spec: BatchSpec, overwrite: bool) -> None:
    """Make ``out`` the folder of batch ``spec``: a new or empty folder, the same batch's folder
    (resumed), or with ``overwrite`` an earlier batch's folder emptied of its outputs and runs.

    Raises:
        OutputExistsError: ``out`` is a file, a non-empty folder that is not a batch folder, or
            (without ``overwrite``) the folder of another batch (another id).
    """
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose another {out_word()}")
    if out.is_dir() and any(out.iterdir()) and not (out / "batch.json").is_file():
        raise OutputExistsError(f"{out} is not empty and is not a batch output folder (no batch.json); "
                                f"choose another {out_word()}")
    if (out / "batch.json").is_file():
        old_id, what = _earlier_batch(out)
        if overwrite:
            logger.warning("%s: batch.json %s; removing that batch's results and runs (overwrite)", out, what)
            shutil.rmtree(out / "runs", ignore_errors=True)
            for name in _OUTPUTS:
                (out / name).unlink(missing_ok=True)
        elif old_id != spec.id:
            raise OutputExistsError(
                f"{out / 'batch.json'} {what}, not this batch {spec.id!r}: its results.csv and runs would be mixed "
                f"with this one's; choose a new {out_word()} for this batch, or pass {overwrite_word()} to replace "
                f"the earlier batch's results and runs")
    (out / "runs").mkdir(parents=True, exist_ok=True)


def _write_batch_json(out: Path, spec: BatchSpec) -> None:
    write_json_atomic(out / "batch.json", {
        "format": S.BATCH_FORMAT, "id": spec.id, "name": spec.name, "batch_file": str(spec.path) if spec.path else None,
        "base": str(spec.base_path), "version": __version__, "columns": spec.columns,
        "headers": dict(zip(spec.columns, swept_headers(spec.columns))),
        "items": [{"index": it.index, "key": it.key, "name": it.name, "overrides": it.overrides,
                   "site_sha256": it.site_sha256, "run_dir": f"runs/{it.run_id}"} for it in spec.items],
        "duplicates_dropped": [{"name": a, "same_as": b} for a, b in spec.duplicates],
    })


def _finished(spec: BatchSpec, runs: Path, resume: bool, retry_failed: bool) -> tuple[dict[str, ItemRecord], list[BatchItem]]:
    """The records of finished items (skipped on resume) and the items still to run; a stale,
    foreign or re-run item's result.json is removed."""
    records: dict[str, ItemRecord] = {}
    todo: list[BatchItem] = []
    for it in spec.items:
        res_path = runs / it.run_id / "result.json"
        rec = read_result(res_path, it.key) if resume else None
        if rec is not None and retry_failed and ItemStatus(rec["status"]).failed:
            rec = None
        if rec is not None:
            records[it.key] = rec
        else:
            if res_path.exists():
                res_path.unlink()  # stale, foreign or explicitly re-run: not finished
            todo.append(it)
    return records, todo


def _keep_finished(spec: BatchSpec, runs: Path, records: dict[str, ItemRecord]) -> None:
    """Add to ``records`` every item whose worker wrote its result.json but was not recorded
    (it finished as the batch was stopped), so results.csv says what is on disk."""
    for it in spec.items:
        rec = records.get(it.key) or read_result(runs / it.run_id / "result.json", it.key)
        if rec is not None:
            records[it.key] = rec


def _is_dask_client(scheduler: object) -> bool:
    distributed = sys.modules.get("distributed")  # a Client exists only once distributed is imported
    return distributed is not None and isinstance(scheduler, distributed.Client)


def _check_scheduler(scheduler: object, security: object) -> None:
    """``scheduler`` and ``security`` checked as ``siteopt batch`` checks ``--scheduler``.

    Raises:
        TypeError: ``scheduler`` is neither an address, a ``distributed.Client`` nor a cluster.
        ArgumentError: a malformed address (no scheme, no port, another scheme), a tls://
            address without ``security``, or ``security`` without a tls:// address.
    """
    if scheduler is None or _is_dask_client(scheduler) or hasattr(scheduler, "scheduler_address"):
        if security is not None and scheduler is None:
            raise ArgumentError([Problem("run_batch", "security", "is given without a scheduler",
                                         "give scheduler='tls://HOST:PORT' too, or leave security out")])
        return
    if not isinstance(scheduler, str):
        raise TypeError(f"run_batch() takes a Dask scheduler address (e.g. 'tls://host:8786'), a distributed.Client or "
                        f"a cluster as scheduler, got {type(scheduler).__name__} {scheduler!r}"[:300])
    try:
        address = parse_scheduler_address(scheduler)
    except ValueError as exc:
        raise ArgumentError([Problem("run_batch", "scheduler", str(exc))]) from None
    if address.scheme == "tls" and security is None:
        raise ArgumentError([Problem("run_batch", "scheduler", f"{address}: a tls:// scheduler needs certificates",
                                     "pass security=optimiser.batch.scheduler.tls_security(address, ca_file, cert, key)")])
    if address.scheme == "tcp" and security is not None:
        raise ArgumentError([Problem("run_batch", "security", f"is given for a plain tcp:// scheduler ({address})",
                                     "use a tls:// address")])


def run_batch(
    path_or_spec: BatchSource,
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    scheduler: Any = None,
    security: Any = None,
    progress: bool = True,
    resume: bool = True,
    render: bool = False,
    retry_failed: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> BatchSummary:
    """Run every item of a batch and write the results table and Pareto front.

    Args:
        path_or_spec: a batch file path, an in-memory batch mapping, or a :class:`BatchSpec`.
        out_dir: the batch folder (``runs/<key[:12]>/`` per item, results.csv, pareto.csv,
            pareto.png, summary.json, batch.json); created if needed.
        jobs: local worker processes (each item solves with one CP-SAT worker).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), ``distributed.Client`` or
            cluster object; runs the items there instead of local processes (the workers must
            see ``out_dir``). A tls:// address needs ``security``; plain tcp:// is for trusted
            networks only (:mod:`optimiser.batch.scheduler`).
        security: ``distributed.security.Security`` for a tls:// scheduler
            (:func:`optimiser.batch.scheduler.tls_security`).
        progress: show a rich progress bar on stderr.
        resume: skip items whose ``result.json`` exists, parses and has the item's key;
            ``False`` re-runs everything.
        render: also draw plans and report.html for every item (slower).
        retry_failed: on resume, re-run items recorded as ``error`` or ``crashed``.
        base_dir: where a mapping batch's relative ``base`` resolves (default: the cwd).
        overwrite: ``out_dir`` may hold another batch (another id): its results and runs are
            removed first (without it that is refused). The same batch is resumed either way
            unless ``overwrite`` (which starts it afresh).

    Returns:
        A :class:`BatchSummary`. Item failures are recorded, never raised.

    Raises:
        TypeError: ``out_dir`` is not a path, ``scheduler`` not an address, Client or cluster, or
            ``progress``, ``resume``, ``render``, ``retry_failed`` or ``overwrite`` not a bool.
        ArgumentError: ``jobs`` is not a whole number >= 1, ``scheduler`` a malformed address,
            ``security`` missing for a tls:// scheduler, or ``base_dir`` given with a
            :class:`BatchSpec` (as :func:`load_batch`; nothing read or created).
        ValidationError / FileReadError: the batch file is invalid (nothing run).
        OutputExistsError: ``out_dir`` is a non-empty folder that is not a batch folder, or
            (without ``overwrite``) another batch's folder (batch.json names another id);
            :class:`~optimiser.errors.OutputBusyError` (a subclass) when another batch is running
            on ``out_dir`` now (it holds ``<out_dir>.lock``, beside the folder; the message names it).
        OSError: the Dask scheduler cannot be reached (after distributed's connect timeout,
            30 s by default; nothing created).
        OutputWriteError: the disk filled up (or a quota, a read-only file system) while the
            batch wrote its outputs: the items finished so far are kept; a resume goes on.
        Interrupted: SIGINT / SIGTERM (with :func:`optimiser.solve.interrupt.handle_signals`
            installed): the finished items are kept (results.csv, their result.json), the
            workers are stopped, the items in flight are left to the next run (resume).
    """
    t_start = time.perf_counter()
    out = checked_path(out_dir, "run_batch", "out_dir")
    flags = {"progress": progress, "resume": resume, "render": render, "retry_failed": retry_failed,
             "overwrite": overwrite}
    for name, value in flags.items():  # resume="no" would be true: refused, not taken for yes
        if not isinstance(value, bool):
            raise TypeError(f"run_batch() takes True or False as {name}, got {type(value).__name__} {value!r}"[:300])
    if (why := whole_number_problem(jobs, 1)) is not None:
        raise ArgumentError([Problem("run_batch", "jobs", why)])
    _check_scheduler(scheduler, security)  # as siteopt batch does, before anything is read or created
    if scheduler is not None and jobs != 1:
        jobs_word = f"--jobs {jobs}" if cli_words() else f"jobs={jobs!r}"  # as the caller wrote it
        logger.warning("%s is not used: the items run on the Dask cluster, as many at once as its workers have threads",
                       jobs_word)
    spec = load_batch(path_or_spec, base_dir=base_dir)  # a BatchSpec as it is (with base_dir: refused there)
    # a second batch on this folder is refused, naming the holder; the scheduler is reached before the folder is touched
    with _batch_lock(out, spec), _dask_client(scheduler, security) as client:
        try:
            return _run_locked(spec, out, jobs, client, progress, resume, render, retry_failed, overwrite,
                               t_start)
        except Exception as exc:  # noqa: BLE001 - a full disk is the machine's, not a bug: said as for siteopt run
            refused = refused_write(exc)
            if refused is None:
                raise
            raise refused.error(f"cannot write the batch's outputs in {out}: {refused.why}; the items finished so far "
                                f"are kept (their result.json); {refused.fix}: with the same {out_word()} the same "
                                "command then resumes the batch (retry the items it recorded as errors), another "
                                "starts it anew") from exc


@contextlib.contextmanager
def _batch_lock(out: Path, spec: BatchSpec) -> Iterator[None]:
    """Hold ``<out>.lock`` (beside the batch folder, as a run's lock is beside its run
    directory) while the batch runs: two batches on one folder would run every item twice,
    collide on the items' run directories and record the collisions as errors.

    Raises:
        OutputBusyError: another batch (or run) holds the lock; the message names it.
        OutputExistsError: the folder the lock goes in cannot be created (a file on its path).
        OutputWriteError: the disk is full (or a quota reached ...) when the lock's note is written.
    """
    where = out.absolute()
    try:
        made = created_parents(where.parent)
    except OSError as exc:  # a file on the path: was an internal error (or "cannot use the Dask scheduler")
        raise parents_error(exc, out) from exc
    try:
        lock = OutputLock(where, f"batch {spec.id}")
        try:
            lock.acquire()
        except OSError as exc:  # the batch's first write: a full disk was a bare OSError (an internal error)
            if (refused := refused_write(exc)) is None:
                raise
            raise refused.error(f"cannot write the batch's lock {lock.path}: {refused.why}; nothing was written to "
                                f"{out} ({refused.fix})") from exc
        try:
            yield
        finally:
            lock.release()
    finally:
        if not where.exists():  # refused before the batch folder was made (e.g. no scheduler): nothing left
            remove_made(made)


def _run_locked(spec: BatchSpec, out: Path, jobs: int, client: Any, progress: bool, resume: bool,
                render: bool, retry_failed: bool, overwrite: bool, t_start: float) -> BatchSummary:
    """:func:`run_batch` once its arguments are checked and the batch folder locked."""
    _prepare_out(out, spec, overwrite)
    runs = out / "runs"
    _write_batch_json(out, spec)
    records, todo = _finished(spec, runs, resume, retry_failed)
    skipped = len(records)
    logger.info("batch %s: %d items, %d finished earlier, %d to run -> %s", spec.id, len(spec.items), skipped, len(todo), out)

    results_csv = out / "results.csv"

    def write_results() -> None:
        atomic_write_text(results_csv, csv_text(results_header(spec.columns, records), results_rows(spec.items, records, spec.columns)))

    counts: dict[str, int] = {}
    for r in records.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    bar = _Progress(progress, len(spec.items), skipped, spec.id)

    def on_done(it: BatchItem, rec: ItemRecord) -> None:
        res_path = runs / it.run_id / "result.json"
        if read_result(res_path, it.key) is None:  # the parent records crashes (and remote-only results)
            res_path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(res_path, rec)
        records[it.key] = rec
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
        write_results()
        bar.update(counts)

    write_results()
    try:
        if todo and client is not None:
            _run_dask(todo, runs, client, render, on_done)
        elif todo:
            _warn_oversubscribed(int(jobs), len(todo))
            _run_local(todo, runs, max(1, int(jobs)), render, on_done)
    except BaseException:  # e.g. KeyboardInterrupt without siteopt's handlers: the pool let its items finish
        _keep_finished(spec, runs, records)
        with contextlib.suppress(Exception):  # results.csv as on disk, never masking what stopped the batch
            write_results()
        raise
    finally:
        bar.close()
    if interrupt.requested():
        _keep_finished(spec, runs, records)
        write_results()
        done = sum(1 for it in spec.items if it.key in records)
        logger.warning("batch %s interrupted: %d of %d items finished and kept in %s", spec.id, done, len(spec.items), out)
        raise Interrupted(interrupt.signal_name(), f"the batch ({done} of {len(spec.items)} items finished and kept in "
                                                   f"{out}; the same command resumes it)")

    header, rows, _ = pareto_table(spec.items, records, spec.columns)
    pareto_csv = atomic_write_text(out / "pareto.csv", csv_text(header, rows))
    pareto_png = plot_pareto(out / "pareto.png", spec.items, records, spec.name)
    ordered: list[ItemRecord] = [{**records[it.key], "index": it.index, "run_dir": str(runs / it.run_id)}
                                 for it in spec.items if it.key in records]
    summary = BatchSummary(spec.id, out, ordered, dict(sorted(counts.items())), len(todo), skipped,
                           time.perf_counter() - t_start, results_csv, pareto_csv, pareto_png, out / "summary.json",
                           len(spec.duplicates))
    write_json_atomic(out / "summary.json", summary.to_dict())
    logger.info("batch %s done in %.1f s: %s", spec.id, summary.seconds, summary.counts)
    return summary
