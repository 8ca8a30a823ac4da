"""What every route answers with: JSON, request ids, the access log, error answers.

Every answer, errors included, is JSON and carries a request id: the caller's
``x-request-id`` when it fits a header and a log line, a new one otherwise. A bad
request is a :class:`RequestError` that :func:`fail` turns into a 4xx naming the field
and what was expected; a bug is answered 500 by :func:`crash` and logged whole. Both
count in the metrics and write one access-log line, as a success does.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from alambic.serving._metrics import Metrics
from alambic.serving._predictor import RequestError
from alambic.serving._protocols import dumps, mlflow_error_code
from alambic.serving._state import Deployment, ServerState

__all__ = [
    "INLINE_BYTES",
    "Context",
    "Origin",
    "crash",
    "crash_response",
    "crashed",
    "error_response",
    "fail",
    "failed",
    "guarded",
    "json_response",
    "log_access",
    "not_found",
    "origin_of",
    "protocol_of",
    "read_body",
    "request_id",
    "safe_id",
]

log = logging.getLogger(__name__)
access = logging.getLogger("alambic.serving.access")
INLINE_BYTES = 16 * 1024  # larger bodies are parsed and scored in a thread

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any], Awaitable[Response]]  # (request, deployment or None)


@dataclass(frozen=True, slots=True)
class Context:
    """What is known of a request when it fails: its metric labels, its log fields.

    Attributes:
        request_id: the id the answer carries.
        started: ``time.perf_counter()`` at its arrival.
        endpoint: the endpoint's name, ``"-"`` when none is served by that name (an
            unknown name makes no metric series).
        variant: the variant chosen, ``"-"`` before one is.
        protocol: ``"v2"``, ``"mlflow"``, ``"meta"``, ``"admin"`` or ``"-"``.
        token: the caller's token record, once checked.
    """

    request_id: str
    started: float
    endpoint: str = "-"
    variant: str = "-"
    protocol: str = "-"
    token: Any = None


class Origin(NamedTuple):
    """Where a request came from, for the access log, whatever its transport.

    Attributes:
        method: ``POST`` (over gRPC too: every call is a POST).
        path: the route, or the gRPC method (``/inference.GRPCInferenceService/ModelInfer``).
        client: the caller's address, when known.
    """

    method: str
    path: str
    client: str | None = None


def origin_of(request: Request) -> Origin:
    """The :class:`Origin` of an HTTP request."""
    client = request.client
    return Origin(request.method, request.url.path, None if client is None else client.host)


def safe_id(text: str) -> bool:
    """An id that fits an HTTP header and a log line: 1-100 printable ASCII characters."""
    return 0 < len(text) <= 100 and all(" " <= c <= "~" for c in text)


def new_request_id() -> str:
    """32 random hex digits, as ``uuid4().hex`` has (a fifth of its cost: no UUID object).

    Example:
        >>> len(new_request_id()), new_request_id() != new_request_id()
        (32, True)
    """
    return os.urandom(16).hex()


def request_id(headers: Mapping[str, str]) -> str:
    """The caller's ``x-request-id`` (HTTP headers or gRPC metadata) if it is safe to
    echo, else a new one."""
    given = headers.get("x-request-id", "")
    return given if safe_id(given) else new_request_id()


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    """``body`` as JSON (written by orjson, as every answer is)."""
    return Response(dumps(body), status, headers, "application/json", background)


def log_access(request: Request | Origin, status: int, started: float, **fields: Any) -> None:
    """One JSON line on ``alambic.serving.access`` (when that logger is on)."""
    if access.isEnabledFor(logging.INFO):
        origin = request if isinstance(request, Origin) else origin_of(request)
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": origin.method,
            "path": origin.path,
            "client": origin.client,
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            **fields,
        }
        access.info(dumps(line).decode())


def failed(
    origin: Request | Origin, metrics: Metrics, error: RequestError, context: Context
) -> None:
    """Count a bad request and write its access-log line (any transport)."""
    metrics.count(context.endpoint, context.variant, context.protocol, str(error.status))
    token = context.token
    log_access(
        origin,
        error.status,
        context.started,
        request_id=context.request_id,
        endpoint=context.endpoint,
        protocol=context.protocol,
        token=None if token is None else token.id,
        error=str(error)[:200],
    )


def crashed(origin: Request | Origin, metrics: Metrics, context: Context) -> None:
    """Log a bug whole, count it and write its access-log line (any transport)."""
    rid, endpoint = context.request_id, context.endpoint
    log.exception("request %s on %s failed", rid, endpoint)
    metrics.count(endpoint, context.variant, context.protocol, "500")
    log_access(origin, 500, context.started, request_id=rid, endpoint=endpoint)


def fail(request: Request, error: RequestError, context: Context) -> Response:
    """The JSON answer to a bad request (MLflow's error fields too on its routes)."""
    failed(request, request.app.state.metrics, error, context)
    return error_response(error, context)


def error_response(error: RequestError, context: Context) -> Response:
    """A bad request's JSON answer, already counted and logged (see :func:`failed`)."""
    status, protocol = error.status, context.protocol
    body = {**error.to_dict(), "request_id": context.request_id}
    if protocol == "mlflow":  # MLflow clients read error_code and message
        body.update(error_code=mlflow_error_code(status), message=str(error))
    headers = {"x-request-id": context.request_id}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="alambic"'
    elif error.field == "authorization":  # RFC 6750: a malformed credential
        headers["www-authenticate"] = 'Bearer realm="alambic", error="invalid_request"'
    return json_response(body, status, headers)


def crash(request: Request, context: Context) -> Response:
    """A bug, never a bad request: logged whole, answered 500 in JSON."""
    crashed(request, request.app.state.metrics, context)
    return crash_response(context)


def crash_response(context: Context) -> Response:
    """A bug's JSON answer (500), already logged and counted (see :func:`crashed`)."""
    rid = context.request_id
    return json_response(
        {"error": "internal error; see the server's log", "request_id": rid},
        500,
        {"x-request-id": rid},
    )


async def not_found(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405 (no route, wrong method), answered like any error."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    elif status == 404:
        message = (
            f"no route {request.url.path}; see /v2/models/{{name}}/infer, /invocations, "
            "/endpoints/{name}/invocations, /v2/health/ready, /metrics"
        )
    else:
        message = str(getattr(exc, "detail", exc))
    path = request.url.path
    context = Context(request_id(request.headers), time.perf_counter(), protocol=protocol_of(path))
    return fail(request, RequestError(message, status=status), context)


def protocol_of(path: str) -> str:
    """``"mlflow"`` for MLflow's scoring routes (their errors carry ``error_code`` and
    ``message``), else ``"-"``: what a route's errors look like before any handler runs."""
    mlflow = path == "/invocations" or (
        path.startswith("/endpoints/") and path.endswith("/invocations")
    )
    return "mlflow" if mlflow else "-"


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with a 413 as soon as it is over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            f"the body is {declared} bytes; this endpoint accepts at most {limit}",
            status=413,
            expected=f"at most {limit} bytes",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                f"the body is over {limit} bytes, the most this endpoint accepts",
                status=413,
                expected=f"at most {limit} bytes",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def guarded(
    *, admin: bool = False, endpoint_param: bool = False, token_always: bool = False
) -> Callable[[Handler], Endpoint]:
    """A route that checks its endpoint and token first, and answers errors in JSON.

    The handler is called with the request and the deployment its ``{name}`` names (None
    when there is none): it raises :class:`RequestError` for a bad request.

    Args:
        admin: the route needs an admin token.
        endpoint_param: the route's ``{name}`` must be a served endpoint (else 404).
        token_always: a token even on a public endpoint.
    """
    protocol = "admin" if admin else "meta"

    def decorate(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def route(request: Request) -> Response:
            started = time.perf_counter()
            rid = request_id(request.headers)
            name = request.path_params.get("name")
            state: ServerState = request.app.state.alambic
            deployment = state.deployments.get(name) if name else None
            token = None
            try:
                if endpoint_param and deployment is None:
                    raise RequestError(f"no endpoint {name!r} is served here", status=404)
                if admin or token_always or _private(deployment):
                    token = await state.authorize(request, endpoint=name, admin=admin)
                response = await handler(request, deployment)
            except RequestError as exc:
                label = str(name) if deployment is not None else "-"
                context = Context(rid, started, label, protocol=protocol, token=token)
                return fail(request, exc, context)
            except Exception:
                # Only a served endpoint's name labels a metric: unknown names make no series.
                label = str(name) if deployment is not None else "-"
                return crash(request, Context(rid, started, label, protocol=protocol))
            token_id = None if token is None else token.id
            log_access(
                request,
                response.status_code,
                started,
                request_id=rid,
                endpoint=name,
                token=token_id,
            )
            return response

        return route

    return decorate


def _private(deployment: Deployment | None) -> bool:
    return deployment is None or not deployment.endpoint.public
