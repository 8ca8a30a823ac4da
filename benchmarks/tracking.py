"""Experiment tracking, alambic against MLflow (SQLite backend), side by side.

Measures 1,000 single ``log_metric`` calls (flush included), one batch of 1,000 metrics,
creating 100 runs with 10 params and 10 metrics each, and a search over them; then
searches over 10,000 and 100,000 runs (a filter on a metric and a param, ordered by a
metric, limit 100), against MLflow on the 10,000. MLflow runs from
``benchmarks/.venv-peers`` (``make bench-setup``); ratios are printed.

The large histories are written in bulk through the tracking store's repository
(``TrackingStore.write``, 5,000 runs a transaction), not by 100,000 ``start_run`` calls;
MLflow's 10,000 through ``MlflowClient.create_run`` and ``log_batch``. With
``BENCH_PG_URL`` set (e.g. ``postgresql+psycopg://127.0.0.1:5432/test``), the 100,000
runs are searched on PostgreSQL too, in a schema of their own dropped afterwards (after an
``ANALYZE``, as autovacuum runs after a bulk load: the planner needs statistics).

    .venv/bin/python benchmarks/tracking.py
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from peers import PEER_PYTHON, run_peer

FILTER = "metrics.m0 > 0.5 and params.p0 = '3'"
ORDER = "metrics.m1 DESC"
LARGE = (10_000, 100_000)
N_LARGE_SEARCH = 5
# MLflow's side of the large search, run in the peer venv: the same runs, the same search.
MLFLOW_LARGE = """
import json, os, sys, tempfile, time
out = os.fdopen(os.dup(1), "w"); os.dup2(2, 1)
for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
    del os.environ[var]
os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
n, filter, order = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp(prefix="alambic-bench-mlflow-")
mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
client = MlflowClient()
exp = client.create_experiment("large", artifact_location=f"{tmp}/artifacts")
started = time.perf_counter()
for k in range(n):
    run = client.create_run(exp, start_time=1_700_000_000_000 + k).info.run_id
    params = [Param(f"p{j}", str((k + j) % 7)) for j in range(10)]
    metrics = [Metric(f"m{j}", ((k * 31 + j * 17) % 100) / 100, 0, 0) for j in range(10)]
    client.log_batch(run, metrics=metrics, params=params)
create = time.perf_counter() - started
search = lambda: mlflow.search_runs([exp], filter_string=filter, order_by=[order], max_results=100)
search()
started = time.perf_counter()
for _ in range(5):
    found = search()
elapsed = (time.perf_counter() - started) / 5
line = {"search_ms": elapsed * 1e3, "hits": len(found), "create_s": create}
line["m1"] = [float(v) for v in found["metrics.m1"]]
out.write(json.dumps(line) + "\\n"); out.flush()
"""


def measure_alambic() -> dict[str, float]:
    os.environ["ALAMBIC_HOME"] = tempfile.mkdtemp(prefix="alambic-bench-")
    from alambic import tracking
    from alambic.tracking._api import _process_buffer

    with tracking.start_run("warm-up", experiment="warm-up"):  # creates the database
        tracking.log_metric("x", 1.0)
    tracking.search_runs("metrics.x > 0", experiment="warm-up")  # imports pandas, as the peer

    with tracking.start_run("single", experiment="warm-up"):
        started = time.perf_counter()
        for i in range(1000):
            tracking.log_metric("loss", 1.0 / (i + 1), step=i)
        _process_buffer.flush()  # the cost of persisting them is part of the figure
        single = (time.perf_counter() - started) / 1000

    with tracking.start_run("batch", experiment="warm-up"):
        started = time.perf_counter()
        tracking.log_metrics({f"m{i}": i / 1000 for i in range(1000)}, step=0)
        _process_buffer.flush()
        batch = time.perf_counter() - started

    started = time.perf_counter()
    for k in range(100):
        with tracking.start_run(f"run-{k}", experiment="search"):
            tracking.log_params({f"p{j}": str((k + j) % 7) for j in range(10)})
            tracking.log_metrics({f"m{j}": ((k * 31 + j * 17) % 100) / 100 for j in range(10)})
    create = (time.perf_counter() - started) / 100

    timings, hits = [], 0
    for _ in range(5):
        started = time.perf_counter()
        found = tracking.search_runs(FILTER, experiment="search", order_by="metrics.m1 DESC")
        timings.append(time.perf_counter() - started)
        hits = len(found)
    return {
        "single_log_metric_ms": single * 1e3,
        "batch_1000_metrics_s": batch,
        "run_create_ms": create * 1e3,
        "search_ms": sum(timings) / 5 * 1e3,
        "search_hits": hits,
    }


def _params(k: int) -> dict[str, str]:
    return {f"p{j}": str((k + j) % 7) for j in range(10)}


def _metrics(k: int) -> dict[str, float]:
    return {f"m{j}": ((k * 31 + j * 17) % 100) / 100 for j in range(10)}


def _bulk_runs(store: Any, n: int, experiment: str) -> float:
    """Write ``n`` finished runs through the repository, 5,000 a transaction; seconds taken."""
    from alambic.tracking import RunChange

    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for first in range(0, n, 5000):
        changes = [
            RunChange(
                id=f"{experiment}-{k:06d}",
                experiment=experiment,
                name=f"run-{k}",
                status="finished",
                created_at=start + timedelta(milliseconds=k),
                params=_params(k),
                metrics=_metrics(k),
            )
            for k in range(first, min(n, first + 5000))
        ]
        store.write(changes, [])
    return time.perf_counter() - started


def _timed_search(search: Any, experiment: str) -> tuple[float, list[float]]:
    found = search(FILTER, experiment=experiment, order_by=ORDER, max_results=100)  # warm-up
    started = time.perf_counter()
    for _ in range(N_LARGE_SEARCH):
        found = search(FILTER, experiment=experiment, order_by=ORDER, max_results=100)
    elapsed = (time.perf_counter() - started) / N_LARGE_SEARCH
    return elapsed * 1e3, [float(v) for v in found["metrics.m1"]]


def measure_alambic_large(db_url: str | None = None) -> dict[int, dict[str, Any]]:
    """Searches over 10,000 and 100,000 runs (on ``db_url``, else the home's SQLite)."""
    from alambic.store import get_engine
    from alambic.tracking import TrackingStore, search_runs, tracking_store
    from alambic.tracking._search import _search_sql

    store = tracking_store() if db_url is None else TrackingStore(get_engine(db_url))

    def search(filter: str, **options: Any) -> Any:
        if db_url is None:
            return search_runs(filter, **options)
        names = [options.pop("experiment")]
        return _search_sql(store, filter, experiments=names, **options)

    results = {}
    for n in LARGE if db_url is None else LARGE[-1:]:
        experiment = f"large-{n}"
        create = _bulk_runs(store, n, experiment)
        if db_url is not None:  # PostgreSQL plans from statistics: gather them, as autovacuum would
            with store.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        elapsed, m1 = _timed_search(search, experiment)
        results[n] = {"search_ms": elapsed, "hits": len(m1), "m1": m1, "create_s": create}
    return results


def measure_postgres_large() -> dict[int, dict[str, Any]] | None:
    """The 100,000-run search on PostgreSQL, when ``BENCH_PG_URL`` names a server."""
    base = os.environ.get("BENCH_PG_URL")
    if not base:
        return None
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        return measure_alambic_large(f"{base}?options=-csearch_path%3D{schema}")
    finally:
        from alambic.store import dispose_engines

        dispose_engines()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure_mlflow_large(n: int) -> dict[str, Any] | None:
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(PEER_PYTHON), "-c", MLFLOW_LARGE, str(n), FILTER, ORDER],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report_large(
    ours: dict[int, dict[str, Any]],
    pg: dict[int, dict[str, Any]] | None,
    peer: dict[str, Any] | None,
) -> None:
    """Print the large searches; stop when the two tools found different runs."""
    for n, figures in ours.items():
        theirs = peer if n == LARGE[0] else None
        mlflow = f"{theirs['search_ms']:.2f} ms" if theirs else "—"
        ratio = f"{theirs['search_ms'] / figures['search_ms']:.1f}x" if theirs else "—"
        label = f"search over {n:,} runs (SQLite)"
        print(f"{label:34} {figures['search_ms']:>9.2f} ms {mlflow:>12} {ratio:>8}")
        if theirs and theirs["m1"] != figures["m1"]:
            raise SystemExit(f"search over {n:,} runs: alambic and mlflow disagree")
    for n, figures in (pg or {}).items():
        label = f"search over {n:,} runs (PostgreSQL)"
        print(f"{label:34} {figures['search_ms']:>9.2f} ms {'—':>12} {'—':>8}")
    created = ", ".join(f"{n:,} in {f['create_s']:.1f} s" for n, f in ours.items())
    print(f"bulk-written runs (alambic, SQLite): {created}")
    if peer:
        print(f"mlflow: {LARGE[0]:,} runs created in {peer['create_s']:.1f} s")


def measure_mlflow() -> dict[str, Any] | None:
    return run_peer("mlflow_tracking.py")


def main() -> None:
    ours = measure_alambic()
    large = measure_alambic_large()
    pg = measure_postgres_large()
    peer = measure_mlflow()
    peer_large = measure_mlflow_large(LARGE[0]) if peer else None
    rows = [
        ("single log_metric", "single_log_metric_ms", "ms"),
        ("batch of 1,000 metrics", "batch_1000_metrics_s", "s"),
        ("run with 10 params + 10 metrics", "run_create_ms", "ms"),
        ("search over 100 runs", "search_ms", "ms"),
    ]
    print(f"{'':34} {'alambic':>12} {'mlflow':>12} {'ratio':>8}")
    for label, key, unit in rows:
        theirs = f"{peer[key]:.4f} {unit}" if peer else "—"
        ratio = f"{peer[key] / ours[key]:.1f}x" if peer else "—"
        print(f"{label:34} {ours[key]:>9.4f} {unit:2} {theirs:>12} {ratio:>8}")
    if peer is None:
        print("mlflow not installed: run `make bench-setup` to compare")
    elif peer["search_hits"] != ours["search_hits"]:
        raise SystemExit(f"search found {ours['search_hits']} runs, mlflow {peer['search_hits']}")
    else:
        print(f"search hits: {ours['search_hits']} (both)")
    report_large(large, pg, peer_large)


if __name__ == "__main__":
    main()
