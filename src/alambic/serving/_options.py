"""A server's tunables: how often it polls the store, token caching, capture bounds.

Example:
    >>> from alambic.serving import ServerOptions
    >>> ServerOptions(poll_seconds=5).token_ttl
    2.0
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerOptions"]


@dataclass(frozen=True)
class ServerOptions:
    """What :func:`~alambic.serving.create_app` and its ``ServerState`` are tuned by.

    Attributes:
        poll_seconds: how often the store is asked whether something changed.
        token_ttl: how long a checked token is trusted before it is checked again.
        capture_max_rows: the capture queue's bound in records (more are dropped, counted).
        capture_max_bytes: the capture queue's bound in request-body bytes.
        capture_flush_seconds: how often the capture queue is written to the store.
        grpc_port: serve Open Inference Protocol v2 over gRPC on this port too (0: any
            free one; None: HTTP only), from the app's lifespan.
        grpc_host: the address the gRPC port is bound on.

    Example:
        >>> from alambic.serving import ServerOptions, create_app
        >>> app = create_app(["fraud"], options=ServerOptions(poll_seconds=5))
        >>> app.state.options.poll_seconds, app.state.options.token_ttl
        (5, 2.0)
    """

    poll_seconds: float = 1.0
    token_ttl: float = 2.0
    capture_max_rows: int = 100_000
    capture_max_bytes: int = 256 * 1024 * 1024
    capture_flush_seconds: float = 1.0
    grpc_port: int | None = None
    grpc_host: str = "127.0.0.1"
