"""Run output for logs and tools: one line per step event, as text or as JSON lines.

A terminal gets the live view (``_render.live_view``); anything else (a CI job, a file,
a pipe) gets these lines, flushed one by one, so a log killed half-way still holds the
run id and what happened until then. Events are found by comparing the step runs
between two looks: the orchestrator's states while this process drives the run, the
store's rows while ``alambic runs wait`` watches one.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from alambic.pipelines import Orchestrator, Run, StepRunRecord, read_progress

__all__ = ["EventWriter", "RunFeed", "StepEvents", "summary_event"]

FINISHED = frozenset({"succeeded", "cached", "failed", "skipped", "cancelled"})


def _now() -> datetime:
    return datetime.now(UTC)


def last_line(text: str | None) -> str:
    """The last non-blank line of an error (where Python puts the exception)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"


@dataclass
class _Seen:
    status: str
    attempt: int
    progress: str = ""
    # When progress was last written; a new attempt waits a full interval first.
    reported: float = field(default_factory=time.monotonic)


class StepEvents:
    """Derives step events from successive looks at a run's step runs.

    State is kept per step run (its status and attempt), so each change yields one
    event: ``started``, ``retrying``, ``succeeded``, ``cached``, ``failed``, ``skipped``,
    ``cancelled``; and ``progress`` (what a running step reports, as tuning does) at
    most every ``progress_every`` seconds per step.

    Example:
        >>> from datetime import UTC, datetime
        >>> from alambic.pipelines import StepRunRecord
        >>> step = StepRunRecord("s1", "r1", "p", "train", "", "running", datetime.now(UTC),
        ...                      attempt=1, cache={"reason": "miss: first run"})
        >>> [(e["event"], e["detail"]) for e in StepEvents().observe([step])]
        [('started', 'attempt 1; miss: first run')]
    """

    def __init__(self, *, progress_every: float = 10.0) -> None:
        self.progress_every = progress_every
        self.since = _now()
        self._seen: dict[str, _Seen] = {}

    def observe(self, records: Iterable[StepRunRecord]) -> list[dict[str, Any]]:
        """The events since the last look (a step seen for the first time included)."""
        events = []
        for record in records:
            seen = self._seen.get(record.id)
            if seen is not None and (seen.status, seen.attempt) == (record.status, record.attempt):
                continue
            if record.status == "pending" and seen is None:
                self._seen[record.id] = _Seen(record.status, record.attempt)
                continue  # pending is where every step begins: no news
            self._seen[record.id] = _Seen(record.status, record.attempt)
            event = self._event(record)
            if event is not None:
                events.append(event)
        return events

    def _event(self, record: StepRunRecord) -> dict[str, Any] | None:
        status = record.status
        if status == "running":
            reason = record.cache.get("reason", "") if record.attempt == 1 else ""
            detail = "; ".join(filter(None, [f"attempt {record.attempt}", reason]))
            return _step_event(record, "started", detail)
        if status == "retrying":
            return _step_event(
                record, "retrying", f"attempt {record.attempt} failed: {last_line(record.error)}"
            )
        if status == "succeeded":
            earlier = record.ended_at is not None and record.ended_at < self.since
            detail = "kept from before" if earlier else f"in {_seconds(record.duration)}"
            return _step_event(record, "succeeded", detail)
        if status == "cached":
            return _step_event(record, "cached", str(record.cache.get("reason", "")))
        if status in ("failed", "skipped", "cancelled"):
            return _step_event(record, status, last_line(record.error))
        return None

    def progress(self, records: Iterable[StepRunRecord]) -> list[dict[str, Any]]:
        """Progress of running steps that changed, at most every ``progress_every``."""
        events = []
        now = time.monotonic()
        for record in records:
            seen = self._seen.get(record.id)
            if seen is None or record.status != "running" or not record.log_path:
                continue
            if now - seen.reported < self.progress_every:
                continue
            text = read_progress(record.log_path).strip()
            if text and text != seen.progress:
                seen.progress, seen.reported = text, now
                events.append(_step_event(record, "progress", text))
        return events


def _step_event(record: StepRunRecord, event: str, detail: str) -> dict[str, Any]:
    return {
        "time": _now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "run": record.run_id,
        "event": event,
        "step": record.label,
        "status": record.status,
        "attempt": record.attempt,
        "detail": detail,
    }


def run_event(run_id: str, event: str, status: str, detail: str) -> dict[str, Any]:
    """An event of the run itself (``step`` is None)."""
    return {
        "time": _now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "run": run_id,
        "event": event,
        "step": None,
        "status": status,
        "attempt": None,
        "detail": detail,
    }


def summary_event(run: Run) -> dict[str, Any]:
    """The last JSON line of a run: its status, error, failed steps and result."""
    event = run_event(run.id, "summary", run.status, run.error or "")
    event["failed"] = [
        {"step": s.label, "error": last_line(s.error)} for s in run.steps if s.status == "failed"
    ]
    event["result"] = run.result() if run.succeeded else None
    return event


class EventWriter:
    """Writes events to a stream, one flushed line each: text for people, JSON for tools."""

    def __init__(self, *, as_json: bool, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str) if self.as_json else format_event(event)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def format_event(event: dict[str, Any]) -> str:
    """``2026-12-01 16:15:05 square[0] succeeded: in 0.41s``."""
    moment = str(event["time"])[:19].replace("T", " ")
    subject = event["step"] or f"run {event['run']}"
    detail = f": {event['detail']}" if event.get("detail") else ""
    return f"{moment} {subject} {event['event']}{detail}"


def started_event(run_id: str, pipeline: str) -> dict[str, Any]:
    """The first line: the run id, and the commands to resume and inspect the run."""
    event = run_event(
        run_id,
        "started",
        "running",
        f"pipeline {pipeline}; resume it with `alambic resume {run_id}`, "
        f"inspect it with `alambic runs show {run_id}`",
    )
    event["pipeline"] = pipeline
    return event


class RunFeed:
    """The orchestrator's ``on_change`` callback that writes events as they happen.

    A thread looks at the running steps' progress every second, since a long step (a
    tuning) changes no state for minutes.
    """

    def __init__(self, write: Callable[[dict[str, Any]], None], *, progress_every: float) -> None:
        self.write = write
        self.events = StepEvents(progress_every=progress_every)
        self.orchestrator: Orchestrator | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="alambic-run-feed", daemon=True)

    def __call__(self, orchestrator: Orchestrator) -> None:
        with self.lock:
            if self.orchestrator is None:
                self.orchestrator = orchestrator
                self.write(started_event(orchestrator.run.id, orchestrator.graph.name))
                self.ticker.start()
            # Called on the orchestrator's thread after each change: its states, unsorted
            # (a snapshot sorts them, too slow to do per change on a wide map).
            for event in self.events.observe([s.record for s in orchestrator.states.values()]):
                self.write(event)

    def _tick(self) -> None:
        while not self.stop.wait(min(1.0, self.events.progress_every / 2)):
            with self.lock:
                if self.orchestrator is None:
                    continue
                records = [s.record for s in list(self.orchestrator.states.values())]
                for event in self.events.progress(records):
                    self.write(event)

    def close(self) -> None:
        """Stop the progress thread."""
        self.stop.set()
        if self.ticker.is_alive():
            self.ticker.join()
