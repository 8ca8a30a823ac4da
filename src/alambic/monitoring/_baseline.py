"""Baselines: the profile of a model's training data, kept with its version; and its
held-out scores with their labels, which calibrate performance estimates."""

from __future__ import annotations

import json
from typing import Any

from alambic.data import Profile, profile
from alambic.errors import MonitoringError

__all__ = ["baseline", "baseline_of", "calibration_of"]


def baseline(
    data: Any,
    *,
    target: str | None = None,
    predictions: list[str] | str | None = None,
) -> Profile:
    """Profile ``data`` as a reference (see :class:`alambic.data.Profile`).

    Args:
        data: a DataFrame, an Arrow table, a Parquet or CSV file or folder, or an
            iterable of Arrow record batches (read in streaming batches).
        target: the column holding the ground truth, if any.
        predictions: the columns holding the model's predictions or scores.

    Example:
        >>> import pandas as pd
        >>> baseline(pd.DataFrame({"x": [1, 2, 3]}))["x"].inferred_type
        'Integral'
    """
    from alambic.monitoring._profiles import on_executor

    return profile(data, target=target, predictions=predictions, runner=on_executor)


def _kept_with(model: str, what: str, hint: str) -> bytes:
    """The bytes of what ``register`` kept under ``lineage[what]`` for a model version."""
    from alambic.config import settings
    from alambic.registry import resolve
    from alambic.store import ArtifactStore

    record = resolve(model)
    stored = (record.lineage or {}).get(what)
    if not stored:
        raise MonitoringError(f"{record.ref} has no {hint}")
    return ArtifactStore(settings().artifacts).get_bytes(stored["key"])


def baseline_of(model: str) -> Profile:
    """The baseline stored with a model version (``al.register(..., baseline=...)``).

    Args:
        model: ``name/3``, ``name@production`` or ``name`` (the latest version).

    Raises:
        MonitoringError: the version was registered without a baseline.
    """
    raw = _kept_with(
        model,
        "baseline",
        "baseline; register it with al.register(..., baseline=train_df), "
        "or pass a baseline (al.monitoring.baseline(train_df)) yourself",
    )
    return Profile.from_dict(json.loads(raw))


def calibration_of(model: str) -> Any:
    """The held-out scores and labels stored with a model version
    (``al.register(..., calibration=(X_test, y_test))``), as a DataFrame: ``score`` (or
    ``proba_0``, ``proba_1``…) and ``label`` (the class's index): the reference of
    :func:`~alambic.monitoring.estimate`.

    Raises:
        MonitoringError: the version was registered without calibration data.
    """
    import io

    import pandas as pd

    raw = _kept_with(
        model,
        "calibration",
        "calibration data to estimate its performance from; register it again with "
        "al.register(..., calibration=(X_test, y_test)) (the same model gains it), or give "
        "a file of scores and a label column: alambic monitors update NAME --calibration "
        "FILE (al.monitoring.estimate(FILE_AS_DATAFRAME, ...) in Python)",
    )
    return pd.read_parquet(io.BytesIO(raw))
