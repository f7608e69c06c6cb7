"""A site as GIS layers: GeoPackage, Shapefile, FlatGeobuf and GeoDataFrames (pyogrio/geopandas).

A site mapping (the shape of a YAML site file) and a set of layers are two spellings of the
same thing. The layers are (:data:`SITE_LAYERS`): ``parcels``, ``firms``, ``firm_entrances``,
``firm_footprints`` (each with ``firm``, the firm's id; entrances in ``order``), ``barriers``,
``paths``, ``existing_crossings``, ``exclusion_zones`` and ``transit_lines`` (one geometry column
each, in the site's ``crs``; a line's existing ``stops`` as JSON text), ``crossing_rules`` (an
attribute table, no geometry) and ``site``: one row holding the site's own fields (``format``,
``id``, ``name``, ``description``, ``crs``, ``working_crs``, ``illustrative``...).

Attributes are the site file's keys. Nested values are flattened so QGIS can edit them: a
``provenance`` mapping becomes ``provenance_source``, ``provenance_accuracy_m`` and
``provenance_status``; lists (a rule's ``types``) are JSON text (comma-separated text is read
too). Null attributes are absent ones (the file's default applies).

Every item read from layers is a :class:`LocatedItem` that remembers its layer and feature, so
validation messages name them (:func:`optimiser.inputs.gis_messages.name_features`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pydantic import BaseModel
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from optimiser.errors import Problem
from optimiser.inputs import schema as S
from optimiser.inputs.cut_names import cut_json_text, provenance_columns
from optimiser.inputs.messages import MISSING_REASON, suggest
from optimiser.lazy import lazy_module

if TYPE_CHECKING:  # the real modules for mypy; loaded on first use at run time (optimiser.lazy)
    import geopandas as gpd
    import pandas as pd
    import pyogrio
else:
    gpd = lazy_module("geopandas")
    pd = lazy_module("pandas")
    pyogrio = lazy_module("pyogrio")

logger = logging.getLogger(__name__)

__all__ = ["GIS_SUFFIXES", "SITE_SUFFIXES", "SITE_FILE_NAMES", "SITE_LAYERS", "SITE_TABLE", "PARTS", "GDF_FILE", "LayerSpec",
           "LocatedItem", "SiteMapping", "layer_for",
           "site_to_frames", "frames_to_site", "typed_column", "split_parts", "attach_parts",
           "item_from_props", "unknown_attributes", "site_mapping_from_gdfs", "reproject_mapping"]

GIS_SUFFIXES = (".gpkg", ".shp", ".fgb")
"""Binary GIS files read with pyogrio (never as text)."""
SITE_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".geojson", *GIS_SUFFIXES)
"""What a site file may be: ``sites/<id>/site.<suffix>`` in this order of lookup
(:data:`SITE_FILE_NAMES`), and the site files a ZIP archive is searched for."""
SITE_FILE_NAMES = tuple(f"site{s}" for s in SITE_SUFFIXES)
"""File names a site folder ``sites/<id>/`` may use, in the order they are looked for."""
SITE_TABLE = "site"
"""The GeoPackage table holding the site's own fields (one row)."""
PROVENANCE_PREFIX = "provenance_"
GDF_FILE = "<GeoDataFrames>"
"""The "file" problems name for a site built from GeoDataFrames."""
_IGNORED_TABLES = frozenset({"layer_styles", "qgis_projects", "gpkg_contents"})
_QGIS_ARTEFACTS = frozenset({"fid", "path", "objectid", "shape_length", "shape_area", "shape_leng"})
"""Fields GIS software adds, compared in lower case: QGIS's feature id and the source file that
"Merge vector layers" writes as ``path``; ArcGIS's ``OBJECTID`` and the geometry's own
``Shape_Length`` / ``Shape_Area`` (``Shape_Leng`` in a Shapefile)."""
UNKNOWN_IDS_SHOWN = 5
"""Features named in a message about an unknown attribute; the rest are counted."""


@dataclass(frozen=True)
class LayerSpec:
    """One kind of site feature as a GIS layer.

    Attributes:
        name: the layer's name (GeoPackage layer, GeoJSON ``layer`` value).
        key: the site file's list it holds.
        geom_field: the item field its geometry is (``None``: an attribute table).
        geom_type: the geometry type the site model takes.
        model: the pydantic model of one item (its fields are the layer's attributes).
        aliases: other names the layer is known by (singular, the site file's key).
    """

    name: str
    key: str
    geom_field: str | None
    geom_type: str | None
    model: type[BaseModel]
    aliases: tuple[str, ...] = ()


class FirmPartIn(BaseModel):
    """A firm's entrance or footprint drawn as its own feature (layers ``firm_entrances``, ``firm_footprints``)."""

    firm: str
    order: int | None = None


PARTS: dict[str, tuple[str, str, bool]] = {
    "firm_entrances": ("firms", "entrances", True),
    "firm_footprints": ("firms", "footprint", False),
}
"""Part layer -> (the site list its features belong to, the item field they fill, several per item)."""

SITE_LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("parcels", "parcels", "geometry", "Polygon", S.ParcelIn, ("parcel",)),
    LayerSpec("firms", "firms", "location", "Point", S.FirmIn, ("firm",)),
    LayerSpec("firm_entrances", "firm_entrances", "geometry", "Point", FirmPartIn, ("firm_entrance", "entrances", "entrance")),
    LayerSpec("firm_footprints", "firm_footprints", "geometry", "Polygon", FirmPartIn, ("firm_footprint", "footprints",
                                                                                        "footprint")),
    LayerSpec("barriers", "barriers", "geometry", "LineString", S.BarrierIn, ("barrier",)),
    LayerSpec("paths", "paths", "geometry", "LineString", S.PathIn, ("path",)),
    LayerSpec("existing_crossings", "crossings", "geometry", "LineString", S.CrossingIn,
              ("existing_crossing", "crossing", "crossings")),
    LayerSpec("exclusion_zones", "exclusion_zones", "geometry", "Polygon", S.ExclusionIn, ("exclusion_zone",)),
    LayerSpec("crossing_rules", "crossing_rules", None, None, S.CrossingRuleIn, ("crossing_rule",)),
    LayerSpec("transit_lines", "transit", "geometry", "LineString", S.TransitLineIn, ("transit_line", "transit")),
)
"""The site's layers, in the order they are written."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


_BY_NAME: dict[str, LayerSpec] = {}
for _spec in SITE_LAYERS:
    for _n in (_spec.name, *_spec.aliases):
        _BY_NAME[_n] = _spec


def layer_for(name: Any) -> LayerSpec | None:
    """The layer a name means: ``firms``, ``firm``, ``Firms``, ``existing crossings``... or ``None``.

    QGIS names merged or exported layers after their source (``site — firms``, ``site firms``):
    the last word(s) after a separator are tried too.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    n = _norm(name)
    if n in _BY_NAME:
        return _BY_NAME[n]
    for tail in sorted(_BY_NAME, key=len, reverse=True):
        if n.endswith("_" + tail):
            return _BY_NAME[tail]
    return None


class LocatedItem(dict[str, Any]):
    """A site item read from a layer; ``where`` names its layer and feature for messages,
    ``layer`` the layer as the file names it, ``unknown`` the attributes that are no field of
    the layer (reported once per layer by :func:`unknown_attributes`, not once per feature)."""

    where: str = ""
    layer: str = ""
    unknown: dict[str, Any]


class SiteMapping(dict[str, Any]):
    """A site mapping whose own fields were given in a GeoPackage's ``site`` table or a GeoJSON's
    ``site`` member; ``own`` names where each was given (``layer site: id``, ``site.id``), for
    messages (:func:`optimiser.inputs.gis_messages.name_features`)."""

    own: dict[str, str]

    def __init__(self, data: Mapping[str, Any], own: Mapping[str, str]) -> None:
        super().__init__(data)
        self.own = dict(own)


# ------------------------------------------------------------------ values


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    """A numpy / pandas scalar as the plain Python value."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _unannotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _alternatives(annotation: Any) -> list[Any]:
    """The non-None types of a field annotation (``[int]`` for ``int | None``), unannotated."""
    ann = _unannotated(annotation)
    parts = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else (ann,)
    return [_unannotated(a) for a in parts if a is not type(None)]


def _base_type(annotation: Any) -> Any:
    """``int`` for ``Annotated[int, ...]``, ``bool`` for ``bool | None``...; else the annotation."""
    alts = _alternatives(annotation)
    return alts[0] if len(alts) == 1 else annotation


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(a) is list or a is list for a in _alternatives(annotation))


def _is_structured(annotation: Any) -> bool:
    """Whether a model field holds a list, a mapping or a geometry (stored as JSON text)."""
    for a in _alternatives(annotation):
        if typing.get_origin(a) in (list, dict) or a in (list, dict):
            return True
        if isinstance(a, type) and issubclass(a, BaseModel) and a is not S.Source:
            return True
    return False


def _coerce(value: Any, annotation: Any) -> Any:
    """A value read from a GIS column as the field's type (GIS columns widen ints and bools, and
    QGIS gives a new layer's ``id`` an integer column: a whole number in a text field is its
    digits, ``7`` or ``7.0`` as ``"7"``)."""
    base = _base_type(annotation)
    if base is bool and isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if base is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if base is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)
    return value


def _geometry_value(geom: BaseGeometry, point_as_xy: bool) -> Any:
    """A shapely geometry as the site file writes it: ``[x, y]`` or a GeoJSON mapping (lists)."""
    if point_as_xy and geom.geom_type == "Point":
        return [float(geom.x), float(geom.y)]
    return json.loads(shapely.to_geojson(geom))


def _as_geometry(value: Any) -> BaseGeometry | None:
    """A site file's geometry value (``[x, y]`` or GeoJSON mapping) as shapely; None if absent/bad."""
    if isinstance(value, (list, tuple)) and len(value) >= 2 and all(isinstance(v, (int, float)) for v in value[:2]):
        return Point(float(value[0]), float(value[1]))
    if isinstance(value, Mapping):
        try:
            return shapely.force_2d(shape(value))
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
            return None
    return None


def _transform_value(value: Any, fn: Any) -> Any:
    """Every coordinate pair inside a geometry value (``[x, y]``, GeoJSON mapping, list of them) through ``fn``."""
    if isinstance(value, Mapping) and "coordinates" in value:
        return {**value, "coordinates": _transform_value(value["coordinates"], fn)}
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, (int, float)) for v in value):
        x, y = fn(float(value[0]), float(value[1]))
        return [float(x), float(y)]
    if isinstance(value, list):
        return [_transform_value(v, fn) for v in value]
    return value


def _reproject_item(item: Mapping[str, Any], fn: Any, geometry_fields: set[str]) -> dict[str, Any]:
    """An item with its geometry fields (and its transit stops' locations) through ``fn``."""
    out = {k: _transform_value(v, fn) if k in geometry_fields else v for k, v in item.items()}
    if isinstance(item.get("stops"), list):
        out["stops"] = [_reproject_item(s, fn, geometry_fields) if isinstance(s, Mapping) else s for s in item["stops"]]
    return out


def reproject_mapping(data: Mapping[str, Any], dst_crs: str) -> dict[str, Any]:
    """A site mapping with every geometry (entrances and footprints too) reprojected to ``dst_crs``."""
    from pyproj import CRS, Transformer

    out = dict(data)
    src = data.get("crs")
    if not isinstance(src, str) or CRS.from_user_input(src).equals(CRS.from_user_input(dst_crs)):
        return out
    tr = Transformer.from_crs(src, dst_crs, always_xy=True)
    geometry_fields = {"geometry", "location", "entrances", "footprint"}
    for spec in SITE_LAYERS:
        items = data.get(spec.key)
        if isinstance(items, list):
            out[spec.key] = [_reproject_item(it, tr.transform, geometry_fields) if isinstance(it, Mapping) else it
                             for it in items]
    out["crs"] = dst_crs
    return out


# ------------------------------------------------------------------ site mapping -> layers


def _flatten(item: Mapping[str, Any], spec: LayerSpec) -> dict[str, Any]:
    """An item's attributes as columns: provenance flattened, lists and mappings as JSON text."""
    row: dict[str, Any] = {}
    for k, v in item.items():
        if k == spec.geom_field:
            continue
        if k == "layer":  # a barrier's scenario layer, older spelling: `layer` names the kind in GIS files
            k = "scenario_layer"
        if k == "provenance" and isinstance(v, Mapping):
            row.update({f"{PROVENANCE_PREFIX}{sk}": sv for sk, sv in v.items() if sv is not None})
        elif isinstance(v, (list, dict)):
            row[k] = json.dumps(v, separators=(",", ":"))
        elif v is not None:
            row[k] = v
    return row


def typed_column(values: list[Any]) -> pd.Series:
    """A column keeping ints and bools with gaps as nullable ints and bools (not floats)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(pd.array(values, dtype="boolean"))
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(pd.array(values, dtype="Int64"))
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series([float(v) if v is not None else np.nan for v in values], dtype="float64")
    return pd.Series([None if v is None else str(v) for v in values], dtype=object)


def _frame(items: list[Mapping[str, Any]], spec: LayerSpec, crs: str | None) -> pd.DataFrame:
    rows = [_flatten(it, spec) for it in items]
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    data = {c: typed_column([r.get(c) for r in rows]) for c in columns}
    if spec.geom_field is None:
        if not rows:  # an empty table still has its columns: GDAL writes no table of none
            data = {c: pd.Series([], dtype=object) for c in layer_fields(spec)}
        return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    geoms = [_as_geometry(it.get(spec.geom_field)) for it in items]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), index=pd.RangeIndex(len(rows)))


def site_meta(data: Mapping[str, Any]) -> dict[str, Any]:
    """The site's own fields: every top-level key that is not a layer."""
    keys = {s.key for s in SITE_LAYERS}
    return {k: v for k, v in data.items() if k not in keys}


def site_to_frames(data: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """A site mapping as layers: ``{layer name: GeoDataFrame (attribute tables: DataFrame)}``.

    Geometry stays in the file's ``crs`` (the GeoDataFrames carry it); ``site`` is the one-row
    table of the site's own fields. Every layer is there, empty when the site has none.
    """
    crs = data.get("crs") if isinstance(data.get("crs"), str) else None
    data = split_parts(data)
    out: dict[str, pd.DataFrame] = {}
    for spec in SITE_LAYERS:
        items = [it for it in data.get(spec.key) or [] if isinstance(it, Mapping)]
        out[spec.name] = _frame(items, spec, crs)
    meta = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in site_meta(data).items() if v is not None}
    out[SITE_TABLE] = pd.DataFrame({k: typed_column([v]) for k, v in meta.items()})
    return out


def split_parts(data: Mapping[str, Any]) -> dict[str, Any]:
    """A site mapping whose firms' entrances and footprints are features of their own part layers
    (so GIS tools draw and reproject them like any geometry)."""
    out = dict(data)
    for part, (key, field, several) in PARTS.items():
        items, parts = [], []
        for it in out.get(key) or []:
            if not isinstance(it, Mapping) or it.get(field) is None:
                items.append(it)
                continue
            values = it[field] if several and isinstance(it[field], list) else [it[field]]
            parts += [{"firm": it.get("id"), **({"order": k} if several else {}), "geometry": v} for k, v in enumerate(values)]
            items.append({k: v for k, v in it.items() if k != field})
        out[key] = items
        if parts:
            out[part] = parts
    return out


def layer_fields(spec: LayerSpec) -> list[str]:
    """The attributes a layer takes, as its features spell them: the item's fields but its
    geometry, the parts drawn as layers of their own (a firm's ``entrances`` and ``footprint``:
    layers ``firm_entrances``, ``firm_footprints``) and ``provenance``, which is flattened into
    ``provenance_source``, ``provenance_accuracy_m`` and ``provenance_status``."""
    parts = {field for key, field, _ in PARTS.values() if key == spec.key}
    out: list[str] = []
    for f in spec.model.model_fields:
        if f in (spec.geom_field, "layer") or f in parts:
            continue
        out += [f"{PROVENANCE_PREFIX}{k}" for k in S.Source.model_fields] if f == "provenance" else [f]
    return out


def unknown_attributes(data: Mapping[str, Any], file: str) -> list[Problem]:
    """One problem per layer and attribute that is no field of the layer (a column of a layer is
    on every feature: it is reported once, naming the first features), with a did-you-mean."""
    seen: dict[tuple[str, str], list[LocatedItem]] = {}
    fields_of: dict[str, Iterable[str]] = {}
    for spec in SITE_LAYERS:
        for item in data.get(spec.key) or []:
            for key in getattr(item, "unknown", None) or {}:
                seen.setdefault((item.layer, key), []).append(item)
                fields_of[item.layer] = layer_fields(spec)
    problems = []
    for (layer, key), items in seen.items():
        names = [str(it.get("id") or it.where.removeprefix(f"layer {layer}, ")) for it in items[:UNKNOWN_IDS_SHOWN]]
        more = f" and {len(items) - len(names)} more" if len(items) > len(names) else ""
        near = suggest(key, fields_of[layer])
        problems.append(Problem(
            file, f"layer {layer}: {key}",
            f"unknown attribute {key!r} on {len(items)} feature{'s' if len(items) > 1 else ''} ({', '.join(names)}{more})",
            f"did you mean {near!r}? (rename the field)" if near else
            f"delete the field or rename it to one of the layer's: {', '.join(fields_of[layer])}"))
    return problems


def _part_order(p: Mapping[str, Any], part: str, file: str, problems: list[Problem]) -> float:
    """A part's ``order`` as a number (a text column's "2" is 2, not after "10"); none: last. Any
    other value is a problem (QGIS lets a text field hold 'first'; GeoJSON mixes 1 and "2")."""
    value = p.get("order")
    if value is None:
        return math.inf
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    problems.append(Problem(file, f"{getattr(p, 'where', part)}: order", f"must be a number, got {value!r}",
                            "number the firm's entrances 1, 2, 3 ... in the order they are used, or leave it empty"))
    return math.inf


def attach_parts(data: dict[str, Any], file: str) -> list[Problem]:
    """Put part-layer features (``firm_entrances``, ``firm_footprints``) back on their firms, in
    ``order``; a part naming no known firm, or a second footprint, is a problem."""
    problems: list[Problem] = []
    for part, (key, field, several) in PARTS.items():
        parts = data.pop(part, None)
        if not parts:
            continue
        by_id = {it.get("id"): it for it in data.get(key) or [] if isinstance(it, dict)}
        ranked = sorted(enumerate(parts), key=lambda kp: (_part_order(kp[1], part, file, problems), kp[0]))
        for _, p in ranked:
            where = getattr(p, "where", part)
            owner = by_id.get(p.get("firm"))
            if p.get("firm") is None:  # null: the part names no firm
                problems.append(Problem(file, f"{where}: firm", MISSING_REASON,
                                        f"set 'firm' to the id of a feature of layer {key}, or delete the feature"))
            elif owner is None:
                problems.append(Problem(file, f"{where}: firm", f"firm {p.get('firm')!r} is not in layer {key}",
                                        f"set 'firm' to the id of a feature of layer {key}"))
            elif "geometry" not in p:
                problems.append(Problem(file, f"{where}: geometry", "has no geometry", "draw it, or delete the feature"))
            elif several:
                owner.setdefault(field, []).append(p["geometry"])
            elif field in owner:
                problems.append(Problem(file, f"{where}: firm", f"firm {p.get('firm')!r} has a {field} already",
                                        f"keep one {field} per firm"))
            else:
                owner[field] = p["geometry"]
    return problems


# ------------------------------------------------------------------ layers -> site mapping


def _unflatten_value(key: str, value: Any, fields: Mapping[str, Any]) -> Any:
    field = fields.get(key)
    if field is None:
        return value
    if isinstance(value, str) and _is_structured(field.annotation):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                return json.loads(text)
            except ValueError:
                return value
        if _is_list(field.annotation):  # QGIS users may type "footbridge, signalised"
            return [t.strip() for t in text.split(",") if t.strip()]
    return _coerce(value, field.annotation)


def _short_names(spec: LayerSpec) -> dict[str, str]:
    """Shapefile field names cut to 10 characters -> the field, where the cut is unambiguous."""
    names = list(spec.model.model_fields)
    cut: dict[str, list[str]] = {}
    for n in names:
        if len(n) > 10:
            cut.setdefault(n[:10], []).append(n)
    return {k: v[0] for k, v in cut.items() if len(v) == 1 and k not in names}


def _case_folded(key: str, fields: Mapping[str, Any], short: Mapping[str, str], props: Mapping[str, Any]) -> str:
    """A field written in another case (``ID``, ``Employees``, ``PROVENANCE_SOURCE``: ArcGIS and
    some exports write upper case) as the field it names, when the feature has no attribute of
    the exact name; else ``key`` as it is."""
    low = key.lower()
    alt = next((f for f in fields if f.lower() == low), None) or next((v for k, v in short.items() if k.lower() == low), None)
    if alt is None and low.startswith(PROVENANCE_PREFIX) and low != key:
        alt = low
    return alt if alt is not None and alt not in props else key


def item_from_props(props: Mapping[str, Any], spec: LayerSpec, where: str, layer: str | None = None) -> LocatedItem:
    """One site item from a feature's attributes (geometry not included).

    Nulls are dropped (absent: the default applies), a field named in another case is the field
    (:func:`_case_folded`), ``provenance_*`` columns nested again, JSON
    text of list and geometry fields parsed, widened ints and bools narrowed back, the fields GIS
    software adds (:data:`_QGIS_ARTEFACTS`) ignored; any other attribute that is no field of the
    layer goes to ``item.unknown`` (``layer``: the layer's name in the file, default ``spec.name``).
    """
    fields = spec.model.model_fields
    short = _short_names(spec)
    item = LocatedItem()
    item.where = where
    item.layer = layer or spec.name
    item.unknown = {}
    prov: dict[str, Any] = {}
    folded: set[str] = set()  # fields named in another case, each read once
    for raw_key, raw in props.items():
        value = _plain(raw)
        if _is_null(value) or str(raw_key).lower() in _QGIS_ARTEFACTS and raw_key not in fields:
            continue
        if str(raw_key).lower() == "layer" and layer_for(value) is spec:  # a merge's, kept by Split Vector Layer
            continue
        key = short.get(raw_key, raw_key)
        if key not in fields:
            key = _case_folded(str(key), fields, short, props)
            if key != raw_key and key in folded:  # a second case variant of one field ('ID', 'Id'): not merged
                item.unknown[str(raw_key)] = value
                continue
            folded.add(key)
        if key.startswith(PROVENANCE_PREFIX) and "provenance" in fields and key not in fields:
            prov[key[len(PROVENANCE_PREFIX):]] = _coerce(value, S.Source.model_fields.get(
                key[len(PROVENANCE_PREFIX):], fields["provenance"]).annotation)
            continue
        if key not in fields:
            item.unknown[key] = value
            continue
        item[key] = _unflatten_value(key, value, fields)
    if prov:
        item["provenance"] = prov
    return item


def _single_part(geom: BaseGeometry, spec: LayerSpec, where: str, file: str, problems: list[Problem]) -> BaseGeometry:
    """A one-part Multi geometry as its part (QGIS often stores Multi types); more parts: a problem."""
    geom = shapely.force_2d(geom)
    if spec.geom_type and geom.geom_type == "Multi" + spec.geom_type:
        parts = list(getattr(geom, "geoms", []))
        if len(parts) == 1:
            return parts[0]
        problems.append(Problem(file, f"{where}: {spec.geom_field}",
                                f"a {geom.geom_type} of {len(parts)} parts; one {spec.geom_type} per feature is needed",
                                "split it (QGIS: Vector > Geometry Tools > Multipart to Singleparts) and give each part its own id"))
        return parts[0] if parts else geom
    return geom


def _frame_items(frame: pd.DataFrame, spec: LayerSpec, label: str, file: str, problems: list[Problem]) -> list[LocatedItem]:
    """The items of one layer's rows; ``label`` names the layer in messages."""
    items = []
    geom_col = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for fid, row in frame.iterrows():
        props = {k: v for k, v in row.items() if k != geom_col}
        ident = props.get("id")
        where = f"layer {label}, feature {_plain(fid)}" + (f" ({ident})" if isinstance(ident, str) and ident else "")
        item = item_from_props(props, spec, where, label)
        if geom_col is not None and spec.geom_field is not None:
            geom = row[geom_col]  # None; NaN in a row of text and no geometry (pandas 3)
            if isinstance(geom, BaseGeometry) and not geom.is_empty:
                geom = _single_part(geom, spec, where, file, problems)
                item[spec.geom_field] = _geometry_value(geom, point_as_xy=spec.geom_type == "Point")
        items.append(item)
    return items


def frames_to_site(frames: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], file: str,
                   layer_crs: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """A site mapping from layers (layer name or alias -> frame) and the site's own fields.

    Layers whose CRS differs from the site's ``crs`` are reprojected to it; a site without a
    ``crs`` takes its layers' (``layer_crs`` when given).
    """
    from pyproj.exceptions import CRSError, ProjError

    problems: list[Problem] = []
    data: dict[str, Any] = dict(meta)
    crs = data.get("crs") or layer_crs or next((c.to_string() for c in map(_defined_crs, frames.values()) if c), None)
    site_crs = None
    if crs is not None:
        try:
            data["crs"] = site_crs = _crs_name(crs)
        except CRSError:  # not a CRS (the site table's text): the site's check names it; nothing is reprojected
            data["crs"] = crs
    for name, frame in frames.items():
        spec = layer_for(name)
        if spec is None:
            continue
        frame_crs = _defined_crs(frame)
        if frame_crs is not None and site_crs:
            try:
                if not frame_crs.equals(site_crs):
                    frame = frame.to_crs(site_crs)
            except (ValueError, TypeError, pyogrio.errors.DataSourceError, ProjError) as exc:
                problems.append(Problem(file, f"layer {name}", f"cannot reproject from {frame_crs.name} to {site_crs}: {exc}",
                                        f"set the layer's CRS in QGIS (Layer Properties > Source), or save it in {site_crs}"))
        frame = cut_json_text(provenance_columns(frame, file, name, problems), file, name, problems)  # Shapefile cuts
        data.setdefault(spec.key, []).extend(_frame_items(frame, spec, name, file, problems))
    problems += unknown_attributes(data, file)
    problems += attach_parts(data, file)
    return data, problems


def _defined_crs(frame: pd.DataFrame) -> Any:
    """A layer's CRS, or ``None`` for none: an attribute table, or a GeoPackage layer whose SRS is
    GDAL's "Undefined geographic SRS" / "Undefined Cartesian SRS" (srs_id 0 / -1, as QGIS saves
    a layer without a CRS), whose coordinates are taken to be in the site's ``crs``."""
    crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    return None if crs is None or crs.name.lower().startswith("undefined") else crs


def _crs_name(crs: Any) -> str:
    """A CRS as a short name: ``EPSG:27700``, ``OGC:CRS84``; else its WKT."""
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    auth = c.to_authority()
    if auth is not None:
        return f"{auth[0]}:{auth[1]}"
    return str(crs) if isinstance(crs, str) else c.to_wkt()


# ------------------------------------------------------------------ files


def _meta_from_table(table: pd.DataFrame, file: str) -> tuple[dict[str, Any], list[Problem]]:
    if len(table) != 1:
        return {}, [Problem(file, f"layer {SITE_TABLE}", f"must hold exactly one row (the site), has {len(table)}",
                            "keep one row with the site's id, name and crs")]
    fields = S.SiteFile.model_fields
    own = [f for f in fields if f not in {s.key for s in SITE_LAYERS}]
    row = table.iloc[0]
    meta = {}
    problems = []
    for raw_key, v in row.items():
        value = _plain(v)
        if _is_null(value) or str(raw_key).lower() in _QGIS_ARTEFACTS and raw_key not in own or raw_key == "geometry":
            continue
        k = raw_key if raw_key in own else _case_folded(str(raw_key), dict.fromkeys(own), {}, row)  # ID, CRS: ArcGIS's
        if k not in own:  # named as the table's, not as a site file's top level (with its layers' keys)
            near = suggest(str(raw_key), own)
            problems.append(Problem(file, f"layer {SITE_TABLE}: {raw_key}", f"unknown field {raw_key!r}",
                                    f"did you mean {near!r}? (rename the field)" if near else
                                    f"delete the field or rename it to one of the table's: {', '.join(own)}"))
            continue
        meta[str(k)] = _coerce(value, fields[k].annotation)
    return meta, problems


# ------------------------------------------------------------------ the Python API


def site_mapping_from_gdfs(layers: Mapping[str, pd.DataFrame], **site_fields: Any) -> tuple[dict[str, Any], list[Problem]]:
    """A site mapping from GeoDataFrames, ready for :func:`optimiser.inputs.site.check_site`.

    Args:
        layers: layer name (``firms``, ``parcels``, ``barriers``, ``paths``, ``existing_crossings``,
            ``exclusion_zones``, ``crossing_rules``; singular names too) -> frame; a ``site``
            frame's one row gives the site's own fields.
        **site_fields: the site's own fields (``id``, ``name``, ``crs``...), over the ``site`` frame's.

    Returns:
        ``(mapping, problems)``; the CRS is the frames' when ``crs`` is not given.
    """
    if not isinstance(layers, Mapping):
        raise TypeError(f"site_from_gdfs() takes a mapping of layer name -> GeoDataFrame (as site_to_gdfs gives), got "
                        f"{type(layers).__name__}")
    meta: dict[str, Any] = {}
    frames = dict(layers)
    problems: list[Problem] = []
    names = sorted({spec.name for spec in SITE_LAYERS} | {SITE_TABLE})
    for name in list(frames):
        if name != SITE_TABLE and (not isinstance(name, str) or (layer_for(name) is None and _norm(name) not in PARTS)):
            close = suggest(str(name), names)
            hint = f"did you mean {close!r}? " if close else ""
            problems.append(Problem(GDF_FILE, f"layers[{name!r}]", "is not a site layer (its features would be dropped)",
                                    f"{hint}the layers are {', '.join(names)}"))
            frames.pop(name)
        elif not isinstance(frames[name], pd.DataFrame):
            problems.append(Problem(GDF_FILE, f"layers[{name!r}]", f"must be a (Geo)DataFrame, got {type(frames[name]).__name__}"))
            frames.pop(name)
    table = frames.pop(SITE_TABLE, None)
    if table is not None:
        meta, more = _meta_from_table(table, GDF_FILE)
        problems += more
    meta.update(site_fields)
    meta.setdefault("format", S.SITE_FORMAT)
    from pyproj.exceptions import CRSError

    try:
        data, more = frames_to_site(frames, meta, GDF_FILE)
    except CRSError:
        # the layers cannot be reprojected to it: the site's own check names the CRS
        return dict(meta), problems
    return data, problems + more
