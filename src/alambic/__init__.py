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

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "step": ".pipelines",
    "pipeline": ".pipelines",
    "map": ".pipelines",
    "when": ".pipelines",
    "otherwise": ".pipelines",
    "run": ".pipelines",
    "submit": ".pipelines",
    "resume": ".pipelines",
    "cancel": ".pipelines",
    "get_run": ".pipelines",
    "list_runs": ".pipelines",
    "load_pipeline": ".pipelines",
    "Run": ".pipelines",
    "Pipeline": ".pipelines",
    "Step": ".pipelines",
    "Materializer": ".store",
    "register_materializer": ".store",
    "settings": ".config",
    "sql": ".data",
    "split": ".data",
    "start_run": ".tracking",
    "end_run": ".tracking",
    "log_param": ".tracking",
    "log_params": ".tracking",
    "log_metric": ".tracking",
    "log_metrics": ".tracking",
    "log_artifact": ".tracking",
    "set_tag": ".tracking",
    "set_tags": ".tracking",
    "set_experiment": ".tracking",
    "search_runs": ".tracking",
    "tune": ".tuning",
    "register": ".registry",
    "load_model": ".registry",
    "registry": ".registry",
    "serving": ".serving",
}

__all__ = [
    "Materializer",
    "Pipeline",
    "Run",
    "Step",
    "__version__",
    "cancel",
    "end_run",
    "get_run",
    "list_runs",
    "load_model",
    "load_pipeline",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "map",
    "otherwise",
    "pipeline",
    "register",
    "register_materializer",
    "registry",
    "resume",
    "run",
    "search_runs",
    "serving",
    "set_experiment",
    "set_tag",
    "set_tags",
    "settings",
    "split",
    "sql",
    "start_run",
    "step",
    "submit",
    "tune",
    "when",
]

if TYPE_CHECKING:
    from alambic import registry, serving
    from alambic.config import settings
    from alambic.data import split, sql
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
    from alambic.registry import load_model, register
    from alambic.store import Materializer, register_materializer
    from alambic.tracking import (
        end_run,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
    )
    from alambic.tuning import tune


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


def _register_builtin_materializers() -> None:
    # Models are step outputs like any other: every process (workers included) must be
    # able to store and load them without pickle. Cheap: no framework is imported here.
    from alambic.models import register_materializers

    register_materializers()


_register_builtin_materializers()
