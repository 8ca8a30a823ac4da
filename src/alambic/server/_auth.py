"""Who may call the control plane: the same tokens as serving, with their scope.

``read`` reads everything; ``run`` also starts, cancels and resumes runs and monitors;
``admin`` also changes schedules and acts on the registry. ``invoke`` tokens are for
serving only. A token seen in the last few seconds is checked from memory, so a
revoked one is refused within ``TOKEN_TTL`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

__all__ = ["LEVELS", "Caller", "require"]

LEVELS = {"read": 1, "run": 2, "admin": 3}
TOKEN_TTL = 2.0
_bearer = HTTPBearer(auto_error=False, description="A token from `alambic tokens create`")
_seen: dict[str, tuple[Any, float]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Caller:
    """The holder of the token of a request."""

    token: str
    name: str
    scope: str

    @property
    def actor(self) -> str:
        """How the audit log names what the server does for this caller."""
        return f"token:{self.name}"


_MISS = object()


def _cached(text: str) -> Any:
    with _lock:
        hit = _seen.get(text)
    return hit[0] if hit is not None and hit[1] > time.monotonic() else _MISS


def _record(text: str) -> Any:
    now = time.monotonic()
    from alambic.serving import check_token, serving_store

    record = check_token(serving_store(), text)
    with _lock:
        if len(_seen) > 10_000:
            _seen.clear()
        _seen[text] = (record, now + TOKEN_TTL)
    return record


def require(scope: str) -> Callable[..., Any]:
    """A dependency that lets through tokens of ``scope`` or above (401, 403 otherwise)."""
    needed = LEVELS[scope]

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        if credentials is None:
            raise HTTPException(
                401,
                "this route needs a token: send `Authorization: Bearer <token>` (make one "
                "with `alambic tokens create NAME --scope read|run|admin`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        record = _cached(credentials.credentials)
        if record is _MISS:  # looked up in a thread: the event loop never waits on the database
            record = await run_in_threadpool(_record, credentials.credentials)
        if record is None:
            raise HTTPException(401, "the token is unknown or revoked")
        if LEVELS.get(record.scope, 0) < needed:
            raise HTTPException(
                403, f"token {record.id} has scope {record.scope}; this route needs {scope}"
            )
        return Caller(token=record.id, name=record.name, scope=record.scope)

    return check
