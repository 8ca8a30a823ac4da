"""Two servers on one PostgreSQL database: 200 schedules firing every minute for 5
minutes, the lease holder killed with SIGKILL halfway; each fire starts exactly one run.

The test takes about six minutes of wall time, most of it waiting for the minutes to
pass; its runs are one cached step each."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import alambic as al
from alambic.triggers import list_schedules, schedule_history, triggers_store
from tests.helpers import wait_until
from tests.server.helpers import make_project, server

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.first, pytest.mark.timeout(900)]
SCHEDULES = 200
MINUTES = 5


def _fires() -> list[al.triggers.FireRecord]:
    return [f for s in list_schedules() for f in schedule_history(s.name, limit=100)]


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_two_servers_start_each_fire_of_200_minutely_schedules_exactly_once(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALAMBIC_DB_URL", pg_url)
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    for number in range(SCHEDULES):  # every fire must run: concurrency "allow"
        al.schedule(f"minutely-{number:03d}", "flows.py:adder", cron="* * * * *",
                    concurrency="allow")  # fmt: skip
    # The first minute every schedule fires in (making 200 may cross a minute boundary).
    first = max(s.next_fire_at for s in list_schedules() if s.next_fire_at)
    last = first + timedelta(minutes=MINUTES - 1)
    with server(project, log="first") as (_, one), server(project, log="second") as (_, two):
        _sleep_until(first + timedelta(minutes=2, seconds=30))  # halfway, between fires
        holder = triggers_store().lease_holder("scheduler")
        assert holder is not None
        killed = one if holder[0].endswith(f":{one.pid}") else two
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        _sleep_until(last + timedelta(seconds=15))  # the last minute's fires settle
        wait_until(lambda: all(f.status == "started" for f in _fires() if f.fire_time <= last))
    fires = [f for f in _fires() if first <= f.fire_time <= last]
    times = Counter((f.schedule, f.fire_time) for f in fires)
    assert len(times) == SCHEDULES * MINUTES  # no fire lost
    assert set(times.values()) == {1}  # none made twice
    assert {f.status for f in fires} == {"started"}
    runs = [str(f.run_id) for f in fires]
    assert len(set(runs)) == len(runs)  # one run per fire
    made = {r.id for r in al.pipelines.list_runs(pipeline="adder", limit=10 * len(runs))}
    assert made == set(runs)  # every fire's run exists, and no run was made besides them
    servers = {f.server for f in fires}
    assert len(servers) == 2, servers  # the survivor took over from the one killed
    wait_until(lambda: not al.pipelines.list_runs(status="pending", limit=1), timeout=120)
    wait_until(lambda: not al.pipelines.list_runs(status="running", limit=1), timeout=120)
    assert {r.status for r in al.pipelines.list_runs(pipeline="adder", limit=2000)} == {"succeeded"}
