"""Problem detection: what the target makes (task, metric) and which columns can be features.

:func:`detect` reads a table and its target column once, before any model is fitted,
and decides, each time with its reason:

- the **task**: ``binary``, ``multiclass`` or ``regression``, from the target's type and
  how many distinct values it holds;
- the **metric** the search optimises, with class imbalance taken into account (ranking
  metrics for two classes, macro F1 rather than accuracy when a class is rare);
- each column's **kind** (``numeric``, ``category``, ``datetime``), or why it is set
  aside: an identifier (unique per row), constant, almost entirely missing, or a leak
  (one feature alone predicts the target almost perfectly: it is probably known only
  after the fact).

Rows whose target is missing are dropped and counted. Anything that makes the search
pointless (no such column, one class, nothing left to learn from) is an
:class:`~alambic.errors.AutoMLError` that says what to change.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": range(8), "x": [1.0, 2, 3, 4, 5, 6, 7, 9],
    ...                       "y": ["a", "b"] * 4})
    >>> problem = detect(frame, "y")
    >>> problem.task, problem.metric, problem.set_aside
    ('binary', 'roc_auc', {'id': 'an identifier: a different value on every row'})
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alambic.errors import AutoMLError

__all__ = ["Decision", "Problem", "detect"]

TASKS = ("binary", "multiclass", "regression")
MAX_CLASSES_OF_NUMBERS = 20  # integers with more distinct values are a quantity
MISSING_SHARE = 0.95  # columns missing on more rows than this are set aside
RARE_SHARE = 0.10  # a binary target's minority under this share of rows is imbalanced
RARE_RATIO = 0.2  # a multiclass target whose smallest class is under this x the largest
LEAK_SCORE = 0.99  # one feature alone scoring this (balanced accuracy or R²) is a leak
HIGH_CARDINALITY = 30  # categories with more levels are target-encoded out of fold
LEAK_SAMPLE = 5000  # rows the leak check fits on
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$|^(id|uuid|guid)(_|$)", re.IGNORECASE)
_BY_TASK = {  # the metrics a task can be optimised for, the default first
    "binary": ["roc_auc", "pr_auc", "log_loss", "accuracy", "f1", "brier"],
    "multiclass": ["accuracy", "macro_f1", "multi_log_loss"],
    "regression": ["rmse", "mae", "r2", "mape"],
}


@dataclass(frozen=True)
class Decision:
    """One thing :func:`detect` decided, and why (``chosen``: given by the caller)."""

    what: str
    value: Any
    reason: str
    chosen: bool = False

    def __str__(self) -> str:
        how = "as asked" if self.chosen else "detected"
        return f"{self.what}: {self.value} ({how}: {self.reason})"


@dataclass
class Problem:
    """What a table and its target column make, as :func:`detect` found it.

    Attributes:
        target: the target column.
        task: ``binary``, ``multiclass`` or ``regression``.
        metric: the metric the search optimises (higher or lower is better as
            :data:`alambic.evaluation.METRICS` says).
        classes: the classes in sorted order (classification), else empty.
        features: the columns kept, by kind: ``numeric``, ``category`` (with
            ``high_cardinality`` naming those target-encoded out of fold) or ``datetime``.
        high_cardinality: categories with more than ``HIGH_CARDINALITY`` levels.
        set_aside: the columns not used, with the reason for each.
        rows: the rows kept (the target known).
        dropped_rows: rows dropped because their target is missing.
        decisions: every decision with its reason, in the order they were taken.
    """

    target: str
    task: str
    metric: str
    classes: list[Any]
    features: dict[str, str]
    high_cardinality: list[str]
    set_aside: dict[str, str]
    rows: int
    dropped_rows: int
    decisions: list[Decision] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """One line per column set aside and per row count dropped."""
        out = [f"column {name!r} set aside: {why}" for name, why in self.set_aside.items()]
        if self.dropped_rows:
            out.insert(0, f"{self.dropped_rows} rows dropped: their target is missing")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for the report, the output folder and model cards)."""
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "classes": [_plain(c) for c in self.classes],
            "features": self.features,
            "high_cardinality": self.high_cardinality,
            "set_aside": self.set_aside,
            "rows": self.rows,
            "dropped_rows": self.dropped_rows,
            "decisions": [
                {"what": d.what, "value": _plain(d.value), "reason": d.reason, "chosen": d.chosen}
                for d in self.decisions
            ],
        }


def detect(
    data: pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    metric: str | None = None,
    keep: Sequence[str] = (),
    random_state: int = 0,
) -> Problem:
    """Decide the task, the metric and the features of ``data`` for predicting ``target``.

    Args:
        data: the table, target column included.
        target: the column to predict.
        task: ``binary``, ``multiclass`` or ``regression`` to override the detection.
        metric: a metric of :data:`alambic.evaluation.METRICS` that fits the task.
        keep: columns to use as features even if they look like identifiers, constants or
            leaks (a value truly known when a prediction is asked for).
        random_state: seeds the sample the leak check fits on.

    Raises:
        AutoMLError: no such target column, a target with fewer than two distinct values
            or all missing, a task or metric that does not fit, no usable feature.
    """
    if not isinstance(data, pd.DataFrame):
        raise AutoMLError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    labels = _target(data, target)
    decisions: list[Decision] = []
    known = labels.notna()
    dropped = int((~known).sum())
    frame, labels = data.loc[known], labels[known]
    chosen_task = _task(labels, target, task, decisions)
    classes = sorted(labels.unique().tolist()) if chosen_task != "regression" else []
    chosen_metric = _metric(labels, chosen_task, metric, decisions)
    unknown = [name for name in keep if name not in data.columns or name == target]
    if unknown:
        raise AutoMLError(f"keep= names {unknown}, which are not feature columns of the data")
    features, set_aside = _columns(frame.drop(columns=[target]), set(keep), decisions)
    checked = {name: kind for name, kind in features.items() if name not in keep}
    leaks = _leaks(frame, labels, checked, chosen_task, random_state)
    for name, why in leaks.items():
        features.pop(name)
        set_aside[name] = why
        decisions.append(Decision(f"column {name!r}", "set aside", why))
    if not features:
        raise AutoMLError(
            "no column is usable as a feature: "
            + "; ".join(f"{name!r} {why}" for name, why in set_aside.items())
            + ". Add feature columns, or check that the right table was given"
        )
    high = [
        name
        for name, kind in features.items()
        if kind == "category" and frame[name].nunique() > HIGH_CARDINALITY
    ]
    for name in high:
        levels = frame[name].nunique()
        decisions.append(
            Decision(
                f"column {name!r}",
                "target-encoded",
                f"{levels} levels: one-hot would make {levels} columns; encoded with the "
                "target's mean out of fold, so that no row sees its own label",
            )
        )
    return Problem(
        target=target,
        task=chosen_task,
        metric=chosen_metric,
        classes=classes,
        features=features,
        high_cardinality=high,
        set_aside=set_aside,
        rows=len(frame),
        dropped_rows=dropped,
        decisions=decisions,
    )


def _target(data: pd.DataFrame, target: str) -> pd.Series:
    if target not in data.columns:
        shown = ", ".join(map(repr, list(data.columns)[:20]))
        raise AutoMLError(f"the target column {target!r} is not in the data; its columns: {shown}")
    labels = data[target]
    if isinstance(labels, pd.DataFrame):
        raise AutoMLError(f"the data has several columns named {target!r}; rename them")
    if labels.notna().sum() == 0:
        raise AutoMLError(f"the target column {target!r} is missing on every row")
    if labels.nunique() < 2:
        only = labels.dropna().iloc[0]
        raise AutoMLError(
            f"the target column {target!r} holds one value ({only!r}) on every row where "
            "it is known: there is nothing to predict"
        )
    if len(data.columns) < 2:
        raise AutoMLError("the data has no column besides the target")
    return labels


def _task(labels: pd.Series, target: str, task: str | None, out: list[Decision]) -> str:
    distinct = labels.nunique()
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    integral = numeric and bool(np.all(np.mod(labels.to_numpy(dtype=float), 1) == 0))
    if task is not None:
        if task not in TASKS:
            raise AutoMLError(f"task={task!r}: use one of {', '.join(TASKS)}")
        if task == "regression" and not numeric:
            raise AutoMLError(
                f"task='regression' needs a numeric target; {target!r} holds "
                f"{labels.dtype} values: leave task= out to classify them"
            )
        if task == "binary" and distinct != 2:
            raise AutoMLError(
                f"task='binary' needs two classes; {target!r} holds {distinct}: use "
                "task='multiclass'"
            )
        out.append(Decision("task", task, f"{distinct} distinct values", chosen=True))
        return task
    if not numeric or (integral and distinct <= MAX_CLASSES_OF_NUMBERS):
        found = "binary" if distinct == 2 else "multiclass"
        what = f"{labels.dtype} values" if not numeric else "whole numbers"
        reason = f"{distinct} distinct {what}"
        if numeric and distinct > 2:
            reason += f" (at most {MAX_CLASSES_OF_NUMBERS}: classes; pass task='regression' "
            reason += "if they are a quantity)"
    elif distinct == 2:
        found, reason = "binary", "two distinct values"
    else:
        found = "regression"
        kind = "whole numbers" if integral else "real numbers"
        reason = f"{distinct} distinct {kind}"
    out.append(Decision("task", found, reason))
    return found


def _metric(labels: pd.Series, task: str, metric: str | None, out: list[Decision]) -> str:
    allowed = _BY_TASK[task]
    if metric is not None:
        if metric not in allowed:
            raise AutoMLError(
                f"metric={metric!r} does not fit a {task} task; use one of {', '.join(allowed)}"
            )
        out.append(Decision("metric", metric, f"fits a {task} task", chosen=True))
        return metric
    if task == "regression":
        return _pick(out, "rmse", "regression: root mean squared error")
    counts = labels.value_counts()
    if task == "binary":
        share = counts.min() / counts.sum()
        if share < RARE_SHARE:
            reason = (
                f"the rarer class is {share:.1%} of rows: average precision (pr_auc) shows how "
                "well the rare class is found, where ROC AUC stays high when it is not"
            )
            return _pick(out, "pr_auc", reason)
        reason = f"two classes, the rarer {share:.1%} of rows: ranking quality (ROC AUC)"
        return _pick(out, "roc_auc", reason)
    ratio = counts.min() / counts.max()
    if ratio < RARE_RATIO:
        reason = (
            f"the smallest class has {ratio:.0%} of the largest's rows: macro F1 weighs every "
            "class alike, where accuracy could ignore the small ones"
        )
        return _pick(out, "macro_f1", reason)
    reason = f"{len(counts)} classes of similar size (the smallest {ratio:.0%} of the largest)"
    return _pick(out, "accuracy", reason)


def _pick(out: list[Decision], metric: str, reason: str) -> str:
    out.append(Decision("metric", metric, reason))
    return metric


def _columns(
    frame: pd.DataFrame, keep: set[str], out: list[Decision]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each column's kind, or why it is set aside (leaks are checked later)."""
    features: dict[str, str] = {}
    set_aside: dict[str, str] = {}
    rows = len(frame)
    for name in frame.columns:
        column = frame[name]
        kind, reason = _kind(column)
        why = None if name in keep else _unusable(str(name), column, rows, kind)
        if why is not None:
            set_aside[str(name)] = why
            out.append(Decision(f"column {name!r}", "set aside", why))
            continue
        features[str(name)] = kind
        if reason:
            out.append(Decision(f"column {name!r}", kind, reason))
    return features, set_aside


def _unusable(name: str, column: pd.Series, rows: int, kind: str) -> str | None:
    missing = float(column.isna().mean()) if rows else 1.0
    if missing >= MISSING_SHARE:
        return f"missing on {missing:.0%} of rows"
    distinct = column.nunique()
    if distinct <= 1:
        value = _plain(column.dropna().iloc[0]) if distinct else None
        return f"constant: {value!r} on every row where it is known"
    if distinct == rows and rows > 1 and kind != "datetime" and _identifier_like(name, column):
        return "an identifier: a different value on every row"
    return None


def _identifier_like(name: str, column: pd.Series) -> bool:
    """Unique on every row, and either text, or whole numbers named or laid out as ids."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    if not pd.api.types.is_numeric_dtype(column):
        return True
    if _ID_NAME.search(name):
        return True
    if not pd.api.types.is_integer_dtype(column):
        return False
    values = column.to_numpy()
    return bool(values.max() - values.min() + 1 <= 1.1 * len(values))  # a run of numbers


def _kind(column: pd.Series) -> tuple[str, str]:
    """``numeric``, ``category`` or ``datetime``, and why when it is not plain."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime", "a date and time: becomes year, month, day, weekday and hour"
    if pd.api.types.is_bool_dtype(column):
        return "numeric", ""
    if pd.api.types.is_numeric_dtype(column):
        return "numeric", ""
    sample = column.dropna().astype(str).head(200)
    if len(sample) and not sample.str.fullmatch(r"[-+]?[\d.,eE]+").all():
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9 and sample.str.contains(r"\d[-/:]\d").all():
            return "datetime", "text that reads as dates: becomes year, month, day, weekday, hour"
    return "category", ""


def _leaks(
    frame: pd.DataFrame,
    labels: pd.Series,
    features: dict[str, str],
    task: str,
    random_state: int,
) -> dict[str, str]:
    """Features that alone predict the target almost perfectly (out of fold)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if len(frame) > LEAK_SAMPLE:
        frame = frame.sample(LEAK_SAMPLE, random_state=random_state)
        labels = labels.loc[frame.index]
    if labels.value_counts().min() < 3 and task != "regression":
        return {}  # too few rows of a class to cross-validate a one-feature model
    model: Any
    if task == "regression":
        model, scoring = DecisionTreeRegressor(max_depth=6, random_state=0), "r2"
    else:
        model = DecisionTreeClassifier(max_depth=6, random_state=0)
        scoring = "balanced_accuracy"
    leaks = {}
    for name, kind in features.items():
        column = frame[name]
        values: np.ndarray
        if kind == "numeric":
            values = column.astype(float).fillna(column.astype(float).min() - 1).to_numpy()
        elif kind == "category":
            values = column.astype("category").cat.codes.to_numpy(dtype=float)
        else:
            continue  # a date alone predicting the target is a trend, not a leak
        score = cross_val_score(model, values.reshape(-1, 1), labels, cv=3, scoring=scoring)
        if float(np.mean(score)) >= LEAK_SCORE:
            measure = "R²" if task == "regression" else "balanced accuracy"
            leaks[name] = (
                f"a leak: alone it predicts the target with {measure} {np.mean(score):.3f} out "
                "of fold; a value known only once the outcome is (drop it, or keep it with "
                "keep=[...] if it is truly known at prediction time)"
            )
    return leaks


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
