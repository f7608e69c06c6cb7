"""The shortest walking route between two places along the network's real edges (for
rendering and explanations), with any candidate crossings switched on."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from optimiser.errors import ModelError
from optimiser.network.csr import EDGE_KINDS, csr_min

if TYPE_CHECKING:
    from optimiser.network.graph import WalkNetwork

__all__ = ["route_parts", "route_line", "graph_with", "edge_lookup"]

logger = logging.getLogger(__name__)


def graph_with(net: WalkNetwork, on: np.ndarray) -> sp.csr_matrix:
    """The base graph plus the candidate crossings with indices ``on`` as edges."""
    if on.size == 0:
        return net.csr
    u = net.candidate_ends[on, 0]
    v = net.candidate_ends[on, 1]
    w = np.array([net.candidates[int(c)].length_m for c in on])
    extra = sp.coo_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=net.csr.shape).tocsr()
    # min, not sum, where an edge already exists (it cannot for candidate ends)
    return csr_min(net.csr, extra)


def edge_lookup(net: WalkNetwork) -> dict[tuple[int, int], int]:
    """(min node, max node) -> the shortest base edge between them (cached)."""
    if net.cache.edge_lookup is None:
        lo = np.minimum(net.edge_u, net.edge_v)
        hi = np.maximum(net.edge_u, net.edge_v)
        order = np.lexsort((net.edge_length_m, hi, lo))
        d: dict[tuple[int, int], int] = {}
        for e in order[::-1]:  # shortest written last wins
            d[(int(lo[e]), int(hi[e]))] = int(e)
        net.cache.edge_lookup = d
    return net.cache.edge_lookup


def _orient(line: LineString, start_xy: np.ndarray) -> LineString:
    xy = np.asarray(line.coords)
    if np.hypot(*(xy[-1] - start_xy)) < np.hypot(*(xy[0] - start_xy)):
        return LineString(xy[::-1])
    return line


def _layered(net: WalkNetwork, on: np.ndarray, max_new: int) -> sp.csr_matrix:
    """``max_new + 1`` copies of the base graph (node ``i`` of layer ``l`` is ``l * n + i``),
    each candidate crossing of ``on`` a directed edge from layer ``l`` to ``l + 1`` both ways
    over it: a walk at a node of layer ``l`` has used ``l`` new crossings."""
    n = net.csr.shape[0]
    layers = max_new + 1
    u = net.candidate_ends[on, 0]
    v = net.candidate_ends[on, 1]
    w = np.array([net.candidates[int(c)].length_m for c in on])
    base = net.csr.tocoo()  # COO keeps the zero-length edges that sparse arithmetic would drop
    shift = np.repeat(np.arange(layers) * n, base.nnz)
    up = np.repeat(np.arange(max_new) * n, on.size)
    rows = np.r_[np.tile(base.row, layers) + shift, up + np.tile(u, max_new), up + np.tile(v, max_new)]
    cols = np.r_[np.tile(base.col, layers) + shift, up + n + np.tile(v, max_new), up + n + np.tile(u, max_new)]
    vals = np.r_[np.tile(base.data, layers), np.tile(w, 2 * max_new)]
    return sp.csr_matrix((vals, (rows, cols)), shape=(layers * n, layers * n))


_ROUTE_GRAPHS_KEPT = 4
"""How many route graphs a network keeps (a run traces routes on two: today's and the layout's)."""


def _route_graph(net: WalkNetwork, on: np.ndarray, layers: int) -> sp.csr_matrix:
    """The graph routes with candidates ``on`` are traced on (layered when ``layers > 1``),
    built once per network and kept in its cache."""
    key = (tuple(int(c) for c in on), layers)
    cache = net.cache.route_graphs
    if key not in cache:
        if len(cache) >= _ROUTE_GRAPHS_KEPT:
            cache.pop(next(iter(cache)))
        cache[key] = graph_with(net, on) if layers == 1 else _layered(net, on, layers - 1)
    return cache[key]


def _route_nodes(net: WalkNetwork, a: str | int, b: str | int, on: np.ndarray,
                 max_new: int | None = None) -> tuple[list[int], list[int] | None]:
    """Node ids of the shortest route from ``a`` to ``b`` with candidates ``on`` built, using
    at most ``max_new`` of them, and (when the cap can bind, so the graph is layered) the
    number of them used on arriving at each node."""
    src = list(net.access_nodes(a))
    dst = list(net.access_nodes(b))
    if not src or not dst:
        raise ModelError(f"no walking route from {a!r} to {b!r}: one of them is unreachable")
    n = net.csr.shape[0]
    layers = 1 if max_new is None or max_new >= on.size else max_new + 1
    g = _route_graph(net, on, layers)
    dist, pred, _ = dijkstra(g, directed=True, indices=src, min_only=True, return_predecessors=True)
    # ties: the fewest new crossings, then the order of the access nodes
    t = min((layer * n + v for layer in range(layers) for v in dst), key=lambda x: dist[x])
    if not np.isfinite(dist[t]):
        raise ModelError(f"no walking route from {a!r} to {b!r}")
    nodes = [int(t)]
    while pred[nodes[-1]] >= 0:
        nodes.append(int(pred[nodes[-1]]))
    nodes.reverse()
    return [x % n for x in nodes], ([x // n for x in nodes] if layers > 1 else None)


def route_parts(net: WalkNetwork, a: str | int, b: str | int, crossings_on: Iterable[str | int] = (),
                max_new: int | None = None, *, geometry: bool = True) -> list[dict[str, Any]]:
    """The shortest route from ``a`` to ``b`` as a list of edges along the real network.

    Args:
        net: the network.
        a, b: keys or raw node ids.
        crossings_on: candidate crossings (ids or indices) switched on.
        max_new: most of them one route may use (the scenario's
            ``crossings.max_route_crossings``, as in the model); ``None``: no limit.
        geometry: give each edge its geometry; without it, the same parts without the
            ``"geometry"`` key (what a route uses, not where it runs: about half the time).

    Returns:
        One ``{"kind", "ref", "length_m", "geometry"}`` per edge, geometry oriented a -> b,
        kind one of :data:`~optimiser.network.csr.EDGE_KINDS` or ``"candidate"``; empty if
        ``a`` and ``b`` share an access node.

    Raises:
        ModelError: there is no route.
    """
    on = net.candidate_index(crossings_on)
    nodes, used = _route_nodes(net, a, b, on, max_new)
    cand_by_pair: dict[tuple[int, int], int] = {}
    for c in on:
        u, v = (int(x) for x in net.candidate_ends[c])
        cand_by_pair[(u, v)] = int(c)
        cand_by_pair[(v, u)] = int(c)
    lookup = edge_lookup(net)
    parts: list[dict[str, Any]] = []
    for k, (u, v) in enumerate(zip(nodes[:-1], nodes[1:])):
        e = lookup.get((min(u, v), max(u, v)))
        c = cand_by_pair.get((u, v))
        if used is not None:  # on the layered graph a step is a new crossing exactly when it changes layer
            is_candidate = used[k + 1] != used[k]
        else:
            is_candidate = c is not None and (e is None or net.candidates[c].length_m < net.edge_length_m[e])
        if is_candidate and c is not None:
            cr = net.candidates[c]
            part: dict[str, Any] = {"kind": "candidate", "ref": cr.id, "length_m": cr.length_m}
            if geometry:
                part["geometry"] = _orient(cr.line, net.coords[u])
            parts.append(part)
            continue
        if e is None:  # pragma: no cover - graph and edge list always agree
            raise ModelError(f"internal: no edge between nodes {u} and {v}")
        part = {"kind": EDGE_KINDS[int(net.edge_kind[e])], "ref": net.edge_ref[e], "length_m": float(net.edge_length_m[e])}
        if geometry:
            part["geometry"] = _orient(net.edge_geometry(e), net.coords[u])
        parts.append(part)
    return parts


def route_line(net: WalkNetwork, a: str | int, b: str | int, crossings_on: Iterable[str | int] = (),
               max_new: int | None = None) -> LineString:
    """The shortest route's geometry from ``a`` to ``b`` along real edges (for rendering),
    using at most ``max_new`` of ``crossings_on`` (``None``: no limit).

    Raises:
        ModelError: there is no route.
    """
    parts = route_parts(net, a, b, crossings_on, max_new)
    if not parts:
        p = net.coords[net.access_nodes(a)[0]]
        return LineString([p, p])
    pieces = [np.asarray(parts[0]["geometry"].coords)]
    for part in parts[1:]:
        pieces.append(np.asarray(part["geometry"].coords)[1:])
    xy = np.vstack(pieces)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 1e-9, axis=1)
    xy = xy[keep]
    if len(xy) == 1:
        xy = np.vstack([xy, xy])
    return LineString(xy)
