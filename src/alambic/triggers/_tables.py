"""The control plane's tables: schedules and their fires, triggers and their events,
alerts and where they go, and the leases of its loops.

Only :mod:`alambic.triggers._store` reads or writes them. A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = [
    "AlertRow",
    "AlertTargetRow",
    "FireRow",
    "LeaseRow",
    "ScheduleRow",
    "TriggerEventRow",
    "TriggerRow",
]


class ScheduleRow(Base):
    """A schedule: what it starts, when, and ``next_fire_at``, the first fire not yet made.

    ``next_fire_at`` is the scheduler's cursor: a fire and the cursor's move past it are
    written in one transaction, so a fire is made once whatever crashes when.
    """

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    target: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"kind": "pipeline", "ref": …}
    cron: Mapped[str | None] = mapped_column(String(200))
    every_seconds: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    catchup: Mapped[str] = mapped_column(String(10))  # skip, once, all
    concurrency: Mapped[str] = mapped_column(String(10))  # skip, queue, allow
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_fire_at: Mapped[datetime | None] = mapped_column()
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))


class FireRow(Base):
    """One fire of a schedule: its due time, what became of it, and the run it started.

    ``(schedule, fire_time)`` is unique: two servers planning the same fire make one row.
    The run's id is chosen when the fire is planned, so starting it again is idempotent.
    """

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("schedule", "fire_time"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100), index=True)
    fire_time: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(
        String(20), index=True
    )  # due, queued, started, skipped, failed
    run_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    planned_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    server: Mapped[str] = mapped_column(String(200))


class LeaseRow(Base):
    """Who runs a loop of the control plane (``scheduler``) until when."""

    __tablename__ = "control_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class TriggerRow(Base):
    """A trigger: the event it waits for (``config``), what it starts, and its cursor.

    ``state`` is where its source left off (the tags seen, the last registry event, the
    data's fingerprint, whether a monitor's alert episode is open) and when to poll next.
    """

    __tablename__ = "triggers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # git_tag, monitor, registry, data
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    target: Mapped[dict[str, Any]] = mapped_column(JSON)
    cooldown_seconds: Mapped[float] = mapped_column(Float)
    daily_cap: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))


class TriggerEventRow(Base):
    """One event a trigger received, what became of it, and the run it started.

    ``(trigger, key)`` is unique: a delivery seen twice (the same tag, the same registry
    event, the same alert episode) is one event, and starts one run.
    """

    __tablename__ = "trigger_events"
    __table_args__ = (UniqueConstraint("trigger", "key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(100), index=True)
    key: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(20), index=True
    )  # due, started, skipped, capped, failed
    run_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column()


class AlertTargetRow(Base):
    """Where alerts go: a JSON webhook (HMAC-signed) or a Slack-compatible incoming webhook."""

    __tablename__ = "alert_targets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # webhook, slack
    url: Mapped[str] = mapped_column(Text)
    secret_env: Mapped[str | None] = mapped_column(String(200))
    types: Mapped[list[str]] = mapped_column(JSON)  # the alert types it takes ([]: all)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))


class AlertRow(Base):
    """One alert, and every attempt to deliver it to the targets that take it.

    ``key`` is unique: the same failure seen twice (a run's failure, a fire that could not
    start) is one alert.
    """

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[list[Any]] = mapped_column(JSON, default=list)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
