"""The ``siteopt`` entry point (optimiser/entry.py): a Ctrl-C while the command line is still being
imported ends with one line and exit 130, as a later one does, not with Python's traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "constraints" / "fremont" / "baseline.yaml"

_CHILD = """
import os, signal, sys, importlib.abc

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == {module!r}:
            {action}
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["siteopt", "validate", {scenario!r}]
from optimiser.entry import main
main()
"""


def _run(module: str, action: str) -> subprocess.CompletedProcess[str]:
    code = _CHILD.format(module=module, action=action, scenario=str(SCENARIO))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("module", ["click", "optimiser.cli.logging_setup", "optimiser.cli.validate_cmd"])
def test_a_sigint_while_importing_ends_quietly_with_130(module):
    """A real SIGINT, sent while ``module`` is being imported (click: the first import of
    ``siteopt``; validate_cmd: inside the command line, where it was already handled)."""
    r = _run(module, "os.kill(os.getpid(), signal.SIGINT)")
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip() == "siteopt: interrupted" and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""


def test_a_keyboard_interrupt_raised_in_an_import_ends_quietly_with_130():
    r = _run("click", "raise KeyboardInterrupt")
    assert (r.returncode, r.stderr.strip()) == (130, "siteopt: interrupted"), r.stderr


def test_without_an_interrupt_the_command_runs():
    r = _run("no.such.module", "pass")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout + r.stderr


def test_the_console_script_and_python_m_use_the_wrapper():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"siteopt": "optimiser.entry:main"}
    assert "from optimiser.entry import main" in (ROOT / "optimiser" / "__main__.py").read_text()
