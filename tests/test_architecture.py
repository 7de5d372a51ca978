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
