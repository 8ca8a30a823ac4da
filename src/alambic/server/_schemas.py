"""The shapes of the control plane's requests and answers (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "Fire",
    "MonitorRun",
    "PromoteRequest",
    "ReviewRequest",
    "Run",
    "RunRequest",
    "Schedule",
    "ScheduleRequest",
    "Step",
    "Trigger",
    "TriggerDetail",
    "TriggerEvent",
    "TriggerRequest",
]


class RunRequest(BaseModel):
    """A run to start: a pipeline of the server's project, with parameters."""

    pipeline: str = Field(description="path/to/file.py:NAME, relative to the server's project")
    params: dict[str, Any] = Field(default_factory=dict)
    texts: bool = Field(False, description="params are command-line texts, read as each type")
    cache: bool = True
    executor: str | None = None


class Run(BaseModel):
    id: str
    pipeline: str
    status: str
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    cancel_requested: bool = False


class Step(BaseModel):
    name: str
    status: str
    attempt: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None
    error: str | None = None
    cache: dict[str, Any] = Field(default_factory=dict)


class RunDetail(Run):
    steps: list[Step]


class ScheduleRequest(BaseModel):
    """A schedule to make; the same fields as ``alambic schedules create``."""

    name: str
    pipeline: str | None = Field(None, description="path/to/file.py:NAME in the server's project")
    monitor: str | None = None
    cron: str | None = None
    every: str | None = Field(None, description="an interval instead of cron: 30m, 6h")
    timezone: str = "UTC"
    params: dict[str, Any] = Field(default_factory=dict)
    texts: bool = False
    catchup: str = "once"
    concurrency: str = "skip"
    paused: bool = False


class Fire(BaseModel):
    fire_time: datetime
    status: str
    run_id: str | None
    reason: str
    planned_at: datetime
    started_at: datetime | None


class Schedule(BaseModel):
    name: str
    target: dict[str, Any]
    timing: str
    cron: str | None
    every_seconds: float | None
    timezone: str
    catchup: str
    concurrency: str
    paused: bool
    next_fires: list[datetime]
    revision: int
    updated_at: datetime
    updated_by: str


class ScheduleDetail(Schedule):
    fires: list[Fire]


class TriggerRequest(BaseModel):
    """A trigger to make; the same fields as ``alambic triggers create``."""

    name: str
    on: str = Field(description="git_tag, monitor, registry or data")
    run: str = Field(description="path/to/file.py:NAME (for git tags: in the repository)")
    params: dict[str, Any] = Field(default_factory=dict)
    texts: bool = False
    repo: str | None = None
    tags: str = "*"
    secret_env: str | None = None
    poll: str | None = None
    monitor: str | None = None
    levels: list[str] = Field(default_factory=lambda: ["alert"])
    events: list[str] | None = None
    groups: str = "*"
    sources: dict[str, str] | None = None
    url: str | None = None
    snapshot: str | None = None
    every: str | None = None
    cooldown: str | None = None
    daily_cap: int = 24
    paused: bool = False


class TriggerEvent(BaseModel):
    key: str
    received_at: datetime
    payload: dict[str, Any]
    status: str
    run_id: str | None
    reason: str
    started_at: datetime | None


class Trigger(BaseModel):
    name: str
    kind: str
    config: dict[str, Any]
    target: dict[str, Any]
    cooldown_seconds: float
    daily_cap: int
    paused: bool
    revision: int
    updated_at: datetime
    updated_by: str


class TriggerDetail(Trigger):
    events: list[TriggerEvent]


class ReviewRequest(BaseModel):
    comment: str = ""


class PromoteRequest(BaseModel):
    version: int
    comment: str = ""
    new_alias: bool = False


class MonitorRun(BaseModel):
    id: str
    monitor: str
    status: str
    window_since: datetime | None
    window_until: datetime | None
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    error: str
