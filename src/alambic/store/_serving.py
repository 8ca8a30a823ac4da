"""Serving's tables: endpoint configurations and API tokens, audited like the registry.

Each change is one transaction that also appends its row to the audit log (subject
``endpoint:<name>`` or ``token:<id>``, so it never mixes with a model group's history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alambic.core import utcnow
from alambic.errors import NotFoundError, StoreError
from alambic.store._db import get_engine
from alambic.store._metadata import _record
from alambic.store._models import ApiTokenRow, AuditRow, EndpointRow, ModelAliasRow

__all__ = ["EndpointRecord", "ServingStore", "TokenRecord"]


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


def _audit(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    comment: str = "",
) -> None:
    session.add(
        AuditRow(
            at=utcnow(),
            actor=actor,
            action=action,
            group=subject,
            version=None,
            alias=None,
            before=before,
            after=after,
            comment=comment,
        )
    )


class ServingStore:
    """Endpoints and tokens on any SQLAlchemy URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(alambic_read_only=True)

    @classmethod
    def open(cls, url: str) -> ServingStore:
        return cls(get_engine(url))

    def _read(self) -> Session:
        return Session(self._reader, expire_on_commit=False)

    def _write(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- endpoints -------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict[str, Any], *, actor: str) -> EndpointRecord:
        now = utcnow()
        try:
            with self._write() as session, session.begin():
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
                _audit(session, actor, "create-endpoint", f"endpoint:{name}", after=config)
                return _record(EndpointRecord, row)
        except IntegrityError:
            raise StoreError(
                f"endpoint {name!r} already exists; change it with `alambic endpoints update "
                f"{name}` or delete it first"
            ) from None

    def update_endpoint(
        self, name: str, config: dict[str, Any], *, actor: str, comment: str = ""
    ) -> EndpointRecord:
        with self._write() as session, session.begin():
            row = session.get(EndpointRow, name, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no endpoint {name!r}; see `alambic endpoints list`")
            before = dict(row.config)
            row.config, row.revision = config, row.revision + 1
            row.updated_at, row.updated_by = utcnow(), actor
            _audit(
                session,
                actor,
                "update-endpoint",
                f"endpoint:{name}",
                before=before,
                after=config,
                comment=comment,
            )
            session.flush()
            return _record(EndpointRecord, row)

    def delete_endpoint(self, name: str, *, actor: str) -> None:
        with self._write() as session, session.begin():
            row = session.get(EndpointRow, name, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no endpoint {name!r}; see `alambic endpoints list`")
            _audit(session, actor, "delete-endpoint", f"endpoint:{name}", before=row.config)
            session.delete(row)

    def get_endpoint(self, name: str) -> EndpointRecord:
        with self._read() as session:
            row = session.get(EndpointRow, name)
            if row is None:
                raise NotFoundError(f"no endpoint {name!r}; see `alambic endpoints list`")
            return _record(EndpointRecord, row)

    def list_endpoints(self) -> list[EndpointRecord]:
        with self._read() as session:
            rows = session.scalars(select(EndpointRow).order_by(EndpointRow.name))
            return [_record(EndpointRecord, r) for r in rows]

    def audit(self, subject: str) -> list[AuditRow]:
        with self._read() as session:
            rows = session.scalars(
                select(AuditRow).where(AuditRow.group == subject).order_by(AuditRow.id)
            )
            return list(rows)

    def watch_state(self, endpoints: list[str] | None, groups: list[str]) -> tuple[Any, ...]:
        """What the server polls: endpoint revisions, alias holders, latest versions.

        One cheap read; the server reloads only when the answer changes.
        """
        from sqlalchemy import func

        from alambic.store._models import ModelVersionRow

        with self._read() as session:
            # updated_at too: an endpoint deleted and created again restarts at revision 1
            query = select(EndpointRow.name, EndpointRow.revision, EndpointRow.updated_at).order_by(
                EndpointRow.name
            )
            if endpoints is not None:
                query = query.where(EndpointRow.name.in_(endpoints))
            revisions = tuple(tuple(r) for r in session.execute(query))
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
        return revisions, aliases, latest

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
        with self._write() as session, session.begin():
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
            _audit(
                session,
                actor,
                "create-token",
                f"token:{token_id}",
                after={"name": name, "scope": scope, "endpoints": endpoints},
            )
            return _record(TokenRecord, row)

    def revoke_token(self, token_id: str, *, actor: str) -> TokenRecord:
        with self._write() as session, session.begin():
            row = session.get(ApiTokenRow, token_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no token {token_id!r}; see `alambic tokens list`")
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = utcnow(), actor
                _audit(session, actor, "revoke-token", f"token:{token_id}")
            session.flush()
            return _record(TokenRecord, row)

    def get_token(self, token_id: str) -> TokenRecord | None:
        with self._read() as session:
            row = session.get(ApiTokenRow, token_id)
            return None if row is None else _record(TokenRecord, row)

    def list_tokens(self) -> list[TokenRecord]:
        with self._read() as session:
            rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at))
            return [_record(TokenRecord, r) for r in rows]
