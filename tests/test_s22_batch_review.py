"""Review of the batch's output errors: an ``--out`` under a file (the lock ``<out>.lock`` is
made before the batch folder) is refused naming the file, and a full disk is an
OutputWriteError (exit 2 saying so), not an internal error, nor (with a Dask scheduler) a
scheduler that cannot be used."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.batch import run_batch
from optimiser.errors import ExitCode, OutputExistsError, OutputWriteError

BATCH = Path(__file__).resolve().parents[1] / "constraints" / "amp_sbp" / "budget_sweep.yaml"


def test_out_under_a_file_is_refused_by_run_batch(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="afile is a file, not a folder"):
        run_batch(BATCH, tmp_path / "afile" / "sub" / "out", progress=False)
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("scheduler", [None, "tcp://127.0.0.1:1"])
def test_out_under_a_file_is_refused_by_siteopt_batch(tmp_path, scheduler):
    from optimiser.cli.batch_cmd import command

    (tmp_path / "afile").write_text("x", encoding="utf-8")
    args = [str(BATCH), "--out", str(tmp_path / "afile" / "sub" / "out"), "-q"]
    r = CliRunner().invoke(command, args + (["--scheduler", scheduler] if scheduler else []))
    assert r.exit_code == ExitCode.INPUT, r.output
    assert "afile is a file, not a folder; choose another --out" in r.output
    assert "Dask scheduler" not in r.output and "internal error" not in r.output


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "batch.json")


def test_a_full_disk_is_an_output_write_error_not_a_bug(tmp_path, monkeypatch):
    """results.csv / batch.json on a full disk: OutputWriteError naming the cause and the way on
    (it was a bare OSError: siteopt batch said 'internal error ... This is a bug', exit 1)."""
    monkeypatch.setattr("optimiser.batch.runner._write_batch_json", _disk_full)
    with pytest.raises(OutputWriteError, match="no space left on the device") as info:
        run_batch(BATCH, tmp_path / "out", progress=False)
    assert info.value.errno == errno.ENOSPC
    assert not (tmp_path / "out.lock").exists()  # the batch's lock is released


@pytest.mark.parametrize("scheduler", [None, "tcp://127.0.0.1:1"])
def test_siteopt_batch_on_a_full_disk_exits_2_saying_so(tmp_path, monkeypatch, scheduler):
    from optimiser.cli.batch_cmd import command

    monkeypatch.setattr("optimiser.batch.runner._write_batch_json", _disk_full)
    if scheduler:  # the disk, not the scheduler: the client is made but never used
        monkeypatch.setattr("optimiser.batch.runner._dask_client", lambda *a: contextlib.nullcontext(object()))
    args = [str(BATCH), "--out", str(tmp_path / "out"), "-q"] + (["--scheduler", scheduler] if scheduler else [])
    r = CliRunner().invoke(command, args)
    assert r.exit_code == ExitCode.INPUT, r.output
    assert "cannot write the batch's outputs" in r.output and "no space left on the device" in r.output
    said = " ".join(r.output.split())  # another --out starts the batch anew: only the same one resumes it
    assert "give --out on another one: with the same --out the same command then resumes the batch" in said
    assert "Dask scheduler" not in r.output and "internal error" not in r.output


def test_base_dir_with_a_loaded_spec_is_refused_not_ignored(tmp_path, monkeypatch):
    """run_batch(spec, out, base_dir=...) ignored base_dir without a word (load_batch refuses it)."""
    from optimiser.batch import load_batch
    from optimiser.errors import ArgumentError

    def ran(*args, **kwargs):
        raise AssertionError("the batch ran, base_dir ignored")

    monkeypatch.setattr("optimiser.batch.runner._run_locked", ran)
    spec = load_batch(BATCH)
    with pytest.raises(ArgumentError) as info:
        run_batch(spec, tmp_path / "out", base_dir=tmp_path, progress=False)
    assert [(p.field, p.reason) for p in info.value.problems] == [("base_dir", "cannot apply to a BatchSpec already loaded")]
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_leaves_no_folders_made_for_the_lock(tmp_path, monkeypatch):
    """The folders above --out made for the batch's lock went unremoved when the scheduler could
    not be reached (run_batch's docstring: 'nothing created')."""
    def unreachable(*args):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s")

    monkeypatch.setattr("optimiser.batch.runner._dask_client", unreachable)
    with pytest.raises(OSError, match="Timed out"):
        run_batch(BATCH, tmp_path / "new" / "deep" / "out", scheduler="tcp://127.0.0.1:1", progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()  # a folder that was there is kept
    with pytest.raises(OSError, match="Timed out"):
        run_batch(BATCH, tmp_path / "kept" / "out", scheduler="tcp://127.0.0.1:1", progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and list((tmp_path / "kept").iterdir()) == []


def test_a_batch_items_messages_name_the_command_lines_out(monkeypatch):
    """A worker's messages (e.g. its disk filled) say ``--out`` under ``siteopt batch`` and
    ``out_dir`` from the Python API: the wording travels in the item's payload to the worker
    process (a context variable does not)."""
    from optimiser.batch import runner, worker
    from optimiser.present.staging import cli_wording, out_word

    monkeypatch.setattr(worker, "_run_item", lambda payload, run_dir, render, gate: {"said": out_word()})
    fake = type("Item", (), {"key": "k", "name": "n", "overrides": {}, "scenario": {}, "base_path": None})()
    with cli_wording():
        payload = runner._payload(fake)
    assert payload["cli_words"] is True and runner._payload(fake)["cli_words"] is False
    assert worker.run_item(payload, "unused")["said"] == "--out"
    assert worker.run_item(runner._payload(fake), "unused")["said"] == "out_dir"


def test_a_full_disk_at_the_batchs_lock_is_an_output_write_error_not_a_bug(tmp_path, monkeypatch):
    """The lock's note (<out>.lock) is the batch's first write: a full disk there was a bare
    OSError out of run_batch (siteopt batch: 'internal error ... This is a bug', exit 1); only
    the writes after the lock were said as a full disk."""
    from optimiser.cli.batch_cmd import command
    from optimiser.present import staging

    monkeypatch.setattr(staging.os, "write", _disk_full)
    with pytest.raises(OutputWriteError, match="no space left on the device") as info:
        run_batch(BATCH, tmp_path / "new" / "out", progress=False)
    assert info.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock, no folder made for it
    r = CliRunner().invoke(command, [str(BATCH), "--out", str(tmp_path / "out"), "-q"])
    assert r.exit_code == ExitCode.INPUT and "no space left on the device" in r.output, r.output
    assert "internal error" not in r.output
