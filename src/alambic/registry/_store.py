"""The model registry's repository: groups, versions, aliases, events, and their audit.

Every change is one transaction that takes the group's row lock first (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite writers are serialised by ``BEGIN IMMEDIATE``), so
version numbers have no gaps or duplicates and an alias has one holder, whatever the
number of processes. The same transaction appends the audit row and the event: a change
is never recorded without having happened, nor the reverse.

An event waits for a delivery (status ``pending``) when its group has webhooks, or
when the caller says that hooks listen in its process (``listening=True``); otherwise
it is only ``recorded``. Each write returns a :class:`Change`: its result, and how many
events it queued, which the caller then delivers (:func:`alambic.registry.deliver_events`).

Example:
    >>> from alambic.registry import registry_store
    >>> registry_store().list_groups()
    []
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alambic.core import new_id, utcnow
from alambic.errors import NotFoundError, StoreError
from alambic.registry._tables import ModelAliasRow, ModelGroupRow, ModelVersionRow, RegistryEventRow
from alambic.store import AuditRecord, Repository, append_audit, read_audit, to_record

__all__ = [
    "KIND",
    "AuditRecord",
    "Change",
    "EventRecord",
    "ModelGroupRecord",
    "ModelVersionRecord",
    "RegistryStore",
    "registry_store",
]

KIND = "model_group"  # the registry's subject kind in the audit log
T = TypeVar("T")


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


@dataclass(frozen=True)
class Change(Generic[T]):
    """What a registry write did: its result, and how many events wait for a delivery."""

    value: T
    queued: int


def _version_state(row: ModelVersionRow) -> dict[str, Any]:
    return {"status": row.status, "deleted": row.deleted_at is not None}


class _Outbox:
    """The events of one transaction, written beside the change they announce."""

    def __init__(self, session: Session, group: ModelGroupRow, *, listening: bool) -> None:
        self.session, self.group = session, group.name
        self.waits = bool(group.policy.get("webhooks")) or listening
        self.queued = 0

    def add(self, kind: str, version: int | None, **data: Any) -> None:
        now = utcnow()
        self.queued += self.waits
        self.session.add(
            RegistryEventRow(
                id=new_id("evt"),
                type=kind,
                group=self.group,
                version=version,
                payload={"type": kind, "group": self.group, "version": version, **data},
                created_at=now,
                status="pending" if self.waits else "recorded",
                attempts=0,
                outcome=[],
                next_attempt_at=now if self.waits else None,
            )
        )


def _audit(session: Session, actor: str, action: str, group: str, **details: Any) -> None:
    append_audit(session, actor=actor, action=action, kind=KIND, subject=group, **details)


class RegistryStore(Repository):
    """Model groups and versions on any SQLAlchemy URL (see the module docstring)."""

    # -- transactions ----------------------------------------------------------------
    def _locked_group(self, session: Session, name: str, actor: str) -> ModelGroupRow:
        """The group's row, created when missing, locked until the transaction ends."""
        row = session.get(ModelGroupRow, name, with_for_update=True)
        if row is None:
            row = ModelGroupRow(
                name=name, description="", policy={}, created_at=utcnow(), created_by=actor
            )
            session.add(row)
            session.flush()  # a concurrent creator makes this fail; the transaction retries
            _audit(session, actor, "create-group", name, after={"policy": {}})
        return row

    def _changed(
        self,
        group: str,
        actor: str,
        listening: bool,
        work: Callable[[Session, ModelGroupRow, _Outbox], T],
    ) -> Change[T]:
        """Run ``work`` with the group's row locked and an outbox for its events."""

        def locked(session: Session) -> Change[T]:
            row = self._locked_group(session, group, actor)
            outbox = _Outbox(session, row, listening=listening)
            return Change(work(session, row, outbox), outbox.queued)

        return self.transaction(locked, conflicts=True)

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

    @staticmethod
    def _rejected(session: Session, group: str, model: dict[str, Any]) -> list[int]:
        """The group's rejected versions (deleted ones too) holding ``model``, oldest first."""
        rows = session.execute(
            select(ModelVersionRow.version, ModelVersionRow.model)
            .where(ModelVersionRow.group == group, ModelVersionRow.status == "Rejected")
            .order_by(ModelVersionRow.version)
        )
        return [number for number, held in rows if held.get("hash") == model.get("hash")]

    # -- writes ----------------------------------------------------------------------
    def register(
        self,
        group: str,
        *,
        actor: str,
        values: dict[str, Any],
        decide: Callable[[dict[str, Any], dict[str, Any], list[int]], tuple[str, str]],
        listening: bool = False,
    ) -> Change[ModelVersionRecord]:
        """Add the next version of ``group``; ``decide(policy, values, rejected)`` gives its
        status, ``rejected`` being the group's rejected versions (deleted ones too) that hold
        the same model."""

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> ModelVersionRecord:
            latest = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.group == group)
            )
            number = (latest or 0) + 1
            rejected = self._rejected(session, group, values["model"])
            status, comment = decide(dict(locked.policy), values, rejected)
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
            after = {"status": status, "model": values["model"].get("hash")}
            _audit(session, actor, "register", group, version=number, after=after, comment=comment)
            outbox.add("version_registered", number, status=status, actor=actor)
            if status == "Approved":
                outbox.add("version_approved", number, actor="policy")
            session.flush()
            return to_record(ModelVersionRecord, row)

        return self._changed(group, actor, listening, work)

    def set_status(
        self,
        group: str,
        version: int,
        status: str,
        *,
        actor: str,
        comment: str,
        check: Callable[[ModelVersionRecord, list[str]], None] | None = None,
        listening: bool = False,
    ) -> Change[ModelVersionRecord]:
        """Approve or reject a version (audited, with an event) after ``check`` allows it.

        ``check`` runs inside the transaction, with the group locked, on the version as it
        is and the aliases it holds; it raises to refuse, and then nothing is written.
        """

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> ModelVersionRecord:
            row = self._version(session, group, version, lock=True)
            if check is not None:
                held = session.scalars(
                    select(ModelAliasRow.alias)
                    .where(ModelAliasRow.group == group, ModelAliasRow.version == version)
                    .order_by(ModelAliasRow.alias)
                )
                check(to_record(ModelVersionRecord, row), list(held))
            before = _version_state(row)
            row.status, row.status_comment = status, comment
            row.status_by, row.status_at = actor, utcnow()
            action = {"Approved": "approve", "Rejected": "reject"}.get(status, "set-status")
            _audit(
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
            outbox.add(kind, version, actor=actor, comment=comment)
            session.flush()
            return to_record(ModelVersionRecord, row)

        return self._changed(group, actor, listening, work)

    def add_lineage(
        self, group: str, version: int, entries: dict[str, Any], *, actor: str
    ) -> ModelVersionRecord:
        """Add lineage entries that a version lacks (audited); those it holds stay as
        they are: what it was registered with does not change."""

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> ModelVersionRecord:
            row = self._version(session, group, version, lock=True)
            new = {k: v for k, v in entries.items() if k not in (row.lineage or {})}
            if new:
                row.lineage = {**(row.lineage or {}), **new}
                _audit(session, actor, "add-lineage", group, version=version, after=new)
                session.flush()
            return to_record(ModelVersionRecord, row)

        return self._changed(group, actor, False, work).value

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
        listening: bool = False,
    ) -> Change[int | None]:
        """Point ``alias`` at ``version`` (None removes it) after ``check`` allows it.

        ``check`` runs inside the transaction, with the group locked, on the group's policy,
        the target version and a function giving that version's audit history (read only
        when a rule needs it); it raises to refuse.

        Returns:
            The version the alias held before (None if it was free).
        """

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> int | None:
            target = None if version is None else self._version(session, group, version, lock=True)
            check(
                to_record(ModelGroupRecord, locked),
                None if target is None else to_record(ModelVersionRecord, target),
                lambda: read_audit(session, KIND, group, version=version),
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
            action = "move-alias" if version is not None else "remove-alias"
            _audit(
                session,
                actor,
                action,
                group,
                version=version,
                alias=alias,
                before={"version": previous},
                after={"version": version},
                comment=comment,
            )
            outbox.add("alias_moved", version, alias=alias, previous=previous, actor=actor)
            return previous

        return self._changed(group, actor, listening, work)

    def set_policy(self, group: str, policy: dict[str, Any], *, actor: str) -> None:
        """Replace a group's policy (audited; no event)."""

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> None:
            before = dict(locked.policy)
            locked.policy = policy
            _audit(
                session,
                actor,
                "set-policy",
                group,
                before={"policy": before},
                after={"policy": policy},
            )

        self._changed(group, actor, False, work)

    def delete_version(
        self, group: str, version: int, *, actor: str, comment: str, listening: bool = False
    ) -> Change[None]:
        """Soft-delete a version that no alias points at (audited)."""

        def work(session: Session, locked: ModelGroupRow, outbox: _Outbox) -> None:
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
            _audit(
                session,
                actor,
                "delete",
                group,
                version=version,
                before=before,
                after=_version_state(row),
                comment=comment,
            )
            outbox.add("version_deleted", version, actor=actor)

        return self._changed(group, actor, listening, work)

    # -- reads -----------------------------------------------------------------------
    def get_group(self, name: str) -> ModelGroupRecord:
        missing = f"no model group {name!r}; see `alambic models list`"
        return self.by_key(ModelGroupRecord, ModelGroupRow, name, missing=missing)

    def list_groups(self) -> list[ModelGroupRecord]:
        with self.reading() as session:
            rows = session.scalars(select(ModelGroupRow).order_by(ModelGroupRow.name))
            return [to_record(ModelGroupRecord, r) for r in rows]

    def get_version(self, group: str, version: int) -> ModelVersionRecord:
        with self.reading() as session:
            row = self._version(session, group, version, lock=False)
            return to_record(ModelVersionRecord, row)

    def latest_version(self, group: str) -> ModelVersionRecord | None:
        """The newest live version of a group (None when it has none)."""
        with self.reading() as session:
            row = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.group == group, ModelVersionRow.deleted_at.is_(None))
                .order_by(ModelVersionRow.version.desc())
                .limit(1)
            ).first()
            return None if row is None else to_record(ModelVersionRecord, row)

    def versions(self, group: str, *, deleted: bool = False) -> list[ModelVersionRecord]:
        with self.reading() as session:
            query = select(ModelVersionRow).where(ModelVersionRow.group == group)
            if not deleted:
                query = query.where(ModelVersionRow.deleted_at.is_(None))
            rows = session.scalars(query.order_by(ModelVersionRow.version))
            return [to_record(ModelVersionRecord, r) for r in rows]

    def aliases(self, group: str) -> dict[str, int]:
        with self.reading() as session:
            rows = session.scalars(select(ModelAliasRow).where(ModelAliasRow.group == group))
            return {r.alias: r.version for r in rows}

    def pointers(self, groups: list[str]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """What references to these groups resolve to now, in one cheap read.

        Returns:
            ``(group, alias, version)`` for every alias, and ``(group, latest version)``
            for every group with a live version, both sorted.
        """
        with self.reading() as session:
            aliases = tuple(
                tuple(r)
                for r in session.execute(
                    select(ModelAliasRow.group, ModelAliasRow.alias, ModelAliasRow.version)
                    .where(ModelAliasRow.group.in_(groups))
                    .order_by(ModelAliasRow.group, ModelAliasRow.alias)
                )
            )
            latest = tuple(
                tuple(r)
                for r in session.execute(
                    select(ModelVersionRow.group, func.max(ModelVersionRow.version))
                    .where(ModelVersionRow.group.in_(groups), ModelVersionRow.deleted_at.is_(None))
                    .group_by(ModelVersionRow.group)
                    .order_by(ModelVersionRow.group)
                )
            )
        return aliases, latest

    def audit(self, group: str | None = None) -> list[AuditRecord]:
        """The audit rows of a group (of every group when None), oldest first."""
        with self.reading() as session:
            return read_audit(session, KIND, group)

    # -- events ----------------------------------------------------------------------
    def due_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Pending events whose next attempt is due, oldest first."""
        with self.reading() as session:
            rows = session.scalars(
                select(RegistryEventRow)
                .where(
                    RegistryEventRow.status == "pending",
                    RegistryEventRow.next_attempt_at <= utcnow(),
                )
                .order_by(RegistryEventRow.created_at)
                .limit(limit)
            )
            return [to_record(EventRecord, r) for r in rows]

    def events_after(
        self, after: tuple[datetime, str] | None, *, limit: int = 500
    ) -> list[EventRecord]:
        """Events made after the ``(created_at, id)`` cursor (all with None), oldest first."""
        query = select(RegistryEventRow)
        if after is not None:
            at, event_id = after
            query = query.where(
                (RegistryEventRow.created_at > at)
                | ((RegistryEventRow.created_at == at) & (RegistryEventRow.id > event_id))
            )
        query = query.order_by(RegistryEventRow.created_at, RegistryEventRow.id).limit(limit)
        with self.reading() as session:
            return [to_record(EventRecord, r) for r in session.scalars(query)]

    def events(self, group: str | None = None) -> list[EventRecord]:
        with self.reading() as session:
            query = select(RegistryEventRow)
            if group is not None:
                query = query.where(RegistryEventRow.group == group)
            rows = session.scalars(query.order_by(RegistryEventRow.created_at))
            return [to_record(EventRecord, r) for r in rows]

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

        self.transaction(work)


def registry_store() -> RegistryStore:
    """The registry of the current settings (engines are cached per URL: this is cheap)."""
    from alambic.config import settings

    return RegistryStore.open(settings().db_url)
