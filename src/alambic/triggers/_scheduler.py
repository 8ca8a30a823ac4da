"""The scheduler: one idempotent step, driven by the database, run about once a second.

A step (:meth:`Scheduler.step`) does two things, each safe to repeat after a crash at
any line:

1. **Plan.** For each schedule whose cursor (``next_fire_at``) is due, choose the fires
   its catch-up policy keeps and write them (``due``, each with the id of the run it
   will start) together with the cursor's move past ``now``, in one transaction. Two
   servers planning at once write one set: the cursor moves only from the value read,
   and ``(schedule, fire_time)`` is unique.
2. **Start.** For each fire ``due`` or ``queued``, oldest first, apply the concurrency
   policy, then create its run (launching again with the same run id finds the run
   already made) and hand the new runs to detached orchestrators; then record what
   became of each fire.

Only the holder of the ``scheduler`` lease steps; another server takes the lease over
when its holder stops renewing it (it died).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from alambic.config import settings
from alambic.core import crash_point, new_id, utcnow
from alambic.errors import AlambicError
from alambic.triggers._alerts import deliver_alerts, raise_alert, watch
from alambic.triggers._schedules import timing_of
from alambic.triggers._sources import poll_triggers, start_event
from alambic.triggers._store import EventRecord, FireRecord, ScheduleRecord, TriggersStore
from alambic.triggers._timing import render

__all__ = ["LEASE", "Scheduler", "StepReport", "is_dead", "server_identity"]

log = logging.getLogger(__name__)

LEASE = "scheduler"
GRACE = timedelta(seconds=60)  # catch-up "skip": a fire this late still runs
MAX_CATCHUP = 100  # catch-up "all": at most this many missed fires planned per step
_ACTIVE_RUNS = ("pending", "running")


def server_identity() -> str:
    """``host:pid``, as runs name their orchestrator."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_dead(identity: str) -> bool:
    """Whether ``host:pid`` names a process of this machine that no longer runs."""
    host, _, pid = identity.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only its lease's expiry can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class StepReport:
    """What one step did: fires planned, and fires by what became of them."""

    planned: int = 0
    events: int = 0  # new trigger events that polls found
    outcomes: dict[str, int] = field(default_factory=dict)
    held: bool = True  # False: another server holds the lease, nothing was done

    def count(self, status: str) -> int:
        return self.outcomes.get(status, 0)


def _choose(record: ScheduleRecord, now: datetime) -> tuple[list[tuple[datetime, str]], datetime]:
    """The fires a due schedule makes now (each with a note) and its next cursor."""
    timing = timing_of(record)
    start = record.next_fire_at or now
    due = timing.between(start, now, limit=MAX_CATCHUP + 1)
    upcoming = timing.next_after(now)
    if not due:
        return [], upcoming
    missed = len(due) - 1
    if record.catchup == "all":
        if len(due) > MAX_CATCHUP:  # the rest on the next steps
            return [(t, "caught up") for t in due[:MAX_CATCHUP]], due[MAX_CATCHUP]
        return [(t, "caught up" if t < due[-1] else "") for t in due], upcoming
    latest = due[-1]
    if record.catchup == "skip" and now - latest > GRACE:
        note = f"skipped: {len(due)} fire(s) missed while no server ran (catch-up: skip)"
        return [(latest, "!" + note)], upcoming
    note = f"{missed} earlier fire(s) missed while no server ran, made once" if missed else ""
    return [(latest, note)], upcoming


class Scheduler:
    """The scheduler loop of one server.

    Args:
        store: the control plane's repository.
        identity: this server's name in leases and fires (default ``host:pid``).
        lease_seconds: how long the lease lasts without renewal (take-over delay).
    """

    def __init__(
        self, store: TriggersStore, *, identity: str | None = None, lease_seconds: float = 15.0
    ) -> None:
        self.store = store
        self.identity = identity or server_identity()
        self.lease_seconds = lease_seconds

    # -- one step ------------------------------------------------------------------------
    def step(self, now: datetime | None = None) -> StepReport:
        """Plan due fires and start waiting ones, if this server holds the lease."""
        holder = self.store.take_lease(LEASE, self.identity, seconds=self.lease_seconds)
        if holder is not None and is_dead(holder):
            holder = self.store.take_lease(
                LEASE, self.identity, seconds=self.lease_seconds, steal=holder
            )
        if holder is not None:
            return StepReport(held=False)
        now = now or utcnow()
        report = StepReport(planned=self._plan(now))
        if report.planned:
            crash_point("scheduler.planned")  # fires written, no run made yet
        report.events = poll_triggers(self.store, now)
        for status in [*self._start(), *self._start_events()]:
            report.outcomes[status] = report.outcomes.get(status, 0) + 1
        return report

    def _plan(self, now: datetime) -> int:
        plans = []
        for record in self.store.due_schedules(now):
            try:
                chosen, upcoming = _choose(record, now)
            except AlambicError as exc:  # a stored schedule that no longer computes
                log.warning("schedule %s cannot plan its fires: %s", record.name, exc)
                continue
            fires = [
                FireRecord(
                    id=new_id("fire"),
                    schedule=record.name,
                    fire_time=moment,
                    status="skipped" if note.startswith("!") else "due",
                    run_id=None if note.startswith("!") else new_id("run"),
                    reason=note.lstrip("!"),
                    planned_at=now,
                    started_at=None,
                    server=self.identity,
                )
                for moment, note in chosen
            ]
            plans.append((record, fires, upcoming))
        return len(self.store.plan_fires(plans)) if plans else 0

    def _start(self) -> list[str]:
        waiting = self.store.waiting_fires()
        if not waiting:
            return []
        schedules = {s.name: s for s in self.store.list_schedules()}
        busy = self._busy(schedules)
        made = _run_states([f.run_id for f in waiting if f.run_id])  # re-launched after a crash
        outcomes: list[tuple[str, str, str]] = []
        launches: list[Any] = []
        for fire in waiting:
            record = schedules.get(fire.schedule)
            if record is None or record.paused:
                continue  # deleted (its fires go with it) or paused (they wait)
            blocking = busy.get(record.name)
            if blocking and record.concurrency != "allow":
                held = _held(fire, record.concurrency, blocking)
                if held is not None:
                    outcomes.append(held)
                continue
            status, reason, launch = self._start_one(record, fire)
            outcomes.append((fire.id, status, reason))
            if status == "started" and fire.run_id:
                if made.get(fire.run_id, "pending") in _ACTIVE_RUNS:  # not one that ended
                    busy[record.name] = fire.run_id
                if launch is not None:
                    launches.append(launch)
        _launch(launches)  # the runs first: a crash here leaves the fires due, to launch again
        if launches:
            crash_point("scheduler.launched")  # runs made and started, fires not settled
        self.store.settle_fires(outcomes)
        _alert_failed_fires(waiting, outcomes)
        return [status for _, status, _ in outcomes]

    def _start_events(self) -> list[str]:
        """Start the runs of trigger events waiting, under each trigger's limits."""
        waiting = self.store.waiting_events()
        if not waiting:
            return []
        triggers = {t.name: t for t in self.store.list_triggers()}
        outcomes: list[tuple[str, str, str]] = []
        launches: list[Any] = []
        started: dict[str, list[EventRecord]] = {}
        for event in waiting:
            record = triggers.get(event.trigger)
            if record is None or record.paused:
                continue  # deleted (its events go with it) or paused (they wait)
            if record.name not in started:
                window = max(86400.0, record.cooldown_seconds)
                since = utcnow() - timedelta(seconds=window)
                started[record.name] = self.store.started_since(record.name, since)
            status, reason, launch = start_event(record, event, started[record.name])
            outcomes.append((event.id, status, reason))
            if status == "started":
                started[record.name].append(replace(event, status=status, started_at=utcnow()))
                if launch is not None:
                    launches.append(launch)
        _launch(launches)
        self.store.settle_events(outcomes)
        by_id = {e.id: e for e in waiting}
        for event_id, status, reason in outcomes:
            if status in ("failed", "capped"):
                name = by_id[event_id].trigger
                raise_alert(
                    f"trigger.{status}", name, f"trigger {name}: {reason}",
                    key=f"event:{event_id}", details={"event": by_id[event_id].payload},
                )  # fmt: skip
        return [status for _, status, _ in outcomes]

    def _busy(self, schedules: dict[str, ScheduleRecord]) -> dict[str, str]:
        """The schedules whose last run still runs, with that run's id."""
        watched = [n for n, s in schedules.items() if s.concurrency != "allow"]
        last = self.store.last_started(watched)
        states = _run_states([f.run_id for f in last.values() if f.run_id])
        return {
            name: fire.run_id
            for name, fire in last.items()
            if fire.run_id and states.get(fire.run_id) in _ACTIVE_RUNS
        }

    def _start_one(self, record: ScheduleRecord, fire: FireRecord) -> tuple[str, str, Any]:
        """What a fire starts: ``(status, reason, the run to launch or None)``."""
        from alambic.pipelines import Launch

        target = record.target
        try:
            if target["kind"] == "monitor":
                _run_monitor(target["monitor"], record.name, fire.fire_time)
                return "started", f"monitor {target['monitor']} runs", None
            params = render(target.get("params") or {}, fire.fire_time, timing_of(record))
        except (AlambicError, OSError, subprocess.SubprocessError) as exc:
            log.warning("schedule %s could not fire: %s", record.name, exc)
            return "failed", str(exc)[:2000], None
        launch = Launch(
            ref=target["ref"], cwd=target["cwd"], run_id=str(fire.run_id), params=params
        )
        return "started", "", launch

    # -- the loop ------------------------------------------------------------------------
    def run_forever(
        self, stop: threading.Event, *, wake: threading.Event | None = None, interval: float = 1.0
    ) -> None:
        """Step until ``stop`` is set: at due times, at least every ``interval`` seconds,
        and at once when ``wake`` is set (a schedule was made or resumed)."""
        wake = wake or threading.Event()
        while not stop.is_set():
            try:
                report = self.step()
                if report.planned or report.outcomes:
                    log.info("scheduler: %d planned, %s", report.planned, report.outcomes)
            except Exception:
                log.exception("scheduler step failed; trying again")
            wake.wait(self._pause(interval))
            wake.clear()
        self.store.release_lease(LEASE, self.identity)

    def alert_step(self, since: datetime) -> tuple[int, int]:
        """Raise the alerts of what ended after ``since`` and deliver those due, if this
        server holds the lease; ``(alerts raised, alerts delivered)``."""
        held = self.store.lease_holder(LEASE)
        if held is None or held[0] != self.identity:
            return 0, 0
        return watch(since), deliver_alerts()

    def alerts_forever(self, stop: threading.Event, *, interval: float = 2.0) -> None:
        """Run :meth:`alert_step` until ``stop`` is set (a thread of its own: a slow
        target never delays a fire)."""
        since = utcnow() - timedelta(hours=1)
        while not stop.wait(interval):
            moment = utcnow()
            try:
                self.alert_step(since)
                since = moment - timedelta(seconds=interval)  # overlap: keys dedupe
            except Exception:
                log.exception("alerts step failed; trying again")

    def _pause(self, interval: float) -> float:
        earliest = self.store.earliest_due()
        if earliest is None:
            return interval
        return max(0.0, min(interval, (earliest - utcnow()).total_seconds() + 0.001))


def _held(fire: FireRecord, concurrency: str, blocking: str) -> tuple[str, str, str] | None:
    """What becomes of a fire while the run ``blocking`` of its schedule still runs
    (None: it stays queued); the note it was planned with is kept."""
    note = f"{fire.reason}; " if fire.reason and fire.status != "queued" else ""
    if concurrency == "skip":
        return (
            fire.id,
            "skipped",
            f"{note}the previous run {blocking} still runs (concurrency: skip)",
        )
    if fire.status != "queued":
        return fire.id, "queued", f"{note}waits for the run {blocking} (concurrency: queue)"
    return None


def _run_states(run_ids: list[str]) -> dict[str, str]:
    from alambic.pipelines import RunStore

    return RunStore.open(settings().db_url).run_states(run_ids) if run_ids else {}


def _alert_failed_fires(fires: list[FireRecord], outcomes: list[tuple[str, str, str]]) -> None:
    by_id = {f.id: f for f in fires}
    for fire_id, status, reason in outcomes:
        if status != "failed":
            continue
        fire = by_id[fire_id]
        when = f"{fire.fire_time:%Y-%m-%d %H:%M} UTC"
        raise_alert(
            "schedule.failed", fire.schedule,
            f"schedule {fire.schedule} could not fire at {when}: {reason}",
            key=f"fire:{fire_id}", details={"fire_time": fire.fire_time.isoformat()},
        )  # fmt: skip


def _launch(launches: list[Any]) -> None:
    """Make the runs in one transaction; one detached process per project folder forks
    their orchestrators (each traces its pipeline: the server imports none)."""
    from alambic.pipelines import launch_refs

    launch_refs(launches)


def _run_monitor(monitor: str, schedule: str, fire_time: datetime) -> None:
    """Run a monitor in a detached process, as the schedule (its history names it)."""
    config = settings()
    env: dict[str, Any] = {**os.environ, **config.env(), "ALAMBIC_USER": f"schedule:{schedule}"}
    log_dir = config.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "monitors.log", "ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            [sys.executable, "-m", "alambic.triggers._monitor_job", monitor,
             fire_time.isoformat()],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    threading.Thread(target=process.wait, name="alambic-reap", daemon=True).start()
