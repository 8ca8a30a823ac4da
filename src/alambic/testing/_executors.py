"""The executor conformance suite: what the orchestrator and tuning need of an executor.

Each property is a function that raises :class:`~alambic.errors.ConformanceError`
naming what failed; :class:`ExecutorConformance` runs each as its own pytest test, and
:func:`check_executor` runs them all in one call.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from alambic.config import Settings, settings
from alambic.errors import ConformanceError
from alambic.executors import BaseExecutor, Task, TaskResult
from alambic.store import ArtifactRef, ArtifactStore, load_value

__all__ = [
    "check_executor",
    "collect_results",
    "conformance_task",
]

_MODULE = "alambic.testing._tasks"


def conformance_task(task_id: str, function: str, scratch: Path, **args: Any) -> Task:
    """A task running ``alambic.testing._tasks.<function>(**args)``, storing into ``scratch``."""
    payload = {
        "code": {"module": _MODULE, "file": None, "qualname": function},
        "args": {name: {"value": value} for name, value in args.items()},
        "outputs": ["return"],
        "label": task_id,
        "artifacts": str(scratch / "artifacts"),
        "allow_pickle": False,
    }
    return Task(task_id, payload, str(scratch / f"{task_id}.log"))


def collect_results(executor: BaseExecutor, ids: set[str], timeout: float) -> dict[str, TaskResult]:
    """Wait for the results of ``ids``; raise ConformanceError after ``timeout`` seconds."""
    results: dict[str, TaskResult] = {}
    deadline = time.monotonic() + timeout
    while not ids <= set(results):
        if time.monotonic() > deadline:
            missing = sorted(ids - set(results))
            raise ConformanceError(f"no result for {missing} after {timeout}s")
        for result in executor.wait(0.5):
            results[result.task_id] = result
    return results


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def _one(executor: BaseExecutor, task: Task, timeout: float) -> TaskResult:
    executor.submit(task)
    return collect_results(executor, {task.id}, timeout)[task.id]


# -- the properties ------------------------------------------------------------------
def check_values_round_trip(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """A value goes in, and a stored value that loads back comes out."""
    result = _one(executor, conformance_task("echo", "echo", folder, value=41), timeout)
    _check(result.ok, f"echo failed: {result.error}")
    ref = ArtifactRef.from_dict(result.outputs["return"])
    loaded = load_value(ArtifactStore(str(folder / "artifacts")), ref)
    _check(loaded == 41, f"echo returned {loaded!r}, not 41")


def check_output_is_captured(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """What a task writes to stdout and stderr comes back in its result's logs."""
    result = _one(executor, conformance_task("speak", "echo", folder, value=7), timeout)
    _check(
        "echo 7" in result.logs and "to stderr 7" in result.logs,
        f"stdout/stderr not captured: {result.logs!r}",
    )


def check_errors_are_results(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """An exception is a failed result with the error and its traceback."""
    task = conformance_task("fail", "fail", folder, message="expected failure")
    result = _one(executor, task, timeout)
    _check(
        not result.ok and "RuntimeError: expected failure" in (result.error or ""),
        f"a raising task must fail with its error, got {result}",
    )
    _check("raise RuntimeError" in (result.traceback or ""), "the traceback is missing")


def check_tasks_overlap(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """With ``max_workers`` > 1, tasks run at the same time."""
    windows = folder / "windows"
    ids = {f"w{i}" for i in range(executor.max_workers)}
    for task_id in sorted(ids):
        task = conformance_task(task_id, "window", folder, folder=str(windows), seconds=1.0)
        executor.submit(task)
    collect_results(executor, ids, timeout)
    spans = sorted(tuple(map(float, p.read_text().split())) for p in windows.iterdir())
    _check(
        any(b[0] < a[1] for a, b in itertools.pairwise(spans)),
        f"tasks did not overlap with max_workers={executor.max_workers}",
    )


def check_a_crash_fails_only_its_task(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """A worker that dies fails its own task (``crashed``); the executor keeps working."""
    result = _one(executor, conformance_task("crash", "crash", folder, code=7), timeout)
    _check(not result.ok and result.crashed, f"a crash must be reported, got {result}")
    after = _one(executor, conformance_task("after-crash", "echo", folder, value=2), timeout)
    _check(after.ok, f"the executor must go on after a crash, got {after}")


def check_cancel_stops_a_task(executor: BaseExecutor, folder: Path, timeout: float) -> None:
    """A cancelled task never reports; the next one does."""
    task = conformance_task("long", "window", folder, folder=str(folder / "long"), seconds=60.0)
    executor.submit(task)
    time.sleep(0.5)
    executor.cancel("long")
    executor.submit(conformance_task("after", "echo", folder, value=1))
    results = collect_results(executor, {"after"}, timeout)
    _check(
        "long" not in results and results["after"].ok,
        "a cancelled task must not report, and the executor must go on",
    )


_BASIC = (check_values_round_trip, check_output_is_captured, check_errors_are_results)
_ISOLATED = (check_a_crash_fails_only_its_task, check_cancel_stops_a_task)


def check_executor(
    factory: Callable[[Settings], BaseExecutor],
    folder: Path,
    *,
    isolated: bool = True,
    parallel: bool = True,
    timeout: float = 120.0,
) -> None:
    """Run every executor check on one executor; raise on the first failure.

    Args:
        factory: builds the executor from settings.
        folder: an empty scratch folder (artifacts and logs go there).
        isolated: the executor runs tasks in other processes, so a crash or a cancel
            affects only that task (checked when True).
        parallel: tasks run at the same time when ``max_workers`` > 1 (checked when True).
        timeout: the longest any check may wait for results.

    Raises:
        ConformanceError: the first property that does not hold.
    """
    executor = factory(replace(settings(), artifacts=str(folder / "artifacts")))
    try:
        checks: list[Callable[[BaseExecutor, Path, float], None]] = list(_BASIC)
        if parallel and executor.max_workers > 1:
            checks.append(check_tasks_overlap)
        if isolated:
            checks += _ISOLATED
        for check in checks:
            check(executor, folder, timeout)
    finally:
        executor.shutdown()
