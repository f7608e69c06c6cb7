"""Reading a site file: shape (pydantic), CRS, then each section's geometry and references.

:func:`read_site` returns a :class:`~optimiser.inputs.domain.Site` or raises
:class:`~optimiser.errors.InputError` listing *every* problem found. :func:`check_site` is the
same check on a mapping already loaded, returning the problems instead of raising.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from shapely.geometry import Point

from optimiser.errors import FileReadError, Problem, ValidationError
from optimiser.inputs import schema as S
from optimiser.inputs.crossing_rules import site_rule_problems
from optimiser.inputs.crs import check_site_crs, firm_position_problems, parse_crs
from optimiser.inputs.domain import (
    Barrier,
    BarrierKind,
    Crossing,
    CrossingRule,
    ExclusionZone,
    Firm,
    Parcel,
    ParcelStatus,
    Provenance,
    Site,
    TransitLine,
    TransitStop,
    WalkPath,
)
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.geometry import GeometryReader, crossing_gap
from optimiser.inputs.gis import GDF_FILE, site_mapping_from_gdfs
from optimiser.inputs.gis_messages import name_features
from optimiser.inputs.kinds import wrong_kind
from optimiser.inputs.locate import embedded_scenario_path, resolve_input
from optimiser.inputs.messages import duplicate_ids, pydantic_problems, unknown_reference

logger = logging.getLogger(__name__)

_ID_LISTS = ("parcels", "firms", "barriers", "paths", "crossings", "exclusion_zones", "transit")
"""Site lists whose items carry an ``id`` that must be unique within the list."""

M = TypeVar("M", bound=BaseModel)


def _valid_items(raw: Any, model: type[M]) -> list[tuple[int, M]]:
    """(index, parsed item) for the items of a raw list that pass their own model.

    Items that fail are skipped here: the whole-file validation has already reported them.
    """
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((i, model.model_validate(item)))
        except PydanticValidationError:
            continue
    return out


def _provenance(src: S.Source | None) -> Provenance:
    if src is None:
        return Provenance()
    return Provenance(source=src.source, accuracy_m=src.accuracy_m, status=src.status)


def _ids(data: dict[str, Any], key: str) -> set[Any]:
    """The raw ``id`` values of the items in list ``key`` (empty if it is not a list)."""
    items = data.get(key)
    if not isinstance(items, list):
        return set()
    return {p["id"] for p in items if isinstance(p, dict) and isinstance(p.get("id"), (str, int, float))}  # id: [1, 2]: the schema says so


def _known(ids: set[Any]) -> list[str]:
    return sorted(x for x in ids if isinstance(x, str))


# ------------------------------------------------------------------ sections


def _parcels(data: dict[str, Any], geo: GeometryReader) -> list[Parcel]:
    out = []
    for i, p in _valid_items(data.get("parcels"), S.ParcelIn):
        poly = geo.polygon(p.geometry.model_dump(), f"parcels[{i}].geometry")
        if poly is not None:
            out.append(Parcel(p.id, p.name or p.id, ParcelStatus(p.status), poly, _provenance(p.provenance)))
    return out


def _barriers(data: dict[str, Any], geo: GeometryReader) -> list[Barrier]:
    out = []
    for i, b in _valid_items(data.get("barriers"), S.BarrierIn):
        line = geo.line(b.geometry.model_dump(), f"barriers[{i}].geometry")
        if line is not None:
            out.append(Barrier(b.id, b.name or b.id, BarrierKind.parse(b.kind), line, b.width_m, b.switch_layer, b.default_on, b.no_build,
                               _provenance(b.provenance)))
    return out


def _firm_in_barrier(file: str, i: int, f: S.FirmIn, points: Sequence[Point], barriers: list[Barrier]) -> list[Problem]:
    """A firm whose location (``points[0]``) or an entrance stands inside a barrier's band."""
    problems = []
    for b in barriers:
        band = b.band
        for j, pt in enumerate(points):
            if band.contains(pt):
                where = "location" if j == 0 else f"entrances[{j - 1}]"
                kind = "corridor" if b.kind == BarrierKind.RAIL_CORRIDOR else "barrier"
                problems.append(Problem(file, f"firms[{i}].{where}",
                                        f"firm {f.id!r} stands inside {kind} {b.id!r} (its {b.width_m:g} m band)",
                                        "move the firm off the barrier, or check the barrier's width and coordinates"))
                break
    return problems


def _firms(data: dict[str, Any], geo: GeometryReader, barriers: list[Barrier], problems: list[Problem]) -> list[Firm]:
    out = []
    parcel_ids = _ids(data, "parcels")
    for i, f in _valid_items(data.get("firms"), S.FirmIn):
        loc = geo.points([f.location])[0]
        ents = geo.points(f.entrances or []) or (loc,)
        fp = geo.polygon(f.footprint.model_dump(), f"firms[{i}].footprint") if f.footprint else None
        if f.parcel is not None and f.parcel not in parcel_ids:
            problems.append(unknown_reference(geo.file, f"firms[{i}].parcel", "parcel", f.parcel, _known(parcel_ids)))
        problems.extend(_firm_in_barrier(geo.file, i, f, (loc, *ents) if f.entrances else (loc,), barriers))
        out.append(Firm(f.id, f.name or f.id, f.employees, f.sector, loc, ents, fp, f.fixed, f.parcel, _provenance(f.provenance)))
    return out


def _paths(data: dict[str, Any], geo: GeometryReader) -> list[WalkPath]:
    out = []
    for i, w in _valid_items(data.get("paths"), S.PathIn):
        line = geo.line(w.geometry.model_dump(), f"paths[{i}].geometry")
        if line is not None:
            out.append(WalkPath(w.id, w.name or w.id, w.kind, line, _provenance(w.provenance)))
    return out


def _crossings(data: dict[str, Any], geo: GeometryReader, barriers: list[Barrier], problems: list[Problem]) -> list[Crossing]:
    out = []
    barrier_ids = _ids(data, "barriers")
    by_id = {b.id: b for b in barriers}
    for i, c in _valid_items(data.get("crossings"), S.CrossingIn):
        if c.barrier not in barrier_ids:
            problems.append(unknown_reference(geo.file, f"crossings[{i}].barrier", "barrier", c.barrier, _known(barrier_ids)))
            continue
        line = geo.line(c.geometry.model_dump(), f"crossings[{i}].geometry")
        if line is None:
            continue
        b = by_id.get(c.barrier)
        if b is not None and not line.intersects(b.band):
            problems.append(Problem(geo.file, f"crossings[{i}].geometry", f"crossing {c.id!r} does not cross barrier {c.barrier!r}",
                                    "draw the crossing from one side of the barrier to the other"))
        elif b is not None and (gap := crossing_gap(line, b.centreline, b.band)) is not None:
            problems.append(Problem(geo.file, f"crossings[{i}].geometry",
                                    f"crossing {c.id!r} does not cross barrier {c.barrier!r}: it {gap} ({b.width_m:g} m wide)",
                                    "draw the crossing from one side of the barrier to the other, each end outside its band"))
        out.append(Crossing(c.id, c.name or c.id, c.barrier, c.type, line, c.penalty_m, 0.0, True, _provenance(c.provenance)))
    return out


def _exclusion_zones(data: dict[str, Any], geo: GeometryReader) -> list[ExclusionZone]:
    out = []
    for i, z in _valid_items(data.get("exclusion_zones"), S.ExclusionIn):
        poly = geo.polygon(z.geometry.model_dump(), f"exclusion_zones[{i}].geometry")
        if poly is not None:
            out.append(ExclusionZone(z.id, z.name or z.id, poly, z.reason))
    return out


_REFERENCES = (("firms", "parcel", "parcels", "parcel", S.FirmIn), ("crossings", "barrier", "barriers", "barrier", S.CrossingIn),
               ("crossing_rules", "barrier", "barriers", "barrier", S.CrossingRuleIn))
"""(list, field, list it refers to, what that is, the item's model): references checked for items
that fail their own model too."""


def _references_of_invalid_items(data: dict[str, Any], file: str) -> list[Problem]:
    """Unknown references in items that failed their own model (whose other problems are reported
    already, and which the item checks skip), so one run lists every problem of an item."""
    problems = []
    for key, field, target, what, model in _REFERENCES:
        items = data.get(key)
        ids = _ids(data, target)
        for i, item in enumerate(items if isinstance(items, list) else []):
            ref = item.get(field) if isinstance(item, dict) else None
            if not isinstance(ref, str) or ref in ids:
                continue
            try:
                model.model_validate(item)
            except PydanticValidationError:
                problems.append(unknown_reference(file, f"{key}[{i}].{field}", what, ref, _known(ids)))
    return problems


def _crossing_rules(data: dict[str, Any], file: str, barriers: list[Barrier], problems: list[Problem]) -> list[CrossingRule]:
    """The site's crossing rules; a rule allowing a type its barrier's kind cannot take is a problem."""
    out: list[tuple[int, CrossingRule]] = []
    barrier_ids = _ids(data, "barriers")
    for i, r in _valid_items(data.get("crossing_rules"), S.CrossingRuleIn):
        if r.barrier not in barrier_ids:
            problems.append(unknown_reference(file, f"crossing_rules[{i}].barrier", "barrier", r.barrier, _known(barrier_ids)))
            continue
        out.append((i, CrossingRule(r.barrier, r.spacing_m, tuple(r.types))))
    problems.extend(site_rule_problems(out, barriers, file))
    return [rule for _, rule in out]


def _transit(data: dict[str, Any], geo: GeometryReader, problems: list[Problem]) -> list[TransitLine]:
    """Transit alignments with their existing stops; a stop id may appear once in the site."""
    out = []
    seen: set[str] = set()
    for i, t in _valid_items(data.get("transit"), S.TransitLineIn):
        line = geo.line(t.geometry.model_dump(), f"transit[{i}].geometry")
        stops = []
        for j, st in enumerate(t.stops):
            if st.id in seen:
                problems.append(Problem(geo.file, f"transit[{i}].stops[{j}].id", f"stop id {st.id!r} is another stop's id already",
                                        "give every stop its own id"))
            seen.add(st.id)
            stops.append(TransitStop(st.id, st.name or st.id, geo.points([st.location])[0], _provenance(st.provenance)))
        if line is not None:
            out.append(TransitLine(t.id, t.name or t.id, line, tuple(stops), t.mode, _provenance(t.provenance)))
    return out


def _emptiness(data: dict[str, Any], file: str) -> list[Problem]:
    """A site without firms generates no demand; one without firms and parcels is empty."""
    problems = []
    firms_raw = data.get("firms")
    if isinstance(firms_raw, list) and not firms_raw:
        problems.append(Problem(file, "firms", "the site has no firms: nothing generates walking demand", "list at least one firm"))
    if "firms" not in data and not data.get("parcels"):
        problems.append(Problem(file, "", "the site is empty: no firms and no parcels", "see sites/README.md for the format"))
    return problems


# ------------------------------------------------------------------ the whole site


def check_site(data: dict[str, Any], file: str, path: Path | None) -> tuple[Site | None, list[Problem]]:
    """Check a site mapping and build the :class:`~optimiser.inputs.domain.Site` it describes.

    Args:
        data: the site file's mapping (:func:`optimiser.inputs.formats.load_mapping`).
        file: the file name problems are reported against.
        path: the site file (kept on the site), or ``None``.

    Returns:
        ``(site, [])`` when the mapping is valid, else ``(None, every problem found)``.
    """
    other = wrong_kind(data, "site", file, "a site")
    if other is not None:
        return None, [other]
    problems: list[Problem] = []
    try:
        S.SiteFile.model_validate(data)
        shape_ok = True
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, S.SiteFile, data, file))
        shape_ok = False
    for key in _ID_LISTS:
        if isinstance(data.get(key), list):
            problems.extend(duplicate_ids(data[key], key, file))
    crs = check_site_crs(data, file)
    problems.extend(crs.problems)
    problems.extend(_emptiness(data, file))
    if crs.working is None:
        return None, name_features(problems, data)
    geo = GeometryReader(file, crs.source, crs.working)
    parcels = _parcels(data, geo)
    barriers = _barriers(data, geo)
    firms = _firms(data, geo, barriers, problems)
    paths = _paths(data, geo)
    crossings = _crossings(data, geo, barriers, problems)
    zones = _exclusion_zones(data, geo)
    rules = _crossing_rules(data, file, barriers, problems)
    transit = _transit(data, geo, problems)
    problems.extend(geo.problems)
    problems.extend(_references_of_invalid_items(data, file))
    if problems or not shape_ok:
        return None, name_features(problems, data)
    site = Site(
        id=data["id"],
        name=S.closed_bidi(data.get("name") or data["id"]),
        crs=crs.working.to_string(),
        source_crs=str(data.get("crs")),
        parcels=tuple(parcels),
        firms=tuple(firms),
        barriers=tuple(barriers),
        paths=tuple(paths),
        crossings=tuple(crossings),
        exclusion_zones=tuple(zones),
        crossing_rules=tuple(rules),
        transit=tuple(transit),
        illustrative=bool(data.get("illustrative", Site.illustrative)),
        description=data.get("description", Site.description),
        path=path,
    )
    logger.debug("site %s: %d firms, %d parcels, %d barriers, %d paths, %d crossings", site.id, len(firms), len(parcels),
                 len(barriers), len(paths), len(crossings))
    return site, []


def read_site(path: str | os.PathLike[str]) -> Site:
    """Read and validate a site file.

    Args:
        path: a YAML, JSON, TOML, GeoJSON or GIS site file, or the name of an embedded site
            (``"fremont"``, ``siteopt list``).

    Returns:
        The :class:`~optimiser.inputs.domain.Site`, geometry in its working CRS (metres).

    Raises:
        FileReadError: the file cannot be read or parsed.
        ValidationError: with every problem found (``.problems``), never a partial site.
    """
    given = checked_path(path, "read_site")
    found = resolve_input(os.fspath(given), kind="site")  # a file, or an embedded site's name, as siteopt validate takes it
    name = str(path) if found == given else str(found)
    data, problems = load_mapping(found)
    if data is None:
        if not found.exists() and embedded_scenario_path(os.fspath(given)) is not None:
            raise FileReadError([Problem(str(path), "", f"{str(path)!r} is an embedded scenario, not a site",
                                         "read it with read_scenario, or give a site's name (siteopt list)")])
        raise FileReadError(problems)
    site, more = check_site(data, name, found.resolve())
    problems.extend(more)
    if problems or site is None:
        raise ValidationError(problems)
    logger.debug("read site %s from %s", site.id, name)
    return site


def site_from_gdfs(layers: Mapping[str, Any], **site_fields: Any) -> Site:
    """A validated site built from GeoDataFrames (one per layer), e.g. drawn or edited in a notebook.

    Args:
        layers: layer name -> GeoDataFrame: ``parcels``, ``firms``, ``barriers``, ``paths``,
            ``existing_crossings``, ``exclusion_zones`` (geometry in any CRS: each is
            reprojected to the site's), ``crossing_rules`` (a DataFrame) and optionally ``site``
            (one row of the site's own fields). Columns are the site file's keys (sites/README.md).
        **site_fields: the site's own fields, e.g. ``id="my_site", name="My site"``; ``crs``
            defaults to the frames' CRS.

    Raises:
        ValidationError: with every problem, each naming its layer and feature.
    """
    data, problems = site_mapping_from_gdfs(layers, **site_fields)
    data.setdefault("id", "site")
    site, more = check_site(data, GDF_FILE, None)
    problems += more
    if problems or site is None:
        raise ValidationError(problems)
    return site


def firms_in_site(raw_firms: list[Any], site: Site, file: str) -> tuple[list[Firm], list[Problem]]:
    """Firms given as site-file items (``firms:`` entries, in the site file's CRS), checked
    against a validated site (its parcels and barriers), e.g. a scenario's added firms.

    Args:
        raw_firms: the raw firm items.
        site: the validated site they join.
        file: the file problems are reported against.

    Returns:
        (the firms that could be built, every problem found).
    """
    src = parse_crs(site.source_crs)
    problems = firm_position_problems(file, raw_firms, src, site.source_crs) if src is not None else []
    if problems:
        return [], problems  # a firm at 1e308, or 5,000 km away: not built (nor a site extent of it)
    geo = GeometryReader(file, src, parse_crs(site.crs))
    data = {"firms": raw_firms, "parcels": [{"id": p.id} for p in site.parcels]}
    firms = _firms(data, geo, list(site.barriers), problems)
    return firms, problems + geo.problems
