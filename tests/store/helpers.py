"""Helpers shared by the storage tests."""

from __future__ import annotations

import importlib
import pkgutil

import alambic


def table_modules() -> list[str]:
    """Every module that declares tables: each capability's ``_tables`` and the audit log."""
    found = ["alambic.store._audit"]
    for module in pkgutil.walk_packages(alambic.__path__, "alambic."):
        if module.name.endswith("._tables"):
            found.append(module.name)
    return found


def every_table() -> set[str]:
    """Import every capability's tables; return the names ``Base.metadata`` then holds."""
    from alambic.store import Base

    for module in table_modules():
        importlib.import_module(module)
    return set(Base.metadata.tables)
