"""Reading and writing GIS site files: a GeoPackage (one layer per feature kind and the ``site``
table), a Shapefile or FlatGeobuf (one layer), with pyogrio.

:func:`read_gis_site` turns a file into a site mapping (:mod:`optimiser.inputs.gis` does the
layers' fields); :func:`write_gpkg_site` writes one, whole or not at all. A GeoPackage may hold
layers that are no part of a site (a QGIS project's base map, notes, a copy of a layer): they are
left unread and named in a warning, unless one is a near-miss of a site layer the file lacks
(``frims`` without ``firms``), which is a problem naming the layer meant.
"""

from __future__ import annotations

import difflib
import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimiser.errors import Problem
from optimiser.inputs.gis import (
    _BY_NAME,
    _IGNORED_TABLES,
    SITE_LAYERS,
    SITE_SUFFIXES,
    SITE_TABLE,
    SiteMapping,
    _meta_from_table,
    _norm,
    frames_to_site,
    layer_for,
    site_to_frames,
)
from optimiser.inputs.safefile import write_renamed
from optimiser.lazy import lazy_module

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import pyogrio
else:
    gpd = lazy_module("geopandas")
    pd = lazy_module("pandas")
    pyogrio = lazy_module("pyogrio")

logger = logging.getLogger(__name__)

__all__ = ["read_gis_site", "write_gpkg_site", "other_gis_file", "folder_of_layers", "layers_beside", "NEAR_MISS_CUTOFF"]

NEAR_MISS_CUTOFF = 0.75
"""How alike (difflib's ratio) an extra layer's name must be to a site layer's to be taken for a
misspelling of it (``frims``, ``parcel_s``, ``Barriers``), as the did-you-mean hints elsewhere."""


def _site_layer_names() -> list[str]:
    return [s.name for s in SITE_LAYERS] + [SITE_TABLE]


def _near_miss(name: str) -> str | None:
    """The site layer ``name`` looks meant as, compared in lower case: one it is a misspelling of
    (``frims``), or the longest one it contains (``footpaths``, ``firms_2024``; not the ``site``
    table, a word in many names), or ``None``."""
    known = _site_layer_names()
    lower = {k.lower(): k for k in known}
    near = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=NEAR_MISS_CUTOFF)
    if near:
        return lower[near[0]]
    inside = [k for k in known if k != SITE_TABLE and k in name.lower()]
    return max(inside, key=len) if inside else None


def _layers_not_read(file: str, names: list[str]) -> tuple[set[str], set[str], list[Problem]]:
    """The layers of a GeoPackage that are not read: those to name in a warning (or as a
    near-miss), those a problem names already, and a problem for each feature kind that several
    layers could be. A layer is read when its name is a site layer's (``firms``, ``Firms``,
    ``firm``) or ends with one (``site — firms``, as QGIS names exported layers); of several for
    one kind, the one named exactly is read and the others (``old_firms``, a copy kept in the
    file) are not; with none or several named exactly, the file does not say which to read."""
    skip = {n for n in names if n in _IGNORED_TABLES or (n != SITE_TABLE and layer_for(n) is None)}
    by_kind: dict[str, list[str]] = {}
    for n in names:
        if n not in skip and n != SITE_TABLE:
            by_kind.setdefault(layer_for(n).name, []).append(n)  # type: ignore[union-attr]
    problems: list[Problem] = []
    reported: set[str] = set()
    for kind, found in by_kind.items():
        if len(found) < 2:
            continue
        exact = [n for n in found if _norm(n) in _BY_NAME]
        if len(exact) == 1:
            skip.update(n for n in found if n != exact[0])
        else:
            problems.append(Problem(file, f"layer {found[0]}", f"layers {', '.join(repr(n) for n in found)} could each be "
                                    f"the site's {kind!r} layer; they are not merged",
                                    f"keep one and rename or remove the others (or name the one to read {kind!r})"))
            reported.update(found)
    return skip, reported, problems


_KIND_OF_GEOMETRY = {"Point": ("point", "firms", "firms"), "Polygon": ("polygon", "parcels", "parcels"),
                     "LineString": ("line", "paths", "paths or barriers")}
"""The site layer a layer of each geometry type most likely is: (features, layer to name, what to say)."""


def _empty_site_layer(file: str, name: str, geometry: str | None) -> Problem | None:
    """For a site with no firms and no parcels (so empty), a layer of another name holding
    geometry (``Firmen``, ``Flurstücke``: the layers named in the user's language): what it
    most likely is, and to rename it; ``None`` for a table without geometry."""
    base = (geometry or "").removeprefix("Multi").removesuffix(" Z").removesuffix(" M").removesuffix(" ZM")
    if base not in _KIND_OF_GEOMETRY:
        return None
    shapes, layer, what = _KIND_OF_GEOMETRY[base]
    return Problem(file, f"layer {name}", f"is not a site layer, so its {shapes} features are not read, and the "
                   "file has no firms or parcels: the site is empty",
                   f"if they are the site's {what}, rename layer {name!r} to {layer!r} in QGIS (Layer Properties > "
                   f"Source); a site's layers are {', '.join(_site_layer_names())}")


def _extra_layers(file: str, extra: Mapping[str, str | None], frames: Mapping[str, pd.DataFrame],
                  has_site_table: bool) -> list[Problem]:
    """What to say about a GeoPackage's layers that are no site layer (``extra``: name and
    geometry type): a problem for a near-miss of a site layer the file does not have (or has
    empty: its features would be lost), one for each layer with geometry when the site has no
    firms and no parcels (it is empty: they are its layers under other names), and one warning
    naming the others, which are ignored."""
    problems: list[Problem] = []
    ignored: list[str] = []
    empty = not any(len(frames[k]) for k in ("firms", "parcels") if k in frames)
    for name, geometry in extra.items():
        meant = _near_miss(name)
        if meant is None and empty and (unread := _empty_site_layer(file, name, geometry)) is not None:
            problems.append(unread)
            continue
        if meant is None:
            ignored.append(repr(name))
            continue
        present = has_site_table if meant == SITE_TABLE else (meant in frames and len(frames[meant]) > 0)
        if not present:
            problems.append(Problem(file, f"layer {name}", f"is not a site layer, and the file has no {meant!r} layer"
                                    + ("" if meant not in frames else " with features")
                                    + f": did you mean {meant!r}? (its features would otherwise be lost)",
                                    f"rename layer {name!r} to {meant!r} in QGIS (Layer Properties > Source)"))
        else:
            ignored.append(f"{name!r} (like {meant!r}, which is read)")
    if ignored:
        logger.warning("%s: %d layer(s) not read, not site layers or copies of one: %s (a site's layers are %s; leave "
                       "the others out of the GeoPackage to silence this)", file, len(ignored), ", ".join(ignored),
                       ", ".join(_site_layer_names()))
    return problems


def _unknown_layer(file: str, name: str) -> Problem:
    """A ``layer`` value of a merged layer that names no site layer (its features cannot be placed)."""
    known = _site_layer_names()
    near = difflib.get_close_matches(name, known, n=1)
    return Problem(file, f"layer {name}", f"unknown layer; a site's layers are {', '.join(known)}",
                   f"did you mean {near[0]!r}?" if near else "rename it, or remove it from the file")


def _split_by_layer_field(frame: pd.DataFrame, file: str, stem: str) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """One file holding several kinds (a QGIS merge: a ``layer`` field) or one (named by the file)."""
    if "layer" in frame.columns:
        out: dict[str, pd.DataFrame] = {}
        problems = []
        for value, part in frame.groupby(frame["layer"].fillna(""), sort=False):
            spec = layer_for(str(value))
            if spec is None:
                problems.append(_unknown_layer(file, str(value) or "(empty layer field)"))
                continue
            out.setdefault(str(value), part.drop(columns=["layer"]))
        return out, problems
    if layer_for(stem) is not None:
        return {stem: frame}, []
    return {}, [Problem(file, "", "cannot tell which kind of site feature this file holds",
                        "name the file after its layer (firms.shp, parcels.fgb...) or add a 'layer' field")]


_FORMAT_NAMES = {".gpkg": "a GeoPackage", ".shp": "a Shapefile", ".fgb": "a FlatGeobuf file"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_GIS_FIX = ("save the layers from QGIS again with Export > Save Features As...; siteopt convert SITE.yaml SITE.gpkg "
            "writes a GeoPackage from a site file")
_GDAL_ADVICE = re.compile(r"[.;\s]*It might help to specify the correct driver.*$", re.S)
_M_DROPPED = r"Measured \(M\) geometry types are not supported"
"""pyogrio's warning for a layer with M values (GPS tracks, linear referencing): they are dropped
as Z values are, as the README says, not a Python warning on the user's screen."""


_NAN_VERTEX = r"invalid value encountered in from_wkb"
"""shapely's warning for a vertex whose coordinates are NaN: the geometry check names the feature
and vertex, so it is no Python warning on the user's screen."""


def _unreadable(path: Path, file: str, exc: Exception) -> Problem:
    """Why GDAL cannot open ``path``, in the project's words (not GDAL's advice to prefix a driver)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as err:
        return Problem(file, "", f"cannot be read: {err.strerror or err}", "check the file's permissions")
    if not head:
        return Problem(file, "", "the file is empty", _GIS_FIX)
    what = _FORMAT_NAMES.get(path.suffix.lower(), "a GIS file")
    if path.suffix.lower() == ".gpkg" and head != _SQLITE_MAGIC:
        return Problem(file, "", f"not {what}: it is not an SQLite database (a GeoPackage starts with "
                       "'SQLite format 3'); was another file renamed to .gpkg?", _GIS_FIX)
    reason = _GDAL_ADVICE.sub("", str(exc)).strip().replace(f"'{path}' ", "").replace(f"'{file}' ", "")
    if reason.startswith("not recognized as being in a supported file format"):
        reason = "GDAL does not recognise its contents"
    elif "malformed" in reason:
        reason = "its SQLite database is damaged (cut short or partly overwritten?)"
    return Problem(file, "", f"not {what}: {reason}", _GIS_FIX)


def _merged_layer(path: Path, names: list[str], skip: set[str]) -> str | None:
    """The one layer of a GeoPackage saved from QGIS's *Merge Vector Layers* (its ``layer`` field
    names each feature's site layer) when the file has no site layer: read as a merged GeoJSON is."""
    others = [n for n in names if n in skip and n not in _IGNORED_TABLES]
    if len(others) != 1 or any(n not in skip and n != SITE_TABLE for n in names):
        return None
    try:
        fields = pyogrio.read_info(path, layer=others[0])["fields"]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None
    return others[0] if "layer" in [str(f) for f in fields] else None


_DBF_HEADER = 32
"""The fixed part of a DBF header; byte 29 is its language driver id (LDID: 0, none declared)."""
_LDID_ANSI = 0x57
"""The LDID ArcGIS writes, "ANSI" (the Windows code page), which GDAL reads as ISO-8859-1: it
declares no more than 0 does (a file's text may be Windows-1252 or UTF-8)."""


def _beside(path: Path, *suffixes: str) -> Path | None:
    """The first of ``path`` with ``suffixes`` that is a file (a Shapefile's parts, in the cases
    QGIS, ArcGIS and old DOS tools write them), or ``None``."""
    return next((c for c in (path.with_suffix(s) for s in suffixes) if c.is_file()), None)


def _shapefile_encoding(path: Path) -> dict[str, str]:
    """The text encoding of a Shapefile's attributes when neither a ``.cpg`` file nor the DBF's
    language driver id declares it (an LDID of 0, or ArcGIS's "ANSI", :data:`_LDID_ANSI`), which
    GDAL then reads as ISO-8859-1: the ``.cpg`` lost on the
    way (only ``.shp``, ``.shx``, ``.dbf``, ``.prj`` sent) of a UTF-8 file QGIS wrote would turn
    ``Café`` into ``CafÃ©``. Text that is valid UTF-8 with non-ASCII letters is UTF-8 (Latin-1 text
    almost never is); text with bytes 0x80-0x9F (control characters in ISO-8859-1: ``€``, ``’``,
    ``–`` in Windows-1252) is Windows-1252, as ArcGIS and Excel write on Windows. ``{}``: GDAL's
    own choice (declared, or plain ASCII)."""
    if _beside(path, ".cpg", ".CPG", ".Cpg") is not None:
        return {}
    dbf = _beside(path, ".dbf", ".DBF", ".Dbf")
    try:
        raw = dbf.read_bytes() if dbf is not None else b""
    except OSError:
        return {}
    if len(raw) < _DBF_HEADER or raw[29] not in (0, _LDID_ANSI):
        return {}
    records = raw[int.from_bytes(raw[8:10], "little"):]
    if records.isascii():
        return {}
    try:
        records.decode("utf-8")
    except UnicodeDecodeError:
        return {"encoding": "CP1252"} if any(0x80 <= b <= 0x9F for b in records) else {}
    return {"encoding": "UTF-8"}


_SHAPEFILE_PARTS = (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".qmd")
"""The files a Shapefile keeps beside its ``.shp`` (attributes, index, CRS, encoding, QGIS's metadata)."""
_ZIP_MAGIC = b"PK\x03\x04"
_OFFICE_SUFFIXES = (".xlsx", ".xlsm", ".docx", ".pptx", ".ods", ".odt", ".odp")
"""Office documents (ZIP archives inside): named as an unsupported file type, not told to be unzipped."""


def _zip_names(path: Path) -> list[str] | None:
    """The site files a ZIP archive holds (``None``: not a ZIP archive)."""
    import zipfile

    try:
        with path.open("rb") as fh:
            if fh.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                return None
        with zipfile.ZipFile(path) as zf:
            return [n for n in zf.namelist() if n.lower().endswith(SITE_SUFFIXES) and not n.startswith("__MACOSX")]
    except (OSError, zipfile.BadZipFile):
        return []


def other_gis_file(path: Path, file: str) -> Problem | None:
    """The problem of a file given that is part of a GIS site but not one siteopt reads: a
    Shapefile's ``.dbf``, ``.shx``, ``.prj``... (the ``.shp`` is read, with them) or a ``.dbf``
    table alone, a QGIS project (``.qgz``, ``.qgs``), Google Earth's KML (``.kml``, ``.kmz``), an office
    document (``.xlsx``: a ZIP archive, but not one to unzip) or a ZIP archive (a zipped Shapefile, as
    QGIS users send them); ``None`` for any other file."""
    try:
        if not path.is_file():
            return None
    except OSError:  # a name too long for the file system ...: said where the file is read
        return None
    suffix = path.suffix.lower()
    if suffix in _SHAPEFILE_PARTS:
        shp = _beside(path, ".shp", ".SHP")
        if shp is None and suffix == ".dbf":  # QGIS saves a table without geometry (crossing_rules) as a .dbf alone
            return Problem(file, "", "is a dBASE table (a .dbf without a .shp), which siteopt does not read",
                           "give a table such as crossing_rules in the site's sidecar (<name>.site.yaml) or as a table "
                           "of the site's GeoPackage")
        return Problem(file, "", f"is the {suffix} part of a Shapefile, not the Shapefile itself",
                       f"give {str(shp)!r}, which is read with its .dbf, .shx, .prj and .cpg" if shp else
                       "give the Shapefile's .shp (kept in the same folder as its .dbf, .shx, .prj and .cpg)")
    if suffix in (".qgz", ".qgs"):
        return Problem(file, "", "is a QGIS project, which names its layers' files but does not hold their features",
                       "give the GeoPackage the site's layers are in (QGIS: Layer Properties > Source shows each layer's "
                       "file; Processing Toolbox > Database > Package layers puts them in one)")
    if suffix in (".kml", ".kmz"):
        return Problem(file, "", "is a Google Earth file (KML), which siteopt does not read",
                       "open it in QGIS and save its layers into one GeoPackage, each under its site layer name "
                       "(Processing Toolbox > Database > Package layers)")
    if suffix in _OFFICE_SUFFIXES:  # a ZIP archive too, but not one to unzip
        return Problem(file, "", f"unsupported file type {suffix!r}: an office document (a spreadsheet, text or slides), "
                       "which siteopt does not read",
                       "use .yaml, .yml, .json, .toml or (sites) .geojson, .gpkg, .shp, .fgb (a spreadsheet of firms: in "
                       "QGIS, Processing Toolbox > Create points layer from table, saved as layer firms of the site's "
                       "GeoPackage)")
    inside = _zip_names(path)
    if inside is None:
        return None
    shown = ", ".join(repr(n) for n in inside[:5]) + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
    return Problem(file, "", "is a ZIP archive: siteopt does not read files inside archives",
                   f"unzip it and give the site file it holds ({shown})" if inside else
                   "unzip it and give the site file it holds (.gpkg, .shp with its .dbf, .shx and .prj, .geojson, .yaml ...)")


_PACKAGE_HINT = ("put the layers in one GeoPackage, each under its layer name (QGIS: Processing Toolbox > Database > "
                 "Package layers), and give that")


def _layer_files(folder: Path, but: Path | None = None) -> list[str]:
    """The Shapefiles, FlatGeobuf, GeoJSON and GeoPackage files in ``folder`` named after a site
    layer (``firms.shp``, ``parcels.fgb``, ``paths.geojson``, ``barriers.gpkg``), ``but`` aside."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [c.name for c in entries if c.suffix.lower() in (".shp", ".fgb", ".geojson", ".gpkg") and c != but
            and layer_for(c.stem) is not None and c.is_file()]


def folder_of_layers(folder: Path, file: str) -> Problem | None:
    """The problem of a folder given as the site when it holds a site's layers as files of their
    own (:func:`_layer_files`), or is an Esri File Geodatabase (``None``: neither)."""
    if folder.suffix.lower() == ".gdb":  # a folder on disk, one "file" in ArcGIS
        return Problem(file, "", "is an Esri File Geodatabase (a .gdb folder), which siteopt does not read",
                       "export its feature classes to one GeoPackage, each under its site layer name (ArcGIS Pro: Export "
                       "Features to a .gpkg; QGIS: open the .gdb and Processing Toolbox > Database > Package layers), "
                       "and give that")
    found = _layer_files(folder)
    if not found:
        return None
    return Problem(file, "", f"is a folder, not a file: its {', '.join(found)} are a site's layers, but a site is one "
                   "file (each of these holds one layer)", _PACKAGE_HINT)


def layers_beside(path: Path, file: str, kind: str) -> Problem | None:
    """A file read as one layer (``kind``, named by the file: a Shapefile, FlatGeobuf or GeoJSON
    file of one layer, a GeoPackage saved for one layer) with files of other site layers beside
    it (``parcels.shp`` by ``firms.shp``): those are not read, and their features would be lost."""
    others = [n for n in _layer_files(path.parent, but=path) if layer_for(Path(n).stem).name != kind]  # type: ignore[union-attr]
    if not others:
        return None
    return Problem(file, "", f"holds one layer, {kind}; the other site layers beside it ({', '.join(others)}) are not read: "
                   "a site is one file (their features would be lost)", _PACKAGE_HINT)


_SHP_MAGIC = (9994).to_bytes(4, "big")
"""The file code a Shapefile's ``.shp`` (and ``.shx``) starts with."""


def _shapefile_part_missing(path: Path, file: str) -> Problem | None:
    """A Shapefile without its ``.dbf`` (the attribute table: every feature would lack its id and
    fields) or its ``.shx`` (the index GDAL needs to read the shapes): the file left behind when
    the others were copied or sent. ``None`` too for a file that is no Shapefile (said when read)."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != _SHP_MAGIC:
                return None
    except OSError:
        return None
    for suffix, what in ((".shx", "index"), (".dbf", "attribute table")):
        if _beside(path, suffix, suffix.upper()) is None:
            return Problem(file, "", f"its {what} {path.with_suffix(suffix).name} is missing: a Shapefile is its .shp, "
                           ".shx, .dbf and .prj (and .cpg) together",
                           f"copy {path.with_suffix(suffix).name} beside it from where the Shapefile was saved, or save "
                           "the layer again (QGIS: Export > Save Features As..., a GeoPackage keeps it in one file)")
    return None


def read_gis_site(path: Path, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A GeoPackage, Shapefile or FlatGeobuf site as a site mapping (not yet validated).

    A GeoPackage holds one layer per kind and the ``site`` table; a single-layer file holds one
    kind (named by the file) or several told apart by a ``layer`` field. The site's own fields
    missing from the file come from a sidecar or defaults (:func:`optimiser.inputs.formats.load_mapping`).
    """
    if path.suffix.lower() == ".shp" and (lost := _shapefile_part_missing(path, file)) is not None:
        return None, [lost]
    try:
        with warnings.catch_warnings():  # GDAL's "bad application_id" on a plain SQLite file: said below
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", _M_DROPPED, UserWarning)
            listed = pyogrio.list_layers(path)
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        return None, [_unreadable(path, file, exc)]
    frames: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] = {}
    extra: dict[str, str | None] = {}
    gpkg = path.suffix.lower() == ".gpkg"
    encoding = _shapefile_encoding(path) if path.suffix.lower() == ".shp" else {}
    skip, reported, problems = _layers_not_read(file, [str(n) for n, _ in listed]) if gpkg else (set(), set(), [])
    merged = _merged_layer(path, [str(n) for n, _ in listed], skip | reported) if gpkg else None
    for name, geom_type in listed:
        name = str(name)
        if name in reported:
            continue
        if name in skip and name != merged:
            if name not in _IGNORED_TABLES:
                extra[name] = geom_type  # not read: a QGIS user's notes, photos, base layers, copies ...
            continue
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", _M_DROPPED, UserWarning)
                warnings.filterwarnings("ignore", _NAN_VERTEX, RuntimeWarning)
                frame = pyogrio.read_dataframe(path, layer=name, fid_as_index=True, read_geometry=geom_type is not None,
                                               **encoding)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
            problems.append(Problem(file, f"layer {name}", f"cannot be read: {exc}"))
            continue
        if not gpkg or name == merged:  # one layer, named after the file, or a merge
            parts, more = _split_by_layer_field(frame, file, path.stem)
            frames.update(parts)
            problems.extend(more)
        elif name == SITE_TABLE:
            meta, more = _meta_from_table(frame, file)
            problems.extend(more)
        else:
            frames[name] = frame
    problems.extend(_extra_layers(file, extra, frames, bool(meta)))
    spec = layer_for(path.stem)  # firms.shp by parcels.shp, firms.gpkg by parcels.gpkg: each layer saved on its own
    kinds = {s.name for s in map(layer_for, frames) if s is not None}
    if spec is not None and kinds <= {spec.name} and (beside := layers_beside(path, file, spec.name)):
        # one site saved as a file per layer: what this layer alone lacks (an empty site, the firms its
        # entrances name, a scenario's barrier) follows from that, and was told as more problems
        return None, problems + [beside]
    data, more = frames_to_site(frames, meta, file)
    logger.debug("GIS site %s: layers %s, %d problems", file, sorted(frames), len(problems) + len(more))
    return SiteMapping(data, {k: f"layer {SITE_TABLE}: {k}" for k in meta}), problems + more


def write_gpkg_site(data: Mapping[str, Any], path: Path) -> Path:
    """Write a site mapping as a GeoPackage: every layer (empty ones too), the ``site`` table and
    QGIS's ``layer_styles`` (each layer opens in QGIS styled as the plan draws it).

    The layers go into a hidden file beside ``path``, moved into place when whole: a failure
    leaves ``path`` as it was (an older file is replaced only by a complete one)."""
    from optimiser.present.gpkg import STYLES_TABLE, styles_frame

    frames = site_to_frames(data)
    styles = styles_frame(frames)

    def write(tmp: Path) -> None:  # GDAL creates the GeoPackage itself
        for name, frame in frames.items():
            spec = _BY_NAME.get(name)
            geom_type = spec.geom_type if spec is not None else None
            if isinstance(frame, gpd.GeoDataFrame):
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", geometry_type=geom_type)
            else:
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        if styles is not None:
            pyogrio.write_dataframe(styles, tmp, layer=STYLES_TABLE, driver="GPKG", layer_options={"FID": "id"})

    write_renamed(path, write, ".gpkg")
    logger.debug("wrote GeoPackage site %s", path)
    return path
