"""What a server and its models say about themselves: health, metadata, metrics.

Health (``/v2/health/live``, ``/v2/health/ready``, ``/ping``, ``/health``), server
metadata (``/v2``) and Prometheus (``/metrics``) need no token; a model's metadata and
readiness (``/v2/models/{name}[/versions/{v}][/ready]``) need one unless its endpoint
is public.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from alambic.serving._config import Variant
from alambic.serving._gauges import render_gauges
from alambic.serving._metrics import render
from alambic.serving._predictor import Predictor, RequestError
from alambic.serving._protocols import datatype_of
from alambic.serving._responses import guarded, json_response
from alambic.serving._state import Deployment, ServerState

__all__ = [
    "is_ready",
    "live",
    "model_meta",
    "model_metadata",
    "model_ready",
    "prometheus",
    "ready",
    "server_meta",
    "server_metadata",
    "versioned",
]


async def live(request: Request) -> Response:
    """The process answers."""
    return json_response({"live": True})


async def ready(request: Request) -> Response:
    """Every endpoint is loaded (503 until then)."""
    ok = is_ready(request.app.state.alambic)
    return json_response({"ready": ok}, 200 if ok else 503)


def is_ready(state: ServerState) -> bool:
    """Every endpoint is loaded (or none is asked for)."""
    return bool(state.deployments) or state.names == []


def server_metadata() -> dict[str, Any]:
    """Open Inference Protocol v2 server metadata (both transports)."""
    from importlib.metadata import version

    return {"name": "alambic", "version": version("alambic"), "extensions": []}


async def server_meta(request: Request) -> Response:
    """Open Inference Protocol v2 server metadata."""
    return json_response(server_metadata())


async def prometheus(request: Request) -> Response:
    """Every worker's metrics in Prometheus' text format."""
    body, content_type = render()
    state: ServerState = request.app.state.alambic
    gauges = await anyio.to_thread.run_sync(render_gauges, list(state.deployments))
    return Response(body + gauges.encode(), 200, media_type=content_type)


def versioned(deployment: Deployment, version: str | None) -> list[tuple[Variant, Predictor]]:
    """The variants serving ``version`` (all of them when None); 404 when none does."""
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


@guarded(endpoint_param=True)
async def model_meta(request: Request, deployment: Deployment) -> Response:
    """Open Inference Protocol v2 model metadata: inputs, outputs, variants."""
    return json_response(model_metadata(deployment, request.path_params.get("version")))


def model_metadata(deployment: Deployment, version: str | None) -> dict[str, Any]:
    """A model's v2 metadata (both transports): inputs, outputs, variants.

    Raises:
        RequestError: 404, no variant serves ``version``.
    """
    variants = versioned(deployment, version)
    predictor = variants[0][1]
    labels = datatype_of(predictor.classes) if predictor.classes else "FP64"
    outputs = [{"name": "predict", "datatype": labels, "shape": [-1]}]
    if predictor.proba:
        outputs.append(
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(predictor.classes)]}
        )
    return {
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


@guarded(endpoint_param=True)
async def model_ready(request: Request, deployment: Deployment) -> Response:
    """The endpoint (at that version) is served here."""
    versioned(deployment, request.path_params.get("version"))
    return json_response({"name": deployment.endpoint.name, "ready": True})
