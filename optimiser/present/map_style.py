"""The look of the interactive (SVG) plan, taken from the static plan's style (:mod:`style`), so
that an item is drawn the same way in plan.png, plan.svg and the report's interactive plan: the
same colours for parcels, barriers, firms, routes, coverage and placements, the same shapes
(a star for a shared facility, a hexagon for a social space, a red line with a diamond for a new
crossing), and a legend of those symbols under the map.

The CSS rules are generated here from the colours in :mod:`style` (``map_css``), never copied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from optimiser.present.style import (
    CARRIAGEWAY_FC,
    CROSSING_C,
    EXISTING_CROSSING_C,
    EXISTING_FACILITY_C,
    FACILITY_C,
    FACILITY_EC,
    FACILITY_TEXT_C,
    FIRM_C,
    LABEL_C,
    PARCEL_OTHER,
    PARCEL_STYLE,
    PATH_C,
    RAIL_EC,
    ROUTE_AFTER_C,
    ROUTE_BEFORE_C,
    SOCIAL_C,
    TRANSIT_C,
    UNUSED_ALIGNMENT_C,
    WATER_EC,
    WATER_FC,
)

__all__ = ["map_css", "star_points", "hexagon_points", "diamond_points", "plus_points", "square_points",
           "hatch_defs", "LegendItem", "legend_items", "shared_legend",
           "CORRIDOR_FC", "FIXED_EC"]

CORRIDOR_FC = "#f3dfcf"
"""Fill of a rail or other corridor band (as the static plan's)."""
FIXED_EC = "#f2c14e"
"""The ring of a fixed building."""


def _parcel_rules() -> list[str]:
    rules = [f".map-svg .parcel{{fill:{PARCEL_OTHER.fc};stroke:{PARCEL_OTHER.ec};stroke-width:.7}}"]
    for status, st in PARCEL_STYLE.items():  # a hatched status is filled by its element's pattern
        rules.append(f".map-svg .parcel.{status}{{" + ("" if st.hatch else f"fill:{st.fc};") + f"stroke:{st.ec}}}")
    return rules


def map_css() -> str:
    """The colours and strokes of the interactive plan's classes (and its legend's swatches,
    ``svg.swatch``), from the static plan's style."""
    return "\n".join(_both(r) for r in _rules()) + "\n" + _SWATCH


_SWATCH = (".swatch{display:inline-block;width:28px;height:16px;vertical-align:middle;overflow:visible}\n"
           ".swatch path,.swatch circle,.swatch polygon,.swatch rect{vector-effect:non-scaling-stroke}")


def _both(rule: str) -> str:
    """A ``.map-svg X{...}`` rule for the legend's swatches too: ``.map-svg X,.swatch X{...}``."""
    if not rule.startswith(".map-svg "):
        return rule
    sel, body = rule.split("{", 1)
    return f"{sel},.swatch {sel[len('.map-svg '):]}{{{body}"


def _rules() -> list[str]:
    return _parcel_rules() + [
        ".map-svg .barrier{stroke-width:.6;stroke-linejoin:round}",
        f".map-svg .barrier.road{{fill:{CARRIAGEWAY_FC};fill-opacity:.85;stroke:#3d4650}}",
        f".map-svg .barrier.water{{fill:{WATER_FC};fill-opacity:.8;stroke:{WATER_EC}}}",
        f".map-svg .barrier.corridor{{fill:{CORRIDOR_FC};fill-opacity:.55;stroke:{RAIL_EC}}}",
        ".map-svg .barrier.inactive{fill-opacity:.25;stroke-dasharray:4 4}",
        ".map-svg .barrier.corridor.inactive{fill:none}",
        ".map-svg .centreline{fill:none;stroke:#fff;stroke-width:.7;stroke-dasharray:6 6;stroke-opacity:.9}",
        f".map-svg .footpath{{fill:none;stroke:{PATH_C};stroke-width:.8;stroke-opacity:.8}}",
        ".map-svg .halo{fill:none;stroke:#fff;stroke-linecap:butt}",
        f".map-svg .xing-existing{{fill:none;stroke:{EXISTING_CROSSING_C};stroke-width:3}}",
        ".map-svg .xing-existing-halo{stroke-width:4.8}",
        f".map-svg .xing-candidate{{fill:none;stroke:{CROSSING_C};stroke-opacity:.6;stroke-width:1.2;"
        "stroke-dasharray:2 2}",
        f".map-svg .xing-new{{fill:none;stroke:{CROSSING_C};stroke-width:4}}",
        ".map-svg .xing-new-halo{stroke-width:6}",
        f".map-svg .xing-mark{{fill:{CROSSING_C};stroke:#fff;stroke-width:1.2}}",
        f".map-svg .coverage{{fill:{SOCIAL_C};fill-opacity:.07;stroke:{SOCIAL_C};stroke-opacity:.5;stroke-width:.8;"
        "stroke-dasharray:4 3}",
        f".map-svg .route-after{{fill:none;stroke:{ROUTE_AFTER_C};stroke-width:3.4;stroke-opacity:.9}}",
        ".map-svg .route-halo{stroke-width:3.8}",
        f".map-svg .route-before{{fill:none;stroke:{ROUTE_BEFORE_C};stroke-width:2;stroke-dasharray:4.5 2.5}}",
        f".map-svg .firm{{fill:{FIRM_C};fill-opacity:.9;stroke:#fff;stroke-width:.8}}",
        f".map-svg .firm.fixed{{stroke:{FIXED_EC};stroke-width:1.6}}",
        f".map-svg .facility{{fill:{FACILITY_C};stroke:{FACILITY_EC};stroke-width:.9}}",
        f".map-svg .social{{fill:{SOCIAL_C};stroke:#fff;stroke-width:1.3}}",
        f".map-svg .existing{{fill:{EXISTING_FACILITY_C};stroke:#fff;stroke-width:.9}}",
        f".map-svg .num{{fill:{LABEL_C}}}",
        f".map-svg .num.on{{fill:#fff;stroke:{FIRM_C}}}",
        f".map-svg .tag{{fill:{FACILITY_TEXT_C}}}",
        f".map-svg .tag.t-social{{fill:{SOCIAL_C};stroke:#fff}}",
        f".map-svg .tag.t-crossing{{fill:{CROSSING_C}}}",
        f".map-svg .tag.t-stop{{fill:{TRANSIT_C}}}",
        f".map-svg .transit-line{{fill:none;stroke:{TRANSIT_C};stroke-width:2.2;stroke-dasharray:6 2}}",
        f".map-svg .transit-line.unused{{stroke:{UNUSED_ALIGNMENT_C};stroke-width:1.3}}",
        f".map-svg .stop{{fill:{TRANSIT_C};stroke:#fff;stroke-width:1}}",
        f".map-svg .stop.existing-stop{{fill:#fff;stroke:{FIRM_C};stroke-width:1.2}}",
    ]


def _polygon(points: list[tuple[float, float]]) -> str:
    """SVG ``points`` of a polygon in site metres (y flipped for SVG)."""
    return " ".join(f"{x:.1f},{-y:.1f}" for x, y in points)


def star_points(x: float, y: float, r: float) -> str:
    """A five-pointed star of outer radius ``r`` around (x, y), point up (the plan's shared facility)."""
    pts = []
    for k in range(10):
        a = math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else 0.45 * r
        pts.append((x + rr * math.cos(a), y + rr * math.sin(a)))
    return _polygon(pts)


def hexagon_points(x: float, y: float, r: float) -> str:
    """A hexagon of radius ``r`` around (x, y), point up (the plan's social space)."""
    return _polygon([(x + r * math.cos(math.pi / 2 + k * math.pi / 3), y + r * math.sin(math.pi / 2 + k * math.pi / 3))
                     for k in range(6)])


def diamond_points(x: float, y: float, r: float) -> str:
    """A diamond of half-diagonal ``r`` around (x, y) (the mark of a new crossing)."""
    return _polygon([(x, y + r), (x + r, y), (x, y - r), (x - r, y)])


def plus_points(x: float, y: float, r: float) -> str:
    """A plus sign of half-width ``r`` around (x, y) (the plan's existing facility)."""
    t = 0.38 * r
    return _polygon([(x - t, y + r), (x + t, y + r), (x + t, y + t), (x + r, y + t), (x + r, y - t), (x + t, y - t),
                     (x + t, y - r), (x - t, y - r), (x - t, y - t), (x - r, y - t), (x - r, y + t), (x - t, y + t)])


def square_points(x: float, y: float, r: float) -> str:
    """A square of half-side ``r`` around (x, y) (the plan's transit stop)."""
    return _polygon([(x - r, y + r), (x + r, y + r), (x + r, y - r), (x - r, y - r)])


def hatch_defs(map_id: str) -> str:
    """The hatch patterns of reserved plots and no-build corridors (``<defs>``, ids unique per map)."""
    reserved = PARCEL_STYLE["reserved"]
    return (f'<defs><pattern id="{map_id}-hatch-reserved" width="12" height="12" patternUnits="userSpaceOnUse">'
            f'<rect width="12" height="12" fill="{reserved.fc}"/><circle cx="3" cy="3" r="1.1" fill="{reserved.ec}"/>'
            f'<circle cx="9" cy="9" r="1.1" fill="{reserved.ec}"/></pattern>'
            f'<pattern id="{map_id}-hatch-nobuild" width="14" height="14" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="14" height="14" fill="{CORRIDOR_FC}"/>'
            f'<line x1="0" y1="0" x2="0" y2="14" stroke="{RAIL_EC}" stroke-width="2.5"/></pattern></defs>')


@dataclass(frozen=True)
class LegendItem:
    """One symbol of the interactive plan's legend: a small inline SVG swatch and its label."""

    swatch: str
    label: str
    order: int = 0
    """Its place in the static plan's legend order (:func:`shared_legend` merges by it)."""


def _swatch(body: str) -> str:
    return (f'<svg class="swatch" viewBox="0 -8 28 16" width="28" height="16" aria-hidden="true">'
            f"{body}</svg>")


def legend_items(kinds: set[str], coverage_m: float | None) -> list[LegendItem]:
    """The legend of what a map draws (``kinds``: the classes present), in the static plan's order."""
    line = 'M2,0L26,0'
    table: list[tuple[str, str, str]] = [
        ("route_before", f'<path class="halo route-halo" d="{line}"/><path class="route-before" d="{line}"/>',
         "Route before (dashed)"),
        ("route_after", f'<path class="route-after" d="{line}"/>', "Route after"),
        ("coverage", '<rect class="coverage" x="3" y="-6" width="22" height="12"/>',
         f"{coverage_m:g} m coverage" if coverage_m else "Coverage"),
        ("xing_existing", f'<path class="xing-existing" d="{line}"/>', "Existing crossing / junction"),
        ("xing_candidate", f'<path class="xing-candidate" d="{line}"/>', "Candidate crossing (not chosen)"),
        ("firm", '<circle class="firm" cx="14" cy="0" r="6"/>', "Firm (sized by staff; number in the key)"),
        ("fixed", '<circle class="firm fixed" cx="14" cy="0" r="6"/>', "Fixed building"),
        ("xing_new", f'<path class="xing-new" d="{line}"/><polygon class="xing-mark" '
         f'points="{diamond_points(14, 0, 5)}"/>', "New crossing (chosen)"),
        ("social", f'<polygon class="social" points="{hexagon_points(14, 0, 7)}"/>', "New social space"),
        ("facility", f'<polygon class="facility" points="{star_points(14, 0, 8)}"/>', "New shared facility"),
        ("existing", f'<polygon class="existing" points="{plus_points(14, 0, 6)}"/>', "Existing facility"),
        ("transit_line", f'<path class="transit-line" d="{line}"/>', "Transit alignment"),
        ("transit_line_unused", f'<path class="transit-line unused" d="{line}"/>', "Alternative alignment (no new stop on it)"),
        ("stop_new", f'<polygon class="stop" points="{square_points(14, 0, 5)}"/>', "New stop"),
        ("stop_existing", f'<polygon class="stop existing-stop" points="{square_points(14, 0, 4)}"/>', "Existing stop"),
    ]
    return [LegendItem(_swatch(body), label, i) for i, (kind, body, label) in enumerate(table) if kind in kinds]


def shared_legend(legends: Iterable[Iterable[LegendItem]]) -> list[LegendItem]:
    """One legend for several maps (compare.html): every symbol any of them draws, once, in the
    static plan's order (two runs with different coverage radii keep both radii's entries)."""
    seen: dict[tuple[str, str], LegendItem] = {}
    for legend in legends:
        for item in legend:
            seen.setdefault((item.swatch, item.label), item)
    return sorted(seen.values(), key=lambda item: item.order)
