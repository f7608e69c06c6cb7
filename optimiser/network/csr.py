"""Sparse-graph primitives of the walking network (no knowledge of sites or keys).

Edge kinds, building a symmetric CSR length matrix from an edge list, many-source Dijkstra
rows in memory-bounded blocks (optionally over worker processes) and the (min, +)
combination used to switch candidate crossings on without rebuilding the graph. Every
length is metres.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

__all__ = ["EDGE_KINDS", "KIND_CODE", "build_csr", "csr_min", "rows_block", "parallel_rows", "min_plus_combine", "close_ends"]

logger = logging.getLogger(__name__)

EDGE_KINDS = ("path", "connector", "crossing")
"""Kinds of base-graph edges: walkable path segments, connectors (entrance / point / crossing
end to the nearest walkable point), existing crossings. Candidate crossings are kind
``"candidate"`` in outputs and are never in the base graph."""

KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(EDGE_KINDS)}
"""Edge kind -> its code in ``WalkNetwork.edge_kind``."""

DEST_BLOCK_FLOATS = 2_000_000
"""Dijkstra rows are computed in blocks of at most this many floats (memory bound)."""


def build_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric CSR length matrix from (possibly duplicated) undirected edges.

    The minimum length is kept where an edge appears twice; zero lengths are kept as edges
    (the matrix is symmetric, so Dijkstra runs with ``directed=True``, which scans it once).

    Args:
        u, v: edge end node ids.
        w: edge lengths (m).
        n: number of nodes.

    Returns:
        An (n, n) ``csr_matrix`` of lengths (m); self-loops are dropped.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=float)
    uu = np.r_[u, v]
    vv = np.r_[v, u]
    ww = np.r_[w, w]
    keep = uu != vv
    uu, vv, ww = uu[keep], vv[keep], ww[keep]
    order = np.lexsort((ww, vv, uu))
    uu, vv, ww = uu[order], vv[order], ww[order]
    first = np.ones(uu.shape, dtype=bool)
    first[1:] = (uu[1:] != uu[:-1]) | (vv[1:] != vv[:-1])
    uu, vv, ww = uu[first], vv[first], ww[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, uu + 1, 1)
    indptr = np.cumsum(indptr)
    return sp.csr_matrix((ww, vv, indptr), shape=(n, n))


def csr_min(a: sp.csr_matrix, b: sp.csr_matrix) -> sp.csr_matrix:
    """Element-wise min of two sparse length matrices where both have an entry, union else."""
    coo = sp.vstack([a.tocoo().reshape(1, -1), b.tocoo().reshape(1, -1)]).tocoo()
    n = a.shape[0]
    return build_csr(coo.col // n, coo.col % n, coo.data, n)


def rows_block(csr: sp.csr_matrix, nodes: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Shortest lengths (m), ``(len(nodes), len(cols))``, from each of ``nodes`` to the node
    ids ``cols``, computed in blocks of at most :data:`DEST_BLOCK_FLOATS` floats."""
    n = csr.shape[0]
    out = np.empty((len(nodes), len(cols)))
    block = max(1, DEST_BLOCK_FLOATS // max(n, 1))
    for j in range(0, len(nodes), block):
        d = dijkstra(csr, directed=True, indices=nodes[j : j + block])
        out[j : j + block] = d[:, cols]
    return out


_WORKER_CSR: sp.csr_matrix | None = None


def _worker_init(csr: sp.csr_matrix) -> None:
    global _WORKER_CSR
    _WORKER_CSR = csr


def _worker_rows(args: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    nodes, cols = args
    if _WORKER_CSR is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker process has no graph")
    return rows_block(_WORKER_CSR, nodes, cols)


def parallel_rows(csr: sp.csr_matrix, nodes: np.ndarray, cols: np.ndarray, workers: int) -> np.ndarray:
    """:func:`rows_block` split over ``workers`` processes (fork where the platform has it,
    so the graph is not copied); the result is identical to :func:`rows_block`."""
    t0 = time.perf_counter()
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    parts = np.array_split(nodes, workers * 4)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(csr,)) as ex:
        res = list(ex.map(_worker_rows, [(p, cols) for p in parts if len(p)]))
    logger.debug("%d shortest-length rows x %d columns over %d processes in %.3f s",
                 len(nodes), len(cols), workers, time.perf_counter() - t0)
    return np.vstack(res)


def close_ends(end_end: np.ndarray, crossing_m: np.ndarray) -> np.ndarray:
    """All-pairs shortest lengths among crossing ends with the crossings switched on.

    Args:
        end_end: (2m, 2m) base lengths (m) among the ends; rows ``2j`` and ``2j + 1`` are the
            two ends of crossing ``j``.
        crossing_m: (m,) walking length (m) of each crossing.

    Returns:
        A new (2m, 2m) matrix (Floyd-Warshall on a small dense matrix).
    """
    m = end_end.copy()
    for j, length in enumerate(np.asarray(crossing_m, dtype=float).tolist()):
        a, b = 2 * j, 2 * j + 1
        m[a, b] = min(m[a, b], length)
        m[b, a] = min(m[b, a], length)
    for k in range(m.shape[0]):
        np.minimum(m, m[:, k : k + 1] + m[k : k + 1, :], out=m)
    return m


def min_plus_combine(base: np.ndarray, ce_s: np.ndarray, close: np.ndarray, ce_t: np.ndarray) -> np.ndarray:
    """``min(base, ce_s (x) close (x) ce_t^T)`` in the (min, +) semiring.

    Args:
        base: (S, T) base lengths (m).
        ce_s: (S, 2m) source -> crossing end lengths (m).
        close: (2m, 2m) lengths among the ends with the crossings on (:func:`close_ends`).
        ce_t: (T, 2m) target -> crossing end lengths (m).

    Returns:
        (S, T) lengths (m) with the crossings on.
    """
    if close.shape[0] == 0:
        return base
    left = np.full(ce_s.shape, np.inf)
    for k in range(close.shape[0]):
        np.minimum(left, ce_s[:, k : k + 1] + close[k : k + 1, :], out=left)
    out = base.copy()
    for k in range(close.shape[0]):
        np.minimum(out, left[:, k : k + 1] + ce_t[None, :, k], out=out)
    return out
