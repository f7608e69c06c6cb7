"""Problems in the user's terms: pydantic errors, unknown references and duplicate ids.

:func:`pydantic_problems` turns a pydantic ``ValidationError`` into one
:class:`~optimiser.errors.Problem` per offending field. It reads only pydantic's public error
fields (``loc``, ``type``, ``msg``, ``ctx``, ``input``) and the models' own annotations: it
walks ``model_fields`` along each error's ``loc`` to learn which model a location is in (for
"did you mean" hints) and to recognise the tags of the schema's tagged unions
(:data:`~optimiser.inputs.schema.PointLike`, :data:`~optimiser.inputs.schema.CountLike`), which
are names the schema chose. The only other ``loc`` item pydantic adds is the documented
``"[key]"`` after a dict key that fails validation.
"""

from __future__ import annotations

import datetime
import difflib
import json
import logging
import math
import re
import types
import typing
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Tag
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from optimiser.errors import Problem
from optimiser.inputs.currency import DEFAULT_CURRENCY, ISO_4217_CODES, SYMBOL_CURRENCIES, symbol_code
from optimiser.inputs.limits import plain_number
from optimiser.inputs.number_text import AMBIGUOUS_NUMBER, ambiguous_readings

logger = logging.getLogger(__name__)

BOOL_FOR_NUMBER = "bool_for_number"
"""Error type of a true/false where a number is needed (raised by :mod:`optimiser.inputs.schema`)."""
DICT_KEY_LOC = "[key]"
"""The ``loc`` item pydantic appends when a dict key (not its value) fails validation."""

UNION_TEXT = {
    "location": 'must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "entrances": 'each entrance must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "existing": 'each must be a point: [x, y] or {"type": "Point", "coordinates": [x, y]}',
    "count": "must be a positive whole number or {min: N, max: M} with 0 <= min <= max, max > 0",
}
"""What a two-form field must be, by field name, when its value fits neither form."""

_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_SIMPLE = {
    "int_type": "must be a whole number", "int_parsing": "must be a whole number", "int_from_float": "must be a whole number",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "string_type": "must be text", "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys", "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
}
"""Error types whose message is a fixed text followed by ", got <value>"."""


# ------------------------------------------------------------------ suggestions and name lists

SIMILARITY_CUTOFF = 0.75
"""A name is suggested for a misspelling only this close (difflib ratio): ``employes`` ->
``employees`` (0.94), never ``cost`` -> ``count`` (0.67)."""
SYNONYMS = {
    "price": "cost", "capex": "cost", "staff": "employees", "headcount": "employees", "jobs": "employees",
    "shape": "geometry", "geom": "geometry", "polygon": "geometry", "line": "geometry", "point": "location",
    "position": "location", "doors": "entrances", "entrance": "entrances", "number": "count", "quantity": "count",
}
"""Words users write for a key of the formats (used only when the key is among the known ones)."""
MAX_FIELD_ERRORS = 1000
"""A file's schema errors (pydantic's) turned into problems; more are counted in one line. A
garbage file can have millions, and each would cost a millisecond (its did-you-mean) and a line."""
LIST_LIMIT = 12
"""Hint lists name this many and then say how many more there are."""


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one character changed, added, dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` most likely means, or ``None`` when none is close.

    In order: the same name in another case; a known name that is ``name`` plus a unit suffix
    (``width`` -> ``width_m``); a known synonym (``staff`` ->
    ``employees``); a name one typing slip away (``hs3`` -> ``hs2``); the closest spelling at
    :data:`SIMILARITY_CUTOFF` or better.
    """
    known = list(dict.fromkeys(str(k) for k in known))
    low = name.lower()
    same = [k for k in known if k.lower() == low]
    if same:
        return same[0]
    with_unit = [k for k in known if k.lower().startswith(low + "_")]
    if len(with_unit) == 1:
        return with_unit[0]
    if SYNONYMS.get(low) in known:
        return SYNONYMS[low]
    slips = [k for k in known if len(name) >= 3 and _one_edit(low, k.lower())]
    if len(slips) == 1:
        return slips[0]
    near = difflib.get_close_matches(name, known, n=1, cutoff=SIMILARITY_CUTOFF)
    return near[0] if near else None


def suggest_path(path: Path) -> Path | None:
    """The file or folder next to a missing ``path`` it most likely means, or ``None``.

    The same name in another case; the same stem with another suffix (``site.yml`` ->
    ``site.yaml``); else a name with the same suffix whose stem :func:`suggest` finds close, so a
    shared ``.yaml`` never makes two unrelated names look alike.
    """
    try:
        names = sorted(c.name for c in path.parent.iterdir())
    except OSError:
        return None
    low = path.name.lower()
    same = [n for n in names if n.lower() == low] or [n for n in names if Path(n).stem.lower() == path.stem.lower()]
    if same:
        return path.parent / same[0]
    stems = {Path(n).stem: n for n in names if Path(n).suffix.lower() == path.suffix.lower()}
    near = suggest(path.stem, stems) if path.stem else None
    return path.parent / stems[near] if near is not None else None


def name_list(names: Iterable[str], limit: int = LIST_LIMIT) -> str:
    """``a, b, c`` for up to ``limit`` names, then ``... and N more`` (never a silent cut)."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" ... and {len(names) - limit} more"


# ------------------------------------------------------------------ paths


def format_xy(x: float, y: float, *, degrees: bool = False) -> str:
    """A position for a message: ``(690280, 5335610)`` in whole metres, ``(8.50000, 47.40000)``
    in degrees (5 decimals, about 1 m); a value too large for a real place (1e12 or more) keeps
    three significant figures (``1e+308``)."""
    return f"({format_coord(x, degrees=degrees)}, {format_coord(y, degrees=degrees)})"


def format_coord(v: float, *, degrees: bool = False, decimals: int = 5) -> str:
    """One coordinate as :func:`format_xy` writes it (``decimals`` places of degrees)."""
    if not abs(v) < 1e12:
        return f"{v:.3g}"
    return f"{v:.{decimals}f}" if degrees else f"{v:.0f}"


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
    """The raw value at ``loc`` in ``data``; ``None`` if there is none."""
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _which(data: Any, loc: Sequence[Any]) -> str:
    """``" (firm 'mclaren')"`` when the list item at ``loc``'s first index has an id."""
    for i, part in enumerate(loc):
        if isinstance(part, int) and i > 0:
            item = _get(data, loc[: i + 1])
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                kind = str(loc[i - 1]).rstrip("s").replace("_", " ")
                return f" ({kind} {item['id']!r})"
            break
    return ""


# ------------------------------------------------------------------ walking the models


def _tags(annotation: Any) -> dict[str, Any]:
    """``{tag: branch type}`` of a tagged union annotation; ``{}`` for anything else."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _tags(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return {}
    out: dict[str, Any] = {}
    for member in typing.get_args(annotation):
        if typing.get_origin(member) is typing.Annotated:
            for meta in member.__metadata__:
                if isinstance(meta, Tag):
                    out[meta.tag] = member
    return out


def _bare(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` metadata and without ``None`` (``X | None`` -> ``X``)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


@dataclass
class _Located:
    """Where a pydantic error is, in the user's terms.

    Attributes:
        loc: the location without union tags (what the user wrote).
        owner: the model whose field (or unknown key) the last item of ``loc`` names.
        union_loc: the location of the tagged union value the error lies in, if any.
        union_branch_is_model: whether the union's chosen branch is a model (a mapping).
    """

    loc: tuple[Any, ...]
    owner: type[BaseModel] | None = None
    union_loc: tuple[Any, ...] | None = None
    union_branch_is_model: bool = False


def locate(model: type[BaseModel], loc: Sequence[Any]) -> _Located:
    """Walk ``model``'s fields along a pydantic error ``loc``.

    Args:
        model: the model validated (e.g. :class:`~optimiser.inputs.schema.SiteFile`).
        loc: the error's ``loc``.

    Returns:
        The location without union tags, the model owning its last key, and the tagged union
        the error lies in (if any).
    """
    out = _Located(())
    clean: list[Any] = []
    cur: Any = model
    for part in loc:
        tags = _tags(cur)
        if isinstance(part, str) and part in tags:
            if out.union_loc is None:
                out.union_loc = tuple(clean)
                out.union_branch_is_model = _is_model(_bare(tags[part]))
            cur = tags[part]
            continue
        if part == DICT_KEY_LOC:
            continue
        clean.append(part)
        cur = _bare(cur)
        if _is_model(cur):
            out.owner = cur
            fld = cur.model_fields.get(part) if isinstance(part, str) else None
            cur = fld.annotation if fld is not None else None
        elif typing.get_origin(cur) is list and isinstance(part, int):
            cur = typing.get_args(cur)[0]
        elif typing.get_origin(cur) is dict:
            cur = typing.get_args(cur)[1]
        else:
            cur = None
    out.loc = tuple(clean)
    return out


# ------------------------------------------------------------------ error texts


def _bound(ctx: dict[str, Any]) -> str:
    """The bound of a range error (its context's one value) as a reader writes it: ``604,800``
    and ``1,000,000,000``, not ``604800.0`` and ``1000000000.0``; ``"?"`` without one."""
    if not ctx:
        return "?"
    value = next(iter(ctx.values()))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return str(value)
    return plain_number(value)


def _last_key(loc: tuple[Any, ...], default: str) -> str:
    """The innermost key (not list index) of an error location."""
    return next((str(p) for p in reversed(loc) if isinstance(p, str)), default)


def _shown(value: Any) -> str:
    """A value as a problem quotes it: JSON, at most 60 characters; a whole number too long for
    Python to print (a 5,000-digit hexadecimal reads, but does not print) is said to be so."""
    if isinstance(value, (datetime.date, datetime.time)):  # YAML's 2024-05-01
        return value.isoformat()
    if not (isinstance(value, (int, float, str, bool)) or value is None):
        return type(value).__name__
    try:
        text = json.dumps(value, ensure_ascii=False)[:60]  # "£4m" as typed, not "\u00a34m"
        # what cannot be seen stays escaped: "3\u200b0" (a zero-width space pasted in) is not shown as "30"
        return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)[:60]
    except ValueError:
        return f"a whole number of about {value.bit_length() * 0.30103:,.0f} digits" if isinstance(value, int) else "?"


MISSING_REASON = "required field is missing"
"""The reason of a required field that is not given."""


def describe(err: ErrorDetails) -> str:
    """One pydantic error as a reason in the user's terms, e.g. ``must be > 0, got -3``."""
    t, ctx = err["type"], err.get("ctx") or {}
    given = err.get("input")
    shown = _shown(given)
    if t == "missing":
        return MISSING_REASON
    if t in _BOUNDS:
        return f"must be {_BOUNDS[t]} {_bound(ctx)}, got {shown}"
    if t == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {shown}"
    if t in _SIMPLE:
        return f"{_SIMPLE[t]}, got {shown}"
    if t == "finite_number":
        return "must be a finite number"
    if t == "too_short":
        n = ctx.get("min_length")
        return f"needs at least {n} item{'' if n == 1 else 's'}, got {ctx.get('actual_length')}"
    if t == "too_long":
        return f"allows at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
    if t == "string_too_short":
        return "must not be empty"
    if t == "string_pattern_mismatch":
        return f"{shown} is not a valid id (ASCII letters, digits, '_', '-', '.', starting with a letter or digit)"
    if t == "string_too_long":
        return f"has {len(given) if isinstance(given, str) else '?'} characters, at most {ctx.get('max_length')} allowed"
    if t == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    if t == BOOL_FOR_NUMBER:
        return f"must be a number, got {ctx.get('value')}"
    if t == "int_parsing_size":
        return f"is far too large for a whole number here, got {shown}"
    if t == AMBIGUOUS_NUMBER:
        return _two_readings(str(ctx.get("text")), str(ctx.get("thousands")), str(ctx.get("decimal")))
    return str(err.get("msg", t))


def _two_readings(text: str, thousands: str, decimal: str) -> str:
    """The reason of a text number that reads two ways (``"1.500"``: 1500 or 1.5)."""
    if "," in text:
        return (f"{_shown(text)} is ambiguous: {thousands} with a comma between thousands (as in English), "
                f"or {decimal} with a decimal comma (as in much of Europe)")
    return (f"{_shown(text)} is ambiguous: {thousands} with a point between thousands (as in Germany and much of "
            f"Europe), or {decimal} with a decimal point")


_SEPARATORS = r"[,'’ \u00a0\u202f_]"
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:" + _SEPARATORS + r"\d{3})+(?:\.\d+)?")
"""A number written with thousands separators (``"1,500"``, ``"1 500"``, ``"1'500"``): a quoted plain
number (``"300"``) is read as the number, this one is refused with the number to write."""


_SYMBOL_CLASS = re.escape("".join(SYMBOL_CURRENCIES))
"""The currency symbols an amount may start with (a regex character class's content)."""
_AMOUNT = re.compile(r"(?:([" + _SYMBOL_CLASS + r"]|[A-Z]{3})\s*)?((?:\d{1,3}(?:" + _SEPARATORS + r"\d{3})+|\d+)(?:\.\d+)?)\s*(k|m|mn|bn)?",
                     re.IGNORECASE)
"""An amount as in a report; separators only between groups of three digits ("£1,5m", a decimal
comma, is not read as 15 million but by :data:`_COMMA_AMOUNT`)."""
_COMMA_AMOUNT = re.compile(r"(?:([" + _SYMBOL_CLASS + r"]|[A-Z]{3})\s*)?\d+,\d{1,2}\s*(k|m|mn|bn)?", re.IGNORECASE)
"""An amount with a decimal comma and a symbol or unit (``"€1,2m"``, ``"2,5k"``): one or two digits
after the comma are no thousands group."""
_UNITS = {None: 1, "k": 10**3, "m": 10**6, "mn": 10**6, "bn": 10**9}
_MONEY_KEYS = frozenset({"budget", "budget_gbp", "cost", "cost_gbp"})


def _plain_amount(text: str) -> str | None:
    """The plain number an amount written as in a report stands for (``"£1.2m"``, ``"USD 400k"``,
    ``"€2,500,000"``: ``1200000``, ``400000``, ``2500000``), or ``None`` when it is not one."""
    m = _AMOUNT.fullmatch(text.strip())
    if m is None:
        comma = _COMMA_AMOUNT.fullmatch(text.strip())  # "€1,2m": a decimal comma, never a thousands group
        return _plain_amount(text.strip().replace(",", ".")) if comma and (comma[1] or comma[2]) else None
    digits = re.sub(_SEPARATORS, "", m[2])
    if not re.fullmatch(r"\d+(?:\.\d+)?", digits):
        return None
    value = Decimal(digits) * _UNITS[m[3].lower() if m[3] else None]  # "£4.1m": 4100000, not 4099999.9999999995
    return f"{value.normalize():f}"


_POINT_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?|[+-]?\d{1,3}(?:\.\d{3})+,\d+")
"""A number grouped with points (``"3.000.000"``, ``"1.500,50"``, as written in Germany and much of
Europe): unambiguous with two groups or a decimal comma (``"1.500"`` alone is one and a half)."""
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,(?:\d{1,2}|\d{4,})")
"""A decimal comma (``"3,5"``); three digits after the comma are a thousands group (``_GROUPED``)."""


def _continental(text: str, *, whole: bool = False) -> str | None:
    """What to write for a number in European notation, or ``None`` when ``text`` is not one;
    ``whole``: a whole number is asked for, so one group (``"1.300"``) is a thousands group too."""
    t = text.strip()
    if _POINT_GROUPED.fullmatch(t) or (whole and re.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+", t)):
        return (f"write {t.replace('.', '').replace(',', '.')}, without the points between thousands"
                + (" and with a decimal point, not a comma" if "," in t else ""))
    if not whole and _DECIMAL_COMMA.fullmatch(t):
        return f"write {t.replace(',', '.')}: a decimal point, not a comma"
    return None



def _foreign_currency(text: str, currency: str) -> str | None:
    """The symbol or code an amount is written with (``"$1.2m"``, ``"GBP 400k"``) when it is not
    ``currency``'s, else ``None``: writing the number alone would relabel it."""
    m = _AMOUNT.fullmatch(text.strip()) or _COMMA_AMOUNT.fullmatch(text.strip())
    if m is None or m[1] is None:
        return None
    written = m[1] if m[1] in SYMBOL_CURRENCIES else m[1].upper()
    return None if currency in SYMBOL_CURRENCIES.get(written, (written,)) else written


def _money_fix(given: str, plain: str, currency: str | None) -> str:
    """The fix for an amount written as in a report: the number alone; when it is written in
    another currency than the scenario's, converting it first (or naming its currency)."""
    cur = currency or DEFAULT_CURRENCY
    written = _foreign_currency(given, cur)
    if written is None:
        return f"write {plain}: the amount alone, in the scenario's currency, without symbol, separators or units"
    why = f"the scenario's currency is {cur}" + (" (the default)" if currency is None else "")
    code = symbol_code(written) or written
    other = f"set currency: {code} if every amount is in {written}, or " if currency is None and code in ISO_4217_CODES else ""
    return (f"it is written in {written} but {why}: {other}convert it to {cur} and write the amount alone, without "
            f"symbol or units ({plain} only if the figure is in {cur} already)")


def _ambiguous_amount_fix(given: str, field: str) -> str | None:
    """The fix for an amount written as in a report whose figure reads two ways (``"€1.500"``,
    ``"£1,500k"``: the point or comma a thousands separator or a decimal one), else ``None``."""
    m = _AMOUNT.fullmatch(given.strip())
    readings = ambiguous_readings(m[2]) if m else None
    if m is None or readings is None:
        return None
    a, b = (_plain_amount(given.strip().replace(m[2], r, 1)) for r in readings)
    return (f"{m[2]} may be {readings[0]} or {readings[1]}: write the amount meant alone, in the scenario's currency "
            f"(converted first if it is in another), as a plain number: {field}: {a} or {field}: {b}")


def _whole_exponent(text: str) -> int | None:
    """The whole number a text in exponent notation stands for (``"1e6"``, ``"2.5e3"``, which
    YAML reads as text), or ``None``."""
    if not re.fullmatch(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d{1,2}", text.strip()):
        return None
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 1e15 else None


def fix_for(err: ErrorDetails, field: str, currency: str | None = None) -> str | None:
    """What to write instead, for one pydantic error at key ``field`` (the fix half of a problem);
    ``currency`` is the file's ``currency`` as written (``None``: not given, pounds)."""
    t, ctx = err["type"], err.get("ctx") or {}
    if t == "missing":
        return f"add {field}; sites/README.md and constraints/README.md list every key"
    if t == AMBIGUOUS_NUMBER:
        return (f"write the number meant as a plain number, without quotes or separators: {field}: "
                f"{ctx.get('thousands')} or {field}: {ctx.get('decimal')}")
    if t == "less_than_equal" and field == "width_m":
        return (f"a barrier's band is at most {_bound(ctx)} m wide, the widest a walkable site spans: check the "
                "width for extra zeros or another unit")
    if t in _BOUNDS:
        return f"set {field} to a number {_BOUNDS[t]} {_bound(ctx)}"
    if t == "literal_error":
        # the reason lists the choices already: the fix is the one meant, when one is close
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        given = err.get("input")
        close = suggest(given, choices) if isinstance(given, str) and choices else None
        return f"did you mean {close!r}?" if close else f"set {field} to one of those"
    if t == "finite_number":
        return f"write {field} as an ordinary number, not nan or inf"
    if t in ("int_parsing", "float_parsing") and isinstance(given := err.get("input"), str) and _GROUPED.fullmatch(given.strip()):
        return f"write {re.sub(_SEPARATORS, '', given.strip())}, without the thousands separator"
    if t in ("int_parsing", "float_parsing") and isinstance(given, str) and (
            plain := _continental(given, whole=t == "int_parsing")) is not None:
        return plain
    if t == "float_parsing" and field in _MONEY_KEYS and isinstance(given, str) and (plain := _plain_amount(given)) is not None:
        return _ambiguous_amount_fix(given, field) or _money_fix(given, plain, currency)
    if t == "int_parsing" and isinstance(given, str) and (whole := _whole_exponent(given)) is not None:
        return f"write {whole}: a whole number is written out, without an exponent"
    if t == "int_parsing_size":
        return f"check {field} for extra zeros or a wrong exponent"
    if t == "string_type" and isinstance(given := err.get("input"), (int, float, datetime.date)):
        if isinstance(given, bool):  # YAML's yes, no, on, off
            return f"put {field} in quotes (YAML reads yes, no, on and off as true or false)"
        text, kind = (given.isoformat(), "date") if isinstance(given, datetime.date) else (given, "number")
        if tuple(err.get("loc", ()))[-1:] == (DICT_KEY_LOC,):
            return f'put the key in quotes: "{text}": ... (unquoted, it is read as a {kind})'
        return f'put {field} in quotes: {field}: "{text}" (unquoted, it is read as a {kind})'
    if t in _SIMPLE:
        return f"write {field} as {_SIMPLE[t].removeprefix('must be ')}"
    if t == "string_pattern_mismatch":
        # only an item's id has a name beside it (a future's name, a facility's type, a reference have none)
        note = " (a name in any script goes in the item's name)" if field == "id" else ""
        given = err.get("input")
        if isinstance(given, str) and given:
            plain = unicodedata.normalize("NFKD", given).encode("ascii", "ignore").decode("ascii")
            plain = re.sub(r"[^A-Za-z0-9_.\-]+", "-", plain).strip("-_.")[:80]
            if plain:
                return f"e.g. {plain!r}{note}"
        return f"use letters, digits, '_', '-' or '.'{note}"
    if t == "string_too_long":
        return f"shorten {field} to at most {ctx.get('max_length')} characters"
    if t == BOOL_FOR_NUMBER:
        return f"write {field} as a number (YAML reads yes, no, on and off as true or false)"
    if t == "too_short" and field == "futures":
        return "list at least one future (name, overrides), or leave futures out for a plan for this scenario alone"
    if t == "too_short" and field == "coordinates":
        ring = isinstance(tuple(err.get("loc", ()))[-1:][0] if err.get("loc") else None, int)
        return ("a ring needs at least 4 positions: 3 or more corners, then the first one again to close it" if ring
                else f"give at least {ctx.get('min_length')} positions")
    if t == "too_short" and field == "types":  # a site's crossing rule
        return "list the types it offers (footbridge, signalised, underpass, zebra), or drop the rule"
    if t == "too_short" and field == "entrances":
        return "give at least one entrance point, or leave entrances out: the firm's location is then its entrance"
    if t == "value_error" and field == "count":
        return "write count as N or {min: N, max: M} with min <= max"
    return None


def _field_problem(err: ErrorDetails, where: _Located, data: Any, file: str) -> Problem:
    """The problem of one error at a plain (or model-branch) location."""
    loc = where.loc
    path = format_path(loc)
    if err["type"] == "extra_forbidden":
        hint = None
        if where.owner is not None:
            near = suggest(str(loc[-1]), where.owner.model_fields)
            hint = f"did you mean {near!r}?" if near else "allowed keys: " + ", ".join(where.owner.model_fields)
        return Problem(file, path, f"unknown key {str(loc[-1])!r}" + _which(data, loc), hint)
    key = _last_key(loc, "the value")
    if _coordinate_text(err, where):  # one coordinate of a point: the hint says so, not "write location as a number"
        key = f"each coordinate of {key}"
    currency = data.get("currency") if isinstance(data, dict) else None
    return Problem(file, path, describe(err) + _which(data, loc),
                   fix_for(err, key, currency if isinstance(currency, str) and currency in ISO_4217_CODES else None))


def _coordinate_text(err: ErrorDetails, where: _Located) -> bool:
    """Whether ``err`` is one coordinate of an ``[x, y]`` point that is no number (``"1,500"``,
    ``true``): told at that coordinate, as a number field's own value is, not as "must be a point"."""
    return (err["type"] in ("float_parsing", "float_type", BOOL_FOR_NUMBER) and where.union_loc is not None
            and len(where.loc) == len(where.union_loc) + 1 and isinstance(where.loc[-1], int))


def _union_problem(errs: list[ErrorDetails], union_loc: tuple[Any, ...], data: Any, file: str) -> Problem:
    """One problem for a two-form value that fits neither form."""
    field_name = _last_key(union_loc, "")
    if field_name in UNION_TEXT and all(e["type"] == "finite_number" for e in errs):  # [x, y], but x is 1e400 or NaN
        return Problem(file, format_path(union_loc), "coordinates must be finite numbers" + _which(data, union_loc),
                       "write the coordinates as ordinary numbers, not nan or inf (nor one too large for a number, "
                       "such as 1e400)")
    if all(e["type"] in ("less_than", "less_than_equal") for e in errs):  # the right form, too large: its bound
        return Problem(file, format_path(union_loc), describe(errs[0]) + _which(data, union_loc),
                       fix_for(errs[0], field_name, None))
    text = UNION_TEXT.get(field_name) or "; or ".join(sorted({describe(e) for e in errs}))
    return Problem(file, format_path(union_loc), text + _which(data, union_loc),
                   f"write {field_name} in one of these forms" if field_name in UNION_TEXT else None)


def _is_geometry_model(owner: type[BaseModel] | None) -> bool:
    """Whether ``owner`` is one of the schema's GeoJSON geometry models (``type`` and ``coordinates``)."""
    return owner is not None and set(owner.model_fields) == {"type", "coordinates"}


def _geometry_type_problem(err: ErrorDetails, where: _Located, data: Any, file: str) -> Problem | None:
    """One problem for a geometry of the wrong type (a MultiPolygon where a Polygon is needed ...),
    instead of one for its type and one more for every position that does not fit the other
    type's nesting; ``None`` for any other error."""
    if err["type"] != "literal_error" or not where.loc or where.loc[-1] != "type" or not _is_geometry_model(where.owner):
        return None
    assert where.owner is not None
    expected = typing.get_args(where.owner.model_fields["type"].annotation)
    given = err.get("input")
    if not isinstance(given, str) or len(expected) != 1:
        return None
    want, geom_loc = expected[0], where.loc[:-1]
    parts = _get(data, (*geom_loc, "coordinates"))
    if given == "Multi" + want and isinstance(parts, list) and len(parts) == 1:
        reason, fix = (f"a {given} of one part; a {want} is needed",
                       f"write type: {want} with the part's coordinates (one level of brackets less)")
    elif given == "Multi" + want and isinstance(parts, list):
        owner = str(geom_loc[0]).removesuffix("s").replace("_", " ") if isinstance(geom_loc[0], str) else "item"
        reason, fix = (f"a {given} of {len(parts)} parts; one {want} per {owner} is needed",
                       "split it (QGIS: Vector > Geometry Tools > Multipart to Singleparts) and give each part its own id")
    else:
        reason, fix = f"a {given} where a {want} is needed", f"draw it as a {want}"
    return Problem(file, format_path(geom_loc), reason + _which(data, geom_loc), fix)


_DEPTH = {"Point": (1, "[x, y]"), "LineString": (2, "[[x, y], [x, y], ...]"),
          "Polygon": (3, "[[[x, y], [x, y], [x, y], [x, y]]] (a list of rings, each closed)")}
"""How deep each geometry type nests its coordinates (a position is 1), and how it is written."""


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def _geometry_nesting_problem(where: _Located, data: Any, file: str) -> tuple[Problem, tuple[Any, ...]] | None:
    """One problem (and the geometry's location) for coordinates nested one level too few or too
    many for their type (a Polygon written as a list of positions, without its ring's brackets),
    instead of one per position; ``None`` for any other error."""
    if not _is_geometry_model(where.owner) or "coordinates" not in where.loc:
        return None
    geom_loc = where.loc[:where.loc.index("coordinates")]
    kind = _get(data, (*geom_loc, "type"))
    if kind not in _DEPTH:
        return None
    depth, form = _DEPTH[kind]
    given = _depth(_get(data, (*geom_loc, "coordinates")))
    if given in (0, depth):
        return None
    how = "one level of brackets too few" if given == depth - 1 else "one level of brackets too many" if given == depth + 1 else (
        f"{given} levels of brackets, not {depth}")
    return Problem(file, format_path((*geom_loc, "coordinates")), f"a {kind}'s coordinates with {how}" + _which(data, geom_loc),
                   f"write them as {form}"), geom_loc


def _wrong_geometry_types(errs: Sequence[tuple[ErrorDetails, _Located]], data: Any, file: str
                          ) -> tuple[list[Problem], list[tuple[Any, ...]]]:
    """The problems of geometries of the wrong type or nesting, and their locations (whose other
    errors, about positions nested for another type, say nothing more)."""
    problems, locs = [], []
    for err, where in errs:
        problem = _geometry_type_problem(err, where, data, file)
        if problem is not None:
            problems.append(problem)
            locs.append(where.loc[:-1])
        elif (nested := _geometry_nesting_problem(where, data, file)) is not None and nested[1] not in locs:
            problems.append(nested[0])
            locs.append(nested[1])
    return problems, locs


def pydantic_problems(exc: PydanticValidationError, model: type[BaseModel], data: Any, file: str) -> list[Problem]:
    """Turn a pydantic ValidationError into one :class:`Problem` per offending field.

    Args:
        exc: the error ``model.model_validate(data)`` raised.
        model: the model validated.
        data: the raw mapping validated (read for the ids named in messages).
        file: the file name problems are reported against.

    Returns:
        The problems, in the order of the first error at each field, without repeats. A value
        that may take two forms and fits neither gets one problem saying what it must be.
    """
    errors = exc.errors(include_url=False)
    located = [(err, locate(model, err["loc"])) for err in errors[:MAX_FIELD_ERRORS]]
    problems, wrong_type = _wrong_geometry_types(located, data, file)
    groups: dict[str, list[tuple[ErrorDetails, _Located]]] = {}
    for err, where in located:
        if any(where.loc[:len(g)] == g for g in wrong_type):
            continue
        key_loc = where.union_loc if where.union_loc is not None else where.loc
        groups.setdefault(format_path(key_loc), []).append((err, where))
    for errs in groups.values():
        whole_union = [(e, w) for e, w in errs if w.union_loc is not None and not w.union_branch_is_model]
        if whole_union and not all(_coordinate_text(e, w) for e, w in whole_union):
            union_loc = whole_union[0][1].union_loc
            assert union_loc is not None
            problems.append(_union_problem([e for e, _ in whole_union], union_loc, data, file))
            continue
        problems.extend(_field_problem(e, w, data, file) for e, w in errs)
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.field, p.reason) not in seen:
            seen.add((p.field, p.reason))
            out.append(p)
    if len(errors) > MAX_FIELD_ERRORS:
        out.append(Problem(file, "", f"{len(errors) - MAX_FIELD_ERRORS:,} more problems not listed "
                                     f"(the first {MAX_FIELD_ERRORS:,} of {len(errors):,} are above)",
                           "fix those (is this the right file?) and validate again"))
    logger.debug("%s: %d pydantic errors -> %d problems", file, exc.error_count(), len(out))
    return out


# ------------------------------------------------------------------ references and ids


def unknown_reference(file: str, field: str, kind: str, value: str, known: Iterable[str]) -> Problem:
    """A reference to a ``kind`` (firm, barrier ...) the file does not define, with a did-you-mean."""
    known = list(dict.fromkeys(known))
    near = suggest(value, known)
    if near:
        hint = f"did you mean {near!r}?"
    else:
        hint = f"known {kind}s: {name_list(known)}" if known else f"the file defines no {kind}s"
    return Problem(file, field, f"{kind} {value!r} is referenced but not defined", hint)


def duplicate_ids(items: list[Any], key: str, file: str) -> list[Problem]:
    """Items of the raw list ``key`` whose ``id`` an earlier item already has."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in seen:
                problems.append(Problem(file, f"{key}[{i}].id", f"duplicate id {item['id']!r} (also {key}[{seen[item['id']]}])",
                                        "ids must be unique within a list"))
            else:
                seen[item["id"]] = i
    return problems
