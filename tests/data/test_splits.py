"""Seeded splits: each strategy keeps its promise for any seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.data import split
from alambic.errors import DataError


def frame(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": np.arange(n),
            "label": (np.arange(n) % 10 == 0).astype(int),  # 10% positives
            "day": rng.permutation(n),
            "seller": np.arange(n) // 4,
        }
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.floats(min_value=0.05, max_value=0.9))
def test_random_split_partitions_rows_for_any_seed(seed: int, test_size: float) -> None:
    data = frame()
    train, test = split(data, test_size=test_size, random_state=seed)
    assert sorted([*train["x"], *test["x"]]) == list(range(100))
    assert len(test) == pytest.approx(100 * test_size, abs=1)
    again_train, _ = split(data, test_size=test_size, random_state=seed)
    assert again_train["x"].tolist() == train["x"].tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_stratified_split_keeps_class_proportions(seed: int) -> None:
    train, test = split(frame(), test_size=0.2, random_state=seed, stratify="label")
    assert test["label"].sum() == 2 and len(test) == 20
    assert train["label"].sum() == 8


def test_time_split_puts_the_latest_rows_in_test() -> None:
    train, test = split(frame(), test_size=0.25, time_column="day")
    assert train["day"].max() < test["day"].min()
    assert len(test) == 25


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_group_split_never_shares_a_group(seed: int) -> None:
    train, test = split(frame(), test_size=0.3, random_state=seed, group_column="seller")
    assert not set(train["seller"]) & set(test["seller"])
    assert len(train) + len(test) == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 1.5}, "between 0 and 1"),
        ({"stratify": "nope"}, "'nope' is not a column"),
        ({"stratify": "label", "time_column": "day"}, "choose one"),
    ],
    ids=["test-size", "unknown-column", "two-strategies"],
)
def test_bad_split_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        split(frame(), **kwargs)
