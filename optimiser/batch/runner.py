"""Optimisation batches: scenario sweeps run in parallel (local processes or Dask), resumable,
summarised as a results table and a cost-versus-walking Pareto front.

A batch file (``placemaking-batch/1``; YAML, JSON or TOML) names a base scenario and how to
vary it::

    format: placemaking-batch/1
    id: budget-sweep
    base: baseline.yaml           # relative to this file; omitted: the embedded AMP-SBP baseline
    mode: grid                    # grid (cartesian product, default) or zip (lists side by side)
    sweep:                        # dotted override key -> list of values
      budget_gbp: [300000, 1000000, 3000000]
      layers.hs2: [false, true]
      facilities.0.count: [1, 2]  # list items by index ("facilities[0].count" also works)
    scenarios:                    # optional explicit override mappings (crossed with the sweep)
      - {demand.rule: employees_product}
      - {demand.rule: sector_affinity}
    repeat_seeds: [0, 1, 2]       # optional: every item once per CP-SAT seed
    time_limit_s: 10              # optional: per item (else the scenario's own)
    backend: cpsat                # optional

Items are the product sweep-points x scenarios x seeds. Each item is the base scenario mapping
with its overrides applied (plus ``solver.workers: 1`` so a fixed seed reproduces the result),
validated like any scenario file and run through :func:`optimiser.pipeline.run_scenario`.

Every item has a stable key: the SHA-256 of the canonical JSON of the fully resolved scenario
mapping, the content hash of its site file and the package version. Its run directory is
``OUT/runs/<key[:12]>/``; ``result.json`` there is written atomically as the item's very last
step and is the only thing that marks it finished, so an interrupted batch resumes where it
stopped and a changed site or scenario re-runs. Outputs: ``results.csv`` (one row per item,
rewritten atomically after each completion), ``pareto.csv`` and ``pareto.png`` (capital cost
against optimised weighted mean walk, both minimised), ``summary.json`` and ``batch.json``.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import csv
import difflib
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import tempfile
import time
import types
import typing
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from optimiser.errors import FileReadError, OutputExistsError, Problem, ValidationError
from optimiser.inputs import schema as S

RESULT_FORMAT = "placemaking-batch-result/1"
SOLVED = ("optimal", "feasible")
STATUSES = ("optimal", "feasible", "infeasible", "no_solution", "invalid", "verification_failed", "error", "crashed")
"""Item statuses: the solver's (``unknown`` is reported as ``no_solution``), ``invalid`` (the
item's scenario failed validation), ``verification_failed`` (a bug: the layout failed the
independent check), ``error`` (an exception) and ``crashed`` (the worker process died)."""

MAX_ITEMS = 100_000
_FAULTS_ENV = "_SITEOPT_BATCH_FAULTS"  # test hook: JSON {"crash": "name part", "sleep": seconds}


# ---------------------------------------------------------------- the batch file format


class BatchFile(BaseModel):
    """A batch of scenario runs (``placemaking-batch/1``)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["placemaking-batch/1"] = S.BATCH_FORMAT
    id: S.Id | None = Field(None, description="Batch identifier (default: the file name).")
    name: str = ""
    description: str = ""
    base: str | None = Field(
        None, min_length=1,
        description="Base scenario file, relative to the batch file; omitted: the embedded AMP-SBP baseline.",
    )
    mode: Literal["grid", "zip"] = Field("grid", description="grid: cartesian product of the sweep lists; zip: side by side.")
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="Dotted override key (e.g. budget_gbp, facilities.0.count) -> values."
    )
    scenarios: list[dict[str, Any]] | None = Field(
        None, min_length=1, description="Explicit override mappings, each crossed with the sweep."
    )
    repeat_seeds: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, min_length=1, description="Run every item once per CP-SAT seed (solver.seed)."
    )
    time_limit_s: S.PositiveFloat | None = Field(None, description="Per-item solver time limit, seconds.")
    backend: Literal["cpsat", "cbc"] | None = None


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
        return self.key[:12]


@dataclass
class BatchSpec:
    """A parsed batch file with its items (what :func:`expand_batch` builds)."""

    id: str
    name: str
    path: Path | None
    base_path: Path
    items: list[BatchItem]
    columns: list[str]
    duplicates: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes:
        batch_id, out_dir: the batch and its output folder.
        records: one result record per item, in item order (the content of each result.json
            plus ``index`` and ``run_dir``).
        counts: items per status.
        ran, skipped: items run now, and finished items skipped on resume.
        seconds: wall time of this call.
        results_csv, pareto_csv, pareto_png, summary_json: output paths.
    """

    batch_id: str
    out_dir: Path
    records: list[dict[str, Any]]
    counts: dict[str, int]
    ran: int
    skipped: int
    seconds: float
    results_csv: Path
    pareto_csv: Path
    pareto_png: Path
    summary_json: Path
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        """True when every item was solved."""
        return all(r["status"] in SOLVED for r in self.records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "out_dir": str(self.out_dir),
            "items": len(self.records),
            "counts": dict(self.counts),
            "solved": sum(self.counts.get(s, 0) for s in SOLVED),
            "ran": self.ran,
            "skipped": self.skipped,
            "duplicates_dropped": self.duplicates,
            "seconds": round(self.seconds, 3),
            "scenarios_per_minute": round(60.0 * self.ran / self.seconds, 2) if self.seconds > 0 and self.ran else None,
            "paths": {
                "results_csv": str(self.results_csv),
                "pareto_csv": str(self.pareto_csv),
                "pareto_png": str(self.pareto_png),
                "summary_json": str(self.summary_json),
                "runs": str(self.out_dir / "runs"),
            },
        }


# ---------------------------------------------------------------- overrides with list indices

_BRACKET = re.compile(r"\[(\d+)\]")
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def split_key(key: str) -> list[str]:
    """``"facilities[0].count"`` / ``"facilities.0.count"`` -> ``["facilities", "0", "count"]``."""
    return [p for p in _BRACKET.sub(r".\1", key).split(".")]


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with dotted-key overrides applied.

    Numeric parts index lists (``facilities.0.count``); missing mapping levels are created
    (``layers.hs2`` on a scenario without ``layers``). Raises ``KeyError`` with a readable
    message when a part cannot be followed (index out of range, a value that is not a
    mapping or list).
    """
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        parts = split_key(key)
        if not parts or any(p == "" for p in parts):
            raise KeyError(f"{key!r} is not a dotted key")
        cur: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[:depth]) or "the scenario"
            if isinstance(cur, list):
                if not part.isdigit():
                    raise KeyError(f"{where} is a list: index it with a number, e.g. {where}.0")
                i = int(part)
                if i >= len(cur):
                    raise KeyError(f"{where} has {len(cur)} item{'s' if len(cur) != 1 else ''}; index {i} is out of range")
                if last:
                    cur[i] = copy.deepcopy(value)
                else:
                    cur = cur[i]
            elif isinstance(cur, dict):
                if last:
                    cur[part] = copy.deepcopy(value)
                else:
                    nxt = cur.get(part)
                    if nxt is None:
                        nxt = {}
                        cur[part] = nxt
                    cur = nxt
            else:
                raise KeyError(f"{where} is a single value ({json.dumps(cur, default=str)[:40]}), it has no {part!r}")
    return out


def _unwrap(t: Any) -> list[Any]:
    """The alternatives of an annotation, with Annotated/Optional stripped."""
    origin = typing.get_origin(t)
    if origin is Annotated:
        return _unwrap(typing.get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(t):
            if a is not type(None):
                out.extend(_unwrap(a))
        return out
    return [t]


def check_key(key: str) -> str | None:
    """Why ``key`` cannot name a scenario field (``None`` when it can), with a did-you-mean."""
    parts = split_key(key)
    if not parts or any(p == "" for p in parts):
        return f"{key!r} is not a dotted key such as budget_gbp or facilities.0.count"
    alts: list[Any] = [S.ScenarioFile]
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        models = [a for a in alts if isinstance(a, type) and issubclass(a, BaseModel)]
        lists = [a for a in alts if typing.get_origin(a) is list]
        dicts = [a for a in alts if typing.get_origin(a) is dict]
        nxt: list[Any] = []
        if part.isdigit() and lists:
            for a in lists:
                nxt.extend(_unwrap(typing.get_args(a)[0]))
        elif dicts and not models:
            for a in dicts:
                nxt.extend(_unwrap(typing.get_args(a)[1]))
        elif models:
            found = [m for m in models if part in m.model_fields]
            if not found:
                names = sorted({f for m in models for f in m.model_fields})
                near = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
                hint = f"; did you mean {'.'.join(parts[:depth] + [near[0]])!r}?" if near else f"; allowed: {', '.join(names)}"
                return f"unknown scenario field {part!r}" + (f" in {where}" if where else "") + hint
            for m in found:
                nxt.extend(_unwrap(m.model_fields[part].annotation))
        elif lists:
            return f"{where} is a list: index it with a number, e.g. {where}.0"
        else:
            return f"{where} is a single value; it has no field {part!r}"
        alts = nxt
    return None


# ---------------------------------------------------------------- keys and names


def _canon(obj: Any) -> Any:
    """JSON-ready canonical form: integral floats as ints, tuples as lists, keys as text."""
    if isinstance(obj, Mapping):
        return {str(k): _canon(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj) and obj == int(obj) and abs(obj) < 2**53:
            return int(obj)
        return obj if math.isfinite(obj) else str(obj)
    return str(obj)


def canonical_json(obj: Any) -> str:
    return json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def item_key(scenario: Mapping[str, Any], site_sha256: str | None, version: str | None = None) -> str:
    """The stable key of a resolved scenario mapping (see the module docstring)."""
    if version is None:
        from optimiser import __version__ as version
    payload = {"format": S.BATCH_FORMAT, "scenario": scenario, "site_sha256": site_sha256, "version": version}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


_SHORT = {"budget_gbp": "budget", "solver.seed": "seed", "solver.time_limit_s": "time_limit", "layers.hs2": "hs2"}


def _fmt_value(key: str, v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if key.endswith("_gbp") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"£{v / 1e6:g}m" if abs(v) >= 1e5 else f"£{v:g}"
    if isinstance(v, (dict, list)):
        return canonical_json(v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def item_name(overrides: Mapping[str, Any], fallback: str) -> str:
    """A readable label for an item from its overrides."""
    parts = []
    label = overrides.get("name") or overrides.get("id")
    if isinstance(label, str) and label:
        parts.append(label)
    for k, v in overrides.items():
        if k in ("name", "id"):
            continue
        short = _SHORT.get(k, _INDEX.sub(r"[\1]", _BRACKET.sub(r".\1", k)))
        parts.append(f"{short}={_fmt_value(k, v)}")
    return ", ".join(parts) if parts else fallback


# ---------------------------------------------------------------- expansion


def _read_batch(path_or_spec: Any, base_dir: str | os.PathLike[str] | None) -> tuple[dict[str, Any], str, Path | None, Path]:
    from optimiser.inputs.reading import load_mapping

    if isinstance(path_or_spec, Mapping):
        root = Path(base_dir) if base_dir is not None else Path.cwd()
        return dict(path_or_spec), "<batch>", None, root
    path = Path(path_or_spec)
    data, problems = load_mapping(path)
    if data is None:
        raise FileReadError(problems)
    if problems:
        raise ValidationError(problems)
    return data, str(path_or_spec), path, Path(base_dir) if base_dir is not None else path.resolve().parent


def expand_batch(path_or_spec: Any, *, base_dir: str | os.PathLike[str] | None = None) -> list[BatchItem]:
    """The items of a batch file (or an in-memory batch mapping), in results order.

    Raises:
        ValidationError / FileReadError: every problem with the batch file (unknown keys,
            sweep keys that name no scenario field, unequal zip lengths, a missing base file).
    """
    return load_batch(path_or_spec, base_dir=base_dir).items


def load_batch(path_or_spec: Any, *, base_dir: str | os.PathLike[str] | None = None) -> BatchSpec:
    """Parse, validate and expand a batch; see :func:`expand_batch`."""
    from optimiser import __version__
    from optimiser.inputs.reading import default_scenario_path, load_mapping, pydantic_problems, resolve_site_ref

    data, fname, path, root = _read_batch(path_or_spec, base_dir)
    problems: list[Problem] = []
    sweep_raw = data.get("sweep")
    if isinstance(sweep_raw, dict) and isinstance(sweep_raw.get("mode"), str):
        # accept `sweep: {mode: zip, ...}` as well as a top-level `mode:`
        sweep_raw = dict(sweep_raw)
        mode = sweep_raw.pop("mode")
        if "mode" in data and data["mode"] != mode:
            problems.append(Problem(fname, "sweep.mode", f"{mode!r} contradicts mode: {data['mode']!r}", "give the mode once"))
        data = {**data, "sweep": sweep_raw, "mode": data.get("mode", mode)}
    spec: BatchFile | None = None
    try:
        spec = BatchFile.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(exc, BatchFile, data, fname))
    # override keys are checked against the scenario format even when the rest is invalid
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
    if spec is None:
        raise ValidationError(problems)
    if spec.mode == "zip" and spec.sweep:
        lengths = {k: len(v) for k, v in spec.sweep.items()}
        if len(set(lengths.values())) > 1:
            problems.append(Problem(fname, "sweep", "mode zip needs lists of equal length, got "
                                    + ", ".join(f"{k}: {n}" for k, n in lengths.items()),
                                    "use mode: grid for every combination"))

    # the base scenario
    if spec.base is None:
        try:
            base_path = default_scenario_path()
        except FileReadError as exc:
            problems.extend(Problem(fname, "base", p.reason, p.hint) for p in exc.problems)
            raise ValidationError(problems) from None
    else:
        base_path = Path(spec.base) if Path(spec.base).is_absolute() else root / spec.base
    base_data, base_problems = load_mapping(base_path)
    if base_data is None:
        problems.extend(Problem(fname, "base", f"{base_path}: {p.reason}", p.hint) for p in base_problems)
    elif base_problems:
        problems.extend(base_problems)
    if problems:
        raise ValidationError(problems)
    assert base_data is not None

    # combinations
    keys = list(spec.sweep)
    if not keys:
        points: list[dict[str, Any]] = [{}]
    elif spec.mode == "zip":
        points = [dict(zip(keys, vals)) for vals in zip(*(spec.sweep[k] for k in keys))]
    else:
        points = [dict(zip(keys, vals)) for vals in itertools.product(*(spec.sweep[k] for k in keys))]
    explicit = spec.scenarios or [{}]
    seeds: list[int | None] = list(spec.repeat_seeds) if spec.repeat_seeds else [None]
    n = len(points) * len(explicit) * len(seeds)
    if n > MAX_ITEMS:
        raise ValidationError([Problem(fname, "sweep", f"the batch expands to {n} items (limit {MAX_ITEMS})",
                                       "split it into several batches")])

    fixed: dict[str, Any] = {"solver.workers": 1}
    if spec.time_limit_s is not None:
        fixed["solver.time_limit_s"] = spec.time_limit_s
    if spec.backend is not None:
        fixed["solver.backend"] = spec.backend

    site_hashes: dict[str, str | None] = {}
    items: list[BatchItem] = []
    seen: dict[str, str] = {}
    duplicates: list[tuple[str, str]] = []
    columns: list[str] = []
    bad: dict[str, str] = {}
    for ex, pt, seed in itertools.product(explicit, points, seeds):
        ov: dict[str, Any] = {**ex, **pt}
        if seed is not None:
            ov["solver.seed"] = seed
        for k in ov:
            if k not in columns:
                columns.append(k)
        try:
            resolved = apply_overrides(base_data, ov)
        except KeyError as exc:
            msg = exc.args[0] if exc.args else str(exc)
            key_for = next((k for k in ov if k not in bad), "sweep")
            for k in ov:  # find which key failed
                try:
                    apply_overrides(base_data, {k: ov[k]})
                except KeyError:
                    key_for = k
                    break
            bad.setdefault(key_for, msg)
            continue
        resolved = apply_overrides(resolved, fixed)
        ref = resolved.get("site")
        h = None
        if isinstance(ref, str) and ref:
            if ref not in site_hashes:
                sp, _ = resolve_site_ref(ref, base_path.resolve())
                site_hashes[ref] = _file_sha256(sp) if sp is not None else None
            h = site_hashes[ref]
        key = item_key(resolved, h, __version__)
        name = item_name(ov, str(base_data.get("id") or base_path.stem))
        if key in seen:
            duplicates.append((name, seen[key]))
            continue
        seen[key] = name
        items.append(BatchItem(len(items), key, name, ov, resolved, str(base_path.resolve()), h))
    if bad:
        raise ValidationError([Problem(fname, f"sweep.{k}" if k in spec.sweep else f"scenarios.{k}", why) for k, why in bad.items()])
    batch_id = spec.id or (path.stem if path is not None else str(base_data.get("id") or "batch"))
    return BatchSpec(batch_id, spec.name or batch_id, path, base_path, items, columns, duplicates)


# ---------------------------------------------------------------- running one item (in a worker)


def _summary_metrics(m: Mapping[str, Any]) -> dict[str, Any]:
    walk = m.get("walk") or {}
    cost = m.get("cost") or {}
    ver = m.get("verification") or {}
    pl = m.get("placements") or {}
    return {
        "objective": m.get("objective"),
        "bound": m.get("bound"),
        "gap": m.get("gap"),
        "solve_seconds": m.get("solve_seconds"),
        "backend": m.get("backend"),
        "seed": m.get("seed"),
        "walk.baseline_weighted_mean_m": walk.get("baseline_weighted_mean_m"),
        "walk.optimised_weighted_mean_m": walk.get("optimised_weighted_mean_m"),
        "walk.reduction_pct": walk.get("reduction_pct"),
        "cost.capital": cost.get("capital"),
        "cost.budget": cost.get("budget"),
        "placements.shared_facilities": len(pl.get("shared_facilities") or []),
        "placements.social_spaces": len(pl.get("social_spaces") or []),
        "placements.crossings": len(pl.get("crossings") or []),
        "verification.passed": ver.get("passed"),
    }


def _record(key: str, name: str, overrides: Mapping[str, Any], status: str, exit_code: int, seconds: float,
            metrics: Mapping[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    return {
        "format": RESULT_FORMAT,
        "key": key,
        "name": name,
        "overrides": dict(overrides),
        "status": status,
        "exit_code": exit_code,
        "error": error,
        "seconds": round(seconds, 3),
        "metrics": _summary_metrics(metrics) if metrics else None,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _faults(name: str) -> None:
    """Test hook (environment variable ``_SITEOPT_BATCH_FAULTS``): delay or kill a worker."""
    raw = os.environ.get(_FAULTS_ENV)
    if not raw:
        return
    spec = json.loads(raw)
    if spec.get("sleep"):
        time.sleep(float(spec["sleep"]))
    if spec.get("crash") and spec["crash"] in name:
        os._exit(70)


def run_item(payload: Mapping[str, Any], run_dir: str, render: bool = False) -> dict[str, Any]:
    """Run one batch item and write its ``result.json`` (atomically, as the last step).

    ``payload`` holds ``key``, ``name``, ``overrides``, ``scenario`` and ``base_path``. Never
    raises for a bad item: invalid input, infeasibility, no solution, a verification failure
    or an exception all become a record with a status and a reason.
    """
    from optimiser.errors import InputError, VerificationError
    from optimiser.inputs.reading import scenario_from_mapping
    from optimiser.pipeline import run_scenario
    from optimiser.present.rundir import write_json_atomic

    t0 = time.perf_counter()  # after the (once per worker) imports
    key, name, ov = payload["key"], payload["name"], payload["overrides"]
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        _faults(name)

        sc = scenario_from_mapping(payload["scenario"], base_path=payload["base_path"], name=f"{name} [{key[:12]}]")
        res = run_scenario(sc, out, overwrite=True, render=render)
        status = {"unknown": "no_solution"}.get(res.status, res.status)
        error = None
        if status == "infeasible":
            conflicts = res.metrics.conflicts
            error = "infeasible" + (": " + "; ".join(conflicts) if conflicts else (f": {res.metrics.message}" if res.metrics.message else ""))
        elif status == "no_solution":
            error = "no solution within the time limit" + (f": {res.metrics.message}" if res.metrics.message else "")
        rec = _record(key, name, ov, status, res.exit_code, time.perf_counter() - t0, res.metrics.to_json_dict(), error)
    except InputError as exc:
        rec = _record(key, name, ov, "invalid", 2, time.perf_counter() - t0,
                      error="; ".join(f"{p.field or '(file)'}: {p.reason}" + (f" ({p.hint})" if p.hint else "") for p in exc.problems))
    except VerificationError as exc:
        metrics = None
        try:
            metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        rec = _record(key, name, ov, "verification_failed", 1, time.perf_counter() - t0, metrics,
                      error="verification failed: " + "; ".join(exc.failures))
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
        rec = _record(key, name, ov, "error", 1, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    write_json_atomic(out / "result.json", rec)
    return rec


# ---------------------------------------------------------------- reading finished items


def read_result(path: str | os.PathLike[str], key: str) -> dict[str, Any] | None:
    """A finished item's record, or ``None`` if ``path`` is missing, unreadable, not a result
    record or for another key (half-written files never count)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != RESULT_FORMAT or rec.get("key") != key:
        return None
    if rec.get("status") not in STATUSES:
        return None
    return rec


# ---------------------------------------------------------------- tables


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(round(v, 6))
    if isinstance(v, (dict, list)):
        return canonical_json(v)
    return v


METRIC_COLUMNS = ["objective", "gap", "walk.baseline_weighted_mean_m", "walk.optimised_weighted_mean_m",
                  "walk.reduction_pct", "cost.capital", "cost.budget"]


def results_header(columns: Sequence[str]) -> list[str]:
    return ["key", "name", *columns, "status", "exit_code", *METRIC_COLUMNS, "seconds", "run_dir", "error"]


def results_rows(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    rows = []
    for it in items:
        rec = records.get(it.key)
        m = (rec or {}).get("metrics") or {}
        rows.append([it.key[:12], it.name, *(it.overrides.get(c) for c in columns),
                     rec["status"] if rec else "pending", rec.get("exit_code") if rec else None,
                     *(m.get(c) for c in METRIC_COLUMNS),
                     rec.get("seconds") if rec else None, f"runs/{it.run_id}", rec.get("error") if rec else None])
    return rows


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return buf.getvalue()


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (cost, walk) point, whether it is dominated (both minimised).

    A point is dominated when another is no worse on both and better on one; equal points
    do not dominate each other.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    dominated = [False] * len(points)
    best_walk = math.inf
    best_cost = None
    k = 0
    while k < len(order):
        # a group with the same cost
        j = k
        c = points[order[k]][0]
        while j < len(order) and points[order[j]][0] == c:
            j += 1
        group = order[k:j]
        gmin = min(points[i][1] for i in group)
        for i in group:
            w = points[i][1]
            if w > gmin or w > best_walk or (w == best_walk and best_cost is not None and best_cost < c):
                dominated[i] = True
        if gmin < best_walk:
            best_walk, best_cost = gmin, c
        k = j
    return dominated


def pareto_table(items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], columns: Sequence[str]) -> tuple[list[str], list[list[Any]], list[dict[str, Any]]]:
    """Rows of pareto.csv (all solved items, cheapest first) and the front points."""
    solved = []
    for it in items:
        rec = records.get(it.key)
        if not rec or rec.get("status") not in SOLVED:
            continue
        m = rec.get("metrics") or {}
        cost, walk = m.get("cost.capital"), m.get("walk.optimised_weighted_mean_m")
        if cost is None or walk is None:
            continue
        solved.append((it, rec, float(cost), float(walk)))
    dom = pareto_front([(c, w) for _, _, c, w in solved])
    order = sorted(range(len(solved)), key=lambda i: (solved[i][2], solved[i][3], solved[i][0].index))
    header = ["key", "name", *columns, "status", "cost.capital", "walk.optimised_weighted_mean_m",
              "walk.baseline_weighted_mean_m", "walk.reduction_pct", "gap", "dominated", "walk_saved_per_million_gbp"]
    rows = []
    front = []
    prev: tuple[float, float] | None = None
    for i in order:
        it, rec, c, w = solved[i]
        m = rec.get("metrics") or {}
        rate = None
        if not dom[i]:
            if prev is not None and c > prev[0]:
                rate = (prev[1] - w) / ((c - prev[0]) / 1e6)
            if prev is None or (c, w) != prev:
                prev = (c, w)
            front.append({"name": it.name, "key": it.key, "cost": c, "walk": w, "rate": rate})
        rows.append([it.key[:12], it.name, *(it.overrides.get(k) for k in columns), rec["status"], c, w,
                     m.get("walk.baseline_weighted_mean_m"), m.get("walk.reduction_pct"), m.get("gap"), dom[i],
                     round(rate, 3) if rate is not None else None])
    return header, rows, front


def _atomic_savefig(fig: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=120)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def plot_pareto(path: Path, items: Sequence[BatchItem], records: Mapping[str, Mapping[str, Any]], title: str) -> Path:
    """pareto.png: every solved item, the front as a step line with labels."""
    from matplotlib.figure import Figure

    _, rows, front = pareto_table(items, records, [])
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.subplots()
    solved = [(r[3], r[4], r[8]) for r in rows]  # cost, walk, dominated
    dominated = [(c / 1e6, w) for c, w, d in solved if d]
    if dominated:
        ax.scatter(*zip(*dominated), s=28, color="#9aa5b1", alpha=0.8, label="dominated scenario", zorder=2)
    if front:
        xs = [p["cost"] / 1e6 for p in front]
        ys = [p["walk"] for p in front]
        ax.step(xs, ys, where="post", color="#1f6f8b", lw=2, zorder=3, label="Pareto front")
        ax.scatter(xs, ys, s=46, color="#1f6f8b", edgecolor="white", zorder=4)
        last = None
        for k, p in enumerate(front):
            if last is not None and (p["cost"], p["walk"]) == last:
                continue
            last = (p["cost"], p["walk"])
            text = p["name"] if len(p["name"]) <= 44 else p["name"][:42] + "…"
            if p["rate"] is not None:
                text += f"\n{p['rate']:,.0f} m per £1m"
            ax.annotate(text, (p["cost"] / 1e6, p["walk"]), xytext=(6, 6 if k % 2 == 0 else -18),
                        textcoords="offset points", fontsize=7.5, color="#12435a")
        baselines = sorted({r[5] for r in rows if r[5] is not None})
        if len(baselines) == 1:
            ax.axhline(baselines[0], color="#c0392b", ls="--", lw=1, label=f"no intervention ({baselines[0]:,.0f} m)")
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no solved scenarios yet", ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xlabel("Capital cost (£m)")
    ax.set_ylabel("Optimised weighted mean walk between firms (m)")
    n = len(items)
    distinct = len({(p["cost"], p["walk"]) for p in front})
    ax.set_title(f"{title}: how much walking each extra pound buys\n{len(solved)} solved of {n} scenarios; "
                 f"{distinct} distinct point{'s' if distinct != 1 else ''} on the cost-walk Pareto front", fontsize=10)
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.margins(x=0.1, y=0.08)
    _atomic_savefig(fig, path)
    return path


# ---------------------------------------------------------------- running a batch


class _Progress:
    def __init__(self, enabled: bool, total: int, done: int, label: str):
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task(label, total=total, completed=done, counts="")
        self.bar.start()

    def update(self, counts: Mapping[str, int]) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, counts=" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _pool(jobs: int) -> cf.ProcessPoolExecutor:
    # spawn: fresh interpreters, never a fork of a process with OR-Tools threads
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def _payload(it: BatchItem) -> dict[str, Any]:
    return {"key": it.key, "name": it.name, "overrides": it.overrides, "scenario": it.scenario, "base_path": it.base_path}


def _crash_record(it: BatchItem, reason: str, seconds: float = 0.0) -> dict[str, Any]:
    return _record(it.key, it.name, it.overrides, "crashed", 1, seconds, error=reason)


def _run_local(todo: list[BatchItem], runs: Path, jobs: int, render: bool, on_done) -> None:
    """Run items in a process pool; a dying worker breaks the pool: the items in flight are
    re-run one by one in isolation (so the culprit is known) and the rest resubmitted."""
    pending = deque(todo)
    suspects: deque[BatchItem] = deque()
    while pending or suspects:
        if suspects:
            it = suspects.popleft()
            t0 = time.perf_counter()
            with _pool(1) as ex:
                fut = ex.submit(run_item, _payload(it), str(runs / it.run_id), render)
                try:
                    rec = fut.result()
                except cf.process.BrokenProcessPool:
                    rec = _crash_record(it, "the worker process died while running this item", time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001
                    rec = _record(it.key, it.name, it.overrides, "error", 1, time.perf_counter() - t0,
                                  error=f"{type(exc).__name__}: {exc}")
            on_done(it, rec)
            continue
        ex = _pool(jobs)
        inflight: dict[cf.Future, tuple[BatchItem, float]] = {}
        broken = False
        try:
            while (pending or inflight) and not broken:
                while pending and len(inflight) < jobs:
                    it = pending.popleft()
                    inflight[ex.submit(run_item, _payload(it), str(runs / it.run_id), render)] = (it, time.perf_counter())
                done, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    it, t0 = inflight.pop(fut)
                    try:
                        rec = fut.result()
                    except cf.process.BrokenProcessPool:
                        broken = True
                        suspects.append(it)
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                        rec = _record(it.key, it.name, it.overrides, "error", 1, time.perf_counter() - t0,
                                      error=f"{type(exc).__name__}: {exc}")
                    on_done(it, rec)
            if broken:
                suspects.extend(it for it, _ in inflight.values())
                inflight.clear()
                if len(suspects) == 1:  # it ran alone: it is the culprit
                    it = suspects.popleft()
                    on_done(it, _crash_record(it, "the worker process died while running this item"))
        finally:
            ex.shutdown(wait=True, cancel_futures=True)


def _run_dask(todo: list[BatchItem], runs: Path, scheduler: Any, render: bool, on_done) -> None:
    """Run items on a Dask cluster (``tcp://`` address, Client, or LocalCluster)."""
    from distributed import Client, as_completed

    own = None
    if isinstance(scheduler, Client):
        client = scheduler
    elif isinstance(scheduler, str):
        client = own = Client(scheduler)
    elif hasattr(scheduler, "scheduler_address"):
        client = own = Client(scheduler)
    else:
        raise TypeError(f"scheduler must be an address, a distributed.Client or a cluster, not {type(scheduler).__name__}")
    try:
        futs = {}
        for it in todo:
            f = client.submit(run_item, _payload(it), str(runs / it.run_id), render, pure=False,
                              key=f"siteopt-item-{it.key[:16]}-{time.time_ns()}")
            futs[f] = it
        for f in as_completed(list(futs)):
            it = futs[f]
            try:
                rec = f.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker and friends
                kind = type(exc).__name__
                if kind == "KilledWorker":
                    rec = _crash_record(it, f"the Dask worker died while running this item ({exc})")
                else:
                    rec = _record(it.key, it.name, it.overrides, "error", 1, 0.0, error=f"{kind}: {exc}")
            on_done(it, rec)
    finally:
        if own is not None:
            own.close()


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "batch.json").is_file():
        raise OutputExistsError(f"{out} is not empty and is not a batch output folder (no batch.json); choose another --out")
    (out / "runs").mkdir(parents=True, exist_ok=True)


def run_batch(
    path_or_spec: Any,
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    resume: bool = True,
    render: bool = False,
    retry_failed: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
) -> BatchSummary:
    """Run every item of a batch and write the results table and Pareto front.

    Args:
        path_or_spec: a batch file path, an in-memory batch mapping, or a :class:`BatchSpec`.
        out_dir: the batch folder (``runs/<key[:12]>/`` per item, results.csv, pareto.csv,
            pareto.png, summary.json, batch.json); created if needed.
        jobs: local worker processes (each item solves with one CP-SAT worker).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), ``distributed.Client`` or
            cluster object; runs the items there instead of local processes (the workers must
            see ``out_dir``).
        progress: show a rich progress bar on stderr.
        resume: skip items whose ``result.json`` exists, parses and has the item's key;
            ``False`` re-runs everything.
        render: also draw plans and report.html for every item (slower).
        retry_failed: on resume, re-run items recorded as ``error`` or ``crashed``.
        base_dir: where a mapping batch's relative ``base`` resolves (default: the cwd).

    Returns:
        A :class:`BatchSummary`. Item failures are recorded, never raised.

    Raises:
        ValidationError / FileReadError: the batch file is invalid (nothing run).
        OutputExistsError: ``out_dir`` is a non-empty folder that is not a batch folder.
    """
    t_start = time.perf_counter()
    spec = path_or_spec if isinstance(path_or_spec, BatchSpec) else load_batch(path_or_spec, base_dir=base_dir)
    out = Path(out_dir)
    _prepare_out(out)
    runs = out / "runs"
    from optimiser import __version__
    from optimiser.present.rundir import atomic_write_text, write_json_atomic

    write_json_atomic(out / "batch.json", {
        "format": S.BATCH_FORMAT, "id": spec.id, "name": spec.name, "batch_file": str(spec.path) if spec.path else None,
        "base": str(spec.base_path), "version": __version__, "columns": spec.columns,
        "items": [{"index": it.index, "key": it.key, "name": it.name, "overrides": it.overrides,
                   "site_sha256": it.site_sha256, "run_dir": f"runs/{it.run_id}"} for it in spec.items],
        "duplicates_dropped": [{"name": a, "same_as": b} for a, b in spec.duplicates],
    })

    records: dict[str, dict[str, Any]] = {}
    todo: list[BatchItem] = []
    for it in spec.items:
        res_path = runs / it.run_id / "result.json"
        rec = read_result(res_path, it.key) if resume else None
        if rec is not None and retry_failed and rec["status"] in ("error", "crashed"):
            rec = None
        if rec is not None:
            records[it.key] = rec
        else:
            if res_path.exists():
                res_path.unlink()  # stale, foreign or explicitly re-run: not finished
            todo.append(it)
    skipped = len(records)

    results_csv = out / "results.csv"

    def write_results() -> None:
        atomic_write_text(results_csv, _csv(results_header(spec.columns), results_rows(spec.items, records, spec.columns)))

    counts: dict[str, int] = {}
    for r in records.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    bar = _Progress(progress, len(spec.items), skipped, spec.id)

    def on_done(it: BatchItem, rec: dict[str, Any]) -> None:
        res_path = runs / it.run_id / "result.json"
        if read_result(res_path, it.key) is None:  # the parent records crashes (and remote-only results)
            res_path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(res_path, rec)
        records[it.key] = rec
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
        write_results()
        bar.update(counts)

    write_results()
    try:
        if todo:
            if scheduler is not None:
                _run_dask(todo, runs, scheduler, render, on_done)
            else:
                _run_local(todo, runs, max(1, int(jobs)), render, on_done)
    finally:
        bar.close()

    header, rows, _ = pareto_table(spec.items, records, spec.columns)
    pareto_csv = atomic_write_text(out / "pareto.csv", _csv(header, rows))
    pareto_png = plot_pareto(out / "pareto.png", spec.items, records, spec.name)
    ordered = [{**records[it.key], "index": it.index, "run_dir": str(runs / it.run_id)} for it in spec.items if it.key in records]
    summary = BatchSummary(spec.id, out, ordered, dict(sorted(counts.items())), len(todo), skipped,
                           time.perf_counter() - t_start, results_csv, pareto_csv, pareto_png, out / "summary.json",
                           len(spec.duplicates))
    write_json_atomic(out / "summary.json", summary.to_dict())
    return summary
