"""The executor conformance suite (see :func:`check_executor`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from alambic.config import Settings, settings
from alambic.errors import AlambicError
from alambic.pipelines import BaseExecutor, Task, TaskResult
from alambic.store import ArtifactRef, ArtifactStore, load_value

_MODULE = "alambic.testing._tasks"


class ConformanceError(AlambicError):
    """An executor does not behave as the orchestrator needs."""


def _task(task_id: str, function: str, scratch: Path, **args: Any) -> Task:
    payload = {
        "code": {"module": _MODULE, "file": None, "qualname": function},
        "args": {name: {"value": value} for name, value in args.items()},
        "outputs": ["return"],
        "label": task_id,
        "artifacts": str(scratch / "artifacts"),
        "allow_pickle": False,
    }
    return Task(task_id, payload, str(scratch / f"{task_id}.log"))


def _collect(executor: BaseExecutor, ids: set[str], timeout: float) -> dict[str, TaskResult]:
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


def check_executor(
    factory: Callable[[Settings], BaseExecutor],
    folder: Path,
    *,
    isolated: bool = True,
    parallel: bool = True,
    timeout: float = 120.0,
) -> None:
    """Run the executor conformance checks; raise :class:`ConformanceError` on the first failure.

    Args:
        factory: builds the executor from settings.
        folder: an empty scratch folder (artifacts and logs go there).
        isolated: the executor runs tasks in other processes, so a crash or a cancel
            affects only that task (checked when True).
        parallel: tasks run at the same time when ``max_workers`` > 1 (checked when True).
        timeout: the longest any check may wait for results.
    """
    config = replace(settings(), artifacts=str(folder / "artifacts"))
    executor = factory(config)
    try:
        # A value goes in and a stored, loadable value comes out; output is captured.
        executor.submit(_task("echo", "echo", folder, value=41))
        result = _collect(executor, {"echo"}, timeout)["echo"]
        _check(result.ok, f"echo failed: {result.error}")
        ref = ArtifactRef.from_dict(result.outputs["return"])
        _check(
            load_value(ArtifactStore(config.artifacts), ref) == 41, "echo returned a wrong value"
        )
        _check(
            "echo 41" in result.logs and "to stderr 41" in result.logs,
            f"stdout/stderr not captured: {result.logs!r}",
        )

        # An exception is a failed result with the error and its traceback.
        executor.submit(_task("fail", "fail", folder, message="expected failure"))
        result = _collect(executor, {"fail"}, timeout)["fail"]
        _check(
            not result.ok and "RuntimeError: expected failure" in (result.error or ""),
            f"a raising task must fail with its error, got {result}",
        )
        _check("raise RuntimeError" in (result.traceback or ""), "the traceback is missing")

        if parallel and executor.max_workers > 1:
            windows = folder / "windows"
            ids = {f"w{i}" for i in range(executor.max_workers)}
            for task_id in sorted(ids):
                executor.submit(_task(task_id, "window", folder, folder=str(windows), seconds=1.0))
            _collect(executor, ids, timeout)
            spans = sorted(tuple(map(float, p.read_text().split())) for p in windows.iterdir())
            _check(
                any(b[0] < a[1] for a, b in itertools.pairwise(spans)),
                f"tasks did not overlap with max_workers={executor.max_workers}",
            )

        if isolated:
            # A crash fails only its own task; the executor keeps working.
            executor.submit(_task("crash", "crash", folder, code=7))
            result = _collect(executor, {"crash"}, timeout)["crash"]
            _check(not result.ok and result.crashed, f"a crash must be reported, got {result}")
            # A cancelled task never reports; the next one does.
            executor.submit(
                _task("long", "window", folder, folder=str(folder / "long"), seconds=60.0)
            )
            time.sleep(0.5)
            executor.cancel("long")
            executor.submit(_task("after", "echo", folder, value=1))
            results = _collect(executor, {"after"}, timeout)
            _check(
                "long" not in results and results["after"].ok,
                "a cancelled task must not report, and the executor must go on",
            )
    finally:
        executor.shutdown()
