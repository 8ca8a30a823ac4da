"""Baselines: the profile of a model's training data, kept with its version."""

from __future__ import annotations

import json
from typing import Any

from alambic.data import Profile, profile
from alambic.errors import MonitoringError

__all__ = ["baseline", "baseline_of"]


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
    return profile(data, target=target, predictions=predictions)


def baseline_of(model: str) -> Profile:
    """The baseline stored with a model version (``al.register(..., baseline=...)``).

    Args:
        model: ``name/3``, ``name@production`` or ``name`` (the latest version).

    Raises:
        MonitoringError: the version was registered without a baseline.
    """
    from alambic.config import settings
    from alambic.registry import resolve
    from alambic.store import ArtifactStore

    record = resolve(model)
    stored = (record.lineage or {}).get("baseline")
    if not stored:
        raise MonitoringError(
            f"{record.ref} has no baseline; register it with al.register(..., baseline=train_df), "
            "or pass a baseline (al.monitoring.baseline(train_df)) yourself"
        )
    raw = ArtifactStore(settings().artifacts).get_bytes(stored["key"])
    return Profile.from_dict(json.loads(raw))
