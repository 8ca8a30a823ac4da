"""Data capture: sampled requests and responses as Parquet, and late ground-truth labels.

The request path only appends a small tuple to a bounded queue; a background thread
turns batches into Parquet files under ``<artifacts>/capture/endpoint=<name>/
date=YYYY-MM-DD/hour=HH/``. When the queue is full a record is dropped and counted,
never waited for. Labels arrive later (``alambic endpoints labels``) and are joined by
request id.

Example:
    >>> import alambic as al  # doctest: +SKIP
    >>> al.serving.read_capture("fraud", with_labels=True).head()  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alambic.errors import DataError

__all__ = ["CaptureBuffer", "capture_root", "read_capture", "write_labels"]

log = logging.getLogger(__name__)

# request_id, time, endpoint, variant, model ref, shadow, holdout, latency_ms, columns, outputs
Record = tuple[str, float, str, str, str, bool, bool, float, dict[str, list[Any]], Any]


def capture_root(kind: str = "capture") -> str:
    """``<artifacts>/capture`` (or ``/labels``) of the current settings."""
    from alambic.config import settings

    return f"{str(settings().artifacts).rstrip('/')}/{kind}"


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


class CaptureBuffer:
    """A bounded queue of captured requests, flushed to Parquet by a background thread.

    Args:
        root: where the Parquet partitions go (an fsspec URL or a path).
        max_rows: scored rows held at most (memory stays bounded whatever the request
            sizes); beyond, new records are dropped and their rows counted.
        flush_seconds: the longest a record waits before it is written.
        on_drop: called with the endpoint's name for each record dropped.
    """

    def __init__(
        self,
        root: str,
        *,
        max_rows: int = 100_000,
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
        self.queued_rows = 0
        self._count = threading.Lock()  # offers come from the event loop and shadow threads
        self.on_drop, self.on_written = on_drop, on_written
        self._queue: collections.deque[Record] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="alambic-capture", daemon=True)
        self._thread.start()

    def offer(self, record: Record) -> bool:
        """Queue a record; False (and its rows counted as dropped) when the queue is full."""
        rows = len(record[9].predictions)
        with self._count:
            full = self.queued_rows + rows > self.max_rows
            if full:
                self.dropped += rows
            else:
                self.queued_rows += rows
        if full:
            if self.on_drop is not None:
                self.on_drop(record[2], rows)
            return False
        self._queue.append(record)
        if len(self._queue) >= self.batch_records:
            self._wake.set()
        return True

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
        records = []
        while self._queue:
            try:
                records.append(self._queue.popleft())
            except IndexError:  # pragma: no cover - only this thread pops
                break
        if not records:
            return
        with self._count:
            self.queued_rows -= sum(len(r[9].predictions) for r in records)
        groups: dict[tuple[str, str, str], list[Record]] = {}
        for record in records:
            when = datetime.fromtimestamp(record[1], UTC)
            key = (record[2], when.strftime("%Y-%m-%d"), when.strftime("%H"))
            groups.setdefault(key, []).append(record)
        for (endpoint, day, hour), batch in groups.items():
            try:
                rows = self._write(endpoint, day, hour, batch)
            except Exception:  # a full disk must not stop serving; the loss is counted
                log.exception("capture: could not write %d records of %s", len(batch), endpoint)
                self.dropped += len(batch)
                continue
            self.written += rows
            if self.on_written is not None:
                self.on_written(endpoint, rows)

    def _write(self, endpoint: str, day: str, hour: str, batch: list[Record]) -> int:
        import orjson
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, list[Any]] = {
            k: []
            for k in (
                "request_id", "row", "time", "endpoint", "variant", "model", "shadow",
                "holdout", "latency_ms", "inputs", "prediction", "probabilities",
            )
        }  # fmt: skip
        for request_id, at, _, variant, ref, shadow, holdout, latency, inputs, outputs in batch:
            names = list(inputs)
            predictions = outputs.predictions
            probabilities = outputs.probabilities
            for i, prediction in enumerate(predictions):
                columns["request_id"].append(request_id)
                columns["row"].append(i)
                columns["time"].append(datetime.fromtimestamp(at, UTC))
                columns["endpoint"].append(endpoint)
                columns["variant"].append(variant)
                columns["model"].append(ref)
                columns["shadow"].append(shadow)
                columns["holdout"].append(holdout)
                columns["latency_ms"].append(latency)
                columns["inputs"].append(orjson.dumps({n: inputs[n][i] for n in names}).decode())
                columns["prediction"].append(orjson.dumps(prediction).decode())
                columns["probabilities"].append(
                    None if probabilities is None else [float(p) for p in probabilities[i]]
                )
        table = pa.table(
            {
                **{k: v for k, v in columns.items() if k != "probabilities"},
                "probabilities": pa.array(columns["probabilities"], type=pa.list_(pa.float64())),
            }
        )
        url = (
            f"{self.root}/endpoint={endpoint}/date={day}/hour={hour}/"
            f"{int(time.time() * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        )
        fs, path = _filesystem(url)
        fs.makedirs(path.rpartition("/")[0], exist_ok=True)
        tmp = path + ".tmp"
        with fs.open(tmp, "wb") as handle:
            pq.write_table(table, handle)
        fs.mv(tmp, path)  # readers never see half a file
        return int(table.num_rows)


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
    import pyarrow.parquet as pq

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
    out = pd.DataFrame(
        {
            "request_id": frame["request_id"].astype(str),
            "row": frame["row"].astype("int64") if "row" in frame.columns else 0,
            "label": frame["label"].astype(str),
            "received_at": datetime.now(UTC),
        }
    )
    name = f"{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    url = f"{capture_root('labels')}/endpoint={endpoint}/{name}"
    fs, path = _filesystem(url)
    fs.makedirs(path.rpartition("/")[0], exist_ok=True)
    with fs.open(path + ".tmp", "wb") as handle:
        pq.write_table(pa.Table.from_pandas(out, preserve_index=False), handle)
    fs.mv(path + ".tmp", path)
    return len(out)


def read_capture(endpoint: str, *, with_labels: bool = False, inputs: bool = True) -> Any:
    """The captured requests of an endpoint as a DataFrame, one row per scored row.

    Args:
        endpoint: the endpoint's name.
        with_labels: join the labels received so far (``label``, ``labelled_at``;
            the latest label of a request row wins).
        inputs: expand the ``inputs`` JSON into one column per feature.
    """
    import pandas as pd

    from alambic.serving._config import _check_name

    _check_name("endpoint name", endpoint)
    fs, base = _filesystem(f"{capture_root()}/endpoint={endpoint}")
    files = sorted(fs.glob(f"{base}/**/*.parquet"))
    if not files:
        return pd.DataFrame()
    frame: pd.DataFrame = pd.concat(
        [pd.read_parquet(f, filesystem=fs) for f in files], ignore_index=True
    ).sort_values(["time", "request_id", "row"], ignore_index=True)
    if with_labels:
        lfs, lbase = _filesystem(f"{capture_root('labels')}/endpoint={endpoint}")
        label_files = lfs.glob(f"{lbase}/*.parquet")
        if label_files:
            labels = pd.concat(
                [pd.read_parquet(f, filesystem=lfs) for f in label_files], ignore_index=True
            )
            latest = (
                labels.sort_values("received_at", kind="stable")
                .drop_duplicates(["request_id", "row"], keep="last")
                .rename(columns={"received_at": "labelled_at"})
            )
            frame = frame.merge(latest, on=["request_id", "row"], how="left")
        else:
            frame["label"], frame["labelled_at"] = None, None
    if inputs and not frame.empty:
        import orjson

        expanded = pd.DataFrame([orjson.loads(v) for v in frame["inputs"]])
        frame = pd.concat([frame.drop(columns=["inputs"]), expanded], axis=1)
    return frame
