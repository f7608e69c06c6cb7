"""One solver option off and on, side by side, on realsites problems and scenario files (issue 17).

Usage (from the repository root)::

    python benchmarks/realsites/compare_options.py site_chains rs001-f12 rs002-f20 rs003-f30 rs004-f40
    python benchmarks/realsites/compare_options.py site_chains constraints/amp_sbp/baseline.yaml --limit 60

Each problem is solved by :func:`optimiser.solve.strategy.solve` (the call ``siteopt run``
makes, ``strategy="auto"``, seed 0, one worker) with the boolean :class:`SolveOptions` field
off, then on. One row each: status, objective, CP-SAT's deterministic time (work: the same on
an idle and a loaded machine), CPU and wall seconds of the solve call, the load average before
and after. Generated problems are named as in ``run.py`` (``rs00N-fF``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DEFAULT_PROBLEMS, make_problem, write_problem  # noqa: E402

from optimiser.inputs import read_scenario  # noqa: E402
from optimiser.inputs.domain import SolveOptions  # noqa: E402
from optimiser.model.problem import Problem  # noqa: E402
from optimiser.pipeline import prepare  # noqa: E402
from optimiser.solve.strategy import solve  # noqa: E402


def problem_of(name: str, tmp: Path) -> Problem:
    """The problem of a scenario file, or of a generated realsites problem by its name."""
    if name.endswith((".yaml", ".yml", ".json", ".toml")):
        return prepare(read_scenario(name)).problem
    for seed, firms, crossings in DEFAULT_PROBLEMS:
        gen = make_problem(seed, firms, crossings)
        if gen.id == name:
            return prepare(read_scenario(write_problem(gen, tmp / gen.id))).problem
    raise SystemExit(f"unknown problem {name!r}: a scenario file or one of rs001-f12 ... rs006-f60")


def main(argv: list[str] | None = None) -> int:
    """Print one markdown row per problem and setting."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("option", help="a boolean SolveOptions field, e.g. site_chains")
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--limit", type=float, default=60.0, help="time_limit_s (default 60)")
    a = ap.parse_args(argv)
    if not isinstance(getattr(SolveOptions(), a.option, None), bool):
        raise SystemExit(f"{a.option!r} is not a boolean SolveOptions field")
    print(f"| problem | {a.option} | status | objective | gap % | det. units | CPU s | wall s | load |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.problems:
            problem = problem_of(name, Path(tmp))
            for on in (False, True):
                opts = SolveOptions(time_limit_s=a.limit, seed=0, workers=1, **{a.option: on})
                load0, cpu, wall = os.getloadavg()[0], time.process_time(), time.perf_counter()
                res = solve(problem, opts)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                det = res.stats.get("deterministic_time", float("nan"))
                print(f"| {name} | {'on' if on else 'off'} | {res.status} | {res.objective:,.0f} | {100 * (res.gap or 0):.3f} | "
                      f"{det:.3f} | {cpu:.1f} | {wall:.1f} | {load0:.1f}-{os.getloadavg()[0]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
