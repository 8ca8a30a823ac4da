"""Performance before the labels arrive: confidence-based performance estimation (CBPE).

A classifier's scores, once calibrated, say how often it is right: a row scored 0.9
whose calibrated probability is 0.8 is a true positive four times in five. CBPE (as
NannyML does it) calibrates the scores on reference data that has labels (isotonic
regression, per class one-vs-rest for more than two), then, per chunk of current data,
takes the expected confusion matrix over the calibrated probabilities: accuracy,
precision, recall and F1 follow, and ROC AUC from the expected true- and false-positive
rates at each score. The band around each estimate is the spread of the realized metric
when each row's label is drawn from its calibrated probability (200 draws, 95%): what the
metric can be, given the scores alone. Where a chunk has labels, the realized metric is
given beside the estimate.

The estimate holds while the relation between scores and outcomes stays as it was in
the reference (covariate shift only); a change of that relation (concept drift) is
what only labels can show.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(4000)
    >>> ref = pd.DataFrame({"score": p, "label": (rng.random(4000) < p).astype(int)})
    >>> est = estimate(ref, ref.head(1000), chunk_rows=500)
    >>> chunk = est.chunks[0]
    >>> abs(chunk.estimated["accuracy"] - chunk.realized["accuracy"]) < 0.05
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alambic.core import optional_import
from alambic.errors import MonitoringError

__all__ = ["Chunk", "Estimate", "estimate"]

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
DRAWS = 200
_DRAW_CELLS = 4_000_000


@dataclass
class Chunk:
    """One chunk's estimated metrics, their 95% band, and the realized ones if labelled."""

    label: str
    rows: int
    estimated: dict[str, float]
    band: dict[str, list[float]]
    realized: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.label,
            "rows": self.rows,
            "estimated": self.estimated,
            "band": self.band,
            "realized": self.realized,
        }


@dataclass
class Estimate:
    """CBPE over the current data, chunk by chunk."""

    task: str
    classes: list[Any]
    chunks: list[Chunk]
    reference: dict[str, float]  # the metrics realized on the reference

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "classes": self.classes,
            "reference": self.reference,
            "chunks": [c.to_dict() for c in self.chunks],
        }


class _Calibrated:
    """Isotonic calibration of each class's score, one-vs-rest, fitted on the reference."""

    def __init__(self, scores: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        isotonic = optional_import("sklearn.isotonic", extra="evaluation")
        columns = [scores] if n_classes == 2 else [scores[:, k] for k in range(n_classes)]
        targets = [y == 1] if n_classes == 2 else [y == k for k in range(n_classes)]
        self.models = [
            isotonic.IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, t)
            for s, t in zip(columns, targets, strict=True)
        ]
        self.n_classes = n_classes

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if self.n_classes == 2:
            return np.asarray(self.models[0].predict(scores), dtype=np.float64)
        p = np.column_stack([m.predict(scores[:, k]) for k, m in enumerate(self.models)])
        total = p.sum(axis=1, keepdims=True)
        return np.where(total > 0, p / np.where(total > 0, total, 1), 1 / self.n_classes)


def _binary_expected(p: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """The expected metrics of a binary classifier from calibrated probabilities."""
    predicted = scores >= threshold
    tp, fp = float(p[predicted].sum()), float((1 - p[predicted]).sum())
    fn, tn = float(p[~predicted].sum()), float((1 - p[~predicted]).sum())
    out = {
        "accuracy": (tp + tn) / len(p),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
    }
    out["roc_auc"] = _expected_auc(p, scores)
    return out


def _expected_auc(p: np.ndarray, scores: np.ndarray) -> float:
    """The area under the expected ROC curve (ties in the scores taken together)."""
    order = np.argsort(-scores, kind="stable")
    s, positives, negatives = scores[order], p[order], 1 - p[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each run of ties
    tpr = np.r_[0.0, np.cumsum(positives)[last]] / max(positives.sum(), 1e-12)
    fpr = np.r_[0.0, np.cumsum(negatives)[last]] / max(negatives.sum(), 1e-12)
    return float(np.trapezoid(tpr, fpr))


def _realized(task: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    metrics = optional_import("sklearn.metrics", extra="evaluation")
    if task == "binary":
        predicted = (scores >= threshold).astype(int)
        out = {
            "accuracy": metrics.accuracy_score(y, predicted),
            "precision": metrics.precision_score(y, predicted, zero_division=0),
            "recall": metrics.recall_score(y, predicted, zero_division=0),
            "f1": metrics.f1_score(y, predicted, zero_division=0),
        }
        if len(np.unique(y)) == 2:
            out["roc_auc"] = metrics.roc_auc_score(y, scores)
        return {k: float(v) for k, v in out.items()}
    predicted = scores.argmax(axis=1)
    labels = list(range(scores.shape[1]))
    macro = {"average": "macro", "labels": labels, "zero_division": 0}
    out = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, **macro),
        "recall": metrics.recall_score(y, predicted, **macro),
        "f1": metrics.f1_score(y, predicted, **macro),
    }
    if len(np.unique(y)) == scores.shape[1]:  # one-vs-rest needs every class present
        out["roc_auc"] = _macro_auc(y, scores)
    return {k: float(v) for k, v in out.items()}


def _macro_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """One-vs-rest ROC AUC averaged over the classes, on each class's own score (the
    estimate's definition; scikit-learn's ``multi_class="ovr"`` renormalises the rows)."""
    metrics = optional_import("sklearn.metrics", extra="evaluation")
    return float(
        np.mean([metrics.roc_auc_score(y == k, scores[:, k]) for k in range(scores.shape[1])])
    )


def _multiclass_expected(p: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Macro averages over the classes, each one-vs-rest on its calibrated probability."""
    predicted = scores.argmax(axis=1)
    rows = np.arange(len(p))
    per_class: dict[str, list[float]] = {"precision": [], "recall": [], "f1": [], "roc_auc": []}
    for k in range(p.shape[1]):
        mine = predicted == k
        tp = float(p[mine, k].sum())
        fp = float((1 - p[mine, k]).sum())
        fn = float(p[~mine, k].sum())
        per_class["precision"].append(tp / (tp + fp) if tp + fp else 0.0)
        per_class["recall"].append(tp / (tp + fn) if tp + fn else 0.0)
        per_class["f1"].append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        per_class["roc_auc"].append(_expected_auc(p[:, k], scores[:, k]))
    out = {name: float(np.mean(values)) for name, values in per_class.items()}
    return {"accuracy": float(p[rows, predicted].mean()), **out}


def _band(
    task: str, p: np.ndarray, scores: np.ndarray, threshold: float, seed: int
) -> dict[str, list[float]]:
    """The 2.5th and 97.5th percentiles of the metrics when labels follow ``p``.

    The draws go in batches of at most about four million labels, so that a large chunk
    does not hold ``DRAWS`` copies of itself at once; the scores' ranks (for ROC AUC) and
    the predictions are computed once for every batch.
    """
    rankdata = optional_import("scipy.stats", extra="monitoring").rankdata
    rng = np.random.default_rng(seed)
    width = 1 if task == "binary" else p.shape[1]
    batch = max(1, min(DRAWS, _DRAW_CELLS // max(len(p) * width, 1)))
    if task == "binary":
        ranks, predicted = rankdata(scores)[:, None], (scores >= threshold)[:, None]
    else:  # one-vs-rest: each class's own scores and predictions
        ranks = np.column_stack([rankdata(scores[:, k]) for k in range(width)])
        predicted = scores.argmax(axis=1)[:, None] == np.arange(width)
    cumulative = p.cumsum(axis=1) if task != "binary" else p
    draws: dict[str, list[np.ndarray]] = {}
    for start in range(0, DRAWS, batch):
        size = min(batch, DRAWS - start)
        if task == "binary":
            found = _binary_draws(rng.random((size, len(p))) < p, ranks[:, 0], predicted[:, 0])
        else:
            u = rng.random((size, len(p), 1))
            y = (u > cumulative).sum(axis=2).clip(max=width - 1)
            found = _multiclass_draws(y, ranks, predicted)
        for name, values in found.items():
            draws.setdefault(name, []).append(np.asarray(values, dtype=float))
    bands = {}
    for name, parts in draws.items():
        values = np.concatenate(parts)
        values = values[np.isfinite(values)]  # a draw with one class has no ROC AUC
        if len(values):
            bands[name] = [float(np.percentile(values, q)) for q in (2.5, 97.5)]
    return bands  # a metric no draw could measure has no band


def _binary_draws(y: np.ndarray, ranks: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Each draw's (a row of ``y``) metrics at once; ROC AUC by the rank-sum formula (the
    scores' ranks, ties sharing their mean rank, as roc_auc_score counts them)."""
    tp = (y & predicted).sum(axis=1).astype(float)
    fp = (~y & predicted).sum(axis=1).astype(float)
    fn = (y & ~predicted).sum(axis=1).astype(float)
    n = y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        positives = y.sum(axis=1).astype(float)
        auc = (y @ ranks - positives * (positives + 1) / 2) / (positives * (n - positives))
        return {
            "accuracy": (n - fp - fn) / n,
            "precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), 0.0),
            "f1": np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
            "roc_auc": auc,
        }


def _multiclass_draws(y: np.ndarray, ranks: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Each draw's (a row of class indices ``y``) macro metrics at once."""
    per_class: dict[str, list[Any]] = {"precision": [], "recall": [], "f1": [], "roc_auc": []}
    for k in range(ranks.shape[1]):
        one = _binary_draws(y == k, ranks[:, k], predicted[:, k])
        for name, values in per_class.items():
            values.append(one[name])
    out = {name: np.mean(values, axis=0) for name, values in per_class.items()}
    chosen = predicted.argmax(axis=1)
    return {"accuracy": (y == chosen).mean(axis=1), **out}


def estimate(
    reference: Any,
    current: Any,
    *,
    target: str = "label",
    score: str | list[str] | None = None,
    chunk_rows: int | None = None,
    chunk: str | None = None,
    threshold: float = 0.5,
    random_state: int = 0,
    model: str | None = None,
) -> Estimate:
    """Estimate a classifier's metrics on ``current`` from its scores (see the module).

    Args:
        reference: a DataFrame with the labels (``target``) and the scores, on data the
            model did not train on (its validation set, or labelled capture).
        current: a DataFrame of scores, or a :func:`~alambic.monitoring.capture` window
            (its ``score``, or ``proba_0``… columns; labels are joined where there are).
        target: the reference's label column (0/1, or class indices for multiclass).
        score: the score column (binary) or columns (one per class); default ``score``,
            or ``proba_0``, ``proba_1``…
        chunk_rows: rows per chunk; ``chunk``: a period (``"1d"``) for capture windows.
        threshold: the binary decision threshold.
        random_state: the seed of the band's draws.
        model: only the rows this model version answered (``fraud/3``, as the capture
            names it): the model the reference's scores are of; default: every row.

    Raises:
        MonitoringError: missing columns, or a reference with one class only.
    """
    names = _score_columns(reference, score)
    missing = [c for c in [target, *names] if c not in reference.columns]
    if missing:
        raise MonitoringError(
            f"the reference lacks the columns {missing}: it needs labels and scores"
        )
    y_ref = _class_indices(reference[target], target, len(names))
    scores_ref = _scores(reference, names)
    usable = (
        np.isfinite(scores_ref) if scores_ref.ndim == 1 else np.isfinite(scores_ref).all(axis=1)
    )
    usable &= ~reference[target].isna().to_numpy()
    y_ref, scores_ref = y_ref[usable], scores_ref[usable]  # rows without a score or label
    task = "binary" if len(names) == 1 else "multiclass"
    n_classes = 2 if task == "binary" else len(names)
    if len(np.unique(y_ref)) < 2:
        raise MonitoringError("the reference holds one class only: calibration needs both outcomes")
    calibrated = _Calibrated(scores_ref, y_ref.astype(int), n_classes)
    chunks = []
    for label, frame in _chunks(current, chunk_rows, chunk, (target, names, model)):
        found = _chunk(
            label, frame, names, calibrated, target=target, threshold=threshold, seed=random_state
        )
        if found is not None:
            chunks.append(found)
    return Estimate(
        task,
        list(range(n_classes)),
        chunks,
        _realized(task, y_ref.astype(int), scores_ref, threshold),
    )


def _chunk(
    label: str,
    frame: Any,
    names: list[str],
    calibrated: _Calibrated,
    *,
    target: str,
    threshold: float,
    seed: int,
) -> Chunk | None:
    """One chunk's estimate, band and (where labelled) realized metrics; None if empty."""
    if not len(frame):
        return None
    lacking = [c for c in names if c not in frame.columns]
    if lacking:
        raise MonitoringError(
            f"the current data has no {lacking} (the reference's scores): the estimate "
            "needs the model's scores for the same classes"
        )
    scores = _scores(frame, names)
    keep = np.isfinite(scores) if scores.ndim == 1 else np.isfinite(scores).all(axis=1)
    scores, frame = scores[keep], frame[keep]
    if not len(scores):
        return None
    task = "binary" if len(names) == 1 else "multiclass"
    p = calibrated(scores)
    if task == "binary":
        expected = _binary_expected(p, scores, threshold)
    else:
        expected = _multiclass_expected(p, scores)
    expected = {k: v for k, v in expected.items() if math.isfinite(v)}
    result = Chunk(label, len(scores), expected, _band(task, p, scores, threshold, seed))
    if target in frame.columns and frame[target].notna().any():
        labelled = frame[target].notna().to_numpy()
        y = frame[target][labelled].to_numpy().astype(int)
        result.realized = _realized(task, y, scores[labelled], threshold)
    return result


def _class_indices(labels: Any, target: str, width: int) -> np.ndarray:
    """The reference's labels as class indices (NaN where missing), or a clear error."""
    import pandas as pd

    values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
    classes = 2 if width == 1 else width
    wrong = ~np.isnan(values) & ((values != np.round(values)) | (values < 0) | (values >= classes))
    wrong |= np.isnan(values) & labels.notna().to_numpy()
    if wrong.any():
        bad = labels[wrong].iloc[0]
        raise MonitoringError(
            f"the reference's {target!r} holds {bad!r}: labels are class indices, 0 to "
            f"{classes - 1} in the order of the score columns (0/1 for a binary score)"
        )
    return np.asarray(values, dtype=float)


def _scores(frame: Any, names: list[str]) -> np.ndarray:
    values: np.ndarray = frame[names].to_numpy(dtype=float)
    return values[:, 0] if len(names) == 1 else values


def _score_columns(frame: Any, score: str | list[str] | None) -> list[str]:
    if isinstance(score, str):
        return [score]
    if score is not None:
        return list(score)
    if "score" in frame.columns:
        return ["score"]
    names = sorted(
        (c for c in frame.columns if str(c).startswith("proba_")), key=lambda c: int(str(c)[6:])
    )
    if not names:
        raise MonitoringError("no score column: name it with score= (or give score, proba_0, …)")
    return names


def _chunks(
    current: Any,
    chunk_rows: int | None,
    period: str | None,
    wanted: tuple[str, list[str], str | None],
) -> Iterator[tuple[str, Any]]:
    """Each chunk's label and rows, one chunk in memory at a time."""
    from alambic.monitoring._capture import CaptureWindow

    target, names, model = wanted
    if isinstance(current, CaptureWindow):
        whole = CaptureWindow(current.endpoint, current.since, current.until, meta=True)
        for window in whole.chunks(period) if period else [whole]:
            yield _window_label(window), _with_labels(window, target, names, model)
        return
    if model is not None and "model" in current.columns:
        current = current[current["model"] == model]
    size = max(chunk_rows or len(current), 1)
    for i in range(0, len(current), size):
        yield f"rows {i}-{min(i + size, len(current)) - 1}", current.iloc[i : i + size]


def _with_labels(window: Any, target: str, names: list[str], model: str | None) -> Any:
    """A window's scores (of ``model``'s rows, if named) with their labels so far, as
    class indices, in ``target``."""
    from alambic.monitoring._performance import _classes, _labels, label_key

    frame = window.to_pandas(columns=["request_id", "row", "model", *names])
    if model is not None and "model" in frame.columns:
        frame = frame[frame["model"] == model].reset_index(drop=True)
    labels, _counts = _labels(window.endpoint)
    if frame.empty or labels.empty:
        return frame
    frame = frame.merge(labels, on=["request_id", "row"], how="left")
    known = _classes(frame) or sorted({label_key(v) for v in labels["label"]} - {None})
    index = {label_key(c): float(i) for i, c in enumerate(known)}
    frame[target] = [index.get(label_key(v), np.nan) for v in frame["label"]]
    return frame


def _window_label(window: Any) -> str:
    return window.since.isoformat(timespec="minutes") if window.since else "start"
