"""The run store on SQLite and PostgreSQL: pipelines, runs, step runs, concurrency."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from alambic.core import sha256_text, utcnow
from alambic.errors import NotFoundError
from alambic.pipelines import ArtifactRecord, RunRecord, RunStore, StepRunRecord
from alambic.pipelines._tables import PipelineRow, RunRow, StepRunRow
from alambic.store import current_revision, head_revision
from tests.pipelines import helpers

PIPELINE = sha256_text("pipeline v1")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store(db_url: str) -> RunStore:
    """A freshly migrated store holding one pipeline definition, `train`."""
    opened = RunStore.open(db_url)
    opened.save_pipeline(PIPELINE, "train", {"nodes": ["load", "train"]})
    return opened


@pytest.fixture
def make_run(store: RunStore) -> Callable[..., RunRecord]:
    def make(run_id: str, **values: Any) -> RunRecord:
        fields: dict[str, Any] = {
            "pipeline_name": "train",
            "pipeline_hash": PIPELINE,
            "params": {"lr": 0.1},
            "source": {"file": "pipeline.py"},
            "options": {},
            "status": "pending",
            "created_at": utcnow(),
        }
        return store.create_run(RunRecord(id=run_id, **{**fields, **values}))

    return make


@pytest.fixture
def make_step(store: RunStore) -> Callable[..., StepRunRecord]:
    def make(run_id: str, node: str, **values: Any) -> StepRunRecord:
        fields: dict[str, Any] = {
            "id": f"step-{run_id}-{node}-{values.get('instance', '')}",
            "run_id": run_id,
            "pipeline_name": "train",
            "node": node,
            "instance": "",
            "status": "pending",
            "created_at": utcnow(),
        }
        [saved] = store.save_step_runs([StepRunRecord(**{**fields, **values})])
        return saved

    return make


def artifact(name: str, **values: Any) -> ArtifactRecord:
    fields: dict[str, Any] = {
        "hash": sha256_text(name),
        "materializer": "json",
        "type_name": "builtins.dict",
        "size": 12,
        "meta": {"kind": "dict"},
        "created_at": utcnow(),
    }
    return ArtifactRecord(**{**fields, **values})


def is_utc(moment: datetime | None) -> bool:
    return moment is not None and moment.utcoffset() == timedelta(0)


# -- pipelines -----------------------------------------------------------------------


def test_save_pipeline_is_idempotent(store: RunStore) -> None:
    first = store.get_pipeline(PIPELINE)
    again = store.save_pipeline(PIPELINE, "renamed", {"other": True})
    assert again == first
    assert first.name == "train"
    assert first.definition == {"nodes": ["load", "train"]}
    assert is_utc(first.created_at)
    assert [p["versions"] for p in store.list_pipelines()] == [1]


def test_get_pipeline_of_an_unknown_hash_is_not_found(store: RunStore) -> None:
    with pytest.raises(NotFoundError, match="no pipeline definition"):
        store.get_pipeline("0" * 64)


def test_latest_pipeline_is_the_newest_version(store: RunStore) -> None:
    newer = store.save_pipeline(sha256_text("pipeline v2"), "train", {"nodes": ["train"]})
    store.save_pipeline(sha256_text("other"), "evaluate", {})
    assert store.latest_pipeline("train") == newer
    with pytest.raises(NotFoundError, match="no pipeline named 'missing'"):
        store.latest_pipeline("missing")


def test_list_pipelines_summarises_versions_and_runs(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    v2 = sha256_text("pipeline v2")
    store.save_pipeline(v2, "train", {})
    store.save_pipeline(sha256_text("eval"), "evaluate", {})
    make_run("run-a", created_at=at(1))
    make_run("run-b", created_at=at(5), pipeline_hash=v2)
    summaries = store.list_pipelines()
    assert [s["name"] for s in summaries] == ["evaluate", "train"]
    evaluate, train = summaries
    assert (train["versions"], train["hash"], train["runs"]) == (2, v2, 2)
    assert train["last_run"] == at(5)
    assert (evaluate["versions"], evaluate["runs"], evaluate["last_run"]) == (1, 0, None)


# -- runs ----------------------------------------------------------------------------


def test_a_run_reads_back_as_it_was_written(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    written = make_run(
        "run-20260101-120000-abcdef",
        params={"lr": 0.5, "layers": [1, 2], "name": "ü"},
        outputs={"score": 0.9},
        started_at=at(1),
        error="boom",
    )
    read = store.get_run(written.id)
    assert read == written
    assert read.cancel_requested is False
    assert not read.finished


def test_get_run_accepts_a_unique_prefix(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    for run_id in ("run-a1", "run-a2", "run-b1", "run_x1"):
        make_run(run_id)
    assert store.get_run("run-b").id == "run-b1"
    assert store.get_run("run-a1").id == "run-a1"
    assert store.get_run("run_").id == "run_x1"


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("run-a", "is ambiguous"),
        ("run-c", "does not exist"),
        ("run%", "is ambiguous"),
        ("run-_1", "does not exist"),
        ("nope", "does not exist"),
    ],
    ids=["ambiguous", "unknown", "percent-is-literal", "underscore-is-literal", "no-match"],
)
def test_get_run_refuses_an_ambiguous_or_unknown_prefix(
    store: RunStore, make_run: Callable[..., RunRecord], prefix: str, problem: str
) -> None:
    for run_id in ("run-a1", "run-a2", "run-b1", "run%1", "run%2"):
        make_run(run_id)
    with pytest.raises(NotFoundError, match=problem) as caught:
        store.get_run(prefix)
    assert repr(prefix) in str(caught.value)


def test_list_runs_is_newest_first_and_filters(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    store.save_pipeline(sha256_text("eval"), "evaluate", {})
    make_run("run-2", created_at=at(2), status="failed")
    make_run("run-4", created_at=at(4))
    make_run("run-1", created_at=at(1))
    make_run("run-3b", created_at=at(3), status="failed")
    make_run("run-3a", created_at=at(3))  # same time: the id breaks the tie
    make_run("run-5", created_at=at(5), pipeline_name="evaluate", pipeline_hash=sha256_text("eval"))

    def ids(**filters: Any) -> list[str]:
        return [run.id for run in store.list_runs(**filters)]

    assert ids() == ["run-5", "run-4", "run-3b", "run-3a", "run-2", "run-1"]
    assert ids(limit=2) == ["run-5", "run-4"]
    assert ids(pipeline="train") == ["run-4", "run-3b", "run-3a", "run-2", "run-1"]
    assert ids(status="failed") == ["run-3b", "run-2"]
    assert ids(pipeline="evaluate", status="failed") == []


def test_update_run_sets_only_the_given_columns(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    before = make_run("run-1")
    store.update_run("run-1", status="succeeded", ended_at=at(9), outputs={"model": "h"})
    after = store.get_run("run-1")
    assert (after.status, after.ended_at, after.outputs) == ("succeeded", at(9), {"model": "h"})
    assert after.finished
    assert after.params == before.params
    assert after.created_at == before.created_at


def test_a_run_needs_a_stored_pipeline(store: RunStore) -> None:
    orphan = RunRecord("run-x", "train", "f" * 64, {}, {}, {}, "pending", utcnow())
    with pytest.raises(sa.exc.IntegrityError):
        store.create_run(orphan)


# -- orchestrator claims and heartbeats ----------------------------------------------


def test_claim_run_keeps_out_a_second_orchestrator_while_the_first_is_alive(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    make_run("run-1")
    assert store.claim_run("run-1", "orch-a", stale_after=60)
    assert store.claim_run("run-1", "orch-a", stale_after=60), "re-claiming your own run"
    assert not store.claim_run("run-1", "orch-b", stale_after=60)
    run = store.get_run("run-1")
    assert run.orchestrator == "orch-a"
    assert is_utc(run.heartbeat_at)


def test_claim_run_takes_over_after_stale_after(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    make_run("run-1")
    assert store.claim_run("run-1", "orch-a", stale_after=60)
    store.update_run("run-1", heartbeat_at=utcnow() - timedelta(seconds=30))
    assert not store.claim_run("run-1", "orch-b", stale_after=60)
    assert store.claim_run("run-1", "orch-b", stale_after=10)
    run = store.get_run("run-1")
    assert run.orchestrator == "orch-b"
    assert run.heartbeat_at is not None
    assert utcnow() - run.heartbeat_at < timedelta(seconds=10)


@pytest.mark.parametrize(
    "change",
    [{"status": "cancelled"}, {"cancel_requested": True}, {"status": "succeeded"}],
    ids=["cancelled", "cancel-requested", "succeeded"],
)
def test_claim_run_never_takes_a_run_that_finished_or_is_being_cancelled(
    store: RunStore, make_run: Callable[..., RunRecord], change: dict[str, object]
) -> None:
    # A cancel can land before a submitted run's process starts: that process must not
    # bring the run back to life.
    make_run("run-1")
    store.update_run("run-1", **change)
    assert not store.claim_run("run-1", "orch-a", stale_after=60)
    assert store.get_run("run-1").orchestrator is None


def test_claim_run_of_an_unknown_run_is_not_found(store: RunStore) -> None:
    with pytest.raises(NotFoundError, match="'run-nope' does not exist"):
        store.claim_run("run-nope", "orch-a", stale_after=60)


def test_claim_run_is_atomic_between_two_orchestrators(
    store: RunStore,
    make_run: Callable[..., RunRecord],
) -> None:
    make_run("run-1")
    names = ("orch-a", "orch-b")
    started = {name: threading.Event() for name in names}
    has_read = {name: threading.Event() for name in names}

    def mark_started(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        me = threading.current_thread().name
        if me in started:
            started[me].set()

    def mark_read(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        me = threading.current_thread().name
        if me in has_read and "FROM runs" in statement:
            has_read[me].set()

    def meet_before_writing(*_: Any) -> None:
        # The worst interleaving: each claimer writes only once the other has read the
        # row. A database that serialises claims keeps the other blocked before its
        # read; then, once the other has started, a short wait is enough.
        me = threading.current_thread().name
        other = names[1 - names.index(me)]
        started[other].wait(timeout=30)
        has_read[other].wait(timeout=1)

    results: dict[str, bool] = {}

    def claim() -> None:
        name = threading.current_thread().name
        results[name] = store.claim_run("run-1", name, stale_after=60)

    event.listen(store.engine, "before_cursor_execute", mark_started)
    event.listen(store.engine, "after_cursor_execute", mark_read)
    event.listen(Session, "before_flush", meet_before_writing)
    try:
        threads = [threading.Thread(target=claim, name=name) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "before_flush", meet_before_writing)
        event.remove(store.engine, "before_cursor_execute", mark_started)
        event.remove(store.engine, "after_cursor_execute", mark_read)
    assert sorted(results.values()) == [False, True]
    [winner] = [name for name, won in results.items() if won]
    assert store.get_run("run-1").orchestrator == winner


def test_heartbeat_refreshes_only_the_holder_and_reports_cancel(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    make_run("run-1")
    store.claim_run("run-1", "orch-a", stale_after=60)
    store.update_run("run-1", heartbeat_at=at(0))
    assert store.heartbeat("run-1", "orch-b") == (False, False), "not the holder"
    assert store.get_run("run-1").heartbeat_at == at(0), "not the holder: no refresh"
    assert store.heartbeat("run-1", "orch-a") == (True, False)
    refreshed = store.get_run("run-1").heartbeat_at
    assert refreshed is not None
    assert refreshed > at(0)
    store.update_run("run-1", cancel_requested=True)
    assert store.heartbeat("run-1", "orch-a") == (True, True)
    assert store.get_run("run-1").cancel_requested is True


# -- step runs -----------------------------------------------------------------------


def test_save_step_runs_inserts_and_keeps_existing_rows(
    store: RunStore, make_run: Callable[..., RunRecord]
) -> None:
    make_run("run-1")
    first = [
        StepRunRecord("s-load", "run-1", "train", "load", "", "pending", at(0)),
        StepRunRecord("s-fit-0", "run-1", "train", "fit", "0", "pending", at(1)),
    ]
    assert store.save_step_runs(first) == first
    store.update_step_run("s-fit-0", status="running", attempt=1)
    second = [
        StepRunRecord("s-fit-0-again", "run-1", "train", "fit", "0", "pending", at(2)),
        StepRunRecord("s-fit-1", "run-1", "train", "fit", "1", "pending", at(3)),
    ]
    saved = store.save_step_runs(second)
    assert [s.id for s in saved] == ["s-fit-0", "s-fit-1"]
    assert (saved[0].status, saved[0].attempt) == ("running", 1), "the existing row, as it is"
    assert [s.label for s in store.step_runs("run-1")] == ["load", "fit[0]", "fit[1]"]
    assert store.save_step_runs([]) == []


def test_update_and_finish_step_run_with_artifacts(
    store: RunStore,
    make_run: Callable[..., RunRecord],
    make_step: Callable[..., StepRunRecord],
) -> None:
    make_run("run-1")
    step = make_step("run-1", "fit")
    store.update_step_run(step.id, status="running", started_at=at(1), attempt=1)
    model = artifact("model")
    store.finish_step_run(
        step.id,
        [model, artifact("metrics"), model],  # the same hash twice in one call
        status="succeeded",
        ended_at=at(3),
        duration=120.0,
        outputs={"model": model.hash},
        cache_key="k" * 64,
    )
    [done] = store.step_runs("run-1")
    assert (done.status, done.attempt, done.duration) == ("succeeded", 1, 120.0)
    assert (done.started_at, done.ended_at) == (at(1), at(3))
    assert done.outputs == {"model": model.hash}
    assert store.get_artifact(model.hash) == model


def test_recording_a_known_artifact_again_is_a_no_op(
    store: RunStore,
    make_run: Callable[..., RunRecord],
    make_step: Callable[..., StepRunRecord],
) -> None:
    make_run("run-1")
    original = artifact("model", size=100)
    store.record_artifacts([original])
    store.record_artifacts([artifact("model", size=999, materializer="bytes")])
    store.finish_step_run(make_step("run-1", "fit").id, [original], status="succeeded")
    assert store.get_artifact(original.hash) == original
    with pytest.raises(NotFoundError, match="no artifact"):
        store.get_artifact(sha256_text("never recorded"))


def test_find_cached_returns_the_newest_succeeded_step_with_the_key(
    store: RunStore,
    make_run: Callable[..., RunRecord],
    make_step: Callable[..., StepRunRecord],
) -> None:
    key = sha256_text("inputs")
    for i, (status, ended) in enumerate([("succeeded", 1), ("succeeded", 5), ("failed", 9)]):
        make_run(f"run-{i}")
        make_step(f"run-{i}", "fit", status=status, cache_key=key, ended_at=at(ended))
    make_run("run-other")
    make_step("run-other", "fit", status="succeeded", cache_key=sha256_text("x"), ended_at=at(7))
    hit = store.find_cached(key)
    assert hit is not None
    assert (hit.run_id, hit.cache_key, hit.ended_at) == ("run-1", key, at(5))
    assert store.find_cached(sha256_text("never")) is None


def test_previous_step_run_looks_only_at_other_runs(
    store: RunStore,
    make_run: Callable[..., RunRecord],
    make_step: Callable[..., StepRunRecord],
) -> None:
    steps = [
        ("run-1", "succeeded", "k1", 1),
        ("run-2", "failed", "k2", 2),
        ("run-3", "running", "k3", 3),  # not finished: no use explaining a miss
        ("run-4", "succeeded", None, 4),  # never had a cache key
    ]
    for run_id, status, key, minute in steps:
        make_run(run_id)
        make_step(run_id, "fit", status=status, cache_key=key, created_at=at(minute))

    def previous(exclude: str, instance: str = "") -> str | None:
        found = store.previous_step_run("train", "fit", instance, exclude_run=exclude)
        return None if found is None else found.run_id

    assert previous("run-4") == "run-2"
    assert previous("run-2") == "run-1"
    assert previous("run-4", instance="0") is None


def test_timestamps_come_back_timezone_aware_utc(
    store: RunStore,
    make_run: Callable[..., RunRecord],
    make_step: Callable[..., StepRunRecord],
) -> None:
    tokyo = timezone(timedelta(hours=9))
    written = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=tokyo)
    make_run("run-1", created_at=written, started_at=written)
    make_step("run-1", "fit", created_at=written, ended_at=written)
    run = store.get_run("run-1")
    [step] = store.step_runs("run-1")
    for moment in (run.created_at, run.started_at, step.created_at, step.ended_at):
        assert is_utc(moment), moment
        assert moment == written, "the same instant, to the microsecond"


@pytest.mark.postgres
def test_timestamps_are_utc_whatever_the_postgres_session_timezone(pg_url: str) -> None:
    store = RunStore.open(f"{pg_url}%20-ctimezone%3DAsia/Tokyo")
    record = store.save_pipeline(PIPELINE, "train", {})
    assert is_utc(store.get_pipeline(record.hash).created_at)


def test_save_pipeline_is_idempotent_while_another_writer_inserts_it(
    store: RunStore, db_url: str
) -> None:
    # Regression: get-then-insert failed with a UniqueViolation on PostgreSQL.
    postgres = store.engine.dialect.name == "postgresql"
    same = sha256_text("started twice at once")
    other = sa.create_engine(db_url)
    try:
        with other.connect() as connection:
            connection.execute(
                sa.insert(PipelineRow).values(
                    hash=same, name="train", definition={}, created_at=utcnow()
                )
            )  # not committed yet: the store must wait for it, then find it
            with ThreadPoolExecutor(max_workers=1) as pool:
                saving = pool.submit(store.save_pipeline, same, "train", {"late": True})
                _wait_until_blocked(other, postgres)
                connection.commit()
                assert saving.result(timeout=30).definition == {}
    finally:
        other.dispose()


def _wait_until_blocked(engine: sa.Engine, postgres: bool) -> None:
    """Wait until the store's insert waits on our uncommitted row (or give it a moment)."""
    if not postgres:
        time.sleep(0.3)  # SQLite serialises writers; either ordering must succeed
        return
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'INSERT INTO pipelines%'"
    )
    with engine.connect() as observer:
        for _ in range(200):
            if observer.execute(waiting).scalar():
                return
            observer.rollback()  # pg_stat_activity is a snapshot per transaction
            time.sleep(0.05)
    raise AssertionError("the store's insert never waited on the uncommitted row")


# -- many processes at once ----------------------------------------------------------


def test_concurrent_processes_all_write_to_a_fresh_database(db_url: str, tmp_path: Path) -> None:
    """8 processes open the same fresh database at once (racing to migrate it), then write."""
    n_workers, n_runs = 8, 25
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n_workers)
    errors = [tmp_path / f"worker-{i}.err" for i in range(n_workers)]
    workers = [
        context.Process(target=helpers.populate, args=(db_url, i, n_runs, barrier, str(errors[i])))
        for i in range(n_workers)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    reports = [e.read_text() for e in errors if e.exists()]
    assert reports == []
    assert [w.exitcode for w in workers] == [0] * n_workers

    store = RunStore.open(db_url)
    assert current_revision(store.engine) == head_revision()
    with Session(store.engine) as session:
        runs = session.scalar(sa.select(sa.func.count()).select_from(RunRow))
        steps = session.scalar(sa.select(sa.func.count()).select_from(StepRunRow))
        finished = session.scalar(
            sa.select(sa.func.count())
            .select_from(StepRunRow)
            .where(StepRunRow.status == "succeeded")
        )
    assert runs == n_workers * n_runs == 200
    assert steps == 2 * runs
    assert finished == runs
    assert len(store.list_pipelines()) == 1
    assert store.list_pipelines()[0]["versions"] == n_workers
    assert store.get_artifact(helpers.SHARED_ARTIFACT).materializer == "json"
