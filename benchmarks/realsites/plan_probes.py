"""Ways to finish the proofs still open at 10 s (wave 43): an experiment, not part of the solver.

Runs on problems of the independent generator (:mod:`independent`, by seed), written to a
temporary folder as ``run.py --independent`` writes them and prepared as ``siteopt run`` prepares
them. Two subcommands:

``runs``: relax-first at ``--limit`` (seed 0, one worker), one JSON line per problem: status, gap,
wall seconds, the work account, the plan facts (``exact_after_rounds``, the relaxation's and the
reduced exact model's radius levels) and every call through ``RelaxFirst.backend_solve`` (what, radius
levels, budget and charge in nominal s, CP-SAT's deterministic units, status; the exact models per count
vector go through :mod:`optimiser.solve.vector_exact` and are not listed). ``--mode``:

- ``base``: the checked-out code as it is;
- ``lb-tree``: CP-SAT's LB-tree search (``optimize_with_lb_tree_search``) in every "lp" search;
- ``lb-tree-exact``: the same in the whole reduced exact model only (phase 5);
- ``params`` / ``params-exact``: extra CP-SAT parameters (``--params name=value,...``) in every "lp"
  search, or in the whole reduced exact model only;
- ``refine-first``: when the exact model comes straight after the Lagrangian rounds and the tightest
  relaxation at hand (``RelaxFirst.target``, which wave 41's rule reads; phase 4 solves it with the
  closed decisions fixed, smaller) has at most ``--ratio`` of the reduced exact model's radius levels,
  phase 4 and its refinement (:mod:`optimiser.solve.relax_first_refine`) run first, once; the exact
  model gets what they leave.

``relaxations``: from a ``--limit`` run's state when phase 5 starts (closed decisions, incumbent),
phase 4's relaxation as relax-first builds it against the same one *seeded* with the incumbent's
under-estimated sites (:func:`~optimiser.solve.relax_first_refine.under_estimated_sites` at the
incumbent instead of at the relaxation's optimum), each solved by CP-SAT for ``--units``
deterministic units from the incumbent.

Run from the repository root (results in benchmarks/realsites/wave43/, README there):

    W=benchmarks/realsites/wave43
    python benchmarks/realsites/plan_probes.py runs --mode base --seeds 1-40,100-117,200-215 --out $W/runs_base.jsonl
    python benchmarks/realsites/plan_probes.py relaxations --seeds 100,11,22,200,104,215,110,109 --out $W/relaxations.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _seed_list as seed_list  # noqa: E402
from run import independent_problems  # noqa: E402

from optimiser.inputs.domain import SolveOptions  # noqa: E402
from optimiser.inputs.scenario import read_scenario  # noqa: E402
from optimiser.model.problem import Problem  # noqa: E402
from optimiser.model.transforms import fix_decisions, relax_access_crossings  # noqa: E402
from optimiser.pipeline import prepare  # noqa: E402
from optimiser.solve import count_split, cpsat, cpsat_model, strategy, vector_exact  # noqa: E402
from optimiser.solve import relax_first as rf  # noqa: E402
from optimiser.solve.cpsat_model import DETERMINISTIC_PER_SECOND  # noqa: E402
from optimiser.solve.heuristic import Evaluator  # noqa: E402
from optimiser.solve.registry import backend  # noqa: E402
from optimiser.solve.relax_first_refine import refine_phase, under_estimated_sites  # noqa: E402

PLAN_KEYS = ("exact_after_rounds", "exact_first", "tightened_levels", "reduced_levels", "plan_s", "more_rounds_skipped")


def problems(seeds: tuple[int, ...]) -> Iterator[tuple[int, Problem]]:
    """Each seed's problem, prepared from the scenario file ``run.py --independent`` writes for it
    (:func:`run.independent_problems`), one seed at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            ((_, scenario, _),) = independent_problems((seed,), Path(tmp))
            yield seed, prepare(read_scenario(scenario)).problem


def extra_search_params(stack: ExitStack, params: dict[str, Any], only_exact: bool, flag: dict[str, bool]) -> None:
    """CP-SAT's "lp" searches with the extra ``params`` (only while ``flag["exact"]`` with ``only_exact``), until ``stack`` closes."""
    plain = cpsat_model.set_search_params

    def with_params(solver: Any, search: str, inprocessing: bool = True) -> None:
        plain(solver, search, inprocessing)
        if search in ("lp", "lp-eager") and (flag["exact"] or not only_exact):
            for name, value in params.items():  # in the field's own type (an int given as 2.5e3, an enum as its number)
                current = getattr(solver.parameters, name)
                setattr(solver.parameters, name, value if isinstance(current, bool) else type(current)(value))

    for module in (cpsat_model, cpsat, count_split, vector_exact):
        stack.enter_context(mock.patch.object(module, "set_search_params", with_params))


def parse_params(text: str) -> dict[str, Any]:
    """``name=value,...`` as CP-SAT parameters: ints, floats, or true/false."""
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, value = item.split("=")
        v = value.strip().lower()
        out[name.strip()] = v == "true" if v in ("true", "false") else (int(v) if v.lstrip("-").isdigit() else float(v))
    return out


def refine_first(stack: ExitStack, ratio: float) -> None:
    """Phase 4 and its refinement before an exact model that comes straight after the rounds, until ``stack`` closes."""
    exact = rf.RelaxFirst.exact_phase

    def exact_phase(run: rf.RelaxFirst) -> Any:
        if run.exact_after_rounds and "refine_first" not in run.info:
            run.info["refine_first"] = share = run.target.info["levels"] / max(1, run.reduced_levels())
            if share <= ratio:
                run.reduced_relaxation_phase()
                refine_phase(run)
                run.relaxed_optimum = None  # refined once: run()'s own phase 6 does not start it again
        return exact(run)

    stack.enter_context(mock.patch.object(rf.RelaxFirst, "exact_phase", exact_phase))


def runs(a: argparse.Namespace) -> None:
    """The ``runs`` subcommand (module docstring); the solver as it was afterwards."""
    with ExitStack() as stack:
        traced_runs(a, stack)


def traced_runs(a: argparse.Namespace, stack: ExitStack) -> None:
    calls: list[dict[str, Any]] = []
    flag = {"exact": False}
    if a.mode in ("lb-tree", "lb-tree-exact"):
        extra_search_params(stack, {"optimize_with_lb_tree_search": True}, a.mode == "lb-tree-exact", flag)
    elif a.mode in ("params", "params-exact"):
        extra_search_params(stack, parse_params(a.params), a.mode == "params-exact", flag)
    elif a.mode == "refine-first":
        refine_first(stack, a.ratio)
    plain = rf.RelaxFirst.backend_solve

    def traced(run: rf.RelaxFirst, problem: Problem, budget_s: float, what: str, *args: Any, **kw: Any) -> Any:
        before, flag["exact"] = run.work_s, what == "exact model"
        try:
            r = plain(run, problem, budget_s, what, *args, **kw)
        finally:
            flag["exact"] = False
        calls.append({"what": what, "levels": problem.n_levels(), "budget_s": round(budget_s, 3),
                      "charged_s": round(run.work_s - before, 3), "units": r.stats.get("deterministic_time"),
                      "status": str(r.status), "objective": r.objective, "bound": r.bound})
        return r

    stack.enter_context(mock.patch.object(rf.RelaxFirst, "backend_solve", traced))
    for seed, problem in problems(seed_list(a.seeds)):
        calls.clear()
        t = time.perf_counter()
        r = strategy.solve(problem, SolveOptions(time_limit_s=a.limit, seed=0, workers=1))
        info = r.stats.get("relaxation") or {}
        row = {"seed": seed, "mode": a.mode, **({"params": a.params} if a.params else {}), "limit_s": a.limit,
               "status": str(r.status), "objective": r.objective,
               "bound": r.bound, "gap": r.gap, "solve_wall_s": round(time.perf_counter() - t, 2),
               "work_s": info.get("work_s"), "bound_from": r.stats.get("bound_from"),
               "relaxation_levels": (info.get("reduced_relaxation") or {}).get("levels"),
               **{k: info[k] for k in PLAN_KEYS + ("refine_first",) if k in info}, "calls": list(calls)}
        emit(a.out, row, f"{seed} {row['status']} gap {r.gap} {row['solve_wall_s']} s")


def relaxations(a: argparse.Namespace) -> None:
    """The ``relaxations`` subcommand (module docstring); the solver as it was afterwards."""
    state: dict[str, Any] = {}
    exact = rf.RelaxFirst.exact_phase

    def capture(run: rf.RelaxFirst) -> Any:
        state.update(fixed=set(run.fixed), layout=tuple(run.layout), best=run.best)
        return exact(run)

    cp = backend("cpsat")
    for seed, problem in problems(seed_list(a.seeds)):
        state.clear()
        with mock.patch.object(rf.RelaxFirst, "exact_phase", capture):
            r = strategy.solve(problem, SolveOptions(time_limit_s=a.limit, seed=0, workers=1))
        if not state.get("layout"):
            emit(a.out, {"seed": seed, "skipped": f"no incumbent when phase 5 starts ({r.status})"}, f"{seed} skipped")
            continue
        closed, layout = state["fixed"], state["layout"]
        plain = relax_access_crossings(problem, closed=closed) or problem
        under = under_estimated_sites(problem, Evaluator(problem).layout_lengths(layout), Evaluator(plain).layout_lengths(layout))
        for name, relaxed in (("plain", plain), ("seeded", relax_access_crossings(problem, closed=closed, exact_sites=under))):
            if relaxed is None:
                continue
            q = fix_decisions(relaxed, {i: 0 for i in closed})
            t = time.perf_counter()
            r = cp.solve(q, SolveOptions(time_limit_s=a.units / DETERMINISTIC_PER_SECOND, seed=0, workers=1, count_split=False),
                         starts=(layout,))
            row = {"seed": seed, "relaxation": name, "levels": q.n_levels(), "exact_sites": len(under) if name == "seeded" else 0,
                   "incumbent": state["best"], "status": str(r.status), "objective": r.objective, "bound": r.bound,
                   "units": r.stats.get("deterministic_time"), "wall_s": round(time.perf_counter() - t, 2)}
            emit(a.out, row, f"{seed} {name} {q.n_levels()} levels {row['status']} bound {r.bound}")


def emit(out: Path, row: dict[str, Any], summary: str) -> None:
    with out.open("a") as f:
        f.write(json.dumps(row, default=str) + "\n")
    print(summary, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("runs", help="relax-first runs with a backend-call trace")
    r.add_argument("--mode", choices=("base", "lb-tree", "lb-tree-exact", "params", "params-exact", "refine-first"),
                   default="base")
    r.add_argument("--params", default="", help="params / params-exact: CP-SAT parameters, name=value,...")
    r.add_argument("--ratio", type=float, default=0.5, help="refine-first: the largest relaxation / exact model levels")
    x = sub.add_parser("relaxations", help="phase 4's relaxation, plain and seeded with the incumbent")
    x.add_argument("--units", type=float, default=3.0, help="CP-SAT's deterministic units per relaxation")
    for p in (r, x):
        p.add_argument("--seeds", required=True, help="independent generator seeds, e.g. 1-40,100-117")
        p.add_argument("--limit", type=float, default=10.0, help="relax-first's time limit (s)")
        p.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    a = ap.parse_args(argv)
    (runs if a.command == "runs" else relaxations)(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
