"""Pipelines: the DSL, the static graph, the orchestrator, executors and runs."""

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
from alambic.pipelines._worker import execute_task

__all__ = [
    "BaseExecutor",
    "Graph",
    "InlineExecutor",
    "Node",
    "Orchestrator",
    "ParamSpec",
    "Pipeline",
    "Run",
    "Step",
    "StepState",
    "Task",
    "TaskResult",
    "available_executors",
    "cancel",
    "create_executor",
    "execute_task",
    "get_run",
    "list_runs",
    "load_pipeline",
    "map",
    "otherwise",
    "parse_cli_params",
    "pipeline",
    "register_executor",
    "resume",
    "run",
    "step",
    "step_logs",
    "submit",
    "validate_params",
    "when",
]
