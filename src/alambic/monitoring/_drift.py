"""Data drift: each column's test, chosen by type and size, and the data set's verdict.

``drift(reference, current)`` compares two data sets column by column. Each side is a
DataFrame (raw values: the tests are scipy's, exactly), or a :class:`~alambic.data.Profile`
or a Parquet/CSV path (profiled in streaming batches: the tests read the sketches, and
each result states its approximation ``bound``). The test per column, as Evidently
chooses by default: with at most 1,000 reference values, Kolmogorov-Smirnov for numbers,
a two-proportion z-test for two categories and chi-square for more (drift when the
p-value is below 0.05); beyond, the Wasserstein distance in reference standard
deviations for numbers and the Jensen-Shannon distance for categories (drift at 0.1 or
more). PSI and Hellinger are there too. Any column's method and threshold can be set.
The data set drifts when the share of drifted columns reaches ``drift_share`` (0.5).

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> brands = lambda: rng.choice(["a", "b"], 500)
    >>> ref = pd.DataFrame({"price": rng.normal(10, 1, 500), "brand": brands()})
    >>> cur = pd.DataFrame({"price": rng.normal(12, 1, 500), "brand": brands()})
    >>> report = drift(ref, cur)
    >>> [(c.column, c.method, c.drifted) for c in report.columns]
    [('price', 'ks', True), ('brand', 'z', False)]
    >>> report.dataset_drift, report.share
    (True, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from alambic.data import ColumnProfile, Profile, profile
from alambic.errors import MonitoringError
from alambic.monitoring._tests import METHODS, Outcome, categorical, numeric, numeric_sketch

__all__ = ["ColumnDrift", "DriftReport", "drift", "drift_over_time"]

SMALL = 1000  # reference values up to which a statistical test is used, not a distance


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift result.

    Attributes:
        status: ``ok``, ``drift``, ``missing`` (not in the current data),
            ``type_changed`` (numbers that came as text, say) or ``no_data`` (no value on
            one side).
        bound: 0 on raw values; against sketches, how far the exact statistic may be.
    """

    column: str
    kind: str  # numeric or categorical
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    status: str
    n_reference: int
    n_current: int
    bound: float = 0.0
    role: str = "feature"  # feature, prediction or target

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    """Every column's :class:`ColumnDrift` and the data set's verdict."""

    columns: list[ColumnDrift]
    drift_share: float
    share: float  # drifted features / features tested
    dataset_drift: bool
    approximate: bool = False  # computed on sketches
    notes: list[str] = field(default_factory=list)
    status: str = ""  # ok, drift, or no_data (no current row: nothing was tested)

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "drift" if self.dataset_drift else "ok")

    def __getitem__(self, column: str) -> ColumnDrift:
        for result in self.columns:
            if result.column == column:
                return result
        raise KeyError(f"no drift result for {column!r} ({[c.column for c in self.columns]})")

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_html(self, title: str = "drift report") -> str:
        """This report as one self-contained HTML file (no script, opens offline)."""
        from alambic.monitoring._report import render

        level = {"drift": "alert", "ok": "ok"}.get(self.status, self.status)
        return render(title, level, {"drift": self.to_dict()}, "; ".join(self.notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "dataset_drift": self.dataset_drift,
            "share": self.share,
            "drift_share": self.drift_share,
            "approximate": self.approximate,
            "drifted": self.drifted,
            "columns": [c.to_dict() for c in self.columns],
            "notes": self.notes,
        }


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


class _Side:
    """One side of the comparison: raw columns (a DataFrame) or a profile."""

    def __init__(self, data: Any, name: str) -> None:
        self.name = name
        self.frame: Any = None
        self.profile: Profile | None = None
        from alambic.monitoring._capture import CaptureWindow
        from alambic.monitoring._profiles import on_executor, window_profile

        if isinstance(data, Profile):
            self.profile = data
        elif hasattr(data, "columns") and hasattr(data, "dtypes"):
            self.frame = data
        elif isinstance(data, CaptureWindow):
            self.profile = window_profile(data)
        else:
            self.profile = profile(data, runner=on_executor)

    @property
    def names(self) -> list[str]:
        if self.frame is not None:
            return list(self.frame.columns)
        return list(self.as_profile().columns)

    def as_profile(self) -> Profile:
        if self.profile is None:
            self.profile = profile(self.frame)
        return self.profile


def drift(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    method: str | dict[str, str] | None = None,
    threshold: float | dict[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Compare ``current`` with ``reference``, column by column (see the module).

    Args:
        reference: a DataFrame, a :class:`~alambic.data.Profile` (a model's baseline),
            or a Parquet/CSV path.
        current: the same kinds of data.
        columns: the columns to test (default: the reference's features and predictions).
        method: one method for every column, or per column (``{"price": "psi"}``).
        threshold: one threshold, or per column.
        drift_share: the share of drifted features at which the data set drifts.

    Raises:
        MonitoringError: an unknown method, a column the reference lacks, a bad share.
    """
    if not 0 < drift_share <= 1:
        raise MonitoringError(f"drift_share is {drift_share}; expected a share in (0, 1]")
    ref, cur = _Side(reference, "reference"), _Side(current, "current")
    sketched = ref.frame is None or cur.frame is None
    names = columns if columns is not None else _default_columns(ref)
    unknown = [c for c in names if c not in ref.names]
    if unknown:
        raise MonitoringError(f"columns {unknown} are not in the reference ({ref.names})")
    roles = _roles(ref)
    if (len(cur.frame) if cur.frame is not None else cur.as_profile().rows) == 0:
        note = f"no data in {current}" if not hasattr(current, "columns") else "no rows"
        return DriftReport([], drift_share, 0.0, False, sketched, [note], status="no_data")
    results = []
    for name in names:
        chosen = _pick(method, name)
        limit = _pick(threshold, name)
        if sketched:
            result = _sketched(name, ref.as_profile(), cur, chosen, limit)
        else:
            result = _raw(name, ref.frame, cur.frame, chosen, limit)
        results.append(_with_role(result, roles.get(name, "feature")))
    features = [r for r in results if r.role == "feature" and r.status != "no_data"]
    share = sum(r.drifted for r in features) / len(features) if features else 0.0
    notes = [f"{r.column}: {r.status}" for r in results if r.status not in ("ok", "drift")]
    return DriftReport(
        results, drift_share, share, bool(features) and share >= drift_share, sketched, notes
    )


def _default_columns(side: _Side) -> list[str]:
    if side.profile is not None:
        return [c for c in side.profile.columns if c != side.profile.target]
    return side.names


def _roles(side: _Side) -> dict[str, str]:
    if side.profile is None:
        return {}
    roles = dict.fromkeys(side.profile.predictions, "prediction")
    if side.profile.target is not None:
        roles[side.profile.target] = "target"
    return roles


def _with_role(result: ColumnDrift, role: str) -> ColumnDrift:
    return result if role == "feature" else ColumnDrift(**{**asdict(result), "role": role})


def _pick(option: Any, name: str) -> Any:
    return option.get(name) if isinstance(option, dict) else option


def _check_method(method: str, kind: str) -> None:
    if method not in METHODS:
        raise MonitoringError(f"unknown drift method {method!r}; one of {sorted(METHODS)}")
    if kind == "numeric" and method in ("chisquare", "z"):
        raise MonitoringError(
            f"{method} tests categories; for numbers use ks, wasserstein, psi, hellinger or "
            "jensenshannon"
        )


def _default_method(kind: str, n_reference: int, n_values: int) -> str:
    if kind == "numeric":
        return "ks" if n_reference <= SMALL else "wasserstein"
    if n_reference <= SMALL:
        return "z" if n_values <= 2 else "chisquare"
    return "jensenshannon"


@dataclass(frozen=True)
class _Compared:
    """A column's kind, test, threshold and sample sizes (what every verdict names)."""

    name: str
    kind: str
    method: str
    threshold: float | None
    sizes: tuple[int, int]

    @property
    def limit(self) -> float:
        return METHODS[self.method][1] if self.threshold is None else float(self.threshold)

    def verdict(self, outcome: Outcome) -> ColumnDrift:
        if METHODS[self.method][0] == "p":
            drifted = outcome.p_value is not None and outcome.p_value < self.limit
        else:
            drifted = outcome.statistic >= self.limit
        return ColumnDrift(
            self.name, self.kind, self.method, outcome.statistic, outcome.p_value, self.limit,
            drifted, "drift" if drifted else "ok", *self.sizes, bound=outcome.bound,
        )  # fmt: skip

    def empty(self, status: str) -> ColumnDrift:
        """No test: the column is ``missing`` from the current data or its values are of
        another type (``type_changed``): a drift; or it has ``no_data`` on one side (not
        counted)."""
        missing = status in ("missing", "type_changed")
        return ColumnDrift(
            self.name, self.kind, self.method, None, None, self.limit, missing, status,
            *self.sizes,
        )  # fmt: skip


def _chosen(method: str | None, kind: str, n_reference: int, n_values: int) -> str:
    chosen = method or _default_method(kind, n_reference, n_values)
    _check_method(chosen, kind)
    return chosen


def _raw(name: str, ref: Any, cur: Any, method: str | None, threshold: float | None) -> ColumnDrift:
    import pandas as pd

    values = ref[name]
    absent = name not in cur.columns
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        reference = _finite(values)
        numbers = absent or pd.api.types.is_numeric_dtype(cur[name])
        current = _finite(cur[name]) if not absent and numbers else np.array([])
        sizes = (len(reference), len(current) if numbers else len(cur))
        chosen = _chosen(method, "numeric", sizes[0], 0)
        compared = _Compared(name, "numeric", chosen, threshold, sizes)
        if absent or not numbers:
            return compared.empty("missing" if absent else "type_changed")
        if not all(sizes):
            return compared.empty("no_data")
        return compared.verdict(numeric(chosen, reference, current))
    ref_counts = _value_counts(values)
    cur_counts = {} if absent else _value_counts(cur[name])
    sizes = (int(sum(ref_counts.values())), int(sum(cur_counts.values())))
    chosen = _chosen(method, "categorical", sizes[0], len(set(ref_counts) | set(cur_counts)))
    compared = _Compared(name, "categorical", chosen, threshold, sizes)
    if absent or not all(sizes):
        return compared.empty("missing" if absent else "no_data")
    return compared.verdict(categorical(chosen, ref_counts, cur_counts))


def _value_counts(series: Any) -> dict[str, float]:
    counts = series.dropna().astype(str).value_counts()
    return {str(k): float(v) for k, v in counts.items()}


def _finite(series: Any) -> np.ndarray:
    values: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def _sketched(
    name: str, ref: Profile, cur: _Side, method: str | None, threshold: float | None
) -> ColumnDrift:
    reference = ref[name]
    current = cur.as_profile().columns.get(name)
    kind = "numeric" if reference.numeric else "categorical"
    n_values = 0
    if not reference.numeric:  # a value new in the current data makes it more than two
        seen = {v for v, _ in reference.top(3)}
        if current is not None and not current.numeric:
            seen |= {v for v, _ in current.top(3)}
        n_values = len(seen)
    chosen = _chosen(method, kind, reference.finite, n_values)
    if current is None:
        return _Compared(name, kind, chosen, threshold, (reference.finite, 0)).empty("missing")
    compared = _Compared(name, kind, chosen, threshold, (reference.finite, current.finite))
    if reference.numeric != current.numeric:
        return compared.empty("type_changed")
    if not all(compared.sizes):
        return compared.empty("no_data")
    if kind == "numeric":
        return compared.verdict(numeric_sketch(chosen, reference, current))
    return compared.verdict(categorical(chosen, _counts(reference), _counts(current)))


def _counts(column: ColumnProfile) -> dict[str, float]:
    """Counts of the frequent values, and every other value as one ``other`` bucket."""
    counts = {value: float(n) for value, n in column.top(10_000)}
    rest = column.present - sum(counts.values())
    if rest > 0:
        counts["\x00other"] = float(rest)
    return counts


def drift_over_time(
    reference: Any, window: Any, every: str, **options: Any
) -> list[tuple[str, DriftReport]]:
    """Drift chunk by chunk: ``window`` (a :func:`~alambic.monitoring.capture` window)
    cut into periods of ``every`` (``"1h"``, ``"1d"``), each compared with ``reference``.

    Returns:
        ``(chunk start, report)`` pairs, oldest first; an empty chunk's report is
        ``no_data``.

    Example:
        >>> week = capture("fraud", since="7d")  # doctest: +SKIP
        >>> [(start, r.share) for start, r in drift_over_time(base, week, "1d")]  # doctest: +SKIP
    """
    reference = (
        reference if isinstance(reference, Profile) else _Side(reference, "reference").as_profile()
    )
    return [
        (part.since.isoformat(timespec="minutes"), drift(reference, part, **options))
        for part in window.chunks(every)
    ]
