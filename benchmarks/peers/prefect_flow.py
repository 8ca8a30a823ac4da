"""Peer side of the orchestration benchmark: the same workload run on Prefect 3.

Runs only inside benchmarks/.venv-peers (see benchmarks/peers/requirements.txt),
never in alambic's own environment:

    benchmarks/.venv-peers/bin/python benchmarks/peers/prefect_flow.py

Measures, after one untimed warm-up flow run:
  * a flow of N_STEPS trivial tasks submitted concurrently with .map() on
    Prefect's default task runner: wall time, the tasks' own time, and the
    orchestration overhead per task;
  * a flow of N_CACHED tasks with cache_policy=INPUTS, run twice: the time of
    the second run, which should be served entirely from Prefect's cache.

Prints exactly one JSON line on stdout; everything else goes to stderr.
"""

import atexit
import json
import os
import shutil
import sys
import tempfile
import time

N_STEPS = 200
N_CACHED = 20

# Keep stdout for the JSON line alone: Prefect's loggers and the ephemeral API
# server (a uvicorn subprocess inheriting our fds) may write to fd 1, so point
# fd 1 at stderr for the whole run and keep a private copy of the real stdout.
_json_out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

# Prefect reads its settings when it is first imported, so configure it first.
# A throwaway PREFECT_HOME gives a fresh SQLite database, result store and
# profile on every run; it is removed at exit. atexit runs handlers last-in
# first-out, so registering this before importing prefect makes it run after
# Prefect's own handler has stopped the ephemeral server.
_home = tempfile.mkdtemp(prefix="alambic-bench-prefect-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
for _var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_var, None)  # never talk to a server or Cloud set up outside
os.environ.update(
    PREFECT_HOME=_home,
    # No pre-started server: Prefect launches a local one on 127.0.0.1 itself.
    PREFECT_SERVER_EPHEMERAL_ENABLED="true",
    # A 2-core CI box can take longer than the default 20 s to bring it up.
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
    PREFECT_SERVER_UI_ENABLED="false",
    # No telemetry: there is no internet here, and none should be attempted.
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    DO_NOT_TRACK="1",
    PREFECT_LOGGING_LEVEL=os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
)
# A proxy configured in the environment must not intercept the local API.
_no_proxy = os.environ.get("NO_PROXY", os.environ.get("no_proxy", ""))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
    p for p in (_no_proxy, "127.0.0.1", "localhost") if p
)

import prefect  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.cache_policies import INPUTS  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402


@task
def step(x: int) -> tuple[int, float]:
    """The trivial unit of work; returns its result and its own run time."""
    t0 = time.perf_counter()
    y = x * 2
    return y, time.perf_counter() - t0


@flow
def fan_out(n: int) -> list[tuple[int, float]]:
    return step.map(range(n)).result()


@task(cache_policy=INPUTS)
def cached_step(x: int) -> int:
    return x * 2


@flow
def cached_fan_out(n: int) -> list[str]:
    """Runs n cacheable tasks; returns their final state names."""
    futures = cached_step.map(range(n))
    futures.wait()
    return [f.state.name for f in futures]


def log(msg: str) -> None:
    print(f"[prefect_flow] {msg}", file=sys.stderr, flush=True)


def settle(expected: int, timeout_s: float = 300.0) -> None:
    """Wait until the API server has recorded `expected` finished task runs.

    Prefect 3 reports task-run states to the server as events, recorded in the
    background after the flow has already returned. On a small machine that
    backlog competes for CPU with whatever is timed next, so each timed phase
    starts only once the server is idle. The lag is logged, not counted.
    """
    t0 = time.perf_counter()
    body = {"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    with get_client(sync_client=True) as client:
        while (done := client.request("POST", "/task_runs/count", json=body).json()) < expected:
            if time.perf_counter() - t0 > timeout_s:
                raise SystemExit(f"server recorded only {done}/{expected} task runs")
            time.sleep(0.2)
    log(f"server caught up with {expected} task runs after {time.perf_counter() - t0:.2f} s")


def main() -> None:
    # Warm-up: starts the ephemeral server, creates its database and imports
    # Prefect's lazy modules; none of that is per-task cost, so it is not timed.
    t0 = time.perf_counter()
    fan_out(N_STEPS)
    log(f"warm-up run (incl. server start-up): {time.perf_counter() - t0:.2f} s")
    settle(N_STEPS)

    t0 = time.perf_counter()
    results = fan_out(N_STEPS)
    total_s = time.perf_counter() - t0
    if [y for y, _ in results] != [2 * x for x in range(N_STEPS)]:
        raise SystemExit("prefect returned wrong results")
    own_s = sum(dt for _, dt in results)
    settle(2 * N_STEPS)

    t0 = time.perf_counter()
    first = cached_fan_out(N_CACHED)
    log(f"cached flow, first run: {time.perf_counter() - t0:.3f} s, states {set(first)}")
    settle(2 * N_STEPS + N_CACHED)
    t0 = time.perf_counter()
    second = cached_fan_out(N_CACHED)
    cached_rerun_s = time.perf_counter() - t0
    log(f"cached flow, second run: {cached_rerun_s:.3f} s, states {set(second)}")
    # A re-run that executed its tasks again would make the figure meaningless.
    if second != ["Cached"] * N_CACHED:
        raise SystemExit(f"expected {N_CACHED} cache hits on the re-run, got {second}")
    settle(2 * N_STEPS + 2 * N_CACHED)  # so the server is not stopped mid-write

    line = {
        "tool": "prefect",
        "version": prefect.__version__,
        "n_steps": N_STEPS,
        "total_s": round(total_s, 4),
        "own_s": round(own_s, 6),
        "overhead_per_step_ms": round((total_s - own_s) / N_STEPS * 1000, 3),
        "cached_rerun_s": round(cached_rerun_s, 4),
    }
    _json_out.write(json.dumps(line) + "\n")
    _json_out.flush()


if __name__ == "__main__":
    main()
