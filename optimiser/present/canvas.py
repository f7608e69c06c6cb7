"""The Agg canvas the maps are drawn on: matplotlib's, with its per-glyph loop made lighter
(issue 17).

Matplotlib 3.11 draws text glyph by glyph in Python
(``RendererAgg._draw_text_glyphs_and_boxes``) and, for every glyph, recomputes the same
rotation matrix with NumPy (a 2 x 2 product, rounded: about 10 us) before FreeType renders
it; a plan has about 3,400 glyphs, the distance map 1,700. :class:`MapRenderer` computes that
matrix once per string (it depends only on the text's angle and the glyph's slant and
extent, the same for every glyph of plain text) and otherwise runs the same calls in the same
order, so the pixels are the same (``tests/test_canvas.py`` compares them with matplotlib's
renderer). Used only with the matplotlib versions it was checked against
(:data:`LIGHT_GLYPHS`); elsewhere :class:`MapCanvas` is matplotlib's canvas unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.ft2font import RenderMode

__all__ = ["LIGHT_GLYPHS", "MapCanvas", "MapRenderer"]

LIGHT_GLYPHS = matplotlib.__version__.split(".")[:2] == ["3", "11"] and hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
"""Whether :class:`MapRenderer` replaces matplotlib's glyph loop (the 3.11 series, whose loop
it reproduces)."""


class MapRenderer(RendererAgg):
    """Matplotlib's Agg renderer; each string's glyph transform computed once (module docstring)."""

    def _draw_text_glyphs_and_boxes(self, gc: Any, x: float, y: float, angle: float, glyphs: Any, boxes: Any) -> None:
        cos = math.cos(math.radians(angle))
        sin = math.sin(math.radians(angle))
        load_flags = get_hinting_flag()
        mode = RenderMode.NORMAL if gc.get_antialiased() else RenderMode.MONO
        height = self.height
        draw_image = self._renderer.draw_text_image
        matrices: dict[tuple[float, float], Any] = {}
        for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards
            font.set_size(size, self.dpi)
            matrix = matrices.get((slant, extend))
            if matrix is None:
                matrix = matrices[(slant, extend)] = (
                    0x10000 * np.array([[cos, -sin], [sin, cos]]) @ [[extend, extend * slant], [0, 1]]).round().astype(int)
            font._set_transform(matrix, [round(0x40 * (x + dx * cos - dy * sin)),
                                         round(0x40 * (height - y + dx * sin + dy * cos))])  # FreeType's y is upwards
            bitmap = font._render_glyph(glyph_index, load_flags, mode)
            buffer = bitmap.buffer
            if mode is RenderMode.MONO:
                buffer *= 0xff
            draw_image(buffer, bitmap.left, int(height) - bitmap.top + buffer.shape[0], 0, gc)
        super()._draw_text_glyphs_and_boxes(gc, x, y, angle, (), boxes)  # the boxes (mathtext rules) as matplotlib draws them


class MapCanvas(FigureCanvasAgg):
    """Matplotlib's Agg canvas drawing with :class:`MapRenderer` (where :data:`LIGHT_GLYPHS`)."""

    def get_renderer(self) -> RendererAgg:
        if not LIGHT_GLYPHS:
            return super().get_renderer()
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = MapRenderer(w, h, self.figure.dpi)
            self._lastKey = key  # type: ignore[assignment]
        return self.renderer
