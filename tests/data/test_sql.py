"""SQL over files with DuckDB and over PostgreSQL, fingerprints and the cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import alambic as al
from alambic.data import query, sql_fingerprint
from alambic.errors import DataError
from tests.data import flows


@pytest.fixture
def listings(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "id": range(6),
            "category": ["auto", "moto", "auto", "loisir", "moto", "auto"],
            "price": [1000.0, 500.0, 2500.0, 8000.0, 700.0, 100.0],
        }
    )
    path = tmp_path / "listings.parquet"
    frame.to_parquet(path)
    return path


def test_query_over_a_parquet_file_with_bound_parameters(listings: Path) -> None:
    frame = query(
        "SELECT id, price FROM listings WHERE category = $c AND price > $p ORDER BY id",
        params={"c": "auto", "p": 500},
        sources={"listings": str(listings)},
    )
    assert frame["id"].tolist() == [0, 2]


def test_parameters_are_values_never_sql(listings: Path) -> None:
    hostile = "auto' OR '1'='1"
    frame = query(
        "SELECT * FROM listings WHERE category = ?",
        params=[hostile],
        sources={"listings": str(listings)},
    )
    assert frame.empty


def test_csv_files_and_folders_of_files(tmp_path: Path, listings: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    data = pd.read_parquet(listings)
    data.iloc[:3].to_parquet(folder / "a.parquet")
    data.iloc[3:].to_parquet(folder / "b.parquet")
    data.to_csv(tmp_path / "listings.csv", index=False)
    frame = query("SELECT count(*) AS n FROM parts", sources={"parts": str(folder)})
    assert frame["n"].item() == 6
    frame = query(
        "SELECT sum(price) AS total FROM listings",
        sources={"listings": str(tmp_path / "listings.csv")},
    )
    assert frame["total"].item() == pytest.approx(12800.0)


def test_an_fsspec_url_source(listings: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe_file("/bucket/listings.parquet", listings.read_bytes())
    frame = query(
        "SELECT count(*) AS n FROM listings",
        sources={"listings": "memory://bucket/listings.parquet"},
    )
    assert frame["n"].item() == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [("SELEC * FROM listings", "syntax error"), ("SELECT * FROM nope", "nope")],
    ids=["syntax-error", "unknown-table"],
)
def test_a_failing_query_names_the_query_and_the_source(
    listings: Path, text: str, expected: str
) -> None:
    with pytest.raises(DataError) as caught:
        query(text, sources={"listings": str(listings)})
    message = str(caught.value)
    assert expected in message.lower()
    assert f"listings ({listings})" in message
    assert text in message


def test_bad_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        query("SELECT 1", sources={"t": str(tmp_path / "missing.parquet")})
    with pytest.raises(DataError, match="not a SQL identifier"):
        query("SELECT 1", sources={"bad name": str(tmp_path)})
    with pytest.raises(DataError, match="not both"):
        query("SELECT 1", sources={"t": "x.parquet"}, url="sqlite://")


@pytest.mark.postgres
def test_query_a_postgresql_database(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE listings (id int, category text, price float)"))
        connection.execute(sa.text("INSERT INTO listings VALUES (1, 'auto', 10), (2, 'moto', 20)"))
    engine.dispose()
    frame = query("SELECT id FROM listings WHERE category = :c", params={"c": "moto"}, url=pg_url)
    assert frame["id"].tolist() == [2]
    with pytest.raises(DataError, match=r"database .*127\.0\.0\.1"):
        query("SELECT * FROM missing_table", url=pg_url)
    snapshot = "SELECT count(*) FROM listings"
    before = sql_fingerprint("q", url=pg_url, snapshot=snapshot)
    assert before == sql_fingerprint("q", url=pg_url, snapshot=snapshot)
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO listings VALUES (3, 'auto', 30)"))
    engine.dispose()
    assert sql_fingerprint("q", url=pg_url, snapshot=snapshot) != before
    assert sql_fingerprint("q", url=pg_url) != sql_fingerprint("q", url=pg_url)  # no snapshot


def test_fingerprint_follows_file_content(listings: Path) -> None:
    sources = {"listings": str(listings)}
    first = sql_fingerprint("q", sources=sources)
    assert sql_fingerprint("q", sources=sources) == first
    listings.touch()  # a new mtime alone is not a change
    assert sql_fingerprint("q", sources=sources) == first
    pd.DataFrame({"id": [9], "category": ["auto"], "price": [1.0]}).to_parquet(listings)
    assert sql_fingerprint("q", sources=sources) != first


def test_in_a_pipeline_unchanged_data_is_a_hit_and_changed_data_a_miss(listings: Path) -> None:
    first = al.run(flows.per_category, params={"path": str(listings)})
    assert first.succeeded, first.error
    assert first.result() == [3, 2]
    assert first.step("sql", 0).cache["components"]["data"]  # the fingerprint is recorded

    again = al.run(flows.per_category, params={"path": str(listings)})
    assert {s.status for s in again.steps} == {"cached"}

    data = pd.read_parquet(listings)
    extra = pd.DataFrame({"id": [6], "category": ["moto"], "price": [900.0]})
    pd.concat([data, extra], ignore_index=True).to_parquet(listings)
    changed = al.run(flows.per_category, params={"path": str(listings)})
    assert changed.result() == [3, 3]
    reason = changed.step("sql", 1).cache["reason"]
    assert reason.startswith("miss:") and "the data it reads changed" in reason
    # The auto rows did not change: its count step is served from the cache.
    assert changed.step("count_rows", 0).status == "cached"


def test_a_failing_query_fails_its_step_and_caches_nothing(listings: Path) -> None:
    run = al.run(flows.broken, params={"path": str(listings)})
    assert run.status == "failed"
    step = run.step("sql")
    assert "DataError" in (step.error or "") and "syntax error" in (step.error or "").lower()
    assert step.outputs == {}
    again = al.run(flows.broken, params={"path": str(listings)})
    assert again.step("sql").status == "failed"  # not served from any cache


def test_a_missing_source_fails_the_step_before_it_runs(tmp_path: Path) -> None:
    run = al.run(flows.broken, params={"path": str(tmp_path / "nope.parquet")})
    assert run.status == "failed"
    assert "does not exist" in (run.step("sql").error or "")
    assert run.step("sql").attempt == 0  # refused by the fingerprint, never executed


# -- min_rows ------------------------------------------------------------------------------
CATEGORY_QUERY = "SELECT * FROM listings WHERE category = $category"


@pytest.mark.parametrize(
    ("category", "min_rows", "n"),
    [("auto", 1, 3), ("auto", 3, 3), ("car", 0, 0), ("car", None, 0)],
    ids=["some-rows", "exactly-enough", "zero-asks-nothing", "no-check"],
)
def test_min_rows_lets_enough_rows_through(
    listings: Path, category: str, min_rows: int | None, n: int
) -> None:
    frame = query(
        CATEGORY_QUERY,
        params={"category": category},
        sources={"listings": str(listings)},
        min_rows=min_rows,
    )
    assert len(frame) == n


@pytest.mark.parametrize(
    ("category", "min_rows", "count"),
    [("car", 1, "0 rows"), ("loisir", 2, "1 row"), ("moto", 5, "2 rows")],
    ids=["empty", "one-row", "too-few"],
)
def test_too_few_rows_name_the_query_its_parameters_and_the_count(
    listings: Path, category: str, min_rows: int, count: str
) -> None:
    with pytest.raises(DataError) as caught:
        query(
            CATEGORY_QUERY,
            params={"category": category},
            sources={"listings": str(listings)},
            min_rows=min_rows,
        )
    message = str(caught.value)
    assert message.startswith(
        f"the query returned {count}, fewer than min_rows={min_rows}: "
        f"{CATEGORY_QUERY} with category={category!r}; "
    )
    assert f"listings ({listings})" in message  # where to look next


def test_too_few_rows_with_positional_parameters(listings: Path) -> None:
    with pytest.raises(DataError, match=r"with parameters 'car', 10; check the parameter"):
        query(
            "SELECT * FROM listings WHERE category = ? AND price > ?",
            params=["car", 10],
            sources={"listings": str(listings)},
            min_rows=1,
        )
    with pytest.raises(DataError, match=r"fewer than min_rows=7: SELECT \* FROM listings; check"):
        query("SELECT * FROM listings", sources={"listings": str(listings)}, min_rows=7)


@pytest.mark.parametrize("min_rows", [-1, 1.5, "1", True], ids=["negative", "float", "str", "bool"])
def test_a_bad_min_rows_is_refused_before_the_query_runs(min_rows: object) -> None:
    with pytest.raises(DataError, match=r"min_rows must be an int >= 0"):
        query("SELECT * FROM nowhere", min_rows=min_rows)  # type: ignore[arg-type]


def test_in_a_pipeline_too_few_rows_fail_the_query_step(listings: Path) -> None:
    run = al.run(flows.non_empty, params={"path": str(listings), "categories": ["auto", "car"]})
    assert run.status == "failed"
    assert run.step("sql", 0).status == "succeeded"
    assert run.step("count_rows", 0).status == "succeeded"
    failed = run.step("sql", 1)
    assert failed.status == "failed"
    error = failed.error or ""
    assert "DataError: the query returned 0 rows, fewer than min_rows=1" in error
    assert "with category='car'" in error
    assert run.step("count_rows", 1).status != "succeeded"  # nothing counted no rows


def test_without_min_rows_al_sql_keeps_its_0_1_0_cache_key(tmp_path: Path) -> None:
    # Pinned from 0.1.0 (same query, parameters, sources and file): a change here would
    # make every cached query of every user run again.
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,b\n3,c\n", encoding="utf-8")
    run = al.run(flows.pinned)
    assert run.succeeded, run.error
    step = run.step("sql")
    assert step.cache_key == "99f1cdad4f3d311ec99baf0022eabb55570a41b0a80c2ebede286322adf84840"
    assert set(step.cache["components"]["args"]) == {"text", "params", "sources"}

    checked = al.run(flows.pinned_min_rows)
    assert checked.succeeded, checked.error
    with_min = checked.step("sql")
    assert with_min.cache["components"]["code"] == step.cache["components"]["code"]
    assert with_min.cache["components"]["args"]["min_rows"] == {"v": 1, "p": []}
    assert with_min.cache_key != step.cache_key  # asking for rows is another step
    again = al.run(flows.pinned)
    assert again.step("sql").status == "cached"  # the check did not disturb the old key
