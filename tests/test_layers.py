"""The layers import each other in one direction only: server.py -> web/ -> schema/ ->
resolvers/ -> models/ and services/ (ARCHITECTURE.md "Layout", STYLE.md "Layers").

Every application module's imports are read with ast, those at module level and those
inside functions alike, so an import moved into a function to dodge a cycle still counts.
A failure names the module, the line and the import that breaks the rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["web", "schema", "resolvers", "models", "services", "migrations"]
MODULES = ["server.py", "demo.py", "forum.py"]


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it stands."""

    module: str  # the importing module, e.g. "schema.errors"
    path: str  # its file, relative to the repository
    line: int
    target: str  # the imported module (or module.name for `from module import name`)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    """`web/app.py` -> "web.app", `web/__init__.py` -> "web"."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[Import]:
    """Every import in a file, function-local ones included, relative ones made absolute."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    relative = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=relative)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # One target per name: `from resolvers import demo` may import resolvers.demo.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [Import(module, relative, node.lineno, target) for target in targets]
    return found


def application_imports() -> list[Import]:
    """The imports of server.py, demo.py, forum.py and every module of the application
    packages."""
    files = [ROOT / name for name in MODULES]
    for package in PACKAGES:
        files += sorted(
            path for path in (ROOT / package).rglob("*.py") if "static" not in path.parts
        )
    return [found for path in files for found in imports_of(path)]


def within(name: str, *packages: str) -> bool:
    """True when a dotted module name is one of the packages or inside one."""
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def breaking(rule: str, offending: list[Import]) -> str:
    return f"{rule}:\n" + "\n".join(f"  {found}" for found in offending)


def test_the_reader_sees_imports_inside_functions() -> None:
    # server.py imports the demo seed inside its `seed` command only.
    targets = {found.target for found in imports_of(ROOT / "server.py")}

    assert "demo" in targets


def test_schema_imports_neither_services_nor_web_nor_starlette() -> None:
    offending = [
        found
        for found in application_imports()
        if within(found.module, "schema") and within(found.target, "services", "web", "starlette")
    ]

    assert offending == [], breaking(
        "schema/ holds Strawberry types only: HTTP reaches it through the Context, "
        "services through resolvers/",
        offending,
    )


def test_services_and_models_import_no_layer_above_them() -> None:
    offending = [
        found
        for found in application_imports()
        if within(found.module, "services", "models")
        and within(found.target, "resolvers", "schema", "web")
    ]

    assert offending == [], breaking(
        "services/ and models/ are leaves: they import neither resolvers/, schema/ nor web/",
        offending,
    )


def test_only_server_imports_web() -> None:
    offending = [
        found
        for found in application_imports()
        if within(found.target, "web") and not within(found.module, "web", "server")
    ]

    assert offending == [], breaking("only server.py (and tests) import web/", offending)


def test_only_web_and_server_import_schema() -> None:
    # server.py may: `export-schema` builds the schema to print it, with no app around it.
    offending = [
        found
        for found in application_imports()
        if within(found.target, "schema") and not within(found.module, "schema", "web", "server")
    ]

    assert offending == [], breaking(
        "only web/ and server.py (export-schema) import schema/", offending
    )


def test_forum_py_is_only_the_way_in_to_server_py() -> None:
    # `python -m forum` is a name for the command line, not a layer of its own.
    targets = {found.target for found in imports_of(ROOT / "forum.py")}

    assert targets == {"__future__.annotations", "sys", "server.main"}


def test_only_server_imports_the_demo_seed() -> None:
    offending = [
        found
        for found in application_imports()
        if within(found.target, "demo", "resolvers.demo") and found.module != "server"
    ]

    assert offending == [], breaking("only server.py (and tests) import demo.py", offending)


# ------------------------------------------------------------------ within resolvers/
# The rule that resolvers/ has no import cycle belongs here, beside the layer rules.
