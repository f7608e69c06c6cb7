"""Label placement on a map: :class:`Labeler` puts each label next to its symbol where it covers
no placement symbol and no other label, with a leader line when it has to move farther out."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

logger = logging.getLogger(__name__)

__all__ = ["Labeler", "renderer", "root_figure", "overlap_area"]

_DIRS = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]
_RINGS = (1.0, 1.9, 3.0, 4.4)
"""Distances tried around an anchor, in symbol radii (plus a few points)."""


def renderer(fig: Figure | SubFigure) -> RendererBase:
    """The Agg renderer of ``fig`` (attaching an Agg canvas if it has none), for text extents."""
    root = fig.figure if isinstance(fig, SubFigure) else fig
    canvas = root.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(root)
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


def _ha_va(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
    va = "bottom" if dy > 0 else ("top" if dy < 0 else "center")
    return ha, va


@dataclass
class _LabelRequest:
    text: str
    xy: tuple[float, float]
    radius_pt: float
    kwargs: dict[str, Any]
    gid: str | None
    priority: int = 2


@dataclass
class _Candidate:
    score: tuple[bool, float, float, float]
    ann: Annotation
    box: Bbox
    ring: float
    offset_pt: tuple[float, float]


class Labeler:
    """Greedy label placement: try 8 directions (then farther rings) around each anchor and
    keep the first position whose text box overlaps no placement symbol, no other label and
    stays inside the axes; otherwise the least-overlapping one (with a leader line).

    Obstacles are display-space boxes; *hard* ones (placement symbols, scale bar, north arrow,
    placed labels) must not be covered, *soft* ones (firm circles) are avoided where possible.
    """

    def __init__(self, ax: Axes):
        self.ax = ax
        self.hard: list[Bbox] = []
        self.soft: list[Bbox] = []
        self.requests: list[_LabelRequest] = []
        self.placed: list[Annotation] = []
        self.symbol_boxes: dict[str, Bbox] = {}

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
                priority: int = 2, **kwargs: Any) -> None:
        """Queue a label; lower ``priority`` is placed first (gets the best spot)."""
        self.requests.append(_LabelRequest(text, xy, radius_pt, kwargs, gid, priority))

    def place(self) -> list[Annotation]:
        """Place every queued label (best first) and return the annotations drawn."""
        ax = self.ax
        rend = renderer(ax.figure)
        axbox = ax.get_window_extent(rend)
        for req in sorted(self.requests, key=lambda r: r.priority):
            ax_px, ay_px = ax.transData.transform(req.xy)
            if not axbox.contains(ax_px, ay_px):  # anchor off the map: no label
                continue
            best = self._best_position(req, rend, axbox)
            ann = best.ann
            if best.ring > 1.5:  # moved out: redraw with a leader line to the symbol
                ann.remove()
                ann = ax.annotate(req.text, xy=req.xy, xytext=best.offset_pt, textcoords="offset points",
                                  ha=ann.get_horizontalalignment(), va=ann.get_verticalalignment(), annotation_clip=False,
                                  arrowprops=dict(arrowstyle="-", color="#666666", lw=0.6,
                                                  shrinkA=0, shrinkB=req.radius_pt * 0.9), **req.kwargs)
            if req.gid:
                ann.set_gid(req.gid)
            self.hard.append(best.box)
            self.placed.append(ann)
        logger.debug("placed %d of %d labels", len(self.placed), len(self.requests))
        return self.placed

    def _best_position(self, req: _LabelRequest, rend: RendererBase, axbox: Bbox) -> _Candidate:
        """Try the directions ring by ring; keep the best-scoring annotation, remove the others."""
        ax = self.ax
        pad = 2.0 * ax.figure.dpi / 72.0
        own = self.marker_box(req.xy, req.radius_pt)
        best: _Candidate | None = None
        for ring in _RINGS:
            for dx, dy in _DIRS:
                norm = math.hypot(dx, dy)
                off = req.radius_pt * ring + 2.5 * ring
                ox, oy = dx / norm * off, dy / norm * off
                ha, va = _ha_va(dx, dy)
                ann = ax.annotate(req.text, xy=req.xy, xytext=(ox, oy), textcoords="offset points",
                                  ha=ha, va=va, annotation_clip=False, **req.kwargs)
                bb = ann.get_window_extent(rend)
                bb = Bbox.from_extents(bb.x0 - pad, bb.y0 - pad, bb.x1 + pad, bb.y1 + pad)
                out = 0.0
                if bb.x0 < axbox.x0 or bb.x1 > axbox.x1 or bb.y0 < axbox.y0 or bb.y1 > axbox.y1:
                    out = bb.width * bb.height
                hard = sum(overlap_area(bb, o) for o in self.hard) + overlap_area(bb, own) + out * 10
                soft = sum(overlap_area(bb, o) for o in self.soft)
                score = (hard > 0, hard, ring, soft)
                if best is None or score < best.score:
                    if best is not None:
                        best.ann.remove()
                    best = _Candidate(score, ann, bb, ring, (ox, oy))
                else:
                    ann.remove()
                if hard == 0 and soft == 0:
                    break
            if best is not None and best.score[0] is False and (best.score[3] == 0 or ring >= 1.9):
                break
        assert best is not None
        return best
