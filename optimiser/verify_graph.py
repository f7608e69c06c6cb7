"""The independent verifier's own walking graph (:mod:`optimiser.verify`, whose docstring says what it
is built from), its shortest walks, and the walks of recent layouts kept for re-verification.

Like the verifier, it imports nothing from :mod:`optimiser.network`.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from optimiser.inputs.domain import Crossing, Scenario
from optimiser.inputs.geometry import distinct_lines
from optimiser.inputs.overlaps import merge_overlaps

logger = logging.getLogger(__name__)

SNAP_M = 1.0
"""A footpath end this close to another footpath is joined to it (metres)."""
NODE_TOLERANCE_M = 1e-3
"""Points closer than this are one node (metres)."""
SIDE_EPS_M = 1e-3
"""Bands are shrunk by this much when testing whether a connector enters one (metres)."""
_ZERO_EDGE_M = 1e-9  # SciPy drops stored zeros; a zero-length connector keeps this length
_TIE_M = 5e-3  # two walkable points this much nearer or farther are equally near (see network.builder.TIE_M)
WALK_DECIMALS = 6
"""Walks are reported to the micrometre, so that a walk no crossing changes reads the same
before and after (the graphs differ in where path segments are split, which moves the last
bits of a floating-point sum)."""

@dataclass
class PlainGraph:
    """The verifier's own walking graph.

    Attributes:
        csr: symmetric edge lengths (m) between nodes, the new crossings included (no cap).
        access: key (``firm:<id>``, a candidate site key, ``existing:...``) -> its nodes.
        xy: node coordinates (m).
        new_edges: the chosen new crossings as (node, node, length m).
        max_new: most new crossings one walk may use (``None``: no limit).
        base_csr: ``csr`` without the new crossings (``None``: none were built).
    """

    csr: sp.csr_matrix
    access: dict[str, tuple[int, ...]]
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    new_edges: tuple[tuple[int, int, float], ...] = ()
    max_new: int | None = None
    base_csr: sp.csr_matrix | None = None

    def walk_graph(self) -> tuple[sp.csr_matrix, int]:
        """The graph the walks run on and its number of layers.

        One layer (the base graph plus the new crossings) when the cap cannot bind; else
        ``max_new + 1`` copies of the base graph, node ``i`` of layer ``l`` numbered
        ``l * n + i``, each new crossing a directed edge from layer ``l`` to layer ``l + 1``
        both ways over it: a walk reaching a node in layer ``l`` has used ``l`` new crossings.
        """
        if self.base_csr is None or self.max_new is None or self.max_new >= len(self.new_edges):
            return self.csr, 1
        base = self.base_csr
        n = base.shape[0]
        u = np.array([e[0] for e in self.new_edges], dtype=np.int64)
        v = np.array([e[1] for e in self.new_edges], dtype=np.int64)
        w = np.array([e[2] for e in self.new_edges], dtype=float)
        layers = self.max_new + 1
        blocks = sp.block_diag([base] * layers, format="csr")
        rows, cols, vals = [], [], []
        for layer in range(self.max_new):
            lo, hi = layer * n, (layer + 1) * n
            rows += [lo + u, lo + v]
            cols += [hi + v, hi + u]
            vals += [w, w]
        up = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=blocks.shape)
        return (blocks + up).tocsr(), layers


def _with_edges(csr: sp.csr_matrix, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """``csr`` plus symmetric edges ``u``-``v`` of lengths ``w``; the shorter where two meet."""
    coo = csr.tocoo()
    r, c, d = np.r_[coo.row, u, v], np.r_[coo.col, v, u], np.r_[coo.data, w, w]
    order = np.lexsort((d, c, r))
    r, c, d = r[order], c[order], d[order]
    first = np.r_[True, (np.diff(r) != 0) | (np.diff(c) != 0)]
    return sp.csr_matrix((d[first], (r[first], c[first])), shape=csr.shape)


class _GraphBuilder:
    """Walkable segments, split where something joins them, plus connector and crossing edges."""

    def __init__(self, segments: np.ndarray, blocker: BaseGeometry | None):
        self.seg = segments.reshape(-1, 2, 2)
        self.blocker = blocker
        ends = self.seg.reshape(-1, 2)
        keys = np.round(ends / NODE_TOLERANCE_M).astype(np.int64)
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        self.xy: list[np.ndarray] = [ends[i] for i in first]
        inv = inv.reshape(-1)
        self.seg_a, self.seg_b = inv[0::2], inv[1::2]
        self.splits: dict[int, list[tuple[float, int]]] = {}
        self.edges: list[tuple[int, int, float]] = []
        d = self.seg[:, 1] - self.seg[:, 0]
        self.len2 = np.einsum("ij,ij->i", d, d)

    def copy(self) -> _GraphBuilder:
        """An independent builder in the same state (the segments, read-only, are shared)."""
        other = copy.copy(self)
        other.xy = list(self.xy)
        other.splits = {s: list(v) for s, v in self.splits.items()}
        other.edges = list(self.edges)
        return other

    def node(self, xy: np.ndarray) -> int:
        self.xy.append(np.asarray(xy, dtype=float))
        return len(self.xy) - 1

    def _blocked(self, p: np.ndarray, q: np.ndarray) -> bool:
        if self.blocker is None:
            return False
        # np.allclose(p, q), written out for two coordinates (it is called for every candidate)
        same = all(abs(float(a) - float(b)) <= 1e-8 + 1e-5 * abs(float(b)) for a, b in zip(p, q))
        geom = Point(p) if same else LineString([p, q])
        return bool(self.blocker.intersects(geom))

    def nearest_all(self, p: np.ndarray) -> list[tuple[int, float, np.ndarray, float]]:
        """Every (segment, t, point, distance) as near to ``p`` as the nearest reachable walkable
        point (ties within 1e-6 m); empty if nothing is reachable."""
        hit = self.nearest(p)
        if hit is None:
            return []
        out = [hit]
        d0 = hit[3]
        skip = {hit[0]}
        while (more := self.nearest(p, d0 + _TIE_M, frozenset(skip))) is not None:
            out.append(more)
            skip.add(more[0])
        return out

    def nearest(self, p: np.ndarray, max_m: float = math.inf, skip: frozenset[int] = frozenset()):
        """(segment, t, point, distance) of the nearest walkable point reached from ``p`` by a
        straight line that enters no active band, or ``None``."""
        if len(self.seg) == 0 or (self.blocker is not None and self.blocker.intersects(Point(p))):
            return None
        a = self.seg[:, 0]
        ab = self.seg[:, 1] - a
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(self.len2 > 0, np.einsum("ij,ij->i", p - a, ab) / self.len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        q = a + t[:, None] * ab
        d = np.hypot(q[:, 0] - p[0], q[:, 1] - p[1])
        for s in np.argsort(d, kind="stable"):
            if d[s] > max_m + 1e-9:
                return None
            if int(s) in skip:
                continue
            if not self._blocked(p, q[s]):
                return int(s), float(t[s]), q[s], float(d[s])
        return None

    def node_on(self, s: int, t: float, q: np.ndarray) -> int:
        """The node at parameter ``t`` of segment ``s``: an end, or a split point."""
        length = math.sqrt(self.len2[s])
        if t * length <= NODE_TOLERANCE_M:
            return int(self.seg_a[s])
        if (1.0 - t) * length <= NODE_TOLERANCE_M:
            return int(self.seg_b[s])
        for tt, n in self.splits.setdefault(s, []):
            if abs(tt - t) * length <= NODE_TOLERANCE_M:
                return n
        n = self.node(q)
        self.splits[s].append((t, n))
        return n

    def join(self, p: np.ndarray, *, ties: bool = True) -> int | None:
        """A new node at ``p`` with a connector to the nearest reachable walkable point (to each
        of them when several are equally near; with ``ties=False`` to the one of least x, then y,
        to the millimetre: a new crossing's end, which has one approach)."""
        hits = self.nearest_all(p)
        if not hits:
            return None
        if not ties:
            hits = [min(hits, key=lambda h: tuple(int(v) for v in np.round(np.asarray(h[2], dtype=float)[:2] / NODE_TOLERANCE_M)))]
        n = self.node(p)
        for s, t, q, d in hits:
            self.edges.append((n, self.node_on(s, t, q), d))
        return n

    def join_each(self, p: np.ndarray) -> list[int]:
        """A new node at ``p`` for each equally near reachable walkable point, each with its own
        connector (a firm's entrance: either path, but no walk from one to the other through
        it); empty if nothing is reachable."""
        out: list[int] = []
        joined: set[int] = set()
        n = self.node(p) if (hits := self.nearest_all(p)) else -1
        for s, t, q, d in hits:
            far = self.node_on(s, t, q)
            if far in joined:
                continue
            if joined:
                n = self.node(p)
            joined.add(far)
            out.append(n)
            self.edges.append((n, far, d))
        return out

    def csr(self) -> sp.csr_matrix:
        xy = np.asarray(self.xy).reshape(-1, 2)
        rows: list[tuple[int, int, float]] = list(self.edges)
        for s in range(len(self.seg)):
            chain = [int(self.seg_a[s])] + [n for _, n in sorted(self.splits.get(s, []))] + [int(self.seg_b[s])]
            rows += [(u, v, float(np.hypot(*(xy[u] - xy[v])))) for u, v in zip(chain[:-1], chain[1:])]
        best: dict[tuple[int, int], float] = {}
        for u, v, w in rows:
            if u == v:
                continue
            key = (min(u, v), max(u, v))
            best[key] = min(w, best.get(key, math.inf))
        n = len(xy)
        if not best:
            return sp.csr_matrix((n, n))
        (us, vs), ws = zip(*best.keys()), [max(w, _ZERO_EDGE_M) for w in best.values()]
        return sp.csr_matrix((np.r_[ws, ws], (np.r_[us, vs], np.r_[vs, us])), shape=(n, n))


def _segments(lines: Sequence[BaseGeometry]) -> np.ndarray:
    """Straight non-degenerate segments (m, 2, 2) of line geometries."""
    out = []
    for g in lines:
        for part in shapely.get_parts(g):
            xy = np.asarray(part.coords)[:, :2]
            out += [(xy[i], xy[i + 1]) for i in range(len(xy) - 1) if np.hypot(*(xy[i + 1] - xy[i])) > 0]
    return np.asarray(out, dtype=float).reshape(-1, 2, 2)


def _footpath_segments(scenario: Scenario, band_union: BaseGeometry | None) -> np.ndarray:
    """The site's footpaths, noded where they cross, with everything inside an active band cut out."""
    lines = [p.line for p in scenario.site.paths]
    merged, _ = merge_overlaps([lines[i] for i in distinct_lines(lines)])  # copies, overlaps: once
    noded = shapely.node(MultiLineString([list(ln.coords) for ln in merged]))
    if band_union is not None:
        noded = noded.difference(band_union)
    return _segments([noded])


def _snap_dangling_ends(b: _GraphBuilder) -> None:
    """Join each footpath end that touches nothing to a footpath within :data:`SNAP_M`."""
    degree = np.bincount(np.r_[b.seg_a, b.seg_b], minlength=len(b.xy))
    for end in np.flatnonzero(degree == 1):
        own = frozenset(int(s) for s in np.flatnonzero((b.seg_a == end) | (b.seg_b == end)))
        hit = b.nearest(b.xy[end], max_m=SNAP_M, skip=own)
        if hit is not None:
            s, t, q, d = hit
            other = b.node_on(s, t, q)
            if other != end:
                b.edges.append((int(end), other, d))


def _crossing_end(line: LineString, end: np.ndarray, b: _GraphBuilder, band_union: BaseGeometry | None) -> np.ndarray | None:
    """Where a crossing's end meets walkable ground: the end itself, or, for an end drawn inside
    a band, the first point of its line outside the bands (nudged just outside)."""
    if b.blocker is None or not b.blocker.intersects(Point(end)):
        return end
    assert band_union is not None
    outside = line.difference(band_union)
    if outside.is_empty:
        return None
    along = line.project(Point(end))
    pts = [np.asarray(c[:2], dtype=float) for part in shapely.get_parts(outside) for c in (part.coords[0], part.coords[-1])]
    p = min(pts, key=lambda xy: abs(line.project(Point(xy)) - along))
    direction = p - end
    norm = float(np.hypot(*direction))
    return p + direction / norm * (2 * SIDE_EPS_M) if norm > 0 else p


def _crossing_edge(b: _GraphBuilder, c: Crossing, band_union: BaseGeometry | None, *,
                   new: bool = False) -> tuple[int, int, float] | None:
    """The edge over the barrier (line length plus penalty), both ends joined (a ``new``
    crossing's end to one walkable point, an existing one's to each equally near); ``None`` if an
    end reaches no walkable ground."""
    xy = np.asarray(c.line.coords)[:, :2]
    nodes = []
    for end in (xy[0], xy[-1]):
        p = _crossing_end(c.line, end, b, band_union)
        n = b.join(p, ties=not new) if p is not None else None
        if n is None:
            return None
        nodes.append(n)
    return nodes[0], nodes[1], float(c.line.length) + float(c.penalty_m)


@dataclass
class GraphBase:
    """The part of the verifier's graph that no decision changes: footpaths, existing crossings
    and every place joined (:func:`graph_base`). Each :func:`build_plain_graph` given it works on
    its own copy, so one base serves the baseline, the layout and every layout of the
    attribution, and gives the graph :func:`build_plain_graph` alone would build."""

    builder: _GraphBuilder
    access: dict[str, tuple[int, ...]]
    band_union: BaseGeometry | None
    walk_memo: dict[tuple[object, ...], tuple[PlainGraph, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)
    """The last few layouts' graphs and walks from the firms (:func:`layout_walks`), by the new
    crossings built: the attribution re-verifies the layout without each item, and every item but
    a crossing leaves the graph as it was."""


WALK_MEMO_ENTRIES = 3
"""Layouts whose graph and walks a :class:`GraphBase` keeps (the least recently used goes first)."""

WALK_MEMO_MAX_BYTES = 64 * 2**20
"""Most bytes of walks a :class:`GraphBase` keeps: a layout's walks are firms x graph nodes
floats (60 firms on 20,000 nodes: 9.6 MB); larger ones are not kept (a large district's
attribution then recomputes them, as before the memo), so the run's peak memory stays where the
solve put it."""


def layout_walks(scenario: Scenario, points: dict[str, Sequence[Point]], crossings: Sequence[tuple[int, Crossing]],
                 origins: Sequence[str], open_space_segments: np.ndarray | None = None, *, max_new: int | None = None,
                 base: GraphBase | None = None, tied_keys: Collection[str] | None = None) -> tuple[PlainGraph, np.ndarray]:
    """The walking graph with ``crossings`` ((candidate index, crossing) pairs) built
    (:func:`build_plain_graph`) and the walks from each of ``origins`` to every node of it
    (:func:`walks_from_m`); kept in ``base``'s memo (:data:`WALK_MEMO_ENTRIES`) and read back
    for the same crossings, origins and cap."""
    key = (tuple(i for i, _ in crossings), max_new, tuple(origins))
    memo = base.walk_memo if base is not None else None
    if memo is not None and key in memo:
        memo[key] = memo.pop(key)  # most recently used last
        return memo[key]
    graph = build_plain_graph(scenario, points, [c for _, c in crossings], open_space_segments, max_new=max_new,
                              base=base, tied_keys=tied_keys)
    walks = walks_from_m(graph, origins)
    if memo is not None and walks.nbytes <= WALK_MEMO_MAX_BYTES:
        memo[key] = (graph, walks)
        while len(memo) > WALK_MEMO_ENTRIES or sum(w.nbytes for _, w in memo.values()) > WALK_MEMO_MAX_BYTES:
            del memo[next(iter(memo))]
    return graph, walks


def graph_base(scenario: Scenario, points: dict[str, Sequence[Point]],
               open_space_segments: np.ndarray | None = None, *, tied_keys: Collection[str] | None = None) -> GraphBase:
    """The verifier's graph of ``scenario`` before any new crossing: footpaths (or
    ``open_space_segments`` for a site without them), existing crossings, ``points`` joined:
    those of ``tied_keys`` (firm entrances; ``None``: every key) by one node per equally near
    walkable point (:meth:`_GraphBuilder.join_each`), the others (sites, stops, which may never
    be built) to one of them, the network's rule (:class:`optimiser.network.builder._Access`)."""
    bands = [bar.band for bar in scenario.active_barriers]
    band_union = shapely.union_all(bands) if bands else None
    blocker = band_union.buffer(-SIDE_EPS_M) if band_union is not None else None
    if blocker is not None and blocker.is_empty:
        blocker = None
    if blocker is not None:
        shapely.prepare(blocker)
    has_paths = bool(scenario.site.paths)
    segs = _footpath_segments(scenario, band_union) if has_paths else np.asarray(open_space_segments).reshape(-1, 2, 2)
    b = _GraphBuilder(segs, blocker)
    if has_paths:
        _snap_dangling_ends(b)
    active = {bar.id for bar in scenario.active_barriers}
    switched_off = {bar.id for bar in scenario.site.barriers} - active
    for c in scenario.site.crossings:
        if c.existing and c.barrier_id not in switched_off:  # no barrier, no crossing
            edge = _crossing_edge(b, c, band_union)
            if edge is not None:
                b.edges.append(edge)
    access = {}
    for key, pts in points.items():
        xys = [np.asarray(p.coords[0][:2], dtype=float) for p in pts]
        if tied_keys is None or key in tied_keys:
            access[key] = tuple(n for xy in xys for n in b.join_each(xy))
        else:
            access[key] = tuple(n for xy in xys if (n := b.join(xy, ties=False)) is not None)
    return GraphBase(b, access, band_union)


def build_plain_graph(scenario: Scenario, points: dict[str, Sequence[Point]], crossings: Sequence[Crossing],
                      open_space_segments: np.ndarray | None = None, *, max_new: int | None = None,
                      base: GraphBase | None = None, tied_keys: Collection[str] | None = None) -> PlainGraph:
    """The verifier's walking graph of ``scenario`` with ``crossings`` (new ones) built.

    Args:
        scenario: the scenario (its site, active barriers and existing crossings).
        points: key -> the points to join (a firm's entrances, a site's centre).
        crossings: the chosen new crossings.
        open_space_segments: (m, 2, 2) walkable segments for a site without footpaths.
        max_new: most new crossings one walk may use (``None``: no limit).
        tied_keys: keys joined by one node per equally near walkable point (firm entrances), as
            :func:`graph_base` takes them; ``None``: every key.
        base: :func:`graph_base` of the same scenario and points, built once for several
            layouts (``None``: built here).
    """
    base = base if base is not None else graph_base(scenario, points, open_space_segments, tied_keys=tied_keys)
    b, access, band_union = base.builder.copy(), dict(base.access), base.band_union
    new_edges = []
    for c in crossings:
        edge = _crossing_edge(b, c, band_union, new=True)
        if edge is None:
            logger.warning("verification graph: chosen crossing %s reaches no walkable ground at an end", c.id)
        else:
            new_edges.append(edge)
    base = b.csr()
    xy = np.asarray(b.xy, dtype=float).reshape(-1, 2)
    if not new_edges:
        return PlainGraph(base, access, xy, (), max_new)
    u, v, w = (np.array([e[i] for e in new_edges]) for i in range(3))
    return PlainGraph(_with_edges(base, u, v, w), access, xy, tuple(new_edges), max_new, base)


def walks_from_m(graph: PlainGraph, origins: Sequence[str]) -> np.ndarray:
    """Shortest walking lengths (m) from each origin key to every node of ``graph``: shape
    (len(origins), nodes), inf where no walk; one Dijkstra from all the origins' access nodes,
    which :func:`lengths_to_m` reads for any targets."""
    n = graph.csr.shape[0]
    best = np.full((len(origins), n), np.inf)  # from each origin (its nearest access node) to every node
    sources = sorted({n for k in origins for n in graph.access.get(k, ())})
    if not sources:
        return best
    csr, layers = graph.walk_graph()
    dist = dijkstra(csr, directed=layers > 1, indices=sources)
    if layers > 1:  # a node's length is its best over the numbers of new crossings used
        dist = dist.reshape(len(sources), layers, -1).min(axis=1)
    row = {s: i for i, s in enumerate(sources)}
    for i, k in enumerate(origins):
        nodes = graph.access.get(k, ())
        if nodes:
            best[i] = dist[[row[s] for s in nodes]].min(axis=0)
    return best


def lengths_to_m(graph: PlainGraph, walks_m: np.ndarray, targets: Sequence[str]) -> np.ndarray:
    """Shortest walking lengths (m) from the origins of ``walks_m`` (:func:`walks_from_m` on
    ``graph``) to each target key (inf: no walk), rounded to :data:`WALK_DECIMALS`."""
    out = np.full((walks_m.shape[0], len(targets)), np.inf)
    for j, t in enumerate(targets):
        nodes = graph.access.get(t, ())
        if nodes:
            out[:, j] = walks_m[:, list(nodes)].min(axis=1)
    return np.round(out, WALK_DECIMALS)


def walk_lengths_m(graph: PlainGraph, origins: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """Shortest walking lengths (m) from each origin key to each target key (inf: no walk)."""
    return lengths_to_m(graph, walks_from_m(graph, origins), targets)
