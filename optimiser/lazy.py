"""Third-party modules loaded on first use, so that a run that does not need them does not pay
for them (geopandas, pandas and pyogrio cost about 0.6 s of CPU to import; a YAML site never
needs them).

Use it for modules of *other* packages only, at module level, next to a ``TYPE_CHECKING``
import that keeps the real module's types for mypy::

    if TYPE_CHECKING:
        import geopandas as gpd
    else:
        gpd = lazy_module("geopandas")

The first attribute read (``gpd.GeoDataFrame``) imports the module; every later read goes to
the imported module directly. Nothing is put in :data:`sys.modules` before that import.

:func:`imports_frozen` wraps a block of heavy imports: the cyclic garbage collector is paused
while they run and what they loaded is frozen after (:func:`gc.freeze`), so later collections
never walk it again. A ``siteopt run`` spent about 0.15 s of CPU (load 5) in the collector,
0.09 s of it in two full collections during its imports.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["lazy_module", "imports_frozen", "defer_numpy_extras"]


class _LazyModule(types.ModuleType):
    """A stand-in for a module that imports it on the first attribute read."""

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads skip __getattr__
        return getattr(module, attr)


def lazy_module(name: str) -> Any:
    """A stand-in for the module ``name`` (e.g. ``"geopandas"`` or ``"pyogrio.errors"``) that
    imports it when one of its attributes is first read."""
    return _LazyModule(name)


@contextmanager
def imports_frozen() -> Iterator[None]:
    """Run the body (heavy imports) with the cyclic garbage collector paused, then freeze every
    object tracked so far into the collector's permanent generation (:func:`gc.freeze`).

    Modules, classes and functions live to the end of the process, so walking them in every
    full collection is wasted work; frozen, they are never walked again (nor copied by a forked
    child's collections). Garbage cycles made before the freeze are kept: use it where little
    but imports has happened. Nothing is frozen when the body imported nothing new (a command
    run again in the same process: freezing then would only keep the earlier runs' garbage).
    The collector's enabled state is restored."""
    enabled = gc.isenabled()
    loaded = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > loaded:
            gc.freeze()
        if enabled:
            gc.enable()


NUMPY_EXTRAS = ("f2py", "testing")
"""numpy's submodules that importing SciPy loads but a run never uses."""


def defer_numpy_extras() -> None:
    """Make numpy's :data:`NUMPY_EXTRAS` attributes stand-ins that import them on first use
    (module docstring), where they are not imported yet. Imports numpy. A later ``import
    numpy.testing`` imports the real module and puts it in place of the stand-in."""
    import numpy

    for name in NUMPY_EXTRAS:
        full = f"numpy.{name}"
        if full not in sys.modules and not isinstance(numpy.__dict__.get(name), types.ModuleType):
            setattr(numpy, name, lazy_module(full))
