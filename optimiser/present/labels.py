"""Label placement on a map: :class:`Labeler` puts each label next to its symbol where it covers
no placement symbol, no other label and no map furniture, with a leader line when it has to move
farther out.

Each label's text is measured once (one text layout, which matplotlib caches for the draw); the
candidate positions around its anchor are then plain box arithmetic, checked against every
obstacle at once with numpy. Placement is greedy and deterministic: the same requests in the
same order give the same positions, so labels placed from the site alone (before anything a
scenario adds) sit in the same spot in every scenario of that site.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from optimiser.present.canvas import MapCanvas

logger = logging.getLogger(__name__)

__all__ = ["Labeler", "renderer", "root_figure", "overlap_area", "overlaps_any"]

_DIRS = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]
_RINGS = (1.0, 1.9, 3.0, 4.4, 6.0, 8.0)
"""Distances tried around an anchor, in symbol radii (plus a few points)."""
_LEADER_RING = 1.5
"""Labels moved beyond this ring get a leader line to their symbol."""


def renderer(fig: Figure | SubFigure) -> RendererBase:
    """The Agg renderer of ``fig`` (attaching an Agg canvas if it has none), for text extents."""
    root = fig.figure if isinstance(fig, SubFigure) else fig
    canvas = root.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = MapCanvas(root)
    return canvas.get_renderer()


def root_figure(ax: Axes) -> Figure:
    """The top-level figure an axes is drawn in."""
    fig = ax.figure
    return fig.figure if isinstance(fig, SubFigure) else fig


def overlap_area(a: Bbox, b: Bbox) -> float:
    """Area (display units squared) where two boxes overlap; 0 when they do not."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _areas(box: tuple[float, float, float, float], obstacles: np.ndarray) -> np.ndarray:
    """Overlap areas of one box (x0, y0, x1, y1) with each row of ``obstacles`` (n x 4)."""
    if not len(obstacles):
        return np.zeros(0)
    w = np.minimum(box[2], obstacles[:, 2]) - np.maximum(box[0], obstacles[:, 0])
    h = np.minimum(box[3], obstacles[:, 3]) - np.maximum(box[1], obstacles[:, 1])
    return np.where((w > 0) & (h > 0), w * h, 0.0)


def overlaps_any(box: Bbox, others: list[Bbox]) -> float:
    """Total area of ``box`` covered by ``others`` (display units squared)."""
    if not others:
        return 0.0
    arr = np.array([o.extents for o in others], dtype=float)
    x0, y0, x1, y1 = (float(v) for v in box.extents)
    return float(_areas((x0, y0, x1, y1), arr).sum())


def _crossed(start: tuple[float, float], end: tuple[float, float], circles: np.ndarray) -> int:
    """How many of ``circles`` (n x 3: centre x, centre y, radius) the segment ``start``-``end``
    passes through (display units)."""
    if not len(circles):
        return 0
    sx, sy = start
    dx, dy = end[0] - sx, end[1] - sy
    cx, cy, r = circles[:, 0], circles[:, 1], circles[:, 2]
    t = np.clip(((cx - sx) * dx + (cy - sy) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return int(np.count_nonzero(np.hypot(sx + t * dx - cx, sy + t * dy - cy) < r))


def _ha_va(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
    va = "bottom" if dy > 0 else ("top" if dy < 0 else "center")
    return ha, va


_UNIT_CANDIDATES = [(ring, dx / math.hypot(dx, dy), dy / math.hypot(dx, dy), *_ha_va(dx, dy))
                    for ring in _RINGS for dx, dy in _DIRS]
"""(ring, unit x, unit y, ha, va) of every position tried around an anchor, in order."""


def _box_at(px: float, py: float, w: float, h: float, ha: str, va: str) -> tuple[float, float, float, float]:
    """The box of a ``w`` x ``h`` text anchored at display point (px, py) with alignment ha/va."""
    x0 = px if ha == "left" else (px - w if ha == "right" else px - w / 2)
    y0 = py if va == "bottom" else (py - h if va == "top" else py - h / 2)
    return (x0, y0, x0 + w, y0 + h)


@dataclass
class _LabelRequest:
    text: str
    xy: tuple[float, float]
    radius_pt: float
    kwargs: dict[str, Any]
    gid: str | None
    priority: int = 2
    order: int = 0
    centre_first: bool = False
    outside: dict[str, Any] | None = None


@dataclass
class _Candidate:
    score: tuple[bool, float, bool, int, float, float]
    box: tuple[float, float, float, float]
    ring: float
    offset_pt: tuple[float, float]
    ha: str
    va: str


class Labeler:
    """Greedy label placement: try the label on its symbol (when asked), then 8 directions at
    growing distances around each anchor and keep the first position whose text box overlaps no
    hard obstacle, no soft one (a firm circle), stays inside the axes and, when it needs a leader
    line, whose line crosses no other firm's circle; otherwise the least-overlapping one. Labels moved
    out beyond the first ring get a leader line.

    Obstacles are display-space boxes; *hard* ones (placement symbols, scale bar, north arrow,
    placed labels) must not be covered, *soft* ones (firm circles) are avoided where possible.
    :meth:`place` may be called several times: each call places the labels queued since the
    last one, around everything placed before.
    """

    def __init__(self, ax: Axes):
        self.ax = ax
        self.hard: list[Bbox] = []
        self.soft: list[Bbox] = []
        self.requests: list[_LabelRequest] = []
        self.placed: list[Annotation] = []
        self.symbol_boxes: dict[str, Bbox] = {}
        self._count = 0

    def marker_box(self, xy: tuple[float, float], radius_pt: float) -> Bbox:
        """The display box of a symbol of ``radius_pt`` points at data point ``xy``."""
        px = radius_pt * self.ax.figure.dpi / 72.0
        x, y = self.ax.transData.transform(xy)
        return Bbox.from_extents(x - px, y - px, x + px, y + px)

    def add_symbol(self, xy: tuple[float, float], radius_pt: float, *, hard: bool = True,
                   name: str | None = None) -> None:
        """Register a symbol labels must avoid (``hard``) or should avoid."""
        box = self.marker_box(xy, radius_pt)
        (self.hard if hard else self.soft).append(box)
        if name:
            self.symbol_boxes[name] = box

    def add_box(self, box: Bbox, *, hard: bool = True) -> None:
        """Register a display-space box labels must avoid (``hard``) or should avoid."""
        (self.hard if hard else self.soft).append(box)

    def request(self, text: str, xy: tuple[float, float], radius_pt: float, gid: str | None = None,
                priority: int = 2, *, centre_first: bool = False, outside: dict[str, Any] | None = None,
                **kwargs: Any) -> None:
        """Queue a label; lower ``priority`` is placed first (gets the best spot), ties in the
        order asked. ``centre_first``: try the label centred on its symbol before around it
        (a number inside a firm's circle); ``outside``: text properties that replace ``kwargs``
        when it ends up beside its symbol instead (properties that do not change its size)."""
        self._count += 1
        self.requests.append(_LabelRequest(text, xy, radius_pt, kwargs, gid, priority, self._count, centre_first,
                                           outside))

    def place(self) -> list[Annotation]:
        """Place every label queued since the last call (best first) and return them."""
        ax = self.ax
        rend = renderer(ax.figure)
        axbox = ax.get_window_extent(rend)
        queue, self.requests = sorted(self.requests, key=lambda r: (r.priority, r.order)), []
        new: list[Annotation] = []
        for req in queue:
            ax_px, ay_px = ax.transData.transform(req.xy)
            if not axbox.contains(ax_px, ay_px):  # anchor off the map: no label
                continue
            best = self._best_position(req, rend, axbox, (float(ax_px), float(ay_px)))
            arrow = None
            if best.ring > _LEADER_RING:
                arrow = dict(arrowstyle="-", color="#555555", lw=0.7, shrinkA=0, shrinkB=req.radius_pt * 0.9)
            kwargs = req.kwargs if best.ring == 0 or not req.outside else {**req.kwargs, **req.outside}
            ann = ax.annotate(req.text, xy=req.xy, xytext=best.offset_pt, textcoords="offset points", ha=best.ha,
                              va=best.va, annotation_clip=False, arrowprops=arrow, **kwargs)
            if req.gid:
                ann.set_gid(req.gid)
            self.hard.append(Bbox.from_extents(*best.box))
            new.append(ann)
        self.placed.extend(new)
        logger.debug("placed %d of %d labels", len(new), len(queue))
        return new

    def _measure(self, req: _LabelRequest, rend: RendererBase) -> tuple[float, float]:
        """Width and height (display units) of a label's text: one layout, cached for the draw."""
        probe = self.ax.annotate(req.text, xy=req.xy, xytext=(0, 0), textcoords="offset points", ha="left",
                                 va="bottom", annotation_clip=False, **req.kwargs)
        bb = probe.get_window_extent(rend)
        probe.remove()
        return bb.width, bb.height

    @staticmethod
    def _candidates(req: _LabelRequest) -> list[tuple[float, float, float, str, str]]:
        """(ring, offset x pt, offset y pt, ha, va) in the order tried."""
        out = [(0.0, 0.0, 0.0, "center", "center")] if req.centre_first else []
        for ring, ux, uy, ha, va in _UNIT_CANDIDATES:
            off = req.radius_pt * ring + 2.5 * ring
            out.append((ring, ux * off, uy * off, ha, va))
        return out

    def _best_position(self, req: _LabelRequest, rend: RendererBase, axbox: Bbox,
                       anchor_px: tuple[float, float]) -> _Candidate:
        """The first candidate that touches no hard obstacle, fits the axes, covers no soft one (a
        firm circle) and whose leader line (beyond the first ring) crosses no other soft symbol,
        nearest first; failing that the least hard overlap, then one clear of soft obstacles, then
        the fewest circles crossed by its leader, then the nearest with the least soft overlap."""
        w, h = self._measure(req, rend)
        px_per_pt = self.ax.figure.dpi / 72.0
        pad = 2.0 * px_per_pt
        hard = np.array([b.extents for b in self.hard], dtype=float).reshape(-1, 4)
        soft = np.array([b.extents for b in self.soft], dtype=float).reshape(-1, 4)
        own = np.array([self.marker_box(req.xy, req.radius_pt).extents], dtype=float)
        # the soft symbols (firm circles) as circles, less the label's own (its leader ends there):
        # a leader line must not run through another firm's circle where a clear place exists
        circles = np.column_stack([(soft[:, 0] + soft[:, 2]) / 2, (soft[:, 1] + soft[:, 3]) / 2,
                                   np.minimum(soft[:, 2] - soft[:, 0], soft[:, 3] - soft[:, 1]) / 2])
        circles = circles[np.hypot(circles[:, 0] - anchor_px[0], circles[:, 1] - anchor_px[1]) >= circles[:, 2]]
        best: _Candidate | None = None
        for ring, ox, oy, ha, va in self._candidates(req):
            x0, y0, x1, y1 = _box_at(anchor_px[0] + ox * px_per_pt, anchor_px[1] + oy * px_per_pt, w, h, ha, va)
            box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
            out = 0.0
            if box[0] < axbox.x0 or box[2] > axbox.x1 or box[1] < axbox.y0 or box[3] > axbox.y1:
                out = (box[2] - box[0]) * (box[3] - box[1])
            hard_area = float(_areas(box, hard).sum()) + out * 10
            if ring > 0:  # a label beside its symbol must not cover it; one centred on it may
                hard_area += float(_areas(box, own).sum())
            soft_area = float(_areas(box, soft).sum()) if ring > 0 else 0.0
            crossed = _crossed(((x0 + x1) / 2, (y0 + y1) / 2), anchor_px, circles) if ring > _LEADER_RING else 0
            # a label clear of every firm circle beats a nearer one over one (with a leader line
            # when that takes it beyond the first ring): a tag over a firm marker hides both; then
            # one whose leader crosses no other firm's circle (such a line points at the wrong firm)
            score = (hard_area > 0, hard_area, soft_area > 0, crossed, ring, soft_area)
            if best is None or score < best.score:
                best = _Candidate(score, box, ring, (ox, oy), ha, va)
            if not score[0] and not score[2] and not crossed:
                break
        assert best is not None
        return best
