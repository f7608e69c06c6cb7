"""Which new crossings a site allows and a scenario asks for: grades, kinds and the site's rules.

A crossing type is at grade (signalised, zebra) or grade separated (footbridge, underpass); a
type of the scenario's own says which with ``at_grade``. A barrier's kind bounds the types:
never an at-grade crossing of a motorway, a railway or water
(:func:`~optimiser.inputs.domain.type_suits_kind`). A site's per-barrier ``crossing_rules``
bound what a scenario may offer along that barrier: a scenario may narrow them (a greater
``spacing_m``, fewer types), never widen them. These checks run on the raw scenario mapping so
that each problem is reported with the others, with the field, the reason and a fix.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from typing import Any, get_args

from optimiser.errors import Problem
from optimiser.inputs.domain import (
    AT_GRADE_TYPES,
    GRADE_SEPARATED_TYPES,
    Barrier,
    BarrierKind,
    CrossingRule,
    NewCrossingType,
    Site,
    known_at_grade,
    type_suits_kind,
)

logger = logging.getLogger(__name__)

__all__ = ["TYPE_ABBR", "type_abbr", "generated_id_pattern", "type_problems", "site_rule_problems",
           "scenario_rule_problems"]

TYPE_ABBR = {"footbridge": "fb", "signalised": "sig", "underpass": "up", "bridge": "br", "zebra": "zb"}
"""Short names of the built-in types in generated crossing ids (``<barrier>-<abbr>-NNN``);
a type of the scenario's own is written in full."""

_BUILT_IN = sorted(AT_GRADE_TYPES | GRADE_SEPARATED_TYPES)


def type_abbr(crossing_type: str) -> str:
    """The short name of a crossing type in generated ids: ``fb``, ``sig`` ... or the type itself."""
    return TYPE_ABBR.get(crossing_type, crossing_type)


def generated_id_pattern(types: Iterable[str] = ()) -> re.Pattern[str]:
    """Ids the network builder gives generated candidates, built-in types and ``types`` included."""
    names = sorted(set(TYPE_ABBR.values()) | {type_abbr(t) for t in types}, key=len, reverse=True)
    return re.compile(r".+-(" + "|".join(re.escape(n) for n in names) + r")-(?:\d{3}|[1-9]\d{3,})")  # f"{i:03d}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _a(word: str) -> str:
    """``word`` with its indefinite article: "a footbridge", "an underpass"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def kind_phrase(kind: BarrierKind) -> str:
    """The kind as the complement of "is": "a motorway", "a railway", "water"."""
    return "water" if kind == BarrierKind.WATER else _a(kind.label)


def _types_for(kind: BarrierKind) -> list[str]:
    """The built-in new-crossing types a barrier of this kind can take."""
    return [t for t in get_args(NewCrossingType) if type_suits_kind(t, bool(known_at_grade(t)), kind)]


def _at_grade(name: str, spec: Any) -> bool | None:
    """Whether a scenario's crossing type is at grade: declared, else built in, else unknown."""
    declared = _mapping(spec).get("at_grade")
    return declared if isinstance(declared, bool) else known_at_grade(name)


def type_problems(data: dict[str, Any], file: str) -> list[Problem]:
    """A type of the scenario's own without ``at_grade``, or a built-in type declared the wrong grade."""
    problems = []
    for name, spec in _mapping(_mapping(data.get("crossings")).get("types")).items():
        declared = _mapping(spec).get("at_grade")
        built_in = known_at_grade(str(name))
        if built_in is None and not isinstance(declared, bool):
            close = difflib.get_close_matches(str(name), _BUILT_IN, n=1, cutoff=0.75)
            problems.append(Problem(file, f"crossings.types.{name}",
                                    f"{name!r} is not a built-in crossing type ({', '.join(_BUILT_IN)}), "
                                    "so it must say whether it is at grade",
                                    (f"did you mean {close[0]!r}? " if close else "")
                                    + f"or add at_grade: true (walkers cross at grade) or false (over or under) to {name}"))
        elif built_in is not None and isinstance(declared, bool) and declared != built_in:
            problems.append(Problem(file, f"crossings.types.{name}.at_grade",
                                    f"{name} is {'at grade' if built_in else 'grade separated'}; "
                                    f"at_grade: {str(declared).lower()} contradicts it",
                                    "drop at_grade, or give the type a name of your own"))
    return problems


def site_rule_problems(rules: Iterable[tuple[int, CrossingRule]], barriers: Iterable[Barrier], file: str) -> list[Problem]:
    """A site rule allowing an at-grade type along a barrier whose kind takes none (a motorway ...),
    two rules for one barrier, a type listed twice in a rule."""
    by_id = {b.id: b for b in barriers}
    problems = []
    first: dict[str, int] = {}
    for i, rule in rules:
        if rule.barrier_id in first:
            problems.append(Problem(file, f"crossing_rules[{i}].barrier",
                                    f"barrier {rule.barrier_id!r} has a rule already (crossing_rules[{first[rule.barrier_id]}]); "
                                    "one would silently replace the other",
                                    "merge them into one rule per barrier"))
        first.setdefault(rule.barrier_id, i)
        twice = sorted({t for t in rule.types if list(rule.types).count(t) > 1})
        if twice:
            problems.append(Problem(file, f"crossing_rules[{i}].types", f"{', '.join(twice)} listed twice", "list each type once"))
        bar = by_id.get(rule.barrier_id)
        if bar is None:
            continue
        bad = [t for t in rule.types if not type_suits_kind(t, bool(known_at_grade(t)), bar.kind)]
        if bad:
            problems.append(Problem(file, f"crossing_rules[{i}].types",
                                    f"barrier {bar.id!r} is {kind_phrase(bar.kind)}: {', '.join(bad)} cannot cross it"
                                    + (" (an at-grade crossing of a motorway, railway or water)" if not bar.kind.allows_at_grade else ""),
                                    f"allow only types it can take ({', '.join(_types_for(bar.kind))})"))
    return problems


def _rules(site: Site) -> dict[str, CrossingRule]:
    """The rule of each barrier (the last one given, as the candidate generator reads them)."""
    return {r.barrier_id: r for r in site.crossing_rules}


def _selected(cr: dict[str, Any], site: Site, layers: dict[str, Any]) -> list[Barrier]:
    """The barriers a scenario generates candidates along: ``crossings.barriers`` or every active one."""
    active = site.active_barriers({k: v for k, v in layers.items() if isinstance(v, bool)})
    names = cr.get("barriers")
    if isinstance(names, list):
        return [b for b in active if b.id in names]
    return list(active)


def _spacing_problems(spacing: Any, selected: list[Barrier], rules: dict[str, CrossingRule], file: str) -> list[Problem]:
    if isinstance(spacing, bool) or not isinstance(spacing, int | float) or spacing <= 0:
        return []
    wider = [(b.id, rules[b.id].spacing_m) for b in selected if b.id in rules and spacing < rules[b.id].spacing_m]
    if not wider:
        return []
    listed = ", ".join(f"{bid!r} every {s:g} m" for bid, s in wider)
    return [Problem(file, "crossings.spacing_m",
                    f"{spacing:g} m is closer than the site's crossing rules allow ({listed}): a scenario may narrow "
                    "the site's rules (greater spacing, fewer types), never widen them",
                    f"set crossings.spacing_m to {max(s for _, s in wider):g} or more, or to null to use the site's rules")]


def _widening_type_problems(cr: dict[str, Any], selected: list[Barrier], rules: dict[str, CrossingRule], file: str) -> list[Problem]:
    """Types that none of the barriers they would apply to can take (and no explicit candidate
    uses): along a barrier with a site rule, the rule's types; along one without, the types its
    kind takes (no at-grade type over a motorway, railway or water, no underpass under water)."""
    if not selected or cr.get("spacing_m") == 0:
        return []
    used = {e["type"] for e in _items(cr.get("explicit")) if isinstance(e, dict) and isinstance(e.get("type"), str)}
    types = _mapping(cr.get("types"))
    ruled = all(b.id in rules for b in selected)
    problems = []
    for name, spec in types.items():
        if name in used:
            continue
        at_grade = _at_grade(str(name), spec)
        takes = [b for b in selected if (name in rules[b.id].types if b.id in rules
                                         else at_grade is None or type_suits_kind(str(name), at_grade, b.kind))]
        if takes:
            continue
        allowed = sorted({t for b in selected for t in (rules[b.id].types if b.id in rules else _types_for(b.kind))})
        if ruled:
            why = "the site's crossing rules allow it along none of them: a scenario may narrow the site's rules, never widen them"
        elif not any(b.id in rules for b in selected):  # the kinds alone decide: say which
            why = "; ".join(f"{b.id!r} is {kind_phrase(b.kind)}" for b in selected) + ", which it cannot cross"
        else:
            why = "no rule of the site allows it, and no barrier without a rule is of a kind it can cross"
        problems.append(Problem(file, f"crossings.types.{name}",
                                f"{_a(str(name))} crossing cannot be built along any barrier it would apply to "
                                f"({', '.join(b.id for b in selected)}): {why}",
                                f"drop crossings.types.{name}" + (f"; these barriers take {', '.join(allowed)}" if allowed else "")))
    return problems


def _explicit_problems(cr: dict[str, Any], site: Site, rules: dict[str, CrossingRule], file: str) -> list[Problem]:
    types = _mapping(cr.get("types"))
    by_id = {b.id: b for b in site.barriers}
    problems = []
    for i, e in enumerate(_items(cr.get("explicit"))):
        if (not isinstance(e, dict) or not isinstance(e.get("barrier"), str) or not isinstance(e.get("type"), str)
                or e["barrier"] not in by_id or e["type"] not in types):  # a list where an id belongs: the schema says so
            continue
        bar, name = by_id[e["barrier"]], e["type"]
        at_grade = _at_grade(name, types[name])
        rule = rules.get(bar.id)
        if at_grade is not None and not type_suits_kind(name, at_grade, bar.kind):
            # the types its kind can take, narrowed to its rule's when the site has one
            can = [t for t in _types_for(bar.kind) if rule is None or t in rule.types]
            problems.append(Problem(file, f"crossings.explicit[{i}].type",
                                    f"barrier {bar.id!r} is {kind_phrase(bar.kind)}: {_a(name)} crossing cannot be built over it"
                                    + (" (at grade)" if at_grade else ""),
                                    f"use a type it can take ({', '.join(can)})" if can
                                    else "the site's crossing rule for it allows no type a barrier of its kind can take"))
        elif rule is not None and name not in rule.types:
            problems.append(Problem(file, f"crossings.explicit[{i}].type",
                                    f"the site's crossing rule for barrier {bar.id!r} allows {', '.join(rule.types)}, not {name}",
                                    "use one of those types: a scenario may narrow the site's rules, never widen them"))
    return problems


def scenario_rule_problems(data: dict[str, Any], site: Site, file: str) -> list[Problem]:
    """Where a scenario's crossings ask for more than the site's rules and barrier kinds allow."""
    cr = _mapping(data.get("crossings"))
    rules = _rules(site)
    selected = _selected(cr, site, _mapping(data.get("layers")))
    return (_spacing_problems(cr.get("spacing_m"), selected, rules, file)
            + _widening_type_problems(cr, selected, rules, file)
            + _explicit_problems(cr, site, rules, file))
