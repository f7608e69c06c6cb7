"""Every problem reported for the bad-file corpus (tests/bad_files/) names the file, the field,
the reason and a fix (issue 15, point 2: "exit 2 with a clear message for every bad input"):
in-process through ``validate_files`` and in one ``siteopt validate`` run over the whole corpus,
which exits 2 and prints ``FILE: field: reason (fix)`` for each on stdout, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from optimiser.checkfiles import check_file
from optimiser.errors import ExitCode
from optimiser.inputs import validate_files
from tests.test_validation import RUN_CHECKS_ONLY

BAD = Path(__file__).resolve().parent / "bad_files"
EXPECTED: dict[str, list[dict[str, str]]] = yaml.safe_load((BAD / "expected.yaml").read_text())
ROOT = BAD.parents[1]


def _problems(name: str):
    if name in RUN_CHECKS_ONLY:  # valid contents, a model run would refuse: siteopt validate's own check
        return check_file(BAD / name).problems
    rep = validate_files([BAD / name])
    return rep.problems if hasattr(rep, "problems") else rep


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_problem_has_file_field_reason_and_fix(name):
    problems = list(_problems(name))
    assert problems, f"{name}: no problem reported"
    for p in problems:
        assert str(p.file).endswith(Path(p.file).name) and Path(p.file).name, p
        assert p.reason and p.hint, f"{name}: {p.field or '(file)'}: {p.reason} has no fix"
        assert "Traceback" not in p.reason


def test_siteopt_validate_over_the_whole_corpus_exits_2_with_a_fix_on_every_line(tmp_path):
    files = [str(BAD / n) for n in sorted(EXPECTED)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "optimiser", "validate", *files], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == ExitCode.INPUT
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(str(BAD))]
    assert len(lines) >= len(EXPECTED) - 1  # does_not_exist.yaml, folder_site.yaml... each has at least one line
    shape = re.compile(r"^(?P<file>\S+?): (?P<field>[^:]+|\(file\)): (?P<reason>.+) \((?P<fix>[^()]+(\([^()]*\)[^()]*)*)\)$")
    no_fix = [ln for ln in lines if not shape.match(ln)]
    assert not no_fix, "lines without file: field: reason (fix):\n" + "\n".join(no_fix)
