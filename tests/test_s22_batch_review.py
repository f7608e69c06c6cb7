"""Review of the batch lock (``<out>.lock``, created before the batch folder): an ``--out``
under a file is refused naming the file, not an internal error, nor (with a Dask scheduler) a
scheduler that cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.batch import run_batch
from optimiser.errors import ExitCode, OutputExistsError

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
