"""The render process forked at the start of `siteopt run` (issue 17): it draws the same files as
drawing here, a failure in it is raised here, it leaves with its parent (stopped, interrupted
or killed) and a run interrupted during the solve leaves no process and no run directory."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import optimiser.present.render as R
import optimiser.present.render_worker as W
from optimiser.errors import ExitCode
from optimiser.present.rundir import load_run
from tests.test_interrupt import _dense_scenario, _wait_for
from tests.test_render_parallel import DrawFailed, assert_same_rendered_files, failing_drawer

ROOT = Path(__file__).resolve().parents[1]

needs_fork = pytest.mark.skipif(not W._PARALLEL or len(os.sched_getaffinity(0)) < 2,
                                reason="the render process is used only with fork and two cores")


def _gone(pids: list[int], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.05)
    return False


@needs_fork
def test_the_worker_draws_the_same_files_as_this_process(synthetic_run, tmp_path, monkeypatch):
    run = load_run(synthetic_run())
    (tmp_path / "worker").mkdir()
    (tmp_path / "here").mkdir()
    worker = W.start_render_worker()
    assert worker is not None
    try:
        worker.submit(run, tmp_path / "worker")
        drawn = worker.result()
    finally:
        worker.stop()
    monkeypatch.setattr(R, "_PARALLEL", False)
    here = R.render_run_data(run, tmp_path / "here")
    assert_same_rendered_files(drawn, here)


@needs_fork
def test_a_failure_in_the_worker_is_raised_here_and_no_process_is_left(synthetic_run, tmp_path, monkeypatch):
    run = load_run(synthetic_run())
    monkeypatch.setitem(R._MAPS, "distance", failing_drawer("no distance map today"))  # inherited by the forked worker
    with W.render_worker() as worker:
        assert worker is not None
        worker.submit(run, tmp_path)
        with pytest.raises(DrawFailed, match="no distance map today"):
            worker.result()
    assert not multiprocessing.active_children()
    assert not (tmp_path / "report.html").exists()


@needs_fork
def test_a_worker_never_sent_a_run_is_stopped_when_the_body_ends():
    with pytest.raises(KeyError):
        with W.render_worker() as worker:
            assert worker is not None
            pid = worker.process.pid
            raise KeyError("the run failed before it drew anything")
    assert _gone([pid])
    assert not multiprocessing.active_children()


@needs_fork
def test_a_worker_never_sent_a_run_is_killed_without_waiting_for_sigterm(monkeypatch, caplog):
    """On a busy machine a worker deep in its imports took more than the 5 s grace to take
    SIGTERM, and an invalid scenario's two-line answer gained a third, the 'killed' warning. A
    worker sent no run holds nothing to clean up: it is killed at once. Here it ignores SIGTERM
    (its handler does nothing) and sleeps where it would warm up."""
    monkeypatch.setattr(W, "_leave", lambda signum, frame: None)  # inherited by the forked worker
    monkeypatch.setattr(W, "_warm_up", lambda: time.sleep(60))
    worker = W.start_render_worker()
    assert worker is not None
    time.sleep(0.2)  # in its sleep, past installing the handler
    started = time.monotonic()
    with caplog.at_level("WARNING"):
        worker.stop()
    assert time.monotonic() - started < 4  # the grace is 5 s
    assert worker.process.exitcode == -signal.SIGKILL
    assert not [r for r in caplog.records if "did not stop" in r.getMessage()]


def test_no_worker_when_not_wanted_or_one_process_is_asked_for(monkeypatch):
    with W.render_worker(wanted=False) as worker:
        assert worker is None
    monkeypatch.setattr(W, "_PARALLEL", False)
    assert W.start_render_worker() is None


@needs_fork
def test_the_worker_leaves_when_its_parent_is_killed(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from optimiser.present.render_worker import start_render_worker
        w = start_render_worker()
        print(w.process.pid, flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        worker_pid = int(proc.stdout.readline())
        assert psutil.pid_exists(worker_pid)
        proc.kill()  # SIGKILL: no clean-up code runs in the parent
        proc.wait(timeout=10)
        assert _gone([worker_pid], 30), "the render process outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
@needs_fork
def test_siteopt_run_interrupted_during_the_solve_leaves_no_render_process(tmp_path):
    scen = _dense_scenario(tmp_path)
    out = tmp_path / "out"
    log = tmp_path / "stderr.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, "-m", "optimiser", "-v", "run", str(scen), "--out", str(out)],
                                env=env, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
        try:
            _wait_for(proc, log, "warm start")
            kids = [k.pid for k in psutil.Process(proc.pid).children(recursive=True)]
            assert kids, "no render process was started"
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    text = log.read_text(encoding="utf-8")
    assert proc.returncode == ExitCode.INTERRUPTED, text[-2000:]
    assert not out.exists()
    assert _gone(kids), "a render process outlived the interrupted run"


class _DiskFull(OSError):
    pass


@needs_fork
def test_a_failure_writing_the_data_files_stops_the_worker_and_writes_nothing(tmp_path, monkeypatch, tiny_files):
    import optimiser.present.rundir as rundir
    from optimiser.pipeline import run_scenario

    def full(*args, **kwargs):
        raise _DiskFull("no space left")

    monkeypatch.setattr(rundir, "write_run_gpkg", full)  # after the run was sent to the worker
    _, scen = tiny_files
    out = tmp_path / "out"
    with W.render_worker() as worker:
        assert worker is not None
        with pytest.raises(_DiskFull):
            run_scenario(scen, out, render_worker=worker)
        assert worker.submitted and not worker.process.is_alive()
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging folder left
    assert not multiprocessing.active_children()


@needs_fork
def test_a_worker_that_died_before_the_run_was_sent_leaves_the_drawing_to_this_process(tmp_path, tiny_files):
    from optimiser.pipeline import run_scenario

    _, scen = tiny_files
    with W.render_worker() as worker:
        assert worker is not None
        worker.process.kill()
        worker.process.join()
        res = run_scenario(scen, tmp_path / "out", render_worker=worker)
        assert not worker.submitted
    assert {"plan.png", "plan.svg", "distance.png", "report.html"} <= {p.name for p in res.out_dir.iterdir()}
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("lost", [ConnectionResetError, BrokenPipeError, EOFError])
def test_a_worker_whose_parent_was_killed_leaves_quietly(monkeypatch, lost):
    """A parent killed (SIGKILL) while the worker waits resets the connection: the worker ends
    without a traceback on the terminal, as when the parent merely left."""
    rw = W

    class Gone:
        closed = False

        def recv(self):
            raise lost("the parent is gone")

        def send(self, obj):
            raise lost("the parent is gone")

        def close(self):
            self.closed = True

    monkeypatch.setattr(rw, "_warm_up", lambda: None)
    monkeypatch.setattr(rw.signal, "signal", lambda *a: None)
    conn = Gone()
    rw._serve(conn, Gone(), None)  # waiting for a run
    assert conn.closed
    if lost is not EOFError:  # (a send never reads end-of-file)
        rw._serve(conn, Gone(), rw.ReadRequest(None))  # sending its read-ahead
