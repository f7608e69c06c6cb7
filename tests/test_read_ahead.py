"""The scenario read by the render process while `siteopt run` imports the solver (issue 17):
the same Scenario as a read here, its log lines given here, and any failed read left to this
process (so its messages are those of a read here)."""

from __future__ import annotations

import logging
import os
import pickle

import pytest

import optimiser.present.render_worker as W
from optimiser.inputs.read_ahead import ReadAhead, read_ahead
from optimiser.inputs.scenario import read_scenario

needs_fork = pytest.mark.skipif(not W._PARALLEL or len(os.sched_getaffinity(0)) < 2,
                                reason="the render process is used only with fork and two cores")


def test_read_ahead_gives_the_scenario_a_read_here_gives(tiny_files):
    _, scen = tiny_files
    read = read_ahead(scen)
    assert isinstance(read, ReadAhead) and read.seconds > 0
    again = pickle.loads(pickle.dumps(read))  # as it crosses the pipe
    assert again.scenario == read_scenario(scen)


def test_a_failed_read_ahead_is_none_and_leaves_nothing_logged(tmp_path, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: siteopt-scenario/1\nsite: no/such/site.yaml\n")
    with caplog.at_level(logging.DEBUG, logger="optimiser"):
        assert read_ahead(bad) is None
        assert read_ahead(tmp_path / "missing.yaml") is None
    assert [r.getMessage() for r in caplog.records if r.name != "optimiser.inputs.read_ahead"] == []


def test_the_reads_log_lines_are_captured_and_replayed_in_order(tiny_files, monkeypatch, caplog):
    import optimiser.inputs.scenario as scenario_module

    real = scenario_module.read_scenario

    def noisy(path):
        logging.getLogger("optimiser.inputs.crs").info("crs %s measures %.3f m per metre", "EPSG:3857", 1.68)
        logging.getLogger("optimiser.inputs.site").warning("a warning %d", 2)
        logging.getLogger("optimiser.inputs.site").debug("below the level: dropped")
        return real(path)

    monkeypatch.setattr(scenario_module, "read_scenario", noisy)
    _, scen = tiny_files
    with caplog.at_level(logging.INFO, logger="optimiser"):
        read = read_ahead(scen)
        assert read is not None and caplog.records == []  # captured, not written
        read = pickle.loads(pickle.dumps(read))
        read.replay()
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("optimiser.inputs.crs", "INFO", "crs EPSG:3857 measures 1.680 m per metre"),
        ("optimiser.inputs.site", "WARNING", "a warning 2")]


@needs_fork
def test_the_render_process_reads_ahead_then_draws(tiny_files, synthetic_run, tmp_path):
    from optimiser.present.rundir import load_run

    _, scen = tiny_files
    with W.render_worker(read=W.ReadRequest(scen)) as worker:
        assert worker is not None
        read = worker.read_ahead()
        assert read is not None and read.scenario == read_scenario(scen)
        assert worker.read_ahead() is None  # taken once
        (tmp_path / "drawn").mkdir()
        assert worker.submit(load_run(synthetic_run()), tmp_path / "drawn")
        assert {p.name for p in worker.result()} >= {"plan.png", "report.html"}


@needs_fork
def test_a_read_ahead_not_taken_does_not_stop_the_drawing(tiny_files, synthetic_run, tmp_path):
    from optimiser.present.rundir import load_run

    _, scen = tiny_files
    with W.render_worker(read=W.ReadRequest(scen)) as worker:
        assert worker is not None
        (tmp_path / "drawn").mkdir()
        assert worker.submit(load_run(synthetic_run()), tmp_path / "drawn")
        assert {p.name for p in worker.result()} >= {"plan.png", "report.html"}


@needs_fork
def test_siteopt_run_reports_a_bad_scenario_as_a_read_here_does(tmp_path):
    from click.testing import CliRunner

    from optimiser.cli import cli
    from tests.sitefiles import write_files

    _, scen = write_files(tmp_path / "in", budget_gbp=-5)
    ahead = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "a")])
    here = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "b"), "--no-render"])  # no render process
    assert ahead.exit_code == here.exit_code == 2
    assert ahead.output == here.output and "budget" in ahead.output
