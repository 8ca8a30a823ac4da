"""The ASGI app: routes, authentication, traffic split, shadows, capture.

Routes:
    - ``GET /v2/health/live``, ``/v2/health/ready``, ``/v2``: health and server metadata.
    - ``GET /v2/models/{name}[/versions/{v}]``, ``.../ready``; ``POST
      /v2/models/{name}[/versions/{v}]/infer``: Open Inference Protocol v2.
    - ``POST /invocations`` (when one endpoint is served), ``POST
      /endpoints/{name}/invocations``: MLflow's scoring protocol (JSON or CSV).
    - ``POST /endpoints/{name}/labels``: ground truth that arrives later (token always).
    - ``GET /metrics``: Prometheus. ``GET /admin/endpoints``, ``POST /admin/reload``.

Every answer, errors included, is JSON with a request id; a bad request is a 4xx that
names the field and what was expected. Small requests are parsed, checked and scored
on the event loop (a thread hop would cost more than the work); larger ones in a
thread, so that one big body never holds up the others.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alambic.errors import AlambicError
from alambic.serving._capture import Record
from alambic.serving._config import Variant
from alambic.serving._metrics import metrics, render
from alambic.serving._predictor import Outputs, Predictor, RequestError
from alambic.serving._protocols import (
    columns_from_csv,
    columns_from_mlflow,
    columns_from_v2,
    datatype_of,
    dumps,
    loads,
    mlflow_body,
    mlflow_error_code,
    requested_outputs,
    v2_body,
)
from alambic.serving._state import Deployment, ServerState

__all__ = ["Deployment", "ServerState", "create_app"]

log = logging.getLogger(__name__)
access = logging.getLogger("alambic.serving.access")
INLINE_BYTES = 16 * 1024  # larger bodies are parsed and scored in a thread


class Parsed(NamedTuple):
    """A request body as columns, with what its protocol adds."""

    columns: dict[str, list[Any]]
    id: str | None = None  # v2: the caller's request id
    outputs: list[str] | None = None  # v2: the outputs asked for (None: all)


Parse = Callable[[bytes, str, Predictor], Parsed]
# (endpoint, request id, outputs, variant, predictor, holdout, parsed) -> response body
Respond = Callable[[str, str, Outputs, Variant, Predictor, bool, Parsed], dict[str, Any]]


def _safe_id(text: str) -> bool:
    """An id that fits an HTTP header and a log line: 1-100 printable ASCII characters."""
    return 0 < len(text) <= 100 and all(" " <= c <= "~" for c in text)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _safe_id(given) else uuid.uuid4().hex


def _json(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    return Response(dumps(body), status, headers, "application/json", background)


async def _body(request: Request, limit: int) -> bytes:
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


def _mlflow_parse(raw: bytes, content_type: str, predictor: Predictor) -> Parsed:
    media = content_type.partition(";")[0].strip().lower()
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
    return Parsed(columns_from_mlflow(payload, predictor.columns))


def _v2_parse(raw: bytes, content_type: str, predictor: Predictor) -> Parsed:
    payload = loads(raw)
    columns = columns_from_v2(payload, predictor.kinds)
    given = payload.get("id")
    if given is not None and not (isinstance(given, str) and _safe_id(given)):
        raise RequestError(
            "id must be a string of 1 to 100 printable ASCII characters",
            status=422,
            field="id",
            expected="1-100 printable ASCII characters",
        )
    available = ["predict", *(["predict_proba"] if predictor.proba else [])]
    return Parsed(columns, given, requested_outputs(payload, available))


def _mlflow_respond(
    endpoint: str, request_id: str, outputs: Outputs, variant: Variant, predictor: Predictor,
    holdout: bool, parsed: Parsed,
) -> dict[str, Any]:  # fmt: skip
    return mlflow_body(
        request_id, outputs, variant=variant.name, ref=predictor.ref, holdout=holdout
    )


def _v2_respond(
    endpoint: str, request_id: str, outputs: Outputs, variant: Variant, predictor: Predictor,
    holdout: bool, parsed: Parsed,
) -> dict[str, Any]:  # fmt: skip
    return v2_body(endpoint, request_id, outputs, variant=variant.name, ref=predictor.ref,
                   holdout=holdout, outputs_wanted=parsed.outputs)  # fmt: skip


def create_app(endpoints: list[str] | None = None, **options: Any) -> Starlette:
    """The serving app for some endpoints (all of them when ``endpoints`` is None).

    Models load when the app starts (its lifespan), so a server answers ready only with
    every model in memory.

    Args:
        endpoints: names to serve; None serves every endpoint, new ones included.
        **options: for :class:`ServerState`: ``poll_seconds``, ``token_ttl``,
            ``capture_max_rows``, ``capture_max_bytes``, ``capture_flush_seconds``.

    Example:
        >>> import uvicorn  # doctest: +SKIP
        >>> uvicorn.run(create_app(["fraud"]), port=8080)  # doctest: +SKIP
    """
    import anyio.to_thread

    state = ServerState(endpoints, **options)
    m = metrics()

    def log_access(request: Request, status: int, started: float, **fields: Any) -> None:
        if access.isEnabledFor(logging.INFO):
            client = request.client
            line = {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "method": request.method,
                "path": request.url.path,
                "client": None if client is None else client.host,
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                **fields,
            }
            access.info(dumps(line).decode())

    def fail(
        request: Request,
        error: RequestError,
        request_id: str,
        started: float,
        *,
        endpoint: str = "-",
        variant: str = "-",
        protocol: str = "-",
        token: Any = None,
    ) -> Response:
        m.requests.labels(endpoint, variant, protocol, str(error.status)).inc()
        body = {**error.to_dict(), "request_id": request_id}
        if protocol == "mlflow":  # MLflow clients read error_code and message
            body.update(error_code=mlflow_error_code(error.status), message=str(error))
        headers = {"x-request-id": request_id}
        if error.status == 401:
            headers["www-authenticate"] = 'Bearer realm="alambic"'
        log_access(
            request,
            error.status,
            started,
            request_id=request_id,
            endpoint=endpoint,
            protocol=protocol,
            token=None if token is None else token.id,
            error=str(error)[:200],
        )
        return _json(body, error.status, headers)

    def crash(request: Request, request_id: str, started: float, endpoint: str, variant: str,
              protocol: str) -> Response:  # fmt: skip
        """A bug, never a bad request: logged whole, answered 500 in JSON."""
        log.exception("request %s on %s failed", request_id, endpoint)
        m.requests.labels(endpoint, variant, protocol, "500").inc()
        log_access(request, 500, started, request_id=request_id, endpoint=endpoint)
        return _json(
            {"error": "internal error; see the server's log", "request_id": request_id},
            500,
            {"x-request-id": request_id},
        )

    def capture(record: Record) -> None:
        if state.capture is not None:
            state.capture.offer(record)

    def shadow_task(
        deployment: Deployment,
        columns: dict[str, list[Any]],
        request_id: str,
        holdout: bool,
        captured: bool,
        size: int,
    ) -> None:
        for variant, predictor in deployment.shadows:
            started = time.perf_counter()
            try:
                checked = predictor.matrix(columns)
                outputs = predictor.predict(checked)
            except RequestError as exc:
                m.requests.labels(deployment.endpoint.name, variant.name, "shadow",
                                  str(exc.status)).inc()  # fmt: skip
                continue
            except Exception:
                log.exception("shadow %s failed on request %s", variant.name, request_id)
                m.requests.labels(deployment.endpoint.name, variant.name, "shadow", "500").inc()
                continue
            m.requests.labels(deployment.endpoint.name, variant.name, "shadow", "200").inc()
            if captured:
                latency = (time.perf_counter() - started) * 1000
                capture(
                    Record(request_id, time.time(), deployment.endpoint.name, variant.name,
                           predictor.ref, True, holdout, latency,
                           predictor.captured(columns, checked), outputs, predictor.kinds, size)
                )  # fmt: skip

    async def score(
        request: Request,
        name: str,
        protocol: str,
        parse: Parse,
        respond: Respond,
        version: str | None = None,
    ) -> Response:
        started = time.perf_counter()
        request_id = _request_id(request)
        deployment = state.deployments.get(name)
        label, variant_name, token = "-", "-", None  # unknown names make no metric series
        try:
            if deployment is None:
                # Only a caller with a token learns which endpoints exist (401 before 404).
                token = await state.authorize(request, endpoint=None)
                raise RequestError(
                    f"no endpoint {name!r} is served here (GET /admin/endpoints lists them)",
                    status=404,
                )
            label, endpoint = name, deployment.endpoint
            if not endpoint.public:
                token = await state.authorize(request, endpoint=name)
            raw = await _body(request, endpoint.max_body_bytes)
            key = request.headers.get(endpoint.key_header)
            if version is not None:
                chosen = deployment.by_version(version)
                if chosen is None:
                    raise RequestError(f"endpoint {name!r} serves no version {version}", status=404)
                variant, predictor = chosen
            else:
                variant, predictor = deployment.choose(key)
            variant_name = variant.name
            content_type = request.headers.get("content-type", "")
            holdout = deployment.holdout(key)

            def work() -> tuple[Parsed, dict[str, Any], Outputs, str, bytes]:
                parsed = parse(raw, content_type, predictor)
                checked = predictor.matrix(parsed.columns)
                outputs = predictor.predict(checked)
                answered = parsed.id or request_id
                body = respond(name, answered, outputs, variant, predictor, holdout, parsed)
                return parsed, checked, outputs, answered, dumps(body)

            if len(raw) <= INLINE_BYTES:
                parsed, checked, outputs, request_id, content = work()
            else:
                parsed, checked, outputs, request_id, content = await anyio.to_thread.run_sync(work)
            latency = time.perf_counter() - started
            m.requests.labels(name, variant.name, protocol, "200").inc()
            m.latency.labels(name, variant.name).observe(latency)
            sampled = endpoint.capture >= 1.0 or random.random() < endpoint.capture  # noqa: S311
            if sampled:
                capture(
                    Record(request_id, time.time(), name, variant.name, predictor.ref, False,
                           holdout, latency * 1000, predictor.captured(parsed.columns, checked),
                           outputs, predictor.kinds, len(raw))
                )  # fmt: skip
            log_access(
                request,
                200,
                started,
                request_id=request_id,
                endpoint=name,
                protocol=protocol,
                token=None if token is None else token.id,
                variant=variant.name,
                model=predictor.ref,
                holdout=holdout,
                rows=len(outputs.predictions),
            )
            shadows = deployment.shadows
            return Response(
                content,
                200,
                {
                    "x-request-id": request_id,
                    "x-alambic-variant": variant.name,
                    "x-alambic-model": predictor.ref,
                },
                "application/json",
                BackgroundTask(shadow_task, deployment, parsed.columns, request_id, holdout,
                               sampled, len(raw)) if shadows else None,
            )  # fmt: skip
        except RequestError as exc:
            return fail(request, exc, request_id, started, endpoint=label,
                        variant=variant_name, protocol=protocol, token=token)  # fmt: skip
        except Exception:  # a bug, never a bad request
            return crash(request, request_id, started, label, variant_name, protocol)

    async def invocations(request: Request) -> Response:
        name = request.path_params.get("name")
        if name is None:
            served = list(state.deployments)  # one snapshot: a swap may come at any await
            if len(served) != 1:
                error = RequestError(
                    "this server serves several endpoints: POST /endpoints/{name}/invocations "
                    "(GET /admin/endpoints lists them)",
                    status=404,
                )
                return fail(request, error, _request_id(request), time.perf_counter(),
                            protocol="mlflow")  # fmt: skip
            name = served[0]
        return await score(request, name, "mlflow", _mlflow_parse, _mlflow_respond)

    async def v2_infer(request: Request) -> Response:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        return await score(request, name, "v2", _v2_parse, _v2_respond, version=version)

    def guarded(
        handler: Callable[[Request, Any], Awaitable[Response]],
        *,
        admin: bool = False,
        endpoint_param: bool = False,
        token_always: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """A route that checks its endpoint and token first, and answers errors in JSON."""
        protocol = "admin" if admin else "meta"

        async def route(request: Request) -> Response:
            started = time.perf_counter()
            request_id = _request_id(request)
            name = request.path_params.get("name")
            token = None
            deployment = state.deployments.get(name) if name else None
            try:
                if endpoint_param and deployment is None:
                    raise RequestError(f"no endpoint {name!r} is served here", status=404)
                if admin or token_always or deployment is None or not deployment.endpoint.public:
                    token = await state.authorize(request, endpoint=name, admin=admin)
                response = await handler(request, deployment)
            except RequestError as exc:
                label = str(name) if deployment is not None else "-"
                return fail(request, exc, request_id, started, endpoint=label,
                            protocol=protocol, token=token)  # fmt: skip
            except Exception:
                return crash(request, request_id, started, name or "-", "-", protocol)
            log_access(request, response.status_code, started, request_id=request_id,
                       endpoint=name, token=None if token is None else token.id)  # fmt: skip
            return response

        return route

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        ok = bool(state.deployments) or state.names == []
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(request: Request) -> Response:
        from importlib.metadata import version

        return _json({"name": "alambic", "version": version("alambic"), "extensions": []})

    def versioned(request: Request, deployment: Deployment) -> list[tuple[Variant, Predictor]]:
        version = request.path_params.get("version")
        if version is None:
            return list(deployment.variants)
        chosen = deployment.by_version(version)
        if chosen is None:
            raise RequestError(
                f"endpoint {deployment.endpoint.name!r} serves no version {version}; it "
                f"serves {sorted({p.version for _, p in deployment.variants}, key=int)}",
                status=404,
            )
        return [chosen]

    async def model_meta(request: Request, deployment: Deployment) -> Response:
        variants = versioned(request, deployment)
        predictor = variants[0][1]
        labels = datatype_of(predictor.classes) if predictor.classes else "FP64"
        outputs = [{"name": "predict", "datatype": labels, "shape": [-1]}]
        if predictor.proba:
            outputs.append(
                {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(predictor.classes)]}
            )
        return _json(
            {
                "name": deployment.endpoint.name,
                "versions": sorted({p.version for _, p in variants}, key=int),
                "platform": f"alambic-{predictor.model.flavor}",
                "inputs": predictor.describe(),
                "outputs": outputs,
                "parameters": {
                    "variants": [
                        {"name": v.name, "model": v.model, "version": p.ref, "weight": v.weight}
                        for v, p in variants
                    ]
                },
            }
        )

    async def model_ready(request: Request, deployment: Deployment) -> Response:
        versioned(request, deployment)
        return _json({"name": deployment.endpoint.name, "ready": True})

    async def labels(request: Request, deployment: Deployment) -> Response:
        from alambic.serving._capture import write_labels

        name = deployment.endpoint.name
        raw = await _body(request, deployment.endpoint.max_body_bytes)
        payload = (
            loads(raw) if len(raw) <= INLINE_BYTES else await anyio.to_thread.run_sync(loads, raw)
        )
        rows = payload.get("labels") if isinstance(payload, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise RequestError(
                "the body must be {'labels': [{'request_id': ..., 'label': ..., 'row': 0}]}",
                status=422,
                field="labels",
            )
        try:
            count = await anyio.to_thread.run_sync(write_labels, name, rows)
        except AlambicError as exc:
            raise RequestError(str(exc), status=422, field="labels") from None
        return _json({"endpoint": name, "labels": count})

    async def metrics_route(request: Request) -> Response:
        body, content_type = render()
        return Response(body, 200, media_type=content_type)

    async def admin_endpoints(request: Request, deployment: Any) -> Response:
        capture = state.capture
        return _json(
            {
                "endpoints": state.summary(),
                "failing": {n: f.error for n, f in state.failures.items()},
                "capture": {
                    "queued": 0 if capture is None else capture.queued,
                    "dropped": 0 if capture is None else capture.dropped,
                    "written": 0 if capture is None else capture.written,
                },
            }
        )

    async def admin_reload(request: Request, deployment: Any) -> Response:
        try:
            await anyio.to_thread.run_sync(state.load)
        except AlambicError as exc:
            m.reloads.labels("failed").inc()
            raise RequestError(f"reload failed, the models in service stay: {exc}",
                               status=409) from None  # fmt: skip
        m.reloads.labels("failed" if state.failures else "ok").inc()
        if state.failures:
            failing = {n: f.error for n, f in state.failures.items()}
            raise RequestError(
                f"some endpoints could not load their new models and keep their previous "
                f"ones: {failing}",
                status=409,
            )
        return _json({"endpoints": state.summary()})

    async def not_found(request: Request, exc: Exception) -> Response:
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
        return fail(request, RequestError(message, status=status), _request_id(request),
                    time.perf_counter())  # fmt: skip

    def lifespan(app: Starlette) -> Any:
        import contextlib

        @contextlib.asynccontextmanager
        async def run(_: Starlette) -> Any:
            await anyio.to_thread.run_sync(state.start)
            try:
                yield
            finally:
                await anyio.to_thread.run_sync(state.stop)

        return run(app)

    model = guarded(model_meta, endpoint_param=True)
    model_ready_route = guarded(model_ready, endpoint_param=True)
    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/ping", live),
        Route("/health", live),
        Route("/v2", server_meta),
        Route("/v2/models/{name}", model),
        Route("/v2/models/{name}/ready", model_ready_route),
        Route("/v2/models/{name}/versions/{version}", model),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready_route),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
        Route(
            "/endpoints/{name}/labels",
            guarded(labels, endpoint_param=True, token_always=True),
            methods=["POST"],
        ),
        Route("/metrics", metrics_route),
        Route("/admin/endpoints", guarded(admin_endpoints, admin=True)),
        Route("/admin/reload", guarded(admin_reload, admin=True), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.state.alambic = state
    return app
