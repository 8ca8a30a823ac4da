"""Sortable, readable ids for runs and step runs."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    """Return an id like ``run-20261123-134501-8f3a2c91d04e`` that sorts by creation time.

    Example:
        >>> new_id("run").startswith("run-")
        True
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    # 48 random bits: a map of a million steps made in one second still never collides.
    return f"{prefix}-{stamp}-{secrets.token_hex(6)}"
