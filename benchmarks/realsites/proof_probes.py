"""Why a 10 s run does not prove the 0.1 %-gap rows (wave 10): an experiment, not part of the solver.

From the state a relax-first run reaches at ``--limit`` (its incumbent, the closed decisions and
the count vectors its last split round left open), this measures five ways to finish the proof:

1. ``cpsat``: CP-SAT on the reduced exact model (the decisions closed in every open vector fixed
   at 0), built as relax-first builds it (budget cuts, site chains, the incumbent as hint, the
   "lp" search settings), and variants: LB-tree search, LP search, the objective cut off at the
   incumbent less one without the hint, every constraint in the LP from the start;
2. ``vectors``: CP-SAT on each open vector's own model (its own closed decisions fixed, its class
   caps added) from the incumbent;
3. ``plateau``: the open vectors' Lagrangian bounds after ``--plateau-iterations`` more
   iterations from the last round's start multipliers (where the subgradient ascent levels off);
4. ``probing``: in the least bound's vector, each free decision outside the incumbent forced open
   for ``--probe-iterations`` iterations from the plateau's multipliers: closed when that prunes;
5. ``branching``: best-first Lagrangian branch and bound in that vector (children: a free decision
   of the knapsack's layout closed / open, ``--node-iterations`` iterations each from the
   parent's multipliers) for ``--nodes`` nodes; and the relaxation's bound with the incumbent's
   own decisions forced open and every other decision closed (below the incumbent: branching on
   the relaxation alone cannot prove it, its leaves need the exact objective);
6. ``workers``: the whole run at ``--workers-limit`` with CP-SAT on 1 thread, 2 threads, and 2
   threads with ``interleave_search`` (deterministic), every other setting as the checked-out
   code has it (the JSON records the commit).

CPU seconds are ``time.process_time`` of this process (CP-SAT's threads included). Results go to
``--out`` (JSON) and a summary to stdout. Run from the repository root:

    python benchmarks/realsites/proof_probes.py rs005-f50 --out benchmarks/realsites/probes/rs005-f50.json
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_options import problem_of  # noqa: E402
from generate import make_problem, write_problem  # noqa: E402
from ortools.sat.python import cp_model_helper  # noqa: E402
from run import parse_seeds  # noqa: E402

from optimiser.inputs import read_scenario  # noqa: E402
from optimiser.inputs.domain import SolveOptions  # noqa: E402
from optimiser.model.problem import Constraint, Problem  # noqa: E402
from optimiser.model.transforms import fix_decisions  # noqa: E402
from optimiser.pipeline import prepare  # noqa: E402
from optimiser.solve import count_split, cpsat, cpsat_model  # noqa: E402
from optimiser.solve import relax_first as rf  # noqa: E402
from optimiser.solve.cpsat_api import cp_model  # noqa: E402
from optimiser.solve.heuristic import Evaluator, hint_values  # noqa: E402
from optimiser.solve.lagrangian import _Ascent, _Dual  # noqa: E402
from optimiser.solve.lagrangian_split import capped  # noqa: E402
from optimiser.solve.result import relative_gap  # noqa: E402
from optimiser.solve.strategy import solve  # noqa: E402

SP = cp_model_helper.SatParameters


def pct(best: float, bound: float) -> float | None:
    """The relative gap in per cent, 4 decimals."""
    g = relative_gap(best, bound)
    return None if g is None else round(100 * g, 4)


def load_problem(name: str, tmp: Path) -> Problem:
    """A scenario file, a realsites name (rs001-f12 ... rs006-f60) or ``SEED[:FIRMS:CROSSINGS]``
    (any generated problem, read as ``run.py --seeds`` reads it: :func:`run.parse_seeds`).

    Raises:
        argparse.ArgumentTypeError: a ``SEED...`` form that ``--seeds`` refuses, or more than one.
    """
    if name[:1].isdigit():
        specs = parse_seeds(name)
        if len(specs) != 1:
            raise argparse.ArgumentTypeError(f"{name!r}: one SEED or SEED:FIRMS:CROSSINGS at a time")
        gen = make_problem(*specs[0])
        return prepare(read_scenario(write_problem(gen, tmp / gen.id))).problem
    return problem_of(name, tmp)


def capture_state(problem: Problem, limit_s: float) -> dict[str, Any]:
    """Run relax-first at ``limit_s`` and keep what its last split round started from and proved."""
    state: dict[str, Any] = {}
    orig = rf.RelaxFirst._split_round

    def spy(self: rf.RelaxFirst, seconds: float, safety_share: float, **kw: Any) -> Any:
        start = {k: v for k, v in kw.items() if k != "on_layout"}
        res = orig(self, seconds, safety_share, **kw)
        assert self.count_vectors is not None
        state.update(target=self.target, classes=self.count_vectors[0], kw=start, out=self.vector_bounds)
        return res

    rf.RelaxFirst._split_round = spy  # type: ignore[method-assign]
    try:
        res = solve(problem, SolveOptions(time_limit_s=limit_s, seed=0, workers=1))
    finally:
        rf.RelaxFirst._split_round = orig  # type: ignore[method-assign]
    if not state:
        raise SystemExit("the run never reached a split Lagrangian round (no count vectors): nothing to probe")
    state.update(best=int(res.objective), layout=tuple(res.chosen), result=res)
    return state


def cpsat_variants(problem: Problem, state: dict[str, Any], limit_s: float) -> list[dict[str, Any]]:
    """Step 1: CP-SAT settings on the reduced exact model."""
    open_vs = [vb for vb in state["out"] if not vb.pruned]
    closed = frozenset.intersection(*(vb.fixed_zero for vb in open_vs))
    red = fix_decisions(problem, {i: 0 for i in closed})
    rows = []
    for variant in ("hint", "hint+lb_tree", "hint+lp_search", "cutoff", "hint+eager_lp"):
        c0 = time.process_time()
        hint = hint_values(red, state["layout"], Evaluator(red)) if variant.startswith("hint") else None
        parts = cpsat_model.build_model(red, hint=hint, budget_cuts=True, site_chains=True)
        m = parts.model
        if variant == "cutoff":
            obj = m.proto.objective
            row = m.proto.constraints.add().linear
            row.vars.extend(obj.vars)
            row.coeffs.extend(obj.coeffs)
            row.domain.extend([cp_model.INT_MIN, state["best"] - 1 - int(round(obj.offset))])
        built = time.process_time() - c0
        s = cp_model.CpSolver()
        cpsat_model.set_params(s, limit_s, 0, 1)
        cpsat_model.set_search_params(s, "lp")
        if "lb_tree" in variant:
            s.parameters.optimize_with_lb_tree_search = True
        if "lp_search" in variant:
            s.parameters.search_branching = SP.LP_SEARCH
        if "eager_lp" in variant:
            s.parameters.add_lp_constraints_lazily = False
        code = s.solve(m)
        proved = code == cp_model.INFEASIBLE if variant == "cutoff" else code == cp_model.OPTIMAL
        rows.append({"variant": variant, "levels": red.n_levels(), "closed": len(closed), "status": s.status_name(code),
                     "proved": bool(proved), "units": round(s.response_proto.deterministic_time, 3),
                     "build_cpu_s": round(built, 2), "cpu_s": round(time.process_time() - c0, 2), "branches": s.num_branches})
        print("cpsat", rows[-1], flush=True)
    return rows


def vector_models(problem: Problem, state: dict[str, Any], limit_s: float) -> list[dict[str, Any]]:
    """Step 2: each open vector's own reduced model with its caps."""
    rows = []
    for vb in state["out"]:
        if vb.pruned:
            continue
        c0 = time.process_time()
        p = capped(fix_decisions(problem, {i: 0 for i in vb.fixed_zero}), state["classes"], vb.vector)
        r = cpsat.solve(p, SolveOptions(time_limit_s=limit_s, seed=0, workers=1), starts=(state["layout"],))
        proved = r.status.value == "optimal" and r.objective is not None and r.objective >= state["best"]
        rows.append({"vector": list(vb.vector), "closed": len(vb.fixed_zero), "levels": p.n_levels(),
                     "status": r.status.value, "objective": r.objective, "proved": bool(proved),
                     "units": round(r.stats.get("deterministic_time", math.nan), 3), "cpu_s": round(time.process_time() - c0, 2)})
        print("vector", rows[-1], flush=True)
    return rows


class VectorDual:
    """Ascents in one count vector of the captured split round, with extra fixes."""

    def __init__(self, state: dict[str, Any], vector: tuple[int, ...], closed: frozenset[int]) -> None:
        self.state, self.vector, self.closed = state, vector, sorted(closed)
        kw = state["kw"]
        self.base = _Dual(state["target"], kw["closed"], kw["routes"])

    def ascent(self, fixes: dict[int, int], mult: Any, access: Any, step: float) -> _Ascent:
        """An ascent with ``fixes`` (decision -> 0 / 1) from the given multipliers."""
        cons = [Constraint(f"fix:{i}", ((i, 1),), 1 if v else None, None if v else 0, "fix") for i, v in fixes.items()]
        p = capped(self.state["target"], self.state["classes"], self.vector)
        d = self.base.with_knapsack(replace(p, constraints=list(p.constraints) + cons))
        d.fixed[self.closed] = True
        return _Ascent(d, self.state["best"], multipliers=mult, access_multipliers=access, initial_step=max(step, 0.05),
                       min_step=1e-4, safety_net_s=3600)


def plateau(state: dict[str, Any], iterations: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Step 3: more iterations per open vector; returns the rows and the least bound's end state."""
    kw, rows, least = state["kw"], [], None
    for vb in state["out"]:
        if vb.pruned:
            continue
        c0 = time.process_time()
        vd = VectorDual(state, vb.vector, frozenset())
        a = vd.ascent({}, kw["multipliers"], kw["access_multipliers"], kw["initial_step"])
        a.run(iterations)
        r = a.result()
        rows.append({"vector": list(vb.vector), "split_bound": vb.bound, "bound": r.bound, "gap_pct": pct(state["best"], r.bound),
                     "pruned": a.pruned, "iterations": a.it, "closed": int(a.dual.fixed.sum()), "layout_is_incumbent":
                     sorted(a.best_layout) == sorted(state["layout"]), "cpu_s": round(time.process_time() - c0, 2)})
        print("plateau", rows[-1], flush=True)
        if not a.pruned and (least is None or r.bound < least["bound"]):
            least = {"vector": vb.vector, "bound": r.bound, "mult": r.multipliers, "access": r.access_multipliers,
                     "step": a.step, "closed": frozenset(r.fixed_zero), "layout": a.best_layout}
    return rows, least


def probing(state: dict[str, Any], least: dict[str, Any], iterations: int) -> dict[str, Any]:
    """Step 4: each free decision outside the incumbent forced open."""
    c0 = time.process_time()
    vd = VectorDual(state, least["vector"], least["closed"])
    lay = set(state["layout"])
    free = [i for i in range(vd.base.n_d) if i not in least["closed"]]
    newly = []
    for i in free:
        if i in lay:
            continue
        a = vd.ascent({i: 1}, least["mult"], least["access"], least["step"])
        a.run(iterations)
        if a.pruned:
            newly.append(i)
    out = {"vector": list(least["vector"]), "free": len(free), "tested": len([i for i in free if i not in lay]),
           "closed_by_probing": newly, "cpu_s": round(time.process_time() - c0, 2)}
    print("probing", out, flush=True)
    return out


def branching(state: dict[str, Any], least: dict[str, Any], nodes: int, node_iterations: int) -> dict[str, Any]:
    """Step 5: best-first Lagrangian branch and bound in the least bound's vector."""
    c0 = time.process_time()
    vd = VectorDual(state, least["vector"], least["closed"])
    n_d = vd.base.n_d
    # the relaxation with the incumbent's layout imposed (its decisions open, the rest closed)
    lay = set(state["layout"])
    a = vd.ascent({i: int(i in lay) for i in range(n_d) if i not in least["closed"]}, least["mult"], least["access"],
                  least["step"])
    a.run(4 * node_iterations)
    at_incumbent = a.result().bound
    heap: list[tuple[float, int, dict[int, int], Any, Any, float]] = [(-math.inf, 0, {}, least["mult"], least["access"],
                                                                      least["step"])]
    count, done, iters = 1, 0, 0
    leaves: list[float] = []  # bounds of nodes with every decision fixed that the bound does not prune
    while heap and done < nodes:
        _, _, fixes, mult, access, step = heapq.heappop(heap)
        a = vd.ascent(fixes, mult, access, step)
        a.run(node_iterations)
        r = a.result()
        done, iters = done + 1, iters + a.it
        if a.pruned or not math.isfinite(a.best):
            continue
        free = [i for i in range(n_d) if not a.dual.fixed[i] and i not in fixes]
        cand = [i for i in a.best_layout if i in free] or free
        if not cand:
            leaves.append(a.best)  # every decision fixed: only the exact objective can close it
            continue
        for val in (0, 1):
            heapq.heappush(heap, (a.best, count, {**fixes, cand[0]: val}, r.multipliers, r.access_multipliers, a.step))
            count += 1
    # the least bound over the open nodes and the unpruned leaves (a leaf's exact objective is
    # not evaluated here: its relaxation's bound is what branching proved)
    bound = min([h[0] for h in heap] + leaves, default=float(state["best"]))
    out = {"vector": list(least["vector"]), "nodes": done, "open_nodes": len(heap), "iterations": iters,
           "bound": bound, "gap_pct": pct(state["best"], bound), "unpruned_leaves": len(leaves),
           "open_nodes_bound": min([h[0] for h in heap], default=None),
           "relaxation_at_incumbent": at_incumbent, "incumbent": state["best"],
           "relaxation_at_incumbent_gap_pct": pct(state["best"], at_incumbent), "cpu_s": round(time.process_time() - c0, 2)}
    print("branching", out, flush=True)
    return out


def workers(problem: Problem, limit_s: float) -> list[dict[str, Any]]:
    """Step 6: the whole run with CP-SAT on 1 thread, 2 threads, 2 interleaved threads."""
    rows = []
    orig = cpsat_model.set_params
    for mode in ("1", "2", "2-interleaved"):
        def patched(solver: Any, time_limit_s: float, seed: int, workers: int, safety_net_s: float | None = None,
                    mode: str = mode) -> None:
            orig(solver, time_limit_s, seed, workers, safety_net_s)
            if mode != "1":
                solver.parameters.num_workers = 2
                solver.parameters.interleave_search = mode == "2-interleaved"
        for mod in (cpsat_model, cpsat, count_split):
            mod.set_params = patched  # type: ignore[attr-defined]
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            res = solve(problem, SolveOptions(time_limit_s=limit_s, seed=0, workers=1))
        finally:
            for mod in (cpsat_model, cpsat, count_split):
                mod.set_params = orig  # type: ignore[attr-defined]
        rows.append({"threads": mode, "status": res.status.value, "objective": res.objective, "gap_pct": pct(res.objective, res.bound),
                     "wall_s": round(time.perf_counter() - w0, 2), "cpu_s": round(time.process_time() - c0, 2)})
        print("workers", rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the probes on one problem and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("problem", help="a scenario file, a realsites name (rs001-f12 ... rs006-f60) or SEED[:FIRMS:CROSSINGS]")
    ap.add_argument("--limit", type=float, default=10.0, help="the relax-first run whose state is probed (s)")
    ap.add_argument("--cpsat-limit", type=float, default=120.0, help="time limit of each CP-SAT probe (s)")
    ap.add_argument("--plateau-iterations", type=int, default=6000)
    ap.add_argument("--probe-iterations", type=int, default=150)
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--node-iterations", type=int, default=200)
    ap.add_argument("--workers-limit", type=float, default=60.0, help="0: skip step 6")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            problem = load_problem(a.problem, Path(tmp))
        except argparse.ArgumentTypeError as exc:
            ap.error(str(exc))
    load0 = os.getloadavg()[0]
    state = capture_state(problem, a.limit)
    res = state["result"]
    print(f"{a.problem} at {a.limit:g} s: {res.status.value}, objective {res.objective:,.0f}, gap {pct(res.objective, res.bound)} %",
          flush=True)
    out: dict[str, Any] = {"problem": a.problem, "limit_s": a.limit, "status": res.status.value, "objective": res.objective,
                           "bound": res.bound, "gap_pct": pct(res.objective, res.bound),
                           "open_vectors": [list(vb.vector) for vb in state["out"] if not vb.pruned],
                           "vectors": len(state["out"]), "args": {k: str(v) for k, v in vars(a).items()}}
    if res.status.value != "optimal":
        out["cpsat"] = cpsat_variants(problem, state, a.cpsat_limit)
        out["vectors_exact"] = vector_models(problem, state, a.cpsat_limit)
        out["plateau"], least = plateau(state, a.plateau_iterations)
        if least is not None:
            out["probing"] = probing(state, least, a.probe_iterations)
            out["branching"] = branching(state, least, a.nodes, a.node_iterations)
    if a.workers_limit > 0:
        out["workers"] = workers(problem, a.workers_limit)
    out["load"] = [load0, os.getloadavg()[0]]
    out["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                   cwd=Path(__file__).resolve().parent).stdout.strip() or None
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
