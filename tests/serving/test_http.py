"""The HTTP protocols `alambic serve` gives uvicorn: an answer's head and body in one write."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.serving._http import JSONH11Protocol, OneWrite, http_protocol
from tests.serving.helpers import V2_ROW

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Sink:
    """A transport that records what is written to it."""

    def __init__(self, inner: Any = None) -> None:
        self.inner, self.closed = inner, False
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        if self.inner is not None:
            self.inner.write(data)

    def close(self) -> None:
        self.closed = True
        if self.inner is not None:
            self.inner.close()

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    loop = asyncio.new_event_loop()
    sink = Sink()
    transport = OneWrite(sink, loop)  # type: ignore[arg-type]
    transport.write(HEAD)
    assert sink.writes == []
    transport.write(b"{}")
    assert sink.writes == [HEAD + b"{}"]
    loop.run_until_complete(asyncio.sleep(0))  # the flush it had planned does nothing
    assert sink.writes == [HEAD + b"{}"]
    loop.close()


def test_a_head_with_no_body_goes_out_on_the_loops_next_turn() -> None:
    loop = asyncio.new_event_loop()
    sink = Sink()
    transport = OneWrite(sink, loop)  # type: ignore[arg-type]
    transport.write(HEAD)  # the answer to a HEAD request: no body follows
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == [HEAD]
    loop.close()


@pytest.mark.parametrize("end", ["close", "write_eof"])
def test_closing_writes_a_held_head_first(end: str) -> None:
    loop = asyncio.new_event_loop()
    sink = Sink()
    transport = OneWrite(sink, loop)  # type: ignore[arg-type]
    transport.write(HEAD)
    getattr(transport, end)()
    assert sink.writes[0] == HEAD
    assert sink.closed == (end == "close")
    loop.close()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.binary(max_size=12), st.binary(max_size=8).map(lambda b: HEAD + b)),
            st.booleans(),  # then let the loop turn
        ),
        max_size=12,
    )
)
def test_bytes_leave_in_the_order_they_were_written(chunks: list[tuple[bytes, bool]]) -> None:
    loop = asyncio.new_event_loop()
    sink = Sink()
    transport = OneWrite(sink, loop)  # type: ignore[arg-type]
    for data, turn in chunks:
        transport.write(data)
        if turn:
            loop.run_until_complete(asyncio.sleep(0))
    transport.writelines([b"a", b"b"])
    transport.close()
    assert b"".join(sink.writes) == b"".join(data for data, _ in chunks) + b"ab"
    loop.close()


def _exchange(port: int, requests: list[bytes]) -> bytes:
    """Send requests on one keep-alive connection; read until the server closes it."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("parser", [JSONH11Protocol, http_protocol()], ids=["h11", "default"])
def test_served_answers_are_one_write_each_and_head_requests_are_answered(
    parser: Any, toy: Any, serve_app: Any
) -> None:
    writes: list[list[bytes]] = []

    class Counted(parser):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            sink = Sink(transport)
            writes.append(sink.writes)
            super().connection_made(sink)

    body = json.dumps({"inputs": V2_ROW}).encode()
    post = (
        b"POST /v2/models/toy/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    head = b"HEAD /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    close = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with serve_app(["toy"], http=Counted) as (url, _):
        received = _exchange(int(url.rsplit(":", 1)[1]), [post, head, post, close])
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [a.split(b" ", 1)[0] for a in answers] == [b"200"] * 4, received[:500]
    assert b'"outputs"' in answers[0] and b'"outputs"' in answers[2]
    connection = writes[-1]
    scored = [w for w in connection if w.startswith(b"HTTP/1.1 200") and b'"outputs"' in w]
    assert len(scored) == 2  # head and body of each scoring answer in one write
    assert b"".join(connection) == received
