"""When a schedule fires: cron expressions (cronsim, DST-aware) or fixed intervals.

Cron expressions are read in the schedule's time zone, so ``0 2 * * *`` in
``Europe/Paris`` fires at 02:00 Paris time all year: once on the autumn day 02:00
happens twice, at 03:00 on the spring day it does not happen. Fire times are stored in
UTC. Parameters may use the fire time: ``{{ fire_time }}``, ``{{ fire_date }}``,
``{{ window_start }}`` (the fire before this one), each with an optional offset
(``{{ fire_time - 7d }}``), rendered as ISO 8601 in UTC (dates as ``YYYY-MM-DD``).

Example:
    >>> from datetime import datetime, UTC
    >>> timing = Timing(cron="0 */6 * * *")
    >>> timing.next_after(datetime(2026, 12, 2, 7, 30, tzinfo=UTC)).isoformat()
    '2026-12-02T12:00:00+00:00'
    >>> render({"since": "{{ fire_time - 7d }}", "n": 3}, datetime(2026, 12, 9, tzinfo=UTC), timing)
    {'since': '2026-12-02T00:00:00+00:00', 'n': 3}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alambic.core import optional_import, parse_duration
from alambic.errors import TriggerError

__all__ = ["Timing", "check_timezone", "render", "uses_fire_time"]

_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*(?:([+-])\s*([^}\s]+)\s*)?\}\}")
_TIMES = ("fire_time", "fire_date", "window_start")
_MIN_EVERY = 1.0  # seconds


def check_timezone(name: str) -> ZoneInfo:
    """The time zone named ``name`` (``Europe/Paris``, ``UTC``).

    Raises:
        TriggerError: no such time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerError(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC', 'Europe/Paris' or "
            "'America/New_York'"
        ) from None


def _cronsim() -> Any:
    return optional_import("cronsim", extra="server").CronSim


@dataclass(frozen=True)
class Timing:
    """A cron expression in a time zone, or an interval counted from ``anchor``.

    Raises:
        TriggerError: neither or both given, a cron expression that does not parse, an
            unknown time zone, an interval under one second.
    """

    cron: str | None = None
    every_seconds: float | None = None
    timezone: str = "UTC"
    anchor: datetime = datetime(2000, 1, 1, tzinfo=UTC)

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every_seconds is None):
            raise TriggerError("give a schedule either --cron EXPRESSION or --every DURATION")
        zone = check_timezone(self.timezone)
        if self.cron is not None:
            fields = self.cron.split()
            if len(fields) != 5:
                raise TriggerError(
                    f"cron expression {self.cron!r} has {len(fields)} fields; it needs five: "
                    "minute hour day-of-month month day-of-week (e.g. '0 */6 * * *')"
                )
            try:
                _cronsim()(self.cron, datetime.now(zone))
            except Exception as exc:  # cronsim.CronSimError, with a terse message
                raise TriggerError(
                    f"cron expression {self.cron!r} does not parse ({exc}); five fields: "
                    "minute hour day-of-month month day-of-week, e.g. '0 */6 * * *'"
                ) from None
        elif not (
            math.isfinite(self.every_seconds or 0) and (self.every_seconds or 0) >= _MIN_EVERY
        ):
            raise TriggerError(f"an interval must be {_MIN_EVERY:g} s or more")

    @classmethod
    def every(cls, text: str | float, *, anchor: datetime) -> Timing:
        """An interval schedule from ``"30m"``, ``"6h"`` or seconds."""
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise TriggerError(f"--every: {exc}") from None
        return cls(every_seconds=seconds, anchor=anchor)

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment`` (UTC)."""
        if self.cron is not None:
            local = moment.astimezone(ZoneInfo(self.timezone))
            return next(_cronsim()(self.cron, local)).astimezone(UTC)  # type: ignore[no-any-return]
        step = float(self.every_seconds or 0)
        elapsed = (moment - self.anchor).total_seconds()
        count = math.floor(elapsed / step) + 1 if elapsed >= 0 else 0
        return self.anchor + timedelta(seconds=count * step)

    def previous_before(self, moment: datetime) -> datetime:
        """The last fire time strictly before ``moment`` (UTC): a window's start."""
        if self.cron is not None:
            local = moment.astimezone(ZoneInfo(self.timezone))
            found = next(_cronsim()(self.cron, local, reverse=True))
            return found.astimezone(UTC)  # type: ignore[no-any-return]
        return moment - timedelta(seconds=float(self.every_seconds or 0))

    def between(self, start: datetime, end: datetime, *, limit: int) -> list[datetime]:
        """Fire times ``t`` with ``start <= t <= end``, the first ``limit`` of them."""
        found: list[datetime] = []
        moment = self.next_after(start - timedelta(microseconds=1))
        while moment <= end and len(found) < limit:
            found.append(moment)
            moment = self.next_after(moment)
        return found

    def describe(self) -> str:
        """In words: ``At 00:00 every day (Europe/Paris)`` or ``every 30m``."""
        if self.cron is not None:
            words = _cronsim()(self.cron, datetime.now(UTC)).explain()
            return f"{words} ({self.timezone})"
        return f"every {_duration(float(self.every_seconds or 0))}"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def uses_fire_time(value: Any) -> bool:
    """Whether a parameter value holds a ``{{ … }}`` template."""
    return isinstance(value, str) and "{{" in value


def _render_text(
    text: str, fire_time: datetime, timing: Timing | None, values: dict[str, str]
) -> str:
    def one(match: re.Match[str]) -> str:
        name, sign, offset = match.groups()
        if name in values and not offset:
            return values[name]
        if name not in _TIMES or (name == "window_start" and timing is None):
            known = [*_TIMES[: 3 if timing else 2], *values]
            raise TriggerError(
                f"{text!r}: unknown template {{{{ {name} }}}}; use "
                + ", ".join(f"{{{{ {k} }}}}" for k in known)
                + " (times take an offset, such as {{ fire_time - 7d }})"
            )
        moment = (
            timing.previous_before(fire_time) if timing and name == "window_start" else fire_time
        )
        if offset:
            try:
                delta = timedelta(seconds=parse_duration(offset) or 0)
            except ValueError:
                raise TriggerError(
                    f"{match.group(0)!r}: {offset!r} is not a duration (use 7d, 6h, 30m)"
                ) from None
            moment = moment - delta if sign == "-" else moment + delta
        moment = moment.astimezone(UTC)
        return moment.date().isoformat() if name == "fire_date" else moment.isoformat()

    return _TEMPLATE.sub(one, text)


def render(
    params: dict[str, Any],
    fire_time: datetime,
    timing: Timing | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The parameters of the run a fire (or a trigger's event) starts: templates replaced.

    Args:
        params: parameter values; strings may hold ``{{ … }}`` templates.
        fire_time: the fire's due time (an event's: when it was received).
        timing: the schedule's timing, for ``{{ window_start }}``.
        values: more names an event offers (``tag``, ``commit``, ``version``…).

    Raises:
        TriggerError: an unknown template or a bad offset.
    """
    extra = values or {}
    return {
        key: _render_text(value, fire_time, timing, extra) if uses_fire_time(value) else value
        for key, value in params.items()
    }
