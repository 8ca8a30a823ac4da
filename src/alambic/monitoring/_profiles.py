"""A capture window's profile, each whole hour's profiled once and kept.

A monitor that looks at the last week should not reread a week of rows at each run.
The profile of an hour whose files are all written (it ended a minute ago or more) and
that lies wholly inside the window is stored beside the capture, under
``<artifacts>/profiles/endpoint=NAME/``, keyed by the hour and the names and sizes of its
files (a file added to the hour makes a new key); the window's profile is the merge of
those hours' profiles and of the partial hours at its edges, which are read again.
Several new hours of 64 MiB or more are profiled at once, each a task on the settings'
executor (local worker processes, or Ray: ``ALAMBIC_EXECUTOR=ray``), which keeps its
hour's profile itself; the merge reads them back in order.

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
from alambic.data._profile import PARALLEL_BYTES
from alambic.errors import DataError
from alambic.monitoring._capture import CaptureWindow

__all__ = ["window_profile"]

# Capture writes its queue every second: an hour that ended a minute ago is whole.
SETTLED = timedelta(minutes=1)


def _store(endpoint: str) -> tuple[Any, str]:
    import fsspec

    from alambic.config import settings

    root = f"{str(settings().artifacts).rstrip('/')}/profiles/endpoint={endpoint}"
    fs, path = fsspec.core.url_to_fs(root)
    return fs, path


def _key(window: CaptureWindow, start: datetime, fragments: list[Any]) -> str:
    files = sorted((info.path, info.size) for info in _infos(fragments))
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


def on_executor(fn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
    """A :func:`alambic.data.profile` runner: each call a task on the settings' executor
    (local worker processes, or Ray)."""
    from alambic.config import settings
    from alambic.executors import executor_map

    return executor_map(fn, calls, settings=settings())


def profile_hour(
    endpoint: str, start: str, shadows: bool, path: str, files: list[str] | None = None
) -> int:
    """Profile one whole hour of capture and keep it at ``path`` (a task of its own when
    several hours are new); the rows it holds. ``files``: the hour's files that the
    profile's key names (others, written since, wait for the next key)."""
    begin = datetime.fromisoformat(start)
    window = CaptureWindow(endpoint, begin, begin + timedelta(hours=1), shadows)
    fragments = window._fragments()
    if files is not None:
        wanted = set(files)
        fragments = [f for f in fragments if f.path in wanted]
    hour = profile(window.batches(fragments))
    fs, _ = _store(endpoint)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"  # two runs may write the same hour
    with fs.open(tmp, "w") as handle:
        json.dump(hour.to_dict(), handle, allow_nan=False)
    fs.mv(tmp, path)
    return hour.rows


def window_profile(window: CaptureWindow, *, now: datetime | None = None) -> Profile:
    """The profile of ``window`` (see the module's docstring): whole hours from their
    kept profiles; new ones profiled and kept (on the executor when there are several
    and they are large); partial hours read again."""
    now = now or datetime.now(UTC)
    fs, base = _store(window.endpoint)
    parts: list[Profile | str] = []
    new: list[tuple[datetime, list[Any], str]] = []
    for start, fragments in window.hours():
        end = start + timedelta(hours=1)
        whole = (
            (window.since is None or start >= window.since)
            and (window.until is None or end <= window.until)
            and end + SETTLED <= now
        )
        if not whole:
            edge = CaptureWindow(window.endpoint, max(start, window.since or start),
                                 min(end, window.until or end), window.shadows)  # fmt: skip
            parts.append(profile(edge.batches(fragments)))
            continue
        path = f"{base}/{start:%Y-%m-%dT%H}-{_key(window, start, fragments)}.json"
        if not fs.exists(path):
            new.append((start, fragments, path))
        parts.append(path)
    calls = [
        (window.endpoint, start.isoformat(), window.shadows, path, [f.path for f in fragments])
        for start, fragments, path in new
    ]
    size = sum(info.size for _, fragments, _ in new for info in _infos(fragments))
    if len(new) > 1 and size >= PARALLEL_BYTES:
        on_executor(profile_hour, calls)
    else:
        for call in calls:
            profile_hour(*call)
    merged = Profile()
    for part in parts:
        merged = merged.merge(part if isinstance(part, Profile) else _kept(fs, part, window))
    return merged


def _kept(fs: Any, path: str, window: CaptureWindow) -> Profile:
    """An hour's kept profile; made again if it went missing or unreadable since."""
    found = _cached(fs, path)
    if found is None:
        profile_hour(window.endpoint, _hour_of(path), window.shadows, path)
        found = _cached(fs, path)
    return found or Profile()


def _infos(fragments: list[Any]) -> list[Any]:
    return list(fragments[0].filesystem.get_file_info([f.path for f in fragments]))


def _hour_of(path: str) -> str:
    """The hour a kept profile's name starts with, as ISO text."""
    start = datetime.strptime(path.rsplit("/", 1)[1][:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return start.isoformat()
