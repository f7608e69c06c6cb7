"""The public Python API given the wrong kind of argument: a TypeError saying what it takes, or
the project's ArgumentError (an InputError, a ValueError), never a traceback from deep inside
pathlib or pandas (a hostile review's cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimiser.errors import ArgumentError, InputError

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "sites" / "amp_sbp" / "site.yaml"


@pytest.mark.parametrize("wrong", [None, 42, {"format": "placemaking-site/1"}, ["site.yaml"], b"site.yaml"])
def test_functions_taking_a_file_say_so(wrong, tmp_path):
    from optimiser import convert_site, read_scenario, read_site
    from optimiser.batch import load_batch, run_batch
    from optimiser.present.frames import site_to_gdfs

    calls = [lambda: read_site(wrong), lambda: convert_site(wrong, tmp_path / "x.yaml"),
             lambda: convert_site(SITE, wrong), lambda: site_to_gdfs(wrong), lambda: run_batch({"format": "placemaking-batch/1"}, wrong)]
    if wrong is not None:
        calls.append(lambda: read_scenario(wrong))
    if not isinstance(wrong, dict):
        calls.append(lambda: load_batch(wrong))
    for call in calls:
        with pytest.raises(TypeError, match=r"takes a file path \(str or os.PathLike\)"):
            call()


def test_an_empty_path_is_an_argument_error_not_the_current_folder():
    from optimiser import read_scenario, read_site

    for call in (read_site, read_scenario):
        with pytest.raises(ArgumentError, match="path: is empty") as exc:
            call("  ")
        assert isinstance(exc.value, InputError) and isinstance(exc.value, ValueError)


def test_batch_settings_of_the_wrong_kind(tmp_path):
    from optimiser.batch import load_batch, run_batch

    batch = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6]}}
    with pytest.raises(TypeError, match="solver settings as a mapping"):
        load_batch(batch, solver="cbc")
    for jobs in (0, -1, "two", 1.5, True, np.int64(0)):
        with pytest.raises(ArgumentError, match="jobs: must be a whole number >= 1"):
            run_batch(batch, tmp_path / "out", jobs=jobs)
    assert not (tmp_path / "out").exists()
    one = {**batch, "sweep": {"budget_gbp": [2e6]}, "time_limit_s": 10}
    summary = run_batch(one, tmp_path / "ok", jobs=np.int64(1), progress=False)  # numpy ints are whole
    assert summary.counts == {"optimal": 1}


def test_site_from_gdfs_names_a_misspelt_layer_and_a_layer_that_is_not_a_frame():
    from optimiser.errors import ValidationError
    from optimiser.inputs.site import site_from_gdfs
    from optimiser.present.frames import site_to_gdfs

    layers = site_to_gdfs(SITE)
    assert len(site_from_gdfs(layers, id="x").transit) == 2
    misspelt = {k: v for k, v in layers.items() if k != "transit_lines"} | {"transit_linez": layers["transit_lines"]}
    with pytest.raises(ValidationError, match=r"layers\['transit_linez'\]: is not a site layer .*did you mean 'transit_lines'"):
        site_from_gdfs(misspelt, id="x")
    with pytest.raises(ValidationError, match=r"layers\['firms'\]: must be a \(Geo\)DataFrame, got str"):
        site_from_gdfs({**layers, "firms": "abc"}, id="x")
    for wrong in (None, [layers["firms"]]):
        with pytest.raises(TypeError, match="takes a mapping of layer name"):
            site_from_gdfs(wrong, id="x")
    with pytest.raises(ValidationError, match="unknown CRS 'EPSG:99999'"):
        site_from_gdfs(layers, crs="EPSG:99999")


def test_convert_site_to_an_unknown_format_is_an_argument_error(tmp_path):
    from optimiser import convert_site

    with pytest.raises(ArgumentError, match=r"convert_site: dst: cannot write a site as '.docx' \(use one of .yaml"):
        convert_site(SITE, tmp_path / "x.docx")
    assert not (tmp_path / "x.docx").exists()


def test_run_scenario_and_prepare_say_what_they_take(tmp_path):
    """Wrong kinds at the pipeline's entry points: a TypeError naming the argument and what it
    takes, raised before anything is read, built or written."""
    from optimiser import read_scenario, run_scenario
    from optimiser.pipeline import prepare

    sc = read_scenario(None)
    with pytest.raises(TypeError) as exc:
        run_scenario(sc, None, options={"time_limit_s": 5})
    assert str(exc.value) == (
        "run_scenario() takes a SolveOptions (or None: the scenario's own) as options, got dict; pass "
        "options=SolveOptions(**{'time_limit_s': 5}), or single options as keywords (time_limit_s=..., backend=..., "
        "seed=..., workers=...)")
    with pytest.raises(TypeError) as exc:
        run_scenario(sc, 123)
    assert str(exc.value) == "run_scenario() takes a file path (str or os.PathLike) as out_dir, got int 123"
    with pytest.raises(TypeError) as exc:
        run_scenario(123, tmp_path / "out")
    assert str(exc.value) == ("run_scenario() takes a Scenario (optimiser.read_scenario(...)), a scenario file or "
                              "embedded name, or None (the AMP-SBP baseline) as scenario, got int 123")
    with pytest.raises(TypeError) as exc:
        prepare("x")  # type: ignore[arg-type]
    assert str(exc.value) == "prepare() takes a validated Scenario (optimiser.read_scenario(path)), got str 'x'"
    assert list(tmp_path.iterdir()) == []


def test_batch_flags_solver_values_and_base_dir_of_the_wrong_kind(tmp_path):
    """Session 22: run_batch(resume="no") resumed (a non-empty string is true), solver values out
    of range were taken (every item then recorded as invalid, exit 5) and base_dir=3 raised
    pathlib's "expected str, bytes or os.PathLike object"."""
    from optimiser.batch import expand_batch, load_batch, run_batch

    batch = {"format": "placemaking-batch/1", "sweep": {"budget_gbp": [1e6]}}
    for flag in ("progress", "resume", "render", "retry_failed", "overwrite"):
        with pytest.raises(TypeError, match=rf"^run_batch\(\) takes True or False as {flag}, got str 'no'$"):
            run_batch(batch, tmp_path / "out", **{flag: "no"})
    assert not (tmp_path / "out").exists()
    with pytest.raises(ArgumentError) as exc:
        load_batch(batch, solver={"time_limit_s": -1, "backend": "gurobi", "seed": 0})
    assert isinstance(exc.value, ValueError)
    assert {(p.file, p.field) for p in exc.value.problems} == {("load_batch", "solver.time_limit_s"),
                                                               ("load_batch", "solver.backend")}
    assert "must be > 0, got -1" in str(exc.value) and "'cpsat' or 'cbc'" in str(exc.value)
    with pytest.raises(TypeError, match=r"load_batch\(\) takes a file path \(str or os.PathLike\) as base_dir"):
        load_batch(batch, base_dir=3)
    spec = load_batch(batch)  # a BatchSpec is taken wherever a batch is, as run_batch takes it
    assert load_batch(spec) is spec and expand_batch(spec) == spec.items
    with pytest.raises(ArgumentError, match="solver: cannot apply to a BatchSpec already loaded"):
        load_batch(spec, solver={"seed": 1})


def test_every_batch_export_is_seen_by_type_checkers():
    """optimiser.batch's names came from a module __getattr__ typed Any, so to mypy every batch
    name (optimiser.run_batch too) was Any and a misspelt one no error; each is now imported under
    TYPE_CHECKING and the __getattr__ hidden from type checkers, as in optimiser/__init__.py."""
    import ast

    import optimiser.batch as batch

    tree = ast.parse(Path(batch.__file__).read_text(encoding="utf-8"))
    typed = {a.asname for node in ast.walk(tree) if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
             for imp in node.body if isinstance(imp, ast.ImportFrom) for a in imp.names}
    assert typed == set(batch.__all__)
    hidden = [node for node in tree.body if isinstance(node, ast.If) and isinstance(node.test, ast.UnaryOp)]
    assert [f.name for node in hidden for f in node.body if isinstance(f, ast.FunctionDef)] == ["__getattr__"]
    assert not [f for f in tree.body if isinstance(f, ast.FunctionDef)]  # no __getattr__ a type checker sees


@pytest.mark.slow
def test_a_user_script_is_type_checked_against_the_batch_api(tmp_path):
    from mypy import api

    script = tmp_path / "user.py"
    script.write_text(
        "from optimiser import run_batch\nimport optimiser.batch\n"
        "s = run_batch('b.yaml', 'out', jobs='2')\n"
        "n: int = s.counts\n"
        "optimiser.batch.run_batchs\n", encoding="utf-8")
    out, _, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(script)])
    assert status == 1
    assert 'Argument "jobs" to "run_batch" has incompatible type "str"; expected "int"' in out
    assert 'Incompatible types in assignment (expression has type "dict[str, int]", variable has type "int")' in out
    assert 'Module has no attribute "run_batchs"' in out


def test_a_batch_record_is_typed_key_by_key():
    """A result record (BatchSummary.records) was dict[str, Any]: a misspelt key or a wrong type
    passed mypy --strict. ItemRecord and ItemMetrics are TypedDicts; their keys are what
    make_record and summary_metrics write."""
    from optimiser.batch.records import ItemRecord, ItemStatus, make_record
    from optimiser.errors import ExitCode

    rec = make_record("k" * 64, "budget=£1m", {"budget_gbp": 1e6}, ItemStatus.ERROR, ExitCode.INTERNAL, 1.0, error="boom")
    assert set(rec) == ItemRecord.__required_keys__ and ItemRecord.__optional_keys__ == {"index", "run_dir"}
    # summary_metrics's keys are ItemMetrics's: mypy optimiser checks its dict literal against it


@pytest.mark.slow
def test_a_user_script_is_type_checked_against_the_batch_records(tmp_path):
    from mypy import api

    script = tmp_path / "records.py"
    script.write_text(
        "from optimiser import run_batch\n"
        "s = run_batch('b.yaml', 'out')\n"
        "r = s.records[0]\n"
        "status: int = r['status']\n"
        "m = r['metrics']\n"
        "if m is not None:\n"
        "    cut: float | None = m['walk.reduction_pct']\n"
        "    bad = m['walk.reduction']\n"
        "where: str = r['run_dir']\n", encoding="utf-8")
    out, _, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(script)])
    assert status == 1
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in out
    assert 'TypedDict "ItemMetrics" has no key "walk.reduction"' in out
    assert out.count("error:") == 2, out


def test_the_python_api_takes_the_embedded_names_the_cli_takes(tmp_path, monkeypatch):
    """``siteopt validate fremont/baseline``, ``siteopt batch amp_sbp/budget_sweep`` work from any
    folder, as do ``read_site("fremont")`` and ``read_scenario("fremont/baseline")``; their Python
    counterparts said "file not found" for the same names."""
    from optimiser import expand_batch, load_batch, site_to_gdfs, validate_files

    monkeypatch.chdir(tmp_path)  # no sites/ or constraints/ here
    assert validate_files(["fremont/baseline", "amp_sbp", "amp_sbp/hs2"]) == []
    assert [p.reason for p in validate_files("nowhere/baseline")] == ["file not found"]  # named as given
    assert "firms" in site_to_gdfs("fremont")
    spec = load_batch("amp_sbp/budget_sweep")
    assert spec.id == "amp_sbp_budget_sweep" and spec.base_path == ROOT / "constraints" / "amp_sbp" / "baseline.yaml"
    assert len(expand_batch("amp_sbp/budget_sweep")) == 8
