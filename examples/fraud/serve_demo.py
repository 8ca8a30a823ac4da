"""Serve the fraud model over HTTP and talk to it with a plain HTTP client (urllib).

Run after the fraud pipeline (``make demo`` does): puts fraud-auto's approved version in
production, registers a small challenger (alias ``challenger``, the first time only),
creates the endpoint ``fraud`` (90% champion, 10% challenger, 5% holdout, token
required), starts ``alambic serve``, sends a few listings, shows an A/B answer and a
refused bad request, then stops the server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
from fraud_schema import FEATURES, TARGET

import alambic as al
from alambic.errors import NotFoundError

HERE = Path(__file__).parent


def champion_and_challenger() -> tuple[int, int]:
    """fraud-auto@production (the pipeline's approved version) and fraud-auto@challenger."""
    try:
        champion = al.registry.resolve("fraud-auto@production").version
    except NotFoundError:
        approved = [
            v
            for v in al.registry.registry_store().versions("fraud-auto")
            if v.status == al.registry.APPROVED and v.tags.get("role") != "challenger"
        ]
        champion = approved[-1].version
        al.registry.promote("fraud-auto", champion, to="production", comment="demo")
    try:  # the second demo reuses the challenger it trained the first time
        return champion, al.registry.resolve("fraud-auto@challenger").version
    except NotFoundError:
        pass
    return champion, train_challenger()


def train_challenger() -> int:
    """A smaller LightGBM, registered, approved and aliased ``challenger``."""
    import lightgbm

    from alambic.models import package

    rows = pd.read_parquet(HERE / "data" / "listings.parquet")
    rows = rows[rows["category"] == "auto"].sort_values("listing_id").head(20_000)
    features = rows[FEATURES].copy()
    features["brand"] = features["brand"].astype("category")
    small = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1, random_state=0)
    model = package(small.fit(features, rows[TARGET]), features, rows[TARGET])
    registered = al.register(model, "fraud-auto", tags={"role": "challenger"},
                             description="A smaller challenger for the A/B demo.")  # fmt: skip
    version = int(registered["version"])
    if registered["status"] != al.registry.APPROVED:
        al.registry.approve("fraud-auto", version, comment="A/B challenger")
    al.registry.promote("fraud-auto", version, to="challenger", comment="A/B demo")
    return version


def endpoint(challenger: int) -> str:
    del challenger  # the endpoint follows the alias, as a team's would
    variants = ["champion=fraud-auto@production:0.9", "challenger=fraud-auto@challenger:0.1"]
    try:
        al.serving.update_endpoint("fraud", variants=variants, holdout=0.05)
    except NotFoundError:
        al.serving.create_endpoint("fraud", variants=variants, holdout=0.05)
    text, _ = al.serving.create_token("serve-demo", scope="invoke", endpoints=["fraud"])
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: Any, token: str | None, caller: str = "") -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if caller:
        headers["x-caller-id"] = caller
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (127.0.0.1)
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_server(name: str = "fraud") -> tuple[subprocess.Popen[bytes], str]:
    """``alambic serve --endpoint NAME`` on a free port, once it answers ready."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
        [sys.executable, "-m", "alambic.cli", "serve", "--endpoint", name, "--port",
         str(port), "--no-access-log", "--log-level", "warning"],
        env=os.environ.copy(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise SystemExit(f"alambic serve exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/v2/health/ready", timeout=1):  # noqa: S310
                return server, base
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                server.kill()
                raise SystemExit("alambic serve did not become ready in 60 s") from None
            time.sleep(0.1)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)
    server.wait(30)


def main() -> None:
    champion, challenger = champion_and_challenger()
    token = endpoint(challenger)
    print(f"endpoint fraud: champion fraud-auto/{champion} 90%, challenger "
          f"fraud-auto/{challenger} 10%, holdout 5%")  # fmt: skip
    server, base = start_server()
    try:
        print(f"alambic serve is ready on {base}\n")
        rows = pd.read_parquet(HERE / "data" / "listings.parquet")
        sample = rows[rows["category"] == "auto"].tail(5)
        url = f"{base}/invocations"
        for listing in sample.itertuples():
            body = {"dataframe_records": [{f: getattr(listing, f) for f in FEATURES}]}
            body = json.loads(pd.Series(body).to_json())  # numpy numbers → JSON numbers
            status, answer = post(url, body, token, caller=str(listing.listing_id))
            print(f"listing {listing.listing_id}: HTTP {status} fraud probability "
                  f"{answer['probabilities'][0][1]:.3f} ← {answer['variant']} "
                  f"({answer['model']}), holdout={answer['holdout']}")  # fmt: skip
        first = {f: getattr(next(sample.itertuples()), f) for f in FEATURES}
        first = json.loads(pd.Series(first).to_json())
        for caller in range(200):  # sticky per caller: find one the split sends to B
            status, answer = post(url, {"dataframe_records": [first]}, token, f"user-{caller}")
            if answer["variant"] == "challenger":
                print(f"\nA/B: caller user-{caller} always meets the challenger:")
                print(json.dumps(answer, indent=2))
                break
        bad = {"dataframe_records": [{**first, "price": "cheap"}]}
        status, answer = post(url, bad, token)
        print(f"\na bad request (price as text) → HTTP {status}: {answer['error']}")
        status, answer = post(url, {"dataframe_records": [first]}, None)
        print(f"no token → HTTP {status}: {answer['error']}")
    finally:
        stop_server(server)
        al.serving.revoke_token(token)  # the demo's token dies with the demo
    captured = al.serving.read_capture("fraud", inputs=False)
    print(f"\nserver stopped; {len(captured)} captured rows under "
          f"{al.config.settings().artifacts}/capture/endpoint=fraud")  # fmt: skip


if __name__ == "__main__":
    main()
