"""Validation problems of a site read from GIS layers, restated as a QGIS user sees the site.

A site read from layers (:mod:`optimiser.inputs.gis`) holds :class:`~optimiser.inputs.gis.LocatedItem`
items that remember their layer and feature; :func:`name_features` turns a problem about
``firms[3].employees`` into one about ``layer firms, feature 4 (amrc): employees``, and a field
missing on every feature of a layer (or a layer of another geometry type) into one problem for
the layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from optimiser.errors import Problem
from optimiser.inputs.gis import SITE_TABLE, LocatedItem, SiteMapping, layer_for
from optimiser.inputs.messages import MISSING_REASON

__all__ = ["name_features"]

_ITEM_FIELD = re.compile(r"^([a-z_]+)\[(\d+)\](.*)$")
_ITEM_REF = re.compile(r"\b([a-z_]+)\[(\d+)\](?![.\w\[])")
"""An item a reason refers to by its place in a list (``also firms[0]``)."""


def name_features(problems: Iterable[Problem], data: Mapping[str, Any]) -> list[Problem]:
    """Problems whose field is ``firms[3].employees`` for an item read from a layer, restated as
    ``layer firms, feature 4 (amrc): employees`` (the layer and feature a QGIS user sees); so is
    an item the reason refers to (a duplicate id's ``also firms[0]``). The site's own fields are
    named where the file gave them (:class:`~optimiser.inputs.gis.SiteMapping`)."""
    def located(key: str, index: str) -> LocatedItem | None:
        items = data.get(key)
        i = int(index)
        return items[i] if isinstance(items, list) and i < len(items) and isinstance(items[i], LocatedItem) else None

    def restate(m: re.Match[str]) -> str:
        item = located(m.group(1), m.group(2))
        return str(item.where) if item is not None else m.group(0)

    out: list[Problem] = []
    missing: dict[tuple[str, str, str, str], list[int]] = {}
    wrong: dict[tuple[str, str, str, str], list[int]] = {}
    # read from GIS layers (a YAML, JSON or TOML site has none: its missing crs is a key to add)
    layered = any(isinstance(it, LocatedItem) for v in data.values() if isinstance(v, list) for it in v)
    for p in problems:
        m = _ITEM_FIELD.match(p.field)
        item = located(m.group(1), m.group(2)) if m else None
        if m and item is not None:
            rest = m.group(3).lstrip(".")
            hint = p.hint.replace("within a list", "within a layer") if p.hint else p.hint
            reason = _ITEM_REF.sub(restate, p.reason)
            if rest.isidentifier() and rest not in item:  # a field the feature does not have (null or no column)
                missing.setdefault((p.file, m.group(1), item.layer, rest), []).append(len(out))
                reason, hint = _no_geometry(item, rest, reason, hint)
            elif (given := _wrong_geometry_type(item, rest)) and reason.startswith(f"a {given} where"):
                wrong.setdefault((p.file, m.group(1), item.layer, given), []).append(len(out))
            out.append(Problem(p.file, f"{item.where}: {rest}" if rest else item.where, reason, hint))
        elif layered and p.field == "crs" and p.reason == MISSING_REASON:  # neither the layers nor the site's fields give one
            out.append(_no_crs(p.file))
        else:
            out.append(_own_field(p, data.own) if isinstance(data, SiteMapping) else p)
    return _missing_per_layer(out, missing, data, _wrong_type_per_layer(out, wrong, data))


def _no_crs(file: str) -> Problem:
    """No layer of a GIS site has a CRS and the site gives none; a Shapefile whose ``.prj`` (where
    its CRS is kept) is missing is told so."""
    prj = Path(file).with_suffix(".prj")
    lost = f" ({prj.name}, which holds a Shapefile's CRS, is missing)" if file.lower().endswith(".shp") and not prj.exists() else ""
    return Problem(file, "crs", f"no layer has a coordinate reference system{lost} and the site's crs field is empty, so the "
                                "coordinates cannot be placed",
                   f"assign the layers' CRS in QGIS (Layer Properties > Source), or give the site's crs (e.g. "
                   f"EPSG:27700: the crs field of layer {SITE_TABLE} in a GeoPackage, the sidecar's crs beside "
                   "another file)")


_TOP_KEY = re.compile(r"[A-Za-z_]\w*")


def _own_field(p: Problem, own: Mapping[str, str]) -> Problem:
    """A problem with one of the site's own fields named where the file gives it: ``layer site:
    illustrative`` (a GeoPackage's site table), ``site.id`` (a GeoJSON's site member)."""
    top = _TOP_KEY.match(p.field)
    if top is None or top.group(0) not in own:
        return p
    return Problem(p.file, own[top.group(0)] + p.field[top.end():], p.reason, p.hint)


def _wrong_geometry_type(item: LocatedItem, field: str) -> str | None:
    """The geometry type of an item's geometry ``field`` when it is not the one its layer takes."""
    spec = layer_for(item.layer)
    value = item.get(field)
    if spec is None or field != spec.geom_field or not isinstance(value, Mapping):
        return None
    given = value.get("type")
    return given if isinstance(given, str) and given != spec.geom_type else None


def _features_of(data: Mapping[str, Any], key: str, layer: str) -> int:
    """How many items of the site list ``key`` were read from layer ``layer``."""
    return sum(1 for it in data.get(key) or [] if isinstance(it, LocatedItem) and it.layer == layer)


def _wrong_type_per_layer(out: list[Problem], wrong: Mapping[tuple[str, str, str, str], list[int]],
                          data: Mapping[str, Any]) -> set[int]:
    """A layer whose every feature is of another geometry type (firms drawn as building polygons,
    paths as polygons) as one problem for the layer in place of the first feature's; the others'
    places are returned to drop."""
    drop: set[int] = set()
    for (file, key, layer, given), at in wrong.items():
        features = _features_of(data, key, layer)
        spec = layer_for(layer)
        if spec is None or len(at) < 2 or len(at) != features:
            continue
        hint = (f"it is a {given} layer; make a layer of {spec.geom_type}s named {layer!r}, or check that it is the layer meant")
        if spec.geom_type == "Point" and "Polygon" in given:
            hint = ("firms are points: make them with QGIS's Vector > Geometry Tools > Centroids; the polygons can be "
                    "layer firm_footprints, each with its firm's id in 'firm'")
        out[at[0]] = Problem(file, f"layer {layer}", f"all its {features} features are {given}s where {spec.geom_type}s "
                             "are needed", hint)
        drop.update(at[1:])
    return drop


def _no_geometry(item: LocatedItem, field: str, reason: str, hint: str | None) -> tuple[str, str | None]:
    """A feature's missing geometry in QGIS's terms: it has none to draw, not a field to add
    ('add location'); any other missing field as it was."""
    spec = layer_for(item.layer)
    if spec is None or field != spec.geom_field or not reason.startswith(MISSING_REASON):
        return reason, hint
    return ("has no geometry" + reason[len(MISSING_REASON):],
            f"draw the feature's {field} in QGIS, or delete the feature")


def _missing_per_layer(out: list[Problem], missing: Mapping[tuple[str, str, str, str], list[int]],
                       data: Mapping[str, Any], drop: set[int]) -> list[Problem]:
    """A required attribute missing on every feature of a layer (its field renamed or deleted in
    QGIS) as one problem for the layer, not one per feature. Told by the data, not the messages:
    ``missing`` holds the problems at a field the feature does not have (the only problem a field
    that is not there can have is that it is required). ``drop``: places of problems said otherwise."""
    for (file, key, layer, field), at in missing.items():
        features = _features_of(data, key, layer)
        if len(at) < 2 or len(at) != features:
            continue
        spec = layer_for(layer)
        if spec is not None and field == spec.geom_field:  # the geometry, not a field to add ('add the field location')
            out[at[0]] = Problem(file, f"layer {layer}", f"none of its {features} features has a geometry (each is empty)",
                                 f"draw the features of layer {layer} (their {spec.geom_field}), or check that it is the "
                                 "layer meant")
        else:
            out[at[0]] = Problem(file, f"layer {layer}: {field}",
                                 f"{MISSING_REASON} on all {features} features (the layer has no field {field!r}, or it is "
                                 "empty on each)",
                                 f"add the field {field!r} to layer {layer} (or rename the field that holds it) and fill it in")
        drop.update(at[1:])
    return [p for i, p in enumerate(out) if i not in drop]
