"""The package carries its embedded sites and scenarios (issue 13, point 2): names such as
``fremont/baseline`` resolve from any directory, and a built wheel holds the data."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.cli import cli
from optimiser.inputs import load_mapping
from optimiser.inputs.locate import default_scenario_path, embedded_scenarios, embedded_sites, resolve_input, resolve_site_ref

ROOT = Path(__file__).resolve().parents[1]
# every data file of the checkout: the embedded listing and the wheel must carry each of them
EMBEDDED_DATA = {str(p.relative_to(ROOT)) for p in [*ROOT.glob("sites/*/site.yaml"), *ROOT.glob("constraints/*/*.yaml")]}


def test_embedded_names_list_every_data_file():
    assert [e.name for e in embedded_sites()] == ["amp_sbp", "fremont"]
    kinds = {e.name: e.kind for e in embedded_scenarios()}
    assert len(EMBEDDED_DATA) >= 7 and kinds["amp_sbp/budget_sweep"] == "batch"
    assert {k for k, v in kinds.items() if v == "scenario"} >= {"amp_sbp/baseline", "amp_sbp/hs2", "fremont/baseline"}
    assert set(kinds) == {p.removeprefix("constraints/").removesuffix(".yaml") for p in EMBEDDED_DATA if p.startswith("constraints/")}
    files = {str(e.path.relative_to(e.path.parents[2])) for e in [*embedded_sites(), *embedded_scenarios()]}
    assert files == EMBEDDED_DATA


def test_names_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = resolve_input("fremont/baseline")
    assert p.is_file() and p.parts[-2:] == ("fremont", "baseline.yaml")
    site = resolve_site_ref(load_mapping(p)[0]["site"], p)[0]
    assert site is not None and site.resolve() == (p.parents[2] / "sites" / "fremont" / "site.yaml").resolve()
    assert default_scenario_path().parts[-2:] == ("amp_sbp", "baseline.yaml")
    assert resolve_input("no/such") == Path("no/such")  # reported under the name typed
    r = CliRunner().invoke(cli, ["list", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {(x["name"], x["kind"]) for x in rows} >= {("fremont", "site"), ("fremont/baseline", "scenario")}
    assert [x["name"] for x in rows if x["default"]] == ["amp_sbp/baseline"]


def test_run_of_an_unknown_name_lists_the_embedded_ones(tmp_path):
    r = CliRunner().invoke(cli, ["run", "fremont/basline", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "no such file, nor an embedded scenario" in r.output and "fremont/baseline" in r.output


@pytest.mark.slow
def test_built_wheel_carries_the_sites_and_scenarios(tmp_path):
    """Build the wheel (pip, isolated build) and list it: every embedded data file is inside,
    under optimiser/_embedded/, byte for byte."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, cwd=tmp_path, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, timeout=600)
    (wheel,) = tmp_path.glob("placemaking_optimiser-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for rel in EMBEDDED_DATA:
            assert f"optimiser/_embedded/{rel}" in names, rel
            assert z.read(f"optimiser/_embedded/{rel}") == (ROOT / rel).read_bytes()
        assert "optimiser/_embedded/__init__.py" in names
        assert "optimiser/present/templates/report.html.j2" in names
        assert "optimiser/py.typed" in names  # PEP 561: type checkers read the package's own hints
        assert not any("__pycache__" in n for n in names)


def test_optimiser_solve_is_the_solve_function_whichever_is_imported_first():
    """``optimiser.solve`` names a function and a subpackage: calling it solves, however and in
    whatever order they were imported (a fresh interpreter for each order)."""
    script = """
import sys
import optimiser
if sys.argv[1] == "module-first":
    import optimiser.solve.cpsat
first = optimiser.solve
from optimiser import solve
import optimiser.solve.strategy
from tests.random_problems import random_problem
p = random_problem(3)
a = solve(p, "cpsat", seed=0, workers=1, time_limit_s=10)
b = optimiser.solve.strategy.solve(p, "cpsat", seed=0, workers=1, time_limit_s=10)
assert first is solve is optimiser.solve, (first, solve, optimiser.solve)
assert a.objective == b.objective and a.status == b.status, (a, b)
print(a.status)
"""
    root = Path(__file__).resolve().parents[1]
    for order in ("function-first", "module-first"):
        r = subprocess.run([sys.executable, "-c", script, order], cwd=root, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() in ("optimal", "Status.OPTIMAL"), r.stdout


def test_every_public_name_is_visible_to_type_checkers_with_its_real_type():
    """Each name of ``optimiser.__all__`` is imported in the package's TYPE_CHECKING block from
    the module it is lazily loaded from (``solve`` as the function, not the subpackage), and the
    module ``__getattr__`` is hidden from type checkers, so a misspelt name is an error for them."""
    import ast
    import inspect

    import optimiser
    from optimiser.solve.strategy import solve

    tree = ast.parse((ROOT / "optimiser" / "__init__.py").read_text(encoding="utf-8"))
    checked: dict[str, str] = {}
    getattr_guarded = False
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                for alias in imp.names:
                    assert alias.asname == alias.name, ast.unparse(imp)  # re-exported for mypy --strict
                    checked[alias.name] = imp.module
        if isinstance(node, ast.If) and ast.unparse(node.test) == "not TYPE_CHECKING":
            getattr_guarded = any(isinstance(f, ast.FunctionDef) and f.name == "__getattr__" for f in node.body)
        assert not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__"), "__getattr__ seen by mypy"
    assert getattr_guarded
    assert set(checked) == set(optimiser.__all__) - {"__version__"}
    assert checked["solve"] == "optimiser.solve.strategy"
    assert {k: v for k, v in checked.items() if k != "solve"} == {k: v for k, v in optimiser._EXPORTS.items() if k != "solve"}
    for name in checked:  # the run-time object is the one the type checker was told about
        obj = getattr(optimiser, name)
        assert obj is getattr(importlib.import_module(checked[name]), name) or name == "solve"
    assert inspect.isfunction(solve) and callable(optimiser.solve)
    with pytest.raises(AttributeError, match="module 'optimiser' has no attribute 'slove'"):
        optimiser.slove  # noqa: B018


def test_mypy_types_optimiser_solve_as_the_function_and_refuses_a_misspelt_name(tmp_path):
    pytest.importorskip("mypy")
    user = tmp_path / "user.py"
    user.write_text(
        "import optimiser\n"
        "from optimiser import solve\n"
        "reveal_type(optimiser.solve)\n"
        "reveal_type(solve)\n"
        "optimiser.run_scenarios\n",
        encoding="utf-8",
    )
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", str(user)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    # by file name: mypy's cache replays an unchanged module's messages under the path it first had
    lines = [ln.split(": ", 1)[1] for ln in r.stdout.splitlines() if ln.split(":", 1)[0].endswith("user.py")]
    solve_type = (
        "def (problem: optimiser.model.problem.Problem, options: optimiser.inputs.domain.SolveOptions | str | None =,"
        " **overrides: Any) -> optimiser.solve.result.SolveResult"
    )
    assert lines == [
        f'note: Revealed type is "{solve_type}"',
        f'note: Revealed type is "{solve_type}"',
        'error: Module has no attribute "run_scenarios"  [attr-defined]',
    ], r.stdout + r.stderr


def test_the_api_reads_embedded_names_as_the_cli_does(tmp_path, monkeypatch):
    """read_scenario / read_site take the names ``siteopt run`` / ``validate`` take, from any
    folder; a file of that name in the working folder still wins, a missing name says so."""
    from optimiser import read_scenario, read_site
    from optimiser.errors import FileReadError

    monkeypatch.chdir(tmp_path)
    assert read_scenario("amp_sbp/baseline").id == "amp_sbp_baseline"
    fremont = read_scenario("fremont/baseline")
    assert fremont.site.id == "fremont" and fremont.site.path == resolve_input("fremont")
    assert read_site("amp_sbp").id == "amp_sbp" and read_site(Path("fremont")).id == "fremont"
    assert read_scenario("amp_sbp/baseline", budget=2e6).budget == 2_000_000.0
    with pytest.raises(FileReadError) as exc:
        read_site("nowhere")
    assert [(p.file, p.reason) for p in exc.value.problems] == [("nowhere", "file not found")]
    with pytest.raises(FileReadError) as exc:  # a scenario's name is not read as a site
        read_site("amp_sbp/baseline")
    assert [(p.reason, p.hint) for p in exc.value.problems] == [
        ("'amp_sbp/baseline' is an embedded scenario, not a site", "read it with read_scenario, or give a site's name (siteopt list)")]
    assert resolve_input("amp_sbp/baseline", kind="site") == Path("amp_sbp/baseline")
    assert resolve_input("fremont", kind="scenario") == Path("fremont")
    (tmp_path / "amp_sbp").mkdir()  # a folder of that name here is not a site file: no silent swap
    with pytest.raises(FileReadError):
        read_site("amp_sbp")
