"""Content hashing: the basis of artifact addresses and cache keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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


def code_hash(fn: Callable[..., Any], extra: str = "") -> str:
    """The hash of a function's source (its bytecode when the source is not available)
    and ``extra``: what a step's cache key holds of its code.

    Example:
        >>> def add(a, b):
        ...     return a + b
        >>> code_hash(add) == code_hash(add) != code_hash(add, "v2")
        True
    """
    import inspect  # not at import time: it costs milliseconds, and most processes never need it
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        code = fn.__code__
        source = repr((code.co_code, code.co_consts, code.co_names))
    return sha256_text(source + "\x00" + extra)
