"""Isolate the proof: the root Lagrangian and the cluster-count branch and bound against a given
incumbent value (e.g. the published optimum), without the heuristics' search for it.

Usage (from the repository root)::

    python benchmarks/pmed_large/prove_from_incumbent.py rl1304 10 2134295
    python benchmarks/pmed_large/prove_from_incumbent.py fl1400 200 8806 --nodes 300

The root subgradient and its fixing tests run against ``VALUE`` (as if a solution of that value were
known; the published optima are), then :func:`optimiser.pmedian.cluster_branch.cluster_bb` with
``VALUE`` as the incumbent: ``complete`` means no solution below ``VALUE`` exists.  Prints the root
bound, the facilities left, the nodes, the final open bound and the CPU seconds of each step
(``time.process_time``) with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)


def root_against(instance: str, p: int, value: float, deadline: float) -> tuple[Any, Any]:
    """The instance prepared and its root Lagrangian (subgradient and fixing tests from the greedy
    start) against ``value``, as if a solution of that value were known; prints the load average and
    the root's bound, facilities left and CPU seconds."""
    from optimiser.pmedian import read_tsplib_pmed
    from optimiser.pmedian.heuristics import greedy
    from optimiser.pmedian.lagrangian import RootLagrangian
    from optimiser.pmedian.problem import prepare, validate

    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    cost, _ = read_tsplib_pmed(os.path.join(DATA, f"{instance}.tsp"))
    t = time.process_time()
    inst = prepare(validate(cost, p, None, (), ()))
    S = greedy(inst.C, inst.p, inst.fixed.copy(), inst.allowed)
    root = RootLagrangian(inst, S, value, deadline).run(5000)
    print(f"root: bound {root.best_L:.1f}, {root.free_idx.size} free / {root.open_idx.size} open, "
          f"proven {root.proven}, {time.process_time() - t:.1f} s CPU", flush=True)
    return inst, root


def main(argv: list[str] | None = None) -> int:
    from optimiser.pmedian.cluster_branch import CountSettings, cluster_bb

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("p", type=int)
    ap.add_argument("value", type=float, help="the incumbent value to prove optimal (a solution of it must exist)")
    ap.add_argument("--nodes", type=int, default=2000, help="node limit of the branch and bound")
    ap.add_argument("--node-iterations", type=int, default=CountSettings().max_iter)
    ap.add_argument("--time-limit", type=float, default=600.0, help="wall-clock safety net [s]")
    args = ap.parse_args(argv)

    deadline = time.perf_counter() + args.time_limit
    inst, root = root_against(args.instance, args.p, args.value, deadline)
    if root.proven:
        return 0
    t = time.process_time()
    br = cluster_bb(inst.C, root.free_idx, root.open_idx, inst.p, root.best_lam, root.S, args.value, inst.target_of,
                    inst.scale, deadline, max_nodes=args.nodes, settings=CountSettings(max_iter=args.node_iterations))
    found = f", found a solution of {br.UB:.0f}" if br.UB < args.value else ""
    print(f"branch and bound: complete {br.complete}, {br.nodes} nodes, open bound {br.lb_open:.1f}{found}, "
          f"{time.process_time() - t:.1f} s CPU; load average {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
