"""PNG files written without Pillow's row-filter search (issue 17): the same pixels and
metadata as matplotlib's PNG through Pillow, in less time."""

from __future__ import annotations

import io
import struct

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from optimiser.present.figure import _png_metadata, figure_png
from optimiser.present.png import IDAT_BYTES, png_bytes
from optimiser.present.runid import png_run_id
from optimiser.present.style import PNG_COMPRESS_LEVEL, text_rc


def _decoded(data: bytes) -> tuple[np.ndarray, dict]:
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(im), dict(im.info)


def _chunks(data: bytes, sizes: bool = False) -> list:
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append((data[i + 4:i + 8], n) if sizes else data[i + 4:i + 8])
        i += 12 + n
    return out


def test_png_bytes_round_trips_pixels_text_and_dpi():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    rgba[5:20, 10:40] = (10, 200, 30, 255)  # flat runs as well as noise
    data = png_bytes(rgba.tobytes(), 53, 37, text={"Software": "x", "run_id": "r-1"}, dpi=150, level=3)
    pixels, info = _decoded(data)
    assert pixels.shape == (37, 53, 4) and (pixels == rgba).all()
    assert info["Software"] == "x" and info["run_id"] == "r-1"
    assert info["dpi"] == pytest.approx((150.0, 150.0), abs=0.02)
    assert _chunks(data) == [b"IHDR", b"tEXt", b"tEXt", b"pHYs", b"IDAT", b"IEND"]


def test_png_bytes_splits_its_data_as_pillow_does_and_refuses_a_wrong_size():
    rng = np.random.default_rng(4)
    rgba = rng.integers(0, 256, size=(300, 300, 4), dtype=np.uint8)  # noise: over 64 KiB deflated
    data = png_bytes(rgba.tobytes(), 300, 300, level=1)
    idat = [n for kind, n in _chunks(data, sizes=True) if kind == b"IDAT"]
    assert len(idat) >= 2 and idat[:-1] == [IDAT_BYTES] * (len(idat) - 1) and 0 < idat[-1] <= IDAT_BYTES
    assert (_decoded(data)[0] == rgba).all()
    with pytest.raises(ValueError, match="no 300 x 299 RGBA image"):
        png_bytes(rgba.tobytes(), 300, 299)
    with pytest.raises(ValueError):
        png_bytes(rgba.tobytes(), 300, 300, text={"run_id": "\u20ac"})  # not Latin-1


def _figure(dpi: float) -> Figure:
    fig = Figure(figsize=(3.1, 1.7), dpi=dpi, facecolor="#f4f1ea")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.plot([0, 1, 2], [0, 1, 0.5], lw=2)
    ax.text(0.5, 0.5, "Label 12 · £ → ±", fontsize=7)
    return fig


@pytest.mark.parametrize("dpi", [150, 97])
def test_figure_png_has_the_pixels_and_metadata_of_matplotlibs_png(dpi, tmp_path):
    fig = _figure(150)
    ours = figure_png(fig, dpi, run_id="20261204T000000Z-abcdef12")
    buf = io.BytesIO()
    with matplotlib.rc_context(text_rc()):
        fig.savefig(buf, dpi=dpi, format="png", facecolor=fig.get_facecolor(), metadata=_png_metadata("20261204T000000Z-abcdef12"),
                    pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    theirs = buf.getvalue()
    (p1, i1), (p2, i2) = _decoded(ours), _decoded(theirs)
    assert p1.shape == p2.shape and (p1 == p2).all()
    assert i1 == i2
    assert [c for c in _chunks(ours) if c != b"IDAT"] == [c for c in _chunks(theirs) if c != b"IDAT"]
    path = tmp_path / "f.png"
    path.write_bytes(ours)
    assert png_run_id(path) == "20261204T000000Z-abcdef12"
