"""Schedules and the scheduler step: checks at creation, catch-up, concurrency, exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

import alambic as al
from alambic.core import utcnow
from alambic.errors import NotFoundError, ParameterError, PipelineLoadError, TriggerError
from alambic.triggers import (
    Scheduler,
    delete_schedule,
    get_schedule,
    list_schedules,
    pause_schedule,
    resume_schedule,
    schedule,
    schedule_history,
    triggers_store,
)
from alambic.triggers._store import TriggersStore
from tests.helpers import wait_until


def _finished(run_ids: list[str]) -> bool:
    return all(al.get_run(r).record.finished for r in run_ids)


def _started(name: str) -> list[str]:
    return [f.run_id for f in schedule_history(name) if f.status == "started" and f.run_id]


# -- made only when it can fire ------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cron": "0 25 * * *"}, TriggerError, "does not parse"),
        ({"cron": "0 * * * *", "timezone": "Europe/Pariss"}, TriggerError, "unknown time zone"),
        ({"cron": "0 * * * *", "catchup": "some"}, TriggerError, "catch-up policy 'some'"),
        ({"cron": "0 * * * *", "concurrency": "wait"}, TriggerError, "concurrency policy 'wait'"),
        ({"cron": "0 * * * *", "params": {"a": "many"}}, ParameterError, "'a' expects int"),
        ({"cron": "0 * * * *", "params": {"c": 1}}, ParameterError, "unknown parameter 'c'"),
        ({"cron": "0 * * * *", "params": {"a": "{{ fire_time }}"}}, ParameterError, "expects int"),
        ({"cron": "0 * * * *", "params": {"tag": "{{ fire_hour }}"}}, TriggerError, "template"),
        ({"every": "0s"}, TriggerError, "--every"),
    ],
    ids=["cron", "zone", "catchup", "concurrency", "type", "unknown", "template-type",
         "template-name", "every"],
)  # fmt: skip
def test_a_schedule_that_cannot_fire_is_refused_and_nothing_is_stored(
    adder: str, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        schedule("nightly", adder, **kwargs)  # type: ignore[arg-type]
    assert list_schedules() == []


def test_a_missing_pipeline_file_or_name_is_refused(adder: str, tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match="no such file"):
        schedule("nightly", "nowhere.py:train", cron="0 * * * *")
    with pytest.raises(PipelineLoadError, match="has no pipeline named 'train'; it has: adder"):
        schedule("nightly", adder.replace(":adder", ":train"), cron="0 * * * *")
    broken = tmp_path / "broken.py"
    broken.write_text("import alambic as al\nraise RuntimeError('no data today')\n")
    with pytest.raises(PipelineLoadError, match="no data today"):
        schedule("nightly", f"{broken}:p", cron="0 * * * *")
    assert list_schedules() == []


def test_a_schedule_keeps_its_texts_read_as_their_types_and_its_templates(adder: str) -> None:
    made = schedule(
        "six-hourly", adder, cron="0 */6 * * *", timezone="Europe/Paris", texts=True,
        params={"a": "40", "tag": "since {{ fire_time - 7d }}"},
    )  # fmt: skip
    assert made.target["params"] == {"a": 40, "tag": "since {{ fire_time - 7d }}"}
    assert made.catchup == "once" and made.concurrency == "skip"
    assert made.next_fire_at is not None and made.next_fire_at.minute == 0
    with pytest.raises(TriggerError, match="already exists"):
        schedule("six-hourly", adder, every="1h")


def test_pause_resume_and_delete_are_audited_and_a_paused_schedule_does_not_fire(
    adder: str,
) -> None:
    made = schedule("often", adder, every="1h")
    pause_schedule("often")
    scheduler = Scheduler(triggers_store(), identity="test")
    assert made.next_fire_at is not None
    report = scheduler.step(now=made.next_fire_at + timedelta(hours=3))
    assert report.planned == 0 and schedule_history("often") == []
    resumed = resume_schedule("often")
    assert not resumed.paused and resumed.next_fire_at is not None
    assert resumed.next_fire_at > utcnow()  # from now on: fires missed while paused are not made
    delete_schedule("often")
    with pytest.raises(NotFoundError, match="alambic schedules list"):
        get_schedule("often")
    actions = [a.action for a in triggers_store().audit("often")]
    assert actions == ["create-schedule", "pause-schedule", "resume-schedule", "delete-schedule"]


# -- fires -----------------------------------------------------------------------------------
def test_a_due_fire_starts_one_run_with_the_fire_time_in_its_parameters(adder: str) -> None:
    made = schedule("hourly", adder, cron="0 * * * *", params={"tag": "{{ fire_time }}"})
    assert made.next_fire_at is not None
    scheduler = Scheduler(triggers_store(), identity="test")
    report = scheduler.step(now=made.next_fire_at + timedelta(seconds=1))
    assert report.planned == 1 and report.count("started") == 1
    assert scheduler.step(now=made.next_fire_at + timedelta(seconds=2)).planned == 0
    (run_id,) = _started("hourly")
    wait_until(lambda: _finished([run_id]))
    run = al.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert run.result() == {"sum": 3, "tag": made.next_fire_at.isoformat()}
    assert get_schedule("hourly").next_fire_at == made.next_fire_at + timedelta(hours=1)


@pytest.mark.parametrize(
    ("catchup", "statuses", "note"),
    [
        ("once", ["started"], "4 earlier fire(s) missed"),
        ("all", ["started"] * 5, "caught up"),
        ("skip", ["skipped"], "5 fire(s) missed while no server ran (catch-up: skip)"),
    ],
    ids=["once", "all", "skip"],
)
def test_fires_missed_while_no_server_ran_follow_the_catch_up_policy(
    adder: str, catchup: str, statuses: list[str], note: str
) -> None:
    made = schedule("hourly", adder, cron="0 * * * *", catchup=catchup, concurrency="allow")
    assert made.next_fire_at is not None
    scheduler = Scheduler(triggers_store(), identity="test")
    later = made.next_fire_at + timedelta(hours=4, minutes=30)  # 5 fires were due
    scheduler.step(now=later)
    fires = schedule_history("hourly")
    assert [f.status for f in fires] == statuses
    assert any(note in f.reason for f in fires)
    assert get_schedule("hourly").next_fire_at == made.next_fire_at + timedelta(hours=5)
    wait_until(lambda: _finished(_started("hourly")))


def test_concurrency_skip_skips_a_fire_while_the_previous_run_runs(napper: str) -> None:
    made = schedule("naps", napper, every="1h", params={"seconds": 4.0})
    assert made.next_fire_at is not None
    scheduler = Scheduler(triggers_store(), identity="test")
    scheduler.step(now=made.next_fire_at)
    scheduler.step(now=made.next_fire_at + timedelta(hours=1))
    fires = schedule_history("naps")
    assert [f.status for f in fires] == ["skipped", "started"]
    assert f"the previous run {fires[1].run_id} still runs" in fires[0].reason
    wait_until(lambda: _finished(_started("naps")))


def test_concurrency_queue_starts_the_fire_when_the_previous_run_ends(napper: str) -> None:
    made = schedule("naps", napper, every="1h", params={"seconds": 3.0}, concurrency="queue")
    assert made.next_fire_at is not None
    scheduler = Scheduler(triggers_store(), identity="test")
    scheduler.step(now=made.next_fire_at)
    scheduler.step(now=made.next_fire_at + timedelta(hours=1))
    assert [f.status for f in schedule_history("naps")] == ["queued", "started"]
    first = _started("naps")[0]
    wait_until(lambda: _finished([first]))
    scheduler.step(now=made.next_fire_at + timedelta(hours=1, seconds=5))
    assert [f.status for f in schedule_history("naps")] == ["started", "started"]
    wait_until(lambda: _finished(_started("naps")))


def test_a_fire_whose_pipeline_no_longer_loads_starts_a_run_recorded_failed_with_why(
    tmp_path: Path, adder: str
) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(Path(adder.split(":")[0]).read_text())
    made = schedule("fragile", f"{flow}:adder", every="1h")
    healthy = schedule("healthy", adder, every="1h")
    flow.write_text("raise ImportError('the tag broke it')\n")
    assert made.next_fire_at is not None and healthy.next_fire_at is not None
    Scheduler(triggers_store(), identity="test").step(now=healthy.next_fire_at)
    (fire,) = schedule_history("fragile")
    assert fire.status == "started" and fire.run_id
    wait_until(lambda: _finished([str(fire.run_id), *_started("healthy")]))
    broken = al.get_run(str(fire.run_id))
    assert broken.status == "failed" and "the tag broke it" in (broken.error or "")
    assert al.get_run(_started("healthy")[0]).status == "succeeded"


def test_a_step_repeated_after_a_crash_starts_each_fire_once(adder: str) -> None:
    made = schedule("hourly", adder, cron="0 * * * *")
    assert made.next_fire_at is not None
    store = triggers_store()
    scheduler = Scheduler(store, identity="test")
    now = made.next_fire_at + timedelta(seconds=1)
    scheduler._plan(now)  # crashed here: the fire is planned, no run was made
    (fire,) = store.waiting_fires()
    assert fire.status == "due" and fire.run_id
    scheduler.step(now=now)
    scheduler.step(now=now)
    assert _started("hourly") == [fire.run_id]
    assert al.get_run(fire.run_id).record.pipeline_name == "adder"
    wait_until(lambda: _finished([fire.run_id]))
    assert len(al.pipelines.list_runs()) == 1


def test_one_server_at_a_time_holds_the_lease_and_another_takes_over_when_it_stops(
    adder: str,
) -> None:
    made = schedule("hourly", adder, cron="0 * * * *")
    assert made.next_fire_at is not None
    store = triggers_store()
    first = Scheduler(store, identity="host-a:1", lease_seconds=0.5)
    second = Scheduler(store, identity="host-b:2", lease_seconds=0.5)
    assert first.step(now=made.next_fire_at - timedelta(minutes=1)).held
    assert not second.step(now=made.next_fire_at + timedelta(seconds=1)).held
    wait_until(lambda: second.step(now=made.next_fire_at + timedelta(seconds=1)).held, 10)
    assert len(_started("hourly")) == 1
    wait_until(lambda: _finished(_started("hourly")))


def test_a_lease_held_by_a_dead_process_of_this_machine_is_taken_at_once(adder: str) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = triggers_store()
    store.take_lease("scheduler", f"{socket.gethostname()}:{dead.pid}", seconds=600)
    assert Scheduler(store, identity="test").step().held


def test_two_servers_planning_the_same_fire_at_once_make_it_once(
    adder: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALAMBIC_DB_URL", db_url)
    made = schedule("hourly", adder, cron="0 * * * *")
    assert made.next_fire_at is not None
    now = made.next_fire_at + timedelta(seconds=1)
    barrier = threading.Barrier(4)

    def plan(identity: str) -> None:
        barrier.wait()
        Scheduler(TriggersStore.open(db_url), identity=identity)._plan(now)

    threads = [threading.Thread(target=plan, args=(f"server-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fires = schedule_history("hourly")
    assert [(f.fire_time, f.status) for f in fires] == [(made.next_fire_at, "due")]


def test_a_monitor_schedule_runs_the_monitor_as_the_schedule(adder: str) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    x, y = pd.DataFrame({"price": [0.0, 1.0]}), pd.Series([0, 1])
    version = al.register(al.models.package(LogisticRegression().fit(x, y), x, y), "shop")
    al.registry.approve("shop", version["version"])
    al.registry.promote("shop", version["version"], to="production")
    al.serving.create_endpoint("shop", variants=["shop@production"])
    al.monitoring.create_monitor("shop-drift", endpoint="shop", window="1d")
    with pytest.raises(NotFoundError, match="no monitor 'shop-drif'"):
        schedule("hourly-drift", monitor="shop-drif", every="1h")
    with pytest.raises(TriggerError, match="takes no parameters"):
        schedule("hourly-drift", monitor="shop-drift", every="1h", params={"a": 1})
    made = schedule("hourly-drift", monitor="shop-drift", every="1h")
    assert made.next_fire_at is not None
    Scheduler(triggers_store(), identity="test").step(now=made.next_fire_at)
    (fire,) = schedule_history("hourly-drift")
    assert fire.status == "started" and "monitor shop-drift runs" in fire.reason

    def ran() -> bool:
        return bool(al.monitoring.monitor_history("shop-drift"))

    wait_until(ran)
    (run,) = al.monitoring.monitor_history("shop-drift")
    assert run.started_by == "schedule:hourly-drift"
    assert run.window_until == made.next_fire_at
