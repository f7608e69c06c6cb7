"""Readers of benchmark instances: OR-Library ``pmedN.txt`` and TSPLIB ``EUC_2D`` (floor-Euclidean)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from optimiser.errors import FileReadError, Problem, ValidationError
from optimiser.inputs.formats import checked_path, not_a_file
from optimiser.inputs.safefile import UnsafeFile, read_regular_bytes
from optimiser.model.size import available_memory_bytes

logger = logging.getLogger(__name__)

__all__ = ["floor_euclidean", "read_orlib_pmed", "read_tsplib_coords", "read_tsplib_pmed"]


INT32_MAX = int(np.iinfo(np.int32).max)
MAX_PATH_COST = 2**53
"""Shortest paths of an OR-Library graph (at most ``n - 1`` edges) must stay within this, so
that every distance is an exact integer in int64 and float64."""


def _bad(path: str, reason: str, line: int | None = None, hint: str | None = None) -> ValidationError:
    """The reader's error: a :class:`~optimiser.errors.ValidationError` (a ``ValueError``) naming
    the file and, when known, the line."""
    return ValidationError([Problem(path, f"line {line}" if line is not None else "", reason, hint)])


MAX_INSTANCE_BYTES = 2**30
"""Largest instance file read (1 GiB: an OR-Library graph of tens of millions of edges); larger
ones are refused unread."""


def _text(path: str) -> str:
    """The file's text: UTF-8 with or without a byte-order mark; bytes that are not UTF-8 (a
    Latin-1 ``COMMENT``) become U+FFFD, so only the numbers matter. Only a regular file is read
    (a folder, ``/dev/zero`` or a FIFO would fail, read for ever or hang): else a
    :class:`~optimiser.errors.FileReadError` naming the file, why and what to do."""
    problem = not_a_file(Path(path), path)
    if problem is None:
        try:
            return read_regular_bytes(path, MAX_INSTANCE_BYTES).decode("utf-8-sig", errors="replace")
        except UnsafeFile as exc:
            problem = Problem(path, "", exc.reason, "name the instance file itself")
        except OSError as exc:
            problem = Problem(path, "", f"cannot be read: {exc.strerror or exc}", "check the file's permissions")
    if problem.hint and "site or scenario" in problem.hint:  # not_a_file speaks of the files siteopt reads
        problem = Problem(path, "", problem.reason, "name the instance file itself")
    raise FileReadError([problem])


def _whole(token: str, what: str, path: str, line: int | None = None) -> int:
    """A whole number written as ``12`` or ``12.0`` / ``1.2e1``; else a ValidationError naming ``what``."""
    try:
        value = float(token)
    except ValueError:
        raise _bad(path, f"{what} must be a whole number, got {token!r}", line) from None
    if not math.isfinite(value) or value != int(value):
        raise _bad(path, f"{what} must be a whole number, got {token!r}", line)
    return int(value)


def _matrix_fits(n: int, path: str, line: int | None, bytes_per_cell: int = 16) -> None:
    """An ``n x n`` distance matrix (OR-Library: float64 while computed, int64 returned) must fit
    the memory."""
    need = float(bytes_per_cell) * n * n
    avail = available_memory_bytes()
    if avail is not None and need > avail:
        raise _bad(path, f"{n:,} vertices need an {n:,} x {n:,} distance matrix of {need / 2**30:,.1f} GiB, more than the "
                   f"{avail / 2**30:,.1f} GiB available", line)


def _orlib_header(tokens: list[str], line: int, path: str) -> tuple[int, int, int]:
    """``(n, m, p)`` of an OR-Library header line, each checked: three whole numbers, ``n >= 1``,
    ``m >= 0``, ``1 <= p <= n``."""
    values = [_whole(t, f"header value {k}", path, line) for t, k in zip(tokens[:3], ("n", "m", "p"), strict=False)]
    if len(tokens) != 3:
        raise _bad(path, f"the header line must be the three values 'n m p', got {' '.join(tokens)!r}", line,
                   "write the number of vertices, of edges and of medians on the first line, the edges one per line after it")
    n, m_edges, p = values
    if n < 1 or m_edges < 0:
        raise _bad(path, f"header 'n m p' = {n} {m_edges} {p}: needs n >= 1 vertices and m >= 0 edges", line)
    if not 1 <= p <= n:
        raise _bad(path, f"p = {p} medians, but the graph has {n} vertices (1 <= p <= n)", line)
    _matrix_fits(n, path, line)
    return n, m_edges, p


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """The non-blank lines of ``text`` as ``(line number from 1, whitespace-separated values)``."""
    rows = ((line_no, line.split()) for line_no, line in enumerate(text.splitlines(), start=1))
    return [(line_no, parts) for line_no, parts in rows if parts]


def _orlib_edge_rows(rows: list[tuple[int, list[str]]], m_edges: int, path: str) -> list[tuple[int, list[str]]]:
    """The ``m_edges`` edge lines after the header, each of three values. A line of other than
    three values, fewer edge lines than announced, or more lines of numbers after them are errors
    (read value by value, they would shift every later edge or drop some: a different graph); a
    non-numeric tail (``EOF``) is ignored with a warning."""
    header_line = rows[0][0]
    edge_rows = rows[1: 1 + m_edges]
    for line_no, parts in edge_rows:
        if len(parts) != 3:
            bad = next((t for t in parts if not _is_number(t)), None)
            if bad is not None:
                raise _bad(path, f"{bad!r} is not a number", line_no)
            raise _bad(path, f"an edge line must be the three values 'i j cost', got {len(parts)}: {' '.join(parts)!r}", line_no,
                       "write one edge per line: its two vertices and its cost")
    if len(edge_rows) < m_edges:
        last = f" (the last on line {edge_rows[-1][0]})" if edge_rows else ""
        raise _bad(path, f"the header (line {header_line}) announces {m_edges} edges but the file ends after "
                   f"{len(edge_rows)} edge lines{last}", None,
                   f"the file is cut short, or the header's edge count is wrong (set it to {len(edge_rows)})")
    tail = rows[1 + m_edges:]
    more = [(line_no, parts) for line_no, parts in tail if all(_is_number(t) for t in parts)]
    if more:
        lines = "lines" if len(more) > 1 else "line"
        raise _bad(path, f"the header (line {header_line}) announces {m_edges} edges but {len(more)} more {lines} of numbers "
                   f"follow them: {' '.join(more[0][1])!r}", more[0][0],
                   f"set the header's edge count to {m_edges + len(more)} if they are edges, else delete them")
    if tail:
        logger.warning("%s: line %d on, %d lines after the %d edges the header announces are ignored", path, tail[0][0],
                       len(tail), m_edges)
    return edge_rows


def read_orlib_pmed(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.int64], int]:
    """Read an OR-Library ``pmedN.txt`` instance.

    Format: first line ``n_vertices n_edges p``, then ``n_edges`` lines ``i j cost`` (1-based
    vertices) of an undirected graph.  When a vertex pair is repeated, the LAST line wins (OR-Library
    ``pmedinfo``: set ``c(i,j) = c(j,i) = k`` for each line in turn).  The allocation cost is the
    all-pairs shortest-path distance (``scipy.sparse.csgraph``). Blank lines, tabs, trailing
    blanks, Windows line ends and a byte-order mark are fine; numbers may be written ``5.0``.
    The file is read line by line: the header line holds exactly ``n m p`` and each edge line
    exactly ``i j cost`` (read value by value, a line missing a cost or carrying a fourth value
    would shift every later edge). Lines of numbers after the ``n_edges`` edges are an error (the
    header's count is wrong, and the edges it leaves out would change the graph); a non-numeric
    tail such as ``EOF`` is ignored (logged as a warning).

    Args:
        path: File path.

    Returns:
        ``(cost_matrix, p)``: an ``n x n`` ``int64`` array of shortest-path distances (every vertex is
        a client and a candidate site) and the number of medians.

    Raises:
        ValidationError: (a ``ValueError``) naming the file and line: a header that is not three
            whole numbers (or ``p`` outside ``1..n``), more vertices than the memory holds the
            distance matrix of, an edge line of other than three values, fewer or more edge lines
            than the header announces, a value that is not a whole number, a vertex out
            of range, a negative cost, a cost whose paths could exceed 2**53, or a disconnected graph.
        FileReadError: (an ``InputError`` and an ``OSError``) the file is missing, a folder, a
            device or FIFO, unreadable or larger than 1 GiB (nothing read from it).
    """
    checked_path(path, "read_orlib_pmed")
    path = os.fspath(path)
    rows = _rows(_text(path))
    if not rows:
        raise _bad(path, "header 'n m p' missing", hint="the first line gives the number of vertices, of edges and of medians")
    n, m_edges, p = _orlib_header(rows[0][1], rows[0][0], path)
    edge_rows = _orlib_edge_rows(rows, m_edges, path)  # exactly m_edges rows of three values
    try:
        values = np.asarray([parts for _, parts in edge_rows], dtype=np.float64).reshape(m_edges, 3)
    except ValueError:
        line_no, bad = next((line_no, t) for line_no, parts in edge_rows for t in parts if not _is_number(t))
        raise _bad(path, f"{bad!r} is not a number", line_no) from None

    def at(row: int) -> tuple[int, list[str]]:  # an edge's line number and its three values as written
        return edge_rows[row][0], list(edge_rows[row][1])

    if not np.all(np.isfinite(values)) or np.any(values != np.rint(values)):
        line_no, (vi, vj, cost) = at(int(np.flatnonzero(~np.isfinite(values).all(axis=1) | (values != np.rint(values)).any(axis=1))[0]))
        raise _bad(path, f"{' '.join((vi, vj, cost))!r} is not three whole numbers", line_no)
    # checked as floats, before int64 could wrap them
    outside = (values[:, :2] < 1).any(axis=1) | (values[:, :2] > n).any(axis=1)
    if outside.any():
        line_no, (vi, vj, cost) = at(int(np.flatnonzero(outside)[0]))
        from_zero = values[:, :2].min() == 0 and values[:, :2].max() <= n - 1
        raise _bad(path, f"edge ({vi}, {vj}) outside vertices 1..{n}", line_no,
                   f"the vertices look numbered from 0 (0..{n - 1}): OR-Library numbers them from 1, so add 1 to every "
                   "vertex" if from_zero else None)
    if (values[:, 2] < 0).any():
        line_no, (vi, vj, cost) = at(int(np.flatnonzero(values[:, 2] < 0)[0]))
        raise _bad(path, f"negative edge cost {cost} on ({vi}, {vj})", line_no)
    most = MAX_PATH_COST // max(n - 1, 1)
    if (values[:, 2] > most).any():
        line_no, (vi, vj, cost) = at(int(np.flatnonzero(values[:, 2] > most)[0]))
        raise _bad(path, f"edge cost {cost} is above {most:,}: a shortest path of up to {n - 1:,} edges could "
                   "exceed 2**53 and lose its exact value", line_no, "scale the costs down")
    arr = values.astype(np.int64)
    edges: dict[tuple[int, int], int] = {}
    for i, j, c in arr.tolist():
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
        raise _bad(path, "graph is not connected: some vertex has no path to another", hint="every client must reach every candidate site")
    logger.debug("read %s: n=%d, %d edges, p=%d", path, n, len(edges), p)
    np.rint(dist, out=dist)  # in place: the float64 matrix and its int64 copy, 16 bytes per cell (_matrix_fits)
    return dist.astype(np.int64), p


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


_COORD_TYPES = ("EUC_2D",)
"""Edge weight types whose coordinates this reader turns into floor-Euclidean costs."""


_SPEC_KEYS = frozenset({"NAME", "TYPE", "COMMENT", "DIMENSION", "CAPACITY", "EDGE_WEIGHT_TYPE", "EDGE_WEIGHT_FORMAT",
                        "EDGE_DATA_FORMAT", "NODE_COORD_TYPE", "DISPLAY_DATA_TYPE"})
"""The specification keys of TSPLIB 95 (Reinelt's format description, section 1.1)."""


def _spec_entry(text: str, path: str, line: int) -> tuple[str, str]:
    """``(KEY, value)`` of one specification line ``KEY : VALUE`` (any case, blanks or tabs around
    the colon). A known key written without its colon (``DIMENSION 1304``) is read too; any other
    line without a colon is an error (skipped, an ``EDGE_WEIGHT_TYPE GEO`` read as EUC_2D)."""
    key, colon, value = text.partition(":")
    key = key.strip().upper()
    if not colon:
        head, *rest = text.split(None, 1)
        if head.upper() in _SPEC_KEYS:
            return head.upper(), rest[0].strip() if rest else ""
        if key.endswith("_SECTION") or key == "EOF":
            return key, ""
        if _is_number(head):
            raise _bad(path, f"{text!r} comes before NODE_COORD_SECTION", line,
                       "put the line NODE_COORD_SECTION above the lines 'index x y'")
        raise _bad(path, f"{text!r} is not a specification line 'KEY : VALUE' (a key of TSPLIB's, e.g. DIMENSION : 1304)", line,
                   "write the keys as 'KEY : VALUE', one per line, then NODE_COORD_SECTION and the lines 'index x y'")
    return key, value.strip()


def _check_weight_type(value: str, path: str, line: int) -> None:
    if value.upper() not in _COORD_TYPES:
        raise _bad(path, f"EDGE_WEIGHT_TYPE {value} is not EUC_2D (this reader computes floor-Euclidean costs from EUC_2D "
                   "coordinates)", line, "compute other distances yourself and pass the matrix to solve_pmedian")


def _coord_line(text: str, line_no: int, path: str) -> tuple[int, float, float]:
    """``(node id, x, y)`` of one ``NODE_COORD_SECTION`` line, each checked."""
    parts = text.split()
    if len(parts) != 3:
        raise _bad(path, f"expected 'index x y', got {text!r}", line_no)
    node = _whole(parts[0], "node id", path, line_no)
    try:
        x, y = float(parts[1]), float(parts[2])
    except ValueError:
        raise _bad(path, f"coordinates must be numbers, got {text!r}", line_no) from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise _bad(path, f"coordinates must be finite numbers, got {text!r}", line_no)
    return node, x, y


def read_tsplib_coords(path: str | os.PathLike[str]) -> npt.NDArray[np.float64]:
    """The ``NODE_COORD_SECTION`` of a TSPLIB ``EUC_2D`` file as an ``n x 2`` array (file order).

    Specification keys may come in any order and case, with blanks or tabs around the colon (a
    known key without its colon is read too; another line without one is an error);
    ``EDGE_WEIGHT_TYPE`` must be given (and ``EUC_2D``) before ``NODE_COORD_SECTION``;
    ``COMMENT`` lines may hold any text; Windows line ends, a byte-order mark and a missing
    ``EOF`` are fine; a section after the coordinates (``DISPLAY_DATA_SECTION``...) ends them.
    Coordinates may be integers, decimals or scientific (``1.5e+03``). Node ids need not be
    ``1..n`` (rows follow the file's order) but must be whole numbers, each given once.

    Raises:
        ValidationError: (a ``ValueError``) naming the file and line: no coordinate section, an
            edge weight type missing or other than ``EUC_2D``, a line that is not ``KEY : VALUE``
            before the coordinates, a specification line among them, a malformed line, a node id given twice, no
            points or fewer/more than ``DIMENSION``.
        FileReadError: as for :func:`read_orlib_pmed`.
    """
    checked_path(path, "read_tsplib_coords")
    path = os.fspath(path)
    dimension = None
    weight_type_line: int | None = None
    coords: list[tuple[float, float]] = []
    first_line: dict[int, int] = {}
    in_section = skipping = False
    for line_no, line in enumerate(_text(path).splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if not in_section:
            if skipping and _is_number(text.split()[0]):
                continue  # the data of another section (DISPLAY_DATA_SECTION) before the coordinates
            key, value = _spec_entry(text, path, line_no)
            skipping = key.endswith("_SECTION") and key != "NODE_COORD_SECTION"
            if key == "DIMENSION":
                dimension = _whole(value, "DIMENSION", path, line_no)
            elif key == "EDGE_WEIGHT_TYPE":
                _check_weight_type(value, path, line_no)
                weight_type_line = line_no
            elif key == "NODE_COORD_SECTION":
                if weight_type_line is None:
                    raise _bad(path, "NODE_COORD_SECTION without an EDGE_WEIGHT_TYPE: the coordinates could be GEO or ATT, "
                               "whose distances are not Euclidean", line_no,
                               "add the line 'EDGE_WEIGHT_TYPE : EUC_2D' above NODE_COORD_SECTION if they are planar")
                in_section = True
            elif key == "EOF":
                break
            continue
        head = text.split()[0]
        if text.upper() == "EOF" or (not _is_number(head) and head.rstrip(":").upper().endswith("_SECTION")):
            break
        if not _is_number(head) and head.partition(":")[0].upper() in _SPEC_KEYS:
            raise _bad(path, f"specification line {text!r} inside NODE_COORD_SECTION", line_no,
                       "move it above NODE_COORD_SECTION: the keys come before the sections")
        node, x, y = _coord_line(text, line_no, path)
        if node in first_line:
            raise _bad(path, f"node {node} is given twice (first on line {first_line[node]})", line_no)
        first_line[node] = line_no
        coords.append((x, y))
    if not in_section:
        raise _bad(path, "no NODE_COORD_SECTION")
    if not coords:
        raise _bad(path, "NODE_COORD_SECTION holds no points")
    if dimension is not None and len(coords) != dimension:
        raise _bad(path, f"DIMENSION is {dimension} but {len(coords)} coordinates found", None,
                   "the file is cut short, or DIMENSION is wrong (set it to the number of coordinate lines)")
    return np.array(coords, dtype=np.float64).reshape(-1, 2)


def floor_euclidean(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """``d(i, j) = floor(Euclidean distance)`` between all points, as ``int32`` (row by row, so no
    ``n x n x 2`` temporary)."""
    n = points.shape[0]
    if n:
        span = float(np.hypot(*(points.max(axis=0) - points.min(axis=0))))
        if not math.isfinite(span) or span > INT32_MAX:
            raise ValueError(f"distances up to {span:.3g} do not fit 32-bit integer costs (at most {INT32_MAX:,}): "
                             "scale the coordinates down")
    out = np.empty((n, n), dtype=np.int32)
    for i in range(n):
        diff = points - points[i]
        out[i] = np.floor(np.sqrt((diff * diff).sum(axis=1)))
    return out


def read_tsplib_pmed(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
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
        ValidationError: See :func:`read_tsplib_coords`; also coordinates so far apart that a
            distance would not fit ``int32``, or more points than the memory holds the matrix of.
    """
    checked_path(path, "read_tsplib_pmed")
    path = os.fspath(path)
    coords = read_tsplib_coords(path)
    _matrix_fits(coords.shape[0], path, None, bytes_per_cell=4)
    try:
        cost = floor_euclidean(coords)
    except ValueError as exc:
        raise _bad(path, str(exc)) from None
    logger.debug("read %s: n=%d points", path, coords.shape[0])
    return cost, coords
