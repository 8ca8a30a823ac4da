"""Data profiles: per-column statistics and sketches that merge, read in streaming batches.

A :class:`Profile` summarises a data set column by column: the inferred type (SageMaker
Model Monitor's names: ``Integral``, ``Fractional``, ``String``, ``Boolean``), the rows,
missing and non-finite values, a distinct-count estimate (HyperLogLog), and for numbers
the sum, mean, standard deviation, min, max and a quantile sketch (KLL), for categories
the most frequent values (a frequent-items sketch) and how many rows they leave out.
The sketches are Apache DataSketches' (``datasketches``): profiles **merge** (hourly
profiles of capture data into a day or a week) without rereading a row, and their
quantiles carry the sketch's error bound.

Data is read in Arrow record batches (a DataFrame, an Arrow table, a Parquet or CSV file
or folder, or an iterable of batches), so memory stays flat whatever the size.

``statistics()`` and ``constraints()`` write SageMaker Model Monitor's
``statistics.json`` and ``constraints.json`` (their field names, plus alambic's own
under ``"alambic"`` where SageMaker has none); :func:`read_constraints` reads one back,
refusing an edited file with an error that names the field.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"price": [10.0, 12.5, None, 11.0], "brand": ["a", "b", "a", "a"]})
    >>> p = profile(frame)
    >>> p.rows, p["price"].missing, round(p["price"].mean, 2), p["brand"].top(1)
    (4, 1, 11.17, [('a', 3)])
    >>> p.merge(p).rows
    8
"""

from __future__ import annotations

import base64
import collections
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alambic.core import optional_import
from alambic.errors import DataError

__all__ = ["ColumnProfile", "Profile", "profile", "read_constraints", "record_batches"]

KLL_K = 200  # the KLL sketch's size: ±1.65% error on its CDF (99% confidence)
HLL_LG_K = 12  # 4,096 HyperLogLog buckets: ±1.6% relative error on distinct counts
TOP_K = 512  # the frequent-items sketch's map: 0.75 * 512 = 384 values kept exactly below
# that many distinct values (every domain constraints can name, at most 50), and a bounded
# size for id columns
BATCH_ROWS = 65_536
FORMAT = "alambic-profile/1"


def _sketches() -> Any:
    return optional_import("datasketches", extra="monitoring")


def _kind(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "Boolean"
    if pa.types.is_integer(arrow_type):
        return "Integral"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "Fractional"
    return "String"


@dataclass
class ColumnProfile:
    """One column's statistics and sketches (numbers: ``kll``; others: ``frequent``)."""

    name: str
    inferred_type: str
    count: int = 0  # rows seen
    missing: int = 0  # null, or NaN
    non_finite: int = 0  # ±inf (numbers only)
    negative: int = 0
    sum: float = 0.0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations (Chan's merge)
    min: float = math.inf
    max: float = -math.inf
    distinct: Any = None  # datasketches.hll_sketch
    kll: Any = None  # datasketches.kll_doubles_sketch (numbers)
    frequent: Any = None  # datasketches.frequent_strings_sketch (the others)
    other_types: int = 0  # values whose type differs from inferred_type (merged data)

    def __post_init__(self) -> None:
        ds = _sketches()

        if self.distinct is None:
            self.distinct = ds.hll_sketch(HLL_LG_K)
        if self.numeric and self.kll is None:
            self.kll = ds.kll_doubles_sketch(KLL_K)
        if not self.numeric and self.frequent is None:
            self.frequent = ds.frequent_strings_sketch(int(math.log2(TOP_K)))

    @property
    def numeric(self) -> bool:
        return self.inferred_type in ("Integral", "Fractional")

    @property
    def present(self) -> int:
        """Rows with a value (neither null nor NaN)."""
        return self.count - self.missing

    @property
    def finite(self) -> int:
        return self.present - self.non_finite if self.numeric else self.present

    @property
    def std(self) -> float:
        """The sample standard deviation of the finite values (NaN below two)."""
        return math.sqrt(self.m2 / (self.finite - 1)) if self.finite > 1 else math.nan

    @property
    def completeness(self) -> float:
        return self.present / self.count if self.count else 0.0

    @property
    def distinct_count(self) -> float:
        return float(self.distinct.get_estimate())

    def update(self, array: Any) -> None:
        """Add an Arrow array of this column's values."""
        import pyarrow.compute as pc

        self.count += len(array)
        if self.numeric:
            self._update_numbers(array.to_numpy(zero_copy_only=False).astype(np.float64))
            return
        import pyarrow as pa

        textual = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        strings = array if textual else array.cast("string")  # dates, booleans: as text
        self.missing += strings.null_count
        counts = pc.value_counts(strings.drop_null())
        for value, n in zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True):
            self.frequent.update(value, n)
            self.distinct.update(value)

    def _update_numbers(self, values: np.ndarray) -> None:
        nan = np.isnan(values)
        self.missing += int(nan.sum())
        values = values[~nan]
        finite = np.isfinite(values)
        self.non_finite += int((~finite).sum())
        values = values[finite]
        if not len(values):
            return
        self.kll.update(values)
        # each distinct float's bits as an integer (+ 0.0 makes -0.0 one with 0.0): the
        # HyperLogLog takes integers faster, and equal numbers have equal bits; unique
        # sorts floats (quicker than hashing their bits), map() saves a loop in Python
        bits = np.unique(values + 0.0).view(np.int64).tolist()
        collections.deque(map(self.distinct.update, bits), maxlen=0)
        self.negative += int((values < 0).sum())
        self._combine(len(values), float(values.sum()), float(values.mean()), values)

    def _combine(self, n: int, total: float, mean: float, values: np.ndarray | None) -> None:
        m2 = float(((values - mean) ** 2).sum()) if values is not None else 0.0
        before = self.finite - n  # finite already counts the new values
        if before <= 0:
            self.mean, self.m2 = mean, m2
        else:
            delta = mean - self.mean
            self.mean += delta * n / (before + n)
            self.m2 += m2 + delta * delta * before * n / (before + n)
        self.sum += total
        if values is not None:
            self.min = min(self.min, float(values.min()))
            self.max = max(self.max, float(values.max()))

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """A new profile of both columns' values (``other`` may be typed otherwise)."""
        ds = _sketches()

        kind = self.inferred_type if self.inferred_type == other.inferred_type else "String"
        if {self.inferred_type, other.inferred_type} == {"Integral", "Fractional"}:
            kind = "Fractional"
        union = ds.hll_union(HLL_LG_K)
        union.update(self.distinct)
        union.update(other.distinct)
        merged = ColumnProfile(self.name, kind, distinct=union.get_result())
        merged.count, merged.missing = self.count + other.count, self.missing + other.missing
        merged.other_types = self.other_types + other.other_types
        both = [p for p in (self, other) if p.numeric == merged.numeric]
        merged.other_types += sum(p.present for p in (self, other) if p.numeric != merged.numeric)
        seen = 0
        for part in both:
            if merged.numeric:
                merged.kll.merge(part.kll)
                merged.non_finite += part.non_finite
                merged.negative += part.negative
                seen = _merge_moments(merged, part, seen)
            else:
                merged.frequent.merge(part.frequent)
        return merged

    # -- reading it ------------------------------------------------------------------
    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the finite values (within the sketch's rank error)."""
        return float(self.kll.get_quantile(q)) if self.finite else math.nan

    def rank_error(self) -> float:
        """The sketch's normalized rank error bound (99% confidence; 0 when exact)."""
        if self.kll is None or not self.kll.is_estimation_mode():
            return 0.0
        return float(self.kll.normalized_rank_error(True))  # the bound of CDFs and PMFs

    def top(self, k: int = 10) -> list[tuple[str, int]]:
        """The ``k`` most frequent values with their (estimated) counts."""
        errors = _sketches().frequent_items_error_type
        items = self.frequent.get_frequent_items(errors.NO_FALSE_POSITIVES)  # frequent for sure
        return [(value, int(estimate)) for value, estimate, _low, _high in items[:k]]

    def histogram(self, edges: list[float]) -> list[float]:
        """The share of finite values in each interval between ``edges`` (numbers)."""
        if not self.finite or len(edges) < 2:
            return []
        # get_cdf: the rank at each interior edge, then 1.0 (everything is below the max)
        cdf = [0.0, *self.kll.get_cdf(list(edges[1:-1]))] if len(edges) > 2 else [0.0, 1.0]
        return [max(0.0, b - a) for a, b in itertools.pairwise(cdf)]

    def to_dict(self) -> dict[str, Any]:
        sketches = {"distinct": _b64(self.distinct.serialize_compact())}
        if self.numeric:
            sketches["kll"] = _b64(self.kll.serialize())
        else:
            sketches["frequent"] = _b64(self.frequent.serialize())
        return {
            "name": self.name,
            "inferred_type": self.inferred_type,
            **{k: getattr(self, k) for k in _COUNTS},
            **{k: _finite_or_none(getattr(self, k)) for k in _MOMENTS},
            "sketches": sketches,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        ds = _sketches()

        where = f"columns[{data.get('name')!r}]"
        kind = _field(data, "inferred_type", str, where)
        if kind not in ("Integral", "Fractional", "String", "Boolean"):
            raise DataError(
                f"{where}.inferred_type is {kind!r}; expected Integral, Fractional, String or "
                "Boolean"
            )
        sketches = _field(data, "sketches", dict, where)
        try:
            distinct = ds.hll_sketch.deserialize(_unb64(sketches, "distinct", where))
        except (RuntimeError, ValueError, IndexError) as exc:
            raise DataError(f"{where}.sketches.distinct is not a valid sketch: {exc}") from None
        column = cls(_field(data, "name", str, where), kind, distinct=distinct)
        for key in _COUNTS:
            setattr(column, key, _field(data, key, int, where))
        for key in _MOMENTS:
            value = data.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise DataError(f"{where}.{key} must be a number or null, not {value!r}"[:300])
            setattr(column, key, _DEFAULTS[key] if value is None else float(value))
        name = "kll" if column.numeric else "frequent"
        raw = _unb64(sketches, name, where)
        try:
            if column.numeric:
                column.kll = ds.kll_doubles_sketch.deserialize(raw)
            else:
                column.frequent = ds.frequent_strings_sketch.deserialize(raw)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise DataError(f"{where}.sketches.{name} is not a valid sketch: {exc}") from None
        return column


_COUNTS = ("count", "missing", "non_finite", "negative", "other_types")
_MOMENTS = ("sum", "mean", "m2", "min", "max")
_DEFAULTS = {"sum": 0.0, "mean": 0.0, "m2": 0.0, "min": math.inf, "max": -math.inf}


def _merge_moments(merged: ColumnProfile, part: ColumnProfile, prior: int) -> int:
    """Fold ``part``'s moments into ``merged`` (``prior`` finite values so far)."""
    n = part.finite
    if not n:
        return prior
    total = prior + n
    if prior == 0:
        merged.mean, merged.m2 = part.mean, part.m2
    else:
        delta = part.mean - merged.mean
        merged.mean += delta * n / total
        merged.m2 += part.m2 + delta * delta * prior * n / total
    merged.sum += part.sum
    merged.min, merged.max = min(merged.min, part.min), max(merged.max, part.max)
    return total


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(sketches: dict[str, Any], key: str, where: str) -> bytes:
    value = sketches.get(key)
    if not isinstance(value, str):
        raise DataError(f"{where}.sketches.{key} must be a base64 string (a serialized sketch)")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise DataError(f"{where}.sketches.{key} is not valid base64: {exc}") from None


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DataError(f"{where}.{key} must be {kind.__name__}, not {value!r}"[:300])
    return value


@dataclass
class Profile:
    """A data set's profile: its columns' :class:`ColumnProfile` and their roles.

    Attributes:
        rows: rows profiled.
        columns: column name -> profile, in the data's order.
        target: the column holding the ground truth, if one was named.
        predictions: the columns holding the model's predictions or scores.
    """

    rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    target: str | None = None
    predictions: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r} in this profile ({list(self.columns)})") from None

    @property
    def features(self) -> list[str]:
        """The columns that are neither the target nor a prediction."""
        roles = {self.target, *self.predictions}
        return [name for name in self.columns if name not in roles]

    def update(self, batch: Any) -> None:
        """Add an Arrow record batch (or table)."""
        self.rows += batch.num_rows
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            column = self.columns.get(name)
            if column is None:
                kind = _kind(array.type)
                column = self.columns[name] = ColumnProfile(name, kind)
                column.count = self.rows - batch.num_rows  # absent before: missing there
                column.missing = column.count
            if not _fits(column, array.type):  # unusable here: missing for the statistics
                column.other_types += len(array) - array.null_count
                column.count += len(array)
                column.missing += len(array)
                continue
            column.update(array)
        for name, column in self.columns.items():
            if name not in batch.schema.names:
                column.count += batch.num_rows
                column.missing += batch.num_rows

    def merge(self, other: Profile) -> Profile:
        """A new profile of both data sets (hourly profiles into a day, say)."""
        merged = Profile(self.rows + other.rows, target=self.target or other.target)
        merged.predictions = list(dict.fromkeys([*self.predictions, *other.predictions]))
        for name in dict.fromkeys([*self.columns, *other.columns]):
            mine, theirs = self.columns.get(name), other.columns.get(name)
            if mine is None or theirs is None:
                only = mine or theirs
                absent = other.rows if mine is not None else self.rows
                assert only is not None  # noqa: S101 - one of the two has it
                empty = ColumnProfile(name, only.inferred_type, count=absent, missing=absent)
                merged.columns[name] = only.merge(empty)
            else:
                merged.columns[name] = mine.merge(theirs)
        return merged

    def statistics(self) -> dict[str, Any]:
        """SageMaker Model Monitor's ``statistics.json`` (sketches under ``"alambic"``)."""
        return {
            "version": 0.0,
            "dataset": {"item_count": self.rows},
            "features": [_feature_statistics(c) for c in self.columns.values()],
            "alambic": self.to_dict(),
        }

    def constraints(self) -> dict[str, Any]:
        """Constraints inferred from this profile, as SageMaker's ``constraints.json``:
        each column's type, completeness, non-negativity and (up to 50 values, all
        seen) domain, for a person to edit."""
        return {
            "version": 0.0,
            "features": [_feature_constraints(c) for c in self.columns.values()],
            "monitoring_config": {
                "evaluate_constraints": "Enabled",
                "emit_metrics": "Enabled",
                "datatype_check_threshold": 0.1,
                "domain_content_threshold": 0.0,  # any value outside the domains is flagged
                "range_check_threshold": 0.01,  # alambic's: the share beyond min and max
                "distribution_constraints": {
                    "perform_comparison": "Enabled",
                    "comparison_threshold": 0.1,
                    "comparison_method": "Robust",
                },
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "rows": self.rows,
            "target": self.target,
            "predictions": self.predictions,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        """A profile from :meth:`to_dict` (or a ``statistics.json`` holding one).

        Raises:
            DataError: the data is not a profile, naming the field that is wrong.
        """
        if isinstance(data, dict) and isinstance(data.get("alambic"), dict):
            data = data["alambic"]
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(
                f"not an alambic profile: expected a dict with format {FORMAT!r} (a "
                "statistics.json written by alambic holds one under 'alambic')"
            )
        columns = _field(data, "columns", list, "profile")
        parsed = [ColumnProfile.from_dict(c if isinstance(c, dict) else {}) for c in columns]
        return cls(
            _field(data, "rows", int, "profile"),
            {c.name: c for c in parsed},
            data.get("target"),
            list(data.get("predictions") or []),
        )


def _fits(column: ColumnProfile, arrow_type: Any) -> bool:
    kind = _kind(arrow_type)
    if column.numeric:
        return kind in ("Integral", "Fractional")
    return kind == column.inferred_type or column.inferred_type == "String"


def _feature_statistics(column: ColumnProfile) -> dict[str, Any]:
    common = {"num_present": column.present, "num_missing": column.missing}
    if column.numeric:
        edges = _edges(column)
        shares = column.histogram(edges)
        buckets = [
            {"lower_bound": lo, "upper_bound": hi, "count": share * column.finite}
            for lo, hi, share in zip(edges, edges[1:], shares, strict=False)
        ]
        return {
            "name": column.name,
            "inferred_type": column.inferred_type,
            "numerical_statistics": {
                "common": common,
                "mean": _finite_or_none(column.mean),
                "sum": column.sum,
                "std_dev": _finite_or_none(column.std),
                "min": _finite_or_none(column.min),
                "max": _finite_or_none(column.max),
                "distribution": {"kll": {"buckets": buckets, "parameters": {"k": KLL_K}}},
            },
        }
    top = column.top(50)
    return {
        "name": column.name,
        "inferred_type": column.inferred_type,
        "string_statistics": {
            "common": common,
            "distinct_count": column.distinct_count,
            "distribution": {
                "categorical": {"buckets": [{"value": v, "count": n} for v, n in top]}
            },
            "alambic": {"other_count": max(0, column.present - sum(n for _, n in top))},
        },
    }


def _edges(column: ColumnProfile, bins: int = 10) -> list[float]:
    """``bins`` equal-width intervals over ``[min, max]`` (one when they are equal)."""
    if not column.finite:
        return []
    if column.min == column.max:
        return [column.min, column.max]
    step = (column.max - column.min) / bins
    return [column.min + i * step for i in range(bins)] + [column.max]


def _feature_constraints(column: ColumnProfile) -> dict[str, Any]:
    feature: dict[str, Any] = {
        "name": column.name,
        "inferred_type": column.inferred_type,
        "completeness": round(column.completeness, 6),
    }
    if column.numeric:
        feature["num_constraints"] = {"is_non_negative": column.negative == 0}
        if column.finite:
            feature["alambic"] = {"min": column.min, "max": column.max}
    else:
        top = column.top(TOP_K)
        if top and len(top) <= 50 and sum(n for _, n in top) >= column.present:
            feature["string_constraints"] = {"domains": sorted(v for v, _ in top)}
    return feature


def read_constraints(data: Any) -> dict[str, dict[str, Any]]:
    """A ``constraints.json`` (a dict, or a path to one) checked, per feature name.

    Raises:
        DataError: the file is not valid, naming the field (an edit gone wrong, say).

    Example:
        >>> read_constraints({"features": [{"name": "x", "inferred_type": "Integral"}]})
        {'x': {'name': 'x', 'inferred_type': 'Integral'}}
    """
    import json

    if isinstance(data, str | Path):
        try:
            data = json.loads(Path(data).read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read the constraints file {data}: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise DataError("constraints: 'features' must be a list of {'name', 'inferred_type', ...}")
    out: dict[str, dict[str, Any]] = {}
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise DataError(f"constraints: features[{i}] must be an object")
        name = _field(feature, "name", str, f"constraints: features[{i}]")
        _check_feature(feature, f"constraints: features[{name!r}]")
        out[name] = feature
    return out


def _check_feature(feature: dict[str, Any], where: str) -> None:
    kinds = ("Integral", "Fractional", "String", "Boolean", "Unknown")
    kind = feature.get("inferred_type")
    if kind not in kinds:
        raise DataError(f"{where}.inferred_type is {kind!r}; expected one of {list(kinds)}")
    completeness = feature.get("completeness", 0.0)
    if (
        isinstance(completeness, bool)
        or not isinstance(completeness, int | float)
        or not 0 <= completeness <= 1
    ):
        raise DataError(f"{where}.completeness is {completeness!r}; expected a number from 0 to 1")
    nums = feature.get("num_constraints", {})
    if not isinstance(nums, dict) or not isinstance(nums.get("is_non_negative", False), bool):
        raise DataError(f"{where}.num_constraints.is_non_negative must be true or false")
    strings = feature.get("string_constraints", {})
    domains = strings.get("domains", []) if isinstance(strings, dict) else None
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise DataError(f"{where}.string_constraints.domains must be a list of strings")


def record_batches(data: Any, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Arrow record batches of ``data``: a DataFrame, an Arrow table, a Parquet or CSV file
    or folder, or an iterable of batches (or tables), read ``batch_rows`` at a time.

    Raises:
        DataError: a path that does not exist, or data of another kind.
    """
    import pyarrow as pa

    if isinstance(data, pa.RecordBatch):
        yield data
    elif isinstance(data, pa.Table):
        yield from data.to_batches(max_chunksize=batch_rows)
    elif isinstance(data, str | Path):
        yield from _file_batches(Path(data), batch_rows)
    elif hasattr(data, "columns") and hasattr(data, "dtypes"):  # a pandas DataFrame
        table = pa.Table.from_pandas(data, preserve_index=False)
        yield from table.to_batches(max_chunksize=batch_rows)
    elif isinstance(data, Iterable):
        for item in data:
            yield from record_batches(item, batch_rows)
    else:
        raise DataError(
            f"cannot profile a {type(data).__name__}: give a DataFrame, an Arrow table, a "
            "Parquet or CSV path, or an iterable of Arrow record batches"
        )


def _file_batches(path: Path, batch_rows: int) -> Iterator[Any]:
    """A file's, or a folder's files', batches, one file at a time: a reader that decodes
    ahead of a slower consumer would hold gigabytes of a large folder."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".csv":
            options = pcsv.ReadOptions(block_size=1 << 24)
            yield from pcsv.open_csv(file, read_options=options)
        elif suffix in (".parquet", ".pq") or not path.is_dir():
            yield from pq.ParquetFile(file).iter_batches(batch_size=batch_rows)


PARALLEL_BYTES = 64 << 20  # folders of files this large are profiled by several processes


def _profile_file(path: str, batch_rows: int) -> dict[str, Any]:
    """One file's profile, as a dict (what a worker process sends back)."""
    part = Profile()
    for batch in _file_batches(Path(path), batch_rows):
        part.update(batch)
    return part.to_dict()


Runner = Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]]


def _process_pool(workers: int) -> Runner:
    """Calls run by a pool of ``workers`` processes of this machine."""

    def run(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
        import concurrent.futures
        import multiprocessing

        context = multiprocessing.get_context("forkserver")  # no fork of a threaded process
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(fn, *zip(*calls, strict=True)))

    return run


def _in_parallel(
    data: Any, batch_rows: int, n_jobs: int | None, runner: Runner | None
) -> Profile | None:
    """A folder's files profiled in parallel (a process per core, or ``runner``) and
    merged in file order; None when the data is not a folder of several files large
    enough to pay for it."""
    import os

    if not isinstance(data, str | Path) or not Path(data).is_dir() or n_jobs == 1:
        return None
    files = sorted(
        p for p in Path(data).rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
    )
    workers = min(n_jobs or os.cpu_count() or 1, len(files))
    if len(files) < 2 or (runner is None and workers < 2):  # a runner has workers of its own
        return None
    if sum(p.stat().st_size for p in files) < PARALLEL_BYTES:
        return None
    parts = (runner or _process_pool(workers))(_profile_file, [(str(f), batch_rows) for f in files])
    merged = Profile()
    for part in parts:
        merged = merged.merge(Profile.from_dict(part))
    return merged


def profile(
    data: Any,
    *,
    target: str | None = None,
    predictions: list[str] | str | None = None,
    batch_rows: int = BATCH_ROWS,
    n_jobs: int | None = None,
    runner: Runner | None = None,
) -> Profile:
    """Profile ``data`` in streaming batches (see the module's docstring).

    Args:
        data: a DataFrame, an Arrow table, a Parquet or CSV file or folder, or an
            iterable of Arrow record batches.
        target: the column holding the ground truth, if any.
        predictions: the columns holding predictions or scores.
        batch_rows: rows per batch read.
        n_jobs: processes for a folder of Parquet files over 64 MiB (one file each, the
            profiles merged); default: one per core; 1: this process alone.
        runner: what runs those files' profiles, ``runner(fn, [args, …])`` → answers in
            order (monitoring passes alambic's executor: local workers or Ray); default:
            a pool of ``n_jobs`` processes.

    Raises:
        DataError: data of another kind, or a named column that is not in it.
    """
    named = [predictions] if isinstance(predictions, str) else list(predictions or [])
    result = _in_parallel(data, batch_rows, n_jobs, runner)
    if result is None:
        result = Profile()
        for batch in record_batches(data, batch_rows):
            result.update(batch)
    result.target, result.predictions = target, named
    missing = [c for c in [target, *named] if c is not None and c not in result.columns]
    if missing:
        raise DataError(f"columns {missing} are not in the data (it has {list(result.columns)})")
    return result
