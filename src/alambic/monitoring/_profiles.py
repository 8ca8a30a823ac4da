"""A capture window's profile, each whole hour's profiled once and kept.

A monitor that looks at the last week should not reread a week of rows at each run.
The profile of an hour whose files are all written (it ended a minute ago or more) and
that lies wholly inside the window is stored beside the capture, under
``<artifacts>/profiles/endpoint=NAME/``, keyed by the hour and the names and sizes of its
files (a file added to the hour makes a new key); the window's profile is the merge of
those hours' profiles and of the partial hours at its edges, which are read again.

Example:
    >>> window_profile(capture("fraud", since="7d")).rows  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alambic.data import Profile, profile
from alambic.errors import DataError
from alambic.monitoring._capture import CaptureWindow

__all__ = ["window_profile"]

SETTLED = timedelta(
    minutes=1
)  # capture writes its queue every second: an hour ago + 1 min is whole


def _store(endpoint: str) -> tuple[Any, str]:
    import fsspec

    from alambic.config import settings

    root = f"{str(settings().artifacts).rstrip('/')}/profiles/endpoint={endpoint}"
    fs, path = fsspec.core.url_to_fs(root)
    return fs, path


def _key(window: CaptureWindow, start: datetime, fragments: list[Any]) -> str:
    infos = fragments[0].filesystem.get_file_info([f.path for f in fragments])
    files = sorted((info.path, info.size) for info in infos)
    text = json.dumps([window.endpoint, start.isoformat(), window.shadows, files])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cached(fs: Any, path: str) -> Profile | None:
    """A cached hour's profile; None when absent, or unreadable (then made again)."""
    if not fs.exists(path):
        return None
    try:
        with fs.open(path) as handle:
            return Profile.from_dict(json.load(handle))
    except (OSError, ValueError, DataError):
        return None


def window_profile(window: CaptureWindow, *, now: datetime | None = None) -> Profile:
    """The profile of ``window`` (see the module's docstring)."""
    now = now or datetime.now(UTC)
    fs, base = _store(window.endpoint)
    merged = Profile()
    for start, fragments in window.hours():
        end = start + timedelta(hours=1)
        whole = (
            (window.since is None or start >= window.since)
            and (window.until is None or end <= window.until)
            and end + SETTLED <= now
        )
        if not whole:
            part = CaptureWindow(window.endpoint, max(start, window.since or start),
                                 min(end, window.until or end), window.shadows)  # fmt: skip
            merged = merged.merge(profile(part.batches(fragments)))
            continue
        path = f"{base}/{start:%Y-%m-%dT%H}-{_key(window, start, fragments)}.json"
        hour = _cached(fs, path)
        if hour is None:
            hour = profile(
                CaptureWindow(window.endpoint, start, end, window.shadows).batches(fragments)
            )
            fs.makedirs(base, exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"  # two runs may write the same hour
            with fs.open(tmp, "w") as handle:
                json.dump(hour.to_dict(), handle, allow_nan=False)
            fs.mv(tmp, path)
        merged = merged.merge(hour)
    return merged
