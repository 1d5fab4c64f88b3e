"""The package's layout: its layers, its import cycles and the size of its modules.

* The import-linter contracts of ``setup.cfg`` (each folder imports only the
  folders below it, the sans-IO packages import no I/O library, ...) are all
  kept.
* No import cycle between modules, ``TYPE_CHECKING`` imports included: every
  strongly connected component of the import graph is one module.
* No module is over 500 lines unless its docstring says it is "table-like"
  (one record per wire type, a list of re-exports) or "generated". A longer
  module is a sign that it holds two things (house style, 2.1): split it by
  what they do, not by size.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "realtime_trio"
MAX_LINES = 500
EXEMPTING_WORDS = ("table-like", "generated")


def test_import_contracts_are_kept() -> None:
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename='setup.cfg', no_cache=True, no_logo=True))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def strongly_connected(
    nodes: Iterable[str], edges: Callable[[str], Iterable[str]]
) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges(node)):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return components


def test_strongly_connected_finds_cycles_and_only_them() -> None:
    graph = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": ["d"], "e": []}
    components = strongly_connected(graph, lambda n: graph[n])
    assert sorted(components) == [["a", "b", "c"], ["d"], ["e"]]


def test_no_import_cycles_between_modules() -> None:
    graph = grimp.build_graph("realtime_trio", exclude_type_checking_imports=False)
    cycles = [
        component
        for component in strongly_connected(
            graph.modules, graph.find_modules_directly_imported_by
        )
        if len(component) > 1
    ]
    assert cycles == []


def test_no_module_over_500_lines_unless_table_like_or_generated() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines <= MAX_LINES:
            continue
        docstring = (ast.get_docstring(ast.parse(text)) or "").lower()
        if not any(word in docstring for word in EXEMPTING_WORDS):
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert too_long == []
