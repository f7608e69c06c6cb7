"""Numbers written as text (``employees: "300"``, ``budget: "1500000"``), as spreadsheet and GIS
exports write text columns: which texts the reader takes as the number, and which it refuses as
ambiguous.

A number in quotes is read as that number; the JSON Schema (:func:`textual_numbers`) says the
same, so an editor checking a file against it agrees with ``siteopt validate`` (of a text's range,
the schema checks its sign against a lower bound of zero; other limits only ``siteopt validate``,
see :func:`_sign_guard`). One form is refused
although it parses: a point or comma followed by exactly three digits and nothing else
(``"1.500"``, ``"1,500"``) is one and a half with a decimal point, and fifteen hundred in German
and much of European notation. Scenarios written in millions are supported, so either may be meant;
the problem names both readings instead of guessing. A number written as a YAML number
(``budget: 1.5``) is no text and is never refused. The check is made on a field's own value and
on each number of a list or mapping alike, not in coordinates: a longitude written as
``"51.500"`` has no thousands reading.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

logger = logging.getLogger(__name__)

__all__ = ["AMBIGUOUS_NUMBER", "FLOAT_TEXT", "INT_TEXT", "ambiguous_readings", "takes_text", "textual_numbers"]

AMBIGUOUS_NUMBER: Final = "ambiguous_number"
"""Error type of a text number with two readings (raised by :mod:`optimiser.inputs.schema`)."""
FLOAT_TEXT: Final = r"\s*[+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*"
"""A number as text: ``"300"``, ``" 2.5 "``, ``"1e6"``, ``"1_500"``."""
INT_TEXT: Final = r"\s*[+-]?\d+(?:_\d+)*(?:\.0+)?\s*"
"""A whole number as text: ``"300"``, ``"300.0"``, ``"1_500"``."""
_AMBIGUOUS: Final = r"\s*([+-]?)([1-9]\d{0,2})([.,])(\d{3})\s*"
"""One to three digits (not a lone zero), a point or comma, exactly three digits."""
_AMBIGUOUS_WHOLE: Final = r"\s*([+-]?)([1-9]\d{0,2})([.,])(000)\s*"
"""The ambiguous texts a whole-number field would take (``"1.000"``: 1, or 1000)."""


def ambiguous_readings(text: str, *, whole: bool = False) -> tuple[str, str] | None:
    """The two numbers an ambiguous text stands for, ``(thousands, decimal)``: ``"1.500"`` ->
    ``("1500", "1.5")``, ``"-2,250"`` -> ``("-2250", "-2.25")``; ``None`` when it is not one.
    ``whole``: for a whole-number field, where only ``"N.000"`` (or ``"N,000"``) has two readings
    (``"1.500"`` is no whole number, so it can only be 1500, and is refused so already)."""
    m = re.fullmatch(_AMBIGUOUS_WHOLE if whole else _AMBIGUOUS, text)
    if m is None:
        return None
    sign, head, _, tail = m.groups()
    decimal = f"{head}.{tail}".rstrip("0").rstrip(".")
    return f"{sign}{head}{tail}", f"{sign}{decimal}"


def takes_text(text: str, *, whole: bool, ambiguous: bool = True) -> bool:
    """Whether ``text`` is read as a number (see the module docstring): a field's own value or an
    item of a list of numbers; ``ambiguous=False`` for a coordinate, where ``"51.500"`` is 51.5."""
    return re.fullmatch(INT_TEXT if whole else FLOAT_TEXT, text) is not None and (
        not ambiguous or ambiguous_readings(text, whole=whole) is None)


_ZERO_FLOAT: Final = r"(?:0+(?:_0+)*(?:\.0*)?|\.0+)(?:[eE][+-]?\d+)?"
"""A text that is zero (``"0"``, ``"0.00"``, ``".0"``, ``"0e5"``), as FLOAT_TEXT writes numbers."""
_ZERO_INT: Final = r"0+(?:_0+)*(?:\.0+)?"
"""A whole-number text that is zero."""


def _sign_guard(node: dict[str, Any], whole: bool) -> str:
    """Lookaheads refusing the texts below a field's lower bound of zero (``"-5"`` where the
    field is >= 0; also ``"0"`` where it is > 0, or >= 1); empty for a field without one. Other
    limits (``maximum``, ``minimum: 100``) cannot be compared by a pattern: a text may have an
    exponent (``"0.00001e11"``), and comparing its zeros with its exponent is no regular language."""
    zero = _ZERO_INT if whole else _ZERO_FLOAT
    lo, above = node.get("minimum"), node.get("exclusiveMinimum")
    if (above is not None and above >= 0) or (lo is not None and lo > 0):
        return rf"(?!\s*-)(?!\s*\+?{zero}\s*$)"
    if lo is not None and lo == 0:
        return rf"(?!\s*-(?!{zero}\s*$))"
    return ""


def _text_branch(node: dict[str, Any], scalar: bool) -> dict[str, Any]:
    """``node`` (a number or integer schema) as "that number, or text that is one"."""
    whole = node.get("type") == "integer"
    body = INT_TEXT if whole else FLOAT_TEXT
    guard = _sign_guard(node, whole)
    ambiguous = f"(?!{_AMBIGUOUS_WHOLE if whole else _AMBIGUOUS}$)" if scalar else ""
    pattern = f"^{ambiguous}{guard}{body}$"
    checked = "its sign is checked here, its other limits by siteopt validate" if guard else "its range is checked by siteopt validate"
    outer: dict[str, Any] = {k: node[k] for k in ("description", "title", "default") if k in node}
    inner = {k: v for k, v in node.items() if k not in outer}
    return {**outer, "anyOf": [inner, {"type": "string", "pattern": pattern, "description": f"The number as text ({checked})."}]}


def _is_position(node: dict[str, Any]) -> bool:
    """Whether ``node`` is an array of two or three numbers: a coordinate position."""
    items = node.get("items")
    return (node.get("type") == "array" and node.get("maxItems", 99) <= 3 and isinstance(items, dict)
            and items.get("type") in ("number", "integer"))


def textual_numbers(node: Any, scalar: bool = True) -> Any:
    """A JSON Schema in which every number and integer may also be given as text the reader takes
    (``scalar``: an ambiguous text is refused, as it is in a field's own value, each item of a list
    of numbers and each value of a mapping; not in a coordinate position, :func:`_is_position`)."""
    if isinstance(node, list):
        return [textual_numbers(n, scalar) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in ("number", "integer"):
        return _text_branch(node, scalar)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {k: textual_numbers(v, True) for k, v in value.items()}
        elif key in ("items", "prefixItems"):
            out[key] = textual_numbers(value, not _is_position(node))
        elif key == "additionalProperties":
            out[key] = textual_numbers(value, True)
        elif key == "patternProperties":  # a mapping keyed by id (firm_changes.employees)
            out[key] = {k: textual_numbers(v, True) for k, v in value.items()}
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = textual_numbers(value, scalar)
        else:
            out[key] = value
    return out
