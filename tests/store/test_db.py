"""The metadata database on SQLite and PostgreSQL: engines, migrations, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from alambic.errors import StoreError
from alambic.store import Base, current_revision, get_engine, head_revision, upgrade
from tests.store.helpers import every_table


def test_a_fresh_database_is_migrated_on_open(db_url: str) -> None:
    engine = get_engine(db_url)
    assert current_revision(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version", *every_table()}


def test_upgrade_is_idempotent_and_reports_before_and_after(db_url: str) -> None:
    engine = get_engine(db_url, migrate=False)
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    assert upgrade(engine) == (head_revision(), head_revision())
    assert upgrade(engine, only_if_needed=True) == (head_revision(), head_revision())
    assert current_revision(engine) == head_revision()


def test_the_capabilities_tables_and_the_one_migration_history_agree(db_url: str) -> None:
    tables = every_table()  # imports every capability's tables onto Base.metadata
    assert {"runs", "tracked_runs", "model_versions", "endpoints", "audit_log"} <= tables
    engine = get_engine(db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_opening_after_an_unmigrated_get_engine_still_migrates(db_url: str) -> None:
    get_engine(db_url, migrate=False)
    engine = get_engine(db_url)
    assert current_revision(engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(home: Path) -> None:
    engine = get_engine(f"sqlite:///{home / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("not a url", "is not a database URL; use sqlite:///"),
        ("nosuchdb://host/x", "no driver for nosuchdb"),
        ("postgresql+psycopg://127.0.0.1:1/x", "check ALAMBIC_DB_URL and that the server"),
    ],
    ids=["not-a-url", "unknown-driver", "unreachable-postgres"],
)
def test_an_unusable_database_url_says_what_to_check(url: str, hint: str) -> None:
    with pytest.raises(StoreError, match=hint) as caught:
        get_engine(url)
    assert caught.value.__cause__ is not None, "the driver's error is kept as the cause"


def test_the_audit_subject_migration_classifies_old_rows_and_can_be_undone(db_url: str) -> None:
    from alembic import command

    from alambic.store._db import _alembic_config

    engine = get_engine(db_url, migrate=False)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0004")
    old = ["fraud-auto", "endpoint:fraud", "token:0a1b2c", "endpoint:a_b%c"]
    insert = sa.text(
        'INSERT INTO audit_log (at, actor, action, "group", comment) '
        "VALUES (CURRENT_TIMESTAMP, 'me', 'change', :group, '')"
    )
    with engine.begin() as connection:
        connection.execute(insert, [{"group": group} for group in old])
    upgrade(engine)
    read = sa.text("SELECT subject_kind, subject FROM audit_log ORDER BY id")
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(read)] == [
            ("model_group", "fraud-auto"),
            ("endpoint", "fraud"),
            ("token", "0a1b2c"),
            ("endpoint", "a_b%c"),
        ]
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0004")
    with engine.connect() as connection:
        back = connection.execute(sa.text('SELECT "group" FROM audit_log ORDER BY id'))
        assert [row[0] for row in back] == old
