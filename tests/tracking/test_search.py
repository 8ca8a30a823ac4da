"""``search_runs`` in SQL returns exactly what the in-memory reference returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from alambic import tracking
from alambic.store import get_engine
from alambic.tracking import RunChange, TrackingError, TrackingStore, search_runs
from alambic.tracking._filter import as_number
from alambic.tracking._search import _search_in_memory, _search_sql
from alambic.tracking._tables import ExperimentRow, RunValueRow, TrackedRunRow

TEXTS = ["0", "1", "2", "10", "-1", "1.5", " 2 ", "1e3", "inf", "-Infinity", "abc", "B", "a", ""]
TEXTS += ["é", "nan", "0.5", "1.0"]
METRICS = [None, 0.0, -0.0, 0.5, 1.0, -2.5, 10.0, 1e-05, 3.0]
NUMBERS = ["0", "1", "-1", "0.5", "2.5", "1e3", "10", "1.0"]
OPS = ["=", "==", "!=", "<", "<=", ">", ">="]
KEYED = ["metrics.m", "metrics.n", "metrics.zz", "params.a", "params.b", "params.zz", "tags.t"]
ATTRIBUTES = ["status", "name", "kind", "experiment", "parent_id", "attributes.status"]
ORDERS = ["metrics.m", "metrics.n DESC", "params.a", "params.b DESC", "tags.t", "name DESC"]
ORDERS += ["status", "start_time", "end_time DESC", "parent_id", "experiment DESC", "kind"]
ORDERS += ["metrics.zz", "run_id DESC"]
START = datetime(2026, 1, 1, tzinfo=UTC)


def _run(draw: st.DrawFn, index: int, earlier: list[str]) -> RunChange:
    def some(keys: list[str], values: list[Any]) -> dict[str, Any]:
        chosen = draw(st.lists(st.sampled_from(keys), unique=True))
        return {key: draw(st.sampled_from(values)) for key in chosen}

    ended = draw(st.sampled_from([None, 1, 2]))
    return RunChange(
        id=f"run-{index:03d}",
        experiment=draw(st.sampled_from(["e1", "e2"])),
        parent_id=draw(st.sampled_from([None, *earlier[-2:]])),
        kind=draw(st.sampled_from(["manual", "trial"])),
        name=draw(st.sampled_from(["r1", "r2", "B", "a", "10"])),
        status=draw(st.sampled_from(["running", "finished", "failed"])),
        created_at=START + timedelta(seconds=draw(st.integers(0, 3))),
        ended_at=None if ended is None else START + timedelta(minutes=ended),
        params=some(["a", "b"], TEXTS),
        metrics=some(["m", "n"], METRICS),
        tags=some(["t"], TEXTS),
    )


@st.composite
def _runs(draw: st.DrawFn) -> list[RunChange]:
    runs: list[RunChange] = []
    for index in range(draw(st.sampled_from([*range(3, 13), 0]))):
        runs.append(_run(draw, index, [run.id for run in runs]))
    return runs


_LEAF = st.one_of(
    st.builds(
        "{} {} {}".format, st.sampled_from(KEYED), st.sampled_from(OPS), st.sampled_from(NUMBERS)
    ),
    st.builds(
        "{} {} '{}'".format,
        st.sampled_from(KEYED + ATTRIBUTES),
        st.sampled_from(OPS),
        st.sampled_from([*TEXTS, "r1", "finished", "trial", "e1", "run-000"]),
    ),
)
_FILTERS = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.builds("{} {} {}".format, inner, st.sampled_from(["and", "or", "or", "AND"]), inner),
        st.builds("({})".format, inner),
    ),
    max_leaves=5,
)


def _empty_store(engine: Engine) -> TrackingStore:
    with engine.begin() as connection:
        for table in (RunValueRow, TrackedRunRow, ExperimentRow):
            connection.execute(delete(table))
    return TrackingStore(engine)  # a new one: it remembers no experiment


def _answer(search: Any, store: TrackingStore, filter: str | None, **options: Any) -> Any:
    try:
        frame = search(store, filter, **options)
    except TrackingError as exc:
        return str(exc)
    # The reference has a column for every key of every run it loaded; SQL, for the runs
    # it returns: compare the columns that hold a value.
    kept = frame.dropna(axis="columns", how="all")
    return kept[sorted(kept.columns)]


@pytest.fixture
def engine(db_url: str) -> Engine:
    return get_engine(db_url)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    runs=_runs(),
    filter=st.none() | _FILTERS,
    order_by=st.none() | st.lists(st.sampled_from(ORDERS), max_size=3),
    experiments=st.sampled_from([None, ["e1"], ["e2", "e1"], None, [], ["nope"]]),
    max_results=st.sampled_from([1000, 3, 1000, 1, 0]),
)
def test_sql_search_returns_what_the_in_memory_search_returns(
    engine: Engine,
    runs: list[RunChange],
    filter: str | None,
    order_by: list[str] | None,
    experiments: list[str] | None,
    max_results: int,
) -> None:
    store = _empty_store(engine)
    store.write(runs[: len(runs) // 2], [])
    store.write(runs[len(runs) // 2 :], [])  # some runs change after they were written:
    store.write([RunChange(id=run.id, metrics={"n": 2.0}) for run in runs[::3]], [])
    options = {"experiments": experiments, "order_by": order_by, "max_results": max_results}
    expected = _answer(_search_in_memory, store, filter, **options)
    found = _answer(_search_sql, store, filter, **options)
    event("refused" if isinstance(expected, str) else f"rows > 0: {len(expected) > 0}")
    if isinstance(expected, str) or isinstance(found, str):
        assert found == expected
        return
    assert list(found.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)


@given(st.text(alphabet="0123456789.eE+- \t\nIiNnFfAaTtYy_x,", max_size=12))
def test_params_read_as_numbers_as_pandas_reads_them(text: str) -> None:
    expected = pd.to_numeric(pd.Series([text], dtype=object), errors="coerce").iloc[0]
    number = as_number(text)
    if pd.isna(expected):
        assert number is None
    else:
        assert number == expected


def test_a_number_compared_with_an_attribute_is_still_answered() -> None:
    for name in ("3", "7", "x"):
        with tracking.start_run(name, experiment="attr"):
            tracking.log_metric("auc", 0.5)
    assert sorted(search_runs("name > 5", experiment="attr")["name"]) == ["7"]


def test_params_logged_again_are_found_by_their_new_value() -> None:
    with tracking.start_run("changing", experiment="again") as run:
        tracking.log_param("depth", 3)
    tracking.log_param("depth", 9, run_id=run.id)
    tracking.log_metric("auc", 0.9, run_id=run.id)
    assert search_runs("params.depth > 5", experiment="again")["run_id"].tolist() == [run.id]
    assert search_runs("params.depth < 5", experiment="again").empty


def test_runs_written_before_the_search_tables_are_found_after_the_upgrade(db_url: str) -> None:
    from alembic import command

    from alambic.store import upgrade
    from alambic.store._db import _alembic_config

    engine = get_engine(db_url, migrate=False)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0005")
        connection.execute(
            ExperimentRow.__table__.insert(),
            [{"id": "exp-1", "name": "old", "tags": {}, "created_at": START}],
        )
        connection.execute(
            TrackedRunRow.__table__.insert(),
            [
                {
                    "id": f"run-{k}",
                    "experiment_id": "exp-1",
                    "kind": "manual",
                    "name": f"run-{k}",
                    "status": "finished",
                    "params": {"depth": str(k)},
                    "metrics": {"auc": k / 10, "loss": None},
                    "tags": {"team": "risk"},
                    "artifacts": {},
                    "created_at": START + timedelta(seconds=k),
                }
                for k in range(5)
            ],
        )
    upgrade(engine)
    store = TrackingStore(engine)
    options: dict[str, Any] = {"experiments": ["old"], "order_by": "metrics.auc DESC"}
    found = _search_sql(store, "params.depth >= 2 and tags.team = 'risk'", max_results=9, **options)
    assert found["name"].tolist() == ["run-4", "run-3", "run-2"]
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0005")
        command.upgrade(_alembic_config(connection), "head")
