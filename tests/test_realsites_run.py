"""``benchmarks/realsites/run.py``: ``--seeds`` runs any generated problem with the benchmark's
own columns (the figures of the benchmark README's unseen seeds come from it)."""

from __future__ import annotations

import argparse
import json

import pytest

from benchmarks.realsites.run import main, parse_seeds, problems


def test_seeds_parse_alone_or_with_firms_and_crossings():
    assert parse_seeds("26") == ((26, None, None),)
    assert parse_seeds("19:40:80, 26,") == ((19, 40, 80), (26, None, None))


@pytest.mark.parametrize("text", ["", "19:40", "a", "19:40:x", "-3", "²", "19:1:80", "19:300:80", "19:40:2"])
def test_bad_seeds_are_refused_with_the_form_to_use(text):
    with pytest.raises(argparse.ArgumentTypeError, match="SEED"):
        parse_seeds(text)


def test_bad_seeds_on_the_command_line_exit_2_without_a_traceback(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--seeds", "19:40"])
    assert exc.value.code == 2
    assert "SEED:FIRMS:CROSSINGS" in capsys.readouterr().err


def test_seeds_replace_the_default_set_and_the_embedded_sites(tmp_path):
    rows = problems(False, tmp_path, seeds=((30, None, None), (19, 40, 80)))
    assert [name for name, _, _ in rows] == ["rs030-f15", "rs019-f40"]
    assert all(facts["files"] == "generated" for _, _, facts in rows)
    assert rows[1][2]["firms"] == 40 and rows[1][2]["target_crossings"] == 80
    assert all(path.exists() for _, path, _ in rows)


def test_a_seed_run_writes_its_proven_row(tmp_path):
    """Seed 30 (15 firms, drawn from the seed): proven optimal inside a 10 s work limit at
    704,067,224 (found the same before and after wave 9's relax-first changes)."""
    assert main(["--seeds", "30", "--limits", "10", "--no-cbc", "--no-highs", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    (row,) = data["rows"]
    assert row["problem"] == "rs030-f15" and data["meta"]["seeds"] == [[30, None, None]]
    assert row["cpsat_best"]["status"] == "optimal"
    assert row["cpsat_best"]["objective"] == 704_067_224
    assert (tmp_path / "results.csv").read_text().splitlines()[1].startswith("rs030-f15,15,")
