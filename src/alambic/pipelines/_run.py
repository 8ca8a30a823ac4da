"""Running pipelines from Python: ``run``, ``submit``, ``resume``, ``cancel``, ``get_run``.

Example:
    >>> import alambic as al
    >>> @al.step
    ... def square(x: int) -> int:
    ...     return x * x
    >>> @al.pipeline
    ... def squares(values: tuple[int, ...] = (1, 2, 3)) -> list[int]:
    ...     for value in al.map(values):
    ...         squared = square(value)
    ...     return squared
    >>> run = al.run(squares, params={"values": [4, 5]}, executor="inline")
    >>> run.status, run.output("square", index=1), run.result()
    ('succeeded', 25, [16, 25])
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alambic.config import Settings, settings
from alambic.core import new_id, utcnow
from alambic.errors import (
    DefinitionError,
    NotFoundError,
    ParameterError,
    PipelineLoadError,
    RunError,
)
from alambic.executors import IN_WORKER_ENV, load_code, load_module
from alambic.pipelines._dsl import Pipeline
from alambic.pipelines._launch import spawn_detached
from alambic.pipelines._orchestrator import Orchestrator
from alambic.pipelines._params import parse_cli_params, validate_params
from alambic.pipelines._store import RunRecord, RunStore, StepRunRecord
from alambic.store import ArtifactRef, ArtifactStore
from alambic.store import load_value as _load_value

__all__ = ["Run", "cancel", "get_run", "list_runs", "load_pipeline", "resume", "run", "submit"]


class Run:
    """A pipeline run: its state, its step runs, and its outputs.

    Attributes:
        id: the run id (``run-20261123-134501-8f3a2c``).
    """

    def __init__(self, record: RunRecord, store: RunStore, settings: Settings) -> None:
        self.record = record
        self.store = store
        self.settings = settings

    def __repr__(self) -> str:
        return f"<alambic Run {self.id} {self.pipeline} {self.status}>"

    id = property(lambda self: self.record.id, doc="The run id.")
    status = property(
        lambda self: self.record.status, doc="pending, running, succeeded, failed or cancelled."
    )
    pipeline = property(lambda self: self.record.pipeline_name, doc="The pipeline's name.")
    params = property(lambda self: self.record.params, doc="The parameter values of this run.")
    error = property(lambda self: self.record.error, doc="Why the run failed, if it did.")

    @property
    def succeeded(self) -> bool:
        """Whether the run finished successfully."""
        return self.record.status == "succeeded"

    def refresh(self) -> Run:
        """Re-read the run's state from the store."""
        self.record = self.store.get_run(self.record.id)
        return self

    def wait(self, timeout: float | None = None, *, poll: float = 0.5) -> Run:
        """Block until the run finishes (for submitted runs).

        Raises:
            TimeoutError: the run did not finish within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().record.finished:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} is still {self.status} after {timeout}s")
            time.sleep(poll)
        return self

    @property
    def steps(self) -> list[StepRunRecord]:
        """The step runs, in the order they were created."""
        return self.store.step_runs(self.record.id)

    def step(self, name: str, index: int | tuple[int, ...] | None = None) -> StepRunRecord:
        """Return one step run, by node name and map index.

        Raises:
            NotFoundError: no such step in this run.
        """
        if isinstance(index, int):
            index = (index,)
        instance = "" if index is None else ".".join(str(i) for i in index)
        for step in self.steps:
            if step.node == name and step.instance == instance:
                return step
        known = sorted({s.label for s in self.steps})
        raise NotFoundError(
            f"run {self.id} has no step {name!r} at index {index}; it has: {', '.join(known)}"
        )

    def output(
        self, name: str, index: int | tuple[int, ...] | None = None, *, output: str = "return"
    ) -> Any:
        """Load the output of a step (``index`` selects a map branch).

        Raises:
            RunError: the step did not produce outputs.
        """
        step = self.step(name, index)
        if output not in step.outputs:
            raise RunError(
                f"step {step.label} of run {self.id} has no output {output!r} (it is {step.status})"
            )
        return self._load(step.outputs[output])

    def result(self) -> Any:
        """Load what the pipeline function returned (None if it returned nothing).

        Raises:
            RunError: the run has not succeeded.
        """
        if self.refresh().status != "succeeded":
            raise RunError(f"run {self.id} is {self.status}; only a succeeded run has a result")
        desc = self.record.outputs
        return None if desc is None else self._materialize(desc)

    def logs(self, name: str, index: int | tuple[int, ...] | None = None) -> str:
        """Return the captured stdout, stderr and logging of a step."""
        step = self.step(name, index)
        return step_logs(step, ArtifactStore(self.settings.artifacts))

    def _load(self, ref: dict[str, Any]) -> Any:
        return _load_value(
            ArtifactStore(self.settings.artifacts),
            ArtifactRef.from_dict(ref),
            allow_pickle=self.settings.allow_pickle,
        )

    def _materialize(self, desc: dict[str, Any]) -> Any:
        if "list" in desc:
            return [self._materialize(d) for d in desc["list"]]
        if "dict" in desc:
            return {k: self._materialize(d) for k, d in desc["dict"].items()}
        value = desc["value"] if "value" in desc else self._load(desc["artifact"])
        for key in desc.get("path", []):
            value = value[key]
        return value


def step_logs(step: StepRunRecord, artifacts: ArtifactStore) -> str:
    """The captured output of a step run: stored logs, or the live file while it runs."""
    if step.log_artifact:
        return artifacts.get_bytes(step.log_artifact).decode("utf-8", errors="replace")
    if step.log_path and os.path.exists(step.log_path):
        return Path(step.log_path).read_text(encoding="utf-8", errors="replace")
    return ""


# -- loading pipelines -------------------------------------------------------------------
def _module_name(path: Path) -> str:
    stem = path.stem
    if stem.isidentifier() and stem not in sys.stdlib_module_names:
        loaded = sys.modules.get(stem)
        if loaded is None or getattr(loaded, "__file__", None) == str(path):
            return stem
    return f"alambic_user_{abs(hash(str(path))):x}_{stem}"


def load_pipeline(ref: str) -> Pipeline[Any]:
    """Load a pipeline from ``path/to/file.py[:NAME]`` or ``package.module:NAME``.

    Raises:
        PipelineLoadError: the file does not import, or has no (or several) pipelines.
    """
    target, _, name = ref.partition(":") if not ref.endswith(".py") else (ref, "", "")
    if ":" in ref and ref.rsplit(":", 1)[0].endswith(".py"):
        target, name = ref.rsplit(":", 1)
    path = Path(target)
    if target.endswith(".py"):
        if not path.is_file():
            raise PipelineLoadError(
                f"{target}: no such file; give the path of a Python file "
                "that defines an @al.pipeline"
            )
        module = load_module(_module_name(path.resolve()), str(path.resolve()))
    else:
        # Like `python -m`, a module of the working folder is importable.
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        if importlib.util.find_spec(target.split(".")[0]) is None:
            raise PipelineLoadError(f"{target}: no such file or module; use path/to/file.py:NAME")
        module = load_module(target, None)
    pipelines = {k: v for k, v in vars(module).items() if isinstance(v, Pipeline)}
    if name:
        found = pipelines.get(name) or next((p for p in pipelines.values() if p.name == name), None)
        if found is None:
            known = ", ".join(sorted(pipelines)) or "none"
            raise PipelineLoadError(f"{target} has no pipeline named {name!r}; it has: {known}")
        return found
    if len(pipelines) != 1:
        known = ", ".join(sorted(pipelines)) or "none"
        raise PipelineLoadError(
            f"{target} defines {len(pipelines)} pipelines ({known}); name one: {target}:NAME"
        )
    return next(iter(pipelines.values()))


def _source(pipeline: Pipeline[Any]) -> dict[str, Any]:
    return dict(pipeline.code)


def _pipeline_from_source(source: dict[str, Any]) -> Pipeline[Any]:
    if "ref" in source:  # launched by reference (launch_refs): traced by its orchestrator
        return load_pipeline(source["ref"])
    loaded = load_code(source, unwrap=False)
    if not isinstance(loaded, Pipeline):
        raise PipelineLoadError(
            f"{source.get('qualname')} in {source.get('file')} is no longer an @al.pipeline"
        )
    return loaded


# -- starting runs -------------------------------------------------------------------------
def _prepare(
    pipeline: Pipeline[Any], params: dict[str, Any] | None, options: dict[str, Any], status: str
) -> tuple[RunRecord, RunStore, Settings]:
    if os.environ.get(IN_WORKER_ENV):
        raise RunError(
            "a worker importing your pipeline file reached al.run()/al.submit(); "
            'put that call under `if __name__ == "__main__":`'
        )
    if not isinstance(pipeline, Pipeline):
        raise PipelineLoadError(f"{pipeline!r} is not an @al.pipeline")
    config = settings()
    graph = pipeline.graph
    values = validate_params(pipeline.specs, params or {})
    store = RunStore.open(config.db_url)
    store.save_pipeline(graph.hash, graph.name, graph.to_json())
    record = RunRecord(
        id=new_id("run"),
        pipeline_name=graph.name,
        pipeline_hash=graph.hash,
        params=values,
        source=_source(pipeline),
        options=options,
        status=status,
        created_at=utcnow(),
    )
    return store.create_run(record), store, config


def _drive(
    pipeline: Pipeline[Any],
    record: RunRecord,
    store: RunStore,
    config: Settings,
    on_change: Callable[[Orchestrator], None] | None,
) -> Run:
    identity = f"{socket.gethostname()}:{os.getpid()}"
    stale_after = 3 * config.heartbeat_seconds if _orchestrator_alive(record) else 0.0
    if not store.claim_run(record.id, identity, stale_after=stale_after):
        current = store.get_run(record.id)
        if current.finished:  # cancelled before this process could take it
            return Run(current, store, config)
        if current.cancel_requested and not _driven(current, config):
            store.update_run_unless_finished(
                record.id, status="cancelled", ended_at=utcnow(), error="cancelled on request"
            )
            return Run(store.get_run(record.id), store, config)
        raise RunError(
            f"run {record.id} is being driven by {record.orchestrator}; "
            "wait for it, or `alambic cancel` it"
        )
    options = record.options
    orchestrator = Orchestrator(
        pipeline.graph,
        store.get_run(record.id),
        store,
        config,
        cache=options.get("cache", True),
        executor=options.get("executor"),
        max_workers=options.get("max_workers"),
        on_change=on_change,
        steps=pipeline.steps,
    )
    return Run(orchestrator.execute(), store, config)


def run(
    pipeline: Pipeline[Any],
    params: dict[str, Any] | None = None,
    *,
    cache: bool = True,
    executor: str | None = None,
    max_workers: int | None = None,
    on_change: Callable[[Orchestrator], None] | None = None,
) -> Run:
    """Run a pipeline to its end in this process (steps run in worker processes).

    Args:
        pipeline: an ``@al.pipeline``.
        params: parameter overrides; checked against the pipeline's types first.
        cache: reuse earlier results with the same code, parameters and inputs.
        executor: an executor name (default ``ALAMBIC_EXECUTOR``, ``local``).
        max_workers: steps at once (default ``ALAMBIC_MAX_WORKERS``).
        on_change: called with the orchestrator after each state change.

    Returns:
        The finished :class:`Run`; check ``run.status``.

    Raises:
        ParameterError: a parameter is unknown or has the wrong type (nothing is stored).
        DefinitionError: the pipeline's graph is invalid.
    """
    options = {"cache": cache, "executor": executor, "max_workers": max_workers}
    record, store, config = _prepare(pipeline, params, options, "running")
    return _drive(pipeline, record, store, config, on_change)


def submit(
    pipeline: Pipeline[Any],
    params: dict[str, Any] | None = None,
    *,
    cache: bool = True,
    executor: str | None = None,
    max_workers: int | None = None,
) -> Run:
    """Start a run in a background process and return at once.

    The run goes on after this process exits; follow it with ``alambic runs show``
    or :meth:`Run.wait`.

    Raises:
        PipelineLoadError: the pipeline is not importable from a file (a notebook cell).
    """
    if "<locals>" in pipeline.code["qualname"] or not pipeline.code.get("file"):
        raise PipelineLoadError(
            f"pipeline {pipeline.name!r} must be defined at the top level of "
            "a .py file to be submitted"
        )
    options = {"cache": cache, "executor": executor, "max_workers": max_workers}
    record, store, config = _prepare(pipeline, params, options, "pending")
    _spawn_detached(record.id, config)
    return Run(record, store, config)


def _spawn_detached(run_id: str, config: Settings) -> None:
    spawn_detached([run_id], config)


def _orchestrator_alive(record: RunRecord) -> bool:
    if not record.orchestrator:
        return False
    host, _, pid_text = record.orchestrator.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine: only its heartbeat can tell
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is dead too
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _driven(record: RunRecord, config: Settings) -> bool:
    """Whether a live orchestrator drives the run: on this machine the process tells,
    elsewhere only a fresh heartbeat can."""
    if not record.orchestrator:
        return False
    if record.orchestrator.rpartition(":")[0] == socket.gethostname():
        return _orchestrator_alive(record)
    if record.heartbeat_at is None:
        return False
    age = (utcnow() - record.heartbeat_at).total_seconds()
    return age < 3 * config.heartbeat_seconds


def _open(config: Settings | None = None) -> tuple[RunStore, Settings]:
    config = config or settings()
    return RunStore.open(config.db_url), config


def get_run(run_id: str) -> Run:
    """Return a run by id (or unique id prefix)."""
    store, config = _open()
    return Run(store.get_run(run_id), store, config)


def list_runs(
    *, pipeline: str | None = None, status: str | None = None, limit: int = 20
) -> list[Run]:
    """Return recent runs, newest first."""
    store, config = _open()
    return [
        Run(r, store, config)
        for r in store.list_runs(pipeline=pipeline, status=status, limit=limit)
    ]


def resume(
    run_id: str, *, on_change: Callable[[Orchestrator], None] | None = None, detach: bool = False
) -> Run:
    """Finish a failed, cancelled or interrupted run, reusing every step that succeeded.

    The pipeline is loaded again from its file, so a fixed bug is picked up; steps whose
    code and inputs did not change are not executed again.

    Raises:
        RunError: the run succeeded already, or a live orchestrator still drives it.
    """
    store, config = _open()
    record = store.get_run(run_id)
    if record.status == "succeeded":
        raise RunError(f"run {record.id} already succeeded; start a new run instead")
    if record.status in ("running", "pending") and _driven(record, config):
        age = (utcnow() - record.heartbeat_at).total_seconds() if record.heartbeat_at else 0
        raise RunError(
            f"run {record.id} is still driven by {record.orchestrator} (heartbeat "
            f"{age:.0f}s ago); wait for it or `alambic cancel {record.id}`"
        )
    pipeline = _pipeline_from_source(record.source)
    graph = pipeline.graph
    if graph.hash != record.pipeline_hash:
        store.save_pipeline(graph.hash, graph.name, graph.to_json())
        store.update_run(record.id, pipeline_hash=graph.hash)
    store.update_run(record.id, status="pending", cancel_requested=False)
    record = store.get_run(record.id)
    if detach:
        _spawn_detached(record.id, config)
        return Run(record, store, config)
    return _drive(pipeline, record, store, config, on_change)


def drive_detached(run_id: str, *, on_change: Callable[[Orchestrator], None] | None = None) -> Run:
    """Entry point of the background process started by :func:`submit` (and ``launch``).

    A launched run (``launch``: its parameters not yet checked against their types) whose
    code no longer loads, or whose parameters do not fit, is recorded failed with the reason.
    ``on_change`` is called after each of its state changes.
    """
    store, config = _open()
    record = store.get_run(run_id)
    if record.finished or record.cancel_requested:  # cancelled before we even started
        store.update_run_unless_finished(
            record.id, status="cancelled", ended_at=utcnow(), error="cancelled on request"
        )
        return Run(store.get_run(record.id), store, config)
    try:
        pipeline = _pipeline_from_source(record.source)
        if record.options.get("check_params"):
            record = _checked(pipeline, record, store)
    except (PipelineLoadError, ParameterError, DefinitionError) as exc:
        store.update_run_unless_finished(
            record.id, status="failed", started_at=utcnow(), ended_at=utcnow(), error=str(exc)
        )
        return Run(store.get_run(record.id), store, config)
    return _drive(pipeline, record, store, config, on_change)


def _checked(pipeline: Pipeline[Any], record: RunRecord, store: RunStore) -> RunRecord:
    """A launched run's parameters, checked and converted; its graph and code reference,
    as the code is now (a run launched by reference is traced here)."""
    given = record.params
    if record.options.get("texts"):
        given = parse_cli_params(pipeline.specs, [f"{k}={v}" for k, v in given.items()])
    values = validate_params(pipeline.specs, given)
    graph = pipeline.graph
    if graph.hash != record.pipeline_hash:  # traced here, or the file changed since
        store.save_pipeline(graph.hash, graph.name, graph.to_json())
    options = {k: v for k, v in record.options.items() if k not in ("check_params", "texts")}
    store.update_run(
        record.id, params=values, pipeline_hash=graph.hash, pipeline_name=graph.name,
        options=options, source=_source(pipeline),
    )  # fmt: skip
    return store.get_run(record.id)


def cancel(run_id: str, *, wait: float = 0.0) -> Run:
    """Ask a run to stop: running steps are killed, pending ones never start.

    A run whose orchestrator is gone is marked cancelled at once.

    Args:
        run_id: a run id or a unique prefix.
        wait: seconds to wait for the run to stop (then ``resume`` may take it at once).

    Raises:
        RunError: the run has already finished.
    """
    store, config = _open()
    record = store.get_run(run_id)
    if record.finished:
        raise RunError(f"run {record.id} already {record.status}; nothing to cancel")
    store.update_run(record.id, cancel_requested=True)
    record = store.get_run(record.id)  # an orchestrator may have claimed it meanwhile
    if not _driven(record, config):
        now = utcnow()
        for step in store.step_runs(record.id):
            if step.status not in ("succeeded", "cached", "failed", "skipped", "cancelled"):
                store.update_step_run(
                    step.id, status="cancelled", error="cancelled on request", ended_at=now
                )
        store.update_run_unless_finished(
            record.id, status="cancelled", ended_at=now, error="cancelled on request"
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        record = store.get_run(record.id)
        if record.finished:
            break
        time.sleep(0.2)
    return Run(store.get_run(record.id), store, config)
