"""Monitoring: baselines, data drift and data quality against them.

- :func:`baseline` profiles the data a model was trained on (a DataFrame, an Arrow table
  or a Parquet/CSV path, read in streaming batches): per-column statistics and
  Apache DataSketches sketches that merge, written as SageMaker Model Monitor's
  ``statistics.json`` and ``constraints.json``. ``al.register(..., baseline=train_df)``
  keeps one with the model version, and :func:`baseline_of` reads it back;
  ``calibration=(X_test, y_test)`` keeps its held-out scores (:func:`calibration_of`).
- :func:`drift` tests each column of current data against a reference (a DataFrame: the
  exact scipy tests; a baseline: its sketches, each result with its bound).
- :func:`capture` reads an endpoint's captured requests over a window (``since="24h"``),
  in streaming batches, as the current data of :func:`drift` and :func:`check`.
- :func:`multivariate_drift` sees a change in how columns move together (PCA
  reconstruction error against the reference's chunks), where no column drifts alone.
- :func:`check` lists the violations of current data against a baseline's constraints.
- :func:`performance` measures quality once late labels arrive (per variant, holdout
  against treated, with bootstrap intervals); :func:`estimate` estimates it before they
  do, from calibrated scores (CBPE).
- Monitors (:func:`create_monitor`, :func:`run_monitor`, :func:`monitor_step` in a
  pipeline) store which checks run on what, with thresholds and severities; each run
  stores its results, its status (``ok``, ``warn``, ``alert``, ``no_data``) and a
  self-contained HTML report.

Example:
    >>> import pandas as pd
    >>> import alambic as al
    >>> train = pd.DataFrame({"price": [10.0, 12.0, 11.0, 13.0], "brand": ["a", "b", "a", "b"]})
    >>> base = al.monitoring.baseline(train)
    >>> brand = base.constraints()["features"][1]
    >>> base["price"].max, brand["string_constraints"]["domains"]
    (13.0, ['a', 'b'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "ColumnDrift": "._drift",
    "DriftReport": "._drift",
    "drift": "._drift",
    "drift_over_time": "._drift",
    "Violation": "._quality",
    "check": "._quality",
    "baseline": "._baseline",
    "baseline_of": "._baseline",
    "calibration_of": "._baseline",
    "CaptureWindow": "._capture",
    "capture": "._capture",
    "GroupQuality": "._performance",
    "PerformanceReport": "._performance",
    "performance": "._performance",
    "Estimate": "._estimate",
    "estimate": "._estimate",
    "create_monitor": "._monitors",
    "update_monitor": "._monitors",
    "get_monitor": "._monitors",
    "list_monitors": "._monitors",
    "delete_monitor": "._monitors",
    "run_monitor": "._monitors",
    "monitor_step": "._monitors",
    "monitor_history": "._monitors",
    "report_file": "._monitors",
    "MultivariateDrift": "._multivariate",
    "multivariate_drift": "._multivariate",
    "MonitorRecord": "._store",
    "MonitorRunRecord": "._store",
    "monitoring_store": "._store",
}

__all__ = [
    "CaptureWindow",
    "ColumnDrift",
    "DriftReport",
    "Estimate",
    "GroupQuality",
    "MonitorRecord",
    "MonitorRunRecord",
    "MultivariateDrift",
    "PerformanceReport",
    "Violation",
    "baseline",
    "baseline_of",
    "calibration_of",
    "capture",
    "check",
    "create_monitor",
    "delete_monitor",
    "drift",
    "drift_over_time",
    "estimate",
    "get_monitor",
    "list_monitors",
    "monitor_history",
    "monitor_step",
    "monitoring_store",
    "multivariate_drift",
    "performance",
    "report_file",
    "run_monitor",
    "update_monitor",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.monitoring._baseline import baseline, baseline_of, calibration_of
    from alambic.monitoring._capture import CaptureWindow, capture
    from alambic.monitoring._drift import ColumnDrift, DriftReport, drift, drift_over_time
    from alambic.monitoring._estimate import Estimate, estimate
    from alambic.monitoring._monitors import (
        create_monitor,
        delete_monitor,
        get_monitor,
        list_monitors,
        monitor_history,
        monitor_step,
        report_file,
        run_monitor,
        update_monitor,
    )
    from alambic.monitoring._multivariate import MultivariateDrift, multivariate_drift
    from alambic.monitoring._performance import GroupQuality, PerformanceReport, performance
    from alambic.monitoring._quality import Violation, check
    from alambic.monitoring._store import MonitorRecord, MonitorRunRecord, monitoring_store
