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
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["lazy_module"]


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
