"""A run directory is written whole or not at all (design brief section 9: "one run, one
directory, whole").

- :class:`OutputLock`: an exclusive ``fcntl.flock`` on ``<out>.lock`` beside the directory,
  holding the holder's pid, host, start time and run id; a second run on the same ``--out``
  fails at once with :class:`~optimiser.errors.OutputBusyError` naming the holder.
- :class:`StagedDir`: a fresh private directory (``mkdtemp``, mode 0700) beside ``--out`` on
  the same filesystem; every file of the run is written there with ``O_CREAT | O_EXCL |
  O_NOFOLLOW`` (so no write ever follows a symlink, even one planted in the old directory),
  then :meth:`StagedDir.commit` moves the whole directory into place with one rename, or (to
  replace an existing directory with ``--overwrite``) one atomic exchange
  (``renameat2(RENAME_EXCHANGE)`` on Linux): a kill at any moment leaves either the old
  directory or the new one under ``--out``, never a mix.
- :func:`new_run_id`: the id every file of a run carries.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import errno
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from optimiser.errors import OutputBusyError, OutputExistsError, OutputWriteError

logger = logging.getLogger(__name__)

__all__ = ["OutputLock", "StagedDir", "cli_wording", "cli_words", "out_word", "overwrite_word", "new_run_id", "write_new_file", "lock_path",
           "exchange_paths", "stage_for_render", "move_into", "remove_stage", "STAGE_SUFFIX", "OLD_SUFFIX", "WRITE_ERRNOS",
           "is_disk_full", "output_write_errors", "RefusedWrite", "refused_write", "created_parents", "remove_made",
           "parents_error", "clean_stale", "drop_unfinished", "before_commit"]

STAGE_SUFFIX = ".partial"
"""Suffix of a run directory being written (``.<name>.<random>.partial`` beside ``--out``)."""
OLD_SUFFIX = ".old"
"""Suffix of the previous run directory while it is being removed after a swap."""
STAGE_NAME_EXTRA = 1 + 1 + 8 + len(STAGE_SUFFIX)
"""Bytes the stage's name (``.NAME.XXXXXXXX.partial``, ``mkdtemp``'s 8 random characters) adds to
the run directory's; the old directory's (``.NAME.XXXXXXXX.old``) and the lock's
(``NAME.lock``) add fewer."""

WRITE_ERRNOS = {
    errno.ENOSPC: ("no space left on the device", "free some space on that disk, or give {out} on another one"),
    errno.EDQUOT: ("the disk quota is used up", "free some of your space there, or give {out} on another disk"),
    errno.EFBIG: ("a file grew past the largest the file system allows", "give {out} on another file system"),
    errno.EROFS: ("the file system is read-only", "give {out} on a writable disk"),
    errno.EIO: ("an input/output error on the device", "check the disk, or give {out} on another one"),
}
"""Why a write of the run directory failed, in words, and what to do (``{out}``: ``--out`` or
``out_dir``): such a failure is the machine's, not a bug, and leaves nothing behind."""

_RENAME_EXCHANGE = 2  # linux/fs.h

_CLI_WORDS: contextvars.ContextVar[bool] = contextvars.ContextVar("siteopt_cli_words", default=False)
_BEFORE_COMMIT: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("siteopt_before_commit",
                                                                                         default=None)


@contextlib.contextmanager
def before_commit(check: Callable[[], None]) -> Iterator[None]:
    """Within it, every :meth:`StagedDir.commit` first calls ``check``, which may raise to keep
    the run out of place (its stage is then removed): a batch item on Dask passes its batch's
    commit gate there (:mod:`optimiser.batch.gate`)."""
    token = _BEFORE_COMMIT.set(check)
    try:
        yield
    finally:
        _BEFORE_COMMIT.reset(token)


@contextlib.contextmanager
def cli_wording() -> Iterator[None]:
    """Within it, a refused output names the command line's options (``--overwrite``,
    ``--out run1``); outside it (the Python API) the keyword arguments (``overwrite=True``,
    ``out_dir="run1"``)."""
    token = _CLI_WORDS.set(True)
    try:
        yield
    finally:
        _CLI_WORDS.reset(token)


def cli_words() -> bool:
    """Whether this code runs under :func:`cli_wording` (what a batch passes to its workers, so
    their messages name the command line's options too)."""
    return _CLI_WORDS.get()


def overwrite_word() -> str:
    """``--overwrite`` under :func:`cli_wording` (the command line), else ``overwrite=True``."""
    return "--overwrite" if _CLI_WORDS.get() else "overwrite=True"


def out_word(example: str | None = None) -> str:
    """``--out`` / ``out_dir``, or with an example folder ``--out run1`` / ``out_dir="run1"``."""
    if example is None:
        return "--out" if _CLI_WORDS.get() else "out_dir"
    return f"--out {example}" if _CLI_WORDS.get() else f"out_dir={str(example)!r}"


def new_run_id() -> str:
    """A new run id: UTC time to the second and 8 random hex digits, e.g. ``20261203T061655Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.urandom(4).hex()}"


def lock_path(out: Path) -> Path:
    """The lock file of run directory ``out``: ``<out>.lock`` beside it."""
    return out.parent / f"{out.name}.lock"


def write_new_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to a file that must not exist yet, never following a symlink
    (``O_CREAT | O_EXCL | O_NOFOLLOW``), and fsync it. Returns ``path``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


# ------------------------------------------------------------------ the lock


def _holder_text(path: Path) -> str:
    """Who holds the lock at ``path``, as its file says (pid, host, since, run id)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        try:
            info = json.loads(os.read(fd, 4096).decode("utf-8"))
        finally:
            os.close(fd)
        return (f"pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}"
                f" (run {info.get('run_id')})")
    except (OSError, ValueError, AttributeError):
        return "another process (its lock file is unreadable)"


class OutputLock:
    """An exclusive lock on a run directory, held from before the first write to after the
    final rename; ``<out>.lock`` beside it says who holds it and is removed on release.

    Raises (on :meth:`acquire`):
        OutputBusyError: another process holds the lock (the message names it).
        OutputExistsError: the lock file cannot be created (the parent folder is not writable).
    """

    def __init__(self, out: Path, run_id: str):
        self.out = out
        self.path = lock_path(out)
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        import fcntl  # POSIX only; imported here so the module loads everywhere

        for _ in range(20):  # the file may be unlinked by its releasing holder between open and flock
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise OutputExistsError(f"cannot lock {self.out}: {self.path}: {exc.strerror or exc}"
                                        " (is the folder writable, and is the lock file a plain file?)") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputBusyError(f"{self.out} is being written by another run: {_holder_text(self.path)}; "
                                      f"wait for it to finish or choose another {out_word()} (lock file {self.path})") from None
            st_fd, st_path = os.fstat(fd), _lstat(self.path)
            if st_path is not None and (st_fd.st_ino, st_fd.st_dev) == (st_path.st_ino, st_path.st_dev):
                self._fd = fd
                try:
                    info = {"pid": os.getpid(), "host": socket.gethostname(),
                            "since": datetime.now(UTC).isoformat(timespec="seconds"), "run_id": self.run_id}
                    os.ftruncate(fd, 0)
                    os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
                except BaseException:  # a full disk: released (the file removed, the descriptor closed), then raised
                    self.release()
                    raise
                return self
            os.close(fd)  # we locked a file its holder had just unlinked: try again
        raise OutputBusyError(f"cannot lock {self.out}: {self.path} keeps changing; another run is starting there")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def clean_stale(out: Path) -> None:
    """Remove stages and old directories of earlier runs on ``out`` that were killed (the caller
    holds its lock): ``.NAME.XXXXXXXX.partial`` and ``.NAME.XXXXXXXX.old`` only, not the stage of a
    run on a longer name being written now (``.NAME.v2.XXXXXXXX.partial``, under its own lock)."""
    own = re.compile(re.escape(f".{out.name}.") + r"[a-z0-9_]{8}(?:" + re.escape(STAGE_SUFFIX) + "|"
                     + re.escape(OLD_SUFFIX) + ")")
    for p in out.parent.iterdir():
        if own.fullmatch(p.name):
            logger.info("removing %s left by an interrupted run", p)
            _remove_tree(p)


def drop_unfinished(out: Path) -> bool:
    """Remove what a run on ``out`` that was stopped part-way left (its stage, its lock, ``out``
    itself when it is an empty folder); a folder holding anything is kept. ``False`` when another
    process holds the lock (nothing is touched)."""
    try:
        with OutputLock(out, "clearing an unfinished run"):  # released: its file is removed
            clean_stale(out)
            with contextlib.suppress(OSError):  # not empty, or gone
                if stat.S_ISDIR(os.lstat(out).st_mode) and not any(out.iterdir()):
                    out.rmdir()
    except OutputBusyError:
        return False
    return True


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


# ------------------------------------------------------------------ the staged directory


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        True when swapped; False when the platform or filesystem cannot (the caller falls
        back to two renames).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_tree(path: Path) -> None:
    """Remove a directory tree without following symlinks inside it."""
    if path.is_symlink() or not path.exists():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    shutil.rmtree(path, ignore_errors=True)


def created_parents(path: Path) -> list[Path]:
    """The missing ancestors of ``path`` (outermost last), created now (undo with
    :func:`remove_made`).

    Raises:
        NotADirectoryError: an existing ancestor is not a folder (its path is ``filename``).
        OSError: a folder cannot be made (no permission ...).
    """
    missing = []
    p = path
    for q in (path, *path.parents):
        st = _lstat(q)
        if st is not None:
            if not stat.S_ISDIR(os.stat(q).st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(q))
            break
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for n, d in enumerate(reversed(missing)):
        try:
            d.mkdir()
        except OSError:  # a full disk halfway: the folders made before it are removed again
            remove_made(missing[len(missing) - n:])
            raise
    return missing


def parents_error(exc: OSError, out: Path, folder: Path | None = None) -> OutputExistsError:
    """The :class:`~optimiser.errors.OutputExistsError` for the folders that :func:`created_parents`
    could not make (``exc``) for ``out`` (``folder``: the one asked for, by default the one above
    ``out``): a file on the path is named, with the way on."""
    why = (f"{exc.filename} is a file, not a folder" if isinstance(exc, NotADirectoryError) and exc.filename
           else exc.strerror or str(exc))
    made_for = folder if folder is not None else Path(out).absolute().parent
    return OutputExistsError(f"cannot create {made_for} for {out_word()} {out}: {why}; choose another {out_word()}")


def remove_made(made: list[Path]) -> None:
    """Remove the folders :func:`created_parents` made (innermost first) while they are empty;
    one that is not (something else was made there meanwhile) is kept, and so are its parents."""
    for d in made:
        try:
            d.rmdir()
        except OSError:
            break


class StagedDir:
    """A run directory written in a fresh private folder beside ``out`` and moved into place whole.

    Args:
        out: the final run directory.
        overwrite: replace an existing non-empty ``out`` (whole: its old files are gone).
        run_id: the run's id (also written to the lock file).

    Use as a context manager: on entry the output is checked (a non-directory, or a non-empty
    directory without ``overwrite``, is refused), the lock taken and the stage created (so an
    unwritable ``out`` is found before any heavy work); :meth:`commit` moves it into place; on
    exit without a commit the stage is removed (and any folder this run created for it).
    """

    def __init__(self, out: str | os.PathLike[str], overwrite: bool, run_id: str | None = None):
        self.out = Path(out)
        if self.out.name in ("", "..") or ".." in self.out.parts:  # ".", "a/..": the lock and stage go beside the real folder
            self.out = Path(os.path.abspath(self.out))
        self.overwrite = overwrite
        self.run_id = run_id or new_run_id()
        self.path: Path = self.out  # the stage, once created
        self._lock = OutputLock(self.out, self.run_id)
        self._made_parents: list[Path] = []
        self.committed = False

    def check(self) -> None:
        """Refuse an ``out`` that is not a folder, the current folder or a mount point, a non-empty one
        without ``overwrite``, and with ``overwrite`` a non-empty one that is not a run directory (no
        ``metrics.json``: replacing it would delete files no run wrote), and a name too long for the
        stage beside it."""
        self._check_name()
        st = _lstat(self.out)
        if st is None:
            return
        if stat.S_ISLNK(st.st_mode):
            raise OutputExistsError(f"{self.out} is a symbolic link; give the real folder, or another {out_word()}")
        if not stat.S_ISDIR(st.st_mode):
            raise OutputExistsError(f"{self.out} exists and is not a folder; choose another {out_word()}")
        real = Path(os.path.realpath(self.out))
        cwd = Path.cwd()
        if real == cwd or real in cwd.parents:
            raise OutputExistsError(
                f"{self.out} is the current folder{'' if real == cwd else ' or holds it'}: a run directory is "
                f"written beside its place and moved into it whole; give a folder for the run, e.g. {out_word('run1')}")
        if os.path.ismount(real):
            raise OutputExistsError(
                f"{self.out} is a mount point (a volume): a run directory is moved into place whole, and a mount "
                f"point cannot be replaced; give a folder inside it, e.g. {out_word(str(self.out / 'run1'))}")
        entries = sum(1 for _ in self.out.iterdir())
        if not self.overwrite and entries:
            raise OutputExistsError(f"{self.out} is not empty; pass {overwrite_word()} to replace it (whole)")
        if entries and not (self.out / "metrics.json").is_file():  # --overwrite: only an earlier run's directory
            raise OutputExistsError(
                f"{self.out} is not a run directory (it holds {entries} entr{'y' if entries == 1 else 'ies'} and no "
                f"metrics.json): {overwrite_word()} replaces a run directory whole and would delete them; empty it, or "
                f"give another {out_word()}")

    def _check_name(self) -> None:
        """Refuse a name the file system cannot hold with the stage's (``.NAME.XXXXXXXX.partial``
        beside it, :data:`STAGE_NAME_EXTRA` bytes more) or the lock's, before anything is made."""
        try:
            name_max = os.pathconf(self.out.parent if self.out.parent.is_dir() else ".", "PC_NAME_MAX")
        except (OSError, ValueError):
            name_max = 255
        size = len(os.fsencode(self.out.name))
        if size + STAGE_NAME_EXTRA > name_max:
            raise OutputExistsError(
                f"{str(self.out)[:80]}{'...' if len(str(self.out)) > 80 else ''}: the folder's name is {size:,} bytes; a run "
                f"directory's name may have at most {name_max - STAGE_NAME_EXTRA} (the file system allows {name_max}, and "
                f"the run is written beside it as .NAME.XXXXXXXX.partial first): give a shorter {out_word()}")

    def __enter__(self) -> StagedDir:
        self.check()
        try:
            self._made_parents = created_parents(self.out.parent)
        except OSError as exc:
            if (refused := refused_write(exc)) is not None:  # a full disk: said as for any write of the run
                raise self.write_error(exc, refused) from exc
            raise parents_error(exc, self.out) from exc
        try:
            self._lock.acquire()
            self.check()  # again, under the lock
            clean_stale(self.out)
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=STAGE_SUFFIX, dir=self.out.parent))
        except OutputExistsError:  # refused, held by another run, or the lock file: its message says why
            self._abandon()
            raise
        except OSError as exc:
            self._abandon()
            if (refused := refused_write(exc)) is not None:  # a full disk: said as when a later write finds it
                raise self.write_error(exc, refused) from exc
            raise OutputExistsError(f"cannot write beside {self.out}: {exc.strerror or exc} (is the folder writable?)") from exc
        except BaseException:
            self._abandon()
            raise
        logger.debug("staging %s in %s (run %s)", self.out, self.path, self.run_id)
        return self

    def file(self, name: str) -> Path:
        """Where file ``name`` of the run is written (inside the stage)."""
        return self.path / name

    def commit(self) -> Path:
        """Move the stage into place as ``out`` (replacing an old ``out`` whole); returns ``out``.
        A check set by :func:`before_commit` is called first (it may raise: nothing is moved)."""
        if (check := _BEFORE_COMMIT.get()) is not None:
            check()
        mode = 0o777 & ~_umask()
        os.chmod(self.path, mode)
        _fsync_dir(self.path)
        st = _lstat(self.out)
        if st is None:
            os.rename(self.path, self.out)
        elif stat.S_ISDIR(st.st_mode) and not any(self.out.iterdir()):
            os.rename(self.path, self.out)  # replaces an empty folder atomically
        else:
            self.check()
            old = self.out.parent / f".{self.out.name}.{os.urandom(4).hex()}{OLD_SUFFIX}"
            if exchange_paths(self.path, self.out):
                os.rename(self.path, old)  # the stage name now holds the old run
            else:  # two renames: a kill between them leaves the old run whole under `old`
                os.rename(self.out, old)
                os.rename(self.path, self.out)
            _remove_tree(old)
        _fsync_dir(self.out.parent)
        self.committed = True
        self.path = self.out
        logger.debug("run %s moved into place at %s", self.run_id, self.out)
        return self.out

    def _abandon(self) -> None:
        if self.path != self.out and not self.committed:
            _remove_tree(self.path)
        self._lock.release()
        remove_made(self._made_parents)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self.committed:
            self._lock.release()
            return
        self._abandon()
        if ev is not None and (refused := refused_write(ev)) is not None:
            raise self.write_error(ev, refused) from ev

    def write_error(self, exc: BaseException, refused: RefusedWrite) -> OutputWriteError:
        """The :class:`~optimiser.errors.OutputWriteError` for a write the machine refused
        (``exc``, :func:`refused_write`), once the stage is gone: it names the run directory (or
        the other file that could not be written) and what to do."""
        target = getattr(exc, "filename", None)
        target = target if isinstance(target, str) else None
        ours = target is None or os.path.abspath(target).startswith(os.path.abspath(self.out.parent) + os.sep)
        what = f"the run directory {self.out}" if ours else f"{target} (while making the run directory {self.out})"
        kept = f"{self.out} is as it was" if _lstat(self.out) is not None else f"nothing was written to {self.out}"
        return refused.error(f"cannot write {what}: {refused.why}; {kept} ({refused.fix})")


def _umask() -> int:
    """The process umask (read from /proc on Linux, so no other thread sees it change)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as fh:
            return int(next(line for line in fh if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write the machine refused (:data:`WRITE_ERRNOS`: a full disk, a
    quota, a read-only file system), also as SQLite's "database or disk is full" (a GeoPackage)."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return True
    if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    return "database or disk is full" in str(exc)  # GDAL's (pyogrio) wording of SQLITE_FULL


@dataclass(frozen=True)
class RefusedWrite:
    """A write the machine refused, in words (:data:`WRITE_ERRNOS`).

    Attributes:
        errno: the error number (``ENOSPC`` for SQLite's and GDAL's "database or disk is full").
        why: what happened, e.g. "no space left on the device".
        fix: what to do, naming ``--out`` or ``out_dir`` (:func:`out_word`).
    """

    errno: int
    why: str
    fix: str

    def error(self, message: str) -> OutputWriteError:
        """An :class:`~optimiser.errors.OutputWriteError` saying ``message``, with this errno."""
        err = OutputWriteError(message)
        err.errno = self.errno
        return err


def refused_write(exc: BaseException) -> RefusedWrite | None:
    """``exc`` as a :class:`RefusedWrite` when it is one (:func:`is_disk_full`); ``None`` for any
    other exception and for an :class:`~optimiser.errors.OutputWriteError` (already said)."""
    if isinstance(exc, OutputWriteError) or not is_disk_full(exc):
        return None
    code = exc.errno if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS else errno.ENOSPC
    why, fix = WRITE_ERRNOS[code]
    return RefusedWrite(code, why, fix.format(out=out_word()))


@contextlib.contextmanager
def output_write_errors(what: str, out: Path) -> Iterator[None]:
    """Within it, a write the machine refused (:func:`is_disk_full`) raises
    :class:`~optimiser.errors.OutputWriteError` saying ``cannot write WHAT: why; OUT is as it was``,
    and an ``out`` folder made within it (absent on entry) is removed again while still empty
    (for :func:`~optimiser.present.compare.compare_runs` and ``siteopt network``, which stage their
    files with :func:`stage_for_render` and :func:`move_into`: remove the stage on the way out)."""
    made = not os.path.lexists(out)
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - only a refused write is turned into OutputWriteError; anything else re-raised
        if not is_disk_full(exc):
            raise
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()  # made here and still empty: nothing left behind
        refused = refused_write(exc)
        if refused is None:  # an OutputWriteError: said already
            raise
        raise refused.error(f"cannot write {what}: {refused.why}; {out} is as it was ({refused.fix})") from exc


def stage_for_render(run_dir: Path) -> Path:
    """A fresh private folder inside ``run_dir`` for files re-rendered there; each is then
    renamed into ``run_dir`` (a rename replaces a planted symlink, never follows it)."""
    return Path(tempfile.mkdtemp(prefix=".render.", suffix=STAGE_SUFFIX, dir=run_dir))


def move_into(stage: Path, run_dir: Path) -> list[Path]:
    """Rename every file of ``stage`` into ``run_dir`` and remove ``stage``; returns the new paths."""
    out = []
    for p in sorted(stage.iterdir()):
        os.chmod(p, 0o666 & ~_umask())
        dst = run_dir / p.name
        os.replace(p, dst)
        out.append(dst)
    _remove_tree(stage)
    _fsync_dir(run_dir)
    return out


def remove_stage(stage: Path) -> None:
    """Remove a staging folder (after a failure; nothing when it is already gone)."""
    _remove_tree(stage)

