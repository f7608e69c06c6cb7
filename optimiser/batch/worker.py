"""Running one batch item (in a worker process): the scenario through the pipeline, its
outcome as a result record written atomically as the very last step."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from optimiser.batch.dasklog import forwarded
from optimiser.batch.gate import GatePass
from optimiser.batch.records import ItemRecord, ItemStatus, make_record, read_result
from optimiser.errors import (
    ExitCode,
    InputError,
    Interrupted,
    ModelError,
    OutputBusyError,
    TimeLimitError,
    VerificationError,
)
from optimiser.inputs.scenario import scenario_from_mapping
from optimiser.pipeline import RunResult, run_scenario
from optimiser.present.metrics import RunMetrics
from optimiser.present.rundir import write_json_atomic
from optimiser.present.staging import OutputLock, before_commit, cli_wording, drop_unfinished

logger = logging.getLogger(__name__)

FAULTS_ENV = "_SITEOPT_BATCH_FAULTS"
"""Test hook: JSON ``{"crash": "name part", "sleep": seconds}`` delays every item and kills the
worker running an item whose name contains ``crash``."""


def _clear_leftovers(out: Path) -> None:
    """Empty an item's folder that holds no run (what an item killed before its run moved into
    place left: a temporary or truncated result record): the folder is the batch's, and the run
    replaces only a run directory (:class:`~optimiser.present.staging.StagedDir`)."""
    if (out / "metrics.json").is_file():
        return
    for p in out.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _faults(name: str) -> None:
    """Test hook (environment variable ``_SITEOPT_BATCH_FAULTS``): delay or kill a worker."""
    raw = os.environ.get(FAULTS_ENV)
    if not raw:
        return
    spec = json.loads(raw)
    if spec.get("sleep"):
        time.sleep(float(spec["sleep"]))
    if spec.get("crash") and spec["crash"] in name:
        os._exit(70)


HOLDER_RESULT_WAIT_S = 3.0
"""How long an item waits, after the other run of it released the run directory, for that run's
result.json (written just after the run directory is moved into place)."""


def _after_holder(out: Path, key: str, name: str, time_limit_s: float) -> ItemRecord | None:
    """Wait for another run of this item that holds its run directory (a Dask task of a stopped
    batch keeps running when cancelled, and a resumed batch runs the item again) to end, for at
    most four times its time limit plus a minute; its record if it wrote one (then this run is
    not needed), else ``None`` (it was killed, or still holds the directory: run it, which then
    says who holds it)."""
    logger.info("item %s (%s): its run directory is being written by another run of it; waiting for that run",
                key[:12], name)
    deadline = time.monotonic() + 4.0 * time_limit_s + 60.0
    while time.monotonic() < deadline:
        try:
            with OutputLock(out, f"batch item {key[:12]} waiting"):
                break
        except OutputBusyError:
            time.sleep(0.5)
    else:
        return None
    until = time.monotonic() + HOLDER_RESULT_WAIT_S
    while (earlier := read_result(out / "result.json", key)) is None and time.monotonic() < until:
        time.sleep(0.1)
    if earlier is not None:
        logger.info("item %s (%s): finished by its other run (%s)", key[:12], name, earlier["status"])
    return earlier


def _solved_record(key: str, name: str, ov: Mapping[str, Any], res: RunResult, seconds: float) -> ItemRecord:
    status = ItemStatus.of(res.status)
    m = res.metrics
    error = None
    if status is ItemStatus.INFEASIBLE:
        error = "infeasible" + (": " + "; ".join(m.conflicts) if m.conflicts else (f": {m.message}" if m.message else ""))
    elif status is ItemStatus.NO_SOLUTION:
        error = "no solution within the time limit" + (f": {m.message}" if m.message else "")
    return make_record(key, name, ov, status, res.exit_code, seconds, m, error)


def _written_metrics(out: Path) -> RunMetrics | None:
    """The metrics.json the pipeline wrote before a verification failure, if it is readable."""
    try:
        return RunMetrics.from_json_dict(json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, PydanticValidationError) as exc:
        logger.warning("cannot read %s: %s", out / "metrics.json", exc)
        return None


def run_item(payload: Mapping[str, Any], run_dir: str, render: bool = False) -> ItemRecord:
    """Run one batch item and write its ``result.json`` (atomically, as the last step).

    Args:
        payload: ``key``, ``name``, ``overrides``, ``scenario`` (the resolved mapping) and
            ``base_path`` (where the scenario's relative site path resolves); on Dask also
            ``log`` (:func:`optimiser.batch.dasklog.forwarded`: the batch's level and topic);
            ``cli_words``: messages name the command line's options (``--out``), as
            :func:`optimiser.present.staging.cli_wording`; on Dask ``gate``, the batch's commit
            gate (:mod:`optimiser.batch.gate`).
        run_dir: the item's run directory (created).
        render: also draw plans and report.html.

    Returns:
        The item's record. Never raises for a bad item: invalid input, infeasibility, no
        solution, a verification failure or an exception all become a record with a status
        and a reason. An item whose ``result.json`` (with its key) is already there is not run
        again: its record is returned (the batch removes the file of an item it means to re-run).

    Raises:
        Interrupted: the batch stopped (its commit gate is closed, or in the batch's own process
            a stop was requested): nothing of the item is kept (no run directory, no
            ``result.json``; a resume runs it again).
    """
    wording = cli_wording() if payload.get("cli_words") else contextlib.nullcontext()
    gate = GatePass(payload.get("gate"))
    # on Dask: the item logs at the batch's verbosity, shown by the batch, and moves its run into place only
    # while the batch runs (the gate is held from then until its result.json is written)
    with forwarded(payload.get("log")), wording, gate.held(), before_commit(gate.enter):
        return _run_item(payload, run_dir, render, gate)


def _run_item(payload: Mapping[str, Any], run_dir: str, render: bool, gate: GatePass) -> ItemRecord:
    t0 = time.perf_counter()
    key, name, ov = payload["key"], payload["name"], payload["overrides"]
    out = Path(run_dir)
    gate.check()  # the batch stopped before this item started: nothing is touched
    out.mkdir(parents=True, exist_ok=True)
    earlier = read_result(out / "result.json", key)
    if earlier is not None:  # e.g. Dask re-running an item whose result a lost worker held: it is on disk
        logger.info("item %s (%s): finished earlier (%s), not run again", key[:12], name, earlier["status"])
        return earlier
    _clear_leftovers(out)
    logger.debug("item %s (%s) starts in %s", key[:12], name, out)
    try:
        _faults(name)
        # the item's run is titled by its swept values (e.g. "budget=£1.5m"), then the base's name
        # (not when the item gives its own name: it leads the item's name already)
        data = dict(payload["scenario"])
        own = data.get("name") and data["name"] != name and "name" not in ov
        data["name"] = f"{name} · {data['name']}" if own else name
        sc = scenario_from_mapping(data, base_path=payload["base_path"], name=f"{name} [{key[:12]}]")
        try:
            res = run_scenario(sc, out, overwrite=True, render=render)
        except OutputBusyError:  # this item running elsewhere: a cancelled Dask task of a stopped batch
            earlier = _after_holder(out, key, name, sc.solver.time_limit_s)
            if earlier is not None:
                return earlier
            res = run_scenario(sc, out, overwrite=True, render=render)  # its holder ended without a result
        rec = _solved_record(key, name, ov, res, time.perf_counter() - t0)
    except Interrupted:
        _drop(out, key, name)
        raise
    except TimeLimitError as exc:
        rec = make_record(key, name, ov, ItemStatus.NO_SOLUTION, ExitCode.NO_SOLUTION, time.perf_counter() - t0,
                          error=str(exc))
    except ModelError as exc:  # e.g. the model would not fit in memory or in the time limit
        rec = make_record(key, name, ov, ItemStatus.INVALID, ExitCode.INPUT, time.perf_counter() - t0,
                          error=f"cannot model this scenario: {exc}")
    except InputError as exc:
        rec = make_record(key, name, ov, ItemStatus.INVALID, ExitCode.INPUT, time.perf_counter() - t0,
                          error="; ".join(f"{p.field or '(file)'}: {p.reason}" + (f" ({p.hint})" if p.hint else "")
                                          for p in exc.problems))
    except VerificationError as exc:
        rec = make_record(key, name, ov, ItemStatus.VERIFICATION_FAILED, ExitCode.INTERNAL, time.perf_counter() - t0,
                          _written_metrics(out), error="verification failed: " + "; ".join(exc.failures))
    except Exception as exc:  # one bad item must not stop the batch: recorded as "error" with its reason
        logger.warning("item %s (%s) failed: %s: %s", key[:12], name, type(exc).__name__, exc)
        logger.debug("item %s traceback", key[:12], exc_info=True)
        rec = make_record(key, name, ov, ItemStatus.ERROR, ExitCode.INTERNAL, time.perf_counter() - t0,
                          error=f"{type(exc).__name__}: {exc}")
    try:
        gate.enter()  # held already when the run moved into place
    except Interrupted:
        _drop(out, key, name)
        raise
    write_json_atomic(out / "result.json", rec)
    logger.info("item %s (%s): %s in %.1f s", key[:12], name, rec["status"], rec["seconds"])
    return rec


def _drop(out: Path, key: str, name: str) -> None:
    """The batch stopped while this item ran: its folder goes when empty (as a local batch's)."""
    logger.info("item %s (%s): the batch stopped; nothing of this item is kept", key[:12], name)
    drop_unfinished(out)
