"""The control plane's ASGI app (FastAPI) and how ``alambic server`` runs it (uvicorn).

The app serves the REST API (``/api/v1``, described at ``/api/v1/openapi.json``) and,
unless started without loops, runs the scheduler in a thread of each worker process;
the scheduler's lease lets one of them work at a time.

Example:
    >>> from alambic.server import create_app
    >>> app = create_app(loops=False)
    >>> app.openapi()["info"]["title"]
    'alambic control plane'
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alambic.errors import (
    AlambicError,
    DefinitionError,
    NotFoundError,
    ParameterError,
    PipelineLoadError,
    RegistryError,
    RunError,
    TriggerError,
)
from alambic.server._api import hooks, router
from alambic.server._loops import Loops

__all__ = ["app_from_env", "create_app", "serve_control_plane"]

log = logging.getLogger(__name__)

# An error's class decides its status; the message says what to do next.
_STATUS: tuple[tuple[type[AlambicError], int], ...] = (
    (NotFoundError, 404),
    (ParameterError, 422),
    (DefinitionError, 422),
    (PipelineLoadError, 422),
    (TriggerError, 422),
    (RegistryError, 409),
    (RunError, 409),
)
_ENV_PROJECT, _ENV_LOOPS = "ALAMBIC_SERVER_PROJECT", "ALAMBIC_SERVER_LOOPS"


async def _alambic_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)


def create_app(*, project: str | Path | None = None, loops: bool = True) -> FastAPI:
    """The control plane's app.

    Args:
        project: the folder pipelines are named in (default: the working folder).
        loops: run the scheduler in this process (False: the API alone).
    """
    folder = Path(project or os.getcwd()).resolve()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = Loops() if loops else None
        app.state.loops = running
        app.state.wake = running.wake if running else (lambda: None)
        if running:
            running.start()
        try:
            yield
        finally:
            if running:
                running.stop()

    app = FastAPI(
        title="alambic control plane",
        version=_version(),
        description="Runs, schedules, registry actions and monitors. Every route but "
        "/api/v1/health needs a token (`alambic tokens create NAME --scope read|run|admin`).",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.project = folder
    app.state.loops = None
    app.state.wake = lambda: None
    app.include_router(router)
    app.include_router(hooks)
    app.add_exception_handler(AlambicError, _alambic_error)
    return app


def _version() -> str:
    from alambic import __version__

    return __version__


def app_from_env() -> FastAPI:
    """The app of a uvicorn worker (``--workers N``), configured by ``alambic server``."""
    return create_app(
        project=os.environ.get(_ENV_PROJECT), loops=os.environ.get(_ENV_LOOPS, "1") == "1"
    )


def serve_control_plane(
    *,
    host: str = "127.0.0.1",
    port: int = 8090,
    workers: int = 1,
    project: str | Path | None = None,
    loops: bool = True,
    log_level: str = "info",
) -> None:
    """Run the control plane until interrupted (``alambic server``).

    Raises:
        TriggerError: on SQLite, another live server already runs the loops.
    """
    import uvicorn

    from alambic.config import settings
    from alambic.server._loops import check_single

    if loops:
        check_single(settings().db_url)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level}
    if workers <= 1:
        uvicorn.run(create_app(project=project, loops=loops), **options)
        return
    os.environ[_ENV_PROJECT] = str(Path(project or os.getcwd()).resolve())
    os.environ[_ENV_LOOPS] = "1" if loops else "0"
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # A worker still importing on a busy machine is not a dead one (uvicorn's 5 s).
        options["timeout_worker_healthcheck"] = 60
    uvicorn.run("alambic.server._app:app_from_env", factory=True, workers=workers, **options)
