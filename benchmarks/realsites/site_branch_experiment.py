"""Branching on the facility sites (wave 8, H8b): an experiment, not part of the solver.

With the set of open sites fixed, every walk to a facility is a walk to fixed points and the
problem is a budgeted choice of crossings. This script measures, from the state a 10 s
relax-first run reaches (its incumbent, its closed decisions and its count vectors' bounds):

1. the site configurations (every set of sites meeting the count and spacing constraints
   among the sites alone) times the count vectors the split did not prune;
2. a cheap bound per (configuration, vector): a Lagrangian bound of the firm pairs alone under
   the vector's caps (one per vector) plus the walks to the configuration's sites with every
   candidate crossing free (the access relaxation: one sum per configuration). Both parts are
   lower bounds of their terms in every layout with exactly those sites, so their sum is a
   bound; a (configuration, vector) whose bound reaches the incumbent holds no better layout;
3. each survivor ("leaf"): its Lagrangian bound with the sites fixed and the caps, then
   CP-SAT on the leaf with the decisions that bound closed fixed at 0.

CPU seconds (``time.process_time``) of every step are printed. Run from the repository root:

    python benchmarks/realsites/site_branch_experiment.py rs005-f50 --pair-iterations 1000 --leaf-iterations 1000
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_options import problem_of  # noqa: E402

from optimiser.inputs.domain import SolveOptions  # noqa: E402
from optimiser.model.problem import Problem  # noqa: E402
from optimiser.model.transforms import fix_decisions, relax_access_crossings  # noqa: E402
from optimiser.solve.deadline import Deadline  # noqa: E402
from optimiser.solve.heuristic import Evaluator  # noqa: E402
from optimiser.solve.lagrangian import lagrangian_bound  # noqa: E402
from optimiser.solve.lagrangian_split import capped  # noqa: E402
from optimiser.solve.registry import backend  # noqa: E402
from optimiser.solve.relax_first import RelaxFirst  # noqa: E402
from optimiser.solve.strategy import solve  # noqa: E402

MAX_CONFIGS = 20_000


def site_configs(problem: Problem, sites: list[int]) -> list[tuple[int, ...]]:
    """Every set of ``sites`` meeting the constraints whose terms are all sites (counts,
    spacing), every other site (closed) and every other ``sites`` member closed."""
    others = {i for i, d in enumerate(problem.decisions) if d.kind != "crossing"}  # those not in sites: closed
    own = [c for c in problem.constraints if c.terms and all(o in others for o, _ in c.terms)]
    # the most sites open together: the least cap of a count constraint over every site
    hi = min((c.hi for c in own if c.hi is not None and set(sites) <= {o for o, _ in c.terms}), default=len(sites))
    out = []
    for k in range(0, min(hi, len(sites)) + 1):
        for conf in itertools.combinations(sites, k):
            s = set(conf)
            if all((c.lo is None or sum(v for o, v in c.terms if o in s) >= c.lo)
                   and (c.hi is None or sum(v for o, v in c.terms if o in s) <= c.hi) for c in own):
                out.append(conf)
            if len(out) > MAX_CONFIGS:
                raise SystemExit(f"more than {MAX_CONFIGS} site configurations")
    return out


def access_bound(relaxed: Problem, conf: tuple[int, ...]) -> int:
    """The walks to facilities with exactly the sites ``conf`` open and every crossing free."""
    open_set = set(conf)
    total = 0
    for c in relaxed.clients:
        if c.kind == "pair" or not c.levels:
            continue
        opened = {o for opts in c.level_options for o in opts if all(d in open_set for d in relaxed.options[o])}
        length = c.length(opened)
        total += c.weight * (length if length is not None else c.levels[-1])
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("problem", help="rs001-f12 ... rs006-f60 or a scenario file")
    ap.add_argument("--limit", type=float, default=10.0, help="the relax-first run's time limit (default 10)")
    ap.add_argument("--pair-iterations", type=int, default=1000)
    ap.add_argument("--leaf-iterations", type=int, default=1000)
    ap.add_argument("--leaf-limit", type=float, default=300.0, help="CP-SAT time limit of a leaf")
    ap.add_argument("--max-leaves", type=int, default=1000, help="solve at most this many leaves (least bound first)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        p = problem_of(a.problem, Path(tmp))
    opts = SolveOptions(time_limit_s=a.limit, seed=0, workers=1, count_split=False)
    relaxed0 = relax_access_crossings(p)
    assert relaxed0 is not None
    rf = RelaxFirst(p, relaxed0, backend("cpsat"), opts, Deadline(a.limit), Evaluator(p))
    t = time.process_time()
    res = rf.run()
    print(f"relax-first {a.limit} s: {res.status} {res.objective} bound {res.bound}, {time.process_time() - t:.1f} s CPU")
    assert rf.best is not None and rf.count_vectors is not None
    ub, closed = rf.best, set(rf.fixed)
    classes, _ = rf.count_vectors
    live = [vb for vb in rf.vector_bounds if not vb.pruned]
    t0 = time.process_time()

    def lap(msg: str) -> None:
        print(f"{time.process_time() - t0:7.2f} s  {msg}", flush=True)

    red = fix_decisions(p, {i: 0 for i in closed})
    rel = relax_access_crossings(p, closed=closed)
    assert rel is not None
    sites = [i for i, d in enumerate(p.decisions) if d.kind != "crossing" and i not in closed]
    confs = site_configs(p, sites)
    acc = {c: access_bound(rel, c) for c in confs}
    lap(f"{len(sites)} sites open, {len(confs)} configurations, {len(live)} vectors open, reduced {red.n_levels()} levels")
    pairs = replace(red, clients=[c for c in red.clients if c.kind == "pair"])
    ev = Evaluator(pairs)
    start = ev.client_lengths(ev.open_options(ev.layout(rf.layout)))[0]
    a_min = min(acc.values())
    pair_bound = {}
    for vb in live:
        r = lagrangian_bound(capped(pairs, classes, vb.vector), ub - a_min, max_iterations=a.pair_iterations,
                             start_lengths=start)
        pair_bound[vb.vector] = r.bound
        lap(f"pairs {vb.vector}: {r.bound:,.0f} ({r.iterations} iterations)")
    lab_class = [j for j, ids in enumerate(classes.members) if ids and p.decisions[ids[0]].kind != "crossing"]
    pairs_n = [(c, vb) for c in confs for vb in live
               if all(sum(1 for i in c if i in classes.members[j]) <= vb.vector[j] for j in lab_class)]
    surv = sorted(((pair_bound[vb.vector] + acc[c], c, vb) for c, vb in pairs_n if pair_bound[vb.vector] + acc[c] < ub),
                  key=lambda s: s[0])
    lap(f"{len(pairs_n)} (configuration, vector), {len(surv)} survive the bound: "
        + ", ".join(f"{list(c)} {vb.vector} {100 * (ub - b) / ub:.3f} %" for b, c, vb in surv))
    for _, conf, vb in surv[:a.max_leaves]:
        fx = {i: int(i in conf) for i in sites}
        fx.update({i: 0 for i in vb.fixed_zero if i not in fx and i not in closed})
        leaf = capped(fix_decisions(red, fx), classes, vb.vector)
        lev = Evaluator(leaf)
        x = lev.layout(rf.layout)
        st = lev.client_lengths(lev.open_options(x))[0] if lev.feasible(x) else None
        r = lagrangian_bound(leaf, ub, max_iterations=a.leaf_iterations, start_lengths=st)
        lap(f"leaf {list(conf)} {vb.vector}: {leaf.n_levels()} levels, Lagrangian {r.bound:,.0f} "
            f"({100 * (ub - r.bound) / ub:.3f} %), {len(r.fixed_zero)} closed")
        if r.bound >= ub:
            continue
        leaf2 = fix_decisions(leaf, {i: 0 for i in r.fixed_zero if i not in fx})
        rr = solve(leaf2, SolveOptions(time_limit_s=a.leaf_limit, seed=0, workers=1, strategy="direct", count_split=False))
        lap(f"leaf {list(conf)} CP-SAT on {leaf2.n_levels()} levels: {rr.status} {rr.objective} bound {rr.bound} "
            f"det. {rr.stats.get('deterministic_time', 0):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
