"""The README's Python API snippets run as written (a review found one needing an import the
text only mentioned, and one reading a layer its run does not have)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


@pytest.mark.slow
def test_the_python_api_snippets_run_as_written(tmp_path, capsys):
    blocks = _python_blocks("Python API")
    assert len(blocks) == 2
    for name in ("constraints", "sites"):
        (tmp_path / name).symlink_to(ROOT / name)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "optimal 5.94 0.0"  # the figure the snippet's comment gives
    assert printed[1].startswith("optimal ")
    assert len(namespace["layers"]["new_crossings"]) == 3 and namespace["site"].id == "amp_sbp_edit"
