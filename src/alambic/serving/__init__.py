"""Serving: endpoints from the registry over standard protocols, data capture, batch transform.

An endpoint is a named, stored configuration: weighted variants (registry references),
optional shadow variants and a holdout share. ``alambic serve`` runs them behind Open
Inference Protocol v2 and MLflow-style ``/invocations`` routes.

Example:
    >>> from alambic.serving import Variant
    >>> Variant.parse("fraud-auto@production:0.9").weight
    0.9
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "Endpoint": "._config",
    "Variant": "._config",
    "create_endpoint": "._endpoints",
    "delete_endpoint": "._endpoints",
    "get_endpoint": "._endpoints",
    "list_endpoints": "._endpoints",
    "update_endpoint": "._endpoints",
    "check_token": "._endpoints",
    "create_token": "._endpoints",
    "endpoint_history": "._endpoints",
    "list_tokens": "._endpoints",
    "revoke_token": "._endpoints",
    "read_capture": "._capture",
    "read_labels": "._capture",
    "publish_gauges": "._gauges",
    "capture_root": "._capture",
    "write_labels": "._capture",
    "create_app": "._app",
    "http_protocol": "._http",
    "ServerOptions": "._options",
    "serve": "._server",
    "BatchResult": "._batch",
    "DEFAULT_CHUNK_ROWS": "._batch",
    "batch_transform": "._batch",
    "EndpointRecord": "._store",
    "ServingStore": "._store",
    "TokenRecord": "._store",
    "serving_store": "._store",
}
__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchResult",
    "Endpoint",
    "EndpointRecord",
    "ServerOptions",
    "ServingStore",
    "TokenRecord",
    "Variant",
    "batch_transform",
    "capture_root",
    "check_token",
    "create_app",
    "create_endpoint",
    "create_token",
    "delete_endpoint",
    "endpoint_history",
    "get_endpoint",
    "http_protocol",
    "list_endpoints",
    "list_tokens",
    "publish_gauges",
    "read_capture",
    "read_labels",
    "revoke_token",
    "serve",
    "serving_store",
    "update_endpoint",
    "write_labels",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.serving._app import create_app
    from alambic.serving._batch import DEFAULT_CHUNK_ROWS, BatchResult, batch_transform
    from alambic.serving._capture import capture_root, read_capture, read_labels, write_labels
    from alambic.serving._config import Endpoint, Variant
    from alambic.serving._endpoints import (
        check_token,
        create_endpoint,
        create_token,
        delete_endpoint,
        endpoint_history,
        get_endpoint,
        list_endpoints,
        list_tokens,
        revoke_token,
        update_endpoint,
    )
    from alambic.serving._gauges import publish_gauges
    from alambic.serving._http import http_protocol
    from alambic.serving._options import ServerOptions
    from alambic.serving._server import serve
    from alambic.serving._store import EndpointRecord, ServingStore, TokenRecord, serving_store
