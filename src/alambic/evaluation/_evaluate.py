"""Evaluate a model, compare it with a reference, and gate it.

Example:
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.dummy import DummyClassifier
    >>> x, y = load_breast_cancer(return_X_y=True)
    >>> x_train, x_test, y_train, y_test = x[:400], x[400:], y[:400], y[400:]
    >>> model = LogisticRegression(max_iter=5000).fit(x_train, y_train)
    >>> report = evaluate(model, x_test, y_test, train=(x_train, y_train))
    >>> report.metrics["roc_auc"] > 0.95, report.train_metrics["roc_auc"] > 0.95
    (True, True)
    >>> champion = DummyClassifier().fit(x_train, y_train)
    >>> verdict = compare(model, champion, x_test, y_test, metric_name="roc_auc")
    >>> verdict.passed(margin=0.005)
    True
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alambic.core import optional_import
from alambic.errors import EvaluationError
from alambic.evaluation._metrics import METRICS, compute_metrics, infer_task, metric

__all__ = ["Comparison", "Evaluation", "bootstrap_intervals", "compare", "evaluate", "scores_of"]


def scores_of(model: Any, features: Any, task: str) -> Any:
    """Probabilities for classifiers, predictions for regressors."""
    if task in ("binary", "multiclass"):
        if not hasattr(model, "predict_proba"):
            raise EvaluationError(f"a {type(model).__name__} gives no probabilities to evaluate")
        return np.asarray(model.predict_proba(features))
    return np.asarray(model.predict(features))


def _task_of(model: Any, target: Any, task: str | None) -> str:
    if task is not None:
        return task
    signature = getattr(model, "signature", None)
    if signature is not None and signature.task in ("binary", "multiclass", "regression"):
        return str(signature.task)
    return infer_task(target)


@dataclass
class Evaluation:
    """Metrics on the test set (and the training set, to spot overfitting), and plots."""

    task: str
    metrics: dict[str, float]
    train_metrics: dict[str, float] = field(default_factory=dict)
    plots: dict[str, bytes] = field(default_factory=dict)
    n_rows: int = 0
    ci: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Metrics as JSON (plots are stored separately as PNG artifacts)."""
        gaps = {
            k: self.train_metrics[k] - v for k, v in self.metrics.items() if k in self.train_metrics
        }
        return {
            "task": self.task,
            "metrics": self.metrics,
            "train_metrics": self.train_metrics,
            "overfit_gap": gaps,
            "n_rows": self.n_rows,
            "ci": self.ci,
        }


def evaluate(
    model: Any,
    features: Any,
    target: Any,
    *,
    task: str | None = None,
    train: tuple[Any, Any] | None = None,
    threshold: float = 0.5,
    plots: bool = True,
    n_boot: int = 0,
    ci_metrics: list[str] | None = None,
    random_state: int = 0,
) -> Evaluation:
    """Metric suite on the test set, on the training set when given, and PNG plots.

    With ``n_boot`` > 0, ``ci`` holds 95% bootstrap intervals of ``ci_metrics`` (default:
    the task's headline metric: ROC AUC, accuracy or RMSE).

    Raises:
        EvaluationError: the target is missing or the sizes differ.
    """
    if target is None or len(np.asarray(target)) != len(features):
        raise EvaluationError("features and target must have the same number of rows")
    chosen = _task_of(model, target, task)
    scores = scores_of(model, features, chosen)
    report = Evaluation(
        chosen, compute_metrics(chosen, target, scores, threshold=threshold), n_rows=len(features)
    )
    if train is not None:
        x_train, y_train = train
        report.train_metrics = compute_metrics(
            chosen, y_train, scores_of(model, x_train, chosen), threshold=threshold
        )
    if plots:
        report.plots = _plots(chosen, np.asarray(target), scores, threshold)
    if n_boot > 0:
        headline = {"binary": "roc_auc", "multiclass": "accuracy"}.get(chosen, "rmse")
        report.ci = bootstrap_intervals(
            ci_metrics or [headline], np.asarray(target), np.asarray(scores), n_boot, random_state
        )
    return report


def bootstrap_intervals(
    names: list[str], y: Any, scores: Any, n_boot: int = 200, random_state: int = 0
) -> dict[str, list[float]]:
    """95% percentile-bootstrap intervals of metrics (resamples with a single class are
    skipped; a metric with no usable resample is left out).

    Example:
        >>> import numpy as np
        >>> y, s = np.array([0, 1, 0, 1, 1, 0]), np.array([0.2, 0.9, 0.3, 0.6, 0.8, 0.4])
        >>> low, high = bootstrap_intervals(["accuracy"], y, s, n_boot=50)["accuracy"]
        >>> 0 <= low <= high <= 1
        True
    """
    rng = np.random.default_rng(random_state)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if len(np.unique(y[rows])) < 2:
            continue
        for name in names:
            values[name].append(metric(name, y[rows], scores[rows]))
    return {
        name: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
        for name, v in values.items()
        if v
    }


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None}
    )  # no version stamp: equal plots, equal bytes
    optional_import("matplotlib.pyplot", extra="evaluation").close(figure)
    return buffer.getvalue()


def _plots(task: str, y: Any, scores: Any, threshold: float) -> dict[str, bytes]:
    matplotlib = optional_import("matplotlib", extra="evaluation")
    matplotlib.use("Agg")
    plt = optional_import("matplotlib.pyplot", extra="evaluation")
    sk = optional_import("sklearn.metrics", extra="evaluation")
    plots: dict[str, bytes] = {}
    if task == "regression":
        figure, axis = plt.subplots(figsize=(4, 4))
        axis.scatter(y, scores, s=4, alpha=0.5)
        axis.set(xlabel="actual", ylabel="predicted", title="predicted vs actual")
        plots["predicted_vs_actual.png"] = _png(figure)
        return plots
    predicted = (
        scores.argmax(axis=1)
        if scores.ndim == 2 and task == "multiclass"
        else ((scores[:, 1] if scores.ndim == 2 else scores) >= threshold).astype(int)
    )
    figure, axis = plt.subplots(figsize=(4, 4))
    sk.ConfusionMatrixDisplay.from_predictions(y, predicted, ax=axis, colorbar=False)
    axis.set_title("confusion matrix")
    plots["confusion_matrix.png"] = _png(figure)
    if task == "binary":
        positive = scores[:, 1] if scores.ndim == 2 else scores
        for name, display in (
            ("roc.png", sk.RocCurveDisplay),
            ("pr.png", sk.PrecisionRecallDisplay),
        ):
            figure, axis = plt.subplots(figsize=(4, 4))
            display.from_predictions(y, positive, ax=axis)
            plots[name] = _png(figure)
        figure, axis = plt.subplots(figsize=(4, 4))
        optional_import(
            "sklearn.calibration", extra="evaluation"
        ).CalibrationDisplay.from_predictions(y, positive, n_bins=10, ax=axis)
        plots["calibration.png"] = _png(figure)
    return plots


@dataclass
class Comparison:
    """A candidate against a reference on the same rows, with a paired bootstrap CI."""

    metric: str
    candidate: float
    reference: float | None
    difference: float
    ci_low: float
    ci_high: float
    higher_is_better: bool
    n_boot: int

    def passed(self, margin: float = 0.0, *, significant: bool = True) -> bool:
        """Whether the candidate beats the reference by at least ``margin``.

        With ``significant``, the whole confidence interval must also be an improvement.
        A candidate with no reference (no champion yet) passes.
        """
        if self.reference is None:
            return True
        gain = self.difference if self.higher_is_better else -self.difference
        low = self.ci_low if self.higher_is_better else -self.ci_high
        return gain >= margin and (not significant or low > 0)

    def to_dict(self, margin: float = 0.0) -> dict[str, Any]:
        """JSON, with ``passed`` ready for ``al.when(verdict["passed"])``."""
        return {
            "metric": self.metric,
            "candidate": self.candidate,
            "reference": self.reference,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "margin": margin,
            "passed": self.passed(margin),
        }


def compare(
    candidate: Any,
    reference: Any | None,
    features: Any,
    target: Any,
    *,
    metric_name: str = "roc_auc",
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
    task: str | None = None,
) -> Comparison:
    """Paired bootstrap of ``metric(candidate) − metric(reference)`` on the same rows.

    Raises:
        EvaluationError: an unknown metric, or one that does not fit the task.
    """
    if metric_name not in METRICS:
        raise EvaluationError(
            f"unknown metric {metric_name!r}; known: {', '.join(sorted(METRICS))}"
        )
    chosen = _task_of(candidate, target, task)
    kind = METRICS[metric_name][0]
    if kind not in (chosen, "classification") or (
        kind == "classification" and chosen == "regression"
    ):
        raise EvaluationError(f"metric {metric_name!r} is for {kind} models, this is {chosen}")
    y = np.asarray(target)
    mine = scores_of(candidate, features, chosen)
    own = metric(metric_name, y, mine)
    higher = METRICS[metric_name][1]
    if reference is None:
        return Comparison(metric_name, own, None, 0.0, 0.0, 0.0, higher, 0)
    theirs = scores_of(reference, features, chosen)
    rng = np.random.default_rng(random_state)
    differences = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if chosen != "regression" and len(np.unique(y[rows])) < 2:
            continue  # a resample with one class has no AUC: draw again
        differences.append(
            metric(metric_name, y[rows], mine[rows]) - metric(metric_name, y[rows], theirs[rows])
        )
    alpha = (1 - confidence) / 2
    low, high = np.quantile(differences, [alpha, 1 - alpha])
    other = metric(metric_name, y, theirs)
    return Comparison(
        metric_name, own, other, own - other, float(low), float(high), higher, len(differences)
    )
