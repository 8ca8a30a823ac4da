"""Peer side of the tracking benchmark: the same workload run on MLflow 3.

Runs only inside benchmarks/.venv-peers (see benchmarks/peers/requirements.txt),
never in alambic's own environment:

    benchmarks/.venv-peers/bin/python benchmarks/peers/mlflow_tracking.py

MLflow uses a fresh SQLite tracking store and artifact root in a temp dir: no
server, no network, no telemetry. Each operation gets one untimed warm-up, so DB
creation, migrations and lazy imports are not counted. Prints exactly one JSON
line on stdout; everything else goes to stderr.
"""

import json
import os
import tempfile
import time

N_SINGLE = 1000  # single log_metric calls
N_BATCH = 1000  # metrics in one log_batch (MLflow's per-request maximum)
N_RUNS = 100  # runs created, each with N_KEYS params and N_KEYS metrics
N_KEYS = 10
N_SEARCH = 5  # timed search_runs calls, averaged
FILTER = "metrics.m0 > 0.5 and params.p0 = '3'"

# Keep stdout for the JSON line alone: anything written to fd 1 goes to stderr,
# and the JSON goes to a private copy of the real stdout.
_json_out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

# MLflow reads its environment at import time. Drop any MLFLOW_* set up outside
# (tracking URI, experiment, active run id, async logging...) so the figures are
# MLflow's defaults, and turn telemetry off: there is no internet here.
for _var in [v for v in os.environ if v.startswith("MLFLOW_")]:
    del os.environ[_var]
os.environ.update(
    MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_LOGGING_LEVEL="WARNING"
)

import mlflow  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


# Run k's params and metrics: deterministic, so the alambic side logs the same.
def params(k: int) -> dict[str, str]:
    return {f"p{j}": str((k + j) % 7) for j in range(N_KEYS)}


def metrics(k: int) -> dict[str, float]:
    return {f"m{j}": ((k * 31 + j * 17) % 100) / 100 for j in range(N_KEYS)}


def create_run(k: int) -> None:
    """The idiomatic run lifecycle: start, log params and metrics, end."""
    with mlflow.start_run():
        mlflow.log_params(params(k))
        mlflow.log_metrics(metrics(k))


def bench(tmp: str) -> dict:
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    client = MlflowClient()
    # Artifact roots in tmp (MLflow's default is ./mlruns in the cwd). "runs" holds
    # exactly the N_RUNS searched runs; "scratch" takes everything else.
    scratch = client.create_experiment("scratch", artifact_location=f"{tmp}/artifacts/scratch")
    runs_exp = client.create_experiment("runs", artifact_location=f"{tmp}/artifacts/runs")
    mlflow.set_experiment(experiment_id=scratch)

    # 1. Single log_metric calls inside one active run.
    with mlflow.start_run():
        mlflow.log_metric("loss", 1.0, step=-1)  # warm-up
        t0 = time.perf_counter()
        for i in range(N_SINGLE):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        single_s = time.perf_counter() - t0

    # 2. One batch of N_BATCH metrics, into a run of its own made beforehand:
    # only the store write is timed, not building the Metric objects.
    ts = int(time.time() * 1000)
    batch = [Metric("loss", 1.0 / (i + 1), ts, i) for i in range(N_BATCH)]
    warm_run, timed_run = (client.create_run(scratch).info.run_id for _ in range(2))
    client.log_batch(warm_run, metrics=batch)  # warm-up
    t0 = time.perf_counter()
    client.log_batch(timed_run, metrics=batch)
    batch_s = time.perf_counter() - t0

    # 3. N_RUNS whole runs (the warm-up one stays in "scratch", out of search's way).
    create_run(-1)  # warm-up
    mlflow.set_experiment(experiment_id=runs_exp)
    t0 = time.perf_counter()
    for k in range(N_RUNS):
        create_run(k)
    runs_s = time.perf_counter() - t0

    # 4. Filtered, ordered search over those runs.
    def search():  # returns a pandas DataFrame, one row per run
        return mlflow.search_runs([runs_exp], filter_string=FILTER, order_by=["metrics.m1 DESC"])

    search()  # warm-up
    t0 = time.perf_counter()
    for _ in range(N_SEARCH):
        found = search()
    search_s = (time.perf_counter() - t0) / N_SEARCH
    # Check the answer against the same filter and order computed here: a wrong
    # one would make the timing meaningless and search_hits useless to alambic.
    want = [metrics(k) for k in range(N_RUNS) if metrics(k)["m0"] > 0.5 and params(k)["p0"] == "3"]
    want.sort(key=lambda m: -m["m1"])
    if list(found["metrics.m1"]) != [m["m1"] for m in want]:
        raise SystemExit(f"search_runs returned {len(found)} rows, not the {len(want)} expected")

    return {
        "tool": "mlflow",
        "version": mlflow.__version__,
        "single_log_metric_ms": round(single_s / N_SINGLE * 1000, 3),
        "batch_1000_metrics_s": round(batch_s, 4),
        "run_create_ms": round(runs_s / N_RUNS * 1000, 2),
        "search_ms": round(search_s * 1000, 2),
        "search_hits": len(found),
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="alambic-bench-mlflow-") as tmp:
        line = bench(tmp)
    _json_out.write(json.dumps(line) + "\n")
    _json_out.flush()
