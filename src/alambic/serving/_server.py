"""Run the serving app on uvicorn: one process, or N worker processes on one port.

Example:
    >>> from alambic.serving import serve  # doctest: +SKIP
    >>> serve(["fraud"], port=8080, workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from alambic.errors import ServingError

__all__ = ["app_from_env", "log_config", "serve"]

_ENDPOINTS_ENV = "ALAMBIC_SERVE_ENDPOINTS"
_POLL_ENV = "ALAMBIC_SERVE_POLL_SECONDS"
_GRPC_PORT_ENV = "ALAMBIC_SERVE_GRPC_PORT"
_GRPC_HOST_ENV = "ALAMBIC_SERVE_GRPC_HOST"


def log_config(level: str = "info", *, access_log: bool = True) -> dict[str, Any]:
    """uvicorn's logging, plus alambic's JSON access log (one line per request) on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"format": "%(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "alambic": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "alambic.serving.access": {
                "handlers": ["access"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }


def app_from_env() -> Any:
    """The app a uvicorn worker process builds (its settings travel in the environment)."""
    from alambic.serving._app import create_app
    from alambic.serving._options import ServerOptions

    names = os.environ.get(_ENDPOINTS_ENV, "*")
    grpc_port = os.environ.get(_GRPC_PORT_ENV)
    return create_app(
        None if names == "*" else [n for n in names.split(",") if n],
        options=ServerOptions(
            poll_seconds=float(os.environ.get(_POLL_ENV, "1.0")),
            grpc_port=None if not grpc_port else int(grpc_port),
            grpc_host=os.environ.get(_GRPC_HOST_ENV, "127.0.0.1"),
        ),
    )


def serve(
    endpoints: list[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = True,
    poll_seconds: float = 1.0,
    grpc_port: int | None = None,
) -> None:
    """Serve endpoints (every one in the store when None) until interrupted.

    With ``grpc_port``, Open Inference Protocol v2 over gRPC is served on it too (on
    ``host``, by every worker: the port is shared with ``SO_REUSEPORT``).

    The endpoints and their models are checked before the port opens: a missing endpoint
    or a model that cannot load stops here with a message saying what to fix.

    Raises:
        ServingError: nothing to serve, an unknown endpoint, a model that cannot load.
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - the serve extra is missing
        raise ServingError("serving needs its extra: pip install 'alambic[serve]'") from None
    from alambic.serving._endpoints import list_endpoints
    from alambic.serving._http import http_protocol
    from alambic.serving._predictor import WORKERS_ENV
    from alambic.serving._state import ServerState

    if workers < 1:
        raise ServingError(f"--workers must be at least 1, got {workers}")
    if grpc_port is not None and grpc_port == port and port != 0:
        raise ServingError(f"--grpc-port {grpc_port} is the HTTP port; give another one")
    if grpc_port == 0 and workers > 1:
        raise ServingError("--grpc-port 0 with several workers would bind one port each; give one")
    if endpoints is None and not list_endpoints():
        raise ServingError(
            "there is no endpoint to serve; create one: "
            "alambic endpoints create NAME --variant MODEL@production"
        )
    # Before any metric exists in this process: prometheus_client picks in-memory or
    # file-backed values once, and with one worker uvicorn serves from this process.
    metrics_dir = tempfile.mkdtemp(prefix="alambic-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        ServerState(endpoints).load(strict=True)  # fail before binding the port, with why
    except BaseException:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        raise
    os.environ[_ENDPOINTS_ENV] = "*" if endpoints is None else ",".join(endpoints)
    os.environ[_POLL_ENV] = str(poll_seconds)
    os.environ[_GRPC_PORT_ENV] = "" if grpc_port is None else str(grpc_port)
    os.environ[_GRPC_HOST_ENV] = host
    before = os.environ.get(WORKERS_ENV)
    os.environ[WORKERS_ENV] = str(workers)  # large batches share the cores among workers
    try:
        uvicorn.run(
            "alambic.serving._server:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=http_protocol(),  # uvicorn's parser, answering what it refuses in JSON
            log_config=log_config(log_level, access_log=access_log),
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if before is None:
            os.environ.pop(WORKERS_ENV, None)
        else:
            os.environ[WORKERS_ENV] = before
