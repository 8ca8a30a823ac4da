"""Alerts: what needs a person, sent to webhooks and Slack-compatible incoming webhooks.

An alert is raised when a monitor run ends in ``warn`` or ``alert``, a run fails, a
schedule's fire could not start its run, or a trigger's event was held back by its daily
cap (or could not start). Each alert is stored once (its ``key``: the same failure seen
twice is one alert) and delivered to every target that takes its type, at least once:
the attempts are recorded and retried with backoff, with the same machinery as the
registry's webhooks (``alambic.core.post_json``). A generic target gets the alert as
JSON, signed with HMAC-SHA256 in ``X-Alambic-Signature`` when it names a secret; a
``slack`` target gets ``{"text": …}``, the body Slack's incoming webhooks take.

Example:
    >>> from alambic.triggers import add_alert_target, list_alert_targets
    >>> _ = add_alert_target("ops", url="https://hooks.example.com/alambic", types=["run.failed"])
    >>> [(t.name, t.kind, t.types) for t in list_alert_targets()]
    [('ops', 'webhook', ['run.failed'])]
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from alambic.core import DELIVERY_ERRORS, new_id, next_attempt, post_json, utcnow
from alambic.errors import NotFoundError, TriggerError
from alambic.store import Repository, to_record
from alambic.triggers._tables import AlertRow, AlertTargetRow

__all__ = [
    "ALERT_TYPES",
    "AlertRecord",
    "AlertTargetRecord",
    "add_alert_target",
    "delete_alert_target",
    "deliver_alerts",
    "list_alert_targets",
    "list_alerts",
    "raise_alert",
    "watch",
]

log = logging.getLogger(__name__)

ALERT_TYPES = (
    "monitor.warn",
    "monitor.alert",
    "run.failed",
    "schedule.failed",
    "trigger.failed",
    "trigger.capped",
)
TARGET_KINDS = ("webhook", "slack")


@dataclass(frozen=True)
class AlertTargetRecord:
    name: str
    kind: str
    url: str
    secret_env: str | None
    types: list[str]
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AlertRecord:
    id: str
    key: str
    type: str
    subject: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    outcome: list[Any]
    next_attempt_at: datetime | None


class AlertRows(Repository):
    """Alert targets and alerts (part of the control plane's repository)."""

    def add_target(self, record: AlertTargetRecord) -> AlertTargetRecord:
        try:
            with self.writing() as session:
                session.add(AlertTargetRow(**record.__dict__))
        except IntegrityError:
            raise TriggerError(
                f"alert target {record.name!r} exists; delete it first "
                f"(`alambic alerts targets delete {record.name}`)"
            ) from None
        return record

    def targets(self) -> list[AlertTargetRecord]:
        with self.reading() as session:
            rows = session.scalars(select(AlertTargetRow).order_by(AlertTargetRow.name))
            return [to_record(AlertTargetRecord, row) for row in rows]

    def delete_target(self, name: str) -> None:
        with self.writing() as session:
            row = session.get(AlertTargetRow, name)
            if row is None:
                raise NotFoundError(f"no alert target {name!r}; see `alambic alerts targets`")
            session.delete(row)

    def add_alerts(self, alerts: list[AlertRecord]) -> int:
        """Store alerts, leaving out those whose key is known; how many were new."""
        if not alerts:
            return 0

        def work(session: Any) -> int:
            keys = [a.key for a in alerts]
            known = set(session.scalars(select(AlertRow.key).where(AlertRow.key.in_(keys))))
            fresh = {a.key: a for a in alerts if a.key not in known}
            self.insert_ignore(session, AlertRow, [a.__dict__ for a in fresh.values()])
            return len(fresh)

        return self.transaction(work, conflicts=True)

    def due_alerts(self, *, limit: int = 100) -> list[AlertRecord]:
        query = (
            select(AlertRow)
            .where(AlertRow.status == "pending", AlertRow.next_attempt_at <= utcnow())
            .order_by(AlertRow.created_at)
            .limit(limit)
        )
        with self.reading() as session:
            return [to_record(AlertRecord, row) for row in session.scalars(query)]

    def record_alert_attempt(
        self, alert: AlertRecord, outcome: dict[str, Any], *, status: str, retry: datetime | None
    ) -> None:
        with self.writing() as session:
            session.execute(
                update(AlertRow)
                .where(AlertRow.id == alert.id)
                .values(
                    status=status,
                    attempts=alert.attempts + 1,
                    outcome=[*alert.outcome, outcome],
                    next_attempt_at=retry,
                )
            )

    def alerts(self, *, limit: int = 50) -> list[AlertRecord]:
        query = select(AlertRow).order_by(AlertRow.created_at.desc()).limit(limit)
        with self.reading() as session:
            return [to_record(AlertRecord, row) for row in session.scalars(query)]


def _store() -> Any:
    from alambic.triggers._store import triggers_store

    return triggers_store()


def add_alert_target(
    name: str,
    *,
    url: str,
    kind: str = "webhook",
    secret_env: str | None = None,
    types: list[str] | None = None,
) -> AlertTargetRecord:
    """Send alerts of ``types`` (default: all) to ``url``.

    Args:
        kind: ``webhook`` (the alert as signed JSON) or ``slack`` (``{"text": …}``).
        secret_env: the environment variable holding the HMAC secret (never stored).

    Raises:
        TriggerError: a bad name, URL, kind or alert type (nothing stored).
    """
    from alambic.triggers._schedules import NAME, actor

    if not NAME.fullmatch(name):
        raise TriggerError(f"alert target name {name!r}: use letters, digits, '.', '_', '-'")
    if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise TriggerError(f"{url!r} is not an http(s) URL")
    if kind not in TARGET_KINDS:
        raise TriggerError(f"alert target kind {kind!r}: use webhook or slack")
    unknown = [t for t in types or [] if t not in ALERT_TYPES]
    if unknown:
        raise TriggerError(f"unknown alert types {unknown}; use: {', '.join(ALERT_TYPES)}")
    record = AlertTargetRecord(
        name=name, kind=kind, url=url, secret_env=secret_env, types=list(types or []),
        created_at=utcnow(), created_by=actor(),
    )  # fmt: skip
    return _store().add_target(record)  # type: ignore[no-any-return]


def list_alert_targets() -> list[AlertTargetRecord]:
    """Every alert target, by name."""
    return _store().targets()  # type: ignore[no-any-return]


def delete_alert_target(name: str) -> None:
    """Stop sending alerts to a target."""
    _store().delete_target(name)


def list_alerts(*, limit: int = 50) -> list[AlertRecord]:
    """The latest alerts, newest first, with their deliveries."""
    return _store().alerts(limit=limit)  # type: ignore[no-any-return]


def raise_alert(
    kind: str, subject: str, message: str, *, key: str, details: dict[str, Any] | None = None
) -> bool:
    """Record an alert (once per ``key``); whether it is new."""
    alert = AlertRecord(
        id=new_id("alert"), key=key[:300], type=kind, subject=subject[:200], message=message,
        details=dict(details or {}), created_at=utcnow(), status="pending", attempts=0,
        outcome=[], next_attempt_at=utcnow(),
    )  # fmt: skip
    return bool(_store().add_alerts([alert]))


def _body(alert: AlertRecord, target: AlertTargetRecord) -> bytes:
    if target.kind == "slack":
        return json.dumps(
            {"text": f"[alambic] {alert.type} {alert.subject}: {alert.message}"}
        ).encode()
    data = {"id": alert.id, "type": alert.type, "subject": alert.subject,
            "message": alert.message, "details": alert.details,
            "created_at": alert.created_at.isoformat()}  # fmt: skip
    return json.dumps(data, sort_keys=True, default=str).encode()


def _send(alert: AlertRecord, targets: list[AlertTargetRecord]) -> tuple[bool, dict[str, Any]]:
    done = {
        url
        for o in alert.outcome
        for url, r in o.get("results", {}).items()
        if r.startswith("HTTP 2")
    }
    results: dict[str, str] = {}
    for target in targets:
        if (target.types and alert.type not in target.types) or target.url in done:
            continue
        secret = os.environ.get(target.secret_env) if target.secret_env else None
        headers = {"User-Agent": "alambic-alerts", "X-Alambic-Event": alert.type,
                   "X-Alambic-Delivery": alert.id}  # fmt: skip
        try:
            results[target.url] = post_json(
                target.url, _body(alert, target), headers, secret=secret
            )
        except DELIVERY_ERRORS as exc:
            results[target.url] = f"{type(exc).__name__}: {exc}"
    ok = all(r.startswith("HTTP 2") for r in results.values())
    return ok, {"at": utcnow().isoformat(), "results": results}


def deliver_alerts() -> int:
    """Deliver the alerts that are due (new ones, and retries whose time came); how many
    were delivered now."""
    store = _store()
    targets = store.targets()
    delivered = 0
    for alert in store.due_alerts():
        ok, outcome = _send(alert, targets)
        retry = None if ok else next_attempt(alert.attempts + 1)
        status = "delivered" if ok else ("failed" if retry is None else "pending")
        delivered += ok
        store.record_alert_attempt(alert, outcome, status=status, retry=retry)
    return delivered


def watch(since: datetime) -> int:
    """Raise alerts for monitor runs in warn or alert and for runs that failed, ended
    after ``since``; how many are new (one seen before is the same alert)."""
    from alambic.config import settings
    from alambic.monitoring import list_monitors, monitor_history
    from alambic.pipelines import RunStore

    found = 0
    for monitor in list_monitors():
        for run in monitor_history(monitor.name, limit=20):
            if run.finished_at and run.finished_at > since and run.status in ("warn", "alert"):
                found += raise_alert(
                    f"monitor.{run.status}", monitor.name,
                    f"monitor {monitor.name} is in {run.status} (run {run.id})",
                    key=f"monitor:{run.id}", details={"monitor_run": run.id},
                )  # fmt: skip
    for failed in RunStore.open(settings().db_url).list_runs(status="failed", limit=200):
        if failed.ended_at and failed.ended_at > since - timedelta(seconds=1):
            error = (failed.error or "").strip()[:300]
            found += raise_alert(
                "run.failed", failed.pipeline_name,
                f"run {failed.id} of {failed.pipeline_name} failed: {error}",
                key=f"run:{failed.id}", details={"run": failed.id},
            )  # fmt: skip
    return found
