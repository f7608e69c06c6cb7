"""Experiment (wave 7, H18i): region transfers from the pipeline's own incumbent (not in the solver).

Usage (from the repository root)::

    python benchmarks/pmed_large/transfers_experiment.py fl1400 200 --start popmusic --clusters 20
    python benchmarks/pmed_large/transfers_experiment.py fl1400 200 --start ils --passes 3

Runs the solver's phases as ``solve_pmedian`` does (greedy + interchange, root Lagrangian, iterated
local search, and POPMUSIC with ``--start popmusic``; the work limits decide), then passes of *region
transfers*, printing each improvement and each pass with its CPU seconds (``time.process_time()``).

Regions: the sites are clustered once (Ward's linkage on the cost matrix, which must be square: every
client a site; ``--clusters`` clusters) and a region is the incumbent's open facilities in one cluster
with the clients they serve.  Per region, the sub-problem "serve the region's clients by ``k`` of its
own candidate columns (its facilities and each client's nearest allowed column) or by the nearest
facility open outside it" (a cap column fixed open) is solved by ``solve_pmedian`` (node limits
``--branch-nodes`` / ``--mip-nodes``) for ``k`` = count - 1, count, count + 1.  Moves in the order of
their predicted change: a region's own re-optimisation, or a transfer (region A's count - 1 solution
with region B's count + 1 solution), each checked on the whole instance; a region changed in a pass
takes no further move in it.  See the README's wave 7 section for what it gave.
"""

from __future__ import annotations

import argparse
import os
import time

from paths import DATA, HERE, ROOT  # noqa: E402,F401  (this folder is on sys.path: see paths.py)


def _region_moves(C, S, assign, parts, allowed, solve):  # type: ignore[no-untyped-def]
    """Per count ``k - 1, k, k + 1``: (the region's new facilities, cost change against the incumbent)."""
    import numpy as np

    k = parts.size
    region = S[parts]
    clients = np.flatnonzero(np.isin(assign, parts))
    outside = np.delete(S, parts)
    moves = {}
    if clients.size == 0 or outside.size == 0:
        return moves
    cap = C[np.ix_(clients, outside)].min(axis=1)
    cols = np.flatnonzero(allowed)
    cols = cols[~np.isin(cols, outside)]
    cand = np.union1d(region, cols[np.argmin(C[np.ix_(clients, cols)], axis=1)])
    sub = np.column_stack([cap, C[np.ix_(clients, cand)]])
    cur = float(np.minimum(cap, C[np.ix_(clients, region)].min(axis=1)).sum())
    for kk in (k - 1, k, k + 1):
        if kk == 0:
            moves[kk] = (region[:0], float(cap.sum()) - cur)
        elif kk <= cand.size:
            chosen = np.array(solve(sub, kk + 1, [0]).open_facilities, dtype=np.int64)
            chosen = chosen[chosen > 0]
            moves[kk] = (cand[chosen - 1], float(np.minimum(cap, sub[:, chosen].min(axis=1)).sum()) - cur)
    return moves


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from optimiser.pmedian import read_tsplib_pmed, solve_pmedian
    from optimiser.pmedian import solver as sv
    from optimiser.pmedian.lagrangian import RootLagrangian
    from optimiser.pmedian.problem import prepare, validate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("p", type=int)
    ap.add_argument("--start", choices=("ils", "popmusic"), default="popmusic")
    ap.add_argument("--clusters", type=int, default=20)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--branch-nodes", type=int, default=20)
    ap.add_argument("--mip-nodes", type=int, default=100)
    args = ap.parse_args(argv)
    print(f"# load average {os.getloadavg()}")
    cost, _ = read_tsplib_pmed(os.path.join(DATA, f"{args.instance}.tsp"))
    inst = prepare(validate(cost, args.p, None, [], []))
    C = inst.C
    far_future = time.perf_counter() + 1e5
    t0 = time.process_time()

    def lap(name: str, value: float) -> None:
        print(f"{time.process_time() - t0:7.1f} s CPU  {name}: {value:.0f}", flush=True)

    S, UB = sv._heuristic(inst, far_future)
    root = RootLagrangian(inst, S, UB, far_future).run(5000)
    lap("root Lagrangian", root.UB)
    run = sv._Run(inst, time.perf_counter(), far_future, root.S, root.UB, root.best_L)
    sv._perturb(run, root, 0)
    lap("iterated local search", run.UB)
    allowed, fixed = sv._open_to_choice(run, root)
    if args.start == "popmusic":
        out = sv.popmusic(C, run.S, fixed, allowed, sv.WINDOW_PARTS, sv._solve_window, 2 * (inst.p - root.open_idx.size),
                          far_future, 0, inst.tol)
        sv._accept(run, root, out.S, out.cost, "popmusic_improved")
        lap("POPMUSIC", run.UB)
        allowed, _ = sv._open_to_choice(run, root)
    labels = fcluster(linkage(squareform(np.asarray(C), checks=False), "ward"), args.clusters, "maxclust")

    def solve(sub, r, fixed_pos):  # type: ignore[no-untyped-def]
        return solve_pmedian(sub, r, time_limit_s=1e4, fixed_open=fixed_pos, max_branch_nodes=args.branch_nodes,
                             max_mip_nodes=args.mip_nodes)

    S, best = np.sort(run.S), run.UB
    for npass in range(args.passes):
        assign = np.argmin(C[:, S], axis=1)
        lab = labels[S]
        regions = [np.flatnonzero(lab == g) for g in np.unique(lab)]
        facs = [S[parts] for parts in regions]
        moves = [_region_moves(C, S, assign, parts, allowed, solve) for parts in regions]
        cands = []
        for a, ma in enumerate(moves):
            ka = regions[a].size
            if ka in ma and ma[ka][1] < -0.5:
                cands.append((ma[ka][1], a, a))
            for b, mb in enumerate(moves):
                kb = regions[b].size
                if a != b and ka - 1 in ma and kb + 1 in mb and ma[ka - 1][1] + mb[kb + 1][1] < -0.5:
                    cands.append((ma[ka - 1][1] + mb[kb + 1][1], a, b))
        changed: set[int] = set()
        for change, a, b in sorted(cands):
            if a in changed or b in changed:
                continue
            plan = [(facs[a], moves[a][regions[a].size][0])] if a == b else [
                (facs[a], moves[a][regions[a].size - 1][0]), (facs[b], moves[b][regions[b].size + 1][0])]
            keep = S[~np.isin(S, np.concatenate([old for old, _ in plan]))]
            S_new = np.sort(np.concatenate([keep] + [new for _, new in plan]))
            if np.unique(S_new).size != S.size:
                continue
            value = inst.evaluate(S_new)
            if value < best - 0.5:
                S, best = S_new, value
                changed |= {a, b}
                lap(f"pass {npass + 1}: region {a} -> {b} (predicted {change:+.0f})", best)
        lap(f"pass {npass + 1} done ({len(regions)} regions)", best)
    print(f"# load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
