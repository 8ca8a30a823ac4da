"""A pipeline passing models between steps (workers import this file)."""

from __future__ import annotations

from typing import Any

import alambic as al


@al.step
def train() -> Any:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    from alambic.models import package

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return package(LogisticRegression(max_iter=2000).fit(x, y), x, y)


@al.step
def train_raw() -> Any:
    from sklearn.datasets import load_breast_cancer
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)


@al.step
def score(model: Any, tree: Any) -> float:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return float((model.predict(x) == y).mean() + 0 * tree.predict(x).sum())


@al.pipeline
def train_and_score() -> float:
    return score(train(), train_raw())
