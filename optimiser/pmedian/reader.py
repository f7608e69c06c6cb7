"""Readers of benchmark instances: OR-Library ``pmedN.txt``."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

logger = logging.getLogger(__name__)

__all__ = ["read_orlib_pmed"]


def read_orlib_pmed(path: str) -> tuple[npt.NDArray[np.int64], int]:
    """Read an OR-Library ``pmedN.txt`` instance.

    Format: first line ``n_vertices n_edges p``, then ``n_edges`` lines ``i j cost`` (1-based
    vertices) of an undirected graph.  When a vertex pair is repeated, the LAST line wins (OR-Library
    ``pmedinfo``: set ``c(i,j) = c(j,i) = k`` for each line in turn).  The allocation cost is the
    all-pairs shortest-path distance (``scipy.sparse.csgraph``).

    Args:
        path: File path.

    Returns:
        ``(cost_matrix, p)``: an ``n x n`` ``int64`` array of shortest-path distances (every vertex is
        a client and a candidate site) and the number of medians.

    Raises:
        ValueError: Truncated file, vertex out of range, negative cost or disconnected graph.
    """
    with open(path, encoding="ascii") as fh:
        tokens = fh.read().split()
    if len(tokens) < 3:
        raise ValueError(f"{path}: header 'n m p' missing")
    n, m_edges, p = int(tokens[0]), int(tokens[1]), int(tokens[2])
    body = tokens[3:]
    if len(body) < 3 * m_edges:
        raise ValueError(f"{path}: header announces {m_edges} edges but only {len(body) // 3} complete edge lines found")
    arr = np.asarray(body[: 3 * m_edges], dtype=np.int64).reshape(m_edges, 3)
    edges: dict[tuple[int, int], int] = {}
    for i, j, c in arr.tolist():
        if not (1 <= i <= n and 1 <= j <= n):
            raise ValueError(f"{path}: edge ({i}, {j}) outside vertices 1..{n}")
        if c < 0:
            raise ValueError(f"{path}: negative edge cost {c} on ({i}, {j})")
        if i == j:
            continue
        key = (i - 1, j - 1) if i < j else (j - 1, i - 1)
        edges[key] = c  # last line wins
    if edges:
        ij = np.array(list(edges.keys()), dtype=np.int64)
        w = np.array(list(edges.values()), dtype=np.float64)
    else:
        ij = np.zeros((0, 2), dtype=np.int64)
        w = np.zeros(0)
    # zero-cost edges would vanish in a sparse matrix: store them as a tiny positive value and round
    # afterwards (costs are integers).
    w_store = np.where(w == 0, 1e-9, w)
    g = csr_matrix((w_store, (ij[:, 0], ij[:, 1])), shape=(n, n))
    dist = shortest_path(g, method="D", directed=False)
    if not np.all(np.isfinite(dist)):
        raise ValueError(f"{path}: graph is not connected")
    logger.debug("read %s: n=%d, %d edges, p=%d", path, n, len(edges), p)
    return np.rint(dist).astype(np.int64), p
