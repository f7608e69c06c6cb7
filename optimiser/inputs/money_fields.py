"""Money fields of a scenario file: the currency code, and which of ``budget``/``budget_gbp`` and
``cost``/``cost_gbp`` each place gives.

A scenario's ``currency`` (ISO 4217, default GBP) is the currency of its unsuffixed fields
(``budget``, ``cost``); the first format's ``*_gbp`` fields keep working and mean pounds, so they
are accepted only in a GBP scenario. Each place takes exactly one of its two fields. The checks
run on the raw mapping, so every problem is reported with the others in one pass.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from typing import Any, Protocol

from optimiser.errors import Problem
from optimiser.inputs.currency import DEFAULT_CURRENCY, ISO_4217_CODES, is_currency, symbol_code_hint

logger = logging.getLogger(__name__)

__all__ = ["scenario_currency", "money_problems", "amount"]


class _Priced(Protocol):
    cost: float | None
    cost_gbp: float | None


def scenario_currency(data: dict[str, Any]) -> str:
    """The currency a raw scenario mapping names (GBP when it names none or a bad one)."""
    code = data.get("currency", DEFAULT_CURRENCY)
    return code if is_currency(code) else DEFAULT_CURRENCY


def _currency_problem(data: dict[str, Any], file: str) -> list[Problem]:
    code = data.get("currency", DEFAULT_CURRENCY)
    if is_currency(code):
        return []
    guess = str(code).strip().upper()
    if guess in ISO_4217_CODES:
        fix = f"write it in capitals: currency: {guess}"
    elif (meant := symbol_code_hint(guess)) is not None:
        fix = f"write the ISO 4217 code, not the symbol: currency: {meant}"
    else:
        close = difflib.get_close_matches(guess, sorted(ISO_4217_CODES), n=3, cutoff=0.6)
        fix = "use a three-letter ISO 4217 code such as GBP, USD or EUR" + (
            f" (did you mean {' or '.join(close)}?)" if close else "")
    return [Problem(file, "currency", f"{code!r} is not an ISO 4217 currency code", fix)]


def _places(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(field prefix, money field name, mapping) for every place a scenario gives money."""
    yield "", "budget", data
    facilities = data.get("facilities")
    for i, f in enumerate(facilities if isinstance(facilities, list) else []):
        if isinstance(f, dict):
            yield f"facilities[{i}].", "cost", f
    social = data.get("social_spaces")
    if isinstance(social, dict):
        yield "social_spaces.", "cost", social
    transit = data.get("transit")
    if isinstance(transit, dict):
        yield "transit.", "cost", transit
    crossings = data.get("crossings")
    types = crossings.get("types") if isinstance(crossings, dict) else None
    for name, t in (types.items() if isinstance(types, dict) else ()):
        if isinstance(t, dict):
            yield f"crossings.types.{name}.", "cost", t


def _place_problems(prefix: str, field: str, item: dict[str, Any], currency: str, file: str) -> list[Problem]:
    gbp = f"{field}_gbp"
    item = {k: v for k, v in item.items() if v is not None}  # cost: null (an empty cell) gives no amount
    if field in item and gbp in item:
        return [Problem(file, f"{prefix}{gbp}", f"both {field} and {gbp} are given",
                        f"keep one: {field} (in the scenario's currency, {currency})"
                        + (f" or {gbp} (pounds)" if currency == "GBP" else ""))]
    if gbp in item and currency != "GBP":
        return [Problem(file, f"{prefix}{gbp}", f"{gbp} is in pounds but the scenario's currency is {currency}",
                        f"write {field}: <amount in {currency}> instead of {gbp}")]
    if field not in item and gbp not in item:
        return [Problem(file, f"{prefix}{field}", f"{field} is missing",
                        f"give {field}: <amount in {currency}>" + (f" (or {gbp} in pounds)" if currency == "GBP" else ""))]
    return []


def money_problems(data: dict[str, Any], file: str) -> list[Problem]:
    """Every problem with the scenario's currency and money fields (see the module docstring)."""
    problems = _currency_problem(data, file)
    currency = scenario_currency(data)
    for prefix, field, item in _places(data):
        problems += _place_problems(prefix, field, item, currency, file)
    return problems


def amount(item: _Priced) -> float:
    """The amount a parsed item gives, from ``cost`` or ``cost_gbp`` (the checks allow one)."""
    value = item.cost if item.cost is not None else item.cost_gbp
    if value is None:
        raise ValueError("neither cost nor cost_gbp is given (money_problems reports this first)")
    return float(value)
