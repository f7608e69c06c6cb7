"""Currencies: which ISO 4217 codes a scenario may name, and how amounts are written.

A scenario's money is in one currency (``Scenario.currency``, default GBP); amounts travel as
plain numbers with that code beside them, and every text shows them with the currency's symbol
(``£``, ``$``, ``€``) or, for any other currency, its ISO code (``CHF 1.20m``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

logger = logging.getLogger(__name__)

DEFAULT_CURRENCY: Final = "GBP"
"""The currency of a scenario that names none, and of every ``*_gbp`` field."""

ISO_4217_CODES: Final = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XDR XOF XPF XSU XUA YER
    ZAR ZMW ZWG ZWL
    """.split()
)
"""Active ISO 4217 currency codes (precious metals, test and "no currency" codes left out)."""

SYMBOL_CURRENCIES: Final[dict[str, tuple[str, ...]]] = {
    "£": ("GBP",), "€": ("EUR",), "₩": ("KRW",), "₹": ("INR",), "¥": ("JPY", "CNY"),
    "$": ("USD", "AUD", "CAD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP"),
}
"""The one table of currency symbols: each symbol and the ISO 4217 codes it may stand for, the one
most likely meant first (read by the validator: ``currency: €``, an amount written ``"$1.2m"``)."""

_SYMBOL_OTHERS: Final = {"$": "another dollar", "¥": "the yuan"}
"""What a symbol's other codes are, in a hint ('... for another dollar')."""

SYMBOLS: Final = {SYMBOL_CURRENCIES[sym][0]: sym for sym in ("£", "$", "€")}
"""Currencies written with a symbol in outputs (GBP £, USD $, EUR €, from
:data:`SYMBOL_CURRENCIES`); every other one is written with its code."""


UNIT_WORDS: Final = {"GBP": "pound", "USD": "dollar", "EUR": "euro"}
"""The unit of a currency written with a symbol, in words ('what each extra pound buys')."""


def unit_word(currency: str | None) -> str:
    """'pound', 'dollar', 'euro'; the code for any other currency; 'unit of money' for none."""
    return UNIT_WORDS.get(currency, currency) if currency else "unit of money"


def symbol_code(symbol: str) -> str | None:
    """The ISO 4217 code a currency symbol most likely stands for (``"$"`` -> ``"USD"``), or None."""
    codes = SYMBOL_CURRENCIES.get(symbol)
    return codes[0] if codes else None


def symbol_code_hint(symbol: str) -> str | None:
    """The code to write for a symbol, with the others it may stand for: ``"EUR"``, ``"USD (or AUD,
    CAD, NZD ... for another dollar)"``, ``"JPY (or CNY for the yuan)"``; None for no symbol."""
    codes = SYMBOL_CURRENCIES.get(symbol)
    if not codes:
        return None
    if len(codes) == 1:
        return codes[0]
    more = " ..." if len(codes) > 4 else ""
    return f"{codes[0]} (or {', '.join(codes[1:4])}{more} for {_SYMBOL_OTHERS.get(symbol, 'another')})"

_DASH = "–"


def is_currency(code: Any) -> bool:
    """Whether ``code`` is an active ISO 4217 code (upper case, e.g. ``"USD"``)."""
    return isinstance(code, str) and code in ISO_4217_CODES


def currency_prefix(currency: str = DEFAULT_CURRENCY) -> str:
    """What goes before an amount: ``"£"``, ``"$"``, ``"€"``, else the code and a space (``"CHF "``)."""
    return SYMBOLS.get(currency, f"{currency} ")


def currency_unit(currency: str = DEFAULT_CURRENCY) -> str:
    """The currency on its own, for a column header or an axis: ``"£"``, ``"$"``, ``"CHF"``."""
    return SYMBOLS.get(currency, currency)


def as_float(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, None, inf or nan)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


MINUS = "\u2212"
"""The minus sign before a negative amount's symbol (``−£1``, not ``£-1``)."""


def money_short(value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    """An amount, short, with three or four significant figures whatever the currency's scale:
    ``£2.55m``, ``$350k``, ``CHF 900``, ``JPY 500m`` (not ``JPY 500.00m``), ``JPY 1.40bn`` (not
    ``JPY 1400.00m``); a negative amount with a minus sign before the symbol (``−£1``); an en
    dash for None."""
    if value is None:
        return _DASH
    x = as_float(value)
    if x is None:
        return str(value)
    if x < 0:
        return MINUS + money_short(-x, currency)
    p = currency_prefix(currency)
    if abs(x) >= 1e9 - 5e5:  # what would round to 1000m
        return f"{p}{x / 1e9:,.2f}bn"
    if abs(x) >= 1e8 - 5e3:  # what would round to 100.00m
        return f"{p}{x / 1e6:.0f}m"
    if abs(x) >= 1e6 - 500:  # what would round to 1000k
        return f"{p}{x / 1e6:.2f}m"
    if abs(x) >= 1e3 - 0.5:  # what would round to 1000
        return f"{p}{x / 1e3:.0f}k"
    return f"{p}{x:.{_decimals(x)}f}"


def money_column(values: Sequence[Any], currency: str = DEFAULT_CURRENCY) -> list[str]:
    """Amounts for one column of a table: one unit and one precision for all, chosen by the
    largest: millions or billions with two decimals (``£0.90m``, ``£4.00m``, ``£0.00m``; ``JPY
    150.00m`` and ``JPY 20.00m`` where :func:`money_short` writes ``JPY 150m`` beside ``JPY
    20.00m``), under a million in full (``CHF 45,000``, ``CHF 900``); an en dash for None."""
    xs = [as_float(v) for v in values]
    top = max((abs(x) for x in xs if x is not None), default=0.0)
    div, unit, digits = ((1e9, "bn", 2) if top >= 1e9 - 5e5 else (1e6, "m", 2) if top >= 1e6 - 500
                         else (1.0, "", max((_decimals(x) for x in xs if x is not None), default=0)))
    p = currency_prefix(currency)
    out = []
    for v, x in zip(values, xs):
        if x is None:
            out.append(_DASH if v is None else str(v))
            continue
        text = f"{p}{abs(x) / div:,.{digits}f}{unit}"
        out.append(MINUS + text if x < 0 and float(f"{abs(x) / div:.{digits}f}") != 0 else text)
    return out


def money_text(value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    """An amount in full, for messages: ``£1,234,567``, ``$60,000,000``, ``CHF 900``, ``−£1``."""
    x = as_float(value)
    if x is None:
        return _DASH if value is None else str(value)
    if x < 0:
        return MINUS + money_text(-x, currency)
    return f"{currency_prefix(currency)}{x:,.{_decimals(x)}f}"


def _decimals(x: float) -> int:
    """Decimals an amount is written with in full: none when it is whole (to the cent), else two
    (``£0.45``, ``£1.35``: a scenario written in millions; not ``£0`` and ``£1``)."""
    return 0 if abs(x - round(x)) < 0.005 else 2


def money_compact(value: Any, currency: str = DEFAULT_CURRENCY) -> str:
    """An amount as a sweep label writes it: ``£1.5m`` for 100k and more, ``JPY 1.4bn`` from a
    billion, else ``£90000``; a negative amount as ``−£1`` (a minus sign before the symbol)."""
    x = as_float(value)
    if x is None:
        return str(value)
    if x < 0:
        return MINUS + money_compact(-x, currency)
    p = currency_prefix(currency)
    if abs(x) >= 1e9:
        return f"{p}{x / 1e9:g}bn"
    return f"{p}{x / 1e6:g}m" if abs(x) >= 1e5 else f"{p}{x:g}"


def exact_amount(value: float) -> Fraction:
    """An amount exactly as written: the shortest decimal that reads back as ``value``
    (``0.4000004`` is four million and four ten-millionths, not the binary double nearest it), so
    sums of amounts and the budget compare without floating-point rounding."""
    return Fraction(repr(float(value)))


def exact_total(amounts: Iterable[float]) -> Fraction:
    """The amounts as written (:func:`exact_amount`) added exactly: a plan's capital cost."""
    return sum((exact_amount(a) for a in amounts), Fraction(0))


def total_within(amounts: Iterable[float], budget: float) -> bool:
    """Whether the amounts add up to at most ``budget``, exactly (:func:`exact_total`): the
    capital check of the budget row and of the verifier, with no tolerance to disagree on."""
    return exact_total(amounts) <= exact_amount(budget)



MAX_DIGITS_APART: Final = 9
"""The most decimals :func:`money_apart` writes (amounts are exact to a billionth at best)."""


def money_apart(first: float | Fraction, second: float | Fraction, currency: str = DEFAULT_CURRENCY) -> tuple[str, str]:
    """Two amounts in full (:func:`money_text`) for a message comparing them, with as many
    decimals as it takes (up to nine) to tell them apart when they differ: a £404k cost against
    a £400k budget written in millions is "£0.404" against "£0.400", not "£0.40" against "£0.40".
    A :class:`~fractions.Fraction` (an exact sum of amounts) is written exactly."""
    a, b = money_text(first, currency), money_text(second, currency)
    if a != b or as_float(first) is None or as_float(second) is None:
        return a, b
    x, y = (v if isinstance(v, Fraction) else exact_amount(v) for v in (first, second))
    if x == y:
        return a, b
    for digits in range(2, MAX_DIGITS_APART + 1):
        a, b = _fixed(x, digits, currency), _fixed(y, digits, currency)
        if a != b:
            break
    return a, b


def _fixed(value: Fraction, digits: int, currency: str) -> str:
    """``value`` in full with ``digits`` decimals, rounded exactly (no binary double in between)."""
    whole, part = divmod(round(abs(value) * 10**digits), 10**digits)
    return (MINUS if value < 0 else "") + f"{currency_prefix(currency)}{whole:,}.{part:0{digits}d}"
