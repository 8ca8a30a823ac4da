"""The shape the code keeps: small functions and modules, and tests laid out alike."""

from __future__ import annotations

import ast
from pathlib import Path

import alambic as al

SRC = Path(al.__file__).parent
TESTS = Path(__file__).parent
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 800


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_in_src_is_longer_than_120_lines() -> None:
    long = [
        f"{path.relative_to(SRC)}:{name} ({lines} lines)"
        for path in sorted(SRC.rglob("*.py"))
        for name, lines in _functions(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_no_module_in_src_is_longer_than_800_lines() -> None:
    long = [
        f"{path.relative_to(SRC)} ({n} lines)"
        for path in sorted(SRC.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


ALLOWED = {"__init__.py", "conftest.py", "helpers.py", "flows.py"}


DATA = TESTS / "store" / "data"  # what a test reads: a legacy home and the script making it


def _test_folders() -> list[Path]:
    return sorted(
        p
        for p in TESTS.rglob("*")
        if p.is_dir() and p.name != "__pycache__" and DATA not in (p, *p.parents)
    )


def test_every_test_folder_is_laid_out_the_same_way() -> None:
    """``test_*.py``, and when needed ``conftest.py`` (fixtures), ``helpers.py`` (shared
    functions), ``flows.py`` (code imported by name) — each folder a package."""
    odd = []
    for folder in [TESTS, *_test_folders()]:
        if not (folder / "__init__.py").exists():
            odd.append(f"{folder.relative_to(TESTS.parent)}/ has no __init__.py")
        for path in folder.glob("*.py"):
            if path.name not in ALLOWED and not path.name.startswith("test_"):
                odd.append(str(path.relative_to(TESTS.parent)))
    assert odd == []


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_nothing_is_imported_from_a_conftest_or_another_test_module() -> None:
    wrong = [
        f"{path.relative_to(TESTS.parent)} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in _imported_modules(path)
        if module.startswith("tests.")
        and (
            module.rpartition(".")[2] == "conftest" or module.rpartition(".")[2].startswith("test_")
        )
    ]
    assert wrong == []
