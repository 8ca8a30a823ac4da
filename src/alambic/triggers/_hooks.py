"""GitHub's and GitLab's webhooks, received for the git-tag triggers.

A delivery is trusted when it is signed with the secret of a git-tag trigger (GitHub:
``X-Hub-Signature-256``, the HMAC-SHA256 of the body; GitLab: ``X-Gitlab-Token``, the
secret itself), read from the environment variable the trigger names. Only tags start
runs: a push of ``refs/tags/…`` (GitHub's ``push``, GitLab's ``Tag Push Hook``) or
GitHub's ``create`` with ``ref_type: tag``. A branch push or a deleted tag is answered
202 with the reason; a tag seen before (the same delivery twice, or ``push`` then
``create``) is the same event, and starts one run.

Example:
    >>> receive_github({}, b"{}").status
    401
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alambic.triggers._store import TriggerRecord, triggers_store
from alambic.triggers._triggers import new_event, secret_of, tag_matches

__all__ = ["Delivery", "receive_github", "receive_gitlab"]


@dataclass
class Delivery:
    """The answer to a webhook delivery: its HTTP status, why, and the events it made."""

    status: int
    message: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "events": self.events}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _git_triggers() -> list[TriggerRecord]:
    return [t for t in triggers_store().list_triggers("git_tag") if secret_of(t)]


def _record(verified: list[TriggerRecord], tag: str, commit: str | None, via: str) -> Delivery:
    store = triggers_store()
    taking = [t for t in verified if tag_matches(t, tag)]
    if not taking:
        patterns = ", ".join(sorted({str(t.config.get("tags")) for t in verified}))
        return Delivery(202, f"tag {tag} matches no trigger's pattern ({patterns}); nothing runs")
    payload = {"tag": tag, "commit": commit or "", "via": via}
    made = store.record_events([new_event(t.name, f"tag:{tag}", payload) for t in taking])
    events = [{"trigger": e.trigger, "event": e.id, "run": e.run_id} for e in made]
    if not made:
        return Delivery(202, f"tag {tag} was received before; its run started then")
    return Delivery(202, f"tag {tag}: {len(made)} run(s) start", events)


def _sign(trigger: TriggerRecord, body: bytes) -> str:
    digest = hmac.new(str(secret_of(trigger)).encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def receive_github(headers: Mapping[str, str], body: bytes) -> Delivery:
    """A GitHub delivery (``push`` of a tag, ``create`` of a tag, ``ping``)."""
    given = _lower(headers)
    signature = given.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        return Delivery(401, "no X-Hub-Signature-256 header: set the webhook's secret")
    verified = [t for t in _git_triggers() if hmac.compare_digest(signature, _sign(t, body))]
    if not verified:
        return Delivery(401, "the signature matches no git-tag trigger's secret; nothing runs")
    payload = _parse(body)
    if payload is None:
        return Delivery(400, "the body is not a JSON object")
    kind = given.get("x-github-event", "")
    if kind == "ping":
        return Delivery(202, "pong: the webhook reaches alambic")
    ref = str(payload.get("ref") or "")
    if kind == "create":
        if payload.get("ref_type") != "tag":
            return Delivery(
                202, f"a {payload.get('ref_type')} was created, not a tag; nothing runs"
            )
        return _record(verified, ref, None, "github")
    if kind != "push":
        return Delivery(202, f"GitHub event {kind!r} is not a tag push; nothing runs")
    if not ref.startswith("refs/tags/"):
        return Delivery(202, f"a push of {ref or 'no ref'}, not of a tag; nothing runs")
    tag = ref.removeprefix("refs/tags/")
    if payload.get("deleted"):
        return Delivery(202, f"tag {tag} was deleted; nothing runs")
    return _record(verified, tag, str(payload.get("after") or "") or None, "github")


def receive_gitlab(headers: Mapping[str, str], body: bytes) -> Delivery:
    """A GitLab delivery (``Tag Push Hook``)."""
    given = _lower(headers)
    token = given.get("x-gitlab-token", "")
    if not token:
        return Delivery(401, "no X-Gitlab-Token header: set the webhook's secret token")
    verified = [t for t in _git_triggers() if hmac.compare_digest(token, str(secret_of(t)))]
    if not verified:
        return Delivery(401, "the token matches no git-tag trigger's secret; nothing runs")
    payload = _parse(body)
    if payload is None:
        return Delivery(400, "the body is not a JSON object")
    kind = given.get("x-gitlab-event", "")
    if kind != "Tag Push Hook":
        return Delivery(202, f"GitLab event {kind!r} is not a tag push; nothing runs")
    ref = str(payload.get("ref") or "")
    tag = ref.removeprefix("refs/tags/")
    commit = payload.get("checkout_sha")
    if not commit or set(str(payload.get("after") or "")) == {"0"}:
        return Delivery(202, f"tag {tag} was deleted; nothing runs")
    return _record(verified, tag, str(commit), "gitlab")
