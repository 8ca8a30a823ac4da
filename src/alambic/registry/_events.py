"""Registry events: in-process hooks and HTTP webhooks, delivered at least once.

Every registry change writes its event row in the same transaction as the change. The
process that made the change then delivers it to its hooks (registered with :func:`on`)
and to the group's webhooks (listed in its policy: a JSON POST signed with HMAC-SHA256
in ``X-Alambic-Signature: sha256=<hex>``), recording each attempt's outcome. A failed delivery is
recorded with its reason and retried with exponential backoff by the next change to a
group with webhooks, in any process, or by ``alambic models events --deliver``; the
registry change itself has already succeeded. Groups without webhooks record their
events without a delivery when no hook listens.

Example:
    >>> from alambic.registry import on
    >>> on("version_approved", lambda event: None)  # e.g. deploy to staging
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from alambic.core import DELIVERY_ERRORS, next_attempt, post_json, sign, utcnow
from alambic.errors import RegistryError
from alambic.registry._store import EventRecord, RegistryStore, registry_store

__all__ = ["EVENT_TYPES", "deliver_events", "events_since", "on", "sign"]

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "version_registered",
    "version_approved",
    "version_rejected",
    "version_deleted",
    "alias_moved",
)
_hooks: dict[str, list[Callable[[dict[str, Any]], Any]]] = {}


def on(event: str, hook: Callable[[dict[str, Any]], Any]) -> None:
    """Call ``hook(event_payload)`` for each registry event of that type (``*``: all)."""
    if event != "*" and event not in EVENT_TYPES:
        raise RegistryError(f"unknown event {event!r}; use one of {', '.join(EVENT_TYPES)} or *")
    _hooks.setdefault(event, []).append(hook)


def events_since(
    after: tuple[datetime, str] | None = None, *, limit: int = 500
) -> list[EventRecord]:
    """Registry events made after a ``(created_at, id)`` cursor, oldest first (what a
    trigger on registry events reads, from any process)."""
    return registry_store().events_after(after, limit=limit)


def _post(url: str, body: bytes, secret: str | None, event: dict[str, Any]) -> str:
    headers = {
        "User-Agent": "alambic-registry",
        "X-Alambic-Event": event["type"],
        "X-Alambic-Delivery": event["id"],
    }
    return post_json(url, body, headers, secret=secret)


def _targets(policy: dict[str, Any]) -> list[dict[str, Any]]:
    hooks = policy.get("webhooks") or []
    return [h for h in hooks if isinstance(h, dict) and h.get("url")]


def _deliver_one(event: EventRecord, policy: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    payload = {**event.payload, "id": event.id, "created_at": event.created_at.isoformat()}
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    results: dict[str, str] = {}
    ok = True
    for hook in [*_hooks.get(event.type, []), *_hooks.get("*", [])]:
        name = getattr(hook, "__qualname__", repr(hook))
        try:
            hook(payload)
            results[f"hook {name}"] = "ok"
        except Exception as exc:
            ok = False
            results[f"hook {name}"] = f"{type(exc).__name__}: {exc}"
    for target in _targets(policy):
        wanted = target.get("events")
        if wanted and event.type not in wanted:
            continue
        secret = target.get("secret") or os.environ.get(target.get("secret_env") or "", "")
        try:
            results[target["url"]] = _post(target["url"], body, secret or None, payload)
        except DELIVERY_ERRORS as exc:
            ok = False
            results[target["url"]] = f"{type(exc).__name__}: {exc}"
    return ok, {"at": utcnow().isoformat(), "results": results}


def deliver_events(store: RegistryStore | None = None, *, limit: int = 50) -> int:
    """Deliver the events that are due (new ones, and retries whose time has come).

    Args:
        store: the registry whose events to deliver (default: the current settings').

    Returns:
        How many were delivered now.
    """
    store = store or registry_store()
    delivered = 0
    policies: dict[str, dict[str, Any]] = {}
    for event in store.due_events(limit=limit):
        if event.group not in policies:
            policies[event.group] = store.get_group(event.group).policy
        ok, outcome = _deliver_one(event, policies[event.group])
        attempts = event.attempts + 1
        retry_at = None if ok else next_attempt(attempts)
        if ok:
            status = "delivered"
            delivered += 1
        elif retry_at is None:
            status = "failed"
            log.warning("registry event %s gave up after %d attempts", event.id, attempts)
        else:
            status = "pending"
        store.record_attempt(event.id, outcome, status=status, retry_at=retry_at)
    return delivered


def has_hooks() -> bool:
    """Whether this process registered hooks (its events then wait for them)."""
    return any(_hooks.values())


def deliver_quietly(store: RegistryStore, queued: int) -> None:
    """After a registry change that queued ``queued`` events: deliver what is due.

    A failure never fails the change: the events stay queued for a later attempt.
    """
    if not queued:
        return  # nothing waits (earlier failures wait for the next queued change)
    try:
        deliver_events(store)
    except Exception:
        log.warning("delivering registry events failed; they stay pending", exc_info=True)
