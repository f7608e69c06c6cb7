"""OR-Tools' CP-SAT Python API (``ortools.sat.python.cp_model``) imported without pandas.

``cp_model`` imports pandas at its top for its ``*_series`` helpers (variables indexed by a
``pandas.Index``), which this package never calls; pandas costs about 0.4 s of CPU to import,
a sixth of ``siteopt run`` on the AMP-SBP default (issue 17). While ``cp_model`` is imported, a
stand-in ``pandas`` module with the two classes its annotations name (``Index`` and
``Series``) is put in :data:`sys.modules`, and removed again at once; ``cp_model``'s own ``pd``
then loads the real pandas on first use (:func:`optimiser.lazy.lazy_module`), so its series
helpers still work. When pandas or ``cp_model`` is already loaded, this is a plain import.

Use ``from optimiser.solve.cpsat_api import cp_model`` in place of
``from ortools.sat.python import cp_model``.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from optimiser.lazy import lazy_module

__all__ = ["cp_model"]

_CP_MODEL = "ortools.sat.python.cp_model"


def _pandas_stand_in() -> types.ModuleType:
    """A module named pandas with the classes ``cp_model``'s annotations read at its import."""
    stand_in = types.ModuleType("pandas", "stand-in while ortools.sat.python.cp_model is imported")
    stand_in.Index = type("Index", (), {})  # type: ignore[attr-defined]
    stand_in.Series = type("Series", (), {})  # type: ignore[attr-defined]
    return stand_in


def _import_cp_model() -> types.ModuleType:
    if _CP_MODEL in sys.modules or "pandas" in sys.modules:
        from ortools.sat.python import cp_model as module

        return module
    stand_in = _pandas_stand_in()
    sys.modules["pandas"] = stand_in
    try:
        from ortools.sat.python import cp_model as module
    finally:
        if sys.modules.get("pandas") is stand_in:
            del sys.modules["pandas"]
    if getattr(module, "pd", None) is stand_in:
        module.pd = lazy_module("pandas")  # the real pandas, on the first call that needs it
    return module


if TYPE_CHECKING:
    from ortools.sat.python import cp_model
else:
    cp_model = _import_cp_model()
