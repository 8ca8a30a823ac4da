"""``alambic server`` as a user runs it: CI submits and waits through it, schedules made
from the CLI fire, a second server on SQLite refuses the loops, and a server killed with
SIGKILL loses or doubles no fire."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

import alambic as al
from alambic.triggers import schedule_history
from tests.cli.helpers import invoke
from tests.helpers import free_port, wait_until
from tests.server.helpers import make_project, server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder holding the test pipelines; steps run inline in their orchestrator."""
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")
    return make_project(tmp_path / "project")


def test_ci_submits_through_the_server_and_a_later_stage_waits_for_the_run(
    project: Path,
) -> None:
    token = al.serving.create_token("ci", scope="run")[0]
    env = {"ALAMBIC_TOKEN": token}
    with server(project) as (url, _):
        submitted = invoke(
            project, "submit", "flows.py:adder", "-p", "a=40", "--server", url, env=env
        )
        assert submitted.code == 0, submitted.transcript
        run_id = submitted.out.strip()
        assert run_id.startswith("run-") and "runs wait" in submitted.err
        waited = invoke(project, "runs", "wait", run_id, "--server", url, env=env)
        assert waited.code == 0, waited.transcript
        assert "add succeeded" in waited.out and f"run {run_id} succeeded" in waited.out
        failing = invoke(project, "submit", "flows.py:adder", "-p", "a=x", "--server", url, env=env)
        assert failing.code == 2 and "'a' expects int" in failing.err
        unknown = invoke(project, "runs", "wait", "run-nope", "--server", url, env=env)
        assert unknown.code == 2 and "404" in unknown.err and "alambic runs list" in unknown.err
        bare = invoke(
            project, "submit", "flows.py:adder", "--server", url, env={"ALAMBIC_TOKEN": ""}
        )
        assert bare.code == 2 and "set ALAMBIC_TOKEN" in bare.err
    down = invoke(project, "runs", "wait", run_id, "--server", url, env=env)
    assert down.code == 2 and "cannot reach the server" in down.err
    assert al.get_run(run_id).result() == {"sum": 42, "tag": ""}


def test_a_schedule_made_on_the_cli_fires_in_the_server(project: Path) -> None:
    made = invoke(
        project, "schedules", "create", "often", "flows.py:adder", "--every", "2s",
        "-p", "tag={{ fire_date }}",
    )  # fmt: skip
    assert made.code == 0, made.transcript
    assert "schedule often: every 2s; next fire" in made.out
    bad = invoke(project, "schedules", "create", "bad", "flows.py:adder", "--cron", "* * *")
    assert bad.code == 2 and "needs five" in bad.err
    with server(project):
        wait_until(
            lambda: len([f for f in schedule_history("often") if f.status == "started"]) >= 2
        )
    listed = invoke(project, "schedules", "list")
    assert "often" in listed.out and "flows.py:adder tag={{ fire_date }}" in listed.out
    shown = invoke(project, "schedules", "show", "often")
    assert shown.code == 0 and "started" in shown.out and "run-" in shown.out
    assert invoke(project, "schedules", "pause", "often").out.strip() == "schedule often paused"
    assert invoke(project, "schedules", "resume", "often").out.strip() == "schedule often active"
    runs = [f.run_id for f in schedule_history("often") if f.run_id]
    assert invoke(project, "schedules", "delete", "often").code == 0
    assert invoke(project, "schedules", "show", "often").code == 2
    wait_until(lambda: all(al.get_run(r).record.finished for r in runs))


def test_a_second_server_on_sqlite_refuses_the_loops_but_may_serve_the_api(
    project: Path,
) -> None:
    with server(project):
        second = invoke(project, "server", "--port", str(free_port()), timeout=60)
        assert second.code == 2
        assert "runs the scheduler on this SQLite database" in second.err
        assert "--no-loops" in second.err and "PostgreSQL" in second.err
        with server(project, "--no-loops") as (url, _):
            assert httpx.get(f"{url}/api/v1/health").json()["status"] == "ok"


def _kill_at(moment: str, process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server just before a fire is due, or just after one started; the
    crash points (``ALAMBIC_CRASH_AT``) kill it themselves in the middle of a fire."""
    if moment in ("planned", "launched"):
        process.wait(60)  # the first fire's step kills it
        return
    wait_until(lambda: len(_started("often")) >= 1)
    if moment == "before":
        due = al.triggers.get_schedule("often").next_fire_at
        assert due is not None
        time.sleep(max(0.0, (due - al.core.utcnow()).total_seconds() - 0.3))
        assert al.core.utcnow() < due, "the kill came after the fire (a slow machine)"
    else:  # after: as soon as a second fire has started its run
        wait_until(lambda: len(_started("often")) >= 2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _started(name: str) -> list[str]:
    return [
        f.run_id for f in schedule_history(name, limit=500) if f.status == "started" and f.run_id
    ]


@pytest.mark.parametrize("moment", ["before", "planned", "launched", "after"])
def test_a_server_killed_with_sigkill_at_a_fire_loses_and_doubles_none(
    project: Path, moment: str
) -> None:
    """Killed just before a fire is due, between writing a fire and making its run
    (planned), between making the run and recording the fire started (launched), and just
    after: after a restart each fire has one run, the missed ones are made once."""
    crash = {"ALAMBIC_CRASH_AT": f"scheduler.{moment}"} if moment in ("planned", "launched") else {}
    with server(project, env=crash) as (_, process):
        made = invoke(
            project,
            "schedules",
            "create",
            "often",
            "flows.py:adder",
            "--every",
            "2s",
            "-p",
            "tag={{ fire_time }}",
            "--concurrency",
            "allow",
        )  # fmt: skip (each run's step differs: none is a cache hit; every fire runs)
        assert made.code == 0, made.transcript
        _kill_at(moment, process)
    at_kill = {f.fire_time: f for f in schedule_history("often", limit=500)}
    assert at_kill, "no fire was made before the kill"
    if moment in ("planned", "launched"):  # the fire the crash interrupted is still due
        assert [f.status for f in at_kill.values()] == ["due"]
    killed_at = max(at_kill)
    time.sleep(5)  # two or three fires are due while no server runs
    with server(project):
        wait_until(lambda: len([t for t in _fire_times() if t > killed_at]) >= 3)
    fires = sorted(schedule_history("often", limit=500), key=lambda f: f.fire_time)
    times = [f.fire_time for f in fires]
    assert len(times) == len(set(times))  # no fire was made twice
    assert all((b - a).total_seconds() % 2 == 0 for a, b in pairwise(times))  # on the grid
    for fire in fires:  # each fire made before the kill kept its run, and started it
        if fire.fire_time in at_kill:
            assert fire.run_id == at_kill[fire.fire_time].run_id
            assert fire.status == "started", fire
    after = [f for f in fires if f.fire_time > killed_at]
    caught = [f for f in after if "missed while no server ran" in f.reason]
    assert len(caught) == 1 and caught[0] is after[0]  # the missed fires made once (once)
    runs = [f.run_id for f in fires if f.status == "started" and f.run_id]
    assert len(runs) == len(set(runs)) == len([f for f in fires if f.status == "started"])
    made_runs = [r.id for r in al.pipelines.list_runs(pipeline="adder", limit=1000)]
    assert sorted(made_runs) == sorted(runs)  # no run without its fire, none made twice
    wait_until(lambda: all(al.get_run(r).record.finished for r in runs))
    assert {al.get_run(r).status for r in runs} == {"succeeded"}  # they went on, or started
    for run in runs:
        assert [s.status for s in al.get_run(run).steps] == ["succeeded"]  # its step ran once


def _fire_times() -> list[datetime]:
    return [f.fire_time for f in schedule_history("often", limit=500)]


def test_several_workers_serve_the_api_and_one_of_them_fires_each_schedule(project: Path) -> None:
    made = invoke(project, "schedules", "create", "often", "flows.py:adder", "--every", "1s")
    assert made.code == 0, made.transcript
    token = al.serving.create_token("reader", scope="read")[0]
    with server(project, "--workers", "2") as (url, _):
        wait_until(lambda: len(schedule_history("often")) >= 4)
        listed = httpx.get(f"{url}/api/v1/schedules", headers={"Authorization": f"Bearer {token}"})
        assert [s["name"] for s in listed.json()] == ["often"]
    fires = schedule_history("often", limit=500)
    assert len({f.fire_time for f in fires}) == len(fires)  # each fire made once
    assert len({f.server for f in fires}) <= 2  # by the lease holder (a take-over at most)
    runs = [f.run_id for f in fires if f.run_id and f.status == "started"]
    wait_until(lambda: all(al.get_run(r).record.finished for r in runs))
