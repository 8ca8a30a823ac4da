"""FLAML, the peer of benchmarks/automl.py: runs in benchmarks/.venv-flaml only.

    python benchmarks/peers/flaml_automl.py TRAIN.parquet TEST.parquet TARGET TASK METRIC SECONDS

Fits ``flaml.AutoML`` on TRAIN within SECONDS (its ``time_budget``; 2 jobs, seed 0) for
METRIC (alambic's name, mapped to FLAML's), and prints one JSON line: the test score
(computed here as alambic computes it), the seconds taken, the best estimator.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn import metrics

FLAML_METRIC = {
    "roc_auc": "roc_auc",
    "pr_auc": "ap",
    "accuracy": "accuracy",
    "macro_f1": "macro_f1",
    "rmse": "rmse",
}


def score(metric: str, y: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None) -> float:
    """The test score, as alambic.evaluation computes it."""
    if metric == "roc_auc":
        return float(metrics.roc_auc_score(y, proba[:, 1]))  # type: ignore[index]
    if metric == "pr_auc":
        return float(metrics.average_precision_score(y, proba[:, 1]))  # type: ignore[index]
    if metric == "accuracy":
        return float(metrics.accuracy_score(y, predicted))
    if metric == "macro_f1":
        return float(metrics.f1_score(y, predicted, average="macro"))
    return float(np.sqrt(metrics.mean_squared_error(y, predicted)))


def main() -> None:
    from flaml import AutoML

    train_path, test_path, target, task, metric, seconds = sys.argv[1:7]
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    automl = AutoML()
    started = time.monotonic()
    automl.fit(
        train.drop(columns=[target]),
        train[target],
        task="regression" if task == "regression" else "classification",
        metric=FLAML_METRIC[metric],
        time_budget=float(seconds),
        n_jobs=2,
        seed=0,
        verbose=0,
    )
    took = time.monotonic() - started
    features = test.drop(columns=[target])
    proba = automl.predict_proba(features) if task != "regression" else None
    value = score(metric, test[target].to_numpy(), automl.predict(features), proba)
    print(json.dumps({"score": value, "seconds": took, "best": automl.best_estimator}))


if __name__ == "__main__":
    main()
