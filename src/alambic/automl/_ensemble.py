"""Ensembles: greedy selection over out-of-fold predictions (Caruana et al., 2004).

:func:`greedy_weights` starts from nothing and, round after round, adds (with
replacement) the model whose predictions, averaged with those already chosen, score
best on the out-of-fold rows; a model's weight is how often it was chosen. Every
candidate was scored on the same folds, so their out-of-fold predictions line up row
for row. :class:`Ensemble` is the weighted average of the fitted members, an estimator
like any other (it stores with skops and serves as one model).

:func:`stack` is the other way to combine them: a second layer (a logistic regression
over the members' probabilities, or a linear regression with non-negative weights over
their predictions) learnt on the out-of-fold predictions, scored by cross-validating
that layer on them; :class:`Stacked` applies it to the fitted members.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1, 0, 1])
    >>> good = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.3, 0.7]])
    >>> bad = np.array([[0.4, 0.6], [0.6, 0.4], [0.5, 0.5], [0.5, 0.5]])
    >>> greedy_weights([good, bad], y, "accuracy", rounds=5)
    [1.0, 0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if

from alambic.evaluation import METRICS, metric

__all__ = [
    "Ensemble",
    "Stacked",
    "aligned",
    "cross_fitted_score",
    "greedy_weights",
    "meta_features",
    "stack",
]


def greedy_weights(
    predictions: list[np.ndarray], labels: Any, name: str, *, rounds: int = 25
) -> list[float]:
    """Weights (summing to 1) of the ensemble greedy selection builds.

    Args:
        predictions: each model's out-of-fold probabilities (classes) or predictions.
        labels: the true labels or values, row for row.
        name: the metric (:data:`alambic.evaluation.METRICS`) the selection optimises.
        rounds: how many picks (with replacement) to make.
    """
    higher = METRICS[name][1]
    counts = np.zeros(len(predictions))
    total: np.ndarray | None = None
    best_so_far = -np.inf
    for _ in range(rounds):
        picks = []
        for i, candidate in enumerate(predictions):
            mixed = candidate if total is None else (total + candidate) / (counts.sum() + 1)
            value = metric(name, labels, mixed)
            picks.append((value if higher else -value, -i))
        value, i = max(picks)
        if counts.sum() and value < best_so_far:
            break  # adding any model makes it worse: stop
        best_so_far = max(best_so_far, value)
        counts[-i] += 1
        total = predictions[-i] if total is None else total + predictions[-i]
    return [float(c) for c in counts / counts.sum()]


def cross_fitted_score(
    predictions: list[np.ndarray], labels: Any, name: str, *, random_state: int = 0
) -> float:
    """The ensemble's score, honestly: weights chosen on one half of the out-of-fold rows
    score the other half, both ways round, averaged. (Scored on the rows that chose its
    weights, an ensemble looks better than it will do.)"""
    y = np.asarray(labels)
    order = np.random.default_rng(random_state).permutation(len(y))
    halves = (order[: len(y) // 2], order[len(y) // 2 :])
    scores = []
    for fit, test in (halves, halves[::-1]):
        weights = greedy_weights([p[fit] for p in predictions], y[fit], name)
        mixed = sum(w * p[test] for p, w in zip(predictions, weights, strict=True))
        scores.append(metric(name, y[test], mixed))
    return float(np.mean(scores))


def aligned(predicted: np.ndarray, model: Any, classes: list[Any]) -> np.ndarray:
    """Probabilities with a column for every class, in ``classes``' order (a model whose
    training rows lacked a rare class has no column for it: it gets 0)."""
    if predicted.ndim != 2 or predicted.shape[1] == len(classes):
        return predicted
    out = np.zeros((len(predicted), len(classes)))
    positions = {c: i for i, c in enumerate(classes)}
    for j, label in enumerate(getattr(model, "classes_", [])):
        out[:, positions[label]] = predicted[:, j]
    return out


class _Combined(BaseEstimator):  # type: ignore[misc]
    """Fitted members, combined: what :class:`Ensemble` and :class:`Stacked` share."""

    members: list[Any] | None
    classes: list[Any] | None

    def fit(self, X: Any, y: Any) -> _Combined:
        """Refit every member on ``X``, ``y`` (how they are combined stays as it is)."""
        from sklearn.base import clone

        self.members = [clone(m).fit(X, y) for m in self.members or []]
        return self

    @property
    def classes_(self) -> np.ndarray:
        if self.classes is not None:
            return np.asarray(self.classes)
        return np.asarray(self.members[0].classes_)  # type: ignore[index]

    def _classifies(self) -> bool:
        first = (self.members or [None])[0]
        return hasattr(first, "predict_proba") and hasattr(first, "classes_")

    def _outputs(self, X: Any) -> list[np.ndarray]:
        """Each member's probabilities (a column per class of ``classes_``) or
        predictions."""
        if not self._classifies():
            return [np.asarray(m.predict(X)) for m in self.members or []]
        classes = list(self.classes_)
        return [aligned(np.asarray(m.predict_proba(X)), m, classes) for m in self.members or []]

    def _combined(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    @available_if(_classifies)  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> np.ndarray:
        """The combined probabilities, a column per class (classifiers only)."""
        return self._combined(X)

    def predict(self, X: Any) -> np.ndarray:
        if self._classifies():
            return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
        return self._combined(X)


class Ensemble(_Combined):
    """The weighted average of fitted models' probabilities (or predictions).

    Args:
        members: fitted estimators, all of one task.
        weights: one per member, summing to 1.
        classes: the classes, in the order of the probabilities' columns (default: the
            first member's).
    """

    def __init__(
        self,
        members: list[Any] | None = None,
        weights: list[float] | None = None,
        classes: list[Any] | None = None,
    ) -> None:
        self.members = members
        self.weights = weights
        self.classes = classes

    def _combined(self, X: Any) -> np.ndarray:
        pairs = zip(self._outputs(X), self.weights or [], strict=True)
        return np.asarray(sum(w * out for out, w in pairs if w > 0))


def meta_features(predictions: list[np.ndarray]) -> np.ndarray:
    """The second layer's input: the members' probabilities (every class but the first:
    they sum to one) or predictions, side by side."""
    columns = []
    for p in predictions:
        p = np.asarray(p, dtype=float)
        columns.append(p[:, 1:] if p.ndim == 2 else p.reshape(-1, 1))
    return np.hstack(columns)


def stack(
    predictions: list[np.ndarray], labels: Any, name: str, task: str, folds: Any
) -> tuple[Any, float]:
    """The second layer fitted on the out-of-fold predictions, and its score there
    (cross-validated over ``folds``: each row predicted by a layer fitted without it).

    Args:
        predictions: each member's out-of-fold probabilities (classes) or predictions.
        labels: the true labels (as indices of the classes) or values.
        name: the metric the layer is scored by.
        task: ``binary``, ``multiclass`` or ``regression``.
        folds: each fold's held-out row positions (the search's own folds).
    """
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression, LogisticRegression

    x, y = meta_features(predictions), np.asarray(labels)
    layer: Any
    if task == "regression":
        layer = LinearRegression(positive=True)
    else:
        layer = LogisticRegression(C=1.0, max_iter=1000)
    scored: np.ndarray | None = None
    width = predictions[0].shape[1] if task != "regression" else 0
    for held_out in folds:
        test = np.asarray(held_out)
        fit = np.setdiff1d(np.arange(len(y)), test)
        fitted = clone(layer).fit(x[fit], y[fit])
        if task == "regression":
            out = fitted.predict(x[test])
        else:  # a fold lacking a rare class: its column stays 0
            out = aligned(fitted.predict_proba(x[test]), fitted, list(range(width)))
        if scored is None:
            scored = np.zeros((len(y), *out.shape[1:]))
        scored[test] = out
    return layer.fit(x, y), metric(name, y, scored)


class Stacked(_Combined):
    """Fitted models and a second layer over their probabilities (or predictions).

    Args:
        members: fitted estimators, all of one task.
        layer: the fitted second layer (see :func:`stack`); for classes, it predicts the
            position of a class in ``classes``.
        classes: the classes, in the order the layer was trained on (default: the first
            member's).

    A clone keeps the fitted layer (it was learnt on out-of-fold predictions, which a
    refit on new rows does not have); :meth:`fit` refits the members alone.
    """

    def __init__(
        self, members: list[Any] | None = None, layer: Any = None, classes: list[Any] | None = None
    ) -> None:
        self.members = members
        self.layer = layer
        self.classes = classes

    def __sklearn_clone__(self) -> Stacked:
        import copy

        from sklearn.base import clone

        members = [clone(m) for m in self.members or []]
        return Stacked(members, copy.deepcopy(self.layer), copy.copy(self.classes))

    def _combined(self, X: Any) -> np.ndarray:
        inputs = meta_features(self._outputs(X))
        if not self._classifies():
            return np.asarray(self.layer.predict(inputs))
        layer_proba = np.asarray(self.layer.predict_proba(inputs))
        out = np.zeros((layer_proba.shape[0], len(self.classes_)))
        out[:, np.asarray(self.layer.classes_, dtype=int)] = layer_proba  # positions
        return out
