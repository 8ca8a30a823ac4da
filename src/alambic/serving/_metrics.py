"""Prometheus metrics of the server: requests, errors, latency, capture, reloads.

Every series of a served endpoint exists from its load on, at 0, so that alerts on
``increase(...)`` see the first drop or failure.

With several worker processes (``alambic serve --workers N``), ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a private folder before the workers start, and
``/metrics`` sums every worker's values, whichever worker answers the scrape.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Metrics", "metrics", "render"]

# seconds: 0.5 ms (a one-row request) to 10 s
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass(frozen=True)
class Metrics:
    requests: Any
    latency: Any
    capture_dropped: Any
    capture_rows: Any
    reloads: Any
    reload_failing: Any
    # (metric name, labels) -> its series: prometheus_client's labels() costs more than
    # the count itself, on every request
    _series: dict[tuple[str, tuple[str, ...]], Any] = field(default_factory=dict, repr=False)

    def count(self, endpoint: str, variant: str, protocol: str, status: str) -> None:
        """One more request answered (``alambic_requests``)."""
        self._of("requests", (endpoint, variant, protocol, status)).inc()

    def observe(self, endpoint: str, variant: str, seconds: float) -> None:
        """One request's latency (``alambic_request_duration_seconds``)."""
        self._of("latency", (endpoint, variant)).observe(seconds)

    def _of(self, metric: str, labels: tuple[str, ...]) -> Any:
        key = (metric, labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = getattr(self, metric).labels(*labels)
        return series


@functools.cache
def metrics() -> Metrics:
    """The process's metrics (created once: Prometheus refuses a name twice)."""
    from prometheus_client import Counter, Gauge, Histogram

    return Metrics(
        requests=Counter(
            "alambic_requests",
            "Requests answered, by endpoint, variant, protocol and HTTP status.",
            ["endpoint", "variant", "protocol", "status"],
        ),
        latency=Histogram(
            "alambic_request_duration_seconds",
            "Time from a request's arrival to its response, by endpoint and variant.",
            ["endpoint", "variant"],
            buckets=_LATENCY_BUCKETS,
        ),
        capture_dropped=Counter(
            "alambic_capture_dropped",
            "Captured records dropped because the capture queue was full (or a write failed).",
            ["endpoint"],
        ),
        capture_rows=Counter(
            "alambic_capture_rows", "Rows written to the capture store.", ["endpoint"]
        ),
        reloads=Counter(
            "alambic_model_reloads",
            "Background reloads of endpoints (alias moves, config changes), by outcome.",
            ["outcome"],
        ),
        reload_failing=Gauge(
            "alambic_endpoint_reload_failing",
            "1 while an endpoint's new models cannot load (it serves its previous ones).",
            ["endpoint"],
            multiprocess_mode="livemax",  # a worker that died says nothing
        ),
    )


def render() -> tuple[bytes, str]:
    """The text exposition of every worker's metrics, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
