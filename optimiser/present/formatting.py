"""Text formatting shared by the plans, the report and the comparison: numbers, metres, money
(in the run's currency), per cent, and short names for map labels.

Every formatter takes ``None`` (a figure the run does not have) and returns an en dash.
"""

from __future__ import annotations

import logging
import math
import re
import textwrap
from typing import Any

from optimiser.inputs.currency import DEFAULT_CURRENCY, as_float, money_column, money_short

logger = logging.getLogger(__name__)

__all__ = ["fmt_num", "fmt_m", "fmt_pct", "fmt_money", "fmt_money_column",
           "mpl_text", "short_name", "strip_parens", "one_line", "nice_type",
           "reduction_text", "newly_connected_text", "compared_pairs_text", "as_float"]

DASH = "–"


def fmt_num(value: Any, digits: int = 0) -> str:
    """``1,234`` (``digits`` decimals); an en dash for None or a non-finite number."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def fmt_m(value_m: Any) -> str:
    """A length in metres: ``1,234 m``."""
    return DASH if value_m is None else f"{fmt_num(value_m)} m"


def fmt_pct(value: Any, digits: int = 1, *, share: bool = False) -> str:
    """Per cent; ``share=True`` means ``value`` is a 0-1 share."""
    if value is None:
        return DASH
    try:
        x = float(value) * (100.0 if share else 1.0)
    except (TypeError, ValueError):
        return str(value)
    return f"{x:.{digits}f}%"


def fmt_money(value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    """An amount in ``currency``, short: ``£2.55m``, ``$350k``, ``CHF 900``; an en dash for None."""
    return money_short(value, currency)


def fmt_money_column(values: list[Any], currency: str = DEFAULT_CURRENCY) -> list[str]:
    """Amounts of one table column in one unit and precision (``£0.90m`` beside ``£4.00m``)."""
    return money_column(values, currency)


def mpl_text(text: str) -> str:
    r"""``text`` for a matplotlib text: dollar signs escaped, so ``$59.20m of $60.00m`` is not
    read as mathtext (matplotlib shows ``\$`` as a plain ``$``)."""
    return text.replace("$", r"\$")


def strip_parens(name: Any) -> str:
    """'AMRC with Boeing (original building, Wallis Way)' -> 'AMRC with Boeing' (labels only)."""
    full = " ".join(str(name).split())
    short = re.sub(r"\s*\([^)]*\)", "", full).strip(" ,;-")
    return short if len(short) >= 4 else full


def short_name(name: str, width: int = 18) -> str:
    """Two lines at most, so labels stay short on the plan."""
    name = strip_parens(name)
    if len(name) <= width + 2:
        return name
    lines = textwrap.wrap(name, width)
    if len(lines) <= 2:
        return "\n".join(lines)
    return lines[0] + "\n" + textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")


def one_line(name: Any, width: int = 22) -> str:
    """One line of at most ``width`` characters (parenthesised parts dropped)."""
    return textwrap.shorten(strip_parens(name), width, placeholder="…")


def nice_type(kind: Any) -> str:
    """``shared_lab`` -> ``shared lab``."""
    return str(kind or "").replace("_", " ")


def reduction_text(reduction_pct: float | None) -> str:
    """' (−5.0%)' for a 5% reduction, ' (+2.0%)' for an increase, ' (no change)' near 0."""
    if not isinstance(reduction_pct, int | float) or not math.isfinite(reduction_pct):
        return ""
    if abs(reduction_pct) < 0.05:
        return " (no change)"
    return f" (−{reduction_pct:.1f}%)" if reduction_pct > 0 else f" (+{-reduction_pct:.1f}%)"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def newly_connected_text(walk: Any) -> str:
    """'2 of 3 firm pairs newly connected (mean walk 878 m)' for a run whose plan gives pairs
    their first walk (``walk`` a :class:`~optimiser.present.metrics.WalkMetrics`); '' when it
    connects none (they are not in the before/after means, which compare like with like)."""
    n = walk.pairs_newly_connected
    if not n:
        return ""
    return (f"{n:,} of {_count(walk.pairs, 'firm pair')} newly connected "
            f"(mean walk {fmt_m(walk.newly_connected_weighted_mean_m)})")


def compared_pairs_text(walk: Any) -> str:
    """' (1 pair connected before)' when the plan also connects pairs that had no walk (the
    weighted means and the reduction are over the others); '' otherwise."""
    if not walk.pairs_newly_connected:
        return ""
    return f" ({_count(walk.pairs_compared, 'pair')} connected before)"
