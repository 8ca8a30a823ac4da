"""One function over many inputs, on an executor: the split-and-merge work of libraries.

Pipelines and tuning drive executors task by task; a library that cuts work into parts
(a window's hours to profile, a folder's files) only wants each part's answer, in order.
:func:`executor_map` gives it: each call is a task that the settings' executor runs (local
worker processes, or a Ray cluster), at most ``max_workers`` at once; the answers come
back through the artifact store, so they must be values it can save (JSON-like data,
DataFrames, arrays). A call that fails raises, with the part's own error.

Example:
    >>> import json
    >>> from alambic.config import settings
    >>> executor_map(json.dumps, [([1, 2],), ({"a": 1},)], settings=settings(), executor="inline")
    ['[1, 2]', '{"a": 1}']
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from alambic.config import Settings
from alambic.errors import ExecutorError

if TYPE_CHECKING:
    from alambic.executors._base import Task

__all__ = ["call_task", "executor_map"]


def call_task(
    task_id: str,
    code: dict[str, Any],
    kwargs: dict[str, Any],
    artifacts: str,
    *,
    label: str | None = None,
) -> Task:
    """A task that calls ``code`` with these plain values and saves what it returns."""
    from alambic.executors._base import Task

    payload = {
        "code": code,
        "args": {name: {"value": value} for name, value in kwargs.items()},
        "outputs": ["return"],
        "label": label or task_id,
        "artifacts": artifacts,
        "allow_pickle": False,
    }
    return Task(task_id, payload, None)


def executor_map(
    fn: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    *,
    settings: Settings,
    executor: str | None = None,
    max_workers: int | None = None,
    timeout: float | None = None,
) -> list[Any]:
    """``[fn(*args) for args in calls]``, each call a task on the executor.

    Args:
        fn: a function at the top level of an importable module (workers import it).
        calls: each call's positional arguments (plain values: numbers, text, lists…).
        settings: where answers are stored, and the default executor.
        executor: ``local``, ``ray`` or ``inline``; default: ``settings.executor``.
        max_workers: tasks at once; default: the executor's.
        timeout: seconds for all the calls; default: no limit.

    Raises:
        ExecutorError: a call failed (its error is named), its worker died, or the calls
            ran past ``timeout`` (the pool is shut down, its workers stopped).
    """
    from alambic.executors._base import create_executor
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    code = {"module": fn.__module__, "file": None, "qualname": fn.__qualname__}
    signature = inspect.signature(fn)
    if any(p.kind is p.POSITIONAL_ONLY for p in signature.parameters.values()):
        raise ExecutorError(
            f"{fn.__qualname__} takes positional-only arguments, which a task cannot pass "
            "by name: wrap it in a function of your own"
        )
    tasks = [
        call_task(f"{fn.__qualname__}-{i}", code, dict(signature.bind(*args).arguments),
                  str(settings.artifacts))
        for i, args in enumerate(calls)
    ]  # fmt: skip
    options = {} if max_workers is None else {"max_workers": max_workers}
    answers: dict[str, Any] = {}
    with create_executor(settings, executor, **options) as pool:
        for task in tasks:
            pool.submit(task)
        started = time.monotonic()
        while len(answers) < len(tasks):
            if timeout is not None and time.monotonic() - started > timeout:
                raise ExecutorError(
                    f"{len(tasks) - len(answers)} of {len(tasks)} calls of {fn.__qualname__} "
                    f"did not end within {timeout:g}s"
                )
            for result in pool.wait(1.0):
                if not result.ok:
                    why = (result.error or "").strip() or (
                        f"no error came back: its worker may have died (see "
                        f"{settings.home / 'logs' / 'workers.log'})"
                    )
                    raise ExecutorError(f"{result.task_id} failed: {why}")
                answers[result.task_id] = result.outputs["return"]
    store = ArtifactStore(settings.artifacts)
    return [load_value(store, ArtifactRef.from_dict(answers[task.id])) for task in tasks]
