"""Optional dependencies: one helper turns a missing package into an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from alambic.errors import AlambicError


def optional_import(module: str, *, extra: str) -> ModuleType:
    """Import ``module`` or say which alambic extra installs it.

    Example:
        >>> optional_import("json", extra="core").dumps([1])
        '[1]'

    Raises:
        AlambicError: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise AlambicError(
            f"{module} is not installed; install it with: pip install 'alambic[{extra}]'"
        ) from exc
