"""The local executor: a pool of long-lived worker processes on this machine.

Each worker is a separate ``python -m alambic.executors._worker`` process talking over
its own socket. A worker that dies (``os._exit``, a segfault, the OOM killer) fails only
the task it was running and is replaced; a task is cancelled or timed out by killing
its worker. Workers start lazily, so a fully cached run starts none.

Idle workers outlive a run: the next run in the same process, with the same settings,
reuses them (a notebook running pipelines one after another pays the start-up once).
A worker re-imports a pipeline file that changed on disk since it last imported it.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from alambic.config import Settings
from alambic.executors._base import BaseExecutor, Task, TaskResult
from alambic.executors._processes import spawn, stop
from alambic.executors._worker import read_log_tail

__all__ = ["LocalExecutor", "stop_idle_workers"]


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    connection: Connection
    task: Task | None = None


# Idle workers kept between runs, for one set of settings (and thread) at a time.
_spares: dict[tuple[str, ...], list[_Worker]] = {}
_lock = threading.RLock()


def _kill(worker: _Worker) -> None:
    stop(worker.process, worker.connection)


def stop_idle_workers(keep: tuple[str, ...] | None = None) -> None:
    """Stop the idle workers kept between runs (the next run starts new ones).

    Example:
        >>> stop_idle_workers()
    """
    with _lock:
        for key in [k for k in _spares if k != keep]:
            for worker in _spares.pop(key):
                _kill(worker)


atexit.register(stop_idle_workers)


class LocalExecutor(BaseExecutor):
    """Runs tasks in up to ``max_workers`` local worker processes."""

    name = "local"

    def __init__(self, settings: Settings, *, max_workers: int | None = None) -> None:
        super().__init__(settings, max_workers=max_workers)
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}
        self._queue: list[Task] = []
        self._done: list[TaskResult] = []
        log_dir = settings.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self._worker_log = log_dir / "workers.log"
        env = [f"{k}={v}" for k, v in sorted(settings.env().items())]
        # Per thread: a worker gets SIGKILL when the thread that started it ends (Linux
        # PR_SET_PDEATHSIG), so only that thread may reuse it.
        thread = str(threading.get_ident())
        self._key: tuple[str, ...] = (sys.executable, os.getcwd(), thread, *sys.path, *env)
        stop_idle_workers(keep=self._key)  # workers made for other settings are of no use now

    def _start_worker(self) -> _Worker:
        with _lock:
            spares = _spares.get(self._key, [])
            while spares:
                worker = spares.pop()
                if worker.process.poll() is None:
                    return worker
                _kill(worker)
        return self._spawn_worker()

    def _spawn_worker(self) -> _Worker:
        env = {**os.environ, **self.settings.env()}
        # The worker must import the same alambic and user code as we do.
        env["PYTHONPATH"] = os.pathsep.join(p for p in [os.getcwd(), *sys.path] if p)
        with open(self._worker_log, "ab") as log:
            process, connection = spawn(
                "alambic.executors._worker", env=env, stdout=log, stderr=log
            )
        return _Worker(process, connection)

    def _dispatch(self) -> None:
        while self._queue and len(self._busy) < self.max_workers:
            task = self._queue.pop(0)
            worker = self._idle.pop() if self._idle else self._start_worker()
            try:
                worker.connection.send(
                    {"task_id": task.id, "task": task.payload, "log_path": task.log_path}
                )
            except (BrokenPipeError, OSError):
                self._kill(worker)
                self._queue.insert(0, task)
                continue
            worker.task = task
            self._busy[task.id] = worker

    def submit(self, task: Task) -> None:
        self._queue.append(task)
        self._dispatch()

    def wait(self, timeout: float) -> list[TaskResult]:
        self._dispatch()
        if not self._done and self._busy:
            ready = wait([w.connection for w in self._busy.values()], timeout=max(0.0, timeout))
            by_conn = {id(w.connection): (tid, w) for tid, w in self._busy.items()}
            for connection in ready:
                task_id, worker = by_conn[id(connection)]
                self._collect(task_id, worker)
        results, self._done = self._done, []
        self._dispatch()
        return results

    def _collect(self, task_id: str, worker: _Worker) -> None:
        del self._busy[task_id]
        try:
            data = worker.connection.recv()
        except (EOFError, OSError):
            code = worker.process.wait()
            self._kill(worker)
            reason = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            task = worker.task
            logs = read_log_tail(task.log_path if task else None)
            self._done.append(
                TaskResult(
                    task_id=task_id,
                    ok=False,
                    crashed=True,
                    logs=logs,
                    error=f"WorkerCrashed: the worker process running this step {reason}",
                )
            )
            return
        worker.task = None
        self._idle.append(worker)
        self._done.append(TaskResult.from_dict(task_id, data))

    def cancel(self, task_id: str) -> None:
        self._queue = [t for t in self._queue if t.id != task_id]
        worker = self._busy.pop(task_id, None)
        if worker is not None:
            self._kill(worker)

    def _kill(self, worker: _Worker) -> None:
        _kill(worker)

    def shutdown(self) -> None:
        self._queue.clear()
        for worker in self._busy.values():
            self._kill(worker)  # abandoned mid-task: their work is lost anyway
        with _lock:
            spares = _spares.setdefault(self._key, [])
            for worker in self._idle:
                if worker.process.poll() is None and len(spares) < self.max_workers:
                    spares.append(worker)
                else:
                    self._kill(worker)
        self._idle.clear()
        self._busy.clear()
