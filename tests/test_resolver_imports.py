"""resolvers/ has no import cycle: read every module's imports (module level and inside
functions) and look for a path from a module back to itself."""

from __future__ import annotations

import ast
from pathlib import Path

RESOLVERS = Path(__file__).resolve().parent.parent / "resolvers"


def imported_resolvers(path: Path) -> set[str]:
    """The resolvers modules one module imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "resolvers" and len(parts) > 1:
                module = parts[1]
                if (RESOLVERS / f"{module}.py").exists():
                    found.add(module)
    found.discard(path.stem)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each resolvers module and the resolvers modules it imports."""
    return {path.stem: imported_resolvers(path) for path in sorted(RESOLVERS.glob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once fully explored
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph.get(module, set())):
            if state.get(imported) == "open":
                return [*path[path.index(imported) :], imported]
            if imported not in state:
                cycle = visit(imported)
                if cycle is not None:
                    return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle is not None:
                return cycle
    return None


def test_resolvers_have_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())

    assert cycle is None, "resolvers/ import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_named_module_by_module() -> None:
    graph = {"messages": {"audit"}, "audit": {"moderation"}, "moderation": {"messages"}}

    assert find_cycle(graph) == ["audit", "moderation", "messages", "audit"]
