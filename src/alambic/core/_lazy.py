"""Lazy re-exports: a package names its public API without importing heavy modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for a package whose names live in submodules.

    Args:
        package: the package's ``__name__``.
        exports: public name → submodule (relative, like ``"._metadata"``).

    Example:
        >>> getattr_, dir_ = lazy_exports("alambic.core", {"new_id": "._ids"})
        >>> getattr_("new_id").__name__
        'new_id'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module, package)
        # A subpackage exported under its own name (``al.registry``) is the module itself.
        value = imported if module == f".{name}" else getattr(imported, name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
