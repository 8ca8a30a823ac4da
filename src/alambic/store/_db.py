"""Engines for the metadata database, and its Alembic migrations.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue up instead of failing with
"database is locked" when a reader upgrades to a writer. PostgreSQL needs nothing
special.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from alambic.errors import StoreError

if TYPE_CHECKING:  # Alembic is imported when a schema is checked: commands start faster
    from alembic.config import Config

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()
# A constant key for pg_advisory_lock, so that only one process migrates at a time.
_PG_LOCK_KEY = 0x616C616D


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite answers "locked" at
    # once (no busy wait) while another process switches it: retry for up to a minute.
    deadline = time.monotonic() + 60
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Readers take no write lock (WAL lets them run beside a writer); writers queue up.
    read_only = connection.get_execution_options().get("alambic_read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"ALAMBIC_DB_URL={url!r} is not a database URL; use sqlite:///path/to/alambic.db "
            "or postgresql+psycopg://host:5432/db"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no driver for {parsed.drivername}; for PostgreSQL install alambic[postgres] "
            "and use postgresql+psycopg://"
        ) from exc


def get_engine(url: str, *, migrate: bool = True) -> Engine:
    """Return the process-wide engine for ``url``, migrated to the newest schema.

    Raises:
        StoreError: the database cannot be reached or migrated.
    """
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
        if migrate and url not in _migrated:
            upgrade(engine, only_if_needed=True)
            _migrated.add(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (call after fork, and in tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


def forget_connections(*, close: bool = False) -> None:
    """Drop the pooled connections, and keep the engines, their compiled statements and
    what is known of their schema (a forked child starts cheaply when its parent warmed
    them).

    Args:
        close: close the connections (in the parent, before it forks); by default, in a
            forked child, they are only let go: they are the parent's.
    """
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """Return the newest schema revision this alambic knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(_MIGRATIONS))
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError("alambic ships no migrations; reinstall alambic")
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision of the database, or None when it is empty."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(str(engine.url.database)).expanduser().with_suffix(".migrate.lock")
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
    else:
        yield


def upgrade(engine: Engine, *, only_if_needed: bool = False) -> tuple[str | None, str]:
    """Migrate the database to the newest schema; return (revision before, revision after).

    Several processes may call this at once on a fresh database: a lock (a file lock
    for SQLite, an advisory lock for PostgreSQL) lets one migrate while the others wait.

    Raises:
        StoreError: the database cannot be reached or the migration failed.
    """
    head = head_revision()
    try:
        before = current_revision(engine)
        if only_if_needed and before == head:
            return before, head
        with _migration_lock(engine):
            before = current_revision(engine)
            if before != head:
                log.info("migrating %s from %s to %s", engine.url, before, head)
                from alembic import command

                with engine.begin() as connection:
                    command.upgrade(_alembic_config(connection), "head")
    except OperationalError as exc:
        raise StoreError(
            f"cannot open the metadata database {engine.url!r}: {exc.orig}; check ALAMBIC_DB_URL "
            "and that the server is running"
        ) from exc
    return before, head
