"""Content hashing: the basis of artifact addresses and cache keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, BinaryIO

_CHUNK = 1 << 20


def canonical_json(value: Any) -> str:
    """Serialise ``value`` to JSON with sorted keys and no spaces, so equal values hash equal.

    Example:
        >>> canonical_json({"b": 1, "a": [1.5, None]})
        '{"a":[1.5,null],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Return the hex sha256 of ``text`` encoded as UTF-8."""
    return sha256_bytes(text.encode("utf-8"))


def sha256_stream(stream: BinaryIO) -> str:
    """Return the hex sha256 of everything left in a binary stream."""
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a local file, read in chunks."""
    with open(path, "rb") as stream:
        return sha256_stream(stream)
