"""Experiment tracking, alambic against MLflow (SQLite backend), side by side.

Measures 1,000 single ``log_metric`` calls (flush included), one batch of 1,000 metrics,
creating 100 runs with 10 params and 10 metrics each, and a search over them. MLflow
runs from ``benchmarks/.venv-peers`` (``make bench-setup``); ratios are printed.

    .venv/bin/python benchmarks/tracking.py
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from peers import run_peer

FILTER = "metrics.m0 > 0.5 and params.p0 = '3'"


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


def measure_mlflow() -> dict[str, Any] | None:
    return run_peer("mlflow_tracking.py")


def main() -> None:
    ours = measure_alambic()
    peer = measure_mlflow()
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


if __name__ == "__main__":
    main()
