"""The scoring path: parse, check, predict, respond; then capture and shadows.

Both protocols, Open Inference Protocol v2 (``/v2/models/{name}/infer``) and MLflow's
``/invocations``, are a :class:`ScoringProtocol` (a parser and a responder) that
:func:`score` runs with the same authentication, traffic split, capture and shadows.
v2 bodies in JSON and in the binary tensor extension (``_binary``) parse into the same
:class:`Parsed` request; a body sent with ``Content-Encoding: gzip`` or ``deflate`` is
decompressed first, within the endpoint's body limit. Every transport hands
:func:`run` an :class:`Incoming` request and writes the answer it returns: HTTP's
:func:`score`, and gRPC's ``ModelInfer`` (``_grpc``), whose protocol turns the
protobuf message into the same :class:`Parsed` request; the token check, variant
choice, validation, metrics, capture and access log are :func:`run`'s, once.
Small requests are parsed, checked and scored on the event loop (a thread hop would
cost more than the work); larger ones in a thread, so that one big body never holds up
the others. Shadow variants score the same columns after the answer is sent (a
background task), and never answer.
"""

from __future__ import annotations

import functools
import gzip
import logging
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from alambic.serving._binary import (
    HEADER,
    binary_outputs,
    binary_payload,
    decompress,
    encode_outputs,
)
from alambic.serving._capture import Record
from alambic.serving._config import Variant
from alambic.serving._metrics import Metrics
from alambic.serving._predictor import Outputs, Predictor, RequestError
from alambic.serving._protocols import (
    columns_from_csv,
    columns_from_mlflow,
    columns_from_v2,
    dumps,
    loads,
    mlflow_body,
    requested_outputs,
    v2_body,
)
from alambic.serving._responses import (
    INLINE_BYTES,
    Context,
    Origin,
    crash_response,
    crashed,
    error_response,
    fail,
    failed,
    log_access,
    read_body,
    request_id,
    safe_id,
)
from alambic.serving._state import Deployment, ServerState

__all__ = [
    "MLFLOW",
    "V2",
    "Answered",
    "Call",
    "Incoming",
    "Parsed",
    "Refused",
    "Reply",
    "ScoringProtocol",
    "infer",
    "invocations",
    "run",
    "run_shadows",
    "score",
    "shadow_task",
    "v2_answer",
]

log = logging.getLogger(__name__)
COMPRESS_BYTES = 1024  # smaller answers are sent as they are, even to a client that accepts gzip


class Parsed(NamedTuple):
    """A request body as columns, with what its protocol adds."""

    columns: dict[str, list[Any]]
    id: str | None = None  # v2: the caller's request id
    outputs: list[str] | None = None  # v2: the outputs asked for (None: all)
    binary: frozenset[str] = frozenset()  # v2: the outputs to answer as raw tensors
    encoding: str | None = None  # v2: the Accept-Encoding chosen for the answer


class Reply(NamedTuple):
    """A response body, written: its bytes and what its headers must say of them."""

    content: bytes
    media_type: str = "application/json"
    header_length: int | None = None  # v2 binary outputs: the JSON header's length
    encoding: str | None = None  # the Content-Encoding of the content


class Call(NamedTuple):
    """One scoring request once its variant is chosen (a tuple: one per request)."""

    endpoint: str
    request_id: str
    started: float  # time.perf_counter() at its arrival
    protocol: ScoringProtocol
    token: Any  # the caller's token record (None on a public endpoint)
    deployment: Deployment
    variant: Variant
    predictor: Predictor
    holdout: bool
    size: int  # bytes of the body


# (decompressed body, request headers, predictor) -> the body as columns
Parse = Callable[[bytes, Mapping[str, str], Predictor], Parsed]
# (call, the id answered with, outputs, parsed) -> the response body
Respond = Callable[[Call, str, Outputs, Parsed], Reply]
# What scoring yields: parsed, checked columns, outputs, the id answered with, the reply
Scored = tuple[Parsed, dict[str, Any], Outputs, str, Reply]


class ScoringProtocol(NamedTuple):
    """A wire format: its name (the ``protocol`` metric label), parser and responder."""

    name: str
    parse: Parse
    respond: Respond


def _mlflow_parse(raw: bytes, headers: Mapping[str, str], predictor: Predictor) -> Parsed:
    media = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "text/csv":
        return Parsed(columns_from_csv(raw, predictor.kinds))
    try:
        payload = loads(raw)
    except RequestError:
        if media and media != "application/json" and not media.endswith("+json"):
            raise RequestError(
                f"content type {media!r} is not supported: send application/json "
                "(dataframe_split, dataframe_records, instances or inputs) or text/csv",
                status=415,
                expected=["application/json", "text/csv"],
            ) from None
        raise
    return Parsed(columns_from_mlflow(payload, predictor.columns, numeric=predictor.stackable))


def _v2_parse(raw: bytes, headers: Mapping[str, str], predictor: Predictor) -> Parsed:
    header_length = headers.get(HEADER)
    payload = loads(raw) if header_length is None else binary_payload(raw, header_length)
    columns = columns_from_v2(payload, predictor.kinds)
    given = payload.get("id")
    if given is not None and not (isinstance(given, str) and safe_id(given)):
        raise RequestError(
            "id must be a string of 1 to 100 printable ASCII characters",
            status=422,
            field="id",
            expected="1-100 printable ASCII characters",
        )
    available = ["predict", *(["predict_proba"] if predictor.proba else [])]
    wanted = requested_outputs(payload, available)
    binary = binary_outputs(payload, available if wanted is None else wanted)
    encoding = _accepted(headers.get("accept-encoding", ""))
    return Parsed(columns, given, wanted, binary, encoding)


def _accepted(header: str) -> str | None:
    """gzip or deflate when ``Accept-Encoding`` accepts it (gzip first), else None."""
    accepted = set()
    for item in header.lower().split(","):
        coding, _, params = item.partition(";")
        if params.strip().replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            accepted.add(coding.strip())
    return next((c for c in ("gzip", "deflate") if c in accepted), None)


def _mlflow_respond(call: Call, answered: str, outputs: Outputs, parsed: Parsed) -> Reply:
    body = mlflow_body(
        answered,
        outputs,
        variant=call.variant.name,
        ref=call.predictor.ref,
        holdout=call.holdout,
    )
    return Reply(dumps(body))


def v2_answer(call: Call, answered: str, outputs: Outputs, parsed: Parsed) -> dict[str, Any]:
    """The v2 answer of a call, as a dict: what the HTTP and gRPC front ends encode."""
    return v2_body(
        call.endpoint,
        answered,
        outputs,
        variant=call.variant.name,
        ref=call.predictor.ref,
        holdout=call.holdout,
        outputs_wanted=parsed.outputs,
    )


def _v2_respond(call: Call, answered: str, outputs: Outputs, parsed: Parsed) -> Reply:
    body = v2_answer(call, answered, outputs, parsed)
    content, length = encode_outputs(body, parsed.binary)
    media = "application/json" if length is None else "application/octet-stream"
    encoding = parsed.encoding if len(content) > COMPRESS_BYTES else None
    if encoding == "gzip":
        content = gzip.compress(content, compresslevel=1, mtime=0)
    elif encoding == "deflate":
        content = zlib.compress(content, 1)
    return Reply(content, media, length, encoding)


MLFLOW = ScoringProtocol("mlflow", _mlflow_parse, _mlflow_respond)
V2 = ScoringProtocol("v2", _v2_parse, _v2_respond)


async def invocations(request: Request) -> Response:
    """``POST /invocations`` (one endpoint served) and ``/endpoints/{name}/invocations``."""
    shared = request.app.state
    state: ServerState = shared.alambic
    name = request.path_params.get("name")
    if name is None:
        served = list(state.deployments)  # one snapshot: a swap may come at any await
        if len(served) != 1:
            error = RequestError(
                "this server serves several endpoints: POST /endpoints/{name}/invocations "
                "(GET /admin/endpoints lists them)",
                status=404,
            )
            context = Context(request_id(request.headers), time.perf_counter(), protocol="mlflow")
            return fail(request, error, context)
        name = served[0]
    return await score(request, name, MLFLOW, state=state, metrics=shared.metrics)


async def infer(request: Request) -> Response:
    """``POST /v2/models/{name}[/versions/{version}]/infer``."""
    params, shared = request.path_params, request.app.state
    return await score(
        request,
        params["name"],
        V2,
        version=params.get("version"),
        state=shared.alambic,
        metrics=shared.metrics,
    )


async def score(
    request: Request,
    name: str,
    protocol: ScoringProtocol,
    *,
    version: str | None = None,
    state: ServerState,
    metrics: Metrics,
) -> Response:
    """Score an HTTP request to endpoint ``name`` (at one of its versions, or by weight).

    Every answer is JSON (the protocol's body, or an error that names what to fix), but
    for v2 outputs asked for in binary: then a JSON header, ``Inference-Header-Content-
    Length`` bytes long, and the raw tensors after it. A v2 answer over 1 KiB is
    compressed when the request's ``Accept-Encoding`` takes gzip or deflate.

    Args:
        request: the request.
        name: the endpoint.
        protocol: how the body is read and the answer written.
        version: the version asked for (None: a variant by weight).
        state: ``request.app.state.alambic``, the :class:`ServerState`.
        metrics: ``request.app.state.metrics`` (both read once per request).
    """
    headers = request.headers
    incoming = Incoming(
        request,
        request_id(request.headers),
        headers,
        headers.getlist("authorization"),
        functools.partial(read_body, request),
    )
    outcome = await run(incoming, name, protocol, version=version, state=state, metrics=metrics)
    if isinstance(outcome, Refused):
        if outcome.error is None:
            return crash_response(outcome.context)
        return error_response(outcome.error, outcome.context)
    call, (_parsed, _checked, _outputs, rid, reply) = outcome.call, outcome.scored
    answer_headers = {
        "x-request-id": rid,
        "x-alambic-variant": call.variant.name,
        "x-alambic-model": call.predictor.ref,
    }
    if reply.header_length is not None:
        answer_headers["inference-header-content-length"] = str(reply.header_length)
    if reply.encoding is not None:
        answer_headers["content-encoding"] = reply.encoding
    shadows = None
    if call.deployment.shadows:
        shadows = BackgroundTask(shadow_task(state, metrics, outcome))
    return Response(reply.content, 200, answer_headers, reply.media_type, shadows)


class Incoming(NamedTuple):
    """A scoring request as a transport hands it over (HTTP, gRPC).

    Attributes:
        origin: the request, or where it came from, for the access log.
        request_id: the caller's id if safe to echo, else a new one.
        headers: its headers (or gRPC metadata), names in lower case.
        authorization: the values of its ``authorization`` headers.
        read: the body, refused (413) past the limit it is given.
    """

    origin: Request | Origin
    request_id: str
    headers: Mapping[str, str]
    authorization: list[str]
    read: Callable[[int], Awaitable[bytes]]


class Answered(NamedTuple):
    """A request scored, counted, captured and logged: what its transport answers."""

    call: Call
    scored: Scored
    sampled: bool  # captured: its shadows are captured too


class Refused(NamedTuple):
    """A request that failed, counted and logged: a bad request, or a bug (``error`` None)."""

    error: RequestError | None
    context: Context


async def run(
    incoming: Incoming,
    name: str,
    protocol: ScoringProtocol,
    *,
    version: str | None = None,
    state: ServerState,
    metrics: Metrics,
) -> Answered | Refused:
    """Score a request to endpoint ``name``, whatever its transport: the token, the
    variant (by version, or by weight and the caller's key), holdout, parsing and
    validation, prediction, metrics, capture and the access log. The transport writes
    the answer, and runs :func:`shadow_task` once it is sent."""
    started = time.perf_counter()
    rid = incoming.request_id
    deployment = state.deployments.get(name)
    variant_name, token = "-", None  # unknown names make no metric series
    try:
        if deployment is None:
            # Only a caller with a token learns which endpoints exist (401 before 404).
            token = await state.check_token(incoming.authorization, endpoint=None)
            raise RequestError(
                f"no endpoint {name!r} is served here (GET /admin/endpoints lists them)",
                status=404,
            )
        endpoint = deployment.endpoint
        if not endpoint.public:
            token = await state.check_token(incoming.authorization, endpoint=name)
        raw = await incoming.read(endpoint.max_body_bytes)
        headers = incoming.headers
        key = headers.get(endpoint.key_header.lower())
        variant, predictor = _variant(deployment, key, version)
        variant_name = variant.name
        holdout = deployment.holdout(key)
        call = Call(
            name, rid, started, protocol, token, deployment, variant, predictor, holdout, len(raw)
        )
        if len(raw) <= INLINE_BYTES and "content-encoding" not in headers:
            scored = _scored(call, raw, headers)
        else:  # a compressed body may inflate to the endpoint's limit: not on the loop
            scored = await anyio.to_thread.run_sync(_scored, call, raw, headers)
        rid = scored[3]  # a v2 body's own id, from here on
        sampled = _account(incoming.origin, call, scored, state, metrics)
        return Answered(call, scored, sampled)
    except RequestError as exc:
        label = "-" if deployment is None else name
        context = Context(rid, started, label, variant_name, protocol.name, token)
        failed(incoming.origin, metrics, exc, context)
        if deployment is not None and exc.field is not None and state.capture is not None:
            reason = f"{exc.status}: expected {exc.expected}" if exc.expected else str(exc.status)
            state.capture.reject(name, exc.field, reason, time.time())  # monitoring reads it
        return Refused(exc, context)
    except Exception:  # a bug, never a bad request
        label = "-" if deployment is None else name
        context = Context(rid, started, label, variant_name, protocol.name)
        crashed(incoming.origin, metrics, context)
        return Refused(None, context)


def shadow_task(state: ServerState, metrics: Metrics, answered: Answered) -> Callable[[], None]:
    """What runs the shadows of an answered request, once its answer is sent."""
    call, scored, sampled = answered
    return functools.partial(
        run_shadows, state, metrics, call, scored[0].columns, request_id=scored[3], captured=sampled
    )


def _variant(
    deployment: Deployment, key: str | None, version: str | None
) -> tuple[Variant, Predictor]:
    if version is None:
        return deployment.choose(key)
    chosen = deployment.by_version(version)
    if chosen is None:
        raise RequestError(
            f"endpoint {deployment.endpoint.name!r} serves no version {version}", status=404
        )
    return chosen


def _scored(call: Call, raw: bytes, headers: Mapping[str, str]) -> Scored:
    """Decompress, parse, check, predict and respond (on the event loop, or in a thread)."""
    protocol, predictor = call.protocol, call.predictor
    encoding = headers.get("content-encoding")
    if encoding is not None:
        raw = decompress(raw, encoding, call.deployment.endpoint.max_body_bytes)
    parsed = protocol.parse(raw, headers, predictor)
    checked = predictor.matrix(parsed.columns)
    outputs = predictor.predict(checked)
    answered = parsed.id or call.request_id
    reply = protocol.respond(call, answered, outputs, parsed)
    return parsed, checked, outputs, answered, reply


def _account(
    origin: Request | Origin, call: Call, scored: Scored, state: ServerState, m: Metrics
) -> bool:
    """Count, capture (a sampled share) and log an answer; whether it was captured."""
    parsed, checked, outputs, rid, _reply = scored
    name, variant, predictor, holdout = call.endpoint, call.variant, call.predictor, call.holdout
    latency = time.perf_counter() - call.started
    m.count(name, variant.name, call.protocol.name, "200")
    m.observe(name, variant.name, latency)
    share = call.deployment.endpoint.capture
    sampled = share >= 1.0 or random.random() < share  # noqa: S311
    if sampled:
        _capture(
            state,
            Record(
                rid,
                time.time(),
                name,
                variant.name,
                predictor.ref,
                False,
                holdout,
                latency * 1000,
                predictor.captured(parsed.columns, checked),
                outputs,
                predictor.kinds,
                call.size,
            ),
        )
    token = call.token
    log_access(
        origin,
        200,
        call.started,
        request_id=rid,
        endpoint=name,
        protocol=call.protocol.name,
        token=None if token is None else token.id,
        variant=variant.name,
        model=predictor.ref,
        holdout=holdout,
        rows=len(outputs.predictions),
    )
    return sampled


def _capture(state: ServerState, record: Record) -> None:
    if state.capture is not None:
        state.capture.offer(record)


def run_shadows(
    state: ServerState,
    m: Metrics,
    call: Call,
    columns: dict[str, list[Any]],
    *,
    request_id: str,
    captured: bool,
) -> None:
    """Score ``columns`` with each shadow variant (counted; captured if the answer was)."""
    deployment = call.deployment
    name = deployment.endpoint.name
    for variant, predictor in deployment.shadows:
        started = time.perf_counter()
        try:
            checked = predictor.matrix(columns)
            outputs = predictor.predict(checked)
        except RequestError as exc:
            m.count(name, variant.name, "shadow", str(exc.status))
            continue
        except Exception:
            log.exception("shadow %s failed on request %s", variant.name, request_id)
            m.count(name, variant.name, "shadow", "500")
            continue
        m.count(name, variant.name, "shadow", "200")
        if captured:
            latency = (time.perf_counter() - started) * 1000
            _capture(
                state,
                Record(
                    request_id,
                    time.time(),
                    name,
                    variant.name,
                    predictor.ref,
                    True,
                    call.holdout,
                    latency,
                    predictor.captured(columns, checked),
                    outputs,
                    predictor.kinds,
                    call.size,
                ),
            )
