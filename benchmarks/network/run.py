"""Benchmark: all firm-to-firm walking lengths, ours (scipy CSR Dijkstra) vs networkx.

Usage (from the repository root):

    python benchmarks/network/run.py [--grid 231] [--firms 1000] [--nx-sources 60] [--workers 2]

A synthetic walking grid (``--grid`` lines each way, 20 m apart, so 231 gives 106,260 path
segments) cut by a 12 m carriageway with three existing crossings, ``--firms`` firms at
random points (seed 0). It times:

- building the network with :func:`optimiser.network.builder.build_walk_network`;
- ours: :meth:`WalkNetwork.key_lengths` over every firm (1 process, and ``--workers``);
- networkx: ``single_source_dijkstra_path_length`` from ``--nx-sources`` firms (the same
  graph: the network's own edge list), extrapolated linearly to all firms, and checked equal
  to ours on those rows;
- building the network of a realistic small site: the AMP-SBP default
  (``sites/amp_sbp/site.yaml``) when it and ``optimiser.inputs.read_site`` exist, else the test
  zoo's square site (the results file says which).

Writes ``benchmarks/network/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from shapely.geometry import LineString, Point

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from optimiser.errors import InputError  # noqa: E402
from optimiser.inputs.domain import Barrier, BarrierKind, Crossing, Firm, Site, WalkPath  # noqa: E402
from optimiser.network.builder import build_walk_network  # noqa: E402


def synthetic_site(grid: int, n_firms: int, step: float = 20.0, seed: int = 0) -> Site:
    size = step * (grid - 1)
    paths = [WalkPath(f"h{i}", "", "footpath", LineString([(0, i * step), (size, i * step)]))
             for i in range(grid)]
    paths += [WalkPath(f"v{i}", "", "footpath", LineString([(i * step, 0), (i * step, size)]))
              for i in range(grid)]
    y = size / 2 + step / 2  # between two grid lines
    bar = Barrier("parkway", "Parkway", BarrierKind.CARRIAGEWAY,
                  LineString([(-10, y), (size + 10, y)]), 12.0)
    crossings = tuple(
        Crossing(f"j{i}", f"Junction {i}", "parkway", "junction",
                 LineString([(x, y - step / 2), (x, y + step / 2)]), penalty_m=15.0, existing=True)
        for i, x in enumerate(np.round(np.array([0.2, 0.5, 0.8]) * (grid - 1)) * step)
    )
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, size, (2 * n_firms, 2))
    pts = pts[np.abs(pts[:, 1] - y) > 8.0][:n_firms]  # none inside the band
    firms = tuple(Firm(f"f{i:04d}", f"Firm {i}", 10, "m", Point(p), (Point(p),))
                  for i, p in enumerate(pts))
    return Site("bench", "Synthetic grid", "EPSG:27700", "EPSG:27700", (), firms, (bar,),
                tuple(paths), crossings)


def small_site():
    amp = ROOT / "sites" / "amp_sbp" / "site.yaml"
    if amp.exists():
        try:
            from optimiser.inputs import read_site

            return read_site(amp), "sites/amp_sbp/site.yaml"
        except (InputError, OSError) as exc:  # fall back to the zoo, and say so
            note = f"zoo square (AMP-SBP site unreadable: {type(exc).__name__}: {exc})"
    else:
        note = "zoo square (sites/amp_sbp/site.yaml not available yet)"
    sys.path.insert(0, str(ROOT / "tests"))
    from sitezoo import square_site

    return square_site(), note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=231)
    ap.add_argument("--firms", type=int, default=1000)
    ap.add_argument("--nx-sources", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    args = ap.parse_args()

    import networkx as nx

    site = synthetic_site(args.grid, args.firms)
    t = time.perf_counter()
    net = build_walk_network(site, site.barriers)
    build_s = time.perf_counter() - t
    keys = list(net.firm_keys)
    print(f"grid: {net.n_nodes} nodes, {net.n_edges} edges, {len(keys)} firms, "
          f"built in {build_s:.2f} s", flush=True)

    ours_runs = []
    for _ in range(2):  # best of 2: the machine is shared
        net.cache.clear()
        t = time.perf_counter()
        ours = net.key_lengths(keys, workers=1)
        ours_runs.append(time.perf_counter() - t)
    ours_s = min(ours_runs)
    print(f"ours, 1 process: {ours_runs[0]:.2f} s, {ours_runs[1]:.2f} s", flush=True)

    ours_w_s = None
    if args.workers > 1:
        net.cache.clear()
        t = time.perf_counter()
        ours_w = net.key_lengths(keys, workers=args.workers)
        ours_w_s = time.perf_counter() - t
        assert np.array_equal(ours, ours_w)
        print(f"ours, {args.workers} processes: {ours_w_s:.2f} s", flush=True)

    g = nx.Graph()
    for u, v, w in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length_m.tolist()):
        if not g.has_edge(u, v) or g[u][v]["weight"] > w:
            g.add_edge(u, v, weight=w)
    rng = np.random.default_rng(1)
    sample = sorted(rng.choice(len(keys), size=min(args.nx_sources, len(keys)), replace=False))
    col_nodes = [net.access[k][0] for k in keys]
    t = time.perf_counter()
    max_err = 0.0
    rows = []
    for i in sample:
        d = nx.single_source_dijkstra_path_length(g, net.access[keys[i]][0], weight="weight")
        rows.append([d.get(c, np.inf) for c in col_nodes])
    nx_s_sample = time.perf_counter() - t
    nx_rows = np.asarray(rows)
    fin = np.isfinite(nx_rows)
    assert np.array_equal(fin, np.isfinite(ours[sample]))
    max_err = float(np.max(np.abs(nx_rows[fin] - ours[sample][fin])))
    nx_s = nx_s_sample * len(keys) / len(sample)
    print(f"networkx: {nx_s_sample:.2f} s for {len(sample)} sources -> {nx_s:.1f} s "
          f"extrapolated to {len(keys)}; max |diff| {max_err:.2e} m", flush=True)

    small, small_name = small_site()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        sn = build_walk_network(small, small.active_barriers())
        times.append(time.perf_counter() - t)
    small_keys = list(sn.firm_keys)
    t = time.perf_counter()
    sn.key_lengths(small_keys)
    small_len_s = time.perf_counter() - t
    print(f"small site ({small_name}): build {min(times) * 1000:.1f} ms (best of 5), "
          f"{sn.n_nodes} nodes, {len(small_keys)} firms, all pairs {small_len_s * 1000:.1f} ms")

    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        "grid": {"nodes": net.n_nodes, "edges": net.n_edges, "firms": len(keys),
                 "pairs": len(keys) * (len(keys) - 1) // 2, "build_seconds": round(build_s, 3)},
        "ours_seconds_1_process": round(ours_s, 3),
        "ours_seconds_1_process_runs": [round(x, 3) for x in ours_runs],
        "ours_seconds_workers": round(ours_w_s, 3) if ours_w_s is not None else None,
        "workers": args.workers,
        "networkx_sources_timed": len(sample),
        "networkx_seconds_sample": round(nx_s_sample, 3),
        "networkx_seconds_extrapolated": round(nx_s, 2),
        "networkx_method": "single_source_dijkstra_path_length per source on the same edge "
                           "list, timed for a random sample of firms and scaled linearly",
        "speedup_1_process": round(nx_s / ours_s, 1),
        "speedup_workers": round(nx_s / ours_w_s, 1) if ours_w_s else None,
        "target_speedup": 20,
        "max_abs_diff_m": max_err,
        "small_site": {"site": small_name, "nodes": sn.n_nodes, "edges": sn.n_edges,
                       "firms": len(small_keys), "build_seconds_best_of_5": round(min(times), 4),
                       "all_pairs_seconds": round(small_len_s, 4)},
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
