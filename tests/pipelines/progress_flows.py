"""Steps that look at their own context and report progress (workers import this file)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import alambic as al
from alambic.pipelines import current_step, report_progress


@al.step
def whoami() -> dict[str, Any]:
    step = current_step()
    assert step is not None
    return {"label": step.label, "step_run": step.step_run}


@al.step
def reporting(gate: str) -> int:
    for i in range(3):
        report_progress(f"chunk {i + 1}/3")
    while not Path(gate).exists():
        time.sleep(0.05)
    return 3


@al.pipeline
def context() -> dict[str, Any]:
    return whoami()


@al.pipeline
def progress(gate: str) -> int:
    return reporting(gate)
