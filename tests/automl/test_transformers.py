"""The scikit-learn pieces generated candidates use: date parts, labels any classifier takes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.tree import DecisionTreeClassifier

from alambic.automl import DateParts, EncodedLabels


def test_date_parts_are_numbers_and_unreadable_dates_are_missing() -> None:
    frame = pd.DataFrame(
        {
            "at": ["2026-12-04 10:30", "not a date", None],
            "paid": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]).tz_localize(
                "Europe/Paris"
            ),
        }
    )
    parts = DateParts().fit(frame)
    out = parts.transform(frame)
    names = parts.get_feature_names_out().tolist()
    assert out.shape == (3, 12) and names[:6] == [
        "at_year",
        "at_month",
        "at_day",
        "at_weekday",
        "at_hour",
        "at_days",
    ]
    assert out[0, :5].tolist() == [2026, 12, 4, 4, 10]  # a Friday, 10 o'clock
    assert np.isnan(out[1, :6]).all() and np.isnan(out[2, :6]).all()
    assert out[0, 11] == (pd.Timestamp("2025-12-31 23:00") - pd.Timestamp("1970-01-01")).days + (
        23 / 24
    )  # midnight in Paris is 23:00 UTC the day before
    assert clone(parts).get_params() == {}


def test_encoded_labels_answer_with_the_labels_they_were_given() -> None:
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.array(["low"] * 4 + ["mid"] * 4 + ["high"] * 4)
    model = EncodedLabels(DecisionTreeClassifier(random_state=0)).fit(X, y)
    assert model.classes_.tolist() == ["high", "low", "mid"]
    assert model.predict(X).tolist() == y.tolist()
    assert model.predict_proba(X).shape == (12, 3)
    assert clone(model).set_params(estimator__max_depth=1).estimator.max_depth == 1
