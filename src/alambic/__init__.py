"""alambic: local-first MLOps, from data to production models.

The names a user types daily live here; everything loads lazily, so ``import alambic``
stays fast.

Example:
    >>> import alambic as al
    >>> @al.step
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> add(1, 2)
    3
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "step": "alambic.pipelines",
    "pipeline": "alambic.pipelines",
    "map": "alambic.pipelines",
    "when": "alambic.pipelines",
    "otherwise": "alambic.pipelines",
    "run": "alambic.pipelines",
    "submit": "alambic.pipelines",
    "resume": "alambic.pipelines",
    "cancel": "alambic.pipelines",
    "get_run": "alambic.pipelines",
    "list_runs": "alambic.pipelines",
    "load_pipeline": "alambic.pipelines",
    "Run": "alambic.pipelines",
    "Pipeline": "alambic.pipelines",
    "Step": "alambic.pipelines",
    "Materializer": "alambic.store",
    "register_materializer": "alambic.store",
    "settings": "alambic.config",
}

__all__ = [*sorted(_EXPORTS), "__version__"]

if TYPE_CHECKING:
    from alambic.config import settings
    from alambic.pipelines import (
        Pipeline,
        Run,
        Step,
        cancel,
        get_run,
        list_runs,
        load_pipeline,
        map,
        otherwise,
        pipeline,
        resume,
        run,
        step,
        submit,
        when,
    )
    from alambic.store import Materializer, register_materializer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alambic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
