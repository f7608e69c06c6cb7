"""Work `siteopt run` no longer does (issue 17): the fast exit keeps what a normal exit does
that matters (atexit handlers, buffered output, the exit status) and is refused where it is
not safe; imports run with the collector paused and are frozen after; the report's templates
are compiled once per process; the crossings a route uses are traced without its geometry."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import types
from dataclasses import replace

import pytest

from optimiser.errors import ModelError
from optimiser.lazy import imports_frozen
from optimiser.pipeline import prepare
from tests.zoo_cases import CASES


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
            sys.modules["_test_imports_frozen_stand_in"] = types.ModuleType("_test_imports_frozen_stand_in")  # "imported"
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
        gc.disable()
        with imports_frozen():
            pass
        assert not gc.isenabled()  # the state it found is restored
    finally:
        gc.enable()
        gc.unfreeze()
        sys.modules.pop("_test_imports_frozen_stand_in", None)


def test_imports_frozen_freezes_nothing_when_nothing_new_was_imported():
    # a command run again in the same process (tests, a notebook): its imports are done, and
    # freezing again would keep the garbage cycles of the runs before for good
    gc.unfreeze()
    try:
        with imports_frozen():
            import optimiser.lazy  # noqa: F401 - already imported: nothing new
            cycle: list[object] = []
            cycle.append(cycle)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_report_templates_are_compiled_once_per_process():
    from optimiser.present.report import template_env

    env = template_env()
    assert template_env() is env
    assert env.get_template("report.html.j2") is env.get_template("report.html.j2")


@pytest.mark.parametrize("cap", [1, 2])
def test_route_parts_without_geometry_are_the_same_parts(cap):
    """pairs.csv's crossings_used reads the parts without geometry: the same parts in the same
    order, on the plain and on the layered (capped) graph."""
    sc = CASES["route_cap_binds"]()
    net = prepare(replace(sc, crossings=replace(sc.crossings, max_route_crossings=cap))).network
    keys = [k for k in net.firm_keys if k not in net.unreachable]
    on = [c.id for c in net.candidates]
    compared = 0
    for a in keys:
        for b in keys:
            if a == b:
                continue
            try:
                full = net.route_parts(a, b, on, cap)
            except ModelError:  # the cap leaves no route: the same without geometry
                with pytest.raises(ModelError):
                    net.route_parts(a, b, on, cap, geometry=False)
                continue
            assert all("geometry" in p for p in full)
            assert net.route_parts(a, b, on, cap, geometry=False) == [
                {k: v for k, v in p.items() if k != "geometry"} for p in full]
            compared += any(p["kind"] == "candidate" for p in full)
    assert compared > 0  # some routes use a candidate crossing


def test_the_report_rendered_before_the_plan_is_the_same_page(synthetic_run, monkeypatch):
    """The render process renders the report while the plan is drawn aside and puts the plan's
    image in last: the same page as rendering it with the image (the clock stopped, so that
    the 'generated' minute is the same)."""
    import datetime as dt

    from optimiser.present import report
    from optimiser.present.rundir import load_run

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 3, 15, 0)

    monkeypatch.setattr(report._dt, "datetime", Frozen)
    run = load_run(synthetic_run())
    plan, distance = b"\x89PNG plan bytes" * 50, b"\x89PNG distance bytes" * 40
    page = report.render_report(run, plan, distance)
    assert report.report_awaiting_plan(run, distance)(plan) == page
    assert report.data_uri_png(plan) in page
    assert report.report_awaiting_plan(run, distance)(b"another plan") != page


def test_numpy_extras_are_loaded_on_first_use_only():
    out = _python("""
        import sys
        from optimiser.lazy import defer_numpy_extras
        defer_numpy_extras()
        import numpy, scipy.sparse.csgraph, scipy.spatial
        print("after scipy:", "numpy.f2py" in sys.modules, "numpy.testing" in sys.modules)
        numpy.testing.assert_allclose([1.0], [1.0])  # the stand-in imports it
        print("on use:", "numpy.testing" in sys.modules, numpy.testing.assert_allclose is sys.modules["numpy.testing"].assert_allclose)
        import numpy.f2py
        print("imported:", numpy.f2py is sys.modules["numpy.f2py"])
    """)
    assert out.stdout.splitlines() == ["after scipy: False False", "on use: True True", "imported: True"], out.stderr
