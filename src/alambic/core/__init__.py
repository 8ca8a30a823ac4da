"""Base utilities: ids, hashing, durations, optional imports, the plugin registry."""

from alambic.core._hashing import (
    canonical_json,
    code_hash,
    sha256_bytes,
    sha256_file,
    sha256_stream,
    sha256_text,
)
from alambic.core._ids import new_id
from alambic.core._imports import optional_import
from alambic.core._plugins import BUILTIN, ENTRY_POINT, USER, PluginRegistry, load_path
from alambic.core._time import parse_duration, utcnow

__all__ = [
    "BUILTIN",
    "ENTRY_POINT",
    "USER",
    "PluginRegistry",
    "canonical_json",
    "code_hash",
    "load_path",
    "new_id",
    "optional_import",
    "parse_duration",
    "sha256_bytes",
    "sha256_file",
    "sha256_stream",
    "sha256_text",
    "utcnow",
]
