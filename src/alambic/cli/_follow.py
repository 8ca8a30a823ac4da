"""Waiting on runs and tailing steps from another process: ``runs wait``, ``runs logs -f``.

Both poll the run store, so they work on a run driven by any process (``alambic
submit``, a CI stage, another machine sharing the database).
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from alambic.core import parse_duration
from alambic.errors import AlambicError
from alambic.pipelines import RunRecord, RunStore, StepRunRecord, step_logs
from alambic.store import ArtifactStore

__all__ = ["TIMEOUT_EXIT", "duration_option", "follow_step", "matching_steps"]

TIMEOUT_EXIT = 124  # as timeout(1): the run may still succeed, only the wait gave up
FINISHED = frozenset({"succeeded", "cached", "failed", "skipped", "cancelled"})


def duration_option(name: str, value: str | None) -> float | None:
    """Seconds from ``30s``, ``10m``, ``2h`` (or a number of seconds); None stays None.

    Raises:
        AlambicError: the text is not a duration.
    """
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise AlambicError(f"{name} {value!r}: {exc}") from None


def matching_steps(steps: list[StepRunRecord], step: str) -> list[StepRunRecord]:
    """The step runs called ``step``: by label (``train[1]``) or by node name."""
    return [s for s in steps if step in (s.label, s.node)]


def _copy(path: str | None, offset: int, out: TextIO) -> int:
    """Write what the file holds past ``offset``; return the new offset."""
    if not path or not os.path.exists(path):
        return offset
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    if data:
        out.write(data.decode("utf-8", errors="replace"))
        out.flush()
    return offset + len(data)


def _find(store: RunStore, run: RunRecord, step: str) -> StepRunRecord | None:
    found = matching_steps(store.step_runs(run.id), step)
    if len(found) > 1:
        names = ", ".join(s.label for s in found)
        raise AlambicError(
            f"step {step!r} of run {run.id} has several instances ({names}); name one"
        )
    return found[0] if found else None


def follow_step(
    store: RunStore, artifacts: ArtifactStore, run: RunRecord, step: str, *, out: TextIO
) -> StepRunRecord:
    """Write a step's log as it grows, until the step finishes; return its last state.

    Each attempt writes its own file: a retry starts from the new file's beginning.

    Raises:
        AlambicError: the run ended without such a step, or the name is ambiguous.
    """
    path: str | None = None
    offset, written = 0, False
    while True:
        ended = store.get_run(run.id).finished  # read first: then the step's row is as late
        record = _find(store, run, step)
        if record is None:
            if ended:
                known = ", ".join(s.label for s in store.step_runs(run.id)) or "none"
                raise AlambicError(f"run {run.id} has no step {step!r}; it has: {known}")
            time.sleep(0.2)
            continue
        if record.log_path != path:
            path, offset = record.log_path, 0
        before = offset
        offset = _copy(path, offset, out)
        written |= offset > before
        if record.status in FINISHED or ended:  # a run that ended leaves no step running
            if not written:  # no live file here (another machine, a cache hit)
                text = step_logs(record, artifacts)
                out.write(text if text.endswith("\n") or not text else text + "\n")
                out.flush()
            return record
        time.sleep(0.2)
