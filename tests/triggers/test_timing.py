"""When schedules fire: cron in a time zone across DST, intervals, fire-time templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alambic.errors import TriggerError
from alambic.triggers import Timing, render

PARIS = ZoneInfo("Europe/Paris")


def _local(moments: list[datetime]) -> list[str]:
    return [m.astimezone(PARIS).isoformat() for m in moments]


def test_a_daily_cron_fires_once_on_the_autumn_day_its_hour_happens_twice() -> None:
    timing = Timing(cron="30 2 * * *", timezone="Europe/Paris")
    start = datetime(2026, 10, 24, 12, tzinfo=PARIS)
    fires = timing.between(start, start + timedelta(days=3), limit=10)
    assert _local(fires) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]


def test_a_daily_cron_in_the_hour_spring_skips_fires_at_the_next_minute_that_exists() -> None:
    timing = Timing(cron="30 2 * * *", timezone="Europe/Paris")
    fires = timing.between(
        datetime(2026, 3, 28, 12, tzinfo=PARIS), datetime(2026, 3, 30, 12, tzinfo=PARIS), limit=5
    )
    assert _local(fires) == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]


def test_an_hourly_cron_fires_every_real_hour_across_the_autumn_change() -> None:
    timing = Timing(cron="0 * * * *", timezone="Europe/Paris")
    start = datetime(2026, 10, 25, 0, 30, tzinfo=PARIS).astimezone(UTC)
    fires = timing.between(start, start + timedelta(hours=4), limit=10)  # 4 real hours
    gaps = {b - a for a, b in pairwise(fires)}
    assert len(fires) == 4 and gaps == {timedelta(hours=1)}


def test_fire_times_are_utc_and_strictly_after_the_moment() -> None:
    timing = Timing(cron="0 */6 * * *")
    at = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert timing.next_after(at) == datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert timing.previous_before(at) == datetime(2026, 12, 2, 0, tzinfo=UTC)
    assert timing.next_after(at).tzinfo == UTC


def test_an_interval_counts_from_its_anchor() -> None:
    anchor = datetime(2026, 12, 2, 0, 0, 7, tzinfo=UTC)
    timing = Timing.every("30m", anchor=anchor)
    assert timing.next_after(anchor) == anchor + timedelta(minutes=30)
    assert timing.next_after(anchor - timedelta(days=1)) == anchor
    later = anchor + timedelta(hours=2, minutes=1)
    assert timing.next_after(later) == anchor + timedelta(hours=2, minutes=30)
    assert timing.describe() == "every 30m"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron": "61 * * * *"}, "does not parse"),
        ({"cron": "0 * * *"}, "has 4 fields; it needs five"),
        ({"cron": "0 * * * *", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({}, "either --cron EXPRESSION or --every"),
        ({"cron": "0 * * * *", "every_seconds": 60.0}, "either --cron EXPRESSION or --every"),
        ({"every_seconds": 0.5}, "1 s or more"),
    ],
    ids=["bad-minute", "four-fields", "time-zone", "neither", "both", "too-often"],
)
def test_a_timing_that_cannot_fire_is_refused_naming_the_problem(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TriggerError, match=message):
        Timing(**kwargs)  # type: ignore[arg-type]


def test_every_refuses_a_text_that_is_not_a_duration() -> None:
    with pytest.raises(TriggerError, match="--every: 'soon' is not a duration"):
        Timing.every("soon", anchor=datetime.now(UTC))


def test_templates_render_the_fire_time_its_date_and_the_window() -> None:
    timing = Timing(cron="0 */6 * * *")
    fire = datetime(2026, 12, 9, 6, tzinfo=UTC)
    params = {
        "until": "{{ fire_time }}",
        "since": "{{window_start}}",
        "week": "{{ fire_time - 7d }}",
        "day": "data/{{ fire_date }}.parquet",
        "n": 3,
    }
    assert render(params, fire, timing) == {
        "until": "2026-12-09T06:00:00+00:00",
        "since": "2026-12-09T00:00:00+00:00",
        "week": "2026-12-02T06:00:00+00:00",
        "day": "data/2026-12-09.parquet",
        "n": 3,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [("{{ fire_hour }}", "unknown template"), ("{{ fire_time - soon }}", "not a duration")],
    ids=["unknown-name", "bad-offset"],
)
def test_a_bad_template_is_refused(text: str, message: str) -> None:
    with pytest.raises(TriggerError, match=message):
        render({"x": text}, datetime(2026, 12, 9, tzinfo=UTC), Timing(cron="0 * * * *"))


CRONS = st.sampled_from(
    ["* * * * *", "*/7 * * * *", "0 */6 * * *", "30 2 * * *", "15 9 * * 1-5", "0 0 1 * *"]
)
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney"])
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(cron=CRONS, zone=ZONES, start=MOMENTS)
def test_fires_between_two_moments_chain_and_stay_inside(
    cron: str, zone: str, start: datetime
) -> None:
    timing = Timing(cron=cron, timezone=zone)
    end = start + timedelta(days=3)
    fires = timing.between(start, end, limit=50)
    assert all(start <= t <= end for t in fires)
    assert fires == sorted(set(fires))
    for before, after in pairwise(fires):
        assert timing.next_after(before) == after
    if fires:
        assert timing.previous_before(fires[0]) < start
