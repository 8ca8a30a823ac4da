"""AutoGluon, a peer of benchmarks/automl.py: runs in benchmarks/.venv-autogluon only.

    python benchmarks/peers/autogluon_automl.py TRAIN TEST TARGET TASK METRIC SECONDS

Fits ``autogluon.tabular.TabularPredictor`` on TRAIN (a parquet file) within SECONDS (its
``time_limit``; ``presets="medium_quality"``, 2 CPUs, no GPU, no neural networks) for
METRIC (alambic's name, mapped to AutoGluon's), and prints one JSON line: the score on
TEST (computed by the FLAML peer's ``score``, so both peers are scored alike), the
seconds taken, the best model.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

import pandas as pd
from flaml_automl import score  # beside this file; imports no FLAML at module level

AUTOGLUON_METRIC = {
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "accuracy": "accuracy",
    "macro_f1": "f1_macro",
    "rmse": "root_mean_squared_error",
}


def main() -> None:
    from autogluon.tabular import TabularPredictor

    train_path, test_path, target, task, metric, seconds = sys.argv[1:7]
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    with tempfile.TemporaryDirectory() as folder:
        predictor = TabularPredictor(
            label=target,
            problem_type=task,
            eval_metric=AUTOGLUON_METRIC[metric],
            path=folder,
            verbosity=0,
        )
        started = time.monotonic()
        predictor.fit(
            train,
            time_limit=float(seconds),
            presets="medium_quality",
            num_cpus=2,
            num_gpus=0,
            # the neural networks need torch, left out of the venv: skip them up front
            excluded_model_types=["NN_TORCH", "FASTAI"],
        )
        took = time.monotonic() - started
        features = test.drop(columns=[target])
        proba = None
        if task != "regression":
            # columns in sorted class order, as alambic and the FLAML peer have them
            ordered = predictor.predict_proba(features)[sorted(predictor.class_labels)]
            proba = ordered.to_numpy()
        predicted = predictor.predict(features).to_numpy()
        value = score(metric, test[target].to_numpy(), predicted, proba)
        best = predictor.model_best
    print(json.dumps({"score": value, "seconds": took, "best": best}))


if __name__ == "__main__":
    main()
