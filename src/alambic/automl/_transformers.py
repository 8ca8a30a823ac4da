"""The scikit-learn pieces generated candidates use that scikit-learn lacks.

- :class:`DateParts` turns date and time columns into numbers a model can split on.
- :class:`EncodedLabels` lets a classifier that wants labels ``0..k-1`` (XGBoost) take
  any labels, and answer with them.

Both follow the estimator contract (``__init__`` stores parameters, learned state ends
in ``_``), so pipelines holding them clone, tune and store with skops like any other
(``alambic.automl.`` types are trusted when a model loads).

Example:
    >>> import pandas as pd
    >>> parts = DateParts().fit(pd.DataFrame({"at": ["2026-12-04 10:30"]}))
    >>> parts.get_feature_names_out().tolist()[:3]
    ['at_year', 'at_month', 'at_day']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone

__all__ = ["DateParts", "EncodedLabels"]

PARTS = ("year", "month", "day", "weekday", "hour", "days")


class DateParts(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Each date column as its year, month, day, weekday, hour and days since 1970.

    Text is read as dates (``pd.to_datetime``); what does not read is missing (NaN), which
    the imputers and gradient-boosted trees downstream handle.
    """

    def fit(self, X: Any, y: Any = None) -> DateParts:
        self.columns_ = [str(c) for c in _frame(X).columns]
        self.n_features_in_ = len(self.columns_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        out: list[np.ndarray] = []
        for name in frame.columns:
            when = pd.to_datetime(frame[name], errors="coerce", format="mixed")
            if getattr(when.dt, "tz", None) is not None:
                when = when.dt.tz_convert("UTC").dt.tz_localize(None)
            days = (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            parts = [when.dt.year, when.dt.month, when.dt.day, when.dt.day_of_week, when.dt.hour]
            out.extend(part.to_numpy(dtype=float, na_value=np.nan) for part in parts)
            out.append(days.to_numpy(dtype=float, na_value=np.nan))
        return np.column_stack(out) if out else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"{c}_{p}" for c in self.columns_ for p in PARTS], dtype=object)


class EncodedLabels(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier fitted on labels ``0..k-1`` that answers with the labels it was given.

    Args:
        estimator: the classifier (its parameters are ``estimator__*``).
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabels:
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.estimator_.predict(X)).astype(int).ravel()
        return np.asarray(self.classes_[codes])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X))


def _frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(np.asarray(X, dtype=object).reshape(len(X), -1))
