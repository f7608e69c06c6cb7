"""Wave 22: hostile input files, a full disk, early signals and a busy machine (black-box findings).

Each test reproduces what a user hit: a coordinate of 401 digits was an internal error
(OverflowError in the plausibility check); a symbolic link that loops was "file not found (did
you mean 'loop.yaml'?)", the very name given; a URL was "file not found"; a full disk was an
internal error (exit 1) for OSError ENOSPC and for SQLite's "database or disk is full"; SIGTERM
while ``siteopt run`` forked its render process killed it (exit -15, nothing said); and two CPU
hogs started just before a run left its solve half the wall-clock net of an idle run (the load
average had not caught up), so the net, not the work limit, ended a search an idle run finishes.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optimiser.cli import cli
from optimiser.errors import OutputWriteError
from optimiser.inputs.formats import load_mapping, not_a_file
from optimiser.present.staging import StagedDir
from optimiser.runclock import MAX_WIDENING, RunClock
from tests.sitefiles import site_dict, write_files

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ numbers too large for a float


@pytest.mark.parametrize("write", ["yaml_decimal", "yaml_underscores", "yaml_hex", "json"])
def test_a_whole_number_beyond_a_float_is_one_problem_naming_its_field(tmp_path, write):
    d = site_dict()
    huge = 10 ** 400
    if write == "json":
        d["firms"][0]["location"][0] = huge
        p = tmp_path / "site.json"
        p.write_text(json.dumps(d))
    else:
        text = yaml.safe_dump(d, sort_keys=False)
        figure = {"yaml_decimal": str(huge), "yaml_underscores": "1_" + "000_" * 133 + "0",
                  "yaml_hex": "0x" + "f" * 340}[write]  # YAML 1.1's base 60 (1:00:...) is read as text
        p = tmp_path / "site.yaml"
        p.write_text(text.replace("- 440200.0", f"- {figure}", 1))
    data, problems = load_mapping(p)
    assert data is None
    assert [(q.field, q.hint) for q in problems] == [("firms[0].location[0]", "set location to a number of an ordinary size")]
    assert re.match(r"got a whole number of about 4[01][0-9] digits, larger than any number", problems[0].reason)


def test_validate_and_run_report_a_401_digit_coordinate_with_exit_2_not_an_internal_error(tmp_path):
    site, _ = write_files(tmp_path)
    text = site.read_text()
    site.write_text(text.replace("440200.0", "1" + "0" * 400, 1))
    runner = CliRunner()
    res = runner.invoke(cli, ["validate", str(site)])
    assert res.exit_code == 2, res.output
    assert "firms[0].location[0]: got a whole number of about 401 digits" in res.output
    assert "internal error" not in res.output


def test_ordinary_large_figures_are_not_flagged(tmp_path):
    d = site_dict()
    d["name"] = "f" * 600  # a long run of hex-like letters: the values are walked, nothing is flagged
    d["firms"][0]["employees"] = 10 ** 300  # fits a float: the schema's bound names it, not the reader
    p = tmp_path / "site.yaml"
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    data, problems = load_mapping(p)
    assert data is not None and problems == []


# ------------------------------------------------------------------ paths that are not files


def test_a_symbolic_link_loop_is_named_as_such(tmp_path):
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    p = not_a_file(tmp_path / "a.yaml", "a.yaml")
    assert p is not None and p.reason.startswith("is a symbolic link that loops")
    assert "did you mean" not in (p.hint or "")


def test_a_dangling_link_names_its_target(tmp_path):
    (tmp_path / "site.yaml").symlink_to("gone/site.yaml")
    p = not_a_file(tmp_path / "site.yaml", "site.yaml")
    assert p is not None and p.reason == "is a symbolic link to 'gone/site.yaml', which does not exist"


@pytest.mark.parametrize("url", ["https://example.com/site.yaml", "file:///tmp/site.yaml"])
def test_a_url_is_refused_as_a_url(url):
    p = not_a_file(Path(url), url)
    assert p is not None and p.reason.startswith("is a URL: siteopt reads local files only")
    assert "download the file first" in (p.hint or "")


def test_a_missing_file_still_suggests_a_near_name(tmp_path):
    (tmp_path / "site.yaml").write_text("x: 1\n")
    p = not_a_file(tmp_path / "site.yml", "site.yml")
    assert p is not None and p.reason == "file not found" and "site.yaml" in (p.hint or "")


def test_a_nul_character_in_a_path_is_a_problem_not_an_internal_error(tmp_path):
    """A path written with YAML's \\0 escape (site: "../x\\0y/site.yaml", a batch's base) reached
    os.stat: 'internal error while validating: ValueError: embedded null byte', exit 1."""
    p = not_a_file(Path("x\0y.yaml"), "x.yaml")
    assert p is not None and (p.reason, p.hint) == (
        "holds a NUL character (\\0), which no file name can", "check the path as written: 'x\\x00y.yaml'")
    site, scenario = write_files(tmp_path)
    scenario.write_text(scenario.read_text().replace(f"site: {site.name}", 'site: "../x\\0y/site.yaml"', 1))
    (tmp_path / "batch.yaml").write_text('format: placemaking-batch/1\nbase: "x\\0y.yaml"\nsweep: {budget: [1, 2]}\n')
    res = CliRunner().invoke(cli, ["validate", str(scenario), str(tmp_path / "batch.yaml")])
    assert res.exit_code == 2 and "internal error" not in res.output, res.output
    assert "site: site '../x\\x00y/site.yaml' holds a NUL character (\\0), which no file name can" in res.output
    assert "base: " in res.output and res.output.count("holds a NUL character") == 2, res.output


def test_siteopt_run_names_a_url_and_a_link_loop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "https://example.com/s.yaml", "--out", "o"])
    assert res.exit_code == 2 and "is a URL: siteopt reads local files only" in res.output
    res = runner.invoke(cli, ["run", "a.yaml", "--out", "o"])
    assert res.exit_code == 2 and "a.yaml: (file): is a symbolic link that loops" in res.output
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ a full disk


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   OSError(errno.EDQUOT, "Disk quota exceeded"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_a_full_disk_while_writing_is_an_output_write_error_and_leaves_nothing(tmp_path, error):
    if isinstance(error, sqlite3.Error):
        error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    out = tmp_path / "run"
    with pytest.raises(OutputWriteError) as info, StagedDir(out, overwrite=False) as st:
        (st.path / "metrics.json").write_text("{}")
        raise error
    assert info.value.errno in (errno.ENOSPC, errno.EDQUOT)
    assert "cannot write the run directory" in str(info.value) and "nothing was written to" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no stage, no lock, no run directory


def test_a_full_disk_during_overwrite_keeps_the_old_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}')
    with pytest.raises(OutputWriteError, match="is as it was"), StagedDir(out, overwrite=True) as st:
        (st.path / "metrics.json").write_text("{}")
        raise OSError(errno.ENOSPC, "No space left on device", str(st.path / "plan.png"))
    assert (out / "metrics.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("where", ["stage", "lock", "folders"])
def test_a_full_disk_before_the_first_write_is_said_as_one_and_leaves_nothing(tmp_path, monkeypatch, where):
    """A disk already full when the stage folder or the lock's note is made was 'cannot write
    beside run: No space left on device (is the folder writable?)', and at the lock's note the
    lock's descriptor stayed open (the flock held, the lock file left behind); at the folders
    above --out 'cannot create ...: No space left on device', the ones made before it left
    behind. It is the full disk's OutputWriteError, nothing left (no stage, no lock, no folders)."""
    from optimiser.present import staging as staging_mod

    if where == "stage":
        monkeypatch.setattr(staging_mod.tempfile, "mkdtemp", _disk_full)
    elif where == "lock":
        monkeypatch.setattr(staging_mod.os, "write", _disk_full)
    else:  # the first folder above --out is made, the second finds the disk full (it was left behind)
        mkdir = Path.mkdir
        monkeypatch.setattr(Path, "mkdir", lambda p, *a, **k: _disk_full() if p.name == "run" else mkdir(p, *a, **k))
    opened = len(os.listdir("/proc/self/fd"))
    out = tmp_path / "new" / "run" / "out"
    with pytest.raises(OutputWriteError) as info, StagedDir(out, overwrite=False):
        pass
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == (f"cannot write the run directory {out}: no space left on the device; nothing was written "
                               f"to {out} (free some space on that disk, or give out_dir on another one)")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert len(os.listdir("/proc/self/fd")) == opened


def test_other_os_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(PermissionError), StagedDir(tmp_path / "run", overwrite=False):
        raise PermissionError(errno.EACCES, "Permission denied")


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_siteopt_run_on_a_full_disk_exits_2_saying_so(tmp_path, monkeypatch):
    from optimiser.present import rundir

    _, scenario = write_files(tmp_path)
    monkeypatch.setattr(rundir, "write_run", _disk_full)
    res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "o"), "--no-render", "--time-limit", "20"])
    assert res.exit_code == 2, res.output
    assert "cannot write the run directory" in res.output and "no space left on the device" in res.output
    assert "internal error" not in res.output
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.") or p.name == "o.lock"]


# ------------------------------------------------------------------ a signal while the run starts


def test_sigterm_while_the_render_process_is_forked_is_a_clean_stop(tmp_path):
    _, scenario = write_files(tmp_path)
    script = (
        "import os, signal\n"
        "import optimiser.cli.run_cmd as r\n"
        "orig = r.render_worker\n"
        "def rw(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return orig(*a, **k)\n"
        "r.render_worker = rw\n"
        "from optimiser.cli import main\n"
        f"main(['run', {str(scenario)!r}, '--out', {str(tmp_path / 'o')!r}, '--time-limit', '20'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 130, (proc.returncode, proc.stderr[-2000:])
    assert "interrupted by SIGTERM" in proc.stderr and "nothing was written to" in proc.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ a machine that became busy


def _fake_clocks(monkeypatch) -> dict[str, float]:
    """The run clock's wall clock and CPU clock, set by the test (``now["wall"]``, ``now["cpu"]``)."""
    import optimiser.runclock as rc

    now = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(rc.time, "perf_counter", lambda: now["wall"])
    monkeypatch.setattr(rc.time, "process_time", lambda: now["cpu"])
    return now


def test_a_run_that_got_little_cpu_has_its_net_widened_once(monkeypatch):
    now = _fake_clocks(monkeypatch)
    clock = RunClock(6.0, start=now["wall"], load_at_start=1.0)
    clock.enter("candidates")
    now["wall"] += 0.6  # no CPU for us: 0.6 s waited, 0.15 s computed
    now["cpu"] += 0.15
    slow = clock.slowdown()
    assert slow is not None and 3.5 < slow < 6.0
    left_before = clock.remaining_s()
    net = clock.solver_limit_s(reserve_s=0.0)
    assert clock.widened_by == pytest.approx(slow, rel=0.05)
    assert net > 3.0 * left_before
    assert clock.widen_for_slowdown() == clock.widened_by  # once: a second call widens no further
    assert clock.limit_s == pytest.approx(6.0 * clock.widened_by)


def test_the_load_factor_at_the_start_is_not_counted_twice(monkeypatch):
    now = _fake_clocks(monkeypatch)
    clock = RunClock(6.0, start=now["wall"], load_at_start=4.0)  # the caller's net holds 4x already
    clock.enter("network")
    now["wall"] += 0.6
    now["cpu"] += 0.2  # 3x slower than a core of its own: the start's load factor allowed for more
    clock.solver_limit_s(reserve_s=0.0)
    assert clock.widened_by == 1.0 and clock.limit_s == 6.0


def test_widening_is_capped_and_needs_enough_work(monkeypatch):
    now = _fake_clocks(monkeypatch)
    clock = RunClock(6.0, start=now["wall"], load_at_start=2.0)
    clock.enter("build")
    assert clock.slowdown() is None  # no work measured yet
    now["wall"] += 0.6
    now["cpu"] += 0.001  # 600x slower
    clock.widen_for_slowdown()
    assert clock.widened_by == pytest.approx(MAX_WIDENING / 2.0)


def test_no_work_phase_no_widening():
    clock = RunClock(6.0, start=time.perf_counter() - 3.0, load_at_start=1.0)  # only reading so far
    assert clock.slowdown() is None
    assert clock.widen_for_slowdown() == 1.0


def test_siteopt_run_reports_a_binding_wall_clock_net(tmp_path):
    _, scenario = write_files(tmp_path)
    d = yaml.safe_load(scenario.read_text())
    d["facilities"][0]["candidate_spacing_m"] = 12  # a model whose build outlasts a 0.5 s limit's net on a loaded machine
    d["social_spaces"]["candidate_spacing_m"] = 12
    d["social_spaces"]["min_spacing_m"] = 0  # 150 m apart on a 12 m grid: the size check refuses it (1.8 s to build)
    scenario.write_text(yaml.safe_dump(d, sort_keys=False))
    res = CliRunner().invoke(cli, ["-q", "run", str(scenario), "--out", str(tmp_path / "o"), "--no-render",
                                   "--time-limit", "0.5"])
    if res.exit_code == 4:
        pytest.skip("the limit ran out before the solve on this machine (exit 4, nothing to report)")
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    summary = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    assert summary["stopped_by"] == metrics["stopped_by"]
    said = "not the work limit, ended the search: the answer may differ on another machine" in res.output
    assert said == (metrics["stopped_by"] == "wall_clock")  # said exactly when the net bound (on an idle machine it may not)
    assert res.output.count("safety net") == int(said)  # once for the run, not again by the phase the net stopped



# ------------------------------------------------------------------ names the file system cannot hold


def test_an_out_name_too_long_for_its_stage_is_refused_before_anything_is_made(tmp_path):
    from optimiser.errors import OutputExistsError

    with pytest.raises(OutputExistsError, match=r"the folder's name is 300 bytes; a run directory's name may have at most 237"):
        StagedDir(tmp_path / ("c" * 300), overwrite=False).check()
    with pytest.raises(OutputExistsError, match="at most 237"):  # fits alone, not as .NAME.XXXXXXXX.partial
        StagedDir(tmp_path / ("c" * 250), overwrite=False).check()
    with StagedDir(tmp_path / ("c" * 237), overwrite=False) as st:
        (st.path / "metrics.json").write_text("{}")
        st.commit()
    assert (tmp_path / ("c" * 237) / "metrics.json").is_file()


def test_siteopt_run_with_an_empty_out_or_a_too_long_scenario_name_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, scenario = write_files(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(scenario), "--out", " "])
    assert res.exit_code == 2 and "siteopt: --out is empty" in res.output
    res = runner.invoke(cli, ["run", "a" * 300 + ".yaml", "--out", "o"])
    assert res.exit_code == 2, res.output
    assert "the path is too long for the file system" in res.output and "internal error" not in res.output
    res = runner.invoke(cli, ["run", str(scenario), "--out", "b" * 300, "--no-render"])
    assert res.exit_code == 2 and "give a shorter --out" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml", "site.yaml"]


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_render_on_a_full_disk_keeps_the_run_directory_and_exits_2(tmp_path, monkeypatch, error):
    from optimiser.pipeline import run_scenario
    from optimiser.present import rundir

    _, scenario = write_files(tmp_path)
    out = tmp_path / "run"
    run_scenario(scenario, out, render=False, time_limit_s=20)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(run, into):
        (into / "plan.png").write_bytes(b"half")
        raise error  # an OSError, or SQLite's own word for it (a GeoPackage): both the machine's

    monkeypatch.setattr(rundir, "_render", full)
    with pytest.raises(OutputWriteError, match=r"its files are as they were \(make room on that disk, or copy"):
        rundir.render_run(out)
    res = CliRunner().invoke(cli, ["render", str(out)])
    assert res.exit_code == 2 and "siteopt render: cannot write the new plans" in res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no stage, no half-drawn plan
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "scenario.yaml", "site.yaml"]


def test_render_on_a_read_only_disk_does_not_ask_for_room(tmp_path, monkeypatch):
    from optimiser.pipeline import run_scenario
    from optimiser.present import rundir

    _, scenario = write_files(tmp_path)
    out = tmp_path / "run"
    run_scenario(scenario, out, render=False, time_limit_s=20)

    def read_only(run, into):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(rundir, "_render", read_only)
    with pytest.raises(OutputWriteError) as info:
        rundir.render_run(out)
    assert "the file system is read-only; its files are as they were (copy the run directory to another disk" in str(info.value)


def test_output_write_errors_names_a_refused_write_and_passes_the_rest(tmp_path):
    from optimiser.present.staging import is_disk_full, output_write_errors

    class FeatureError(Exception):  # pyogrio's, as GDAL words SQLite's SQLITE_FULL
        pass

    gdal = FeatureError("Could not add feature to layer at index 0: sqlite3_exec(CREATE TABLE ...) failed: "
                        "database or disk is full")
    assert is_disk_full(gdal) and is_disk_full(OSError(errno.EROFS, "Read-only file system"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied")) and not is_disk_full(ValueError("x"))
    with pytest.raises(OutputWriteError, match=r"cannot write network\.gpkg: no space left on the device; net is as it was"):
        with output_write_errors("network.gpkg", Path("net")):
            raise gdal
    with pytest.raises(OutputWriteError, match="the file system is read-only"):
        with output_write_errors("compare.png", Path("cmp")):
            raise OSError(errno.EROFS, "Read-only file system")
    with pytest.raises(ValueError, match="not a write"), output_write_errors("x", Path("y")):
        raise ValueError("not a write")


def test_refused_write_words_each_refusal_once():
    from optimiser.present.staging import cli_wording, refused_write

    full = refused_write(sqlite3.OperationalError("database or disk is full"))
    assert full is not None and full.errno == errno.ENOSPC and full.why == "no space left on the device"
    assert full.fix == "free some space on that disk, or give out_dir on another one"
    with cli_wording():
        quota = refused_write(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert quota is not None and quota.fix.endswith("give --out on another disk")
    err = quota.error("cannot write x: " + quota.why)
    assert isinstance(err, OutputWriteError) and err.errno == errno.EDQUOT
    assert refused_write(err) is None  # said already: passed on as it is
    assert refused_write(OSError(errno.EACCES, "Permission denied")) is None and refused_write(KeyError("x")) is None


def test_a_gdal_disk_full_error_in_a_run_is_an_output_write_error(tmp_path):
    class FeatureError(Exception):
        pass

    with pytest.raises(OutputWriteError, match="no space left on the device"), StagedDir(tmp_path / "run", overwrite=False):
        raise FeatureError("sqlite3_exec(...) failed: database or disk is full")
    assert list(tmp_path.iterdir()) == []


def test_a_run_slowed_before_the_solve_is_widened_before_it_is_stopped(monkeypatch):
    """The reviewer's reproducer: a 3 s net, the build entered, 3.1 s of wall clock with almost
    no CPU (a busy machine): the check widens the net for the slowdown instead of ending the run
    in the build (it did only at the solve)."""
    import optimiser.runclock as rc

    now = _fake_clocks(monkeypatch)
    clock = RunClock(3.0, start=100.0, load_at_start=1.0)
    clock.enter("build")
    now["wall"] += 3.1
    now["cpu"] += 0.31  # ten wall seconds per CPU second
    clock.check()  # no TimeLimitError
    assert clock.widened_by == pytest.approx(MAX_WIDENING) and clock.limit_s == pytest.approx(30.0)
    now["wall"] += 27.0
    now["cpu"] += 2.7
    with pytest.raises(rc.TimeLimitError):
        clock.check()


def test_a_count_beyond_any_site_is_refused_by_validation(tmp_path):
    """``facilities[].count.max: 10**30`` passed validation and overflowed the heuristic's 64-bit
    integers in ``siteopt run`` (an internal error): it is now a problem naming the field."""
    data = yaml.safe_load((ROOT / "constraints" / "amp_sbp" / "baseline.yaml").read_text(encoding="utf-8"))
    data["site"] = str(ROOT / "sites" / "amp_sbp" / "site.yaml")
    data["facilities"][0]["count"]["max"] = 10 ** 30
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "facilities[0].count.max: must be <= 1,000,000" in res.output


def test_a_whole_number_count_beyond_any_site_is_refused_by_validation(tmp_path):
    """``facilities[].count: 10**20`` (the whole-number form; the range's bound did not cover it)
    passed validation and ended ``siteopt run`` in 'internal error: OverflowError: Python int too
    large to convert to C long' when CP-SAT got the count constraint."""
    data = yaml.safe_load((ROOT / "constraints" / "amp_sbp" / "baseline.yaml").read_text(encoding="utf-8"))
    data["site"] = str(ROOT / "sites" / "amp_sbp" / "site.yaml")
    data["facilities"][0]["count"] = 10 ** 20
    data["social_spaces"]["count"] = 1_000_001
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "facilities[0].count: must be <= 1,000,000, got 100000000000000000000" in res.output, res.output
    assert "social_spaces.count: must be <= 1,000,000, got 1000001" in res.output, res.output


@pytest.mark.parametrize("kind", ["fifo", "loop", "url", "device"])
def test_a_scenario_site_that_is_no_file_is_named_as_what_it_is(tmp_path, kind):
    """A scenario's ``site:`` pointing at a FIFO, a link loop, a URL or a device said 'does not
    exist (did you mean <the same name>?)'; it now says what the path is."""
    import os

    ref = {"fifo": "fifo.yaml", "loop": "loop1.yaml", "url": "https://example.org/site.yaml", "device": "/dev/zero"}[kind]
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo.yaml")
    if kind == "loop":
        (tmp_path / "loop1.yaml").symlink_to("loop2.yaml")
        (tmp_path / "loop2.yaml").symlink_to("loop1.yaml")
    data = yaml.safe_load((ROOT / "constraints" / "amp_sbp" / "baseline.yaml").read_text(encoding="utf-8"))
    data["site"] = ref
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    expected = {"fifo": "is a FIFO", "loop": "symbolic link that loops", "url": "is a URL", "device": "is a character device"}
    assert f"site: site {ref!r} {expected[kind]}" in res.output or expected[kind] in res.output, res.output
    assert "did you mean" not in res.output


@pytest.mark.parametrize("suffix", [".yaml", ""])
def test_siteopt_validate_of_a_name_too_long_for_the_file_system_says_so(suffix):
    """``resolve_input`` let ENAMETOOLONG escape ``Path.exists()``: an internal error."""
    res = CliRunner().invoke(cli, ["validate", "a" * 300 + suffix])
    assert res.exit_code == 2, res.output
    assert "the path is too long for the file system" in res.output and "internal error" not in res.output


def test_siteopt_network_on_a_full_disk_exits_2_and_leaves_no_folder(tmp_path, tiny_files, monkeypatch):
    import optimiser.cli.network_cmd as network_cmd

    _, scenario = tiny_files
    monkeypatch.setattr(network_cmd, "move_into", _disk_full)
    out = tmp_path / "net"
    res = CliRunner().invoke(cli, ["network", str(scenario), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "cannot write the network: no space left on the device" in res.output and "--out" in res.output
    assert not out.exists() and "internal error" not in res.output


def test_siteopt_compare_on_a_full_disk_exits_2_and_leaves_no_folder(tmp_path, synthetic_run, monkeypatch):
    import optimiser.present.compare as compare

    a, b = synthetic_run("a"), synthetic_run("b", variant=1)
    monkeypatch.setattr(compare, "move_into", _disk_full)
    out = tmp_path / "cmp"
    res = CliRunner().invoke(cli, ["compare", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "cannot write the comparison: no space left on the device" in res.output
    assert not out.exists() and "internal error" not in res.output
