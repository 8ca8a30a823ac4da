"""Gauges other capabilities publish for an endpoint, shown on the server's ``/metrics``.

Monitoring publishes each monitor run's figures (drift per column, violations, quality)
with :func:`publish_gauges`: one small JSON file per endpoint and source under
``<artifacts>/gauges/``, replaced whole at each run. Every worker of ``alambic serve``
adds the gauges of the endpoints it serves to its Prometheus text on each scrape, so
alerts on drift live where alerts on latency do. Serving knows no monitoring vocabulary:
a gauge is a name, a help text, labels and a value.

Example:
    >>> publish_gauges("fraud", "monitor-x", [("alambic_demo", "A demo.", {"k": "v"}, 1.0)])
    >>> print(render_gauges(["fraud"]).splitlines()[-1])
    alambic_demo{endpoint="fraud",source="monitor-x",k="v"} 1.0
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

__all__ = ["publish_gauges", "render_gauges"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
Gauge = tuple[str, str, dict[str, str], float]  # name, help, labels, value


def _root() -> str:
    from alambic.config import settings

    return f"{str(settings().artifacts).rstrip('/')}/gauges"


def _fs(url: str) -> tuple[Any, str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def publish_gauges(endpoint: str, source: str, gauges: list[Gauge]) -> None:
    """Replace what ``source`` shows for ``endpoint`` with ``gauges``.

    Raises:
        ValueError: a gauge name Prometheus does not take.
    """
    for name, *_ in gauges:
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a Prometheus metric name")
    rows = [
        {"name": n, "help": h, "labels": {str(k): str(v) for k, v in labels.items()}, "value": v}
        for n, h, labels, v in gauges
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    fs, path = _fs(f"{_root()}/endpoint={endpoint}/{source}.json")
    fs.makedirs(path.rpartition("/")[0], exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"  # several runs may publish at once
    with fs.open(tmp, "w") as handle:
        json.dump(rows, handle)
    fs.mv(tmp, path)


def _quoted(value: str) -> str:
    """A label value as Prometheus' text format writes it (\\, \" and \n escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_gauges(endpoints: list[str]) -> str:
    """The published gauges of these endpoints in Prometheus' text format."""
    import fsspec

    series: dict[str, tuple[str, list[str]]] = {}
    fs, base = _fs(_root())
    for endpoint in endpoints:
        try:
            files = fs.glob(f"{base}/endpoint={endpoint}/*.json")
        except (OSError, ValueError):
            continue
        for file in files:
            source = file.rpartition("/")[2].removesuffix(".json")
            try:
                with fs.open(file) as handle:
                    rows = json.load(handle)
            except (OSError, ValueError, fsspec.exceptions.FSTimeoutError):
                continue  # replaced while read: the next scrape shows it
            for row in rows:
                labels = {"endpoint": endpoint, "source": source, **row["labels"]}
                text = ",".join(f'{k}="{_quoted(v)}"' for k, v in labels.items())
                help_, lines = series.setdefault(row["name"], (row["help"], []))
                lines.append(f"{row['name']}{{{text}}} {float(row['value'])}")
    out = []
    for name, (help_, lines) in sorted(series.items()):
        out += [f"# HELP {name} {help_}", f"# TYPE {name} gauge", *lines]
    return "\n".join(out) + ("\n" if out else "")
