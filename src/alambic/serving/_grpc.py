"""Open Inference Protocol v2 over gRPC: ``inference.GRPCInferenceService``.

What ``tritonclient.grpc`` and stubs generated from KServe's ``grpc_predict_v2.proto``
call (the .proto and its generated modules are in ``_proto``; regenerate them with
``python scripts/generate_protos.py``). A ``ModelInfer`` request becomes the v2
payload the HTTP front end reads (typed ``contents`` as its ``data``, each of
``raw_input_contents`` decoded as the binary extension's tensors are), and then goes
through the same :func:`~alambic.serving._scoring.run` as HTTP: model resolution,
token, traffic split, stickiness (the endpoint's key header, as metadata), holdout,
validation, capture, shadows, metrics (protocol ``grpc``) and the access log. Outputs
are answered in ``raw_output_contents``, as Triton does. A bad request is aborted with
the gRPC status of its HTTP one (404 ``NOT_FOUND``, 4xx ``INVALID_ARGUMENT``, 401
``UNAUTHENTICATED``, 403 ``PERMISSION_DENIED``, 413 ``RESOURCE_EXHAUSTED``) and its
message. The request id, variant and model the HTTP answer has as headers are in the
call's trailing metadata (``x-request-id``, ``x-alambic-variant``, ``x-alambic-model``),
an answer's or an error's.

The server is a ``grpc.aio`` server on the event loop of the app (started in its
lifespan when ``ServerOptions.grpc_port`` is set): with several workers each binds the
port with ``SO_REUSEPORT``, as uvicorn's workers share theirs.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import anyio.to_thread
import grpc
from google.protobuf.message import DecodeError

from alambic.serving._binary import decode_tensor, tensor_bytes
from alambic.serving._meta import is_ready, model_metadata, server_metadata, versioned
from alambic.serving._metrics import Metrics
from alambic.serving._predictor import Outputs, Predictor, RequestError
from alambic.serving._proto import grpc_predict_v2_pb2 as pb
from alambic.serving._protocols import columns_from_v2, dumps, requested_outputs
from alambic.serving._responses import (
    INLINE_BYTES,
    Context,
    Origin,
    crashed,
    failed,
    log_access,
    new_request_id,
    request_id,
    safe_id,
)
from alambic.serving._scoring import (
    Call,
    Incoming,
    Parsed,
    Refused,
    Reply,
    ScoringProtocol,
    run,
    shadow_task,
    v2_answer,
)
from alambic.serving._state import Deployment, ServerState

__all__ = ["SERVICE", "grpc_status", "payload_of", "start_grpc"]

SERVICE = "inference.GRPCInferenceService"
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # each endpoint's max_body_bytes holds below this
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_FIELDS = sorted(set(_CONTENTS.values()))
_STATUS = {
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_status(error: RequestError) -> grpc.StatusCode:
    """The gRPC status of a bad request (a malformed credential is ``UNAUTHENTICATED``).

    Example:
        >>> grpc_status(RequestError("no endpoint 'x'", status=404)).name
        'NOT_FOUND'
        >>> grpc_status(RequestError("input 'a' has datatype BYTES", status=422)).name
        'INVALID_ARGUMENT'
    """
    if error.field == "authorization":
        return grpc.StatusCode.UNAUTHENTICATED
    code = _STATUS.get(error.status)
    if code is not None:
        return code
    return grpc.StatusCode.INVALID_ARGUMENT if error.status < 500 else grpc.StatusCode.INTERNAL


def payload_of(message: pb.ModelInferRequest) -> dict[str, Any]:
    """The v2 JSON payload a ``ModelInferRequest`` stands for (what the HTTP front end
    reads): each input's ``data`` from its typed ``contents``, or from its entry of
    ``raw_input_contents`` decoded as the binary extension's tensors are.

    Raises:
        RequestError: raw contents that are not one per input, or do not fit an input's
            shape and datatype; typed contents in another field than the datatype's.

    Example:
        >>> message = pb.ModelInferRequest(model_name="toy")
        >>> tensor = message.inputs.add(name="x", datatype="FP64", shape=[2])
        >>> tensor.contents.fp64_contents.extend([1.5, 2.0])
        >>> payload_of(message)
        {'inputs': [{'name': 'x', 'shape': [2], 'datatype': 'FP64', 'data': [1.5, 2.0]}]}
    """
    raw = message.raw_input_contents
    if raw and len(raw) != len(message.inputs):
        raise RequestError(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs; "
            "send one per input, in input order (or typed contents in each input)",
            status=400,
            field="raw_input_contents",
        )
    inputs = []
    for i, tensor in enumerate(message.inputs):
        name = tensor.name or f"inputs[{i}]"
        spec: dict[str, Any] = {
            "name": tensor.name,
            "shape": list(tensor.shape),
            "datatype": tensor.datatype,
        }
        if raw:
            if tensor.HasField("contents"):
                raise RequestError(
                    f"input {name!r} has both contents and raw_input_contents; send one",
                    status=422,
                    field=name,
                )
            spec["data"] = decode_tensor(spec, memoryview(raw[i]), name)
        else:
            spec["data"] = _typed(tensor, name)
        inputs.append(spec)
    payload: dict[str, Any] = {"inputs": inputs}
    if message.outputs:
        payload["outputs"] = [{"name": output.name} for output in message.outputs]
    return payload


def _typed(tensor: pb.ModelInferRequest.InferInputTensor, name: str) -> list[Any]:
    datatype = tensor.datatype.upper()
    field = _CONTENTS.get(datatype)
    if field is None:
        raise RequestError(
            f"input {name!r} has datatype {tensor.datatype[:40]!r}; typed contents hold one "
            f"of {sorted(_CONTENTS)} (FP16 travels in raw_input_contents)",
            status=422,
            field=name,
            expected=sorted(_CONTENTS),
        )
    contents = tensor.contents
    other = next((f for f in _FIELDS if f != field and len(getattr(contents, f))), None)
    if other is not None:
        raise RequestError(
            f"input {name!r} is {datatype} but its values are in contents.{other}; "
            f"{datatype} values go in contents.{field}",
            status=422,
            field=name,
            expected=f"contents.{field}",
        )
    values: list[Any] = list(getattr(contents, field))
    if datatype == "BYTES":
        try:
            return [value.decode("utf-8") for value in values]
        except UnicodeDecodeError:
            raise RequestError(
                f"input {name!r} is BYTES but holds an element that is not UTF-8 text",
                status=422,
                field=name,
            ) from None
    return values


def _parse(
    message: pb.ModelInferRequest, raw: bytes, headers: Mapping[str, str], predictor: Predictor
) -> Parsed:
    payload = payload_of(message)
    columns = columns_from_v2(payload, predictor.kinds)
    given = message.id or None
    if given is not None and not safe_id(given):
        raise RequestError(
            "id must be a string of 1 to 100 printable ASCII characters",
            status=422,
            field="id",
            expected="1-100 printable ASCII characters",
        )
    available = ["predict", *(["predict_proba"] if predictor.proba else [])]
    return Parsed(columns, given, requested_outputs(payload, available))


def _respond(call: Call, answered: str, outputs: Outputs, parsed: Parsed) -> Reply:
    body = v2_answer(call, answered, outputs, parsed)
    response = pb.ModelInferResponse(
        model_name=body["model_name"], model_version=body["model_version"], id=answered
    )
    response.parameters["variant"].string_param = call.variant.name
    response.parameters["model"].string_param = call.predictor.ref
    response.parameters["holdout"].bool_param = call.holdout
    for tensor in body["outputs"]:
        output = response.outputs.add(
            name=tensor["name"], datatype=tensor["datatype"], shape=tensor["shape"]
        )
        classes = tensor.get("parameters", {}).get("classes")
        if classes is not None:  # a list: parameters hold scalars, so it travels as JSON
            output.parameters["classes"].string_param = dumps(classes).decode()
        response.raw_output_contents.append(tensor_bytes(tensor["datatype"], tensor["data"]))
    return Reply(response.SerializeToString(), "application/grpc")


def _metadata(context: grpc.aio.ServicerContext) -> tuple[dict[str, str], list[str]]:
    """The call's text metadata (first value of each key) and its authorization values.

    ``content-encoding`` is left out: gRPC compresses messages itself, and the scoring
    path would take the header as the HTTP body's encoding.
    """
    headers: dict[str, str] = {}
    authorization = []
    for key, value in context.invocation_metadata() or ():
        if not isinstance(value, str) or key == "content-encoding":
            continue
        if key == "authorization":
            authorization.append(value)
        headers.setdefault(key, value)
    return headers, authorization


async def _limited(raw: bytes, limit: int) -> bytes:
    if len(raw) > limit:
        raise RequestError(
            f"the request is {len(raw)} bytes; this endpoint accepts at most {limit}",
            status=413,
            expected=f"at most {limit} bytes",
        )
    return raw


class _Service:
    """The RPCs, reading what the server holds (as HTTP handlers read ``app.state``)."""

    def __init__(self, state: ServerState, metrics: Metrics) -> None:
        self.state = state
        self.metrics = metrics
        self._shadows: set[asyncio.Future[None]] = set()

    async def server_live(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=is_ready(self.state))

    async def server_metadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(**server_metadata())

    async def model_ready(
        self, request: pb.ModelReadyRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        deployment = self.state.deployments.get(request.name)
        if deployment is None:  # as Triton answers: not ready, whoever asks
            return pb.ModelReadyResponse(ready=False)

        def ready(deployment: Deployment) -> Any:
            try:
                versioned(deployment, request.version or None)
            except RequestError:
                return pb.ModelReadyResponse(ready=False)
            return pb.ModelReadyResponse(ready=True)

        return await self._meta(context, "ModelReady", request.name, ready)

    async def model_metadata(
        self, request: pb.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        def describe(deployment: Deployment) -> Any:
            meta = model_metadata(deployment, request.version or None)
            tensor = pb.ModelMetadataResponse.TensorMetadata
            return pb.ModelMetadataResponse(
                name=meta["name"],
                versions=meta["versions"],
                platform=meta["platform"],
                inputs=[tensor(**t) for t in meta["inputs"]],
                outputs=[tensor(**t) for t in meta["outputs"]],
            )

        return await self._meta(context, "ModelMetadata", request.name, describe)

    async def _meta(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        name: str,
        answer: Callable[[Deployment], Any],
    ) -> Any:
        """A model's metadata RPC, checked as the HTTP metadata routes are (``guarded``)."""
        started, (headers, authorization) = time.perf_counter(), _metadata(context)
        rid, origin = request_id(headers), Origin("POST", f"/{SERVICE}/{method}", context.peer())
        deployment = self.state.deployments.get(name)
        token = None
        try:
            if deployment is None:
                raise RequestError(f"no endpoint {name!r} is served here", status=404)
            if not deployment.endpoint.public:
                token = await self.state.check_token(authorization, endpoint=name)
            response = answer(deployment)
        except RequestError as exc:
            label = "-" if deployment is None else name
            refused = Refused(exc, Context(rid, started, label, protocol="meta", token=token))
            failed(origin, self.metrics, exc, refused.context)
            await _abort(context, refused)
        log_access(
            origin,
            200,
            started,
            request_id=rid,
            endpoint=name,
            token=None if token is None else token.id,
        )
        return response

    async def model_infer(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        headers, authorization = _metadata(context)
        rid, origin = request_id(headers), Origin("POST", f"/{SERVICE}/ModelInfer", context.peer())
        try:
            if len(raw) <= INLINE_BYTES:
                message = pb.ModelInferRequest.FromString(raw)
            else:  # a big message is parsed off the loop, as a big HTTP body is
                message = await anyio.to_thread.run_sync(pb.ModelInferRequest.FromString, raw)
        except DecodeError:
            error = RequestError("the request is not a ModelInferRequest message", status=400)
            refused = Refused(error, Context(rid, time.perf_counter(), protocol="grpc"))
            failed(origin, self.metrics, error, refused.context)
            await _abort(context, refused)
        protocol = ScoringProtocol("grpc", functools.partial(_parse, message), _respond)
        incoming = Incoming(origin, rid, headers, authorization, functools.partial(_limited, raw))
        outcome = await run(
            incoming,
            message.model_name,
            protocol,
            version=message.model_version or None,
            state=self.state,
            metrics=self.metrics,
        )
        if isinstance(outcome, Refused):
            await _abort(context, outcome)
        call, scored = outcome.call, outcome.scored
        # Trailing metadata leaves with the answer and its status, in one write (initial
        # metadata sent apart cost 0.13 ms per call here); errors carry the id there too.
        context.set_trailing_metadata(
            (
                ("x-request-id", scored[3]),
                ("x-alambic-variant", call.variant.name),
                ("x-alambic-model", call.predictor.ref),
            )
        )
        if call.deployment.shadows:  # after the answer, in a thread, as HTTP runs them
            shadows = asyncio.ensure_future(
                anyio.to_thread.run_sync(shadow_task(self.state, self.metrics, outcome))
            )
            self._shadows.add(shadows)
            shadows.add_done_callback(self._shadows.discard)
        return scored[4].content


async def _abort(context: grpc.aio.ServicerContext, refused: Refused) -> NoReturn:
    """End the call with the gRPC status of the refusal (already counted and logged)."""
    error, rid = refused.error, refused.context.request_id
    trailing = (("x-request-id", rid),)
    if error is None:
        await context.abort(
            grpc.StatusCode.INTERNAL, f"internal error; see the server's log ({rid})", trailing
        )
    else:
        await context.abort(grpc_status(error), str(error), trailing)
    raise RuntimeError("grpc.aio's abort returned")  # it raises AbortError


def _handler(service: _Service) -> grpc.GenericRpcHandler:
    def unary(
        method: Callable[[Any, Any], Awaitable[Any]], request: Any, response: Any
    ) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(
            method,
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )

    guard = _guarded(service)
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "ServerLive": unary(
                guard(service.server_live), pb.ServerLiveRequest, pb.ServerLiveResponse
            ),
            "ServerReady": unary(
                guard(service.server_ready), pb.ServerReadyRequest, pb.ServerReadyResponse
            ),
            "ServerMetadata": unary(
                guard(service.server_metadata),
                pb.ServerMetadataRequest,
                pb.ServerMetadataResponse,
            ),
            "ModelReady": unary(
                guard(service.model_ready), pb.ModelReadyRequest, pb.ModelReadyResponse
            ),
            "ModelMetadata": unary(
                guard(service.model_metadata),
                pb.ModelMetadataRequest,
                pb.ModelMetadataResponse,
            ),
            # Bytes in and out: parsed once, by the scoring path, and its size is the body's.
            "ModelInfer": grpc.unary_unary_rpc_method_handler(guard(service.model_infer)),
        },
    )


def _guarded(service: _Service) -> Callable[..., Any]:
    """A method whose bugs are logged, counted and answered ``INTERNAL`` (never a hang)."""

    def wrap(method: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Any]:
        @functools.wraps(method)
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                return await method(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception:
                rid = new_request_id()
                origin = Origin("POST", f"/{SERVICE}/{method.__name__}", context.peer())
                context_ = Context(rid, started, protocol="grpc")
                crashed(origin, service.metrics, context_)
                await _abort(context, Refused(None, context_))

        return call

    return wrap


async def start_grpc(
    state: ServerState, metrics: Metrics, *, host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    """Start ``inference.GRPCInferenceService`` on ``host:port`` (0: any free port), on
    the running event loop; the server, and the port it is bound to.

    Raises:
        OSError: the port cannot be bound.
    """
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 1),  # every worker binds the port, as uvicorn's do
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
    )
    server.add_generic_rpc_handlers((_handler(_Service(state, metrics)),))
    bound: int = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the gRPC port {host}:{port}; is it in use?")
    await server.start()
    return server, bound
