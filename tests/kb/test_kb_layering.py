"""`advisor.kb` is the bottom layer: it imports nothing from the engine, torch or textual
(issue 7 #6), so that knowledge files load and validate without them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

KB = Path(__file__).resolve().parents[2] / "advisor" / "kb"
FORBIDDEN = ("advisor.engine", "torch", "textual", "tui", "advisor.tui")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN) or name.startswith(".")


def test_no_module_of_advisor_kb_imports_the_engine_torch_or_textual():
    modules = sorted(KB.rglob("*.py"))
    assert len(modules) >= 9, "the walk found the package"
    bad = [f"{path.relative_to(KB.parent.parent)}:{line}: imports {name}"
           for path in modules for line, name in _imports(path) if _forbidden(name)]
    assert bad == []


def test_the_walk_sees_function_level_imports(tmp_path):
    """The check itself: an import inside a function (as loader.py once had) is found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from advisor.engine import Engine\n    import torch\n",
                      encoding="utf-8")
    assert [name for _, name in _imports(sample) if _forbidden(name)] == [
        "advisor.engine", "advisor.engine.Engine", "torch"]


def test_loading_with_examples_leaves_torch_and_textual_unloaded():
    code = ("import sys; from advisor.kb import load_kb; load_kb(use_env=False); "
            "print(sorted(m for m in ('torch', 'textual') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=KB.parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
