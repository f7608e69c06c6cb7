"""The plan drawn in a forked child while the distance map is drawn here (issue 17): the same
files as drawn in one process, and a failure in the child raised here, no child left behind."""

from __future__ import annotations

import multiprocessing
import os

import pytest

import optimiser.present.render as R
from optimiser.present.rundir import load_run

needs_fork = pytest.mark.skipif(not R._PARALLEL or len(os.sched_getaffinity(0)) < 2,
                                reason="the plan is drawn in a child process only with fork and two cores")


@needs_fork
def test_parallel_and_sequential_render_write_the_same_files(synthetic_run, tmp_path, monkeypatch):
    run = load_run(synthetic_run())
    (tmp_path / "par").mkdir()
    (tmp_path / "seq").mkdir()
    par = R.render_run_data(run, tmp_path / "par")
    monkeypatch.setattr(R, "_PARALLEL", False)
    seq = R.render_run_data(run, tmp_path / "seq")
    assert_same_rendered_files(par, seq)


def assert_same_rendered_files(drawn, reference):
    """The two renders wrote the same files with the same bytes (the report aside: it says the
    minute it was generated), and no child process is left."""
    assert [p.name for p in drawn] == [p.name for p in reference] == list(R.RENDERED_FILES)
    for p, q in zip(drawn, reference):
        if p.name != "report.html":
            assert p.read_bytes() == q.read_bytes(), p.name
    assert not multiprocessing.active_children()


class DrawFailed(ValueError):
    """What a map drawer made to fail raises."""


def failing_drawer(message):
    """A map drawer that raises :class:`DrawFailed` with ``message`` (put in ``R._MAPS``; a forked
    child inherits it)."""

    def fail(run):
        raise DrawFailed(message)

    return fail


@needs_fork
def test_a_failure_drawing_the_plan_is_raised_here(synthetic_run, tmp_path, monkeypatch):
    run = load_run(synthetic_run())
    monkeypatch.setitem(R._MAPS, "plan", failing_drawer("no plan today"))  # inherited by the forked child
    with pytest.raises(DrawFailed, match="no plan today"):
        R.render_run_data(run, tmp_path)
    assert not multiprocessing.active_children()
    assert not (tmp_path / "report.html").exists()
