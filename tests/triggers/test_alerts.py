"""Alerts: raised once per failure, delivered to real HTTP receivers (signed JSON, Slack's
body), retried with backoff when a receiver fails, every attempt recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import alambic as al
from alambic.core import _delivery, utcnow
from alambic.errors import TriggerError
from alambic.triggers import (
    Scheduler,
    add_alert_target,
    create_trigger,
    deliver_alerts,
    list_alerts,
    raise_alert,
    schedule,
    triggers_store,
)
from tests.helpers import wait_until


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]
    failing: set[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(500 if self.path in self.failing else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A real HTTP server on 127.0.0.1 that records what is posted to it."""
    handler = type("Handler", (_Receiver,), {"received": [], "failing": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def test_an_alert_is_delivered_signed_to_a_webhook_and_as_text_to_slack(
    receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_SECRET", "k3y")
    add_alert_target("ops", url=f"{receiver.url}/ops", secret_env="OPS_SECRET")  # noqa: S106
    add_alert_target("chat", url=f"{receiver.url}/chat", kind="slack", types=["run.failed"])
    assert raise_alert("run.failed", "fraud", "run r1 failed: boom", key="run:r1")
    assert not raise_alert("run.failed", "fraud", "run r1 failed: boom", key="run:r1")
    assert raise_alert("monitor.alert", "fraud-health", "drifted", key="monitor:m1")
    assert deliver_alerts() == 2
    posted = {(path, json.loads(body).get("type") or json.loads(body)["text"][:18])
              for path, _, body in receiver.received}  # fmt: skip
    assert posted == {("/ops", "run.failed"), ("/ops", "monitor.alert"),
                      ("/chat", "[alambic] run.fail")}  # fmt: skip
    for path, headers, body in receiver.received:
        if path == "/ops":
            expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
            assert headers["X-Alambic-Signature"] == expected
    assert all(a.status == "delivered" for a in list_alerts())


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_recorded(
    receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_delivery, "BASE_DELAY", 0.0)
    monkeypatch.setattr(_delivery, "MAX_ATTEMPTS", 3)
    add_alert_target("ok", url=f"{receiver.url}/ok")
    add_alert_target("down", url=f"{receiver.url}/down")
    receiver.failing.add("/down")
    raise_alert("run.failed", "fraud", "boom", key="run:r2")
    for _ in range(3):
        deliver_alerts()
    (alert,) = list_alerts()
    assert alert.status == "failed" and alert.attempts == 3
    assert sorted(alert.outcome[0]["results"]) == [f"{receiver.url}/down", f"{receiver.url}/ok"]
    assert all("HTTPError" in o["results"][f"{receiver.url}/down"] for o in alert.outcome)
    oks = [p for p, _, _ in receiver.received if p == "/ok"]
    assert len(oks) == 1  # a target that took it is not sent it again


def test_alert_targets_are_checked() -> None:
    with pytest.raises(TriggerError, match="not an http"):
        add_alert_target("x", url="ftp://example.com")
    with pytest.raises(TriggerError, match="unknown alert types"):
        add_alert_target("x", url="https://example.com", types=["run.exploded"])


def test_a_schedule_that_cannot_fire_and_a_failed_run_raise_alerts(
    tmp_path: Path, adder: str
) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text((Path(__file__).parent / "flows.py").read_text())
    fragile = schedule("fragile", f"{flow}:adder", every="1h")
    odd = schedule("odd", adder, every="1h", params={"tag": "{{ fire_time }}"})
    flow.write_text("raise ImportError('gone')\n")
    store = triggers_store()  # a template that no longer renders: the fire cannot start
    store.change_schedule("odd", actor="test", action="edit", values={
        "target": {**odd.target, "params": {"tag": "{{ fire_time - soon }}"}}})  # fmt: skip
    scheduler = Scheduler(store, identity="test")
    assert fragile.next_fire_at is not None and odd.next_fire_at is not None
    scheduler.step(now=max(fragile.next_fire_at, odd.next_fire_at))
    since = utcnow() - timedelta(minutes=1)
    (fire,) = al.triggers.schedule_history("fragile")
    wait_until(lambda: al.get_run(str(fire.run_id)).record.finished)
    cancelled = al.submit(al.pipelines.load_pipeline(adder), params={"a": 1})
    al.cancel(cancelled.id)  # a cancelled run is no failure
    wait_until(lambda: al.get_run(cancelled.id).record.finished)
    scheduler.alert_step(since)
    kinds = {(a.type, a.subject) for a in list_alerts()}
    assert kinds == {("schedule.failed", "odd"), ("run.failed", "adder")}
    (failed,) = [a for a in list_alerts() if a.type == "run.failed"]
    assert "gone" in failed.message and failed.details["run"] == fire.run_id


def test_a_capped_trigger_raises_an_alert(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("x\n1\n")
    create_trigger("fresh", on="data", sources={"rows": str(data)}, every="1s",
                   run=f"{Path(__file__).parent / 'flows.py'}:adder", daily_cap=1)  # fmt: skip
    scheduler = Scheduler(triggers_store(), identity="test")
    for rows in ("x\n1\n2\n", "x\n1\n2\n3\n"):
        data.write_text(rows)
        wait_until(lambda: scheduler.step().events == 1, 10)
    capped = [a for a in list_alerts() if a.type == "trigger.capped"]
    assert len(capped) == 1 and "daily cap (1)" in capped[0].message
    runs = [e.run_id for e in al.triggers.trigger_history("fresh") if e.run_id]
    wait_until(lambda: all(al.get_run(r).record.finished for r in runs))
