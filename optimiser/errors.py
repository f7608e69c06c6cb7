"""The project's error hierarchy.

Every error the package raises on purpose derives from :class:`SiteOptError`. Leaves also
subclass the matching builtin, so callers can catch ``ValueError`` for bad input without
knowing this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The ``siteopt`` exit codes (design brief, section 7), defined once.

    ``OK`` solved (optimal, or feasible with a reported gap); ``INTERNAL`` an internal error (a
    bug); ``INPUT`` invalid input or usage; ``INFEASIBLE`` proven infeasible (with an
    explanation); ``NO_SOLUTION`` no solution within the time limit; ``INTERRUPTED`` stopped
    by SIGINT (Ctrl-C) or SIGTERM (128 + SIGINT, the shell's convention); ``ITEMS_FAILED`` a
    batch ran to the end but some of its items are invalid, errored, crashed or failed
    verification (``siteopt batch`` only: every result is kept; infeasible or unsolved items
    are answers, not failures); ``BROKEN_PIPE`` the
    reader of stdout went away (``siteopt validate ... | head``: 128 + SIGPIPE, as a process the
    signal ends; nothing is printed about it).
    """

    OK = 0
    INTERNAL = 1
    INPUT = 2
    INFEASIBLE = 3
    NO_SOLUTION = 4
    ITEMS_FAILED = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141


class SiteOptError(Exception):
    """Root of every error raised on purpose by ``optimiser``.

    Every one pickles whole (its message, attributes and an ``OSError``'s ``errno``), so it
    crosses processes as raised: several take other arguments than their message (``problems``,
    ``signal`` and ``stage``...), which the default pickling would pass back to ``__init__``
    (an :class:`Interrupted` raised on a Dask worker could not be unpickled by the batch).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        os_fields = ({k: v for k in ("errno", "strerror", "filename") if (v := getattr(self, k)) is not None}
                     if isinstance(self, OSError) else {})
        return (_rebuilt, (type(self), self.args, dict(self.__dict__), os_fields))


def _rebuilt(cls: type[SiteOptError], args: tuple[Any, ...], state: dict[str, Any],
             os_fields: dict[str, Any]) -> SiteOptError:
    """A pickled :class:`SiteOptError` as it was, without calling its ``__init__``."""
    base: Any = OSError if issubclass(cls, OSError) else Exception  # the builtin whose layout it has
    exc = base.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    for k, v in os_fields.items():
        setattr(exc, k, v)
    return exc


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes:
        file: the file the problem is in (as the user named it).
        field: dotted path to the offending field, e.g. ``firms[3].employees``; ``""`` for the
            whole file.
        reason: what is wrong, in the user's terms.
        hint: what to do about it, or ``None``.
    """

    file: str
    field: str
    reason: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}: {self.field or '(file)'}: {self.reason}"
        if self.hint:
            text += f" ({self.hint})"
        return text


@dataclass(frozen=True)
class SiteWarning:
    """A site sanity warning: the input is valid but probably not what its author meant
    (e.g. a firm joined to the walking network by a 440 m connector).

    Warnings never stop a run: ``siteopt validate`` and ``run`` print them (exit 0), write them to
    ``metrics.json`` (``warnings``) and the report; ``--strict`` turns them into problems (exit 2).
    :mod:`optimiser.network.sanity` collects them; its ``WARNING_CODES`` lists every code.

    Attributes:
        code: what kind of warning, e.g. ``long_connector`` (stable, for filtering).
        file: the file the warning is about (as the user named it).
        field: dotted path to the feature, e.g. ``firms[3].entrances[0]``.
        message: what looks wrong, with the figures.
        fix: what to do about it, or ``None``.
    """

    code: str
    file: str
    field: str
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}: {self.field or '(file)'}: warning [{self.code}]: {self.message}"
        if self.fix:
            text += f" ({self.fix})"
        return text

    def as_problem(self) -> Problem:
        """The warning as a problem (``--strict``)."""
        return Problem(self.file, self.field, f"{self.message} [warning {self.code}; an error under --strict]", self.fix)


class InputError(SiteOptError, ValueError):
    """One or more problems in the user's input files; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(str(p) for p in self.problems))


class ValidationError(InputError):
    """A site or scenario file is readable but says something invalid."""


class ArgumentError(InputError):
    """Invalid arguments of a Python call (e.g. :func:`optimiser.pmedian.solve_pmedian`): each
    problem's ``file`` is the function's name and its ``field`` the argument's."""


class FileReadError(InputError, OSError):
    """A file is missing, unreadable or not parseable."""


class ModelError(SiteOptError, ValueError):
    """A problem cannot be built from the (valid) inputs, e.g. no candidate site fits."""


class InfeasibleError(SiteOptError, RuntimeError):
    """The scenario has no feasible layout; ``conflicts`` explains why in planning terms."""

    def __init__(self, message: str, conflicts: list[str] | tuple[str, ...] = ()):
        self.conflicts: tuple[str, ...] = tuple(conflicts)
        super().__init__(message + ("".join(f"\n  - {c}" for c in self.conflicts)))


class SolverError(SiteOptError, RuntimeError):
    """A solver backend failed (not infeasibility: a crash, a missing binary, bad status)."""


class VerificationError(SiteOptError, AssertionError):
    """An optimised layout failed independent verification; this is a bug, never ignored."""

    def __init__(self, message: str, failures: list[str] | tuple[str, ...] = ()):
        self.failures: tuple[str, ...] = tuple(failures)
        super().__init__(message + ("".join(f"\n  - {f}" for f in self.failures)))


class Interrupted(SiteOptError, RuntimeError):
    """The run was stopped by SIGINT or SIGTERM (:mod:`optimiser.solve.interrupt`); nothing
    half-written is left behind. ``signal`` names the signal, ``stage`` where it stopped."""

    def __init__(self, signal: str, stage: str):
        self.signal = signal
        self.stage = stage
        super().__init__(f"interrupted by {signal} during {stage}")


class OutputExistsError(SiteOptError, FileExistsError):
    """The output directory is not empty and overwriting was not asked for."""


class OutputBusyError(OutputExistsError):
    """Another run holds the lock on the output directory (the message names the holder)."""


class OutputWriteError(SiteOptError, OSError):
    """The output could not be written (the disk is full, a quota is reached, the file system
    turned read-only): nothing half-written is left where the output goes; ``errno`` says why."""


class TimeLimitError(SiteOptError, TimeoutError):
    """The run's time limit ran out before a solve could start; ``phase`` names the stage
    (``candidates``, ``network``, ``build``) it stopped in."""

    def __init__(self, message: str, phase: str):
        self.phase = phase
        super().__init__(message)


class ModelTooLargeError(ModelError):
    """The model would not fit in memory or could not be built within the time limit; the
    message names the setting to change, ``setting`` its field path (``""`` when it is the
    firms or the time limit), ``in_site`` whether that field is the site file's (a crossing
    rule) rather than the scenario's."""

    def __init__(self, message: str, setting: str = "", in_site: bool = False):
        self.setting = setting
        self.in_site = in_site
        super().__init__(message)
