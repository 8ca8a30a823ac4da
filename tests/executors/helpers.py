"""Helpers shared by the executor tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RayCluster:
    """A Ray cluster started for the tests."""

    address: str  # the GCS, for ray.init(address=...)
    client_address: str  # the Ray client server, ray://host:port
