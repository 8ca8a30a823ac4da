"""Experiment tracking: runs, params, metrics, tags and artifacts.

Inside a pipeline step, logging goes to the step's own tracked run (whose parent is the
pipeline run); elsewhere, to the active run of ``with al.start_run():`` (one is started
for you on first use). Calls are buffered: ``log_metric`` costs microseconds, and the
buffer is flushed when a run ends, every few seconds, and when the process exits, even
by an exception.

Example:
    >>> import alambic as al
    >>> with al.start_run(name="baseline", experiment="fraud") as run:
    ...     al.log_params({"max_depth": 6})
    ...     for epoch in range(3):
    ...         al.log_metric("loss", 1 / (epoch + 1), step=epoch)
    >>> tracked = al.tracking.get_tracked_run(run.id)
    >>> tracked.params, round(tracked.metrics["loss"], 3), tracked.status
    ({'max_depth': '6'}, 0.333, 'finished')
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alambic.config import settings
from alambic.core import new_id
from alambic.tracking._buffer import STEP_RUN, Buffer, TrackingError, register_for_exit

if TYPE_CHECKING:
    from alambic.tracking._store import TrackedRunRecord, TrackingStore

__all__ = [
    "ActiveRun",
    "active_run_id",
    "end_run",
    "get_tracked_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "step_tracking",
    "tracking_store",
]

_stores: dict[str, TrackingStore] = {}


def tracking_store() -> TrackingStore:
    """The tracking store of the current settings."""
    from alambic.tracking._store import TrackingStore

    url = settings().db_url
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = TrackingStore.open(url)
    return store


_process_buffer = register_for_exit(Buffer(tracking_store))
_buffer: ContextVar[Buffer] = ContextVar("alambic_tracking_buffer", default=_process_buffer)
_stack: ContextVar[tuple[str, ...]] = ContextVar("alambic_tracking_stack", default=())
_experiment: ContextVar[str] = ContextVar("alambic_experiment", default="Default")


@dataclass(frozen=True)
class ActiveRun:
    """A run being tracked; use it as a context manager, or call :func:`end_run`."""

    id: str
    name: str
    experiment: str

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        end_run("failed" if kind is not None else "finished", run_id=self.id)


def set_experiment(name: str) -> None:
    """Make ``name`` the experiment of runs started from now on (created when needed)."""
    if not isinstance(name, str) or not name.strip():
        raise TrackingError("an experiment needs a non-empty name")
    _experiment.set(name)


def active_run_id() -> str | None:
    """The id of the innermost active run, if any."""
    stack = _stack.get()
    return stack[-1] if stack else None


def start_run(
    name: str | None = None,
    *,
    experiment: str | None = None,
    parent: str | None = None,
    tags: dict[str, Any] | None = None,
    kind: str = "manual",
    activate: bool = True,
) -> ActiveRun:
    """Start a tracked run, nested under the active one unless ``parent`` says otherwise.

    With ``activate=False`` the run does not become the active one (for runs that
    overlap, like parallel trials): log to it with ``run_id=`` and end it by id.

    Example:
        >>> import alambic as al
        >>> with al.start_run("trial-1") as run:
        ...     al.log_metric("auc", 0.91)
        >>> al.tracking.get_tracked_run(run.id).metrics
        {'auc': 0.91}
    """
    run_id = new_id("trk")
    parent_id = parent if parent is not None else active_run_id()
    chosen = experiment or _experiment.get()
    _buffer.get().start(
        run_id, experiment=chosen, parent_id=parent_id, kind=kind, name=name or run_id, tags=tags
    )
    if activate:
        _stack.set((*_stack.get(), run_id))
    return ActiveRun(run_id, name or run_id, chosen)


def end_run(status: str = "finished", *, run_id: str | None = None) -> None:
    """End the active run (or ``run_id``) and flush what it logged."""
    if status not in ("finished", "failed", "killed"):
        raise TrackingError(f"status {status!r}: use finished, failed or killed")
    target = run_id or active_run_id()
    if target is None:
        raise TrackingError("no active run to end")
    _stack.set(tuple(r for r in _stack.get() if r != target))
    _buffer.get().end(target, status)


def _target(run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    active = active_run_id()
    if active is not None:
        return active
    return start_run().id  # like a notebook user expects: the first log starts a run


def log_param(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Record one parameter (stored as text)."""
    _buffer.get().params(_target(run_id), {key: value})


def log_params(values: dict[str, Any], *, run_id: str | None = None) -> None:
    """Record several parameters."""
    _buffer.get().params(_target(run_id), values)


def log_metric(
    key: str, value: float, *, step: int | None = None, run_id: str | None = None
) -> None:
    """Record one metric value (at a step, for curves)."""
    _buffer.get().metrics(_target(run_id), {key: value}, step)


def log_metrics(
    values: dict[str, float], *, step: int | None = None, run_id: str | None = None
) -> None:
    """Record several metric values at once."""
    _buffer.get().metrics(_target(run_id), values, step)


def set_tag(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Set one tag."""
    _buffer.get().tags(_target(run_id), {key: value})


def set_tags(values: dict[str, Any], *, run_id: str | None = None) -> None:
    """Set several tags."""
    _buffer.get().tags(_target(run_id), values)


def log_artifact(value: Any, name: str, *, run_id: str | None = None) -> str:
    """Store a value (a DataFrame, an array, a file Path, a plot's bytes…) with the run.

    Returns:
        The artifact's content hash.
    """
    from alambic.store import ArtifactStore, save_value

    ref = save_value(ArtifactStore(settings().artifacts), value, what=f"artifact {name!r}")
    _buffer.get().artifact(_target(run_id), name, ref.to_dict())
    return ref.hash


def get_tracked_run(run_id: str) -> TrackedRunRecord:
    """A tracked run by id (after flushing what this process logged)."""
    _process_buffer.flush()
    return tracking_store().get_run(run_id)


def absorb_tracking(data: dict[str, Any], run_id: str) -> None:
    """Record what a task logged in another process (its exported buffer) under ``run_id``."""
    _buffer.get().absorb(data, run_id)


@atexit.register
def _end_open_runs() -> None:
    """At exit, end the runs still open (one started on the first log call, say)."""
    failed = getattr(sys, "last_value", None) is not None  # an uncaught exception ended us
    for run_id in reversed(_stack.get()):
        if run_id == STEP_RUN:
            continue
        try:
            end_run("failed" if failed else "finished", run_id=run_id)
        except Exception:  # noqa: S110 - at exit there is no one left to tell
            pass


@contextlib.contextmanager
def step_tracking() -> Iterator[Buffer]:
    """Used by workers: inside, logging is collected for the running step's own run."""
    buffer = Buffer(None)
    buffer.start(STEP_RUN, experiment="", parent_id=None, kind="step", name="", tags=None)
    tokens = _buffer.set(buffer), _stack.set((STEP_RUN,))
    try:
        yield buffer
    finally:
        _stack.reset(tokens[1])
        _buffer.reset(tokens[0])
