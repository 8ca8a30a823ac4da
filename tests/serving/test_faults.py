"""Faults against `alambic serve` run as a user runs it: malformed floods, alias moves."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import alambic as al
from alambic.serving import create_endpoint
from tests.helpers import wait_until
from tests.serving.helpers import COLUMNS, lgbm, register_live

pytestmark = pytest.mark.slow

GOOD = {"dataframe_split": {"columns": COLUMNS, "data": [[120.0, 2010, "bmw"]]}}


def _malformed(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(
        ["type", "missing", "garbage", "huge", "v2-type", "records", "null", "v2-ragged",
         "v2-id", "int-range", "csv"]
    )  # fmt: skip
    if kind == "type":
        body = {"dataframe_split": {"columns": COLUMNS, "data": [["cheap", 2010, "bmw"]]}}
    elif kind == "missing":
        body = {"dataframe_split": {"columns": COLUMNS[:2], "data": [[1.0, 2010]]}}
    elif kind == "garbage":
        return kind, bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    elif kind == "huge":  # over the endpoint's 64 KiB limit
        return kind, b'{"dataframe_split": {"data": [' + b'[1.0, 2010, "bmw"],' * 5000 + b"]}}"
    elif kind == "v2-type":
        body = {"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": ["x"]}]}
    elif kind == "records":
        body = {"dataframe_records": [{"price": 1.0, "year": "2010", "brand": "bmw"}]}
    elif kind == "v2-ragged":
        body = {"inputs": [{"name": "price", "shape": [2], "datatype": "FP64",
                            "data": [[1.0], 2.0]}]}  # fmt: skip
    elif kind == "v2-id":  # would break the x-request-id header
        body = {"id": rng.choice(["r\u20ac", "a\nb", "x" * 101]), "inputs": []}
    elif kind == "int-range":
        body = {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 1e30, "bmw"]]}}
    elif kind == "csv":  # a CSV body announced as JSON
        return kind, b"price,year,brand\n1.0,2010,bmw\n"
    else:
        body = {"dataframe_split": {"columns": COLUMNS, "data": [[None, 2010, "bmw"]]}}
    return kind, json.dumps(body).encode()


def test_ten_thousand_requests_with_a_fifth_malformed_get_no_5xx(
    home: Path, serve_process: Any
) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True, max_body_bytes=64 * 1024)
    rng = random.Random(7)
    plan: list[tuple[str, bytes]] = []
    for _ in range(10_000):
        if rng.random() < 0.2:
            plan.append(_malformed(rng))
        else:
            plan.append(("good", json.dumps(GOOD).encode()))
    statuses: Counter[tuple[str, int]] = Counter()
    messages_missing = []
    lock = threading.Lock()

    with serve_process(["--endpoint", "toy", "--workers", "2", "--no-access-log"], home) as url:

        def send(chunk: list[tuple[str, bytes]]) -> None:
            with httpx.Client(timeout=30) as client:
                for kind, body in chunk:
                    v2 = kind.startswith("v2-")
                    route = "/v2/models/toy/infer" if v2 else "/invocations"
                    answer = client.post(url + route, content=body,
                                         headers={"content-type": "application/json"})  # fmt: skip
                    with lock:
                        statuses[(kind, answer.status_code)] += 1
                        if answer.status_code >= 400 and not answer.json().get("error"):
                            messages_missing.append((kind, answer.text))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, [plan[i::8] for i in range(8)]))
        metrics = httpx.get(f"{url}/metrics").text
        assert httpx.post(url + "/invocations", json=GOOD).status_code == 200

    assert sum(statuses.values()) == 10_000
    assert not [k for k in statuses if k[1] >= 500], statuses
    assert all(200 == s for k, s in statuses if k == "good"), statuses
    malformed = sum(n for (kind, status), n in statuses.items() if kind != "good")
    assert malformed == sum(n for (kind, status), n in statuses.items() if 400 <= status < 500)
    assert 1_800 < malformed < 2_200
    assert statuses[("huge", 413)] > 0 and statuses[("garbage", 400)] > 0
    assert not messages_missing
    # both workers' counts reach /metrics, whichever worker answered the scrape
    served = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("alambic_requests_total{") and 'status="200"' in line
    )
    assert served >= 10_000 - malformed


def test_alias_moves_under_eight_clients_fail_no_request(home: Path, serve_process: Any) -> None:
    first = register_live(lgbm(seed=0))
    second = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint("toy", variants=["toy@production"], public=True)
    expected = {f"toy/{first}", f"toy/{second}"}
    stop = threading.Event()
    answers: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()

    with serve_process(["--endpoint", "toy", "--workers", "2", "--no-access-log"], home) as url:

        def client_loop() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    try:
                        answer = client.post(f"{url}/invocations", json=GOOD)
                        model = answer.json().get("model") if answer.status_code == 200 else None
                        record = (time.monotonic(), answer.status_code, model)
                    except httpx.HTTPError as exc:
                        record = (time.monotonic(), -1, repr(exc))
                    with lock:
                        answers.append(record)

        threads = [threading.Thread(target=client_loop) for _ in range(8)]
        for thread in threads:
            thread.start()
        moves = []
        for target in (second, first, second):
            time.sleep(2.0)
            al.registry.promote("toy", target, to="production")
            moves.append(time.monotonic())
        time.sleep(4.0)
        stop.set()
        for thread in threads:
            thread.join(30)

    assert len(answers) > 500
    failures = [a for a in answers if a[1] != 200]
    assert not failures, failures[:5]
    assert {a[2] for a in answers} == expected  # every answer names its version
    settled = [a[2] for a in answers if a[0] > moves[-1] + 3.0]
    assert settled and set(settled) == {f"toy/{second}"}


def test_serve_refuses_what_it_cannot_serve(home: Path) -> None:
    import subprocess
    import sys

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "alambic.cli", "serve", *args, "--port", "1"],
            capture_output=True, text=True, timeout=60, check=False,
            env={**__import__("os").environ, "ALAMBIC_HOME": str(home)},
        )  # fmt: skip

    nothing = serve()
    assert nothing.returncode == 2 and "alambic endpoints create" in nothing.stderr
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True)
    unknown = serve("--endpoint", "nope")
    assert unknown.returncode == 2 and "no endpoint ['nope']" in unknown.stderr
    al.registry.set_alias("toy", "production", None)
    orphan = serve("--endpoint", "toy")
    assert orphan.returncode == 2 and "production" in orphan.stderr


def test_the_access_log_is_one_json_line_per_request(home: Path, serve_process: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True)
    with serve_process(["--endpoint", "toy"], home) as url:
        ok = httpx.post(f"{url}/invocations", json=GOOD, headers={"x-request-id": "req-ok"})
        bad = httpx.post(f"{url}/invocations", content=b"{", headers={"x-request-id": "req-bad"})
        assert (ok.status_code, bad.status_code) == (200, 400)
        log = next(home.parent.glob("serve-*.log"))
        wait_until(lambda: "req-bad" in log.read_text(), timeout=10)
        # one worker serves from the process that checked the models first: its metrics
        # must still be the ones /metrics reads
        assert "alambic_requests_total{" in httpx.get(f"{url}/metrics").text
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id["req-ok"]["status"] == 200 and by_id["req-ok"]["model"] == "toy/1"
    assert by_id["req-ok"]["latency_ms"] > 0 and by_id["req-ok"]["rows"] == 1
    assert by_id["req-bad"]["status"] == 400 and "JSON" in by_id["req-bad"]["error"]
    for line in (by_id["req-ok"], by_id["req-bad"]):  # who asked what, when
        assert line["method"] == "POST" and line["path"] == "/invocations"
        assert line["client"] == "127.0.0.1" and line["ts"].startswith("20")
