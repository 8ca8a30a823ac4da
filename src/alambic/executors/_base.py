"""Executors run tasks somewhere; the orchestrator and tuning only see this interface.

An executor takes JSON-able tasks (a pipeline step's attempt, a tuning trial), runs
:func:`alambic.executors.execute_task` on them wherever it likes (local processes, a
Ray cluster, …) and reports results. It must not rely on memory shared with its
caller. Executors are plugins: register a new one with :func:`register_executor` or in
the ``alambic.executors`` entry-point group, and check it with the conformance suite
:class:`alambic.testing.ExecutorConformance`.

Example:
    >>> from alambic.executors import available_executors
    >>> "local" in available_executors()
    True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from alambic.config import Settings
from alambic.core import BUILTIN, PluginRegistry
from alambic.errors import ExecutorError

__all__ = [
    "BaseExecutor",
    "InlineExecutor",
    "Task",
    "TaskResult",
    "available_executors",
    "create_executor",
    "executor_registry",
    "register_executor",
]


@dataclass(frozen=True)
class Task:
    """One attempt of one step instance, as plain data.

    Attributes:
        id: unique per attempt.
        payload: what :func:`execute_task` needs (code reference, argument descriptions…).
        log_path: a local file for the step's output, when the executor runs locally.
    """

    id: str
    payload: dict[str, Any]
    log_path: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """What came back from one attempt.

    Attributes:
        crashed: the worker died (killed, ``os._exit``, segfault) rather than the step raising.
    """

    task_id: str
    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    error: str | None = None
    traceback: str | None = None
    logs: str = ""
    tracking: dict[str, Any] = field(default_factory=dict)
    crashed: bool = False

    @classmethod
    def from_dict(cls, task_id: str, data: dict[str, Any]) -> TaskResult:
        """Build a result from :func:`execute_task`'s dictionary."""
        return cls(
            task_id=task_id,
            ok=bool(data["ok"]),
            outputs=data.get("outputs") or {},
            duration=float(data.get("duration") or 0.0),
            error=data.get("error"),
            traceback=data.get("traceback"),
            logs=data.get("logs") or "",
            tracking=data.get("tracking") or {},
        )


class BaseExecutor(ABC):
    """Runs tasks concurrently, up to ``max_workers`` at once.

    Implementations must be safe to call from the orchestrator's single thread only;
    they need no thread safety.
    """

    name: ClassVar[str]

    def __init__(self, settings: Settings, *, max_workers: int | None = None) -> None:
        self.settings = settings
        self.max_workers = max(1, max_workers or settings.max_workers)

    @abstractmethod
    def submit(self, task: Task) -> None:
        """Start a task; must not block for its duration."""

    @abstractmethod
    def wait(self, timeout: float) -> list[TaskResult]:
        """Return results that finished, waiting at most ``timeout`` seconds for one."""

    @abstractmethod
    def cancel(self, task_id: str) -> None:
        """Stop a running task at once (its result is never reported)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every worker; the executor is not used again."""

    def __enter__(self) -> BaseExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()


class InlineExecutor(BaseExecutor):
    """Runs each task in the orchestrator's own process, one at a time.

    For debugging (breakpoints work in steps); a crashing step takes the run down with it.
    """

    name = "inline"

    def __init__(self, settings: Settings, *, max_workers: int | None = None) -> None:
        super().__init__(settings, max_workers=1)
        self._queue: list[Task] = []

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def wait(self, timeout: float) -> list[TaskResult]:
        from alambic.executors._worker import execute_task

        results = []
        while self._queue:
            task = self._queue.pop(0)
            results.append(TaskResult.from_dict(task.id, execute_task(task.payload, task.log_path)))
        return results

    def cancel(self, task_id: str) -> None:
        self._queue = [t for t in self._queue if t.id != task_id]

    def shutdown(self) -> None:
        self._queue.clear()


ExecutorFactory = Callable[..., BaseExecutor]
executor_registry: PluginRegistry[ExecutorFactory] = PluginRegistry(
    "executor",
    error=ExecutorError,
    group="alambic.executors",
    missing=lambda name, known: (
        f"unknown executor {name!r}; set ALAMBIC_EXECUTOR to one of: {', '.join(known)}"
    ),
)
executor_registry.register("local", "alambic.executors._local:LocalExecutor", precedence=BUILTIN)
executor_registry.register("inline", "alambic.executors._base:InlineExecutor", precedence=BUILTIN)
executor_registry.register("ray", "alambic.executors._ray:RayExecutor", precedence=BUILTIN)


def register_executor(name: str, factory: str | ExecutorFactory) -> None:
    """Register an executor class (or a ``"module:Class"`` path, loaded lazily) by name."""
    executor_registry.register(name.lower(), factory)


def available_executors() -> list[str]:
    """Names of the registered executors (entry points included)."""
    return executor_registry.names()


def create_executor(settings: Settings, name: str | None = None, **options: Any) -> BaseExecutor:
    """Create the executor called ``name`` (default: ``settings.executor``).

    Raises:
        ExecutorError: no executor has that name, or it cannot be loaded.
    """
    factory = executor_registry.get((name or settings.executor).lower())
    return factory(settings, **options)
