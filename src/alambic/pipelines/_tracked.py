"""Every pipeline run, and every step it executes, as a tracked run.

The pipeline run is a tracked run in the experiment named after the pipeline; each
executed step is a child run holding its literal arguments as parameters and whatever
the step logged (``al.log_metric`` inside a step). Writes are kept until the
orchestrator flushes, so that one transaction covers many steps.

Example:
    >>> StepTracker.status_of("succeeded"), StepTracker.status_of("cancelled")
    ('finished', 'killed')
"""

from __future__ import annotations

from typing import Any

from alambic.core import canonical_json, utcnow
from alambic.executors import TaskResult
from alambic.pipelines._store import RunRecord
from alambic.tracking import RunChange, TrackingStore, changes_from_export

__all__ = ["StepTracker", "text"]


def text(value: Any) -> str:
    """A parameter as tracked: strings as they are, anything else as canonical JSON."""
    return value if isinstance(value, str) else canonical_json(value)


class StepTracker:
    """Collects the tracked-run writes of one pipeline run until :meth:`flush`.

    Args:
        store: the tracking store, on the run store's engine.
        run: the pipeline run; experiment: its experiment (the pipeline's name).
    """

    def __init__(self, store: TrackingStore, run: RunRecord, experiment: str) -> None:
        self.store, self.run, self.experiment = store, run, experiment
        self._changes: list[RunChange] = []
        self._points: list[dict[str, Any]] = []

    @staticmethod
    def status_of(run_status: str) -> str:
        """The tracked status of a pipeline run that ended with ``run_status``."""
        return {"succeeded": "finished", "failed": "failed"}.get(run_status, "killed")

    def started(self) -> None:
        """The pipeline run started: its tracked run, with its parameters."""
        self._changes.append(
            RunChange(
                id=self.run.id,
                experiment=self.experiment,
                kind="pipeline",
                name=self.experiment,
                status="running",
                created_at=utcnow(),
                params={k: text(v) for k, v in self.run.params.items()},
            )
        )

    def step(
        self, *, step_run: str, label: str, attempt: int, inputs: dict[str, Any], result: TaskResult
    ) -> None:
        """One step attempt finished: its tracked run, and what it logged."""
        changes, points = changes_from_export(
            result.tracking, step_run=step_run, parent=self.run.id, experiment=self.experiment
        )
        own = next((c for c in changes if c.id == step_run), None)
        if own is None:
            own = RunChange(
                id=step_run,
                experiment=self.experiment,
                parent_id=self.run.id,
                kind="step",
                created_at=utcnow(),
            )
            changes.insert(0, own)
        literal = {a: text(d["value"]) for a, d in inputs.items() if "value" in d}
        own.name, own.ended_at = label, utcnow()
        own.status = "finished" if result.ok else "failed"
        own.params = {**literal, **own.params}
        own.tags = {"alambic.attempt": str(attempt), **own.tags}
        self._changes.extend(changes)
        self._points.extend(points)

    def ended(self, run_status: str) -> None:
        """The pipeline run ended with ``run_status``."""
        self._changes.append(
            RunChange(id=self.run.id, status=self.status_of(run_status), ended_at=utcnow())
        )

    def flush(self) -> None:
        """Write what was collected, in one transaction."""
        if self._changes or self._points:
            self.store.write(self._changes, self._points)
            self._changes, self._points = [], []
