"""Metric suites for binary and multiclass classification and for regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from alambic.core import optional_import
from alambic.errors import EvaluationError

__all__ = ["METRICS", "compute_metrics", "infer_task", "metric"]

# name → (task, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "roc_auc": ("binary", True),
    "pr_auc": ("binary", True),
    "f1": ("binary", True),
    "precision": ("binary", True),
    "recall": ("binary", True),
    "log_loss": ("binary", False),
    "brier": ("binary", False),
    "accuracy": ("classification", True),
    "macro_f1": ("multiclass", True),
    "multi_log_loss": ("multiclass", False),
    "rmse": ("regression", False),
    "mae": ("regression", False),
    "r2": ("regression", True),
    "mape": ("regression", False),
}


def infer_task(target: Any) -> str:
    """``binary``, ``multiclass`` or ``regression`` from the labels."""
    values = np.asarray(target)
    if values.dtype.kind in "fc" and len(np.unique(values)) > 20:
        return "regression"
    n_classes = len(np.unique(values))
    return "binary" if n_classes <= 2 else "multiclass"


def _sk() -> Any:
    return optional_import("sklearn.metrics", extra="evaluation")


def metric(name: str, y_true: Any, scores: Any, *, threshold: float = 0.5) -> float:
    """One metric by name; ``scores`` are probabilities (classification) or predictions.

    Raises:
        EvaluationError: the metric does not exist.
    """
    if name not in METRICS:
        raise EvaluationError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
    y, s = np.asarray(y_true), np.asarray(scores)
    if name in _BINARY:
        positive = s[:, 1] if s.ndim == 2 else s
        return float(_BINARY[name](_sk(), y, positive, (positive >= threshold).astype(int)))
    if name == "accuracy":
        predicted = s.argmax(axis=1) if s.ndim == 2 else (s >= threshold).astype(int)
        return float(_sk().accuracy_score(y, predicted))
    return float(_OTHERS[name](_sk(), y, s))


# (sklearn.metrics, labels, positive-class scores, thresholded labels) -> value
_BINARY: dict[str, Any] = {
    "roc_auc": lambda sk, y, p, _: sk.roc_auc_score(y, p),
    "pr_auc": lambda sk, y, p, _: sk.average_precision_score(y, p),
    "f1": lambda sk, y, _, labels: sk.f1_score(y, labels, zero_division=0),
    "precision": lambda sk, y, _, labels: sk.precision_score(y, labels, zero_division=0),
    "recall": lambda sk, y, _, labels: sk.recall_score(y, labels, zero_division=0),
    "log_loss": lambda sk, y, p, _: sk.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]),
    "brier": lambda sk, y, p, _: sk.brier_score_loss(y, p),
}
# (sklearn.metrics, labels or targets, scores or predictions) -> value
_OTHERS: dict[str, Any] = {
    "macro_f1": lambda sk, y, s: sk.f1_score(
        y, s.argmax(axis=1) if s.ndim == 2 else s, average="macro"
    ),
    "multi_log_loss": lambda sk, y, s: sk.log_loss(y, s, labels=list(range(s.shape[1]))),
    "rmse": lambda sk, y, s: np.sqrt(sk.mean_squared_error(y, s)),
    "mae": lambda sk, y, s: sk.mean_absolute_error(y, s),
    "r2": lambda sk, y, s: sk.r2_score(y, s),
    "mape": lambda sk, y, s: sk.mean_absolute_percentage_error(y, s),
}


SUITES = {
    "binary": ["roc_auc", "pr_auc", "f1", "precision", "recall", "log_loss", "brier", "accuracy"],
    "multiclass": ["accuracy", "macro_f1", "multi_log_loss"],
    "regression": ["rmse", "mae", "r2", "mape"],
}


def compute_metrics(
    task: str, y_true: Any, scores: Any, *, threshold: float = 0.5
) -> dict[str, float]:
    """Every metric of the task's suite."""
    if task not in SUITES:
        raise EvaluationError(f"unknown task {task!r}; use binary, multiclass or regression")
    if len(np.asarray(y_true)) == 0:
        raise EvaluationError("cannot evaluate on zero rows")
    return {name: metric(name, y_true, scores, threshold=threshold) for name in SUITES[task]}
