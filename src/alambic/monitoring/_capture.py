"""An endpoint's captured requests over a time window, read in streaming batches.

``capture("fraud", since="24h")`` is what monitoring compares with a baseline: the
Parquet files serving wrote under ``<artifacts>/capture/endpoint=fraud/date=…/hour=…/``,
pruned by their date partitions, filtered on each row's time, one file at a time (files
written for different model versions may hold different features), and flattened: one
column per feature, ``prediction``, and the class probabilities (``score``, the positive
class's, for a binary classifier; ``proba_0``, ``proba_1``… for more classes). Shadow
answers are left out unless asked for. Memory holds one batch, whatever the window.

Example:
    >>> window = capture("fraud", since="24h")  # doctest: +SKIP
    >>> al.monitoring.drift(al.monitoring.baseline_of("fraud@production"), window)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alambic.errors import MonitoringError

__all__ = ["CaptureWindow", "capture", "parse_period", "parse_time", "rejections"]

META = ("request_id", "row", "time", "variant", "model", "holdout", "shadow", "latency_ms")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_period(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"6h"``, ``"7d"``, ``"2w"`` as a duration.

    Example:
        >>> parse_period("36h")
        datetime.timedelta(days=1, seconds=43200)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text))
    if match is None:
        raise MonitoringError(
            f"{text!r} is not a period; write a number and a unit: 90s, 30m, 6h, 7d or 2w"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise MonitoringError(f"the period {text!r} must be longer than 0")
    return timedelta(seconds=seconds)


def parse_time(value: Any, now: datetime | None = None) -> datetime | None:
    """A point in time: None, a datetime (naive: UTC), an ISO text, or a period back from
    ``now`` (``"24h"``: a day ago)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return (now or datetime.now(UTC)) - parse_period(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CaptureWindow:
    """An endpoint's capture between ``since`` and ``until`` (iterate: Arrow batches)."""

    endpoint: str
    since: datetime | None = None
    until: datetime | None = None
    shadows: bool = False
    meta: bool = False  # keep request_id, time, variant, holdout…
    batch_rows: int = 65_536

    def __str__(self) -> str:
        since = "the start" if self.since is None else self.since.isoformat(timespec="seconds")
        until = "now" if self.until is None else self.until.isoformat(timespec="seconds")
        return f"the capture of endpoint {self.endpoint!r} from {since} to {until}"

    def __iter__(self) -> Iterator[Any]:
        yield from self.batches(self._fragments())

    def batches(self, fragments: list[Any]) -> Iterator[Any]:
        """The window's rows in these files (of :meth:`hours`), flattened, batch by batch."""
        for fragment in fragments:
            for batch in fragment.to_batches(filter=self._rows(), batch_size=self.batch_rows):
                if batch.num_rows:
                    yield _flatten(batch, meta=self.meta)

    def hours(self) -> list[tuple[datetime, list[Any]]]:
        """The capture files of each hour partition the window touches, oldest first."""
        found: dict[datetime, list[Any]] = {}
        for fragment in self._fragments():
            match = re.search(r"date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/", fragment.path)
            if match is None:
                continue
            start = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}:00+00:00")
            if (self.until is None or start < self.until) and (
                self.since is None or start + timedelta(hours=1) > self.since
            ):
                found.setdefault(start, []).append(fragment)
        return sorted(found.items(), key=lambda item: item[0])

    def to_pandas(self, columns: list[str] | None = None) -> Any:
        """The whole window in memory (for small windows; drift and profiles stream), or
        only these of its columns (those a file lacks are left out)."""
        import pandas as pd
        import pyarrow as pa

        tables = []
        for batch in self:
            if columns is not None:
                batch = batch.select([c for c in columns if c in batch.schema.names])
            tables.append(pa.Table.from_batches([batch]))
        if not tables:
            return pd.DataFrame()
        # files of other model versions may hold other columns, or other types
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()

    def chunks(self, every: str) -> list[CaptureWindow]:
        """The window cut into periods of ``every`` (``"1h"``, ``"1d"``), oldest first."""
        step = parse_period(every)
        start = self.since or self._first()
        end = self.until or datetime.now(UTC)
        if start is None:
            return []
        out = []
        while start < end:
            out.append(
                CaptureWindow(self.endpoint, start, min(start + step, end), self.shadows, self.meta)
            )
            start += step
        return out

    def _first(self) -> datetime | None:
        import pyarrow.compute as pc

        earliest = None
        for fragment in self._fragments():
            times = fragment.to_table(columns=["time"]).column("time")
            if len(times):
                low = pc.min(times).as_py()
                earliest = low if earliest is None else min(earliest, low)
        return earliest

    def _fragments(self) -> list[Any]:
        import pyarrow as pa
        import pyarrow.dataset as pds

        from alambic.serving import capture_root

        base = f"{capture_root()}/endpoint={self.endpoint}"
        fs, path = _filesystem(base)
        if not fs.exists(path):
            return []
        schema = pa.schema([("date", pa.string()), ("hour", pa.string())])
        dataset = pds.dataset(
            path,
            format="parquet",
            filesystem=fs,
            partitioning=pds.partitioning(schema, flavor="hive"),
            exclude_invalid_files=True,
        )
        days = None
        if self.since is not None:
            days = pds.field("date") >= self.since.astimezone(UTC).date().isoformat()
        if self.until is not None:
            last = pds.field("date") <= self.until.astimezone(UTC).date().isoformat()
            days = last if days is None else days & last
        return list(dataset.get_fragments(filter=days))

    def _rows(self) -> Any:
        import pyarrow as pa
        import pyarrow.dataset as pds

        kept = None if self.shadows else ~pds.field("shadow")
        for bound, keep in ((self.since, "since"), (self.until, "until")):
            if bound is None:
                continue
            at = pa.scalar(bound.astimezone(UTC), pa.timestamp("us", tz="UTC"))
            test = pds.field("time") >= at if keep == "since" else pds.field("time") < at
            kept = test if kept is None else kept & test
        return kept


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def _flatten(batch: Any, *, meta: bool) -> Any:
    """Features as columns, the prediction, the probabilities (and the meta columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names, arrays = [], []
    inputs = batch.column("inputs")
    if pa.types.is_struct(inputs.type):
        for field_, values in zip(inputs.type, inputs.flatten(), strict=True):
            clash = field_.name in META or field_.name in ("prediction", "score")
            names.append(f"input_{field_.name}" if clash else field_.name)
            arrays.append(values)
    names.append("prediction")
    arrays.append(batch.column("prediction"))
    probabilities = batch.column("probabilities")
    width = _width(probabilities)
    if width == 2:
        names.append("score")
        arrays.append(pc.list_element(probabilities, 1))
    elif width > 2:
        for i in range(width):
            names.append(f"proba_{i}")
            arrays.append(pc.list_element(probabilities, i))
    if meta:
        for name in META:
            if name in batch.schema.names:
                names.append(name)
                arrays.append(batch.column(name))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _width(probabilities: Any) -> int:
    import pyarrow.compute as pc

    if probabilities.null_count == len(probabilities):
        return 0
    lengths = pc.list_value_length(probabilities)
    return int(pc.max(lengths).as_py() or 0)


def capture(
    endpoint: str,
    *,
    since: Any = None,
    until: Any = None,
    shadows: bool = False,
) -> CaptureWindow:
    """An endpoint's captured rows over a window (see the module's docstring).

    Args:
        endpoint: the endpoint's name.
        since: the window's start: a datetime, an ISO text, or a period back from now
            (``"24h"``, ``"7d"``); None: from the first capture.
        until: its end (excluded), the same kinds; None: now (the window is fixed when
            made, so reading it again gives the same rows).
        shadows: include the shadow variants' answers.

    Example:
        >>> capture("no-such-endpoint", since="24h").to_pandas().empty
        True
    """
    now = datetime.now(UTC)
    start, end = parse_time(since, now), parse_time(until, now) or now  # fixed: reruns agree
    if start is not None and end is not None and end <= start:
        raise MonitoringError(f"the window ends ({end}) before it starts ({start})")
    return CaptureWindow(endpoint, start, end, shadows)


def rejections(window: CaptureWindow) -> list[dict[str, Any]]:
    """The requests serving refused for a bad value (4xx) in the window's hours, by field
    and reason, most first: ``[{"field", "reason", "count"}]``.

    Counted per hour: a window that starts or ends inside an hour takes that hour whole.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as pds

    from alambic.serving import capture_root

    fs, path = _filesystem(f"{capture_root('rejections')}/endpoint={window.endpoint}")
    if not fs.exists(path):
        return []
    dataset = pds.dataset(path, format="parquet", filesystem=fs, partitioning="hive")
    table = dataset.to_table()
    if not table.num_rows:
        return []
    # The partitions read back typed: hour=02 is the integer 2, padded again to compare.
    hour = pc.utf8_lpad(pc.cast(table.column("hour"), "string"), width=2, padding="0")
    hours = pc.binary_join_element_wise(pc.cast(table.column("date"), "string"), hour, " ")
    keep = None
    for bound, test in ((window.since, pc.greater_equal), (window.until, pc.less_equal)):
        if bound is not None:
            mark = test(hours, bound.astimezone(UTC).strftime("%Y-%m-%d %H"))
            keep = mark if keep is None else pc.and_(keep, mark)
    if keep is not None:
        table = table.filter(keep)
    grouped = table.group_by(["field", "reason"]).aggregate([("count", "sum")])
    rows = [
        {"field": f, "reason": r, "count": int(n)}
        for f, r, n in zip(
            *(grouped.column(c).to_pylist() for c in ("field", "reason", "count_sum")), strict=True
        )
    ]
    return sorted(rows, key=lambda row: -row["count"])
