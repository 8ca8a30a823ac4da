"""``POST /endpoints/{name}/labels``: ground truth that arrives after the answer.

Labels join the captured requests by request id (and row). The route needs a token
even on a public endpoint.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from alambic.errors import AlambicError
from alambic.serving._predictor import RequestError
from alambic.serving._protocols import loads
from alambic.serving._responses import INLINE_BYTES, guarded, json_response, read_body
from alambic.serving._state import Deployment

__all__ = ["labels"]


@guarded(endpoint_param=True, token_always=True)
async def labels(request: Request, deployment: Deployment) -> Response:
    """``POST /endpoints/{name}/labels``: ground truth for captured requests."""
    from alambic.serving._capture import write_labels

    name = deployment.endpoint.name
    raw = await read_body(request, deployment.endpoint.max_body_bytes)
    payload = loads(raw) if len(raw) <= INLINE_BYTES else await anyio.to_thread.run_sync(loads, raw)
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
    return json_response({"endpoint": name, "labels": count})
