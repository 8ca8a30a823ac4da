"""Batch transform's files: the input read in chunks of exact size, the output folder.

Local paths use plain ``os`` calls; anything behind a URL goes through fsspec. A file
in the output folder appears whole or not at all (a temporary name, then a rename; an
object store publishes an upload only once complete).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alambic.errors import DataError

__all__ = ["AGAIN", "Folder", "Input", "filesystem", "read_chunks", "scan_input"]

if TYPE_CHECKING:
    from alambic.serving._batch_plan import Plan

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}
_STAMPS = ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "md5Hash")
_BATCH_ROWS, _BUFFER = 65_536, 1 << 16  # Parquet: rows per batch read, bytes per read
AGAIN = "start over with resume=False (--no-resume), or write to another folder"


# -- where files live: plain os calls on a local disk, fsspec behind a URL -------------
def filesystem(url: str) -> tuple[Any, str, bool]:
    """(fsspec file system or None, path in it, whether it is a plain local path)."""
    if "://" not in url:
        return None, os.path.abspath(os.path.expanduser(url)), True
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DataError(
            f"cannot open {url!r}: {exc}; install the fsspec backend for this protocol "
            "(for example s3fs for s3://)"
        ) from exc
    return fs, path, False


class Folder:
    """The output folder; a file appears whole or not at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.path, self.local = filesystem(url)

    @property
    def in_process(self) -> bool:
        """Whether its files live in this process's memory (``memory://``), unseen by others."""
        if self.local:
            return False
        from fsspec.implementations.memory import MemoryFileSystem

        return isinstance(self.fs, MemoryFileSystem)

    def join(self, name: str) -> str:
        return os.path.join(self.path, name) if self.local else f"{self.path.rstrip('/')}/{name}"

    def names(self) -> list[str]:
        try:
            if self.local:
                return sorted(os.listdir(self.path))
            return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.path, False))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def make(self) -> None:
        if self.local:
            os.makedirs(self.path, exist_ok=True)
        else:
            self.fs.makedirs(self.path, exist_ok=True)

    def write(self, name: str, data: bytes) -> None:
        if not self.local:  # object stores publish an object once its upload is complete
            self.fs.pipe_file(self.join(name), data)
            return
        temp = self.join(f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
            os.replace(temp, self.join(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def write_part(self, index: int, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        self.write(f"part-{index:05d}.parquet", sink.getvalue().to_pybytes())

    def read_json(self, name: str) -> dict[str, Any] | None:
        try:
            if self.local:
                with open(self.join(name), "rb") as handle:
                    data = handle.read()
            else:
                data = self.fs.cat_file(self.join(name))
            loaded: dict[str, Any] = json.loads(data)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:
            raise DataError(f"{self.join(name)} is not valid JSON; {AGAIN}") from None
        return loaded

    def remove(self, names: Sequence[str]) -> None:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                if self.local:
                    os.unlink(self.join(name))
                else:
                    self.fs.rm(self.join(name))


# -- the input: files, their fingerprint, their columns ------------------------------
@dataclass
class Input:
    url: str
    fs: Any
    local: bool
    format: str
    columns: dict[str, dict[str, Any]]  # file -> column -> Arrow type (None for CSV)
    rows: int | None
    fingerprint: list[dict[str, Any]]


def _format_of(path: str) -> str | None:
    lower = path.lower()
    return next((kind for suffix, kind in _FORMATS.items() if lower.endswith(suffix)), None)


def _stamp(info: dict[str, Any]) -> str:
    """What says a file changed: its modification time, else its ETag or checksum."""
    return next((str(info[key]) for key in _STAMPS if info.get(key) is not None), "")


def scan_input(url: str | os.PathLike[str]) -> Input:
    fs, root, local = filesystem(os.fspath(url))
    if fs is None:
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem()
    try:
        info = fs.info(root)
    except FileNotFoundError:
        raise DataError(
            f"input {url} does not exist; give a CSV or Parquet file, a folder of them, "
            "or an fsspec URL"
        ) from None
    entries = [(root, os.path.basename(root), info)]
    if info["type"] == "directory":
        found = fs.find(root, detail=True)
        entries = []
        for path in sorted(found):  # sorted: a deterministic order, the same on resume
            relative = path[len(root.rstrip("/")) :].strip("/")
            hidden = any(part.startswith((".", "_")) for part in relative.split("/"))
            if not hidden and _format_of(path) is not None:
                entries.append((path, relative, found[path]))
    kinds = {_format_of(path) for path, _, _ in entries}
    if not entries or None in kinds or len(kinds) > 1:
        raise DataError(
            f"input {url}: give CSV files (*.csv, *.csv.gz) or Parquet files (*.parquet), "
            "one file or a folder of files of one format"
        )
    kind = str(kinds.pop())
    fingerprint = [{"file": r, "size": i.get("size"), "stamp": _stamp(i)} for _, r, i in entries]
    columns: dict[str, dict[str, Any]] = {}
    rows: int | None = 0 if kind == "parquet" else None  # a CSV's rows: unknown until read
    try:
        for path, _, _ in entries:
            if kind == "parquet":
                import pyarrow.parquet as pq

                meta = pq.read_metadata(path, filesystem=None if local else fs)
                columns[path] = {f.name: f.type for f in meta.schema.to_arrow_schema()}
                rows = (rows or 0) + meta.num_rows
            else:
                with fs.open(path, "rb", compression="infer") as handle:
                    header = handle.readline().decode("utf-8-sig")
                columns[path] = dict.fromkeys(next(csv.reader([header]), []))
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise DataError(f"cannot read the input {url}: {exc}") from exc
    return Input(os.fspath(url), fs, local, kind, columns, rows, fingerprint)


# -- reading in chunks ---------------------------------------------------------------
def _csv_types(plan: Plan) -> dict[str, Any]:
    """The Arrow types CSV columns are read as; the others are inferred from the first block.

    Id columns are passed through, so they are read as text, exactly as in the file:
    inferred, ``00123`` would become ``123``, and ids that look like numbers in the first
    block would abort the read at the first one that does not (``L-150000``). An id
    column that is also a feature is read as the feature needs instead, since the model
    must get the values it was trained on: a number feature as float64, a bool as bool;
    a feature of no declared type, or categorical with levels that are numbers, as
    inferred.
    """
    import pyarrow as pa

    types = {"number": pa.float64(), "bool": pa.bool_(), "category": pa.string()}
    known = {name: types[kind] for name, kind in plan.features if kind in types}
    for name, levels in plan.categories.items():  # categories of numbers: as they are
        if levels and not all(isinstance(v, str) for v in levels):
            known.pop(name, None)
    features = {name for name, _ in plan.features}
    return {**{name: pa.string() for name in plan.ids if name not in features}, **known}


def _batches(inputs: Input, plan: Plan) -> Iterator[Any]:
    """The input's record batches, file after file: Parquet ``_BATCH_ROWS`` rows at a time,
    CSV a block (1 MiB) at a time.

    Not through a dataset scanner: it reads ahead as far as a whole file, so memory
    would grow with the file's size. Nor by whole row groups: a file written as one
    row group of millions of rows would be decoded at once.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    convert = pacsv.ConvertOptions(column_types=_csv_types(plan), include_columns=plan.columns)
    schema, parquet = None, inputs.format == "parquet"
    for path in inputs.columns:
        with contextlib.ExitStack() as stack:
            if not inputs.local:
                unzip = None if parquet else "infer"  # a local .csv.gz: pyarrow unzips it
                path = stack.enter_context(inputs.fs.open(path, "rb", compression=unzip))
            if parquet:
                # Not pre-buffered: that reads a row group's every column chunk at once,
                # so memory would grow with the row group (a buffered stream stays flat).
                reader = stack.enter_context(
                    pq.ParquetFile(path, buffer_size=_BUFFER, pre_buffer=False)
                )
                batches = (  # a reader per row group: each lets go of its buffers when done
                    batch
                    for group in range(reader.num_row_groups)
                    for batch in reader.iter_batches(
                        _BATCH_ROWS, row_groups=[group], columns=plan.columns
                    )
                )
            else:
                reader = pacsv.open_csv(path, convert_options=convert)
                batches = iter(reader)
            for batch in batches:
                yield batch.select(plan.columns)
            schema = schema or (reader.schema_arrow if parquet else reader.schema)
    if schema is not None:
        yield pa.RecordBatch.from_pylist([], schema=schema).select(plan.columns)  # typed end


def read_chunks(inputs: Input, plan: Plan, chunk_rows: int) -> Iterator[Any]:
    """Tables of exactly ``chunk_rows`` rows (the last one: the rest), in input order.

    Chunks do not follow files or row groups, so their bounds depend only on the input's
    rows and ``chunk_rows``: a resumed run cuts the same chunks. An empty input gives one
    empty chunk, so that the output still has a typed part.
    """
    import pyarrow as pa

    pending: list[Any] = []
    held, cut = 0, False
    try:
        for batch in _batches(inputs, plan):
            if batch.num_rows == 0 and not pending and not cut:
                pending.append(batch)  # kept only if the whole input is empty
            while batch.num_rows:
                take = min(chunk_rows - held, batch.num_rows)
                pending.append(batch.slice(0, take))
                held, batch = held + take, batch.slice(take)
                if held == chunk_rows:
                    yield _table(pending)
                    pending, held, cut = [], 0, True
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise DataError(
            f"cannot read the input {inputs.url}: {exc}; fix the file (the finished chunks "
            "are kept: run again to resume)"
        ) from exc
    if pending:
        yield _table(pending)


def _table(batches: list[Any]) -> Any:
    """One table of batches; files whose types differ a little (int, float) are unified."""
    import pyarrow as pa

    tables = [pa.Table.from_batches([batch]) for batch in batches]
    return pa.concat_tables(tables, promote_options="permissive")
