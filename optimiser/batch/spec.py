"""The batch file format (``placemaking-batch/1``) and its expansion into items.

A batch names a base scenario and how to vary it (see :mod:`optimiser.batch`). Items are the
product sweep-points x explicit scenarios x seeds; each is the base scenario mapping with its
overrides applied (plus ``solver.workers: 1`` so a fixed seed reproduces the result) and a
stable key (:func:`optimiser.batch.keys.item_key`).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from optimiser import __version__
from optimiser.batch.keys import canonical_json, file_sha256, item_key
from optimiser.batch.overrides import BRACKET, INDEX, apply_overrides, check_key, split_key
from optimiser.errors import ArgumentError, FileReadError, Problem, ValidationError
from optimiser.inputs.currency import DEFAULT_CURRENCY, money_compact
from optimiser.inputs.domain import Scenario
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.kinds import wrong_kind
from optimiser.inputs.locate import default_scenario_path, display_path, embedded_names_hint, resolve_input, resolve_site_ref
from optimiser.inputs.messages import name_list, pydantic_problems
from optimiser.inputs.money_fields import scenario_currency
from optimiser.inputs.overrides import MONEY_SPELLINGS
from optimiser.inputs.scenario import check_scenario
from optimiser.inputs.schema import BatchFile, SolverIn

logger = logging.getLogger(__name__)

MAX_ITEMS = 100_000
"""The most items one batch may expand to."""


@dataclass(frozen=True)
class BatchItem:
    """One scenario of a batch.

    Attributes:
        index: position in the expanded batch (the row order of results.csv).
        key: SHA-256 (hex) of the resolved scenario, its site file's content and the package
            version; ``key[:12]`` names the run directory.
        name: readable label, e.g. ``"budget=£1.5m, hs2=on, seed=2"``.
        overrides: the dotted-key overrides applied to the base scenario (swept inputs).
        scenario: the fully resolved scenario mapping (what is validated and run).
        base_path: the scenario file relative site paths resolve from.
        site_sha256: content hash of the site file (``None`` if it could not be found).
    """

    index: int
    key: str
    name: str
    overrides: dict[str, Any]
    scenario: dict[str, Any]
    base_path: str
    site_sha256: str | None

    @property
    def run_id(self) -> str:
        """The run directory's name under ``OUT/runs/``: the key's first 12 characters."""
        return self.key[:12]


@dataclass
class BatchSpec:
    """A parsed batch file with its items (what :func:`load_batch` builds).

    Attributes:
        id, name: the batch's identifier and title.
        path: the batch file (``None`` for an in-memory mapping).
        base_path: the base scenario file.
        items: the expanded items, in results order.
        columns: the override keys in first-seen order (the swept columns of results.csv and
            pareto.csv, headed as :func:`~optimiser.batch.results.swept_headers` says).
        duplicates: ``(name, same_as)`` of items dropped because they resolve to the same key.
        notes: what the user should know though nothing is wrong: a base scenario invalid on its
            own that every item's values mend (:func:`check_base`; ``siteopt batch`` prints it).
    """

    id: str
    name: str
    path: Path | None
    base_path: Path
    items: list[BatchItem]
    columns: list[str]
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


BatchSource = str | os.PathLike[str] | Mapping[str, Any] | BatchSpec
"""What :func:`load_batch`, :func:`expand_batch` and :func:`~optimiser.batch.runner.run_batch`
take: a batch file path, an in-memory batch mapping, or a :class:`BatchSpec` already loaded."""


# ---------------------------------------------------------------- item names

_SHORT = {"budget_gbp": "budget", "budget": "budget", "solver.seed": "seed", "solver.time_limit_s": "time_limit", "layers.hs2": "hs2"}


def _is_money_key(key: str) -> bool:
    """A money field in the scenario's currency (``budget``, ``facilities.0.cost`` ...)."""
    return key.rsplit(".", 1)[-1] in ("budget", "cost")


def _fmt_value(key: str, v: Any, currency: str) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if key.endswith("_gbp") and isinstance(v, int | float):
        return money_compact(v, "GBP")
    if _is_money_key(key) and isinstance(v, int | float):
        return money_compact(v, currency)
    if isinstance(v, dict | list):
        return canonical_json(v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def item_name(overrides: Mapping[str, Any], fallback: str, currency: str = DEFAULT_CURRENCY) -> str:
    """A readable label for an item from its overrides.

    Args:
        overrides: the item's dotted-key overrides (``name``/``id`` lead the label).
        fallback: the label when there are no overrides (the base scenario's id).
        currency: the item's scenario currency, for ``budget`` and ``cost`` values
            (``*_gbp`` values are pounds).

    Returns:
        e.g. ``"budget=£1.5m, hs2=on, seed=2"``.
    """
    parts = []
    label = overrides.get("name") or overrides.get("id")
    if isinstance(label, str) and label:
        parts.append(label)
    for k, v in overrides.items():
        if k in ("name", "id"):
            continue
        short = _SHORT.get(k, INDEX.sub(r"[\1]", BRACKET.sub(r".\1", k)))
        parts.append(f"{short}={_fmt_value(k, v, currency)}")
    return ", ".join(parts) if parts else fallback


# ---------------------------------------------------------------- reading and checking


def _read_batch(path_or_spec: Any, base_dir: str | os.PathLike[str] | None) -> tuple[dict[str, Any], str, Path | None, Path]:
    """The batch mapping, its display name, its file (if any) and the folder ``base`` resolves from."""
    if base_dir is not None:
        base_dir = checked_path(base_dir, "load_batch", "base_dir (the folder a relative base resolves from)")
    if isinstance(path_or_spec, Mapping):
        root = Path(base_dir) if base_dir is not None else Path.cwd()
        return dict(path_or_spec), "<batch>", None, root
    given = checked_path(path_or_spec, "load_batch", "path_or_spec (a batch file path, mapping or BatchSpec)")
    path = resolve_input(os.fspath(given))  # a file, or an embedded batch's name (siteopt list), as siteopt batch takes it
    data, problems = load_mapping(path)
    if data is None:
        raise FileReadError(problems)
    if problems:
        raise ValidationError(problems)
    return data, str(path_or_spec) if path == given else str(path), path, Path(base_dir) if base_dir is not None else path.resolve().parent


def _hoist_sweep_mode(data: dict[str, Any], fname: str, problems: list[Problem]) -> dict[str, Any]:
    """Accept ``sweep: {mode: zip, ...}`` as well as a top-level ``mode:``."""
    sweep_raw = data.get("sweep")
    if not (isinstance(sweep_raw, dict) and isinstance(sweep_raw.get("mode"), str)):
        return data
    sweep_raw = dict(sweep_raw)
    mode = sweep_raw.pop("mode")
    if "mode" in data and data["mode"] != mode:
        problems.append(Problem(fname, "sweep.mode", f"{mode!r} contradicts mode: {data['mode']!r}", "give the mode once"))
    return {**data, "sweep": sweep_raw, "mode": data.get("mode", mode)}


def _override_key_problems(data: Mapping[str, Any], fname: str) -> list[Problem]:
    """Sweep and scenario override keys that name no scenario field (checked even when the
    rest of the batch file is invalid)."""
    problems = []
    raw_sweep = data.get("sweep")
    for k in raw_sweep if isinstance(raw_sweep, dict) else ():
        why = check_key(str(k))
        if why:
            problems.append(Problem(fname, f"sweep.{k}", why))
    raw_sc = data.get("scenarios")
    for i, sc in enumerate(raw_sc if isinstance(raw_sc, list) else ()):
        for k in sc if isinstance(sc, dict) else ():
            why = check_key(str(k))
            if why:
                problems.append(Problem(fname, f"scenarios[{i}].{k}", why))
    return problems


_EXPANDS_ITEMS = frozenset({"base", "mode", "sweep", "scenarios"})
"""The batch file's fields that decide what its items are; the others (``id``, ``time_limit_s``,
``repeat_seeds`` ...) can be left out to check the items' values all the same."""


def _without_bad_settings(data: Mapping[str, Any], bad: set[str]) -> BatchFile | None:
    """The batch without its invalid settings (told already), so that its items can still be
    expanded and their values checked in the same pass (``siteopt validate``: a batch with
    ``time_limit_s: -1`` and ``budget_gbp: [-5]`` has two problems); ``None`` when a field that
    decides the items is invalid."""
    if bad & _EXPANDS_ITEMS:
        return None
    try:
        return BatchFile.model_validate({k: v for k, v in data.items() if k not in bad})
    except PydanticValidationError:
        return None


def _parse_batch_file(data: dict[str, Any], fname: str) -> tuple[BatchFile, list[Problem]]:
    """The validated batch model and the problems found so far (raises when it cannot be built)."""
    other = wrong_kind(data, "batch", fname, "a batch")
    if other is not None:
        raise ValidationError([other])
    problems: list[Problem] = []
    data = _hoist_sweep_mode(data, fname, problems)
    spec: BatchFile | None = None
    try:
        spec = BatchFile.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, BatchFile, data, fname))
        spec = _without_bad_settings(data, {str(e["loc"][0]) for e in exc.errors() if e["loc"]})
    problems.extend(_override_key_problems(data, fname))
    if spec is None:
        raise ValidationError(problems)
    if spec.mode == "zip" and spec.sweep:
        lengths = {k: len(v) for k, v in spec.sweep.items()}
        if len(set(lengths.values())) > 1:
            problems.append(Problem(fname, "sweep", "mode zip needs lists of equal length, got "
                                    + ", ".join(f"{k}: {n}" for k, n in lengths.items()),
                                    "use mode: grid for every combination"))
    return spec, problems


def _load_base(spec: BatchFile, fname: str, root: Path, problems: list[Problem]) -> tuple[Path, dict[str, Any]]:
    """The base scenario file and its mapping; raises with every problem found so far when it
    cannot be read (the batch's own problems so far do not stop it: the sweep is checked against it)."""
    if spec.base is None:
        try:
            base_path = default_scenario_path()
        except FileReadError as exc:
            problems.extend(Problem(fname, "base", p.reason, p.hint) for p in exc.problems)
            raise ValidationError(problems) from None
    else:
        base_path = Path(spec.base) if Path(spec.base).is_absolute() else root / spec.base
        if not base_path.exists() and not Path(spec.base).is_absolute():  # an embedded scenario's name
            embedded = resolve_input(spec.base, "scenario")              # (siteopt list), as siteopt run takes it
            base_path = embedded if embedded != Path(spec.base) else base_path
    base_data, base_problems = load_mapping(base_path)
    if base_data is None:
        named = spec.base is not None and not Path(spec.base).suffix  # meant as an embedded scenario's name
        problems.extend(Problem(fname, "base", f"{base_path}: {p.reason}",
                                embedded_names_hint() if named and p.reason == "file not found" else p.hint)
                        for p in base_problems)
    elif base_problems:
        problems.extend(base_problems)
    elif (other := wrong_kind(base_data, "scenario", str(base_path), "the batch's base")) is not None:
        # a site or batch file as the base: every item would be refused alike, after the batch began
        problems.append(Problem(fname, "base", f"{base_path}: {other.reason}", "name the scenario file the batch varies"))
        raise ValidationError(problems)
    if base_data is None or base_problems:
        raise ValidationError(problems)
    return base_path, base_data


# ---------------------------------------------------------------- expansion


def _combinations(spec: BatchFile, fname: str) -> list[dict[str, Any]]:
    """Every item's overrides, in results order: explicit scenarios x sweep points x seeds."""
    keys = list(spec.sweep)
    if not keys:
        points: list[dict[str, Any]] = [{}]
    elif spec.mode == "zip":  # unequal lengths (a problem already): point i holds the keys whose list reaches i
        points = [{k: spec.sweep[k][i] for k in keys if i < len(spec.sweep[k])}
                  for i in range(max(len(v) for v in spec.sweep.values()))]
    else:
        points = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(spec.sweep[k] for k in keys))]
    explicit = spec.scenarios or [{}]
    seeds: list[int | None] = list(spec.repeat_seeds) if spec.repeat_seeds else [None]
    n = len(points) * len(explicit) * len(seeds)
    if n > MAX_ITEMS:
        raise ValidationError([Problem(fname, "sweep", f"the batch expands to {n} items (limit {MAX_ITEMS})",
                                       "split it into several batches")])
    out = []
    for ex, pt, seed in itertools.product(explicit, points, seeds):
        ov: dict[str, Any] = {**ex, **pt}
        if seed is not None:
            ov["solver.seed"] = seed
        out.append(ov)
    return out


def _fixed_overrides(spec: BatchFile, solver: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides every item gets: one solver worker (reproducible), the batch's limit and
    backend, then the caller's solver settings."""
    fixed: dict[str, Any] = {"solver.workers": 1}
    if spec.time_limit_s is not None:
        fixed["solver.time_limit_s"] = spec.time_limit_s
    if spec.backend is not None:
        fixed["solver.backend"] = spec.backend
    fixed.update((f"solver.{k}", v) for k, v in solver.items())
    return fixed


def _check_solver_values(solver: Mapping[str, Any]) -> None:
    """The caller's solver settings checked as a scenario's ``solver`` section checks them (the
    values of known keys; an unknown key is a problem of the batch, :func:`_solver_problems`).

    Raises:
        ArgumentError: a value out of range or of the wrong kind, e.g. ``time_limit_s=-1``.
    """
    known = {k: v for k, v in solver.items() if k in SolverIn.model_fields}
    try:
        SolverIn.model_validate(known)
    except PydanticValidationError as exc:
        raise ArgumentError([Problem("load_batch", f"solver.{p.field}", p.reason, p.hint)
                             for p in pydantic_problems(exc, SolverIn, known, "load_batch")]) from None


def _solver_problems(spec: BatchFile, solver: Mapping[str, Any], fname: str) -> list[Problem]:
    """Caller's solver settings that name no solver field, or a seed given with repeat_seeds."""
    problems = [Problem(fname, f"solver.{k}", why) for k in solver if (why := check_key(f"solver.{k}"))]
    if "seed" in solver and spec.repeat_seeds:
        problems.append(Problem(fname, "repeat_seeds", "a fixed seed was given as well (--seed)",
                                "drop one: repeat_seeds runs every item once per seed"))
    return problems


_CALLER_FLAGS = {"backend": "--backend", "time_limit_s": "--time-limit", "seed": "--seed", "workers": "--workers"}
"""The command line's option for each of the caller's solver settings (``siteopt batch``)."""


@dataclass(frozen=True)
class _Given:
    """One override key of a batch file: where it is written, its key parts and its values."""

    where: str
    parts: tuple[str, ...]
    values: tuple[Any, ...]


def _same_field(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two override keys that set one field: equal, one inside the other (``facilities`` and
    ``facilities.0.count``), or one money amount in its two spellings (``budget`` and ``budget_gbp``)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return True
    return len(a) == len(b) and a[:-1] == b[:-1] and MONEY_SPELLINGS.get(a[-1]) == b[-1]


def _holds(value: Any, parts: tuple[str, ...]) -> bool:
    """True when the mapping/list ``value`` has a member at the dotted ``parts``."""
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    return True


def _every_item_settings(spec: BatchFile, solver: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...], str]]:
    """The solver settings applied to every item after its overrides (:func:`_fixed_overrides`,
    ``repeat_seeds``): what gives each, its key parts, and how to keep an item's own value instead."""
    out: list[tuple[str, tuple[str, ...], str]] = []
    if spec.repeat_seeds:
        out.append(("repeat_seeds", ("solver", "seed"), "drop repeat_seeds, or this key"))
    if spec.time_limit_s is not None:
        out.append(("the batch's time_limit_s", ("solver", "time_limit_s"), "drop the batch's time_limit_s, or this key"))
    if spec.backend is not None:
        out.append(("the batch's backend", ("solver", "backend"), "drop the batch's backend, or this key"))
    if "workers" not in solver:
        out.append(("the batch (one solver worker per item, so that a seed reproduces it)", ("solver", "workers"),
                    "give the number of workers for every item with --workers instead"))
    out.extend((_CALLER_FLAGS.get(k, f"solver.{k}"), ("solver", k), f"drop {_CALLER_FLAGS.get(k, k)}, or this key")
               for k in solver)
    return out


def _conflict_problems(spec: BatchFile, solver: Mapping[str, Any], fname: str) -> list[Problem]:
    """Override keys that set the same field twice in one item, so that one silently replaces the
    other (the item then runs, and is named, with a value it was not given, or is dropped as a
    duplicate): two sweep keys (``budget`` and ``budget_gbp``; ``facilities`` and
    ``facilities.0.count``), an explicit scenario's key and a sweep key, or either and a setting
    every item gets (``solver.seed`` swept with ``repeat_seeds``, ``solver.time_limit_s`` with the
    batch's ``time_limit_s`` or ``--time-limit``)."""
    sweep = [_Given(f"sweep.{k}", tuple(split_key(k)), tuple(v)) for k, v in spec.sweep.items() if check_key(k) is None]
    groups = [sweep] + [[_Given(f"scenarios[{i}].{k}", tuple(split_key(k)), (v,)) for k, v in sc.items() if check_key(k) is None]
                        for i, sc in enumerate(spec.scenarios or [])]
    settings = _every_item_settings(spec, solver)
    problems: list[Problem] = []
    for g, group in enumerate(groups):
        pairs = [(a, b) for i, a in enumerate(group) for b in group[i + 1:]] + [(s, e) for e in group for s in sweep if g]
        problems.extend(Problem(fname, b.where, f"sets the same field as {a.where}, so one would replace the other",
                                "give each field once") for a, b in pairs if _same_field(a.parts, b.parts))
        for e in group:
            for label, parts, hint in settings:
                inside = len(e.parts) < len(parts) and parts[:len(e.parts)] == e.parts
                if e.parts == parts or (inside and any(_holds(v, parts[len(e.parts):]) for v in e.values)):
                    problems.append(Problem(fname, e.where, f"{label} sets every item's {'.'.join(parts)}, which would "
                                            "replace this value (items named by it would all run with one)", hint))
    return problems


def _failing_keys(base_data: Mapping[str, Any], ov: Mapping[str, Any]) -> dict[str, str]:
    """The override keys of ``ov`` that cannot be applied to the base scenario, with why."""
    bad = {}
    for k in ov:
        try:
            apply_overrides(base_data, {k: ov[k]})
        except KeyError as exc:
            bad[k] = exc.args[0] if exc.args else str(exc)
    return bad


@dataclass
class _Expansion:
    """What expanding a batch found: items, swept columns, dropped duplicates, bad keys (with any,
    the items are built from their other keys: checked, never run)."""

    items: list[BatchItem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)


def _expand(spec: BatchFile, fname: str, base_path: Path, base_data: dict[str, Any], solver: Mapping[str, Any]) -> _Expansion:
    fixed = _fixed_overrides(spec, solver)
    site_hashes: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    spelled: dict[str, str] = {}  # a key in dotted form -> the spelling first seen, which heads its column
    out = _Expansion()
    for ov in _combinations(spec, fname):
        # facilities[0].count in one item and facilities.0.count in another: one field, one column
        ov = {spelled.setdefault(".".join(split_key(k)), k): v for k, v in ov.items()}
        out.columns.extend(k for k in ov if k not in out.columns)
        unknown = {k: why for k in ov if (why := check_key(k))}  # told by _parse_batch_file
        try:
            resolved = apply_overrides(base_data, {k: v for k, v in ov.items() if k not in unknown})
        except KeyError as exc:  # a key out of range: told once; the item's other keys are still checked
            failing = _failing_keys(base_data, ov) or {next(iter(ov), "sweep"): exc.args[0] if exc.args else str(exc)}
            for k, why in failing.items():
                out.bad.setdefault(k, why)
            unknown.update(failing)
            try:
                resolved = apply_overrides(base_data, {k: v for k, v in ov.items() if k not in unknown})
            except KeyError:
                continue
        if unknown:
            out.bad.update((k, why) for k, why in unknown.items() if k not in out.bad)
            ov = {k: v for k, v in ov.items() if k not in unknown}
        resolved = apply_overrides(resolved, fixed)
        ref = resolved.get("site")
        h = None
        if isinstance(ref, str) and ref:
            if ref not in site_hashes:
                sp, _ = resolve_site_ref(ref, base_path.resolve())
                site_hashes[ref] = file_sha256(sp) if sp is not None else None
            h = site_hashes[ref]
        key = item_key(resolved, h, __version__)
        name = item_name(ov, str(base_data.get("id") or base_path.stem), scenario_currency(resolved))
        if key in seen:
            out.duplicates.append((name, seen[key]))
            continue
        seen[key] = name
        out.items.append(BatchItem(len(out.items), key, name, ov, resolved, str(base_path.resolve()), h))
    return out


def load_batch(path_or_spec: BatchSource, *, base_dir: str | os.PathLike[str] | None = None,
               solver: Mapping[str, Any] | None = None) -> BatchSpec:
    """Parse, validate and expand a batch.

    Args:
        path_or_spec: a batch file path (YAML, JSON or TOML) or an embedded batch's name
            (``"amp_sbp/budget_sweep"``, ``siteopt list``), an in-memory batch mapping, or a
            :class:`BatchSpec` (returned as it is; ``base_dir`` and ``solver`` cannot apply to it).
        base_dir: where a mapping batch's relative ``base`` resolves (default: the cwd; for a
            file, its folder).
        solver: settings of every item's ``solver`` section (``backend``, ``time_limit_s``,
            ``seed``, ``workers``) that override the batch file's and the base scenario's,
            e.g. from the command line; a ``seed`` cannot be combined with ``repeat_seeds``.

    Returns:
        The :class:`BatchSpec` with its items in results order.

    Raises:
        ValidationError / FileReadError: every problem with the batch file (unknown keys,
            sweep keys that name no scenario field, unequal zip lengths, a missing base file), or,
            when the base scenario is invalid and no item's values make a valid scenario of it
            (every item would be recorded invalid), the problems :func:`check_base` finds, as
            ``siteopt validate`` lists them. A base that only some items mend runs (the others are
            recorded invalid); one that every item mends runs with a note in ``notes``.
        ArgumentError: a ``solver`` value out of range (``{"time_limit_s": -1}``, an unknown
            backend), or ``base_dir`` / ``solver`` given with a :class:`BatchSpec`.
        TypeError: ``path_or_spec``, ``base_dir`` or ``solver`` of the wrong kind.
    """
    if isinstance(path_or_spec, BatchSpec):
        if base_dir is not None or solver is not None:
            raise ArgumentError([Problem("load_batch", "base_dir" if base_dir is not None else "solver",
                                         "cannot apply to a BatchSpec already loaded",
                                         "pass the batch file or mapping instead")])
        return path_or_spec
    spec, problems, items = inspect_batch(path_or_spec, base_dir=base_dir, solver=solver)
    if spec is None:  # the items' values too: a bad key no longer hides a swept budget of -5
        raise ValidationError(problems + _value_problems(items, problems[0].file))
    base = check_base(spec.base_path, spec.items, str(spec.path) if spec.path is not None else "<batch>", items_too=False)
    if not base.runnable:  # every item would be recorded invalid: refused, as siteopt validate lists it
        raise ValidationError(base.problems)
    spec.notes = [base.note] if base.note else []
    return spec


def _key(p: Problem, base: str, name: str) -> tuple[str, str, str, str | None]:
    """A problem as it is found in the base scenario and in an item (the scenario's own problems
    are filed under the base file for one, the batch file for the other; a site's under the site)."""
    return ("" if p.file in (base, name) else p.file, p.field, p.reason, p.hint)


SHOWN_ITEMS = 3
"""How many items a site problem's ``used by`` names before ``... and N more``."""


def _used_by(users: list[BatchItem], n_items: int, name: str) -> str:
    """``; used by 2 items of b.yaml: item 3 (site=bad.yaml, budget=£1m), item 4 (...)``: which
    items run on a file (a swept site) whose problem is listed once."""
    if len(users) == n_items > 1:
        return f"; used by all {n_items} items of {name}"
    which = name_list([f"item {i.index} ({i.name})" for i in users], SHOWN_ITEMS)
    return f"; used by {name}'s {which}" if len(users) == 1 else f"; used by {len(users)} items of {name}: {which}"


def _item_lines(items: list[BatchItem], checks: list[list[Problem]], name: str, base: str,
                skip: set[tuple[str, str, str, str | None]], inherited: set[tuple[str, str, str, str | None]]) -> list[Problem]:
    """The problems ``checks`` found in ``items`` as ``siteopt validate`` lists them: the scenario's
    own per item (``item 2 (budget=-£5): budget_gbp: ...``, the hint of one ``inherited`` from the
    base saying so), another file's (the item's site) as that file's own line, once, naming the
    items that use it; those in ``skip`` (every item's, listed once as the base's) left out."""
    lines: dict[Any, Problem] = {}  # in the order found
    users: dict[Problem, list[BatchItem]] = {}
    for item, found in zip(items, checks, strict=True):
        for p in found:
            k = _key(p, base, name)
            if k in skip:
                continue
            if p.file != name:
                lines.setdefault(p, p)
                users.setdefault(p, []).append(item)
                continue
            hint = p.hint
            if k in inherited:
                hint = (f"{hint}; " if hint else "") + f"the base scenario {base} has it too: fix it there, or override it in this item"
            lines.setdefault((item.index, k), Problem(name, f"item {item.index} ({item.name}): {p.field}", p.reason, hint))
    return [Problem(p.file, p.field, p.reason + _used_by(users[p], len(items), name), p.hint) if p in users else p
            for p in lines.values()]


@dataclass
class BaseCheck:
    """A batch's base scenario judged as the batch runs it: with each item's values applied
    (:func:`check_base`; ``siteopt validate`` and :func:`load_batch` alike).

    Attributes:
        scenario: the base scenario, when it is valid on its own.
        problems: what ``siteopt validate`` lists: a base problem every item keeps, once as the base
            file's; one only some items keep, per item (``item 0 (keep): budget_gbp: ...``); each
            item's own; a site's once, naming the items that use it.
        runnable: some item is a valid scenario (or the base is valid and the items were not
            checked): :func:`load_batch` runs the batch, else refuses it with ``problems``.
        note: for a runnable batch whose base is invalid on its own and mended by every item's
            values (a placeholder budget the sweep replaces): what is wrong with the base and that
            the items mend it; ``None`` otherwise.
    """

    scenario: Scenario | None
    problems: list[Problem]
    runnable: bool
    note: str | None = None


def check_base(base: Path, items: list[BatchItem], name: str, *, items_too: bool = True) -> BaseCheck:
    """Judge a batch's base scenario the way the batch runs it: an item is the base with its values
    applied, so a base invalid on its own is checked item by item and accepted when every item mends
    it (a note says so); a base problem some item keeps is that item's problem, named by it.

    Args:
        base: the base scenario file.
        items: the batch's items (their ``scenario`` mappings are checked).
        name: the batch file as the user named it (item problems are filed under it).
        items_too: with a valid base, check the items too (``siteopt validate``); without,
            a valid base is enough (:func:`load_batch`: an invalid item is recorded, not refused).

    Returns:
        The :class:`BaseCheck`; an unreadable base is its file's problems, not runnable. The
        base's own problems name it as the user would type it (relative to the working folder
        when inside it), as a site's do: the same scenario also given to ``siteopt validate`` on
        its own is then one file, its problems listed once.
    """
    base = display_path(base)
    data, found = load_mapping(base)
    if data is None:
        return BaseCheck(None, found, False)
    scenario, own = check_scenario(data, str(base), base.resolve())
    own = found + own
    if not own and not items_too:
        return BaseCheck(scenario, [], True)
    checks = [check_scenario(item.scenario, name, Path(item.base_path).resolve())[1] for item in items]
    if not own:
        return BaseCheck(scenario, _item_lines(items, checks, name, str(base), set(), set()), True)
    keys = {_key(p, str(base), name) for p in own}
    kept = [{k for p in found_i if (k := _key(p, str(base), name)) in keys} for found_i in checks]
    everyone = set.intersection(*kept) if kept else keys
    problems = [p for p in own if _key(p, str(base), name) in everyone]
    problems += _item_lines(items, checks, name, str(base), everyone, keys)
    runnable = any(not c for c in checks)
    note = None
    if runnable and not any(kept):  # said when the batch runs though its base is invalid
        what = "; ".join(f"{p.field}: {p.reason}" if p.file == str(base) else f"{p.file}: {p.field}: {p.reason}" for p in own)
        note = (f"the base scenario {base} is invalid on its own ({what}), but every item's values mend it "
                f"({'the one item is' if len(items) == 1 else f'all {len(items)} items are'} checked with their values applied, "
                "as they run)")
    return BaseCheck(None, problems, runnable, note)


def _value_problems(items: list[BatchItem], name: str) -> list[Problem]:
    """For a batch refused for problems of its own, what ``siteopt validate`` also finds
    (:func:`check_base`)."""
    return check_base(Path(items[0].base_path), items, name).problems if items else []


def inspect_batch(path_or_spec: str | os.PathLike[str] | Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None,
                  solver: Mapping[str, Any] | None = None) -> tuple[BatchSpec | None, list[Problem], list[BatchItem]]:
    """A batch's problems in one pass, and the items that can still be checked (``siteopt validate``).

    Unequal zip lengths, a sweep key out of range and unknown keys are found together; the items
    are expanded as far as they can be (a zip of unequal lists item by item, a key that cannot be
    applied left out of its item) so that each item's values can be checked too.

    Args:
        path_or_spec, base_dir, solver: as for :func:`load_batch`.

    Returns:
        ``(spec, [], items)`` for a valid batch; else ``(None, every problem, the checkable items)``.

    Raises:
        FileReadError / ValidationError: the batch file or its base cannot be read, or the batch
            file cannot be understood at all (problems found so far).
    """
    if solver is not None and not isinstance(solver, Mapping):
        raise TypeError(f"load_batch() takes solver settings as a mapping (e.g. {{'backend': 'cbc'}}), got "
                        f"{type(solver).__name__} {solver!r}")
    solver = dict(solver or {})
    _check_solver_values(solver)
    data, fname, path, root = _read_batch(path_or_spec, base_dir)
    spec, problems = _parse_batch_file(data, fname)
    problems.extend(_solver_problems(spec, solver, fname))
    problems.extend(_conflict_problems(spec, solver, fname))
    base_path, base_data = _load_base(spec, fname, root, problems)
    ex = _expand(spec, fname, base_path, base_data, solver)
    told = {p.field for p in problems}  # an unknown key is told once, by _parse_batch_file
    problems.extend(Problem(fname, where, why) for k, why in ex.bad.items()
                    if (where := f"sweep.{k}" if k in spec.sweep else f"scenarios.{k}") not in told)
    if problems:
        return None, problems, ex.items
    batch_id = spec.id or (path.stem if path is not None else str(base_data.get("id") or "batch"))
    logger.info("batch %s: %d items (%d duplicates dropped) from %s", batch_id, len(ex.items), len(ex.duplicates), fname)
    return BatchSpec(batch_id, spec.name or batch_id, path, base_path, ex.items, ex.columns, ex.duplicates), [], ex.items


def expand_batch(path_or_spec: BatchSource, *, base_dir: str | os.PathLike[str] | None = None,
                 solver: Mapping[str, Any] | None = None) -> list[BatchItem]:
    """The items of a batch file (or an in-memory batch mapping, or a :class:`BatchSpec`), in results order.

    Args:
        path_or_spec, base_dir, solver: as for :func:`load_batch`.

    Returns:
        The batch's items.

    Raises:
        ValidationError / FileReadError: every problem with the batch file (unknown keys,
            sweep keys that name no scenario field, unequal zip lengths, a missing base file).
    """
    return load_batch(path_or_spec, base_dir=base_dir, solver=solver).items
