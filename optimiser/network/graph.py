"""The barrier-aware walking network: the :class:`WalkNetwork` data type and its lookups.

The graph's edges never enter an active barrier's band; existing crossings are edges of
length ``Crossing.length_m``; firms and extra points (candidate facility / social-space
sites) are attached to the nearest walkable point *on their own side* of every barrier
(see :mod:`optimiser.network.builder`, which builds it).

Candidate crossings are not in the base graph. Their two ends are attached to the network,
so walking lengths with any subset of them switched on are combined exactly from base-graph
lengths between key places and crossing ends (no rebuild; :mod:`optimiser.network.distances`):

    len(s, t | C) = min( base(s, t),  min_{a, b in ends(C)} base(s, a) + close_C(a, b) + base(b, t) )

where ``close_C`` is the all-pairs shortest length among the ends of ``C`` using base lengths
plus the crossing edges. This is exact because every shortest path in base + C splits at the
crossing ends it uses into base-graph shortest paths.

Every length is metres (``*_m``); coordinates are the site's working CRS (metres).

A firm may have several entrances; its walking length to anything is the minimum over its
entrances. Firms are *not* single graph nodes with zero-length links to each entrance, as
that would let walkers cut through other firms' buildings; for the same reason an entrance
equally near several paths is one access node per path, each with its own connector (a candidate
site or stop joins one path). ``WalkNetwork.access`` maps each key to its access nodes and
``WalkNetwork.node_of`` to the first of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from shapely.geometry import LineString

from optimiser.inputs.domain import Barrier, Crossing
from optimiser.network import distances, walks
from optimiser.network.csr import EDGE_KINDS

__all__ = ["WalkNetwork", "NetworkCache", "firm_key", "EDGE_KINDS"]

logger = logging.getLogger(__name__)


def firm_key(firm_id: str) -> str:
    """Key of a firm in a :class:`WalkNetwork` (``"firm:<id>"``)."""
    return f"firm:{firm_id}"


@dataclass
class NetworkCache:
    """Lazily filled caches of a :class:`WalkNetwork` (results only; clearing them never
    changes an answer).

    Attributes:
        end_rows: (2k, n) base lengths (m) from every candidate crossing end to every node.
        end_pos: node id of a candidate crossing end -> its row in ``end_rows``.
        key_rows: key -> base lengths (m) to every key, in ``WalkNetwork.access`` order.
        rows: access node (or tuple of nodes) -> base lengths (m) to every node.
        cached_floats: floats held in ``rows``.
        edge_lookup: (min node, max node) -> the shortest base edge between them.
        route_graphs: (candidate crossings on, layers) -> the graph routes are traced on
            (:func:`optimiser.network.walks.route_parts`; the last few).
    """

    end_rows: np.ndarray | None = None
    end_pos: dict[int, int] | None = None
    key_rows: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[int | tuple[int, ...], np.ndarray] = field(default_factory=dict)
    cached_floats: int = 0
    edge_lookup: dict[tuple[int, int], int] | None = None
    route_graphs: dict[tuple[tuple[int, ...], int], Any] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget every cached result."""
        self.end_rows = None
        self.end_pos = None
        self.key_rows.clear()
        self.rows.clear()
        self.cached_floats = 0
        self.edge_lookup = None
        self.route_graphs.clear()


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
        cache: cached shortest-length rows and lookups (:class:`NetworkCache`).

    Computations live in modules, with thin methods here for the most used ones:
    :mod:`~optimiser.network.distances` (walking and straight-line lengths),
    :mod:`~optimiser.network.walks` (the shortest route along real edges) and
    :mod:`~optimiser.network.features` (GeoJSON features, summary counts).
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
    cache: NetworkCache = field(default_factory=NetworkCache, repr=False)

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

    def access_nodes(self, key: str | int) -> tuple[int, ...]:
        """Access nodes of a key (a raw node id stands for itself).

        Raises:
            KeyError: the key is not in the network.
        """
        if isinstance(key, (int, np.integer)):
            return (int(key),)
        try:
            return self.access[key]
        except KeyError:
            raise KeyError(f"unknown network key {key!r}") from None

    def candidate_index(self, crossing_ids: Iterable[str | int | Crossing]) -> np.ndarray:
        """Sorted unique indices into :attr:`candidates` of crossing ids, crossings, or
        (passed through) integer indices.

        Raises:
            KeyError: an unknown id (the message says why it was dropped, if it was) or an
                index out of range.
        """
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

    def edge_geometry(self, e: int) -> LineString:
        """Geometry of base edge ``e`` (a straight segment unless it is a crossing)."""
        g = self.edge_geoms.get(int(e))
        if g is not None:
            return g
        return LineString([self.coords[self.edge_u[e]], self.coords[self.edge_v[e]]])

    # ---- thin wrappers of the most used computations -----------------------------------

    def lengths(
        self,
        sources: Sequence[str | int],
        targets: Sequence[str | int] | None = None,
        crossings_on: Iterable[str | int] = (),
        workers: int | None = None,
    ) -> np.ndarray:
        """Shortest walking lengths (m); see :func:`optimiser.network.distances.lengths`."""
        return distances.lengths(self, sources, targets, crossings_on, workers)

    def key_lengths(self, keys: Sequence[str], crossings_on: Iterable[str | int] = (), workers: int | None = None) -> np.ndarray:
        """Square matrix of walking lengths (m) among ``keys``; see
        :func:`optimiser.network.distances.key_lengths`."""
        return distances.key_lengths(self, keys, crossings_on, workers)

    def crossing_end_lengths(self, keys: Sequence[str | int]) -> np.ndarray:
        """(len(keys), k, 2) base lengths (m) from each key to each candidate crossing end; see
        :func:`optimiser.network.distances.crossing_end_lengths`."""
        return distances.crossing_end_lengths(self, keys)

    def straight_lengths(self, a_names: Sequence[str], b_names: Sequence[str] | None = None) -> np.ndarray:
        """Straight-line lengths (m) between entrances; see
        :func:`optimiser.network.distances.straight_lengths`."""
        return distances.straight_lengths(self, a_names, b_names)

    def route_parts(self, a: str | int, b: str | int, crossings_on: Iterable[str | int] = (),
                    max_new: int | None = None, *, geometry: bool = True) -> list[dict[str, Any]]:
        """The shortest route from ``a`` to ``b`` edge by edge, using at most ``max_new`` of
        ``crossings_on`` (``geometry``: with each edge's); see :func:`optimiser.network.walks.route_parts`."""
        return walks.route_parts(self, a, b, crossings_on, max_new, geometry=geometry)

    def route(self, a: str | int, b: str | int, crossings_on: Iterable[str | int] = (),
              max_new: int | None = None) -> LineString:
        """The shortest route's geometry from ``a`` to ``b``, using at most ``max_new`` of
        ``crossings_on``; see :func:`optimiser.network.walks.route_line`."""
        return walks.route_line(self, a, b, crossings_on, max_new)
