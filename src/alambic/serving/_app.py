"""The ASGI app: its route table and lifespan (the handlers live by job in their modules).

Routes:
    - ``GET /v2/health/live``, ``/v2/health/ready``, ``/v2``: health and server metadata.
    - ``GET /v2/models/{name}[/versions/{v}]``, ``.../ready``; ``POST
      /v2/models/{name}[/versions/{v}]/infer``: Open Inference Protocol v2, in JSON or
      in its binary tensor extension (``_binary``; what ``tritonclient`` sends).
    - ``POST /invocations`` (when one endpoint is served), ``POST
      /endpoints/{name}/invocations``: MLflow's scoring protocol (JSON or CSV).
    - ``POST /endpoints/{name}/labels``: ground truth that arrives later (token always).
    - ``GET /metrics``: Prometheus. ``GET /admin/endpoints``, ``POST /admin/reload``.

Every answer, errors included, is JSON with a request id; a bad request is a 4xx that
names the field and what was expected. Small requests are parsed, checked and scored
on the event loop (a thread hop would cost more than the work); larger ones in a
thread, so that one big body never holds up the others.

A ``POST`` to a scoring route is handed to its handler by :class:`ServingApp` itself,
without Starlette's router and middleware; every other request goes through them.

Handlers are module-level functions that read what the server holds from
``request.app.state``: ``alambic`` (the :class:`ServerState`), ``metrics`` and
``options``. Modules: ``_scoring`` (both scoring protocols, shadows, capture),
``_labels``, ``_meta`` (health, metadata, metrics), ``_admin``, and ``_responses``
(JSON answers, request ids, the access log, error answers). ``_grpc`` serves the same
scoring over gRPC (``inference.GRPCInferenceService``) when a gRPC port is set.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from alambic.serving._admin import admin_endpoints, admin_reload
from alambic.serving._labels import labels
from alambic.serving._meta import live, model_meta, model_ready, prometheus, ready, server_meta
from alambic.serving._metrics import metrics
from alambic.serving._options import ServerOptions
from alambic.serving._responses import not_found
from alambic.serving._scoring import infer, invocations
from alambic.serving._state import Deployment, ServerState

__all__ = [
    "Deployment",
    "ServerOptions",
    "ServerState",
    "ServingApp",
    "create_app",
    "lifespan",
    "routes",
]

routes: list[BaseRoute] = [  # scoring first: the router tries each route in turn
    Route("/v2/models/{name}/infer", infer, methods=["POST"]),
    Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
    Route("/invocations", invocations, methods=["POST"]),
    Route("/endpoints/{name}/invocations", invocations, methods=["POST"]),
    Route("/v2/health/live", live),
    Route("/v2/health/ready", ready),
    Route("/ping", live),
    Route("/health", live),
    Route("/v2", server_meta),
    Route("/v2/models/{name}", model_meta),
    Route("/v2/models/{name}/ready", model_ready),
    Route("/v2/models/{name}/versions/{version}", model_meta),
    Route("/v2/models/{name}/versions/{version}/ready", model_ready),
    Route("/endpoints/{name}/labels", labels, methods=["POST"]),
    Route("/metrics", prometheus),
    Route("/admin/endpoints", admin_endpoints),
    Route("/admin/reload", admin_reload, methods=["POST"]),
]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Load every model before the first request; write what capture holds at the end.

    With ``ServerOptions.grpc_port`` set, the gRPC server (``_grpc``) runs on the same
    event loop from then on; ``app.state.grpc_port`` is the port it is bound to.
    """
    state: ServerState = app.state.alambic
    options: ServerOptions = app.state.options
    await anyio.to_thread.run_sync(state.start)
    grpc_server = None
    try:
        if options.grpc_port is not None:
            from alambic.serving._grpc import start_grpc

            grpc_server, app.state.grpc_port = await start_grpc(
                state, app.state.metrics, host=options.grpc_host, port=options.grpc_port
            )
        yield
    finally:
        if grpc_server is not None:
            await grpc_server.stop(5)  # calls under way get 5 s to finish
        await anyio.to_thread.run_sync(state.stop)


Handler = Callable[[Request], Awaitable[Response]]


def scoring_route(path: str) -> tuple[Handler, dict[str, str]] | None:
    """The scoring handler of a path and its parameters, as the route table reads it;
    None for any other path.

    Example:
        >>> handler, params = scoring_route("/v2/models/fraud/versions/3/infer")
        >>> handler.__name__, params
        ('infer', {'name': 'fraud', 'version': '3'})
        >>> scoring_route("/invocations/") is None  # the router redirects it
        True
    """
    parts = path.split("/")
    if path == "/invocations":
        return invocations, {}
    if "" in parts[1:]:
        return None
    if len(parts) == 4 and parts[1] == "endpoints" and parts[3] == "invocations":
        return invocations, {"name": parts[2]}
    if len(parts) >= 5 and parts[1] == "v2" and parts[2] == "models" and parts[-1] == "infer":
        if len(parts) == 5:
            return infer, {"name": parts[3]}
        if len(parts) == 7 and parts[4] == "versions":
            return infer, {"name": parts[3], "version": parts[5]}
    return None


class ServingApp(Starlette):
    """Starlette, with the scoring routes called straight from the ASGI entry.

    A ``POST`` to a scoring path skips the router and the middleware (each of which
    wraps every message of every request): measured at about a tenth of a one-row
    request's server time. The handler and what it answers are the router's: the
    scoring handlers answer their own errors, and an exception that escapes one reaches
    uvicorn, which answers 500 and logs it, as Starlette's error middleware would.
    Every other request, and any path served under a ``root_path``, goes through the
    router.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            route = scoring_route(scope["path"])
            if route is not None:
                handler, scope["path_params"] = route
                scope["app"] = self
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    endpoints: list[str] | None = None,
    *,
    options: ServerOptions | None = None,
    **legacy: float,
) -> ServingApp:
    """The serving app for some endpoints (all of them when ``endpoints`` is None).

    Models load when the app starts (its lifespan), so a server answers ready only with
    every model in memory.

    Args:
        endpoints: names to serve; None serves every endpoint, new ones included.
        options: polling, token cache and capture bounds (:class:`ServerOptions`'
            defaults when None).
        **legacy: those options as keywords, as 0.1 took them (deprecated: removed in the
            next release).

    Example:
        >>> app = create_app(["fraud"], options=ServerOptions(poll_seconds=5))
        >>> sorted({route.path for route in app.routes})[:3]
        ['/admin/endpoints', '/admin/reload', '/endpoints/{name}/invocations']
        >>> import uvicorn  # then serve it (the models load when it starts):
        >>> uvicorn.run(app, port=8080)  # doctest: +SKIP
    """
    if legacy:
        warnings.warn(
            f"create_app({', '.join(f'{k}=' for k in sorted(legacy))}) is deprecated and will be "
            "removed in the next release; pass options=ServerOptions(...)",
            DeprecationWarning,
            stacklevel=2,
        )
        options = ServerOptions(**{**vars(options or ServerOptions()), **legacy})
    options = ServerOptions() if options is None else options
    state = ServerState(endpoints, options=options)
    app = ServingApp(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found}
    )
    app.state.alambic = state
    app.state.metrics = metrics()
    app.state.options = options
    return app
