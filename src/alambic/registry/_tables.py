"""The model registry's tables: groups, versions, aliases and events.

Only :mod:`alambic.registry._store` reads or writes them (its changes are audited in
the shared ``audit_log``, :mod:`alambic.store._audit`). A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = ["ModelAliasRow", "ModelGroupRow", "ModelVersionRow", "RegistryEventRow"]


class ModelGroupRow(Base):
    __tablename__ = "model_groups"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("group", "version"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(ForeignKey("model_groups.name"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)  # the artifact reference
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(40))
    status_comment: Mapped[str] = mapped_column(Text, default="")
    status_by: Mapped[str] = mapped_column(String(200))
    status_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column()


class ModelAliasRow(Base):
    __tablename__ = "model_aliases"

    group: Mapped[str] = mapped_column(ForeignKey("model_groups.name"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))


class RegistryEventRow(Base):
    __tablename__ = "registry_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    group: Mapped[str] = mapped_column(String(100))
    version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[list[Any]] = mapped_column(JSON, default=list)  # one entry per attempt
    next_attempt_at: Mapped[datetime | None] = mapped_column()
