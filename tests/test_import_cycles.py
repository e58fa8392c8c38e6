"""No import cycles among the advisor modules (module-level and function-level imports alike;
`if TYPE_CHECKING:` imports never run and do not count): each layer imports only the layers
below it (docs/design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"advisor": "advisor", "tui": "advisor.tui", "knowledge": "advisor.knowledge"}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`: annotations, never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def _imports(tree: ast.AST) -> set[str]:
    """Every module an import that runs names (module level or inside a function);
    `from package import submodule` names the submodule."""
    names = set()
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_import_cycles():
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        for target in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target in modules and target != name:
                # importing a submodule of one's own package through the package is not an edge
                if f"{target}." in f"{name}." and name.startswith(target):
                    continue
                graph.add_edge(name, target)
    cycles = sorted(" -> ".join(c) for c in nx.simple_cycles(graph))
    assert not cycles, "import cycles:\n" + "\n".join(cycles[:20])
