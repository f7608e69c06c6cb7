"""Loading a file into a mapping: YAML, JSON, TOML and (sites) GeoJSON.

Nothing the user gave is silently dropped: a key given twice is a problem, not "the last one
wins". A file that cannot be read (missing, a folder, not UTF-8, malformed, empty, not a
mapping at the top level) gives no mapping and one problem saying why.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import yaml

from optimiser.errors import Problem
from optimiser.inputs.geojson import geojson_to_site
from optimiser.inputs.safefile import MAX_NESTING, UnsafeFile, json_depth, nesting_depth, read_regular_bytes

logger = logging.getLogger(__name__)

_KEEP_ONE = "keep one; nothing is silently dropped"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that records duplicate keys instead of silently keeping the last."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []
        """(key, line, line of its first use) for every key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose own keys are unique; merge keys (``<<: *anchor``) are resolved first, and
    an own key may override a merged one (YAML's merge-key rules)."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            loader.duplicates.append((key, key_node.start_mark.line + 1, seen[key]))
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


def _read_text(p: Path, name: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or why it cannot be read (missing, a folder or another non-regular file,
    over the size limit, not UTF-8, no permission); special files are never read."""
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
        return read_regular_bytes(p).decode("utf-8"), []
    except UnsafeFile as exc:
        return None, [Problem(name, "", exc.reason, exc.hint)]
    except UnicodeDecodeError as exc:
        return None, [Problem(name, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot be read: {exc.strerror or exc}", "check permissions")]


def _too_deep(name: str, depth: int | str) -> _Unparsable:
    return _Unparsable(Problem(name, "", f"nested {depth} levels deep, more than the {MAX_NESTING} allowed",
                               "flatten the file; a site or scenario needs only a few levels"))


def _yaml_depth(text: str) -> int:
    """The deepest nesting of YAML ``text``, from its parse events (no recursion, no objects built)."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


def _parse_json(text: str, name: str) -> tuple[Any, list[Problem]]:
    if (depth := json_depth(text)) > MAX_NESTING:
        raise _too_deep(name, depth)
    dupes: list[str] = []
    data = json.loads(text, object_pairs_hook=lambda kv: _json_no_dupes(kv, dupes))
    return data, [Problem(name, str(k), "key given twice", _KEEP_ONE) for k in dupes]


def _parse_yaml(text: str, name: str) -> tuple[Any, list[Problem]]:
    # flow brackets first (PyYAML's scanner is quadratic in their depth), then the parse events
    if (depth := json_depth(text)) > MAX_NESTING or (depth := _yaml_depth(text)) > MAX_NESTING:
        raise _too_deep(name, depth)
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, [
        Problem(name, str(key), f"key given twice (line {line}, first on line {first})", _KEEP_ONE)
        for key, line, first in loader.duplicates
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
        raise _Unparsable(Problem(name, "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")) from exc
    except RecursionError as exc:  # a parser's own recursion (e.g. TOML arrays thousands deep)
        raise _too_deep(name, "thousands of") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _Unparsable(Problem(name, "", f"malformed TOML: {exc}")) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _Unparsable(Problem(name, "", f"malformed YAML{where}: {what}")) from exc
    raise _Unparsable(Problem(name, "", f"unsupported file type {suffix or '(none)'!r}",
                              "use .yaml, .yml, .json, .toml or (sites) .geojson"))


def load_mapping(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse a YAML/JSON/TOML/GeoJSON file into a mapping, or say why not.

    Args:
        path: the file; its suffix chooses the format. A GeoJSON site is turned into the
            mapping a YAML site file would give (:func:`optimiser.inputs.geojson.geojson_to_site`).

    Returns:
        ``(data, problems)``; ``data`` is ``None`` when the file could not be read at all.
        ``problems`` also lists keys given twice in a readable file.
    """
    name = str(path)
    p = Path(path)
    text, problems = _read_text(p, name)
    if text is None:
        return None, problems
    suffix = p.suffix.lower()
    try:
        data, problems = _parse(text, suffix, name)
    except _Unparsable as exc:
        return None, [exc.problem]
    if data is None:
        return None, [Problem(name, "", "the file is empty", "see sites/README.md for the format")]
    if not isinstance(data, dict):
        return None, [Problem(name, "", f"the top level must be a mapping of keys, not a {type(data).__name__}")]
    if suffix == ".geojson":
        data, more = geojson_to_site(data, name)
        problems.extend(more)
    logger.debug("read %s: %d top-level keys, %d problems", name, len(data), len(problems))
    return data, problems
