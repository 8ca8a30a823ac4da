"""Lazy re-exports: a package names its public API without importing heavy modules."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    exports: dict[str, str],
    *,
    deprecated: dict[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for a package whose names live in submodules.

    Args:
        package: the package's ``__name__``.
        exports: public name → module holding it (relative, like ``"._metadata"``, or
            absolute); a module exported under its own name (``".registry"``) is itself.
        deprecated: old name → where it lives now (``"alambic.pipelines.RunStore"``):
            still served, with a :class:`DeprecationWarning` at each use, and left out of
            ``dir()``.

    Example:
        >>> getattr_, dir_ = lazy_exports("alambic.core", {"new_id": "._ids"})
        >>> getattr_("new_id").__name__
        'new_id'
    """
    old = deprecated or {}

    def load(name: str, module: str) -> Any:
        imported = importlib.import_module(module, package)
        return imported if module.rpartition(".")[2] == name else getattr(imported, name)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is not None:
            value = load(name, module)
            importlib.import_module(package).__dict__[name] = value  # next access: no call
            return value
        if name in old:
            instead = old[name]
            warnings.warn(
                f"{package}.{name} is deprecated and will be removed in the next release; "
                f"use {instead}",
                DeprecationWarning,
                stacklevel=2,
            )
            module, _, attr = instead.rpartition(".")
            return getattr(importlib.import_module(module), attr)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
