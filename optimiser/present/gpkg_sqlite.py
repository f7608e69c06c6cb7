"""A GeoPackage written with :mod:`sqlite3` alone: the run's ``layout.gpkg`` without loading
geopandas, pandas or GDAL (about 1 s of CPU less per run on AMP-SBP).

What is written is what the OGC GeoPackage 1.4 standard requires of a vector GeoPackage
(``application_id`` 'GPKG', ``gpkg_spatial_ref_sys`` with its three required rows and the
layers' CRS, ``gpkg_contents``, ``gpkg_geometry_columns``), one feature table per layer
(``fid`` primary key, ``geom`` as GeoPackage binary geometry: the standard header, an envelope
for all but points, then little-endian WKB) and the ``layer_styles`` table QGIS reads styles
from (an attributes table). Columns are typed as GDAL types the same values (text, integer,
real, boolean; a date-time as ISO 8601 text), so GDAL, pyogrio and QGIS read the same layers,
features and attributes as from a file GDAL wrote. There is no spatial index (an optional
extension; QGIS offers to build one).
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import shapely
from pyproj import CRS
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon
from shapely.geometry.base import BaseGeometry

__all__ = ["write_layers_sqlite", "column_type", "Row"]

Row = tuple[BaseGeometry, Mapping[str, Any]]
"""A feature: its geometry and its attributes (already renamed and made scalar)."""

_APPLICATION_ID = 0x47504B47  # 'GPKG'
_USER_VERSION = 10400  # GeoPackage 1.4

_CORE_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""

_STYLE_COLUMNS = (("f_table_catalog", "TEXT"), ("f_table_schema", "TEXT"), ("f_table_name", "TEXT"),
                  ("f_geometry_column", "TEXT"), ("styleName", "TEXT"), ("styleQML", "TEXT"), ("styleSLD", "TEXT"),
                  ("useAsDefault", "BOOLEAN"), ("description", "TEXT"), ("owner", "TEXT"), ("ui", "TEXT"),
                  ("update_time", "DATETIME"))
"""QGIS's ``layer_styles`` columns and their types."""

_METADATA_TABLES = """
CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL, mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');
CREATE TABLE gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, column_name TEXT,
  row_id_value INTEGER, timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL, md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
"""
"""The GeoPackage metadata extension (GDAL's dataset and layer metadata live there)."""
_METADATA_EXTENSION = "http://www.geopackage.org/spec120/#extension_metadata"

_MULTI = {"Point": MultiPoint, "LineString": MultiLineString, "Polygon": MultiPolygon}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _iso(when: datetime) -> str:
    """A time as GeoPackage's ``DATETIME`` text (UTC, milliseconds)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def column_type(values: Sequence[Any]) -> str:
    """The SQL type GDAL gives a column of these values (as
    :func:`optimiser.inputs.gis.typed_column` types them): BOOLEAN, INTEGER, REAL or TEXT."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "REAL"
    return "TEXT"


def _cell(value: Any, sql_type: str) -> Any:
    """A value as stored: booleans as 0/1, reals as floats (NaN as NULL), text as text."""
    if value is None:
        return None
    if sql_type == "BOOLEAN":
        return int(bool(value))
    if sql_type == "INTEGER":
        return int(value)
    if sql_type == "REAL":
        x = float(value)
        return None if math.isnan(x) else x
    return str(value)


def _geometry_type(geoms: Sequence[BaseGeometry]) -> tuple[str, bool]:
    """A layer's geometry type name and whether its single parts are promoted to multi (a
    layer mixing Polygon and MultiPolygon is MULTIPOLYGON; unrelated types, GEOMETRY)."""
    types = {g.geom_type for g in geoms}
    if len(types) == 1:
        return next(iter(types)).upper(), False
    if len({t.removeprefix("Multi") for t in types}) == 1:
        return "MULTI" + next(iter(types)).removeprefix("Multi").upper(), True
    return "GEOMETRY", False


def _gpkg_geometry(geom: BaseGeometry, srs_id: int, promote: bool) -> bytes:
    """GeoPackage binary geometry: 'GP', version 0, flags (little endian; an XY envelope but
    for points), the SRS id, the envelope (minx, maxx, miny, maxy), then WKB."""
    if promote and geom.geom_type in _MULTI:
        geom = _MULTI[geom.geom_type]([geom])
    wkb = shapely.to_wkb(geom, output_dimension=2, byte_order=1)
    if geom.geom_type == "Point":
        return b"GP\x00\x01" + struct.pack("<i", srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    return b"GP\x00\x03" + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + wkb


def _srs_rows(crs: str) -> tuple[int, list[tuple[Any, ...]]]:
    """The layers' SRS id and the rows of ``gpkg_spatial_ref_sys`` (the three the standard
    requires, then the layers' CRS)."""
    wgs84 = CRS.from_epsg(4326)
    rows: list[tuple[Any, ...]] = [
        ("Undefined Cartesian SRS", -1, "NONE", -1, "undefined", "undefined Cartesian coordinate reference system"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
        ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84.to_wkt("WKT1_GDAL"),
         "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid")]
    c = CRS.from_user_input(crs)
    authority = c.to_authority()
    if authority is not None and authority[0] == "EPSG" and int(authority[1]) == 4326:
        return 4326, rows
    org, code = (authority[0], int(authority[1])) if authority is not None and authority[1].isdigit() else ("NONE", 100000)
    srs_id = code if org == "EPSG" else 100000
    rows.append((c.name, srs_id, org, code, c.to_wkt("WKT1_GDAL") or c.to_wkt(), None))
    return srs_id, rows


def _write_layer(db: sqlite3.Connection, name: str, rows: Sequence[Row], srs_id: int, now: str) -> None:
    columns: list[str] = []
    for _, props in rows:
        columns += [c for c in props if c not in columns]
    types = {c: column_type([props.get(c) for _, props in rows]) for c in columns}
    geom_type, promote = _geometry_type([g for g, _ in rows])
    spec = ", ".join(f"{_quote(c)} {types[c]}" for c in columns)
    db.execute(f'CREATE TABLE {_quote(name)} ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "geom" {geom_type}'
               + (f", {spec})" if spec else ")"))
    db.executemany(f"INSERT INTO {_quote(name)} (geom{''.join(', ' + _quote(c) for c in columns)}) "
                   f"VALUES (?{', ?' * len(columns)})",
                   [(_gpkg_geometry(g, srs_id, promote), *(_cell(p.get(c), types[c]) for c in columns)) for g, p in rows])
    minx, miny, maxx, maxy = shapely.total_bounds([g for g, _ in rows])
    db.execute("INSERT INTO gpkg_contents VALUES (?, 'features', ?, '', ?, ?, ?, ?, ?, ?)",
               (name, name, now, minx, miny, maxx, maxy, srs_id))
    db.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)", (name, geom_type, srs_id))


def _write_styles(db: sqlite3.Connection, table: str, styles: Sequence[Mapping[str, Any]], now: str) -> None:
    spec = ", ".join(f"{_quote(c)} {t}" for c, t in _STYLE_COLUMNS)
    db.execute(f'CREATE TABLE {_quote(table)} ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {spec})')
    cells = [[_iso(v) if isinstance(v, datetime) else _cell(v, t) for c, t in _STYLE_COLUMNS for v in (s.get(c),)]
             for s in styles]
    db.executemany(f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c, _ in _STYLE_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(_STYLE_COLUMNS))})", cells)
    db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
               "VALUES (?, 'attributes', ?, '', ?)", (table, table, now))


def _gdal_metadata_xml(items: Mapping[str, str]) -> str:
    """Key-value metadata as GDAL writes it (``GDALMultiDomainMetadata``, default domain)."""
    mdi = "".join(f'    <MDI key="{escape(k, {chr(34): "&quot;"})}">{escape(v)}</MDI>\n' for k, v in items.items())
    return f"<GDALMultiDomainMetadata>\n  <Metadata>\n{mdi}  </Metadata>\n</GDALMultiDomainMetadata>\n"


def _write_metadata(db: sqlite3.Connection, layers: Sequence[str], metadata: Mapping[str, str], now: str) -> None:
    """``metadata`` as each layer's GDAL metadata (metadata extension, ``table`` scope).

    Not as the dataset's (``geopackage`` scope): GDAL (3.12) opening a GeoPackage read-only
    (pyogrio, QGIS) copies dataset metadata into a ``<file>.aux.xml`` sidecar next to it, so
    merely looking at ``layout.gpkg`` would add a file to the run directory. Layer metadata
    stays in the file."""
    for statement in _METADATA_TABLES.split(";"):
        if statement.strip():
            db.execute(statement)
    db.executemany("INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_metadata', ?, 'read-write')",
                   [("gpkg_metadata", _METADATA_EXTENSION), ("gpkg_metadata_reference", _METADATA_EXTENSION)])
    xml = _gdal_metadata_xml(metadata)
    for n, table in enumerate(layers, start=1):
        db.execute("INSERT INTO gpkg_metadata VALUES (?, 'dataset', 'http://gdal.org', 'text/xml', ?)", (n, xml))
        db.execute("INSERT INTO gpkg_metadata_reference VALUES ('table', ?, NULL, NULL, ?, ?, NULL)", (table, now, n))


def write_layers_sqlite(path: Path, layers: Mapping[str, Sequence[Row]], crs: str, *,
                        styles_table: str | None = None, styles: Sequence[Mapping[str, Any]] = (),
                        metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``layers`` (name -> features, each layer with at least one feature, geometries in
    ``crs``) as a new GeoPackage at ``path`` (which must not exist: write into a temporary name
    and rename it into place), and ``styles`` (rows of QGIS's columns) as ``styles_table``;
    ``metadata`` (e.g. the run id) as GDAL metadata of every layer (see :func:`_write_metadata`)."""
    now = _iso(datetime.now(UTC))
    srs_id, srs_rows = _srs_rows(crs)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = OFF")  # a new file renamed into place: nothing to roll back to
        db.execute("PRAGMA synchronous = OFF")
        db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {_USER_VERSION}")
        db.execute("BEGIN")
        for statement in _CORE_TABLES.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs_rows)
        for name, rows in layers.items():
            _write_layer(db, name, rows, srs_id, now)
        if styles_table is not None and styles:
            _write_styles(db, styles_table, styles, now)
        if metadata:
            _write_metadata(db, list(layers), metadata, now)
        db.execute("COMMIT")
    finally:
        db.close()
    return path
