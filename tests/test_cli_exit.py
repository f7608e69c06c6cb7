"""Start-up and exit costs of `siteopt run` (issue 17): the fast exit keeps what a normal exit
does that matters (atexit handlers, buffered output, the exit status) and is refused where it
is not safe; imports run with the collector paused and are frozen after; the report's
templates are compiled once per process."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from optimiser.lazy import imports_frozen


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_leave_runs_atexit_flushes_output_and_keeps_the_status():
    out = _python("""
        import atexit, sys
        from optimiser.cli import exiting
        atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
        sys.stdout.write("buffered, no newline")
        exiting.allow()
        exiting.leave(3)
        print("not reached")
    """)
    assert out.returncode == 3
    assert out.stdout == "buffered, no newline"
    assert out.stderr == "atexit ran\n"


def test_leave_returns_unless_allowed_and_nothing_is_left_running():
    out = _python("""
        import multiprocessing, sys, threading, time
        from optimiser.cli import exiting
        exiting.leave(3)
        print("not allowed: returned")
        exiting.allow()
        exiting.leave("a message")
        print("not an int: returned")
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
        child.start()
        exiting.leave(3)
        print("a child process: returned")
        child.terminate(); child.join()
        worker = threading.Thread(target=time.sleep, args=(0.5,))
        worker.start()
        exiting.leave(3)
        print("a thread: returned")
        worker.join()
        exiting.leave(5)
    """)
    assert out.returncode == 5, out.stderr
    assert out.stdout.splitlines() == ["not allowed: returned", "not an int: returned", "a child process: returned",
                                       "a thread: returned"]


def test_the_console_entry_keeps_the_normal_exit_for_other_commands():
    """`siteopt validate` does not allow the fast exit: leave is asked and returns (`siteopt run`
    allows it: tests/test_cli_run.py checks its statuses and output through `python -m optimiser`)."""
    out = _python("""
        import sys
        from optimiser.cli import exiting, main
        calls = []
        real = exiting.leave
        exiting.leave = lambda code: (calls.append(int(code)), real(code))
        import atexit
        atexit.register(lambda: print("leave called with", calls))
        sys.argv = ["siteopt", "validate", "no/such/file.yaml"]
        main()
    """)
    assert out.returncode == 2
    assert out.stdout.splitlines()[-1] == "leave called with [2]"  # called, and returned: validate does not allow it


def test_imports_frozen_pauses_the_collector_and_freezes_what_was_loaded():
    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        with imports_frozen():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
        gc.disable()
        with imports_frozen():
            pass
        assert not gc.isenabled()  # the state it found is restored
    finally:
        gc.enable()
        gc.unfreeze()


def test_report_templates_are_compiled_once_per_process():
    from optimiser.present.report import template_env

    env = template_env()
    assert template_env() is env
    assert env.get_template("report.html.j2") is env.get_template("report.html.j2")
