"""Text cells of the CSV files the tool writes (``pairs.csv``, ``firms.csv``, a batch's
``results.csv`` and ``pareto.csv``), safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is taken by Excel
and LibreOffice as a formula: a firm named ``=HYPERLINK("http://...")`` or ``-2+3`` would run or
show as a formula, not as its name (CSV injection). As OWASP recommends, such a *text* cell is
written with a single quote before it (``'=HYPERLINK(...)``), which spreadsheets show as text;
numbers are never changed (``-12.5`` stays a number), nor is a text that is a plain number
(a swept value ``"-1500"``: a spreadsheet reads it as the number, no formula). A text already starting with quotes before
one of those characters gets one more, so :func:`read_cell` gives back exactly what was written
(``siteopt render`` reads ``pairs.csv`` and ``firms.csv`` back).
"""

from __future__ import annotations

import logging
import re
from typing import Final

logger = logging.getLogger(__name__)

__all__ = ["FORMULA_STARTS", "guard_cell", "read_cell"]

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


_PLAIN_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _guarded(text: str) -> bool:
    """Whether ``text`` (after any quotes it starts with) starts like a formula and is no plain number."""
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(bare) is None


def guard_cell(text: str) -> str:
    """A text cell as written to a CSV file: with a single quote before it when it starts like a
    formula (``"=1+2"`` -> ``"'=1+2"``), else as it is. Only for text, never for numbers."""
    return "'" + text if _guarded(text) else text


def read_cell(text: str) -> str:
    """A text cell as :func:`guard_cell` was given it (``"'=1+2"`` -> ``"=1+2"``)."""
    return text[1:] if text.startswith("'") and _guarded(text[1:]) else text
