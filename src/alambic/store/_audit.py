"""The append-only audit log that every capability writes its changes to.

One row per change: who, when, what action, on which subject (a kind, such as
``model_group``, ``endpoint`` or ``token``, and its name), the state before and after,
and why. A subject may have numbered versions (a model group's versions) and named
pointers (its aliases); those columns stay empty for other kinds. The log has no update
or delete: a capability appends its row in the same transaction as the change it
records, so neither exists without the other.

Example:
    >>> from alambic.store import AuditRecord
    >>> sorted(AuditRecord.__dataclass_fields__)[:4]
    ['action', 'actor', 'after', 'alias']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from alambic.core import utcnow
from alambic.store._orm import AUTO_ID, Base
from alambic.store._repository import to_record

__all__ = ["AuditRecord", "AuditRow", "append_audit", "read_audit"]


class AuditRow(Base):
    """Append-only: nothing in alambic updates or deletes a row."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject_at", "subject_kind", "subject", "at"),)

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    version: Mapped[int | None] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class AuditRecord:
    """One audited change.

    Attributes:
        subject_kind: what was changed: ``model_group``, ``endpoint``, ``token``…
        subject: its name (or id).
        version: the subject's version concerned, if it has versions.
        alias: the pointer moved, if any (a model alias).
    """

    id: int
    at: datetime
    actor: str
    action: str
    subject_kind: str
    subject: str
    version: int | None
    alias: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    comment: str

    @property
    def group(self) -> str:
        """The subject's name (what 0.1 called the model group of a registry change)."""
        return self.subject


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    kind: str,
    subject: str,
    version: int | None = None,
    alias: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    comment: str = "",
) -> None:
    """Append one row to the audit log, in the caller's transaction."""
    session.add(
        AuditRow(
            at=utcnow(),
            actor=actor,
            action=action,
            subject_kind=kind,
            subject=subject,
            version=version,
            alias=alias,
            before=before,
            after=after,
            comment=comment,
        )
    )


def read_audit(
    session: Session,
    kind: str,
    subject: str | None = None,
    *,
    version: int | None = None,
) -> list[AuditRecord]:
    """The audit rows of one kind (of one subject, one version when given), oldest first."""
    query = select(AuditRow).where(AuditRow.subject_kind == kind)
    if subject is not None:
        query = query.where(AuditRow.subject == subject)
    if version is not None:
        query = query.where(AuditRow.version == version)
    return [to_record(AuditRecord, row) for row in session.scalars(query.order_by(AuditRow.id))]
