"""The layers hold: core never imports Qt, ui never imports torch (statically or at run time)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import vlm_desktop

PACKAGE = Path(vlm_desktop.__file__).parent
QT = ("PySide6", "shiboken6")
HEAVY = ("torch", "torchvision", "transformers", "faiss")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an `import` or `from … import` names in `path`, at any nesting level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(layer: str, banned: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in banned:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    return bad


def test_the_checker_sees_nested_and_dynamic_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import torch.nn\n    from PySide6 import QtCore\n"
                      "    importlib.import_module('faiss')\n")
    assert [m for _, m in imported_modules(sample)] == ["torch.nn", "PySide6", "faiss"]


def test_core_never_imports_qt():
    assert violations("core", QT) == []


def test_ui_never_imports_torch_transformers_or_faiss():
    assert violations("ui", HEAVY) == []


@pytest.mark.slow
def test_opening_the_main_window_module_does_not_import_torch():
    code = ("import sys, vlm_desktop.ui.main_window, vlm_desktop.app; "
            "print(sorted(m for m in ('torch', 'transformers', 'faiss') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stderr


# --- no import cycles ---------------------------------------------------------------------
# Counted over every import, lazy ones inside functions too: a lazy import hides a loop
# from Python, not from the next engineer (it was how `hf/common.py` -> `registry.py` ->
# `core/models.py` -> `hf` stood, 9 modules deep).


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports (`from a import b` counts a.b if a module)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        named = {module for _, module in imported_modules(path)}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                subs = {f"{node.module}.{a.name}" for a in node.names}
                if subs <= set(files):  # `from pkg import mod`: the modules, not pkg itself
                    named.discard(node.module)
                named |= subs
        targets = set()
        for target in named:
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_cycle_check_finds_a_loop_through_a_lazy_import(tmp_path):
    pkg = tmp_path / "vlm_desktop"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "engine" / "__init__.py").write_text("")
    (pkg / "engine" / "a.py").write_text("from vlm_desktop.engine.b import thing\n")
    (pkg / "engine" / "b.py").write_text("def f():\n    from vlm_desktop.engine import c\n")
    (pkg / "engine" / "c.py").write_text("import vlm_desktop.engine.a\n")
    (pkg / "engine" / "d.py").write_text("from vlm_desktop.engine import a\n")  # not in it
    cycles = import_cycles(import_graph(pkg))
    assert cycles == [["vlm_desktop.engine.a", "vlm_desktop.engine.b", "vlm_desktop.engine.c"]]


def test_no_module_imports_itself_through_others():
    assert import_cycles(import_graph()) == []
