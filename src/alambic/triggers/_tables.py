"""The control plane's tables: schedules, their fires, and the leases of its loops.

Only :mod:`alambic.triggers._store` reads or writes them. A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = ["FireRow", "LeaseRow", "ScheduleRow"]


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
