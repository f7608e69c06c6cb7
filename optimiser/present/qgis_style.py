"""QGIS layer styles (QML and SLD) matching the plan's symbols, for a GeoPackage's ``layer_styles``.

Colours and marker shapes come from :mod:`optimiser.present.style` (what the plans draw), so a
run opened in QGIS looks like its ``plan.png``: parcels by status, barriers by kind, firms sized
by employees, new crossings red, existing crossings black, routes before dashed grey and after
blue, social-space coverage as faint dashed circles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape, quoteattr

logger = logging.getLogger(__name__)

__all__ = ["Symbol", "LayerStyle", "layer_styles", "qml", "sld"]

PT_MM = 0.3528
"""Millimetres per typographic point (matplotlib sizes are points, QGIS's millimetres)."""


@dataclass(frozen=True)
class Symbol:
    """One symbol: ``kind`` "marker", "line" or "fill"; colours as ``#rrggbb``; sizes in mm."""

    kind: str
    color: str
    outline: str = "#ffffff"
    width_mm: float = 0.4
    size_mm: float = 3.0
    shape: str = "circle"
    dash: bool = False
    alpha: float = 1.0
    fill_alpha: float | None = None
    size_expression: str | None = None


@dataclass(frozen=True)
class LayerStyle:
    """A layer's renderer: one symbol, or one per value of ``attribute`` (value, label, symbol)."""

    symbol: Symbol
    attribute: str | None = None
    categories: tuple[tuple[str, str, Symbol], ...] = ()


def _rgba(color: str, alpha: float = 1.0) -> str:
    c = color.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return f"{r},{g},{b},{round(255 * alpha)}"


def _opt(name: str, value: object) -> str:
    return f'<Option name="{name}" type="QString" value={quoteattr(str(value))}/>'


def _symbol_layer_xml(s: Symbol) -> str:
    if s.kind == "marker":
        opts = [_opt("name", s.shape), _opt("color", _rgba(s.color, s.fill_alpha if s.fill_alpha is not None else 1.0)),
                _opt("outline_color", _rgba(s.outline)), _opt("outline_width", s.width_mm), _opt("size", s.size_mm),
                _opt("size_unit", "MM"), _opt("outline_width_unit", "MM")]
        cls = "SimpleMarker"
    elif s.kind == "line":
        opts = [_opt("line_color", _rgba(s.color)), _opt("line_width", s.width_mm), _opt("line_width_unit", "MM"),
                _opt("line_style", "dash" if s.dash else "solid"), _opt("capstyle", "flat"), _opt("joinstyle", "round")]
        cls = "SimpleLine"
    else:
        opts = [_opt("color", _rgba(s.color, s.fill_alpha if s.fill_alpha is not None else 1.0)),
                _opt("outline_color", _rgba(s.outline)), _opt("outline_width", s.width_mm), _opt("outline_width_unit", "MM"),
                _opt("outline_style", "dash" if s.dash else "solid"), _opt("style", "solid")]
        cls = "SimpleFill"
    ddp = ""
    if s.size_expression:
        ddp = ('<data_defined_properties><Option type="Map"><Option name="name" type="QString" value=""/>'
               '<Option name="properties" type="Map"><Option name="size" type="Map">'
               '<Option name="active" type="bool" value="true"/>'
               f'<Option name="expression" type="QString" value={quoteattr(s.size_expression)}/>'
               '<Option name="type" type="int" value="3"/></Option></Option>'
               '<Option name="type" type="QString" value="collection"/></Option></data_defined_properties>')
    return f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{"".join(opts)}</Option>{ddp}</layer>'


def _symbol_xml(s: Symbol, name: str) -> str:
    return (f'<symbol type="{s.kind}" name="{name}" alpha="{s.alpha:g}" clip_to_extent="1" force_rhr="0">'
            f"{_symbol_layer_xml(s)}</symbol>")


def qml(style: LayerStyle) -> str:
    """The QGIS QML document of a layer style (symbology only)."""
    if style.attribute and style.categories:
        # the last category, value "", is QGIS's "all other values": without it a feature of
        # another value (a barrier of kind 'other', a site file's 'carriageway') is not drawn
        every = (*style.categories, ("", "other", style.symbol))
        cats = "".join(f'<category symbol="{i}" value={quoteattr(v)} label={quoteattr(lbl)} render="true"/>'
                       for i, (v, lbl, _) in enumerate(every))
        syms = "".join(_symbol_xml(s, str(i)) for i, (_, _, s) in enumerate(every))
        renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(style.attribute)} symbollevels="0" '
                    f'enableorderby="0" forceraster="0"><categories>{cats}</categories><symbols>{syms}</symbols>'
                    f'<source-symbol>{_symbol_xml(style.symbol, "0")}</source-symbol></renderer-v2>')
    else:
        renderer = ('<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                    f'<symbols>{_symbol_xml(style.symbol, "0")}</symbols></renderer-v2>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}</qgis>\n')


def _sld_symbolizer(s: Symbol) -> str:
    px = 3.78  # pixels per mm at 96 dpi
    if s.kind == "marker":
        return ("<se:PointSymbolizer><se:Graphic><se:Mark>"
                f"<se:WellKnownName>{escape(s.shape)}</se:WellKnownName>"
                f'<se:Fill><se:SvgParameter name="fill">{s.color}</se:SvgParameter></se:Fill>'
                f'<se:Stroke><se:SvgParameter name="stroke">{s.outline}</se:SvgParameter>'
                f'<se:SvgParameter name="stroke-width">{s.width_mm * px:.1f}</se:SvgParameter></se:Stroke>'
                f"</se:Mark><se:Size>{s.size_mm * px:.1f}</se:Size></se:Graphic></se:PointSymbolizer>")
    dash = '<se:SvgParameter name="stroke-dasharray">8 4</se:SvgParameter>' if s.dash else ""
    if s.kind == "line":
        return (f'<se:LineSymbolizer><se:Stroke><se:SvgParameter name="stroke">{s.color}</se:SvgParameter>'
                f'<se:SvgParameter name="stroke-width">{s.width_mm * px:.1f}</se:SvgParameter>'
                f'<se:SvgParameter name="stroke-opacity">{s.alpha:g}</se:SvgParameter>{dash}</se:Stroke></se:LineSymbolizer>')
    opacity = s.fill_alpha if s.fill_alpha is not None else 1.0
    return (f'<se:PolygonSymbolizer><se:Fill><se:SvgParameter name="fill">{s.color}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{opacity:g}</se:SvgParameter></se:Fill>'
            f'<se:Stroke><se:SvgParameter name="stroke">{s.outline}</se:SvgParameter>'
            f'<se:SvgParameter name="stroke-width">{s.width_mm * px:.1f}</se:SvgParameter>{dash}</se:Stroke></se:PolygonSymbolizer>')


def sld(layer: str, style: LayerStyle) -> str:
    """The OGC SLD 1.1 document of a layer style (for tools other than QGIS)."""
    if style.attribute and style.categories:
        rules = "".join(
            f"<se:Rule><se:Name>{escape(lbl)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{escape(style.attribute)}</ogc:PropertyName><ogc:Literal>{escape(v)}</ogc:Literal>"
            f"</ogc:PropertyIsEqualTo></ogc:Filter>{_sld_symbolizer(s)}</se:Rule>" for v, lbl, s in style.categories)
        rules += f"<se:Rule><se:Name>other</se:Name><se:ElseFilter/>{_sld_symbolizer(style.symbol)}</se:Rule>"
    else:
        rules = f"<se:Rule><se:Name>{escape(layer)}</se:Name>{_sld_symbolizer(style.symbol)}</se:Rule>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(layer)}</se:Name>"
            f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n")


def layer_styles() -> dict[str, LayerStyle]:
    """The style of every layer a run's ``layout.gpkg`` (and a site GeoPackage) may hold, by layer name."""
    from optimiser.present import style as st

    parcels = tuple((status, ps.label, Symbol("fill", ps.fc, ps.ec, 0.3)) for status, ps in st.PARCEL_STYLE.items())
    firm = Symbol("marker", st.FIRM_C, "#ffffff", 0.3, 3.0, "circle", alpha=0.9,
                  size_expression='2 + 6 * sqrt(coalesce("employees", 0) / maximum("employees"))')
    carriageway = Symbol("line", st.CARRIAGEWAY_FC, width_mm=2.2)
    rail = Symbol("line", st.RAIL_EC, width_mm=1.2, dash=True)
    new_crossing = Symbol("line", st.CROSSING_C, width_mm=4.0 * PT_MM)
    transit_line = Symbol("line", st.TRANSIT_C, width_mm=2.2 * PT_MM, dash=True, alpha=0.85)
    existing_stop = Symbol("marker", "#ffffff", st.FIRM_C, 0.4, 8 * PT_MM, "square")
    new_stop = Symbol("marker", st.TRANSIT_C, st.TRANSIT_C, 0.4, 11 * PT_MM, "square")
    catchment = Symbol("fill", st.TRANSIT_C, st.TRANSIT_C, 0.3, fill_alpha=0.16)
    return {
        "parcels": LayerStyle(Symbol("fill", st.PARCEL_OTHER.fc, st.PARCEL_OTHER.ec, 0.3), "status", parcels),
        "firms": LayerStyle(firm),
        "firm_entrances": LayerStyle(Symbol("marker", "#ffffff", st.FIRM_C, 0.3, 1.6, "circle")),
        "firm_footprints": LayerStyle(Symbol("fill", st.FIRM_C, st.FIRM_C, 0.3, fill_alpha=0.25)),
        "barriers": LayerStyle(Symbol("line", st.PATH_C, width_mm=1.5), "kind", (
            ("dual_carriageway", "Dual carriageway", carriageway), ("motorway", "Motorway", carriageway),
            ("arterial", "Arterial road", carriageway), ("rail", "Rail", rail),
            ("water", "Water", Symbol("line", st.WATER_EC, width_mm=1.5)))),
        "paths": LayerStyle(Symbol("line", st.PATH_C, width_mm=0.3)),
        "existing_crossings": LayerStyle(Symbol("line", st.EXISTING_CROSSING_C, width_mm=3.0 * PT_MM)),
        "new_crossings": LayerStyle(new_crossing),
        "candidates_not_chosen": LayerStyle(Symbol("line", st.CROSSING_C, width_mm=1.2 * PT_MM, dash=True, alpha=0.45)),
        "candidate_sites_not_chosen": LayerStyle(Symbol("marker", "#ffffff", st.PATH_C, 0.2, 1.2, "circle")),
        "facilities": LayerStyle(Symbol("marker", st.FACILITY_C, st.FACILITY_EC, 0.3, 21 * PT_MM * 0.6, "star")),
        "facility_footprints": LayerStyle(Symbol("fill", st.FACILITY_C, st.FACILITY_TEXT_C, 0.3, fill_alpha=0.35)),
        "existing_facilities": LayerStyle(Symbol("marker", st.EXISTING_FACILITY_C, "#ffffff", 0.25, 8 * PT_MM, "cross_fill")),
        "social_spaces": LayerStyle(Symbol("marker", st.SOCIAL_C, "#ffffff", 0.45, 15 * PT_MM * 0.7, "hexagon")),
        "existing_social_spaces": LayerStyle(Symbol("marker", st.SOCIAL_C, "#ffffff", 0.3, 3.0, "hexagon", fill_alpha=0.5)),
        "coverage_areas": LayerStyle(Symbol("fill", st.SOCIAL_C, st.SOCIAL_C, 0.3, dash=True, fill_alpha=0.07)),
        "facility_walks": LayerStyle(Symbol("marker", st.FIRM_C, "#ffffff", 0.2, 1.5, "circle")),
        "routes_before": LayerStyle(Symbol("line", st.ROUTE_BEFORE_C, width_mm=1.5 * PT_MM, dash=True, alpha=0.85)),
        "routes_after": LayerStyle(Symbol("line", st.ROUTE_AFTER_C, width_mm=2.2 * PT_MM, alpha=0.85)),
        "exclusion_zones": LayerStyle(Symbol("fill", "#c0392b", "#c0392b", 0.3, dash=True, fill_alpha=0.12)),
        "transit_lines": LayerStyle(transit_line),  # a site's alignments; a transit run's layout has the three below
        "transit_line": LayerStyle(transit_line),
        "transit_stop": LayerStyle(existing_stop, "status", (("existing", "Existing stop", existing_stop),
                                                             ("new", "New stop", new_stop))),
        "transit_catchment": LayerStyle(catchment, "phase", (
            ("before", "Walking catchment, today's crossings", replace(catchment, dash=True, fill_alpha=0.0)),
            ("after", "Walking catchment, with new crossings", catchment))),
        "network_edges": LayerStyle(Symbol("line", st.PATH_C, width_mm=0.35), "kind", (
            ("path", "Path", Symbol("line", st.PATH_C, width_mm=0.35)),
            ("connector", "Connector", Symbol("line", st.PATH_C, width_mm=0.2, dash=True)),
            ("existing_crossing", "Existing crossing", Symbol("line", st.EXISTING_CROSSING_C, width_mm=1.0)))),
        "connectors": LayerStyle(Symbol("line", st.PATH_C, width_mm=0.2, dash=True)),
        "network_nodes": LayerStyle(Symbol("marker", st.PATH_C, "#ffffff", 0.1, 1.0, "circle")),
        "candidate_crossings": LayerStyle(Symbol("line", st.CROSSING_C, width_mm=1.2 * PT_MM, dash=True, alpha=0.6)),
    }
