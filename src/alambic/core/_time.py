"""Clocks and human durations."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_duration(value: str | float | int | None) -> float | None:
    """Turn ``"30m"``, ``"2h"``, ``"45s"``, ``"1.5h"`` or a number of seconds into seconds.

    Example:
        >>> parse_duration("30m")
        1800.0

    Raises:
        ValueError: the text is not a duration.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use seconds or a text like '30m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not a duration; use a number of seconds or a text like "
                "'90s', '30m', '2h', '1d'"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} is not a positive, finite duration")
    return seconds
