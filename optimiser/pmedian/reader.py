"""Readers of benchmark instances: OR-Library ``pmedN.txt`` and TSPLIB ``EUC_2D`` (floor-Euclidean)."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

logger = logging.getLogger(__name__)

__all__ = ["floor_euclidean", "read_orlib_pmed", "read_tsplib_coords", "read_tsplib_pmed"]


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


def read_tsplib_coords(path: str) -> npt.NDArray[np.float64]:
    """The ``NODE_COORD_SECTION`` of a TSPLIB ``EUC_2D`` file as an ``n x 2`` array (file order).

    Raises:
        ValueError: No coordinate section, a malformed line, or fewer points than ``DIMENSION``.
    """
    dimension = None
    coords: list[tuple[float, float]] = []
    in_section = False
    with open(path, encoding="ascii") as fh:
        for line_no, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if not in_section:
                key, _, value = text.partition(":")
                key = key.strip().upper()
                if key == "DIMENSION":
                    dimension = int(value)
                elif key == "EDGE_WEIGHT_TYPE" and value.strip().upper() != "EUC_2D":
                    raise ValueError(f"{path}: EDGE_WEIGHT_TYPE {value.strip()} is not EUC_2D")
                elif key == "NODE_COORD_SECTION":
                    in_section = True
                continue
            if text.upper() == "EOF":
                break
            parts = text.split()
            if len(parts) != 3:
                raise ValueError(f"{path}:{line_no}: expected 'index x y', got {text!r}")
            coords.append((float(parts[1]), float(parts[2])))
    if not in_section:
        raise ValueError(f"{path}: no NODE_COORD_SECTION")
    if dimension is not None and len(coords) != dimension:
        raise ValueError(f"{path}: DIMENSION is {dimension} but {len(coords)} coordinates found")
    return np.array(coords, dtype=np.float64).reshape(-1, 2)


def floor_euclidean(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """``d(i, j) = floor(Euclidean distance)`` between all points, as ``int32`` (row by row, so no
    ``n x n x 2`` temporary)."""
    n = points.shape[0]
    out = np.empty((n, n), dtype=np.int32)
    for i in range(n):
        diff = points - points[i]
        out[i] = np.floor(np.sqrt((diff * diff).sum(axis=1)))
    return out


def read_tsplib_pmed(path: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Read a TSPLIB ``EUC_2D`` instance as a p-median cost matrix.

    Every point is a client and a candidate site; the cost is the Euclidean distance rounded DOWN,
    ``floor(sqrt(dx^2 + dy^2))`` (the convention of Garcia, Labbe and Marin 2011 and of
    Duran-Mateluna, Ales and Elloumi 2023 for the p-median, not TSPLIB's nearest-integer rounding).

    Args:
        path: A ``.tsp`` file with ``EDGE_WEIGHT_TYPE : EUC_2D`` and a ``NODE_COORD_SECTION``.

    Returns:
        ``(cost_matrix, coords)``: the ``n x n`` ``int32`` floor-Euclidean distances and the ``n x 2``
        coordinates.

    Raises:
        ValueError: See :func:`read_tsplib_coords`.
    """
    coords = read_tsplib_coords(path)
    cost = floor_euclidean(coords)
    logger.debug("read %s: n=%d points", path, coords.shape[0])
    return cost, coords
