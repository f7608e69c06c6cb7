"""Dotted-key overrides of a scenario mapping (``budget_gbp``, ``facilities.0.count``,
``facilities[0].count``): applying them, and checking that a key names a scenario field."""

from __future__ import annotations

import copy
import json
import logging
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel

from optimiser.inputs import schema as S
from optimiser.inputs.messages import suggest

logger = logging.getLogger(__name__)

BRACKET = re.compile(r"\[(\d+)\]")
"""A list index written with brackets, ``facilities[0]``."""
INDEX = re.compile(r"\.(\d+)(?=\.|$)")
"""A list index written as a dotted part, ``facilities.0``."""


def split_key(key: str) -> list[str]:
    """``"facilities[0].count"`` / ``"facilities.0.count"`` -> ``["facilities", "0", "count"]``."""
    return BRACKET.sub(r".\1", key).split(".")


def _set_in_list(cur: list[Any], part: str, where: str, last: bool, value: Any) -> Any:
    if not part.isdigit():
        raise KeyError(f"{where} is a list: index it with a number, e.g. {where}.0")
    i = int(part)
    if i >= len(cur):
        raise KeyError(f"{where} has {len(cur)} item{'s' if len(cur) != 1 else ''}; index {i} is out of range")
    if last:
        cur[i] = copy.deepcopy(value)
        return None
    return cur[i]


MONEY_SPELLINGS = {"budget": "budget_gbp", "budget_gbp": "budget", "cost": "cost_gbp", "cost_gbp": "cost"}
"""A money field and its other spelling (the first format's pounds): an override of either
replaces the amount the file gives, whichever spelling the file used."""


def money_twins(keys: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of ``keys`` that set one money amount in both spellings (``budget`` and
    ``budget_gbp``; ``transit.0.cost`` and ``transit.0.cost_gbp``): contradictory overrides,
    since either replaces the amount (:data:`MONEY_SPELLINGS`)."""
    given = {tuple(split_key(k)): k for k in keys}
    out = []
    for parts, key in given.items():
        other = MONEY_SPELLINGS.get(parts[-1]) if parts else None
        twin = given.get((*parts[:-1], other)) if other else None
        if twin is not None and key < twin:
            out.append((key, twin))
    return out


def _set_in_dict(cur: dict[str, Any], part: str, last: bool, value: Any) -> Any:
    if last:
        cur.pop(MONEY_SPELLINGS.get(part, ""), None)
        cur[part] = copy.deepcopy(value)
        return None
    nxt = cur.get(part)
    if nxt is None:
        nxt = {}
        cur[part] = nxt
    return nxt


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with dotted-key overrides applied.

    Numeric parts index lists (``facilities.0.count``); missing mapping levels are created
    (``layers.hs2`` on a scenario without ``layers``). A money amount replaces the one the file
    gives in either spelling (``budget=2e6`` on a file giving ``budget_gbp``, and the reverse;
    likewise ``cost`` / ``cost_gbp``).

    Args:
        data: the scenario mapping (not changed).
        overrides: dotted key -> value.

    Returns:
        The new mapping.

    Raises:
        KeyError: with a readable message when a part cannot be followed (index out of range,
            a value that is not a mapping or list).
    """
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        parts = split_key(key)
        if not parts or any(p == "" for p in parts):
            raise KeyError(f"{key!r} is not a dotted key")
        cur: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[:depth]) or "the scenario"
            if isinstance(cur, list):
                cur = _set_in_list(cur, part, where, last, value)
            elif isinstance(cur, dict):
                if not last and parts[depth + 1].isdigit() and not isinstance(cur.get(part), list):
                    here = ".".join(parts[: depth + 1])
                    raise KeyError(f"{here} is not a list in the file, so item {parts[depth + 1]} of it cannot be set "
                                   f"(give {here} whole, as a list)")
                cur = _set_in_dict(cur, part, last, value)
            else:
                raise KeyError(f"{where} is a single value ({json.dumps(cur, default=str)[:40]}), it has no {part!r}")
    return out


def _unwrap(t: Any) -> list[Any]:
    """The alternatives of an annotation, with Annotated/Optional stripped."""
    origin = typing.get_origin(t)
    if origin is Annotated:
        return _unwrap(typing.get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(t):
            if a is not type(None):
                out.extend(_unwrap(a))
        return out
    return [t]


def _unknown_field(part: str, parts: list[str], depth: int, models: list[type[BaseModel]]) -> str:
    where = ".".join(parts[:depth])
    names = sorted({f for m in models for f in m.model_fields})
    near = suggest(part, names)
    hint = f"; did you mean {'.'.join(parts[:depth] + [near])!r}?" if near else f"; allowed: {', '.join(names)}"
    return f"unknown scenario field {part!r}" + (f" in {where}" if where else "") + hint


def check_key(key: str) -> str | None:
    """Why ``key`` cannot name a scenario field, with a did-you-mean.

    Args:
        key: a dotted override key such as ``budget_gbp`` or ``facilities.0.count``.

    Returns:
        The reason, or ``None`` when the key names a field of the scenario format.
    """
    parts = split_key(key)
    if not parts or any(p == "" for p in parts):
        return f"{key!r} is not a dotted key such as budget_gbp or facilities.0.count"
    alts: list[Any] = [S.ScenarioFile]
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        models = [a for a in alts if isinstance(a, type) and issubclass(a, BaseModel)]
        lists = [a for a in alts if typing.get_origin(a) is list]
        dicts = [a for a in alts if typing.get_origin(a) is dict]
        nxt: list[Any] = []
        if part.isdigit() and lists:
            for a in lists:
                nxt.extend(_unwrap(typing.get_args(a)[0]))
        elif dicts and not models:
            for a in dicts:
                nxt.extend(_unwrap(typing.get_args(a)[1]))
        elif models:
            found = [m for m in models if part in m.model_fields]
            if not found:
                return _unknown_field(part, parts, depth, models)
            for m in found:
                nxt.extend(_unwrap(m.model_fields[part].annotation))
        elif lists:
            return f"{where} is a list: index it with a number, e.g. {where}.0"
        else:
            return f"{where} is a single value; it has no field {part!r}"
        alts = nxt
    return None
