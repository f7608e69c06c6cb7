"""Shared fixtures. Shared helpers are modules of the ``tests`` package (imported as
``tests.sitefiles``, ``tests.sitezoo``, ``tests.zoo_cases``, ``tests.random_problems``,
``tests.runfixture``); pytest puts the repository root on ``sys.path`` because ``tests`` is a
package, so no test edits ``sys.path``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runfixture import make_run_dir
from tests.sitefiles import write_files
from tests.zoo_cases import prepared_case

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def nominal_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relax-first's work budget of one nominal second per second of the time limit
    (``WORK_PER_LIMIT_S`` = 1): for the tests of its planning written in nominal seconds (the
    factor itself: tests/test_relax_first_work_per_limit.py)."""
    from optimiser.solve import relax_first

    monkeypatch.setattr(relax_first, "WORK_PER_LIMIT_S", 1.0)


@pytest.fixture
def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    """(site.yaml, scenario.yaml) of the tiny two-sided site (tests/sitefiles.py) in ``tmp_path/in``."""
    return write_files(tmp_path / "in")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """The batch tests' tiny site and its scenario (``SITE``, ``SCENARIO`` of tests/test_batch.py)
    as site.yaml and scen.yaml in ``tmp_path/in``."""
    from tests.test_batch import SCENARIO, SITE

    d = tmp_path / "in"
    d.mkdir()
    (d / "site.yaml").write_text(SITE, encoding="utf-8")
    (d / "scen.yaml").write_text(SCENARIO, encoding="utf-8")
    return d


@pytest.fixture
def synthetic_run(tmp_path: Path) -> Callable[..., Path]:
    """A factory of synthetic run directories (tests/runfixture.py): ``synthetic_run("a", variant=1)``."""
    return lambda name="run", variant=0: make_run_dir(tmp_path / name, variant=variant)


@pytest.fixture(scope="session")
def zoo_case() -> Callable[[str], tuple]:
    """``zoo_case(name)`` -> (prepared problem, brute-force (objective, chosen)), cached per process."""
    return prepared_case


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (skips where the package is missing)."""
    from tests.browser import ARGS, CHROMIUM

    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright package not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
