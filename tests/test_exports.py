"""Each package's public names agree three ways: ``__all__``, the lazy export table, and
the ``TYPE_CHECKING`` imports that give type checkers and IDEs the same names."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

import alambic as al

SRC = Path(al.__file__).parent
_SKIP = {"typing", "__future__"}


def _packages() -> list[Path]:
    return sorted(p for p in SRC.rglob("__init__.py") if "migrations" not in p.parts)


def _declared(init: Path) -> tuple[set[str], dict[str, str] | None, dict[str, str]]:
    """``__all__``, the lazy table (None if the package has none), and the names imported
    under ``if TYPE_CHECKING:`` (or at module level, without a lazy table) → module."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names: set[str] = set()
    table: dict[str, str] | None = None
    imported: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if target == "__all__":
                names = set(ast.literal_eval(node.value))
            elif target == "_EXPORTS":
                table = ast.literal_eval(node.value)
        guarded = isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body if guarded else [node]:  # type: ignore[attr-defined]
            if isinstance(statement, ast.ImportFrom) and statement.module not in _SKIP:
                if statement.module and statement.module.endswith("core._lazy"):
                    continue
                for alias in statement.names:
                    imported[alias.asname or alias.name] = str(statement.module)
    return names, table, imported


def _module_name(init: Path) -> str:
    parts = init.relative_to(SRC.parent).with_suffix("").parts[:-1]
    return ".".join(parts)


@pytest.mark.parametrize("init", _packages(), ids=_module_name)
def test_all_the_lazy_table_and_the_type_checking_imports_agree(init: Path) -> None:
    package = _module_name(init)
    names, table, imported = _declared(init)
    names.discard("__version__")
    assert names, f"{package} declares no __all__"
    if table is None:  # a package importing its names directly
        assert set(imported) == names, f"{package}: imports and __all__ differ"
        return
    modules = {n for n, where in table.items() if where.rpartition(".")[2] == n}
    assert set(table) - modules == names, f"{package}: __all__ and the lazy table differ"
    assert set(imported) == set(table), f"{package}: TYPE_CHECKING imports and the table differ"
    for name, where in table.items():
        absolute = importlib.util.resolve_name(where, package)
        if name in modules and imported[name] == absolute:
            # a callable subpackage (al.automl) is typed as the function it calls
            assert callable(importlib.import_module(absolute)), f"{package}.{name}"
        elif name in modules:
            assert imported[name] == package, f"{package}.{name}: not imported as a module"
        else:
            assert imported[name] == absolute, f"{package}.{name}: {imported[name]} ≠ {absolute}"


@pytest.mark.parametrize("init", _packages(), ids=_module_name)
def test_every_exported_name_resolves(init: Path) -> None:
    package = importlib.import_module(_module_name(init))
    for name in package.__all__:
        assert getattr(package, name) is not None, f"{package.__name__}.{name}"
    assert set(dir(package)) >= set(package.__all__) - {"__version__"}


def test_the_top_level_holds_the_daily_names_and_the_subpackages() -> None:
    functions = [n for n in al.__all__ if n != "__version__"]
    assert 15 <= len(functions) <= 21  # 21: al.schedule, the continuous-training verb
    assert {"step", "pipeline", "map", "when", "run", "sql", "tune", "register"} <= set(functions)
    subpackages = {m.name for m in pkgutil.iter_modules(al.__path__) if m.ispkg}
    for name in subpackages - {"cli", "testing"}:
        assert isinstance(getattr(al, name), types.ModuleType), name


MOVED = [(al, name) for name in sorted(al._DEPRECATED)] + [
    (al.store, name) for name in sorted(al.store._DEPRECATED)
]


@pytest.mark.parametrize(("package", "name"), MOVED, ids=[f"{p.__name__}.{n}" for p, n in MOVED])
def test_the_names_that_moved_still_work_with_a_warning(package: Any, name: str) -> None:
    where = package._DEPRECATED[name]
    with pytest.warns(DeprecationWarning, match=f"{package.__name__}.{name} is deprecated"):
        value = getattr(package, name)
    home = importlib.import_module(where.rpartition(".")[0])
    assert value is getattr(home, where.rpartition(".")[2])
    assert name not in dir(package) and name not in package.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(home, where.rpartition(".")[2])  # the new home does not warn
