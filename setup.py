"""Build hook: the wheel carries the embedded sites and scenarios.

The project's metadata lives in pyproject.toml. This file only adds one step to ``build_py``:
copy the top-level data folders ``sites/`` and ``constraints/`` into the built package as
``optimiser/_embedded/sites/`` and ``optimiser/_embedded/constraints/``, where
:func:`optimiser.inputs.locate.data_roots` finds them with :mod:`importlib.resources`. The
source distribution carries the two folders too (MANIFEST.in), so a wheel built from it has them.

An editable install (``pip install -e .``) instead compiles the checkout's ``optimiser/`` to
bytecode, as pip does for the files of any wheel it installs: otherwise the first
``siteopt run`` after the install compiles every module it imports (about 0.35 s of the
AMP-SBP run's 3 s, measured in a fresh clone in wave 29).
"""

from __future__ import annotations

import compileall
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("sites", "constraints")
"""Top-level data folders copied into the package, as ``optimiser/_embedded/<name>/``."""
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class build_py_with_data(build_py):  # noqa: N801 - setuptools command classes are lower case by convention
    """``build_py`` that also copies the embedded sites and scenarios into the build."""

    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        if self.editable_mode:  # an editable install reads the checkout's own folders and modules
            # Best effort: a read-only checkout is compiled (in memory) when first imported instead.
            compileall.compile_dir(root / "optimiser", quiet=2)
            return
        for name in DATA_FOLDERS:
            src = root / name
            if not src.is_dir():
                raise SystemExit(f"setup.py: data folder {src} is missing; the wheel would not carry its sites")
            dst = Path(self.build_lib) / "optimiser" / "_embedded" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=_SKIP)


setup(cmdclass={"build_py": build_py_with_data})
