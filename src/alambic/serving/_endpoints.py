"""Endpoints and API tokens, from Python (the CLI calls the same functions).

Every change is audited (``alambic endpoints show NAME`` prints the history). A token is
shown once, when created; only its SHA-256 is stored.

Example:
    >>> import alambic as al
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> model = al.models.package(LogisticRegression(max_iter=5000).fit(x, y), x, y)
    >>> version = al.register(model, "fraud-auto")["version"]
    >>> _ = al.registry.approve("fraud-auto", version)
    >>> al.registry.promote("fraud-auto", version, to="production")
    >>> al.serving.create_endpoint("fraud", variants=["fraud-auto@production"]).models
    ['fraud-auto@production']
    >>> token, record = al.serving.create_token("listing-site", scope="invoke")
    >>> token.startswith(f"alm_{record.id}_"), record.scope
    (True, 'invoke')
    >>> [entry.action for entry in al.serving.endpoint_history("fraud")]
    ['create-endpoint']
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from alambic.errors import ServingError
from alambic.serving._config import Endpoint, Variant, _check_name
from alambic.serving._store import (
    ENDPOINT,
    EndpointRecord,
    ServingStore,
    TokenRecord,
    serving_store,
)
from alambic.store import AuditRecord

__all__ = [
    "SCOPES",
    "check_token",
    "create_endpoint",
    "create_token",
    "delete_endpoint",
    "endpoint_history",
    "get_endpoint",
    "list_endpoints",
    "list_tokens",
    "revoke_token",
    "serving_store",
    "update_endpoint",
]

# invoke: serving's prediction and label routes. read, run: the control plane (`alambic
# server`): read everything; and start, cancel, resume runs and monitors. admin: everything.
SCOPES = ("invoke", "read", "run", "admin")
_PREFIX = "alm"


def _actor() -> str:
    from alambic.registry import current_actor

    return current_actor()


def _check_models(endpoint: Endpoint) -> None:
    """Every reference must name a version that exists now: a typo, a free alias or a
    deleted version fails here, not in a running server."""
    from alambic.errors import NotFoundError
    from alambic.registry import parse_ref, registry_store, resolve

    store = registry_store()
    for ref in endpoint.models:
        group = parse_ref(ref)[0]
        try:
            store.get_group(group)
        except NotFoundError:
            raise ServingError(
                f"endpoint {endpoint.name!r}: no model group {group!r} in the registry; "
                "see `alambic models list`"
            ) from None
        try:
            resolve(ref)
        except NotFoundError as exc:
            raise ServingError(
                f"endpoint {endpoint.name!r}: {ref} names no version ({exc}); point it at a "
                f"version that exists, or promote one first (alambic models promote "
                f"{group}/N --to ALIAS)"
            ) from None


def create_endpoint(
    name: str,
    *,
    variants: Sequence[str | dict[str, Any] | Variant] | str,
    shadows: Sequence[str | dict[str, Any] | Variant] | None = None,
    holdout: float = 0.0,
    public: bool = False,
    capture: float = 1.0,
    key_header: str = "x-caller-id",
    max_body_bytes: int = 10 * 1024 * 1024,
    description: str = "",
) -> Endpoint:
    """Create an endpoint: weighted variants (``"fraud-auto@production:0.9"``), shadows
    that see a copy of each request, a holdout share flagged in responses, a capture share.

    Raises:
        ConfigError: a bad name, reference, weight or share.
        ServingError: a referenced model group does not exist.
        StoreError: the endpoint exists already.
    """
    given = [variants] if isinstance(variants, str) else list(variants)
    config: dict[str, Any] = {
        "variants": [v.to_dict() if isinstance(v, Variant) else v for v in given],
        "shadows": [v.to_dict() if isinstance(v, Variant) else v for v in shadows or []],
        "holdout": holdout,
        "public": public,
        "capture": capture,
        "key_header": key_header,
        "max_body_bytes": max_body_bytes,
        "description": description,
    }
    endpoint = Endpoint.parse(name, config)
    _check_models(endpoint)
    serving_store().create_endpoint(name, endpoint.to_config(), actor=_actor())
    return endpoint


def update_endpoint(name: str, *, comment: str = "", **changes: Any) -> Endpoint:
    """Change some settings of an endpoint (the others stay); running servers follow.

    Example:
        >>> import alambic as al
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.linear_model import LogisticRegression
        >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
        >>> for c in (1.0, 0.5):
        ...     model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
        ...     _ = al.register(al.models.package(model, x, y), "fraud-auto")
        >>> _ = create_endpoint("fraud", variants=["fraud-auto/1"])
        >>> # 90% of the traffic to version 1, 10% to version 2, sticky per caller:
        >>> changed = update_endpoint("fraud", variants=["fraud-auto/1:9", "fraud-auto/2"])
        >>> [v.weight for v in changed.variants]
        [0.9, 0.1]
    """
    store = serving_store()
    current = store.get_endpoint(_check_name("endpoint name", name)).config
    for key in ("variants", "shadows"):
        if isinstance(changes.get(key), str):
            changes[key] = [changes[key]]
        if changes.get(key) is not None:
            changes[key] = [v.to_dict() if isinstance(v, Variant) else v for v in changes[key]]
    endpoint = Endpoint.parse(name, {**current, **changes})
    if endpoint.to_config() == Endpoint.parse(name, current).to_config():
        return endpoint  # nothing changes: no new revision, no reload, no audit row
    _check_models(endpoint)
    store.update_endpoint(name, endpoint.to_config(), actor=_actor(), comment=comment)
    return endpoint


def get_endpoint(name: str) -> Endpoint:
    """An endpoint's configuration."""
    record = serving_store().get_endpoint(_check_name("endpoint name", name))
    return Endpoint.parse(name, record.config)


def list_endpoints() -> list[EndpointRecord]:
    """Every endpoint, by name."""
    return serving_store().list_endpoints()


def delete_endpoint(name: str) -> None:
    """Delete an endpoint (audited); servers stop serving it within a second or two."""
    serving_store().delete_endpoint(_check_name("endpoint name", name), actor=_actor())


def endpoint_history(name: str) -> list[AuditRecord]:
    """The audit log of an endpoint, oldest first (a deleted one's too)."""
    return serving_store().audit(ENDPOINT, name)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    name: str, *, scope: str = "invoke", endpoints: list[str] | None = None
) -> tuple[str, TokenRecord]:
    """Make an API token; returns the token text (shown once) and its record.

    Args:
        name: who or what uses it (``listing-site``).
        scope: ``invoke`` (serving's prediction and label routes), ``read`` (the
            control plane's reads), ``run`` (reads, and starting, cancelling and
            resuming runs and monitors) or ``admin`` (everything, on both planes).
        endpoints: restrict the token to these endpoints (default: all); an admin token
            so restricted still reaches the admin routes, but invokes only these.
    """
    if scope not in SCOPES:
        raise ServingError(f"scope {scope!r} is unknown: use one of {list(SCOPES)}")
    if not name.strip():
        raise ServingError("a token needs a name (who or what uses it)")
    targets = [_check_name("endpoint name", e) for e in endpoints or []]
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = serving_store().create_token(
        token_id,
        name=name,
        digest=_digest(secret),
        scope=scope,
        endpoints=targets,
        actor=_actor(),
    )
    return f"{_PREFIX}_{token_id}_{secret}", record


def list_tokens() -> list[TokenRecord]:
    """Every token (never their text), oldest first."""
    return serving_store().list_tokens()


def revoke_token(token_id: str) -> TokenRecord:
    """Revoke a token by id (``alm_<id>_…``); servers refuse it within 2 seconds."""
    if token_id.startswith(f"{_PREFIX}_"):
        token_id = token_id.split("_")[1]
    return serving_store().revoke_token(token_id, actor=_actor())


def check_token(store: ServingStore, text: str) -> TokenRecord | None:
    """The live record a token text belongs to, or None (unknown, wrong or revoked)."""
    parts = text.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    record = store.get_token(parts[1])
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.hash, _digest(parts[2])):
        return None
    return record
