"""``siteopt run [SCENARIO] --out DIR``: solve one scenario and write its run directory."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from optimiser import progress
from optimiser.cli import exiting
from optimiser.cli._common import echo_json, echo_problems, fail, refuse_file_out
from optimiser.cli.logging_setup import current_settings, show_progress
from optimiser.cli.options import SolveOverrides, solve_options
from optimiser.errors import (
    ExitCode,
    FileReadError,
    InputError,
    Interrupted,
    ModelError,
    OutputExistsError,
    OutputWriteError,
    Problem,
    TimeLimitError,
    VerificationError,
)
from optimiser.inputs.locate import embedded_names_hint, resolve_input
from optimiser.lazy import defer_numpy_extras, imports_frozen
from optimiser.present.render_worker import ReadRequest, RenderWorker, render_worker
from optimiser.present.staging import cli_wording
from optimiser.solve import interrupt
from optimiser.solve.result import Status

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.pipeline import RunResult

logger = logging.getLogger(__name__)


def run_summary(res: RunResult) -> dict[str, Any]:
    """The key metrics ``siteopt run`` prints (JSON-ready but for inf/nan).

    Args:
        res: the run's result.

    Returns:
        the run id, status, objective and bound (the solver's scaled integers, as in
        ``metrics.json``), the same in weighted metres (``objective_weighted_m``,
        ``bound_weighted_m``, as the log's "objective N weighted m"), the scale between them
        (``objective_scale``: solver units per weighted metre, ``model.length_scale_per_m`` x
        ``model.weight_scale``), the objective as one weighted mean walk (``objective_mean_m``),
        gap, solve_seconds, backend, seed, the scenario id
        (``scenario``; ``metrics.json`` has the whole reference), the site id, the walk figures
        (without per-facility access), costs and their currency, placed ids by kind
        (``metrics.json`` has each placement whole), verification (passed, objective), what
        ended an unfinished search (``stopped_by``: ``work_limit``, or ``wall_clock`` when the
        safety net did and the answer may differ on another machine; ``null`` when it
        finished), what each built item saves (``attribution``: ``saving_m`` as in
        ``metrics.json``, and ``saving`` in ``saving_unit``, metres of weighted mean walk or, in a
        transit ``max_coverage`` run, staff brought within a catchment) and the run directory.
    """
    from optimiser.present.buys import item_saving

    m = res.metrics
    length, weight = m.model.get("length_scale_per_m"), m.model.get("weight_scale")
    scale = length * weight if isinstance(length, int | float) and isinstance(weight, int | float) and length * weight > 0 else None

    def in_m(v: float | None) -> float | None:
        return round(v / scale, 3) if v is not None and scale else None

    return {
        "run_id": m.run_id, "status": m.status.value, "objective": m.objective, "bound": m.bound,
        "objective_weighted_m": m.objective_weighted_m if m.objective_weighted_m is not None else in_m(m.objective),
        "bound_weighted_m": in_m(m.bound), "objective_scale": round(scale, 6) if scale else None,
        "objective_mean_m": m.objective_mean_m, "gap": m.gap,
        "solve_seconds": m.solve_seconds, "backend": m.backend, "seed": m.seed,
        "scenario": m.scenario.id, "site": m.site.id,
        "walk": m.walk.model_dump(mode="python", exclude={"facility_access"}),
        "cost": m.cost.model_dump(mode="python"), "currency": m.currency,
        "placements": {"shared_facilities": [p.id for p in m.placements.shared_facilities],
                       "social_spaces": [p.id for p in m.placements.social_spaces],
                       "crossings": [p.id for p in m.placements.crossings]},
        "verification": {"passed": m.verification.passed, "objective": m.verification.objective},
        "stopped_by": m.stopped_by, "out": str(res.out_dir),
        "attribution": [{"id": a.id, "name": a.name, "cost": a.cost, "saving_m": a.saving_m,
                         "saving": value, "saving_unit": unit}
                        for a in m.attribution for value, _, unit in [item_saving(a, m)]],
        "warnings": [w.code for w in m.warnings],
    }


def run_scenario(path: Path | None, *args: Any, render_worker: RenderWorker | None = None, **kwargs: Any) -> RunResult:
    """:func:`optimiser.pipeline.run_scenario` of the scenario file ``path`` (``None``: the
    embedded baseline), imported on the first call: after the render process is forked
    (:mod:`optimiser.present.render_worker`), so that it reads the scenario and imports
    matplotlib while this process imports OR-Tools and SciPy (with the garbage collector
    paused, and frozen after: :func:`optimiser.lazy.imports_frozen`). The scenario the render
    process read is taken (its log lines given here); without one it is read here."""
    with imports_frozen():
        from optimiser.pipeline import run_scenario as run

    read = render_worker.read_ahead() if render_worker is not None else None
    if read is None:
        return run(path, *args, render_worker=render_worker, **kwargs)
    read.replay()
    return run(read.scenario, *args, render_worker=render_worker, started=time.perf_counter() - read.seconds, **kwargs)


def _say_where(res: RunResult) -> None:
    """The last progress line: where the report (or the run directory) is."""
    if res.out_dir is None:
        return
    report = res.out_dir / "report.html"
    progress.note(f"report: {report}" if report.is_file() else f"run directory: {res.out_dir}")


@click.command("run")
@click.argument("scenario", required=False)
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Run directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out whole (its old files are removed).")
@solve_options
@click.option("--no-render", is_flag=True, help="Skip plans and report (data files only).")
@click.option("--strict", is_flag=True, help="Site sanity warnings are errors (exit 2, nothing solved).")
def command(scenario: str | None, out_dir: str, overwrite: bool, solve: SolveOverrides, no_render: bool, strict: bool) -> None:
    """Solve SCENARIO and write --out. SCENARIO is a file, or the name of an embedded scenario
    (`siteopt list`: e.g. fremont/baseline); default the embedded AMP-SBP baseline.

    Writes metrics.json, layout.geojson, pairs.csv, firms.csv, plan.png/svg and
    report.html; prints the key metrics as JSON and any site sanity warnings on stderr.
    Exit 0 solved, 2 invalid input (or, with --strict, a sanity warning), 3 infeasible (with
    the conflicting requirements), 4 no solution in the time limit, 130 interrupted
    (Ctrl-C or SIGTERM: stops cleanly, writes nothing; twice: at once).
    """
    exiting.allow()  # nothing outlives the command: its render process is stopped when the run ends
    # the stop handlers from the start: a signal while the scenario is looked up or the render
    # process forked is a clean stop too (exit 130, saying so), not a death by SIGTERM
    if not out_dir.strip():
        fail("--out is empty: give a folder for the run, e.g. --out run1", ExitCode.INPUT)
    refuse_file_out(out_dir, "a run (metrics.json, layout.geojson, report.html and more) is", "run1",
                    long_name=False)  # a name too long: said with the run's own limit (staging)
    with interrupt.handle_signals():
        path = _scenario_path(scenario)
        logger.info("run: %s -> %s", path or "the AMP-SBP baseline", out_dir)
        show_progress(current_settings())
        defer_numpy_extras()  # before SciPy is imported here and in the render process
        res = _run(path, out_dir, overwrite=overwrite, render=not no_render, strict=strict, solve=solve)
        if interrupt.requested():  # after the last safe point: the run was already moved into place whole
            click.echo(f"siteopt: {interrupt.signal_name()} came after the run was written; {res.out_dir or out_dir} "
                       "is complete", err=True)
    _report_run(res)


def _scenario_path(scenario: str | None) -> Path | None:
    """The scenario file ``SCENARIO`` names (``None``: the embedded baseline); exits 2 saying
    why when there is none (missing and no embedded name, a URL, a link that loops...)."""
    try:
        path = resolve_input(scenario) if scenario is not None else None
        there = path is None or path.exists()
    except OSError:  # a name too long for the file system, ...: not_a_file below says which
        path, there = Path(scenario or ""), False
    if scenario is not None and path is not None and not there:
        from optimiser.inputs.formats import not_a_file  # only now: it loads the file readers

        why = not_a_file(path, scenario)
        if why is None or why.reason == "file not found":
            why = Problem(scenario, "", "no such file, nor an embedded scenario of that name", embedded_names_hint())
        echo_problems(FileReadError([why]))
        sys.exit(ExitCode.INPUT)
    return path


def _run(path: Path | None, out_dir: str, overwrite: bool, render: bool, strict: bool, solve: SolveOverrides) -> RunResult:
    """Run the scenario and write ``out_dir``; a run that cannot finish exits with its code and
    one line (or its problems) saying why."""
    try:
        # the render process is forked before the solver's imports, and imports matplotlib meanwhile
        with render_worker(wanted=render, read=ReadRequest(path)) as worker, \
                cli_wording():  # a refused --out names --overwrite, not the API's overwrite=True
            interrupt.check("the start")
            return run_scenario(path, out_dir, overwrite=overwrite, render=render, strict=strict,
                                render_worker=worker, **solve.as_kwargs())
    except Interrupted as exc:
        fail(f"{exc}; nothing was written to {out_dir}", ExitCode.INTERRUPTED)
    except InputError as exc:
        echo_problems(exc)
        sys.exit(ExitCode.INPUT)
    except (OutputExistsError, OutputWriteError) as exc:  # refused, busy, or the disk full: nothing left behind
        fail(str(exc), ExitCode.INPUT)
    except ModelError as exc:
        fail(f"cannot model this scenario: {exc}", ExitCode.INPUT)
    except TimeLimitError as exc:
        fail(f"no solution: {exc}; nothing was written", ExitCode.NO_SOLUTION)
    except VerificationError as exc:
        fail(f"VERIFICATION FAILED (this is a bug; outputs kept in {out_dir}): {exc}", ExitCode.INTERNAL)
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - re-raised unless a second signal stopped the run
        if not interrupt.forced():  # a real failure: the last-resort guard reports it
            raise
        # a second signal: KeyboardInterrupt wherever the run was (an extension module being
        # imported may have turned it into its own error); the stage was removed on the way out
        logger.debug("stopped at once by a second signal: %r", exc)
        _end_children()
        fail(f"interrupted by {interrupt.signal_name()} twice: stopped at once; nothing was written to {out_dir}",
             ExitCode.INTERRUPTED)


def _end_children() -> None:
    """Kill this process's worker processes (the render process) at once: a second signal may
    have cut their orderly stop short, and the exit would then wait for them for ever
    (multiprocessing joins its children at exit, while the render process waits for a request)."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(2.0)


def _report_run(res: RunResult) -> None:
    """Print a finished run's warnings and JSON summary (stdout) and exit with its code."""
    logger.info("run: %s in %.2f s (exit %d)", res.status.value, res.metrics.solve_seconds, res.exit_code)
    for w in res.metrics.warnings:
        click.echo(str(w), err=True)
    if res.metrics.stopped_by == "wall_clock":  # design brief section 9: a net that binds is reported
        net = res.metrics.timings.get("solver_wall_clock_net_seconds")
        click.echo("siteopt: warning: the wall-clock safety net" + (f" ({net:.1f} s)" if isinstance(net, int | float) else "")
                   + ", not the work limit, ended the search: the answer may differ on another machine or under another "
                   "load (metrics.json: stopped_by wall_clock; raise --time-limit, or run when the machine is less busy)",
                   err=True)
    summary = run_summary(res)
    if res.status is Status.INFEASIBLE:
        summary["conflicts"] = list(res.metrics.conflicts)
        click.echo("The scenario is infeasible:", err=True)
        for line in res.metrics.conflicts:
            click.echo(f"  - {line}", err=True)
        echo_json(summary)
        _say_where(res)
        sys.exit(res.exit_code)
    echo_json(summary)
    _say_where(res)
    if res.status is Status.UNKNOWN:
        fail("no solution found within the time limit; raise --time-limit", res.exit_code)
    if res.exit_code != ExitCode.OK:
        sys.exit(res.exit_code)
