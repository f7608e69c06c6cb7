"""Loading a file into a mapping: YAML, JSON, TOML and (sites) GeoJSON, GeoPackage, Shapefile, FlatGeobuf.

Nothing the user gave is silently dropped: a key given twice is a problem, not "the last one
wins". A file that cannot be read (missing, a folder, not UTF-8, malformed, empty, not a
mapping at the top level) gives no mapping and one problem saying why. GIS files are binary:
they are read with pyogrio (:mod:`optimiser.inputs.gis`), never as text. A GIS or GeoJSON site
may leave out its own fields (id, name...): a sidecar ``<name>.site.yaml`` (or ``.yml``,
``.json``, ``.toml``) next to it gives them, and the id defaults to the file's name.
"""

from __future__ import annotations

import codecs
import errno
import json
import logging
import os
import re
import stat
import tomllib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from optimiser.errors import ArgumentError, Problem
from optimiser.inputs.crs import same_crs
from optimiser.inputs.geojson import geojson_to_site
from optimiser.inputs.gis import GIS_SUFFIXES, SITE_FILE_NAMES, SITE_LAYERS, SiteMapping
from optimiser.inputs.gis_files import folder_of_layers, other_gis_file, read_gis_site
from optimiser.inputs.messages import suggest, suggest_path
from optimiser.inputs.safefile import (
    MAX_NESTING,
    UnsafeFile,
    file_kind,
    json_depth,
    json_object_no_dupes,
    nesting_depth,
    read_regular_bytes,
)
from optimiser.inputs.schema import SITE_FORMAT

logger = logging.getLogger(__name__)

_KEEP_ONE = "keep one; nothing is silently dropped"
_EMPTY_FIX = "write the site or scenario into it; sites/README.md and constraints/README.md give the format"


_FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""LibYAML's parser when PyYAML was built with it (ten times faster than the pure-Python one on
a site file); the Python parser reads the same YAML into the same objects."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that records duplicate keys instead of silently keeping the last."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []
        """(key, line, line of its first use) for every key given twice in one mapping."""


class _FastUniqueKeyLoader(_FastSafeLoader):  # type: ignore[valid-type,misc]
    """:class:`_UniqueKeyLoader` on LibYAML's parser (same constructors, same duplicate records)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []


def _construct_mapping(loader: _UniqueKeyLoader | _FastUniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose own keys are unique; merge keys (``<<: *anchor``) are resolved first, and
    an own key may override a merged one (YAML's merge-key rules)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):  # "? [a, b]": a list or mapping as a key
            raise yaml.constructor.ConstructorError(None, None, "a list or mapping is used as a key (a key must be text)",
                                                    key_node.start_mark)
        if key in seen:
            loader.duplicates.append((key, key_node.start_mark.line + 1, seen[key]))
        else:
            seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_FastUniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_YAML_INT = "tag:yaml.org,2002:int"
_PLAIN_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?(?:0|[1-9][0-9_]*))$")
"""YAML 1.1's whole numbers without its octal (``0150``: 104) and base-60 (``1:30``: 90) forms."""


def _ints_as_typed(loader: type[yaml.SafeLoader]) -> None:
    """A number with a leading zero (``0150``, a parcel id ``0123``) or colons (``1:30``) is read as
    the text typed, not as YAML 1.1's octal or base-60 number: a number field then reads the
    number meant (``"0150"``: 150), a text field the id as written."""
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _YAML_INT]
        for first, resolvers in loader.yaml_implicit_resolvers.items()}
    loader.add_implicit_resolver(_YAML_INT, _PLAIN_INT, list("-+0123456789"))


_ints_as_typed(_UniqueKeyLoader)
_ints_as_typed(_FastUniqueKeyLoader)


GEOJSON_TYPES = frozenset({"FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString",
                           "Polygon", "MultiPolygon", "GeometryCollection"})
"""The ``type`` of a GeoJSON object (RFC 7946 1.4): a ``.json`` of one is read as GeoJSON, so a lone
Feature saved as ``.json`` is told to go in a FeatureCollection (no site or scenario has a ``type``)."""


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:/")
"""A URL (``https://...``, ``file:///...``; after :class:`~pathlib.Path` folds ``//`` to ``/``
too), not a file path: a one-letter scheme is a Windows drive (``C:/``)."""


def looks_like_url(text: str) -> bool:
    """Whether ``text`` (a path as given) is a URL such as ``https://host/site.yaml``."""
    return bool(_URL.match(text))


def not_a_file(p: Path, name: str) -> Problem | None:
    """Why ``p`` is not a file to read, or ``None`` when it is a regular file (found from
    ``stat``, nothing opened): missing (with the file it most likely means), a URL, a symbolic
    link that loops or leads nowhere, a folder on the way that cannot be searched or is a file,
    a folder, a FIFO, a device or a socket."""
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        return _unreachable(p, name, exc)
    except ValueError:  # "embedded null byte": a \0 escape in a YAML path ("x\0y.yaml"); it was an internal error
        return Problem(name, "", "holds a NUL character (\\0), which no file name can",
                       f"check the path as written: {os.fspath(p)!r}")
    if stat.S_ISDIR(mode):
        return _site_file_in(p, name) or folder_of_layers(p, name) or Problem(name, "", "is a folder, not a file",
                                                                             "name the site or scenario file")
    if not stat.S_ISREG(mode):
        return Problem(name, "", f"is {file_kind(mode)}, not a regular file", "name a site or scenario file")
    return None


def _unreachable(p: Path, name: str, exc: OSError) -> Problem:
    """The problem of a path ``stat`` refused with ``exc``."""
    if exc.errno == errno.ELOOP:
        return Problem(name, "", "is a symbolic link that loops (it leads back to itself through other links)",
                       "point the link at the real file (ls -l shows where it leads), or give the file itself")
    if exc.errno == errno.EACCES:
        return Problem(name, "", "cannot be reached: a folder on its path does not let you in (permission denied)",
                       "check the folders' permissions, or copy the file somewhere you can read")
    if exc.errno == errno.ENOTDIR:
        return Problem(name, "", "cannot be reached: a part of its path is a file, not a folder", "check the path")
    if exc.errno == errno.ENAMETOOLONG:
        return Problem(name, "", "the path is too long for the file system", "give a shorter path")
    if os.path.islink(p):
        try:
            target = os.readlink(p)
        except OSError:
            target = "?"
        return Problem(name, "", f"is a symbolic link to {target!r}, which does not exist",
                       "point the link at the real file, or give the file itself")
    if looks_like_url(name) or looks_like_url(os.fspath(p)):
        return Problem(name, "", "is a URL: siteopt reads local files only, it downloads nothing",
                       "download the file first (e.g. curl -O URL) and give its path")
    near = suggest_path(p)
    if near is not None and near.name == p.name:  # the very name (e.g. a link the folder lists): no suggestion
        near = None
    return Problem(name, "", "file not found", f"did you mean {str(near)!r}?" if near else "check the path")


_DATA_LINE = re.compile(r"^[ \t]*[^#\s]", re.MULTILINE)
"""A line of a YAML or TOML file that is neither blank nor a comment."""


def _read_text(p: Path, name: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or why it cannot be read (missing, a folder or another non-regular file,
    over the size limit, not UTF-8, no permission); special files are never read."""
    missing = not_a_file(p, name)
    if missing is not None:
        return None, [missing]
    try:
        raw = read_regular_bytes(p)
        if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            at = raw.index(b"\x00")
            odd, even = raw[1::2].count(0), raw[0::2].count(0)  # UTF-16 of ASCII: every other byte 0, the others not
            utf16 = max(odd, even) > len(raw) // 4 and min(odd, even) < len(raw) // 20
            return None, [Problem(name, "", f"holds NUL bytes (the first at byte {at})"
                                  + (": UTF-16 text without a byte-order mark, not UTF-8" if utf16 else ": not a text file"),
                                  "save the file as UTF-8 text" if utf16 else "give the site or scenario file itself")]
        return raw.decode("utf-8-sig"), []  # a byte-order mark (Notepad, PowerShell, Excel) is not text
    except UnsafeFile as exc:
        return None, [Problem(name, "", exc.reason, exc.hint)]
    except UnicodeDecodeError as exc:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return None, [Problem(name, "", "UTF-16 text (Windows 'Unicode'), not UTF-8",
                                  "save the file as UTF-8 (Notepad: Save As..., Encoding 'UTF-8')")]
        return None, [_not_utf8(name, raw, exc.start)]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot be read: {exc.strerror or exc}", "check permissions")]


def _not_utf8(name: str, raw: bytes, at: int) -> Problem:
    """A file that is not UTF-8: where (line and column, as an editor counts them) and, for text
    saved in Windows-1252 / Latin-1 (Excel's and older editors' default), the character meant."""
    line = raw.count(b"\n", 0, at) + 1
    col = len(raw[raw.rfind(b"\n", 0, at) + 1:at].decode("utf-8", "replace")) + 1
    where = f"not UTF-8 text: line {line}, column {col} holds byte 0x{raw[at]:02X}"
    try:
        meant = raw[at:at + 1].decode("cp1252")
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return Problem(name, "", where, "save the file as UTF-8")
    return Problem(name, "", f"{where}, {meant!r} in Windows-1252 / Latin-1, the encoding the file seems to be in",
                   "save the file as UTF-8 (e.g. Notepad: Save As..., Encoding 'UTF-8'; "
                   "iconv -f cp1252 -t utf-8 FILE > NEW)")


def _too_deep(name: str, depth: int | str) -> _Unparsable:
    return _Unparsable(Problem(name, "", f"nested {depth} levels deep, more than the {MAX_NESTING} allowed",
                               "flatten the file; a site or scenario needs only a few levels"))


MAX_YAML_EVENTS = 1_000_000
"""Most YAML parse events (values, and the starts and ends of lists and mappings) a file may
hold. PyYAML builds a node of some 500 bytes for each before anything is checked, so this bounds
a YAML file's memory to about half a gigabyte; the AMP-SBP site has 5,200, a district of
thousands of traced paths a few hundred thousand. Larger sites go in a GeoPackage (read by GDAL)."""


def _yaml_depth(text: str, name: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[int, bool]:
    """The deepest nesting of YAML ``text`` and whether it has an alias (``*anchor``, also in a
    merge key), from its parse events (no recursion, no objects built). A file of more than
    :data:`MAX_YAML_EVENTS` events is refused (``_Unparsable``) as soon as the count passes it."""
    depth = deepest = 0
    aliased = False
    for count, event in enumerate(yaml.parse(text, Loader=loader)):
        if count >= MAX_YAML_EVENTS:
            raise _Unparsable(Problem(
                name, "", f"more than {MAX_YAML_EVENTS:,} YAML values, lists and mappings: too large to read as YAML",
                "save a site this large as a GeoPackage (QGIS: one layer per feature kind, sites/README.md) or as JSON"))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliased = True
    return deepest, aliased


def _parse_json(text: str, name: str) -> tuple[Any, list[Problem]]:
    if (depth := json_depth(text)) > MAX_NESTING:
        raise _too_deep(name, depth)
    dupes: list[str] = []
    data = json.loads(text, object_pairs_hook=lambda kv: json_object_no_dupes(kv, dupes))
    return data, [Problem(name, str(k), "key given twice", _KEEP_ONE) for k in dupes]


MAX_ALIAS_EXPANSION = 100_000
"""Most nodes YAML aliases (``*anchor``, and merge keys ``<<: *anchor``) may add to a file once
expanded: every alias counts the whole subtree it stands for. A file of nested aliases
("billion laughs": ten aliases of ten aliases of ... ) is refused before anything is built."""


def _expanded_sizes(root: yaml.Node) -> tuple[int, int, int, bool]:
    """(nodes written in the file, nodes once every alias is expanded, the nesting depth once
    expanded, whether an alias refers to a node that contains it): one pass over the composed node graph, each node's expanded
    size computed once (no recursion, nothing expanded)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    written: set[int] = set()
    cyclic = False
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size.get(id(k), 0) for k in kids)
            depth[key] = 1 + max((depth.get(id(k), 0) for k in kids), default=0) if not isinstance(node, yaml.ScalarNode) else 0
            continue
        if key in size:
            continue
        if key in on_path:
            cyclic = True
            continue
        written.add(key)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)
    return len(written), size.get(id(root), 0), depth.get(id(root), 0), cyclic


def _check_aliases(node: yaml.Node, name: str) -> None:
    """Refuse a composed YAML document whose aliases would expand past :data:`MAX_ALIAS_EXPANSION`
    nodes, nest deeper than :data:`MAX_NESTING` once expanded, or refer to a node that contains them."""
    written, expanded, depth, cyclic = _expanded_sizes(node)
    if cyclic:
        raise _Unparsable(Problem(name, "", "a YAML alias refers to a mapping or list that contains it (a cycle)",
                                  "write the value out; a site or scenario is a tree"))
    if depth > MAX_NESTING:
        raise _Unparsable(Problem(name, "", f"nested {depth} levels deep through YAML aliases, more than the {MAX_NESTING} allowed",
                                  "write the values out; a site or scenario needs only a few levels"))
    if expanded - written > MAX_ALIAS_EXPANSION:
        raise _Unparsable(Problem(
            name, "", f"YAML aliases would expand {written:,} nodes to {expanded:,}, more than the "
                      f"{MAX_ALIAS_EXPANSION:,} extra nodes allowed (nested aliases, a 'billion laughs' file)",
            "use anchors and aliases (and merge keys) for a few shared values, not nested many times over"))


def _load_yaml(text: str, name: str, fast: bool) -> tuple[Any, list[tuple[Any, int, int]]]:
    """The data of YAML ``text`` and its duplicate keys, read with LibYAML (``fast``) or PyYAML's
    own parser; deeper nesting than allowed, or aliases expanding too far, raise ``_Unparsable``
    first (the aliases are checked on the composed nodes, before anything is constructed)."""
    depth, aliased = _yaml_depth(text, name, _FastSafeLoader if fast else yaml.SafeLoader)
    if depth > MAX_NESTING:
        raise _too_deep(name, depth)
    loader = _FastUniqueKeyLoader(text) if fast else _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        if aliased:  # without an alias the node graph is the tree that was parsed: nothing to expand
            _check_aliases(node, name)
        return loader.construct_document(node), loader.duplicates
    finally:
        loader.dispose()


def _parse_yaml(text: str, name: str) -> tuple[Any, list[Problem]]:
    # flow brackets first (PyYAML's scanner is quadratic in their depth), then the parse events.
    # LibYAML reads a good file; a file it refuses is read again by PyYAML's own parser, whose
    # messages (and line numbers) are the ones users see.
    if (depth := json_depth(text)) > MAX_NESTING:
        raise _too_deep(name, depth)
    try:
        data, duplicates = _load_yaml(text, name, fast=_FastSafeLoader is not yaml.SafeLoader)
    except yaml.YAMLError:
        data, duplicates = _load_yaml(text, name, fast=False)
    return data, [
        Problem(name, str(key), f"key given twice (line {line}, first on line {first})", _KEEP_ONE)
        for key, line, first in duplicates
    ]


class _Unparsable(Exception):
    """A file that is malformed or of an unsupported type; ``problem`` says which."""

    def __init__(self, problem: Problem):
        super().__init__(problem.reason)
        self.problem = problem


def _parse(text: str, suffix: str, name: str) -> tuple[Any, list[Problem]]:
    """Parse ``text`` by file suffix: ``(data, duplicate-key problems)``.

    Raises:
        _Unparsable: the text is malformed, or the suffix is not a supported format.
    """
    try:
        if suffix in (".json", ".geojson"):
            return _parse_json(text, name)
        if suffix == ".toml":
            data = tomllib.loads(text)
            if nesting_depth(data) > MAX_NESTING:
                raise _too_deep(name, nesting_depth(data))
            return data, []
        if suffix in (".yaml", ".yml"):
            return _parse_yaml(text, name)
    except json.JSONDecodeError as exc:
        raise _Unparsable(Problem(name, "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                                  "fix the text there: keys in double quotes, no trailing commas")) from exc
    except RecursionError as exc:  # a parser's own recursion (e.g. TOML arrays thousands deep)
        raise _too_deep(name, "thousands of") from exc
    except tomllib.TOMLDecodeError as exc:
        if str(exc).startswith(("Cannot overwrite a value", "Cannot declare")):  # a key or table given twice
            where = str(exc)[str(exc).rfind("(at "):] if "(at " in str(exc) else ""
            raise _Unparsable(Problem(name, "", f"malformed TOML: a key or table given twice {where}".rstrip(),
                                      _KEEP_ONE)) from exc
        raise _Unparsable(Problem(name, "", f"malformed TOML: {exc}",
                                  "fix the text there: strings in quotes, one key = value per line")) from exc
    except ValueError as exc:  # not JSON's (above): Python's limit on digits, from any of the parsers
        if "digits" not in str(exc):
            raise
        raise _Unparsable(Problem(name, "", "a whole number has more than 4,300 digits",
                                  "no figure in a site or scenario needs that many: check the numbers in the file")) from exc
    except yaml.YAMLError as exc:
        raise _Unparsable(_yaml_problem(exc, text, name)) from exc
    raise _Unparsable(Problem(name, "", f"unsupported file type {suffix or '(none)'!r}",
                              "use .yaml, .yml, .json, .toml or (sites) .geojson, .gpkg, .shp, .fgb"))


def _yaml_problem(exc: yaml.YAMLError, text: str, name: str) -> Problem:
    """The problem of a YAML text PyYAML cannot parse, at the line to fix."""
    mark, start = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None) or ""
    if "'\\t'" in what:  # PyYAML: "found character '\t' that cannot start any token"
        return Problem(name, "", f"malformed YAML{where}: a tab where YAML allows only spaces",
                       "indent with spaces, never tabs (an editor's 'convert indentation to spaces')")
    if "another document" in what:  # PyYAML: "but found another document" (a second '---')
        return Problem(name, "", f"a second YAML document begins{where} (after a '---' line)",
                       "a file holds one site or scenario: remove the '---' line and what follows it, "
                       "or put it in a file of its own")
    if start is not None and "simple key" in context:  # "id:four": the key's line, not the next one
        line = text.splitlines()[start.line] if start.line < len(text.splitlines()) else ""
        glued = re.match(r"\s*(?:-\s+)?([A-Za-z_][\w.]*):(\S.*)", line)
        return Problem(name, "", f"malformed YAML at line {start.line + 1}: {line.strip()[:40]!r} is no key: value "
                                 "(a key needs ': ', a colon and a space)",
                       f"put a space after the colon: '{glued[1]}: {glued[2].strip()[:40]}'" if glued
                       else "write it as key: value, with a space after the colon")
    if "unknown escape character" in what:  # "C:\sites" in double quotes: not an unclosed quote
        return Problem(name, "", f"malformed YAML{where}: {what} (in double quotes a backslash starts an escape, "
                                 "as \\n does)",
                       "put the text in single quotes, where a backslash is itself, or write it \\\\; a path: "
                       "forward slashes (../sites/x/site.yaml)")
    if start is not None and "quoted scalar" in context and "end of stream" in what:
        return Problem(name, "", f"malformed YAML at line {start.line + 1} column {start.column + 1}: a quote that is never closed",
                       "close the quote on that line (a \" or ' inside quoted text is written \\\" or '')")
    return Problem(name, "", f"malformed YAML{where}: {what}",
                   "fix the indentation or quoting there; quote text that holds ': ' or starts with a symbol")


_LONG_FIGURE = re.compile(r"[0-9A-Fa-f_]{250,}")
"""Text that may write a whole number too large for a float (over 308 digits; YAML and TOML
allow ``_`` between digits and hexadecimal): only then are the parsed values walked."""
MAX_OVERSIZED_LISTED = 20
"""Most oversized numbers named one by one (the rest are counted)."""


def _field_word(path: str) -> str:
    """The key a field path ends with (``firms[0].location[1]`` -> ``location``)."""
    return re.sub(r"(\[[0-9]+\])+$", "", path).rsplit(".", 1)[-1] or "it"


def _oversized_numbers(data: Any, text: str, name: str) -> list[Problem]:
    """A problem for each whole number in ``data`` too large to convert to a float (over about
    1.8 x 10^308: every check and the solver work in floats), named by its field path."""
    if not _LONG_FIGURE.search(text):
        return []
    found: list[tuple[str, int]] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
            try:
                float(value)
            except OverflowError:
                found.append((path, value))
    problems = [Problem(name, path, f"got a whole number of about {int(value.bit_length() * 0.30103) + 1:,} digits, larger than "
                        "any number the checks and the solver can hold (about 1.8 x 10^308)",
                        f"set {_field_word(path)} to a number of an ordinary size")
                for path, value in found[:MAX_OVERSIZED_LISTED]]
    if len(found) > MAX_OVERSIZED_LISTED:
        problems.append(Problem(name, "", f"{len(found) - MAX_OVERSIZED_LISTED:,} more numbers as large",
                                "check the figures"))
    return problems


SIDECAR_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_LAYER_KEYS = frozenset(s.key for s in SITE_LAYERS if s.geom_field is not None)
"""Site lists of features (drawn in the GIS file, not in its sidecar; crossing rules may be in either)."""
SIDECAR_KEYS = ("format", "id", "name", "description", "crs", "working_crs", "illustrative", "crossing_rules")
"""The keys a sidecar may hold (``crs`` only for a GIS file that declares none)."""


def _sidecar_problem(side: Path, key: Any, value: Any, data: dict[str, Any]) -> Problem | None:
    """A sidecar key that is no site field, or a ``crs`` other than the one the GIS file's
    coordinates are in (it would relabel them, not move them): reported against the sidecar."""
    if key in _LAYER_KEYS:
        return Problem(str(side), str(key), "a sidecar holds the site's own fields, not its features",
                       "draw the features as layers of the GIS file")
    if key not in SIDECAR_KEYS:
        near = suggest(str(key), SIDECAR_KEYS)
        return Problem(str(side), str(key), f"unknown key {key!r} in a sidecar",
                       f"did you mean {near!r}?" if near else f"a sidecar holds {', '.join(SIDECAR_KEYS)}")
    given = data.get("crs")
    if key == "crs" and given is not None and str(value) != str(given) and not same_crs(value, given):
        return Problem(str(side), "crs", f"the GIS file's coordinates are in {given}; crs: {value} would relabel them "
                       "without moving them", f"drop crs from the sidecar; to work the site in {value}, set working_crs: {value}")
    return None


def sidecar_path(p: Path) -> Path | None:
    """The sidecar ``<stem>.site.yaml`` (``.yml``, ``.json``, ``.toml``) next to a GIS site, if any."""
    for s in SIDECAR_SUFFIXES:
        c = p.with_name(f"{p.stem}.site{s}")
        if c.is_file():
            return c
    return None


def _complete_site_fields(data: dict[str, Any], p: Path) -> list[Problem]:
    """Fill a GIS or GeoJSON site's own fields from its sidecar (which wins), then defaults."""
    problems: list[Problem] = []
    side = sidecar_path(p)
    if side is not None:
        meta, problems = load_mapping(side)
        for key, value in (meta or {}).items():
            wrong = _sidecar_problem(side, key, value, data)
            if wrong is not None:
                problems.append(wrong)
            else:
                data[key] = value
                if isinstance(data, SiteMapping):  # given in the sidecar now, not in the file's site table
                    data.own.pop(key, None)
        logger.debug("site fields of %s from %s", p, side)
    data.setdefault("format", SITE_FORMAT)
    if "id" not in data:
        data["id"] = re.sub(r"[^A-Za-z0-9_.\-]+", "_", p.stem).strip("_.-") or "site"
        logger.info("%s names no site id; using %r (from the file name)", p, data["id"])
    return problems


def _load_gis(p: Path, name: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    missing = not_a_file(p, name)
    if missing is not None:
        return None, [missing]
    data, problems = read_gis_site(p, name)
    if data is not None:
        problems += _complete_site_fields(data, p)
    return data, problems


def site_file_in(folder: Path) -> Path | None:
    """The site file a site folder ``sites/<id>/`` holds: the first of :data:`SITE_FILE_NAMES`
    there (site.yaml before site.geojson), or ``None``."""
    return next((folder / n for n in SITE_FILE_NAMES if (folder / n).is_file()), None)


def _site_file_in(folder: Path, name: str) -> Problem | None:
    """A folder given where a file is read that holds a site file (``sites/<id>/site.yaml``): name
    it, even beside layer files exported next to it (they were said to be the site's layers); the
    one a site id and a scenario's ``site: <folder>/`` would take (site.yaml before site.geojson)."""
    try:
        found = site_file_in(folder)
    except OSError:
        return None
    if found is None:
        return None
    return Problem(name, "", "is a folder, not a file", f"name the site file in it: {os.path.join(name, found.name)}")


def checked_path(path: Any, caller: str, argument: str = "path") -> Path:
    """``path`` (a ``str`` or ``os.PathLike``) as a :class:`~pathlib.Path`, for the public
    function ``caller``.

    Raises:
        TypeError: anything else (``None``, a number, a mapping...), saying what it takes.
        ArgumentError: an empty path (it would name the current folder).
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}() takes a file path (str or os.PathLike) as {argument}, got {type(path).__name__} {path!r}"[:300])
    if not os.fspath(path).strip():
        raise ArgumentError([Problem(caller, argument, "is empty", "give a file path")])
    return Path(path)


def load_mapping(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse a YAML/JSON/TOML/GeoJSON/GeoPackage/Shapefile/FlatGeobuf file into a mapping, or say why not.

    Args:
        path: the file; its suffix chooses the format. A GeoJSON or GIS site is turned into the
            mapping a YAML site file would give (:func:`optimiser.inputs.geojson.geojson_to_site`,
            :func:`optimiser.inputs.gis.read_gis_site`).

    Returns:
        ``(data, problems)``; ``data`` is ``None`` when the file could not be read at all.
        ``problems`` also lists keys given twice in a readable file.
    """
    p = checked_path(path, "load_mapping")
    name = str(path)
    if p.suffix.lower() in GIS_SUFFIXES:
        return _load_gis(p, name)
    if (other := other_gis_file(p, name)) is not None:  # a Shapefile's .dbf, a zipped Shapefile
        return None, [other]
    text, problems = _read_text(p, name)
    if text is None:
        return None, problems
    suffix = p.suffix.lower()
    if not text.strip():
        return None, [Problem(name, "", "the file is empty", _EMPTY_FIX)]
    if suffix in (".yaml", ".yml", ".toml") and not _DATA_LINE.search(text):
        return None, [Problem(name, "", "the file holds only comments and blank lines: no data", _EMPTY_FIX)]
    try:
        data, problems = _parse(text, suffix, name)
    except _Unparsable as exc:
        return None, [exc.problem]
    if data is None:
        return None, [Problem(name, "", "the file is empty", _EMPTY_FIX)]
    if oversized := _oversized_numbers(data, text, name):
        return None, oversized
    if not isinstance(data, dict):
        return None, [Problem(name, "", f"the top level must be a mapping of keys, not a {type(data).__name__}",
                               "start with 'format: ...' and the file's keys; see sites/README.md or constraints/README.md")]
    if suffix == ".geojson" or (suffix == ".json" and data.get("type") in GEOJSON_TYPES):  # GeoJSON saved as .json
        data, more = geojson_to_site(data, name)
        problems.extend(more)
        if not data:  # not a FeatureCollection: nothing more to say about a site it does not hold
            return None, problems
        problems.extend(_complete_site_fields(data, p))
    logger.debug("read %s: %d top-level keys, %d problems", name, len(data), len(problems))
    return data, problems
