"""The scheduler package's shape: no import cycles, the rules free of I/O, no Textual."""

from __future__ import annotations

import ast
from pathlib import Path

SCHEDULER = Path(__file__).resolve().parents[2] / "console" / "scheduler"
PACKAGE = "console.scheduler."


def _runtime_imports(path: Path) -> set[str]:
    """Modules of the package that `path` imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:  # module level only: TYPE_CHECKING blocks are `if` statements
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            found.add(node.module.removeprefix(PACKAGE))  # type: ignore[union-attr]
        elif isinstance(node, ast.ImportFrom) and node.module == "console.scheduler":
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _runtime_imports(path) for path in SCHEDULER.glob("*.py")}


def test_no_import_cycles_inside_the_scheduler() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path, module]))
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_the_rules_do_no_io() -> None:
    """SearchCore and its parts import no socket, event loop or file-system module."""
    io_modules = {"zmq", "asyncio", "socket", "os", "subprocess", "textual"}
    for name in ("search_core", "admission", "collection", "ledger", "leases", "nodes", "drops"):
        tree = ast.parse((SCHEDULER / f"{name}.py").read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not imported & io_modules, f"{name}.py imports {imported & io_modules}"
