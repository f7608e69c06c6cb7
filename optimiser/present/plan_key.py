"""The key beside a single plan: the legend of symbols, and every numbered or tagged thing on the
map by its full name, never cut.

Firms carry their site number (:func:`~optimiser.present.layers.firm_numbers`), with staff and
position accuracy; what the scenario built carries its plan tag (F1, S1, X1), its human name
(from ``metrics.attribution``), cost and position in the site file's own CRS; existing crossings
and facilities their site tags (J1, E1). The most improved pairs name both firms.

The key is laid out by arithmetic (line counts times one measured line height), in two columns
(under the legend, and to its right), with the font shrunk step by step until it all fits; each
entry is one figure text with an SVG id (``key-firm-<id>``, ``key-facility-<id>`` ...).
"""

from __future__ import annotations

import copy
import logging
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text

from optimiser.present.buys import item_names
from optimiser.present.formatting import fmt_m, fmt_money, fmt_num, mpl_text, nice_type
from optimiser.present.labels import renderer, root_figure
from optimiser.present.layers import Feature, Layout, firm_numbers, point, site_tags
from optimiser.present.metrics import RunMetrics
from optimiser.present.report import location_text
from optimiser.present.style import (
    CROSSING_C,
    EXISTING_CROSSING_C,
    EXISTING_TEXT_C,
    FACILITY_TEXT_C,
    FIRM_C,
    LEGEND_COL_IN,
    ROUTE_AFTER_C,
    SIDE_GAP_IN,
    SOCIAL_C,
    TRANSIT_C,
)

logger = logging.getLogger(__name__)

__all__ = ["KeyEntry", "KeySection", "KeyColumn", "key_sections", "firm_section", "one_size_row", "route_section", "draw_side_panel",
           "make_room_for_side_panel", "draw_key", "KEY_FONT_SIZES", "SIDE_PANEL_IN", "ACCURACY_NOTE", "site_sections"]

KEY_FONT_SIZES = (7.0, 6.6, 6.2, 5.8, 5.4, 5.0)
"""Font sizes tried, largest first, until the whole key fits beside the map."""
COMPACT_BELOW = 5.8
"""Below this size the key drops its entries' details (:attr:`KeyEntry.short`) before shrinking further."""
_EM_PER_CHAR = 0.58
"""Average advance of a character, in ems (DejaVu Sans, mixed case, with margin), for wrapping."""
_LINESPACING = 1.15


@dataclass
class KeyEntry:
    """One line of the key: its tag (number or letters on the map), text and SVG id."""

    tag: str
    text: str
    gid: str
    color: str = FIRM_C
    short: str | None = None
    """The entry without its details (a firm's name without staff and accuracy, a placement's name
    and cost without its position), used only where the whole key does not fit; None: ``text``."""


@dataclass
class KeySection:
    """A heading and its entries."""

    title: str
    entries: list[KeyEntry] = field(default_factory=list)
    summary: str | None = None
    """Where even the names do not fit (a plan in a small subplot): one line said instead of the
    entries (e.g. where the firms are named); None: the entries are always drawn."""
    optional: bool = False
    """Left out first where the key does not fit."""


def _placement_name(metrics: RunMetrics, f: Feature, kind: str) -> str:
    names = item_names(metrics)
    if f.id in names:
        return names[f.id]
    what = nice_type(f.props.get("type")) or kind
    return f"{what[:1].upper()}{what[1:]} {'crossing' if kind == 'crossing' else ''}".strip() + f" ({f.id})"


def key_sections(layout: Layout, metrics: RunMetrics, tags: dict[str, str],
                 extent: tuple[float, float, float, float] | None = None) -> list[KeySection]:
    """The key's sections: what was built, the firms, existing crossings and existing facilities
    (empty sections left out). With the map's ``extent`` (x0, y0, x1, y1), an existing feature
    outside it is said to be beyond the map edge (it has no tag on the map)."""

    def off_map(f: Feature) -> str:
        if extent is None:
            return ""
        x, y = point(f.geometry)
        return "" if extent[0] <= x <= extent[2] and extent[1] <= y <= extent[3] else " (beyond the map edge)"

    built = KeySection(f"Built in this scenario (position in {metrics.site.source_crs or metrics.site.crs})")
    for layer, kind, colour in (("facility", "facility", FACILITY_TEXT_C), ("social_space", "social", SOCIAL_C),
                                ("crossing", "crossing", CROSSING_C)):
        for f in sorted(layout.layer(layer), key=lambda f: _tag_order(tags.get(f.id, f.id))):
            x, y = point(f.geometry)
            cost = fmt_money(f.props.get("cost", f.props.get("cost_gbp")), str(f.props.get("currency") or metrics.currency))
            name = _placement_name(metrics, f, kind)
            built.entries.append(KeyEntry(tags.get(f.id, "?"), f"{name} · {cost} · {location_text(metrics, x, y)}",
                                          f"key-{kind}-{f.id}", colour, short=f"{name} · {cost}"))
    names = item_names(metrics)
    for f in sorted((f for f in layout.layer("transit_stop") if f.text("status") == "new"),
                    key=lambda f: _tag_order(tags.get(f.id, f.id))):  # T1, T2 ... as the map marks them
        x, y = point(f.geometry)
        cost = fmt_money(f.props.get("cost"), str(f.props.get("currency") or metrics.currency))
        name = names.get(f.id) or f.text("name", f.id)
        built.entries.append(KeyEntry(tags.get(f.id, "T"), f"{name} · {cost} · {location_text(metrics, x, y)}",
                                      f"key-stop-{f.id}", TRANSIT_C, short=f"{name} · {cost}"))
    if not built.entries:  # said, not left to an absent section
        budget = metrics.cost.budget
        built.title = "Built in this scenario"
        if not metrics.solved:  # no layout at all: today's site drawn, and why
            text = ("No layout: the scenario is infeasible (report.html and the run's message name the conflicting "
                    "requirements); the map shows the site as it is" if str(metrics.status) == "infeasible" else
                    f"No layout: no solution was found ({metrics.status}); the map shows the site as it is")
        else:
            text = ("Nothing: the layout is today's (capital " + fmt_money(metrics.cost.capital, metrics.currency)
                    + (f" of a {fmt_money(budget, metrics.currency)} budget" if budget else "") + ")")
        built.entries.append(KeyEntry("", text, "key-built-nothing"))
    firms = firm_section(layout)
    accuracies = [float(f.props["accuracy_m"]) for f in layout.layer("firm") if f.props.get("accuracy_m") is not None]
    junctions, existing = site_sections(layout, off_map)
    notes = KeySection("Notes", optional=True)
    if accuracies:
        span = f"Firm positions are accurate to ±{fmt_num(min(accuracies))}–{fmt_num(max(accuracies))} m"
        notes.entries.append(KeyEntry("", f"{span} (each firm's figure above).", "key-note-accuracy", short=f"{span}."))
    return [s for s in (built, firms, junctions, existing, notes) if s.entries]


def site_sections(layout: Layout, where: Callable[[Feature], str] = lambda f: "", title_suffix: str = "",
                  gid_prefix: str = "") -> tuple[KeySection, KeySection]:
    """The site's tagged features by their tags (the plans' J1, E1): existing crossings and
    junctions, and existing facilities (``where``: a note added to an entry, e.g. beyond the map
    edge; ``title_suffix``: e.g. ' of <site>' where several sites share a key)."""
    stags = site_tags(layout)
    junctions = KeySection(f"Existing crossings and junctions{title_suffix}")
    for f in sorted(layout.layer("existing_crossing"), key=lambda f: _tag_order(stags[f.id])):
        kind = nice_type(f.props.get("type"))
        junctions.entries.append(KeyEntry(stags[f.id], f.text("name", f.id) + (f" ({kind})" if kind else "") + where(f),
                                          f"{gid_prefix}key-existing-crossing-{f.id}", EXISTING_CROSSING_C))
    existing = KeySection(f"Existing facilities{title_suffix}")
    for f in sorted(layout.layer("existing_facility"), key=lambda f: _tag_order(stags[f.id])):
        kind = nice_type(f.props.get("type"))
        existing.entries.append(KeyEntry(stags[f.id], f.text("name", kind or f.id) + (f" ({kind})" if kind else "") + where(f),
                                         f"{gid_prefix}key-existing-facility-{f.id}", EXISTING_TEXT_C))
    return junctions, existing


ACCURACY_NOTE = " · ± position accuracy"
"""The end of a firm section's title (before its closing parenthesis) naming the accuracy column;
dropped when no firm of the site gives one."""


def firm_section(layout: Layout, title: str = f"Firms and buildings (number on the map · staff{ACCURACY_NOTE})",
                 gid_prefix: str = "") -> KeySection:
    """Every firm by its site number (:func:`~optimiser.present.layers.firm_numbers`) and full
    name, with staff and position accuracy: the key of the plan, the distance map and compare.
    ``title``'s :data:`ACCURACY_NOTE` is dropped when no firm has a position accuracy."""
    numbers = firm_numbers(layout)
    if not any(f.props.get("accuracy_m") is not None for f in layout.layer("firm")):
        title = title.replace(ACCURACY_NOTE, "")
    firms = KeySection(title, summary="No room for the firms' names beside this plan: they are in the report's "
                       "firm table and firms.csv, by these numbers (give the plan more room to list them here).")
    for f in sorted(layout.layer("firm"), key=lambda f: numbers[f.id]):
        acc = f.props.get("accuracy_m")
        bits = [f.text("name", f.id), f"{fmt_num(f.props.get('employees'))} staff"]
        bits += [f"±{fmt_num(acc)} m"] if acc is not None else []
        firms.entries.append(KeyEntry(str(numbers[f.id]), " · ".join(bits), f"{gid_prefix}key-firm-{f.id}",
                                      short=bits[0]))
    return firms


def _tag_order(tag: str) -> tuple[str, int]:
    """F2 before F10."""
    head = tag.rstrip("0123456789")
    tail = tag[len(head):]
    return head, int(tail) if tail else 0


def route_section(layout: Layout, pairs: Sequence[tuple[int, Feature, Feature | None]]) -> KeySection | None:
    """'Most improved pairs': each numbered route's two firms (by key number: the firms' section
    names them) and its walk before and after."""
    if not pairs:
        return None
    numbers = firm_numbers(layout)
    sec = KeySection("Most improved pairs (route number on the map: firms, walk before → after)")
    for i, fa, fb in pairs:
        a, b = fa.text("a"), fa.text("b")
        wb = fb.props.get("walk_m") if fb is not None else None
        sec.entries.append(KeyEntry(str(i), f"firms {numbers.get(a, a)} ↔ {numbers.get(b, b)}: {fmt_m(wb)} → "
                                            f"{fmt_m(fa.props.get('walk_m'))}", f"key-route-{i}", ROUTE_AFTER_C))
    return sec


@dataclass
class KeyColumn:
    """A column of the key: left edge, width, top and bottom, in inches from the figure's
    bottom-left corner."""

    x_in: float
    width_in: float
    top_in: float
    bottom_in: float


@dataclass
class _Metrics:
    """Sizes (inches) of the key at one font size."""

    fontsize: float
    first_in: float
    """Height of a one-line text."""
    advance_in: float
    """Each further line."""

    def height(self, lines: int) -> float:
        return self.first_in + (lines - 1) * self.advance_in

    def chars(self, width_in: float) -> int:
        return max(12, int(width_in * 72.0 / (self.fontsize * _EM_PER_CHAR)))


def _tag_width(fontsize: float) -> float:
    """Width (inches) of the key's tag column at ``fontsize``: room for a three-character tag."""
    return 3.2 * fontsize * 0.62 / 72.0 + 0.06


def _measure(fig: Figure, fontsize: float) -> _Metrics:
    """One- and two-line heights of the key's text at ``fontsize`` (two small text layouts)."""
    rend = renderer(fig)
    one = Text(0, 0, "lp", fontsize=fontsize, linespacing=_LINESPACING, figure=fig).get_window_extent(rend)
    two = Text(0, 0, "lp\nlp", fontsize=fontsize, linespacing=_LINESPACING, figure=fig).get_window_extent(rend)
    return _Metrics(fontsize, one.height / fig.dpi, (two.height - one.height) / fig.dpi)


@dataclass
class _Placed:
    """Where a key item goes: column, top (inches) and wrapped text."""

    col: KeyColumn
    top_in: float
    text: str
    entry: KeyEntry | None
    """None: a section heading."""


def text_width(text: str) -> int:
    """Width of ``text`` in average Latin characters: a wide or full-width character (CJK, most
    emoji) counts two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def wrap_width(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` (:func:`text_width`): broken between words; a word
    wider than a line (CJK, written without spaces) broken between its characters. Nothing is cut."""
    lines: list[str] = []
    line, used = "", 0
    for word in text.split():
        w = text_width(word)
        if w > width:  # a long unspaced run: fill the line, then carry on character by character
            if line:
                line, used = line + " ", used + 1
            for ch in word:
                cw = text_width(ch)
                if used + cw > width and line.strip():
                    lines.append(line.rstrip())
                    line, used = "", 0
                line, used = line + ch, used + cw
            continue
        if line and used + 1 + w > width:
            lines.append(line)
            line, used = "", 0
        line, used = (f"{line} {word}", used + 1 + w) if line else (word, w)
    if line:
        lines.append(line.rstrip())
    return lines


_BOLD_WIDER = 1.18
"""A heading (bold, 0.4 pt larger) is about this much wider than the entries' text."""


def _flow(sections: Sequence[tuple[KeySection, list[KeyColumn]]], m: _Metrics, tag_w_in: float,
          compact: bool = False) -> list[_Placed] | None:
    """Lay the sections out top-down in their columns: a heading stays with its first entry, and
    a section that runs out of room continues (heading repeated) in the next of its columns.
    None when they do not fit at this font size."""
    cursor: dict[int, float] = {}
    out: list[_Placed] = []
    gap = 0.35 * m.advance_in

    def wrap(text: str, col: KeyColumn, tagged: bool, heading: bool = False) -> tuple[str, float]:
        width = col.width_in - (tag_w_in if tagged else 0.0)
        chars = int(m.chars(width) / _BOLD_WIDER) if heading else m.chars(width)
        wrapped = "\n".join(wrap_width(mpl_text(text), chars)) or " "
        return wrapped, m.height(wrapped.count("\n") + 1) * (1.05 if heading else 1.0)

    def whole(sec: KeySection, col: KeyColumn) -> float:
        """Height of the whole section in ``col``."""
        head = wrap(sec.title, col, False, heading=True)[1] + 0.5 * gap
        return head + sum(wrap(e.short if compact and e.short else e.text, col, bool(e.tag))[1] + gap
                          for e in sec.entries) - gap

    for sec, cols in sections:
        # a section starts in the first of its columns that holds it whole (a short section split
        # over two columns read backwards: its '(continued)' part left of and above its start);
        # one that no column holds starts where its first entry fits
        ci = next((i for i, c in enumerate(cols) if cursor.get(id(c), c.top_in) - whole(sec, c) >= c.bottom_in), 0)
        headed = None
        for entry in sec.entries:
            while True:
                if ci >= len(cols):
                    return None
                col = cols[ci]
                top = cursor.get(id(col), col.top_in)
                text, h = wrap(entry.short if compact and entry.short else entry.text, col, bool(entry.tag))
                head, hh = wrap(sec.title if headed is None else f"{sec.title} (continued)", col, False, heading=True)
                need_head = headed is not col
                total = h + ((hh + 0.5 * gap) if need_head else 0.0)
                if top - total >= col.bottom_in:
                    if need_head:
                        out.append(_Placed(col, top, head, None))
                        top -= hh + 0.5 * gap
                        headed = col
                    out.append(_Placed(col, top, text, entry))
                    cursor[id(col)] = top - h - gap
                    break
                ci += 1
        for col in cols[:ci + 1]:  # a little more space after each section
            if id(col) in cursor:
                cursor[id(col)] -= gap
    return out


SIDE_PANEL_IN = LEGEND_COL_IN + 2 * SIDE_GAP_IN + 2.6
"""Width (inches) the legend column and the key need right of a map at full size."""


def make_room_for_side_panel(ax: Axes) -> float:
    """Where (inches from the figure's left) the side panel of ``ax`` must end, making room for it
    inside the axes' own part of the figure when there is too little to its right.

    The panel may use the figure to the right of the axes up to the next axes beside it (one
    whose box lies right of it and overlaps it vertically: ``plt.subplots(1, 2)``) or the
    figure's edge. When that is narrower than :data:`SIDE_PANEL_IN`, the axes is narrowed
    (``set_position``) so that the map and its panel share its box, the map keeping at least
    half of it: side-by-side plans never draw over each other. Call it before drawing on ``ax``.
    """
    fig = root_figure(ax)
    w_in = float(fig.get_size_inches()[0])
    box = ax.get_position(original=True)
    right = w_in - 0.1
    for other in fig.axes:
        if other is ax or other in ax.child_axes:
            continue
        ob = other.get_position(original=True)
        if ob.x0 >= box.x1 - 1e-6 and ob.y0 < box.y1 - 1e-6 and ob.y1 > box.y0 + 1e-6:
            right = min(right, ob.x0 * w_in - SIDE_GAP_IN)
    if right - box.x1 * w_in >= SIDE_PANEL_IN:
        return right
    width = right - box.x0 * w_in
    map_w = max(width - SIDE_PANEL_IN, 0.5 * width)
    ax.set_position((box.x0, box.y0, map_w / w_in, box.height))
    return right


LEGEND_SPACING = 0.7
"""Space between legend rows, in font sizes."""


def _marker_overhang_pt(handle: Any, fontsize: float) -> float:
    """How far (points) a legend handle's marker reaches above or below its row's text."""
    if not isinstance(handle, Line2D) or handle.get_marker() in (None, "", "None", "none"):
        return 0.0
    return max(0.0, float(handle.get_markersize()) / 2.0 - 0.6 * fontsize)


def _rewrap(label: str, chars: int) -> str:
    """A legend label wrapped to lines of at most ``chars`` characters (its words kept whole)."""
    return "\n".join(wrap_width(label, chars)) or label


def _small_markers(handles: Sequence[Any], factor: float) -> list[Any]:
    """Copies of the marker handles with their markers ``factor`` times as large (a small legend)."""
    out: list[Any] = []
    for h in handles:
        if isinstance(h, Line2D) and h.get_marker() not in (None, "", "None", "none"):
            h = copy.copy(h)
            h.set_markersize(float(h.get_markersize()) * factor)
        out.append(h)
    return out


def one_size_row(handles: Sequence[Any], label: str | None = None) -> list[Any]:
    """``handles`` with the firm-size circles (labels ``Firm, N employees``) as one row of a
    small circle, in the first one's place: ``label``, or without it (and only for two sizes or
    more) 'Firm (circle area by staff: 30 to 300)'."""
    sizes = [h for h in handles if isinstance(h, Line2D) and str(h.get_label()).startswith("Firm, ")]
    if not sizes or (label is None and len(sizes) < 2):
        return list(handles)
    if label is None:
        counts = [str(h.get_label()).removeprefix("Firm, ").split(" employee")[0] for h in sizes]
        label = f"Firm (circle area by staff: {counts[0]} to {counts[-1]})"
    row = Line2D([], [], marker="o", ms=8, mfc=sizes[0].get_markerfacecolor(), mec="white", ls="none", label=label)
    out: list[Any] = []
    for h in handles:
        if h is sizes[0]:
            out.append(row)
        elif not any(h is s for s in sizes):
            out.append(h)
    return out


def spaced_handles(handles: Sequence[Any], fontsize: float, labelspacing: float) -> list[Any]:
    """``handles`` with blank rows (unlabelled, undrawn handles) between two rows whose markers
    are taller than the rows (the firm-size circles, 10-26 pt in a 7.5 pt legend), so that no
    marker reaches into its neighbour's marker or text.

    Args:
        fontsize: the legend's font size (points); labelspacing: its row gap (font sizes).
    """
    out: list[Any] = []
    gap, blank = labelspacing * fontsize, (0.7 + labelspacing) * fontsize
    prev = 0.0
    for h in handles:
        over = _marker_overhang_pt(h, fontsize)
        need = prev + over + 1.0 - gap
        if out and need > 0:
            out += [Line2D([], [], ls="none", marker="", label=" ") for _ in range(math.ceil(need / blank))]
        out.append(h)
        prev = over
    return out


def draw_side_panel(ax: Axes, handles: list[Any], sections: list[KeySection], routes: KeySection | None,
                    right_in: float | None = None) -> Legend | None:
    """The legend (top of the column right of the map), the route notes under it, and the key:
    ``sections`` fill the second column first, then what is left of the first.

    Args:
        right_in: where the panel must end (inches from the figure's left;
            :func:`make_room_for_side_panel`); None: 0.1 in from the figure's right edge. A
            panel narrower than :data:`SIDE_PANEL_IN` gets a narrower legend column in a
            smaller font.

    Returns:
        The legend (None without handles).
    """
    fig = root_figure(ax)
    w_in, h_in = fig.get_size_inches()
    right_in = w_in - 0.1 if right_in is None else right_in
    pos = ax.get_position()
    top, bottom = pos.y1 * h_in, pos.y0 * h_in
    xa = pos.x1 * w_in + SIDE_GAP_IN
    legend_w = min(LEGEND_COL_IN, 0.58 * (right_in - xa - SIDE_GAP_IN))  # a narrow panel: the legend first
    xb = xa + legend_w + SIDE_GAP_IN
    leg = None
    legend_bottom = top
    if handles:
        # the legend's font and row gap shrink until it ends above the map's bottom edge (a plan in
        # a grid of subplots must not draw its legend over the plan below)
        base = max(5.0, 7.5 * legend_w / LEGEND_COL_IN)
        # first the map's symbols at their own size; then (a small panel) smaller symbols with the
        # firm sizes as one row, in a smaller and smaller font
        sizes = [fs for fs in (base, base - 0.5, base - 1.0, base - 1.5, base - 2.0) if fs >= 5.0]
        tries = [(base, LEGEND_SPACING, False)] + [(fs, LEGEND_SPACING, True) for fs in sizes] + [
            (5.0, 0.4, True), (5.0, 0.2, True)]
        hl = 2.2 if legend_w >= LEGEND_COL_IN else 1.6
        for fontsize, spacing, small in tries:
            rows = spaced_handles(_small_markers(one_size_row(handles), fontsize / 7.5) if small else handles,
                                  fontsize, spacing)
            chars = max(10, int((legend_w * 72.0 - (hl + 0.8) * fontsize) / (fontsize * _EM_PER_CHAR)))
            leg = ax.legend(rows, [_rewrap(str(h.get_label()), chars) for h in rows],
                            loc="upper left", bbox_to_anchor=(xa / w_in, top / h_in),
                            bbox_transform=fig.transFigure, fontsize=fontsize,
                            frameon=False, borderaxespad=0.0, borderpad=0.0, labelspacing=spacing,
                            handlelength=hl)
            legend_bottom = leg.get_window_extent(renderer(fig)).y0 / fig.dpi
            if legend_bottom >= bottom - 0.02:
                break
        else:
            logger.warning("the legend beside the map is %.1f in taller than the map: give each plan more room",
                           bottom - legend_bottom)
        assert leg is not None
        leg.set_gid("legend")
        legend_bottom -= 0.2
        # a label wider than its column (a small panel) pushes the key right rather than under it
        xb = min(max(xb, leg.get_window_extent(renderer(fig)).x1 / fig.dpi + 0.5 * SIDE_GAP_IN), right_in - 0.3)
    col_a = KeyColumn(xa, legend_w, legend_bottom, bottom)
    col_b = KeyColumn(xb, right_in - xb, top, bottom)
    flows = ([(routes, [col_a])] if routes is not None else []) + [(s, [col_b, col_a]) for s in sections]
    draw_key(fig, flows)
    return leg


def draw_key(fig: Figure, flows: Sequence[tuple[KeySection, list[KeyColumn]]]) -> None:
    """Draw key ``flows`` (each section and the columns it may fill, in order) as figure texts,
    at the largest of :data:`KEY_FONT_SIZES` at which they all fit (overflowing at the smallest,
    with a warning, when they do not)."""
    placed: list[_Placed] | None = None
    # the whole key down to a small size; then names without details (staff, accuracy, positions:
    # the report's tables have them) from the largest size again
    tries = [(fs, False) for fs in KEY_FONT_SIZES if fs >= COMPACT_BELOW] + [(fs, True) for fs in KEY_FONT_SIZES]
    for fs, compact in tries:
        m = _measure(fig, fs)
        tag_w = _tag_width(fs)
        placed = _flow(flows, m, tag_w, compact)
        if placed is not None:
            if compact:
                logger.info("the key beside the map gives names only (no room for staff and positions)")
            break
    if placed is None:  # the optional sections left out, then long sections summarised in one line
        m = _measure(fig, KEY_FONT_SIZES[-1])
        tag_w = _tag_width(m.fontsize)
        for said, reduced in _reductions(flows):
            placed = _flow(reduced, m, tag_w, True)
            if placed is not None:
                logger.warning("the key does not fit beside the map: %s; give the plan more room to list it whole", said)
                break
    if placed is None:  # does not fit even at the smallest size: draw it anyway (overflowing), say so
        w_in, h_in = fig.get_size_inches()
        logger.warning("the key does not fit beside the map (%d sections) in a %.1f x %.1f in figure: it runs past "
                       "the map's bottom edge; give each plan more room (a larger figsize, fewer plans per figure) "
                       "or draw it with legend=False", len(flows), w_in, h_in)
        # m and tag_w: still the smallest size, at which the reductions were tried. The last
        # column of each flow runs on past its bottom; one object per column, so no two sections
        # are drawn over each other
        last = {id(cols[-1]) for _s, cols in flows if cols}
        cols_of = {id(c): KeyColumn(c.x_in, c.width_in, c.top_in, -1e9 if id(c) in last else c.bottom_in)
                   for _s, cols in flows for c in cols}
        placed = _flow([(s, [cols_of[id(c)] for c in cols]) for s, cols in flows], m, tag_w, True)
        assert placed is not None
    _draw_placed(fig, placed, m.fontsize, tag_w)


_Flows = list[tuple[KeySection, list[KeyColumn]]]


def _reductions(flows: Sequence[tuple[KeySection, list[KeyColumn]]]) -> list[tuple[str, _Flows]]:
    """Smaller keys, tried in turn where the whole key does not fit, each with what it leaves out:
    without its optional sections, then with every summarised section (``summary``) as its one
    line too (when there is one), then one note that the key does not fit."""
    every = list({id(c): c for _s, cols in flows for c in cols}.values())
    # each section may also continue in every other column (the routes' notes keep to the first
    # column otherwise, where a tall legend leaves none)
    kept = [(s, c + [x for x in every if all(x is not y for y in c)]) for s, c in flows if not s.optional]
    out: list[tuple[str, _Flows]] = [("notes left out", kept)]
    if not kept:
        return out
    if any(s.summary for s, _c in kept):
        short = [(KeySection(s.title, [KeyEntry("", s.summary, f"key-{i}-summary")]) if s.summary else s, c)
                 for i, (s, c) in enumerate(kept)]
        out.append(("firms named in the report instead", short))
    tags = sum(len(s.entries) for s, _c in kept if not s.summary)
    named = sum(len(s.entries) for s, _c in kept if s.summary)
    one = KeySection("Key", [KeyEntry("", f"No room for the key beside this plan ({named} numbered firms, {tags} "
                                          "tagged items): give the plan more room (a larger figure, fewer plans "
                                          "per figure); report.html lists them all.", "key-all-summary")])
    return [*out, ("only a note that it does not fit is drawn", [(one, every)])]


def _draw_placed(fig: Figure, placed: list[_Placed], fontsize: float, tag_w_in: float) -> None:
    w_in, h_in = fig.get_size_inches()
    for p in placed:
        y = p.top_in / h_in
        if p.entry is None:
            fig.text(p.col.x_in / w_in, y, p.text, ha="left", va="top", fontsize=fontsize + 0.4, fontweight="bold",
                     color="#222222", linespacing=_LINESPACING)
            continue
        x_text = p.col.x_in + (tag_w_in if p.entry.tag else 0.0)
        if p.entry.tag:
            fig.text((x_text - 0.05) / w_in, y, p.entry.tag, ha="right", va="top", fontsize=fontsize,
                     fontweight="bold", color=p.entry.color, gid=f"{p.entry.gid}-tag")
        fig.text(x_text / w_in, y, p.text, ha="left", va="top", fontsize=fontsize, color="#222222",
                 linespacing=_LINESPACING, gid=p.entry.gid)
