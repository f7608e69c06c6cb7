"""The error hierarchy (optimiser.errors)."""

from __future__ import annotations

import errno
import pickle

import pytest

from optimiser import errors as E

_P = E.Problem("f.yaml", "firms[0].employees", "is negative", "give a count of staff")


def _write_error() -> E.OutputWriteError:
    err = E.OutputWriteError("cannot write run1: no space left on the device")
    err.errno = errno.ENOSPC
    return err


@pytest.mark.parametrize("exc", [
    E.InputError([_P]), E.ValidationError([_P]), E.ArgumentError([_P]), E.FileReadError([_P]), E.ModelError("no site fits"),
    E.InfeasibleError("infeasible", ["the budget is below the cheapest layout"]), E.SolverError("CBC died"),
    E.VerificationError("failed", ["objective differs"]), E.Interrupted("SIGINT", "the solve"), E.OutputExistsError("run1"),
    E.OutputBusyError("run1 is busy"), E.TimeLimitError("out of time", "network"),
    E.ModelTooLargeError("too large", "crossings.spacing_m", True), _write_error()], ids=lambda e: type(e).__name__)
def test_every_error_crosses_processes_whole(exc: E.SiteOptError) -> None:
    """A Dask worker's exception comes back pickled: an error whose __init__ takes other
    arguments than its message (Interrupted(signal, stage), InputError(problems)...) could not be
    unpickled (TypeError: missing 1 required positional argument)."""
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc) and back.args == exc.args
    assert back.__dict__ == exc.__dict__
    if isinstance(exc, OSError):
        assert isinstance(back, OSError) and back.errno == exc.errno
