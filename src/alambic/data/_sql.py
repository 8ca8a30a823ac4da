"""SQL over files (DuckDB, in-process) or over any database (SQLAlchemy).

``al.sql`` is a pipeline step: its result is a DataFrame artifact, and its cache key
includes a *fingerprint* of the data it reads (the content hash of every source file,
or a snapshot query's answer for a database), so the same query over changed data is a
cache miss and over unchanged data a hit. Parameters are always bound by the engine,
never pasted into the query text.

Example:
    >>> import alambic as al
    >>> @al.pipeline
    ... def extract(category: str = "auto"):
    ...     al.sql("SELECT * FROM listings WHERE category = $category",
    ...            params={"category": category},
    ...            sources={"listings": "data/listings.parquet"},
    ...            min_rows=1)  # no listing of that category: the step fails, naming it
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alambic.core import canonical_json
from alambic.errors import DataError
from alambic.pipelines import Step

__all__ = ["query", "sql", "sql_fingerprint"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILE_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}

Params = Mapping[str, Any] | Sequence[Any] | None


def _describe(sources: Mapping[str, str] | None, url: str | None) -> str:
    if url is not None:
        from sqlalchemy.engine import make_url

        return f"database {make_url(url).render_as_string(hide_password=True)}"
    if not sources:
        return "no sources"
    return "sources " + ", ".join(f"{name} ({path})" for name, path in sources.items())


def _kind(path: str) -> str:
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in _FILE_KINDS:
        return _FILE_KINDS[suffix]
    return "folder"


def _fs(path: str) -> tuple[Any, str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(path)
    return fs, root


def _files(path: str) -> list[str]:
    """The data files a source reads: itself, or every Parquet/CSV file below a folder."""
    if "://" not in path:
        local = Path(path)
        if local.is_file():
            return [str(local)]
        if local.is_dir():
            return sorted(str(p) for p in local.rglob("*") if p.suffix.lower() in _FILE_KINDS)
        raise DataError(f"source {path} does not exist; check the path (relative to {os.getcwd()})")
    fs, root = _fs(path)
    if not fs.exists(root):
        raise DataError(f"source {path} does not exist")
    if fs.isdir(root):
        found = [f for f in fs.find(root) if Path(f).suffix.lower() in _FILE_KINDS]
        protocol = path.split("://", 1)[0]
        return sorted(f"{protocol}://{f.lstrip('/')}" if "://" not in f else f for f in found)
    return [path]


def _read_relation(connection: Any, name: str, path: str) -> Any:
    files = _files(path)
    if not files:
        raise DataError(f"source {name!r} ({path}) holds no .parquet or .csv file")
    kinds = {_kind(f) for f in files}
    if len(kinds) > 1:
        raise DataError(f"source {name!r} ({path}) mixes Parquet and CSV files; split it in two")
    if kinds == {"parquet"}:
        return connection.read_parquet(files)
    return connection.read_csv(files)


def _register_filesystems(connection: Any, sources: Mapping[str, str]) -> None:
    protocols = {p.split("://", 1)[0] for p in sources.values() if "://" in p}
    for protocol in protocols - {"file"}:
        import fsspec

        connection.register_filesystem(fsspec.filesystem(protocol))


def _check_sources(sources: Mapping[str, str] | None) -> dict[str, str]:
    checked = dict(sources or {})
    for name, path in checked.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise DataError(f"source name {name!r} is not a SQL identifier; use letters, digits, _")
        if not isinstance(path, str) or not path:
            raise DataError(f"source {name!r} needs a path or URL, got {path!r}")
    return checked


def _check_min_rows(min_rows: int | None) -> None:
    if min_rows is None:
        return
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
        raise DataError(f"min_rows must be an int >= 0 (or None for no check), got {min_rows!r}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _bound(params: Params) -> str:
    """The parameters of a query as a message shows them: ``category='car', n=3``."""
    if not params:
        return ""
    if isinstance(params, Mapping):
        values = ", ".join(f"{name}={_shown(value)}" for name, value in params.items())
    else:
        values = "parameters " + ", ".join(_shown(value) for value in params)
    return f" with {values}"


def query(
    text: str,
    *,
    params: Params = None,
    sources: Mapping[str, str] | None = None,
    url: str | None = None,
    min_rows: int | None = None,
) -> pd.DataFrame:
    """Run a SQL query now and return a DataFrame (no pipeline, no cache).

    Args:
        text: the query. DuckDB takes ``$name`` or ``?`` placeholders; SQLAlchemy URLs
            take ``:name``.
        params: values bound to the placeholders (never interpolated into the text).
        sources: table name → Parquet/CSV file, folder of them, or fsspec URL (DuckDB).
        url: a SQLAlchemy URL to query a database instead.
        min_rows: fail when the query returns fewer rows (``min_rows=1``: an empty
            answer is an error, such as a category name that matches nothing).

    Raises:
        DataError: the query fails, or returns fewer than ``min_rows`` rows; the message
            names the query, its parameters and its sources.

    Example:
        >>> query("SELECT 42 AS answer", min_rows=1)["answer"].tolist()
        [42]
    """
    if not isinstance(text, str) or not text.strip():
        raise DataError("the query is empty; pass the SQL text as the first argument")
    if url is not None and sources:
        raise DataError(
            "give either sources= (files, run by DuckDB) or url= (a database), not both"
        )
    _check_min_rows(min_rows)
    checked = _check_sources(sources)
    where = _describe(checked, url)
    short = " ".join(text.split())
    short = short if len(short) <= 200 else short[:199] + "…"
    try:
        if url is not None:
            frame = _query_database(text, params, url)
        else:
            frame = _query_files(text, params, checked)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"query failed on {where}: {type(exc).__name__}: {exc}\n  query: {short}"
        ) from exc
    if min_rows is not None and len(frame) < min_rows:
        rows = f"{len(frame)} row" + ("" if len(frame) == 1 else "s")
        raise DataError(
            f"the query returned {rows}, fewer than min_rows={min_rows}: "
            f"{short}{_bound(params)}; check the parameter values and the data on {where}"
        )
    return frame


def _query_files(text: str, params: Params, sources: Mapping[str, str]) -> pd.DataFrame:
    import duckdb

    with duckdb.connect() as connection:
        _register_filesystems(connection, sources)
        for name, path in sources.items():
            connection.register(name, _read_relation(connection, name, path))
        bound = dict(params) if isinstance(params, Mapping) else list(params or [])
        frame: pd.DataFrame = connection.execute(text, bound).df()
        return frame


def _query_database(text: str, params: Params, url: str) -> pd.DataFrame:
    import sqlalchemy as sa

    if params is not None and not isinstance(params, Mapping):
        raise DataError("database queries take named parameters: params={'name': value} with :name")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql_query(sa.text(text), connection, params=dict(params or {}))
    finally:
        engine.dispose()


def _hash_file(path: str, digest: Any) -> None:
    if "://" not in path:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return
    fs, root = _fs(path)
    with fs.open(root, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)


def _file_hashes(sources: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    for name, path in sorted(sources.items()):
        for file in _files(path):
            digest = hashlib.sha256()
            _hash_file(file, digest)
            yield name, file, digest.hexdigest()


def sql_fingerprint(
    text: str,
    params: Params = None,
    sources: Mapping[str, str] | None = None,
    url: str | None = None,
    snapshot: str | None = None,
) -> str:
    """The state of the data a query reads.

    Files: the sha256 of every file of every source. A database: the answer of the
    ``snapshot`` query (for example ``SELECT max(updated_at), count(*) FROM listings``);
    without one, a database query is never served from the cache.

    Raises:
        DataError: a source does not exist, or the snapshot query fails.
    """
    if url is not None:
        if snapshot is None:
            return f"uncacheable-{secrets.token_hex(8)}"
        answer = query(snapshot, url=url)
        return hashlib.sha256(answer.to_json(orient="split").encode()).hexdigest()
    checked = _check_sources(sources)
    try:
        listing = [list(item) for item in _file_hashes(checked)]
    except OSError as exc:
        raise DataError(
            f"cannot read the sources of a query ({_describe(checked, None)}): {exc}"
        ) from exc
    return hashlib.sha256(canonical_json(listing).encode()).hexdigest()


def _run_sql(
    text: str,
    params: dict[str, Any] | list[Any] | None = None,
    sources: dict[str, str] | None = None,
    url: str | None = None,
    snapshot: str | None = None,
    *,
    min_rows: int | None = None,
) -> pd.DataFrame:
    return query(text, params=params, sources=sources, url=url, min_rows=min_rows)


def _step_fingerprint(
    text: str,
    params: dict[str, Any] | list[Any] | None = None,
    sources: dict[str, str] | None = None,
    url: str | None = None,
    snapshot: str | None = None,
    *,
    min_rows: int | None = None,
) -> str:
    """The fingerprint of the step's data: min_rows checks the answer, it reads no data."""
    return sql_fingerprint(text, params, sources, url, snapshot)


# The step's identity in cache keys: the hash of its 0.1.0 source, kept while what it
# computes stays the same, so that upgrading alambic re-runs no query. A step without
# min_rows keeps its 0.1.0 key: only the arguments a call passes enter the key.
_SQL_IDENTITY = "e05fff87e593bc06ac1c1a743b3ac6ae9201e4e92f6938c5738c62fff8a8912e"
sql: Step[..., pd.DataFrame] = Step(
    _run_sql, name="sql", fingerprint=_step_fingerprint, code_identity=_SQL_IDENTITY
)
"""The SQL step: ``al.sql(text, params=..., sources=... | url=..., snapshot=..., min_rows=...)``.

``min_rows=1`` fails the step, naming the query and its parameters, when the answer is
empty (a category that matches nothing), before any later step trains on no rows.
Rename its node with ``al.sql.with_options(name="extract")(...)``.
"""
