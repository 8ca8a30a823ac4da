"""The model registry's tables: groups, versions, aliases, audit log and events.

Every change is one transaction that takes the group's row lock first (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite writers are serialised by ``BEGIN IMMEDIATE``), so
version numbers have no gaps or duplicates and an alias has one holder, whatever the
number of processes. The same transaction appends the audit row and the event: a change
is never recorded without having happened, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alambic.core import new_id, utcnow
from alambic.errors import NotFoundError
from alambic.store._db import get_engine
from alambic.store._metadata import _record
from alambic.store._models import (
    AuditRow,
    ModelAliasRow,
    ModelGroupRow,
    ModelVersionRow,
    RegistryEventRow,
)

__all__ = [
    "AuditRecord",
    "EventRecord",
    "ModelGroupRecord",
    "ModelVersionRecord",
    "RegistryStore",
]


@dataclass(frozen=True)
class ModelGroupRecord:
    name: str
    description: str
    policy: dict[str, Any]
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class ModelVersionRecord:
    id: str
    group: str
    version: int
    model: dict[str, Any]
    signature: dict[str, Any] | None
    metrics: dict[str, Any]
    evaluation: dict[str, Any] | None
    tags: dict[str, Any]
    description: str
    lineage: dict[str, Any]
    status: str
    status_comment: str
    status_by: str
    status_at: datetime
    created_at: datetime
    created_by: str
    deleted_at: datetime | None

    @property
    def ref(self) -> str:
        """``name/3``."""
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    group: str
    version: int | None
    alias: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    comment: str


@dataclass(frozen=True)
class EventRecord:
    id: str
    type: str
    group: str
    version: int | None
    payload: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    outcome: list[Any]
    next_attempt_at: datetime | None


def _version_state(row: ModelVersionRow) -> dict[str, Any]:
    return {"status": row.status, "deleted": row.deleted_at is not None}


class RegistryStore:
    """Model groups and versions on any SQLAlchemy URL (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(alambic_read_only=True)
        self.queued_events = 0  # events this object wrote that wait for a delivery
        self.queue_all = False  # set when the caller has hooks: every event waits for them

    @classmethod
    def open(cls, url: str) -> RegistryStore:
        return cls(get_engine(url))

    def _read(self) -> Session:
        return Session(self._reader, expire_on_commit=False)

    # -- transactions ----------------------------------------------------------------
    def _locked_group(self, session: Session, name: str, actor: str) -> ModelGroupRow:
        """The group's row, created when missing, locked until the transaction ends."""
        row = session.get(ModelGroupRow, name, with_for_update=True)
        if row is None:
            row = ModelGroupRow(
                name=name, description="", policy={}, created_at=utcnow(), created_by=actor
            )
            session.add(row)
            session.flush()  # a concurrent creator makes this fail; the caller retries
            self._audit(session, actor, "create-group", name, after={"policy": {}})
        return row

    def _transaction(self, work: Callable[[Session], Any]) -> Any:
        from sqlalchemy.exc import IntegrityError

        for attempt in range(5):
            try:
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except IntegrityError:  # two processes created the same group: the loser retries
                if attempt == 4:
                    raise
        return None  # pragma: no cover

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        group: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        comment: str = "",
    ) -> None:
        session.add(
            AuditRow(
                at=utcnow(),
                actor=actor,
                action=action,
                group=group,
                version=version,
                alias=alias,
                before=before,
                after=after,
                comment=comment,
            )
        )

    def _event(
        self,
        session: Session,
        locked: ModelGroupRow,
        kind: str,
        version: int | None,
        **data: Any,
    ) -> None:
        """Record an event; it waits for delivery if the group has webhooks or we have hooks."""
        group = locked.name
        pending = bool(locked.policy.get("webhooks")) or self.queue_all
        self.queued_events += pending
        session.add(
            RegistryEventRow(
                id=new_id("evt"),
                type=kind,
                group=group,
                version=version,
                payload={"type": kind, "group": group, "version": version, **data},
                created_at=utcnow(),
                status="pending" if pending else "recorded",
                attempts=0,
                outcome=[],
                next_attempt_at=utcnow() if pending else None,
            )
        )

    @staticmethod
    def _version(session: Session, group: str, version: int, *, lock: bool) -> ModelVersionRow:
        query = select(ModelVersionRow).where(
            ModelVersionRow.group == group, ModelVersionRow.version == version
        )
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None or row.deleted_at is not None:
            raise NotFoundError(
                f"model {group}/{version} does not exist; see `alambic models show {group}`"
            )
        return row

    # -- writes ----------------------------------------------------------------------
    def register(
        self,
        group: str,
        *,
        actor: str,
        values: dict[str, Any],
        decide: Callable[[dict[str, Any], dict[str, Any]], tuple[str, str]],
    ) -> ModelVersionRecord:
        """Add the next version of ``group``; ``decide(policy, values)`` gives its status."""

        def work(session: Session) -> ModelVersionRecord:
            locked = self._locked_group(session, group, actor)
            latest = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.group == group)
            )
            number = (latest or 0) + 1
            status, comment = decide(dict(locked.policy), values)
            now = utcnow()
            row = ModelVersionRow(
                id=new_id("mv"),
                group=group,
                version=number,
                status=status,
                status_comment=comment,
                status_by=actor if status == "PendingManualApproval" else "policy",
                status_at=now,
                created_at=now,
                created_by=actor,
                deleted_at=None,
                **values,
            )
            session.add(row)
            self._audit(
                session,
                actor,
                "register",
                group,
                version=number,
                after={"status": status, "model": values["model"].get("hash")},
                comment=comment,
            )
            self._event(session, locked, "version_registered", number, status=status, actor=actor)
            if status == "Approved":
                self._event(session, locked, "version_approved", number, actor="policy")
            session.flush()
            return _record(ModelVersionRecord, row)

        result: ModelVersionRecord = self._transaction(work)
        return result

    def set_status(
        self, group: str, version: int, status: str, *, actor: str, comment: str
    ) -> ModelVersionRecord:
        """Approve or reject a version (audited, with an event)."""

        def work(session: Session) -> ModelVersionRecord:
            locked = self._locked_group(session, group, actor)
            row = self._version(session, group, version, lock=True)
            before = _version_state(row)
            row.status, row.status_comment, row.status_by, row.status_at = (
                status,
                comment,
                actor,
                utcnow(),
            )
            action = {"Approved": "approve", "Rejected": "reject"}.get(status, "set-status")
            self._audit(
                session,
                actor,
                action,
                group,
                version=version,
                before=before,
                after=_version_state(row),
                comment=comment,
            )
            kind = {"Approved": "version_approved", "Rejected": "version_rejected"}.get(
                status, "version_status_changed"
            )
            self._event(session, locked, kind, version, actor=actor, comment=comment)
            session.flush()
            return _record(ModelVersionRecord, row)

        result: ModelVersionRecord = self._transaction(work)
        return result

    def move_alias(
        self,
        group: str,
        alias: str,
        version: int | None,
        *,
        actor: str,
        check: Callable[
            [ModelGroupRecord, ModelVersionRecord | None, Callable[[], list[AuditRecord]]], None
        ],
        comment: str = "",
    ) -> int | None:
        """Point ``alias`` at ``version`` (None removes it) after ``check`` allows it.

        ``check`` runs inside the transaction, with the group locked, on the group's policy,
        the target version and a function giving that version's audit history (read only
        when a rule needs it); it raises to refuse.

        Returns:
            The version the alias held before (None if it was free).
        """

        def work(session: Session) -> int | None:
            locked = self._locked_group(session, group, actor)
            target = None if version is None else self._version(session, group, version, lock=True)

            def history() -> list[AuditRecord]:
                rows = session.scalars(
                    select(AuditRow)
                    .where(AuditRow.group == group, AuditRow.version == version)
                    .order_by(AuditRow.id)
                )
                return [_record(AuditRecord, a) for a in rows]

            check(
                _record(ModelGroupRecord, locked),
                None if target is None else _record(ModelVersionRecord, target),
                history,
            )
            row = session.get(ModelAliasRow, (group, alias), with_for_update=True)
            previous = None if row is None else row.version
            if version is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(
                    ModelAliasRow(
                        group=group,
                        alias=alias,
                        version=version,
                        updated_at=utcnow(),
                        updated_by=actor,
                    )
                )
            else:
                row.version, row.updated_at, row.updated_by = version, utcnow(), actor
            self._audit(
                session,
                actor,
                "move-alias" if version is not None else "remove-alias",
                group,
                version=version,
                alias=alias,
                before={"version": previous},
                after={"version": version},
                comment=comment,
            )
            self._event(
                session, locked, "alias_moved", version, alias=alias, previous=previous, actor=actor
            )
            return previous

        result: int | None = self._transaction(work)
        return result

    def set_policy(self, group: str, policy: dict[str, Any], *, actor: str) -> None:
        def work(session: Session) -> None:
            locked = self._locked_group(session, group, actor)
            before = dict(locked.policy)
            locked.policy = policy
            self._audit(
                session,
                actor,
                "set-policy",
                group,
                before={"policy": before},
                after={"policy": policy},
            )

        self._transaction(work)

    def delete_version(self, group: str, version: int, *, actor: str, comment: str) -> None:
        """Soft-delete a version that no alias points at (audited)."""
        from alambic.errors import StoreError

        def work(session: Session) -> None:
            locked = self._locked_group(session, group, actor)
            row = self._version(session, group, version, lock=True)
            holders = session.scalars(
                select(ModelAliasRow.alias).where(
                    ModelAliasRow.group == group, ModelAliasRow.version == version
                )
            ).all()
            if holders:
                raise StoreError(
                    f"{group}/{version} holds alias(es) {', '.join(sorted(holders))}; move them "
                    "to another version first"
                )
            before = _version_state(row)
            row.deleted_at = utcnow()
            self._audit(
                session,
                actor,
                "delete",
                group,
                version=version,
                before=before,
                after=_version_state(row),
                comment=comment,
            )
            self._event(session, locked, "version_deleted", version, actor=actor)

        self._transaction(work)

    # -- reads -----------------------------------------------------------------------
    def get_group(self, name: str) -> ModelGroupRecord:
        with self._read() as session:
            row = session.get(ModelGroupRow, name)
            if row is None:
                raise NotFoundError(f"no model group {name!r}; see `alambic models list`")
            return _record(ModelGroupRecord, row)

    def list_groups(self) -> list[ModelGroupRecord]:
        with self._read() as session:
            rows = session.scalars(select(ModelGroupRow).order_by(ModelGroupRow.name))
            return [_record(ModelGroupRecord, r) for r in rows]

    def get_version(self, group: str, version: int) -> ModelVersionRecord:
        with self._read() as session:
            return _record(ModelVersionRecord, self._version(session, group, version, lock=False))

    def latest_version(self, group: str) -> ModelVersionRecord | None:
        """The newest live version of a group (None when it has none)."""
        with self._read() as session:
            row = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.group == group, ModelVersionRow.deleted_at.is_(None))
                .order_by(ModelVersionRow.version.desc())
                .limit(1)
            ).first()
            return None if row is None else _record(ModelVersionRecord, row)

    def versions(self, group: str, *, deleted: bool = False) -> list[ModelVersionRecord]:
        with self._read() as session:
            query = select(ModelVersionRow).where(ModelVersionRow.group == group)
            if not deleted:
                query = query.where(ModelVersionRow.deleted_at.is_(None))
            rows = session.scalars(query.order_by(ModelVersionRow.version))
            return [_record(ModelVersionRecord, r) for r in rows]

    def aliases(self, group: str) -> dict[str, int]:
        with self._read() as session:
            rows = session.scalars(select(ModelAliasRow).where(ModelAliasRow.group == group))
            return {r.alias: r.version for r in rows}

    def audit(self, group: str | None = None) -> list[AuditRecord]:
        with self._read() as session:
            query = select(AuditRow)
            if group is not None:
                query = query.where(AuditRow.group == group)
            return [_record(AuditRecord, r) for r in session.scalars(query.order_by(AuditRow.id))]

    # -- events ----------------------------------------------------------------------
    def due_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Pending events whose next attempt is due, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(RegistryEventRow)
                .where(
                    RegistryEventRow.status == "pending",
                    RegistryEventRow.next_attempt_at <= utcnow(),
                )
                .order_by(RegistryEventRow.created_at)
                .limit(limit)
            )
            return [_record(EventRecord, r) for r in rows]

    def events(self, group: str | None = None) -> list[EventRecord]:
        with self._read() as session:
            query = select(RegistryEventRow)
            if group is not None:
                query = query.where(RegistryEventRow.group == group)
            rows = session.scalars(query.order_by(RegistryEventRow.created_at))
            return [_record(EventRecord, r) for r in rows]

    def record_attempt(
        self, event_id: str, outcome: dict[str, Any], *, status: str, retry_at: datetime | None
    ) -> None:
        """Append one delivery attempt's outcome to an event."""

        def work(session: Session) -> None:
            row = session.get(RegistryEventRow, event_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no registry event {event_id}")
            row.attempts += 1
            row.outcome = [*row.outcome, outcome]
            row.status, row.next_attempt_at = status, retry_at

        self._transaction(work)
