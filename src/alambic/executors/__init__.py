"""Executors: where tasks run (local worker processes, inline, a Ray cluster), as plugins.

A task is plain data: a function reference, its arguments as value descriptions, where
to store its outputs. Pipelines run each step attempt as one; tuning runs each trial as
one. Names load lazily: a worker process imports only what running a task needs.

Example:
    >>> from alambic.executors import available_executors
    >>> available_executors()
    ['inline', 'local', 'ray']
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "BaseExecutor": "._base",
    "InlineExecutor": "._base",
    "Task": "._base",
    "TaskResult": "._base",
    "available_executors": "._base",
    "create_executor": "._base",
    "executor_registry": "._base",
    "register_executor": "._base",
    "LocalExecutor": "._local",
    "call_task": "._map",
    "executor_map": "._map",
    "stop_idle_workers": "._local",
    "child_connection": "._processes",
    "die_with_parent": "._processes",
    "spawn": "._processes",
    "stop": "._processes",
    "RayExecutor": "._ray",
    "IN_WORKER_ENV": "._worker",
    "StepContext": "._worker",
    "current_step": "._worker",
    "execute_task": "._worker",
    "load_code": "._worker",
    "load_module": "._worker",
    "read_log_tail": "._worker",
    "read_progress": "._worker",
    "report_progress": "._worker",
}
__all__ = [
    "IN_WORKER_ENV",
    "BaseExecutor",
    "InlineExecutor",
    "LocalExecutor",
    "RayExecutor",
    "StepContext",
    "Task",
    "TaskResult",
    "available_executors",
    "call_task",
    "child_connection",
    "create_executor",
    "current_step",
    "die_with_parent",
    "execute_task",
    "executor_map",
    "executor_registry",
    "load_code",
    "load_module",
    "read_log_tail",
    "read_progress",
    "register_executor",
    "report_progress",
    "spawn",
    "stop",
    "stop_idle_workers",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.executors._base import (
        BaseExecutor,
        InlineExecutor,
        Task,
        TaskResult,
        available_executors,
        create_executor,
        executor_registry,
        register_executor,
    )
    from alambic.executors._local import LocalExecutor, stop_idle_workers
    from alambic.executors._map import call_task, executor_map
    from alambic.executors._processes import child_connection, die_with_parent, spawn, stop
    from alambic.executors._ray import RayExecutor
    from alambic.executors._worker import (
        IN_WORKER_ENV,
        StepContext,
        current_step,
        execute_task,
        load_code,
        load_module,
        read_log_tail,
        read_progress,
        report_progress,
    )
