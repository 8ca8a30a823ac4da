"""The Ray executor: each step attempt is one Ray task (``ALAMBIC_EXECUTOR=ray``).

A task is a remote call of :func:`alambic.executors.execute_task`, the same
code the local workers run, so steps behave alike on both executors. Design:

* **Connection.** Made lazily, on the first task, from ``settings.ray_address``:
  ``auto`` joins the running cluster (``RAY_ADDRESS`` or the last ``ray start``) or
  starts a local one; ``local`` always starts a local one; ``host:port`` joins that
  cluster's GCS and ``ray://host:port`` goes through the Ray client. An address is
  probed over TCP first, so a wrong one fails in seconds, not after Ray's minutes of
  retries. A connection the user made (``ray.init()`` before the run) is used as is.
  One connection serves every run in the process, so a notebook pays Ray's start-up
  once; a local instance we started lives until the process exits (Ray's own
  ``atexit`` hook stops it). Changing ``ray_address`` reconnects.
* **Environment.** Tasks carry a ``runtime_env`` with the ``ALAMBIC_*`` settings and
  ``PYTHONPATH`` = the orchestrator's working folder + ``sys.path``, so workers import
  the same alambic and user code. Ray keeps a worker pool per ``runtime_env``: the first
  tasks with new settings wait for workers to start (1-3 s; the executor starts up to
  ``max_workers`` of them at once), later tasks and runs reuse them (milliseconds).
  A task runs in the orchestrator's working folder, and writes its log to the
  orchestrator's log file, when these exist on its node (a local cluster).
* **Failures.** Tasks have ``max_retries=0`` (alambic retries by itself). A worker
  that dies, or a result Ray loses, is reported as ``crashed``; a task is cancelled or
  timed out with ``ray.cancel(force=True)``, which kills its worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from types import ModuleType
from typing import Any

from alambic.config import Settings
from alambic.core import optional_import
from alambic.errors import AlambicError, ExecutorError
from alambic.executors._base import BaseExecutor, Task, TaskResult
from alambic.executors._worker import IN_WORKER_ENV, execute_task, read_log_tail

__all__ = ["RayExecutor"]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_connected_to: str | None = None  # the ray_address of the connection we made, if any
_PROBE_SECONDS = 5.0


def _run_task(payload: dict[str, Any], log_path: str | None, cwd: str) -> dict[str, Any]:
    """The body of a Ray task (runs on a cluster node)."""
    if log_path is not None and not os.path.isdir(os.path.dirname(log_path)):
        log_path = None  # another machine: execute_task logs to a temporary file
    here = os.getcwd()
    with contextlib.suppress(OSError):
        os.chdir(cwd)
    try:
        return execute_task(payload, log_path)
    finally:
        with contextlib.suppress(OSError):
            os.chdir(here)


def _warm_up() -> None:
    """A no-op task: starting it starts a worker (importing alambic) for our runtime_env."""


def _import_ray() -> ModuleType:
    try:
        return optional_import("ray", extra="ray")
    except AlambicError as exc:
        raise ExecutorError(f"the ray executor needs Ray: {exc}") from exc


def _probe(address: str) -> None:
    """Fail fast when nothing listens at a ``host:port`` or ``ray://host:port`` address."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(
            f"ray_address={address!r} is not valid; set ALAMBIC_RAY_ADDRESS to auto, local, "
            "host:port (a cluster's GCS) or ray://host:port (the Ray client)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS).close()
    except OSError as exc:
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address} ({exc}); start it (`ray start "
            "--head`) or point ALAMBIC_RAY_ADDRESS at a running one (auto and local start "
            "a local Ray instance)"
        ) from exc


def _connect(address: str) -> ModuleType:
    """Connect this process to Ray as ``address`` says, once; return the ``ray`` module."""
    global _connected_to
    ray = _import_ray()
    with _lock:
        if ray.is_initialized() and _connected_to in (None, address):
            return ray  # the user's own connection, or ours for the same address
        target: str | None = {"auto": None, "local": "local"}.get(address.lower(), address)
        if target not in (None, "local"):
            _probe(address)  # before dropping a working connection for a wrong address
        if ray.is_initialized():
            ray.shutdown()  # ours, to another cluster: follow the new setting
            _connected_to = None
        failure: Exception | None = None
        for attempt in range(2):  # a Ray client server may fail to start once under load
            try:
                ray.init(
                    address=target,
                    include_dashboard=False,
                    log_to_driver=False,  # a step's output goes to its log, not our stdout
                    configure_logging=False,  # a library leaves logging to the application
                    ignore_reinit_error=True,
                )
                failure = None
                break
            except Exception as exc:  # Ray raises many types (ConnectionError, ValueError…)
                failure = exc
                with contextlib.suppress(Exception):
                    ray.shutdown()  # a half-made connection would break the next attempt
                if attempt == 0:
                    logger.warning("connecting to Ray at %s failed, retrying: %s", address, exc)
                    time.sleep(1.0)
        if failure is not None:
            raise ExecutorError(
                f"cannot connect to Ray at ray_address={address!r}: {type(failure).__name__}: "
                f"{failure}; check that the cluster runs the same Ray and Python versions (and, "
                "if it uses token authentication, set RAY_AUTH_MODE=token), or set "
                "ALAMBIC_RAY_ADDRESS to another cluster (or to local)"
            ) from failure
        _connected_to = address
        logger.info("connected to Ray (ray_address=%s)", address)
        return ray


class RayExecutor(BaseExecutor):
    """Runs each task as a Ray task, up to ``max_workers`` at once.

    Example:
        >>> from alambic.config import settings
        >>> executor = RayExecutor(settings(), max_workers=2)  # connects on first submit
        >>> executor.shutdown()
    """

    name = "ray"

    def __init__(self, settings: Settings, *, max_workers: int | None = None) -> None:
        super().__init__(settings, max_workers=max_workers)
        self._queue: list[Task] = []
        self._running: dict[str, tuple[Task, Any]] = {}  # task id → (task, ObjectRef)
        self._cwd = os.getcwd()
        self._runtime_env: dict[str, Any] = {}
        self._ray: ModuleType | None = None
        self._remote: Any = None
        self._warmed = False

    def _connection(self) -> ModuleType:
        if self._ray is None:
            ray = _connect(self.settings.ray_address)
            self._remote = ray.remote(num_cpus=1, max_retries=0)(_run_task)
            env = {**self.settings.env(), IN_WORKER_ENV: "1"}
            # Workers must import the same alambic and user code as we do. After
            # connecting: importing Ray extends sys.path, and Ray keeps a worker pool
            # per runtime_env, so the next run must compute the very same value.
            env["PYTHONPATH"] = os.pathsep.join(p for p in [self._cwd, *sys.path] if p)
            self._runtime_env = {"env_vars": env}
            self._ray = ray
        return self._ray

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.max_workers:
            self._connection()
            task = self._queue.pop(0)
            call = self._remote.options(runtime_env=self._runtime_env, name=task.id)
            self._running[task.id] = (task, call.remote(task.payload, task.log_path, self._cwd))
        if self._ray is not None and not self._warmed:
            self._warmed = True
            # Ray starts a worker for a new runtime_env only when a task needs one (1-3 s):
            # start the workers the first tasks leave free now, no-ops if they exist.
            cpus = int(self._ray.cluster_resources().get("CPU", 0))
            warm = self._ray.remote(num_cpus=1, max_retries=0)(_warm_up)
            for _ in range(min(self.max_workers, cpus) - len(self._running)):
                warm.options(runtime_env=self._runtime_env, name="alambic-warm-up").remote()

    def submit(self, task: Task) -> None:
        self._queue.append(task)
        self._dispatch()

    def wait(self, timeout: float) -> list[TaskResult]:
        self._dispatch()
        if not self._running:
            return []
        ray = self._connection()
        refs = [ref for _, ref in self._running.values()]
        ready, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))
        if ready:  # collect every result already there, not just the first
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = set(ready)
        results = []
        for task_id, (task, ref) in list(self._running.items()):
            if ref in done:
                del self._running[task_id]
                results.append(self._result(ray, task, ref))
        self._dispatch()
        return results

    def _result(self, ray: ModuleType, task: Task, ref: Any) -> TaskResult:
        try:
            return TaskResult.from_dict(task.id, ray.get(ref))
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None) or exc
            if not isinstance(cause, SystemExit | KeyboardInterrupt):
                # The task function itself failed (not the step: execute_task catches
                # those), e.g. alambic does not import on that node.
                return TaskResult(
                    task_id=task.id,
                    ok=False,
                    error=f"{type(cause).__name__}: {cause}",
                    traceback=str(exc),
                    logs=read_log_tail(task.log_path),
                )
            reason = f"{type(cause).__name__}: {cause}"
        except Exception as exc:  # the worker died, its node died, the result was lost…
            first_line = (str(exc).strip().splitlines() or [""])[0]
            reason = f"{type(exc).__name__}: {first_line}"
        return TaskResult(
            task_id=task.id,
            ok=False,
            crashed=True,
            logs=read_log_tail(task.log_path),
            error=f"WorkerCrashed: the Ray worker running this step died ({reason})",
        )

    def cancel(self, task_id: str) -> None:
        self._queue = [t for t in self._queue if t.id != task_id]
        entry = self._running.pop(task_id, None)
        if entry is not None and self._ray is not None:
            # force=True kills the worker process: a step may ignore KeyboardInterrupt.
            with contextlib.suppress(Exception):  # already finished, or its node is gone
                self._ray.cancel(entry[1], force=True)

    def shutdown(self) -> None:
        """Cancel what still runs; the Ray connection stays open for the next run."""
        self._queue.clear()
        for task_id in list(self._running):
            self.cancel(task_id)
