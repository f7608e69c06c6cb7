"""CP-SAT's search settings side by side (issue 17): the same problems solved with
``SolveOptions.cpsat_search="cpsat"`` (CP-SAT's own settings, as before) and ``"lp"`` (the
default), seed 0, one worker, the direct strategy.

Usage: ``python -m benchmarks.cpsat_search [SCENARIO.yaml ...]`` (default: the three AMP-SBP
scenarios of the README and Fremont). Prints one row per problem and setting: radius levels,
status, objective, CP-SAT's deterministic time (work: the same on an idle and a loaded machine),
CPU and wall seconds of the whole solve call (greedy start included) and the load average.
"""

from __future__ import annotations

import argparse
import os
import time

from optimiser.inputs import read_scenario
from optimiser.inputs.domain import SolveOptions
from optimiser.pipeline import prepare
from optimiser.solve.strategy import solve

DEFAULT_SCENARIOS = ("constraints/amp_sbp/baseline.yaml", "constraints/amp_sbp/hs2.yaml",
                     "constraints/amp_sbp/tight_budget.yaml", "constraints/fremont/baseline.yaml")


def main(paths: list[str]) -> None:
    """Solve each scenario's problem with both settings and print a row for each."""
    print("| scenario | levels | setting | status | objective | deterministic units | CPU s | wall s | load |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for path in paths or DEFAULT_SCENARIOS:
        problem = prepare(read_scenario(path)).problem
        levels = sum(len(c.levels) for c in problem.clients)
        for search in ("cpsat", "lp"):
            cpu, wall = time.process_time(), time.perf_counter()
            res = solve(problem, SolveOptions(time_limit_s=60, seed=0, workers=1, strategy="direct", cpsat_search=search))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            det = res.stats.get("deterministic_time", float("nan"))
            print(f"| {path} | {levels:,} | {search} | {res.status} | {res.objective:,.0f} | {det:.3f} | {cpu:.2f} | "
                  f"{wall:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cpsat_search", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", metavar="SCENARIO.yaml",
                    help="scenario files (default: " + ", ".join(DEFAULT_SCENARIOS) + ")")
    main(ap.parse_args().scenarios)
