"""Peer side of the tuning benchmark: the same study run by Optuna's own ``optimize``.

Runs inside benchmarks/.venv-peers (see benchmarks/peers/requirements.txt), never in
alambic's own environment:

    benchmarks/.venv-peers/bin/python benchmarks/peers/optuna_tuning.py [--trials 100] [--jobs 1,2]

(benchmarks/tuning.py passes them as BENCH_TUNING_TRIALS and BENCH_TUNING_JOBS.)

The workload is defined here once and imported by benchmarks/tuning.py (this module
imports only the standard library at import time), so both sides tune the very same
model on the very same rows: LightGBM (``n_jobs=1``, fixed ``n_estimators``) by seeded
3-fold stratified cross-validation, ROC AUC, points drawn by a seeded RandomSampler, no
pruning. Optuna runs ``study.optimize(objective, n_trials, n_jobs=...)`` on a new
in-memory study for each ``--jobs`` value (n_jobs > 1: threads); one untimed trial warms
up the imports and the first fit. Prints exactly one JSON line on stdout; everything
else goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud"
ROWS = 200_000  # listings generated; moto is ~25% of them
CATEGORY = "moto"
TRAIN_SHARE = 0.75  # the earliest listings, as the fraud pipeline's split
SEED = 42
CV = 3
N_ESTIMATORS = 60
sys.path.insert(0, str(FRAUD))
from fraud_schema import FEATURES, TARGET  # noqa: E402 - the pipeline's own columns

# The fraud pipeline's space less n_estimators (fixed, so every trial costs about the
# same), as alambic takes it; `suggest` below draws the same names in the same order.
SPACE: dict[str, dict[str, Any]] = {
    "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 8, "high": 64, "log": True},
    "min_child_samples": {"type": "int", "low": 10, "high": 100},
    "colsample_bytree": {"type": "float", "low": 0.5, "high": 1.0},
}
ESTIMATOR = {"verbose": -1, "n_jobs": 1, "n_estimators": N_ESTIMATORS, "random_state": SEED}


def training_rows() -> Any:
    """One category's training rows of the seeded fraud data set (~37k rows)."""
    sys.path.insert(0, str(FRAUD))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(FRAUD))
    data = generate(ROWS, random_state=SEED)
    rows = data[data["category"] == CATEGORY].sort_values("listing_id")
    rows = rows.head(int(len(rows) * TRAIN_SHARE))
    frame = rows[[*FEATURES, TARGET]].reset_index(drop=True)
    frame["brand"] = frame["brand"].astype("category")
    return frame


def points_digest(points: list[dict[str, Any]]) -> str:
    """A short digest of the set of points tried (order-free), to check both sides agree."""
    rows = sorted(json.dumps({k: round(float(v), 9) for k, v in p.items()}) for p in points)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]


def suggest(trial: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in SPACE.items():
        draw = trial.suggest_int if spec["type"] == "int" else trial.suggest_float
        out[name] = draw(name, spec["low"], spec["high"], log=spec.get("log", False))
    return out


def cross_validate(params: dict[str, Any], data: Any) -> float:
    """Mean ROC AUC over the folds, as alambic's estimator objective computes it."""
    import lightgbm
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    features, labels = data.drop(columns=[TARGET]), data[TARGET]
    folds = StratifiedKFold(n_splits=CV, shuffle=True, random_state=SEED)
    scores = []
    for train, valid in folds.split(features, labels):
        model = lightgbm.LGBMClassifier(**ESTIMATOR).set_params(**params)
        model.fit(features.iloc[train], labels.iloc[train])
        predicted = np.asarray(model.predict_proba(features.iloc[valid]))[:, 1]
        scores.append(float(roc_auc_score(np.asarray(labels.iloc[valid]), predicted)))
    return sum(scores) / len(scores)


def bench(n_trials: int, jobs: list[int]) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = training_rows()

    def objective(trial: Any) -> float:
        return cross_validate(suggest(trial), data)

    def study() -> Any:
        sampler = optuna.samplers.RandomSampler(seed=SEED)
        return optuna.create_study(direction="maximize", sampler=sampler)

    # The points the seeded sampler draws one after the other. Threads interleave their
    # draws, so with n_jobs > 1 the same points are queued instead: each configuration
    # (and alambic's) evaluates the same 100 models, whatever the timing.
    points = study()
    for _ in range(n_trials):
        suggest(points.ask())

    warm = study()
    warm.optimize(objective, n_trials=1)  # imports, first fit: not counted

    out: dict[str, Any] = {
        "tool": "optuna",
        "version": optuna.__version__,
        "trials": n_trials,
        "rows": len(data),
    }
    for n_jobs in jobs:
        timed = study()
        if n_jobs > 1:
            for trial in points.get_trials(deepcopy=False):
                timed.enqueue_trial(trial.params)
        started = time.perf_counter()
        timed.optimize(objective, n_trials=n_trials, n_jobs=n_jobs)
        wall = time.perf_counter() - started
        trials = timed.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        out[f"jobs{n_jobs}"] = {
            "wall_s": round(wall, 3),
            "complete": len(complete),
            "best": round(timed.best_value, 6),
            "points": points_digest([t.params for t in trials]),
        }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_TUNING_TRIALS", "100"))
    parser.add_argument("--trials", type=int, default=default)
    parser.add_argument("--jobs", default=os.environ.get("BENCH_TUNING_JOBS", "1,2"))
    args = parser.parse_args()
    # Keep stdout for the JSON line alone.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    line = bench(args.trials, [int(j) for j in args.jobs.split(",")])
    json_out.write(json.dumps(line) + "\n")
    json_out.flush()
