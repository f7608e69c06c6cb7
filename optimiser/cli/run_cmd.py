"""``siteopt run [SCENARIO] --out DIR``: solve one scenario and write its run directory."""

from __future__ import annotations

import sys

import click

from optimiser.cli import EXIT_INFEASIBLE, EXIT_INPUT, EXIT_INTERNAL, EXIT_NO_SOLUTION
from optimiser.cli._common import echo_json, echo_problems, fail
from optimiser.errors import InputError, ModelError, OutputExistsError, VerificationError


@click.command("run")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace the run files in a non-empty --out.")
@click.option("--backend", type=click.Choice(["cpsat", "cbc"]), default=None, help="Override the scenario's solver.")
@click.option("--time-limit", "time_limit_s", type=click.FloatRange(min=0.1), default=None, help="Seconds (overrides the scenario).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (overrides the scenario).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Solver threads (1 = reproducible).")
@click.option("--no-render", is_flag=True, help="Skip plans and report (data files only).")
def command(scenario, out_dir, overwrite, backend, time_limit_s, seed, workers, no_render):
    """Solve SCENARIO (default: the embedded AMP-SBP baseline) and write --out.

    Writes metrics.json, layout.geojson, pairs.csv, firms.csv, plan.png/svg and
    report.html; prints the key metrics as JSON. Exit 0 solved, 2 invalid input,
    3 infeasible (with the conflicting requirements), 4 no solution in the time limit.
    """
    from optimiser.pipeline import run_scenario

    try:
        res = run_scenario(scenario, out_dir, overwrite=overwrite, backend=backend, time_limit_s=time_limit_s,
                           seed=seed, workers=workers, render=not no_render)
    except InputError as exc:
        echo_problems(exc)
        sys.exit(EXIT_INPUT)
    except OutputExistsError as exc:
        fail(str(exc), EXIT_INPUT)
    except ModelError as exc:
        fail(f"cannot model this scenario: {exc}", EXIT_INPUT)
    except VerificationError as exc:
        fail(f"VERIFICATION FAILED (this is a bug; outputs kept in {out_dir}): {exc}", EXIT_INTERNAL)
    m = res.metrics.to_json_dict()
    summary = {
        "status": m["status"], "objective": m["objective"], "bound": m["bound"], "gap": m["gap"],
        "solve_seconds": m["solve_seconds"], "backend": m["backend"], "seed": m["seed"],
        "scenario": m["scenario"]["id"], "walk": {k: v for k, v in m["walk"].items() if k != "facility_access"},
        "cost": m["cost"], "placements": {k: [p["id"] for p in v] for k, v in m["placements"].items()},
        "verification": {"passed": m["verification"]["passed"]}, "out": str(res.out_dir),
    }
    if res.status == "infeasible":
        summary["conflicts"] = m["conflicts"]
        click.echo("The scenario is infeasible:", err=True)
        for line in m["conflicts"]:
            click.echo(f"  - {line}", err=True)
        echo_json(summary)
        sys.exit(EXIT_INFEASIBLE)
    if res.status == "unknown":
        echo_json(summary)
        fail("no solution found within the time limit; raise --time-limit", EXIT_NO_SOLUTION)
    echo_json(summary)
