"""Monitoring's tables: monitors (stored, audited configurations) and their runs.

Only :mod:`alambic.monitoring._store` reads or writes them. A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = ["MonitorRow", "MonitorRunRow"]


class MonitorRow(Base):
    """A monitor's configuration; ``revision`` grows with each change."""

    __tablename__ = "monitors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))


class MonitorRunRow(Base):
    """One run of a monitor: its window, status, results and report (an artifact key).

    A run is ``running`` until its results and report are stored, in one transaction.
    """

    __tablename__ = "monitor_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    monitor: Mapped[str] = mapped_column(String(100), index=True)
    revision: Mapped[int] = mapped_column(Integer)  # of the configuration it ran
    status: Mapped[str] = mapped_column(String(20))  # running, ok, warn, alert, no_data, failed
    window_since: Mapped[datetime | None] = mapped_column()
    window_until: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    started_by: Mapped[str] = mapped_column(String(200))
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[str | None] = mapped_column(String(128))  # the HTML report's artifact key
    error: Mapped[str] = mapped_column(Text, default="")
