"""Checking any mix of input files in one pass: sites, scenarios and batches, each recognised by
its ``format``, every problem of every file (a scenario's references into its site included,
even when the site has problems of its own) and the site sanity warnings of the valid ones.

This is what ``siteopt validate`` runs, and :func:`validate_files` (the public API's, re-exported
by :mod:`optimiser.inputs.validate`, on which nothing here depends) its problems without the
warnings. It sits above :mod:`optimiser.inputs` (sites and scenarios), :mod:`optimiser.batch`
(batch files) and :mod:`optimiser.network.sanity` (warnings, which need the walk network), so
none of those depends on another.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from optimiser.batch.spec import BatchSpec, check_base, inspect_batch
from optimiser.errors import InputError, ModelTooLargeError, Problem, SiteWarning
from optimiser.inputs.domain import Scenario, Site
from optimiser.inputs.formats import checked_path, load_mapping
from optimiser.inputs.kinds import FileKind, detect_kind
from optimiser.inputs.locate import display_path, resolve_input
from optimiser.inputs.messages import name_list
from optimiser.inputs.scenario import check_scenario
from optimiser.inputs.site import check_site

logger = logging.getLogger(__name__)


@dataclass
class FileReport:
    """What checking one file found.

    Attributes:
        file: the file as given.
        kind: ``"site"``, ``"scenario"`` or ``"batch"`` (``None`` when it could not be read).
        problems: every problem (empty when valid).
        warnings: site sanity warnings (only for a valid file; a warning already reported for an
            earlier file of the same call is not repeated).
        notes: what is worth saying of a file though nothing is wrong with it: a batch whose
            base scenario is invalid on its own but mended by every item's values.
        site, scenario, batch: the validated object of the file's kind, when valid.
    """

    file: str
    kind: FileKind | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[SiteWarning] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    site: Site | None = None
    scenario: Scenario | None = None
    batch: BatchSpec | None = None

    @property
    def ok(self) -> bool:
        """No problems (warnings allowed)."""
        return not self.problems


def _check_batch(path: Path, name: str, report: FileReport, with_warnings: bool) -> None:
    """A batch file: its own problems, then its base scenario judged with each item's values
    applied, as ``siteopt batch`` runs it (:func:`~optimiser.batch.spec.check_base`: a base
    invalid on its own that every item mends is a note; a base problem some items keep is theirs,
    by name; each item's own), and a valid base's warnings, all in one pass (the items of a batch
    with problems of its own are checked as far as they can be expanded)."""
    try:
        report.batch, own, items = inspect_batch(path)
    except InputError as exc:
        report.problems.extend(exc.problems)
        return
    report.problems.extend(own)
    base = Path(items[0].base_path) if items else report.batch.base_path if report.batch is not None else None
    if base is None:
        return
    judged = check_base(base, items, name)
    report.problems.extend(judged.problems)
    report.notes.extend([judged.note] if judged.note else [])
    scenario = judged.scenario
    if scenario is not None and with_warnings and not report.problems:
        from optimiser.network.sanity import scenario_warnings  # see _add_warnings

        report.warnings.extend(scenario_warnings(scenario))


def check_file(path: str | os.PathLike[str], *, with_warnings: bool = True, name: str | None = None) -> FileReport:
    """Check one file of any kind (``name``: what to call it in problems, default the path); see
    :func:`check_files`."""
    name = name or str(path)
    report = FileReport(name)
    data, found = load_mapping(path)
    report.problems.extend(Problem(name, p.field, p.reason, p.hint) if p.file == str(path) else p for p in found)
    if data is None:
        return report
    report.kind = detect_kind(data)
    p = Path(path)
    if report.kind == "batch":
        _check_batch(p, name, report, with_warnings)
    elif report.kind == "scenario":
        report.scenario, more = check_scenario(data, name, p.resolve())
        report.problems.extend(more)
        if report.scenario is not None and with_warnings and not report.problems:
            _add_warnings(report, name, report.scenario)
    else:
        report.site, more = check_site(data, name, p.resolve())
        report.problems.extend(more)
        if report.site is not None and with_warnings and not report.problems:
            from optimiser.network.sanity import site_probe  # see _add_warnings

            _add_warnings(report, name, site_probe(report.site))
    logger.debug("checked %s (%s): %d problems, %d warnings", name, report.kind, len(report.problems), len(report.warnings))
    return report


def _add_warnings(report: FileReport, name: str, scenario: Scenario) -> None:
    """The sanity warnings of ``scenario`` (a scenario file's, or a site's probe), after the size
    check ``siteopt run`` makes first: a model it would refuse at the scenario's time limit is a
    problem here too, found from the inputs alone (a 1 mm candidate spacing is refused at once
    instead of being built until the memory runs out). The model and network modules are imported
    here, when warnings are asked for: :func:`validate_files` (none) does not load SciPy."""
    from optimiser.model.size import check_model_size
    from optimiser.network.sanity import futures_warnings, scenario_warnings

    try:
        check_model_size(scenario, scenario.solver.time_limit_s)
    except ModelTooLargeError as exc:
        reason, _, fix = str(exc).partition("; ")
        site_path = scenario.site.path
        where = str(display_path(site_path)) if exc.in_site and site_path is not None and report.kind == "scenario" else name
        report.problems.append(Problem(where, exc.setting, reason, fix or None))
        return
    if scenario.futures:  # every future's, as siteopt run reports them
        report.warnings.extend(futures_warnings([f.name for f in scenario.futures],
                                                [scenario_warnings(f.scenario) for f in scenario.futures]))
    else:
        report.warnings.extend(scenario_warnings(scenario))


def _file_key(problem: Problem) -> tuple[str, str, str, str | None]:
    """``problem`` with its file as a real path: equal for one file named two ways."""
    return os.path.realpath(problem.file), problem.field, problem.reason, problem.hint


def unseen_problems(report: FileReport, seen: set[Problem] | set[Problem | SiteWarning]) -> list[Problem]:
    """A report's problems less those already reported for an earlier file (a site given before
    the scenario naming it: its problems are listed once). When that leaves none, one line says
    the file is invalid for the problems above, so that it is never taken for a valid one. A file
    named two ways (``/abs/scen.yaml`` given, ``scen.yaml`` as a batch's base) is one file."""
    keys = {_file_key(p) for p in seen if isinstance(p, Problem)}
    new = [p for p in dict.fromkeys(report.problems) if _file_key(p) not in keys]
    if new or not report.problems:
        return new
    where = {"scenario": "site", "batch": "base"}.get(report.kind or "", "")
    files = name_list(sorted({p.file for p in report.problems}))
    n = len(set(report.problems))
    return [Problem(report.file, where, f"invalid for the {n} problem{'s' if n != 1 else ''} of {files} listed above",
                    f"fix {files}")]


def check_files(paths: Iterable[str | os.PathLike[str]], *, with_warnings: bool = True) -> list[FileReport]:
    """Check every file given (sites, scenarios and batches, told apart by their ``format``).

    Args:
        paths: the files; nothing is written.
        with_warnings: also compute the site sanity warnings of valid files (builds the walk
            network: about a second for a real site).

    Returns:
        One report per file, in order. A problem or warning already reported for an earlier
        file (a site given on its own and named by a scenario given after it) is not repeated.
    """
    seen_problems: set[Problem] = set()
    seen_warnings: set[SiteWarning] = set()
    reports = []
    for path in paths:
        r = check_file(path, with_warnings=with_warnings)
        r.problems = unseen_problems(r, seen_problems)
        r.warnings = [w for w in dict.fromkeys(r.warnings) if w not in seen_warnings]
        seen_problems.update(r.problems)
        seen_warnings.update(r.warnings)
        reports.append(r)
    return reports


def validate_files(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Problem]:
    """Check files (sites, scenarios and batches, told apart per file by their ``format``);
    return every problem found: what ``siteopt validate`` reports, without its warnings and the
    model size check (which build the walk network).

    Args:
        paths: the files to check, or one file; a file may be an embedded name (``siteopt
            list``: ``"fremont/baseline"``, ``"amp_sbp"``), as ``siteopt validate`` takes it.
            Nothing is written.

    Returns:
        Every problem, in file order, each once (a site named by two scenarios is reported once,
        and so is a scenario given both on its own and as a batch's base, however each is named).
        A batch's are its own, its base scenario's and each item's (``item 2 (budget_gbp=...):
        budget_gbp``), as ``siteopt validate`` lists them.

    Raises:
        TypeError: ``paths`` is neither a path nor a collection of paths.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one file, not its characters
    elif isinstance(paths, bytes) or not isinstance(paths, Iterable):
        raise TypeError(f"validate_files() takes a path or a list of paths, got {type(paths).__name__}")
    paths = list(paths)
    for path in paths:
        checked_path(path, "validate_files", "paths")  # each a path (the names shown stay as given)
    problems: list[Problem] = []
    for path in paths:
        file = resolve_input(os.fspath(path))  # a file, or an embedded name
        problems.extend(check_file(file, with_warnings=False, name=str(path) if file == Path(path) else str(file)).problems)
    once: dict[tuple[str, str, str, str | None], Problem] = {}
    for p in problems:
        once.setdefault(_file_key(p), p)
    return list(once.values())
