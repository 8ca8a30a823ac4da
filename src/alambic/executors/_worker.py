"""What runs inside a worker: load the step's code and inputs, call it, store its outputs.

:func:`execute_task` is executor-agnostic: the local executor calls it in its worker
processes, and any other executor (Ray, …) can call it wherever it runs code. A task
is plain JSON-able data, so nothing relies on memory shared with the orchestrator.

Run as ``python -m alambic.executors._worker FD`` it is a local worker process serving
tasks over the socket ``FD`` until the socket closes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import importlib.util
import io
import logging
import os
import sys
import tempfile
import time
import traceback
import types
import typing
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from alambic.core import code_hash
from alambic.errors import AlambicError, PipelineLoadError
from alambic.executors._processes import child_connection

__all__ = [
    "IN_WORKER_ENV",
    "StepContext",
    "current_step",
    "execute_task",
    "load_code",
    "load_module",
    "read_progress",
    "report_progress",
]

IN_WORKER_ENV = "ALAMBIC_IN_WORKER"
_LOG_TAIL = 1 << 20  # keep at most the last MiB of a step's output
_modules: dict[tuple[str, str | None], ModuleType] = {}
_stamps: dict[tuple[str, str | None], int | None] = {}
_stores: dict[str, Any] = {}


@dataclass(frozen=True)
class StepContext:
    """The step attempt running in this process (see :func:`current_step`).

    Attributes:
        label: ``train`` or ``train[1]``.
        step_run: the step run's id, stable across attempts and resumes.
        log_path: the attempt's log file, when the executor gave one.
    """

    label: str
    step_run: str | None
    log_path: str | None

    @property
    def progress_path(self) -> str | None:
        """Where :func:`report_progress` writes (beside the log, read by live views)."""
        return f"{self.log_path}.progress" if self.log_path else None


_current: ContextVar[StepContext | None] = ContextVar("alambic_current_step", default=None)


def current_step() -> StepContext | None:
    """The pipeline step running here, or None outside a step.

    Example:
        >>> current_step() is None
        True
    """
    return _current.get()


def report_progress(text: str) -> None:
    """Show ``text`` as the running step's progress in live views (``alambic run``).

    Cheap enough to call a few times a second; does nothing outside a step.
    """
    step = _current.get()
    path = step.progress_path if step is not None else None
    if path is None:
        return
    with contextlib.suppress(OSError):
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)


def read_progress(log_path: str | None) -> str:
    """The last progress a step reported ('' if none)."""
    if not log_path:
        return ""
    try:
        with open(f"{log_path}.progress", encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def load_module(module: str, file: str | None) -> ModuleType:
    """Import the module holding a step or pipeline, by name or from its file.

    Modules run as scripts (``__main__``) are imported from their file under another
    name, as :mod:`multiprocessing` does, so an ``if __name__ == "__main__":`` block
    does not run again.

    Raises:
        PipelineLoadError: the module does not import.
    """
    key = (module, file)
    stamp = _mtime(file)
    cached = _modules.get(key)
    if cached is not None and _stamps.get(key) == stamp:
        return cached
    loaded = sys.modules.get(module)
    if (
        cached is None  # a module already imported here (the orchestrator's own, inline)
        and loaded is not None
        and module != "__main__"
        and (file is None or getattr(loaded, "__file__", None) == file)
    ):
        _modules[key], _stamps[key] = loaded, stamp
        return loaded
    try:
        if module != "__main__" and file is None:
            loaded = importlib.import_module(module)
        else:
            if file is None:
                raise PipelineLoadError(
                    "the pipeline runs from an interactive session without a file"
                )
            name = "__alambic_main__" if module == "__main__" else module
            folder = str(Path(file).parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            spec = importlib.util.spec_from_file_location(name, file)
            if spec is None or spec.loader is None:
                raise PipelineLoadError(f"cannot import {file}")
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[name] = loaded
            spec.loader.exec_module(loaded)
    except AlambicError:
        raise
    except BaseException as exc:
        raise PipelineLoadError(
            f"cannot import {file or module}: {type(exc).__name__}: {exc}"
        ) from exc
    _modules[key], _stamps[key] = loaded, stamp
    return loaded


def _mtime(file: str | None) -> int | None:
    try:
        return os.stat(file).st_mtime_ns if file else None
    except OSError:
        return None


def load_code(code: dict[str, Any], *, unwrap: bool = True) -> Any:
    """Return the function that a code reference names (the Step/Pipeline itself if not unwrap)."""
    if code.get("pickled"):
        import cloudpickle

        return cloudpickle.loads(base64.b64decode(code["pickled"]))
    target: Any = load_module(code["module"], code.get("file"))
    for part in code["qualname"].split("."):
        target = getattr(target, part, None)
        if target is None:
            raise PipelineLoadError(
                f"{code['qualname']} is not in {code.get('file') or code['module']}; "
                "was it renamed since the run started?"
            )
    return getattr(target, "fn", target) if unwrap else target


_persistent_streams = False  # set by serve(): sys.stdout/err then always write to fds 1/2


@contextlib.contextmanager
def _capture(log_path: str) -> Iterator[None]:
    """Send fds 1 and 2 (print, C extensions, subprocesses) and logging to ``log_path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    stream = None
    if not _persistent_streams:
        # In a host process (inline executor, a notebook, pytest) sys.stdout may have been
        # replaced: point Python's streams at the log file too, for this task only.
        stream = open(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="replace")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if stream is not None:
            sys.stdout = sys.stderr = stream
        root.addHandler(handler)
        root.setLevel(min(old_level, logging.INFO) if old_level else logging.INFO)
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        root.removeHandler(handler)
        root.setLevel(old_level)
        sys.stdout, sys.stderr = saved_streams
        if stream is not None:
            stream.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for handle in (*saved, fd):
            os.close(handle)


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Give the next step the working folder and environment this one started with."""
    cwd, environ = os.getcwd(), dict(os.environ)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        if os.environ != environ:
            os.environ.clear()
            os.environ.update(environ)


def read_log_tail(path: str | None) -> str:
    """Return the last MiB of a log file ('' if it does not exist)."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - _LOG_TAIL))
        data = handle.read()
    text = data.decode("utf-8", errors="replace")
    return text if size <= _LOG_TAIL else "[… earlier output cut …]\n" + text


def _check_code(fn: Any, task: dict[str, Any]) -> None:
    """Refuse to run code other than the code the cache key was made from.

    A long-lived worker re-imports a file edited since; if the orchestrator still holds
    the old version (a notebook that did not re-import it), running the new code under
    the old key would poison the cache.
    """
    if task["code"].get("pickled") or task.get("code_extra") is None:
        return
    if code_hash(fn, task["code_extra"]) != task.get("code_hash"):
        raise PipelineLoadError(
            f"the code of step {task['label']!r} changed on disk after the pipeline was "
            "loaded; re-import the pipeline (or restart the kernel) and run again"
        )


@functools.lru_cache(maxsize=1024)
def _tuple_arguments(fn: Any) -> frozenset[str]:
    """The arguments of ``fn`` annotated as tuples (which arrive as JSON lists)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve here: leave values as they are
        return frozenset()
    found = set()
    for name, hint in hints.items():
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kinds = {typing.get_origin(o) or o for o in (typing.get_args(hint) if union else (hint,))}
        # Only where a tuple is wanted and a list would not do (list | tuple takes both).
        if tuple in kinds and not kinds & {list, typing.Any, object}:
            found.add(name)
    return frozenset(found - {"return"})


def _as_annotated(fn: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments annotated ``tuple[...]`` as tuples: JSON (parameters, stored values)
    gives them back as lists."""
    try:
        names = _tuple_arguments(fn)
    except TypeError:  # an unhashable callable
        return kwargs
    for name in names:
        if isinstance(kwargs.get(name), list):
            kwargs[name] = tuple(kwargs[name])
    return kwargs


def _materialize(desc: Any, store: Any, allow_pickle: bool) -> Any:
    from alambic.store import ArtifactRef, load_value

    if "value" in desc:
        value = desc["value"]
    elif "artifact" in desc:
        value = load_value(
            store, ArtifactRef.from_dict(desc["artifact"]), allow_pickle=allow_pickle
        )
    elif "list" in desc:
        return [_materialize(item, store, allow_pickle) for item in desc["list"]]
    else:
        return {k: _materialize(v, store, allow_pickle) for k, v in desc["dict"].items()}
    for key in desc.get("path", []):
        value = value[key]
    return value


def execute_task(task: dict[str, Any], log_path: str | None = None) -> dict[str, Any]:
    """Run one step attempt and return its result (JSON-able).

    Args:
        task: ``code`` (reference), ``args`` (value descriptions), ``outputs`` (names),
            ``artifacts`` (store URL), ``allow_pickle``, ``label``.
        log_path: where to write the step's output; a temporary file when None.

    Returns:
        ``{"ok", "outputs", "duration", "error", "traceback", "logs"}``.
    """
    from alambic.store import ArtifactStore, save_value
    from alambic.tracking import step_tracking

    own_log = log_path is None
    if log_path is None:
        handle, log_path = tempfile.mkstemp(prefix="alambic-step-", suffix=".log")
        os.close(handle)
    result: dict[str, Any] = {
        "ok": False,
        "outputs": {},
        "duration": 0.0,
        "error": None,
        "traceback": None,
    }
    try:
        with _isolated(), _capture(log_path):
            started = time.perf_counter()
            try:
                store = _stores.get(task["artifacts"]) or _stores.setdefault(
                    task["artifacts"], ArtifactStore(task["artifacts"])
                )
                allow_pickle = bool(task.get("allow_pickle"))
                fn = load_code(task["code"])
                _check_code(fn, task)
                kwargs = {
                    name: _materialize(desc, store, allow_pickle)
                    for name, desc in task["args"].items()
                }
                kwargs = _as_annotated(fn, kwargs)
                started = time.perf_counter()
                context = StepContext(
                    task["label"], task.get("step_run"), None if own_log else log_path
                )
                token = _current.set(context)
                with step_tracking() as tracked:
                    try:
                        value = fn(**kwargs)
                    finally:
                        result["tracking"] = tracked.export()
                        _current.reset(token)
                result["duration"] = time.perf_counter() - started
                names = task["outputs"]
                if names == ["return"]:
                    values = [value]
                elif not isinstance(value, tuple) or len(value) != len(names):
                    raise TypeError(
                        f"step {task['label']} is annotated to return a tuple of {len(names)} "
                        f"values but returned {type(value).__name__}"
                    )
                else:
                    values = list(value)
                for name, item in zip(names, values, strict=True):
                    what = f"the output of step {task['label']!r}"
                    ref = save_value(store, item, allow_pickle=allow_pickle, what=what)
                    result["outputs"][name] = ref.to_dict()
                result["ok"] = True
            except BaseException as exc:  # a step may raise anything, SystemExit included
                result["duration"] = result["duration"] or time.perf_counter() - started
                result["error"] = f"{type(exc).__name__}: {exc}"
                result["traceback"] = traceback.format_exc()
                if isinstance(exc, KeyboardInterrupt):
                    raise
                sys.stderr.write(result["traceback"])
    finally:
        result["logs"] = read_log_tail(log_path)
        if own_log:
            os.unlink(log_path)
    return result


def serve(argv: list[str]) -> None:
    """Serve tasks sent over the socket named in ``argv`` until it closes."""
    global _persistent_streams
    # Linux: get SIGKILL when the orchestrator dies, so no orphan keeps computing.
    connection = child_connection(argv)
    os.environ[IN_WORKER_ENV] = "1"
    # Streams that outlive every task: a module that bound a logging handler to
    # sys.stderr at import keeps writing to whatever fd 2 is (the current step's log).
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    _persistent_streams = True
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        result = execute_task(message["task"], message.get("log_path"))
        result["task_id"] = message["task_id"]
        try:
            connection.send(result)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    # Serve from the importable module, not from __main__: its state (the current step,
    # cached modules) must be the one that library code importing it sees.
    from alambic.executors import _worker

    _worker.serve(sys.argv)
