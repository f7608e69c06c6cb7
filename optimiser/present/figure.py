"""Figure and map-axes set-up shared by every map: figures on the Agg canvas (no pyplot state),
the extent at equal aspect, polygon paths, the scale bar, north arrow and illustrative note,
and saving to PNG / SVG."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from optimiser.present.canvas import MapCanvas
from optimiser.present.labels import Labeler, renderer, root_figure
from optimiser.present.layers import Extent, Layout, LayoutLike, as_layout, default_extent, placement_tags
from optimiser.present.metrics import RunMetrics
from optimiser.present.png import png_bytes
from optimiser.present.rings import poly_path
from optimiser.present.staging import write_new_file
from optimiser.present.style import BACKGROUND, MAP_BACKGROUND, PLAN_DPI, PLAN_SIZE, PNG_COMPRESS_LEVEL, font_families, text_rc

logger = logging.getLogger(__name__)

# A name in a script the plans' font lacks (CJK, emoji) draws as boxes; matplotlib warns once per
# glyph with its source path: said once per run instead (render.render_run_data, names_without_glyphs)
warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)


def names_without_glyphs(names: Iterable[str]) -> list[str]:
    """The names holding a character none of the plans' fonts can draw (it shows as a box), in
    order (:func:`~optimiser.present.style.font_families`: with a CJK font installed, Chinese,
    Japanese and Korean names draw)."""
    from matplotlib import font_manager, ft2font

    have: set[int] = set()
    try:
        for family in font_families():
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            have.update(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):  # no font file to ask: say nothing
        return []
    return [n for n in names if any(ord(c) not in have for c in n if not c.isspace())]

__all__ = ["new_figure", "fit_extent", "poly_path", "MapPanel", "setup_map", "draw_scale_bar", "draw_north_arrow",
           "note_illustrative", "save_figure", "figure_png"]


def new_figure(figsize: tuple[float, float] = PLAN_SIZE, dpi: float = PLAN_DPI) -> Figure:
    """A figure on its own Agg canvas (safe in worker processes; no pyplot;
    :class:`~optimiser.present.canvas.MapCanvas`)."""
    fig = Figure(figsize=figsize, dpi=dpi, facecolor=BACKGROUND)
    MapCanvas(fig)
    return fig


def fit_extent(ax: Axes, extent: Extent) -> None:
    """Set equal-aspect limits covering ``extent`` and freeze the data->display transform."""
    x0, y0, x1, y1 = extent
    bb = ax.get_position()
    fw, fh = root_figure(ax).get_size_inches()
    box_ratio = (bb.height * fh) / max(bb.width * fw, 1e-9)
    w, h = x1 - x0, y1 - y0
    if h / w < box_ratio:  # too wide: grow height
        nh = w * box_ratio
        y0, y1 = y0 - (nh - h) / 2, y1 + (nh - h) / 2
    else:
        nw = h / box_ratio
        x0, x1 = x0 - (nw - w) / 2, x1 + (nw - w) / 2
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.apply_aspect()
    ax.set_autoscale_on(False)


class MapPanel:
    """One map panel being drawn: its axes, layout in metres, label placer and placement tags."""

    def __init__(self, ax: Axes, layout: Layout, metrics: RunMetrics, gid_prefix: str = ""):
        self.ax = ax
        self.layout = layout
        self.metrics = metrics
        self.labeler = Labeler(ax)
        self.tags = placement_tags(metrics, layout)
        self.gid_prefix = gid_prefix
        self.handles: list[matplotlib.artist.Artist] = []
        """Legend handles, in drawing order."""

    def gid(self, name: str) -> str:
        """The SVG id of an artist of this panel (prefixed in comparison panels)."""
        return f"{self.gid_prefix}{name}"


def setup_map(ax: Axes, layout: LayoutLike, metrics: RunMetrics, extent: Extent | None,
              gid_prefix: str = "") -> MapPanel:
    """Common set-up of a map panel: background, extent, no ticks, light frame.

    Args:
        ax: the axes to draw on.
        layout: a :class:`RunData`, a :class:`Layout` or a GeoJSON FeatureCollection (WGS84).
        metrics: the run's metrics (the site CRS, placements for the tags).
        extent: (xmin, ymin, xmax, ymax) in metres; None: the layout's default extent.
        gid_prefix: prefix of every SVG id drawn.
    """
    lay = as_layout(layout, metrics)
    ax.set_facecolor(MAP_BACKGROUND)
    fit_extent(ax, extent or default_extent(lay))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#999999")
        spine.set_linewidth(0.6)
    return MapPanel(ax, lay, metrics, gid_prefix)


def _nice_length(span_m: float) -> float:
    target = span_m / 5.0
    for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if v >= target * 0.8:
            return float(v)
    return 10000.0


def draw_scale_bar(ax: Axes, labeler: Labeler | None = None) -> None:
    """A four-block scale bar in the lower left (a round length in metres); labels avoid it."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx = x0 + 0.03 * (x1 - x0)
    by = y0 + 0.04 * (y1 - y0)
    h = 0.010 * (y1 - y0)
    ax.add_patch(Rectangle((bx - 0.012 * (x1 - x0), by - 0.022 * (y1 - y0)), length + 0.045 * (x1 - x0),
                           0.07 * (y1 - y0), fc="white", ec="#bbbbbb", lw=0.6, alpha=0.9, zorder=30))
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, fc="black" if i % 2 == 0 else "white",
                               ec="black", lw=0.6, zorder=31))
    for x, text in ((bx, "0"), (bx + length / 2, f"{length / 2:g}"), (bx + length, f"{length:g} m")):
        ax.text(x, by + 1.4 * h, text, ha="center", fontsize=7, zorder=32, va="bottom")
    if labeler is not None:
        a = ax.transData.transform((bx - 0.012 * (x1 - x0), by - 0.022 * (y1 - y0)))
        b = ax.transData.transform((bx + length + 0.033 * (x1 - x0), by + 0.048 * (y1 - y0)))
        labeler.add_box(Bbox.from_extents(a[0], a[1], b[0], b[1]))


def draw_north_arrow(ax: Axes, labeler: Labeler | None = None) -> None:
    """A north arrow in the upper right corner; labels avoid it."""
    ax.annotate("N", xy=(0.965, 0.955), xytext=(0.965, 0.875), xycoords="axes fraction",
                textcoords="axes fraction", ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", fc="black", lw=1.2, mutation_scale=14), zorder=32,
                bbox=dict(boxstyle="circle,pad=0.25", fc="white", ec="#bbbbbb", lw=0.6))
    if labeler is not None:
        t = ax.transAxes
        a, b = t.transform((0.94, 0.84)), t.transform((0.99, 0.99))
        labeler.add_box(Bbox.from_extents(a[0], a[1], b[0], b[1]))


def note_illustrative(ax: Axes, metrics: RunMetrics, labeler: Labeler | None = None) -> None:
    """For an illustrative (not surveyed) site, say so in the lower right corner."""
    if not metrics.site.illustrative:
        return
    t = ax.text(0.99, 0.012, "Illustrative layout, not surveyed: positions are approximate",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, style="italic",
                color="#444444", zorder=32, bbox=dict(fc="white", ec="none", alpha=0.85, pad=1.5))
    t.set_gid("illustrative-note")
    if labeler is not None:
        labeler.add_box(t.get_window_extent(renderer(ax.figure)))


def save_figure(fig: Figure, path: Path, dpi: float = PLAN_DPI, run_id: str | None = None) -> Path:
    """PNG at ``dpi`` or SVG with text kept as text and stable ids; no tight bbox (keeps the
    layout the labels were placed for). ``run_id`` goes into the file's metadata (SVG
    ``dc:identifier``, PNG text chunk ``run_id``). The file is created new, never written
    through a symlink. Returns ``path``."""
    path = Path(path)
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "siteopt", **text_rc()}):
        if path.suffix.lower() == ".svg":
            fig.savefig(buf, format="svg", metadata={"Date": None, **({"Identifier": run_id} if run_id else {})})
        elif path.suffix.lower() in ("", ".png"):
            buf.write(figure_png(fig, dpi, run_id))
        else:
            fig.savefig(buf, dpi=dpi, format=path.suffix.lstrip(".").lower(), facecolor=fig.get_facecolor())
    write_new_file(path, buf.getvalue())
    logger.debug("wrote %s", path)
    return path


def _png_metadata(run_id: str | None) -> dict[str, str]:
    return {"Software": "placemaking-optimiser", **({"run_id": run_id} if run_id else {})}


def figure_png(fig: Figure, dpi: float = PLAN_DPI, run_id: str | None = None) -> bytes:
    """The figure as PNG bytes (what :func:`save_figure` writes to a ``.png``): text unhinted
    (:func:`~optimiser.present.style.text_rc`, as the plans are laid out) and a quick zlib level.

    The pixels are drawn as matplotlib draws a PNG (the same ``savefig``, into Agg's RGBA
    buffer) and written by :func:`optimiser.present.png.png_bytes` (rows unfiltered: a third of
    Pillow's time); through Pillow as matplotlib writes it where that cannot be used (a
    buffer of another size, metadata that is not Latin-1)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(text_rc()):
        fig.savefig(buf, dpi=dpi, format="rgba", facecolor=fig.get_facecolor())
    w_in, h_in = fig.get_size_inches()
    try:  # Agg's canvas is int(size in inches x dpi) pixels each way
        return png_bytes(buf.getbuffer(), int(w_in * dpi), int(h_in * dpi), text=_png_metadata(run_id), dpi=dpi,
                         level=PNG_COMPRESS_LEVEL)
    except ValueError as exc:
        logger.debug("PNG written through Pillow: %s", exc)
    buf = io.BytesIO()
    with matplotlib.rc_context(text_rc()):
        fig.savefig(buf, dpi=dpi, format="png", facecolor=fig.get_facecolor(), metadata=_png_metadata(run_id),
                    pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return buf.getvalue()
