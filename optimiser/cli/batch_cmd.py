"""``siteopt batch FILE --out DIR``: run a batch of scenarios (sweeps, seeds), resumably.

Prints a JSON summary (items per status, paths) to stdout; a progress bar goes to stderr.
Exit codes: 0 when every item ran to an answer (optimal, feasible, infeasible or no solution
within its time limit), 5 when the batch ran to the end but some items are invalid, errored,
crashed or failed verification (every result is still written and the summary printed; a resume,
or ``--retry-failed``, gives the code for the whole batch again), 2 for an invalid batch file or
an unusable ``--out`` (every problem printed as ``FILE: field: reason``), 1 for an internal
error, 130 when interrupted (SIGINT / SIGTERM: the finished items are kept, the workers stopped;
the same command resumes). A base scenario invalid on its own is judged with each item's values
applied, as ``siteopt validate`` judges it (:func:`optimiser.batch.spec.check_base`): refused
(exit 2) when no item mends it, run when some do (the others recorded invalid: exit 5), and with
one ``siteopt batch: FILE: base: note: ...`` line on stderr (not under ``--quiet``) when all do.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import click

from optimiser.batch import load_batch, run_batch
from optimiser.batch.records import ItemRecord
from optimiser.batch.scheduler import SchedulerAddress, parse_scheduler_address, tls_security
from optimiser.cli._common import echo_json, echo_problems, refuse_file_out
from optimiser.cli.logging_setup import LogSettings, configure_logging, current_settings, reset_logging
from optimiser.cli.options import SolveOverrides, solve_options
from optimiser.errors import ExitCode, InputError, Interrupted, OutputExistsError, OutputWriteError
from optimiser.inputs.locate import resolve_input
from optimiser.present.staging import cli_wording
from optimiser.solve import interrupt

logger = logging.getLogger(__name__)


def _check_scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> SchedulerAddress | None:
    """``--scheduler`` checked before anything runs (a malformed address is a usage error, exit 2)."""
    if value is None:
        return None
    try:
        return parse_scheduler_address(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def _warn_wall_clock(records: list[ItemRecord]) -> None:
    """Say once which items' answers a wall-clock safety net bound (design brief section 9: a net
    that binds is reported; the solver's phases say it only at ``-v``)."""
    names = [str(r.get("name")) for r in records if (m := r.get("metrics")) is not None and m.get("stopped_by") == "wall_clock"]
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        click.echo(f"siteopt batch: warning: the wall-clock safety net, not the work limit, ended the search of "
                   f"{len(names)} item(s) ({shown}): their answers may differ on another machine or under another "
                   "load (results.csv: stopped_by wall_clock; raise the time limit, or run fewer --jobs)", err=True)


def _quiet_as_siteopt_q() -> None:
    """``siteopt batch --quiet`` is ``siteopt -q batch``: warnings and errors only, even with
    ``-v`` (the local workers take the level from this process), and no progress bar."""
    settings = current_settings()
    if not settings.quiet:
        ctx = click.get_current_context()
        if not isinstance(ctx.find_root().obj, LogSettings):  # invoked on its own: undo when it ends
            ctx.call_on_close(reset_logging)
        configure_logging(dataclasses.replace(settings, quiet=True))


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Batch output folder (created; re-running resumes it).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (each item uses one CP-SAT worker).")
@click.option("--scheduler", metavar="ADDRESS", default=None, callback=_check_scheduler,
              help="Dask scheduler address: tls://HOST:PORT with --tls-* certificates, or tcp://HOST:PORT on a "
                   "trusted network only (unencrypted); run the items on that cluster; its workers must see --out.")
@click.option("--tls-ca-file", type=click.Path(dir_okay=False), default=None,
              help="CA certificate (PEM) that signed the tls:// scheduler's certificate.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, help="This client's certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None,
              help="This client's private key (PEM), if not in --tls-cert.")
@click.option("--overwrite", is_flag=True,
              help="--out may hold another batch's results: remove them and its runs first (refused without it).")
@click.option("--no-resume", is_flag=True, help="Re-run every item, even those already finished.")
@click.option("--retry-failed", is_flag=True, help="On resume, also re-run items recorded as error or crashed.")
@click.option("--render", is_flag=True, help="Also draw plans and report.html for every item (slower).")
@solve_options
@click.option("--quiet", "-q", is_flag=True,
              help="As siteopt -q: no progress bar, warnings and errors only (even with siteopt -v), workers too.")
def command(file: Path, out_dir: Path, jobs: int, scheduler: SchedulerAddress | None, tls_ca_file: str | None,
            tls_cert: str | None, tls_key: str | None, overwrite: bool, no_resume: bool, retry_failed: bool, render: bool,
            solve: SolveOverrides, quiet: bool) -> None:
    """Run every scenario of the batch FILE (placemaking-batch/1) and write results.csv,
    pareto.csv and pareto.png under --out.

    --backend, --time-limit, --seed and --workers override the batch file's and the base
    scenario's settings for every item (--seed cannot be combined with repeat_seeds).

    \b
    Exit codes:
      0   every item ran to an answer (optimal, feasible, infeasible, no solution)
      5   the batch ran to the end but some items are invalid, errored, crashed
          or failed verification (all results kept, summary printed)
      2   invalid batch file or --out (nothing run)
      1   internal error
      130 interrupted (finished items kept; the same command resumes)
    """
    refuse_file_out(out_dir, "a batch's results.csv, pareto files and runs are", "batch1", "batch",
                    folder="a new or empty folder, or the folder of this batch's earlier run to resume it")
    if quiet:
        _quiet_as_siteopt_q()
    progress = not quiet and current_settings().progress
    try:
        spec = load_batch(resolve_input(str(file)), solver=solve.as_solver_section())
    except InputError as exc:
        echo_problems(exc)
        sys.exit(ExitCode.INPUT)
    if not (quiet or current_settings().quiet):  # --quiet, or siteopt -q
        for note in spec.notes:  # as siteopt validate says it (a base every item mends)
            click.echo(f"siteopt batch: {file}: base: note: {note}", err=True)
    security = None
    if scheduler is not None:
        try:
            security = tls_security(scheduler, tls_ca_file, tls_cert, tls_key)
        except ValueError as exc:
            click.echo(f"siteopt batch: --scheduler {scheduler}: {exc}", err=True)
            sys.exit(ExitCode.INPUT)
    elif tls_ca_file or tls_cert or tls_key:
        click.echo("siteopt batch: --tls-ca-file, --tls-cert and --tls-key need a tls:// --scheduler", err=True)
        sys.exit(ExitCode.INPUT)
    try:
        with interrupt.handle_signals(), cli_wording():  # a refused --out names --overwrite
            summary = run_batch(spec, out_dir, jobs=jobs, scheduler=None if scheduler is None else str(scheduler),
                                security=security, progress=progress,
                                resume=not no_resume, render=render, retry_failed=retry_failed,
                                overwrite=overwrite)
    except Interrupted as exc:
        click.echo(f"siteopt batch: {exc}", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except (OutputExistsError, OutputWriteError) as exc:  # refused, busy, or the disk full (not the scheduler's)
        click.echo(f"siteopt batch: {exc}", err=True)
        sys.exit(ExitCode.INPUT)
    except OSError as exc:
        if scheduler is not None:  # e.g. the scheduler address cannot be reached
            click.echo(f"siteopt batch: cannot use the Dask scheduler {scheduler}: {exc}", err=True)
            sys.exit(ExitCode.INPUT)
        raise
    echo_json(summary.to_dict())
    _warn_wall_clock(summary.records)
    if summary.problems:
        what = ", ".join(f"{n} {s}" for s, n in sorted(summary.problems.items()))
        click.echo(f"siteopt batch: {what} of {len(summary.records)} items (reasons in {summary.results_csv}); "
                   f"exit {int(summary.exit_code)}", err=True)
        sys.exit(summary.exit_code)
