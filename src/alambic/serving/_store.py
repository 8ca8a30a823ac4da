"""Serving's repository: endpoint configurations and API tokens, audited like the registry.

Each change is one transaction that also appends its row to the shared audit log
(subject kind ``endpoint`` or ``token``).

Example:
    >>> from alambic.serving import serving_store
    >>> serving_store().list_endpoints()
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alambic.core import utcnow
from alambic.errors import NotFoundError, StoreError
from alambic.serving._tables import ApiTokenRow, EndpointRow
from alambic.store import AuditRecord, Repository, append_audit, read_audit, to_record

__all__ = ["EndpointRecord", "ServingStore", "TokenRecord", "serving_store"]

ENDPOINT, TOKEN = "endpoint", "token"  # subject kinds in the audit log


@dataclass(frozen=True)
class EndpointRecord:
    name: str
    config: dict[str, Any]
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    hash: str
    scope: str
    endpoints: list[Any]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None


def _missing(name: str) -> NotFoundError:
    return NotFoundError(f"no endpoint {name!r}; see `alambic endpoints list`")


class ServingStore(Repository):
    """Endpoints and tokens on any SQLAlchemy URL."""

    # -- endpoints -------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict[str, Any], *, actor: str) -> EndpointRecord:
        now = utcnow()
        try:
            with self.writing() as session:
                row = EndpointRow(
                    name=name,
                    config=config,
                    revision=1,
                    created_at=now,
                    created_by=actor,
                    updated_at=now,
                    updated_by=actor,
                )
                session.add(row)
                session.flush()
                append_audit(
                    session,
                    actor=actor,
                    action="create-endpoint",
                    kind=ENDPOINT,
                    subject=name,
                    after=config,
                )
                return to_record(EndpointRecord, row)
        except IntegrityError:
            raise StoreError(
                f"endpoint {name!r} already exists; change it with `alambic endpoints update "
                f"{name}` or delete it first"
            ) from None

    def update_endpoint(
        self, name: str, config: dict[str, Any], *, actor: str, comment: str = ""
    ) -> EndpointRecord:
        with self.writing() as session:
            row = session.get(EndpointRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            before = dict(row.config)
            row.config, row.revision = config, row.revision + 1
            row.updated_at, row.updated_by = utcnow(), actor
            append_audit(
                session,
                actor=actor,
                action="update-endpoint",
                kind=ENDPOINT,
                subject=name,
                before=before,
                after=config,
                comment=comment,
            )
            session.flush()
            return to_record(EndpointRecord, row)

    def delete_endpoint(self, name: str, *, actor: str) -> None:
        with self.writing() as session:
            row = session.get(EndpointRow, name, with_for_update=True)
            if row is None:
                raise _missing(name)
            append_audit(
                session,
                actor=actor,
                action="delete-endpoint",
                kind=ENDPOINT,
                subject=name,
                before=row.config,
            )
            session.delete(row)

    def get_endpoint(self, name: str) -> EndpointRecord:
        return self.by_key(EndpointRecord, EndpointRow, name, missing=str(_missing(name)))

    def list_endpoints(self) -> list[EndpointRecord]:
        with self.reading() as session:
            rows = session.scalars(select(EndpointRow).order_by(EndpointRow.name))
            return [to_record(EndpointRecord, r) for r in rows]

    def revisions(self, endpoints: list[str] | None) -> tuple[tuple[Any, ...], ...]:
        """``(name, revision, updated_at)`` of the endpoints (all when None), by name.

        One cheap read that a server polls; ``updated_at`` too, since an endpoint deleted
        and created again starts at revision 1 once more.
        """
        query = select(EndpointRow.name, EndpointRow.revision, EndpointRow.updated_at)
        if endpoints is not None:
            query = query.where(EndpointRow.name.in_(endpoints))
        with self.reading() as session:
            return tuple(tuple(r) for r in session.execute(query.order_by(EndpointRow.name)))

    def audit(self, kind: str, subject: str) -> list[AuditRecord]:
        """The audit rows of one endpoint or token, oldest first."""
        with self.reading() as session:
            return read_audit(session, kind, subject)

    # -- tokens ----------------------------------------------------------------------
    def create_token(
        self,
        token_id: str,
        *,
        name: str,
        digest: str,
        scope: str,
        endpoints: list[str],
        actor: str,
    ) -> TokenRecord:
        with self.writing() as session:
            row = ApiTokenRow(
                id=token_id,
                name=name,
                hash=digest,
                scope=scope,
                endpoints=endpoints,
                created_at=utcnow(),
                created_by=actor,
                revoked_at=None,
                revoked_by=None,
            )
            session.add(row)
            session.flush()
            after = {"name": name, "scope": scope, "endpoints": endpoints}
            append_audit(
                session,
                actor=actor,
                action="create-token",
                kind=TOKEN,
                subject=token_id,
                after=after,
            )
            return to_record(TokenRecord, row)

    def revoke_token(self, token_id: str, *, actor: str) -> TokenRecord:
        with self.writing() as session:
            row = session.get(ApiTokenRow, token_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no token {token_id!r}; see `alambic tokens list`")
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = utcnow(), actor
                append_audit(
                    session, actor=actor, action="revoke-token", kind=TOKEN, subject=token_id
                )
            session.flush()
            return to_record(TokenRecord, row)

    def get_token(self, token_id: str) -> TokenRecord | None:
        with self.reading() as session:
            row = session.get(ApiTokenRow, token_id)
            return None if row is None else to_record(TokenRecord, row)

    def list_tokens(self) -> list[TokenRecord]:
        with self.reading() as session:
            rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at))
            return [to_record(TokenRecord, r) for r in rows]


def serving_store() -> ServingStore:
    """Endpoints and tokens of the current settings (engines are cached per URL)."""
    from alambic.config import settings

    return ServingStore.open(settings().db_url)
