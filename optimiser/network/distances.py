"""Walking and straight-line lengths on a :class:`~optimiser.network.graph.WalkNetwork`.

Base-graph rows come from Dijkstra (cached per source while they fit in
:data:`ROW_CACHE_FLOATS`, computed over worker processes for large requests); lengths with
candidate crossings switched on are combined from base lengths between places and crossing
ends in the (min, +) semiring (see :mod:`optimiser.network.graph`). Every length is metres.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.csgraph import dijkstra

from optimiser.network.csr import close_ends, min_plus_combine, parallel_rows, rows_block

if TYPE_CHECKING:
    from optimiser.network.graph import NetworkCache, WalkNetwork

__all__ = ["lengths", "key_lengths", "base_lengths", "crossing_end_lengths", "straight_lengths", "detour_ratios"]

logger = logging.getLogger(__name__)

ROW_CACHE_FLOATS = 10_000_000
"""Whole base-graph rows (one per source) are cached up to this many floats (80 MB)."""
MIN_ROWS_PER_WORKER = 64
"""Fewer sources than this per worker are not worth a process."""


def _cache_row(cache: NetworkCache, key: int | tuple[int, ...], row: np.ndarray) -> None:
    if cache.cached_floats + row.size <= ROW_CACHE_FLOATS:
        cache.rows[key] = row
        cache.cached_floats += row.size


def _end_row_of_node(net: WalkNetwork) -> dict[int, int]:
    if net.cache.end_pos is None:
        net.cache.end_pos = {int(v): i for i, v in enumerate(net.candidate_ends.reshape(-1))}
    return net.cache.end_pos


def _end_rows(net: WalkNetwork) -> np.ndarray:
    """Base lengths from every candidate crossing end to every node, (2k, n), cached."""
    if net.cache.end_rows is None:
        ends = net.candidate_ends.reshape(-1)
        if ends.size == 0:
            net.cache.end_rows = np.zeros((0, net.n_nodes))
        else:
            t0 = time.perf_counter()
            net.cache.end_rows = dijkstra(net.csr, directed=True, indices=ends)
            logger.debug("rows from %d crossing ends in %.3f s", ends.size, time.perf_counter() - t0)
    return net.cache.end_rows


def _rows_to_nodes(net: WalkNetwork, sources: Sequence[str | int], cols: np.ndarray, workers: int | None = None) -> np.ndarray:
    """Base lengths (len(sources), len(cols)) from each source (min over its access nodes) to
    the node ids ``cols``."""
    out = np.full((len(sources), len(cols)), np.inf)
    end_row = _end_row_of_node(net)
    cache = net.cache.rows
    single: list[tuple[int, int]] = []  # (row, node) still to compute
    for i, s in enumerate(sources):
        acc = net.access_nodes(s)
        if len(acc) == 0:
            continue
        ck: int | tuple[int, ...] = acc if len(acc) > 1 else acc[0]
        if ck in cache:
            out[i] = cache[ck][cols]
        elif len(acc) == 1 and acc[0] in end_row:
            out[i] = _end_rows(net)[end_row[acc[0]]][cols]
        elif len(acc) == 1:
            single.append((i, acc[0]))
        else:
            d = dijkstra(net.csr, directed=True, indices=list(acc), min_only=True)
            _cache_row(net.cache, ck, d)
            out[i] = d[cols]
    if not single:
        return out
    rows = np.asarray([r for r, _ in single], dtype=np.int64)
    nodes = np.asarray([v for _, v in single], dtype=np.int64)
    w = net.workers if workers is None else int(workers)
    w = max(1, min(w, os.cpu_count() or 1, len(nodes) // MIN_ROWS_PER_WORKER))
    room = (ROW_CACHE_FLOATS - net.cache.cached_floats) // max(net.n_nodes, 1)
    t0 = time.perf_counter()
    if w == 1 and len(nodes) <= room:
        # small graph: keep whole rows, later calls with other targets are free
        full = rows_block(net.csr, nodes, np.arange(net.n_nodes))
        for node, row in zip(nodes.tolist(), full):
            _cache_row(net.cache, node, row)
        out[rows] = full[:, cols]
    elif w > 1:
        out[rows] = parallel_rows(net.csr, nodes, cols, w)
    else:
        out[rows] = rows_block(net.csr, nodes, cols)
    logger.debug("%d new shortest-length rows (%d nodes, %d columns, %d process(es)) in %.3f s",
                 len(nodes), net.n_nodes, len(cols), w, time.perf_counter() - t0)
    return out


def _reduce_cols(net: WalkNetwork, mat: np.ndarray, col_nodes: np.ndarray, targets: Sequence[str | int]) -> np.ndarray:
    """Columns of ``mat`` (one per node in ``col_nodes``) reduced to one per target key: the
    minimum over the target's access nodes."""
    pos = {int(v): j for j, v in enumerate(col_nodes)}
    out = np.full((mat.shape[0], len(targets)), np.inf)
    for j, t in enumerate(targets):
        acc = net.access_nodes(t)
        if acc:
            out[:, j] = mat[:, [pos[a] for a in acc]].min(axis=1)
    return out


def base_lengths(net: WalkNetwork, sources: Sequence[str | int], targets: Sequence[str | int], workers: int | None = None) -> np.ndarray:
    """Base-graph walking lengths (m), ``(len(sources), len(targets))``, no candidate on."""
    cols = np.asarray(sorted({a for t in targets for a in net.access_nodes(t)}), dtype=np.int64)
    return _reduce_cols(net, _rows_to_nodes(net, sources, cols, workers), cols, targets)


def crossing_end_lengths(net: WalkNetwork, keys: Sequence[str | int]) -> np.ndarray:
    """Base-graph walking lengths (m) from each key to each candidate crossing end.

    Args:
        net: the network.
        keys: keys or raw node ids.

    Returns:
        (len(keys), k, 2): ``[i, c, e]`` is the length from ``keys[i]`` to end ``e`` (0 = the
        crossing line's first point, 1 = its last) of ``net.candidates[c]``.
    """
    rows = _end_rows(net)
    k = len(net.candidates)
    if k == 0:
        return np.zeros((len(keys), 0, 2))
    out = np.full((len(keys), 2 * k), np.inf)
    for i, key in enumerate(keys):
        acc = list(net.access_nodes(key))
        if acc:
            out[i] = rows[:, acc].min(axis=1)
    return out.reshape(len(keys), k, 2)


def _end_end(net: WalkNetwork, on: np.ndarray) -> np.ndarray:
    """All-pairs shortest lengths among the ends of the switched-on candidates ``on``
    (indices), using base lengths plus the candidate crossing edges. (2m, 2m)."""
    rows = _end_rows(net)
    ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)  # rows in end_rows
    end_nodes = net.candidate_ends.reshape(-1)[ends_idx]
    crossing_m = np.asarray([net.candidates[int(c)].length_m for c in on], dtype=float)
    return close_ends(rows[ends_idx][:, end_nodes], crossing_m)


def lengths(
    net: WalkNetwork,
    sources: Sequence[str | int],
    targets: Sequence[str | int] | None = None,
    crossings_on: Iterable[str | int] = (),
    workers: int | None = None,
) -> np.ndarray:
    """Shortest walking lengths (m), ``(len(sources), len(targets))``, ``inf`` where there is
    no route.

    Args:
        net: the network.
        sources, targets: keys (``"firm:<id>"``, extra point names) or raw node ids;
            ``targets=None`` means the same as ``sources``.
        crossings_on: candidate crossings (ids or indices into ``net.candidates``) switched
            on; the base graph is not rebuilt.
        workers: processes for the shortest-path runs (default ``net.workers``); the result
            is identical for any number.

    Raises:
        KeyError: an unknown key or candidate crossing.
    """
    sources = list(sources)
    targets = sources if targets is None else list(targets)
    on = net.candidate_index(crossings_on)
    base = base_lengths(net, sources, targets, workers)
    if on.size == 0:
        return base
    ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)
    k2 = 2 * len(net.candidates)
    ce_s = crossing_end_lengths(net, sources).reshape(len(sources), k2)[:, ends_idx]
    ce_t = crossing_end_lengths(net, targets).reshape(len(targets), k2)[:, ends_idx]
    return min_plus_combine(base, ce_s, _end_end(net, on), ce_t)


def key_lengths(net: WalkNetwork, keys: Sequence[str], crossings_on: Iterable[str | int] = (), workers: int | None = None) -> np.ndarray:
    """Square matrix of walking lengths (m) among ``keys`` with ``crossings_on`` built.

    Base-graph rows are cached per key (``net.cache.key_rows``), so calling this for many
    crossing subsets costs one small min-plus combination each.

    Raises:
        KeyError: an unknown key or candidate crossing.
    """
    keys = list(keys)
    missing = [k for k in dict.fromkeys(keys) if k not in net.cache.key_rows]
    if missing:
        rows = base_lengths(net, missing, list(net.access), workers)
        for k, r in zip(missing, rows):
            net.cache.key_rows[k] = r
    col = {k: j for j, k in enumerate(net.access)}
    bad = [k for k in keys if k not in col]
    if bad:
        raise KeyError(f"unknown network keys {bad}")
    idx = [col[k] for k in keys]
    base = np.stack([net.cache.key_rows[k][idx] for k in keys]) if keys else np.zeros((0, 0))
    on = net.candidate_index(crossings_on)
    if on.size == 0:
        return base
    ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)
    ce = crossing_end_lengths(net, keys).reshape(len(keys), 2 * len(net.candidates))[:, ends_idx]
    return min_plus_combine(base, ce, _end_end(net, on), ce)


def straight_lengths(net: WalkNetwork, a_names: Sequence[str], b_names: Sequence[str] | None = None) -> np.ndarray:
    """Straight-line lengths (m), ``(len(a_names), len(b_names))``: the shortest distance
    between any entrance of ``a`` and any entrance of ``b`` (so a walk is never shorter).
    ``b_names=None`` means the same as ``a_names``."""
    a_names = list(a_names)
    b_names = a_names if b_names is None else list(b_names)
    out = np.empty((len(a_names), len(b_names)))
    for i, a in enumerate(a_names):
        pa = net.access_xy[a]
        for j, b in enumerate(b_names):
            pb = net.access_xy[b]
            d = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
            out[i, j] = d.min()
    return out


def detour_ratios(
    net: WalkNetwork,
    a_names: Sequence[str],
    b_names: Sequence[str] | None = None,
    crossings_on: Iterable[str | int] = (),
) -> np.ndarray:
    """Walk length / straight-line length (>= 1; ``inf`` unreachable, ``nan`` where the
    straight line is 0, e.g. a key with itself)."""
    walk = lengths(net, a_names, b_names, crossings_on)
    straight = straight_lengths(net, a_names, b_names)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = walk / straight
    r[straight <= 0] = np.nan
    return r
