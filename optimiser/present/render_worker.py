"""A render process started at the very beginning of ``siteopt run`` (issue 17): it imports
matplotlib, Jinja2 and the drawing modules and warms the fonts while this process imports the
solver and solves, then draws the plans and the report of the run it is sent
(:func:`optimiser.present.render.render_run_data`, which draws the plan in a further forked
process beside the distance map) while this process writes the data files.

The figures are the same as when drawn here: the worker runs the same code on the same
:class:`~optimiser.present.layers.RunData` (pickled through a pipe); only where the CPU time is
spent changes. Started by fork before anything else is imported or any thread runs.

Before it warms up, the worker can read the run's scenario
(:mod:`optimiser.inputs.read_ahead`): this process takes it once it has imported the solver,
instead of reading the file itself.

Signals: the worker ignores SIGINT (a Ctrl-C at the terminal reaches the whole process group;
this process decides: :mod:`optimiser.solve.interrupt`) and leaves on SIGTERM through its
``finally`` blocks (so the plan's own child is stopped too). :meth:`RenderWorker.stop` ends it
whenever this process leaves the run early (an error, an interruption, no render): SIGKILL
while it has no run to draw, SIGTERM once it has one; a worker whose parent died reads
end-of-file and exits.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from optimiser.lazy import imports_frozen
from optimiser.present.forking import FORK_ENABLED, end_process, fork_helps, kill_process, send_failure

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.inputs.read_ahead import ReadAhead
    from optimiser.present.layers import RunData

logger = logging.getLogger(__name__)

__all__ = ["ReadRequest", "RenderWorker", "render_worker"]

_PARALLEL = FORK_ENABLED
"""Render in a worker started early (:data:`~optimiser.present.forking.FORK_ENABLED`; without it
everything is drawn in one process, after the solve)."""


class RenderWorker:
    """The handle of a render worker: :meth:`submit` one run, then :meth:`result`."""

    def __init__(self, process: Any, conn: Any, reads: bool = False):
        self.process, self.conn = process, conn
        self.submitted = False
        self._read_pending = reads

    def read_ahead(self) -> ReadAhead | None:
        """The scenario the worker was asked to read (waiting for it), once; ``None`` when it
        was not asked, its read failed, it was taken already or the worker is gone (then read
        it here)."""
        if not self._read_pending:
            return None
        self._read_pending = False
        try:
            read: ReadAhead | None = self.conn.recv()
        except (EOFError, OSError):  # the worker died (killed, out of memory): read here
            return None
        return read

    def submit(self, run: RunData, folder: Path) -> bool:
        """Send ``run`` to be drawn into ``folder`` (a staging folder this run created); False
        when the worker is gone (then draw here)."""
        self.read_ahead()  # a scenario read ahead and not taken is dropped: the run is sent after it
        try:
            self.conn.send((run, str(folder)))
        except OSError as exc:  # BrokenPipeError: the worker died (killed, out of memory)
            logger.warning("the render process is gone (%s): drawing here", exc)
            return False
        self.submitted = True
        return True

    def result(self) -> list[Path]:
        """The paths the worker wrote (in :data:`~optimiser.present.render.RENDERED_FILES`
        order); its exception raised here if drawing failed."""
        try:
            ok, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"the render process ended without drawing (exit code {self.process.exitcode})") from None
        finally:
            self.process.join()
        if not ok:
            raise value
        return [Path(p) for p in value]

    def stop(self) -> None:
        """End the worker (at once if it is still running) and wait for it. A worker sent no
        run holds nothing of this run's (no plan child, no file being written): it is killed
        outright, so that a busy machine cannot keep an early exit (an invalid scenario, an
        interruption) waiting for it to reach Python code and take SIGTERM."""
        if self.submitted:
            end_process(self.process)
        else:
            kill_process(self.process)
        self.conn.close()


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


_WARM_FONTS: tuple[tuple[float, str, Literal["normal", "italic"]], ...] = (
    (6.5, "bold", "normal"), (7.0, "normal", "normal"), (7.0, "bold", "normal"), (7.0, "normal", "italic"),
    (7.0, "bold", "italic"), (7.4, "bold", "normal"), (7.5, "normal", "normal"), (7.5, "bold", "normal"),
    (7.5, "bold", "italic"), (8.0, "normal", "normal"), (8.0, "bold", "normal"), (10.0, "normal", "normal"),
    (10.0, "bold", "normal"), (11.0, "normal", "normal"))
"""(size in points, weight, style) of the text the plans draw (the AMP-SBP plans use these): each
font lookup is cached by its size too, and a first lookup scores every installed font."""


def _warm_up() -> None:
    """Import the drawing modules, load the fonts the plans use and compile the report's
    templates: what the first plan, SVG and report would otherwise pay for after the solve (about
    0.2 s of CPU, load 6). Nothing here changes what is drawn: it fills caches only."""
    with imports_frozen():
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties, findfont

        import optimiser.present.render  # noqa: F401 - the import is the point
        from optimiser.present.canvas import MapCanvas
        from optimiser.present.report import template_env
        from optimiser.present.style import HALO, text_rc

    fig = Figure(figsize=(2, 1), dpi=150)
    canvas = MapCanvas(fig)
    sample = "Warm 0123 · £ → ±"
    with matplotlib.rc_context(text_rc()):  # the fonts the plans' texts take as they are made
        for size, weight, style in _WARM_FONTS:
            findfont(FontProperties(size=size, weight=weight, style=style))
        fig.text(0.1, 0.7, sample, fontsize=7)
        fig.text(0.1, 0.5, sample, fontsize=7, fontweight="bold", path_effects=HALO)
        fig.text(0.1, 0.3, sample, fontsize=7, style="italic", path_effects=HALO)
        fig.text(0.1, 0.1, sample, fontsize=7, fontweight="bold", style="italic")
        canvas.draw()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "siteopt", **text_rc()}):
        fig.savefig(io.BytesIO(), format="svg")
    env = template_env()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


@dataclass(frozen=True)
class ReadRequest:
    """Read this scenario first (``path`` ``None``: the embedded AMP-SBP baseline)."""

    path: str | os.PathLike[str] | None


def _serve(conn: Any, parent_end: Any, read: ReadRequest | None = None) -> None:
    """In the worker: read the scenario (when asked), warm up, wait for one run, draw it, send
    back the paths (or the exception)."""
    parent_end.close()  # so that the parent's death reads as end-of-file here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _leave)
    try:
        if read is not None:
            from optimiser.inputs.read_ahead import read_ahead

            conn.send(read_ahead(read.path))
        failed: Exception | None = None
        try:
            _warm_up()
        except Exception as exc:  # noqa: BLE001 - sent to the parent when it sends its run
            failed = exc
        try:
            run, folder = conn.recv()
        except (EOFError, ConnectionError):  # the parent left (or was killed) without a run to draw
            return
        try:
            if failed is not None:
                raise failed
            from optimiser.present.render import render_run_data

            paths = render_run_data(run, Path(folder))
            conn.send((True, [str(p) for p in paths]))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it as if drawn there
            send_failure(conn, exc, "drawing")
    except ConnectionError:  # the parent is gone (a broken pipe, or reset when it was killed)
        pass
    finally:
        conn.close()


def start_render_worker(read: ReadRequest | None = None) -> RenderWorker | None:
    """A render worker, forked now; ``None`` where it would not help (one core, no fork,
    ``SITEOPT_RENDER_PROCESSES=1``, inside a daemon process) or cannot be started. With
    ``read``, it reads that scenario first (:meth:`RenderWorker.read_ahead`)."""
    if not fork_helps(_PARALLEL):
        return None
    with imports_frozen():  # frozen before the fork: neither process's collector walks (or copies) them again
        import optimiser.present.layers  # noqa: F401 - numpy, shapely, pyproj and pydantic, which both processes use: imported once

    ctx = multiprocessing.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=True)
    process = ctx.Process(target=_serve, args=(child_conn, parent_conn, read), name="siteopt-render")
    sys.stdout.flush()  # nothing buffered here is written twice (the child flushes its copy when it exits)
    sys.stderr.flush()
    try:
        process.start()
    except OSError as exc:  # no fork (resource limits): draw here after the solve
        logger.info("plans drawn in this process (%s)", exc)
        parent_conn.close()
        return None
    finally:
        child_conn.close()
    return RenderWorker(process, parent_conn, reads=read is not None)


@contextmanager
def render_worker(wanted: bool = True, read: ReadRequest | None = None) -> Iterator[RenderWorker | None]:
    """A render worker for the body (``None`` when not ``wanted`` or not possible), always
    stopped when the body ends; with ``read``, it reads that scenario first."""
    worker = start_render_worker(read) if wanted else None
    try:
        yield worker
    finally:
        if worker is not None:
            worker.stop()
