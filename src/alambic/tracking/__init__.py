"""Experiment tracking: experiments, runs, params, metrics, tags, artifacts, search.

Names load lazily: a worker that only buffers a step's metrics imports neither pandas
nor the database layer.
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "ActiveRun": "._api",
    "absorb_tracking": "._api",
    "active_run_id": "._api",
    "end_run": "._api",
    "get_tracked_run": "._api",
    "log_artifact": "._api",
    "log_metric": "._api",
    "log_metrics": "._api",
    "log_param": "._api",
    "log_params": "._api",
    "set_experiment": "._api",
    "set_tag": "._api",
    "set_tags": "._api",
    "start_run": "._api",
    "step_tracking": "._api",
    "tracking_store": "._api",
    "TrackingError": "alambic.errors",
    "changes_from_export": "._buffer",
    "RunChange": "._change",
    "search_runs": "._search",
    "ExperimentRecord": "._store",
    "TrackedRunRecord": "._store",
    "TrackingStore": "._store",
}
__all__ = [
    "ActiveRun",
    "ExperimentRecord",
    "RunChange",
    "TrackedRunRecord",
    "TrackingError",
    "TrackingStore",
    "absorb_tracking",
    "active_run_id",
    "changes_from_export",
    "end_run",
    "get_tracked_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "step_tracking",
    "tracking_store",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.errors import TrackingError
    from alambic.tracking._api import (
        ActiveRun,
        absorb_tracking,
        active_run_id,
        end_run,
        get_tracked_run,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
        step_tracking,
        tracking_store,
    )
    from alambic.tracking._buffer import changes_from_export
    from alambic.tracking._change import RunChange
    from alambic.tracking._search import search_runs
    from alambic.tracking._store import ExperimentRecord, TrackedRunRecord, TrackingStore
