"""The barrier-aware walking network and walking lengths between firms and places.

Pipeline step 3 (design brief section 3): ``build_walk_network`` turns a site's footpaths
(or, when it has none, a graph derived from its open space) into a graph whose edges never
enter an active barrier's band; existing crossings are edges of length
``Crossing.length_m``; firms and extra points (candidate facility / social-space sites)
are attached to the nearest walkable point *on their own side* of every barrier.

Candidate crossings are not in the base graph. Their two ends are attached to the network,
so walking lengths with any subset of them switched on are combined exactly from base-graph
lengths between key places and crossing ends (no rebuild):

    len(s, t | C) = min( base(s, t),  min_{a, b in ends(C)} base(s, a) + close_C(a, b) + base(b, t) )

where ``close_C`` is the all-pairs shortest length among the ends of ``C`` using base lengths
plus the crossing edges. This is exact because every shortest path in base + C splits at the
crossing ends it uses into base-graph shortest paths.

Every length is metres (``*_m``); coordinates are the site's working CRS (metres).

A firm may have several entrances; its walking length to anything is the minimum over its
entrances. Firms are *not* single graph nodes with zero-length links to each entrance, as
that would let walkers cut through other firms' buildings; ``WalkNetwork.access`` maps each
key to its entrance nodes and ``WalkNetwork.node_of`` to the first of them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from optimiser.errors import ModelError
from optimiser.inputs.domain import (
    Barrier,
    BarrierKind,
    Crossing,
    CrossingSpec,
    Provenance,
    Site,
)

__all__ = [
    "WalkNetwork",
    "build_walk_network",
    "generate_candidate_crossings",
    "firm_key",
    "EDGE_KINDS",
    "SENSIBLE_CROSSING_TYPES",
]

EDGE_KINDS = ("path", "connector", "crossing")
"""Kinds of base-graph edges: walkable path segments, connectors (entrance / point / crossing
end to the nearest walkable point), existing crossings. Candidate crossings are kind
``"candidate"`` in outputs and are never in the base graph."""

_KIND_CODE = {k: i for i, k in enumerate(EDGE_KINDS)}

SENSIBLE_CROSSING_TYPES: dict[BarrierKind, tuple[str, ...]] = {
    BarrierKind.CARRIAGEWAY: ("footbridge", "signalised", "underpass"),
    BarrierKind.RAIL_CORRIDOR: ("footbridge", "underpass", "bridge"),
    BarrierKind.WATERCOURSE: ("footbridge", "bridge"),
    BarrierKind.OTHER: ("footbridge", "signalised", "underpass", "bridge"),
}
"""New-crossing types that make sense for each kind of barrier (signalised at-grade only
across a carriageway)."""

_TYPE_ABBR = {"footbridge": "fb", "signalised": "sig", "underpass": "up", "bridge": "br"}

_NODE_KEY_M = 1e-3
"""Vertices closer than this (m) are one node."""
_SIDE_EPS_M = 1e-3
"""Bands are shrunk by this much when testing whether a connector enters one (touching the
band's edge, where a cut path ends, is fine)."""
_CROSSING_END_MARGIN_M = 2.0
"""Generated crossings start and end this far outside the band."""
_DEST_BLOCK = 2_000_000
"""Dijkstra rows are computed in blocks of at most this many floats (memory bound)."""
_ROW_CACHE_FLOATS = 10_000_000
"""Whole base-graph rows (one per source) are cached up to this many floats (80 MB)."""
_MIN_ROWS_PER_WORKER = 64
"""Fewer sources than this per worker are not worth a process."""


def firm_key(firm_id: str) -> str:
    """Key of a firm in a :class:`WalkNetwork` (``"firm:<id>"``)."""
    return f"firm:{firm_id}"


# --------------------------------------------------------------------------------------
# the network object
# --------------------------------------------------------------------------------------


@dataclass
class WalkNetwork:
    """A barrier-aware walking graph with firms, extra points and candidate crossings.

    Attributes:
        coords: (n, 2) node coordinates, metres, working CRS.
        csr: base graph, symmetric ``scipy.sparse.csr_matrix`` of edge lengths in metres
            (existing crossings included, candidate crossings not).
        node_of: key (``"firm:<id>"`` or an extra point's name) -> its first access node.
        access: key -> all its access nodes (a firm's entrance nodes); lengths from a key are
            the minimum over these.
        access_xy: key -> (k, 2) coordinates of its entrances (for straight-line lengths).
        candidates: candidate crossings that could be attached (both ends reach the network).
        candidate_ends: (k, 2) node ids of each candidate's two ends.
        unreachable: keys none of whose entrances could be attached to the network on their
            own side of every barrier (e.g. an entrance inside a band, or nothing walkable on
            its side); their lengths are ``inf``.
        dropped_candidates: (crossing id, reason) for candidates that could not be attached.
        edge_u, edge_v, edge_length_m, edge_kind, edge_ref: the base-graph edge list; kinds are
            indices into :data:`EDGE_KINDS`; ``edge_ref`` names the path / key / crossing.
        edge_geoms: geometry of edges that are not straight segments (existing crossings).
        barriers: the active barriers the network was built for.
        crs: the working CRS.
        build_seconds: wall-clock time the build took.
        derived: the walking graph was derived from open space (the site has no paths).
        workers: default number of processes for many-source shortest paths (1 = in this
            process; more forks worker processes for large requests only).
    """

    coords: np.ndarray
    csr: sp.csr_matrix
    node_of: dict[str, int]
    access: dict[str, tuple[int, ...]]
    access_xy: dict[str, np.ndarray]
    candidates: tuple[Crossing, ...]
    candidate_ends: np.ndarray
    unreachable: tuple[str, ...]
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_kind: np.ndarray
    edge_ref: list[str]
    edge_geoms: dict[int, LineString]
    barriers: tuple[Barrier, ...]
    crs: str = "EPSG:27700"
    dropped_candidates: tuple[tuple[str, str], ...] = ()
    build_seconds: float = 0.0
    derived: bool = False
    workers: int = 1
    _end_rows: np.ndarray | None = field(default=None, repr=False)
    _key_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _row_cache: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)
    _cached_floats: int = field(default=0, repr=False)
    _end_pos: dict[int, int] | None = field(default=None, repr=False)
    _edge_lookup: dict[tuple[int, int], int] | None = field(default=None, repr=False)

    # ---- basic facts -------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return int(self.coords.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of (undirected) base-graph edges."""
        return int(self.edge_u.shape[0])

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key (firms then extra points), in insertion order."""
        return tuple(self.access)

    @property
    def firm_keys(self) -> tuple[str, ...]:
        """Keys of the firms (``"firm:<id>"``)."""
        return tuple(k for k in self.access if k.startswith("firm:"))

    def candidate_index(self, crossing_ids: Iterable[str | int]) -> np.ndarray:
        """Indices into :attr:`candidates` of crossing ids (or pass-through integer indices)."""
        pos = {c.id: i for i, c in enumerate(self.candidates)}
        out = []
        for c in crossing_ids:
            if isinstance(c, (int, np.integer)):
                if not 0 <= int(c) < len(self.candidates):
                    raise KeyError(f"no candidate crossing number {c}")
                out.append(int(c))
            else:
                cid = c.id if isinstance(c, Crossing) else c
                if cid not in pos:
                    dropped = dict(self.dropped_candidates)
                    why = f" (dropped: {dropped[cid]})" if cid in dropped else ""
                    raise KeyError(f"unknown candidate crossing {cid!r}{why}")
                out.append(pos[cid])
        return np.asarray(sorted(set(out)), dtype=np.int64)

    def components(self) -> int:
        """Number of connected components of the base graph."""
        return int(connected_components(self.csr, directed=False)[0])

    # ---- shortest lengths on the base graph --------------------------------------------

    def _access_of(self, key: str | int) -> tuple[int, ...]:
        if isinstance(key, (int, np.integer)):
            return (int(key),)
        try:
            return self.access[key]
        except KeyError:
            raise KeyError(f"unknown network key {key!r}") from None

    def _rows_to_nodes(
        self, sources: Sequence[str | int], cols: np.ndarray, workers: int | None = None
    ) -> np.ndarray:
        """Base lengths (len(sources), len(cols)) from each source (min over its access
        nodes) to the node ids ``cols``."""
        out = np.full((len(sources), len(cols)), np.inf)
        end_row = self._end_row_of_node()
        cache = self._row_cache
        single: list[tuple[int, int]] = []  # (row, node) still to compute
        for i, s in enumerate(sources):
            acc = self._access_of(s)
            if len(acc) == 0:
                continue
            ck = acc if len(acc) > 1 else acc[0]
            if ck in cache:
                out[i] = cache[ck][cols]
            elif len(acc) == 1 and acc[0] in end_row:
                out[i] = self._ensure_end_rows()[end_row[acc[0]]][cols]
            elif len(acc) == 1:
                single.append((i, acc[0]))
            else:
                d = dijkstra(self.csr, directed=True, indices=list(acc), min_only=True)
                self._cache_row(ck, d)
                out[i] = d[cols]
        if not single:
            return out
        rows = np.asarray([r for r, _ in single], dtype=np.int64)
        nodes = np.asarray([v for _, v in single], dtype=np.int64)
        w = self.workers if workers is None else int(workers)
        w = max(1, min(w, os.cpu_count() or 1, len(nodes) // _MIN_ROWS_PER_WORKER))
        room = (_ROW_CACHE_FLOATS - self._cached_floats) // max(self.n_nodes, 1)
        if w == 1 and len(nodes) <= room:
            # small graph: keep whole rows, later calls with other targets are free
            full = _rows_block(self.csr, nodes, np.arange(self.n_nodes))
            for node, row in zip(nodes.tolist(), full):
                self._cache_row(node, row)
            out[rows] = full[:, cols]
        elif w > 1:
            out[rows] = _parallel_rows(self.csr, nodes, cols, w)
        else:
            out[rows] = _rows_block(self.csr, nodes, cols)
        return out

    def _cache_row(self, key: int | tuple[int, ...], row: np.ndarray) -> None:
        if self._cached_floats + row.size <= _ROW_CACHE_FLOATS:
            self._row_cache[key] = row
            self._cached_floats += row.size

    def _end_row_of_node(self) -> dict[int, int]:
        if self._end_pos is None:
            self._end_pos = {int(v): i for i, v in enumerate(self.candidate_ends.reshape(-1))}
        return self._end_pos

    def _reduce_cols(self, mat: np.ndarray, col_nodes: np.ndarray, targets: Sequence[str | int]):
        """Columns of ``mat`` (one per node in ``col_nodes``) reduced to one per target key:
        the minimum over the target's access nodes."""
        pos = {int(v): j for j, v in enumerate(col_nodes)}
        out = np.full((mat.shape[0], len(targets)), np.inf)
        for j, t in enumerate(targets):
            acc = self._access_of(t)
            if acc:
                out[:, j] = mat[:, [pos[a] for a in acc]].min(axis=1)
        return out

    def _target_nodes(self, targets: Sequence[str | int]) -> np.ndarray:
        nodes = sorted({a for t in targets for a in self._access_of(t)})
        return np.asarray(nodes, dtype=np.int64)

    def _base_lengths(
        self, sources: Sequence[str | int], targets: Sequence[str | int], workers: int | None = None
    ):
        cols = self._target_nodes(targets)
        return self._reduce_cols(self._rows_to_nodes(sources, cols, workers), cols, targets)

    def _ensure_end_rows(self) -> np.ndarray:
        """Base lengths from every candidate crossing end to every node, (2k, n), cached."""
        if self._end_rows is None:
            ends = self.candidate_ends.reshape(-1)
            if ends.size == 0:
                self._end_rows = np.zeros((0, self.n_nodes))
            else:
                self._end_rows = dijkstra(self.csr, directed=True, indices=ends)
        return self._end_rows

    def crossing_end_lengths(self, keys: Sequence[str | int]) -> np.ndarray:
        """Base-graph walking lengths (m) from each key to each candidate crossing end.

        Returns (len(keys), k, 2): ``[i, c, e]`` is the length from ``keys[i]`` to end ``e``
        (0 = the crossing line's first point, 1 = its last) of ``candidates[c]``.
        """
        rows = self._ensure_end_rows()
        k = len(self.candidates)
        if k == 0:
            return np.zeros((len(keys), 0, 2))
        out = np.full((len(keys), 2 * k), np.inf)
        for i, key in enumerate(keys):
            acc = list(self._access_of(key))
            if acc:
                out[i] = rows[:, acc].min(axis=1)
        return out.reshape(len(keys), k, 2)

    def _end_end(self, on: np.ndarray) -> np.ndarray:
        """All-pairs shortest lengths among the ends of the switched-on candidates ``on``
        (indices), using base lengths plus the candidate crossing edges. (2m, 2m)."""
        rows = self._ensure_end_rows()
        ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)  # rows in _end_rows
        end_nodes = self.candidate_ends.reshape(-1)[ends_idx]
        m = rows[ends_idx][:, end_nodes].copy()
        for j, c in enumerate(on):
            length = self.candidates[int(c)].length_m
            a, b = 2 * j, 2 * j + 1
            m[a, b] = min(m[a, b], length)
            m[b, a] = min(m[b, a], length)
        # Floyd-Warshall on a small dense matrix
        for k in range(m.shape[0]):
            np.minimum(m, m[:, k : k + 1] + m[k : k + 1, :], out=m)
        return m

    def lengths(
        self,
        sources: Sequence[str | int],
        targets: Sequence[str | int] | None = None,
        crossings_on: Iterable[str | int] = (),
        workers: int | None = None,
    ) -> np.ndarray:
        """Shortest walking lengths (m), ``(len(sources), len(targets))``, ``inf`` where
        there is no route.

        Args:
            sources, targets: keys (``"firm:<id>"``, extra point names) or raw node ids;
                ``targets=None`` means the same as ``sources``.
            crossings_on: candidate crossings (ids or indices into :attr:`candidates`)
                switched on; the base graph is not rebuilt.
            workers: processes for the shortest-path runs (default :attr:`workers`); the
                result is identical for any number.
        """
        sources = list(sources)
        targets = sources if targets is None else list(targets)
        on = self.candidate_index(crossings_on)
        base = self._base_lengths(sources, targets, workers)
        if on.size == 0:
            return base
        ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)
        k2 = 2 * len(self.candidates)
        ce_s = self.crossing_end_lengths(sources).reshape(len(sources), k2)[:, ends_idx]
        ce_t = self.crossing_end_lengths(targets).reshape(len(targets), k2)[:, ends_idx]
        return _combine(base, ce_s, self._end_end(on), ce_t)

    def key_lengths(
        self,
        keys: Sequence[str],
        crossings_on: Iterable[str | int] = (),
        workers: int | None = None,
    ) -> np.ndarray:
        """Square matrix of walking lengths (m) among ``keys`` with ``crossings_on`` built.

        Base-graph rows are cached per key, so calling this for many crossing subsets
        costs one small min-plus combination each.
        """
        keys = list(keys)
        missing = [k for k in dict.fromkeys(keys) if k not in self._key_cache]
        if missing:
            all_keys = list(self.access)
            rows = self._base_lengths(missing, all_keys, workers)
            for k, r in zip(missing, rows):
                self._key_cache[k] = r
        col = {k: j for j, k in enumerate(self.access)}
        idx = [col[k] if k in col else None for k in keys]
        if any(i is None for i in idx):
            bad = [k for k, i in zip(keys, idx) if i is None]
            raise KeyError(f"unknown network keys {bad}")
        base = np.stack([self._key_cache[k][idx] for k in keys]) if keys else np.zeros((0, 0))
        on = self.candidate_index(crossings_on)
        if on.size == 0:
            return base
        ends_idx = np.stack([2 * on, 2 * on + 1], axis=1).reshape(-1)
        ce = self.crossing_end_lengths(keys).reshape(len(keys), 2 * len(self.candidates))[:, ends_idx]
        return _combine(base, ce, self._end_end(on), ce)

    # ---- straight lines and detours ------------------------------------------------------

    def straight_lengths(self, a_names: Sequence[str], b_names: Sequence[str] | None = None):
        """Straight-line lengths (m): the shortest distance between any entrance of ``a`` and
        any entrance of ``b`` (so a walk is never shorter than it)."""
        a_names = list(a_names)
        b_names = a_names if b_names is None else list(b_names)
        out = np.empty((len(a_names), len(b_names)))
        for i, a in enumerate(a_names):
            pa = self.access_xy[a]
            for j, b in enumerate(b_names):
                pb = self.access_xy[b]
                d = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
                out[i, j] = d.min()
        return out

    def detour_ratios(
        self,
        a_names: Sequence[str],
        b_names: Sequence[str] | None = None,
        crossings_on: Iterable[str | int] = (),
    ) -> np.ndarray:
        """Walk length / straight-line length (>= 1; ``inf`` unreachable, ``nan`` where the
        straight line is 0, e.g. a key with itself)."""
        walk = self.lengths(a_names, b_names, crossings_on)
        straight = self.straight_lengths(a_names, b_names)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = walk / straight
        r[straight <= 0] = np.nan
        return r

    # ---- routes ----------------------------------------------------------------------------

    def _graph_with(self, on: np.ndarray) -> sp.csr_matrix:
        if on.size == 0:
            return self.csr
        u = self.candidate_ends[on, 0]
        v = self.candidate_ends[on, 1]
        w = np.array([self.candidates[int(c)].length_m for c in on])
        extra = sp.coo_matrix(
            (np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=self.csr.shape
        ).tocsr()
        # min, not sum, where an edge already exists (it cannot for candidate ends)
        return _csr_min(self.csr, extra)

    def route_parts(
        self, a: str | int, b: str | int, crossings_on: Iterable[str | int] = ()
    ) -> list[dict[str, Any]]:
        """The shortest route from ``a`` to ``b`` as a list of edges along the real network:
        each ``{"kind", "ref", "length_m", "geometry"}`` with geometry oriented a -> b and
        kind one of :data:`EDGE_KINDS` or ``"candidate"``. Empty if a == b's access node;
        ``ModelError`` if there is no route."""
        on = self.candidate_index(crossings_on)
        g = self._graph_with(on)
        src = list(self._access_of(a))
        dst = list(self._access_of(b))
        if not src or not dst:
            raise ModelError(f"no walking route from {a!r} to {b!r}: one of them is unreachable")
        dist, pred, _ = dijkstra(
            g, directed=True, indices=src, min_only=True, return_predecessors=True
        )
        t = min(dst, key=lambda v: dist[v])
        if not np.isfinite(dist[t]):
            raise ModelError(f"no walking route from {a!r} to {b!r}")
        nodes = [int(t)]
        while pred[nodes[-1]] >= 0:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        cand_by_pair = {}
        for c in on:
            u, v = (int(x) for x in self.candidate_ends[c])
            cand_by_pair[(u, v)] = int(c)
            cand_by_pair[(v, u)] = int(c)
        lookup = self._lookup()
        parts = []
        for u, v in zip(nodes[:-1], nodes[1:]):
            e = lookup.get((min(u, v), max(u, v)))
            c = cand_by_pair.get((u, v))
            use_cand = c is not None and (
                e is None or self.candidates[c].length_m < self.edge_length_m[e]
            )
            if use_cand:
                cr = self.candidates[c]
                geom = _orient(cr.line, self.coords[u])
                parts.append(
                    {"kind": "candidate", "ref": cr.id, "length_m": cr.length_m, "geometry": geom}
                )
                continue
            if e is None:  # pragma: no cover - graph and edge list always agree
                raise ModelError(f"internal: no edge between nodes {u} and {v}")
            geom = self.edge_geometry(e)
            parts.append(
                {
                    "kind": EDGE_KINDS[int(self.edge_kind[e])],
                    "ref": self.edge_ref[e],
                    "length_m": float(self.edge_length_m[e]),
                    "geometry": _orient(geom, self.coords[u]),
                }
            )
        return parts

    def route(self, a: str | int, b: str | int, crossings_on: Iterable[str | int] = ()) -> LineString:
        """The shortest route's geometry from ``a`` to ``b`` along real edges (for rendering);
        ``ModelError`` if there is no route."""
        parts = self.route_parts(a, b, crossings_on)
        if not parts:
            p = self.coords[self._access_of(a)[0]]
            return LineString([p, p])
        xy = [np.asarray(parts[0]["geometry"].coords)]
        for p in parts[1:]:
            xy.append(np.asarray(p["geometry"].coords)[1:])
        xy = np.vstack(xy)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 1e-9, axis=1)
        xy = xy[keep]
        if len(xy) == 1:
            xy = np.vstack([xy, xy])
        return LineString(xy)

    def _lookup(self) -> dict[tuple[int, int], int]:
        """(min node, max node) -> the shortest base edge between them."""
        if self._edge_lookup is None:
            lo = np.minimum(self.edge_u, self.edge_v)
            hi = np.maximum(self.edge_u, self.edge_v)
            order = np.lexsort((self.edge_length_m, hi, lo))
            d: dict[tuple[int, int], int] = {}
            for e in order[::-1]:  # shortest written last wins
                d[(int(lo[e]), int(hi[e]))] = int(e)
            self._edge_lookup = d
        return self._edge_lookup

    def edge_geometry(self, e: int) -> LineString:
        """Geometry of base edge ``e`` (a straight segment unless it is a crossing)."""
        g = self.edge_geoms.get(int(e))
        if g is not None:
            return g
        return LineString([self.coords[self.edge_u[e]], self.coords[self.edge_v[e]]])

    # ---- output ------------------------------------------------------------------------------

    def to_geojson_features(
        self, kinds: Iterable[str] = ("path", "connector", "crossing", "candidate")
    ) -> list[dict[str, Any]]:
        """GeoJSON-like features (geometry as shapely, working CRS) of the edges of the given
        kinds; reproject with :func:`optimiser.present.geojson.to_wgs84_geojson`."""
        kinds = set(kinds)
        feats: list[dict[str, Any]] = []
        codes = [(_KIND_CODE[k], k) for k in EDGE_KINDS if k in kinds]
        if codes:
            segs = shapely.linestrings(
                np.stack([self.coords[self.edge_u], self.coords[self.edge_v]], axis=1)
            )
            for e in range(self.n_edges):
                kind = EDGE_KINDS[int(self.edge_kind[e])]
                if kind not in kinds:
                    continue
                geom = self.edge_geoms.get(e, segs[e])
                feats.append(
                    {
                        "type": "Feature",
                        "geometry": geom,
                        "properties": {
                            "kind": kind,
                            "ref": self.edge_ref[e],
                            "length_m": round(float(self.edge_length_m[e]), 3),
                        },
                    }
                )
        if "candidate" in kinds:
            feats.extend(crossing_features(self.candidates, kind="candidate"))
        return feats

    def summary(self) -> dict[str, Any]:
        """Counts for reports: nodes, edges by kind, components, unreachable keys and pairs."""
        fk = list(self.firm_keys)
        pairs_unreachable = 0
        if fk:
            comp = connected_components(self.csr, directed=False)[1]
            labels = [
                frozenset(int(comp[a]) for a in self.access[k]) for k in fk
            ]
            for i in range(len(fk)):
                for j in range(i + 1, len(fk)):
                    if not (labels[i] & labels[j]):
                        pairs_unreachable += 1
        by_kind = {k: int(np.sum(self.edge_kind == c)) for k, c in _KIND_CODE.items()}
        return {
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "edges_by_kind": by_kind,
            "components": self.components(),
            "firms": len(fk),
            "points": len(self.access) - len(fk),
            "unreachable": list(self.unreachable),
            "firm_pairs": len(fk) * (len(fk) - 1) // 2,
            "pairs_unreachable": pairs_unreachable,
            "candidate_crossings": len(self.candidates),
            "dropped_candidates": [list(x) for x in self.dropped_candidates],
            "active_barriers": [b.id for b in self.barriers],
            "derived_from_open_space": self.derived,
            "build_seconds": round(self.build_seconds, 4),
        }


def crossing_features(crossings: Iterable[Crossing], kind: str = "candidate") -> list[dict]:
    """GeoJSON-like features (working CRS) for crossings."""
    return [
        {
            "type": "Feature",
            "geometry": c.line,
            "properties": {
                "kind": kind,
                "id": c.id,
                "name": c.name,
                "barrier_id": c.barrier_id,
                "type": c.type,
                "cost_gbp": float(c.cost_gbp),
                "penalty_m": float(c.penalty_m),
                "length_m": round(c.length_m, 3),
                "existing": bool(c.existing),
            },
        }
        for c in crossings
    ]


def _rows_block(csr: sp.csr_matrix, nodes: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Base lengths from each of ``nodes`` to the node ids ``cols``, in memory-bounded blocks."""
    n = csr.shape[0]
    out = np.empty((len(nodes), len(cols)))
    block = max(1, _DEST_BLOCK // max(n, 1))
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
    assert _WORKER_CSR is not None
    return _rows_block(_WORKER_CSR, nodes, cols)


def _parallel_rows(csr: sp.csr_matrix, nodes: np.ndarray, cols: np.ndarray, workers: int):
    """:func:`_rows_block` split over ``workers`` processes (fork where the platform has it,
    so the graph is not copied)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    parts = np.array_split(nodes, workers * 4)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                             initargs=(csr,)) as ex:
        res = list(ex.map(_worker_rows, [(p, cols) for p in parts if len(p)]))
    return np.vstack(res)


def _combine(base: np.ndarray, ce_s: np.ndarray, close: np.ndarray, ce_t: np.ndarray) -> np.ndarray:
    """min(base, ce_s (x) close (x) ce_t^T) in the (min, +) semiring."""
    if close.shape[0] == 0:
        return base
    # left = ce_s (x) close : (S, m)
    left = np.full(ce_s.shape, np.inf)
    for k in range(close.shape[0]):
        np.minimum(left, ce_s[:, k : k + 1] + close[k : k + 1, :], out=left)
    out = base.copy()
    for k in range(close.shape[0]):
        np.minimum(out, left[:, k : k + 1] + ce_t[None, :, k], out=out)
    return out


def _csr_min(a: sp.csr_matrix, b: sp.csr_matrix) -> sp.csr_matrix:
    """Element-wise min of two sparse length matrices where both have an entry, union else."""
    coo = sp.vstack([a.tocoo().reshape(1, -1), b.tocoo().reshape(1, -1)]).tocoo()
    n = a.shape[0]
    return _build_csr(coo.col // n, coo.col % n, coo.data, n)


def _orient(line: LineString, start_xy: np.ndarray) -> LineString:
    xy = np.asarray(line.coords)
    if np.hypot(*(xy[-1] - start_xy)) < np.hypot(*(xy[0] - start_xy)):
        return LineString(xy[::-1])
    return line


def _build_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric CSR from (possibly duplicated) entries, keeping the minimum length (the
    matrix is symmetric, so Dijkstra runs with ``directed=True``, which scans it once).
    Zero lengths are kept as edges."""
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


# --------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------


class _Builder:
    """Mutable graph under construction: straight segments with split points, plus extra
    edges (connectors, crossings)."""

    def __init__(self, seg_xy: np.ndarray, seg_ref: list[str], blocker: BaseGeometry | None):
        # seg_xy (m, 2, 2); nodes from rounded endpoint coordinates
        self.seg_xy = seg_xy
        self.seg_ref = seg_ref
        self.blocker = blocker  # shrunk union of active bands (prepared), or None
        m = seg_xy.shape[0]
        pts = seg_xy.reshape(-1, 2)
        if m:
            keys = np.round(pts / _NODE_KEY_M).astype(np.int64)
            uniq, first_idx, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            self.coords: list[np.ndarray] = [pts[first_idx]]
            inv = inv.reshape(-1)
            self.seg_u = inv[0::2].astype(np.int64)
            self.seg_v = inv[1::2].astype(np.int64)
            self.n = int(uniq.shape[0])
        else:
            self.coords = [np.zeros((0, 2))]
            self.seg_u = np.zeros(0, dtype=np.int64)
            self.seg_v = np.zeros(0, dtype=np.int64)
            self.n = 0
        self.splits: dict[int, list[tuple[float, int]]] = {}
        self.extra_u: list[int] = []
        self.extra_v: list[int] = []
        self.extra_w: list[float] = []
        self.extra_kind: list[int] = []
        self.extra_ref: list[str] = []
        self.extra_geom: dict[int, LineString] = {}
        self.tree = shapely.STRtree(shapely.linestrings(seg_xy)) if m else None
        seg_vec = seg_xy[:, 1] - seg_xy[:, 0] if m else np.zeros((0, 2))
        self.seg_len2 = np.einsum("ij,ij->i", seg_vec, seg_vec)

    def add_node(self, xy) -> int:
        self.coords.append(np.asarray(xy, dtype=float).reshape(1, 2))
        self.n += 1
        return self.n - 1

    def add_edge(self, u: int, v: int, w: float, kind: str, ref: str, geom=None) -> None:
        if geom is not None:
            self.extra_geom[len(self.extra_u)] = geom
        self.extra_u.append(u)
        self.extra_v.append(v)
        self.extra_w.append(float(w))
        self.extra_kind.append(_KIND_CODE[kind])
        self.extra_ref.append(ref)

    def _project(self, segs: np.ndarray, p: np.ndarray):
        a = self.seg_xy[segs, 0]
        b = self.seg_xy[segs, 1]
        ab = b - a
        l2 = self.seg_len2[segs]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(l2 > 0, np.einsum("ij,ij->i", p - a, ab) / l2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        q = a + t[:, None] * ab
        d = np.hypot(q[:, 0] - p[0], q[:, 1] - p[1])
        return t, q, d

    def _blocked(self, p: np.ndarray, qs: np.ndarray) -> np.ndarray:
        if self.blocker is None or len(qs) == 0:
            return np.zeros(len(qs), dtype=bool)
        lines = shapely.linestrings(np.stack([np.broadcast_to(p, qs.shape), qs], axis=1))
        same = np.all(np.isclose(qs, p), axis=1)
        out = shapely.intersects(lines[~same] if (~same).any() else lines[:0], self.blocker)
        res = np.zeros(len(qs), dtype=bool)
        res[~same] = out
        if same.any():
            res[same] = shapely.intersects(shapely.points(qs[same]), self.blocker)
        return res

    def nearest_reachable(
        self, p: np.ndarray, max_dist: float | None = None, exclude: set[int] | None = None
    ):
        """(segment, t, point, distance) of the nearest walkable point whose straight link
        from ``p`` enters no active band, or ``None``."""
        if self.tree is None:
            return None
        pt = shapely.points(p)
        if self.blocker is not None and shapely.intersects(pt, self.blocker):
            return None
        idx, dist = self.tree.query_nearest(pt, return_distance=True, all_matches=True)
        if len(idx) == 0:
            return None
        r = float(dist.min())
        total = len(self.seg_xy) - len(exclude or ())
        tried: set[int] = set()
        while True:
            if max_dist is not None and r > max_dist:
                r = max_dist
            cand = self.tree.query(pt, predicate="dwithin", distance=r + 1e-9)
            cand = np.asarray([c for c in cand if c not in tried and not (exclude and c in exclude)],
                              dtype=np.int64)
            if cand.size:
                t, q, d = self._project(cand, p)
                order = np.argsort(d, kind="stable")
                cand, t, q, d = cand[order], t[order], q[order], d[order]
                within = d <= r + 1e-9
                cand, t, q, d = cand[within], t[within], q[within], d[within]
                if cand.size:
                    blocked = self._blocked(p, q)
                    ok = np.flatnonzero(~blocked)
                    if ok.size:
                        k = ok[0]
                        return int(cand[k]), float(t[k]), q[k], float(d[k])
                    tried.update(int(c) for c in cand)
            if len(tried) >= total or (max_dist is not None and r >= max_dist):
                return None
            r = max(r * 2.0, r + 50.0)

    def node_at(self, seg: int, t: float, q: np.ndarray) -> int:
        """A node at parameter ``t`` of segment ``seg`` (an end node, or a split)."""
        l = math.sqrt(self.seg_len2[seg])
        if t * l <= _NODE_KEY_M:
            return int(self.seg_u[seg])
        if (1.0 - t) * l <= _NODE_KEY_M:
            return int(self.seg_v[seg])
        lst = self.splits.setdefault(seg, [])
        for tt, node in lst:
            if abs(tt - t) * l <= _NODE_KEY_M:
                return node
        node = self.add_node(q)
        lst.append((t, node))
        return node

    def attach(self, p: np.ndarray, max_dist: float | None = None, exclude=None):
        """Node id of a new node at ``p`` linked to the nearest reachable walkable point, the
        link's length, and its far node; ``None`` if nothing is reachable."""
        hit = self.nearest_reachable(p, max_dist=max_dist, exclude=exclude)
        if hit is None:
            return None
        seg, t, q, d = hit
        return self.node_at(seg, t, q), q, d

    def finish(self):
        coords = np.vstack(self.coords) if self.coords else np.zeros((0, 2))
        us, vs, ks, refs = [], [], [], []
        plain = np.ones(len(self.seg_xy), dtype=bool)
        for seg, lst in self.splits.items():
            plain[seg] = False
            lst.sort()
            chain = [int(self.seg_u[seg])] + [nd for _, nd in lst] + [int(self.seg_v[seg])]
            for a, b in zip(chain[:-1], chain[1:]):
                us.append(a)
                vs.append(b)
                ks.append(_KIND_CODE["path"])
                refs.append(self.seg_ref[seg])
        su = self.seg_u[plain]
        sv = self.seg_v[plain]
        sref = [r for r, keep in zip(self.seg_ref, plain) if keep]
        u = np.concatenate([su, np.asarray(us, dtype=np.int64), np.asarray(self.extra_u, dtype=np.int64)])
        v = np.concatenate([sv, np.asarray(vs, dtype=np.int64), np.asarray(self.extra_v, dtype=np.int64)])
        n_straight = len(su) + len(us)
        w_straight = np.hypot(*(coords[u[:n_straight]] - coords[v[:n_straight]]).T)
        w = np.concatenate([w_straight, np.asarray(self.extra_w, dtype=float)])
        kind = np.concatenate(
            [
                np.full(len(su), _KIND_CODE["path"], dtype=np.int8),
                np.asarray(ks, dtype=np.int8),
                np.asarray(self.extra_kind, dtype=np.int8),
            ]
        )
        ref = sref + refs + self.extra_ref
        geoms = {n_straight + i: g for i, g in self.extra_geom.items()}
        # drop zero-length path segments between one node (can appear after rounding)
        keep = u != v
        if not keep.all():
            remap = np.cumsum(keep) - 1
            geoms = {int(remap[i]): g for i, g in geoms.items() if keep[i]}
            u, v, w, kind = u[keep], v[keep], w[keep], kind[keep]
            ref = [r for r, k in zip(ref, keep) if k]
        return coords, u, v, w, kind, ref, geoms


def _segments_of(geoms: Sequence[BaseGeometry]) -> tuple[np.ndarray, np.ndarray]:
    """(m, 2, 2) straight segments of line geometries and the index of the geometry each
    came from."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    lines, gidx = parts
    if len(lines) == 0:
        return np.zeros((0, 2, 2)), np.zeros(0, dtype=np.int64)
    xy, li = shapely.get_coordinates(lines, return_index=True)
    same = li[1:] == li[:-1]
    a = xy[:-1][same]
    b = xy[1:][same]
    seg = np.stack([a, b], axis=1)
    src = gidx[li[:-1][same]]
    nonzero = np.hypot(*(b - a).T) > 0
    return seg[nonzero], src[nonzero]


def _derive_open_space_segments(site: Site, bands, max_nodes: int = 20000):
    """A grid graph (8-neighbour) over the site's walkable open space: the union of its
    parcels (or the hull of everything if it has none), minus active bands and firm
    footprints. Returns segments (m, 2, 2)."""
    polys = [p.polygon for p in site.parcels]
    if polys:
        area = shapely.union_all(polys)
    else:
        stuff = [f.location for f in site.firms] + [e for f in site.firms for e in f.entrances]
        stuff += [b.centreline for b in site.barriers]
        if not stuff:
            return np.zeros((0, 2, 2))
        area = shapely.union_all(stuff).convex_hull.buffer(50.0)
    holes = list(bands) + [f.footprint for f in site.firms if f.footprint is not None]
    if holes:
        area = area.difference(shapely.union_all(holes))
    if area.is_empty or area.area <= 0:
        return np.zeros((0, 2, 2))
    step = max(10.0, math.sqrt(area.area / max_nodes))
    minx, miny, maxx, maxy = area.bounds
    xs = np.arange(minx + step / 2, maxx, step)
    ys = np.arange(miny + step / 2, maxy, step)
    gx, gy = np.meshgrid(xs, ys)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, gx, gy)
    segs = []
    ny, nx = gx.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        y0, y1 = 0, ny - dy
        x0, x1 = max(0, -dx), nx - max(0, dx)
        a_in = inside[y0:y1, x0:x1] & inside[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
        ax = gx[y0:y1, x0:x1][a_in]
        ay = gy[y0:y1, x0:x1][a_in]
        bx = gx[y0 + dy : y1 + dy, x0 + dx : x1 + dx][a_in]
        by = gy[y0 + dy : y1 + dy, x0 + dx : x1 + dx][a_in]
        segs.append(np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], axis=1))
    segs = np.concatenate(segs) if segs else np.zeros((0, 2, 2))
    if len(segs):
        ok = shapely.covered_by(shapely.linestrings(segs), area)
        segs = segs[ok]
    return segs


def build_walk_network(
    site: Site,
    barriers: Sequence[Barrier],
    *,
    points: Mapping[str, Point] | None = None,
    candidate_crossings: Sequence[Crossing] = (),
    snap_tolerance_m: float = 1.0,
) -> WalkNetwork:
    """Build the barrier-aware walking network of ``site`` with ``barriers`` active.

    Args:
        site: the site (working CRS, metres).
        barriers: the active barriers (e.g. ``scenario.active_barriers``).
        points: extra places to connect, name -> point (e.g. ``"facility:workshop:12"``).
        candidate_crossings: crossings that may be built; their ends are attached but their
            edges are only used when switched on (``crossings_on=``).
        snap_tolerance_m: a path end this close to another path is joined to it.

    Raises:
        ModelError: a key is used twice (a point named like a firm key, duplicate crossing ids).
    """
    t0 = time.perf_counter()
    barriers = tuple(barriers)
    bands = [b.band for b in barriers]
    blocker = None
    band_union = None
    if bands:
        band_union = shapely.union_all(bands)
        blocker = band_union.buffer(-_SIDE_EPS_M)
        if blocker.is_empty:
            blocker = None
        else:
            shapely.prepare(blocker)

    # 1. walkable segments
    derived = False
    if site.paths:
        lines = [p.line for p in site.paths]
        noded = shapely.node(MultiLineString([list(l.coords) for l in lines]))
        seg_xy, _ = _segments_of([noded])
        # which path each noded segment came from (for labels): nearest original path
        path_tree = shapely.STRtree(lines)
        mids = shapely.points((seg_xy[:, 0] + seg_xy[:, 1]) / 2.0)
        # query_nearest returns (2, k): input index, tree index
        nearest = path_tree.query_nearest(mids, all_matches=False) if len(mids) else np.zeros((2, 0), dtype=int)
        seg_path = np.empty(len(seg_xy), dtype=np.int64)
        seg_path[nearest[0]] = nearest[1]
        seg_ref = [site.paths[i].id for i in seg_path]
    else:
        derived = True
        seg_xy = _derive_open_space_segments(site, bands)
        seg_ref = ["open-space"] * len(seg_xy)

    # 2. remove everything inside an active band
    if band_union is not None and len(seg_xy):
        seg_geoms = shapely.linestrings(seg_xy)
        shapely.prepare(band_union)
        hit = shapely.intersects(seg_geoms, band_union)
        if hit.any():
            idx = np.flatnonzero(hit)
            cut = shapely.difference(seg_geoms[idx], band_union)
            new_xy, src = _segments_of(list(cut))
            keep = ~hit
            new_ref = [seg_ref[idx[s]] for s in src]
            seg_ref = [r for r, k in zip(seg_ref, keep) if k] + new_ref
            seg_xy = np.concatenate([seg_xy[keep], new_xy]) if len(new_xy) else seg_xy[keep]

    b = _Builder(seg_xy, seg_ref, blocker)

    # 3. join dangling path ends that nearly meet another path
    if snap_tolerance_m > 0 and len(seg_xy) and not derived:
        deg = np.bincount(np.r_[b.seg_u, b.seg_v], minlength=b.n)
        incident: dict[int, list[int]] = {}
        for s, (u, v) in enumerate(zip(b.seg_u, b.seg_v)):
            if deg[u] == 1:
                incident.setdefault(int(u), []).append(s)
            if deg[v] == 1:
                incident.setdefault(int(v), []).append(s)
        base_coords = b.coords[0]
        for node, segs in incident.items():
            p = base_coords[node]
            hit = b.nearest_reachable(p, max_dist=snap_tolerance_m, exclude=set(segs))
            if hit is None:
                continue
            seg, t, q, d = hit
            other = b.node_at(seg, t, q)
            if other != node:
                b.add_edge(node, other, d, "path", "snap")

    # 4. existing crossings
    unreachable: list[str] = []
    dropped: list[tuple[str, str]] = []
    active_ids = {x.id for x in barriers}
    for c in site.crossings:
        if not c.existing:
            continue
        ends = _attach_crossing(b, c, band_union)
        if ends is None:
            if c.barrier_id in active_ids:
                dropped.append((c.id, "existing crossing: an end reaches no walkable path"))
            continue
        b.add_edge(ends[0], ends[1], c.length_m, "crossing", c.id, geom=c.line)

    # 5. firms and extra points
    access: dict[str, tuple[int, ...]] = {}
    access_xy: dict[str, np.ndarray] = {}

    def add_key(key: str, entrances: Sequence[Point]):
        if key in access:
            raise ModelError(f"network key {key!r} is used twice")
        nodes = []
        for e in entrances:
            p = np.asarray(e.coords[0][:2], dtype=float)
            got = b.attach(p)
            if got is None:
                continue
            far, q, d = got
            node = b.add_node(p)
            b.add_edge(node, far, d, "connector", key)
            nodes.append(node)
        access[key] = tuple(nodes)
        access_xy[key] = np.asarray([e.coords[0][:2] for e in entrances], dtype=float).reshape(-1, 2)
        if not nodes:
            unreachable.append(key)

    for f in site.firms:
        ents = f.entrances or (f.location,)
        add_key(firm_key(f.id), ents)
    for name, pt in (points or {}).items():
        add_key(str(name), (pt,))

    # 6. candidate crossings: ends attached, edges kept aside
    cands: list[Crossing] = []
    cend: list[tuple[int, int]] = []
    seen: set[str] = set()
    for c in candidate_crossings:
        if c.id in seen:
            raise ModelError(f"candidate crossing id {c.id!r} is used twice")
        seen.add(c.id)
        ends = _attach_crossing(b, c, band_union, kind_ref=c.id)
        if ends is None:
            dropped.append((c.id, "an end reaches no walkable path on its side"))
            continue
        cands.append(c)
        cend.append(ends)

    coords, u, v, w, kind, ref, geoms = b.finish()
    csr = _build_csr(u, v, w, coords.shape[0])
    net = WalkNetwork(
        coords=coords,
        csr=csr,
        node_of={k: a[0] for k, a in access.items() if a},
        access=access,
        access_xy=access_xy,
        candidates=tuple(cands),
        candidate_ends=np.asarray(cend, dtype=np.int64).reshape(-1, 2),
        unreachable=tuple(unreachable),
        edge_u=u,
        edge_v=v,
        edge_length_m=w,
        edge_kind=kind,
        edge_ref=ref,
        edge_geoms=geoms,
        barriers=barriers,
        crs=site.crs,
        dropped_candidates=tuple(dropped),
        derived=derived,
    )
    net.build_seconds = time.perf_counter() - t0
    return net


def _attach_crossing(b: _Builder, c: Crossing, band_union, kind_ref: str | None = None):
    """Attach both ends of a crossing: (node at first end, node at last end) or ``None``.

    An end drawn inside a band is moved along the crossing's line to where it leaves the
    bands (the crossing edge keeps its full ``length_m``)."""
    xy = np.asarray(c.line.coords)[:, :2]
    ends = []
    for end_xy, other in ((xy[0], xy[-1]), (xy[-1], xy[0])):
        p = end_xy
        if b.blocker is not None and shapely.intersects(shapely.points(p), b.blocker):
            p = _exit_point(c.line, end_xy, band_union)
            if p is None:
                return None
        got = b.attach(p)
        if got is None:
            return None
        far, q, d = got
        node = b.add_node(p)
        b.add_edge(node, far, d, "connector", kind_ref or c.id)
        ends.append(node)
    return ends[0], ends[1]


def _exit_point(line: LineString, end_xy: np.ndarray, band_union) -> np.ndarray | None:
    """First point of ``line`` outside ``band_union`` walking from the end ``end_xy``."""
    outside = line.difference(band_union)
    if outside.is_empty:
        return None
    best = None
    start = Point(end_xy)
    d0 = line.project(start)
    for part in shapely.get_parts(outside):
        for pxy in (part.coords[0], part.coords[-1]):
            s = abs(line.project(Point(pxy)) - d0)
            if best is None or s < best[0]:
                best = (s, np.asarray(pxy[:2], dtype=float))
    if best is None:
        return None
    # nudge a little further out so the point is strictly outside the band
    p = best[1]
    direction = p - end_xy
    norm = float(np.hypot(*direction))
    if norm > 0:
        p = p + direction / norm * (2 * _SIDE_EPS_M)
    return p


# --------------------------------------------------------------------------------------
# candidate crossings
# --------------------------------------------------------------------------------------


def generate_candidate_crossings(
    site: Site, barriers: Sequence[Barrier], spec: CrossingSpec
) -> tuple[Crossing, ...]:
    """Candidate new crossings along the active barriers, plus ``spec.explicit``.

    Every ``spacing`` metres along each selected barrier's centre line (positions centred on
    the line), one candidate per allowed type that suits the barrier's kind
    (:data:`SENSIBLE_CROSSING_TYPES`), each a straight line perpendicular to the centre line
    from 2 m outside one side of the band to 2 m outside the other, costed from its
    :class:`CrossingTypeSpec`. Ids are ``"<barrier>-<fb|sig|up|br>-<NNN>"`` (NNN = position
    number, shared by the types at one place).

    ``spec.spacing_m`` None uses the site's crossing rule for the barrier (its spacing, and
    its types intersected with ``spec.types``; a barrier with no rule gets none); 0 generates
    none. A position is skipped when it is within spacing/2 of an existing crossing of that
    barrier, or when an end falls inside another active band or a fixed firm's footprint.

    Raises:
        ModelError: ``spec.barriers`` names a barrier the site does not have, or two
            candidates share an id.
    """
    barriers = tuple(barriers)
    active = {b.id: b for b in barriers}
    site_ids = {b.id for b in site.barriers} | set(active)
    if spec.barriers is not None:
        unknown = [x for x in spec.barriers if x not in site_ids]
        if unknown:
            raise ModelError(f"crossings.barriers names unknown barrier(s): {', '.join(unknown)}")
        selected = [active[x] for x in spec.barriers if x in active]
    else:
        selected = list(barriers)
    type_specs = {t.type: t for t in spec.types}
    rules = {r.barrier_id: r for r in site.crossing_rules}
    fixed = [f.footprint for f in site.firms if f.fixed and f.footprint is not None]
    fixed_union = shapely.union_all(fixed) if fixed else None

    out: list[Crossing] = []
    for bar in selected:
        if spec.spacing_m is None:
            rule = rules.get(bar.id)
            if rule is None:
                continue
            spacing = float(rule.spacing_m)
            allowed = [t for t in type_specs if (not rule.types or t in rule.types)]
        else:
            spacing = float(spec.spacing_m)
            allowed = list(type_specs)
        if spacing <= 0:
            continue
        sensible = SENSIBLE_CROSSING_TYPES.get(BarrierKind(bar.kind), ())
        types = [t for t in allowed if t in sensible]
        if not types:
            continue
        others = [o.band for o in barriers if o.id != bar.id]
        other_union = shapely.union_all(others) if others else None
        existing = [c.line for c in site.crossings if c.existing and c.barrier_id == bar.id]
        existing_union = shapely.union_all(existing) if existing else None
        line = bar.centreline
        length = float(line.length)
        n = max(1, int(math.floor(length / spacing)))
        if length < spacing:
            positions = [length / 2.0]
        else:
            offset = (length - (n - 1) * spacing) / 2.0
            positions = [offset + i * spacing for i in range(n)]
        half = bar.width_m / 2.0 + _CROSSING_END_MARGIN_M
        own = bar.band
        for i, s in enumerate(positions, start=1):
            p = np.asarray(line.interpolate(s).coords[0][:2])
            a = np.asarray(line.interpolate(max(0.0, s - 1.0)).coords[0][:2])
            c2 = np.asarray(line.interpolate(min(length, s + 1.0)).coords[0][:2])
            tan = c2 - a
            tn = float(np.hypot(*tan))
            if tn == 0:
                continue
            nrm = np.array([-tan[1], tan[0]]) / tn
            e1, e2 = p + nrm * half, p - nrm * half
            cl = LineString([e1, e2])
            ends = shapely.points([e1, e2])
            if existing_union is not None and cl.distance(existing_union) < spacing / 2.0:
                continue
            if shapely.intersects(ends, own).any():  # bend: the line does not clear the band
                continue
            if other_union is not None and shapely.intersects(ends, other_union).any():
                continue
            if fixed_union is not None and shapely.intersects(ends, fixed_union).any():
                continue
            for t in types:
                ts = type_specs[t]
                out.append(
                    Crossing(
                        id=f"{bar.id}-{_TYPE_ABBR.get(t, t[:3])}-{i:03d}",
                        name=f"{t} across {bar.name} at {s:.0f} m",
                        barrier_id=bar.id,
                        type=t,
                        line=cl,
                        penalty_m=float(ts.penalty_m),
                        cost_gbp=float(ts.cost_gbp),
                        existing=False,
                        provenance=Provenance(
                            source=f"generated every {spacing:g} m along {bar.id}",
                            status="derived",
                        ),
                    )
                )
    out.extend(spec.explicit)
    ids = [c.id for c in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise ModelError(f"candidate crossing ids used twice: {', '.join(dup)}")
    return tuple(out)
