"""Pipelines: the DSL, the static graph, the orchestrator, executors and runs.

Names load lazily, so that defining steps (and running them in a worker) does not
import the orchestrator or the metadata store.
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
    "BaseExecutor": "._executors",
    "InlineExecutor": "._executors",
    "Task": "._executors",
    "TaskResult": "._executors",
    "available_executors": "._executors",
    "create_executor": "._executors",
    "register_executor": "._executors",
    "Graph": "._graph",
    "Node": "._graph",
    "Orchestrator": "._orchestrator",
    "StepState": "._orchestrator",
    "ParamSpec": "._params",
    "parse_cli_params": "._params",
    "validate_params": "._params",
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
    "execute_task": "._worker",
    "StepContext": "._worker",
    "current_step": "._worker",
    "report_progress": "._worker",
    "read_progress": "._worker",
}
__all__ = [
    "ArtifactRecord",
    "BaseExecutor",
    "Graph",
    "InlineExecutor",
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
    "create_executor",
    "current_step",
    "execute_task",
    "get_run",
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
    "step",
    "step_logs",
    "submit",
    "validate_params",
    "when",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.pipelines._dsl import Pipeline, Step, map, otherwise, pipeline, step, when
    from alambic.pipelines._executors import (
        BaseExecutor,
        InlineExecutor,
        Task,
        TaskResult,
        available_executors,
        create_executor,
        register_executor,
    )
    from alambic.pipelines._graph import Graph, Node
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
    from alambic.pipelines._worker import (
        StepContext,
        current_step,
        execute_task,
        read_progress,
        report_progress,
    )
