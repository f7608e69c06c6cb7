"""Reading a scenario file: shape (pydantic), the site it names, references into that site by section,
then the validated :class:`~optimiser.inputs.domain.Scenario`.

References are checked on the raw mapping, so every bad one is reported even when the shape
check failed elsewhere. Coordinates in a scenario are in its site file's CRS.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from pydantic import ValidationError as PydanticValidationError
from pyproj.exceptions import ProjError
from shapely.geometry import Point

from optimiser.errors import FileReadError, InputError, Problem, ValidationError
from optimiser.inputs import schema as S
from optimiser.inputs.crossing_rules import generated_id_pattern, scenario_rule_problems, type_abbr, type_problems
from optimiser.inputs.crs import degrees_in_metric_crs, iter_positions, looks_like_degrees, parse_crs
from optimiser.inputs.domain import (
    CountRange,
    Crossing,
    CrossingSpec,
    CrossingTypeSpec,
    DemandSpec,
    DirectnessTarget,
    FacilitySpec,
    ObjectiveWeights,
    Provenance,
    SanityChecks,
    Scenario,
    Site,
    SocialSpaceSpec,
    SolveOptions,
)
from optimiser.inputs.formats import checked_path, load_mapping, looks_like_url, not_a_file, site_file_in
from optimiser.inputs.futures import apply_firm_changes, check_futures
from optimiser.inputs.geometry import GeometryReader, crossing_gap, enters_area, measurable
from optimiser.inputs.gis_files import folder_of_layers
from optimiser.inputs.kinds import wrong_kind
from optimiser.inputs.locate import (
    default_scenario_path,
    display_path,
    resolve_input,
    resolve_site_ref,
    site_ids,
)
from optimiser.inputs.messages import format_xy, name_list, pydantic_problems, suggest, suggest_path, unknown_reference
from optimiser.inputs.money_fields import amount, money_problems
from optimiser.inputs.overrides import apply_overrides, check_key, money_twins
from optimiser.inputs.plausibility import (
    AREA_TOLERANCE_DEG,
    area_of_use_lonlat,
    degrees_outside,
    implausible_positions,
    lonlat_transform,
)
from optimiser.inputs.site import read_site
from optimiser.inputs.transit import objective_weights, transit_problems, transit_spec

logger = logging.getLogger(__name__)

def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# ------------------------------------------------------------------ the site


@dataclass(frozen=True)
class SiteRefs:
    """The names a scenario may refer to in its site: read from the validated site, or from
    the raw site file when it has problems (so the scenario's bad references are reported
    together with the site's problems, in one pass)."""

    firm_ids: list[str]
    sectors: list[str]
    barrier_ids: list[str]
    layers: list[str]
    crossing_ids: set[str]

    @classmethod
    def of_site(cls, site: Site) -> SiteRefs:
        """The names of a validated site."""
        return cls([f.id for f in site.firms], sorted({f.sector for f in site.firms}), [b.id for b in site.barriers],
                   list(site.layers), {c.id for c in site.crossings})

    @classmethod
    def of_mapping(cls, data: dict[str, Any]) -> SiteRefs:
        """The names in a raw site mapping (items without a text id are skipped)."""
        def ids(key: str) -> list[str]:
            return [x["id"] for x in _items(data.get(key)) if isinstance(x, dict) and isinstance(x.get("id"), str)]

        firms = [x for x in _items(data.get("firms")) if isinstance(x, dict)]
        barriers = [x for x in _items(data.get("barriers")) if isinstance(x, dict)]
        return cls(ids("firms"), sorted({x["sector"] for x in firms if isinstance(x.get("sector"), str)}), ids("barriers"),
                   sorted({x["layer"] for x in barriers if isinstance(x.get("layer"), str)}), set(ids("crossings")))


_SITES_READ: contextvars.ContextVar[dict[Path, tuple[Site | None, SiteRefs | None, list[Problem]]] | None] = \
    contextvars.ContextVar("siteopt_sites_read", default=None)
"""Sites already read while one scenario file is checked: its futures name the scenario's own
site (a future may not change it), which is read and validated once, not once per future."""


def _odd_site_path(site_ref: str, looked: list[Path], file: str) -> Problem | None:
    """The problem of a ``site`` path that is there but is no file to read (a URL, a FIFO or
    device, a link that loops or leads nowhere, an unreachable or too long path), or ``None``
    for a plain missing file (which gets a near name)."""
    if len(looked) != 1:
        return None
    p = looked[0]
    try:
        there = os.path.lexists(p)
    except (OSError, ValueError):
        there = True
    if not there and not looks_like_url(site_ref) and "\0" not in site_ref:
        return None
    why = not_a_file(Path(site_ref) if looks_like_url(site_ref) else p, file)
    if why is None or why.reason == "file not found":
        return None
    return Problem(file, "site", f"site {site_ref!r} {why.reason}", why.hint)


def _site_folder_problem(site_ref: str, folder: Path, file: str) -> Problem:
    """The problem of a ``site`` that names a folder: one of a site's layers as files of their
    own (``firms.shp``, ``parcels.shp`` ...) or an Esri File Geodatabase is said as such
    (:func:`~optimiser.inputs.gis_files.folder_of_layers`: a site is one file), a folder holding a
    site file is told that file's path (layer files beside it or not), any other the file to name inside it."""
    inside = site_file_in(folder)
    layers = folder_of_layers(folder, file) if inside is None else None  # sites/<id>/site.yaml beside an export of a layer
    if layers is not None:
        return Problem(file, "site", f"site {site_ref!r} {layers.reason}", layers.hint)
    return Problem(file, "site", f"site {site_ref!r} is a folder ({folder}), not a site file",
                   f"write site: {site_ref.rstrip('/')}/{inside.name}" if inside is not None
                   else "name the site file inside it, e.g. site: <folder>/site.yaml")


def _scenario_site(data: dict[str, Any], file: str, path: Path | None) -> tuple[Site | None, SiteRefs | None, list[Problem]]:
    """The site the scenario's ``site`` names, read and validated, and the names it defines;
    its problems are listed too (the names then come from the raw file, if it could be read)."""
    site_ref = data.get("site")
    if not isinstance(site_ref, str) or not site_ref:
        return None, None, []
    site_path, looked = resolve_site_ref(site_ref, path)
    beside = (path.parent if path is not None else Path.cwd()) / site_ref
    if site_path is None and len(looked) > 1 and beside.is_file():  # no site id, but a file beside (firms.csv): read,
        site_path = beside                                             # and what is wrong with it said
    if site_path is None:
        folder = next((p for p in looked if Path(p).is_dir()), None)
        if folder is None and len(looked) > 1 and beside.is_dir():  # no site id, but a folder beside the scenario
            folder = beside
        if folder is not None:
            return None, None, [_site_folder_problem(site_ref, Path(folder), file)]
        odd = _odd_site_path(site_ref, looked, file)
        if odd is not None:
            return None, None, [odd]
        where = "looked in: " + name_list([str(p) for p in looked], limit=4)
        if len(looked) == 1:  # a file path: the file beside it that it most likely means
            near_path = suggest_path(looked[0])
            near = None if near_path is None else site_ref[:len(site_ref) - len(Path(site_ref).name)] + near_path.name
        else:  # a site id: the known ids it most likely means
            ids = site_ids(path)
            near = suggest(site_ref, ids)
            if near is None and ids:
                where = f"known site ids: {name_list(ids)}; {where}"
        hint = f"did you mean {near!r}? {where}" if near else where
        if "\\" in site_ref and os.sep == "/":  # written on Windows: a backslash is part of a name here
            forward = site_ref.replace("\\", "/")
            hint = (f"write site: {forward} (forward slashes separate folders on every system; a backslash only on "
                    "Windows)" + ("" if resolve_site_ref(forward, path)[0] is not None else f"; {where}"))
        if site_ref.startswith("~"):  # a shell's home folder: nothing expands it in a file
            home = Path(site_ref).expanduser()
            hint = (f"write the path in full{f' (site: {home})' if home.is_file() else ''}, or relative to the "
                    f"scenario's folder: '~' is your home folder only in a shell; {where}")
        return None, None, [Problem(file, "site", f"site {site_ref!r} does not exist", hint)]
    cache = _SITES_READ.get()
    if cache is not None and site_path in cache:
        return cache[site_path]
    try:
        site = read_site(display_path(site_path))
        found: tuple[Site | None, SiteRefs | None, list[Problem]] = (site, SiteRefs.of_site(site), [])
        if cache is not None:
            cache[site_path] = found
        return found
    except InputError as exc:
        # one line per problem: a problem inside the site file is its own line (the site file and its
        # field: what validate prints for the site alone, so a site given before it is not repeated);
        # one of the whole file (unreadable, not a site) is the scenario's site field's, the file named
        shown = str(site_path)
        problems = [p if p.field else Problem(file, "site", f"its site file {shown!r}: {p.reason}", p.hint)
                    for p in exc.problems]
        raw, _ = load_mapping(site_path)
        return None, SiteRefs.of_mapping(raw) if raw is not None else None, problems


# ------------------------------------------------------------------ references into the site, by section


def _layer_problems(data: dict[str, Any], site: SiteRefs, file: str) -> list[Problem]:
    known = site.layers + site.barrier_ids
    layers = _mapping(data.get("layers"))
    return [unknown_reference(file, f"layers.{name}", "layer", str(name), known) for name in layers if name not in known]


def _pair_problems(demand: dict[str, Any], firm_ids: list[str], file: str) -> list[Problem]:
    problems = []
    seen: dict[frozenset[str], int] = {}
    for i, pr in enumerate(_items(demand.get("pairs"))):
        if not isinstance(pr, dict):
            continue
        if isinstance(pr.get("a"), str) and isinstance(pr.get("b"), str):
            key = frozenset((pr["a"], pr["b"]))
            if key in seen:
                problems.append(Problem(file, f"demand.pairs[{i}]",
                                        f"pair {pr['a']}-{pr['b']} is already given at demand.pairs[{seen[key]}]",
                                        "give each pair once (weights are symmetric); nothing is silently dropped"))
            else:
                seen[key] = i
        for k in ("a", "b"):
            if isinstance(pr.get(k), str) and pr[k] not in firm_ids:
                problems.append(unknown_reference(file, f"demand.pairs[{i}].{k}", "firm", pr[k], firm_ids))
        if pr.get("a") is not None and pr.get("a") == pr.get("b"):
            problems.append(Problem(file, f"demand.pairs[{i}]", f"pair joins firm {pr['a']!r} to itself",
                                    "name two different firms as a and b, or drop this pair"))
    return problems


def _demand_problems(data: dict[str, Any], site: SiteRefs, file: str) -> list[Problem]:
    demand = _mapping(data.get("demand"))
    problems = _pair_problems(demand, site.firm_ids, file)
    sectors = site.sectors
    table = _mapping(demand.get("sector_affinity"))
    for s1, row in table.items():
        if s1 not in sectors:
            problems.append(unknown_reference(file, f"demand.sector_affinity.{s1}", "sector", str(s1), sectors))
        for s2, value in _mapping(row).items():
            if s2 not in sectors:
                problems.append(unknown_reference(file, f"demand.sector_affinity.{s1}.{s2}", "sector", str(s2), sectors))
            back = _mapping(table.get(s2)).get(s1) if s2 != s1 else None
            if back is not None and back != value and str(s1) < str(s2):  # each conflicting pair once
                problems.append(Problem(file, f"demand.sector_affinity.{s2}.{s1}",
                                        f"the affinity of {s1!r} and {s2!r} is given twice and differs ({value} under {s1}, {back} "
                                        f"under {s2}); an affinity is the same both ways",
                                        f"keep one of demand.sector_affinity.{s1}.{s2} and demand.sector_affinity.{s2}.{s1}"))
    if demand.get("rule") == "explicit" and not demand.get("pairs"):
        problems.append(Problem(file, "demand.pairs", "rule 'explicit' needs at least one pair",
                                "list pairs, or use rule: employees_product"))
    return problems


def _directness_problems(data: dict[str, Any], refs: SiteRefs, site: Site | None, file: str) -> list[Problem]:
    problems = []
    firm_ids = refs.firm_ids
    for i, d in enumerate(_items(data.get("directness"))):
        if not isinstance(d, dict):
            continue
        for k in ("a", "b"):
            if isinstance(d.get(k), str) and d[k] not in firm_ids:
                problems.append(unknown_reference(file, f"directness[{i}].{k}", "firm", d[k], firm_ids))
        if d.get("a") is not None and d.get("a") == d.get("b"):
            problems.append(Problem(file, f"directness[{i}]", "a directness target needs two different firms",
                                    "name two different firms as a and b, or drop this target"))
        elif site is not None and d.get("a") in firm_ids and d.get("b") in firm_ids:
            fa, fb = site.firm(d["a"]), site.firm(d["b"])
            gap = min(p.distance(q) for p in fa.entrances for q in fb.entrances)
            if gap <= 0:
                problems.append(Problem(file, f"directness[{i}]",
                                        f"firms {fa.id!r} and {fb.id!r} share an entrance, so a detour ratio is undefined",
                                        "drop this target"))
    return problems


def _crossing_problems(data: dict[str, Any], site: SiteRefs, file: str) -> list[Problem]:
    problems = []
    barrier_ids = site.barrier_ids
    cr = _mapping(data.get("crossings"))
    listed: dict[str, int] = {}
    for i, b in enumerate(_items(cr.get("barriers"))):
        if isinstance(b, str) and b not in barrier_ids:
            problems.append(unknown_reference(file, f"crossings.barriers[{i}]", "barrier", b, barrier_ids))
        elif isinstance(b, str) and b in listed:
            problems.append(Problem(file, f"crossings.barriers[{i}]",
                                    f"barrier {b!r} is listed twice (also crossings.barriers[{listed[b]}])", "list each barrier once"))
        elif isinstance(b, str):
            listed[b] = i
    types = _mapping(cr.get("types"))
    generated_id = generated_id_pattern(str(t) for t in types)
    site_crossing_ids = site.crossing_ids
    offered = {type_abbr(str(t)) for t in types}  # only the scenario's types are generated,
    along = set(listed) if cr.get("barriers") is not None else barrier_ids  # along the barriers listed (or all),
    if cr.get("spacing_m") == 0:  # and none at all with spacing 0 (explicit candidates only)
        along = set()
    for cid in sorted(site_crossing_ids):
        if (m := generated_id.fullmatch(cid)) and m[1] in offered and cid.rsplit("-", 2)[0] in along:
            problems.append(Problem(file, "site", f"the site's existing crossing {cid!r} has an id of the form the candidates "
                                    "generated along a barrier get ('<barrier>-<fb|sig|up|zb|type>-NNN'), so a new crossing "
                                    "could get the same id", f"rename crossing {cid!r} in the site file, e.g. to 'x-{cid}'"))
    explicit_ids: dict[str, int] = {}
    for i, e in enumerate(_items(cr.get("explicit"))):
        if not isinstance(e, dict):
            continue
        if isinstance(e.get("id"), str):
            if e["id"] in explicit_ids:
                problems.append(Problem(file, f"crossings.explicit[{i}].id",
                                        f"id {e['id']!r} is used twice (also crossings.explicit[{explicit_ids[e['id']]}])",
                                        "give each candidate crossing its own id"))
            explicit_ids.setdefault(e["id"], i)
        if isinstance(e.get("barrier"), str) and e["barrier"] not in barrier_ids:
            problems.append(unknown_reference(file, f"crossings.explicit[{i}].barrier", "barrier", e["barrier"], barrier_ids))
        if isinstance(e.get("id"), str) and (generated_id.fullmatch(e["id"]) or e["id"] in site_crossing_ids):
            problems.append(Problem(file, f"crossings.explicit[{i}].id",
                                    f"id {e['id']!r} clashes with a site crossing or the generated ids '<barrier>-<fb|sig|up|zb|type>-NNN'",
                                    "choose another id, e.g. prefix it with 'x-'"))
        if isinstance(e.get("type"), str) and e["type"] not in types:
            problems.append(Problem(file, f"crossings.explicit[{i}].type", f"crossing type {e['type']!r} has no cost",
                                    f"add crossings.types.{e['type']} with cost and penalty_m"))
    return problems


def _facility_problems(data: dict[str, Any], file: str) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    for i, f in enumerate(_items(data.get("facilities"))):
        if isinstance(f, dict) and isinstance(f.get("type"), str):
            if f["type"] in first:
                problems.append(Problem(file, f"facilities[{i}].type",
                                        f"facility type {f['type']!r} given twice (also facilities[{first[f['type']]}])",
                                        "merge them into one entry with a count range"))
            else:
                first[f["type"]] = i
    return problems


def _reference_problems(data: dict[str, Any], refs: SiteRefs, site: Site | None, file: str) -> list[Problem]:
    """Every reference from the raw scenario into its site (firms, sectors, barriers, layers);
    ``site`` is ``None`` when the site has problems (checks needing its geometry are skipped)."""
    return (_layer_problems(data, refs, file) + _demand_problems(data, refs, file) + _directness_problems(data, refs, site, file)
            + _crossing_problems(data, refs, file) + _facility_problems(data, file)
            + (transit_problems(data, site, file) + scenario_rule_problems(data, site, file) if site is not None else []))


# ------------------------------------------------------------------ building the scenario, by section


def _count(c: int | S.CountIn) -> CountRange:
    return CountRange(c, c) if isinstance(c, int) else CountRange(c.min, c.max)


def _facilities(parsed: S.ScenarioFile, geo: GeometryReader) -> tuple[FacilitySpec, ...]:
    return tuple(
        FacilitySpec(f.type, _count(f.count), f.footprint_m2, f.min_spacing_m, amount(f), f.candidate_spacing_m,
                     f.access_weight, geo.points(f.existing))
        for f in parsed.facilities
    )


def _social_spaces(parsed: S.ScenarioFile, geo: GeometryReader) -> SocialSpaceSpec | None:
    s = parsed.social_spaces
    if s is None:
        return None
    return SocialSpaceSpec(_count(s.count), amount(s), s.footprint_m2, s.noise_buffer_m, s.coverage_radius_m,
                           s.coverage, s.coverage_weight, s.candidate_spacing_m, s.min_spacing_m,
                           s.building_clearance_m, geo.points(s.existing))


def _explicit_lines(parsed: S.ScenarioFile, site: Site, geo: GeometryReader,
                    problems: list[Problem]) -> list[tuple[S.ExplicitCrossingIn, shapely.LineString]]:
    """Each explicit candidate crossing with its line; one that does not cross its barrier, or
    enters an exclusion zone, is a problem (one naming a barrier the site lacks is skipped:
    :func:`_reference_problems` reports it)."""
    barriers = {b.id: b for b in site.barriers}
    out = []
    for i, e in enumerate(parsed.crossings.explicit):
        line = geo.line(e.geometry.model_dump(), f"crossings.explicit[{i}].geometry")
        if line is None or not measurable(line) or (bar := barriers.get(e.barrier)) is None:
            continue  # a line at 1e308: outside the CRS's area (_implausible says so), GEOS fails on it
        if not line.intersects(bar.band):
            problems.append(Problem(geo.file, f"crossings.explicit[{i}].geometry",
                                    f"candidate {e.id!r} does not cross barrier {e.barrier!r}",
                                    "draw it from one side of the barrier to the other"))
        elif (gap := crossing_gap(line, bar.centreline, bar.band)) is not None:
            problems.append(Problem(geo.file, f"crossings.explicit[{i}].geometry",
                                    f"candidate {e.id!r} does not cross barrier {e.barrier!r}: it {gap} ({bar.width_m:g} m wide)",
                                    "draw it from one side of the barrier to the other, each end outside its band"))
        for zone in site.exclusion_zones:
            if enters_area(line, zone.polygon):
                why = f" ({zone.reason})" if zone.reason else ""
                problems.append(Problem(geo.file, f"crossings.explicit[{i}].geometry",
                                        f"candidate {e.id!r} enters exclusion zone {zone.id!r}{why}, where nothing may be placed",
                                        "move the crossing clear of the zone, or change the site's exclusion_zones"))
        out.append((e, line))
    return out


def _crossing_spec(parsed: S.ScenarioFile, site: Site, geo: GeometryReader, problems: list[Problem]) -> CrossingSpec:
    """The crossing spec; an explicit candidate that does not cross its barrier, or enters an
    exclusion zone, is a problem."""
    c = parsed.crossings
    types = tuple(CrossingTypeSpec(t, amount(v), v.penalty_m, v.at_grade) for t, v in c.types.items())
    cost_of = {t.type: t for t in types}
    explicit = []
    for e, line in _explicit_lines(parsed, site, geo, problems):
        t = cost_of[e.type]
        explicit.append(Crossing(e.id, e.name or e.id, e.barrier, e.type, line, t.penalty_m, t.cost, False,
                                 Provenance(source=f"scenario {geo.file}")))
    barriers = tuple(c.barriers) if c.barriers is not None else None
    return CrossingSpec(types, c.spacing_m, barriers, tuple(explicit), c.max_route_crossings)


def _scenario_positions(parsed: S.ScenarioFile) -> list[tuple[str, list[list[float]]]]:
    """``(field, positions)`` of every position a scenario gives, in the site file's CRS."""
    def positions(*values: Any) -> list[list[float]]:
        raw = [v.model_dump() if hasattr(v, "model_dump") else v for v in values]
        return [list(p) for r in raw for p in iter_positions(r)]

    feats = [(f"facilities[{i}].existing[{j}]", positions(p)) for i, f in enumerate(parsed.facilities)
             for j, p in enumerate(f.existing)]
    if parsed.social_spaces is not None:
        feats += [(f"social_spaces.existing[{j}]", positions(p)) for j, p in enumerate(parsed.social_spaces.existing)]
    feats += [(f"crossings.explicit[{i}].geometry", positions(e.geometry)) for i, e in enumerate(parsed.crossings.explicit)]
    if parsed.transit is not None:
        feats += [(f"transit.no_platform[{i}]", positions(g)) for i, g in enumerate(parsed.transit.no_platform)]
    return feats


def _implausible(parsed: S.ScenarioFile, site: Site, file: str) -> list[Problem]:
    """Scenario positions (existing facilities and social spaces, explicit crossings, transit
    no-platform areas) outside the area of use of the site's CRS."""
    src = parse_crs(site.source_crs)
    if src is None:
        return []
    feats = _scenario_positions(parsed)
    problems: list[Problem] = []
    if src.is_geographic:
        metres = [(where, pos) for where, pos in feats if pos and not looks_like_degrees(pos)]
        problems = [_metres_for_degrees(file, where, pos, site) for where, pos in metres]
        feats = [f for f in feats if f not in metres]
    return problems + implausible_positions(file, feats, src, site.source_crs, check_span=False)


def _metres_for_degrees(file: str, where: str, pos: list[list[float]], site: Site) -> Problem:
    """A scenario position in metres (a projected CRS) where the site's crs is lon/lat: says so,
    and names the site's working CRS when the values read in it land in its area of use."""
    x, y = pos[0][0], pos[0][1]
    fits = ""
    work = parse_crs(site.crs)
    if work is not None and not work.is_geographic and site.crs != site.source_crs:
        area = area_of_use_lonlat(work)
        try:
            lon, lat = lonlat_transform(work)(x, y)
        except (ProjError, ValueError):  # a value pyproj cannot project fits nothing
            lon, lat = math.inf, math.inf
        if area is not None and degrees_outside(float(lon), float(lat), area) <= AREA_TOLERANCE_DEG:
            fits = f" (they fit the site's working_crs {site.crs}, at lon/lat {format_xy(lon, lat, degrees=True)})"
    return Problem(file, where, f"coordinates {format_xy(x, y)} look like metres in a projected CRS{fits}, but the site's "
                   f"crs {site.source_crs} is longitude/latitude degrees, and scenario positions are read in it",
                   "give [longitude, latitude] as the site's own coordinates are, or give the whole site in that "
                   f"projected CRS and declare it as the site's crs, e.g. crs: {site.crs if fits else 'EPSG:<code>'}")


def site_extent(site: Site) -> Any:
    """The bounding box (a shapely polygon, working CRS) of everything the site draws: parcels,
    firms, paths and barriers; ``None`` for a site that draws nothing."""
    geoms = ([p.polygon for p in site.parcels] + [f.location for f in site.firms] + [w.line for w in site.paths]
             + [b.centreline for b in site.barriers])
    if not geoms:
        return None
    box = shapely.envelope(shapely.GeometryCollection(geoms))
    return None if box.is_empty else box


UNREACHABLE_PENALTY_MIN_M = 10_000.0
"""The least default ``demand.unreachable_penalty_m`` (the first format's fixed default)."""


def default_unreachable_penalty_m(site: Site) -> float:
    """``demand.unreachable_penalty_m`` when a scenario gives none: twice the diagonal of the site's
    extent (a walk longer than that is a maze; the sanity check ``penalty_below_walks`` warns of
    one), at least :data:`UNREACHABLE_PENALTY_MIN_M`, rounded up to 100 m; so a pair with no route
    does not cost less than one with a route, on a 2 km park or a 10 km one (a fixed 10 km had
    charged an unreachable pair less than the 14-18 km walks of a 10 km site)."""
    box = site_extent(site)
    if box is None:
        return UNREACHABLE_PENALTY_MIN_M
    x0, y0, x1, y1 = box.bounds
    return max(UNREACHABLE_PENALTY_MIN_M, math.ceil(2.0 * math.hypot(x1 - x0, y1 - y0) / 100.0) * 100.0)


OFF_SITE_MIN_M = 1000.0
"""An existing facility or social space farther than this, or than the site is wide, from
everything drawn on the site is a problem (a mistyped or misprojected coordinate)."""


def _misplaced_existing(parsed: S.ScenarioFile, site: Site, facilities: list[tuple[Point, ...]],
                        social: tuple[Point, ...] | None, file: str, reported: set[str]) -> list[Problem]:
    """Existing facilities (``facilities``: each type's points) and social spaces given as lon/lat
    degrees in a metric CRS, far off the site, or inside an active barrier's band: the checks a
    site's own features get (each point by its index; a point in ``reported``, already outside
    the CRS's area of use, is skipped)."""
    src = parse_crs(site.source_crs)
    raw = [(f"facilities[{i}].existing", f.existing, points) for i, (f, points) in enumerate(zip(parsed.facilities, facilities))]
    if parsed.social_spaces is not None and social is not None:
        raw.append(("social_spaces.existing", parsed.social_spaces.existing, social))
    extent = site_extent(site)
    reach = OFF_SITE_MIN_M
    if extent is not None:
        x0, y0, x1, y1 = extent.bounds
        reach = max(reach, x1 - x0, y1 - y0)
    bands = [(b.id, b.band) for b in site.active_barriers(dict(parsed.layers))]
    problems = []
    for where, given, points in raw:
        for j, (pos, pt) in enumerate(zip(given, points)):
            field_path = f"{where}[{j}]"
            if field_path in reported:
                continue
            xy = [[float(v) for v in p[:2]] for p in iter_positions(pos.model_dump() if hasattr(pos, "model_dump") else pos)][:1]
            if xy and src is not None and not src.is_geographic and degrees_in_metric_crs(xy, src):
                problems.append(Problem(file, field_path, f"coordinates {xy[0]} look like longitude/latitude degrees but the "
                                        f"site's crs {site.source_crs} is in metres",
                                        "give coordinates in the site's crs, as its firms are"))
                continue
            if extent is not None and (d := extent.distance(pt)) > reach:
                problems.append(Problem(file, field_path, f"lies {d / 1000:,.1f} km from the site (whose features span "
                                        f"{reach / 1000:,.1f} km)", "check the coordinates (a mistyped or shifted value?)"))
                continue
            inside = next((bid for bid, band in bands if band.contains(pt)), None)
            if inside is not None:
                problems.append(Problem(file, field_path, f"stands inside barrier {inside!r} (its band)",
                                        "move it off the barrier, or check its coordinates"))
    return problems


def _build(parsed: S.ScenarioFile, site: Site, site_ref: str, file: str, path: Path | None) -> tuple[Scenario | None, list[Problem]]:
    """The validated scenario from its parsed file and site; geometry problems if any."""
    geo = GeometryReader(file, parse_crs(site.source_crs), parse_crs(site.crs))
    problems: list[Problem] = _implausible(parsed, site, file)
    facilities = _facilities(parsed, geo)
    social = _social_spaces(parsed, geo)
    problems.extend(_misplaced_existing(parsed, site, [f.existing for f in facilities], social.existing if social else None,
                                        file, {p.field for p in problems}))
    crossings = _crossing_spec(parsed, site, geo, problems)
    transit = transit_spec(parsed, geo)
    problems.extend(geo.problems)
    if problems:
        return None, problems
    d, o, sv = parsed.demand, parsed.objective, parsed.solver
    scenario = Scenario(
        id=parsed.id,
        name=parsed.name or parsed.id,
        site=site,
        site_ref=site_ref,
        budget=float(parsed.budget if parsed.budget is not None else parsed.budget_gbp or 0.0),
        facilities=facilities,
        social_spaces=social,
        crossings=crossings,
        demand=DemandSpec(d.rule, {k: dict(v) for k, v in d.sector_affinity.items()},
                          tuple((p.a, p.b, p.weight) for p in d.pairs),
                          d.unreachable_penalty_m if d.unreachable_penalty_m is not None else default_unreachable_penalty_m(site)),
        objective=objective_weights(ObjectiveWeights(o.firm_pairs, o.facility_access, o.social_access), transit),
        directness=tuple(DirectnessTarget(x.a, x.b, x.max_ratio) for x in parsed.directness),
        solver=SolveOptions(backend=sv.backend, time_limit_s=sv.time_limit_s, seed=sv.seed, workers=sv.workers,
                            length_scale_per_m=sv.length_scale_per_m, weight_levels=sv.weight_levels),
        layers=dict(parsed.layers),
        description=parsed.description,
        path=path,
        currency=parsed.currency,
        firms_added=len(changes.added) if (changes := parsed.firm_changes) is not None else 0,
        employees_changed=tuple(changes.employees) if changes is not None else (),
        checks=SanityChecks(max_connector_m=parsed.checks.max_connector_m),
        transit=transit,
    )
    return scenario, []


def _position_problems(parsed: S.ScenarioFile, site: Site, file: str, reported: set[str]) -> list[Problem]:
    """The problems of the scenario's positions that :func:`_build` finds (outside the site's
    CRS, existing facilities misplaced, explicit crossings not crossing or entering an exclusion
    zone), for a scenario with other
    problems, so that every problem of the file comes in one pass; those of a field in
    ``reported`` are left out."""
    geo = GeometryReader(file, parse_crs(site.source_crs), parse_crs(site.crs))
    problems = _implausible(parsed, site, file)
    social = geo.points(parsed.social_spaces.existing) if parsed.social_spaces is not None else None
    problems.extend(_misplaced_existing(parsed, site, [geo.points(f.existing) for f in parsed.facilities], social,
                                        file, {p.field for p in problems}))
    _explicit_lines(parsed, site, geo, problems)
    return [p for p in problems + geo.problems if p.field not in reported]


def check_scenario(data: dict[str, Any], file: str, path: Path | None) -> tuple[Scenario | None, list[Problem]]:
    """Check a scenario mapping (and the site it names) and build the scenario.

    Args:
        data: the scenario's mapping (:func:`optimiser.inputs.formats.load_mapping`).
        file: the file name problems are reported against.
        path: the scenario file, for resolving a relative site path (``None``: the working folder).

    Returns:
        ``(scenario, [])`` when valid, else ``(None, every problem found)``.
    """
    if _SITES_READ.get() is not None:  # a future of the scenario being checked
        return _check_scenario(data, file, path)
    token = _SITES_READ.set({})
    try:
        return _check_scenario(data, file, path)
    finally:
        _SITES_READ.reset(token)


def _check_scenario(data: dict[str, Any], file: str, path: Path | None) -> tuple[Scenario | None, list[Problem]]:
    other = wrong_kind(data, "scenario", file, "a scenario")
    if other is not None:
        return None, [other]
    problems: list[Problem] = []
    parsed: S.ScenarioFile | None = None
    try:
        parsed = S.ScenarioFile.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, S.ScenarioFile, data, file))
    problems.extend(money_problems(data, file) + type_problems(data, file))
    site, refs, more = _scenario_site(data, file, path)
    problems.extend(more)
    if site is not None:
        site, more = apply_firm_changes(site, data, file)
        problems.extend(more)
        refs = SiteRefs.of_site(site)
    if refs is not None:
        problems.extend(_reference_problems(data, refs, site, file))
    if problems and parsed is not None and site is not None:
        problems.extend(_position_problems(parsed, site, file, {p.field for p in problems}))
    if problems or parsed is None or site is None:
        # the futures' own problems too (each that is not the scenario's own), all at once
        return None, problems + (check_futures(data, file, path, check_scenario, problems)[1] if site is not None else [])
    scenario, problems = _build(parsed, site, str(data.get("site")), file, path)
    if scenario is not None and parsed.futures:
        futures, problems = check_futures(data, file, path, check_scenario)
        scenario = dataclasses.replace(scenario, futures=futures, robust=parsed.robust) if not problems else None
    if scenario is not None:
        logger.debug("scenario %s on site %s: %d facility types, %d explicit crossings", scenario.id, site.id,
                     len(scenario.facilities), len(scenario.crossings.explicit))
    return scenario, problems


# ------------------------------------------------------------------ public


def read_scenario(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Scenario:
    """Read and validate a scenario file (and the site it names).

    Args:
        path: the scenario file, or the name of an embedded scenario as ``siteopt run`` takes it
            (``"fremont/baseline"``, ``siteopt list``); ``None`` reads the embedded AMP-SBP baseline.
        overrides: keys replacing the file's values before validation, as batch sweeps and
            futures write them (:func:`optimiser.inputs.overrides.apply_overrides`): top-level
            (``budget=2e6``), nested with dots (``**{"solver.seed": 3}``), list items by index
            (``**{"facilities.0.candidate_spacing_m": 150}`` or ``"facilities[0]..."``).

    Returns:
        The validated :class:`~optimiser.inputs.domain.Scenario`.

    Raises:
        FileReadError: the scenario file cannot be read or parsed.
        ValidationError: every problem in the scenario and its site file, never a partial result.
    """
    given = checked_path(path, "read_scenario") if path is not None else None
    p = resolve_input(os.fspath(given)) if given is not None else default_scenario_path()  # as siteopt run does
    data, problems = load_mapping(p)
    if data is None:
        raise FileReadError(problems)
    if overrides:
        bad = [Problem(str(p), key, f"override: {why}") for key in overrides if (why := check_key(key)) is not None]
        bad += [Problem(str(p), b, f"override: {a} and {b} both set the same amount",
                        f"give only one of {a} and {b}") for a, b in money_twins(overrides)]
        if bad:
            raise ValidationError(bad)
        for key, value in overrides.items():  # one at a time, so a problem names its key
            try:
                data = apply_overrides(data, {key: value})
            except KeyError as exc:
                raise ValidationError([Problem(str(p), key, f"override: {exc.args[0]}")]) from None
    scenario, more = check_scenario(data, str(given if given is not None and given == p else p), p.resolve())
    problems.extend(more)
    if problems or scenario is None:
        raise ValidationError(problems)
    logger.debug("read scenario %s (site %s) from %s", scenario.id, scenario.site.id, p)
    return scenario


def scenario_from_mapping(data: dict[str, Any], *, base_path: str | os.PathLike[str], name: str = "<scenario>") -> Scenario:
    """Validate an in-memory scenario mapping.

    Args:
        data: the scenario as a mapping (as a scenario file would give).
        base_path: where relative site paths resolve from (as if the scenario were this file).
        name: the name problems are reported against.

    Returns:
        The validated :class:`~optimiser.inputs.domain.Scenario`.

    Raises:
        ValidationError: every problem found.
    """
    scenario, problems = check_scenario(data, name, Path(base_path).resolve())
    if problems or scenario is None:
        raise ValidationError(problems)
    return scenario
