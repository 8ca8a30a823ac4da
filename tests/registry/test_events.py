"""Registry events: hooks and signed webhooks, retried with backoff when the target is down."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

import alambic as al
from alambic import registry
from alambic.core import _delivery
from alambic.errors import RegistryError
from alambic.registry import _events
from tests.registry.helpers import model


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_webhooks_are_signed_and_hooks_called(
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    seen: list[dict[str, Any]] = []
    registry.on("version_approved", seen.append)
    try:
        registry.set_policy("hooked", webhooks=[{"url": url, "secret": "s3cret"}])
        al.register(model(1), name="hooked")
        registry.approve("hooked", 1)
    finally:
        _events._hooks.clear()
    types = [h["X-Alambic-Event"] for h, _ in received]
    assert types == ["version_registered", "version_approved"]
    for headers, body in received:
        assert headers["X-Alambic-Signature"] == registry.sign(body, "s3cret")
        assert json.loads(body)["group"] == "hooked"
    assert [e["version"] for e in seen] == [1]
    events = registry.registry_store().events("hooked")
    assert {e.status for e in events} == {"delivered"}


def test_a_down_target_is_retried_and_its_failure_recorded(
    monkeypatch: pytest.MonkeyPatch, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    monkeypatch.setattr(_delivery, "BASE_DELAY", 0.2)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    registry.set_policy("flaky", webhooks=[{"url": down}])
    version = al.register(model(1), name="flaky")  # the registry operation succeeds
    assert version["version"] == 1
    (event,) = registry.registry_store().events("flaky")
    assert event.status == "pending" and event.attempts == 1
    assert "Connection refused" in event.outcome[0]["results"][down]
    assert event.next_attempt_at is not None
    assert registry.deliver_events() == 0  # not due yet: backoff
    # The target comes back (the policy now points at a live receiver): the retry lands.
    url, received = receiver
    registry.set_policy("flaky", webhooks=[{"url": url}])
    time.sleep(0.25)
    assert registry.deliver_events() == 1
    (event,) = registry.registry_store().events("flaky")
    assert event.status == "delivered" and event.attempts == 2
    assert len(received) == 1


def test_events_give_up_after_the_last_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_delivery, "BASE_DELAY", 0.0)
    monkeypatch.setattr(_delivery, "MAX_ATTEMPTS", 3)
    registry.set_policy("gone", webhooks=[{"url": "http://127.0.0.1:9/never"}])
    al.register(model(1), name="gone")
    registry.deliver_events()
    registry.deliver_events()
    (event,) = registry.registry_store().events("gone")
    assert event.status == "failed" and event.attempts == 3 and len(event.outcome) == 3


def test_bad_hooks_and_webhooks_are_refused() -> None:
    with pytest.raises(RegistryError, match="unknown event"):
        registry.on("approved", print)
    with pytest.raises(RegistryError, match="needs an http"):
        registry.set_policy("x", webhooks=[{"url": "file:///etc/passwd"}])


def test_without_webhooks_events_are_recorded_not_queued() -> None:
    al.register(model(1), name="quiet")
    (event,) = registry.registry_store().events("quiet")
    assert event.type == "version_registered" and event.status == "recorded"
    assert registry.registry_store().due_events() == []


def test_hooks_get_every_event_and_a_failing_hook_is_recorded_and_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_delivery, "BASE_DELAY", 0.0)
    calls: list[str] = []

    def flaky_deploy(event: dict[str, Any]) -> None:
        calls.append(event["type"])
        if len(calls) == 1:
            raise RuntimeError("deployer busy")

    registry.on("*", flaky_deploy)
    try:
        al.register(model(1), name="hooked-only")  # no webhooks: the hook alone listens
        (event,) = registry.registry_store().events("hooked-only")
        assert event.status == "pending"
        assert "RuntimeError: deployer busy" in str(event.outcome[0]["results"])
        registry.deliver_events()  # the retry reaches the hook again
    finally:
        _events._hooks.clear()
    (event,) = registry.registry_store().events("hooked-only")
    assert event.status == "delivered" and event.attempts == 2
    assert calls == ["version_registered", "version_registered"]
