"""Base utilities: ids, hashing, durations, optional imports, the plugin registry,
"did you mean …?" suggestions for mistyped names, and signed webhook deliveries."""

from alambic.core._crash import crash_point
from alambic.core._delivery import (
    DELIVERY_ERRORS,
    MAX_ATTEMPTS,
    next_attempt,
    post_json,
    retry_delay,
    sign,
)
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
from alambic.core._suggest import edit_distance, suggest
from alambic.core._time import parse_duration, utcnow

__all__ = [
    "BUILTIN",
    "DELIVERY_ERRORS",
    "ENTRY_POINT",
    "MAX_ATTEMPTS",
    "USER",
    "PluginRegistry",
    "canonical_json",
    "code_hash",
    "crash_point",
    "edit_distance",
    "load_path",
    "new_id",
    "next_attempt",
    "optional_import",
    "parse_duration",
    "post_json",
    "retry_delay",
    "sha256_bytes",
    "sha256_file",
    "sha256_stream",
    "sha256_text",
    "sign",
    "suggest",
    "utcnow",
]
