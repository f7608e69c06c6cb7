"""optimiser.solve.cpsat_api: CP-SAT's Python API without pandas, and pandas back on first use."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_importing_the_api_does_not_load_pandas() -> None:
    out = _run(
        """
        import sys
        from optimiser.solve.cpsat_api import cp_model
        model = cp_model.CpModel()
        x = model.new_int_var(0, 3, "x")
        model.add(x >= 2)
        model.minimize(x)
        solver = cp_model.CpSolver()
        status = solver.solve(model)
        print(solver.status_name(status), solver.value(x), "pandas" in sys.modules)
        """
    )
    assert out == "OPTIMAL 2 False"


def test_series_helpers_load_the_real_pandas() -> None:
    out = _run(
        """
        import sys
        from optimiser.solve.cpsat_api import cp_model
        assert "pandas" not in sys.modules
        import pandas as pd
        model = cp_model.CpModel()
        xs = model.new_int_var_series("x", pd.Index([1, 2, 3]), lower_bounds=0, upper_bounds=5)
        print(type(xs).__module__.split(".")[0], len(xs), cp_model.pd.Series is pd.Series)
        """
    )
    assert out == "pandas 3 True"


def test_pandas_already_loaded_is_a_plain_import() -> None:
    out = _run(
        """
        import pandas as pd
        from optimiser.solve.cpsat_api import cp_model
        print(cp_model.pd is pd)
        """
    )
    assert out == "True"
