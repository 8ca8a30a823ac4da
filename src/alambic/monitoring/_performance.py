"""Model quality once labels arrive: the capture joined with its late ground truth.

``performance("fraud", since="7d")`` streams the window's capture, keeps the rows that
have a label (``alambic endpoints labels``, ``POST /endpoints/NAME/labels``; the latest
label of a row wins), and computes the evaluation suite's metrics with 95% bootstrap
intervals for every group: all the traffic, each variant (so an A/B test says whether
the challenger beats the champion, and how sure that is), and holdout against treated
traffic (the holdout share, whose outcome the model did not act on, is the unbiased
estimate). Each group also says how many predictions it made, the share labelled so far
and the label delay (p50, p90). Labels that match no captured row, repeated labels and
labels that are not one of the model's classes are counted and left out; the rest is
used (``unmatched``: labels of rows this window does not hold, never captured or captured
outside it). Memory holds one batch of the capture and the labelled rows.

Example:
    >>> report = performance("fraud", since="7d")  # doctest: +SKIP
    >>> report.groups["variant=challenger"].ci["roc_auc"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alambic.errors import MonitoringError
from alambic.monitoring._capture import CaptureWindow, capture

__all__ = ["GroupQuality", "PerformanceReport", "binary_intervals", "performance"]


@dataclass
class GroupQuality:
    """One group's predictions, labels and metrics (with 95% bootstrap intervals)."""

    predictions: int = 0
    labelled: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    ci: dict[str, list[float]] = field(default_factory=dict)
    delay_hours: dict[str, float] = field(default_factory=dict)  # p50, p90 of label delay

    @property
    def labelled_share(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictions": self.predictions,
            "labelled": self.labelled,
            "labelled_share": self.labelled_share,
            "metrics": self.metrics,
            "ci": self.ci,
            "delay_hours": self.delay_hours,
        }


@dataclass
class PerformanceReport:
    """Quality per group (``all``, ``variant=NAME``, ``holdout``, ``treated``)."""

    window: str
    task: str | None
    groups: dict[str, GroupQuality]
    labels: dict[str, int]  # received, used, unmatched, duplicates, invalid
    status: str = "ok"  # ok, or no_data (no capture, or no label yet)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "task": self.task,
            "status": self.status,
            "labels": self.labels,
            "groups": {name: group.to_dict() for name, group in self.groups.items()},
        }


def performance(
    endpoint: str | CaptureWindow,
    *,
    since: Any = None,
    until: Any = None,
    task: str | None = None,
    n_boot: int = 200,
    random_state: int = 0,
) -> PerformanceReport:
    """Realized quality over a window (see the module's docstring).

    Args:
        endpoint: the endpoint's name, or a :func:`capture` window.
        since: the window's start (``"7d"``, a datetime…); None: from the first capture.
        until: its end; None: now.
        task: ``binary``, ``multiclass`` or ``regression`` (default: from the model's
            classes, or from the labels).
        n_boot: bootstrap resamples for the intervals.
        random_state: their seed.
    """
    window = (
        endpoint
        if isinstance(endpoint, CaptureWindow)
        else capture(endpoint, since=since, until=until)
    )
    window = CaptureWindow(window.endpoint, window.since, window.until, window.shadows, meta=True)
    labels, counts = _labels(window.endpoint)
    rows, totals = _labelled_rows(window, labels)
    counts["used"] = len(rows)
    counts["unmatched"] = counts["received"] - counts["duplicates"] - _matched(rows, labels)
    if not totals.get("holdout"):  # no holdout share: treated is all, and says nothing more
        totals.pop("holdout", None)
        totals.pop("treated", None)
    groups = {name: GroupQuality(predictions=n) for name, n in totals.items()}
    if rows.empty:
        return PerformanceReport(str(window), task, groups, counts, status="no_data")
    classes = _classes(rows)
    task = task or _task(classes, rows)
    y, scores, valid = _targets(task, classes, rows)
    counts["invalid"] = int((~valid).sum())
    counts["used"] = int(valid.sum())
    rows, y, scores = rows[valid], y[valid], scores[valid]
    for name, mask in _group_masks(rows).items():
        if name not in groups:
            continue
        _fill(
            groups.setdefault(name, GroupQuality()),
            task,
            rows[mask],
            y[mask],
            scores[mask],
            n_boot=n_boot,
            seed=random_state,
        )
    return PerformanceReport(str(window), task, groups, counts)


def _labels(endpoint: str) -> tuple[Any, dict[str, int]]:
    """The endpoint's labels (the latest per row), and how many were received."""
    from alambic.serving import read_labels

    latest, received = read_labels(endpoint)
    return latest, {"received": received, "duplicates": received - len(latest)}


def _labelled_rows(window: CaptureWindow, labels: Any) -> tuple[Any, dict[str, int]]:
    """The window's rows that have a label, and the predictions made per group."""
    import pandas as pd

    totals: dict[str, int] = {}
    kept = []
    for batch in window:
        frame = batch.to_pandas()
        for name, mask in _group_masks(frame).items():
            totals[name] = totals.get(name, 0) + int(mask.sum())
        if len(labels):
            joined = frame.merge(labels, on=["request_id", "row"], how="inner")
            if len(joined):
                kept.append(joined)
    rows = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    return rows, totals


def _matched(rows: Any, labels: Any) -> int:
    return 0 if rows.empty else int(rows[["request_id", "row"]].drop_duplicates().shape[0])


def _group_masks(frame: Any) -> dict[str, Any]:
    masks = {"all": np.ones(len(frame), dtype=bool)}
    for variant in sorted(frame["variant"].dropna().unique()):
        masks[f"variant={variant}"] = (frame["variant"] == variant).to_numpy()
    holdout = frame["holdout"].fillna(False).to_numpy(dtype=bool)
    masks["holdout"], masks["treated"] = holdout, ~holdout
    return masks


def _classes(rows: Any) -> list[Any]:
    """The classes of the models that answered, in their order (empty for regressors)."""
    from alambic.registry import get_version, parse_ref

    classes: list[Any] = []
    for ref in rows["model"].dropna().unique():
        try:
            name, version, _alias = parse_ref(str(ref))
            signature = get_version(name, int(version or 0)).signature or {}
        except Exception:  # a deleted version, an old ref: the labels tell
            signature = {}
        for value in signature.get("classes") or []:
            if value not in classes:
                classes.append(value)
    return classes


def label_key(value: Any) -> str | None:
    """A label as text, whole floats as integers (a join turns 1 into 1.0); None if missing."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _classes_from_labels(task: str, labels: Any) -> list[Any]:
    """The classes the labels name; for a binary model, 0 and 1 (or false and true) when
    present, else the two most frequent values (any other label is then invalid)."""
    import pandas as pd

    keys = pd.Series([label_key(v) for v in labels]).dropna()
    seen = set(keys)
    if task != "binary" or len(seen) <= 2:
        return sorted(seen)
    for pair in (["0", "1"], ["False", "True"], ["false", "true"]):
        if set(pair) <= seen:
            return pair
    return sorted(keys.value_counts().index[:2])


def _task(classes: list[Any], rows: Any) -> str:
    if classes:
        return "binary" if len(classes) == 2 else "multiclass"
    if "score" in rows.columns:
        return "binary"
    if any(c.startswith("proba_") for c in rows.columns):
        return "multiclass"
    return "regression"


def _targets(task: str, classes: list[Any], rows: Any) -> tuple[Any, Any, Any]:
    """Labels as the metrics take them, the scores, and which labels are usable."""
    import pandas as pd

    if task == "regression":
        y = pd.to_numeric(rows["label"], errors="coerce").to_numpy(dtype=float)
        scores = pd.to_numeric(rows["prediction"], errors="coerce").to_numpy(dtype=float)
        return y, scores, np.isfinite(y) & np.isfinite(scores)
    if not classes:  # the model's classes are unknown: the labels tell
        classes = _classes_from_labels(task, rows["label"])
    index = {label_key(c): i for i, c in enumerate(classes)}
    y = np.array([index.get(label_key(v), -1) for v in rows["label"]], dtype=np.int64)
    if task == "binary":
        if "score" not in rows.columns:
            raise MonitoringError(
                "a binary classifier's quality needs its probabilities in the capture"
            )
        scores = rows["score"].to_numpy(dtype=float)
    else:
        names = sorted(
            (c for c in rows.columns if c.startswith("proba_")), key=lambda c: int(c[6:])
        )
        scores = rows[names].to_numpy(dtype=float)
    finite = np.isfinite(scores) if scores.ndim == 1 else np.isfinite(scores).all(axis=1)
    return y, scores, (y >= 0) & finite


def _fill(
    group: GroupQuality, task: str, rows: Any, y: Any, scores: Any, *, n_boot: int, seed: int
) -> None:
    from alambic.evaluation import bootstrap_intervals, compute_metrics

    group.labelled = len(rows)
    if not len(rows):
        return
    delay = (rows["labelled_at"] - rows["time"]).dt.total_seconds().to_numpy() / 3600
    group.delay_hours = {
        "p50": float(np.percentile(delay, 50)),
        "p90": float(np.percentile(delay, 90)),
    }
    if task != "regression" and len(np.unique(y)) < 2:
        return  # one class so far: no ranking metric means anything yet
    group.metrics = compute_metrics(task, y, scores)
    if task == "binary":
        group.ci = binary_intervals(y, scores, n_boot, seed)
    else:
        group.ci = bootstrap_intervals(list(group.metrics), y, scores, n_boot, seed)


def binary_intervals(
    y: np.ndarray, scores: np.ndarray, n_boot: int = 200, seed: int = 0, threshold: float = 0.5
) -> dict[str, list[float]]:
    """95% percentile-bootstrap intervals of a binary classifier's metrics, every resample
    at once (ROC AUC by the rank-sum formula; resamples of one class are left out).

    Example:
        >>> y, s = np.array([0, 1, 0, 1, 1, 0]), np.array([0.2, 0.9, 0.3, 0.6, 0.8, 0.4])
        >>> low, high = binary_intervals(y, s, n_boot=50)["roc_auc"]
        >>> 0 <= low <= high <= 1
        True
    """
    from alambic.core import optional_import

    rankdata = optional_import("scipy.stats", extra="monitoring").rankdata
    rows = np.random.default_rng(seed).integers(0, len(y), (n_boot, len(y)))
    truth, p = y[rows].astype(bool), np.clip(scores[rows], 1e-15, 1 - 1e-15)
    positives = truth.sum(axis=1)
    both = (positives > 0) & (positives < len(y))
    truth, p, positives = truth[both], p[both], positives[both].astype(float)
    if not len(truth):
        return {}
    predicted = p >= threshold
    tp = (truth & predicted).sum(axis=1)
    fp = (~truth & predicted).sum(axis=1)
    fn = (truth & ~predicted).sum(axis=1)
    ranks = rankdata(p, axis=1)
    n = truth.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = {
            "roc_auc": ((ranks * truth).sum(axis=1) - positives * (positives + 1) / 2)
            / (positives * (n - positives)),
            "accuracy": (n - fp - fn) / n,
            "precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
            "recall": tp / positives,
            "f1": np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
            "brier": ((p - truth) ** 2).mean(axis=1),
            "log_loss": -(truth * np.log(p) + ~truth * np.log(1 - p)).mean(axis=1),
        }
    return {
        k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in draws.items()
    }
