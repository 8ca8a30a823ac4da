"""Pipelines: the DSL, the static graph, the orchestrator, runs and their store.

Executors (where steps run) live in :mod:`alambic.executors`; their names are also
here, where pipeline code has always found them. Names load lazily, so that defining
steps (and running them in a worker) does not import the orchestrator or the store.

Example:
    >>> from alambic import executors, pipelines
    >>> pipelines.create_executor is executors.create_executor
    True
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "Pipeline": "._dsl",
    "Step": "._dsl",
    "map": "._dsl",
    "otherwise": "._dsl",
    "pipeline": "._dsl",
    "step": "._dsl",
    "when": "._dsl",
    "BaseExecutor": "alambic.executors",
    "InlineExecutor": "alambic.executors",
    "Task": "alambic.executors",
    "TaskResult": "alambic.executors",
    "available_executors": "alambic.executors",
    "create_executor": "alambic.executors",
    "register_executor": "alambic.executors",
    "Graph": "._graph",
    "Node": "._graph",
    "Orchestrator": "._orchestrator",
    "StepState": "._orchestrator",
    "ParamSpec": "._params",
    "parse_cli_params": "._params",
    "validate_params": "._params",
    "Described": "._launch",
    "describe": "._launch",
    "check_params": "._launch",
    "launch": "._launch",
    "Launch": "._launch",
    "launch_refs": "._launch",
    "spawn_detached": "._launch",
    "Run": "._run",
    "cancel": "._run",
    "get_run": "._run",
    "list_runs": "._run",
    "load_pipeline": "._run",
    "resume": "._run",
    "run": "._run",
    "step_logs": "._run",
    "submit": "._run",
    "ArtifactRecord": "._store",
    "PipelineRecord": "._store",
    "RunRecord": "._store",
    "RunStore": "._store",
    "StepRunRecord": "._store",
    "execute_task": "alambic.executors",
    "StepContext": "alambic.executors",
    "current_step": "alambic.executors",
    "report_progress": "alambic.executors",
    "read_progress": "alambic.executors",
}
__all__ = [
    "ArtifactRecord",
    "BaseExecutor",
    "Described",
    "Graph",
    "InlineExecutor",
    "Launch",
    "Node",
    "Orchestrator",
    "ParamSpec",
    "Pipeline",
    "PipelineRecord",
    "Run",
    "RunRecord",
    "RunStore",
    "Step",
    "StepContext",
    "StepRunRecord",
    "StepState",
    "Task",
    "TaskResult",
    "available_executors",
    "cancel",
    "check_params",
    "create_executor",
    "current_step",
    "describe",
    "execute_task",
    "get_run",
    "launch",
    "launch_refs",
    "list_runs",
    "load_pipeline",
    "map",
    "otherwise",
    "parse_cli_params",
    "pipeline",
    "read_progress",
    "register_executor",
    "report_progress",
    "resume",
    "run",
    "spawn_detached",
    "step",
    "step_logs",
    "submit",
    "validate_params",
    "when",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.executors import (
        BaseExecutor,
        InlineExecutor,
        StepContext,
        Task,
        TaskResult,
        available_executors,
        create_executor,
        current_step,
        execute_task,
        read_progress,
        register_executor,
        report_progress,
    )
    from alambic.pipelines._dsl import Pipeline, Step, map, otherwise, pipeline, step, when
    from alambic.pipelines._graph import Graph, Node
    from alambic.pipelines._launch import (
        Described,
        Launch,
        check_params,
        describe,
        launch,
        launch_refs,
        spawn_detached,
    )
    from alambic.pipelines._orchestrator import Orchestrator, StepState
    from alambic.pipelines._params import ParamSpec, parse_cli_params, validate_params
    from alambic.pipelines._run import (
        Run,
        cancel,
        get_run,
        list_runs,
        load_pipeline,
        resume,
        run,
        step_logs,
        submit,
    )
    from alambic.pipelines._store import (
        ArtifactRecord,
        PipelineRecord,
        RunRecord,
        RunStore,
        StepRunRecord,
    )
