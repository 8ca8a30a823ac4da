"""Multivariate drift: a change in how the columns move together, by PCA reconstruction.

When each column keeps its own distribution but their joint one changes (two features
that rose together now move apart), no per-column test sees it. As NannyML does, the
reference is encoded (numbers standardised by its mean and standard deviation, missing
values at the mean; each category among the 20 most frequent as a 0/1 column, the rest
as "other"), and a PCA keeps the components explaining ``variance`` (65%) of it. A
chunk's reconstruction error is the mean distance between its encoded rows and their
projection back from those components. The reference, cut into chunks of the same
size, gives the error's expected range (mean ± 3 standard deviations); a current chunk
outside it has drifted.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> ref = pd.DataFrame({"a": x, "b": x + rng.normal(0, 0.3, 4000)})
    >>> y = rng.normal(size=1000)
    >>> cur = pd.DataFrame({"a": y, "b": -y + rng.normal(0, 0.3, 1000)})  # same marginals
    >>> result = multivariate_drift(ref, cur, chunk_rows=500)
    >>> [c.drifted for c in result.chunks]
    [True, True]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from alambic.errors import MonitoringError

__all__ = ["MultivariateDrift", "multivariate_drift"]

TOP = 20  # categories kept as their own column; the others share one


@dataclass(frozen=True)
class ErrorChunk:
    label: str
    rows: int
    error: float
    drifted: bool


@dataclass(frozen=True)
class MultivariateDrift:
    """The reference's error range and each current chunk's reconstruction error."""

    components: int
    mean: float
    std: float
    lower: float
    upper: float
    chunks: list[ErrorChunk]

    @property
    def drifted(self) -> bool:
        return any(c.drifted for c in self.chunks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "components": self.components,
            "reference": {
                "mean": self.mean,
                "std": self.std,
                "lower": self.lower,
                "upper": self.upper,
            },
            "drifted": self.drifted,
            "chunks": [c.__dict__ for c in self.chunks],
        }


class _Encoder:
    """Numbers standardised, categories one-hot (top ``TOP``), as fitted on the reference."""

    def __init__(self, frame: Any, columns: list[str]) -> None:
        import pandas as pd

        self.numbers = [
            c
            for c in columns
            if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]
        self.categories = {
            c: frame[c].astype(str).value_counts().index[:TOP].tolist()
            for c in columns
            if c not in self.numbers
        }
        values = (
            frame[self.numbers].to_numpy(dtype=float) if self.numbers else np.empty((len(frame), 0))
        )
        values = np.where(np.isfinite(values), values, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-null column: mean 0
            mean = np.nanmean(values, axis=0) if self.numbers else np.empty(0)
            std = np.nanstd(values, axis=0) if self.numbers else np.empty(0)
        self.mean = np.nan_to_num(mean)
        self.std = np.where(np.isfinite(std) & (std > 0), std, 1.0)

    def __call__(self, frame: Any) -> np.ndarray:
        parts = []
        if self.numbers:
            values = frame[self.numbers].to_numpy(dtype=float)
            values = np.where(np.isfinite(values), values, np.nan)
            values = np.where(np.isnan(values), self.mean, values)
            parts.append((values - self.mean) / self.std)
        for column, levels in self.categories.items():
            text = frame[column].astype(str).to_numpy()
            onehot = np.column_stack([text == level for level in levels] + [~np.isin(text, levels)])
            parts.append(onehot.astype(float))
        return np.hstack(parts) if parts else np.empty((len(frame), 0))


def _error(encoded: np.ndarray, pca: Any) -> float:
    back = pca.inverse_transform(pca.transform(encoded))
    return float(np.linalg.norm(encoded - back, axis=1).mean())


def multivariate_drift(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    chunk_rows: int | None = None,
    variance: float = 0.65,
    random_state: int = 0,
) -> MultivariateDrift:
    """PCA reconstruction error of ``current``'s chunks against ``reference`` (see the
    module's docstring). Both are DataFrames (the reference needs its rows, not a sketch).

    Args:
        columns: the columns (default: those both sides have).
        chunk_rows: rows per chunk (default: current's rows in 10 chunks, at least 100).
        variance: the share of the reference's variance the components keep.

    Raises:
        MonitoringError: too few reference rows for two chunks, or no shared column.
    """
    from alambic.core import optional_import

    decomposition = optional_import("sklearn.decomposition", extra="evaluation")
    names = columns or [c for c in reference.columns if c in current.columns]
    if not names:
        raise MonitoringError("the reference and the current data share no column")
    size = chunk_rows or max(100, math.ceil(len(current) / 10))
    if len(reference) < 2 * size:
        raise MonitoringError(
            f"the reference has {len(reference)} rows: it needs two chunks of {size} rows at "
            "least, to know how much the error varies (give a smaller chunk_rows)"
        )
    encode = _Encoder(reference, names)
    encoded = encode(reference)
    pca = decomposition.PCA(n_components=variance, svd_solver="full", random_state=random_state)
    pca.fit(encoded)
    errors = [_error(encoded[i : i + size], pca) for i in range(0, len(encoded) - size + 1, size)]
    mean, std = float(np.mean(errors)), float(np.std(errors, ddof=1))
    lower, upper = mean - 3 * std, mean + 3 * std
    chunks = []
    for start in range(0, len(current), size):
        part = current.iloc[start : start + size]
        error = _error(encode(part), pca)
        label = f"rows {start}-{start + len(part) - 1}"
        chunks.append(ErrorChunk(label, len(part), error, not lower <= error <= upper))
    return MultivariateDrift(int(pca.n_components_), mean, std, lower, upper, chunks)
