"""Buffered tracking writes: a log call costs a dictionary update, a flush one transaction.

A buffer either writes to the tracking store (a plain Python process) or *collects*
(inside a pipeline step, where the worker may have no database at all: what the step
logged travels back with its result, and the orchestrator writes it).
"""

from __future__ import annotations

import atexit
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alambic.core import utcnow
from alambic.errors import TrackingError
from alambic.tracking._change import RunChange

if TYPE_CHECKING:
    from alambic.tracking._store import TrackingStore

__all__ = ["Buffer", "TrackingError"]

_MAX_POINTS = 5_000
_MAX_AGE = 2.0


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key or len(key) > 250:
        raise TrackingError(f"{what} key {key!r} must be a non-empty string of at most 250 chars")
    return key


class Buffer:
    """Pending run changes and metric points, flushed in batches.

    Args:
        store: where flushes go; None makes a collecting buffer (see :meth:`export`).
    """

    def __init__(self, store: Callable[[], TrackingStore] | None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._changes: dict[str, RunChange] = {}
        self._points: list[dict[str, Any]] = []
        self._flushed = time.monotonic()

    def change(self, run_id: str) -> RunChange:
        change = self._changes.get(run_id)
        if change is None:
            change = self._changes[run_id] = RunChange(id=run_id)
        return change

    def start(
        self,
        run_id: str,
        *,
        experiment: str,
        parent_id: str | None,
        kind: str,
        name: str,
        tags: dict[str, Any] | None,
    ) -> None:
        with self._lock:
            change = self.change(run_id)
            change.experiment, change.parent_id, change.kind = experiment, parent_id, kind
            change.name, change.status, change.created_at = name, "running", utcnow()
            change.tags.update({k: str(v) for k, v in (tags or {}).items()})

    def end(self, run_id: str, status: str) -> None:
        with self._lock:
            change = self.change(run_id)
            change.status, change.ended_at = status, utcnow()
        self.flush()

    def params(self, run_id: str, values: dict[str, Any]) -> None:
        with self._lock:
            change = self.change(run_id)
            for key, value in values.items():
                change.params[_check_key(key, "param")] = str(value)

    def tags(self, run_id: str, values: dict[str, Any]) -> None:
        with self._lock:
            change = self.change(run_id)
            for key, value in values.items():
                change.tags[_check_key(key, "tag")] = str(value)

    def artifact(self, run_id: str, name: str, ref: dict[str, Any]) -> None:
        with self._lock:
            self.change(run_id).artifacts[_check_key(name, "artifact")] = ref

    def metrics(self, run_id: str, values: dict[str, Any], step: int | None) -> None:
        now = time.time()
        with self._lock:
            change = self.change(run_id)
            for key, raw in values.items():
                _check_key(key, "metric")
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    raise TrackingError(f"metric {key!r} must be a number, got {raw!r}") from None
                index = int(step) if step is not None else 0
                self._points.append(
                    {"run_id": run_id, "key": key, "value": value, "step": index, "timestamp": now}
                )
                latest = change.metrics.get(key)
                if latest is None or index >= latest[1]:
                    change.metrics[key] = [value if math.isfinite(value) else None, index]
            age = time.monotonic() - self._flushed
            due = len(self._points) >= _MAX_POINTS or age > _MAX_AGE
        if due and self._store is not None:
            self.flush()

    def flush(self) -> None:
        """Write everything pending (no-op for a collecting buffer)."""
        if self._store is None:
            return
        with self._lock:
            changes, points = list(self._changes.values()), self._points
            self._changes, self._points = {}, []
            self._flushed = time.monotonic()
        if changes or points:
            self._store().write([_latest_values(c) for c in changes], points)

    def absorb(self, data: dict[str, Any], run_id: str) -> None:
        """Take in what another process collected (see :meth:`export`) for run ``run_id``."""
        with self._lock:
            for raw in data.get("runs", []):
                target = run_id if raw["id"] == STEP_RUN else raw["id"]
                change = self.change(target)
                if target != run_id:  # a run the task started itself, nested under ours
                    change.experiment = self.change(run_id).experiment
                    change.kind, change.name = raw.get("kind") or "manual", raw.get("name") or ""
                    change.status = raw.get("status") or change.status
                    parent = raw.get("parent_id")
                    change.parent_id = run_id if parent == STEP_RUN else parent
                    for key in ("created_at", "ended_at"):
                        if raw.get(key):
                            setattr(change, key, datetime.fromisoformat(raw[key]))
                change.params.update(raw.get("params") or {})
                change.tags.update(raw.get("tags") or {})
                change.artifacts.update(raw.get("artifacts") or {})
                for key, value in (raw.get("metrics") or {}).items():
                    change.metrics[key] = [value, 0]
            for point in data.get("points", []):
                run = run_id if point["run_id"] == STEP_RUN else point["run_id"]
                self._points.append({**point, "run_id": run})

    def export(self) -> dict[str, Any]:
        """Everything collected, as JSON-able data (then cleared)."""
        with self._lock:
            data = {"runs": [_jsonable(c) for c in self._changes.values()], "points": self._points}
            self._changes, self._points = {}, []
        return data


def _latest_values(change: RunChange) -> RunChange:
    # The run row keeps each metric's latest value only (for searching).
    change.metrics = {k: v[0] for k, v in change.metrics.items()}
    return change


def _jsonable(change: RunChange) -> dict[str, Any]:
    data = asdict(_latest_values(change))
    for key in ("created_at", "ended_at"):
        if isinstance(data[key], datetime):
            data[key] = data[key].isoformat()
    return data


def changes_from_export(
    data: dict[str, Any], *, step_run: str, parent: str, experiment: str
) -> tuple[list[RunChange], list[dict[str, Any]]]:
    """Turn what a step collected into writes: its own run gets the step run's id."""
    changes = []
    for raw in data.get("runs", []):
        values = dict(raw)
        for key in ("created_at", "ended_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        change = RunChange(**values)
        if change.id == STEP_RUN:
            change.id, change.parent_id, change.kind = step_run, parent, "step"
            change.experiment = experiment
        elif change.parent_id == STEP_RUN:
            change.parent_id = step_run
            change.experiment = experiment
        changes.append(change)
    points = [
        {**p, "run_id": step_run if p["run_id"] == STEP_RUN else p["run_id"]}
        for p in data.get("points", [])
    ]
    return changes, points


STEP_RUN = "__step__"  # the placeholder id of the running step's own tracked run

_process_buffers: list[Buffer] = []


def register_for_exit(buffer: Buffer) -> Buffer:
    """Flush this buffer when the process exits (normally or by an exception)."""
    _process_buffers.append(buffer)
    return buffer


@atexit.register
def _flush_all() -> None:
    for buffer in _process_buffers:
        try:
            buffer.flush()
        except Exception:  # noqa: S110 - at exit there is no one left to tell
            pass
