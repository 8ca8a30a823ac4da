"""Serving's tables: endpoint configurations and API tokens.

Only :mod:`alambic.serving._store` reads or writes them (its changes are audited in the
shared ``audit_log``). A change here needs a new revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = ["ApiTokenRow", "EndpointRow"]


class EndpointRow(Base):
    """A serving endpoint's configuration; ``revision`` grows with each change."""

    __tablename__ = "endpoints"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is stored; ``revoked_at`` set means refused."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(20))  # invoke or admin
    endpoints: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [] means all
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(200))
