"""A pipeline that runs a monitor and acts on its status (workers import this file)."""

from __future__ import annotations

from typing import Any

import alambic as al


@al.step
def react(found: dict[str, Any]) -> str:
    return f"retrain: {found['status']}"


@al.pipeline
def watched(name: str = "cars-health") -> Any:
    found = al.monitoring.monitor_step(name)
    with al.when(found["status"] == "alert"):
        action = react(found)
    return action
