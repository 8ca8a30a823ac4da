"""A pipeline that registers a model behind a gate (workers import this file)."""

from __future__ import annotations

from typing import Any

import pandas as pd

import alambic as al


@al.step
def train() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    from alambic.models import package

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    labels = pd.Series([0, 1, 0, 1])
    return package(DecisionTreeClassifier().fit(frame, labels), frame, labels)


@al.step
def score(model: Any) -> float:
    return 1.0


@al.pipeline
def registered(threshold: float = 0.5) -> Any:
    model = train()
    auc = score(model)
    with al.when(auc >= threshold):
        version = al.register(model, "flow-model", {"roc_auc": 1.0})
    return version
