"""A scenario's ``firm_changes`` (staff numbers and added firms) and its ``futures`` (named
variants of itself, each the scenario with dotted-key overrides as a batch sweep accepts).

Each future is validated as a whole scenario when the scenario is read, so every problem in
every future is reported at once, against ``futures[i].overrides``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from optimiser.errors import Problem
from optimiser.inputs import schema as S
from optimiser.inputs.domain import Future, Scenario, Site, TransitSpec
from optimiser.inputs.overrides import apply_overrides, check_key, split_key
from optimiser.inputs.site import firms_in_site

logger = logging.getLogger(__name__)

FIXED_IN_FUTURES = ("futures", "robust", "site", "solver", "id", "format", "currency")
"""Top-level scenario keys a future may not override: the site, the solver settings and the
currency of every amount are the plan's own, shared by every future."""

CheckScenario = Callable[[dict[str, Any], str, Path | None], tuple[Scenario | None, list[Problem]]]
""":func:`optimiser.inputs.scenario.check_scenario` (passed in, so this module does not import it)."""


@functools.cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    """The schema's reading of a head count or a future's probability (built on first use)."""
    if kind == "employees":
        return TypeAdapter(S.Employees)
    return TypeAdapter(S.FutureIn.model_fields["probability"].annotation)


def schema_value(kind: str, value: Any) -> Any:
    """``value`` as the schema reads it (``"400"`` and ``400.0`` are the head count 400, ``"0.5"``
    the probability 0.5), ``None`` when the schema refuses it (its check reports why): the raw
    mapping's value must not be used as it stands, or a quoted number would be silently dropped."""
    if isinstance(value, bool):
        return None
    try:
        return _adapter(kind).validate_python(value)
    except PydanticValidationError:
        return None


def apply_firm_changes(site: Site, data: dict[str, Any], file: str) -> tuple[Site, list[Problem]]:
    """The site with the scenario's ``firm_changes`` applied: new head counts, added firms.

    Args:
        site: the validated site.
        data: the raw scenario mapping (its ``firm_changes``, if any).
        file: the file problems are reported against.

    Returns:
        (the changed site, or ``site`` itself when nothing changes; every problem found).
    """
    raw = data.get("firm_changes")
    if not isinstance(raw, dict):
        return site, []
    problems: list[Problem] = []
    known = {f.id for f in site.firms}
    raw_employees = raw.get("employees")
    employees: dict[str, Any] = raw_employees if isinstance(raw_employees, dict) else {}
    for fid in employees:
        if fid not in known:
            problems.append(Problem(file, f"firm_changes.employees.{fid}", f"no firm {fid!r} in site {site.id!r}",
                                    "use a firm id of the site file, or add the firm under firm_changes.added"))
    counts = {fid: schema_value("employees", v) for fid, v in employees.items()}
    firms = [dataclasses.replace(f, employees=counts[f.id]) if counts.get(f.id) is not None else f for f in site.firms]
    raw_added = raw.get("added")
    added_raw: list[Any] = raw_added if isinstance(raw_added, list) else []
    added, more = firms_in_site(added_raw, site, file)
    problems.extend(dataclasses.replace(p, field=p.field.replace("firms[", "firm_changes.added[", 1)) for p in more)
    for i, f in enumerate(added):
        if f.id in known:
            problems.append(Problem(file, f"firm_changes.added[{i}].id", f"firm {f.id!r} is already in the site",
                                    "give the added firm a new id, or change its staff under firm_changes.employees"))
        known.add(f.id)
    if problems:
        return site, problems
    return dataclasses.replace(site, firms=tuple(firms) + tuple(added)), []


def _override_problems(i: int, overrides: Any, file: str) -> list[Problem]:
    """Override keys that name no scenario field, or that a future may not change."""
    if not isinstance(overrides, dict):
        return []
    problems = []
    for key in overrides:
        where = f"futures[{i}].overrides.{key}"
        why = check_key(str(key))
        if why:
            problems.append(Problem(file, where, why))
        elif split_key(str(key))[0] in FIXED_IN_FUTURES:
            problems.append(Problem(file, where, f"a future may not change {split_key(str(key))[0]!r}",
                                    "the site, solver settings and currency are shared by every future; change them in the scenario"))
    return problems


def _probability_problems(raw: list[dict[str, Any]], file: str) -> list[Problem]:
    probs = [f.get("probability") for f in raw]
    if all(p is None for p in probs):
        return []
    if any(p is None for p in probs):
        return [Problem(file, "futures", "some futures have a probability and some do not",
                        "give every future a probability, or none (they then weigh equally)")]
    given = [schema_value("probability", p) for p in probs]
    if any(p is None for p in given):
        return []  # the schema check says which probability is not one
    if not math.isclose(sum(given), 1.0, abs_tol=1e-6):
        return [Problem(file, "futures", f"the futures' probabilities add up to {sum(given):g}, not 1",
                        "make them add up to 1")]
    return []


def _counts_staff(transit: Any) -> bool:
    """Whether a raw ``transit`` section makes the objective the staff left outside every
    catchment (``max_coverage``), not weighted metres (``optimiser.model.futures.objective_unit``)."""
    return isinstance(transit, dict) and transit.get("objective", TransitSpec.objective) == "max_coverage"


def _unit_problem(i: int, name: str, overrides: dict[str, Any], base_staff: bool, future: Scenario, file: str) -> list[Problem]:
    """A future whose objective is in other units than the scenario's: its regret and the
    expected objective would mix staff left uncovered with weighted metres."""
    staff = future.transit is not None and future.transit.objective == "max_coverage"
    if staff == base_staff:
        return []
    units = {True: "staff left outside every catchment (transit objective max_coverage)", False: "weighted metres"}
    key = next((k for k in overrides if split_key(str(k))[0] == "transit"), None)
    return [Problem(file, f"futures[{i}].overrides" + (f".{key}" if key is not None else ""),
                    f"future {name!r} measures its objective in {units[staff]}, the scenario in {units[base_staff]}: one plan's "
                    "regrets and expected objective need every future in one unit",
                    "keep the scenario's transit section and its objective in every future (change its count, cost or "
                    "catchment instead)")]


def check_futures(data: dict[str, Any], file: str, path: Path | None,
                  check: CheckScenario, known: Sequence[Problem] = ()) -> tuple[tuple[Future, ...], list[Problem]]:
    """The scenario's futures, each validated as a whole scenario.

    Args:
        data: the raw scenario mapping.
        file: the file problems are reported against.
        path: the scenario file (relative site paths resolve from it).
        check: the scenario check (:func:`optimiser.inputs.scenario.check_scenario`).
        known: the scenario's own problems (when it has some): a future's problem that is
            one of them is not repeated under ``futures[i]``, so a file's problems in the
            scenario and in its futures are reported together, each once.

    Returns:
        (the futures, in file order; every problem found, fields under ``futures[i]``).
    """
    raw = data.get("futures")
    if not isinstance(raw, list):
        return (), []
    items = [f for f in raw if isinstance(f, dict)]
    problems = _probability_problems(items, file) if len(items) == len(raw) else []
    base = {k: v for k, v in data.items() if k not in ("futures", "robust")}
    futures: list[Future] = []
    seen: set[str] = set()
    seen_problems = set(known)
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue  # the shape check reports it
        name, overrides = item["name"], item.get("overrides") or {}
        if name in seen:
            problems.append(Problem(file, f"futures[{i}].name", f"future {name!r} is named twice", "give each future its own name"))
        seen.add(name)
        bad = _override_problems(i, overrides, file)
        problems.extend(bad)
        if bad or not isinstance(overrides, dict):
            continue
        try:
            fdata = apply_overrides(base, overrides)
        except KeyError as exc:
            problems.append(Problem(file, f"futures[{i}].overrides", str(exc.args[0] if exc.args else exc),
                                    "write a dotted key the scenario has (constraints/README.md, `futures[]`)"))
            continue
        scenario, more = check(fdata, file, path)
        problems.extend(dataclasses.replace(p, field=f"futures[{i}] ({name}): {p.field}") for p in more if p not in seen_problems)
        if scenario is not None and (unit := _unit_problem(i, name, overrides, _counts_staff(base.get("transit")), scenario, file)):
            problems.extend(unit)
        elif scenario is not None:
            prob = schema_value("probability", item.get("probability"))
            futures.append(Future(name, scenario, None if prob is None else float(prob), dict(overrides)))
    logger.debug("%d future(s): %s", len(futures), ", ".join(f.name for f in futures))
    return tuple(futures), problems
