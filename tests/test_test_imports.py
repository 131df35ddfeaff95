"""The import rules of the test suite, read from the source: what tests share lives in
tests/support/, so no test module imports another, support imports no test module, and
conftest.py files are only found by pytest, never imported."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def module_name(path: Path) -> str:
    """The dotted name of a file under the project (tests/support/mail.py: tests.support.mail)."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported(path: Path) -> set[str]:
    """Every module a file imports, by dotted name (`from a import b` counts a and a.b,
    since b may be a module)."""
    package = module_name(path).rpartition(".")[0] if path.name != "__init__.py" else ""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules_named(pattern: str) -> set[str]:
    """The modules under tests/ whose file name matches `pattern`."""
    return {module_name(path) for path in TESTS.rglob(pattern)}


def imports_by_file() -> dict[str, set[str]]:
    """Each Python file under tests/ (by module name) and the modules it imports."""
    return {module_name(path): imported(path) for path in sorted(TESTS.rglob("*.py"))}


def test_the_rules_read_the_imports_of_every_test_file() -> None:
    files = imports_by_file()
    assert "tests.support.harness" in files["tests.conftest"]
    assert "tests.support.members.member" in files["tests.test_follows"]
    assert {"tests.test_follows", "tests.security.test_d_websockets"} <= modules_named("test_*.py")
    assert modules_named("conftest.py") == {"tests.conftest", "tests.security.conftest"}


def test_no_module_under_tests_imports_a_test_module() -> None:
    test_modules = modules_named("test_*.py")
    offenders = {
        module: sorted(names & test_modules) for module, names in imports_by_file().items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_support_modules_import_nothing_from_tests_but_support() -> None:
    offenders = {
        module: sorted(
            name
            for name in names
            if (name == "tests" or name.startswith("tests."))
            and not name.startswith("tests.support")
        )
        for module, names in imports_by_file().items()
        if module.startswith("tests.support")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_no_module_imports_a_conftest() -> None:
    conftests = modules_named("conftest.py")
    offenders = {module: sorted(names & conftests) for module, names in imports_by_file().items()}
    assert {module: names for module, names in offenders.items() if names} == {}
