"""The repository base class: records, transactions that retry what may succeed again."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from alambic.errors import StoreError
from alambic.store import Repository, to_record


class _Base(DeclarativeBase):
    """A base of the tests' own: alambic's Base holds exactly the migrated tables."""


class CounterRow(_Base):
    __tablename__ = "test_counters"

    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer)


@dataclass(frozen=True)
class Counter:
    name: str
    value: int


@pytest.fixture
def counters(db_url: str) -> Repository:
    repository = Repository.open(db_url)
    CounterRow.__table__.create(repository.engine)  # type: ignore[attr-defined]
    with repository.writing() as session:
        session.add_all([CounterRow(name="a", value=0), CounterRow(name="b", value=0)])
    return repository


def test_to_record_copies_the_dataclass_fields_from_a_row(counters: Repository) -> None:
    with counters.reading() as session:
        row = session.get(CounterRow, "a")
        assert to_record(Counter, row) == Counter("a", 0)


def test_a_lost_insert_race_runs_again_and_finds_the_winners_row(counters: Repository) -> None:
    attempts = []

    def work(session: Session) -> Counter:
        attempts.append(1)
        row = session.get(CounterRow, "a") if len(attempts) > 1 else None
        if row is None:  # the first attempt did not see the row "another process" made
            row = CounterRow(name="a", value=99)
            session.add(row)
            session.flush()
        return to_record(Counter, row)

    assert counters.transaction(work, conflicts=True) == Counter("a", 0)
    assert len(attempts) == 2
    with pytest.raises(IntegrityError):  # without conflicts=True, a duplicate is an error
        attempts.clear()
        counters.transaction(work)


def test_sqlite_busy_after_its_timeout_is_retried_once(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    CounterRow.__table__.create(engine)  # type: ignore[attr-defined]
    repository = Repository(engine)

    def work(session: Session) -> None:
        session.add(CounterRow(name="late", value=1))

    holder = sqlite3.connect(path, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for a while
    releaser = threading.Timer(0.3, holder.commit)  # after the first attempt gave up
    releaser.start()
    try:
        repository.transaction(work, attempts=8)
    finally:
        releaser.join()
    with Session(engine) as session:
        assert session.get(CounterRow, "late") is not None

    holder.execute("BEGIN EXCLUSIVE")  # and now one that never lets go
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match="database is locked"):
            repository.transaction(work, attempts=8)
    finally:
        holder.rollback()
        holder.close()
    # Busy SQLite has already waited its timeout: one more attempt, not seven.
    assert time.monotonic() - started < 1.0
    engine.dispose()


@pytest.mark.postgres
def test_a_postgres_deadlock_victim_runs_again(pg_url: str) -> None:
    repository = Repository.open(pg_url)
    CounterRow.__table__.create(repository.engine)  # type: ignore[attr-defined]
    with repository.writing() as session:
        session.add_all([CounterRow(name="a", value=0), CounterRow(name="b", value=0)])
    both_hold_one = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []
    attempts: list[str] = []

    def bump(first: str, second: str) -> None:
        calls = []

        def work(session: Session) -> None:
            calls.append(1)
            attempts.append(first)
            session.get(CounterRow, first, with_for_update=True).value += 1  # type: ignore[union-attr]
            if len(calls) == 1:
                both_hold_one.wait()  # each holds its first row: locking the second deadlocks
            session.get(CounterRow, second, with_for_update=True).value += 1  # type: ignore[union-attr]

        try:
            repository.transaction(work)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(attempts) == 3, "the database chose one victim, which ran again"
    with repository.reading() as session:
        assert {r.name: r.value for r in session.scalars(sa.select(CounterRow))} == {"a": 2, "b": 2}


def test_a_database_that_cannot_be_reached_says_what_to_check() -> None:
    repository = Repository(sa.create_engine("postgresql+psycopg://127.0.0.1:1/nowhere"))
    with pytest.raises(StoreError, match="check ALAMBIC_DB_URL"):
        repository.transaction(lambda session: session.execute(sa.text("SELECT 1")))
    with pytest.raises(StoreError, match="check ALAMBIC_DB_URL"), repository.writing() as session:
        session.execute(sa.text("SELECT 1"))
