"""Evaluation: metric suites, plots, champion/challenger comparison, gates."""

from alambic.evaluation._evaluate import (
    Comparison,
    Evaluation,
    bootstrap_intervals,
    compare,
    evaluate,
    scores_of,
)
from alambic.evaluation._metrics import METRICS, compute_metrics, infer_task, metric

__all__ = [
    "METRICS",
    "Comparison",
    "Evaluation",
    "bootstrap_intervals",
    "compare",
    "compute_metrics",
    "evaluate",
    "infer_task",
    "metric",
    "scores_of",
]
