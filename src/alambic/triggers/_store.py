"""The control plane's repository: schedules (audited), their fires, and loop leases.

Example:
    >>> from alambic.triggers._store import triggers_store
    >>> triggers_store().list_schedules()
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alambic.config import settings
from alambic.core import utcnow
from alambic.errors import NotFoundError, TriggerError
from alambic.store import AuditRecord, Repository, append_audit, read_audit, to_record
from alambic.triggers._alerts import AlertRows
from alambic.triggers._tables import FireRow, LeaseRow, ScheduleRow, TriggerEventRow, TriggerRow

__all__ = [
    "EventRecord",
    "FireRecord",
    "ScheduleRecord",
    "TriggerRecord",
    "TriggersStore",
    "triggers_store",
]

SCHEDULE, TRIGGER = "schedule", "trigger"  # the subject kinds in the audit log
ACTIVE_FIRES = ("due", "queued")


@dataclass(frozen=True)
class ScheduleRecord:
    name: str
    target: dict[str, Any]
    cron: str | None
    every_seconds: float | None
    timezone: str
    catchup: str
    concurrency: str
    paused: bool
    next_fire_at: datetime | None
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class FireRecord:
    id: str
    schedule: str
    fire_time: datetime
    status: str
    run_id: str | None
    reason: str
    planned_at: datetime
    started_at: datetime | None
    server: str


@dataclass(frozen=True)
class TriggerRecord:
    name: str
    kind: str
    config: dict[str, Any]
    target: dict[str, Any]
    cooldown_seconds: float
    daily_cap: int
    paused: bool
    state: dict[str, Any]
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class EventRecord:
    id: str
    trigger: str
    key: str
    received_at: datetime
    payload: dict[str, Any]
    status: str
    run_id: str | None
    reason: str
    started_at: datetime | None


def _trigger_config(row: TriggerRow) -> dict[str, Any]:
    keys = ("kind", "config", "target", "cooldown_seconds", "daily_cap", "paused")
    return {k: getattr(row, k) for k in keys}


def _revise(
    session: Session,
    row: Any,
    kind: str,
    config: Any,
    *,
    actor: str,
    action: str,
    values: dict[str, Any],
) -> None:
    """Set ``values`` on a locked schedule or trigger row: a new revision, audited."""
    before = config(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.revision += 1
    row.updated_at, row.updated_by = utcnow(), actor
    append_audit(
        session, actor=actor, action=action, kind=kind, subject=row.name,
        before=before, after=config(row),
    )  # fmt: skip


def _missing(name: str) -> NotFoundError:
    return NotFoundError(f"no schedule {name!r}; see `alambic schedules list`")


def _config(row: ScheduleRow) -> dict[str, Any]:
    return {
        "target": row.target,
        "cron": row.cron,
        "every_seconds": row.every_seconds,
        "timezone": row.timezone,
        "catchup": row.catchup,
        "concurrency": row.concurrency,
        "paused": row.paused,
    }


class _TriggerRows(Repository):
    """Triggers (audited) and the events they received."""

    def create_trigger(self, record: TriggerRecord) -> TriggerRecord:
        try:
            with self.writing() as session:
                row = TriggerRow(**record.__dict__)
                session.add(row)
                session.flush()
                append_audit(
                    session, actor=record.created_by, action="create-trigger", kind=TRIGGER,
                    subject=record.name, after=_trigger_config(row),
                )  # fmt: skip
                return to_record(TriggerRecord, row)
        except IntegrityError:
            raise TriggerError(
                f"trigger {record.name!r} already exists; delete it first "
                f"(`alambic triggers delete {record.name}`) or choose another name"
            ) from None

    def get_trigger(self, name: str) -> TriggerRecord:
        missing = f"no trigger {name!r}; see `alambic triggers list`"
        return self.by_key(TriggerRecord, TriggerRow, name, missing=missing)

    def list_triggers(self, kind: str | None = None) -> list[TriggerRecord]:
        query = select(TriggerRow).order_by(TriggerRow.name)
        if kind is not None:
            query = query.where(TriggerRow.kind == kind)
        with self.reading() as session:
            return [to_record(TriggerRecord, row) for row in session.scalars(query)]

    def change_trigger(
        self, name: str, *, actor: str, action: str, values: dict[str, Any]
    ) -> TriggerRecord:
        def work(session: Session) -> TriggerRecord:
            row = session.get(TriggerRow, name, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no trigger {name!r}; see `alambic triggers list`")
            _revise(
                session, row, TRIGGER, _trigger_config, actor=actor, action=action, values=values
            )
            return to_record(TriggerRecord, row)

        return self.transaction(work)

    def delete_trigger(self, name: str, *, actor: str) -> None:
        def work(session: Session) -> None:
            row = session.get(TriggerRow, name, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no trigger {name!r}; see `alambic triggers list`")
            append_audit(
                session, actor=actor, action="delete-trigger", kind=TRIGGER, subject=name,
                before=_trigger_config(row),
            )  # fmt: skip
            session.execute(
                delete(TriggerEventRow).where(
                    TriggerEventRow.trigger == name, TriggerEventRow.status == "due"
                )
            )
            session.delete(row)

        self.transaction(work)

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        """Where a trigger's source left off (not audited: the loop's own bookkeeping)."""
        self.update_where(TriggerRow, TriggerRow.name == name, {"state": state})

    def record_events(self, events: list[EventRecord]) -> list[EventRecord]:
        """Insert events; one whose ``(trigger, key)`` was seen already is left out.

        Returns the events inserted now (the others were replays).
        """
        if not events:
            return []

        def work(session: Session) -> list[EventRecord]:
            keys = {(e.trigger, e.key) for e in events}
            seen = {
                (row.trigger, row.key)
                for row in session.execute(
                    select(TriggerEventRow.trigger, TriggerEventRow.key).where(
                        TriggerEventRow.trigger.in_({t for t, _ in keys}),
                        TriggerEventRow.key.in_({k for _, k in keys}),
                    )
                )
            }
            fresh = [e for e in events if (e.trigger, e.key) not in seen]
            self.insert_ignore(session, TriggerEventRow, [e.__dict__ for e in fresh])
            return fresh

        return self.transaction(work, conflicts=True)

    def waiting_events(self, *, limit: int = 1000) -> list[EventRecord]:
        query = (
            select(TriggerEventRow)
            .where(TriggerEventRow.status == "due")
            .order_by(TriggerEventRow.received_at, TriggerEventRow.id)
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(EventRecord, row) for row in session.scalars(query)]

    def started_since(self, trigger: str, since: datetime) -> list[EventRecord]:
        """A trigger's events that started a run since ``since``, oldest first."""
        query = (
            select(TriggerEventRow)
            .where(
                TriggerEventRow.trigger == trigger,
                TriggerEventRow.status == "started",
                TriggerEventRow.started_at >= since,
            )
            .order_by(TriggerEventRow.started_at)
        )
        with self.reading() as session:
            return [to_record(EventRecord, row) for row in session.scalars(query)]

    def settle_events(self, outcomes: list[tuple[str, str, str]]) -> None:
        """Set each event's ``(id, status, reason)``; one that started no run loses its id."""
        if not outcomes:
            return
        now = utcnow()

        def work(session: Session) -> None:
            for event_id, status, reason in outcomes:
                values: dict[str, Any] = {"status": status, "reason": reason}
                if status == "started":
                    values["started_at"] = now
                else:
                    values["run_id"] = None
                session.execute(
                    update(TriggerEventRow)
                    .where(TriggerEventRow.id == event_id, TriggerEventRow.status == "due")
                    .values(**values)
                )

        self.transaction(work)

    def trigger_events(self, trigger: str, *, limit: int = 50) -> list[EventRecord]:
        """A trigger's latest events, newest first."""
        query = (
            select(TriggerEventRow)
            .where(TriggerEventRow.trigger == trigger)
            .order_by(TriggerEventRow.received_at.desc(), TriggerEventRow.id.desc())
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(EventRecord, row) for row in session.scalars(query)]

    def trigger_audit(self, name: str) -> list[AuditRecord]:
        with self.reading() as session:
            return read_audit(session, TRIGGER, name)


class TriggersStore(_TriggerRows, AlertRows):
    """Schedules and their fires, triggers and their events, and leases, on any
    SQLAlchemy URL."""

    # -- schedules -----------------------------------------------------------------------
    def create_schedule(self, record: ScheduleRecord) -> ScheduleRecord:
        try:
            with self.writing() as session:
                row = ScheduleRow(**record.__dict__)
                session.add(row)
                session.flush()
                append_audit(
                    session, actor=record.created_by, action="create-schedule",
                    kind=SCHEDULE, subject=record.name, after=_config(row),
                )  # fmt: skip
                return to_record(ScheduleRecord, row)
        except IntegrityError:
            raise TriggerError(
                f"schedule {record.name!r} already exists; delete it first "
                f"(`alambic schedules delete {record.name}`) or choose another name"
            ) from None

    def get_schedule(self, name: str) -> ScheduleRecord:
        return self.by_key(ScheduleRecord, ScheduleRow, name, missing=str(_missing(name)))

    def list_schedules(self) -> list[ScheduleRecord]:
        with self.reading() as session:
            rows = session.scalars(select(ScheduleRow).order_by(ScheduleRow.name))
            return [to_record(ScheduleRecord, row) for row in rows]

    def change_schedule(
        self, name: str, *, actor: str, action: str, values: dict[str, Any]
    ) -> ScheduleRecord:
        """Set ``values`` on a schedule (a new revision), audited as ``action``."""

        def work(session: Session) -> ScheduleRecord:
            row = session.get(ScheduleRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            _revise(session, row, SCHEDULE, _config, actor=actor, action=action, values=values)
            return to_record(ScheduleRecord, row)

        return self.transaction(work)

    def delete_schedule(self, name: str, *, actor: str) -> None:
        """Delete a schedule and its fires not yet started (its history stays audited)."""

        def work(session: Session) -> None:
            row = session.get(ScheduleRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            append_audit(
                session, actor=actor, action="delete-schedule", kind=SCHEDULE, subject=name,
                before=_config(row),
            )  # fmt: skip
            session.execute(
                delete(FireRow).where(FireRow.schedule == name, FireRow.status.in_(ACTIVE_FIRES))
            )
            session.delete(row)

        self.transaction(work)

    def audit(self, name: str) -> list[AuditRecord]:
        with self.reading() as session:
            return read_audit(session, SCHEDULE, name)

    # -- fires ---------------------------------------------------------------------------
    def due_schedules(self, now: datetime, *, limit: int = 1000) -> list[ScheduleRecord]:
        """Active schedules whose next fire is due at ``now``, the most overdue first."""
        query = (
            select(ScheduleRow)
            .where(ScheduleRow.paused.is_(False), ScheduleRow.next_fire_at <= now)
            .order_by(ScheduleRow.next_fire_at)
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(ScheduleRecord, row) for row in session.scalars(query)]

    def earliest_due(self) -> datetime | None:
        """When the next active schedule is due."""
        query = select(func.min(ScheduleRow.next_fire_at)).where(ScheduleRow.paused.is_(False))
        with self.reading() as session:
            return session.scalar(query)

    def plan_fires(
        self, plans: list[tuple[ScheduleRecord, list[FireRecord], datetime]]
    ) -> list[FireRecord]:
        """Record schedules' fires and move each cursor past them, in one transaction.

        A schedule whose cursor (or revision) another process changed since it was read
        is left out, its fires unwritten; a fire written already (``(schedule,
        fire_time)`` is unique) is written once. Returns the fires of the plans kept.
        """

        def work(session: Session) -> list[FireRecord]:
            rows = [
                {"key": r.name, "old": r.next_fire_at, "rev": r.revision, "new": n}
                for r, _, n in plans
            ]
            table = ScheduleRow.__table__  # Core: one statement for many rows
            session.connection().execute(  # one statement, each row moving from what was read
                update(table)  # type: ignore[arg-type]
                .where(
                    table.c.name == bindparam("key"),
                    table.c.next_fire_at == bindparam("old"),
                    table.c.revision == bindparam("rev"),
                )
                .values(next_fire_at=bindparam("new")),
                rows,
            )
            names = [r.name for r, _, _ in plans]
            moved = {
                (name, at)
                for name, at in session.execute(
                    select(ScheduleRow.name, ScheduleRow.next_fire_at).where(
                        ScheduleRow.name.in_(names)
                    )
                )
            }
            kept = [f for r, fires, n in plans if (r.name, n) in moved for f in fires]
            self.insert_ignore(session, FireRow, [f.__dict__ for f in kept])
            return kept

        return self.transaction(work, conflicts=True)

    def waiting_fires(self, *, limit: int = 5000) -> list[FireRecord]:
        """Fires planned but not started yet (``due`` or ``queued``), oldest first."""
        query = (
            select(FireRow)
            .where(FireRow.status.in_(ACTIVE_FIRES))
            .order_by(FireRow.fire_time, FireRow.id)
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(FireRecord, row) for row in session.scalars(query)]

    def last_started(self, schedules: list[str]) -> dict[str, FireRecord]:
        """Each schedule's latest fire that started a run."""
        if not schedules:
            return {}
        latest = (
            select(FireRow.schedule, func.max(FireRow.fire_time).label("at"))
            .where(FireRow.schedule.in_(schedules), FireRow.status == "started")
            .group_by(FireRow.schedule)
            .subquery()
        )
        query = select(FireRow).join(
            latest,
            (FireRow.schedule == latest.c.schedule) & (FireRow.fire_time == latest.c.at),
        )
        with self.reading() as session:
            return {row.schedule: to_record(FireRecord, row) for row in session.scalars(query)}

    def settle_fires(self, outcomes: list[tuple[str, str, str]]) -> None:
        """Set each fire's ``(id, status, reason)``, in one transaction (an empty reason
        keeps the note the fire was planned with; a fire that started no run loses its
        run id)."""
        if not outcomes:
            return
        now = utcnow()

        alike: dict[tuple[str, str], list[str]] = {}
        for fire_id, status, reason in outcomes:  # one statement per outcome, not per fire
            alike.setdefault((status, reason), []).append(fire_id)

        def work(session: Session) -> None:
            for (status, reason), ids in alike.items():
                values: dict[str, Any] = {"status": status}
                if reason:
                    values["reason"] = reason
                if status == "started":
                    values["started_at"] = now
                elif status in ("skipped", "failed"):
                    values["run_id"] = None
                for start in range(0, len(ids), 500):
                    session.execute(
                        update(FireRow)
                        .where(
                            FireRow.id.in_(ids[start : start + 500]),
                            FireRow.status.in_(ACTIVE_FIRES),
                        )
                        .values(**values)
                    )

        self.transaction(work)

    def fires(self, schedule: str, *, limit: int = 50) -> list[FireRecord]:
        """A schedule's latest fires, newest first."""
        query = (
            select(FireRow)
            .where(FireRow.schedule == schedule)
            .order_by(FireRow.fire_time.desc())
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(FireRecord, row) for row in session.scalars(query)]

    # -- leases --------------------------------------------------------------------------
    def take_lease(
        self, name: str, holder: str, *, seconds: float, steal: str | None = None
    ) -> str | None:
        """Hold the lease ``name`` for ``seconds`` more, unless another live holder has it.

        Args:
            steal: a holder known to be dead (a process of this machine that is gone):
                its lease is taken before it expires.

        Returns:
            None when taken (or renewed), else the holder that has it.
        """

        def work(session: Session) -> str | None:
            now = utcnow()
            row = session.get(LeaseRow, name, with_for_update=True)
            until = now + timedelta(seconds=seconds)
            if row is None:
                session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=until))
                return None
            if row.holder not in (holder, steal) and row.expires_at > now:
                return row.holder
            if row.holder != holder:
                row.holder, row.acquired_at = holder, now
            row.expires_at = until
            return None

        return self.transaction(work, conflicts=True)

    def release_lease(self, name: str, holder: str) -> None:
        with self.writing() as session:
            session.execute(
                delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder)
            )

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        with self.reading() as session:
            row = session.get(LeaseRow, name)
            return None if row is None else (row.holder, row.expires_at)


def triggers_store() -> TriggersStore:
    """The control plane's repository for the current settings."""
    return TriggersStore.open(settings().db_url)
