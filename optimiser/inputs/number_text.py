"""Numbers written as text (``employees: "300"``, ``budget: "1500000"``), as spreadsheet and GIS
exports write text columns: which texts the reader takes as the number, and which it refuses as
ambiguous.

A number in quotes is read as that number; the JSON Schema (:func:`textual_numbers`) says the
same, so an editor checking a file against it agrees with ``siteopt validate`` (a text's range is
checked by ``siteopt validate`` only: a pattern cannot compare numbers). One form is refused
although it parses: a point or comma followed by exactly three digits and nothing else
(``"1.500"``, ``"1,500"``) is one and a half with a decimal point, and fifteen hundred in German
and much of European notation. Scenarios written in millions are supported, so either may be meant;
the problem names both readings instead of guessing. A number written as a YAML number
(``budget: 1.5``) is no text and is never refused. The check is made on a field's own value, not in
lists of coordinates: a longitude written as ``"51.500"`` has no thousands reading.
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


def takes_text(text: str, *, whole: bool) -> bool:
    """Whether a field's own value ``text`` is read as a number (see the module docstring)."""
    return re.fullmatch(INT_TEXT if whole else FLOAT_TEXT, text) is not None and ambiguous_readings(
        text, whole=whole) is None


def _text_branch(node: dict[str, Any], scalar: bool) -> dict[str, Any]:
    """``node`` (a number or integer schema) as "that number, or text that is one"."""
    whole = node.get("type") == "integer"
    body = INT_TEXT if whole else FLOAT_TEXT
    pattern = f"^(?!{_AMBIGUOUS_WHOLE if whole else _AMBIGUOUS}$){body}$" if scalar else f"^{body}$"
    outer: dict[str, Any] = {k: node[k] for k in ("description", "title", "default") if k in node}
    inner = {k: v for k, v in node.items() if k not in outer}
    return {**outer, "anyOf": [inner, {"type": "string", "pattern": pattern,
                                       "description": "The number as text (its range is checked by siteopt validate)."}]}


def textual_numbers(node: Any, scalar: bool = True) -> Any:
    """A JSON Schema in which every number and integer may also be given as text the reader takes
    (``scalar``: the node is a field's own value, where an ambiguous text is refused; array
    items and mapping values are not)."""
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
        elif key in ("items", "prefixItems", "additionalProperties"):
            out[key] = textual_numbers(value, False)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = textual_numbers(value, scalar)
        else:
            out[key] = value
    return out
