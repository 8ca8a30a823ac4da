"""Online serving: the same LightGBM model behind `alambic serve`, `mlflow models serve`, MLServer.

The model and the requests are defined once in ``peers/mlflow_serving.py``: a seeded
``LGBMClassifier`` (100 trees, one thread) fitted on scikit-learn's breast-cancer data
set (30 float columns). It is fitted here, packaged, registered, promoted to production
and served by two endpoints in a fresh ``ALAMBIC_HOME``: ``bench`` with alambic's
defaults (public; every request captured to Parquet; also on gRPC, ``--grpc-port``) and
``bench-no-capture`` (capture 0), to show what capture costs. The peer venv (``make
bench-setup``) fits it again from the same data, parameters and seed, checks that its
trees are the very ones fitted here, and saves it with ``mlflow.lightgbm.save_model`` for
``mlflow models serve --env-manager local`` (uvicorn, as MLflow installs it: no uvloop or
httptools there). MLServer runs in a venv of its own, benchmarks/.venv-mlserver (its
fastapi pin clashes with Prefect's): ``peers/mlserver_serving.py`` gives its LightGBM
runtime (``mlserver_lightgbm.LightGBMModel``) the booster written here by
``booster_.save_model``, checks that its LightGBM reads the same trees, and starts
``mlserver start`` with uvloop and httptools installed (its best configuration), metrics
off, OpenMP held to one thread (alambic scores requests of 500 rows or more on the
worker's share of the cores, 2 threads here with one worker: on the 1,000-row lines it has
twice MLServer's threads; smaller requests, one each). Its ``parallel_workers``: 0 when
the others get one worker (inference in its one HTTP/gRPC process, like theirs; with 1
it adds an inference process and an IPC hop per request, and served about half the
one-row requests per second here), else the others' worker count;
``--mlserver-workers`` sets it.

Every server gets the same number of worker processes. The lines (transport and body),
each with the servers that take it and the one the ratios are taken against:

- ``/invocations`` with MLflow's ``dataframe_split`` JSON: alambic (with and without
  capture) against MLflow; alambic answers with labels and probabilities, MLflow with
  labels only.
- ``/v2/models/{name}/infer`` with a v2 JSON body, one FP64 tensor ``[n, 30]`` named
  ``input-0`` (the same bytes for both): alambic (with and without capture) against
  MLServer, which answers with probabilities.
- the same route with the binary tensor extension, the body ``tritonclient.http`` sends
  by default (``generate_request_body``: JSON header, raw FP64, ``binary_data_output``):
  alambic against MLServer, which does not implement that extension over REST (shown as
  such if it refuses the body).
- gRPC ``GRPCInferenceService/ModelInfer`` with the tensor in ``raw_input_contents``:
  alambic against MLServer (its gRPC server); the client sends the serialized request as
  bytes on one channel per thread.

Before a server's first phase on a line, one request checks that it takes that body;
one that does not is marked so, and the line shows "—" for it. The labels alambic and
MLflow give at ``/invocations``, and the labels of MLServer's v2 JSON probabilities, for
the 1,000-row body are checked against the bare model's.

The load comes from ``h2load`` (nghttp2's load generator, written in C: ``make
bench-setup`` installs Debian's nghttp2-client when it can), the same for every server:
HTTP/1.1 keep-alive connections, or for gRPC HTTP/2 connections with one stream at a
time, each sending its next request when the previous answer is read (closed loop),
after untimed warm-up requests. It costs the shared cores little, where the Python
client it replaced cost 300-400 µs of CPU per request, as much as a server. Without
h2load, that client (this script, ``_load``: ``http.client`` connections, or a gRPC
channel, one per thread) is used, and the output says so. Phases: one-row requests at
concurrency 1 and 8, 1,000-row requests at concurrency 1. All servers run at once (idle
but one) and each phase runs on each line and server in turn, so a neighbour's load
shifts them alike. Measured: latency p50/p99 as the client sees it, throughput, and the
CPU time the server's processes used per request (from /proc, warm-up and 1.5 s after
the load included; less sensitive than wall time to the shared machine).

The floor: ``predict_proba`` of the bare model on one row, in this process (as a
DataFrame and as a NumPy array), ``booster_.predict`` on the array (what alambic's
server calls), each the lowest median of 10 blocks of calls taken in turns; and the p50
round trip of an empty Starlette app on uvicorn (one worker) that reads the body and
answers ``{}``, hit by the same client in the first phase; and, as the gRPC lines'
floor, an empty ``grpc.aio`` ModelInfer on the same loop (printed, not subtracted).
alambic's overhead is its p50 at concurrency 1 minus (predict p50 + empty round trip
p50), printed against both predict figures.

Seen with MLflow on 2 workers: mean latency at concurrency 1 about 45 ms above its server
CPU per request. uvicorn's multi-worker mode hands asyncio a listening socket made with proto 0,
so asyncio sets no TCP_NODELAY on the connections it accepts (strace: none, where one
worker sets it), and h11 writes headers and body apart: the body waits for the client's
delayed ACK. The "mean latency minus server CPU" line shows such waits (and the client's
own time); compare on 1 worker.

The machine has 2 cores shared by the servers, the client and anything else running:
the figures move from run to run; the load average is printed. ``--rounds 3`` runs each
phase three times, the servers taking turns, and keeps each server's best round.

    .venv/bin/python benchmarks/serving.py [--quick] [--rounds 3] [--workers 1 2]
        [--mlserver-workers N]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peers import PEER_PYTHON, PEERS
from peers.mlflow_serving import BATCH_ROWS, PARAMS, body, fit, request_rows, training_data

HERE = Path(__file__).resolve()
READY = "/v2/health/ready"
GRPC_INFER = "/inference.GRPCInferenceService/ModelInfer"
MLSERVER_PYTHON = PEERS.parent / ".venv-mlserver" / "bin" / "python"
ALAMBIC = Path(sys.executable).parent / "alambic"
SETTLE_S = 1.5  # after a load; alambic's capture thread writes its queue within 1 s
# (requests, warm-up requests, concurrency) per phase; --quick divides the counts by 10.
PHASES = {"single_c1": (2000, 200, 1), "single_c8": (2000, 400, 8), "batch_c1": (300, 20, 1)}


# -- the client (a process of its own) ------------------------------------------------
def _connect(
    port: int, path: str, payload: bytes, headers: dict[str, str], errors: list[str]
) -> tuple[Any, Any]:
    """A connection and the call sending one request on it (an HTTP error is recorded).

    ``path`` "grpc": ``payload`` (a serialized ``ModelInferRequest``) goes to
    ``GRPCInferenceService/ModelInfer`` on a channel, as bytes (no protobuf work here).
    """
    if path == "grpc":
        import grpc

        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(GRPC_INFER)
        return channel, lambda: call(payload, timeout=120)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def one() -> None:
        conn.request("POST", path, payload, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            errors.append(f"{response.status} {answer[:200]!r}")

    return conn, one


def _load(
    port: int,
    payload: bytes,
    concurrency: int,
    n: int,
    warmup: int,
    *,
    path: str = "/invocations",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Closed-loop load: ``concurrency`` keep-alive connections sending ``n`` requests."""
    headers = headers or {"Content-Type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    taken = itertools.count()
    start = threading.Barrier(concurrency + 1)

    def worker(i: int) -> None:
        conn, one = _connect(port, path, payload, headers, errors)
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
    client_cpu_ms = (time.process_time() - cpu) / len(every) * 1e3
    return _summary(every, wall, client_cpu_ms, errors)


def _summary(
    every: list[float], wall: float, client_cpu_ms: float, errors: list[str]
) -> dict[str, Any]:
    """One phase's figures from its sorted latencies (seconds) and wall time."""
    return {
        "n": len(every),
        "p50_ms": _quantile(every, 0.50) * 1e3,
        "p99_ms": _quantile(every, 0.99) * 1e3,
        "rps": len(every) / wall,
        "wall_s": wall,
        "client_cpu_ms": client_cpu_ms,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


H2LOAD = shutil.which("h2load")  # nghttp2's load generator (Debian: nghttp2-client)
CLIENT = (
    "h2load, one thread (HTTP/1.1 keep-alive connections; gRPC: HTTP/2, one stream each)"
    if H2LOAD
    else "http.client keep-alive connections in threads (gRPC: a channel each)"
)


def _h2load(
    port: int,
    path: str,
    payload: Path,
    headers: dict[str, str],
    *,
    concurrency: int,
    n: int,
    warmup: int,
) -> dict[str, Any]:
    """The closed loop of ``_load``, driven by ``h2load`` (C, one thread, libev).

    HTTP/1.1 keep-alive connections (``--h1``), or for ``path`` "grpc" HTTP/2 with one
    stream at a time per connection: the serialized request framed as gRPC frames it
    (a 0 flag byte and a 4-byte big-endian length), ``content-type: application/grpc``.
    A gRPC error still answers HTTP 200 (with no message), so the answers' data bytes are
    checked too: some, and a whole multiple of the request count (answers of one size).
    Latencies come from h2load's per-request log (microseconds to the end of the answer).
    """
    url, args = f"http://127.0.0.1:{port}{path}", ["--h1"]
    if path == "grpc":
        url = f"http://127.0.0.1:{port}{GRPC_INFER}"
        framed = payload.with_suffix(".grpc-frame")
        data = payload.read_bytes()
        framed.write_bytes(b"\0" + len(data).to_bytes(4, "big") + data)
        payload, args = framed, []
        headers = {"content-type": "application/grpc", "te": "trailers"}
    args += ["-c", str(concurrency), "-t", "1", "-m", "1", "-d", str(payload)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    log = payload.with_suffix(".h2load-log")

    def run(count: int) -> str:
        log.unlink(missing_ok=True)  # h2load appends to its log
        argv = [str(H2LOAD), *args, "-n", str(count), "--log-file", str(log), url]
        done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800)
        return done.stdout

    if warmup:
        run(max(warmup // concurrency, 1) * concurrency)
    out = run(n)
    every = sorted(int(line.split()[2]) / 1e6 for line in log.read_text().splitlines())
    took, unit = re.search(r"finished in ([0-9.]+)(us|ms|s),", out).groups()  # type: ignore[union-attr]
    wall = float(took) / {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    codes = out.split("status codes: ", 1)[1].split("\n", 1)[0]
    ok = int(codes.split()[0])
    errors = [] if ok == n else [f"h2load: {codes}"]
    if path == "grpc":
        data_bytes = int(out.split("headers (space savings", 1)[1].split("(", 1)[1].split(")")[0])
        if data_bytes == 0 or data_bytes % n:
            errors.append(f"gRPC answers of different sizes ({data_bytes} bytes for {n})")
    return _summary(every, wall, math.nan, errors)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _empty_app(port: int, grpc_port: int) -> None:
    """The floors' server: Starlette on uvicorn, reading the body and answering ``{}``;
    and on ``grpc_port`` a ``grpc.aio`` server on the same loop (as alambic runs its
    own) whose ModelInfer answers an empty message."""
    import contextlib

    import grpc
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

    async def infer(request: bytes, context: Any) -> bytes:
        return b""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        server = grpc.aio.server()
        handler = grpc.unary_unary_rpc_method_handler(infer)
        service = grpc.method_handlers_generic_handler(
            GRPC_INFER.split("/")[1], {"ModelInfer": handler}
        )
        server.add_generic_rpc_handlers((service,))
        server.add_insecure_port(f"127.0.0.1:{grpc_port}")
        await server.start()
        yield
        await server.stop(1)

    app = Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/v2/health/ready", ready),
        ],
        lifespan=lifespan,
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

    def __init__(
        self, argv: list[str], ready: str, env: dict[str, str] | None = None, model: str = ""
    ) -> None:
        self.port, self.grpc_port = _free_port(), _free_port()
        self.model = model  # the v2 model name ("": no v2 route)
        self.has_grpc = any("{grpc}" in a for a in argv)
        self.log = tempfile.TemporaryFile()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        argv = [a.replace("{grpc}", str(self.grpc_port)) for a in argv]
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

    def load(
        self, line: Line, payload: Path, concurrency: int, n: int, warmup: int
    ) -> dict[str, Any]:
        """Run the client process against this server; add server CPU per request."""
        cpu = _cpu_seconds(self.process.pid)
        port = self.grpc_port if line.path == "grpc" else self.port
        path = line.path.replace("{model}", self.model)
        if H2LOAD is not None:
            headers = line.headers(payload)
            result = _h2load(
                port, path, payload, headers, concurrency=concurrency, n=n, warmup=warmup
            )
        else:
            args = [str(port), str(payload), str(concurrency), str(n), str(warmup), path]
            args.append(json.dumps(line.headers(payload)))
            out = subprocess.run(
                [sys.executable, str(HERE), "_load", *args],
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
            )
            result = json.loads(out.stdout)
        time.sleep(SETTLE_S)  # what the server does after answering counts as its work
        # Warm-up requests are in the server's CPU time too: counted in the division.
        used = _cpu_seconds(self.process.pid) - cpu
        result["server_cpu_ms"] = used / (n + warmup // concurrency * concurrency) * 1e3
        if result["errors"]:
            raise SystemExit(f"{result['errors']} requests failed: {result['first_error']}")
        return result

    def tail(self) -> str:
        """The end of the server's log, and its exit code if it has exited."""
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")[-600:].strip()
        code = self.process.poll()
        return f"exited {code}: {text}" if code is not None else f"log: {text}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@dataclass
class Line:
    """A transport and body format, the servers that take it, and the one compared to."""

    key: str
    title: str
    path: str  # an HTTP path ({model}: the server's v2 model name), or "grpc"
    servers: tuple[str, ...]
    peer: str
    bodies: dict[tuple[str, str], Path] = field(default_factory=dict)
    extra: dict[Path, dict[str, str]] = field(default_factory=dict)

    def headers(self, payload: Path) -> dict[str, str]:
        return {"Content-Type": "application/json", **self.extra.get(payload, {})}


V2 = "/v2/models/{model}/infer"
LINES = (
    Line(
        "invocations",
        "POST /invocations, MLflow's dataframe_split JSON",
        "/invocations",
        ("alambic", "no_capture", "mlflow"),
        "mlflow",
    ),
    Line(
        "v2_json",
        "POST /v2/models/{name}/infer, v2 JSON (one FP64 tensor [n, 30])",
        V2,
        ("alambic", "no_capture", "mlserver"),
        "mlserver",
    ),
    Line(
        "v2_binary",
        "POST /v2/models/{name}/infer, binary tensor extension (tritonclient.http's body)",
        V2,
        ("alambic", "mlserver"),
        "mlserver",
    ),
    Line(
        "grpc",
        "gRPC ModelInfer, raw_input_contents (one FP64 tensor [n, 30])",
        "grpc",
        ("alambic", "mlserver"),
        "mlserver",
    ),
)


def _write_bodies(folder: Path, rows: dict[str, Any], models: dict[str, str]) -> None:
    """Each line's request bodies, per server (a gRPC body names the model)."""
    import numpy as np
    import tritonclient.http as triton_http
    from tritonclient.grpc import service_pb2

    for kind, frame in rows.items():
        array = np.ascontiguousarray(frame.to_numpy(dtype="<f8"))
        shape = list(array.shape)
        tensor = {"name": "input-0", "shape": shape, "datatype": "FP64"}
        v2_json = json.dumps({"inputs": [{**tensor, "data": array.ravel().tolist()}]}).encode()
        binary_input = triton_http.InferInput("input-0", shape, "FP64")
        binary_input.set_data_from_numpy(array, binary_data=True)
        binary, header = triton_http.InferenceServerClient.generate_request_body([binary_input])
        for line in LINES:
            for key in (*line.servers, "empty"):
                path = folder / f"{line.key}-{key}-{kind}.body"
                if line.key == "invocations":
                    path.write_bytes(body(frame))
                elif line.key == "v2_json":
                    path.write_bytes(v2_json)
                elif line.key == "v2_binary":
                    path.write_bytes(binary)
                    line.extra[path] = {
                        "Content-Type": "application/octet-stream",
                        "Inference-Header-Content-Length": str(header),
                    }
                else:
                    request = service_pb2.ModelInferRequest(model_name=models.get(key, ""))
                    request.inputs.add(**tensor)
                    request.raw_input_contents.append(array.tobytes())
                    path.write_bytes(request.SerializeToString())
                line.bodies[(key, kind)] = path


def _probe(server: Server, line: Line, payload: Path) -> str | None:
    """None if the server answers this line's one-row body, else why not."""
    data = payload.read_bytes()
    if line.path == "grpc":
        if not server.has_grpc:
            return "no gRPC port"
        import grpc

        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            try:
                channel.unary_unary(GRPC_INFER)(data, timeout=30)
            except grpc.RpcError as exc:
                return f"gRPC {exc.code().name}: {exc.details()}"
        return None
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            "POST", line.path.replace("{model}", server.model), data, line.headers(payload)
        )
        response = conn.getresponse()
        answer = response.read()
    except OSError as exc:
        return f"{exc!r}; {server.tail()}"
    finally:
        conn.close()
    return None if response.status == 200 else f"{response.status} {answer[:160]!r}"


def _servers(
    workers: int,
    peers: dict[str, Any],
    env: dict[str, str],
    mlserver_workers: int,
) -> dict[str, Server]:
    """The empty app (1 worker), alambic with and without capture, MLflow, MLServer."""
    options = ["--port", "{port}", "--workers", str(workers), "--no-access-log"]
    options += ["--log-level", "warning"]
    servers: dict[str, Server] = {}
    try:
        empty = [sys.executable, str(HERE), "_empty", "{port}", "{grpc}"]
        servers["empty"] = Server(empty, READY)
        argv = [str(ALAMBIC), "serve", "--endpoint", "bench", *options, "--grpc-port", "{grpc}"]
        servers["alambic"] = Server(argv, READY, env, model="bench")
        argv = [str(ALAMBIC), "serve", "--endpoint", "bench-no-capture", *options]
        servers["no_capture"] = Server(argv, READY, env, model="bench-no-capture")
        if peers.get("mlflow") is not None:
            script = [str(PEER_PYTHON), str(PEERS / "mlflow_serving.py"), "serve"]
            argv = [*script, peers["mlflow"]["model_dir"], "{port}", str(workers)]
            servers["mlflow"] = Server(argv, "/ping")
        if peers.get("mlserver") is not None:
            script = [str(MLSERVER_PYTHON), str(PEERS / "mlserver_serving.py"), "serve"]
            argv = [*script, peers["mlserver"]["model_dir"], "{port}", "{grpc}"]
            servers["mlserver"] = Server([*argv, str(mlserver_workers)], READY, model="bench")
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def _phase(
    servers: dict[str, Server],
    line: Line,
    phase: str,
    results: dict[str, Any],
    *,
    scale: int,
    rounds: int,
) -> None:
    """One phase of one line on each of its servers (the empty app: first phase only).

    With several rounds the servers take turns, round after round, and each keeps its
    round of highest throughput: a burst of a neighbour's work on a shared machine then
    lowers no one's figure more than another's.
    """
    n, warmup, concurrency = PHASES[phase]
    kind = "batch" if phase.startswith("batch") else "single"
    keys = [k for k in line.servers if k in servers]
    if line.key in ("invocations", "grpc") and phase == "single_c1":
        keys.insert(0, "empty")
    for _ in range(rounds):
        for key in keys:
            runs = results.setdefault(key, {})
            if not runs:
                why = _probe(servers[key], line, line.bodies[(key, "single")])
                if why is not None:
                    runs["unsupported"] = why
            if "unsupported" not in runs:
                payload = line.bodies[(key, kind)]
                run = servers[key].load(line, payload, concurrency, n // scale, warmup // scale)
                if phase not in runs or run["rps"] > runs[phase]["rps"]:
                    runs[phase] = run


def _quiet(servers: dict[str, Server], limit_s: float = 90.0) -> None:
    """Wait until no server is still warming up (loading models, compiling, starting its
    workers): together, under 5% of a core over half a second; at most ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = sum(_cpu_seconds(s.process.pid) for s in servers.values())
        time.sleep(0.5)
        if sum(_cpu_seconds(s.process.pid) for s in servers.values()) - before < 0.025:
            return
    print(f"note: the servers were still busy after {limit_s:.0f} s; measuring anyway")


def _measure(servers: dict[str, Server], scale: int, rounds: int = 1) -> dict[str, dict[str, Any]]:
    """Each phase on every line and server in turn, so a neighbour's load shifts them alike.

    A server that does not answer a line's one-row body is marked unsupported there.
    """
    results: dict[str, dict[str, Any]] = {line.key: {} for line in LINES}
    try:
        _quiet(servers)
        for phase in PHASES:
            for line in LINES:
                _phase(servers, line, phase, results[line.key], scale=scale, rounds=rounds)
        invocations = LINES[0]
        for key in ("alambic", "no_capture", "mlflow"):
            if key in servers:
                batch = invocations.bodies[(key, "batch")].read_bytes()
                answer = _request(servers[key].port, "POST", "/invocations", batch)
                results["invocations"][key]["answer"] = answer["predictions"]
        if "mlserver" in servers:
            batch = LINES[1].bodies[("mlserver", "batch")].read_bytes()
            answer = _request(servers["mlserver"].port, "POST", "/v2/models/bench/infer", batch)
            labels = [int(p > 0.5) for p in answer["outputs"][0]["data"]]
            results["v2_json"]["mlserver"]["answer"] = labels
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


def _mlserver_model(model: Any, folder: Path) -> dict[str, Any] | None:
    if not MLSERVER_PYTHON.exists():
        return None
    model_txt = folder / "model-mlserver.txt"
    model.booster_.save_model(str(model_txt))
    out_dir = folder / "mlserver-model"
    out = subprocess.run(
        [
            str(MLSERVER_PYTHON),
            str(PEERS / "mlserver_serving.py"),
            "save",
            str(model_txt),
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    peer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    peer["model_dir"] = str(out_dir)
    return peer


# -- report ---------------------------------------------------------------------------
def _table(line: Line, runs: dict[str, Any], label: str) -> None:
    """One line's phases: alambic, alambic without capture, the peer, and the ratios."""
    ours, bare, theirs = (runs.get(k, {}) for k in ("alambic", "no_capture", line.peer))
    print(f"\n{line.title}")
    head = f"{'alambic':>9} {'no capture':>10} {label:>15} {'ratio':>6} {'(no capt.)':>10}"
    print(f"{'':42} {head}")

    def has(side: dict[str, Any], phase: str) -> bool:
        return phase in side

    def row(label: str, phase: str, key: str, unit: str, scale: float = 1.0) -> None:
        digits = 2 if unit.startswith("ms") else 0
        cells = [
            f"{r[phase][key] * scale:.{digits}f}" if has(r, phase) else "—"
            for r in (ours, bare, theirs)
        ]
        ratios = ["—", "—"]
        if has(theirs, phase):
            for i, side in enumerate((ours, bare)):
                if has(side, phase):
                    better = side[phase][key] / theirs[phase][key]
                    ratios[i] = f"{1 / better if unit.startswith('ms') else better:.1f}x"
        print(
            f"{label:42} {cells[0]:>9} {cells[1]:>10} {cells[2]:>15} {ratios[0]:>6} "
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
    for name, side in (("alambic", ours), ("no capture", bare), (label, theirs)):
        if "unsupported" in side:
            print(f"{name} does not take this line: {side['unsupported']}")
    idle = [
        f"{name} {1e3 / r['single_c1']['rps'] - r['single_c1']['server_cpu_ms']:.2f} ms"
        for name, r in (("alambic", ours), (line.peer, theirs))
        if has(r, "single_c1")
    ]
    print(f"1 row, concurrency 1: mean latency minus server CPU per request: {', '.join(idle)}")


def _report(workers: int, results: dict[str, Any], labels: dict[str, str]) -> None:
    print(f"\n{workers} worker process{'es' if workers > 1 else ''} each", end="")
    print(f" (MLServer: parallel_workers {labels['mlserver_workers']})")
    for line in LINES:
        _table(line, results[line.key], labels[line.peer])
    ours = results["invocations"]["alambic"]
    client = max(ours[p]["client_cpu_ms"] for p in ("single_c1", "single_c8"))
    if not math.isnan(client):
        print(f"client CPU per one-row request (alambic runs, /invocations): {client * 1e3:.0f} µs")


def _aims(results: dict[str, Any], floor: dict[str, float]) -> None:
    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    titles = (
        ("single_c1", "1-row throughput, concurrency 1"),
        ("single_c8", "1-row throughput, concurrency 8"),
        ("batch_c1", f"{BATCH_ROWS:,}-row throughput"),
    )
    runs = results["invocations"]
    ours, bare, theirs = runs["alambic"], runs["no_capture"], runs.get("mlflow")
    if theirs is not None:
        for (phase, title), aim in zip(titles, (10, 10, 3), strict=True):
            ratio = ours[phase]["rps"] / theirs[phase]["rps"]
            off = bare[phase]["rps"] / theirs[phase]["rps"]
            print(
                f"aim: {title} >= {aim}x MLflow: {ratio:.2f}x, {verdict(ratio >= aim)}"
                f" (capture off: {off:.2f}x, {verdict(off >= aim)})"
            )
    for line in LINES[1:]:
        ours, theirs = results[line.key].get("alambic"), results[line.key].get("mlserver")
        if ours is None or theirs is None or "unsupported" in ours:
            continue
        if "unsupported" in theirs:
            print(f"aim: {line.key} >= 2x MLServer: MLServer does not take it")
            continue
        for phase, title in titles:
            ratio = ours[phase]["rps"] / theirs[phase]["rps"]
            print(f"aim: {line.key} {title} >= 2x MLServer: {ratio:.2f}x, {verdict(ratio >= 2)}")
    rest, grpc = results["v2_json"]["alambic"], results["grpc"].get("alambic", {})
    if "single_c1" in grpc:
        a, b = grpc["single_c1"]["p50_ms"], rest["single_c1"]["p50_ms"]
        print(f"aim: gRPC 1-row p50 <= REST v2 JSON's: {a:.2f} vs {b:.2f} ms, {verdict(a <= b)}")
    _grpc_ceiling(results, floor)
    p50 = results["invocations"]["alambic"]["single_c1"]["p50_ms"]
    for model, key in (
        ("predict_proba on an array", "array_us"),
        ("booster.predict", "booster_us"),
    ):
        base = (floor[key] + floor["empty_us"]) / 1e3
        print(
            f"aim: p50 at concurrency 1 within 0.2 ms of the floor ({model} + empty round trip):"
            f" {p50:.2f} - {base:.2f} = {p50 - base:.2f} ms, {verdict(p50 - base <= 0.2)}"
        )


def _grpc_ceiling(results: dict[str, Any], floor: dict[str, float]) -> None:
    """What grpcio allows at all: a ModelInfer that does nothing, on the same loop."""
    rest = results["v2_json"]["alambic"].get("single_c1")
    peer = results["grpc"].get("mlserver", {}).get("single_c1")
    if "empty_grpc_rps" in floor and peer is not None and rest is not None:
        print(
            "ceiling: an empty grpc.aio ModelInfer, concurrency 1: "
            f"{floor['empty_grpc_rps']:.0f} req/s ({floor['empty_grpc_rps'] / peer['rps']:.2f}x"
            f" MLServer's whole gRPC), p50 {floor['empty_grpc_us'] / 1e3:.2f} ms (alambic's"
            f" whole REST v2 JSON p50: {rest['p50_ms']:.2f} ms)"
        )


def _agree(results: dict[str, Any], model: Any, rows: Any) -> str:
    expected = model.predict(rows).tolist()
    answers = {
        k: r["answer"] for runs in results.values() for k, r in runs.items() if "answer" in r
    }
    wrong = [name for name, got in answers.items() if got != expected]
    checked = ", ".join(answers)
    return f"yes ({checked})" if not wrong else f"NO: {', '.join(wrong)} differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the requests")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="e.g. 1 2")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each phase this many times, servers taking turns; each keeps its best",
    )
    parser.add_argument(
        "--mlserver-workers",
        type=int,
        default=None,
        help="MLServer's parallel_workers (default: 0 for 1 worker, else --workers)",
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    load_before = os.getloadavg()[0]

    features, target = training_data()
    model = fit(features, target)
    rows = request_rows(features)
    floor = _bare(model, rows["single"], 5000 // scale)
    folder = Path(tempfile.mkdtemp(prefix="alambic-bench-serving-"))
    try:
        models = {"alambic": "bench", "no_capture": "bench-no-capture", "mlserver": "bench"}
        _write_bodies(folder, rows, models)
        peers = {"mlflow": _peer_model(model, folder), "mlserver": _mlserver_model(model, folder)}
        env = _alambic_home(model, features, target, folder / "alambic-home")

        runs = []
        for workers in args.workers:
            # 1 worker: inference in MLServer's one process (parallel_workers 0), as the
            # others; its fastest (parallel_workers 1 adds a process and an IPC hop per
            # request: about half the one-row throughput here). N: N inference workers.
            mlserver_workers = args.mlserver_workers
            if mlserver_workers is None:
                mlserver_workers = 0 if workers == 1 else workers
            servers = _servers(workers, peers, env, mlserver_workers)
            measured = _measure(servers, scale, args.rounds)
            us = {}
            for key, name in (("invocations", "empty"), ("grpc", "empty_grpc")):
                empty = measured[key].pop("empty", {}).get("single_c1")
                if empty is not None:
                    us[f"{name}_us"] = empty["p50_ms"] * 1e3
                    us[f"{name}_cpu_us"] = empty["server_cpu_ms"] * 1e3
                    us[f"{name}_rps"] = empty["rps"]
            runs.append((workers, mlserver_workers, measured, {**floor, **us}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()[0]

    trees = PARAMS["n_estimators"]
    print(
        f"serving: LightGBM classifier ({trees} trees, {features.shape[1]} float columns, "
        "breast cancer) on 127.0.0.1, over REST (/invocations, v2 JSON, v2 binary) and gRPC"
    )
    print(
        f"client: {CLIENT}, closed loop; requests per phase "
        f"{', '.join(f'{k} {v[0] // scale}' for k, v in PHASES.items())}"
        + (f"; best of {args.rounds} rounds, servers taking turns" if args.rounds > 1 else "")
    )
    labels = {"mlflow": "mlflow", "mlserver": "mlserver"}
    for tool, venv in (("mlflow", ".venv-peers"), ("mlserver", ".venv-mlserver")):
        peer = peers[tool]
        if peer is None:
            print(f"{tool} not installed: run `make bench-setup` to compare")
            continue
        labels[tool] = f"{tool} {peer['version']}"
        same = "same trees" if peer["same_trees"] else "DIFFERENT trees"
        print(f"{tool} {peer['version']}, lightgbm {peer['lightgbm']} in {venv}: {same}")
    for workers, mlserver_workers, measured, floor in runs:
        _report(workers, measured, {**labels, "mlserver_workers": str(mlserver_workers)})
        agree = _agree(measured, model, rows["batch"])
        print(f"same labels as the bare model on the {BATCH_ROWS:,}-row body: {agree}")
        print("floor (p50):")
        print(f"  bare predict_proba, one row as a DataFrame: {floor['frame_us']:6.0f} µs")
        print(f"  bare predict_proba, one row as an array:    {floor['array_us']:6.0f} µs")
        print(f"  bare booster.predict, one row as an array:  {floor['booster_us']:6.0f} µs")
        print(f"  empty Starlette app (1 worker), round trip: {floor['empty_us']:6.0f} µs", end="")
        print(f" (server CPU {floor['empty_cpu_us']:.0f} µs per request)")
        if "empty_grpc_us" in floor:
            print(
                f"  empty grpc.aio ModelInfer, round trip:      {floor['empty_grpc_us']:6.0f} µs",
                end="",
            )
            print(f" (server CPU {floor['empty_grpc_cpu_us']:.0f} µs per request)")
        _aims(measured, floor)
    load = f"{load_before:.1f} before, {load_after:.1f} after"
    print(f"load average (1 min) on {os.cpu_count()} cores: {load}; other work skews the figures")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_load"]:
        port, payload, concurrency, n, warmup, path, headers = sys.argv[2:]
        data = Path(payload).read_bytes()
        args = (int(port), data, int(concurrency), int(n), int(warmup))
        result = _load(*args, path=path, headers=json.loads(headers))
        print(json.dumps(result))
    elif sys.argv[1:2] == ["_empty"]:
        _empty_app(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
