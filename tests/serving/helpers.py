"""Helpers of the serving tests: the toy model and its requests, servers to run it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import alambic as al
from alambic.models import package
from tests.helpers import command_server, free_port

COLUMNS = ["price", "year", "brand"]
ROW = [120.0, 2010, "bmw"]
V2_ROW = [
    {"name": c, "shape": [1], "datatype": t, "data": [v]}
    for c, t, v in zip(COLUMNS, ["FP64", "INT64", "BYTES"], ROW, strict=True)
]


def split(rows: list[list[Any]]) -> dict[str, Any]:
    """An MLflow ``dataframe_split`` body of the toy model's columns."""
    return {"dataframe_split": {"columns": COLUMNS, "data": rows}}


def toy_frame(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "price": rng.normal(100, 20, n),
            "year": rng.integers(2000, 2024, n),
            "brand": pd.Categorical(rng.choice(["alpine", "bmw", "citroen"], n)),
        }
    )
    target = pd.Series(((frame.price > 100) ^ (frame.brand == "bmw")).astype(int))
    return frame, target


def lgbm(n_estimators: int = 10, seed: int = 0) -> Any:
    import lightgbm as lgb

    frame, target = toy_frame(seed=seed)
    estimator = lgb.LGBMClassifier(n_estimators=n_estimators, verbose=-1, random_state=seed)
    return package(estimator.fit(frame, target), frame, target)


def register_live(model: Any, name: str = "toy", alias: str | None = "production") -> int:
    """Register, approve and (optionally) give an alias; returns the version."""
    version = int(al.register(model, name)["version"])
    al.registry.approve(name, version, comment="test")
    if alias:
        al.registry.promote(name, version, to=alias)
    return version


def halve(frame: Any) -> Any:
    """A project function a model can hold (skops does not trust it by default)."""
    return frame / 2


@contextmanager
def running(app: Any, *, http: Any = "auto") -> Iterator[str]:
    """A real uvicorn server in a thread of this process, on a free port.

    Args:
        app: the ASGI app.
        http: uvicorn's HTTP protocol (a name or a class, as ``uvicorn.Config`` takes).
    """
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def serving_process(
    args: list[str], home: Path, *, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``alambic serve`` in its own process (as a user runs it), stopped with SIGINT."""
    with command_server(
        "serve", args, log=home.parent / "serve.log", health="/v2/health/ready",
        env={"ALAMBIC_HOME": str(home), **(env or {})},
    ) as (url, _):  # fmt: skip
        yield url


@dataclass(frozen=True)
class RawAnswer:
    """An HTTP answer read off a socket: status, headers (names in lower case), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(url: str, head: bytes, body: bytes = b"") -> RawAnswer:
    """Send bytes as they are (no client checks the headers) and read the answer.

    Args:
        url: ``http://127.0.0.1:PORT``.
        head: the request line and headers, each line ending in CRLF, without the blank
            line that ends the head (``Content-Length`` and ``Connection: close`` are added).
        body: the body.
    """
    port = int(url.rsplit(":", 1)[1])
    request = head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):  # the server closes the connection when done
            received += chunk
    top, _, content = received.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split()[1]), headers, content)
