"""The maps' Agg canvas (issue 17): its lighter glyph loop draws the pixels matplotlib's own
renderer draws, for plain, rotated, styled, haloed, mathtext and non-antialiased text."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optimiser.present.canvas import LIGHT_GLYPHS, MapCanvas, MapRenderer
from optimiser.present.figure import new_figure
from optimiser.present.style import text_rc


def _draw(canvas_class: type) -> np.ndarray:
    fig = Figure(figsize=(4.0, 2.5), dpi=150)
    canvas = canvas_class(fig)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    ax.plot([0, 1], [0, 1])
    ax.text(0.05, 0.9, "Plain 0123 · £ → ± Émile", fontsize=7)
    ax.text(0.5, 0.5, "Rotated 33°", fontsize=8, rotation=33, fontweight="bold")
    ax.text(0.1, 0.2, "Italic bold", fontsize=7.5, style="italic", fontweight="bold",
            path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    ax.text(0.6, 0.15, r"$\frac{a}{b}\sqrt{x}$ m", fontsize=9)
    ax.text(0.7, 0.8, "no antialias", fontsize=7, antialiased=False, rotation=-90)
    ax.annotate("N", xy=(0.9, 0.9), xytext=(0.9, 0.7), ha="center", fontsize=10, arrowprops={"arrowstyle": "-|>"})
    with matplotlib.rc_context(text_rc()):
        canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_the_map_canvas_draws_the_pixels_matplotlib_draws():
    ours, theirs = _draw(MapCanvas), _draw(FigureCanvasAgg)
    assert ours.shape == theirs.shape and (ours == theirs).all()
    assert (theirs[..., :3] < 128).any()  # something dark (the text) was drawn


@pytest.mark.skipif(not LIGHT_GLYPHS, reason="matplotlib's own renderer outside the 3.11 series")
def test_the_maps_are_drawn_with_the_lighter_renderer():
    fig = new_figure((2.0, 1.0), 100)
    assert isinstance(fig.canvas, MapCanvas) and isinstance(fig.canvas.get_renderer(), MapRenderer)
    assert fig.canvas.get_renderer() is fig.canvas.get_renderer()  # reused while size and dpi hold
