"""Quickstart: train two models side by side, keep the better one, publish it if good enough.

Run it with ``make demo`` or ``alambic run pipeline.py:quickstart``; run it again and
every step is a cache hit. Try ``-p min_auc=0.999`` to see the gate refuse, or
``-p models=random_forest`` to train only one model.

scikit-learn is imported inside the steps: the orchestrator never needs it, so a fully
cached run starts no worker and imports no model library. Trained estimators travel
between steps in skops format (alambic.models), never pickled.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

import alambic as al

Estimator = Any  # a fitted scikit-learn estimator


@al.step
def load_data() -> pd.DataFrame:
    """The breast-cancer data set shipped with scikit-learn (no download)."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    print(f"loaded {len(frame)} rows, {frame.shape[1] - 1} features")
    return frame


@al.step
def split(
    data: pd.DataFrame, test_size: float, random_state: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        data, test_size=test_size, random_state=random_state, stratify=data["target"]
    )
    return train, test


@al.step(retries=1)
def train(data: pd.DataFrame, model: str, random_state: int) -> Estimator:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = data.drop(columns="target"), data["target"]
    if model == "logistic_regression":
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    elif model == "random_forest":
        estimator = RandomForestClassifier(n_estimators=200, random_state=random_state, n_jobs=1)
    else:
        raise ValueError(f"unknown model {model!r}; use logistic_regression or random_forest")
    estimator.fit(features, target)
    print(f"trained {model} on {len(data)} rows")
    return estimator


@al.step
def evaluate(estimator: Estimator, test: pd.DataFrame, model: str) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    scores = estimator.predict_proba(test.drop(columns="target"))[:, 1]
    auc = float(roc_auc_score(test["target"], scores))
    print(f"{model}: ROC AUC {auc:.4f}")
    return {"model": model, "roc_auc": auc}


@al.step
def pick_best(scores: list[dict[str, Any]]) -> dict[str, Any]:
    best = max(scores, key=lambda s: s["roc_auc"])
    print("leaderboard:", json.dumps(sorted(scores, key=lambda s: -s["roc_auc"])))
    return best


@al.step
def publish(best: dict[str, Any]) -> str:
    message = f"published {best['model']} (ROC AUC {best['roc_auc']:.4f})"
    print(message)
    return message


@al.step
def hold_back(best: dict[str, Any], min_auc: float) -> str:
    message = f"held back {best['model']}: ROC AUC {best['roc_auc']:.4f} < {min_auc}"
    print(message)
    return message


@al.pipeline
def quickstart(
    models: tuple[str, ...] = ("logistic_regression", "random_forest"),
    test_size: float = 0.25,
    random_state: int = 42,
    min_auc: float = 0.95,
) -> dict[str, Any]:
    train_set, test_set = split(load_data(), test_size, random_state)
    for model in al.map(models):
        estimator = train(train_set, model, random_state)
        score = evaluate(estimator, test_set, model)
    best = pick_best(score)
    with al.when(best["roc_auc"] >= min_auc):
        publish(best)
    with al.otherwise():
        hold_back(best, min_auc)
    return best


if __name__ == "__main__":
    finished = al.run(quickstart)
    print(finished.status, finished.result())
