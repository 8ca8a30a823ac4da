"""Capture written as serving writes it, for the monitoring tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def write_capture(
    endpoint: str,
    frame: pd.DataFrame,
    *,
    at: float,
    variant: str = "main",
    model: str = "cars/1",
    probabilities: np.ndarray | None = None,
    holdout: np.ndarray | None = None,
    prefix: str = "r",
) -> list[str]:
    """One single-row request per row of ``frame`` at time ``at`` (seconds since the
    epoch), through serving's own capture buffer; the request ids."""
    from alambic.serving import capture_root
    from alambic.serving._capture import CaptureBuffer, Record
    from alambic.serving._predictor import Outputs

    buffer = CaptureBuffer(capture_root(), flush_seconds=3600)
    kinds = {c: "float" if frame[c].dtype.kind == "f" else "string" for c in frame.columns}
    ids = []
    for i in range(len(frame)):
        proba = None if probabilities is None else probabilities[i : i + 1]
        label = [] if proba is None else [int(proba[0].argmax())]
        outputs = Outputs(label or [0.0], proba, [0, 1] if proba is not None else [])
        inputs: dict[str, Any] = {
            c: (np.array([frame[c].iloc[i]]) if kinds[c] == "float" else [frame[c].iloc[i]])
            for c in frame.columns
        }
        rid = f"{prefix}{i}"
        ids.append(rid)
        flag = bool(holdout[i]) if holdout is not None else False
        record = Record(rid, at, endpoint, variant, model, False, flag, 1.0, inputs, outputs, kinds)
        assert buffer.offer(record)
    buffer.flush()
    buffer.close()
    return ids
