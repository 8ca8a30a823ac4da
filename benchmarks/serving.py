"""Online serving: the same LightGBM model behind `alambic serve` and `mlflow models serve`.

The model and the requests are defined once in ``peers/mlflow_serving.py``: a seeded
``LGBMClassifier`` (100 trees, one thread) fitted on scikit-learn's breast-cancer data
set (30 float columns). It is fitted here, packaged, registered, promoted to production
and served by two endpoints in a fresh ``ALAMBIC_HOME``: ``bench`` with alambic's
defaults (public; every request captured to Parquet) and ``bench-no-capture`` (capture
0), to show what capture costs. The peer venv (``make bench-setup``) fits it again from
the same data, parameters and seed, checks that its trees are the very ones fitted
here, and saves it with ``mlflow.lightgbm.save_model`` for ``mlflow models serve
--env-manager local`` (uvicorn, as MLflow installs it: no uvloop or httptools there).
Every server gets the same number of worker processes and the same body at
``/invocations``, MLflow's ``dataframe_split``; alambic answers with labels and
probabilities, MLflow with labels only. The labels both give for the 1,000-row body are
checked against the bare model's.

The load comes from a separate client process (this script, ``_load``), the same code
for every server: ``http.client`` keep-alive connections, one per thread, each sending
its next request when the previous answer is read (closed loop), after untimed warm-up
requests. Phases: one-row requests at concurrency 1 and 8, 1,000-row requests at
concurrency 1. All servers run at once (idle but one) and each phase runs on each server
in turn, so a neighbour's load shifts them alike. Measured: latency p50/p99 as the
client sees it, throughput, and the CPU time the server's processes used per request
(from /proc, warm-up and 1.5 s after the load included; less sensitive than wall time to
the shared machine).

The floor: ``predict_proba`` of the bare model on one row, in this process (as a
DataFrame and as a NumPy array), ``booster_.predict`` on the array (what alambic's
server calls), each the lowest median of 10 blocks of calls taken in turns; and the p50
round trip of an empty Starlette app on uvicorn (one worker) that reads the body and
answers ``{}``, hit by the same client in the first phase. alambic's overhead is its
p50 at concurrency 1 minus (predict p50 + empty round trip p50), printed against both
predict figures.

Seen with MLflow on 2 workers: mean latency at concurrency 1 about 45 ms above its server
CPU per request. uvicorn's multi-worker mode hands asyncio a listening socket made with proto 0,
so asyncio sets no TCP_NODELAY on the connections it accepts (strace: none, where one
worker sets it), and h11 writes headers and body apart: the body waits for the client's
delayed ACK. The "mean latency minus server CPU" line shows such waits (and the client's
own time); compare on 1 worker.

The machine has 2 cores shared by the servers, the client and anything else running:
the figures move from run to run; the load average is printed.

    .venv/bin/python benchmarks/serving.py [--quick] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from peers import PEER_PYTHON, PEERS
from peers.mlflow_serving import BATCH_ROWS, PARAMS, body, fit, request_rows, training_data

HERE = Path(__file__).resolve()
READY = "/v2/health/ready"
ALAMBIC = Path(sys.executable).parent / "alambic"
SETTLE_S = 1.5  # after a load; alambic's capture thread writes its queue within 1 s
# (requests, warm-up requests, concurrency) per phase; --quick divides the counts by 10.
PHASES = {"single_c1": (2000, 200, 1), "single_c8": (2000, 400, 8), "batch_c1": (300, 20, 1)}


# -- the client (a process of its own) ------------------------------------------------
def _load(port: int, payload: bytes, concurrency: int, n: int, warmup: int) -> dict[str, Any]:
    """Closed-loop load: ``concurrency`` keep-alive connections sending ``n`` requests."""
    headers = {"Content-Type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    taken = itertools.count()
    start = threading.Barrier(concurrency + 1)

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def one() -> None:
            conn.request("POST", "/invocations", payload, headers)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {answer[:200]!r}")

        try:
            for _ in range(warmup // concurrency):
                one()
            start.wait()
            mine = latencies[i]
            while next(taken) < n and not errors:
                began = time.perf_counter()
                one()
                mine.append(time.perf_counter() - began)
        except Exception as exc:  # a dead connection: report it, stop the others
            errors.append(repr(exc))
            start.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    began, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    every = sorted(itertools.chain.from_iterable(latencies)) or [math.nan]
    return {
        "n": len(every),
        "p50_ms": _quantile(every, 0.50) * 1e3,
        "p99_ms": _quantile(every, 0.99) * 1e3,
        "rps": len(every) / wall,
        "wall_s": wall,
        "client_cpu_ms": (time.process_time() - cpu) / len(every) * 1e3,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _empty_app(port: int) -> None:
    """The floor's server: Starlette on uvicorn, reading the body and answering ``{}``."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def invocations(request: Request) -> Response:
        await request.body()
        return Response(b"{}", media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    app = Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/v2/health/ready", ready),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- servers ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def _request(port: int, method: str, path: str, payload: bytes | None = None) -> Any:
    """The JSON answer (None if empty), or SystemExit unless the status is 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, payload, {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"{method} {path} on port {port}: {response.status} {answer[:300]!r}")
    return json.loads(answer) if answer.strip() else None


class Server:
    """A server subprocess in its own process group, stopped by SIGINT (then SIGKILL)."""

    def __init__(self, argv: list[str], ready: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.log = tempfile.TemporaryFile()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.process = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=self.log, start_new_session=True
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"{argv[:3]} exited:\n{self.log.read().decode()[-3000:]}")
            try:
                _request(self.port, "GET", ready)
                return
            except (OSError, SystemExit):  # not listening yet, or not ready yet
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{argv[:3]} was not ready in 180 s")

    def load(self, payload: Path, concurrency: int, n: int, warmup: int) -> dict[str, Any]:
        """Run the client process against this server; add server CPU per request."""
        cpu = _cpu_seconds(self.process.pid)
        args = [str(self.port), str(payload), str(concurrency), str(n), str(warmup)]
        out = subprocess.run(
            [sys.executable, str(HERE), "_load", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        result: dict[str, Any] = json.loads(out.stdout)
        time.sleep(SETTLE_S)  # what the server does after answering counts as its work
        # Warm-up requests are in the server's CPU time too: counted in the division.
        used = _cpu_seconds(self.process.pid) - cpu
        result["server_cpu_ms"] = used / (n + warmup // concurrency * concurrency) * 1e3
        if result["errors"]:
            raise SystemExit(f"{result['errors']} requests failed: {result['first_error']}")
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def _servers(workers: int, peer: dict[str, Any] | None, env: dict[str, str]) -> dict[str, Server]:
    """The empty app (1 worker), alambic with and without capture, MLflow: all ready."""
    options = ["--port", "{port}", "--workers", str(workers), "--no-access-log"]
    options += ["--log-level", "warning"]
    servers: dict[str, Server] = {}
    try:
        servers["empty"] = Server([sys.executable, str(HERE), "_empty", "{port}"], READY)
        for key, endpoint in (("alambic", "bench"), ("no_capture", "bench-no-capture")):
            argv = [str(ALAMBIC), "serve", "--endpoint", endpoint, *options]
            servers[key] = Server(argv, READY, env)
        if peer is not None:
            script = [str(PEER_PYTHON), str(PEERS / "mlflow_serving.py"), "serve"]
            servers["mlflow"] = Server(
                [*script, peer["model_dir"], "{port}", str(workers)], "/ping"
            )
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def _measure(servers: dict[str, Server], bodies: dict[str, Path], scale: int) -> dict[str, Any]:
    """Each phase on every server in turn, so a neighbour's load shifts them alike."""
    results: dict[str, Any] = {key: {} for key in servers}
    try:
        for phase, (n, warmup, concurrency) in PHASES.items():
            payload = bodies["batch" if phase.startswith("batch") else "single"]
            for key, server in servers.items():
                if key != "empty" or phase == "single_c1":
                    measured = server.load(payload, concurrency, n // scale, warmup // scale)
                    results[key][phase] = measured
        batch = bodies["batch"].read_bytes()
        for key, server in servers.items():
            if key != "empty":
                results[key]["answer"] = _request(server.port, "POST", "/invocations", batch)
    finally:
        for server in servers.values():
            server.stop()
    return results


# -- the floor, in this process ---------------------------------------------------------
def _bare(model: Any, row: Any, n: int) -> dict[str, float]:
    """p50 of each way to score one row: the lowest of 10 blocks' medians.

    The calls take turns, and the quietest block counts, so a burst of other work on the
    2 cores does not pass for the model's cost (this lowers the floor: a stricter aim).
    """
    array = row.to_numpy()
    calls = {
        "frame_us": lambda: model.predict_proba(row),
        "array_us": lambda: model.predict_proba(array),
        "booster_us": lambda: model.booster_.predict(array),
    }
    best = dict.fromkeys(calls, math.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, called with an array
        for block in range(11):  # the first one warms up
            times: dict[str, list[float]] = {key: [] for key in calls}
            for _ in range(n // 10):
                for key, call in calls.items():
                    began = time.perf_counter()
                    call()
                    times[key].append(time.perf_counter() - began)
            for key, spent in times.items():
                if block:
                    best[key] = min(best[key], _quantile(sorted(spent), 0.5) * 1e6)
    return best


def _alambic_home(model: Any, features: Any, target: Any, home: Path) -> dict[str, str]:
    os.environ["ALAMBIC_HOME"] = str(home)
    import alambic as al
    from alambic import registry
    from alambic.models import package
    from alambic.serving import create_endpoint

    version = al.register(package(model, features, target), "bench")["version"]
    registry.approve("bench", version)
    registry.promote("bench", version, to="production")
    create_endpoint("bench", variants=["bench@production"], public=True)
    create_endpoint("bench-no-capture", variants=["bench@production"], public=True, capture=0.0)
    return dict(os.environ)


def _peer_model(model: Any, folder: Path) -> dict[str, Any] | None:
    if not PEER_PYTHON.exists():
        return None
    model_txt = folder / "model.txt"
    script = [str(PEER_PYTHON), str(PEERS / "mlflow_serving.py")]
    model_txt.write_text(model.booster_.model_to_string())
    out = subprocess.run(
        [*script, "save", str(model_txt), str(folder / "mlflow-model")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    peer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    peer["model_dir"] = str(folder / "mlflow-model")
    return peer


# -- report ---------------------------------------------------------------------------
def _report(workers: int, runs: dict[str, Any], peer: Any) -> None:
    ours, bare, theirs = runs["alambic"], runs["no_capture"], runs["mlflow"]
    mlflow = f"mlflow {peer['version']}" if peer else "mlflow"
    print(f"\n{workers} worker process{'es' if workers > 1 else ''} each")
    head = f"{'alambic':>9} {'no capture':>10} {mlflow:>13} {'ratio':>6} {'(no capt.)':>10}"
    print(f"{'':42} {head}")

    def row(label: str, phase: str, key: str, unit: str, scale: float = 1.0) -> None:
        digits = 2 if unit.startswith("ms") else 0
        cells = [f"{r[phase][key] * scale:.{digits}f}" if r else "—" for r in (ours, bare, theirs)]
        ratios = ["—", "—"]
        if theirs is not None:
            for i, side in enumerate((ours, bare)):
                better = side[phase][key] / theirs[phase][key]
                ratios[i] = f"{1 / better if unit.startswith('ms') else better:.1f}x"
        print(
            f"{label:42} {cells[0]:>9} {cells[1]:>10} {cells[2]:>13} {ratios[0]:>6} "
            f"{ratios[1]:>10}  {unit}"
        )

    for phase, title in (
        ("single_c1", "1 row, concurrency 1"),
        ("single_c8", "1 row, concurrency 8"),
    ):
        row(f"{title}: p50", phase, "p50_ms", "ms")
        row(f"{title}: p99", phase, "p99_ms", "ms")
        row(f"{title}: throughput", phase, "rps", "req/s")
        row(f"{title}: server CPU per request", phase, "server_cpu_ms", "ms cpu")
    title = f"{BATCH_ROWS:,} rows, concurrency 1"
    row(f"{title}: p50", "batch_c1", "p50_ms", "ms")
    row(f"{title}: p99", "batch_c1", "p99_ms", "ms")
    row(f"{title}: throughput", "batch_c1", "rps", "req/s")
    row(f"{title}: throughput", "batch_c1", "rps", "rows/s", BATCH_ROWS)
    row(f"{title}: server CPU/request", "batch_c1", "server_cpu_ms", "ms cpu")
    idle = [
        f"{name} {1e3 / r['single_c1']['rps'] - r['single_c1']['server_cpu_ms']:.2f} ms"
        for name, r in (("alambic", ours), ("mlflow", theirs))
        if r is not None
    ]
    print(f"1 row, concurrency 1: mean latency minus server CPU per request: {', '.join(idle)}")
    client = max(ours[p]["client_cpu_ms"] for p in ("single_c1", "single_c8"))
    print(f"client CPU per one-row request (alambic runs): {client * 1e3:.0f} µs")


def _aims(runs: dict[str, Any], floor: dict[str, float]) -> None:
    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    ours, bare, theirs = runs["alambic"], runs["no_capture"], runs["mlflow"]
    if theirs is not None:
        for phase, title, aim in (
            ("single_c1", "1-row throughput, concurrency 1", 10),
            ("single_c8", "1-row throughput, concurrency 8", 10),
            ("batch_c1", f"{BATCH_ROWS:,}-row throughput", 3),
        ):
            ratio = ours[phase]["rps"] / theirs[phase]["rps"]
            off = bare[phase]["rps"] / theirs[phase]["rps"]
            print(
                f"aim: {title} >= {aim}x MLflow: {ratio:.2f}x, {verdict(ratio >= aim)}"
                f" (capture off: {off:.2f}x, {verdict(off >= aim)})"
            )
    p50 = ours["single_c1"]["p50_ms"]
    for model, key in (
        ("predict_proba on an array", "array_us"),
        ("booster.predict", "booster_us"),
    ):
        base = (floor[key] + floor["empty_us"]) / 1e3
        print(
            f"aim: p50 at concurrency 1 within 1 ms of the floor ({model} + empty round trip):"
            f" {p50:.2f} - {base:.2f} = {p50 - base:.2f} ms, {verdict(p50 - base <= 1.0)}"
        )


def _agree(runs: dict[str, Any], model: Any, rows: Any) -> str:
    expected = model.predict(rows).tolist()
    answers = {k: r["answer"]["predictions"] for k, r in runs.items() if r is not None}
    wrong = [name for name, got in answers.items() if got != expected]
    return "yes" if not wrong else f"NO: {', '.join(wrong)} differ from the bare model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the requests")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="e.g. 1 2")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    load_before = os.getloadavg()[0]

    features, target = training_data()
    model = fit(features, target)
    rows = request_rows(features)
    floor = _bare(model, rows["single"], 5000 // scale)
    folder = Path(tempfile.mkdtemp(prefix="alambic-bench-serving-"))
    try:
        bodies = {}
        for name, frame in rows.items():
            bodies[name] = folder / f"{name}.json"
            bodies[name].write_bytes(body(frame))
        peer = _peer_model(model, folder)
        env = _alambic_home(model, features, target, folder / "alambic-home")

        runs = []
        for workers in args.workers:
            measured = {"mlflow": None, **_measure(_servers(workers, peer, env), bodies, scale)}
            empty = measured.pop("empty")["single_c1"]
            us = {"empty_us": empty["p50_ms"] * 1e3, "empty_cpu_us": empty["server_cpu_ms"] * 1e3}
            runs.append((workers, measured, {**floor, **us}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()[0]

    trees = PARAMS["n_estimators"]
    print(
        f"serving: LightGBM classifier ({trees} trees, {features.shape[1]} float columns, "
        f"breast cancer), POST /invocations (dataframe_split) on 127.0.0.1"
    )
    print(
        "client: a separate process, http.client keep-alive connections in threads, closed "
        f"loop; requests per phase {', '.join(f'{k} {v[0] // scale}' for k, v in PHASES.items())}"
    )
    if peer is None:
        print("mlflow not installed: run `make bench-setup` to compare")
    else:
        same = "same trees" if peer["same_trees"] else "DIFFERENT trees"
        print(f"mlflow {peer['version']}, lightgbm {peer['lightgbm']} in the peer venv: {same}")
    for workers, measured, floor in runs:
        _report(workers, measured, peer)
        agree = _agree(measured, model, rows["batch"])
        print(f"same labels as the bare model on the {BATCH_ROWS:,}-row body: {agree}")
        print("floor (p50):")
        print(f"  bare predict_proba, one row as a DataFrame: {floor['frame_us']:6.0f} µs")
        print(f"  bare predict_proba, one row as an array:    {floor['array_us']:6.0f} µs")
        print(f"  bare booster.predict, one row as an array:  {floor['booster_us']:6.0f} µs")
        print(f"  empty Starlette app (1 worker), round trip: {floor['empty_us']:6.0f} µs", end="")
        print(f" (server CPU {floor['empty_cpu_us']:.0f} µs per request)")
        _aims(measured, floor)
    load = f"{load_before:.1f} before, {load_after:.1f} after"
    print(f"load average (1 min) on {os.cpu_count()} cores: {load}; other work skews the figures")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_load"]:
        port, payload, concurrency, n, warmup = sys.argv[2:]
        result = _load(int(port), Path(payload).read_bytes(), int(concurrency), int(n), int(warmup))
        print(json.dumps(result))
    elif sys.argv[1:2] == ["_empty"]:
        _empty_app(int(sys.argv[2]))
    else:
        main()
