"""Solving: backends, heuristics, bounds and the strategy that combines them.

``optimiser.solve`` is both this package and the public function
:func:`optimiser.solve.strategy.solve` (exported as ``optimiser.solve``): calling the package,
``optimiser.solve(problem, "cpsat", time_limit_s=10)``, calls that function, so the name means
the same whichever was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """This package's module type: calling it is :func:`optimiser.solve.strategy.solve`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from optimiser.solve.strategy import solve

        return solve(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
