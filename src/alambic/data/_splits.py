"""Seeded train/test splits: random, stratified, by time, by group.

Example:
    >>> import pandas as pd
    >>> from alambic.data import split
    >>> train, test = split(pd.DataFrame({"x": range(10)}), test_size=0.3, random_state=1)
    >>> len(train), len(test)
    (7, 3)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alambic.errors import DataError

__all__ = ["split"]


def _n_test(n: int, test_size: float) -> int:
    if not 0 < test_size < 1:
        raise DataError(f"test_size={test_size} must be between 0 and 1 (a fraction of the rows)")
    count = math.ceil(n * test_size)
    if n >= 2:
        count = min(max(count, 1), n - 1)
    return count


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        raise DataError(f"{what}={name!r} is not a column; the columns are {list(frame.columns)}")
    return frame[name]


def split(
    frame: pd.DataFrame,
    *,
    test_size: float = 0.2,
    random_state: int = 0,
    stratify: str | None = None,
    time_column: str | None = None,
    group_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test); the same seed always gives the same split.

    Args:
        frame: the rows.
        test_size: the fraction of rows (or groups) in the test set.
        random_state: the seed.
        stratify: keep this column's class proportions in both sets.
        time_column: put the latest rows in the test set (no shuffling: no leakage).
        group_column: keep all rows of a group on the same side (e.g. one seller).

    Raises:
        DataError: several strategies at once, an unknown column, a bad ``test_size``.
    """
    chosen = [n for n in (stratify, time_column, group_column) if n is not None]
    if len(chosen) > 1:
        raise DataError("choose one of stratify=, time_column= or group_column=")
    n = len(frame)
    rng = np.random.default_rng(random_state)
    if time_column is not None:
        order = np.argsort(_column(frame, time_column, "time_column").to_numpy(), kind="stable")
        cut = n - _n_test(n, test_size)
        return frame.iloc[np.sort(order[:cut])], frame.iloc[np.sort(order[cut:])]
    if group_column is not None:
        groups = _column(frame, group_column, "group_column")
        unique = groups.drop_duplicates().to_numpy()
        if len(unique) < 2:
            raise DataError(f"group_column={group_column!r} has one group; a split needs two")
        picked = rng.permutation(unique)[: _n_test(len(unique), test_size)]
        mask = groups.isin(picked).to_numpy()
        return frame[~mask], frame[mask]
    if stratify is not None:
        labels = _column(frame, stratify, "stratify")
        test_rows: list[int] = []
        for _, positions in sorted(labels.groupby(labels, sort=True).indices.items()):
            take = round(len(positions) * test_size)
            test_rows.extend(rng.permutation(positions)[:take].tolist())
        mask = np.zeros(n, dtype=bool)
        mask[test_rows] = True
        return frame[~mask], frame[mask]
    order = rng.permutation(n)
    test = np.sort(order[: _n_test(n, test_size)])
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return frame[~mask], frame[mask]
