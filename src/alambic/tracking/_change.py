"""What a tracking writer learned about one run (no database imports: workers use it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["RunChange"]


@dataclass
class RunChange:
    """What a writer learned about one run since its last flush (merged into the row)."""

    id: str
    experiment: str = "Default"
    parent_id: str | None = None
    kind: str = "manual"
    name: str = ""
    status: str | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
