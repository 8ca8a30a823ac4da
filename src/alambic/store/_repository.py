"""The base of every capability's repository: sessions, transactions that retry, records.

A repository turns rows into frozen dataclasses (:func:`to_record`) and never hands an
ORM object to the layers above. Writers start with ``BEGIN IMMEDIATE`` on SQLite (see
:mod:`alambic.store._db`), so concurrent writers queue instead of failing; what can
still fail is a race another process won (two creators of the same row) or a database
that gave up on a transaction (a PostgreSQL deadlock or serialisation failure, SQLite
still busy after its timeout). :meth:`Repository.transaction` runs such work again.

Example (a capability declares its tables on :class:`alambic.store.Base`; this one is a
table of its own, outside alambic's schema):

    >>> from dataclasses import dataclass
    >>> from sqlalchemy import Column, MetaData, String, Table, create_engine, select
    >>> from alambic.store import Repository, to_record
    >>> notes = Table("notes", MetaData(), Column("key", String, primary_key=True),
    ...               Column("text", String))
    >>> @dataclass(frozen=True)
    ... class Note:
    ...     key: str
    ...     text: str
    >>> class NoteStore(Repository):
    ...     def add(self, key: str, text: str) -> Note:
    ...         def work(session):
    ...             session.execute(notes.insert().values(key=key, text=text))
    ...             row = session.execute(select(notes).where(notes.c.key == key)).one()
    ...             return to_record(Note, row)
    ...         return self.transaction(work)
    >>> engine = create_engine("sqlite://")
    >>> notes.create(engine)
    >>> NoteStore(engine).add("a", "hello")
    Note(key='a', text='hello')
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from alambic.errors import NotFoundError, StoreError
from alambic.store._db import get_engine
from alambic.store._orm import Base

__all__ = ["Repository", "is_transient", "to_record"]

log = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")
# PostgreSQL's SQLSTATEs for a transaction it aborted and that may simply run again.
_RETRYABLE_STATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


_fields: dict[Any, tuple[str, ...]] = {}


def to_record(cls: type[R], row: Any) -> R:
    """The frozen dataclass ``cls`` built from the same-named attributes of ``row``."""
    names = _fields.get(cls)
    if names is None:
        kind: Any = cls
        names = _fields[cls] = tuple(f.name for f in dataclasses.fields(kind))
    return cls(**{name: getattr(row, name) for name in names})


def is_transient(exc: BaseException) -> bool:
    """Whether a database error means "run the transaction again", not "it is wrong"."""
    if not isinstance(exc, DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in _RETRYABLE_STATES:
        return True
    text = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and "database is locked" in text


class Repository:
    """Sessions on one engine, and write transactions that retry what may succeed again.

    Args:
        engine: an engine whose database is migrated to the newest schema.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(alambic_read_only=True)

    @classmethod
    def open(cls, url: str) -> Self:
        """Open (and on first use create and migrate) the database at ``url``."""
        return cls(get_engine(url))

    def reading(self) -> Session:
        """A session for reads: no write lock is taken (``with self.reading() as s:``)."""
        return Session(self._reader, expire_on_commit=False)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """One write transaction, committed at the end of the block, rolled back on error.

        It does not run again after a transient failure: prefer :meth:`transaction` for
        writes that several processes make at once (inserts others may race, rows locked
        in bulk).

        Raises:
            StoreError: the database could not be written.
        """
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StoreError(
                f"cannot write to the metadata database: {exc.orig}; check ALAMBIC_DB_URL "
                "and that the server is running"
            ) from exc

    def transaction(
        self, work: Callable[[Session], T], *, conflicts: bool = False, attempts: int = 5
    ) -> T:
        """Run ``work(session)`` in one write transaction and return what it returns.

        The transaction runs again (up to ``attempts`` times, with a short growing pause)
        when the database aborted it for a transient reason (a PostgreSQL deadlock or
        serialisation failure; SQLite still locked after its minute-long busy timeout, once
        only), and, with ``conflicts``, when a unique row it inserted was inserted first by
        another process (the next attempt then finds that row). ``work`` must do nothing
        but database work: it may run more than once.

        Raises:
            StoreError: the database could not be written, even after the retries.
        """
        for attempt in range(1, attempts + 1):
            try:
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except IntegrityError:
                if not conflicts or attempt == attempts:
                    raise
            except DBAPIError as exc:
                # SQLite has already waited its busy timeout: one more try, not minutes more.
                busy = "database is locked" in str(exc.orig)
                if not is_transient(exc) or attempt == attempts or (busy and attempt > 1):
                    if isinstance(exc, OperationalError):
                        raise StoreError(
                            f"cannot write to the metadata database: {exc.orig}; check "
                            "ALAMBIC_DB_URL and that the server is running"
                        ) from exc
                    raise
                log.info("transaction aborted (%s); attempt %d of %d", exc.orig, attempt, attempts)
            time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def by_key(self, record: type[R], table: type[Any], key: Any, *, missing: str) -> R:
        """The row of ``table`` whose primary key is ``key``, as a ``record``.

        Raises:
            NotFoundError: there is none (``missing`` says what to do).
        """
        with self.reading() as session:
            row = session.get(table, key)
            if row is None:
                raise NotFoundError(missing)
            return to_record(record, row)

    def insert_ignore(
        self, session: Session, table: type[Base], rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows, skipping those whose key exists (a race is not an error)."""
        if not rows:
            return
        dialect = self.engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            module = sqlite_dialect if dialect == "sqlite" else postgresql_dialect
            # One statement, compiled once and cached, executed for many rows (batched
            # into multi-row VALUES by the driver layer): not a new statement per size.
            statement = module.insert(table.__table__).on_conflict_do_nothing()
            session.connection().execute(statement, rows)
            return
        for row in rows:  # pragma: no cover - other databases
            if session.get(table, row[next(iter(row))]) is None:
                session.add(table(**row))

    def update_where(self, table: type[Base], where: Any, values: dict[str, Any]) -> None:
        """Set ``values`` on the rows of ``table`` matching ``where``, in one transaction."""
        with self.writing() as session:
            session.execute(update(table).where(where).values(**values))
