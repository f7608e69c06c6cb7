"""The package's layout rules (issue "One clear layout"), checked on the source itself.

- no function or method over 100 code lines (docstrings, comments and blank lines not counted);
- no module over 800 lines;
- no import cycle between the package's modules, counting imports inside functions (a
  function-level import that only dodges a cycle is still a cycle); imports under
  ``if TYPE_CHECKING:`` are not run and are not counted;
- no ``except Exception`` (or bare ``except``) that swallows a failure: such a handler must
  re-raise, log, or convert the failure into a reported result;
- importing the package changes no process state (umask).

Run ``python tests/test_layout.py`` for a report of every offender.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "optimiser"
MAX_FUNCTION_LINES = 100
MAX_MODULE_LINES = 800


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of a function that hold code: not blank, not comment-only, not its docstring."""
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    doc: set[int] = set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        doc = set(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    n = 0
    for ln in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        text = source_lines[ln - 1].strip()
        if not text or text.startswith("#") or ln in doc:
            continue
        n += 1
    return n


def long_functions() -> list[tuple[str, str, int]]:
    out = []
    for mod, path in _modules().items():
        src = path.read_text()
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _code_lines(node, lines)
                if n > MAX_FUNCTION_LINES:
                    out.append((mod, node.name, n))
    return sorted(out, key=lambda t: -t[2])


def long_modules() -> list[tuple[str, int]]:
    out = []
    for mod, path in _modules().items():
        n = len(path.read_text().splitlines())
        if n > MAX_MODULE_LINES:
            out.append((mod, n))
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            t = node.test
            name = t.id if isinstance(t, ast.Name) else (t.attr if isinstance(t, ast.Attribute) else None)
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    skip.update(id(n) for n in ast.walk(sub))
    return skip


def import_graph() -> dict[str, set[str]]:
    """module -> package modules it imports (anywhere in the module, TYPE_CHECKING aside)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod and t.startswith("optimiser"):
                    graph[mod].add(t)
    return graph


def import_cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _handler_reports(h: ast.ExceptHandler) -> bool:
    """The handler re-raises, logs, or records the failure (uses the bound exception)."""
    for node in ast.walk(h):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in {"exception", "error", "warning", "critical"}:
                return True
        if h.name and isinstance(node, ast.Name) and node.id == h.name:
            return True
    return False


def swallowing_handlers() -> list[tuple[str, int]]:
    out = []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ExceptHandler):
                continue
            broad = node.type is None or (isinstance(node.type, ast.Name) and node.type.id in {"Exception", "BaseException"})
            if broad and not _handler_reports(node):
                out.append((mod, node.lineno))
    return out


def test_no_function_over_100_code_lines():
    assert long_functions() == []


def test_no_module_over_800_lines():
    assert long_modules() == []


def test_no_import_cycles():
    assert import_cycles() == []


def test_no_broad_except_hides_a_failure():
    assert swallowing_handlers() == []


def test_the_checks_can_fail(tmp_path):
    """The checkers find what they look for (so the tests above are not vacuous)."""
    src = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(101)) + "    try:\n        pass\n    except Exception:\n        pass\n"
    tree = ast.parse(src)
    fn = tree.body[0]
    assert _code_lines(fn, src.splitlines()) == 106  # the def line, 101 assignments, try/pass/except/pass
    h = next(n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler))
    assert not _handler_reports(h)
    assert "optimiser.pipeline" in import_graph()


def test_import_has_no_side_effects():
    code = ("import os; before = os.umask(0o022); os.umask(before); import optimiser, optimiser.pipeline, "
            "optimiser.cli; after = os.umask(0o022); os.umask(after); print(before == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert out.stdout.strip() == "True"


if __name__ == "__main__":  # pragma: no cover - a report for developers
    for m, f, n in long_functions():
        print(f"function {m}.{f}: {n} code lines")
    for m, n in long_modules():
        print(f"module {m}: {n} lines")
    for c in import_cycles():
        print("cycle:", " <-> ".join(c))
    for m, ln in swallowing_handlers():
        print(f"broad except hides a failure: {m}:{ln}")
