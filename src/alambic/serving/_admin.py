"""Admin routes (an admin token): what is served, and a reload on demand.

``GET /admin/endpoints`` lists the endpoints served, those whose latest load failed,
and the capture queue; ``POST /admin/reload`` loads every endpoint from the store now,
instead of at the watcher's next poll.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from alambic.errors import AlambicError
from alambic.serving._metrics import Metrics
from alambic.serving._predictor import RequestError
from alambic.serving._responses import guarded, json_response
from alambic.serving._state import ServerState

__all__ = ["admin_endpoints", "admin_reload"]


@guarded(admin=True)
async def admin_endpoints(request: Request, deployment: Any) -> Response:
    """What is served now, what failed to load, and the capture queue's counts."""
    state: ServerState = request.app.state.alambic
    capture = state.capture
    return json_response(
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


@guarded(admin=True)
async def admin_reload(request: Request, deployment: Any) -> Response:
    """Load every endpoint now; 409 when one keeps its previous models."""
    state: ServerState = request.app.state.alambic
    m: Metrics = request.app.state.metrics
    try:
        await anyio.to_thread.run_sync(state.load)
    except AlambicError as exc:
        m.reloads.labels("failed").inc()
        raise RequestError(
            f"reload failed, the models in service stay: {exc}", status=409
        ) from None
    m.reloads.labels("failed" if state.failures else "ok").inc()
    if state.failures:
        failing = {n: f.error for n, f in state.failures.items()}
        raise RequestError(
            f"some endpoints could not load their new models and keep their previous "
            f"ones: {failing}",
            status=409,
        )
    return json_response({"endpoints": state.summary()})
