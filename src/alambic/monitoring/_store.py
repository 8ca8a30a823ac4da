"""Monitoring's repository: monitors (audited like endpoints) and the runs they made.

Example:
    >>> from alambic.monitoring._store import monitoring_store
    >>> monitoring_store().list_monitors()
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alambic.core import new_id, utcnow
from alambic.errors import NotFoundError, StoreError
from alambic.monitoring._tables import MonitorRow, MonitorRunRow
from alambic.store import AuditRecord, Repository, append_audit, read_audit, to_record

__all__ = ["MonitorRecord", "MonitorRunRecord", "MonitoringStore", "monitoring_store"]

MONITOR = "monitor"  # the subject kind in the audit log


@dataclass(frozen=True)
class MonitorRecord:
    name: str
    config: dict[str, Any]
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class MonitorRunRecord:
    id: str
    monitor: str
    revision: int
    status: str
    window_since: datetime | None
    window_until: datetime | None
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    results: dict[str, Any]
    report: str | None
    error: str


def _missing(name: str) -> NotFoundError:
    return NotFoundError(f"no monitor {name!r}; see `alambic monitors list`")


class MonitoringStore(Repository):
    """Monitors and their runs on any SQLAlchemy URL."""

    def create_monitor(self, name: str, config: dict[str, Any], *, actor: str) -> MonitorRecord:
        now = utcnow()
        try:
            with self.writing() as session:
                row = MonitorRow(
                    name=name, config=config, revision=1, created_at=now, created_by=actor,
                    updated_at=now, updated_by=actor,
                )  # fmt: skip
                session.add(row)
                session.flush()
                append_audit(
                    session, actor=actor, action="create-monitor", kind=MONITOR, subject=name,
                    after=config,
                )  # fmt: skip
                return to_record(MonitorRecord, row)
        except IntegrityError:
            raise StoreError(
                f"monitor {name!r} already exists; change it with `alambic monitors update "
                f"{name}` or delete it first"
            ) from None

    def update_monitor(self, name: str, config: dict[str, Any], *, actor: str) -> MonitorRecord:
        with self.writing() as session:
            row = session.get(MonitorRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            before = dict(row.config)
            row.config, row.revision = config, row.revision + 1
            row.updated_at, row.updated_by = utcnow(), actor
            append_audit(
                session, actor=actor, action="update-monitor", kind=MONITOR, subject=name,
                before=before, after=config,
            )  # fmt: skip
            session.flush()
            return to_record(MonitorRecord, row)

    def delete_monitor(self, name: str, *, actor: str) -> None:
        with self.writing() as session:
            row = session.get(MonitorRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            append_audit(
                session, actor=actor, action="delete-monitor", kind=MONITOR, subject=name,
                before=row.config,
            )  # fmt: skip
            session.delete(row)

    def get_monitor(self, name: str) -> MonitorRecord:
        return self.by_key(MonitorRecord, MonitorRow, name, missing=str(_missing(name)))

    def list_monitors(self) -> list[MonitorRecord]:
        with self.reading() as session:
            rows = session.scalars(select(MonitorRow).order_by(MonitorRow.name))
            return [to_record(MonitorRecord, r) for r in rows]

    def audit(self, name: str) -> list[AuditRecord]:
        """The monitor's audit rows, oldest first."""
        with self.reading() as session:
            return read_audit(session, MONITOR, name)

    # -- runs ------------------------------------------------------------------------
    def start_run(
        self, monitor: MonitorRecord, *, since: datetime | None, until: datetime | None, actor: str
    ) -> MonitorRunRecord:
        with self.writing() as session:
            row = MonitorRunRow(
                id=new_id("mon"), monitor=monitor.name, revision=monitor.revision,
                status="running", window_since=since, window_until=until, started_at=utcnow(),
                finished_at=None, started_by=actor, results={}, report=None, error="",
            )  # fmt: skip
            session.add(row)
            session.flush()
            return to_record(MonitorRunRecord, row)

    def finish_run(
        self, run_id: str, *, status: str, results: dict[str, Any], report: str | None,
        error: str = "",
    ) -> MonitorRunRecord:  # fmt: skip
        """Store a run's outcome: results and report land together, or not at all."""
        with self.writing() as session:
            row = session.get(MonitorRunRow, run_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no monitor run {run_id!r}")
            row.status, row.results, row.report, row.error = status, results, report, error
            row.finished_at = utcnow()
            session.flush()
            return to_record(MonitorRunRecord, row)

    def get_run(self, run_id: str) -> MonitorRunRecord:
        missing = f"no monitor run {run_id!r}; see `alambic monitors history NAME`"
        return self.by_key(MonitorRunRecord, MonitorRunRow, run_id, missing=missing)

    def runs(self, monitor: str, *, limit: int = 50) -> list[MonitorRunRecord]:
        """The monitor's runs, newest first (a run killed halfway stays ``running``)."""
        with self.reading() as session:
            rows = session.scalars(
                select(MonitorRunRow)
                .where(MonitorRunRow.monitor == monitor)
                .order_by(MonitorRunRow.started_at.desc(), MonitorRunRow.id.desc())
                .limit(limit)
            )
            return [to_record(MonitorRunRecord, r) for r in rows]


def monitoring_store() -> MonitoringStore:
    """Monitors of the current settings (engines are cached per URL)."""
    from alambic.config import settings

    return MonitoringStore.open(settings().db_url)
