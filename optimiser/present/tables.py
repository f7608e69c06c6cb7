"""The table cells the report and comparison templates draw (``macros.html.j2``'s ``table``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["Cell", "Header", "Table", "num_cell"]


@dataclass(frozen=True)
class Header:
    """A column heading; ``numeric`` columns are right-aligned."""

    text: str
    numeric: bool = False


@dataclass(frozen=True)
class Cell:
    """One table cell of the templates (``text`` is escaped when rendered).

    Attributes:
        text: what the cell shows.
        numeric: right-aligned, tabular figures.
        sort: the value the sorting script sorts by (default: the text).
        cls: extra ``td`` classes (``better``, ``worse``, ``best``).
        wrap: an element around the text (``strong`` or ``code``).
        span: the class of a ``span`` around the text (``ok``, ``fail``, ``note``).
        header: a row heading (``th scope=row``).
        group: sorted before ``sort``: a column mixing units or currencies (metres and staff,
            £ and $) keeps each together instead of ordering 300 staff among metres.
    """

    text: str
    numeric: bool = False
    sort: float | int | str | None = None
    cls: str = ""
    wrap: str = ""
    span: str = ""
    header: bool = False
    group: str = ""

    @property
    def classes(self) -> str:
        return " ".join(c for c in ("n" if self.numeric else "", self.cls) if c)


def num_cell(text: str, value: Any, *, cls: str = "", group: str = "") -> Cell:
    """A numeric cell sorted by ``group``, then ``value`` (an empty sort key when there is none)."""
    return Cell(text, numeric=True, sort=value if value is not None else "", cls=cls, group=group)


@dataclass
class Table:
    """Headings and rows of cells, as the ``table`` macro draws them."""

    headers: list[Header]
    rows: list[list[Cell]] = field(default_factory=list)
    row_pairs: list[str] = field(default_factory=list)
    """Per row, the firm pair ``a|b`` it is about (the pair table drives the interactive map)."""
