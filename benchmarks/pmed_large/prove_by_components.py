"""Isolate the exact phase by components: the root Lagrangian against a given incumbent value, then
the count split over the regions of the allowed pairs (``optimiser/pmedian/components.py``), as
``solve_pmedian`` runs it, without the heuristics' search for the incumbent.

Usage (from the repository root)::

    python benchmarks/pmed_large/prove_by_components.py fl1400 200 8806    # prove the optimum
    python benchmarks/pmed_large/prove_by_components.py fl1400 200 8821    # find it from 8,821

``VALUE`` plays the incumbent (target ``VALUE - 1``): ``infeasible`` proves that no solution below
``VALUE`` exists, ``found_optimal`` returns the optimum (below ``VALUE``) with its proof.  Prints the
pairs, the regions, the sub-problems solved, the outcome and the CPU seconds (``time.process_time``)
with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)
from prove_from_incumbent import root_against


def main(argv: list[str] | None = None) -> int:
    from optimiser.pmedian.components import pair_components, solve_by_components
    from optimiser.pmedian.lagrangian import eliminate_pairs
    from optimiser.pmedian.solver import COMPONENT_SUBSOLVES, MAX_MIP_NODES, WorkLimits, _component_solver

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("p", type=int)
    ap.add_argument("value", type=float, help="the incumbent value (target = value - 1)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="wall-clock safety net [s]")
    args = ap.parse_args(argv)

    deadline = time.perf_counter() + args.time_limit
    inst, root = root_against(args.instance, args.p, args.value, deadline)
    t = time.process_time()
    target = inst.target_of(args.value)
    pairs, _ = eliminate_pairs(inst, root.free_idx, root.open_idx, root.best_lam, target)
    comps, isolated = pair_components(pairs, root.free_idx, root.open_idx, inst.m)
    print(f"{sum(c.size for c in pairs)} pairs against {target:.0f}: {len(comps)} regions, clients "
          f"{[c.clients.size for c in comps[:8]]}...", flush=True)
    out = solve_by_components(inst.C, comps, isolated, inst.p - root.open_idx.size, root.best_lam, target, inst.tol,
                              _component_solver(deadline, WorkLimits(2000, MAX_MIP_NODES)), COMPONENT_SUBSOLVES,
                              lambda: time.perf_counter() >= deadline)
    value = f", solution {inst.evaluate(out.S):.0f}" if out.S is not None else ""
    print(f"split: {out.status}, bound {out.bound:.1f}{value}, {out.stats}, {time.process_time() - t:.1f} s CPU; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
