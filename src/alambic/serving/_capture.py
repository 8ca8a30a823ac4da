"""Data capture: sampled requests and responses as Parquet, and late ground-truth labels.

The request path only appends a small tuple to a bounded queue; a background thread
turns batches into Parquet files under ``<artifacts>/capture/endpoint=<name>/
date=YYYY-MM-DD/hour=HH/``. When the queue is full a record is dropped and counted,
never waited for. Labels arrive later (``alambic endpoints labels``) and are joined by
request id.

Example:
    >>> import alambic as al
    >>> al.serving.read_capture("fraud", with_labels=True).empty  # nothing served yet
    True
    >>> al.serving.read_capture("fraud", with_labels=True).head()  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from alambic.errors import DataError

__all__ = ["CaptureBuffer", "capture_root", "read_capture", "write_labels"]

log = logging.getLogger(__name__)


class Record(NamedTuple):
    """One captured answer (a tuple: the request path builds one per request)."""

    request_id: str
    at: float  # seconds since the epoch
    endpoint: str
    variant: str
    model: str  # name/version that answered
    shadow: bool
    holdout: bool
    latency_ms: float
    inputs: dict[str, Any]  # column -> values as sent, or the NumPy array the model saw
    outputs: Any  # alambic.serving._predictor.Outputs
    kinds: Mapping[str, str] | None = None  # column -> float, int, bool, category, string
    size: int = 0  # bytes of the request body: what the record holds in memory, roughly


def capture_root(kind: str = "capture") -> str:
    """``<artifacts>/capture`` (or ``/labels``) of the current settings."""
    from alambic.config import settings

    return f"{str(settings().artifacts).rstrip('/')}/{kind}"


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def _write_parquet(url: str, table: Any, **options: Any) -> None:
    """Write a Parquet file whole: encoded in memory, then written in one call to a
    temporary name and renamed (readers never see half a file).

    Encoding into a file object instead calls back into Python for each page, and each
    call waits for the GIL that the event loop holds: under load, ``write_table`` took
    0.72 s for 22,000 one-row requests that way, 0.08 s encoded in memory.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    fs, path = _filesystem(url)
    fs.makedirs(path.rpartition("/")[0], exist_ok=True)
    fs.pipe_file(
        path + ".tmp", sink.getvalue().to_pybytes()
    )  # bytes: what every fsspec store takes
    fs.mv(path + ".tmp", path)


class CaptureBuffer:
    """A bounded queue of captured requests, flushed to Parquet by a background thread.

    Args:
        root: where the Parquet partitions go (an fsspec URL or a path).
        max_rows: scored rows held at most; beyond, new records are dropped and their
            rows counted.
        max_bytes: request bytes held at most (so that wide or long-text requests stay
            bounded too); beyond, likewise.
        flush_seconds: the longest a record waits before it is written.
        on_drop: called as ``on_drop(endpoint, rows)`` for each record dropped.
        on_written: called as ``on_written(endpoint, rows)`` for each file written.
    """

    def __init__(
        self,
        root: str,
        *,
        max_rows: int = 100_000,
        max_bytes: int = 256 * 1024 * 1024,
        flush_seconds: float = 1.0,
        batch_records: int = 5_000,
        on_drop: Callable[[str, int], None] | None = None,
        on_written: Callable[[str, int], None] | None = None,
    ) -> None:
        self.root = root.rstrip("/")
        self.max_rows, self.flush_seconds, self.batch_records = (
            max_rows,
            flush_seconds,
            batch_records,
        )
        self.max_bytes = max_bytes
        self.queued_rows = self.queued_bytes = 0
        self._count = threading.Lock()  # offers come from the event loop and shadow threads
        self.on_drop, self.on_written = on_drop, on_written
        self._queue: collections.deque[Record] = collections.deque()
        self._rejected: dict[tuple[str, str, str, str], int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="alambic-capture", daemon=True)
        self._thread.start()

    def offer(self, record: Record) -> bool:
        """Queue a record; False (and its rows counted as dropped) when the queue is full."""
        rows = len(record.outputs.predictions)
        with self._count:
            full = (
                self.queued_rows + rows > self.max_rows
                or self.queued_bytes + record.size > self.max_bytes
            )
            if full:
                self.dropped += rows
            else:
                self.queued_rows += rows
                self.queued_bytes += record.size
        if full:
            if self.on_drop is not None:
                self.on_drop(record.endpoint, rows)
            return False
        self._queue.append(record)
        if len(self._queue) >= self.batch_records:
            self._wake.set()
        return True

    def reject(self, endpoint: str, field: str, reason: str, at: float) -> None:
        """Count a request refused for a bad value (4xx): written with the next flush as
        one row per endpoint, hour, field and reason, under ``<root>/../rejections``."""
        hour = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H")
        key = (endpoint, hour, field[:200], reason[:200])
        with self._count:
            self._rejected[key] = self._rejected.get(key, 0) + 1

    @property
    def queued(self) -> int:
        """Records waiting to be written."""
        return len(self._queue)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Write every queued record now (one file per endpoint and hour)."""
        self._flush_rejections()
        records = []
        while self._queue:
            try:
                records.append(self._queue.popleft())
            except IndexError:  # pragma: no cover - only this thread pops
                break
        if not records:
            return
        with self._count:
            self.queued_rows -= sum(len(r.outputs.predictions) for r in records)
            self.queued_bytes -= sum(r.size for r in records)
        hours: dict[tuple[str, int], list[Record]] = {}
        for record in records:  # the hour since the epoch: no date formatting per record
            hours.setdefault((record.endpoint, int(record.at) // 3600), []).append(record)
        for (endpoint, since), batch in hours.items():
            day, _, hour = (
                datetime.fromtimestamp(since * 3600, UTC).strftime("%Y-%m-%d %H").partition(" ")
            )
            try:
                rows = self._write(endpoint, day, hour, batch)
            except Exception:  # a full disk must not stop serving; the loss is counted
                lost = sum(len(r.outputs.predictions) for r in batch)
                log.exception("capture: could not write %d rows of %s", lost, endpoint)
                with self._count:
                    self.dropped += lost
                if self.on_drop is not None:
                    self.on_drop(endpoint, lost)
                continue
            self.written += rows
            if self.on_written is not None:
                self.on_written(endpoint, rows)

    def _flush_rejections(self) -> None:
        import pyarrow as pa

        with self._count:
            counts, self._rejected = self._rejected, {}
        groups: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        for (endpoint, hour, field, reason), n in counts.items():
            groups.setdefault((endpoint, hour), []).append((field, reason, n))
        base = self.root.rpartition("/")[0] + "/rejections"
        for (endpoint, hour), rows in groups.items():
            day, _, hh = hour.partition(" ")
            table = pa.table(
                {
                    "field": [r[0] for r in rows],
                    "reason": [r[1] for r in rows],
                    "count": pa.array([r[2] for r in rows], pa.int64()),
                }
            )
            stamp = f"{int(time.time() * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            url = f"{base}/endpoint={endpoint}/date={day}/hour={hh}/{stamp}.parquet"
            try:
                _write_parquet(url, table)
            except Exception:  # counts, not data: lost with a log line, serving goes on
                log.exception("capture: could not write the rejection counts of %s", endpoint)

    def _write(self, endpoint: str, day: str, hour: str, batch: list[Record]) -> int:

        rows = 0
        shapes: dict[Any, list[Record]] = {}  # variants may take other columns (or types)
        kinds: dict[int, tuple[Any, ...]] = {}  # a predictor's kinds: one object, many records
        for record in batch:
            typed = record.kinds or {}
            if id(typed) not in kinds:
                kinds[id(typed)] = tuple(typed.items())
            shapes.setdefault((tuple(record.inputs), kinds[id(typed)]), []).append(record)
        stamp = f"{int(time.time() * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for i, records in enumerate(shapes.values()):
            table = _table(records)
            url = f"{self.root}/endpoint={endpoint}/date={day}/hour={hour}/{stamp}-{i}.parquet"
            # LZ4: about half of snappy's time on float columns, the same size here
            _write_parquet(
                url, table, compression="lz4", use_dictionary=_text_columns(table.schema)
            )
            rows += int(table.num_rows)
        return rows


def _text_columns(schema: Any) -> list[str]:
    """The text columns (``inputs.brand`` inside the struct): dictionaries pay off for
    repeated text (ids, names, levels); on numbers they cost most of the write."""
    import pyarrow as pa

    def text(type_: Any) -> bool:
        return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))

    names: list[str] = []
    for field in schema:
        if pa.types.is_struct(field.type):
            names += [f"{field.name}.{f.name}" for f in field.type if text(f.type)]
        elif text(field.type):
            names.append(field.name)
    return names


def _column(parts: list[Any], kind: str | None) -> Any:
    """One input column of many requests: NumPy parts (checked numbers) join without
    Python objects, typed by the signature's kind (whole numbers stay int64, missing values
    or not); lists (text, flags, values from elsewhere) go through :func:`_array`.
    """
    import numpy as np
    import pyarrow as pa

    if all(isinstance(part, np.ndarray) for part in parts):
        joined = np.concatenate(parts)
        missing = np.isnan(joined) if joined.dtype.kind == "f" else None
        if missing is not None and not missing.any():
            missing = None  # no validity bitmap to build
        if kind == "int" or (kind is None and joined.dtype.kind in "iu"):
            whole = np.where(missing, 0, joined) if missing is not None else joined
            return pa.array(whole.astype(np.int64), mask=missing, type=pa.int64())
        return pa.array(joined, mask=missing, type=pa.float64())
    values: list[Any] = []
    for part in parts:
        values.extend(part.tolist() if isinstance(part, np.ndarray) else part)
    return _array(values)


def _array(values: list[Any]) -> Any:
    """A typed Arrow array, or JSON text per value when the values do not share a type."""
    import orjson
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)  # NaN: a missing value, as None
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        as_text = [
            None if v is None else orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            for v in values
        ]
        return pa.array(as_text, type=pa.string())


def _inputs(records: list[Record], names: list[str], kinds: Mapping[str, str]) -> list[Any]:
    """The input columns of records that share names and kinds: joined as one matrix
    when each request's columns were checked as one (``Columns.stacked``), else column
    by column."""
    import numpy as np

    matrices: list[Any] = [getattr(r.inputs, "stacked", None) for r in records]
    if names and all(m is not None and m.shape[1] == len(names) for m in matrices):
        whole: Any = np.ascontiguousarray(np.concatenate(matrices).T)  # a row per column
        return [_column([whole[i]], kinds.get(name)) for i, name in enumerate(names)]
    return [_column([r.inputs[name] for r in records], kinds.get(name)) for name in names]


def _table(records: list[Record]) -> Any:
    """One Arrow table, a row per scored row, built column-wise (no per-row Python work).

    Inputs are one struct column of typed fields (what the caller sent, as checked against
    the signature), so monitoring reads features as columns.
    """
    import numpy as np
    import pyarrow as pa

    counts = np.fromiter((len(r.outputs.predictions) for r in records), np.int64, len(records))
    total = int(counts.sum())
    owner = pa.array(np.repeat(np.arange(len(records)), counts))  # record index of each row
    starts = np.cumsum(counts) - counts

    def per_record(index: int, type_: Any = None) -> Any:
        values = pa.array([r[index] for r in records], type=type_)
        return values if total == len(records) else values.take(owner)  # one row each

    names = list(records[0].inputs)
    inputs = _inputs(records, names, records[0].kinds or {})
    predictions: list[Any] = []
    for record in records:
        predictions.extend(record.outputs.predictions)
    micros = (np.fromiter((r.at for r in records), np.float64, len(records)) * 1e6).astype(np.int64)
    return pa.table(
        {
            "request_id": per_record(0, pa.string()),
            "row": pa.array(np.arange(total) - np.repeat(starts, counts)),
            "time": pa.array(np.repeat(micros, counts), pa.timestamp("us", tz="UTC")),
            "endpoint": per_record(2, pa.string()),
            "variant": per_record(3, pa.string()),
            "model": per_record(4, pa.string()),
            "shadow": per_record(5, pa.bool_()),
            "holdout": per_record(6, pa.bool_()),
            "latency_ms": per_record(7, pa.float64()),
            "inputs": (
                pa.StructArray.from_arrays(inputs, names)
                if names
                else pa.nulls(total, pa.struct([]))
            ),
            "prediction": _array(predictions),
            "probabilities": _probabilities(records, counts),
        }
    )


def _probabilities(records: list[Record], counts: Any) -> Any:
    """A list<double> column: each row's class probabilities, null for regressors."""
    import numpy as np
    import pyarrow as pa

    blocks = [r.outputs.probabilities for r in records]
    present = [b for b in blocks if b is not None]
    if not present:
        return pa.nulls(int(counts.sum()), pa.list_(pa.float64()))
    flat = np.concatenate([np.asarray(b, np.float64).ravel() for b in present])
    widths = np.fromiter((0 if b is None else b.shape[1] for b in blocks), np.int64, len(blocks))
    offsets = np.concatenate([[0], np.cumsum(np.repeat(widths, counts))]).astype(np.int32)
    valid = np.repeat(np.fromiter((b is not None for b in blocks), bool, len(blocks)), counts)
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(flat), mask=None if valid.all() else pa.array(~valid)
    )


def write_labels(endpoint: str, labels: Any) -> int:
    """Store ground truth that arrived late: a DataFrame (or CSV/Parquet path) with
    ``request_id`` and ``label`` columns (and ``row`` for requests of several rows).

    Returns:
        The number of labels stored.

    Raises:
        DataError: a column is missing, or a request id or label is empty.
    """
    import pandas as pd
    import pyarrow as pa

    from alambic.serving._config import _check_name

    _check_name("endpoint name", endpoint)
    if isinstance(labels, str | os.PathLike):
        path = os.fspath(labels)
        try:
            frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read labels from {path}: {exc}") from None
    elif isinstance(labels, pd.DataFrame):
        frame = labels
    else:
        frame = pd.DataFrame(labels)
    missing = [c for c in ("request_id", "label") if c not in frame.columns]
    if missing:
        raise DataError(
            f"labels need the columns request_id and label (and optionally row); "
            f"missing {missing}, got {list(frame.columns)}"
        )
    if frame.empty:
        raise DataError("no labels given")
    if frame["request_id"].isna().any() or frame["label"].isna().any():
        bad = int(frame.index[frame["request_id"].isna() | frame["label"].isna()][0])
        raise DataError(f"labels row {bad} has an empty request_id or label; nothing was stored")
    rows: Any = 0
    if "row" in frame.columns:
        numbers = pd.Series(pd.to_numeric(frame["row"], errors="coerce"), dtype="float64")
        wrong = ~numbers.between(0, 2**31) | (numbers != numbers.round())  # NaN, inf too
        if wrong.any():
            at = int(wrong.to_numpy().argmax())
            raise DataError(
                f"labels row {at}: row is {frame['row'].iloc[at]!r}; it must be the row's "
                "position in its request (0, 1, …): nothing was stored"
            )
        rows = numbers.astype("int64")
    label = frame["label"]
    if label.dtype == object:  # mixed or text: one type per file, as text
        label = label.astype(str)
    out = pd.DataFrame(
        {
            "request_id": frame["request_id"].astype(str),
            "row": rows,
            "label": label,  # numbers stay numbers (regression targets, 0/1 classes)
            "received_at": datetime.now(UTC),
        }
    )
    name = f"{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    url = f"{capture_root('labels')}/endpoint={endpoint}/{name}"
    _write_parquet(url, pa.Table.from_pandas(out, preserve_index=False))
    return len(out)


def read_capture(endpoint: str, *, with_labels: bool = False, inputs: bool = True) -> Any:
    """The captured requests of an endpoint as a DataFrame, one row per scored row.

    Args:
        endpoint: the endpoint's name.
        with_labels: join the labels received so far (``label``, ``labelled_at``;
            the latest label of a request row wins).
        inputs: include the features, one column each (a feature named like a capture
            column, ``model`` say, comes as ``input_model``); False leaves them out.
    """
    import pandas as pd

    from alambic.serving._config import _check_name

    _check_name("endpoint name", endpoint)
    fs, base = _filesystem(f"{capture_root()}/endpoint={endpoint}")
    files = sorted(fs.glob(f"{base}/**/*.parquet"))
    if not files:
        return pd.DataFrame()
    frame: pd.DataFrame = pd.concat(
        [_read_file(fs, f, inputs=inputs) for f in files], ignore_index=True
    ).sort_values(["time", "request_id", "row"], ignore_index=True)
    if with_labels:
        latest, _received = read_labels(endpoint)
        if len(latest):
            frame = frame.merge(latest, on=["request_id", "row"], how="left")
        else:
            frame["label"], frame["labelled_at"] = None, None
    return frame


_read_labels: dict[str, tuple[Any, Any, int]] = {}  # endpoint: (its files, latest, received)


def read_labels(endpoint: str) -> tuple[Any, int]:
    """The endpoint's labels, the latest per request row (``request_id``, ``row``,
    ``label``, ``labelled_at``), and how many labels were received in all. They are read
    again only when the label files changed (a monitor run reads them chunk by chunk)."""
    import pandas as pd

    fs, base = _filesystem(f"{capture_root('labels')}/endpoint={endpoint}")
    found = fs.glob(f"{base}/*.parquet", detail=True) if fs.exists(base) else {}
    files = sorted(found)
    if not files:
        return pd.DataFrame(columns=["request_id", "row", "label", "labelled_at"]), 0
    stamp = ("size", "mtime", "LastModified", "ETag")  # what a file system tells of a change
    key = (base, tuple((f, *(str(found[f].get(k)) for k in stamp)) for f in files))
    known = _read_labels.get(endpoint)
    if known is not None and known[0] == key:
        return known[1].copy(), known[2]
    received = pd.concat([pd.read_parquet(f, filesystem=fs) for f in files], ignore_index=True)
    latest = (
        received.sort_values("received_at", kind="stable")
        .drop_duplicates(["request_id", "row"], keep="last")
        .rename(columns={"received_at": "labelled_at"})
    )
    _read_labels[endpoint] = (key, latest, len(received))
    return latest.copy(), len(received)


def _read_file(fs: Any, path: str, *, inputs: bool) -> Any:
    """One capture file as a DataFrame, its ``inputs`` struct spread into feature columns."""
    import orjson
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle)
    column = table.column("inputs")
    frame = table.drop_columns(["inputs"]).to_pandas()
    old = pa.types.is_string(column.type)  # written before capture was typed: JSON text
    if old:
        frame["prediction"] = [orjson.loads(v) for v in frame["prediction"]]
    if not inputs:
        return frame
    if old:
        expanded = pd.DataFrame([orjson.loads(v) for v in column.to_pylist()])
    else:
        struct = column.combine_chunks()
        names = [f.name for f in column.type]
        expanded = pa.table(struct.flatten(), names=names).to_pandas()
    taken = {*frame.columns, "label", "labelled_at"}  # with_labels adds those two
    clash = [c for c in expanded.columns if c in taken]
    expanded = expanded.rename(columns={c: f"input_{c}" for c in clash})
    return frame.join(expanded)
