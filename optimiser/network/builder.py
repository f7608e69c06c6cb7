"""Building a :class:`~optimiser.network.graph.WalkNetwork` from a site's geometry.

Pipeline step 3 (design brief section 3): :func:`build_walk_network` turns a site's
footpaths (or, when it has none, a grid graph derived from its open space) into a graph
whose edges never enter an active barrier's band, in steps:

1. walkable segments (paths noded at their intersections, or the open-space grid);
2. everything inside an active band cut away;
3. dangling path ends joined to a path within the snap tolerance;
4. existing crossings as edges of length ``Crossing.length_m`` (those over a switched-off
   barrier left out);
5. firms (one access node per entrance) and extra points attached to the nearest walkable
   point on their own side of every barrier;
6. candidate crossings' ends attached, their edges kept aside (switched on per query).

Every length is metres; coordinates are the site's working CRS.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from optimiser.errors import ModelError
from optimiser.inputs.domain import Barrier, Crossing, Site
from optimiser.inputs.geometry import distinct_lines
from optimiser.inputs.overlaps import merge_overlaps
from optimiser.network.crossings import SIDE_EPS_M, attach_crossing
from optimiser.network.csr import KIND_CODE, build_csr
from optimiser.network.graph import WalkNetwork, firm_key
from optimiser.runclock import checkpoint

__all__ = ["build_walk_network", "GraphBuilder", "segments_of", "derive_open_space_segments"]

logger = logging.getLogger(__name__)

NODE_KEY_M = 1e-3
"""Vertices closer than this (m) are one node."""
TIE_M = 5e-3
"""Two walkable points whose distances from a place differ by at most this (m) are equally near:
an entrance gets a connector to each, so the walk depends neither on the order segments are
stored in nor on the millimetre a site file's format may move a coordinate by (GeoJSON's
lon/lat: a place and two paths each moved by up to 1 mm change the two distances' difference by
up to 4 mm). Not wider: at 1 cm a generated benchmark site (realsites rs013) had gained a
connector, and another model. A candidate crossing's end gets one connector
(:func:`first_of_equally_near`)."""


def first_of_equally_near(feet: Sequence[np.ndarray]) -> int:
    """Index of the walkable point a candidate crossing's end is joined to when several are equally
    near: the least x, then y, each to :data:`NODE_KEY_M` (independent of storage order).

    One connector, because the ends' connectors are part of the network whether or not the
    crossing is built: two would join the paths they reach through the end of a crossing no one
    built (the verifier joins a built crossing's ends by the same rule)."""
    keys = [tuple(np.round(np.asarray(q, dtype=float)[:2] / NODE_KEY_M).astype(np.int64).tolist()) for q in feet]
    return min(range(len(keys)), key=keys.__getitem__)


class GraphBuilder:
    """Mutable graph under construction: straight segments with split points, plus extra
    edges (connectors, crossings).

    Nodes of the segments come from their end coordinates rounded to :data:`NODE_KEY_M`;
    points attached later get new nodes, and a segment an attachment lands inside is split
    at :meth:`finish`.
    """

    def __init__(self, seg_xy: np.ndarray, seg_ref: list[str], blocker: BaseGeometry | None):
        # seg_xy (m, 2, 2); nodes from rounded endpoint coordinates
        self.seg_xy = seg_xy
        self.seg_ref = seg_ref
        self.blocker = blocker  # shrunk union of active bands (prepared), or None
        m = seg_xy.shape[0]
        pts = seg_xy.reshape(-1, 2)
        if m:
            keys = np.round(pts / NODE_KEY_M).astype(np.int64)
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

    def add_node(self, xy: np.ndarray) -> int:
        """A new node at ``xy``; returns its id."""
        self.coords.append(np.asarray(xy, dtype=float).reshape(1, 2))
        self.n += 1
        return self.n - 1

    def add_edge(self, u: int, v: int, w: float, kind: str, ref: str, geom: LineString | None = None) -> None:
        """An extra edge of length ``w`` (m) and kind ``kind`` (see :data:`optimiser.network.csr.EDGE_KINDS`)."""
        if geom is not None:
            self.extra_geom[len(self.extra_u)] = geom
        self.extra_u.append(u)
        self.extra_v.append(v)
        self.extra_w.append(float(w))
        self.extra_kind.append(KIND_CODE[kind])
        self.extra_ref.append(ref)

    def _project(self, segs: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    ) -> tuple[int, float, np.ndarray, float] | None:
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

    def equally_near(self, p: np.ndarray, hit: tuple[int, float, np.ndarray, float]) -> list[tuple[int, float, np.ndarray, float]]:
        """``hit`` and every other reachable walkable point as near to ``p`` (within ``TIE_M``)."""
        seg0, _t0, _q0, d0 = hit
        cand = np.asarray([c for c in self.tree.query(shapely.points(p), predicate="dwithin", distance=d0 + TIE_M)
                           if c != seg0], dtype=np.int64) if self.tree is not None else np.empty(0, np.int64)
        out = [hit]
        if cand.size:
            t, q, d = self._project(cand, p)
            near = d <= d0 + TIE_M
            cand, t, q, d = cand[near], t[near], q[near], d[near]
            if cand.size:
                ok = ~self._blocked(p, q)
                out += [(int(cand[k]), float(t[k]), q[k], float(d[k])) for k in np.flatnonzero(ok)]
        return out

    def connect(self, p: np.ndarray, ref: str, *, ties: bool = True) -> int | None:
        """A new node at ``p`` with a connector edge (ref ``ref``) to the nearest reachable
        walkable point, and to each other one as near (``TIE_M``); ``None`` if none is reachable.
        With ``ties=False`` only to one of them (:func:`first_of_equally_near`)."""
        nodes = self._connect(p, ref, "all" if ties else "one")
        return nodes[0] if nodes else None

    def connect_each(self, p: np.ndarray, ref: str) -> list[int]:
        """A new node at ``p`` for each equally near reachable walkable point (``TIE_M``), each with
        its own connector edge (ref ``ref``); ``[]`` if none is reachable. A firm's entrance: the
        firm steps out to whichever path suits a walk, but no walk passes from one path to the
        other through its door (its plot), as no walk passes between a firm's entrances."""
        return self._connect(p, ref, "each")

    def _connect(self, p: np.ndarray, ref: str, ties: Literal["all", "one", "each"]) -> list[int]:
        """:meth:`connect` (``"all"``, ``"one"``: one node) and :meth:`connect_each` (``"each"``: a
        node per equally near point); the nodes made, ``[]`` if nothing is reachable."""
        hit = self.nearest_reachable(p)
        if hit is None:
            return []
        nodes = [self.add_node(p)]  # before any split node, as the nodes are numbered in order
        hits = self.equally_near(p, hit)
        if ties == "one":
            hits = [hits[first_of_equally_near([h[2] for h in hits])]]
        joined: set[int] = set()
        for seg, t, q, d in hits:
            far = self.node_at(seg, t, q)
            if far in joined:
                continue
            if joined and ties == "each":
                nodes.append(self.add_node(p))
            joined.add(far)
            self.add_edge(nodes[-1], far, d, "connector", ref)
        return nodes

    def node_at(self, seg: int, t: float, q: np.ndarray) -> int:
        """A node at parameter ``t`` of segment ``seg`` (an end node, or a split)."""
        seg_m = math.sqrt(self.seg_len2[seg])
        if t * seg_m <= NODE_KEY_M:
            return int(self.seg_u[seg])
        if (1.0 - t) * seg_m <= NODE_KEY_M:
            return int(self.seg_v[seg])
        lst = self.splits.setdefault(seg, [])
        for tt, node in lst:
            if abs(tt - t) * seg_m <= NODE_KEY_M:
                return node
        node = self.add_node(q)
        lst.append((t, node))
        return node

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str], dict[int, LineString]]:
        """The finished graph: (coords (n, 2), edge_u, edge_v, edge_length_m, edge_kind,
        edge_ref, edge_geoms); split segments become chains of path edges and zero-length
        edges between one node are dropped."""
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
                ks.append(KIND_CODE["path"])
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
                np.full(len(su), KIND_CODE["path"], dtype=np.int8),
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


def segments_of(geoms: Sequence[BaseGeometry]) -> tuple[np.ndarray, np.ndarray]:
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


def derive_open_space_segments(site: Site, bands: Sequence[BaseGeometry], max_nodes: int = 20000) -> np.ndarray:
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
    seg_list: list[np.ndarray] = []
    ny, nx = gx.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        y0, y1 = 0, ny - dy
        x0, x1 = max(0, -dx), nx - max(0, dx)
        a_in = inside[y0:y1, x0:x1] & inside[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
        ax = gx[y0:y1, x0:x1][a_in]
        ay = gy[y0:y1, x0:x1][a_in]
        bx = gx[y0 + dy : y1 + dy, x0 + dx : x1 + dx][a_in]
        by = gy[y0 + dy : y1 + dy, x0 + dx : x1 + dx][a_in]
        seg_list.append(np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], axis=1))
    segs = np.concatenate(seg_list) if seg_list else np.zeros((0, 2, 2))
    if len(segs):
        ok = shapely.covered_by(shapely.linestrings(segs), area)
        segs = segs[ok]
    return segs



# --------------------------------------------------------------------------------------
# the build, step by step
# --------------------------------------------------------------------------------------


def _band_geometries(barriers: Sequence[Barrier]) -> tuple[BaseGeometry | None, BaseGeometry | None]:
    """(union of the active bands, that union shrunk by :data:`SIDE_EPS_M` and prepared, or
    None where empty)."""
    bands = [b.band for b in barriers]
    if not bands:
        return None, None
    band_union = shapely.union_all(bands)
    blocker = band_union.buffer(-SIDE_EPS_M)
    if blocker.is_empty:
        return band_union, None
    shapely.prepare(blocker)
    return band_union, blocker


def _walkable_segments(site: Site, barriers: Sequence[Barrier]) -> tuple[np.ndarray, list[str], bool]:
    """Step 1: (segments (m, 2, 2), the path id of each, derived from open space?)."""
    if not site.paths:
        seg_xy = derive_open_space_segments(site, [b.band for b in barriers])
        return seg_xy, ["open-space"] * len(seg_xy), True
    kept = distinct_lines([p.line for p in site.paths])  # copies of a path: noded once
    # stretches drawn more than once: one line each (no overlap: the lines themselves)
    lines, src = merge_overlaps([site.paths[i].line for i in kept])
    noded = shapely.node(MultiLineString([list(line.coords) for line in lines]))
    seg_xy, _ = segments_of([noded])
    # which path each noded segment came from (for labels): nearest original path
    path_tree = shapely.STRtree(lines)
    mids = shapely.points((seg_xy[:, 0] + seg_xy[:, 1]) / 2.0)
    # query_nearest returns (2, k): input index, tree index
    nearest = path_tree.query_nearest(mids, all_matches=False) if len(mids) else np.zeros((2, 0), dtype=int)
    seg_path = np.empty(len(seg_xy), dtype=np.int64)
    seg_path[nearest[0]] = nearest[1]
    return seg_xy, [site.paths[kept[src[i]]].id for i in seg_path], False


def _cut_bands(seg_xy: np.ndarray, seg_ref: list[str], band_union: BaseGeometry | None) -> tuple[np.ndarray, list[str]]:
    """Step 2: the segments with everything inside an active band removed."""
    if band_union is None or not len(seg_xy):
        return seg_xy, seg_ref
    seg_geoms = shapely.linestrings(seg_xy)
    shapely.prepare(band_union)
    hit = shapely.intersects(seg_geoms, band_union)
    if not hit.any():
        return seg_xy, seg_ref
    idx = np.flatnonzero(hit)
    cut = shapely.difference(seg_geoms[idx], band_union)
    new_xy, src = segments_of(list(cut))
    keep = ~hit
    new_ref = [seg_ref[idx[s]] for s in src]
    seg_ref = [r for r, k in zip(seg_ref, keep) if k] + new_ref
    seg_xy = np.concatenate([seg_xy[keep], new_xy]) if len(new_xy) else seg_xy[keep]
    logger.debug("%d segments cut by active bands into %d pieces", idx.size, len(new_xy))
    return seg_xy, seg_ref


def _snap_dangling_ends(b: GraphBuilder, snap_tolerance_m: float) -> None:
    """Step 3: join each dangling path end to the nearest other path within the tolerance."""
    deg = np.bincount(np.r_[b.seg_u, b.seg_v], minlength=b.n)
    incident: dict[int, list[int]] = {}
    for s, (u, v) in enumerate(zip(b.seg_u, b.seg_v)):
        if deg[u] == 1:
            incident.setdefault(int(u), []).append(s)
        if deg[v] == 1:
            incident.setdefault(int(v), []).append(s)
    base_coords = b.coords[0]
    snapped = 0
    for node, segs in incident.items():
        hit = b.nearest_reachable(base_coords[node], max_dist=snap_tolerance_m, exclude=set(segs))
        if hit is None:
            continue
        seg, t, q, d = hit
        other = b.node_at(seg, t, q)
        if other != node:
            b.add_edge(node, other, d, "path", "snap")
            snapped += 1
    logger.debug("%d of %d dangling path ends snapped within %g m", snapped, len(incident), snap_tolerance_m)


def _add_existing_crossings(
    b: GraphBuilder, site: Site, barriers: Sequence[Barrier], band_union: BaseGeometry | None
) -> list[tuple[str, str]]:
    """Step 4: existing crossings as edges; returns (id, reason) of those across an active
    barrier that could not be attached. An existing crossing over a switched-off barrier (one
    of the site's barriers not in ``barriers``) is left out: its barrier is not there, so
    neither is the crossing, and it cannot shorten a walk (the verifier does the same)."""
    dropped: list[tuple[str, str]] = []
    active_ids = {x.id for x in barriers}
    switched_off = {x.id for x in site.barriers} - active_ids
    for c in site.crossings:
        if not c.existing:
            continue
        if c.barrier_id in switched_off:
            logger.debug("existing crossing %s left out: barrier %s is switched off", c.id, c.barrier_id)
            continue
        ends = attach_crossing(b, c, band_union)
        if ends is None:
            if c.barrier_id in active_ids:
                dropped.append((c.id, "existing crossing: an end reaches no walkable path"))
            continue
        b.add_edge(ends[0], ends[1], c.length_m, "crossing", c.id, geom=c.line)
    return dropped


@dataclass
class _Access:
    """Access nodes of the keys attached so far (step 5)."""

    nodes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    xy: dict[str, np.ndarray] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)

    def add(self, b: GraphBuilder, key: str, entrances: Sequence[Point], *, each: bool = True) -> None:
        """Attach each entrance of ``key`` by a connector to the nearest walkable point reached
        without entering an active band. Where several are equally near: with ``each`` (a firm's
        entrance) one access node per point, each with its own connector (the firm may use
        either path, no walk passes between them through its door); without (a site or stop,
        which may never be built) one connector, as a candidate crossing's end: joined to two
        paths it would be a walk between them through land nothing is built on, shortening the
        walks between firms before anything is chosen."""
        if key in self.nodes:
            raise ModelError(f"network key {key!r} is used twice")
        nodes: list[int] = []
        for e in entrances:
            p = np.asarray(e.coords[0][:2], dtype=float)
            if each:
                nodes += b.connect_each(p, key)
            elif (node := b.connect(p, key, ties=False)) is not None:
                nodes.append(node)
        self.nodes[key] = tuple(nodes)
        self.xy[key] = np.asarray([e.coords[0][:2] for e in entrances], dtype=float).reshape(-1, 2)
        if not nodes:
            self.unreachable.append(key)


def _add_candidates(
    b: GraphBuilder, candidate_crossings: Sequence[Crossing], band_union: BaseGeometry | None
) -> tuple[list[Crossing], list[tuple[int, int]], list[tuple[str, str]]]:
    """Step 6: attach candidate crossings' ends (their edges are kept aside); returns (kept
    candidates, their end nodes, (id, reason) of the dropped ones)."""
    cands: list[Crossing] = []
    cend: list[tuple[int, int]] = []
    dropped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for c in candidate_crossings:
        checkpoint()  # the run's time limit
        if c.id in seen:
            raise ModelError(f"candidate crossing id {c.id!r} is used twice")
        seen.add(c.id)
        ends = attach_crossing(b, c, band_union, kind_ref=c.id, candidate=True)
        if ends is None:
            dropped.append((c.id, "an end reaches no walkable path on its side"))
            continue
        cands.append(c)
        cend.append(ends)
    return cands, cend, dropped


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

    Returns:
        The network; firms are keyed ``firm_key(id)``, points by their names.

    Raises:
        ModelError: a key is used twice (a point named like a firm key, duplicate crossing ids).
    """
    t0 = time.perf_counter()
    barriers = tuple(barriers)
    band_union, blocker = _band_geometries(barriers)
    seg_xy, seg_ref, derived = _walkable_segments(site, barriers)
    seg_xy, seg_ref = _cut_bands(seg_xy, seg_ref, band_union)
    b = GraphBuilder(seg_xy, seg_ref, blocker)
    if snap_tolerance_m > 0 and len(seg_xy) and not derived:
        _snap_dangling_ends(b, snap_tolerance_m)
    dropped = _add_existing_crossings(b, site, barriers, band_union)
    access = _Access()
    for f in site.firms:
        access.add(b, firm_key(f.id), f.entrances or (f.location,))
    for i, (name, pt) in enumerate((points or {}).items()):
        if i % 256 == 0:
            checkpoint()  # the run's time limit
        access.add(b, str(name), (pt,), each=False)
    cands, cend, dropped_cands = _add_candidates(b, candidate_crossings, band_union)

    coords, u, v, w, kind, ref, geoms = b.finish()
    net = WalkNetwork(
        coords=coords,
        csr=build_csr(u, v, w, coords.shape[0]),
        node_of={k: a[0] for k, a in access.nodes.items() if a},
        access=access.nodes,
        access_xy=access.xy,
        candidates=tuple(cands),
        candidate_ends=np.asarray(cend, dtype=np.int64).reshape(-1, 2),
        unreachable=tuple(access.unreachable),
        edge_u=u,
        edge_v=v,
        edge_length_m=w,
        edge_kind=kind,
        edge_ref=ref,
        edge_geoms=geoms,
        barriers=barriers,
        crs=site.crs,
        dropped_candidates=tuple(dropped + dropped_cands),
        derived=derived,
    )
    net.build_seconds = time.perf_counter() - t0
    logger.info(
        "walk network of %s: %d nodes, %d edges (%s), %d keys (%d unreachable), %d candidate crossings (%d dropped) in %.3f s",
        site.id, net.n_nodes, net.n_edges, "open-space grid" if derived else "paths", len(net.access), len(net.unreachable),
        len(net.candidates), len(net.dropped_candidates), net.build_seconds,
    )
    return net
