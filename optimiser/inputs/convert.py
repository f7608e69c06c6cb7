"""Converting a site between file formats, chosen by suffix: YAML, JSON, TOML, GeoJSON and
GeoPackage written; Shapefile and FlatGeobuf read too.

The conversion works on the site *mapping* (what the file says), not on the validated site, so
every key the site model holds passes through, defaults stay defaults and coordinates stay in the
file's CRS (GeoJSON is WGS84 by definition: it is reprojected there, keeping the original CRS as
``working_crs``); a number given in quotes (``employees: "300"``) is written as the number it is
read as. The source is validated first; the written file is validated again, so a
conversion never produces a file the tools would refuse.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
import yaml
from pydantic import BaseModel

from optimiser.errors import ArgumentError, FileReadError, Problem, ValidationError
from optimiser.inputs import schema as S
from optimiser.inputs.crs import same_crs
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.geojson import site_to_geojson
from optimiser.inputs.gis import SITE_LAYERS
from optimiser.inputs.gis_files import write_gpkg_site
from optimiser.inputs.safefile import atomic_write_text
from optimiser.inputs.site import check_site

logger = logging.getLogger(__name__)

__all__ = ["WRITE_SUFFIXES", "plain_site", "write_site", "convert_site"]

WRITE_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".geojson", ".gpkg")
"""Suffixes :func:`write_site` writes."""
_ORDER = ("format", "id", "name", "description", "crs", "working_crs", "illustrative")


def plain_site(data: Mapping[str, Any]) -> dict[str, Any]:
    """A site mapping as plain dicts and lists (no reader's item types), its own fields first."""
    plain: dict[str, Any] = json.loads(json.dumps(data))
    head = {k: plain[k] for k in _ORDER if k in plain}
    layer_keys = [s.key for s in SITE_LAYERS]
    rest = {k: v for k, v in plain.items() if k not in head and k not in layer_keys}
    layers = {k: plain[k] for k in layer_keys if plain.get(k)}
    return {**head, **rest, **layers}


def _drop_none(value: Any) -> Any:
    """TOML has no null: leave such keys out (absent means the default, as null does)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def write_site(data: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a site mapping in the format ``path``'s suffix names (:data:`WRITE_SUFFIXES`).

    Raises:
        ValueError: an unsupported suffix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    plain = plain_site(data)
    if suffix in (".yaml", ".yml"):
        atomic_write_text(p, yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=120))
    elif suffix == ".json":
        atomic_write_text(p, json.dumps(plain, indent=2, ensure_ascii=False) + "\n")
    elif suffix == ".toml":
        atomic_write_text(p, tomli_w.dumps(_drop_none(plain)))
    elif suffix == ".geojson":
        atomic_write_text(p, json.dumps(site_to_geojson(plain), ensure_ascii=False) + "\n")
    elif suffix == ".gpkg":
        write_gpkg_site(plain, p)
    else:
        raise ValueError(f"cannot write a site as {suffix or '(no suffix)'!r}; use one of {', '.join(WRITE_SUFFIXES)}")
    logger.info("wrote site %s", p)
    return p


def _numbers(raw: Any, model: Any) -> Any:
    """``raw`` (a site mapping, or a part of it) with every number given as text (``employees:
    "300"``, as GIS exports write text columns; read as the number) written as that number, the
    value the site model (``model``, the same part validated) holds: a converted file says 300, and
    a GeoPackage's column is numeric, not text. Anything else is left as the file gives it."""
    if isinstance(raw, dict) and isinstance(model, BaseModel):
        return {k: _numbers(v, getattr(model, k, None)) if isinstance(k, str) else v for k, v in raw.items()}
    if isinstance(raw, list) and isinstance(model, (list, tuple)) and len(raw) == len(model):
        return [_numbers(r, m) for r, m in zip(raw, model)]
    if isinstance(raw, str) and isinstance(model, (int, float)) and not isinstance(model, bool):
        return model
    return raw


def _checked(path: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The site mapping of ``path`` with ``overrides`` applied, validated (every problem raised)."""
    name = str(path)
    data, problems = load_mapping(path)
    if data is None:
        raise FileReadError(problems)
    given, declared = overrides.get("crs"), data.get("crs")
    if given is not None and declared is not None and str(given) != str(declared) and not same_crs(given, declared):
        raise ValidationError([Problem(name, "crs", f"the file declares crs {declared}; --crs {given} would relabel its "
                                       "coordinates without moving them", "drop --crs (it is for files that declare no "
                                       f"crs); to work the site in {given}, keep its crs and set working_crs "
                                       f"(siteopt convert SRC DST --working-crs {given})")])
    data.update({k: v for k, v in overrides.items() if v is not None})
    _, more = check_site(data, name, path.resolve())
    if problems or more:
        raise ValidationError(problems + more)
    return _numbers(data, S.SiteFile.model_validate(data))


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (through links or another spelling of the path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is not there: not the same file
        return False


def convert_site(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, overwrite: bool = False,
                 **site_fields: Any) -> Path:
    """Convert a site file to another format (by ``dst``'s suffix), losslessly.

    Args:
        src: a site file: ``.yaml``, ``.yml``, ``.json``, ``.toml``, ``.geojson``, ``.gpkg``,
            ``.shp`` or ``.fgb``.
        dst: the file to write: ``.yaml``, ``.yml``, ``.json``, ``.toml``, ``.geojson`` or ``.gpkg``.
        overwrite: replace ``dst`` if it exists.
        **site_fields: site fields to set or replace (``id``, ``name``, ``crs``...; ``None``
            leaves a field as it is), e.g. for a GIS file without a ``site`` table.

    Returns:
        ``dst``.

    Raises:
        FileReadError: ``src`` cannot be read, ``dst`` is ``src``, or ``dst`` exists without ``overwrite``.
        ValidationError: ``src`` (with the overrides) is not a valid site, or the written file
            does not read back as one (a bug: reported, the file left for inspection).
        ArgumentError: (a ``ValueError``) ``dst`` has an unsupported suffix.
    """
    src_p, dst_p = checked_path(src, "convert_site", "src"), checked_path(dst, "convert_site", "dst")
    if dst_p.suffix.lower() not in WRITE_SUFFIXES:
        raise ArgumentError([Problem("convert_site", "dst", f"cannot write a site as {dst_p.suffix or '(no suffix)'!r}",
                                     f"use one of {', '.join(WRITE_SUFFIXES)}")])
    if _same_file(src_p, dst_p):  # --overwrite would write the source over itself: its comments, order and quoting lost
        raise FileReadError([Problem(str(dst_p), "", f"is the file being converted ({src_p})",
                                     "write the converted site to another name; the source stays as it is")])
    if os.path.lexists(dst_p) and not overwrite:  # a dangling symlink too
        raise FileReadError([Problem(str(dst_p), "", "exists already", "choose another name or pass --overwrite")])
    folder = dst_p.parent
    if not folder.is_dir():
        raise FileReadError([Problem(str(dst_p), "", f"the folder {folder} does not exist" if not folder.exists()
                                     else f"{folder} is not a folder", "create the folder first, or write elsewhere")])
    if not os.access(folder, os.W_OK):
        raise FileReadError([Problem(str(dst_p), "", f"the folder {folder} cannot be written", "write elsewhere")])
    data = _checked(src_p, site_fields)
    write_site(data, dst_p)
    _checked(dst_p, {})
    return dst_p
