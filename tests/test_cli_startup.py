"""``siteopt --help`` and the command line's start-up load nothing heavy (issue 17)."""

from __future__ import annotations

import importlib
import subprocess
import sys

from optimiser.cli import _COMMANDS, _SHORT_HELP


def test_short_help_matches_the_commands():
    # click's own line for each command at its default width (78 columns less 6, longest name 8)
    for name, mod in _COMMANDS.items():
        assert _SHORT_HELP[name] == importlib.import_module(mod).command.get_short_help_str(limit=78 - 6 - 8), name


def test_help_imports_no_heavy_library():
    code = ("import sys\nfrom optimiser.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'pydantic', 'shapely', 'pyproj', 'ortools', 'pandas', 'matplotlib')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "run       Solve SCENARIO and write --out." in out


def test_a_closed_stdout_pipe_ends_quietly_with_141():
    """``siteopt validate ... | head``: the reader gone, the command ends with 128 + SIGPIPE and says
    nothing (it had reported an internal BrokenPipeError as a bug); other commands alike."""
    import os
    from pathlib import Path

    bad = Path(__file__).resolve().parent / "bad_files"
    for args in (["validate", str(bad / "many_problems.yaml"), str(bad / "wrong_type.yaml")], ["schema"], ["list"]):
        read, write = os.pipe()
        os.close(read)  # the reader has gone before the first line
        try:
            r = subprocess.run([sys.executable, "-m", "optimiser", *args], stdout=write, stderr=subprocess.PIPE,
                               text=True, timeout=120)
        finally:
            os.close(write)
        assert r.returncode == 141, (args, r.stderr)
        assert r.stderr == "", (args, r.stderr)


def test_a_broken_pipe_other_than_stdout_is_an_internal_error(monkeypatch):
    """A BrokenPipeError from another pipe (a child's, a connection) while stdout is fine is a
    real error (exit 1, reported), not a reader gone away (141, silent)."""
    import io
    import os

    from click.testing import CliRunner

    from optimiser.cli import _stdout_gone, cli, schema_cmd

    def broken() -> str:
        raise BrokenPipeError("a child's pipe")

    monkeypatch.setattr(schema_cmd, "json_schema_text", broken)
    r = CliRunner().invoke(cli, ["schema"])
    assert r.exit_code == 1 and "BrokenPipeError" in r.output
    # stdout's own state decides: a pipe whose reader has gone, an open one, a stream without a descriptor
    read, write = os.pipe()
    try:
        with open(write, "w", closefd=False) as w:
            monkeypatch.setattr(sys, "stdout", w)
            assert not _stdout_gone()
            os.close(read)
            read = -1
            assert _stdout_gone()
    finally:
        os.close(write)
        if read >= 0:
            os.close(read)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not _stdout_gone()
