"""Experiment: the gap windows (``popmusic.gap_windows``) from the pipeline's own POPMUSIC incumbent.

Usage (from the repository root)::

    python benchmarks/pmed_large/gap_windows_experiment.py fl1400 200 --windows 6

Runs the solver's phases up to POPMUSIC as ``solve_pmedian`` does (greedy + interchange, root
Lagrangian, iterated local search, POPMUSIC; no time limit binds: the work limits decide), then up to
``--windows`` gap windows, and prints each phase's value and CPU seconds (``time.process_time()``) and
each window's value and CPU seconds, with the load average.
"""

from __future__ import annotations

import argparse
import os
import time

from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from optimiser.pmedian import read_tsplib_pmed
    from optimiser.pmedian import solver as sv
    from optimiser.pmedian.lagrangian import RootLagrangian
    from optimiser.pmedian.popmusic import gap_windows
    from optimiser.pmedian.problem import prepare, validate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("p", type=int)
    ap.add_argument("--windows", type=int, default=sv.GAP_WINDOWS)
    ap.add_argument("--parts", type=int, default=sv.GAP_WINDOW_PARTS)
    args = ap.parse_args(argv)
    print(f"# load average {os.getloadavg()}")
    cost, _ = read_tsplib_pmed(os.path.join(DATA, f"{args.instance}.tsp"))
    inst = prepare(validate(cost, args.p, None, [], []))
    far_future = time.perf_counter() + 1e9
    t = time.process_time()

    def lap(name: str, value: float) -> None:
        nonlocal t
        print(f"{name}: {value:.0f} ({time.process_time() - t:.1f} s CPU)", flush=True)
        t = time.process_time()

    S, UB = sv._heuristic(inst, far_future)
    lap("greedy + interchange", UB)
    root = RootLagrangian(inst, S, UB, far_future).run(5000)
    lap(f"root Lagrangian (bound {root.best_L:.1f})", root.UB)
    run = sv._Run(inst, time.perf_counter(), far_future, root.S, root.UB, root.best_L)
    sv._perturb(run, root, 0)
    lap("iterated local search", run.UB)
    allowed, fixed = sv._open_to_choice(run, root)
    out = sv.popmusic(inst.C, run.S, fixed, allowed, sv.WINDOW_PARTS, sv._solve_window, 2 * (inst.p - root.open_idx.size),
                      far_future, 0, inst.tol)
    sv._accept(run, root, out.S, out.cost, "popmusic_improved")
    lap("POPMUSIC", run.UB)
    allowed, fixed = sv._open_to_choice(run, root)
    inner = sv._fixed_solver(inst, allowed, fixed)

    def window(keep: np.ndarray, time_limit_s: float) -> np.ndarray | None:
        S_new = inner(keep, time_limit_s)
        if S_new is not None:
            lap("  window", inst.evaluate(S_new))
        return S_new

    gw = gap_windows(inst.C, run.S, fixed, root.best_lam, args.parts, window, args.windows, far_future, inst.tol)
    print(f"gap windows: {gw.cost:.0f} after {gw.subproblems} windows, {gw.improvements} improved")
    print(f"# load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
