"""uvicorn's HTTP/1.1 parsers, answering a request they cannot parse in JSON too.

A request whose head is not valid HTTP/1.1 never reaches the app: uvicorn's parser
refuses it with a plain-text ``400 Invalid HTTP request received.`` That is what
``curl -H "Authorization: Bearer $TOKEN"`` gets when ``$TOKEN`` holds two lines (curl
sends the line break inside the header). These protocol classes answer it as the app
answers every error: JSON with a request id (and MLflow's ``error_code`` and
``message`` on the ``/invocations`` routes, or when the path is not known), counted in
``/metrics`` and written to the access log. Only the answer changes: which requests are
refused is uvicorn's parser's decision.

Both also write each answer's head and body in one ``write`` (:class:`OneWrite`): uvicorn
writes them apart, and on a keep-alive connection each write is a system call and a
wake-up of the client; merged, an answer is one of each.

``serve`` passes :func:`http_protocol` to uvicorn; an app served by hand takes it too
(``alambic.serving.http_protocol``).

Example:
    >>> import uvicorn
    >>> from alambic.serving import create_app, http_protocol
    >>> uvicorn.run(create_app(["fraud"]), port=8080, http=http_protocol())  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from alambic.serving._metrics import metrics
from alambic.serving._protocols import dumps, mlflow_error_code
from alambic.serving._responses import new_request_id, protocol_of

__all__ = ["JSONH11Protocol", "OneWrite", "bad_http_body", "http_protocol"]

access = logging.getLogger("alambic.serving.access")
MESSAGE = (
    "the request is not valid HTTP/1.1 (a header holding a line break or a control "
    "character, say); if a header comes from a shell variable, check that it holds one "
    "line: TOKEN=$(alambic tokens create NAME --quiet) holds the token alone"
)


def bad_http_body(path: str | None, request_id: str) -> dict[str, Any]:
    """The JSON error a request that is not valid HTTP gets.

    Args:
        path: the request's path, when the parser read that far (None otherwise: then the
            answer carries both shapes, ``error`` and MLflow's ``error_code`` and
            ``message``).
        request_id: the id the answer carries.

    Example:
        >>> sorted(bad_http_body("/v2/models/fraud/infer", "r1"))
        ['error', 'request_id']
        >>> sorted(bad_http_body("/invocations", "r1"))
        ['error', 'error_code', 'message', 'request_id']
    """
    body: dict[str, Any] = {"error": MESSAGE, "request_id": request_id}
    if path is None or protocol_of(path) == "mlflow":
        body.update(error_code=mlflow_error_code(400), message=MESSAGE)
    return body


def _refuse(
    transport: asyncio.Transport,
    default_headers: list[tuple[bytes, bytes]],
    client: tuple[str, int] | None,
    *,
    path: str | None = None,
    method: str | None = None,
) -> None:
    """Write the JSON 400, close the connection, count it and log it."""
    started = time.perf_counter()
    rid = new_request_id()
    content = dumps(bad_http_body(path, rid))
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(content)).encode() + b"\r\n",
        b"x-request-id: " + rid.encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    transport.write(b"".join(head) + content)
    transport.close()
    metrics().count("-", "-", "-" if path is None else protocol_of(path), "400")
    if access.isEnabledFor(logging.INFO):
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": path,
            "client": None if client is None else client[0],
            "status": 400,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": rid,
            "error": "not valid HTTP/1.1",
        }
        access.info(dumps(line).decode())


class OneWrite:
    r"""A transport that holds back a response head until the next write, to send both in one.

    A write that starts like a response head (``HTTP/1.1 ``) waits; the next write goes
    out joined to it, and if none comes before the event loop's next turn (an answer to
    ``HEAD``, a stream whose first chunk is slow), the head goes out alone then. Bytes
    leave in the order they were written either way: the test on the head only decides
    what waits. Everything else is the wrapped transport's.

    Example:
        >>> class Sink:
        ...     def __init__(self):
        ...         self.writes = []
        ...     def write(self, data):
        ...         self.writes.append(data)
        >>> sink = Sink()
        >>> loop = asyncio.new_event_loop()
        >>> transport = OneWrite(sink, loop)  # type: ignore[arg-type]
        >>> transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        >>> transport.write(b"{}")
        >>> sink.writes
        [b'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}']
        >>> loop.close()
    """

    __slots__ = ("_flush", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._flush.cancel()  # type: ignore[union-attr]
            self._transport.write(held + data)
        elif data[:9] == b"HTTP/1.1 ":
            self._held = bytes(data)
            self._flush = self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Write the head held back, if any."""
        held, self._held = self._held, None
        if held is not None:
            self._transport.write(held)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JSONH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with its answer to an unparsable request in JSON."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = OneWrite(transport, self.loop)  # type: ignore[assignment]

    def send_400_response(self, msg: str) -> None:
        # h11 refuses the head as a whole: the path is not known.
        _refuse(self.transport, self.server_state.default_headers, self.client)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without its "standard" extra
    _TOOLS: type[asyncio.Protocol] | None = None
else:

    class JSONHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, with its answer to an unparsable request in JSON."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = OneWrite(transport, self.loop)  # type: ignore[assignment]

        def send_400_response(self, msg: str) -> None:
            # The request line comes before the headers: its path is known when a header
            # is what the parser refused.
            url: bytes = getattr(self, "url", b"")
            path = url.partition(b"?")[0].decode("latin-1") or None
            method = None
            if path is not None:
                method = bytes(self.parser.get_method()).decode("latin-1")
            headers = self.server_state.default_headers
            _refuse(self.transport, headers, self.client, path=path, method=method)

    _TOOLS = JSONHttpToolsProtocol


def http_protocol() -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.run(..., http=...)``: httptools' parser when it is
    installed (as uvicorn's ``"auto"`` picks), else h11's; both answer JSON errors.

    Example:
        >>> http_protocol().__name__ in ("JSONHttpToolsProtocol", "JSONH11Protocol")
        True
    """
    return JSONH11Protocol if _TOOLS is None else _TOOLS
