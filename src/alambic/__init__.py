"""alambic: local-first MLOps, from data to production models.

The names a user types every day live here: define and run pipelines, query data,
track, tune, register and load models. Everything else is in its subpackage
(``alambic.registry``, ``alambic.serving``, ``alambic.tracking``…), reachable from here
too (``al.registry.approve``). Everything loads lazily, so ``import alambic`` stays fast.

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

__version__ = "0.2.0"

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
    "sql": ".data",
    "start_run": ".tracking",
    "log_param": ".tracking",
    "log_params": ".tracking",
    "log_metric": ".tracking",
    "log_metrics": ".tracking",
    "search_runs": ".tracking",
    "tune": ".tuning",
    "register": ".registry",
    "load_model": ".registry",
    "schedule": ".triggers",
    # The subpackages, as attributes: al.registry.approve(...), al.serving.serve(...).
    # al.automl is one, and callable: al.automl(data, target="y").
    "automl": ".automl",
    "config": ".config",
    "data": ".data",
    "evaluation": ".evaluation",
    "executors": ".executors",
    "models": ".models",
    "monitoring": ".monitoring",
    "pipelines": ".pipelines",
    "registry": ".registry",
    "server": ".server",
    "serving": ".serving",
    "store": ".store",
    "tracking": ".tracking",
    "triggers": ".triggers",
    "tuning": ".tuning",
}

# Top-level names of 0.1 that now live only in their subpackage (removed in the next release).
_DEPRECATED = {
    "Materializer": "alambic.store.Materializer",
    "register_materializer": "alambic.store.register_materializer",
    "Pipeline": "alambic.pipelines.Pipeline",
    "Run": "alambic.pipelines.Run",
    "Step": "alambic.pipelines.Step",
    "list_runs": "alambic.pipelines.list_runs",
    "load_pipeline": "alambic.pipelines.load_pipeline",
    "settings": "alambic.config.settings",
    "split": "alambic.data.split",
    "end_run": "alambic.tracking.end_run",
    "log_artifact": "alambic.tracking.log_artifact",
    "set_experiment": "alambic.tracking.set_experiment",
    "set_tag": "alambic.tracking.set_tag",
    "set_tags": "alambic.tracking.set_tags",
}

__all__ = [
    "__version__",
    "cancel",
    "get_run",
    "load_model",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "map",
    "otherwise",
    "pipeline",
    "register",
    "resume",
    "run",
    "schedule",
    "search_runs",
    "sql",
    "start_run",
    "step",
    "submit",
    "tune",
    "when",
]

if TYPE_CHECKING:
    # Subpackages: attributes of the package, not names to star-import.
    from alambic import config as config
    from alambic import data as data
    from alambic import evaluation as evaluation
    from alambic import executors as executors
    from alambic import models as models
    from alambic import monitoring as monitoring
    from alambic import pipelines as pipelines
    from alambic import registry as registry
    from alambic import server as server
    from alambic import serving as serving
    from alambic import store as store
    from alambic import tracking as tracking
    from alambic import triggers as triggers
    from alambic import tuning as tuning

    # al.automl is the package, callable as its automl function: typed as the function.
    from alambic.automl import automl as automl
    from alambic.data import sql
    from alambic.pipelines import (
        cancel,
        get_run,
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
    from alambic.tracking import (
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        start_run,
    )
    from alambic.triggers import schedule
    from alambic.tuning import tune


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, deprecated=_DEPRECATED)


def _register_builtin_materializers() -> None:
    # Models are step outputs like any other: every process (workers included) must be
    # able to store and load them without pickle. Cheap: no framework is imported here.
    from alambic.models import register_materializers

    register_materializers()


_register_builtin_materializers()
