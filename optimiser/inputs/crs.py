"""Every coordinate reference system (CRS) question, in one place.

- :func:`parse_crs` reads a CRS the user named (``None`` when pyproj does not know it);
- :func:`working_crs` picks the projected CRS in metres a geographic site is worked in;
- :func:`check_site_crs` checks a raw site mapping's ``crs``, its unit and its coordinates
  (degrees given in a metric CRS, metres in a geographic one, latitude/longitude swapped), and
  its ``working_crs`` with the same checks, and returns the source and working CRS;
- :func:`swapped_lonlat_reason` / :func:`swapped_lonlat_warning`: a lon/lat site that looks given
  as [latitude, longitude] though both readings are places (the ``lat_lon_swapped`` sanity warning);
- :func:`neighbour_zone_reason`: a UTM site whose one-country currency says it is meant for the
  neighbouring zone (shown by ``siteopt validate``);
- :func:`metric_twin` / :func:`unit_twins`: the same grid in metres or feet (a site in US survey
  feet is worked in its twin in metres);
- :func:`transformer` converts positions from one CRS to another (x first, as GeoJSON);
- :func:`reproject_to_wgs84` turns working-CRS geometry into RFC 7946 WGS84 lon/lat for output.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Proj, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info, query_utm_crs_info
from pyproj.enums import PJType
from pyproj.exceptions import CRSError, ProjError
from shapely.geometry.base import BaseGeometry

from optimiser.errors import Problem, SiteWarning
from optimiser.inputs.messages import format_coord, format_xy
from optimiser.inputs.plausibility import (
    AREA_TOLERANCE_DEG,
    MAX_COORDINATE,
    area_of_use_lonlat,
    degrees_outside,
    implausible_positions,
    lonlat_transform,
    metres_per_unit,
)

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
COORD_DECIMALS = 7
"""Decimal places of lon/lat written (1e-7 degree is about 1 cm)."""

BNG = 27700
"""EPSG code of the British National Grid, the working CRS for sites in Great Britain."""
_GB_LON = (-8.8, 2.0)
_GB_LAT = (49.8, 60.9)
"""Longitude and latitude ranges (degrees) of Great Britain."""

XYTransform = Callable[[Any, Any], tuple[Any, Any]]
"""``(x, y) -> (x', y')`` on floats or arrays, x first (pyproj ``always_xy``)."""

_GEOMETRY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parcels", ("geometry",)),
    ("firms", ("location", "entrances", "footprint")),
    ("barriers", ("geometry",)),
    ("paths", ("geometry",)),
    ("crossings", ("geometry",)),
    ("exclusion_zones", ("geometry",)),
)
"""Site lists and the fields of their items that hold coordinates."""


# ------------------------------------------------------------------ parsing and choosing


def parse_crs(text: str) -> CRS | None:
    """The CRS ``text`` names (``"EPSG:27700"``, ``"OGC:CRS84"``, WKT ...), or ``None`` if unknown."""
    try:
        return CRS.from_user_input(text)
    except CRSError:
        return None


def same_crs(a: Any, b: Any) -> bool:
    """Whether two CRS texts name the same CRS, axis order aside (``EPSG:27700`` and its WKT;
    ``EPSG:4326``, ``WGS84`` and ``OGC:CRS84`` are one here: lon/lat); unreadable: no."""
    first, second = parse_crs(str(a)), parse_crs(str(b))
    return first is not None and second is not None and bool(first.equals(second, ignore_axis_order=True))


def working_crs(lonlat_points: list[tuple[float, float]], requested: str | None) -> CRS | None:
    """The projected CRS (metres) to work in for a site given in longitude/latitude.

    Args:
        lonlat_points: the site's positions in degrees (lon, lat).
        requested: the site's ``working_crs``, if it names one (parsed as given).

    Returns:
        The requested CRS (``None`` if unknown); else EPSG:27700 inside Great Britain (and
        for a site without positions), else the UTM zone of the positions (Web Mercator if
        none is found).
    """
    if requested:
        return parse_crs(requested)
    if not lonlat_points:
        return CRS.from_epsg(BNG)
    lons = [p[0] for p in lonlat_points]
    lats = [p[1] for p in lonlat_points]
    if _GB_LON[0] <= min(lons) and max(lons) <= _GB_LON[1] and _GB_LAT[0] <= min(lats) and max(lats) <= _GB_LAT[1]:
        return CRS.from_epsg(BNG)
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(min(lons), min(lats), max(lons), max(lats)),
    )
    return CRS.from_epsg(int(infos[0].code)) if infos else CRS.from_epsg(3857)


def transformer(src: CRS | None, dst: CRS | None) -> XYTransform | None:
    """The position transform from ``src`` to ``dst``; ``None`` when they are equal or unknown."""
    if src is None or dst is None or src.equals(dst):
        return None
    fn: XYTransform = Transformer.from_crs(src, dst, always_xy=True).transform
    return fn


# ------------------------------------------------------------------ positions in raw data


def iter_positions(geom: Any) -> Iterator[list[float]]:
    """Every coordinate position inside a raw geometry value (point list or GeoJSON dict)."""
    if isinstance(geom, dict):
        geom = geom.get("coordinates")
    if isinstance(geom, list) and geom and isinstance(geom[0], (int, float, str)):
        yield geom
    elif isinstance(geom, list):
        for g in geom:
            yield from iter_positions(g)


def looks_like_degrees(positions: list[list[float]]) -> bool:
    """Whether every position fits longitude/latitude ranges (|x| <= 180, |y| <= 90)."""
    return bool(positions) and all(abs(p[0]) <= 180 and abs(p[1]) <= 90 for p in positions)


def degrees_in_metric_crs(positions: list[list[float]], crs: CRS) -> bool:
    """Whether positions given in a metric ``crs`` are really lon/lat degrees.

    They must fit the degree ranges *and*, read as lon/lat, fall inside the CRS's area of
    use (so small local coordinates such as (50, 50) in EPSG:27700 are not flagged).
    Without an area of use, any fractional degree-sized values are taken as degrees.
    """
    if not looks_like_degrees(positions):
        return False
    area = crs.area_of_use
    if area is None:
        return any(p[0] != int(p[0]) or p[1] != int(p[1]) for p in positions)
    tol = AREA_TOLERANCE_DEG
    return all(area.west - tol <= p[0] <= area.east + tol and area.south - tol <= p[1] <= area.north + tol
               for p in positions)


def _coordinate(value: Any) -> int | float | None:
    """One raw coordinate as the schema reads it: a number, or text that is one (YAML 1.1 reads
    ``1e7`` as text, GIS exports quote numbers); ``None`` when it is neither, or not finite (the
    schema reports those)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
        if value.is_integer() and abs(value) < 1e15:
            value = int(value)  # "440300" is shown as 440300 in messages, as an unquoted one
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:  # a whole number too large for a float (10**400): the schema says so
        return None


def _numeric_positions(value: Any) -> list[list[float]]:
    """The well-formed positions (two or more numbers, or numbers written as text, as the schema
    reads them) inside a raw geometry value, as numbers."""
    try:
        positions = [[_coordinate(v) for v in p] for p in iter_positions(value)]
    except TypeError:
        return []
    return [[v for v in p if v is not None] for p in positions if len(p) >= 2 and None not in p]


def _feature_positions(data: dict[str, Any]) -> Iterable[tuple[str, list[list[float]]]]:
    """``(field path, positions)`` for every coordinate-holding field of a raw site, transit
    lines and their existing stops included (a stop left in another CRS was a point at infinity:
    an internal error in the run)."""
    for key, fields in _GEOMETRY_FIELDS:
        items = data.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                for fld in fields:
                    yield f"{key}[{i}].{fld}", _numeric_positions(item.get(fld))
    transit = data.get("transit")
    for i, line in enumerate(transit if isinstance(transit, list) else []):
        if isinstance(line, dict):
            yield f"transit[{i}].geometry", _numeric_positions(line.get("geometry"))
            stops = line.get("stops")
            for j, stop in enumerate(stops if isinstance(stops, list) else []):
                if isinstance(stop, dict):
                    yield f"transit[{i}].stops[{j}].location", _numeric_positions(stop.get("location"))


def _position_problems(file: str, where: str, pos: list[list[float]], src: CRS, crs_text: str) -> list[Problem]:
    """Positions that do not fit the declared CRS: degrees in metres, metres in degrees, lat/lon swapped."""
    problems: list[Problem] = []
    if not src.is_geographic and degrees_in_metric_crs(pos, src):
        problems.append(Problem(file, where,
                                f"coordinates look like longitude/latitude degrees (e.g. {pos[0][:2]}) but crs {crs_text} is in metres",
                                "give projected coordinates, or set crs: EPSG:4326 for lon/lat"))
    if src.is_geographic and pos and all(_GB_LAT[0] <= p[0] <= _GB_LAT[1] and _GB_LON[0] <= p[1] <= _GB_LON[1] for p in pos):
        problems.append(Problem(file, where, f"coordinates {pos[0][:2]} look like [latitude, longitude] in Great Britain",
                                "give positions as [longitude, latitude] (x first), as GeoJSON does"))
    if src.is_geographic and pos and not looks_like_degrees(pos) and looks_like_degrees([[p[1], p[0]] for p in pos]):
        at = format_xy(pos[0][0], pos[0][1], degrees=True)
        problems.append(Problem(file, where, f"coordinates {at} look like [latitude, longitude]: read as "
                                "[longitude, latitude], a latitude is beyond 90 degrees",
                                "give positions as [longitude, latitude] (x first), as GeoJSON does"))
    elif src.is_geographic and pos and not looks_like_degrees(pos):
        problems.append(Problem(file, where,
                                f"coordinates {pos[0][:2]} are not longitude/latitude degrees but crs {crs_text} is geographic",
                                "declare the projected CRS the coordinates are in, e.g. crs: EPSG:27700"))
    return problems


def firm_position_problems(file: str, raw_firms: list[Any], src: CRS, crs_text: str) -> list[Problem]:
    """The checks a site's firms get against its ``crs`` (degrees in a metric CRS, metres in a
    geographic one, outside the area of use), for raw firm items given elsewhere: a scenario's
    ``firm_changes.added`` (fields ``firms[i]...``, as in a site file)."""
    feats = list(_feature_positions({"firms": raw_firms}))
    problems = [p for where, pos in feats for p in _position_problems(file, where, pos, src, crs_text)]
    return problems or implausible_positions(file, feats, src, crs_text, check_span=False)

def _stop_off_its_line(problem: Problem, crs_text: str) -> Problem:
    """A transit stop whose coordinates do not fit the site's crs while its line's do: the stop,
    not the crs, is wrong. A GIS layer keeps a line's stops as JSON text, which QGIS does not
    reproject with the layer (a site saved in EPSG:4326 keeps its stops in metres)."""
    return Problem(problem.file, problem.field, problem.reason + f", while its line's own coordinates fit crs {crs_text}",
                   f"give the stop's location in {crs_text}, as its line is (in a GeoPackage or GeoJSON layer the "
                   "stops are JSON text, which QGIS does not reproject when the layer is saved in another CRS)")


# ------------------------------------------------------------------ a site's CRS


@dataclass
class SiteCrs:
    """The CRS of a raw site: what its file says and what it is worked in.

    Attributes:
        source: the CRS of the file's coordinates (``None`` if missing or unknown).
        working: the projected CRS in metres geometry is converted to (``None`` if there is none).
        problems: every CRS problem found.
    """

    source: CRS | None
    working: CRS | None
    problems: list[Problem] = field(default_factory=list)


_CRS_HINTS = {
    "crs": "use an EPSG code such as 'EPSG:27700' (British National Grid) or 'EPSG:4326'",
    "working_crs": "use a projected CRS in metres made for the site's area, e.g. 'EPSG:27700' in Great Britain or "
                   "the site's UTM zone; or leave working_crs out to have one chosen",
}
"""What to do about an unknown CRS, per site key."""


_QGIS_LABEL = re.compile(r"\s*([A-Za-z]+:\w+)\s+-\s+\S")
"""A CRS as QGIS's CRS selector and status bar show it: its code, `` - `` and its name."""


def _named_crs(data: dict[str, Any], key: str, file: str) -> tuple[CRS | None, list[Problem]]:
    """The CRS the site's ``key`` (``crs`` or ``working_crs``) names, checked to be known and,
    when projected, in metres; a ``working_crs`` must be projected too (``None`` with a problem
    when it is not)."""
    text = data.get(key)
    if not isinstance(text, str):
        return None, []
    crs = parse_crs(text)
    if crs is None:
        label = _QGIS_LABEL.match(text)  # "EPSG:27700 - OSGB36 / British National Grid", as QGIS shows a CRS
        hint = (f"did you mean {label[1]!r}? (QGIS shows a CRS as 'code - name': give the code alone)"
                if label and parse_crs(label[1]) is not None else _CRS_HINTS[key])
        return None, [Problem(file, key, f"unknown CRS {text!r}", hint)]
    if crs.is_geographic:
        if key == "working_crs":
            return None, [Problem(file, key, f"CRS {text!r} is geographic (degrees); the working CRS must be a projected "
                                  "CRS in metres", _CRS_HINTS[key])]
        return crs, []
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit in ("metre", "meter", "m"):
        return crs, []
    if key == "crs" and crs.axis_info and crs.axis_info[0].unit_conversion_factor:
        return crs, []  # feet: the site is reprojected into a CRS in metres (check_site_crs)
    twin = metric_twin(crs)
    fix = (f"use {twin} ({CRS.from_user_input(twin).name}), the same grid in metres" if twin
           else "use a projected CRS in metres made for the site's area (its national grid or UTM zone)")
    return None, [Problem(file, key, f"CRS {text!r} is in {unit}, not metres", fix
                          + (", or leave working_crs out" if key == "working_crs" else ""))]


_UNIT_SUFFIX = re.compile(r"\s*\([^()]*\bft[A-Za-z]*\)\s*$")
"""The unit at the end of an EPSG CRS name in feet: ``NAD83 / California zone 3 (ftUS)``."""


@lru_cache(maxsize=1)
def _projected_by_name() -> dict[str, str]:
    """EPSG's projected CRSs (not deprecated) by name: ``{"NAD83 / California zone 3": "EPSG:26943"}``."""
    return {info.name: f"EPSG:{info.code}" for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
            if not info.deprecated}


def metric_twin(crs: CRS) -> str | None:
    """The EPSG CRS that is ``crs``'s grid in metres (``EPSG:26943`` for ``EPSG:2227``, NAD83 /
    California zone 3 in US survey feet), or ``None`` when the database has none."""
    base = _UNIT_SUFFIX.sub("", crs.name)
    return _projected_by_name().get(base) if base != crs.name else None


def unit_twins(crs: CRS) -> list[str]:
    """The EPSG CRSs that are ``crs``'s grid in another unit: its twin in metres for a CRS in
    feet, its twins in feet (``(ftUS)``, ``(ft)``) for one in metres."""
    if metres_per_unit(crs) != 1.0:
        twin = metric_twin(crs)
        return [twin] if twin else []
    names = _projected_by_name()
    return [names[n] for n in (f"{crs.name} (ftUS)", f"{crs.name} (ft)") if n in names]


def _unit_plural(unit: str) -> str:
    """``metres``, ``US survey feet``, ``feet``: a CRS's unit as a message says it of coordinates."""
    return {"metre": "metres", "meter": "metres", "foot": "feet"}.get(unit, unit.replace(" foot", " feet"))


def _unit_mixup(file: str, features: list[tuple[str, list[list[float]]]], src: CRS, crs_text: str) -> Problem | None:
    """One problem for a site whose every position lies outside its CRS's area of use but inside
    that of the same grid in another unit (State Plane metres declared as US survey feet, or the
    other way round): the numbers are right, the unit is not."""
    placed = [(where, pos) for where, pos in features if pos]
    if not placed:
        return None
    for twin in unit_twins(src):
        other = CRS.from_user_input(twin)
        if not implausible_positions(file, placed, other, twin, check_span=False):
            unit, other_unit = (_unit_plural(c.axis_info[0].unit_name if c.axis_info else "metre") for c in (src, other))
            return Problem(file, "crs", f"the coordinates lie outside the area of use of crs {crs_text} ({src.name}, in "
                           f"{unit}) but inside that of {twin} ({other.name}, in {other_unit}): they look like "
                           f"{other_unit}", f"set crs: {twin} if the coordinates are in {other_unit}")
    return None


_FALSE_NORTHING_M = 10_000_000.0
"""A southern UTM zone's false northing: its northings start at 10,000 km at the equator."""


def _hemisphere_mixup(file: str, features: list[tuple[str, list[list[float]]]], src: CRS, crs_text: str) -> Problem | None:
    """One problem for a site south of the equator given in a northern UTM zone with northings
    below zero (measured from the equator), when its southern twin (northings + 10,000 km) holds
    every position: name the zone and the fix, not every feature."""
    code = src.to_epsg() or 0
    placed = [(where, pos) for where, pos in features if pos]
    if not 32601 <= code <= 32660 or not placed or not all(p[1] < 0 for _, pos in placed for p in pos):
        return None
    south = f"EPSG:{code + 100}"
    shifted = [(where, [[p[0], p[1] + _FALSE_NORTHING_M] for p in pos]) for where, pos in placed]
    if implausible_positions(file, shifted, CRS.from_user_input(south), south, check_span=False):
        return None
    return Problem(file, "crs", f"every northing is below zero: crs {crs_text} ({src.name}) is a northern zone, so the "
                   "site lies south of the equator, outside its area of use",
                   f"for a site south of the equator use the southern zone, crs: {south}, whose northings are "
                   f"{_FALSE_NORTHING_M:,.0f} at the equator: add {_FALSE_NORTHING_M:,.0f} to every northing")


def _feet_working(src: CRS, positions: list[list[float]]) -> CRS | None:
    """The CRS in metres a site given in a projected CRS in feet (a US State Plane zone in US
    survey feet) is worked in: the same grid in metres when EPSG has it and it is true to scale at
    the site, else :func:`working_crs`'s choice for the site's lon/lat."""
    twin = metric_twin(src)
    if twin is not None:
        dst = CRS.from_user_input(twin)
        to_dst = transformer(src, dst)
        err = scale_error(dst, [list(to_dst(p[0], p[1])) if to_dst else p[:2] for p in positions])
        if err is None or err <= MAX_SCALE_ERROR:
            return dst
    to_lonlat = lonlat_transform(src)
    return working_crs([to_lonlat(p[0], p[1]) for p in positions], None)


MAX_SCALE_ERROR = 0.005
"""A projected CRS whose scale at the site is off by more than this (0.5 %) is not worked in: a
metre in it is not a metre on the ground (Web Mercator, EPSG:3857, the default of QGIS projects
on web base maps, measures 1.68 m for every metre at 53 N). The site is reprojected into
:func:`working_crs` as a lon/lat site is. UTM within its zone, British National Grid and the US
State Plane zones are within 0.1 %."""


def scale_error(src: CRS, positions: list[list[float]]) -> float | None:
    """How far a projected CRS's scale departs from 1 at the middle of ``positions`` (the larger
    of its meridional and parallel scale errors), or ``None`` when pyproj cannot say."""
    if not positions:
        return None
    x, y = np.median(np.asarray([p[:2] for p in positions], dtype=float), axis=0)
    try:
        lon, lat = lonlat_transform(src)(x, y)
        f = Proj(src).get_factors(lon, lat)
    except (CRSError, ProjError, ValueError, TypeError):
        return None
    err = max(abs(f.meridional_scale - 1.0), abs(f.parallel_scale - 1.0))
    return float(err) if np.isfinite(err) else None


def _distorted_working(src: CRS, positions: list[list[float]]) -> CRS | None:
    """The CRS to work in for a projected ``src`` whose scale at the site is off by more than
    :data:`MAX_SCALE_ERROR`; ``None`` when ``src`` itself will do."""
    err = scale_error(src, positions)
    if err is None or err <= MAX_SCALE_ERROR:
        return None
    to_lonlat = lonlat_transform(src)
    lonlat = [to_lonlat(p[0], p[1]) for p in positions]
    dst = working_crs(lonlat, None)
    if dst is not None and dst.is_projected:
        logger.info("crs %s measures %.3f m per metre at the site: the site is worked in %s", src.to_string(), 1 + err,
                    dst.to_string())
    return dst


_WORKING_FIX = ("choose a working_crs made for the site's area (its national grid or UTM zone), or leave working_crs out "
                "to have one chosen")


def _working_misfit(file: str, features: list[tuple[str, list[list[float]]]], src: CRS, crs_text: str, dst: CRS,
                    dst_text: str) -> list[Problem]:
    """Why a requested ``working_crs`` cannot hold the site, by the rule ``crs`` gets: the
    site's positions (in ``src``) more than :data:`~optimiser.inputs.plausibility.AREA_TOLERANCE_DEG`
    beyond its area of use, compared in lon/lat (one problem when every feature is, else one per
    feature), or its scale at the site off by more than :data:`MAX_SCALE_ERROR`."""
    outside = implausible_positions(file, features, src, crs_text, check_span=False,
                                    area_of=(dst, f"working_crs {dst_text}"))
    placed = [(where, pos) for where, pos in features if pos]
    area = area_of_use_lonlat(dst)
    if outside and len(outside) >= len(placed) and area is not None:
        where, pos = placed[0]
        w, s, e, n = (format_coord(v, degrees=True, decimals=2) for v in area)
        at = format_xy(pos[0][0], pos[0][1], degrees=src.is_geographic)
        if not src.is_geographic:
            lon, lat = lonlat_transform(src)(pos[0][0], pos[0][1])
            at = f"{at} in crs {crs_text}, lon/lat {format_xy(lon, lat, degrees=True)}"
        return [Problem(file, "working_crs", f"the site lies outside the area of use of working_crs {dst_text} (lon {w}..{e}, "
                        f"lat {s}..{n}, give or take {AREA_TOLERANCE_DEG:g}°): {where} is at {at}",
                        _WORKING_FIX + ("; if the site is in that area, give positions as [longitude, latitude]"
                                        if src.is_geographic else ""))]
    if outside:
        return outside
    to_dst = transformer(src, dst)
    err = scale_error(dst, [list(to_dst(p[0], p[1])) if to_dst else p[:2] for _, pos in features for p in pos])
    if err is not None and err > MAX_SCALE_ERROR:
        return [Problem(file, "working_crs", f"working_crs {dst_text} measures {1 + err:.3f} m for every metre on the "
                        f"ground at the site (more than {MAX_SCALE_ERROR:.1%} off), so walks, widths and spacings would "
                        "not agree", _WORKING_FIX)]
    return []


def check_site_crs(data: dict[str, Any], file: str) -> SiteCrs:
    """Check a raw site mapping's CRS and coordinates; choose its working CRS.

    A ``working_crs`` the site names is worked in whatever ``crs`` is (a projected site is
    reprojected into it), after the checks ``crs`` gets: known, projected, in metres, holding
    the site in its area of use and true to scale there (:data:`MAX_SCALE_ERROR`). Without one,
    a projected ``crs`` is worked in as given (unless distorted, see :func:`_distorted_working`)
    and a geographic one in :func:`working_crs`'s choice.

    Args:
        data: the site file's mapping (before or after shape validation).
        file: the file name problems are reported against.

    Returns:
        The source and working CRS with every problem found: an unknown or non-metric
        ``crs``, coordinates that do not fit it, a ``working_crs`` that is unknown, geographic,
        not in metres, or does not fit the site.
    """
    src, problems = _named_crs(data, "crs", file)
    requested, bad_request = _named_crs(data, "working_crs", file)
    positions_all: list[list[float]] = []
    features = list(_feature_positions(data))
    for where, pos in features:
        positions_all.extend(pos)
        if src is not None:
            found = _position_problems(file, where, pos, src, str(data.get("crs")))
            line = where.split(".stops[")[0] + ".geometry"
            if found and ".stops[" in where and not any(p.field == line for p in problems):
                found = [_stop_off_its_line(p, str(data.get("crs"))) for p in found]
            problems.extend(found)
    if src is None:
        return SiteCrs(None, None, problems + bad_request)
    if not problems:
        problems.extend(implausible_positions(file, features, src, str(data.get("crs"))))
        if problems and src.is_projected and (mixup := _unit_mixup(file, features, src, str(data.get("crs")))
                                              or _hemisphere_mixup(file, features, src, str(data.get("crs")))):
            problems = [mixup]
    if requested is not None and not problems:
        bad_request = _working_misfit(file, features, src, str(data.get("crs")), requested, str(data.get("working_crs")))
    dst: CRS | None
    if requested is not None and not bad_request and not (problems and src.is_projected):
        dst = requested
    elif not src.is_geographic:  # a bad working_crs: the site's geometry is still checked, in its own crs
        if not problems and not bad_request and metres_per_unit(src) != 1.0:
            dst = _feet_working(src, positions_all)
            logger.info("crs %s is in %s: the site is worked in %s (metres)", src.to_string(),
                        src.axis_info[0].unit_name, dst and dst.to_string())
        elif problems or bad_request or (dst := _distorted_working(src, positions_all)) is None:
            dst = src
    else:
        dst = working_crs([(p[0], p[1]) for p in positions_all if looks_like_degrees([p])], None)
    problems.extend(bad_request)
    if problems and dst is not None and not placeable(positions_all, src, dst):
        dst = None  # 1e308, or a place off the Earth: no geometry is built of it (GEOS fails on NaN), the problems say why
    logger.debug("site %s: crs %s, working crs %s, %d positions", file, src.to_string(), dst and dst.to_string(), len(positions_all))
    return SiteCrs(src, dst, problems)


def placeable(positions: Sequence[Sequence[float]], src: CRS, dst: CRS | None) -> bool:
    """Whether every position, moved from ``src`` into ``dst``, is a finite point within
    :data:`MAX_COORDINATE` (geometry can be built of it)."""
    if not positions:
        return True
    xy = np.array([[float(p[0]), float(p[1])] for p in positions])
    to_dst = transformer(src, dst)
    if to_dst is not None:
        with np.errstate(all="ignore"):
            xy = np.column_stack(to_dst(xy[:, 0], xy[:, 1]))
    return bool(np.all(np.isfinite(xy)) and np.all(np.abs(xy) <= MAX_COORDINATE))


# ------------------------------------------------------------------ [latitude, longitude] hints

_CURRENCY_AREAS: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "CHF": ("Switzerland and Liechtenstein", (5.9, 45.8, 10.5, 47.9)),
    "JPY": ("Japan", (122.9, 24.0, 154.0, 45.6)),
    "AUD": ("Australia", (112.9, -43.7, 153.7, -10.0)),
    "NZD": ("New Zealand", (166.4, -47.3, 178.6, -34.4)),
    "CAD": ("Canada", (-141.0, 41.7, -52.6, 83.2)),
    "INR": ("India", (68.1, 6.7, 97.4, 35.7)),
    "CNY": ("China", (73.5, 18.1, 134.8, 53.6)),
    "KRW": ("South Korea", (124.6, 33.1, 131.9, 38.7)),
    "SEK": ("Sweden", (10.9, 55.3, 24.2, 69.1)),
    "NOK": ("Norway", (4.5, 57.9, 31.2, 71.2)),
    "DKK": ("Denmark", (8.0, 54.5, 15.2, 57.8)),
    "PLN": ("Poland", (14.1, 49.0, 24.2, 54.9)),
    "CZK": ("Czechia", (12.0, 48.5, 18.9, 51.1)),
    "HUF": ("Hungary", (16.1, 45.7, 22.9, 48.6)),
    "EUR": ("the euro area in Europe", (-10.0, 34.5, 34.7, 70.1)),
    "ZAR": ("South Africa", (16.4, -34.9, 32.9, -22.1)),
    "BRL": ("Brazil", (-74.0, -33.8, -34.7, 5.3)),
    "MXN": ("Mexico", (-118.4, 14.5, -86.7, 32.8)),
    "SGD": ("Singapore", (103.6, 1.1, 104.1, 1.5)),
    "HKD": ("Hong Kong", (113.8, 22.1, 114.5, 22.6)),
}
"""Where a scenario's currency is spent (a lon/lat box, west, south, east, north), for currencies of
one country or one compact area: a hint of where a site is. GBP is left out (it is the default
currency; Great Britain has its own [latitude, longitude] check), so are currencies spent far
and wide (USD). A site outside its currency's box is fine (a Swiss budget for a site abroad, the
euro in Réunion): only a site whose swapped reading lands inside it is suspicious."""

POLAR_LAT = 75.0
"""Latitude beyond which hardly any workplace stands: a site there whose [latitude, longitude]
reading is not is most likely given the wrong way round (Delhi or Bangalore as [lat, lon] read at
77 N). Svalbard's settlements (78 N) do stand there, so the rule is used only when the scenario's
currency says nothing of where the site is (:func:`swapped_lonlat_reason`)."""


def swapped_lonlat_reason(lonlat: Sequence[tuple[float, float]], currency: str | None = None) -> str | None:
    """Why a site given in lon/lat looks like [latitude, longitude] though both readings are
    valid places (every position within +-90 either way), or ``None``.

    The honest heuristic: a site cannot be told from its mirror by its positions alone (Zürich
    as [47.4, 8.5] reads as a place in Ethiopia), so only a hint can: the scenario's
    ``currency`` (:data:`_CURRENCY_AREAS`: the site is more than
    :data:`~optimiser.inputs.plausibility.AREA_TOLERANCE_DEG` outside where it is spent, its swapped
    reading inside), or, when the currency names no area (none, GBP, USD), a site beyond
    :data:`POLAR_LAT` whose swapped reading is not. A
    ``working_crs`` is a stronger hint, checked as an error by :func:`check_site_crs`.

    Args:
        lonlat: the site's positions as read, (longitude, latitude) in degrees.
        currency: the scenario's currency code, if known.
    """
    pts = [(float(x), float(y)) for x, y in lonlat if np.isfinite(x) and np.isfinite(y)]
    if not pts or not all(abs(x) <= 90 and abs(y) <= 90 for x, y in pts):
        return None
    lon = float(np.median([x for x, _ in pts]))
    lat = float(np.median([y for _, y in pts]))
    here, there = format_xy(lon, lat, degrees=True), format_xy(lat, lon, degrees=True)
    area = _CURRENCY_AREAS.get((currency or "").upper())
    if area is not None:
        name, box = area
        if degrees_outside(lon, lat, box) > AREA_TOLERANCE_DEG and degrees_outside(lat, lon, box) == 0.0:
            return (f"read as [longitude, latitude] the site is at lon/lat {here}, far from {name}, where its "
                    f"currency {currency} is spent; read as [latitude, longitude] it would be at {there}, inside")
        return None  # the currency's hint decides (a Longyearbyen site in kroner stands at 78 N)
    if all(abs(y) > POLAR_LAT for _, y in pts) and abs(lon) <= POLAR_LAT:
        return (f"read as [longitude, latitude] the site is at lon/lat {here}, beyond {POLAR_LAT:g} degrees of latitude "
                f"where hardly any workplace stands; read as [latitude, longitude] it would be at {there}")
    return None


_UTM_ZONE = re.compile(r"UTM zone (\d+)([NS])")


def neighbour_zone_reason(crs_text: str, xy: tuple[float, float], currency: str | None) -> str | None:
    """Why a site given in a UTM zone looks meant for the next zone, or ``None``.

    Coordinates of the neighbouring zone declared in this one read as a place 6 degrees east or
    west, inside the declared zone: no rule on the positions can tell. The scenario's
    ``currency`` can (:data:`_CURRENCY_AREAS`): the site more than
    :data:`~optimiser.inputs.plausibility.AREA_TOLERANCE_DEG` outside where it is spent, and read
    in a neighbouring zone inside (a Zürich site in francs given in EPSG:32633 instead of 32632).

    Args:
        crs_text: the CRS the coordinates are in (the site's ``crs``).
        xy: the middle of the site in that CRS.
        currency: the scenario's currency code.
    """
    area = _CURRENCY_AREAS.get((currency or "").upper())
    crs = parse_crs(crs_text)
    m = _UTM_ZONE.search(crs.name) if crs is not None and crs.is_projected else None
    if area is None or crs is None or m is None:
        return None
    name, box = area
    lon, lat = lonlat_transform(crs)(*xy)
    if not degrees_outside(lon, lat, box) > AREA_TOLERANCE_DEG:
        return None
    zone = int(m.group(1))
    for other in (zone - 1, zone + 1):
        code = _projected_by_name().get(crs.name.replace(m.group(0), f"UTM zone {other}{m.group(2)}"))
        if code is None:
            continue
        olon, olat = lonlat_transform(CRS.from_user_input(code))(*xy)
        if degrees_outside(olon, olat, box) == 0.0:
            return (f"in {crs_text} (UTM zone {zone}{m.group(2)}) the site is at lon/lat {format_xy(lon, lat, degrees=True)}, "
                    f"far from {name}, where its currency {currency} is spent; the same coordinates in {code} (UTM zone "
                    f"{other}{m.group(2)}) would be at {format_xy(olon, olat, degrees=True)}, inside: are they for that zone?")
    return None


def swapped_lonlat_warning(file: str, field: str, source_crs: str, crs: str, points: Sequence[tuple[float, float]],
                           currency: str | None = None) -> SiteWarning | None:
    """The ``lat_lon_swapped`` sanity warning (against ``field``, a feature to look at) for a
    site whose file is in lon/lat (``source_crs`` geographic) and whose ``points`` (in its
    working ``crs``) read as [latitude, longitude] by :func:`swapped_lonlat_reason`; ``None``
    otherwise."""
    src, dst = parse_crs(source_crs), parse_crs(crs)
    if src is None or dst is None or not src.is_geographic or not points:
        return None
    tr = transformer(dst, CRS.from_epsg(4326))
    xs, ys = zip(*points, strict=True)
    lons, lats = tr(np.asarray(xs), np.asarray(ys)) if tr is not None else (xs, ys)
    reason = swapped_lonlat_reason(list(zip(np.asarray(lons).tolist(), np.asarray(lats).tolist(), strict=True)), currency)
    if reason is None:
        return None
    return SiteWarning("lat_lon_swapped", file, field, reason,
                       "if the positions are [latitude, longitude], give them as [longitude, latitude] (x first), as "
                       "GeoJSON does; a working_crs for the site's area turns this into an error")


# ------------------------------------------------------------------ output: WGS84


@lru_cache(maxsize=16)
def _to_wgs84(crs: str) -> Transformer | None:
    """The cached transformer from ``crs`` to WGS84 (``None`` when ``crs`` is WGS84)."""
    src = CRS.from_user_input(crs)
    if src.equals(CRS.from_epsg(4326)):
        return None
    return Transformer.from_crs(src, CRS.from_epsg(4326), always_xy=True)


def reproject_to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """``geom`` from ``crs`` to WGS84 lon/lat (x = lon, y = lat), rounded to 7 decimals.

    Args:
        geom: a shapely geometry in ``crs``.
        crs: the CRS ``geom`` is in (e.g. a site's working CRS, ``"EPSG:27700"``).

    Returns:
        A new geometry in WGS84 lon/lat, coordinates rounded to :data:`COORD_DECIMALS`.
    """
    tr = _to_wgs84(crs)

    def fn(xy: np.ndarray) -> np.ndarray:
        if tr is not None:
            lon, lat = tr.transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([lon, lat])
        return np.round(xy, COORD_DECIMALS)

    return shapely.transform(geom, fn)


def rfc7946_oriented(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` with every polygon's exterior ring counter-clockwise and its holes clockwise, the
    right-hand rule of RFC 7946 (section 3.1.6); other geometries unchanged. Call it on lon/lat
    coordinates (after :func:`reproject_to_wgs84`): a projection may mirror a ring."""
    return shapely.orient_polygons(geom, exterior_cw=False)
