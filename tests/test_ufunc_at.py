"""Every ``np.<ufunc>.at`` in the package gets its values in the target's own dtype.

numpy's ``ufunc.at`` takes a fast path only when no cast is needed: ``np.minimum.at`` of 32-bit
lengths into a 64-bit array took about 30x as long (``Evaluator.client_lengths`` on
benchmarks/realsites' independent seed 7 at 10 s: 1.19 s in 1,125 calls, 0.07 s in the target's
dtype). The speed is measured in the benchmark; this checks the dtypes on the calls a relax-first
run and the evaluator make, through a stand-in for ``np`` in every module that calls ``.at``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import optimiser
from tests.relax_district import relax_district, run_relax_first

_AT = re.compile(r"\bnp\.(\w+)\.at\(")


def _modules_calling_at() -> dict[str, set[str]]:
    """Module name -> the ufuncs whose ``.at`` it calls (found in the sources)."""
    root = Path(optimiser.__file__).parent
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        ufuncs = set(_AT.findall(path.read_text(encoding="utf-8")))
        if ufuncs:
            found["optimiser." + ".".join(path.relative_to(root).with_suffix("").parts)] = ufuncs
    return found


class _RecordingUfunc:
    def __init__(self, ufunc: np.ufunc, calls: list[tuple[str, np.dtype, object]], where: str) -> None:
        self._ufunc, self._calls, self._where = ufunc, calls, where

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._ufunc, name)

    def at(self, a, indices, b=None):
        self._calls.append((self._where, a.dtype, b))
        return self._ufunc.at(a, indices, b)


class _RecordingNumpy:
    """``numpy`` with the named ufuncs' ``.at`` recorded."""

    def __init__(self, ufuncs: set[str], calls: list, where: str) -> None:
        self._ufuncs, self._calls, self._where = ufuncs, calls, where

    def __getattr__(self, name: str):
        if name in self._ufuncs:
            return _RecordingUfunc(getattr(np, name), self._calls, self._where)
        return getattr(np, name)


@pytest.fixture()
def at_calls(monkeypatch) -> list:
    calls: list[tuple[str, np.dtype, object]] = []
    for name, ufuncs in _modules_calling_at().items():
        monkeypatch.setattr(importlib.import_module(name), "np", _RecordingNumpy(ufuncs, calls, name))
    return calls


def test_the_sources_are_scanned():
    found = _modules_calling_at()
    assert "optimiser.solve.heuristic" in found and "minimum" in found["optimiser.solve.heuristic"]


def test_relax_first_calls_ufunc_at_without_a_cast(at_calls):
    district = relax_district()
    _, res = run_relax_first(district, 3.0)
    _, _, ev, optimum = district
    ev.client_lengths(ev.open_options(np.ones(ev.n_d, dtype=np.int8)))
    where = {w for w, _, _ in at_calls}
    assert "optimiser.solve.heuristic" in where  # the evaluator's lengths, with 32-bit level entries
    assert ev.level_runs() is not None and ev.level_runs()[1].dtype == np.int32 and ev.base.dtype == np.int64
    cast = [(w, str(dt), str(b.dtype)) for w, dt, b in at_calls if isinstance(b, np.ndarray) and b.dtype != dt]
    assert not cast, f"ufunc.at with a cast (numpy's slow path): {sorted(set(cast))}"
    assert res.objective is not None and res.objective >= optimum
