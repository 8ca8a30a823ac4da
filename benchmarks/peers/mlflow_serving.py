"""Peer side of the serving benchmark: the same LightGBM model behind `mlflow models serve`.

Runs only inside benchmarks/.venv-peers (see benchmarks/peers/requirements.txt),
never in alambic's own environment. Two commands:

    benchmarks/.venv-peers/bin/python benchmarks/peers/mlflow_serving.py \
        save MODEL_TXT OUT_DIR
    benchmarks/.venv-peers/bin/python benchmarks/peers/mlflow_serving.py \
        serve OUT_DIR PORT WORKERS

The workload is defined here once and imported by benchmarks/serving.py (this module
imports only the standard library at import time): scikit-learn's breast-cancer data
set (569 rows, 30 float columns), one seeded ``LGBMClassifier`` fitted on all of it,
and the request bodies both servers get (MLflow's ``dataframe_split``).

``save`` fits the classifier here from the same data, parameters and seed as alambic's
side, checks that its trees are the very ones in MODEL_TXT (the booster alambic's side
fitted and wrote out), and saves it with ``mlflow.lightgbm.save_model`` (signature
inferred, requirements pinned so no inference subprocess runs). It prints one JSON
line. ``serve`` drops any MLFLOW_* variable set outside, turns telemetry off and
replaces itself with ``mlflow models serve --env-manager local`` (MLflow's uvicorn
scoring server; no environment is created, nothing is downloaded).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

SEED = 42
PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "random_state": SEED,
    # One thread: both servers score on the same 2 shared cores the client also uses,
    # and OpenMP threads would only fight over them.
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
BATCH_ROWS = 1000


def training_data() -> tuple[Any, Any]:
    """The breast-cancer features (a DataFrame of 30 float columns) and the 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


def fit(features: Any, target: Any) -> Any:
    """The classifier both servers score with (same data, parameters and seed)."""
    from lightgbm import LGBMClassifier

    return LGBMClassifier(**PARAMS).fit(features, target)


def request_rows(features: Any) -> dict[str, Any]:
    """The rows of each request: one row, and BATCH_ROWS rows drawn with a fixed seed."""
    return {
        "single": features.iloc[[0]],
        "batch": features.sample(BATCH_ROWS, replace=True, random_state=SEED),
    }


def body(rows: Any) -> bytes:
    """MLflow's ``dataframe_split`` body, which both servers accept at /invocations."""
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    return json.dumps({"dataframe_split": split}).encode()


def trees(model_text: str) -> str:
    """The trees of a LightGBM model text, without the parameters footer."""
    return model_text.split("end of trees", 1)[0]


def _save(model_txt: str, out_dir: str) -> dict[str, Any]:
    import lightgbm
    import mlflow
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    features, target = training_data()
    model = fit(features, target)
    theirs = Path(model_txt).read_text()
    ours = model.booster_.model_to_string()
    signature = infer_signature(features, model.predict(features))
    pins = [f"lightgbm=={lightgbm.__version__}", f"mlflow=={mlflow.__version__}"]
    mlflow.lightgbm.save_model(model, out_dir, signature=signature, pip_requirements=pins)
    return {
        "tool": "mlflow",
        "version": mlflow.__version__,
        "lightgbm": lightgbm.__version__,
        "same_trees": trees(ours) == trees(theirs),
    }


def _serve(model_dir: str, port: str, workers: str) -> None:
    for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
        del os.environ[var]
    os.environ.update(
        MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_LOGGING_LEVEL="WARNING"
    )
    # `mlflow models serve` starts `uvicorn` by name: this venv's own must come first.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    mlflow = str(Path(bin_dir) / "mlflow")
    argv = [mlflow, "models", "serve", "-m", model_dir, "--env-manager", "local"]
    argv += ["-h", "127.0.0.1", "-p", port, "-w", workers]
    os.execv(mlflow, argv)  # noqa: S606 - fixed argv, this venv's own mlflow


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "serve":
        _serve(*args)
        return
    # Keep stdout for the JSON line alone: anything written to fd 1 goes to stderr.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
        del os.environ[var]
    os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    line = _save(*args)
    json_out.write(json.dumps(line) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
