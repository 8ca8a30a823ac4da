"""Ensembles: greedy selection over out-of-fold predictions (Caruana et al., 2004).

:func:`greedy_weights` starts from nothing and, round after round, adds (with
replacement) the model whose predictions, averaged with those already chosen, score
best on the out-of-fold rows; a model's weight is how often it was chosen. Every
candidate was scored on the same folds, so their out-of-fold predictions line up row
for row. :class:`Ensemble` is the weighted average of the fitted members, an estimator
like any other (it stores with skops and serves as one model).

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

__all__ = ["Ensemble", "cross_fitted_score", "greedy_weights"]


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


class Ensemble(BaseEstimator):  # type: ignore[misc]
    """The weighted average of fitted models' probabilities (or predictions).

    Args:
        members: fitted estimators, all of one task (classifiers with the same classes).
        weights: one per member, summing to 1.
    """

    def __init__(
        self, members: list[Any] | None = None, weights: list[float] | None = None
    ) -> None:
        self.members = members
        self.weights = weights

    def fit(self, X: Any, y: Any) -> Ensemble:
        """Refit every member on ``X``, ``y`` (the weights stay as they are)."""
        from sklearn.base import clone

        self.members = [clone(m).fit(X, y) for m in self.members or []]
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.members[0].classes_)  # type: ignore[index]

    def _average(self, X: Any, method: str) -> np.ndarray:
        pairs = zip(self.members or [], self.weights or [], strict=True)
        return np.asarray(sum(w * np.asarray(getattr(m, method)(X)) for m, w in pairs if w > 0))

    def _classifies(self) -> bool:
        first = (self.members or [None])[0]
        return hasattr(first, "predict_proba") and hasattr(first, "classes_")

    @available_if(_classifies)  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> np.ndarray:
        """The weighted average of the members' probabilities (classifiers only)."""
        return self._average(X, "predict_proba")

    def predict(self, X: Any) -> np.ndarray:
        if self._classifies():
            return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
        return self._average(X, "predict")
