"""The look of the plans: colours, parcel styles, figure sizes and :class:`PlanStyle`, the
scales shared between panels."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.patheffects import AbstractPathEffect

logger = logging.getLogger(__name__)

__all__ = ["PlanStyle", "ParcelStyle", "PARCEL_STYLE", "PARCEL_OTHER", "parcel_style", "size_keys", "PLAN_DPI",
           "PLAN_SIZE", "MAP_RECT", "HALO", "RouteStyle", "ROUTE_AFTER", "ROUTE_BEFORE"]

PLAN_DPI = 150
PLAN_SIZE = (16.0, 9.0)  # inches: the map (9.1 in wide), the legend column and the numbered key
MAP_RECT = (0.35 / 16.0, 0.035, 9.1 / 16.0, 0.855)  # axes rect of the map in a single-plan figure
SIDE_GAP_IN = 0.18
"""Gap (inches) between the map and the legend column, and between the side columns."""
LEGEND_COL_IN = 2.85
"""Width (inches) of the legend column beside a single plan (the key takes the rest)."""
PLAN_FONT = "DejaVu Sans"
"""The plans' font (matplotlib ships it; the key's wrapping widths are measured in it)."""
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback")
"""Fonts a Chinese, Japanese or Korean name falls back to, the first installed one (Debian:
``fonts-noto-cjk`` or ``fonts-wqy-zenhei``); with none, such a name draws as boxes."""


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """The plans' font and the first of :data:`CJK_FONTS` matplotlib knows (none: the plans' font
    alone; nothing is asked for that is not there, so matplotlib has nothing to warn about)."""
    from matplotlib import font_manager  # lazy: matplotlib is slow to import

    have = {f.name for f in font_manager.fontManager.ttflist}
    return (PLAN_FONT, *[f for f in CJK_FONTS if f in have][:1])


def text_rc() -> dict[Any, Any]:
    """The rc settings figures are built and saved under: :func:`font_families` (a glyph the plans'
    font lacks is drawn from the next, matplotlib >= 3.6) and text drawn without hinting (about a
    fifth less CPU per character in the Agg renderer, text being most of a plan's drawing time; no
    visible loss at 150 dpi)."""
    return {"text.hinting": "none", "font.family": list(font_families())}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def under_text_rc(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """``build`` (a function drawing a figure) run under :func:`text_rc`: a text takes its font
    family when it is created, so a figure is built under the settings it is saved under."""

    @wraps(build)
    def built(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        import matplotlib

        with matplotlib.rc_context(text_rc()):
            return build(*args, **kwargs)

    return built

PNG_COMPRESS_LEVEL = 3
"""zlib level of the PNGs written (6 is PIL's default: about twice the CPU for a few % smaller files)."""
DISTANCE_SIZE = (14.6, 8.6)  # inches: the map (8.4 in wide), colour bar and legend, and the key of firms
DISTANCE_RECT = (0.023, 0.035, 0.573, 0.86)


@dataclass(frozen=True)
class ParcelStyle:
    """Fill, edge, legend label and hatch of one parcel status."""

    fc: str
    ec: str
    label: str
    hatch: str | None = None


PARCEL_STYLE: dict[str, ParcelStyle] = {
    "occupied": ParcelStyle("#cdc4b8", "#9f9585", "Occupied plot"),  # darker than open space: 12 ΔE apart for deuteranopes (7 before)
    "buildable": ParcelStyle("#f7eec4", "#c9b46a", "Buildable plot"),
    "reserved": ParcelStyle("#ebe3f2", "#a18fb5", "Reserved plot", ".."),
    "open_space": ParcelStyle("#d0f0d8", "#8fbf83", "Open space"),  # cooler than buildable: apart for protanopes too
}
PARCEL_OTHER = ParcelStyle("#eeeeee", "#aaaaaa", "Other plot")


def parcel_style(status: object) -> ParcelStyle:
    """The style of a parcel status (``PARCEL_OTHER`` for an unknown one)."""
    return PARCEL_STYLE.get(str(status), PARCEL_OTHER)


CARRIAGEWAY_FC = "#5f6b78"
RAIL_EC = "#9c5b2e"
WATER_FC = "#cfe6f5"
WATER_EC = "#2f77a8"
PATH_C = "#8c8c8c"
FIRM_C = "#27384a"
FACILITY_C = "#f39c12"
FACILITY_EC = "#5a3a00"
FACILITY_TEXT_C = "#a0522d"
EXISTING_FACILITY_C = "#95a5a6"
EXISTING_TEXT_C = "#5d6d6e"
SOCIAL_C = "#8e44ad"
CROSSING_C = "#d62728"
TRANSIT_C = "#00897b"
UNUSED_ALIGNMENT_C = "#8a96a3"
"""An alternative transit alignment the plan put no new stop on (drawn thinner, grey)."""
"""Colour of transit alignments, stops and catchments."""
EXISTING_CROSSING_C = "#111111"
ROUTE_BEFORE_C = "#111111"
ROUTE_AFTER_C = "#1f6fb4"
LABEL_C = "#1b2631"
BACKGROUND = "#ffffff"
MAP_BACKGROUND = "#fbfbf8"

if TYPE_CHECKING:  # pragma: no cover
    HALO: list[AbstractPathEffect]
    """The white halo under map labels (a matplotlib path effect)."""


def __getattr__(name: str) -> Any:
    """``HALO``, made on first use: the colours and sizes above are read without matplotlib
    (the GeoPackage's QGIS styles; :mod:`optimiser.present.qgis_style`), and matplotlib costs
    about half a second of CPU to import."""
    if name == "HALO":
        from matplotlib import patheffects

        halo = globals()["HALO"] = [patheffects.withStroke(linewidth=2.6, foreground="white")]
        return halo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class RouteStyle:
    """How one phase of a route is drawn (line width in points, dash pattern, z-order)."""

    color: str
    lw: float
    zorder: float
    dashes: tuple[float, float] | None = None
    """(on, off) in points; None: solid."""
    halo_lw: float = 0.0
    """Width of a white outline under the line (0: none)."""

    @property
    def ls(self) -> str | tuple[float, tuple[float, float]]:
        """The matplotlib line style."""
        return (0.0, self.dashes) if self.dashes else "-"


ROUTE_AFTER = RouteStyle(ROUTE_AFTER_C, lw=3.4, zorder=7)
"""The walk after: a wide blue line under the 'before' dashes."""
ROUTE_BEFORE = RouteStyle(ROUTE_BEFORE_C, lw=2.0, zorder=8, dashes=(4.5, 2.5), halo_lw=3.8)
"""The walk before: near-black dashes over a white outline, drawn ON TOP of the 'after' line,
so where the two share a street both show and where they part the old detour stands out on
parcels, paths and carriageway alike."""


@dataclass(frozen=True)
class PlanStyle:
    """Scales shared between panels (compare uses one style for every run)."""

    employees_max: float | None = None
    """Employees of the largest firm drawn at the largest marker; None: this run's largest."""
    min_radius_pt: float = 5.0
    """Smallest firm circle: big enough to hold a two-digit key number."""
    max_radius_pt: float = 13.0
    label_fontsize: float = 7.5
    placement_fontsize: float = 8.0
    show_candidates: bool = True
    max_routes: int = 3
    firm_labels: bool = True
    """Name the firms (compare panels of a dense site turn this off; the legend keeps sizes)."""
    firm_numbers: bool = False
    """Number the firms (their site numbers) even without the plan's side key (compare panels:
    one key of full names is shared by every panel)."""
    site_tags: bool = False
    """Tag existing crossings and facilities (J1, E1) even without the plan's side key (compare
    panels: their names are in the figure's key), instead of writing their names on the map."""
    distance_names: bool = True
    """Distance map labels: name + value (True) or the value only, and no 'no change' labels."""

    def firm_radius_pt(self, employees: float, emp_max: float) -> float:
        """Marker radius (points) of a firm: its area grows with ``employees``.

        Args:
            employees: the firm's employees.
            emp_max: the largest firm's employees in this run (``employees_max`` wins if set).
        """
        emp_max = max(float(self.employees_max or emp_max or 1.0), 1.0)
        frac = math.sqrt(max(float(employees or 0.0), 0.0) / emp_max)
        return self.min_radius_pt + (self.max_radius_pt - self.min_radius_pt) * min(frac, 1.0)


def size_keys(emp_max: float) -> list[float]:
    """Employee counts shown in the legend's firm-size key (up to three round numbers)."""
    emp_max = max(float(emp_max), 1.0)
    mag = 10 ** math.floor(math.log10(emp_max))
    top = math.floor(emp_max / mag) * mag
    keys = sorted({max(round(top / 10 / mag * 10) * mag / 10, 1.0), top / 2, top}) if top >= 10 else [top]
    keys = [k for k in keys if k > 0]
    return sorted(set(float(round(k)) for k in keys))
