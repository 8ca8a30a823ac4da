"""The ASGI app: routes, authentication, traffic split, shadows, capture, hot swap.

Routes:
    - ``GET /v2/health/live``, ``/v2/health/ready``, ``/v2``: health and server metadata.
    - ``GET /v2/models/{name}``, ``/v2/models/{name}/ready``; ``POST
      /v2/models/{name}[/versions/{v}]/infer``: Open Inference Protocol v2.
    - ``POST /invocations`` (when one endpoint is served), ``POST
      /endpoints/{name}/invocations``: MLflow's scoring protocol.
    - ``POST /endpoints/{name}/labels``: ground truth that arrives later.
    - ``GET /metrics``: Prometheus. ``GET /admin/endpoints``, ``POST /admin/reload``.

A :class:`Deployment` is one endpoint's loaded models and routing table; it never
changes once built. A watcher thread polls the store (endpoint revisions, alias holders)
and, on a change, loads what is new in the background, then replaces the deployments
in one assignment: a request uses the deployment it started with, so none fails or
waits for a load.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alambic.errors import AlambicError, ServingError
from alambic.serving._capture import CaptureBuffer, capture_root
from alambic.serving._config import Endpoint, Variant
from alambic.serving._metrics import metrics, render
from alambic.serving._predictor import Outputs, Predictor, RequestError
from alambic.serving._protocols import (
    columns_from_mlflow,
    columns_from_v2,
    dumps,
    loads,
    mlflow_body,
    v2_body,
)

__all__ = ["Deployment", "ServerState", "create_app"]

log = logging.getLogger(__name__)
access = logging.getLogger("alambic.serving.access")
INLINE_ROWS = 64  # larger requests are scored in a thread so others are not held up


def _fraction(*parts: str) -> float:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Deployment:
    """One endpoint's loaded variants and shadows (immutable: swapped whole)."""

    endpoint: Endpoint
    variants: tuple[tuple[Variant, Predictor], ...]
    shadows: tuple[tuple[Variant, Predictor], ...]
    revision: int

    def choose(self, key: str | None) -> tuple[Variant, Predictor]:
        """A variant by weight: random, or fixed for a caller's key."""
        point = random.random() if key is None else _fraction(self.endpoint.name, key)  # noqa: S311
        total = 0.0
        for variant, predictor in self.variants:
            total += variant.weight
            if point < total:
                return variant, predictor
        return self.variants[-1]

    def by_version(self, version: str) -> tuple[Variant, Predictor] | None:
        for variant, predictor in self.variants:
            if predictor.version == version:
                return variant, predictor
        return None

    def holdout(self, key: str | None) -> bool:
        share = self.endpoint.holdout
        if share <= 0:
            return False
        point = random.random() if key is None else _fraction("holdout", self.endpoint.name, key)  # noqa: S311
        return point < share


class ServerState:
    """What a server process holds: deployments, the watcher, capture, token cache.

    Args:
        endpoints: names to serve (None: every endpoint in the store, new ones included).
        poll_seconds: how often the store is asked whether something changed.
        token_ttl: how long a checked token is trusted before it is checked again.
    """

    def __init__(
        self,
        endpoints: list[str] | None = None,
        *,
        poll_seconds: float = 1.0,
        token_ttl: float = 2.0,
        capture_max_rows: int = 100_000,
        capture_flush_seconds: float = 1.0,
    ) -> None:
        from alambic.serving._endpoints import serving_store

        self.names = endpoints
        self.poll_seconds, self.token_ttl = poll_seconds, token_ttl
        self.store = serving_store()
        self.deployments: dict[str, Deployment] = {}
        self._predictors: dict[str, Predictor] = {}  # by model ref name/version
        self._state: Any = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._tokens: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self.capture_max_rows = capture_max_rows
        self.capture_flush_seconds = capture_flush_seconds
        self.capture: CaptureBuffer | None = None

    # -- loading ---------------------------------------------------------------------
    def _groups(self, configs: dict[str, Endpoint]) -> list[str]:
        from alambic.registry import parse_ref

        return sorted({parse_ref(ref)[0] for e in configs.values() for ref in e.models})

    def _configs(self) -> tuple[dict[str, Endpoint], dict[str, int]]:
        records = self.store.list_endpoints()
        if self.names is not None:
            records = [r for r in records if r.name in self.names]
            missing = set(self.names) - {r.name for r in records}
            if missing and not self.deployments:
                raise ServingError(
                    f"no endpoint {sorted(missing)}; create it with `alambic endpoints create`"
                )
        return (
            {r.name: Endpoint.parse(r.name, r.config) for r in records},
            {r.name: r.revision for r in records},
        )

    def _predictor(self, ref: str) -> Predictor:
        from alambic.config import settings
        from alambic.registry import registry_store, resolve
        from alambic.store import ArtifactRef, ArtifactStore, load_value

        record = resolve(ref)
        if record.ref in self._predictors:
            return self._predictors[record.ref]
        policy = registry_store().get_group(record.group).policy
        artifact = ArtifactRef.from_dict(record.model)
        store = ArtifactStore(settings().artifacts)
        try:
            if policy.get("allow_pickle"):  # the group opted in: code may run on load
                from alambic.models import loads_model

                with store.local_file(artifact.hash) as path:
                    model = loads_model(path.read_bytes(), trusted=["*"], allow_pickle=True)
            else:
                model = load_value(store, artifact)
        except AlambicError as exc:
            raise ServingError(
                f"cannot load {record.ref} for serving: {exc}. Formats that can run code load "
                f"only if the group opted in: al.registry.set_policy({record.group!r}, "
                "allow_pickle=True)"
            ) from exc
        predictor = Predictor(model, record.ref)
        self._predictors[record.ref] = predictor
        return predictor

    def load(self) -> dict[str, Deployment]:
        """Build every deployment from the store and swap them in at once.

        Raises:
            ServingError: an endpoint is missing or a model cannot be loaded (the
                deployments in service stay as they were).
        """
        with self._lock:
            configs, revisions = self._configs()
            self._state = self.store.watch_state(self.names, self._groups(configs))
            fresh: dict[str, Deployment] = {}
            for name, endpoint in configs.items():
                fresh[name] = Deployment(
                    endpoint,
                    tuple((v, self._predictor(v.model)) for v in endpoint.variants),
                    tuple((v, self._predictor(v.model)) for v in endpoint.shadows),
                    revisions[name],
                )
            self.deployments = fresh  # one assignment: requests see old or new, whole
            used = {p.ref for d in fresh.values() for _, p in (*d.variants, *d.shadows)}
            self._predictors = {k: p for k, p in self._predictors.items() if k in used}
            return fresh

    def _changed(self) -> bool:
        configs = {name: d.endpoint for name, d in self.deployments.items()}
        state = self.store.watch_state(self.names, self._groups(configs))
        if self.names is None:  # new endpoints count as a change too
            state = (state, tuple(r.name for r in self.store.list_endpoints()))
            return state != (self._state, tuple(sorted(self.deployments)))
        return bool(state != self._state)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if self._changed():
                    self.load()
                    metrics().reloads.labels("ok").inc()
                    log.info("endpoints reloaded: %s", self.summary())
            except Exception:  # keep serving the models in place; retry at the next poll
                metrics().reloads.labels("failed").inc()
                log.exception("reloading endpoints failed; the previous models stay in service")

    def start(self) -> None:
        """Load every endpoint (failing loudly), then watch and capture in the background."""
        self.load()
        m = metrics()
        self.capture = CaptureBuffer(
            capture_root(),
            max_rows=self.capture_max_rows,
            flush_seconds=self.capture_flush_seconds,
            on_drop=lambda endpoint, rows: m.capture_dropped.labels(endpoint).inc(rows),
            on_written=lambda endpoint, rows: m.capture_rows.labels(endpoint).inc(rows),
        )
        self._watcher = threading.Thread(target=self._watch, name="alambic-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        if self.capture is not None:
            self.capture.close()

    def summary(self) -> dict[str, Any]:
        return {
            name: {
                "revision": d.revision,
                "variants": [
                    {"name": v.name, "model": v.model, "version": p.ref, "weight": v.weight}
                    for v, p in d.variants
                ],
                "shadows": [
                    {"name": v.name, "model": v.model, "version": p.ref} for v, p in d.shadows
                ],
                "holdout": d.endpoint.holdout,
                "public": d.endpoint.public,
                "capture": d.endpoint.capture,
            }
            for name, d in self.deployments.items()
        }

    # -- tokens ----------------------------------------------------------------------
    def token(self, text: str) -> Any:
        """The token's record (cached ``token_ttl`` seconds), or None."""
        from alambic.serving._endpoints import check_token

        now = time.monotonic()
        hit = self._tokens.get(text)
        if hit is not None and hit[1] > now:
            return hit[0]
        record = check_token(self.store, text)
        if len(self._tokens) > 10_000:  # garbage tokens must not grow memory
            self._tokens.clear()
        self._tokens[text] = (record, now + self.token_ttl)
        return record

    def authorize(self, request: Request, *, endpoint: str | None, admin: bool = False) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, text = header.partition(" ")
        if scheme.lower() != "bearer" or not text:
            raise RequestError(
                "this route needs a token: send 'Authorization: Bearer <token>' "
                "(create one with `alambic tokens create`)",
                status=401,
            )
        record = self.token(text.strip())
        if record is None:
            raise RequestError("the token is unknown or revoked", status=401)
        if admin and record.scope != "admin":
            raise RequestError(
                f"token {record.id} has scope {record.scope}; this route needs admin", status=403
            )
        if (
            endpoint is not None
            and record.scope != "admin"
            and record.endpoints
            and endpoint not in record.endpoints
        ):
            raise RequestError(
                f"token {record.id} may not invoke endpoint {endpoint!r}", status=403
            )


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


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= 100 and given.isprintable():
        return given
    return uuid.uuid4().hex


def create_app(
    endpoints: list[str] | None = None,
    *,
    poll_seconds: float = 1.0,
    token_ttl: float = 2.0,
    capture_max_rows: int = 100_000,
    capture_flush_seconds: float = 1.0,
) -> Starlette:
    """The serving app for some endpoints (all of them when ``endpoints`` is None).

    Models load when the app starts (its lifespan), so a server answers ready only with
    every model in memory.

    Example:
        >>> import uvicorn  # doctest: +SKIP
        >>> uvicorn.run(create_app(["fraud"]), port=8080)  # doctest: +SKIP
    """
    import anyio.to_thread

    state = ServerState(
        endpoints,
        poll_seconds=poll_seconds,
        token_ttl=token_ttl,
        capture_max_rows=capture_max_rows,
        capture_flush_seconds=capture_flush_seconds,
    )
    m = metrics()

    def fail(
        error: RequestError, request_id: str, endpoint: str, variant: str, protocol: str
    ) -> Response:
        m.requests.labels(endpoint, variant, protocol, str(error.status)).inc()
        body = {**error.to_dict(), "request_id": request_id}
        if access.isEnabledFor(logging.INFO):
            access.info(
                dumps(
                    {
                        "request_id": request_id,
                        "endpoint": endpoint,
                        "protocol": protocol,
                        "status": error.status,
                        "error": str(error)[:200],
                    }
                ).decode()
            )
        return _json(body, error.status, {"x-request-id": request_id})

    def shadow_task(
        deployment: Deployment, columns: dict[str, list[Any]], request_id: str, holdout: bool
    ) -> None:
        for variant, predictor in deployment.shadows:
            started = time.perf_counter()
            try:
                checked = predictor.matrix(columns)
                outputs = predictor.predict(checked)
                status = "200"
            except RequestError as exc:
                status = str(exc.status)
                outputs = None
            except Exception:
                log.exception("shadow %s failed on request %s", variant.name, request_id)
                status = "500"
                outputs = None
            m.requests.labels(deployment.endpoint.name, variant.name, "shadow", status).inc()
            if outputs is not None and state.capture is not None:
                state.capture.offer(
                    (
                        request_id,
                        time.time(),
                        deployment.endpoint.name,
                        variant.name,
                        predictor.ref,
                        True,
                        holdout,
                        (time.perf_counter() - started) * 1000,
                        predictor.captured(columns, checked),
                        outputs,
                    )
                )

    async def score(
        request: Request,
        name: str,
        protocol: str,
        parse: Callable[[Any, Predictor], dict[str, list[Any]]],
        respond: Callable[[str, Outputs, Variant, Predictor, bool], dict[str, Any]],
        version: str | None = None,
    ) -> Response:
        started = time.perf_counter()
        request_id = _request_id(request)
        deployment = state.deployments.get(name)
        variant_name = "-"
        try:
            if deployment is None:
                raise RequestError(
                    f"no endpoint {name!r} is served here; served: {sorted(state.deployments)}",
                    status=404,
                )
            endpoint = deployment.endpoint
            if not endpoint.public:
                state.authorize(request, endpoint=name)
            raw = await _body(request, endpoint.max_body_bytes)
            payload = loads(raw)
            key = request.headers.get(endpoint.key_header)
            if version is not None:
                chosen = deployment.by_version(version)
                if chosen is None:
                    raise RequestError(f"endpoint {name!r} serves no version {version}", status=404)
                variant, predictor = chosen
            else:
                variant, predictor = deployment.choose(key)
            variant_name = variant.name
            if (
                protocol == "v2"
                and isinstance(payload, dict)
                and isinstance(payload.get("id"), str)
            ):
                request_id = payload["id"][:100]
            columns = parse(payload, predictor)
            checked = predictor.matrix(columns)
            if len(next(iter(checked.values()))) <= INLINE_ROWS:
                outputs = predictor.predict(checked)
            else:
                outputs = await anyio.to_thread.run_sync(predictor.predict, checked)
            holdout = deployment.holdout(key)
        except RequestError as exc:
            return fail(exc, request_id, name, variant_name, protocol)
        except Exception:  # a bug, never a bad request: logged whole, answered 500
            log.exception("request %s on %s failed", request_id, name)
            m.requests.labels(name, variant_name, protocol, "500").inc()
            return _json(
                {"error": "internal error; see the server's log", "request_id": request_id},
                500,
                {"x-request-id": request_id},
            )
        body = respond(request_id, outputs, variant, predictor, holdout)
        latency = time.perf_counter() - started
        m.requests.labels(name, variant.name, protocol, "200").inc()
        m.latency.labels(name, variant.name).observe(latency)
        shadows = bool(deployment.shadows)
        if state.capture is not None and (
            shadows or endpoint.capture >= 1.0 or random.random() < endpoint.capture  # noqa: S311
        ):
            state.capture.offer(
                (
                    request_id,
                    time.time(),
                    name,
                    variant.name,
                    predictor.ref,
                    False,
                    holdout,
                    latency * 1000,
                    predictor.captured(columns, checked),
                    outputs,
                )
            )
        if access.isEnabledFor(logging.INFO):
            access.info(
                dumps(
                    {
                        "request_id": request_id,
                        "endpoint": name,
                        "protocol": protocol,
                        "variant": variant.name,
                        "model": predictor.ref,
                        "status": 200,
                        "holdout": holdout,
                        "rows": len(outputs.predictions),
                        "latency_ms": round(latency * 1000, 3),
                    }
                ).decode()
            )
        return _json(
            body,
            headers={
                "x-request-id": request_id,
                "x-alambic-variant": variant.name,
                "x-alambic-model": predictor.ref,
            },
            background=(
                BackgroundTask(shadow_task, deployment, columns, request_id, holdout)
                if shadows
                else None
            ),
        )

    def mlflow_parse(payload: Any, predictor: Predictor) -> dict[str, list[Any]]:
        return columns_from_mlflow(payload, predictor.columns)

    def v2_parse(payload: Any, predictor: Predictor) -> dict[str, list[Any]]:
        return columns_from_v2(payload, predictor.kinds)

    def mlflow_respond(
        request_id: str, outputs: Outputs, variant: Variant, predictor: Predictor, holdout: bool
    ) -> dict[str, Any]:
        return mlflow_body(
            request_id, outputs, variant=variant.name, ref=predictor.ref, holdout=holdout
        )

    async def invocations(request: Request) -> Response:
        name = request.path_params.get("name")
        if name is None:
            if len(state.deployments) != 1:
                return fail(
                    RequestError(
                        "this server serves several endpoints: POST /endpoints/{name}/invocations "
                        f"(served: {sorted(state.deployments)})",
                        status=404,
                    ),
                    _request_id(request),
                    "-",
                    "-",
                    "mlflow",
                )
            name = next(iter(state.deployments))
        return await score(request, name, "mlflow", mlflow_parse, mlflow_respond)

    async def v2_infer(request: Request) -> Response:
        name = request.path_params["name"]

        def respond(
            request_id: str, outputs: Outputs, variant: Variant, predictor: Predictor, holdout: bool
        ) -> dict[str, Any]:
            return v2_body(
                name, request_id, outputs, variant=variant.name, ref=predictor.ref, holdout=holdout
            )

        return await score(
            request, name, "v2", v2_parse, respond, version=request.path_params.get("version")
        )

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
        *,
        admin: bool = False,
        endpoint_param: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            request_id = _request_id(request)
            name = request.path_params.get("name")
            try:
                deployment = state.deployments.get(name) if name else None
                if endpoint_param and deployment is None:
                    raise RequestError(f"no endpoint {name!r} is served here", status=404)
                if admin or deployment is None or not deployment.endpoint.public:
                    state.authorize(request, endpoint=name, admin=admin)
                return await handler(request)
            except RequestError as exc:
                return fail(exc, request_id, name or "-", "-", "admin" if admin else "meta")

        return route

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        ok = bool(state.deployments) or state.names == []
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(request: Request) -> Response:
        from importlib.metadata import version

        return _json({"name": "alambic", "version": version("alambic"), "extensions": []})

    async def model_meta(request: Request) -> Response:
        deployment = state.deployments[request.path_params["name"]]
        predictor = deployment.variants[0][1]
        outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        if predictor.proba:
            outputs.append(
                {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(predictor.classes)]}
            )
        return _json(
            {
                "name": deployment.endpoint.name,
                "versions": sorted({p.version for _, p in deployment.variants}),
                "platform": f"alambic-{predictor.model.flavor}",
                "inputs": predictor.describe(),
                "outputs": outputs,
                "parameters": {"variants": state.summary()[deployment.endpoint.name]["variants"]},
            }
        )

    async def model_ready(request: Request) -> Response:
        return _json({"name": request.path_params["name"], "ready": True})

    async def labels(request: Request) -> Response:
        from alambic.serving._capture import write_labels

        name = request.path_params["name"]
        payload = loads(await _body(request, 50 * 1024 * 1024))
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

    async def admin_endpoints(request: Request) -> Response:
        capture = state.capture
        return _json(
            {
                "endpoints": state.summary(),
                "capture": {
                    "queued": 0 if capture is None else len(capture._queue),
                    "dropped": 0 if capture is None else capture.dropped,
                    "written": 0 if capture is None else capture.written,
                },
            }
        )

    async def admin_reload(request: Request) -> Response:
        try:
            await anyio.to_thread.run_sync(state.load)
        except AlambicError as exc:
            raise RequestError(
                f"reload failed, the previous models stay: {exc}", status=409
            ) from None
        return _json({"endpoints": state.summary()})

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

    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/ping", live),
        Route("/health", live),
        Route("/v2", server_meta),
        Route("/v2/models/{name}", guarded(model_meta, endpoint_param=True)),
        Route("/v2/models/{name}/ready", guarded(model_ready, endpoint_param=True)),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/labels", guarded(labels, endpoint_param=True), methods=["POST"]),
        Route("/metrics", metrics_route),
        Route("/admin/endpoints", guarded(admin_endpoints, admin=True)),
        Route("/admin/reload", guarded(admin_reload, admin=True), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.alambic = state
    return app
