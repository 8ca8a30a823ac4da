"""Peer side of the registry benchmark: the same workload on the MLflow model registry.

Runs only inside benchmarks/.venv-peers (see benchmarks/peers/requirements.txt),
never in alambic's own environment:

    benchmarks/.venv-peers/bin/python benchmarks/peers/mlflow_registry.py

The workload is defined here once and imported by benchmarks/registry.py (this module
imports only the standard library at import time): N_VERSIONS tiny scikit-learn
logistic regressions, each fitted (untimed) with its own C on the same seeded rows, so
every version holds different model bytes, registered one after the other as versions
of one model, the alias ALIAS moved to each new version as it arrives.

MLflow uses a fresh SQLite tracking and registry store and artifact root in a temp dir:
no server, no network, no telemetry. Two timed passes, each after one untimed warm-up
(DB creation, migrations, lazy imports, the first log_model):

- full: per version, the idiomatic path from a fitted estimator to a registered version:
  ``start_run``, ``log_metric`` (the score), ``infer_signature``,
  ``mlflow.sklearn.log_model`` (serialization, MLmodel and environment files, artifact
  writes, the logged-model entity) with ``pip_requirements`` given, ``end_run``,
  ``mlflow.register_model``; then ``set_registered_model_alias``. Requirements are
  pinned because MLflow's default, inferring them in a subprocess that reloads the
  model, takes seconds per model: one such call is timed apart (``infer_requirements_s``).
- registry only: the models logged by the first pass, as versions of another registered
  model: ``create_model_version`` on each one's artifact, then
  ``set_registered_model_alias``: registry rows only, no run, no serialization.

Prints exactly one JSON line on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

N_VERSIONS = 50
N_ROWS = 200  # training rows of each tiny model
N_FEATURES = 5
SEED = 42
ALIAS = "champion"
NAME = "bench-model"


def training_rows() -> tuple[Any, Any]:
    """The seeded rows every model is fitted on: a DataFrame of floats and a 0/1 Series."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    features = pd.DataFrame(
        rng.normal(size=(N_ROWS, N_FEATURES)), columns=[f"x{j}" for j in range(N_FEATURES)]
    )
    noise = rng.normal(scale=0.5, size=N_ROWS)
    target = pd.Series((features["x0"] - features["x1"] + noise > 0).astype(int), name="y")
    return features, target


def estimators(features: Any, target: Any, count: int = N_VERSIONS) -> list[Any]:
    """``count`` fitted logistic regressions, each with its own C: different model bytes."""
    from sklearn.linear_model import LogisticRegression

    return [LogisticRegression(C=0.05 * (i + 1)).fit(features, target) for i in range(count)]


def score(estimator: Any, features: Any, target: Any) -> float:
    """The metric registered with each version (training accuracy: cheap, untimed)."""
    return float(round(estimator.score(features, target), 6))


def _bench(tmp: str) -> dict[str, Any]:
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{tmp}/mlflow.db")
    client = MlflowClient()
    experiment = client.create_experiment("registry", artifact_location=f"{tmp}/artifacts")
    mlflow.set_experiment(experiment_id=experiment)
    features, target = training_rows()
    models = estimators(features, target, N_VERSIONS + 1)  # the last one: warm-up
    scores = [score(m, features, target) for m in models]
    pins = [f"scikit-learn=={__import__('sklearn').__version__}"]

    def log(i: int, **extra: Any) -> Any:
        with mlflow.start_run():
            mlflow.log_metric("accuracy", scores[i])
            signature = infer_signature(features, models[i].predict(features))
            return mlflow.sklearn.log_model(models[i], name="model", signature=signature, **extra)

    timings = dict.fromkeys(["log", "register", "alias", "bare_register", "bare_alias"], 0.0)
    logged: dict[int, Any] = {}

    def full(i: int, name: str) -> int:
        started = time.perf_counter()
        info = logged[i] = log(i, pip_requirements=pins)
        registering = time.perf_counter()
        version = int(mlflow.register_model(info.model_uri, name).version)
        moved = time.perf_counter()
        client.set_registered_model_alias(name, ALIAS, version)
        done = time.perf_counter()
        timings["log"] += registering - started
        timings["register"] += moved - started
        timings["alias"] += done - moved
        return version

    full(N_VERSIONS, "warm-up")
    timings.update(log=0.0, register=0.0, alias=0.0)
    started = time.perf_counter()
    for i in range(N_VERSIONS):
        full(i, NAME)
    full_s = time.perf_counter() - started
    held = int(client.get_model_version_by_alias(NAME, ALIAS).version)
    count = len(client.search_model_versions(f"name = '{NAME}'"))
    if (held, count) != (N_VERSIONS, N_VERSIONS):
        raise SystemExit(f"{ALIAS} is on version {held} of {count}, not {N_VERSIONS}")

    # Registry only: the models logged above, as versions of another registered model.
    bare = f"{NAME}-bare"

    def registry_only(i: int, name: str) -> None:
        started = time.perf_counter()
        version = client.create_model_version(
            name, logged[i].model_uri, run_id=logged[i].run_id, model_id=logged[i].model_id
        ).version
        moved = time.perf_counter()
        client.set_registered_model_alias(name, ALIAS, version)
        timings["bare_register"] += moved - started
        timings["bare_alias"] += time.perf_counter() - moved

    for name in ("warm-up-bare", bare):
        client.create_registered_model(name)
    registry_only(N_VERSIONS, "warm-up-bare")
    timings.update(bare_register=0.0, bare_alias=0.0)
    started = time.perf_counter()
    for i in range(N_VERSIONS):
        registry_only(i, bare)
    bare_s = time.perf_counter() - started
    held = int(client.get_model_version_by_alias(bare, ALIAS).version)
    if held != N_VERSIONS:
        raise SystemExit(f"{ALIAS} of {bare} is on version {held}, not {N_VERSIONS}")

    # MLflow's default log_model, which infers the requirements: one call, apart.
    started = time.perf_counter()
    log(0)
    infer_s = time.perf_counter() - started

    return {
        "tool": "mlflow",
        "version": mlflow.__version__,
        "n": N_VERSIONS,
        "full_s": round(full_s, 4),
        "register_ms": round(timings["register"] / N_VERSIONS * 1e3, 2),
        "log_ms": round(timings["log"] / N_VERSIONS * 1e3, 2),  # of which: the run, log_model
        "alias_ms": round(timings["alias"] / N_VERSIONS * 1e3, 2),
        "bare_s": round(bare_s, 4),
        "bare_register_ms": round(timings["bare_register"] / N_VERSIONS * 1e3, 2),
        "bare_alias_ms": round(timings["bare_alias"] / N_VERSIONS * 1e3, 2),
        "infer_requirements_s": round(infer_s, 3),
    }


def main() -> None:
    # Keep stdout for the JSON line alone: anything written to fd 1 goes to stderr,
    # and the JSON goes to a private copy of the real stdout.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    # MLflow reads its environment at import time. Drop any MLFLOW_* set up outside so
    # the figures are MLflow's defaults, and turn telemetry off: no internet here.
    for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
        del os.environ[var]
    os.environ.update(
        MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_LOGGING_LEVEL="WARNING"
    )
    with tempfile.TemporaryDirectory(prefix="alambic-bench-mlflow-") as tmp:
        line = _bench(tmp)
    json_out.write(json.dumps(line) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
