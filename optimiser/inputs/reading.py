"""Read and validate site and scenario files.

:func:`read_site` and :func:`read_scenario` return typed objects (:mod:`optimiser.inputs.domain`)
or raise :class:`~optimiser.errors.InputError` listing *every* problem found, each as
``FILE: field.path: reason (hint)``. Nothing is written and nothing the user gave is
silently dropped: unknown keys and duplicate keys are errors, not ignored.

Supported files: YAML (``.yaml``/``.yml``), JSON (``.json``), TOML (``.toml``) for both
kinds, and RFC 7946 GeoJSON (``.geojson``, WGS84 lon/lat) for sites: a FeatureCollection
whose features carry ``properties.layer`` (parcel, firm, barrier, path, crossing,
exclusion_zone) and whose foreign member ``site`` holds the site's id and name.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from optimiser.errors import FileReadError, InputError, Problem, ValidationError
from optimiser.inputs import schema as S
from optimiser.inputs.domain import (
    Barrier,
    BarrierKind,
    CountRange,
    Crossing,
    CrossingRule,
    CrossingSpec,
    CrossingTypeSpec,
    DemandSpec,
    DirectnessTarget,
    ExclusionZone,
    FacilitySpec,
    Firm,
    ObjectiveWeights,
    Parcel,
    ParcelStatus,
    Provenance,
    Scenario,
    Site,
    SocialSpaceSpec,
    SolveOptions,
    WalkPath,
)

SITE_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".geojson")
SCENARIO_SUFFIXES = (".yaml", ".yml", ".json", ".toml")

# ------------------------------------------------------------------ locating data


def data_roots() -> list[Path]:
    """Folders that may hold ``sites/`` and ``constraints/``, most specific first.

    The ``SITEOPT_HOME`` environment variable, then the source checkout this package was
    imported from, then the shared data folder a wheel install writes
    (``<prefix>/share/placemaking-optimiser``).
    """
    roots = []
    if os.environ.get("SITEOPT_HOME"):
        roots.append(Path(os.environ["SITEOPT_HOME"]))
    roots.append(Path(__file__).resolve().parents[2])
    roots.append(Path(sys.prefix) / "share" / "placemaking-optimiser")
    return [r for r in roots if (r / "sites").is_dir() or (r / "constraints").is_dir()]


def default_scenario_path() -> Path:
    """The embedded AMP-SBP baseline scenario file."""
    for root in data_roots():
        p = root / "constraints" / "amp_sbp" / "baseline.yaml"
        if p.is_file():
            return p
    raise FileReadError(
        [
            Problem(
                "constraints/amp_sbp/baseline.yaml",
                "",
                "the embedded AMP-SBP baseline was not found",
                "install from a source checkout (pip install -e .) or set SITEOPT_HOME",
            )
        ]
    )


# ------------------------------------------------------------------ parsing


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that records duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            loader.duplicates.append((key, key_node.start_mark.line + 1, seen[key]))  # type: ignore[attr-defined]
        else:
            seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_no_dupes(pairs: list[tuple[str, Any]], dupes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            dupes.append(k)
        out[k] = v
    return out


def load_mapping(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse a YAML/JSON/TOML/GeoJSON file into a mapping, or say why not.

    Returns ``(data, problems)``; ``data`` is ``None`` when the file could not be read at all.
    """
    name = str(path)
    p = Path(path)
    if not p.exists():
        hint = None
        if p.parent.is_dir():
            near = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir()], n=1)
            if near:
                hint = f"did you mean {str(p.parent / near[0])!r}?"
        return None, [Problem(name, "", "file not found", hint or "check the path")]
    if p.is_dir():
        return None, [Problem(name, "", "is a folder, not a file", "name the site or scenario file")]
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot be read: {exc.strerror or exc}", "check permissions")]
    suffix = p.suffix.lower()
    problems: list[Problem] = []
    try:
        if suffix in (".json", ".geojson"):
            dupes: list[str] = []
            data = json.loads(text, object_pairs_hook=lambda kv: _json_no_dupes(kv, dupes))
            for k in dupes:
                problems.append(Problem(name, str(k), "key given twice", "keep one; nothing is silently dropped"))
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            loader = _UniqueKeyLoader(text)
            loader.duplicates = []  # type: ignore[attr-defined]
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
            for key, line, first in loader.duplicates:  # type: ignore[attr-defined]
                problems.append(
                    Problem(name, str(key), f"key given twice (line {line}, first on line {first})",
                            "keep one; nothing is silently dropped")
                )
        else:
            return None, [
                Problem(name, "", f"unsupported file type {suffix or '(none)'!r}",
                        "use .yaml, .yml, .json, .toml or (sites) .geojson")
            ]
    except json.JSONDecodeError as exc:
        return None, [Problem(name, "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(name, "", f"malformed TOML: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(name, "", f"malformed YAML{where}: {what}")]
    if data is None:
        return None, [Problem(name, "", "the file is empty", "see sites/README.md for the format")]
    if not isinstance(data, dict):
        return None, [Problem(name, "", f"the top level must be a mapping of keys, not a {type(data).__name__}")]
    if suffix == ".geojson":
        data, more = _geojson_to_site(data, name)
        problems.extend(more)
    return data, problems


_GEOJSON_LAYERS = {
    "parcel": ("parcels", "geometry"),
    "firm": ("firms", "location"),
    "barrier": ("barriers", "geometry"),
    "path": ("paths", "geometry"),
    "crossing": ("crossings", "geometry"),
    "exclusion_zone": ("exclusion_zones", "geometry"),
}


def _geojson_to_site(fc: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Problem]]:
    """Turn an RFC 7946 FeatureCollection into a site mapping (coordinates stay WGS84)."""
    problems: list[Problem] = []
    if fc.get("type") != "FeatureCollection":
        return {}, [Problem(name, "type", "a GeoJSON site must be a FeatureCollection")]
    meta = fc.get("site") or {}
    if not isinstance(meta, dict):
        problems.append(Problem(name, "site", "must be a mapping with the site's id and name"))
        meta = {}
    site: dict[str, Any] = {"crs": "OGC:CRS84", **meta}
    if "id" not in meta:
        problems.append(Problem(name, "site.id", "a GeoJSON site needs its id in the foreign member \"site\"",
                                'add "site": {"id": "my_site", "name": "..."} at the top level'))
        site["id"] = "unnamed"
    if "crs" in fc:
        problems.append(
            Problem(name, "crs", "RFC 7946 GeoJSON has no 'crs' member; coordinates are WGS84 lon/lat",
                    "remove 'crs' or use a YAML/JSON site file with a declared crs")
        )
    feats = fc.get("features")
    if not isinstance(feats, list):
        return site, problems + [Problem(name, "features", f"must be a list of features, got {type(feats).__name__}")]
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            problems.append(Problem(name, f"features[{i}]", 'must be a GeoJSON Feature ({"type": "Feature", ...})'))
            continue
        raw_props = feat.get("properties") or {}
        if not isinstance(raw_props, dict):
            problems.append(Problem(name, f"features[{i}].properties", f"must be a mapping, got {type(raw_props).__name__}"))
            continue
        props = dict(raw_props)
        layer = props.pop("layer", None)
        if not isinstance(layer, str) or layer not in _GEOJSON_LAYERS:
            near = difflib.get_close_matches(str(layer), list(_GEOJSON_LAYERS), n=1)
            problems.append(
                Problem(name, f"features[{i}].properties.layer",
                        f"unknown layer {layer!r}; expected one of {', '.join(_GEOJSON_LAYERS)}",
                        f"did you mean {near[0]!r}?" if near else None)
            )
            continue
        key, geom_field = _GEOJSON_LAYERS[layer]
        props[geom_field] = feat.get("geometry")
        site.setdefault(key, []).append(props)
    return site, problems


# ------------------------------------------------------------------ pydantic error mapping

_MODEL_NAMES = {n for n, o in vars(S).items() if isinstance(o, type) and issubclass(o, BaseModel)}


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in _MODEL_NAMES
        or "[" in part
        or part.startswith("constrained-")
        or part in {"int", "float", "str", "bool", "list", "dict"}
    )


def _is_model_tag(part: Any) -> bool:
    """A union-branch tag naming a model: 'CountIn', or 'function-after[_ordered(), CountIn]'
    for a model with a validator."""
    return isinstance(part, str) and (part in _MODEL_NAMES or part.rstrip("]").rsplit(", ", 1)[-1] in _MODEL_NAMES)


def format_path(loc: Iterable[Any]) -> str:
    """``('firms', 3, 'employees')`` -> ``'firms[3].employees'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _get(data: Any, loc: Sequence[Any]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model class describing the object at ``loc`` (for did-you-mean)."""
    import typing

    cur: Any = model
    for part in loc:
        if isinstance(part, int) or _is_union_tag(part):
            continue
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)) or part not in cur.model_fields:
            return None
        ann = cur.model_fields[part].annotation
        cur = None
        stack = [ann]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                cur = t
                break
            stack.extend(typing.get_args(t))
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _describe(err: dict[str, Any]) -> str:
    t, ctx = err["type"], err.get("ctx") or {}
    given = err.get("input")
    shown = json.dumps(given)[:60] if isinstance(given, (int, float, str, bool)) or given is None else type(given).__name__
    if t == "missing":
        return "required field is missing"
    if t in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[t]
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"must be {op} {bound}, got {shown}"
    if t == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {shown}"
    if t in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {shown}"
    if t in ("float_type", "float_parsing"):
        return f"must be a number, got {shown}"
    if t == "finite_number":
        return "must be a finite number"
    if t in ("string_type",):
        return f"must be text, got {shown}"
    if t in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {shown}"
    if t in ("list_type",):
        return f"must be a list, got {shown}"
    if t in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, got {shown}"
    if t == "too_short":
        return f"needs at least {ctx.get('min_length')} items, got {ctx.get('actual_length')}"
    if t == "too_long":
        return f"allows at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
    if t == "string_too_short":
        return "must not be empty"
    if t == "string_pattern_mismatch":
        return f"{shown} is not a valid id (letters, digits, '_', '-', '.'; no spaces)"
    if t == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return str(err.get("msg", t))


_UNION_TEXT = {
    "location": 'must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "entrances": 'each entrance must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "existing": 'each must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "count": "must be a positive whole number or {min: N, max: M} with 0 <= min <= max, max > 0",
}


def pydantic_problems(exc: PydanticValidationError, model: type[BaseModel], data: Any, file: str) -> list[Problem]:
    """Turn a pydantic ValidationError into one :class:`Problem` per offending field."""
    by_path: dict[str, list[tuple[dict[str, Any], tuple[Any, ...]]]] = {}
    order: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        cut = next((i for i, part in enumerate(loc) if _is_union_tag(part)), None)
        base = loc if cut is None else loc[:cut]
        key = format_path(base)
        if key not in by_path:
            by_path[key] = []
            order.append(key)
        by_path[key].append((err, loc))
    problems: list[Problem] = []
    for key in order:
        errs = by_path[key]
        union = any(_is_union_tag(p) for _, loc in errs for p in loc)
        if union:
            base = next(tuple(p for p in loc[: next(i for i, q in enumerate(loc) if _is_union_tag(q))]) for _, loc in errs if any(_is_union_tag(q) for q in loc))
            raw = _get(data, base)
            model_branch = [(e, l) for e, l in errs if any(_is_model_tag(q) for q in l)]
            other_branch = [(e, l) for e, l in errs if not any(_is_model_tag(q) for q in l)]
            keep = model_branch if isinstance(raw, dict) else other_branch
            field_name = next((str(p) for p in reversed(base) if isinstance(p, str)), "")
            if isinstance(raw, dict) and keep:
                for e, l in keep:
                    sub = tuple(p for p in l if not _is_union_tag(p))
                    problems.append(_one_problem(e, sub, model, data, file))
                continue
            text = _UNION_TEXT.get(field_name)
            if text is None:
                text = "; or ".join(sorted({_describe(e) for e, _ in keep or errs}))
            problems.append(Problem(file, key, text + _which(data, base)))
            continue
        for e, loc in errs:
            problems.append(_one_problem(e, loc, model, data, file))
    # de-duplicate while keeping order
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.field, p.reason) not in seen:
            seen.add((p.field, p.reason))
            out.append(p)
    return out


def _which(data: Any, loc: Sequence[Any]) -> str:
    """' (firm 'mclaren')' when the list item at ``loc``'s first index has an id."""
    for i, part in enumerate(loc):
        if isinstance(part, int) and i > 0:
            item = _get(data, loc[: i + 1])
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                kind = str(loc[i - 1]).rstrip("s").replace("_", " ")
                return f" ({kind} {item['id']!r})"
            break
    return ""


def _one_problem(err: dict[str, Any], loc: tuple[Any, ...], model: type[BaseModel], data: Any, file: str) -> Problem:
    path = format_path(loc)
    if err["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        hint = None
        if owner is not None:
            near = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1, cutoff=0.6)
            if near:
                hint = f"did you mean {near[0]!r}?"
            else:
                hint = "allowed keys: " + ", ".join(owner.model_fields)
        return Problem(file, path, f"unknown key {str(loc[-1])!r}" + _which(data, loc), hint)
    if err["type"] == "missing":
        return Problem(file, path, "required field is missing" + _which(data, loc))
    return Problem(file, path, _describe(err) + _which(data, loc))


# ------------------------------------------------------------------ CRS and geometry


def _parse_crs(text: str):
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text)
    except CRSError:
        return None


def _working_crs(src, lonlat_points: list[tuple[float, float]], requested: str | None) -> Any:
    from pyproj import CRS
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    if requested:
        return _parse_crs(requested)
    if not lonlat_points:
        return CRS.from_epsg(27700)
    lons = [p[0] for p in lonlat_points]
    lats = [p[1] for p in lonlat_points]
    if -8.8 <= min(lons) and max(lons) <= 2.0 and 49.8 <= min(lats) and max(lats) <= 60.9:
        return CRS.from_epsg(27700)  # Great Britain: British National Grid
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(min(lons), min(lats), max(lons), max(lats)),
    )
    return CRS.from_epsg(int(infos[0].code)) if infos else CRS.from_epsg(3857)


def _iter_positions(geom: Any) -> Iterable[list[float]]:
    """Every coordinate position inside a raw geometry value (point list or GeoJSON dict)."""
    if isinstance(geom, dict):
        geom = geom.get("coordinates")
    if isinstance(geom, list) and geom and isinstance(geom[0], (int, float)):
        yield geom
    elif isinstance(geom, list):
        for g in geom:
            yield from _iter_positions(g)


def _looks_like_degrees(positions: list[list[float]]) -> bool:
    return bool(positions) and all(abs(p[0]) <= 180 and abs(p[1]) <= 90 for p in positions)


def _degrees_in_metric_crs(positions: list[list[float]], crs) -> bool:
    """Whether positions given in a metric ``crs`` are really lon/lat degrees.

    They must fit the degree ranges *and*, read as lon/lat, fall inside the CRS's area of
    use (so small local coordinates such as (50, 50) in EPSG:27700 are not flagged).
    Without an area of use, any fractional degree-sized values are taken as degrees.
    """
    if not _looks_like_degrees(positions):
        return False
    area = getattr(crs, "area_of_use", None)
    if area is None:
        return any(p[0] != int(p[0]) or p[1] != int(p[1]) for p in positions)
    return all(area.west - 1 <= p[0] <= area.east + 1 and area.south - 1 <= p[1] <= area.north + 1 for p in positions)


class _Geo:
    """Turns raw coordinates into shapely geometry in the working CRS, collecting problems."""

    def __init__(self, file: str, src, dst):
        from pyproj import Transformer

        self.file = file
        self.problems: list[Problem] = []
        self.transform = None
        if src is not None and dst is not None and not src.equals(dst):
            self.transform = Transformer.from_crs(src, dst, always_xy=True).transform

    def _xy(self, pos: Sequence[float]) -> tuple[float, float]:
        x, y = float(pos[0]), float(pos[1])
        if self.transform is not None:
            x, y = self.transform(x, y)
        return (x, y)

    def point(self, raw: Any):
        from shapely.geometry import Point

        coords = raw.get("coordinates") if isinstance(raw, dict) else raw
        return Point(self._xy(coords))

    def line(self, raw: dict[str, Any], field: str):
        from shapely.geometry import LineString

        pts = [self._xy(c) for c in raw["coordinates"]]
        line = LineString(pts)
        if line.length <= 0:
            self.problems.append(Problem(self.file, field, "line has zero length (all its points coincide)"))
            return None
        return line

    def polygon(self, raw: dict[str, Any], field: str):
        import shapely
        from shapely.geometry import Polygon

        rings_raw = raw["coordinates"]
        # validity is judged in the file's own coordinates, so the message points at them
        file_poly = Polygon(rings_raw[0], rings_raw[1:])
        if not file_poly.is_valid:
            reason = shapely.is_valid_reason(file_poly)
            m = re.match(r"([A-Za-z \-]+)\[([-0-9.e+]+) ([-0-9.e+]+)\]", reason)
            if m:
                what = m.group(1).strip().lower()
                x, y = float(m.group(2)), float(m.group(3))
                text = f"invalid polygon: {what} at ({x:.6g}, {y:.6g})"
            else:
                text = f"invalid polygon: {reason}"
            self.problems.append(
                Problem(self.file, field, text, "fix the ring so its edges do not cross (check the vertex order)")
            )
            return None
        if file_poly.area <= 0:
            self.problems.append(Problem(self.file, field, "polygon has zero area"))
            return None
        rings = [[self._xy(c) for c in ring] for ring in rings_raw]
        return Polygon(rings[0], rings[1:])


def _prov(raw: dict[str, Any] | None) -> Provenance:
    if not raw:
        return Provenance()
    return Provenance(source=raw.get("source"), accuracy_m=raw.get("accuracy_m"), status=raw.get("status"))


def _duplicate_ids(items: list[Any], key: str, file: str, problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in seen:
                problems.append(
                    Problem(file, f"{key}[{i}].id", f"duplicate id {item['id']!r} (also {key}[{seen[item['id']]}])",
                            "ids must be unique within a list")
                )
            else:
                seen[item["id"]] = i


def _unknown_ref(file: str, field: str, kind: str, value: str, known: Iterable[str]) -> Problem:
    known = list(known)
    near = difflib.get_close_matches(value, known, n=1)
    hint = f"did you mean {near[0]!r}?" if near else (f"known {kind}s: {', '.join(known[:12])}" if known else f"the file defines no {kind}s")
    return Problem(file, field, f"{kind} {value!r} is referenced but not defined", hint)


def _valid_items(raw: list[Any], model: type[BaseModel]) -> list[tuple[int, Any]]:
    """(index, parsed item) for the items of a list that pass their own model."""
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((i, model.model_validate(item)))
        except PydanticValidationError:
            pass
    return out


# ------------------------------------------------------------------ site


def _check_site(data: dict[str, Any], file: str, path: Path | None) -> tuple[Site | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        S.SiteFile.model_validate(data)
        shape_ok = True
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, S.SiteFile, data, file))
        shape_ok = False

    for key in ("parcels", "firms", "barriers", "paths", "crossings", "exclusion_zones"):
        if isinstance(data.get(key), list):
            _duplicate_ids(data[key], key, file, problems)

    crs_text = data.get("crs")
    src = _parse_crs(crs_text) if isinstance(crs_text, str) else None
    if isinstance(crs_text, str) and src is None:
        problems.append(
            Problem(file, "crs", f"unknown CRS {crs_text!r}", "use an EPSG code such as 'EPSG:27700' (British National Grid) or 'EPSG:4326'")
        )
    if src is not None and not src.is_geographic:
        unit = src.axis_info[0].unit_name if src.axis_info else "metre"
        if unit not in ("metre", "meter", "m"):
            problems.append(Problem(file, "crs", f"CRS {crs_text!r} is in {unit}, not metres", "use a metric projected CRS such as EPSG:27700"))

    # coordinates that look like degrees in a metric CRS, checked per feature
    positions_all: list[list[float]] = []
    for key, fields in (("parcels", ("geometry",)), ("firms", ("location", "entrances", "footprint")),
                        ("barriers", ("geometry",)), ("paths", ("geometry",)),
                        ("crossings", ("geometry",)), ("exclusion_zones", ("geometry",))):
        for i, item in enumerate(data.get(key) or [] if isinstance(data.get(key), list) else []):
            if not isinstance(item, dict):
                continue
            for fld in fields:
                try:
                    pos = [p for p in _iter_positions(item.get(fld)) if len(p) >= 2 and all(isinstance(v, (int, float)) for v in p)]
                except TypeError:
                    pos = []
                positions_all.extend(pos)
                if src is not None and not src.is_geographic and _degrees_in_metric_crs(pos, src):
                    problems.append(
                        Problem(file, f"{key}[{i}].{fld}",
                                f"coordinates look like longitude/latitude degrees (e.g. {pos[0][:2]}) but crs {crs_text} is in metres",
                                "give projected coordinates, or set crs: EPSG:4326 for lon/lat")
                    )
                if src is not None and src.is_geographic and pos and all(49.8 <= p[0] <= 60.9 and -8.8 <= p[1] <= 2.0 for p in pos):
                    problems.append(
                        Problem(file, f"{key}[{i}].{fld}",
                                f"coordinates {pos[0][:2]} look like [latitude, longitude] in Great Britain",
                                "give positions as [longitude, latitude] (x first), as GeoJSON does")
                    )
                if src is not None and src.is_geographic and pos and not _looks_like_degrees(pos):
                    problems.append(
                        Problem(file, f"{key}[{i}].{fld}",
                                f"coordinates {pos[0][:2]} are not longitude/latitude degrees but crs {crs_text} is geographic",
                                "declare the projected CRS the coordinates are in, e.g. crs: EPSG:27700")
                    )

    dst = None
    if src is not None:
        if src.is_geographic:
            dst = _working_crs(src, [tuple(p[:2]) for p in positions_all if _looks_like_degrees([p])], data.get("working_crs"))
            if dst is None:
                problems.append(Problem(file, "working_crs", f"unknown CRS {data.get('working_crs')!r}", "use e.g. 'EPSG:27700'"))
            elif dst.is_geographic:
                problems.append(Problem(file, "working_crs", "must be a projected CRS in metres", "use e.g. 'EPSG:27700'"))
                dst = None
        else:
            dst = src
    geo = _Geo(file, src, dst) if dst is not None else None

    firms_raw = data.get("firms")
    if isinstance(firms_raw, list) and not firms_raw:
        problems.append(Problem(file, "firms", "the site has no firms: nothing generates walking demand", "list at least one firm"))
    if "firms" not in data and not data.get("parcels"):
        problems.append(Problem(file, "", "the site is empty: no firms and no parcels", "see sites/README.md for the format"))

    parcels: list[Parcel] = []
    firms: list[Firm] = []
    barriers: list[Barrier] = []
    paths: list[WalkPath] = []
    crossings: list[Crossing] = []
    zones: list[ExclusionZone] = []
    rules: list[CrossingRule] = []
    parcel_ids = {p.get("id") for p in data.get("parcels") or [] if isinstance(p, dict)} if isinstance(data.get("parcels"), list) else set()
    barrier_ids = {b.get("id") for b in data.get("barriers") or [] if isinstance(b, dict)} if isinstance(data.get("barriers"), list) else set()

    if geo is not None:
        for i, p in _valid_items(data.get("parcels"), S.ParcelIn):
            poly = geo.polygon(p.geometry.model_dump(), f"parcels[{i}].geometry")
            if poly is not None:
                parcels.append(Parcel(p.id, p.name or p.id, ParcelStatus(p.status), poly, _prov(p.provenance and p.provenance.model_dump())))
        for i, b in _valid_items(data.get("barriers"), S.BarrierIn):
            line = geo.line(b.geometry.model_dump(), f"barriers[{i}].geometry")
            if line is not None:
                barriers.append(Barrier(b.id, b.name or b.id, BarrierKind(b.kind), line, b.width_m, b.layer, b.default_on, b.no_build, _prov(b.provenance and b.provenance.model_dump())))
        for i, f in _valid_items(firms_raw, S.FirmIn):
            loc = geo.point(f.location if isinstance(f.location, list) else f.location.model_dump())
            ents = tuple(geo.point(e if isinstance(e, list) else e.model_dump()) for e in (f.entrances or [])) or (loc,)
            fp = geo.polygon(f.footprint.model_dump(), f"firms[{i}].footprint") if f.footprint else None
            if f.parcel is not None and f.parcel not in parcel_ids:
                problems.append(_unknown_ref(file, f"firms[{i}].parcel", "parcel", f.parcel, sorted(x for x in parcel_ids if isinstance(x, str))))
            for b in barriers:
                band = b.band
                for j, pt in enumerate((loc, *ents) if f.entrances else (loc,)):
                    if band.contains(pt):
                        where = "location" if j == 0 else f"entrances[{j - 1}]"
                        kind = "corridor" if b.kind == BarrierKind.RAIL_CORRIDOR else "barrier"
                        problems.append(
                            Problem(file, f"firms[{i}].{where}",
                                    f"firm {f.id!r} stands inside {kind} {b.id!r} (its {b.width_m:g} m band)",
                                    "move the firm off the barrier, or check the barrier's width and coordinates")
                        )
                        break
            firms.append(Firm(f.id, f.name or f.id, f.employees, f.sector, loc, ents, fp, f.fixed, f.parcel, _prov(f.provenance and f.provenance.model_dump())))
        for i, w in _valid_items(data.get("paths"), S.PathIn):
            line = geo.line(w.geometry.model_dump(), f"paths[{i}].geometry")
            if line is not None:
                paths.append(WalkPath(w.id, w.name or w.id, w.kind, line, _prov(w.provenance and w.provenance.model_dump())))
        by_id = {b.id: b for b in barriers}
        for i, c in _valid_items(data.get("crossings"), S.CrossingIn):
            if c.barrier not in barrier_ids:
                problems.append(_unknown_ref(file, f"crossings[{i}].barrier", "barrier", c.barrier, sorted(x for x in barrier_ids if isinstance(x, str))))
                continue
            line = geo.line(c.geometry.model_dump(), f"crossings[{i}].geometry")
            if line is None:
                continue
            b = by_id.get(c.barrier)
            if b is not None and not line.intersects(b.band):
                problems.append(
                    Problem(file, f"crossings[{i}].geometry", f"crossing {c.id!r} does not cross barrier {c.barrier!r}",
                            "draw the crossing from one side of the barrier to the other")
                )
            crossings.append(Crossing(c.id, c.name or c.id, c.barrier, c.type, line, c.penalty_m, 0.0, True, _prov(c.provenance and c.provenance.model_dump())))
        for i, z in _valid_items(data.get("exclusion_zones"), S.ExclusionIn):
            poly = geo.polygon(z.geometry.model_dump(), f"exclusion_zones[{i}].geometry")
            if poly is not None:
                zones.append(ExclusionZone(z.id, z.name or z.id, poly, z.reason))
        for i, r in _valid_items(data.get("crossing_rules"), S.CrossingRuleIn):
            if r.barrier not in barrier_ids:
                problems.append(_unknown_ref(file, f"crossing_rules[{i}].barrier", "barrier", r.barrier, sorted(x for x in barrier_ids if isinstance(x, str))))
                continue
            rules.append(CrossingRule(r.barrier, r.spacing_m, tuple(r.types)))
        problems.extend(geo.problems)

    if problems or not shape_ok:
        return None, problems
    site = Site(
        id=data["id"],
        name=data.get("name") or data["id"],
        crs=dst.to_string() if dst is not None else str(crs_text),
        source_crs=str(crs_text),
        parcels=tuple(parcels),
        firms=tuple(firms),
        barriers=tuple(barriers),
        paths=tuple(paths),
        crossings=tuple(crossings),
        exclusion_zones=tuple(zones),
        crossing_rules=tuple(rules),
        illustrative=bool(data.get("illustrative", False)),
        description=data.get("description", ""),
        path=path,
    )
    return site, []


def read_site(path: str | os.PathLike[str]) -> Site:
    """Read and validate a site file; return a :class:`~optimiser.inputs.domain.Site`.

    Raises:
        InputError: with every problem found (``.problems``), never a partial site.
    """
    name = str(path)
    data, problems = load_mapping(path)
    if data is None:
        raise FileReadError(problems)
    site, more = _check_site(data, name, Path(path).resolve())
    problems.extend(more)
    if problems:
        raise ValidationError(problems)
    assert site is not None
    return site


# ------------------------------------------------------------------ scenario


def resolve_site_ref(ref: str, scenario_path: Path | None) -> tuple[Path | None, list[Path]]:
    """Find the site file a scenario names: a path relative to the scenario, or a site id.

    Returns ``(path or None, places looked)``.
    """
    looked: list[Path] = []
    base = scenario_path.parent if scenario_path is not None else Path.cwd()
    cand = Path(ref)
    if cand.suffix.lower() in SITE_SUFFIXES or "/" in ref or os.sep in ref:
        p = cand if cand.is_absolute() else base / cand
        looked.append(p)
        return (p if p.is_file() else None), looked
    roots = [d for d in [base, *base.parents] if (d / "sites").is_dir()] + data_roots()
    for root in roots:
        for fname in ("site.yaml", "site.yml", "site.json", "site.toml", "site.geojson"):
            p = root / "sites" / ref / fname
            looked.append(p)
            if p.is_file():
                return p, looked
    return None, looked


def _display_path(path: Path) -> Path:
    """``path`` relative to the working folder when it lies inside it (as users type it)."""
    try:
        return Path(os.path.relpath(path)) if not os.path.relpath(path).startswith("..") else path
    except ValueError:
        return path


def _point_list(raw: list[Any], geo: _Geo) -> tuple[Any, ...]:
    return tuple(geo.point(p if isinstance(p, list) else p.model_dump()) for p in raw)


def _count(c: Any) -> CountRange:
    return CountRange(c, c) if isinstance(c, int) else CountRange(c.min, c.max)


def _check_scenario(data: dict[str, Any], file: str, path: Path | None) -> tuple[Scenario | None, list[Problem]]:
    problems: list[Problem] = []
    parsed: S.ScenarioFile | None = None
    try:
        parsed = S.ScenarioFile.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, S.ScenarioFile, data, file))

    site: Site | None = None
    site_ref = data.get("site")
    if isinstance(site_ref, str) and site_ref:
        site_path, looked = resolve_site_ref(site_ref, path)
        if site_path is None:
            problems.append(
                Problem(file, "site", f"site {site_ref!r} does not exist",
                        "looked in: " + ", ".join(str(p) for p in looked[:4]) + ("" if len(looked) <= 4 else ", ..."))
            )
        else:
            try:
                site = read_site(_display_path(site_path))
            except InputError as exc:
                problems.append(Problem(file, "site", f"site file {str(site_path)!r} has {len(exc.problems)} problem(s), listed below"))
                problems.extend(exc.problems)

    # references into the site, checked on the raw data so every one is reported
    if site is not None:
        firm_ids = [f.id for f in site.firms]
        barrier_ids = [b.id for b in site.barriers]
        sectors = sorted({f.sector for f in site.firms})
        layers = data.get("layers") if isinstance(data.get("layers"), dict) else {}
        known_layers = list(site.layers) + barrier_ids
        for name in layers:
            if name not in known_layers:
                problems.append(_unknown_ref(file, f"layers.{name}", "layer", str(name), known_layers))
        demand = data.get("demand") if isinstance(data.get("demand"), dict) else {}
        seen_pairs: dict[frozenset, int] = {}
        for i, pr in enumerate(demand.get("pairs") or [] if isinstance(demand.get("pairs"), list) else []):
            if isinstance(pr, dict) and isinstance(pr.get("a"), str) and isinstance(pr.get("b"), str):
                key = frozenset((pr["a"], pr["b"]))
                if key in seen_pairs:
                    problems.append(Problem(file, f"demand.pairs[{i}]", f"pair {pr['a']}-{pr['b']} is already given at demand.pairs[{seen_pairs[key]}]",
                                            "give each pair once (weights are symmetric); nothing is silently dropped"))
                else:
                    seen_pairs[key] = i
            if isinstance(pr, dict):
                for k in ("a", "b"):
                    if isinstance(pr.get(k), str) and pr[k] not in firm_ids:
                        problems.append(_unknown_ref(file, f"demand.pairs[{i}].{k}", "firm", pr[k], firm_ids))
                if pr.get("a") is not None and pr.get("a") == pr.get("b"):
                    problems.append(Problem(file, f"demand.pairs[{i}]", f"pair joins firm {pr['a']!r} to itself"))
        aff = demand.get("sector_affinity") if isinstance(demand.get("sector_affinity"), dict) else {}
        for s1, row in aff.items():
            if s1 not in sectors:
                problems.append(_unknown_ref(file, f"demand.sector_affinity.{s1}", "sector", str(s1), sectors))
            for s2 in (row or {}) if isinstance(row, dict) else {}:
                if s2 not in sectors:
                    problems.append(_unknown_ref(file, f"demand.sector_affinity.{s1}.{s2}", "sector", str(s2), sectors))
        if demand.get("rule") == "explicit" and not demand.get("pairs"):
            problems.append(Problem(file, "demand.pairs", "rule 'explicit' needs at least one pair", "list pairs, or use rule: employees_product"))
        for i, d in enumerate(data.get("directness") or [] if isinstance(data.get("directness"), list) else []):
            if isinstance(d, dict):
                for k in ("a", "b"):
                    if isinstance(d.get(k), str) and d[k] not in firm_ids:
                        problems.append(_unknown_ref(file, f"directness[{i}].{k}", "firm", d[k], firm_ids))
                if d.get("a") is not None and d.get("a") == d.get("b"):
                    problems.append(Problem(file, f"directness[{i}]", "a directness target needs two different firms"))
                elif d.get("a") in firm_ids and d.get("b") in firm_ids:
                    fa, fb = site.firm(d["a"]), site.firm(d["b"])
                    gap = min(p.distance(q) for p in fa.entrances for q in fb.entrances)
                    if gap <= 0:
                        problems.append(Problem(file, f"directness[{i}]", f"firms {fa.id!r} and {fb.id!r} share an entrance, so a detour ratio is undefined",
                                                "drop this target"))
        cr = data.get("crossings") if isinstance(data.get("crossings"), dict) else {}
        for i, b in enumerate(cr.get("barriers") or [] if isinstance(cr.get("barriers"), list) else []):
            if isinstance(b, str) and b not in barrier_ids:
                problems.append(_unknown_ref(file, f"crossings.barriers[{i}]", "barrier", b, barrier_ids))
        types = cr.get("types") if isinstance(cr.get("types"), dict) else {}
        for i, e in enumerate(cr.get("explicit") or [] if isinstance(cr.get("explicit"), list) else []):
            if isinstance(e, dict):
                if isinstance(e.get("barrier"), str) and e["barrier"] not in barrier_ids:
                    problems.append(_unknown_ref(file, f"crossings.explicit[{i}].barrier", "barrier", e["barrier"], barrier_ids))
                if isinstance(e.get("id"), str) and (re.fullmatch(r".+-(fb|sig|up|br)-\d{3}", e["id"]) or e["id"] in {c.id for c in site.crossings}):
                    problems.append(Problem(file, f"crossings.explicit[{i}].id", f"id {e['id']!r} clashes with a site crossing or the generated ids '<barrier>-<fb|sig|up|br>-NNN'",
                                            "choose another id, e.g. prefix it with 'x-'"))
                if isinstance(e.get("type"), str) and e["type"] not in types:
                    problems.append(Problem(file, f"crossings.explicit[{i}].type", f"crossing type {e['type']!r} has no cost",
                                            f"add crossings.types.{e['type']} with cost_gbp and penalty_m"))
        facs = data.get("facilities") if isinstance(data.get("facilities"), list) else []
        _dup_types: dict[str, int] = {}
        for i, f in enumerate(facs):
            if isinstance(f, dict) and isinstance(f.get("type"), str):
                if f["type"] in _dup_types:
                    problems.append(Problem(file, f"facilities[{i}].type", f"facility type {f['type']!r} given twice (also facilities[{_dup_types[f['type']]}])",
                                            "merge them into one entry with a count range"))
                else:
                    _dup_types[f["type"]] = i
        if parsed is not None and parsed.budget_gbp is not None:
            pass

    if problems or parsed is None or site is None:
        return None, problems

    # coordinates in the scenario are in the site file's CRS
    from pyproj import CRS

    geo = _Geo(file, _parse_crs(site.source_crs), CRS.from_user_input(site.crs))
    facilities = tuple(
        FacilitySpec(f.type, _count(f.count), f.footprint_m2, f.min_spacing_m, f.cost_gbp, f.candidate_spacing_m,
                     f.access_weight, _point_list(f.existing, geo))
        for f in parsed.facilities
    )
    social = None
    if parsed.social_spaces is not None:
        s = parsed.social_spaces
        social = SocialSpaceSpec(_count(s.count), s.cost_gbp, s.footprint_m2, s.noise_buffer_m, s.coverage_radius_m,
                                 s.coverage, s.coverage_weight, s.candidate_spacing_m, s.min_spacing_m,
                                 s.building_clearance_m, _point_list(s.existing, geo))
    c = parsed.crossings
    types = tuple(CrossingTypeSpec(t, v.cost_gbp, v.penalty_m) for t, v in c.types.items())
    cost_of = {t.type: t for t in types}
    explicit = []
    for i, e in enumerate(c.explicit):
        line = geo.line(e.geometry.model_dump(), f"crossings.explicit[{i}].geometry")
        if line is None:
            continue
        band = site.barrier(e.barrier).band
        if not line.intersects(band):
            problems.append(Problem(file, f"crossings.explicit[{i}].geometry", f"candidate {e.id!r} does not cross barrier {e.barrier!r}",
                                    "draw it from one side of the barrier to the other"))
        t = cost_of[e.type]
        explicit.append(Crossing(e.id, e.name or e.id, e.barrier, e.type, line, t.penalty_m, t.cost_gbp, False,
                                 Provenance(source=f"scenario {file}")))
    problems.extend(geo.problems)
    if problems:
        return None, problems
    d = parsed.demand
    scenario = Scenario(
        id=parsed.id,
        name=parsed.name or parsed.id,
        site=site,
        site_ref=str(site_ref),
        budget_gbp=parsed.budget_gbp,
        facilities=facilities,
        social_spaces=social,
        crossings=CrossingSpec(types, c.spacing_m, tuple(c.barriers) if c.barriers is not None else None,
                               tuple(explicit), c.max_route_crossings),
        demand=DemandSpec(d.rule, {k: dict(v) for k, v in d.sector_affinity.items()},
                          tuple((p.a, p.b, p.weight) for p in d.pairs), d.unreachable_penalty_m),
        objective=ObjectiveWeights(parsed.objective.firm_pairs, parsed.objective.facility_access, parsed.objective.social_access),
        directness=tuple(DirectnessTarget(x.a, x.b, x.max_ratio) for x in parsed.directness),
        solver=SolveOptions(backend=parsed.solver.backend, time_limit_s=parsed.solver.time_limit_s, seed=parsed.solver.seed,
                            workers=parsed.solver.workers, length_scale_per_m=parsed.solver.length_scale_per_m),
        layers=dict(parsed.layers),
        description=parsed.description,
        path=path,
    )
    return scenario, []


def read_scenario(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Scenario:
    """Read and validate a scenario file (and the site it names).

    Args:
        path: the scenario file; ``None`` reads the embedded AMP-SBP baseline.
        overrides: top-level keys replacing the file's values before validation (used by
            batch sweeps, e.g. ``budget_gbp=2e6``); nested keys with dots, e.g.
            ``**{"solver.seed": 3}``.

    Raises:
        InputError: every problem in the scenario and its site file, never a partial result.
    """
    p = Path(path) if path is not None else default_scenario_path()
    data, problems = load_mapping(p)
    if data is None:
        raise FileReadError(problems)
    if overrides:
        data = apply_overrides(data, overrides)
    scenario, more = _check_scenario(data, str(path if path is not None else p), p.resolve())
    problems.extend(more)
    if problems:
        raise ValidationError(problems)
    assert scenario is not None
    return scenario


def scenario_from_mapping(data: dict[str, Any], *, base_path: str | os.PathLike[str], name: str = "<scenario>") -> Scenario:
    """Validate an in-memory scenario mapping; relative site paths resolve from ``base_path``."""
    scenario, problems = _check_scenario(data, name, Path(base_path).resolve())
    if problems:
        raise ValidationError(problems)
    assert scenario is not None
    return scenario


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with dotted keys replaced (``{"solver.seed": 3}``)."""
    import copy

    out = copy.deepcopy(data)
    for key, value in overrides.items():
        parts = key.split(".")
        cur = out
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                cur[part] = nxt
            cur = nxt
        cur[parts[-1]] = value
    return out


# ------------------------------------------------------------------ any file


def detect_kind(data: dict[str, Any]) -> str:
    """'site' or 'scenario', from the ``format`` key or the keys present."""
    fmt = data.get("format")
    if isinstance(fmt, str) and fmt.startswith("placemaking-scenario"):
        return "scenario"
    if isinstance(fmt, str) and fmt.startswith("placemaking-site"):
        return "site"
    return "scenario" if "site" in data or "budget_gbp" in data else "site"


def validate_files(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Check files (sites or scenarios, detected per file); return every problem found."""
    problems: list[Problem] = []
    for path in paths:
        data, found = load_mapping(path)
        problems.extend(found)
        if data is None:
            continue
        if detect_kind(data) == "scenario":
            _, more = _check_scenario(data, str(path), Path(path).resolve())
        else:
            _, more = _check_site(data, str(path), Path(path).resolve())
        problems.extend(more)
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique

